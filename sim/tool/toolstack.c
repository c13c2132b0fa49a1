/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The libxl part of the simulator's toolstack: the xenstore nodes a domain
 * gets at creation, in libxl's order and with its permissions, and the
 * teardown on destroy (devices forced to close, trees removed, then the
 * hypervisor destroys the domain and xenstored fires @releaseDomain).
 * Reference: Xen 4.17 libxl_create.c (libxl__domain_make,
 * libxl__build_post), libxl_device.c, libxl_domain.c.
 *
 * Trusts its command line; values read back from xenstore (which guests
 * can write in their own directories) are parsed strictly.
 */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"
#include "util.h"

#define INIT_TIMEOUT_MS 10000    /* LIBXL_INIT_TIMEOUT */
#define DESTROY_TIMEOUT_MS 10000 /* LIBXL_DESTROY_TIMEOUT */

int tool_xs_open(struct sim_tool *t)
{
    char path[4096];

    if (t->xs)
        return 0;
    if (snprintf(path, sizeof(path), "%s/dom0/xenstore.sock", t->dir) >=
        (int)sizeof(path))
        return -ENAMETOOLONG;
    /* The real libxenstore, pointed at the simulator's dom0 socket. */
    setenv("XENSTORED_PATH", path, 1);
    t->xs = xs_open(0);
    return t->xs ? 0 : -errno;
}

static bool xs_mknod(struct xs_handle *xs, xs_transaction_t t,
                     const char *path, struct xs_permissions *perms,
                     unsigned int n)
{
    return xs_write(xs, t, path, "", 0) &&
           xs_set_permissions(xs, t, path, perms, n);
}

