/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for backend/net/net-proto.c: a TX packet from its slots,
 * each rejection class (drop or fatal, as Linux netback), the boundaries
 * of the slot count, extra-info chains and the slots a packet takes; an
 * RX frame's responses (data slots, extra-info placement, flags).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "net-proto.h"

static const struct net_features all = {
    .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true, .csum = true,
    .ipv6_csum = true, .mcast = true,
};

static struct netif_tx_request s[64];
static struct net_tx_pkt pkt;

static void setup(void)
{
    memset(s, 0, sizeof(s));
}

/* A data slot. */
static void data(unsigned int i, uint16_t id, uint16_t off, uint16_t size,
                 uint16_t flags)
{
    s[i] = (struct netif_tx_request){ .gref = 100 + i, .offset = off,
                                      .flags = flags, .id = id,
                                      .size = size };
}

/* An extra-info slot. */
static void extra(unsigned int i, uint8_t type, bool more)
{
    struct netif_extra_info ex = { .type = type,
                                   .flags = more ? XEN_NETIF_EXTRA_FLAG_MORE
                                                 : 0 };

    memset(&s[i], 0, sizeof(s[i]));
    memcpy(&s[i], &ex, sizeof(ex));
}

static void gso(unsigned int i, uint8_t type, uint16_t size, bool more)
{
    struct netif_extra_info ex = { .type = XEN_NETIF_EXTRA_TYPE_GSO,
                                   .flags = more ? XEN_NETIF_EXTRA_FLAG_MORE
                                                 : 0 };

    ex.u.gso.type = type;
    ex.u.gso.size = size;
    memset(&s[i], 0, sizeof(s[i]));
    memcpy(&s[i], &ex, sizeof(ex));
}

/* A packet of n data slots of 1000 bytes each, the first holding 1000
 * too: s[0].size is the total. */
static void chain(unsigned int n)
{
    unsigned int i;

    data(0, 1, 0, (uint16_t)(1000 * n), n > 1 ? NETTXF_more_data : 0);
    for (i = 1; i < n; i++)
        data(i, (uint16_t)(1 + i), 0, 1000, i + 1 < n ? NETTXF_more_data : 0);
}

START_TEST(single_slot_packet)
{
    data(0, 7, 100, 1514, NETTXF_csum_blank);
    ck_assert_int_eq(net_tx_parse(s, 1, &all, &pkt), NET_TX_OK);
    ck_assert_uint_eq(pkt.nslots, 1);
    ck_assert_uint_eq(pkt.ndata, 1);
    ck_assert_uint_eq(pkt.size, 1514);
    ck_assert_uint_eq(pkt.head_size, 1514);
    ck_assert_uint_eq(pkt.flags, NETTXF_csum_blank);
    ck_assert_uint_eq(pkt.frag[0].id, 7);
    ck_assert_uint_eq(pkt.extra_mask, 0);
}
END_TEST

START_TEST(fragments_are_taken_from_the_size)
{
    data(0, 1, 0, 3000, NETTXF_more_data);
    data(1, 2, 0, 1500, NETTXF_more_data);
    data(2, 3, 2000, 1000, 0);
    /* A slot of the next packet is not taken. */
    data(3, 4, 0, 60, 0);
    ck_assert_int_eq(net_tx_parse(s, 4, &all, &pkt), NET_TX_OK);
    ck_assert_uint_eq(pkt.nslots, 3);
    ck_assert_uint_eq(pkt.ndata, 3);
    ck_assert_uint_eq(pkt.head_size, 500);
    ck_assert_uint_eq(pkt.frag[2].id, 3);
}
END_TEST

