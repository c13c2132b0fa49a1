/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netif protocol core (see net-proto.h): one TX packet at a time, from
 * private copies of its slots.
 */
#include <string.h>

#include "net-proto.h"

const char *net_tx_reject_str(enum net_tx_reject why)
{
    switch (why) {
    case NET_TX_OK: return "ok";
    case NET_TX_TOO_SHORT: return "packet shorter than an Ethernet header";
    case NET_TX_FRAGS_OVERRUN:
        return "fragments larger than the packet (a frame of 64 KiB or more?)";
    case NET_TX_SLOTS_DROP: return "more than 18 data slots";
    case NET_TX_CROSS_PAGE: return "slot data crosses its page";
    case NET_TX_SLOTS_FATAL_MANY: return "more than 20 data slots";
    case NET_TX_TRUNCATED: return "packet runs past the posted requests";
    case NET_TX_EXTRA_TYPE: return "bad or repeated extra-info type";
    case NET_TX_GSO_SIZE: return "GSO size 0";
    case NET_TX_GSO_TYPE: return "GSO type not offered";
    }
    return "?";
}

bool net_tx_reject_fatal(enum net_tx_reject why)
{
    return why >= NET_TX_CROSS_PAGE;
}

static bool crosses_page(const struct netif_tx_request *t, uint32_t size)
{
    return (uint32_t)t->offset + size > NET_PAGE;
}

/* The extra-info chain after the first slot, from slots[*i]. */
static enum net_tx_reject parse_extras(const struct netif_tx_request *slots,
                                       unsigned int avail, unsigned int *i,
                                       const struct net_features *feat,
                                       struct net_tx_pkt *pkt)
{
    unsigned int seen = 0;
    bool more = true;

    while (more) {
        struct netif_extra_info ex;

        if (*i >= avail)
            return NET_TX_TRUNCATED;
        /* Extra-info shares the slot (netif.h: it fits in a request). */
        memcpy(&ex, &slots[*i], sizeof(ex));
        pkt->extra_mask |= 1u << *i;
        (*i)++;
        if (ex.type == XEN_NETIF_EXTRA_TYPE_NONE ||
            ex.type >= XEN_NETIF_EXTRA_TYPE_MAX || (seen & (1u << ex.type)))
            return NET_TX_EXTRA_TYPE;
        seen |= 1u << ex.type;
        switch (ex.type) {
        case XEN_NETIF_EXTRA_TYPE_GSO:
            if (!ex.u.gso.size)
                return NET_TX_GSO_SIZE;
            if (!(ex.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 && feat->gso_tcpv4) &&
                !(ex.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6 && feat->gso_tcpv6))
                return NET_TX_GSO_TYPE;
            pkt->gso_type = ex.u.gso.type;
            pkt->gso_size = ex.u.gso.size;
            break;
        case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
        case XEN_NETIF_EXTRA_TYPE_MCAST_DEL:
            if (ex.type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD)
                pkt->mcast_add = true;
            else
                pkt->mcast_del = true;
            memcpy(pkt->mcast_addr, ex.u.mcast.addr, sizeof(pkt->mcast_addr));
            break;
        case XEN_NETIF_EXTRA_TYPE_HASH:
            pkt->hash = true;
            pkt->hash_type = ex.u.hash.type;
            pkt->hash_alg = ex.u.hash.algorithm;
            memcpy(pkt->hash_value, ex.u.hash.value, sizeof(pkt->hash_value));
            break;
        }
        more = ex.flags & XEN_NETIF_EXTRA_FLAG_MORE;
    }
    return NET_TX_OK;
}

enum net_tx_reject net_tx_parse(const struct netif_tx_request *slots,
                                unsigned int avail,
                                const struct net_features *feat,
                                struct net_tx_pkt *pkt)
{
    enum net_tx_reject drop = NET_TX_OK, rc;
    uint32_t remaining;
    unsigned int i = 1;
    bool more;

