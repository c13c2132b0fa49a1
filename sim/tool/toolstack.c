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

static int domain_destroy_id(struct sim_tool *t, uint32_t domid);

int tool_domain_create(struct sim_tool *t, const char *name, int want_domid,
                       bool driver_domain, tool_create_hook *before_build,
                       void *arg, uint32_t *domidp)
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
    if (before_build) {
        rc = before_build(t, domid, arg);
        if (rc)
            goto out_destroy;
    }
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
    rc = errno ? -errno : -EIO;
    fprintf(stderr, "iovm-sim: writing xenstore for domain %s: %s\n", name,
            strerror(-rc));
out_destroy:
    /* As libxl's domcreate_complete: a failed create is destroyed. */
    domain_destroy_id(t, domid);
    return rc;
}

const char TOOL_WAIT_EXISTS[] = "";

/*
 * Watches path and re-reads it at registration (xenstored fires the
 * watch once at once) and on every event until check() decides: > 0
 * done, < 0 failed, 0 keep waiting; -ETIMEDOUT at deadline.  Events are
 * only wake-ups: the value read decides, so coalesced ones do no harm.
 */
static int xs_wait_until(struct xs_handle *xs, const char *path,
                         uint64_t deadline,
                         int (*check)(const char *v, const void *arg),
                         const void *arg)
{
    char token[64];
    int rc = -ETIMEDOUT;

    snprintf(token, sizeof(token), "wait-%p", (void *)path);
    if (!xs_watch(xs, path, token))
        return -errno;
    for (;;) {
        unsigned int len;
        char *v = xs_read(xs, XBT_NULL, path, &len), **ev;
        int r = check(v, arg);
        struct pollfd pfd = { .fd = xs_fileno(xs), .events = POLLIN };
        uint64_t now;

        free(v);
        if (r) {
            rc = r > 0 ? 0 : r;
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

static int wait_value_check(const char *v, const void *arg)
{
    const char *value = arg;

    if (value == TOOL_WAIT_EXISTS)
        return v != NULL;
    if (value)
        return v && !strcmp(v, value);
    return !v;
}

int tool_xs_wait(struct xs_handle *xs, const char *path, const char *value,
                 unsigned int timeout_ms)
{
    return xs_wait_until(xs, path,
                         iovm_now_ns() + (uint64_t)timeout_ms * 1000000ull,
                         wait_value_check, value);
}

/* atoi() as glibc has it, without atoi()'s undefined overflow. */
static int state_atoi(const char *v)
{
    return (int)strtol(v, NULL, 10);
}

static int wait_state_check(const char *v, const void *arg)
{
    if (!v)
        return -ENOENT; /* libxl: "wanted state N but it was removed" */
    return state_atoi(v) == *(const int *)arg;
}

int tool_xs_wait_state(struct xs_handle *xs, const char *path, int state,
                       uint64_t deadline_ns)
{
    return xs_wait_until(xs, path, deadline_ns, wait_state_check, &state);
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

int tool_device_read(struct xs_handle *xs, uint32_t domid, const char *kind,
                     const char *devid, struct tool_device *d)
{
    char path[320], *v;
    unsigned int len;

    memset(d, 0, sizeof(*d));
    if (snprintf(d->lx, sizeof(d->lx), "/libxl/%u/device/%s/%s", domid, kind,
                 devid) >= (int)sizeof(d->lx))
        return -ENAMETOOLONG;
    snprintf(path, sizeof(path), "%s/backend", d->lx);
    v = xs_read(xs, XBT_NULL, path, &len);
    if (!v)
        return -ENOENT;
    snprintf(d->be, sizeof(d->be), "%s", v);
    free(v);
    snprintf(path, sizeof(path), "%s/frontend", d->lx);
    v = xs_read(xs, XBT_NULL, path, &len);
    snprintf(d->fe, sizeof(d->fe), "%s", v ? v : "");
    free(v);
    /* libxl__backendpath_parse_domid */
    if (sscanf(d->be, "/local/domain/%u/", &d->be_domid) != 1)
        return -EINVAL;
    return 0;
}

static int remove_fail(struct tool_device *d, int rc, const char *why)
{
    d->rc = rc;
    snprintf(d->why, sizeof(d->why), "%s: %s", d->be, why);
    return rc;
}

/*
 * The first transaction of libxl__initiate_device_generic_remove.
 * Returns 0 when the backend was asked to close, 1 when its state node is
 * already gone (libxl then only cleans up), or -errno.
 */
static int device_remove_start(struct xs_handle *xs, struct tool_device *d,
                               enum tool_force force)
{
    char path[300];
    int tries;

    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t t = xs_transaction_start(xs);
        unsigned int len;
        bool ok = true;
        char *state;

        if (!t)
            return -errno;
        if (force == TOOL_FORCE_ON && d->fe[0])
            tool_xs_path_cleanup(xs, t, d->fe);
        snprintf(path, sizeof(path), "%s/state", d->be);
        state = xs_read(xs, t, path, &len);
        if (state) {
            snprintf(path, sizeof(path), "%s/online", d->be);
            ok = xs_write(xs, t, path, "0", 1);
            if (ok && state_atoi(state) != 6) {
                snprintf(path, sizeof(path), "%s/state", d->be);
                ok = xs_write(xs, t, path, "5", 1);
            }
        }
        free(state);
        if (!ok) {
            int rc = -errno;

            xs_transaction_end(xs, t, true);
            return rc ? rc : -EIO;
        }
        if (xs_transaction_end(xs, t, false))
            return state ? 0 : 1;
        if (errno != EAGAIN)
            return -errno;
    }
    return -EAGAIN;
}

/* libxl__device_destroy run by the toolstack domain. */
static void device_destroy(struct xs_handle *xs, const struct tool_device *d)
{
    int tries;

    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t t = xs_transaction_start(xs);

        if (!t)
            return;
        if (d->fe[0])
            tool_xs_path_cleanup(xs, t, d->fe);
        tool_xs_path_cleanup(xs, t, d->lx);
        tool_xs_path_cleanup(xs, t, d->be);
        if (xs_transaction_end(xs, t, false) || errno != EAGAIN)
            return;
    }
}

/*
 * Waits for every closing device's backend to reach state 6 at once, as
 * libxl's concurrent per-device removals do (one after the other, a
 * driver domain that removes its directory soon after Closed would beat
 * the later waits).  Leaves in devs[i].rc: 0 once 6 was read, -ENOENT if
 * the node vanished first, -ETIMEDOUT at the deadline.
 */
static void wait_closed(struct xs_handle *xs, struct tool_device *devs,
                        const bool *closing, unsigned int n,
                        uint64_t deadline)
{
    char path[300], token[32];
    unsigned int i, left = 0;

    for (i = 0; i < n; i++) {
        if (!closing[i])
            continue;
        snprintf(path, sizeof(path), "%s/state", devs[i].be);
        snprintf(token, sizeof(token), "closed-%u", i);
        devs[i].rc = xs_watch(xs, path, token) ? 1 : -errno;
        left += devs[i].rc == 1;
    }
    while (left) {
        struct pollfd pfd = { .fd = xs_fileno(xs), .events = POLLIN };
        uint64_t now;
        char **ev;

        for (i = 0; i < n; i++) {
            unsigned int len;
            char *v;

            if (!closing[i] || devs[i].rc != 1)
                continue;
            snprintf(path, sizeof(path), "%s/state", devs[i].be);
            v = xs_read(xs, XBT_NULL, path, &len);
            if (!v || state_atoi(v) == 6) {
                devs[i].rc = v ? 0 : -ENOENT;
                left--;
            }
            free(v);
        }
        now = iovm_now_ns();
        if (!left || now >= deadline)
            break;
        if (poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1)) <= 0)
            continue;
        /* Events only wake us: every open wait re-reads its node. */
        while ((ev = xs_check_watch(xs)))
            free(ev);
    }
    for (i = 0; i < n; i++) {
        if (!closing[i])
            continue;
        if (devs[i].rc == 1)
            devs[i].rc = -ETIMEDOUT;
        snprintf(path, sizeof(path), "%s/state", devs[i].be);
        snprintf(token, sizeof(token), "closed-%u", i);
        xs_unwatch(xs, path, token);
    }
}

