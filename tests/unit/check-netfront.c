/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for iovm-netfront's pure core (frontend/net/nf-proto.c):
 * checksum_setup over IPv4/IPv6 TCP/UDP headers (and what it refuses),
 * checksum completion over a frame split across buffers, the TX plan and
 * slot layout, and RX response chains -> frame and virtio-net header,
 * including the hostile chains a backend may send.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "nf-proto.h"
#include "util.h"

/* ---------------------------------------------------------------- */
/* frames */

static uint8_t frame[70000];

/* A reference ones'-complement sum, the plain way. */
static uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t s)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    return s;
}

static uint16_t ref_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 (ihl words) + TCP/UDP + payload; returns the length. */
static uint32_t make_v4(uint8_t proto, unsigned int ihl, uint32_t payload,
                        uint16_t frag)
{
    uint8_t *ip = frame + 14;
    uint32_t l4 = 14 + ihl * 4, i, l4h = proto == IPPROTO_UDP ? 8 : 20;

    memset(frame, 0, l4 + l4h);
    put16(frame + 12, 0x0800);
    ip[0] = (uint8_t)(0x40 | ihl);
    put16(ip + 2, (uint16_t)(ihl * 4 + l4h + payload));
    put16(ip + 6, frag);
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    put16(frame + l4, 1234);
    put16(frame + l4 + 2, 80);
    if (proto == IPPROTO_TCP)
        frame[l4 + 12] = 5 << 4;
    for (i = 0; i < payload; i++)
        frame[l4 + l4h + i] = (uint8_t)(i * 7 + 3);
    return l4 + l4h + payload;
}

/* Ethernet + IPv6 + ext headers (given raw) + TCP/UDP + payload. */
static uint32_t make_v6(uint8_t first, const uint8_t *ext, uint32_t extlen,
                        uint8_t proto, uint32_t payload)
{
    uint8_t *ip = frame + 14;
    uint32_t l4 = 54 + extlen, i, l4h = proto == IPPROTO_UDP ? 8 : 32;

    memset(frame, 0, l4 + l4h);
    put16(frame + 12, 0x86dd);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)(extlen + l4h + payload));
    ip[6] = extlen ? first : proto;
    ip[7] = 64;
    for (i = 0; i < 16; i++) {
        ip[8 + i] = (uint8_t)(0x20 + i);
        ip[24 + i] = (uint8_t)(0x40 + i);
    }
    if (extlen)
        memcpy(frame + 54, ext, extlen);
    if (proto == IPPROTO_TCP)
        frame[l4 + 12] = 8 << 4; /* with 12 bytes of options */
    for (i = 0; i < payload; i++)
        frame[l4 + l4h + i] = (uint8_t)(i * 13 + 1);
    return l4 + l4h + payload;
}

/* The pseudo-header sum, computed independently. */
static uint16_t ref_pseudo(bool v6, uint8_t proto, uint32_t l4len)
{
    uint32_t s = 0;

    if (v6)
        s = ref_sum(frame + 14 + 8, 32, 0);
    else
        s = ref_sum(frame + 14 + 12, 8, 0);
    s += proto + (l4len >> 16) + (l4len & 0xffff);
    return ref_fold(s);
}

/* A complete checksum verifies: pseudo + L4 sums to 0xffff. */
static bool verifies(bool v6, uint8_t proto, uint32_t start, uint32_t len)
{
    uint32_t s = ref_pseudo(v6, proto, len - start);

    return ref_fold(ref_sum(frame + start, len - start, s)) == 0xffff;
}

/* ---------------------------------------------------------------- */

START_TEST(csum_setup_ipv4_tcp_udp)
{
    struct iovm_csum_info ci;
    uint32_t len = make_v4(IPPROTO_TCP, 5, 100, 0);

    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
    ck_assert_uint_eq(ci.start, 34);
    ck_assert_uint_eq(ci.offset, 16);
    ck_assert_uint_eq(ci.l4_hlen, 20);
    ck_assert(!ci.ipv6);
    ck_assert_uint_eq(ci.pseudo, ref_pseudo(false, IPPROTO_TCP, len - 34));

    len = make_v4(IPPROTO_UDP, 7, 33, 0); /* 8 bytes of IP options */
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
    ck_assert_uint_eq(ci.start, 42);
    ck_assert_uint_eq(ci.offset, 6);
    ck_assert_uint_eq(ci.l4_hlen, 8);
    ck_assert_uint_eq(ci.proto, IPPROTO_UDP);
    ck_assert_uint_eq(ci.pseudo, ref_pseudo(false, IPPROTO_UDP, len - 42));
    /* DF alone is not a fragment. */
    len = make_v4(IPPROTO_TCP, 5, 10, 0x4000);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
}
END_TEST

