/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The netif control ring's receive-side hashing, pure: the state a
 * frontend sets over the control ring (algorithm, hash types, Toeplitz
 * key, queue mapping table), the answer to each control request, and the
 * hash of a frame and the queue it steers to.  Windows PV drivers drive
 * it for RSS; Linux netfront does not use the control ring.
 *
 * Requests are the frontend's and untrusted.  The key and the mapping
 * table come from pages the frontend grants, read through a callback
 * (grant copy, in the backend) into private memory before any check; a
 * request that is refused changes nothing.
 */
#ifndef IOVM_NET_HASH_H
#define IOVM_NET_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/io/netif.h>

#define NET_HASH_KEY_MAX 40u      /* octets (Linux netback's) */
#define NET_HASH_MAPPING_MAX 128u /* entries (Linux netback's) */
#define NET_HASH_TYPES                                                     \
    (XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |  \
     XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)

struct net_hash {
    uint32_t algorithm;                /* XEN_NETIF_CTRL_HASH_ALGORITHM_* */
    uint32_t types;                    /* XEN_NETIF_CTRL_HASH_TYPE_* */
    uint8_t key[NET_HASH_KEY_MAX];
    uint32_t mapping_size;             /* 0: hash modulo the queues */
    uint32_t mapping[NET_HASH_MAPPING_MAX];
    unsigned int nqueues;              /* the vif's, for the table's checks */
};

/*
 * Copies len bytes at offset off of the page the frontend granted as
 * gref into dst.  0, or -errno (the reference was not granted, say).
 */
typedef int net_hash_fetch_fn(void *arg, uint32_t gref, uint32_t off,
                              void *dst, size_t len);

void net_hash_init(struct net_hash *h, unsigned int nqueues);

/*
 * Serves one control request: returns the status
 * (XEN_NETIF_CTRL_STATUS_*) and sets *data for the response.
 */
uint32_t net_hash_ctrl(struct net_hash *h,
                       const struct xen_netif_ctrl_request *req,
                       net_hash_fetch_fn *fetch, void *arg, uint32_t *data);

/* Toeplitz over buf with h's key. */
uint32_t net_hash_toeplitz(const struct net_hash *h, const uint8_t *buf,
                           size_t len);

/*
 * The hash of an Ethernet frame by the types enabled (the most specific
 * that applies: TCP over IPv4/IPv6, else the addresses), as the
 * XEN_NETIF_CTRL_HASH_TYPE_* used in *type.  False if hashing is off or
 * no enabled type applies (the frame is too short, not IP, a fragment).
 */
bool net_hash_frame(const struct net_hash *h, const uint8_t *frame,
                    size_t len, uint32_t *hash, uint32_t *type);

/* The queue a hash steers to (the mapping table, else modulo). */
unsigned int net_hash_queue(const struct net_hash *h, uint32_t hash);

#endif