int tool_devices_remove(const char *dir, struct xs_handle *xs,
                        struct tool_device *devs, unsigned int n,
                        enum tool_force force, unsigned int timeout_ms)
{
    uint64_t tmo = (uint64_t)timeout_ms * 1000000ull;
    uint64_t deadline = iovm_now_ns() + tmo;
    char msg[96], why[300];
    unsigned int i;
    int rc = 0;
    bool *closing = calloc(n ? n : 1, sizeof(*closing));

    if (!closing)
        return -ENOMEM;
    /* Ask every backend to close first: the waits then overlap. */
    for (i = 0; i < n; i++) {
        int r = device_remove_start(xs, &devs[i],
                                    force == TOOL_FORCE_ON ? force
                                                           : TOOL_FORCE_OFF);

        devs[i].rc = 0;
        devs[i].why[0] = '\0';
        devs[i].forced = force == TOOL_FORCE_ON;
        if (r < 0)
            remove_fail(&devs[i], r, strerror(-r));
        closing[i] = r == 0;
    }
    wait_closed(xs, devs, closing, n, deadline);
    if (force == TOOL_FORCE_AUTO) {
        bool *retry = calloc(n ? n : 1, sizeof(*retry)), again = false;

        /* libxl's "Timeout reached, initiating forced remove": the
         * frontend goes, online=0 and Closing are written again, and the
         * wait for Closed starts over. */
        for (i = 0; retry && i < n; i++) {
            int r;

            if (!closing[i] || devs[i].rc != -ETIMEDOUT)
                continue;
            devs[i].forced = true;
            r = device_remove_start(xs, &devs[i], TOOL_FORCE_ON);
            if (r < 0) {
                closing[i] = false;
                remove_fail(&devs[i], r, strerror(-r));
            } else if (r == 1) {
                closing[i] = false; /* gone meanwhile: clean up only */
                devs[i].rc = 0;
            }
            retry[i] = r == 0;
            again |= retry[i];
        }
        if (again)
            wait_closed(xs, devs, retry, n, iovm_now_ns() + tmo);
        free(retry);
    }
    for (i = 0; i < n; i++) {
        struct tool_device *d = &devs[i];
        int r;

        if (closing[i]) {
            r = d->rc;
            d->rc = 0;
            /*
             * As libxl 4.17: the state node vanishing before it read 6
             * fails the removal (devstate_callback: ERROR_INVAL, "unable
             * to remove device"); after 6, a driver domain's backend must
             * remove its directory within the timeout
             * (device_destroy_be_watch_cb); then libxl__device_destroy
             * below cleans up both ends.
             */
            if (r == -ETIMEDOUT) {
                snprintf(msg, sizeof(msg),
                         "backend did not reach state 6 (Closed) within "
                         "%u ms",
                         timeout_ms);
                remove_fail(d, r, msg);
            } else if (r < 0) {
                remove_fail(d, r, "backend state node vanished before "
                                  "state 6 (Closed)");
            } else if (r == 0 && d->be_domid != 0) {
                r = tool_xs_wait(xs, d->be, NULL, timeout_ms);
                if (r) {
                    snprintf(msg, sizeof(msg),
                             "timed out waiting for driver domain %u to "
                             "remove the backend (%u ms)",
                             d->be_domid, timeout_ms);
                    remove_fail(d, r, msg);
                }
            }
            /* A backend in dom0: libxl runs its hotplug script's
             * remove now (a failure is logged, the removal goes on). */
            if (r == 0 && d->be_domid == 0 &&
                tool_hotplug(dir, xs, d->be, "remove", why, sizeof(why)))
                fprintf(stderr, "iovm-sim: warning: %s\n", why);
        }
        if (!d->rc || d->forced)
            device_destroy(xs, d);
        if (d->rc && !rc)
            rc = d->rc;
    }
    free(closing);
    return rc;
}