START_TEST(slot_count_boundaries)
{
    /* Up to XEN_NETIF_NR_SLOTS_MIN: fine; 19 and 20: dropped, every
     * slot answered; 21: fatal. */
    chain(18);
    ck_assert_int_eq(net_tx_parse(s, 64, &all, &pkt), NET_TX_OK);
    ck_assert_uint_eq(pkt.nslots, 18);
    chain(19);
    ck_assert_int_eq(net_tx_parse(s, 64, &all, &pkt), NET_TX_SLOTS_DROP);
    ck_assert_uint_eq(pkt.nslots, 19);
    ck_assert(!net_tx_reject_fatal(NET_TX_SLOTS_DROP));
    chain(20);
    ck_assert_int_eq(net_tx_parse(s, 64, &all, &pkt), NET_TX_SLOTS_DROP);
    ck_assert_uint_eq(pkt.nslots, 20);
    chain(21);
    ck_assert_int_eq(net_tx_parse(s, 64, &all, &pkt),
                     NET_TX_SLOTS_FATAL_MANY);
    ck_assert(net_tx_reject_fatal(NET_TX_SLOTS_FATAL_MANY));
    /* An endless chain is fatal too, however many are posted. */
    chain(64);
    ck_assert_int_eq(net_tx_parse(s, 64, &all, &pkt),
                     NET_TX_SLOTS_FATAL_MANY);
}
END_TEST

START_TEST(sizes_zero_short_and_overrun)
{
    /* Zero, and one byte short of an Ethernet header: dropped. */
    data(0, 1, 0, 0, 0);
    ck_assert_int_eq(net_tx_parse(s, 1, &all, &pkt), NET_TX_TOO_SHORT);
    ck_assert_uint_eq(pkt.nslots, 1);
    data(0, 1, 0, NET_ETH_HLEN - 1, 0);
    ck_assert_int_eq(net_tx_parse(s, 1, &all, &pkt), NET_TX_TOO_SHORT);
    data(0, 1, 0, NET_ETH_HLEN, 0);
    ck_assert_int_eq(net_tx_parse(s, 1, &all, &pkt), NET_TX_OK);
    /* Fragments that add up to more than the packet: a 64 KiB + 1000
     * frame whose 16-bit size wrapped.  Dropped, all slots answered. */
    data(0, 1, 0, (uint16_t)(65536 + 1000 - 65536), NETTXF_more_data);
    data(1, 2, 0, 4000, NETTXF_more_data);
    data(2, 3, 0, 4000, 0);
    ck_assert_int_eq(net_tx_parse(s, 3, &all, &pkt), NET_TX_FRAGS_OVERRUN);
    ck_assert_uint_eq(pkt.nslots, 3);
    ck_assert(!net_tx_reject_fatal(NET_TX_FRAGS_OVERRUN));
    /* The largest size there is, in 16 fragments and a head of what
     * is left: fine. */
    data(0, 1, 0, 0xffff, NETTXF_more_data);
    for (unsigned int i = 1; i < 16; i++)
        data(i, (uint16_t)i, 0, 4096, NETTXF_more_data);
    data(16, 16, 0, 3000, 0);
    ck_assert_int_eq(net_tx_parse(s, 17, &all, &pkt), NET_TX_OK);
    ck_assert_uint_eq(pkt.ndata, 17);
    ck_assert_uint_eq(pkt.head_size, 0xffff - 15 * 4096 - 3000);
}
END_TEST

START_TEST(crossing_a_page_is_fatal)
{
    /* A fragment. */
    data(0, 1, 0, 3000, NETTXF_more_data);
    data(1, 2, 4000, 200, 0);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_CROSS_PAGE);
    ck_assert(net_tx_reject_fatal(NET_TX_CROSS_PAGE));
    /* Exactly to the end: fine. */
    data(1, 2, 3896, 200, 0);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_OK);
    /* The head: its own bytes (size less the fragments') count. */
    data(0, 1, 3000, 3000, NETTXF_more_data);
    data(1, 2, 0, 1900, 0);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_CROSS_PAGE);
    data(1, 2, 0, 2000, 0);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_OK);
    /* Past the page even after a drop reason: still fatal. */
    chain(20);
    s[19].offset = 4000;
    ck_assert_int_eq(net_tx_parse(s, 64, &all, &pkt), NET_TX_CROSS_PAGE);
}
END_TEST

