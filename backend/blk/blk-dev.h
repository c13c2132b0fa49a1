/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkback internals: a virtual block device (one backend directory),
 * its queues (one shared ring + event channel + io_uring + thread each)
 * and the persistent-grant cache.
 *
 * Threads: the main thread owns xenstore and the device list; each
 * connected queue runs its data path in its own thread.  They share only
 * the read-only device limits and a few atomic flags; the main thread
 * starts and joins queue threads.
 */
#ifndef IOVM_BLK_DEV_H
#define IOVM_BLK_DEV_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "blk-proto.h"
#include "bedaemon.h"
#include "blk-store.h"
#include "devstat.h"
#include "ring.h"
#include "rjournal.h"
#include "xbdev.h"
#include "xenbus.h"

#define BLK_MAX_QUEUES 16u
#define BLK_MAX_RING_ORDER 4u
#define BLK_MAX_RING_PAGES (1u << BLK_MAX_RING_ORDER)
/* Persistent grants kept mapped per queue, by default (Linux blkback
 * keeps 1056, and maps and unmaps the rest per request). */
#define BLK_PGRANT_DEFAULT 4096u
#define BLK_PGRANT_LIMIT 16384u
#define BLK_BUDGET 128u            /* requests per wake-up, per queue */
/*
 * Ceilings per frontend device (split evenly between its queues): guest
 * data in flight (so bounce buffers and transient mappings), and
 * persistent grants kept mapped.  A frontend past them waits; it gets
 * no error.
 */
#define BLK_INFLIGHT_DEFAULT (64u << 20) /* bytes */
#define BLK_INFLIGHT_MIN (1u << 20)
#define BLK_INFLIGHT_LIMIT (1u << 30)
#define BLK_PGRANT_DEVICE_MAX 16384u
/* Backend directory key: the last process stopped with its rings drained
 * (blk_dev_suspend), so the next may resume the device. */
#define BLK_CLEAN_STOP_KEY "iovm-clean-stop"

/* ---- persistent grants (blk-gnt.c) ---- */

struct pgrant_chunk;

struct pgrant {
    uint32_t ref;
    void *addr;            /* IOVM_SHARED: the guest's page */
    unsigned int busy;     /* in-flight uses */
    bool transient;        /* not cached (it was full): gone when idle */
    struct pgrant_chunk *chunk; /* the mapping it is part of */
    struct pgrant *hnext;
    struct pgrant *prev, *next; /* LRU of idle entries */
};

struct pgrant_cache {
    xengnttab_handle *gnt;
    uint32_t domid;
    unsigned int max, count;
    unsigned int mapped;   /* pages mapped, cached or not */
    struct pgrant *buckets[1024];
    struct pgrant lru;     /* sentinel: next = most recently used */
    uint64_t maps, map_calls, unmaps, hits;
};

void pgrant_init(struct pgrant_cache *c, xengnttab_handle *gnt,
                 uint32_t domid, unsigned int max);
/*
 * The mappings (writable) of refs[0..n), n <= BLK_MAX_SEGS, into out:
 * the ones not cached are mapped in one call.  0, or -errno with nothing
 * taken (a reference the frontend did not grant us, say).
 */
int pgrant_get_many(struct pgrant_cache *c, const uint32_t *refs,
                    unsigned int n, struct pgrant **out);
/* One reference: NULL + errno on failure. */
struct pgrant *pgrant_get(struct pgrant_cache *c, uint32_t ref);
void pgrant_put(struct pgrant_cache *c, struct pgrant *pg);
/* Unmaps everything; every entry must be idle. */
void pgrant_flush(struct pgrant_cache *c);

/* ---- queues (blk-queue.c) ---- */

enum blk_io_stage {
    BLK_IO_FREE = 0,
    BLK_IO_DATA,      /* read/write in flight */
    BLK_IO_SYNC,      /* fdatasync in flight (flush, FUA, barrier) */
    BLK_IO_DISCARD,
};

/* One request being served. */
struct blk_io {
    struct blk_req req;
    enum blk_io_stage stage;
    int16_t status;
    bool sync_after;          /* FLUSH with data / barrier: sync next */
    bool retried;             /* already resubmitted without O_DIRECT */
    bool replayed;            /* taken over from a previous process */
    uint32_t nsegs_mapped;
    unsigned int pages;       /* counted in the queue's inflight_pages */
    struct pgrant *pg[BLK_MAX_SEGS];
    void *bounce;             /* copy mode: bounce_pages pages */
    unsigned int bounce_pages;
    struct iovec iov[BLK_MAX_SEGS];
    unsigned int niov;
    struct blk_io *next_free;
};

struct blk_dev;

