/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backend half of a xenbus device's life, for every device class:
 * probe (limits, InitWait), prepare (what a hotplug script provides),
 * connect (rings, Connected), disconnect, teardown once the toolstack
 * takes the device offline, and the delayed removal of the directory;
 * resuming a device a previous process left Connected after a clean
 * stop.  Driven level-triggered: xbdev_reconcile() re-reads both states
 * and acts on what they are now (events are coalesced, lost or
 * spurious).  The class's work is in its xbdev_ops; a class embeds
 * struct xbdev in its own device.
 *
 * Also the walk of a domain's backend/<kind>/<frontend>/<devid>
 * directories, for iovmd's discovery and a standalone backend's.
 *
 * Trust: the backend directory is the toolstack's and ours; the
 * frontend's state is only compared.
 */
#ifndef IOVM_XBDEV_H
#define IOVM_XBDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "xenbus.h"

struct xbdev;

struct xbdev_ops {
    /*
     * Before InitWait (which the caller then writes): advertise the
     * class's limits (and prepare what it can at once).  resume: the
     * device is Connected already (a previous process stopped cleanly).
     * 0, or -errno once xbdev_fatal() said why.
     */
    int (*probe)(struct xbdev *xd, bool resume);
    /* What connecting needs that may come later (a hotplug script's
     * result): 0 ready, -EAGAIN not yet, -errno failed (after fatal). */
    int (*prepare)(struct xbdev *xd);
    /* The frontend is ready: map, start, publish.  0, -EAGAIN (not yet:
     * asked again next pass), or -errno after fatal. */
    int (*connect)(struct xbdev *xd);
    /* Stop and unmap; idempotent. */
    void (*disconnect)(struct xbdev *xd);
    /* Taken offline: let go of what prepare took. */
    void (*release)(struct xbdev *xd);
    /* While connected, every pass: false if the device just failed. */
    bool (*check)(struct xbdev *xd);
    /* Optional: can a device a previous process left Connected (and did
     * not mark as cleanly stopped) be taken over?  (A journal of what it
     * had taken.) */
    bool (*resumable)(struct xbdev *xd);
};

struct xbdev {
    struct xbdev *next;        /* in its xbdev_set */
    const struct xbdev_ops *ops;
    struct xs_handle *xs;
    const char *kind;          /* backend/<kind>: vbd, qdisk, vif */
    uint32_t fe_domid, devid;
    char be[160];              /* absolute backend directory */
    char fe[160];              /* frontend directory */
    enum xenbus_state state;   /* what we last read or wrote */
    bool probed;
    bool probe_failed;         /* by this process: not retried */
    bool prepared;
    bool connected;            /* set by the class's connect */
    bool resume_checked;
    bool fe_watched;
    /* Settings, from whoever created it. */
    bool watch_fe;             /* watch the frontend's state ourselves */
    bool remove_dir;           /* remove the directory after Closed */
    unsigned int remove_delay_ms;
    const char *clean_stop_key; /* resumable after this key: or NULL */
    uint64_t remove_at;        /* ns, monotonic; 0: not due */
};

/* Brings xd in line with the store.  Returns false once it is to be
 * forgotten (directory gone, or removed).  *wake_at: the earliest time
 * (ns) it wants another pass, if sooner than *wake_at (0: none yet). */
bool xbdev_reconcile(struct xbdev *xd, uint64_t *wake_at);
/* A fatal device error, as xenbus_dev_fatal: error node, disconnect,
 * Closing. */
void xbdev_fatal(struct xbdev *xd, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes our state (never re-creating a removed directory). */
int xbdev_switch(struct xbdev *xd, enum xenbus_state s, bool force);
/* Drops the frontend watch (before freeing). */
void xbdev_unwatch(struct xbdev *xd);

/*
 * Calls fn for every backend/<kind>/<frontend>/<devid> of home whose
 * frontend and devid parse, in no particular order.
 */
typedef void xbdev_walk_fn(void *arg, const char *kind, uint32_t fe,
                           uint32_t devid);
void xbdev_walk(struct xs_handle *xs, const char *home,
                const char *const *kinds, unsigned int nkinds,
                xbdev_walk_fn *fn, void *arg);

#endif