START_TEST(chains_past_the_posted_slots_are_fatal)
{
    chain(3);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_TRUNCATED);
    ck_assert(net_tx_reject_fatal(NET_TX_TRUNCATED));
    ck_assert_int_eq(net_tx_parse(s, 0, &all, &pkt), NET_TX_TRUNCATED);
    data(0, 1, 0, 100, NETTXF_extra_info);
    gso(1, XEN_NETIF_GSO_TYPE_TCPV4, 1448, true);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_TRUNCATED);
}
END_TEST

START_TEST(extra_info_chain)
{
    struct netif_extra_info h = { .type = XEN_NETIF_EXTRA_TYPE_HASH };

    data(0, 9, 0, 9000, NETTXF_extra_info | NETTXF_more_data);
    gso(1, XEN_NETIF_GSO_TYPE_TCPV6, 1428, true);
    h.u.hash.type = 3;
    h.u.hash.algorithm = 1;
    memcpy(h.u.hash.value, "\x01\x02\x03\x04", 4);
    memcpy(&s[2], &h, sizeof(h));
    data(3, 10, 0, 4000, NETTXF_more_data);
    data(4, 11, 0, 4000, 0);
    ck_assert_int_eq(net_tx_parse(s, 5, &all, &pkt), NET_TX_OK);
    ck_assert_uint_eq(pkt.nslots, 5);
    ck_assert_uint_eq(pkt.ndata, 3);
    ck_assert_uint_eq(pkt.extra_mask, (1u << 1) | (1u << 2));
    ck_assert_uint_eq(pkt.gso_type, XEN_NETIF_GSO_TYPE_TCPV6);
    ck_assert_uint_eq(pkt.gso_size, 1428);
    ck_assert(pkt.hash);
    ck_assert_uint_eq(pkt.hash_type, 3);
    ck_assert_int_eq(memcmp(pkt.hash_value, "\x01\x02\x03\x04", 4), 0);
    ck_assert_uint_eq(pkt.head_size, 1000);
    ck_assert_uint_eq(pkt.frag[1].id, 10);
}
END_TEST

START_TEST(bad_extra_info_is_fatal)
{
    static const uint8_t bad[] = { XEN_NETIF_EXTRA_TYPE_NONE,
                                   XEN_NETIF_EXTRA_TYPE_MAX, 200 };
    unsigned int k;

    for (k = 0; k < sizeof(bad); k++) {
        data(0, 1, 0, 100, NETTXF_extra_info);
        extra(1, bad[k], false);
        ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_EXTRA_TYPE);
    }
    ck_assert(net_tx_reject_fatal(NET_TX_EXTRA_TYPE));
    /* The same type twice. */
    data(0, 1, 0, 100, NETTXF_extra_info);
    gso(1, XEN_NETIF_GSO_TYPE_TCPV4, 1448, true);
    gso(2, XEN_NETIF_GSO_TYPE_TCPV4, 1448, false);
    ck_assert_int_eq(net_tx_parse(s, 3, &all, &pkt), NET_TX_EXTRA_TYPE);
}
END_TEST

