/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backend half of a xenbus device's life (see xbdev.h): one
 * level-triggered reconciler for every class.  Glue over the real
 * libxenstore; the class's work is in its xbdev_ops.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "xbdev.h"

int xbdev_switch(struct xbdev *xd, enum xenbus_state s, bool force)
{
    int rc = xb_switch_state(xd->xs, xd->be, s, force);

    if (!rc) {
        if (xd->state != s)
            LOG_INFO("%s: %s -> %s", xd->be, xb_state_name(xd->state),
                     xb_state_name(s));
        xd->state = s;
    }
    return rc;
}

void xbdev_fatal(struct xbdev *xd, int err, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    LOG_ERR("%s: %s", xd->be, msg);
    xb_write_error(xd->xs, xd->be, err, "%s", msg);
    xd->ops->disconnect(xd);
    xbdev_switch(xd, XenbusStateClosing, false);
}

static void watch_frontend(struct xbdev *xd)
{
    char path[200];

    if (xd->fe_watched || !xd->watch_fe)
        return;
    snprintf(path, sizeof(path), "%s/state", xd->fe);
    if (xs_watch(xd->xs, path, "fe"))
        xd->fe_watched = true;
}

void xbdev_unwatch(struct xbdev *xd)
{
    char path[200];

    if (!xd->fe_watched)
        return;
    snprintf(path, sizeof(path), "%s/state", xd->fe);
    xs_unwatch(xd->xs, path, "fe");
    xd->fe_watched = false;
}

static void want_pass(uint64_t *wake_at, uint64_t at)
{
    if (!*wake_at || at < *wake_at)
        *wake_at = at;
}

/*
 * Taken offline (online=0) and closed: let go of everything before
 * writing Closed, so "Closed" means nothing is mapped or open any more.
 * Then the directory goes, as xl devd removes it after the hotplug
 * script: libxl in dom0 first waits to read Closed (the node vanishing
 * before it does fails its removal) and then waits up to 10 s for the
 * driver domain to remove the directory.  Nothing tells us libxl has
 * read it, so it goes remove_delay_ms after Closed.  Under iovmd
 * (!remove_dir) iovmd does that, after the script's remove.  Returns
 * false once the device is to be forgotten.
 */
static bool offline(struct xbdev *xd, uint64_t *wake_at)
{
    uint64_t now = iovm_now_ns();

    xd->ops->disconnect(xd);
    if (xd->prepared) {
        xd->ops->release(xd);
        xd->prepared = false;
    }
    /* online=1 again would probe (reopen) afresh. */
    xd->probed = false;
    if (xd->state != XenbusStateClosed &&
        !xbdev_switch(xd, XenbusStateClosed, false))
        LOG_INFO("%s: offline and closed", xd->be);
    if (xd->state != XenbusStateClosed)
        return true;
    if (!xd->remove_dir)
        return false;
    if (!xd->remove_at)
        xd->remove_at = now + (uint64_t)xd->remove_delay_ms * 1000000u;
    if (now >= xd->remove_at) {
        LOG_INFO("%s: removing the backend directory", xd->be);
        xs_rm(xd->xs, XBT_NULL, xd->be);
        return false;
    }
    want_pass(wake_at, xd->remove_at);
    return true;
}

/* probe, then InitWait (not when resuming), remembering a failure:
 * this process does not retry it (its own error node would bring it
 * straight back: a retry storm). */
static bool probe(struct xbdev *xd, bool resume)
{
    if (xd->ops->probe(xd, resume) ||
        (!resume && xbdev_switch(xd, XenbusStateInitWait, false))) {
        xd->probe_failed = true;
        return false;
    }
    xd->probed = true;
    return true;
}

/* 0 ready, -EAGAIN not yet, other: failed. */
static int prepare(struct xbdev *xd)
{
    int rc;

    if (xd->prepared)
        return 0;
    rc = xd->ops->prepare(xd);
    if (!rc)
        xd->prepared = true;
    return rc;
}

