/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: a TX packet as iovm's network backend takes it, from
 * bytes a hostile frontend controls.  Input: one byte of negotiated
 * features, then up to 64 TX ring slots (12 bytes each).  Whatever the
 * verdict, the packet never claims more slots than were posted; an
 * accepted packet satisfies every invariant the data path relies on.  A
 * violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net-proto.h"

#define MAX_SLOTS 64u

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct netif_tx_request slots[MAX_SLOTS];
    static struct net_tx_pkt pkt;
    struct net_features f;
    enum net_tx_reject why;
    unsigned int n, i, extras = 0;
    uint32_t sum;

    if (size < 1)
        return 0;
    f = (struct net_features){ .sg = data[0] & 1, .gso_tcpv4 = data[0] & 2,
                               .gso_tcpv6 = data[0] & 4, .csum = data[0] & 8,
                               .ipv6_csum = data[0] & 16,
                               .mcast = data[0] & 32 };
    n = (unsigned int)((size - 1) / sizeof(slots[0]));
    if (n > MAX_SLOTS)
        n = MAX_SLOTS;
    memcpy(slots, data + 1, n * sizeof(slots[0]));
    why = net_tx_parse(slots, n, &f, &pkt);
    check(net_tx_reject_str(why)[0] != '?');
    if (net_tx_reject_fatal(why))
        return 0;
    /* Answered slots: all posted, at most a packet's worth. */
    check(pkt.nslots >= 1 && pkt.nslots <= n);
    check(pkt.nslots <= 1 + NET_TX_EXTRAS_MAX + NET_TX_SLOTS_FATAL);
    check(pkt.ndata >= 1 && pkt.ndata <= NET_TX_SLOTS_FATAL);
    for (i = 0; i < 32; i++)
        if (pkt.extra_mask & (1u << i)) {
            check(i >= 1 && i < pkt.nslots);
            extras++;
        }
    check(extras <= NET_TX_EXTRAS_MAX);
    if (why != NET_TX_OK || pkt.mcast_add || pkt.mcast_del)
        return 0;
    check(pkt.ndata + extras == pkt.nslots);
    check(pkt.ndata <= NET_TX_SLOTS_OK);
    check(pkt.head_size >= NET_ETH_HLEN);
    check((uint32_t)pkt.frag[0].offset + pkt.head_size <= NET_PAGE);
    for (i = 1, sum = pkt.head_size; i < pkt.ndata; i++) {
        check((uint32_t)pkt.frag[i].offset + pkt.frag[i].size <= NET_PAGE);
        sum += pkt.frag[i].size;
    }
    check(sum == pkt.size);
    if (pkt.gso_type != XEN_NETIF_GSO_TYPE_NONE) {
        check(pkt.gso_size > 0);
        check((pkt.gso_type == XEN_NETIF_GSO_TYPE_TCPV4 && f.gso_tcpv4) ||
              (pkt.gso_type == XEN_NETIF_GSO_TYPE_TCPV6 && f.gso_tcpv6));
    }
    return 0;
}