static bool xs_printf(struct xs_handle *xs, xs_transaction_t t,
                      const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool xs_printf(struct xs_handle *xs, xs_transaction_t t,
                      const char *path, const char *fmt, ...)
{
    char val[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(val)) {
        errno = E2BIG;
        return false;
    }
    return xs_write(xs, t, path, val, n);
}

/* T1 of libxl__domain_make.  Returns false with errno on failure. */
static bool write_domain_make(struct xs_handle *xs, xs_transaction_t t,
                              uint32_t d, const char *name, const char *uuid,
                              bool driver_domain)
{
    struct xs_permissions roperm[2] = { { 0, XS_PERM_NONE },
                                        { d, XS_PERM_READ } };
    struct xs_permissions rwperm[1] = { { d, XS_PERM_NONE } };
    struct xs_permissions noperm[1] = { { 0, XS_PERM_NONE } };
    static const char *const ctrl_rw[] = {
        "control/shutdown", "control/feature-poweroff",
        "control/feature-reboot", "control/feature-suspend", "control/sysrq",
        "data", "drivers", "feature", "attr", "error",
    };
    char dom[64], vm[128], lx[64], p[256];
    unsigned int i;

    snprintf(dom, sizeof(dom), "/local/domain/%u", d);
    snprintf(vm, sizeof(vm), "/vm/%s", uuid);
    snprintf(lx, sizeof(lx), "/libxl/%u", d);
#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
    xs_rm(xs, t, dom);
    if (!xs_mknod(xs, t, dom, roperm, 2))
        return false;
    xs_rm(xs, t, vm);
    if (!xs_mknod(xs, t, vm, roperm, 2))
        return false;
    xs_rm(xs, t, lx);
    if (!xs_mknod(xs, t, lx, noperm, 1) ||
        !xs_mknod(xs, t, P("%s/device", lx), noperm, 1) ||
        !xs_printf(xs, t, P("%s/vm", dom), "%s", vm) ||
        !xs_printf(xs, t, P("%s/name", dom), "%s", name) ||
        !xs_printf(xs, t, P("%s/name", vm), "%s", name) ||
        !xs_mknod(xs, t, P("%s/cpu", dom), roperm, 2) ||
        !xs_mknod(xs, t, P("%s/memory", dom), roperm, 2) ||
        !xs_mknod(xs, t, P("%s/device", dom), roperm, 2) ||
        !xs_mknod(xs, t, P("%s/device/suspend/event-channel", dom), rwperm,
                  1) ||
        !xs_mknod(xs, t, P("%s/control", dom), roperm, 2))
        return false;
    for (i = 0; i < IOVM_ARRAY_SIZE(ctrl_rw); i++)
        if (!xs_mknod(xs, t, P("%s/%s", dom, ctrl_rw[i]), rwperm, 1))
            return false;
    /* driver_domain=1 gives exactly these two guest-owned directories. */
    if (driver_domain &&
        (!xs_mknod(xs, t, P("%s/libxl", dom), rwperm, 1) ||
         !xs_mknod(xs, t, P("%s/device-model", dom), rwperm, 1)))
        return false;
    if (!xs_printf(xs, t, P("%s/uuid", vm), "%s", uuid) ||
        !xs_printf(xs, t, P("%s/name", vm), "%s", name) ||
        !xs_printf(xs, t,
                   P("%s/control/platform-feature-multiprocessor-suspend",
                     dom),
                   "1") ||
        !xs_printf(xs, t, P("%s/control/platform-feature-xs_reset_watches",
                            dom),
                   "1") ||
        !xs_printf(xs, t, P("%s/type", lx), "pv"))
        return false;
    return true;
}

/* T2 of libxl__build_post. */
static bool write_build_post(struct xs_handle *xs, xs_transaction_t t,
                             uint32_t d, const char *uuid)
{
    char dom[64], p[256];
    struct timespec ts;

    snprintf(dom, sizeof(dom), "/local/domain/%u", d);
    clock_gettime(CLOCK_REALTIME, &ts);
    return xs_printf(xs, t, P("%s/memory/static-max", dom), "%u", 262144) &&
           xs_printf(xs, t, P("%s/memory/target", dom), "%u", 262144) &&
           xs_printf(xs, t, P("%s/memory/videoram", dom), "0") &&
           xs_printf(xs, t, P("%s/domid", dom), "%u", d) &&
           xs_printf(xs, t, P("%s/store/port", dom), "1") &&
           xs_printf(xs, t, P("%s/store/ring-ref", dom), "%u", 0xfeffeu) &&
           xs_printf(xs, t, P("%s/cpu/0/availability", dom), "online") &&
           xs_printf(xs, t, P("/vm/%s/start_time", uuid), "%ld.%02ld",
                     (long)ts.tv_sec, ts.tv_nsec / 10000000);
}
#undef P

int tool_domain_create(struct sim_tool *t, const char *name, int want_domid,
                       bool driver_domain, uint32_t *domidp)
{
    char reply[256], uuid[40], p[128];
    unsigned int domid;
    xs_transaction_t tx;
    int rc, tries;
    bool ok;

    if (!*name || strlen(name) > 63 || strchr(name, ' ') ||
        strchr(name, '/')) {
        fprintf(stderr, "iovm-sim: invalid domain name '%s'\n", name);
        return -EINVAL;
    }
    rc = tool_xs_open(t);
    if (rc)
        return rc;
    /* Hypervisor first (xc_domain_create), then xenstore. */
    if (want_domid >= 0)
        rc = ctl_cmd(t->dir, reply, sizeof(reply), "create %s %d", name,
                     want_domid);
    else
        rc = ctl_cmd(t->dir, reply, sizeof(reply), "create %s", name);
    if (rc) {
        fprintf(stderr, "iovm-sim: creating domain %s: %s\n", name, reply);
        return rc;
    }
    if (sscanf(reply, "%u %39s", &domid, uuid) != 2)
        return -EPROTO;
    for (tries = 0; tries < 16; tries++) {
        tx = xs_transaction_start(t->xs);
        if (!tx)
            goto xs_fail;
        ok = write_domain_make(t->xs, tx, domid, name, uuid, driver_domain);
        if (!xs_transaction_end(t->xs, tx, !ok)) {
            if (ok && errno == EAGAIN)
                continue;
            goto xs_fail;
        }
        if (!ok)
            goto xs_fail;
        break;
    }
    snprintf(p, sizeof(p), "/libxl/%u/dm-version", domid);
    if (!xs_write(t->xs, XBT_NULL, p, "qemu_xen", 8))
        goto xs_fail;
    for (tries = 0; tries < 16; tries++) {
        tx = xs_transaction_start(t->xs);
        if (!tx)
            goto xs_fail;
        ok = write_build_post(t->xs, tx, domid, uuid);
        if (!xs_transaction_end(t->xs, tx, !ok)) {
            if (ok && errno == EAGAIN)
                continue;
            goto xs_fail;
        }
        if (!ok)
            goto xs_fail;
        break;
    }
    /* Now xenstored learns of it and fires @introduceDomain. */
    if (!xs_introduce_domain(t->xs, domid, 0xfeffe, 1))
        goto xs_fail;
    *domidp = domid;
    return 0;
xs_fail:
    rc = -errno;
    fprintf(stderr, "iovm-sim: writing xenstore for domain %s: %s\n", name,
            strerror(errno));
    ctl_cmd(t->dir, NULL, 0, "destroy %u", domid);
    return rc ? rc : -EIO;
}

const char TOOL_WAIT_EXISTS[] = "";

int tool_xs_wait(struct xs_handle *xs, const char *path, const char *value,
                 unsigned int timeout_ms)
{
    uint64_t deadline = iovm_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char token[64];
    int rc = -ETIMEDOUT;

    snprintf(token, sizeof(token), "wait-%p", (void *)path);
    if (!xs_watch(xs, path, token))
        return -errno;
    for (;;) {
        unsigned int len;
        char *v = xs_read(xs, XBT_NULL, path, &len), **ev;
        bool match = value == TOOL_WAIT_EXISTS ? v != NULL
                     : value                   ? (v && !strcmp(v, value))
                                               : !v;
        struct pollfd pfd = { .fd = xs_fileno(xs), .events = POLLIN };
        uint64_t now;

        free(v);
        if (match) {
            rc = 0;
            break;
        }
        now = iovm_now_ns();
        if (now >= deadline)
            break;
        if (poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1)) <= 0)
            continue;
        ev = xs_check_watch(xs);
        free(ev);
        /* Drain whatever else is queued; we re-read the node anyway. */
        while ((ev = xs_check_watch(xs)))
            free(ev);
    }
    xs_unwatch(xs, path, token);
    return rc;
}

