/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-netback internals: a virtual network interface (one backend
 * directory), its TAP device, its queues (a TX and an RX ring, one or two
 * event channels and a thread each), the control ring, and the journal
 * that lets a successor process take the rings over.
 *
 * Threads: the main thread owns xenstore and the device; each connected
 * queue carries its data in its own thread.  They share the read-only
 * negotiated features, the rate (atomics), the hash state (under a
 * mutex) and a few atomic flags.
 */
#ifndef IOVM_NET_DEV_H
#define IOVM_NET_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "bedaemon.h"
#include "devstat.h"
#include "net-hash.h"
#include "net-proto.h"
#include "ring.h"
#include "xbdev.h"
#include "xenbus.h"

#define NET_MAX_QUEUES 16u
#define NET_RING_ENTS 256u        /* a one-page TX or RX ring */
#define NET_MCAST_MAX 64u         /* multicast addresses (Linux's) */
/* Per queue and wake-up: packets taken from TX, frames read from the
 * TAP; then the other side gets its turn. */
#define NET_TX_BUDGET 64u
#define NET_RX_BUDGET 64u
/* Guest data held per queue at once (TX packets being copied, RX frames
 * read from the TAP): the memory a guest can make us hold. */
#define NET_TX_ARENA (512u << 10)
#define NET_RX_ARENA (1u << 20)
/* Backend directory key: the last process stopped with its rings
 * drained, so the next may resume the device. */
#define NET_CLEAN_STOP_KEY "iovm-clean-stop"

/* ---- the ring journal (net-queue.c) ----
 *
 * Every ring slot a process takes is copied here first (the copy is the
 * one parsed), then the journal's req_cons moves; responses are written
 * to the ring, then the journal's rsp_prod_pvt moves, then they are
 * published.  A successor publishes what the journal says was answered,
 * puts the copies of taken-but-unanswered slots back into the ring and
 * takes them again: a TX packet may go out twice, an RX frame being
 * delivered is lost (TCP retransmits); no slot is lost or answered
 * twice.
 */
#define NET_JOURNAL_MAGIC 0x316a74656e6d766full /* "ovmnetj1" */

struct net_journal_ring {
    uint32_t req_cons;
    uint32_t rsp_prod_pvt;
};

struct net_journal_queue {
    struct net_journal_ring tx, rx;
    struct netif_tx_request txs[NET_RING_ENTS];
    struct netif_rx_request rxs[NET_RING_ENTS];
};

/* What the frontend set through the control ring and multicast extras,
 * once: a successor must have it (the frontend does not say it again),
 * so under iovmd it lives in the journal too. */
struct net_vifstate {
    struct net_hash hash;
    uint32_t nmcast;
    uint8_t mcast[NET_MCAST_MAX][6];
};

struct net_journal {
    uint64_t magic;
    uint32_t valid;           /* 1: it describes the connection of key */
    uint32_t nqueues;
    uint64_t key;             /* the connection (refs, ports, queues) */
    struct net_vifstate vs;
    struct net_journal_queue q[NET_MAX_QUEUES];
};

/* ---- queues (net-queue.c) ---- */

struct net_dev;

struct net_queue {
    struct net_dev *dev;
    unsigned int idx;
    /* Set up by the main thread before the thread starts. */
    xenevtchn_handle *evtchn;
    evtchn_port_t port_tx, port_rx; /* equal without split channels */
    xengnttab_handle *gnt;
    void *tx_addr, *rx_addr;  /* IOVM_SHARED: the mapped rings */
    struct iovm_back_ring tx, rx;
    int tap_fd;               /* the device's, not ours to close */
    int stop_efd, timer_fd;
    pthread_t thread;
    bool thread_started;
    bool ran;                 /* it had a thread: its counters mean it */
    struct net_journal_queue *jq; /* or NULL */
    bool resumed;             /* taken over: notify the frontend once */
    /* Thread-private. */
    struct netif_tx_request txs[NET_RING_ENTS]; /* the slots, in order */
    xengnttab_grant_copy_segment_t *segs;
    uint8_t *tx_arena, *rx_arena;
    uint8_t *rx_pending;      /* a frame read, waiting for RX slots */
    uint32_t rx_pending_len;
    unsigned int rx_pending_need; /* the RX slots it takes */
    bool tap_polled;          /* the TAP fd is in the epoll set */
    uint64_t credit_left, credit_at; /* rate: bytes, and when refilled */
    bool credit_wait;
    /* Written by the thread, read by the main thread. */
    bool broken;              /* atomic: the vif must fail */
    char broken_why[160];
    /* Counters (atomic, relaxed). */
    uint64_t st_tx_pkts, st_tx_bytes, st_tx_drop, st_rx_pkts, st_rx_bytes,
        st_rx_drop, st_wakeups, st_notify, st_copy_calls;
    struct iovm_devstat_queue *ds;
};

int net_queue_start(struct net_queue *q);
void net_queue_request_stop(struct net_queue *q);
void net_queue_stop(struct net_queue *q);
/* Takes a journaled connection over (see above); 0 or -EBADMSG. */
int net_queue_takeover(struct net_queue *q);

/* ---- devices (net-xs.c) ---- */

struct netback;

struct net_dev {
    struct xbdev xb;          /* the life cycle (xbdev.h); first */
    struct netback *nb;
    char ifname[16];          /* the TAP's name */
    int tap_fds[NET_MAX_QUEUES];
    unsigned int ntap;
    uint8_t mac[6];           /* the guest's */
    unsigned int mtu;
    struct net_features feat;
    bool rx_notify;           /* the frontend kicks us for RX requests */
    unsigned int nqueues;
    struct net_queue *queues;
    /* Rate (BE/rate): credit_bytes per credit_usec, 0: unlimited. */
    uint64_t credit_bytes, credit_usec; /* atomic */
    /* Control ring (optional; served by queue 0's thread). */
    void *ctrl_addr;
    struct iovm_back_ring ctrl;
    evtchn_port_t port_ctrl;
    /* Hashing and the multicast list, under hash_lock: the journal's,
     * or own_vs. */
    pthread_mutex_t hash_lock;
    struct net_vifstate *vs;
    struct net_vifstate own_vs;
    bool mcast_ctrl;          /* atomic: request-multicast-control */
    bool resuming, clean_stop;
    bool suspending;          /* a maintenance stop: the journal stays */
};

#define NET_DEV(xd) ((struct net_dev *)(xd)) /* xb is the first member */

/* The daemon. */
struct netback {
    struct iovm_bed bed;      /* xenstore, devices, loop (bedaemon.h) */
    unsigned int max_queues;
    bool split, ctrl_ring, mcast; /* offered */
    unsigned int remove_delay_ms;
    bool hotplug;             /* Connected waits for hotplug-status */
    struct net_journal *journal;
    /* The sandbox (lib/sandbox.h), entered once the TAP is open (the
     * handles come from bed's pool), or NULL. */
    const char *sandbox_user;
    bool sandboxed;
};

extern const struct xbdev_ops net_xbdev_ops;
void net_dev_shutdown(struct net_dev *dev, bool closing);
/* Maintenance stop: answer and publish everything taken, leave the TAP
 * and the state, mark the device resumable. */
void net_dev_suspend(struct net_dev *dev);
void net_dev_free(struct net_dev *dev);
/* The multicast filter: should a frame to dst reach the guest? */
bool net_dev_mcast_pass(struct net_dev *dev, const uint8_t *dst);

#endif