bool xbdev_reconcile(struct xbdev *xd, uint64_t *wake_at)
{
    enum xenbus_state be, fe;
    unsigned int online;
    char path[200];
    int rc;

    be = xb_read_state(xd->xs, xd->be);
    if (be == XenbusStateUnknown) {
        /* Our directory is gone: forget the device, write nothing. */
        snprintf(path, sizeof(path), "%s/state", xd->be);
        if (!xb_exists(xd->xs, XBT_NULL, path) &&
            !(xd->ops->resumable && xd->ops->resumable(xd))) {
            LOG_INFO("%s: backend directory removed", xd->be);
            xd->ops->disconnect(xd);
            return false;
        }
    }
    xd->state = be;
    if (xb_read_uint_default(xd->xs, XBT_NULL, xd->be, "online", 1, 1,
                             &online))
        online = 0;
    if (online)
        xd->remove_at = 0;
    if (xd->connected && !xd->ops->check(xd))
        return true;
    watch_frontend(xd);
    fe = xb_read_state(xd->xs, xd->fe);

    /*
     * Connected already, to a frontend that still is: a previous process
     * served it.  If it stopped cleanly (every request it took answered
     * and published), or the class kept a journal of what it had taken,
     * we take the rings over where it left them; otherwise requests it
     * had taken are lost and the device cannot go on as if nothing
     * happened: it fails, as a hot-unplug.
     */
    if (!xd->probed && !xd->probe_failed && !xd->resume_checked &&
        online && be == XenbusStateConnected && xd->clean_stop_key &&
        (fe == XenbusStateInitialised || fe == XenbusStateConnected)) {
        xd->resume_checked = true;
        snprintf(path, sizeof(path), "%s/%s", xd->be, xd->clean_stop_key);
        if (!xb_exists(xd->xs, XBT_NULL, path) &&
            !(xd->ops->resumable && xd->ops->resumable(xd))) {
            xd->probe_failed = true;
            xbdev_fatal(xd, EPIPE, "the previous backend process ended "
                                   "without draining its rings; requests "
                                   "it had taken are lost");
            return true;
        }
        if (!probe(xd, true) || prepare(xd)) {
            xd->probe_failed = true;
            return true;
        }
        if (!xd->ops->connect(xd) && xd->connected) {
            xb_rm_key(xd->xs, xd->be, xd->clean_stop_key);
            LOG_INFO("%s: resumed where the previous process stopped",
                     xd->be);
        }
        return true;
    }
    /*
     * New to this process: probe, whatever state a previous instance left
     * behind (the frontend reconnects, or finds us in InitWait when it
     * starts over).  Closed down by a previous instance: once the
     * frontend has let go.
     */
    if (!xd->probed && !xd->probe_failed && online &&
        (be != XenbusStateClosing ||
         fe == XenbusStateInitialising || fe == XenbusStateClosed ||
         fe == XenbusStateUnknown)) {
        if (!probe(xd, false))
            return true;
        be = xd->state;
    }
    /* Prepare as soon as possible (a hotplug script's result), so a
     * device that cannot be served fails before the frontend connects. */
    if (xd->probed && online && !xd->probe_failed) {
        rc = prepare(xd);
        if (rc && rc != -EAGAIN) {
            xd->probe_failed = true;
            return true;
        }
    }
    switch (fe) {
    case XenbusStateInitialising:
        /* A frontend starting over after we closed: prepare again. */
        if (be == XenbusStateClosed && online && xd->probed)
            xbdev_switch(xd, XenbusStateInitWait, false);
        break;
    case XenbusStateInitialised:
    case XenbusStateConnected:
        /* Act on the current state, however we got here. */
        if (be == XenbusStateInitWait && xd->probed && !xd->connected &&
            xd->prepared && !xd->ops->connect(xd) && xd->connected &&
            xd->clean_stop_key)
            xb_rm_key(xd->xs, xd->be, xd->clean_stop_key);
        break;
    case XenbusStateClosing:
        if (be == XenbusStateConnected || be == XenbusStateInitWait)
            xbdev_switch(xd, XenbusStateClosing, false);
        break;
    default:
        /* Closed, Unknown, or the frontend directory vanished. */
        if (!online)
            return offline(xd, wake_at);
        xd->ops->disconnect(xd);
        if (be != XenbusStateClosed && be != XenbusStateInitialising)
            xbdev_switch(xd, XenbusStateClosed, false);
        break;
    }
    /*
     * The toolstack wants it gone and nothing of it is connected (it
     * failed, or the frontend never came): nothing to drain, so Closed
     * now rather than wait for a frontend that may never move (libxl
     * gives up after 10 s).  Or it closed us while the frontend was not
     * looking.
     */
    if (!online && ((!xd->connected && xd->state == XenbusStateClosing) ||
                    xd->state == XenbusStateClosed))
        return offline(xd, wake_at);
    return true;
}

void xbdev_walk(struct xs_handle *xs, const char *home,
                const char *const *kinds, unsigned int nkinds,
                xbdev_walk_fn *fn, void *arg)
{
    unsigned int k, nf, nd, i, j, fe, devid;
    char path[160];

    for (k = 0; k < nkinds; k++) {
        char **fes;

        snprintf(path, sizeof(path), "%s/backend/%s", home, kinds[k]);
        fes = xs_directory(xs, XBT_NULL, path, &nf);
        for (i = 0; fes && i < nf; i++) {
            char **devs;

            if (iovm_parse_uint(fes[i], 0x7fef, &fe))
                continue;
            snprintf(path, sizeof(path), "%s/backend/%s/%u", home, kinds[k],
                     fe);
            devs = xs_directory(xs, XBT_NULL, path, &nd);
            for (j = 0; devs && j < nd; j++)
                if (!iovm_parse_uint(devs[j], UINT32_MAX, &devid))
                    fn(arg, kinds[k], fe, devid);
            free(devs);
        }
        free(fes);
    }
}