void tool_xs_path_cleanup(struct xs_handle *xs, xs_transaction_t t,
                          const char *path)
{
    char *p = strdup(path), *slash;

    if (!p)
        return;
    if (!xs_rm(xs, t, p)) {
        free(p);
        return;
    }
    /* Walk up removing ancestors that are now empty and valueless. */
    while ((slash = strrchr(p, '/')) && slash != p) {
        unsigned int len, num;
        char *v, **dir;

        *slash = '\0';
        v = xs_read(xs, t, p, &len);
        dir = xs_directory(xs, t, p, &num);
        free(dir);
        if (!v || len || !dir || num) {
            free(v);
            break;
        }
        free(v);
        if (!xs_rm(xs, t, p))
            break;
    }
    free(p);
}

/*
 * One device being removed, libxl__initiate_device_generic_remove with
 * FORCE_ON: remove the frontend, ask the backend to close, wait for
 * Closed (and for a driver domain to remove its directory), then remove
 * whatever is left.
 */
struct dev_rm {
    char fe[256];
    char be[256];
    char lx[256];
    unsigned int be_domid;
    bool be_gone; /* backend already removed: only clean up */
};

static int device_remove_start(struct xs_handle *xs, struct dev_rm *d)
{
    char path[300];
    int tries;

    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t t = xs_transaction_start(xs);
        unsigned int len;
        char *state;

        if (!t)
            return -errno;
        tool_xs_path_cleanup(xs, t, d->fe);
        snprintf(path, sizeof(path), "%s/state", d->be);
        state = xs_read(xs, t, path, &len);
        if (state) {
            snprintf(path, sizeof(path), "%s/online", d->be);
            xs_write(xs, t, path, "0", 1);
            if (strcmp(state, "6")) {
                snprintf(path, sizeof(path), "%s/state", d->be);
                xs_write(xs, t, path, "5", 1);
            }
        }
        free(state);
        if (xs_transaction_end(xs, t, false))
            return state ? 0 : 1;
        if (errno != EAGAIN)
            return -errno;
    }
    return -EAGAIN;
}

static void device_remove_finish(struct xs_handle *xs, struct dev_rm *d)
{
    int tries;

    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t t = xs_transaction_start(xs);

        if (!t)
            return;
        tool_xs_path_cleanup(xs, t, d->fe);
        tool_xs_path_cleanup(xs, t, d->lx);
        tool_xs_path_cleanup(xs, t, d->be);
        if (xs_transaction_end(xs, t, false) || errno != EAGAIN)
            return;
    }
}

