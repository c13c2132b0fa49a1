/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A backend daemon's frame (see bedaemon.h): the main loop every device
 * class's backend runs, and what iovmd hands over.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bedaemon.h"
#include "log.h"
#include "util.h"
#include "xenbus.h"

#define RECONCILE_MS 5000

int iovm_bed_fd_arg(const char *prog, const char *opt, const char *arg,
                    int *fd)
{
    unsigned int v;

    if (iovm_parse_uint(arg, 65535, &v) || v < 3 ||
        fcntl((int)v, F_GETFD) < 0) {
        fprintf(stderr, "%s: --%s must be an open file descriptor above 2\n",
                prog, opt);
        return 2;
    }
    *fd = (int)v;
    return 0;
}

int iovm_bed_map_stats(struct iovm_bed *bed, int fd)
{
    void *p;

    if (ftruncate(fd, sizeof(*bed->stat)) ||
        (p = mmap(NULL, sizeof(*bed->stat), PROT_READ | PROT_WRITE,
                  MAP_SHARED, fd, 0)) == MAP_FAILED)
        return -errno;
    close(fd);
    bed->stat = p;
    memset(bed->stat, 0, sizeof(*bed->stat));
    bed->stat->magic = IOVM_DEVSTAT_MAGIC;
    bed->stat->pid = (uint32_t)getpid();
    bed->stat->started_ns = iovm_now_ns();
    return 0;
}

int iovm_bed_paths(struct iovm_bed *bed, struct xbdev *xd, const char *kind,
                   const char *fe_kind, uint32_t fe, uint32_t devid)
{
    char fe_path[160], want[80];
    unsigned int fe_id;

    snprintf(xd->be, sizeof(xd->be), "%s/backend/%s/%u/%u", bed->home, kind,
             fe, devid);
    if (bed->only && strcmp(bed->only, xd->be))
        return -1;
    /* The toolstack wrote these; still, they must agree with the path. */
    if (xb_read_str(bed->xs, XBT_NULL, xd->be, "frontend", fe_path,
                    sizeof(fe_path)) ||
        xb_read_uint(bed->xs, XBT_NULL, xd->be, "frontend-id", 0x7fef,
                     &fe_id) ||
        fe_id != fe)
        return -1;
    snprintf(want, sizeof(want), "/local/domain/%u/device/%s/%u", fe,
             fe_kind, devid);
    if (strcmp(fe_path, want)) {
        LOG_WARN("%s: frontend path %s is not %s; ignoring the device",
                 xd->be, fe_path, want);
        return -1;
    }
    snprintf(xd->fe, sizeof(xd->fe), "%s", fe_path);
    xd->kind = kind;
    xd->xs = bed->xs;
    xd->fe_domid = fe;
    xd->devid = devid;
    xd->state = XenbusStateUnknown;
    /* Under iovmd: iovmd watches, and removes the directory. */
    xd->watch_fe = !bed->supervised;
    xd->remove_dir = !bed->supervised;
    return 0;
}

static void scan_one(void *arg, const char *kind, uint32_t fe, uint32_t devid)
{
    struct iovm_bed *bed = arg;
    struct xbdev *x;
    unsigned int k;

    /* The class's own string for the kind: devices point to it. */
    for (k = 0; k < bed->cls->nkinds; k++)
        if (!strcmp(kind, bed->cls->kinds[k]))
            break;
    if (k == bed->cls->nkinds)
        return;
    for (x = bed->devs; x; x = x->next)
        if (x->kind == bed->cls->kinds[k] && x->fe_domid == fe &&
            x->devid == devid)
            return;
    bed->cls->add(bed, bed->cls->kinds[k], fe, devid);
}

static void scan(struct iovm_bed *bed)
{
    xbdev_walk(bed->xs, bed->home, bed->cls->kinds, bed->cls->nkinds,
               scan_one, bed);
}

static void wake_cb(struct iovm_loop *loop, void *arg);