    memset(pkt, 0, sizeof(*pkt));
    if (!avail)
        return NET_TX_TRUNCATED;
    pkt->frag[0] = slots[0];
    pkt->ndata = 1;
    pkt->flags = slots[0].flags;
    pkt->size = slots[0].size;
    if (slots[0].flags & NETTXF_extra_info) {
        rc = parse_extras(slots, avail, &i, feat, pkt);
        if (rc)
            return rc;
    }
    /* A multicast request carries no packet: its slots are answered. */
    if (pkt->mcast_add || pkt->mcast_del) {
        pkt->nslots = i;
        return NET_TX_OK;
    }
    /* The first slot's size is the packet's; each fragment's is taken
     * from it, and what is left is the first slot's own data. */
    remaining = slots[0].size;
    more = slots[0].flags & NETTXF_more_data;
    while (more) {
        const struct netif_tx_request *t;

        if (pkt->ndata >= NET_TX_SLOTS_FATAL)
            return NET_TX_SLOTS_FATAL_MANY;
        if (i >= avail)
            return NET_TX_TRUNCATED;
        t = &slots[i++];
        if (crosses_page(t, t->size))
            return NET_TX_CROSS_PAGE;
        if (!drop && pkt->ndata >= NET_TX_SLOTS_OK)
            drop = NET_TX_SLOTS_DROP;
        if (!drop && t->size > remaining)
            drop = NET_TX_FRAGS_OVERRUN;
        remaining -= t->size < remaining ? t->size : remaining;
        pkt->frag[pkt->ndata++] = *t;
        more = t->flags & NETTXF_more_data;
    }
    pkt->nslots = i;
    if (drop)
        return drop;
    pkt->head_size = (uint16_t)remaining;
    if (crosses_page(&slots[0], remaining))
        return NET_TX_CROSS_PAGE;
    if (remaining < NET_ETH_HLEN)
        return NET_TX_TOO_SHORT;
    return NET_TX_OK;
}

/* ---------------------------------------------------------------- */
/* receive */

static unsigned int rx_extras(const struct net_rx_meta *m)
{
    return (m->gso_type != XEN_NETIF_GSO_TYPE_NONE) + m->hash;
}

unsigned int net_rx_slots(uint32_t len, const struct net_rx_meta *m)
{
    if (!len || len > NET_RX_MAX_LEN)
        return 0;
    if (m->gso_type != XEN_NETIF_GSO_TYPE_NONE &&
        ((m->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 &&
          m->gso_type != XEN_NETIF_GSO_TYPE_TCPV6) ||
         !m->gso_size))
        return 0;
    return (len + NET_PAGE - 1) / NET_PAGE + rx_extras(m);
}

unsigned int net_rx_plan(uint32_t len, const struct net_rx_meta *m,
                         const uint16_t *ids, struct net_rx_slot *out)
{
    unsigned int n = net_rx_slots(len, m), i = 0, extras, e;
    uint32_t off = 0;

    if (!n)
        return 0;
    extras = rx_extras(m);
    while (i < n) {
        struct net_rx_slot *sl = &out[i];

        memset(sl, 0, sizeof(*sl));
        if (i >= 1 && i <= extras) {
            /* The extra-info slots follow the first data slot. */
            e = i - 1;
            sl->is_extra = true;
            if (e == 0 && m->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
                sl->extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
                sl->extra.u.gso.type = m->gso_type;
                sl->extra.u.gso.size = m->gso_size;
            } else {
                sl->extra.type = XEN_NETIF_EXTRA_TYPE_HASH;
                sl->extra.u.hash.type = m->hash_type;
                sl->extra.u.hash.algorithm =
                    XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
                memcpy(sl->extra.u.hash.value, &m->hash_value,
                       sizeof(sl->extra.u.hash.value));
            }
            if (i < extras)
                sl->extra.flags = XEN_NETIF_EXTRA_FLAG_MORE;
            i++;
            continue;
        }
        sl->data_off = off;
        sl->data_len = (uint16_t)(len - off < NET_PAGE ? len - off : NET_PAGE);
        off += sl->data_len;
        sl->rsp.id = ids[i];
        sl->rsp.offset = 0;
        sl->rsp.status = (int16_t)sl->data_len;
        if (off < len)
            sl->rsp.flags |= NETRXF_more_data;
        if (i == 0) {
            if (extras)
                sl->rsp.flags |= NETRXF_extra_info;
            if (m->csum_blank)
                sl->rsp.flags |= NETRXF_csum_blank | NETRXF_data_validated;
            else if (m->data_validated)
                sl->rsp.flags |= NETRXF_data_validated;
        }
        i++;
    }
    return n;
}
