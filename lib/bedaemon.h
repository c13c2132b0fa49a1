/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A backend daemon's frame, for every device class (iovm-blkback,
 * iovm-netback): xenstore, the device list and its level-triggered
 * reconciling (lib/xbdev.h), the main loop's events — watches when
 * standalone, iovmd's pokes when supervised (--poke-fd), queue threads'
 * pokes (main_efd), a reconcile every few seconds (events can be lost),
 * a wake-up for the earliest delayed removal, SIGTERM/SIGINT (stop),
 * SIGHUP (rescan) — and the fds iovmd hands over (--stats-fd,
 * --journal-fd).  The class says which backend kinds it serves and how a
 * device is added and freed.  Trusts its caller and the fds it is given.
 */
#ifndef IOVM_BEDAEMON_H
#define IOVM_BEDAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "devstat.h"
#include "evloop.h"
#include "xbdev.h"

#define IOVM_BED_POOL 16u /* handle pairs: one per queue at most */

struct iovm_bed;

struct iovm_bed_class {
    const char *prog;                /* for messages */
    const char *const *kinds;        /* backend/<kind> directories */
    unsigned int nkinds;
    /* A directory not tracked yet: add it to bed->devs (or not). */
    void (*add)(struct iovm_bed *bed, const char *kind, uint32_t fe,
                uint32_t devid);
    /* Forget a device xbdev_reconcile() is done with. */
    void (*free)(struct iovm_bed *bed, struct xbdev *xd);
    /* Another signal in the loop's set (tests' SIGUSR1), or NULL. */
    void (*signal)(struct iovm_bed *bed, int signo);
};

struct iovm_bed {
    const struct iovm_bed_class *cls;
    void *arg;                 /* the class's daemon */
    struct xs_handle *xs;
    uint32_t domid;
    char home[64];             /* /local/domain/<domid> */
    struct xbdev *devs;
    const char *only;          /* serve only this backend path, or NULL */
    bool supervised;           /* under iovmd: one device, no watches */
    int main_efd;              /* queue threads poke the main loop */
    int poke_fd;               /* iovmd's, or -1 */
    struct iovm_devstat *stat; /* iovmd's status page, or NULL */
    struct iovm_loop *loop;
    int64_t wake_timer;
    /* Sandboxed, nothing can be opened: grant and event-channel handles
     * are opened first, a pair per queue, and kept. */
    bool pooled;
    xengnttab_handle *pool_gnt[IOVM_BED_POOL];
    xenevtchn_handle *pool_evt[IOVM_BED_POOL];
};

/* --poke-fd, --stats-fd, --journal-fd: an open fd above 2, or a
 * one-line message and 2 (bad usage). */
int iovm_bed_fd_arg(const char *prog, const char *opt, const char *arg,
                    int *fd);
/* Maps the status page iovmd gave (and closes fd): 0 or -errno. */
int iovm_bed_map_stats(struct iovm_bed *bed, int fd);
/*
 * Sets bed up: xenstore and our domid, the loop, the signals (blocked in
 * every thread started later; extra: more for cls->signal, or 0), the
 * watches or the poke fd.  Logs why and returns -1 on failure.
 */
int iovm_bed_open(struct iovm_bed *bed, int extra_signal);
/* Opens n (at most IOVM_BED_POOL) pairs of grant and event-channel
 * handles for a sandboxed backend.  Logs why and returns -1 on
 * failure. */
int iovm_bed_pool_open(struct iovm_bed *bed, unsigned int n);
/* The handles of queue idx: the pool's, or new ones.  0 or -errno. */
int iovm_bed_handles(struct iovm_bed *bed, unsigned int idx,
                     xengnttab_handle **gnt, xenevtchn_handle **evt);
/* Lets go of them: the ports given are unbound (a pooled handle is
 * kept), anything else is closed.  Sets both to NULL. */
void iovm_bed_handles_put(struct iovm_bed *bed, xengnttab_handle **gnt,
                          xenevtchn_handle **evt, const evtchn_port_t *ports,
                          unsigned int nports);
/* Serves until told to stop; then every device is still in bed->devs.
 * 0, or 1 if the loop failed. */
int iovm_bed_run(struct iovm_bed *bed);
/* Re-reads the backend directories and reconciles every device. */
void iovm_bed_rescan(struct iovm_bed *bed);
void iovm_bed_close(struct iovm_bed *bed);
/*
 * The paths of backend/<kind>/<fe>/<devid> into xd->be and xd->fe (and
 * the rest of what identifies it: kind, which must be the class's own
 * string, xs, ids, watch and removal settings), if
 * it is to be served (bed->only) and the toolstack's frontend and
 * frontend-id agree with the path (device/<fe_kind>/<devid> of domain
 * fe).  0, or -1: ignore it.
 */
int iovm_bed_paths(struct iovm_bed *bed, struct xbdev *xd, const char *kind,
                   const char *fe_kind, uint32_t fe, uint32_t devid);

#endif