static void reconcile_all(struct iovm_bed *bed)
{
    struct xbdev **pp = &bed->devs, *x;
    uint64_t now, wake_at = 0;

    while ((x = *pp)) {
        if (xbdev_reconcile(x, &wake_at)) {
            pp = &x->next;
        } else {
            *pp = x->next;
            bed->cls->free(bed, x);
        }
    }
    /* Supervised, the one device is done with (or was never there). */
    if (bed->supervised && !bed->devs) {
        LOG_INFO("%s: nothing more to serve", bed->only);
        iovm_loop_stop(bed->loop);
        return;
    }
    /* A device waits to remove its directory: come back then. */
    if (bed->wake_timer >= 0)
        iovm_loop_timer_cancel(bed->loop, bed->wake_timer);
    bed->wake_timer = -1;
    if (wake_at) {
        now = iovm_now_ns();
        bed->wake_timer = iovm_loop_timer_add(
            bed->loop, wake_at > now ? (wake_at - now) / 1000000u + 1 : 0,
            wake_cb, bed);
    }
}

void iovm_bed_rescan(struct iovm_bed *bed)
{
    scan(bed);
    reconcile_all(bed);
}

static void wake_cb(struct iovm_loop *loop, void *arg)
{
    struct iovm_bed *bed = arg;

    (void)loop;
    bed->wake_timer = -1;
    reconcile_all(bed);
}

static void xs_cb(struct iovm_loop *loop, int fd, uint32_t events, void *arg)
{
    struct iovm_bed *bed = arg;
    unsigned int n = 0;
    bool any = false;
    char **ev;

    (void)loop, (void)fd, (void)events;
    /* Coalesce: drain every queued event, then reconcile once.  The
     * queue is bounded by what xenstored lets us have outstanding. */
    while ((ev = xs_check_watch(bed->xs)) && n++ < 10000) {
        any = true;
        free(ev);
    }
    free(ev);
    if (any)
        iovm_bed_rescan(bed);
}

/* iovmd (something of our device changed), or a queue thread. */
static void efd_cb(struct iovm_loop *loop, int fd, uint32_t events,
                   void *arg)
{
    struct iovm_bed *bed = arg;
    uint64_t v;

    if (events & (EPOLLHUP | EPOLLERR)) {
        /* iovmd is gone (its death signal brings SIGTERM too). */
        iovm_loop_fd_del(loop, fd);
        return;
    }
    if (read(fd, &v, sizeof(v)) > 0)
        iovm_bed_rescan(bed);
}

static void tick(struct iovm_loop *loop, void *arg)
{
    struct iovm_bed *bed = arg;

    /* Events may have been lost (xenstored drops unread ones). */
    iovm_bed_rescan(bed);
    iovm_loop_timer_add(loop, RECONCILE_MS, tick, bed);
}

static void signal_cb(struct iovm_loop *loop, int fd, uint32_t events,
                      void *arg)
{
    struct iovm_bed *bed = arg;
    struct signalfd_siginfo si;

    (void)events;
    if (read(fd, &si, sizeof(si)) != sizeof(si))
        return;
    if (si.ssi_signo == SIGHUP) {
        LOG_INFO("SIGHUP: rescanning");
        iovm_bed_rescan(bed);
        return;
    }
    if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT &&
        bed->cls->signal) {
        bed->cls->signal(bed, (int)si.ssi_signo);
        return;
    }
    LOG_INFO("signal %u: stopping", si.ssi_signo);
    iovm_loop_stop(loop);
}