START_TEST(csum_setup_refuses)
{
    struct iovm_csum_info ci;
    uint32_t len;

    len = make_v4(IPPROTO_TCP, 5, 10, 0x2000); /* more fragments */
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
    len = make_v4(IPPROTO_TCP, 5, 10, 0x0010); /* an offset */
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
    len = make_v4(IPPROTO_ICMP, 5, 10, 0);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
    len = make_v4(IPPROTO_TCP, 5, 0, 0);
    ck_assert_int_eq(iovm_csum_setup(frame, 40, len, &ci), -EPROTO);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, 50, &ci), -EPROTO);
    frame[14] = 0x44; /* ihl 4 */
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
    len = make_v4(IPPROTO_TCP, 5, 10, 0);
    put16(frame + 12, 0x0806); /* ARP */
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
    put16(frame + 12, 0x8100); /* VLAN-tagged: as Linux, not set up */
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
    ck_assert_int_eq(iovm_csum_setup(frame, 10, 10, &ci), -EPROTO);
}
END_TEST

START_TEST(csum_setup_ipv6_ext_headers)
{
    /* hop-by-hop (8 bytes) -> destination options (16) -> TCP */
    static const uint8_t ext[24] = { IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
                                     IPPROTO_TCP, 1, 1, 12 };
    /* fragment header, offset 0, no MF: an atomic fragment, fine */
    static const uint8_t frag0[8] = { IPPROTO_UDP, 0, 0, 0, 1, 2, 3, 4 };
    static const uint8_t frag1[8] = { IPPROTO_UDP, 0, 0, 1, 1, 2, 3, 4 };
    static const uint8_t frag2[8] = { IPPROTO_UDP, 0, 0x01, 0x00, 1, 2, 3,
                                      4 };
    static const uint8_t ah[12] = { IPPROTO_UDP, 1, 0, 0 };
    struct iovm_csum_info ci;
    uint32_t len;

    len = make_v6(0, NULL, 0, IPPROTO_TCP, 200);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
    ck_assert(ci.ipv6);
    ck_assert_uint_eq(ci.start, 54);
    ck_assert_uint_eq(ci.offset, 16);
    ck_assert_uint_eq(ci.l4_hlen, 32);
    ck_assert_uint_eq(ci.pseudo, ref_pseudo(true, IPPROTO_TCP, len - 54));

    len = make_v6(IPPROTO_HOPOPTS, ext, sizeof(ext), IPPROTO_TCP, 5);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
    ck_assert_uint_eq(ci.start, 54 + 24);
    ck_assert_uint_eq(ci.pseudo,
                      ref_pseudo(true, IPPROTO_TCP, len - 54 - 24));

    len = make_v6(IPPROTO_FRAGMENT, frag0, 8, IPPROTO_UDP, 5);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
    ck_assert_uint_eq(ci.start, 62);
    ck_assert_uint_eq(ci.offset, 6);
    len = make_v6(IPPROTO_FRAGMENT, frag1, 8, IPPROTO_UDP, 5);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
    len = make_v6(IPPROTO_FRAGMENT, frag2, 8, IPPROTO_UDP, 5);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
    len = make_v6(IPPROTO_AH, ah, 12, IPPROTO_UDP, 5);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
    ck_assert_uint_eq(ci.start, 54 + 12);
    /* Headers running past what was captured. */
    len = make_v6(IPPROTO_HOPOPTS, ext, sizeof(ext), IPPROTO_TCP, 5);
    ck_assert_int_eq(iovm_csum_setup(frame, 80, len, &ci), -EPROTO);
    frame[14] = 0x40; /* version 4 in an IPv6 ethertype */
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci),
                     -EPROTO);
}
END_TEST