START_TEST(gso_types_and_sizes)
{
    struct net_features v4only = all;

    data(0, 1, 0, 100, NETTXF_extra_info);
    gso(1, XEN_NETIF_GSO_TYPE_TCPV4, 0, false);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_GSO_SIZE);
    ck_assert(net_tx_reject_fatal(NET_TX_GSO_SIZE));
    gso(1, XEN_NETIF_GSO_TYPE_NONE, 1448, false);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_GSO_TYPE);
    gso(1, 3, 1448, false);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_GSO_TYPE);
    /* TCPv6 segmentation that was not offered. */
    v4only.gso_tcpv6 = false;
    gso(1, XEN_NETIF_GSO_TYPE_TCPV6, 1448, false);
    ck_assert_int_eq(net_tx_parse(s, 2, &v4only, &pkt), NET_TX_GSO_TYPE);
    ck_assert_int_eq(net_tx_parse(s, 2, &all, &pkt), NET_TX_OK);
    gso(1, XEN_NETIF_GSO_TYPE_TCPV4, 1448, false);
    ck_assert_int_eq(net_tx_parse(s, 2, &v4only, &pkt), NET_TX_OK);
    ck_assert_uint_eq(pkt.gso_size, 1448);
}
END_TEST

START_TEST(multicast_requests_carry_no_packet)
{
    struct netif_extra_info m = { .type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD };

    memcpy(m.u.mcast.addr, "\x01\x00\x5e\x00\x00\x01", 6);
    data(0, 5, 0, 0, NETTXF_extra_info);
    memcpy(&s[1], &m, sizeof(m));
    data(2, 6, 0, 60, 0);
    ck_assert_int_eq(net_tx_parse(s, 3, &all, &pkt), NET_TX_OK);
    ck_assert(pkt.mcast_add);
    ck_assert(!pkt.mcast_del);
    ck_assert_uint_eq(pkt.nslots, 2);
    ck_assert_int_eq(memcmp(pkt.mcast_addr, "\x01\x00\x5e\x00\x00\x01", 6), 0);
}
END_TEST

/* ---- receive ---- */

static const uint16_t ids[32] = { 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
                                  50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
                                  60, 61, 62, 63, 64, 65, 66, 67, 68, 69 };
static struct net_rx_slot rx[32];

START_TEST(rx_plain_frames)
{
    struct net_rx_meta m = { .data_validated = true };

    ck_assert_uint_eq(net_rx_plan(1514, &m, ids, rx), 1);
    ck_assert(!rx[0].is_extra);
    ck_assert_uint_eq(rx[0].rsp.id, 40);
    ck_assert_int_eq(rx[0].rsp.status, 1514);
    ck_assert_uint_eq(rx[0].rsp.offset, 0);
    ck_assert_uint_eq(rx[0].rsp.flags, NETRXF_data_validated);
    /* A 9000-byte frame: a page per slot, more_data on all but the last. */
    m.data_validated = false;
    ck_assert_uint_eq(net_rx_plan(9000, &m, ids, rx), 3);
    ck_assert_int_eq(rx[0].rsp.status, 4096);
    ck_assert_int_eq(rx[2].rsp.status, 9000 - 8192);
    ck_assert_uint_eq(rx[2].data_off, 8192);
    ck_assert_uint_eq(rx[0].rsp.flags, NETRXF_more_data);
    ck_assert_uint_eq(rx[1].rsp.flags, NETRXF_more_data);
    ck_assert_uint_eq(rx[2].rsp.flags, 0);
    ck_assert_uint_eq(rx[2].rsp.id, 42);
}
END_TEST

