/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internet checksums of Ethernet frames (see netcsum.h): where a TCP or
 * UDP checksum sits, as Linux's skb_checksum_setup finds it, and ones'
 * complement sums.  Pure; the frame may be anyone's: every offset is
 * checked against what was given.
 */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>

#include "netcsum.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

void iovm_csum_add(struct iovm_csum_acc *a, const void *p, size_t len)
{
    const uint8_t *b = p;
    size_t i = 0;

    if (a->odd && len) {
        a->sum += b[0];
        a->odd = false;
        i = 1;
    }
    for (; i + 1 < len; i += 2)
        a->sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (i < len) {
        a->sum += (uint32_t)b[i] << 8;
        a->odd = true;
    }
}

uint16_t iovm_csum_fold(const struct iovm_csum_acc *a)
{
    uint64_t s = a->sum;

    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static void csum_add16(struct iovm_csum_acc *a, uint32_t v)
{
    a->sum += v;
}

int iovm_csum_setup(const uint8_t *h, size_t caplen, uint32_t len,
                      struct iovm_csum_info *ci)
{
    struct iovm_csum_acc a = { 0 };
    uint32_t off, l4len;
    uint8_t proto;
    unsigned int i;

    memset(ci, 0, sizeof(*ci));
    if (caplen > len)
        caplen = len;
    if (caplen < IOVM_ETH_HLEN)
        return -EPROTO;
    switch (be16(h + 12)) {
    case 0x0800: {
        const uint8_t *ip = h + IOVM_ETH_HLEN;
        unsigned int ihl;

        if (caplen < IOVM_ETH_HLEN + 20)
            return -EPROTO;
        ihl = (ip[0] & 0x0f) * 4u;
        if ((ip[0] >> 4) != 4 || ihl < 20)
            return -EPROTO;
        /* More fragments, or an offset: a fragment. */
        if (be16(ip + 6) & 0x3fff)
            return -EPROTO;
        off = IOVM_ETH_HLEN + ihl;
        proto = ip[9];
        for (i = 12; i < 20; i += 2)
            csum_add16(&a, be16(ip + i));
        break;
    }
    case 0x86dd: {
        const uint8_t *ip = h + IOVM_ETH_HLEN;
        bool done = false;

        if (caplen < IOVM_ETH_HLEN + 40 || (ip[0] >> 4) != 6)
            return -EPROTO;
        off = IOVM_ETH_HLEN + 40;
        proto = ip[6];
        for (i = 8; i < 40; i += 2)
            csum_add16(&a, be16(ip + i));
        /* Extension headers, as skb_checksum_setup_ipv6. */
        while (!done) {
            const uint8_t *x = h + off;

            switch (proto) {
            case IPPROTO_HOPOPTS:
            case IPPROTO_DSTOPTS:
            case IPPROTO_ROUTING:
                if (off + 8 > caplen)
                    return -EPROTO;
                proto = x[0];
                off += (x[1] + 1u) * 8;
                break;
            case IPPROTO_AH:
                if (off + 8 > caplen)
                    return -EPROTO;
                proto = x[0];
                off += (x[1] + 2u) * 4;
                break;
            case IPPROTO_FRAGMENT:
                if (off + 8 > caplen)
                    return -EPROTO;
                /* Offset or more fragments: a fragment. */
                if (be16(x + 2) & 0xfff9)
                    return -EPROTO;
                proto = x[0];
                off += 8;
                break;
            default:
                done = true;
                break;
            }
            if (off >= caplen)
                return -EPROTO;
        }
        ci->ipv6 = true;
        break;
    }
    default:
        return -EPROTO;
    }
    switch (proto) {
    case IPPROTO_TCP:
        if (off + 20 > caplen)
            return -EPROTO;
        ci->offset = 16;
        ci->l4_hlen = (h[off + 12] >> 4) * 4u;
        if (ci->l4_hlen < 20)
            return -EPROTO;
        break;
    case IPPROTO_UDP:
        if (off + 8 > caplen)
            return -EPROTO;
        ci->offset = 6;
        ci->l4_hlen = 8;
        break;
    default:
        return -EPROTO;
    }
    if (off + ci->l4_hlen > len)
        return -EPROTO;
    /* The pseudo-header: addresses (above), protocol and L4 length (the
     * frame's, as Linux takes it). */
    l4len = len - off;
    csum_add16(&a, proto);
    csum_add16(&a, l4len >> 16);
    csum_add16(&a, l4len & 0xffff);
    ci->start = (uint16_t)off;
    ci->proto = proto;
    ci->pseudo = iovm_csum_fold(&a);
    return 0;
}