START_TEST(csum_complete_over_pieces)
{
    static const size_t cuts[] = { 1, 7, 34, 35, 50, 51, 4096, 5000 };
    struct iovm_csum_info ci;
    struct iovec iov[4];
    uint32_t len, a, b;
    unsigned int i, j;

    for (i = 0; i < 2; i++) {
        len = i ? make_v6(0, NULL, 0, IPPROTO_UDP, 6001)
                : make_v4(IPPROTO_TCP, 5, 6001, 0);
        ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
        for (j = 0; j + 1 < sizeof(cuts) / sizeof(cuts[0]); j++) {
            a = (uint32_t)cuts[j];
            b = (uint32_t)cuts[j + 1];
            /* The partial field holds the pseudo-header sum. */
            put16(frame + ci.start + ci.offset, ci.pseudo);
            iov[0] = (struct iovec){ frame, a };
            iov[1] = (struct iovec){ frame + a, b - a };
            iov[2] = (struct iovec){ frame + b, len - b };
            ck_assert_int_eq(nf_csum_complete(iov, 3, len, ci.start,
                                              ci.offset),
                             0);
            ck_assert_msg(verifies(ci.ipv6, ci.proto, ci.start, len),
                          "cut at %u/%u", a, b);
        }
    }
    iov[0] = (struct iovec){ frame, 100 };
    ck_assert_int_eq(nf_csum_complete(iov, 1, 100, 90, 9), -EINVAL);
    ck_assert_int_eq(nf_csum_complete(iov, 1, 200, 10, 6), -EINVAL);
}
END_TEST

/* ---------------------------------------------------------------- */
/* TX */

START_TEST(tx_plan_checksum_and_gso)
{
    struct nf_tx_caps all = { true, true, true, true, true };
    struct nf_tx_caps v4only = { true, true, false, true, false };
    struct virtio_net_hdr vh = { 0 };
    struct nf_tx_plan p;
    uint32_t len = make_v4(IPPROTO_TCP, 5, 3000, 0);

    /* Nothing asked: no flags. */
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), 0);
    ck_assert_uint_eq(p.flags, 0);
    vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), 0);
    ck_assert_uint_eq(p.flags, NETTXF_data_validated);
    /* A partial checksum where the backend will find it. */
    vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh.csum_start = 34;
    vh.csum_offset = 16;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), 0);
    ck_assert_uint_eq(p.flags, NETTXF_csum_blank | NETTXF_data_validated);
    ck_assert(!p.sw_csum && !p.gso);
    /* ... somewhere else: completed here. */
    vh.csum_start = 40;
    vh.csum_offset = 4;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), 0);
    ck_assert(p.sw_csum);
    ck_assert_uint_eq(p.flags, 0);
    ck_assert_uint_eq(p.csum_start, 40);
    vh.csum_start = (uint16_t)(len - 3);
    vh.csum_offset = 2;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), -1);
    /* IPv6 without the backend's IPv6 offload: completed here. */
    len = make_v6(0, NULL, 0, IPPROTO_TCP, 100);
    vh.csum_start = 54;
    vh.csum_offset = 16;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &v4only, &p),
                     0);
    ck_assert(p.sw_csum);
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), 0);
    ck_assert(!p.sw_csum);
    /* GSO TCPv6: negotiated or dropped. */
    vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
    vh.gso_size = 1440;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), 0);
    ck_assert(p.gso);
    ck_assert_uint_eq(p.gso_extra.type, XEN_NETIF_EXTRA_TYPE_GSO);
    ck_assert_uint_eq(p.gso_extra.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV6);
    ck_assert_uint_eq(p.gso_extra.u.gso.size, 1440);
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &v4only, &p),
                     -1);
    /* GSO type that does not match the packet. */
    vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), -1);
    vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), -1);
    vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), -1);
    /* GSO with size 0, or without a partial checksum. */
    len = make_v4(IPPROTO_TCP, 5, 3000, 0);
    vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    vh.csum_start = 34;
    vh.gso_size = 0;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), -1);
    vh.gso_size = 1448;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), 0);
    vh.flags = 0;
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, len, &all, &p), -1);
}
END_TEST