struct blk_queue {
    struct blk_dev *dev;
    unsigned int idx;
    /* Set up by the main thread before the thread starts. */
    xenevtchn_handle *evtchn;
    evtchn_port_t port;       /* 0: not bound (Xen never uses port 0) */
    xengnttab_handle *gnt;
    void *ring_addr;          /* IOVM_SHARED */
    unsigned int ring_pages;
    struct iovm_back_ring ring;
    enum blk_abi abi;
    bool persistent;
    struct io_uring uring;
    bool uring_ok;
    bool fixed_files; /* the store's fds registered: BLK_FILE_* below */
    bool cq_efd_off;  /* completions do not signal uring_efd (awake) */
    int uring_efd;
    int stop_efd;
    pthread_t thread;
    bool thread_started;
    bool stop_requested;
    /* Thread-private. */
    struct blk_io *ios;
    struct blk_io *free_ios;
    unsigned int inflight;
    bool draining;            /* barrier: take nothing until drained */
    unsigned int inflight_pages;      /* guest pages of requests taken */
    unsigned int max_inflight_pages;  /* the ceiling: take no more */
    unsigned int peak_inflight_pages;
    unsigned int bounce_held;         /* bounce pages the ios keep */
    struct blk_io *barrier;   /* the barrier waiting for the drain */
    struct pgrant_cache pcache;
    void *indirect_buf;       /* private copies of indirect pages */
    /* Written by the thread, read by the main thread. */
    bool broken;              /* atomic: ring halted, device must fail */
    bool flush_failed;        /* atomic: storage refused a flush */
    /* Counters (atomic, relaxed). */
    uint64_t st_reqs, st_notify, st_wakeups, st_spurious, st_errors;
    struct iovm_devstat_queue *ds; /* iovmd's status page, or NULL */
    /* The ring journal (lib/rjournal.h): this queue's part, or NULL;
     * rec: what a previous process left outstanding (a resume), consumed
     * as the thread starts. */
    struct iovm_rj_queue *jq;
    struct iovm_rj_recovery *rec;
    unsigned int replay_next; /* rec->replay[] taken again so far */
    bool resumed;             /* taken over: notify the frontend once */
};

int blk_queue_start(struct blk_queue *q);
/* Stops the thread (in-flight I/O completes or is failed first). */
void blk_queue_stop(struct blk_queue *q);
/* Tells the queue's thread to finish (it drains and unmaps on its own);
 * blk_queue_stop() then waits for it.  Lets queues wind down together. */
void blk_queue_request_stop(struct blk_queue *q);

/* ---- devices (blk-xs.c) ---- */

enum blk_kind { BLK_KIND_VBD, BLK_KIND_QDISK };

struct blk_dev {
    struct xbdev xb;          /* the life cycle: paths, states (xbdev.h) */
    struct blkback *bb;
    enum blk_kind kind;
    struct blk_store store;
    bool store_open;
    struct blk_limits lim;
    bool cdrom, removable;
    unsigned int nqueues;
    struct blk_queue *queues;
    bool flush_withdrawn;
    bool resuming;            /* connect takes over a live connection */
    bool clean_stop;          /* ... that the last process left cleanly */
};

#define BLK_DEV(xd) ((struct blk_dev *)(xd)) /* xb is the first member */

/* The daemon. */
struct blkback {
    struct iovm_bed bed;      /* xenstore, devices, loop (bedaemon.h) */
    unsigned int max_queues;
    bool persistent;          /* offer persistent grants */
    bool indirect;            /* offer indirect segments */
    unsigned int max_ring_order;
    unsigned int poll_us;     /* busy-poll before sleeping (0: never) */
    bool zero_copy;           /* storage I/O straight into mapped grants */
    unsigned int max_pgrants; /* persistent grants per queue */
    unsigned int remove_delay_ms; /* Closed -> removing our directory */
    /*
     * Under iovmd (bed.supervised): one device, no watches of our own
     * (iovmd pokes when something of the device changed), the directory
     * is left for iovmd to remove, and a stop leaves the device
     * connected for the next process to resume.
     */
    bool hotplug;             /* a hotplug script provides physical-device */
    /* The sandbox (blk-sandbox.c), entered once the storage is open;
     * grant and event-channel handles are opened before it, one pair per
     * queue (pool_*), since it opens nothing. */
    bool sandbox, sandboxed;
    const char *user;
    bool test_hooks;          /* SIGUSR1: a forbidden call (tests) */
    unsigned int max_inflight_bytes; /* per device */
    /* iovmd's ring journal (--journal-fd): what was taken and not
     * answered survives this process, for the next to take over. */
    struct iovm_rjournal *journal;
};

/* The block class's part of the life cycle (blk-xs.c). */
extern const struct xbdev_ops blk_xbdev_ops;
/* Tears a device down (stop, unmap, close); optionally writes Closing. */
void blk_dev_shutdown(struct blk_dev *dev, bool closing);
/*
 * A stop for maintenance: every queue drains (each request taken is
 * answered and published), the rings are let go, the state is left as it
 * is, and the device says the next process may resume it.
 */
void blk_dev_suspend(struct blk_dev *dev);
void blk_dev_free(struct blk_dev *dev);

#endif