/* Tears down every device of domid (libxl__devices_destroy, FORCE_ON). */
static void devices_destroy(struct sim_tool *t, uint32_t domid)
{
    char path[300], **kinds, **devs;
    unsigned int nk, nd, i, j, n = 0;
    struct tool_device *rms = NULL;

    snprintf(path, sizeof(path), "/libxl/%u/device", domid);
    kinds = xs_directory(t->xs, XBT_NULL, path, &nk);
    for (i = 0; kinds && i < nk; i++) {
        snprintf(path, sizeof(path), "/libxl/%u/device/%s", domid, kinds[i]);
        devs = xs_directory(t->xs, XBT_NULL, path, &nd);
        for (j = 0; devs && j < nd; j++) {
            struct tool_device *nr = realloc(rms, (n + 1) * sizeof(*rms));

            if (!nr)
                break;
            rms = nr;
            if (!tool_device_read(t->xs, domid, kinds[i], devs[j], &rms[n]))
                n++;
        }
        free(devs);
    }
    free(kinds);

    tool_devices_remove(t->dir, t->xs, rms, n, TOOL_FORCE_ON,
                        t->timeout_ms ? t->timeout_ms : DESTROY_TIMEOUT_MS);
    for (i = 0; i < n && !t->quiet; i++)
        if (rms[i].rc)
            fprintf(stderr, "iovm-sim: warning: %s; removed it anyway\n",
                    rms[i].why);
    free(rms);
}

/* libxl__domain_destroy after the domain was found: devices, the
 * domain's trees, then the hypervisor. */
static int domain_destroy_id(struct sim_tool *t, uint32_t domid)
{
    char path[256], *vm;
    unsigned int len;
    int rc;

    devices_destroy(t, domid);
    snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
    vm = xs_read(t->xs, XBT_NULL, path, &len);
    if (vm && !strncmp(vm, "/vm/", 4))
        xs_rm(t->xs, XBT_NULL, vm);
    free(vm);
    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    xs_rm(t->xs, XBT_NULL, path);
    snprintf(path, sizeof(path), "/libxl/%u", domid);
    xs_rm(t->xs, XBT_NULL, path);
    /* The hypervisor destroys it; xenstored then fires @releaseDomain. */
    rc = ctl_cmd(t->dir, NULL, 0, "destroy %u", domid);
    if (rc && !t->quiet)
        fprintf(stderr, "iovm-sim: destroying domain %u: %s\n", domid,
                strerror(-rc));
    return rc;
}

int tool_domain_destroy(struct sim_tool *t, const char *name_or_id)
{
    struct sim_domain_info info;
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
    return domain_destroy_id(t, info.domid);
}