START_TEST(tx_plan_sizes)
{
    struct nf_tx_caps nosg = { false, true, true, false, false };
    struct nf_tx_caps all = { true, true, true, true, true };
    struct virtio_net_hdr vh = { 0 };
    struct nf_tx_plan p;

    make_v4(IPPROTO_UDP, 5, 10, 0);
    ck_assert_int_eq(nf_tx_plan(&vh, frame, 13, 13, &all, &p), -1);
    ck_assert_int_eq(nf_tx_plan(&vh, frame, 14, 14, &all, &p), 0);
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, 4096, &nosg, &p), 0);
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, 4097, &nosg, &p), -1);
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, 65535, &all, &p), 0);
    ck_assert_int_eq(nf_tx_plan(&vh, frame, NF_HDR_MAX, 65536, &all, &p), -1);
}
END_TEST

START_TEST(tx_layout_slots)
{
    uint32_t grefs[NF_TX_MAX_DATA];
    uint16_t ids[NF_TX_MAX_DATA];
    union nf_tx_slot s[NF_TX_MAX_SLOTS];
    struct nf_tx_plan p = { .flags = NETTXF_csum_blank |
                                     NETTXF_data_validated };
    unsigned int i, n;
    uint32_t sum;

    for (i = 0; i < NF_TX_MAX_DATA; i++) {
        grefs[i] = 100 + i;
        ids[i] = (uint16_t)(7 * i);
    }
    n = nf_tx_layout(60, grefs, ids, &p, s);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(s[0].req.size, 60);
    ck_assert_uint_eq(s[0].req.flags, p.flags);
    ck_assert_uint_eq(s[0].req.gref, 100);

    p.gso = true;
    p.gso_extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
    p.gso_extra.u.gso.size = 1448;
    p.gso_extra.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    n = nf_tx_layout(10000, grefs, ids, &p, s);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(s[0].req.size, 10000);
    ck_assert_uint_eq(s[0].req.flags, p.flags | NETTXF_more_data |
                                          NETTXF_extra_info);
    ck_assert_uint_eq(s[1].extra.type, XEN_NETIF_EXTRA_TYPE_GSO);
    ck_assert_uint_eq(s[1].extra.flags, 0);
    ck_assert_uint_eq(s[1].extra.u.gso.size, 1448);
    ck_assert_uint_eq(s[2].req.size, 4096);
    ck_assert_uint_eq(s[2].req.flags, NETTXF_more_data);
    ck_assert_uint_eq(s[2].req.gref, 101);
    ck_assert_uint_eq(s[2].req.id, 7);
    ck_assert_uint_eq(s[3].req.size, 10000 - 8192);
    ck_assert_uint_eq(s[3].req.flags, 0);

    /* 64 KiB: 16 data slots and the extra, under the 18-slot minimum;
     * the further slots add up to what the first says minus its page. */
    n = nf_tx_layout(65535, grefs, ids, &p, s);
    ck_assert_uint_eq(n, NF_TX_MAX_SLOTS);
    for (i = 2, sum = 0; i < n; i++) {
        sum += s[i].req.size;
        ck_assert_uint_le(s[i].req.offset + s[i].req.size, NF_PAGE);
    }
    ck_assert_uint_eq(sum, 65535 - NF_PAGE);
    ck_assert_uint_eq(s[n - 1].req.flags & NETTXF_more_data, 0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* RX */

static struct netif_rx_response rsp[64];

static void data_slot(unsigned int i, uint16_t off, int16_t size,
                      uint16_t flags)
{
    rsp[i].id = (uint16_t)i;
    rsp[i].offset = off;
    rsp[i].status = size;
    rsp[i].flags = flags;
}

static void extra_slot(unsigned int i, uint8_t type, uint8_t flags,
                       uint16_t gso_size, uint8_t gso_type)
{
    struct netif_extra_info x;

    memset(&x, 0, sizeof(x));
    x.type = type;
    x.flags = flags;
    x.u.gso.size = gso_size;
    x.u.gso.type = gso_type;
    memcpy(&rsp[i], &x, sizeof(x));
}

START_TEST(rx_single_and_chain)
{
    struct nf_rx_frame f;
    const char *why;

    memset(rsp, 0, sizeof(rsp));
    data_slot(0, 0, 60, NETRXF_data_validated);
    ck_assert_int_eq(nf_rx_parse(rsp, 1, &f, &why), NF_RX_OK);
    ck_assert_uint_eq(f.nslots, 1);
    ck_assert_uint_eq(f.nfrags, 1);
    ck_assert_uint_eq(f.len, 60);
    ck_assert_uint_eq(f.gso_type, XEN_NETIF_GSO_TYPE_NONE);

    data_slot(0, 0, 4096, NETRXF_more_data | NETRXF_csum_blank);
    data_slot(1, 0, 4096, NETRXF_more_data);
    data_slot(2, 100, 500, 0);
    data_slot(3, 0, 60, 0); /* the next frame */
    ck_assert_int_eq(nf_rx_parse(rsp, 4, &f, &why), NF_RX_OK);
    ck_assert_uint_eq(f.nslots, 3);
    ck_assert_uint_eq(f.nfrags, 3);
    ck_assert_uint_eq(f.len, 8692);
    ck_assert_uint_eq(f.frag[2].slot, 2);
    ck_assert_uint_eq(f.frag[2].offset, 100);
    ck_assert_uint_eq(f.flags, NETRXF_more_data | NETRXF_csum_blank);
    /* Not all there yet. */
    ck_assert_int_eq(nf_rx_parse(rsp, 2, &f, &why), NF_RX_NEED_MORE);
    ck_assert_int_eq(nf_rx_parse(rsp, 0, &f, &why), NF_RX_NEED_MORE);
}
END_TEST

START_TEST(rx_extras)
{
    struct nf_rx_frame f;
    const char *why;

    memset(rsp, 0, sizeof(rsp));
    /* data, hash extra (more), GSO extra, data */
    data_slot(0, 0, 4096, NETRXF_more_data | NETRXF_extra_info |
                              NETRXF_csum_blank);
    extra_slot(1, XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_FLAG_MORE, 0, 0);
    extra_slot(2, XEN_NETIF_EXTRA_TYPE_GSO, 0, 1448,
               XEN_NETIF_GSO_TYPE_TCPV4);
    data_slot(3, 0, 3000, 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 4, &f, &why), NF_RX_OK);
    ck_assert_uint_eq(f.nslots, 4);
    ck_assert_uint_eq(f.nfrags, 2);
    ck_assert_uint_eq(f.frag[0].slot, 0);
    ck_assert_uint_eq(f.frag[1].slot, 3);
    ck_assert_uint_eq(f.len, 7096);
    ck_assert_uint_eq(f.gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
    ck_assert_uint_eq(f.gso_size, 1448);
    ck_assert(f.hash);
    ck_assert_int_eq(nf_rx_parse(rsp, 2, &f, &why), NF_RX_NEED_MORE);
    ck_assert_int_eq(nf_rx_parse(rsp, 3, &f, &why), NF_RX_NEED_MORE);
}
END_TEST

START_TEST(rx_bad_chains_dropped_whole)
{
    struct nf_rx_frame f;
    const char *why;
    unsigned int i;

    memset(rsp, 0, sizeof(rsp));
    /* An error status in the middle: the whole chain goes. */
    data_slot(0, 0, 4096, NETRXF_more_data);
    data_slot(1, 0, NETIF_RSP_ERROR, NETRXF_more_data);
    data_slot(2, 0, 10, 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 3, &f, &why), NF_RX_DROP);
    ck_assert_uint_eq(f.nslots, 3);
    ck_assert_ptr_nonnull(why);
    /* Data past its page. */
    data_slot(0, 4000, 200, 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 1, &f, &why), NF_RX_DROP);
    ck_assert_uint_eq(f.nslots, 1);
    /* A runt. */
    data_slot(0, 0, 13, 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 1, &f, &why), NF_RX_DROP);
    /* Unknown extra type, then a GSO type and a GSO size 0. */
    data_slot(0, 0, 100, NETRXF_extra_info);
    extra_slot(1, XEN_NETIF_EXTRA_TYPE_MAX, 0, 0, 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 2, &f, &why), NF_RX_DROP);
    ck_assert_uint_eq(f.nslots, 2);
    extra_slot(1, XEN_NETIF_EXTRA_TYPE_NONE, 0, 0, 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 2, &f, &why), NF_RX_DROP);
    extra_slot(1, XEN_NETIF_EXTRA_TYPE_GSO, 0, 1448, 7);
    ck_assert_int_eq(nf_rx_parse(rsp, 2, &f, &why), NF_RX_DROP);
    extra_slot(1, XEN_NETIF_EXTRA_TYPE_GSO, 0, 0, XEN_NETIF_GSO_TYPE_TCPV4);
    ck_assert_int_eq(nf_rx_parse(rsp, 2, &f, &why), NF_RX_DROP);
    /* Too many slots: dropped, but every slot of the chain consumed. */
    for (i = 0; i < 30; i++)
        data_slot(i, 0, 1000, i < 29 ? NETRXF_more_data : 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 30, &f, &why), NF_RX_DROP);
    ck_assert_uint_eq(f.nslots, 30);
    ck_assert_uint_le(f.nfrags, NF_RX_MAX_DATA);
    ck_assert_int_eq(nf_rx_parse(rsp, 29, &f, &why), NF_RX_NEED_MORE);
    /* 18 slots are fine (19 when the first is small). */
    for (i = 0; i < 18; i++)
        data_slot(i, 0, 1000, i < 17 ? NETRXF_more_data : 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 18, &f, &why), NF_RX_OK);
    for (i = 0; i < 19; i++)
        data_slot(i, 0, i ? 1000 : 128, i < 18 ? NETRXF_more_data : 0);
    ck_assert_int_eq(nf_rx_parse(rsp, 19, &f, &why), NF_RX_OK);
    data_slot(0, 0, 1000, NETRXF_more_data);
    ck_assert_int_eq(nf_rx_parse(rsp, 19, &f, &why), NF_RX_DROP);
}
END_TEST

