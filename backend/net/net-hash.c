/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control ring's hashing (see net-hash.h).  The Toeplitz function is
 * the one xen/io/netif.h provides.
 */
#define XEN_NETIF_DEFINE_TOEPLITZ
#include <errno.h>
#include <string.h>

#include "net-hash.h"

#define ETH_HLEN 14u
#define ETH_P_IP 0x0800u
#define ETH_P_IPV6 0x86ddu
#define ETH_P_8021Q 0x8100u
#define IPPROTO_TCP_ 6u

void net_hash_init(struct net_hash *h, unsigned int nqueues)
{
    memset(h, 0, sizeof(*h));
    h->algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_NONE;
    h->nqueues = nqueues ? nqueues : 1;
}

static uint32_t set_key(struct net_hash *h, const uint32_t *d,
                        net_hash_fetch_fn *fetch, void *arg)
{
    uint8_t key[NET_HASH_KEY_MAX] = { 0 };

    /* netif.h says BUFFER_OVERFLOW; Linux netback, which Windows PV
     * drivers are tested against, answers INVALID_PARAMETER. */
    if (d[1] > NET_HASH_KEY_MAX)
        return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
    if (d[1] && fetch(arg, d[0], 0, key, d[1]))
        return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
    /* Octets not given are zero; a size of 0 clears the key. */
    memcpy(h->key, key, sizeof(key));
    return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_mapping(struct net_hash *h, const uint32_t *d,
                            net_hash_fetch_fn *fetch, void *arg)
{
    uint32_t tab[NET_HASH_MAPPING_MAX];
    uint32_t n = d[1], off = d[2], i;

    /* A sub-table within the table's size, from one page. */
    if (off + n < off || off + n > h->mapping_size ||
        n > 4096u / sizeof(uint32_t))
        return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
    if (n && fetch(arg, d[0], 0, tab, n * sizeof(uint32_t)))
        return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
    for (i = 0; i < n; i++)
        if (tab[i] >= h->nqueues)
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
    memcpy(&h->mapping[off], tab, n * sizeof(uint32_t));
    return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t net_hash_ctrl(struct net_hash *h,
                       const struct xen_netif_ctrl_request *req,
                       net_hash_fetch_fn *fetch, void *arg, uint32_t *data)
{
    const uint32_t *d = req->data;

    *data = 0;
    switch (req->type) {
    case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
        if (d[0] != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE &&
            d[0] != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        h->algorithm = d[0];
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
        if (h->algorithm == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
            return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
        *data = NET_HASH_TYPES;
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
        if (h->algorithm == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
            return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
        if (d[0] & ~NET_HASH_TYPES)
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        h->types = d[0];
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY:
        return set_key(h, d, fetch, arg);
    case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
        *data = NET_HASH_MAPPING_MAX;
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
        if (d[0] > NET_HASH_MAPPING_MAX)
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        /* A new table, zero-filled (every hash to queue 0). */
        h->mapping_size = d[0];
        memset(h->mapping, 0, sizeof(h->mapping));
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
        return set_mapping(h, d, fetch, arg);
    default:
        /* Static grant mappings and anything unknown. */
        return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
    }
}

uint32_t net_hash_toeplitz(const struct net_hash *h, const uint8_t *buf,
                           size_t len)
{
    return xen_netif_toeplitz_hash(h->key, sizeof(h->key), buf,
                                   (unsigned int)len);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

bool net_hash_frame(const struct net_hash *h, const uint8_t *frame,
                    size_t len, uint32_t *hash, uint32_t *type)
{
    uint8_t in[36];
    size_t l3 = ETH_HLEN, n = 0;
    uint16_t proto;
    bool tcp = false;

    if (h->algorithm != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ || !h->types ||
        len < ETH_HLEN)
        return false;
    proto = be16(frame + 12);
    if (proto == ETH_P_8021Q) {
        if (len < ETH_HLEN + 4)
            return false;
        proto = be16(frame + 16);
        l3 += 4;
    }
    if (proto == ETH_P_IP) {
        const uint8_t *ip = frame + l3;
        size_t ihl;
        bool frag;

        if (len < l3 + 20 || (ip[0] >> 4) != 4)
            return false;
        ihl = (size_t)(ip[0] & 15) * 4;
        if (ihl < 20 || len < l3 + ihl)
            return false;
        /* More fragments, or an offset: no ports to hash. */
        frag = (be16(ip + 6) & 0x3fff) != 0;
        memcpy(in, ip + 12, 8);
        n = 8;
        tcp = ip[9] == IPPROTO_TCP_ && !frag && len >= l3 + ihl + 4 &&
              (h->types & XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
        if (tcp) {
            memcpy(in + 8, ip + ihl, 4);
            n = 12;
            *type = XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
        } else if (h->types & XEN_NETIF_CTRL_HASH_TYPE_IPV4) {
            *type = XEN_NETIF_CTRL_HASH_TYPE_IPV4;
        } else {
            return false;
        }
    } else if (proto == ETH_P_IPV6) {
        const uint8_t *ip = frame + l3;

        if (len < l3 + 40 || (ip[0] >> 4) != 6)
            return false;
        memcpy(in, ip + 8, 32);
        n = 32;
        /* TCP right after the fixed header (no extension headers). */
        tcp = ip[6] == IPPROTO_TCP_ && len >= l3 + 40 + 4 &&
              (h->types & XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
        if (tcp) {
            memcpy(in + 32, ip + 40, 4);
            n = 36;
            *type = XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
        } else if (h->types & XEN_NETIF_CTRL_HASH_TYPE_IPV6) {
            *type = XEN_NETIF_CTRL_HASH_TYPE_IPV6;
        } else {
            return false;
        }
    } else {
        return false;
    }
    *hash = net_hash_toeplitz(h, in, n);
    return true;
}

unsigned int net_hash_queue(const struct net_hash *h, uint32_t hash)
{
    if (h->mapping_size)
        return h->mapping[hash % h->mapping_size];
    return hash % h->nqueues;
}