START_TEST(rx_gso_and_hash_extras)
{
    struct net_rx_meta m = { .gso_type = XEN_NETIF_GSO_TYPE_TCPV4,
                             .gso_size = 1448, .csum_blank = true,
                             .hash = true, .hash_type = 1,
                             .hash_value = 0x51ccc178 };
    uint32_t len = NET_RX_MAX_LEN, sum = 0, next = 0;
    unsigned int n, i;

    n = net_rx_plan(len, &m, ids, rx);
    /* 17 pages of data and two extras. */
    ck_assert_uint_eq(n, 17 + 2);
    ck_assert_uint_eq(n, net_rx_slots(len, &m));
    ck_assert(!rx[0].is_extra);
    ck_assert_uint_eq(rx[0].rsp.flags, NETRXF_extra_info | NETRXF_more_data |
                                           NETRXF_csum_blank |
                                           NETRXF_data_validated);
    ck_assert(rx[1].is_extra);
    ck_assert_uint_eq(rx[1].extra.type, XEN_NETIF_EXTRA_TYPE_GSO);
    ck_assert_uint_eq(rx[1].extra.flags, XEN_NETIF_EXTRA_FLAG_MORE);
    ck_assert_uint_eq(rx[1].extra.u.gso.size, 1448);
    ck_assert_uint_eq(rx[1].extra.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV4);
    ck_assert(rx[2].is_extra);
    ck_assert_uint_eq(rx[2].extra.type, XEN_NETIF_EXTRA_TYPE_HASH);
    ck_assert_uint_eq(rx[2].extra.flags, 0);
    /* The data: every byte once, in order, each response in its slot. */
    for (i = 0; i < n; i++) {
        if (rx[i].is_extra)
            continue;
        ck_assert_uint_eq(rx[i].data_off, next);
        ck_assert_uint_eq(rx[i].rsp.id, ids[i]);
        ck_assert_int_eq(rx[i].rsp.status, rx[i].data_len);
        ck_assert_uint_eq(!!(rx[i].rsp.flags & NETRXF_more_data), i + 1 < n);
        next += rx[i].data_len;
        sum += rx[i].data_len;
    }
    ck_assert_uint_eq(sum, len);
    /* GSO alone: one extra, no MORE flag on it. */
    m.hash = false;
    ck_assert_uint_eq(net_rx_plan(3000, &m, ids, rx), 2);
    ck_assert_uint_eq(rx[0].rsp.flags, NETRXF_extra_info |
                                           NETRXF_csum_blank |
                                           NETRXF_data_validated);
    ck_assert_uint_eq(rx[1].extra.flags, 0);
}
END_TEST

START_TEST(rx_frames_that_cannot_go)
{
    struct net_rx_meta m = { 0 };

    ck_assert_uint_eq(net_rx_slots(0, &m), 0);
    ck_assert_uint_eq(net_rx_slots(NET_RX_MAX_LEN + 1, &m), 0);
    ck_assert_uint_eq(net_rx_plan(NET_RX_MAX_LEN + 1, &m, ids, rx), 0);
    m.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
    ck_assert_uint_eq(net_rx_slots(3000, &m), 0); /* GSO size 0 */
    m.gso_size = 1428;
    ck_assert_uint_eq(net_rx_slots(3000, &m), 2);
    m.gso_type = 3;
    ck_assert_uint_eq(net_rx_slots(3000, &m), 0);
}
END_TEST

START_TEST(every_reason_has_words)
{
    int r;

    for (r = NET_TX_OK; r <= NET_TX_GSO_TYPE; r++)
        ck_assert_str_ne(net_tx_reject_str((enum net_tx_reject)r), "?");
}
END_TEST

int main(void)
{
    Suite *su = suite_create("netproto");
    TCase *tc = tcase_create("tx");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, single_slot_packet);
    tcase_add_test(tc, fragments_are_taken_from_the_size);
    tcase_add_test(tc, slot_count_boundaries);
    tcase_add_test(tc, sizes_zero_short_and_overrun);
    tcase_add_test(tc, crossing_a_page_is_fatal);
    tcase_add_test(tc, chains_past_the_posted_slots_are_fatal);
    tcase_add_test(tc, extra_info_chain);
    tcase_add_test(tc, bad_extra_info_is_fatal);
    tcase_add_test(tc, gso_types_and_sizes);
    tcase_add_test(tc, multicast_requests_carry_no_packet);
    tcase_add_test(tc, every_reason_has_words);
    tcase_add_test(tc, rx_plain_frames);
    tcase_add_test(tc, rx_gso_and_hash_extras);
    tcase_add_test(tc, rx_frames_that_cannot_go);
    suite_add_tcase(su, tc);
    sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