START_TEST(rx_vnet_header)
{
    struct virtio_net_hdr vh;
    struct nf_rx_frame f;
    struct iovm_csum_info ci;
    uint32_t at, len;
    uint16_t pseudo;
    const char *why;

    memset(&f, 0, sizeof(f));
    len = make_v4(IPPROTO_TCP, 5, 5000, 0);
    f.len = len;
    /* Nothing said. */
    ck_assert_int_eq(nf_rx_vnet_hdr(&f, frame, NF_HDR_MAX, &vh, &at, &pseudo,
                                    &why),
                     0);
    ck_assert_uint_eq(vh.flags, 0);
    f.flags = NETRXF_data_validated;
    ck_assert_int_eq(nf_rx_vnet_hdr(&f, frame, NF_HDR_MAX, &vh, &at, &pseudo,
                                    &why),
                     0);
    ck_assert_uint_eq(vh.flags, VIRTIO_NET_HDR_F_DATA_VALID);
    /* Partial: start and offset from the headers, nothing rewritten. */
    f.flags = NETRXF_csum_blank | NETRXF_data_validated;
    ck_assert_int_eq(nf_rx_vnet_hdr(&f, frame, NF_HDR_MAX, &vh, &at, &pseudo,
                                    &why),
                     0);
    ck_assert_uint_eq(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    ck_assert_uint_eq(vh.csum_start, 34);
    ck_assert_uint_eq(vh.csum_offset, 16);
    ck_assert_uint_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    ck_assert_uint_eq(at, 0);
    /* GSO without csum_blank: made partial, pseudo-header recalculated. */
    f.flags = NETRXF_data_validated;
    f.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
    f.gso_size = 1448;
    ck_assert_int_eq(nf_rx_vnet_hdr(&f, frame, NF_HDR_MAX, &vh, &at, &pseudo,
                                    &why),
                     0);
    ck_assert_uint_eq(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    ck_assert_uint_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    ck_assert_uint_eq(vh.gso_size, 1448);
    ck_assert_uint_eq(vh.hdr_len, 54);
    ck_assert_uint_eq(at, 34 + 16);
    ck_assert_int_eq(iovm_csum_setup(frame, NF_HDR_MAX, len, &ci), 0);
    ck_assert_uint_eq(pseudo, ci.pseudo);
    /* A GSO type that does not match the packet. */
    f.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
    ck_assert_int_eq(nf_rx_vnet_hdr(&f, frame, NF_HDR_MAX, &vh, &at, &pseudo,
                                    &why),
                     -1);
    ck_assert_ptr_nonnull(why);
    /* IPv6 TCP GSO, partial. */
    len = make_v6(0, NULL, 0, IPPROTO_TCP, 9000);
    f.len = len;
    f.flags = NETRXF_csum_blank;
    ck_assert_int_eq(nf_rx_vnet_hdr(&f, frame, NF_HDR_MAX, &vh, &at, &pseudo,
                                    &why),
                     0);
    ck_assert_uint_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
    ck_assert_uint_eq(vh.csum_start, 54);
    ck_assert_uint_eq(vh.hdr_len, 54 + 32);
    ck_assert_uint_eq(at, 0);
    /* Partial on something checksum_setup refuses: dropped. */
    f.gso_type = XEN_NETIF_GSO_TYPE_NONE;
    len = make_v4(IPPROTO_ICMP, 5, 50, 0);
    f.len = len;
    ck_assert_int_eq(nf_rx_vnet_hdr(&f, frame, NF_HDR_MAX, &vh, &at, &pseudo,
                                    &why),
                     -1);
}
END_TEST

START_TEST(iov_put16_across)
{
    uint8_t a[3] = { 0 }, b[3] = { 0 };
    struct iovec iov[2] = { { a, 3 }, { b, 3 } };

    ck_assert_int_eq(nf_iov_put16(iov, 2, 2, 0xabcd), 0);
    ck_assert_uint_eq(a[2], 0xab);
    ck_assert_uint_eq(b[0], 0xcd);
    ck_assert_int_eq(nf_iov_put16(iov, 2, 4, 0x1234), 0);
    ck_assert_uint_eq(b[1], 0x12);
    ck_assert_uint_eq(b[2], 0x34);
    ck_assert_int_eq(nf_iov_put16(iov, 2, 5, 0x1234), -EINVAL);
    ck_assert_uint_eq(b[2], 0x34);
}
END_TEST

START_TEST(mac_parsing)
{
    uint8_t m[6];

    ck_assert_int_eq(iovm_parse_mac("00:16:3e:0A:bc:ff", m), 0);
    ck_assert_uint_eq(m[0], 0x00);
    ck_assert_uint_eq(m[3], 0x0a);
    ck_assert_uint_eq(m[5], 0xff);
    ck_assert_int_eq(iovm_parse_mac("00:16:3e:0a:bc", m), -EINVAL);
    ck_assert_int_eq(iovm_parse_mac("00:16:3e:0a:bc:fg", m), -EINVAL);
    ck_assert_int_eq(iovm_parse_mac("00-16-3e-0a-bc-ff", m), -EINVAL);
    ck_assert_int_eq(iovm_parse_mac("00:16:3e:0a:bc:ff ", m), -EINVAL);
    ck_assert_int_eq(iovm_parse_mac(NULL, m), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("netfront");
    TCase *tc = tcase_create("csum");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, csum_setup_ipv4_tcp_udp);
    tcase_add_test(tc, csum_setup_refuses);
    tcase_add_test(tc, csum_setup_ipv6_ext_headers);
    tcase_add_test(tc, csum_complete_over_pieces);
    tcase_add_test(tc, iov_put16_across);
    suite_add_tcase(s, tc);
    tc = tcase_create("tx");
    tcase_add_test(tc, tx_plan_checksum_and_gso);
    tcase_add_test(tc, tx_plan_sizes);
    tcase_add_test(tc, tx_layout_slots);
    suite_add_tcase(s, tc);
    tc = tcase_create("rx");
    tcase_add_test(tc, rx_single_and_chain);
    tcase_add_test(tc, rx_extras);
    tcase_add_test(tc, rx_bad_chains_dropped_whole);
    tcase_add_test(tc, rx_vnet_header);
    tcase_add_test(tc, mac_parsing);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