int iovm_bed_open(struct iovm_bed *bed, int extra_signal)
{
    unsigned int v, k;
    sigset_t mask;
    char path[160];
    int sfd;

    bed->wake_timer = -1;
    bed->main_efd = -1;
    bed->xs = xs_open(0);
    if (!bed->xs) {
        LOG_ERR("cannot open xenstore: %s", strerror(errno));
        return -1;
    }
    if (xb_read_uint(bed->xs, XBT_NULL, "domid", NULL, 0x7fef, &v)) {
        LOG_ERR("cannot read our domid from xenstore");
        return -1;
    }
    bed->domid = v;
    snprintf(bed->home, sizeof(bed->home), "/local/domain/%u", bed->domid);
    bed->main_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (bed->main_efd < 0 || iovm_loop_new(&bed->loop)) {
        LOG_ERR("cannot set up the event loop");
        return -1;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (extra_signal)
        sigaddset(&mask, extra_signal);
    /* Before any thread starts, so every thread blocks them. */
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    for (k = 0; k < bed->cls->nkinds && !bed->supervised; k++) {
        snprintf(path, sizeof(path), "%s/backend/%s", bed->home,
                 bed->cls->kinds[k]);
        if (!xs_watch(bed->xs, path, "be")) {
            LOG_ERR("cannot watch %s: %s", path, strerror(errno));
            return -1;
        }
    }
    if (sfd < 0 ||
        iovm_loop_fd_add(bed->loop, xs_fileno(bed->xs), EPOLLIN, xs_cb,
                         bed) ||
        iovm_loop_fd_add(bed->loop, bed->main_efd, EPOLLIN, efd_cb, bed) ||
        iovm_loop_fd_add(bed->loop, sfd, EPOLLIN, signal_cb, bed) ||
        (bed->poke_fd >= 0 &&
         iovm_loop_fd_add(bed->loop, bed->poke_fd, EPOLLIN, efd_cb, bed)) ||
        iovm_loop_timer_add(bed->loop, RECONCILE_MS, tick, bed) < 0) {
        LOG_ERR("cannot set up the event loop");
        return -1;
    }
    return 0;
}

int iovm_bed_run(struct iovm_bed *bed)
{
    iovm_bed_rescan(bed);
    return iovm_loop_run(bed->loop) ? 1 : 0;
}

int iovm_bed_pool_open(struct iovm_bed *bed, unsigned int n)
{
    unsigned int k;

    bed->pooled = true;
    for (k = 0; k < n && k < IOVM_BED_POOL; k++) {
        bed->pool_gnt[k] = xengnttab_open(NULL, 0);
        bed->pool_evt[k] = xenevtchn_open(NULL, 0);
        if (!bed->pool_gnt[k] || !bed->pool_evt[k]) {
            LOG_ERR("cannot open the grant and event-channel devices: %s",
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

int iovm_bed_handles(struct iovm_bed *bed, unsigned int idx,
                     xengnttab_handle **gnt, xenevtchn_handle **evt)
{
    if (bed->pooled) {
        *gnt = idx < IOVM_BED_POOL ? bed->pool_gnt[idx] : NULL;
        *evt = idx < IOVM_BED_POOL ? bed->pool_evt[idx] : NULL;
        return *gnt && *evt ? 0 : -EMFILE;
    }
    *gnt = xengnttab_open(NULL, 0);
    *evt = xenevtchn_open(NULL, 0);
    return *gnt && *evt ? 0 : -errno;
}

void iovm_bed_handles_put(struct iovm_bed *bed, xengnttab_handle **gnt,
                          xenevtchn_handle **evt, const evtchn_port_t *ports,
                          unsigned int nports)
{
    unsigned int i;

    if (*evt && bed->pooled) {
        /* Kept for the next connection: only the ports go. */
        for (i = 0; i < nports; i++)
            if (ports[i])
                xenevtchn_unbind(*evt, ports[i]);
    } else if (*evt) {
        xenevtchn_close(*evt); /* unbinds: the frontend's ports become
                                  unbound, reusable */
    }
    if (*gnt && !bed->pooled)
        xengnttab_close(*gnt);
    *gnt = NULL;
    *evt = NULL;
}

void iovm_bed_close(struct iovm_bed *bed)
{
    unsigned int k;

    for (k = 0; k < IOVM_BED_POOL; k++) {
        if (bed->pool_gnt[k])
            xengnttab_close(bed->pool_gnt[k]);
        if (bed->pool_evt[k])
            xenevtchn_close(bed->pool_evt[k]);
        bed->pool_gnt[k] = NULL;
        bed->pool_evt[k] = NULL;
    }
    if (bed->loop)
        iovm_loop_free(bed->loop);
    bed->loop = NULL;
    if (bed->main_efd >= 0)
        close(bed->main_efd);
    bed->main_efd = -1;
    if (bed->xs)
        xs_close(bed->xs);
    bed->xs = NULL;
}