/* Tears down every device of domid (libxl__devices_destroy). */
static void devices_destroy(struct xs_handle *xs, uint32_t domid)
{
    char path[300], **kinds, **devs;
    unsigned int nk, nd, i, j, n = 0;
    struct dev_rm *rms = NULL;

    snprintf(path, sizeof(path), "/libxl/%u/device", domid);
    kinds = xs_directory(xs, XBT_NULL, path, &nk);
    for (i = 0; kinds && i < nk; i++) {
        snprintf(path, sizeof(path), "/libxl/%u/device/%s", domid, kinds[i]);
        devs = xs_directory(xs, XBT_NULL, path, &nd);
        for (j = 0; devs && j < nd; j++) {
            struct dev_rm *d, *nr = realloc(rms, (n + 1) * sizeof(*rms));
            unsigned int len;
            char *v;

            if (!nr)
                break;
            rms = nr;
            d = &rms[n];
            memset(d, 0, sizeof(*d));
            snprintf(d->lx, sizeof(d->lx), "/libxl/%u/device/%s/%s", domid,
                     kinds[i], devs[j]);
            snprintf(path, sizeof(path), "%s/frontend", d->lx);
            v = xs_read(xs, XBT_NULL, path, &len);
            snprintf(d->fe, sizeof(d->fe), "%s", v ? v : "");
            free(v);
            snprintf(path, sizeof(path), "%s/backend", d->lx);
            v = xs_read(xs, XBT_NULL, path, &len);
            snprintf(d->be, sizeof(d->be), "%s", v ? v : "");
            free(v);
            if (!d->be[0] || sscanf(d->be, "/local/domain/%u/", &d->be_domid) != 1)
                continue;
            n++;
        }
        free(devs);
    }
    free(kinds);

    /* Start all removals, then wait for each (they run concurrently). */
    for (i = 0; i < n; i++) {
        int rc = device_remove_start(xs, &rms[i]);

        if (rc < 0)
            fprintf(stderr, "iovm-sim: removing %s: %s\n", rms[i].be,
                    strerror(-rc));
        rms[i].be_gone = rc != 0;
    }
    for (i = 0; i < n; i++) {
        if (rms[i].be_gone) {
            device_remove_finish(xs, &rms[i]);
            continue;
        }
        snprintf(path, sizeof(path), "%s/state", rms[i].be);
        if (tool_xs_wait(xs, path, "6", DESTROY_TIMEOUT_MS) &&
            tool_xs_wait(xs, path, NULL, 0))
            fprintf(stderr,
                    "iovm-sim: backend %s did not close in time, removing "
                    "it anyway\n",
                    rms[i].be);
        else if (rms[i].be_domid != 0 &&
                 tool_xs_wait(xs, rms[i].be, NULL, DESTROY_TIMEOUT_MS))
            fprintf(stderr,
                    "iovm-sim: driver domain %u left %s behind, removing it\n",
                    rms[i].be_domid, rms[i].be);
        device_remove_finish(xs, &rms[i]);
    }
    free(rms);
}

int tool_domain_destroy(struct sim_tool *t, const char *name_or_id)
{
    struct sim_domain_info info;
    char path[256], *vm;
    unsigned int len;
    int rc;

    rc = ctl_find(t->dir, name_or_id, &info);
    if (rc) {
        fprintf(stderr, "iovm-sim: no domain '%s'\n", name_or_id);
        return rc;
    }
    if (info.domid == 0) {
        fprintf(stderr, "iovm-sim: cannot destroy dom0\n");
        return -EPERM;
    }
    rc = tool_xs_open(t);
    if (rc)
        return rc;
    devices_destroy(t->xs, info.domid);
    snprintf(path, sizeof(path), "/local/domain/%u/vm", info.domid);
    vm = xs_read(t->xs, XBT_NULL, path, &len);
    if (vm && !strncmp(vm, "/vm/", 4))
        xs_rm(t->xs, XBT_NULL, vm);
    free(vm);
    snprintf(path, sizeof(path), "/local/domain/%u", info.domid);
    xs_rm(t->xs, XBT_NULL, path);
    snprintf(path, sizeof(path), "/libxl/%u", info.domid);
    xs_rm(t->xs, XBT_NULL, path);
    /* The hypervisor destroys it; xenstored then fires @releaseDomain. */
    rc = ctl_cmd(t->dir, NULL, 0, "destroy %u", info.domid);
    if (rc)
        fprintf(stderr, "iovm-sim: destroying domain %u: %s\n", info.domid,
                strerror(-rc));
    return rc;
}
