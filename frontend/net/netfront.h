/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-netfront's internals: one vif connection (struct nf_dev, built and
 * torn down by main.c), its queues (struct nf_queue: a TX and an RX ring,
 * their buffer pages, event channels and a TAP queue, served by one
 * thread in nf-queue.c); the TAP is lib/tap.h's.
 *
 * Trust: the backend (its rings, responses, event channels and xenstore
 * values) is untrusted; the command line and our own kernel are trusted.
 */
#ifndef IOVM_NETFRONT_H
#define IOVM_NETFRONT_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "nf-proto.h"

#define NF_MAX_QUEUES 16u
#define NF_TX_RING_SIZE __CONST_RING_SIZE(netif_tx, NF_PAGE)
#define NF_RX_RING_SIZE __CONST_RING_SIZE(netif_rx, NF_PAGE)
#define NF_MCAST_OPS 64u

/* What the command line asked for. */
struct nf_opts {
    unsigned int devid;
    char ifname[IFNAMSIZ];
    unsigned int queues;          /* 0: min(backend, CPUs, 8) */
    unsigned int bufs;            /* pages per ring per queue */
    bool sg, gso4, gso6, csum, ipv6_csum, split, rx_notify, mcast, ctrl;
    bool rx_copy, exit_on_close;
};

struct nf_mcast_op {
    bool add;
    uint8_t addr[6];
};

struct nf_dev;

struct nf_queue {
    struct nf_dev *dev;
    unsigned int idx;
    pthread_t thread;
    bool started;

    /* One share: TX ring, RX ring, nrx RX pages, ntx TX pages. */
    void *pages;
    uint32_t *refs;
    unsigned int npages;
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;

    xenevtchn_handle *xe;         /* this queue's ports only */
    evtchn_port_t port_tx, port_rx; /* equal without split channels */
    int tapfd;
    int epfd;
    uint8_t *spill;               /* catches a frame too big for the pages */

    unsigned int ntx, tx_nfree;
    uint16_t *tx_free;            /* stack of free TX page ids */
    bool *tx_busy;
    RING_IDX tick_cons;           /* TX rsp_cons at the last tick */

    unsigned int nrx, rx_nfree;
    uint16_t *rx_free;            /* stack of free RX page ids */
    uint16_t rx_posted[NF_RX_RING_SIZE]; /* page of each ring slot */

    /* Multicast filter changes, for queue 0 to send (main thread adds). */
    pthread_mutex_t mc_lock;
    struct nf_mcast_op mc_ops[NF_MCAST_OPS];
    unsigned int mc_n;
    int kickfd;

    bool rx_warned;
    /* Counters (written by the queue's thread only). */
    uint64_t tx_frames, tx_drops, tx_errors, rx_frames, rx_drops, events;
};

struct nf_dev {
    const struct nf_opts *o;
    struct xs_handle *xs;
    xengntshr_handle *gs;
    uint32_t domid, backend_id;
    char fe[96], be[256];
    char ifname[IFNAMSIZ];
    uint8_t mac[6];
    unsigned int mtu;

    /* Negotiated. */
    unsigned int nq;
    bool be_mq, split, rx_sg, mcast, ctrl;
    struct nf_tx_caps txc;
    struct nf_queue *q;

    /* Control ring (main thread only): ring, key page, mapping page. */
    void *ctrl_pages;
    uint32_t ctrl_refs[3];
    xen_netif_ctrl_front_ring_t ctrl_ring;
    xenevtchn_handle *ctrl_xe;
    evtchn_port_t ctrl_port;
    uint16_t ctrl_id;

    int stopfd;                   /* eventfd: queue threads stop */
    int fatalfd;                  /* eventfd: a queue found the backend
                                     broken (fatal_why says how) */
    pthread_mutex_t fatal_lock;
    char fatal_why[160];
};

/* nf-queue.c */
/* Grants the rings and buffers, binds the port(s).  0 or -errno. */
int nf_queue_setup(struct nf_dev *d, struct nf_queue *q, unsigned int idx);
/* Posts the RX buffers and publishes them (before the backend knows). */
void nf_queue_prime(struct nf_queue *q);
/* Starts the queue's thread (the TAP queue fd must be open). */
int nf_queue_start(struct nf_queue *q);
/* Waits for the thread (d->stopfd must be signalled first). */
void nf_queue_stop(struct nf_queue *q);
/* Stops, closes and frees everything of the queue (also if half set up). */
void nf_queue_teardown(struct nf_dev *d, struct nf_queue *q);
/* Queues a multicast filter change for queue 0; false if full. */
bool nf_queue_mcast(struct nf_queue *q, const struct nf_mcast_op *op);

#endif
