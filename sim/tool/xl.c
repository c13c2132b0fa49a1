/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `iovm-sim xl`: the part of xl(1) the simulator needs.  Creates and
 * destroys domains from xl config files and attaches and detaches disks
 * and vifs given in xl's disk and vif syntax, writing to xenstore what
 * Xen 4.17's libxl writes, in its order and with its permissions
 * (libxl_create.c, libxl_disk.c:device_disk_add,
 * libxl_nic.c:libxl__set_xenstore_nic, libxl_device.c:
 * libxl__device_add_async, libxl__device_generic_add,
 * libxl__wait_device_connection and the generic remove).
 *
 * No backend is started here.  A driver domain's backend is a daemon the
 * caller runs inside that domain (on real Xen, xl devd and iovmd); with a
 * backend in dom0 we wait for the backend states and run its hotplug
 * script (add, remove) as libxl does (hotplug.c).
 *
 * Trusts its command line.  Config files and disk specs are untrusted and
 * parsed by xlcfg.c.  Backend state nodes, which driver domains write,
 * are read the way libxl reads them (atoi) and only compared; paths come
 * from our own /libxl records, which only dom0 can write.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"
#include "util.h"
#include "xlcfg.h"

#define XL_TIMEOUT_MS 10000       /* LIBXL_INIT_/LIBXL_DESTROY_TIMEOUT */
#define XL_TIMEOUT_ENV "IOVM_SIM_XL_TIMEOUT_MS"
#define XL_SCRIPT_DIR "/etc/xen/scripts" /* XEN_SCRIPT_DIR */
#define XL_PV_PROTOCOL "x86_64-abi" /* every simulated guest: 64-bit PV */
#define XL_DOMID_MAX 0x7fefu      /* below DOMID_FIRST_RESERVED */
#define XL_MAX_DOMAINS 1024u
#define XENBUS_INITWAIT 2

static int xl_msg(struct xlcfg_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int xl_msg(struct xlcfg_err *err, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return rc;
}

/* libxl's 10 s waits, or IOVM_SIM_XL_TIMEOUT_MS for tests. */
static int xl_timeout_init(struct sim_tool *t)
{
    const char *env = getenv(XL_TIMEOUT_ENV);
    unsigned int ms;

    t->timeout_ms = XL_TIMEOUT_MS;
    if (!env || !*env)
        return 0;
    if (iovm_parse_uint(env, 3600000, &ms) || !ms)
        return tool_fail("bad %s '%s' (1..3600000)", XL_TIMEOUT_ENV, env);
    t->timeout_ms = ms;
    return 0;
}

/* ------------------------------------------------------------ disks */

/* The three paths of a device and its backend domain. */
struct xl_dev {
    uint32_t be_domid;
    char fe[128];
    char be[128];
    char lx[128];
    uint64_t deadline;     /* of the wait for InitWait */
};

/* One disk on its way into xenstore. */
struct xl_disk {
    struct xlcfg_disk cfg;
    struct xl_dev dev;
    uint32_t devid;
    const char *be_kind;   /* vbd or qdisk */
};

/*
 * libxl_domain_qualifier_to_domid: all digits (even none) is a domid,
 * anything else a name looked up in /local/domain/<each domain>/name.
 */
static int xl_resolve_domid(struct sim_tool *t, const char *name,
                            uint32_t *domid, struct xlcfg_err *err)
{
    uint32_t ids[XL_MAX_DOMAINS];
    size_t i, len = strlen(name);
    int n;

    if (strspn(name, "0123456789") == len) {
        unsigned long v = len ? strtoul(name, NULL, 10) : 0;

        if (len > 10 || v > XL_DOMID_MAX)
            return xl_msg(err, -EINVAL, "%s is not a valid domid", name);
        *domid = (uint32_t)v;
        return 0;
    }
    n = ctl_list_domids(t->dir, ids, XL_MAX_DOMAINS);
    if (n < 0)
        return xl_msg(err, n, "listing domains: %s", strerror(-n));
    for (i = 0; i < (size_t)n; i++) {
        char path[64], *v;
        unsigned int vlen;
        bool match;

        snprintf(path, sizeof(path), "/local/domain/%u/name", ids[i]);
        v = xs_read(t->xs, XBT_NULL, path, &vlen);
        match = v && !strcmp(v, name);
        free(v);
        if (match) {
            *domid = ids[i];
            return 0;
        }
    }
    return xl_msg(err, -ENOENT, "no domain named '%.64s'", name);
}

/*
 * libxl__device_disk_setdefault for a PV guest: resolve the backend
 * domain, then let xlcfg pick the backend type (stat()ing the target
 * when libxl would).  hotplug is libxl's update_json: xl block-attach.
 */
static int xl_disk_setdefault(struct sim_tool *t, struct xl_disk *d,
                              bool hotplug, struct xlcfg_err *err)
{
    struct stat st = { 0 };
    int rc;

    d->dev.be_domid = 0;
    if (d->cfg.backend_domname) {
        rc = xl_resolve_domid(t, d->cfg.backend_domname, &d->dev.be_domid,
                              err);
        if (rc)
            return rc;
    }
    if (d->cfg.specification == XLCFG_SPEC_VIRTIO)
        return xl_msg(err, -EOPNOTSUPP,
                      hotplug ? "Hotplug isn't supported for specification "
                                "virtio"
                              : "virtio disks are not simulated (x86 PV "
                                "guests have none)");
    if (xlcfg_disk_needs_stat(&d->cfg, d->dev.be_domid) &&
        stat(d->cfg.target ? d->cfg.target : "", &st)) {
        rc = -errno;
        return xl_msg(err, rc, "Disk vdev=%.64s failed to stat: %.200s: %s",
                      d->cfg.vdev, d->cfg.target ? d->cfg.target : "",
                      strerror(-rc));
    }
    return xlcfg_disk_setdefault(&d->cfg, d->dev.be_domid, st.st_mode,
                                 err);
}

/* libxl__device_from_disk and the three paths of the device. */
static int xl_disk_paths(uint32_t domid, struct xl_disk *d,
                         struct xlcfg_err *err)
{
    int rc = xlcfg_vdev_to_devid(d->cfg.vdev, &d->devid, err);

    if (rc)
        return rc;
    switch (d->cfg.backendtype) {
    case XLCFG_BACKEND_PHY: d->be_kind = "vbd"; break;
    case XLCFG_BACKEND_QDISK: d->be_kind = "qdisk"; break;
    case XLCFG_BACKEND_TAP:
        return xl_msg(err, -EOPNOTSUPP, "blktap is not supported");
    default:
        return xl_msg(err, -EINVAL, "Unrecognized disk backend type");
    }
    snprintf(d->dev.fe, sizeof(d->dev.fe), "/local/domain/%u/device/vbd/%u",
             domid, d->devid);
    snprintf(d->dev.be, sizeof(d->dev.be),
             "/local/domain/%u/backend/%s/%u/%u", d->dev.be_domid,
             d->be_kind, domid, d->devid);
    snprintf(d->dev.lx, sizeof(d->dev.lx), "/libxl/%u/device/vbd/%u", domid,
             d->devid);
    return 0;
}

/* A key/value list, written in order (libxl's flexarrays). */
struct xl_kvs {
    const char *key[64]; /* a vif with every COLO key has 63 */
    char *val[64];
    unsigned int n;
};

static int xl_kvs_add(struct xl_kvs *kv, const char *key, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
static int xl_kvs_add(struct xl_kvs *kv, const char *key, const char *fmt,
                      ...)
{
    va_list ap;
    int r;

    if (kv->n >= IOVM_ARRAY_SIZE(kv->key))
        return -E2BIG;
    va_start(ap, fmt);
    r = vasprintf(&kv->val[kv->n], fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    kv->key[kv->n++] = key;
    return 0;
}

static void xl_kvs_free(struct xl_kvs *kv)
{
    while (kv->n)
        free(kv->val[--kv->n]);
}

/* sprintf("%s", NULL) as glibc prints it, for libxl's colo keys. */
static const char *xl_null(const char *s)
{
    return s ? s : "(null)";
}

/* device_disk_add's back and front lists, in its order. */
static int xl_disk_entries(uint32_t domid, const struct xl_disk *d,
                           struct xl_kvs *back, struct xl_kvs *front)
{
    const struct xlcfg_disk *c = &d->cfg;
    int rc = 0;

    if (c->backendtype == XLCFG_BACKEND_PHY) {
        const char *script = c->script ? c->script : "block";

        /* The target verbatim: the hotplug script resolves it. */
        if (c->target)
            rc = xl_kvs_add(back, "params", "%s", c->target);
        /* libxl__abs_path(script, XEN_SCRIPT_DIR) */
        if (!rc)
            rc = script[0] == '/'
                     ? xl_kvs_add(back, "script", "%s", script)
                     : xl_kvs_add(back, "script", "%s/%s", XL_SCRIPT_DIR,
                                  script);
    } else {
        rc = xl_kvs_add(back, "params", "%s:%s",
                        xlcfg_disk_qdisk_format(c->format),
                        c->target ? c->target : "");
        if (!rc && c->colo == XLCFG_TRUE) {
            rc = xl_kvs_add(back, "colo-host", "%s", xl_null(c->colo_host));
            rc = rc ? rc : xl_kvs_add(back, "colo-port", "%d", c->colo_port);
            rc = rc ? rc : xl_kvs_add(back, "colo-export", "%s",
                                      xl_null(c->colo_export));
            rc = rc ? rc : xl_kvs_add(back, "active-disk", "%s",
                                      xl_null(c->active_disk));
            rc = rc ? rc : xl_kvs_add(back, "hidden-disk", "%s",
                                      xl_null(c->hidden_disk));
        }
    }
#define ADD(kv, k, ...) (rc = rc ? rc : xl_kvs_add(kv, k, __VA_ARGS__))
    ADD(back, "frontend-id", "%u", domid);
    ADD(back, "online", "1");
    ADD(back, "removable", "%d", c->removable ? 1 : 0);
    ADD(back, "bootable", "1");
    ADD(back, "state", "1"); /* XenbusStateInitialising */
    ADD(back, "dev", "%s", c->vdev);
    ADD(back, "type", "%s", xlcfg_disk_backend_name(c->backendtype));
    ADD(back, "mode", "%s", c->readwrite ? "w" : "r");
    ADD(back, "device-type", "%s", c->is_cdrom ? "cdrom" : "disk");
    if (c->direct_io_safe)
        ADD(back, "direct-io-safe", "1");
    ADD(back, "discard-enable", "%s", c->discard == XLCFG_TRUE ? "1" : "0");
    ADD(back, "specification", "%s", xlcfg_disk_spec_name(c->specification));

    ADD(front, "backend-id", "%u", d->dev.be_domid);
    ADD(front, "state", "1");
    ADD(front, "virtual-device", "%u", d->devid);
    ADD(front, "device-type", "%s", c->is_cdrom ? "cdrom" : "disk");
    ADD(front, "trusted", "%s", c->trusted == XLCFG_TRUE ? "1" : "0");
    /* PV guests only: old frontends need the toolstack to write it. */
    ADD(front, "protocol", "%s", XL_PV_PROTOCOL);
#undef ADD
    return rc;
}

static bool xl_write(struct xs_handle *xs, xs_transaction_t t,
                     const char *dir, const char *key, const char *val)
{
    char path[256];

    if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return false;
    }
    return xs_write(xs, t, path, val, strlen(val));
}

/* libxl__xs_writev_perms: each key written, then given perms if any. */
static bool xl_writev(struct xs_handle *xs, xs_transaction_t t,
                      const char *dir, const struct xl_kvs *kv,
                      struct xs_permissions *perms, unsigned int nperms)
{
    char path[256];
    unsigned int i;

    for (i = 0; i < kv->n; i++) {
        if (!xl_write(xs, t, dir, kv->key[i], kv->val[i]))
            return false;
        snprintf(path, sizeof(path), "%s/%s", dir, kv->key[i]);
        if (perms && !xs_set_permissions(xs, t, path, perms, nperms))
            return false;
    }
    return true;
}

/*
 * The body of libxl__device_add_async's transaction (and
 * device_disk_add's): the existence check, then
 * libxl__device_generic_add: /libxl entry, frontend (guest-owned,
 * backend may read; every key too), the read-only frontend keys
 * (backend-owned, guest may read: a vif's mtu), backend (backend-owned,
 * guest may read), and the backend keys copied under /libxl.  Returns
 * 0, -EEXIST or -errno.
 */
static int xl_dev_write(struct xs_handle *xs, xs_transaction_t t,
                        uint32_t domid, const struct xl_dev *d,
                        const struct xl_kvs *back, const struct xl_kvs *front,
                        const struct xl_kvs *ro_front)
{
    struct xs_permissions fe_perms[2] = { { domid, XS_PERM_NONE },
                                          { d->be_domid, XS_PERM_READ } };
    struct xs_permissions be_perms[2] = { { d->be_domid, XS_PERM_NONE },
                                          { domid, XS_PERM_READ } };
    unsigned int len;
    char *v = xs_read(xs, t, d->lx, &len);

    if (v) {
        free(v);
        return -EEXIST; /* ERROR_DEVICE_EXISTS */
    }
    if (!xs_rm(xs, t, d->lx) && errno != ENOENT)
        return -errno;
    if (!xl_write(xs, t, d->lx, "frontend", d->fe) ||
        !xl_write(xs, t, d->lx, "backend", d->be))
        return -errno;
    if ((!xs_rm(xs, t, d->fe) && errno != ENOENT) ||
        !xs_mkdir(xs, t, d->fe) ||
        !xs_set_permissions(xs, t, d->fe, fe_perms, 2) ||
        !xl_write(xs, t, d->fe, "backend", d->be) ||
        !xl_writev(xs, t, d->fe, front, fe_perms, 2) ||
        (ro_front && !xl_writev(xs, t, d->fe, ro_front, be_perms, 2)))
        return -errno;
    if ((!xs_rm(xs, t, d->be) && errno != ENOENT) ||
        !xs_mkdir(xs, t, d->be) ||
        !xs_set_permissions(xs, t, d->be, be_perms, 2) ||
        !xl_write(xs, t, d->be, "frontend", d->fe) ||
        !xl_writev(xs, t, d->be, back, NULL, 0))
        return -errno;
    /* A copy libxl keeps so as not to trust the backend's. */
    if (!xl_writev(xs, t, d->lx, back, NULL, 0))
        return -errno;
    return 0;
}

/* The add transaction, retried on EAGAIN; starts the InitWait clock. */
static int xl_dev_add(struct sim_tool *t, uint32_t domid, struct xl_dev *d,
                      const struct xl_kvs *back, const struct xl_kvs *front,
                      const struct xl_kvs *ro_front, struct xlcfg_err *err)
{
    int rc = 0, tries;

    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t tx = xs_transaction_start(t->xs);

        if (!tx) {
            rc = -errno;
            break;
        }
        rc = xl_dev_write(t->xs, tx, domid, d, back, front, ro_front);
        if (rc) {
            xs_transaction_end(t->xs, tx, true);
            break;
        }
        if (xs_transaction_end(t->xs, tx, false)) {
            d->deadline = iovm_now_ns() + t->timeout_ms * 1000000ull;
            break;
        }
        rc = errno == EAGAIN ? 0 : -errno;
        if (!rc && tries == 15)
            rc = -EAGAIN;
    }
    if (rc == -EEXIST)
        return xl_msg(err, rc, "device already exists in xenstore (%s)",
                      d->lx);
    if (rc)
        return xl_msg(err, rc, "writing %s: %s", d->be, strerror(-rc));
    return 0;
}

/*
 * libxl__wait_device_connection for a backend that is not QEMU's: it
 * must reach exactly InitWait, within LIBXL_INIT_TIMEOUT of its commit.
 * libxl then runs the hotplug script for a dom0 backend (xl_dev_hotplug);
 * for a driver domain's, xl devd (iovmd) runs it.
 */
static int xl_dev_wait(struct sim_tool *t, const struct xl_dev *d,
                       struct xlcfg_err *err)
{
    char path[160];
    int rc;

    snprintf(path, sizeof(path), "%s/state", d->be);
    rc = tool_xs_wait_state(t->xs, path, XENBUS_INITWAIT, d->deadline);
    if (rc == -ETIMEDOUT)
        return xl_msg(err, rc,
                      "unable to add device with path %s: backend did not "
                      "reach state 2 (InitWait) within %u ms",
                      d->be, t->timeout_ms);
    if (rc)
        return xl_msg(err, rc, "unable to add device with path %s: state "
                      "node removed while waiting for state 2 (InitWait)",
                      d->be);
    return 0;
}

/* A backend in dom0: libxl runs the hotplug script once it is in
 * InitWait (a driver domain runs its own). */
static int xl_dev_hotplug(struct sim_tool *t, const struct xl_dev *d,
                          struct xlcfg_err *err)
{
    char why[300];
    int rc;

    if (d->be_domid != 0)
        return 0;
    rc = tool_hotplug(t->dir, t->xs, d->be, "add", why, sizeof(why));
    return rc ? xl_msg(err, rc, "%s", why) : 0;
}

/* device_disk_add up to the commit; one transaction, retried on EAGAIN. */
static int xl_disk_add(struct sim_tool *t, uint32_t domid, struct xl_disk *d,
                       struct xlcfg_err *err)
{
    struct xl_kvs back = { .n = 0 }, front = { .n = 0 };
    int rc;

    rc = xl_disk_paths(domid, d, err);
    if (rc)
        return rc;
    rc = xl_disk_entries(domid, d, &back, &front);
    if (rc)
        rc = xl_msg(err, rc, "writing %s: %s", d->dev.be, strerror(-rc));
    else
        rc = xl_dev_add(t, domid, &d->dev, &back, &front, NULL, err);
    xl_kvs_free(&back);
    xl_kvs_free(&front);
    return rc;
}

/* A QEMU backend (qdisk) is not waited for, and runs no script. */
static int xl_disk_wait(struct sim_tool *t, const struct xl_disk *d,
                        struct xlcfg_err *err)
{
    if (d->cfg.backendtype == XLCFG_BACKEND_QDISK)
        return 0;
    return xl_dev_wait(t, &d->dev, err);
}

static int xl_disk_hotplug(struct sim_tool *t, const struct xl_disk *d,
                           struct xlcfg_err *err)
{
    if (d->cfg.backendtype == XLCFG_BACKEND_QDISK)
        return 0;
    return xl_dev_hotplug(t, &d->dev, err);
}

/* ------------------------------------------------------------- vifs */

/* One vif on its way into xenstore. */
struct xl_vif {
    struct xlcfg_vif cfg;
    struct xl_dev dev;
};

/*
 * libxl__device_nic_setdefault: the backend domain (libxl__resolve_domid),
 * then xlcfg's defaults; the MAC's random part comes from libxl's
 * libxl_uuid_generate, here getrandom().
 */
static int xl_vif_setdefault(struct sim_tool *t, struct xl_vif *v,
                             struct xlcfg_err *err)
{
    uint8_t rnd[3];
    int rc;

    v->dev.be_domid = 0;
    if (v->cfg.backend_domname) {
        rc = xl_resolve_domid(t, v->cfg.backend_domname, &v->dev.be_domid,
                              err);
        if (rc)
            return rc;
    }
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return xl_msg(err, -EIO, "no random bytes for a MAC: %s",
                      strerror(errno));
    return xlcfg_vif_setdefault(&v->cfg, rnd, err);
}

/*
 * libxl__device_nic_update_devid for devid -1 (network-attach):
 * libxl__device_nextid, the last entry of /libxl/D/device/vif (xenstored
 * lists children in creation order) plus one, or 0.
 */
static int xl_vif_update_devid(struct sim_tool *t, uint32_t domid,
                               struct xl_vif *v, struct xlcfg_err *err)
{
    char path[64], **l;
    unsigned int n;
    unsigned long next = 0;

    if (v->cfg.devid != -1)
        return 0;
    snprintf(path, sizeof(path), "/libxl/%u/device/vif", domid);
    l = xs_directory(t->xs, XBT_NULL, path, &n);
    if (l && n)
        next = strtoul(l[n - 1], NULL, 10) + 1;
    free(l);
    if (next > INT_MAX)
        return xl_msg(err, -ERANGE, "no devid left after %s/%lu", path,
                      next - 1);
    v->cfg.devid = (int)next;
    return 0;
}

/* libxl__device_from_nic: the three paths. */
static void xl_vif_paths(uint32_t domid, struct xl_vif *v)
{
    snprintf(v->dev.fe, sizeof(v->dev.fe), "/local/domain/%u/device/vif/%d",
             domid, v->cfg.devid);
    snprintf(v->dev.be, sizeof(v->dev.be),
             "/local/domain/%u/backend/vif/%u/%d", v->dev.be_domid, domid,
             v->cfg.devid);
    snprintf(v->dev.lx, sizeof(v->dev.lx), "/libxl/%u/device/vif/%d", domid,
             v->cfg.devid);
}

#define XL_MAC_FMT "%02x:%02x:%02x:%02x:%02x:%02x" /* LIBXL_MAC_FMT */
#define XL_MAC(m) (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]

/*
 * libxl__device_add_async's first keys, then libxl__set_xenstore_nic's,
 * in their order: back, front and ro_front (the frontend keys the guest
 * may only read: mtu).
 */
static int xl_vif_entries(uint32_t domid, const struct xl_vif *v,
                          struct xl_kvs *back, struct xl_kvs *front,
                          struct xl_kvs *ro_front)
{
    const struct xlcfg_vif *c = &v->cfg;
    unsigned int i;
    int rc = 0;

#define ADD(kv, k, ...) (rc = rc ? rc : xl_kvs_add(kv, k, __VA_ARGS__))
    ADD(back, "frontend-id", "%u", domid);
    ADD(back, "online", "1");
    ADD(back, "state", "1"); /* XenbusStateInitialising */
    ADD(front, "backend-id", "%u", v->dev.be_domid);
    ADD(front, "state", "1");

    /* libxl__abs_path(script, XEN_SCRIPT_DIR) */
    if (c->script)
        rc = c->script[0] == '/'
                 ? xl_kvs_add(back, "script", "%s", c->script)
                 : xl_kvs_add(back, "script", "%s/%s", XL_SCRIPT_DIR,
                              c->script);
    if (c->ifname)
        ADD(back, "vifname", "%s", c->ifname);
    if (c->forwarddev)
        ADD(back, "forwarddev", "%s", c->forwarddev);
    for (i = 0; i < XLCFG_VIF_NCOLO; i++) {
        static char names[XLCFG_VIF_NCOLO][48];

        if (!c->colo[i])
            continue;
        snprintf(names[i], sizeof(names[i]), "colo_%s",
                 xlcfg_vif_colo_name(i));
        ADD(back, names[i], "%s", c->colo[i]);
    }
    ADD(back, "mac", XL_MAC_FMT, XL_MAC(c->mac));
    if (c->ip)
        ADD(back, "ip", "%s", c->ip);
    if (c->gatewaydev)
        ADD(back, "gatewaydev", "%s", c->gatewaydev);
    if (c->rate_interval_usecs > 0)
        ADD(back, "rate", "%" PRIu64 ",%" PRIu32, c->rate_bytes_per_interval,
            c->rate_interval_usecs);
    if (c->mtu != XLCFG_VIF_MTU_DEFAULT)
        ADD(back, "mtu", "%u", (unsigned int)c->mtu);
    ADD(back, "bridge", "%s", c->bridge);
    ADD(back, "handle", "%d", c->devid);
    ADD(back, "type", "%s", xlcfg_nic_type_name(c->nictype));

    ADD(front, "handle", "%d", c->devid);
    ADD(front, "mac", XL_MAC_FMT, XL_MAC(c->mac));
    ADD(ro_front, "mtu", "%u", (unsigned int)c->mtu);
    /* The backend waits for the hotplug script before Connected. */
    ADD(back, "hotplug-status", "%s", "");
    ADD(front, "trusted", "%s", c->trusted == XLCFG_TRUE ? "1" : "0");
#undef ADD
    return rc;
}

/* libxl__device_add_async for a nic, up to the commit. */
static int xl_vif_add(struct sim_tool *t, uint32_t domid, struct xl_vif *v,
                      struct xlcfg_err *err)
{
    struct xl_kvs back = { .n = 0 }, front = { .n = 0 }, ro = { .n = 0 };
    int rc;

    xl_vif_paths(domid, v);
    rc = xl_vif_entries(domid, v, &back, &front, &ro);
    if (rc)
        rc = xl_msg(err, rc, "writing %s: %s", v->dev.be, strerror(-rc));
    else
        rc = xl_dev_add(t, domid, &v->dev, &back, &front, &ro, err);
    xl_kvs_free(&back);
    xl_kvs_free(&front);
    xl_kvs_free(&ro);
    return rc;
}

/* xl's warnings while reading a config file's vif=[...]. */
static void xl_vif_warn(void *arg, const char *msg)
{
    fprintf(stderr, "iovm-sim: warning: %s: %s\n", (const char *)arg, msg);
}

/* ----------------------------------------------------------- create */

struct xl_create {
    const char *file;
    struct xl_disk *disks;
    unsigned int ndisks;
    struct xl_vif *vifs;
    unsigned int nvifs;
    struct xlcfg_err err;
};

/* Where libxl sets every disk's defaults: a bad backend= fails here. */
static int xl_create_before_build(struct sim_tool *t, uint32_t domid,
                                  void *arg)
{
    struct xl_create *c = arg;
    unsigned int i;
    int rc;

    (void)domid;
    for (i = 0; i < c->ndisks; i++) {
        rc = xl_disk_setdefault(t, &c->disks[i], false, &c->err);
        if (rc)
            return rc;
    }
    /* libxl__device_nic_set_devids: each nic's defaults (a config's
     * devids are already set: each vif's index, or its devid=). */
    for (i = 0; i < c->nvifs; i++) {
        rc = xl_vif_setdefault(t, &c->vifs[i], &c->err);
        if (rc) {
            char m[XLCFG_MSG_MAX];

            snprintf(m, sizeof(m), "vif %u: %s", i, c->err.msg);
            memcpy(c->err.msg, m, sizeof(m));
            return rc;
        }
    }
    return 0;
}

static int xl_read_file(const char *file, char **bufp, size_t *lenp)
{
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap), *nb;
    ssize_t r;
    int fd = open(file, O_RDONLY | O_CLOEXEC), rc = 0;

    if (fd < 0 || !buf) {
        rc = fd < 0 ? -errno : -ENOMEM;
        goto out;
    }
    for (;;) {
        if (len == cap) {
            nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap *= 2;
        }
        r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto out;
        }
        if (!r)
            break;
        len += (size_t)r;
        if (len > XLCFG_MAX_INPUT) { /* a config, not /dev/zero */
            rc = -EFBIG;
            goto out;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    *bufp = buf;
    *lenp = len;
    return 0;
}

/* xl's domain type rules: "type" and the deprecated "builder" take any
 * prefix of their words; the default on x86 is pv. */
static int xl_check_type(const struct xlcfg *cfg, const char *file)
{
    const char *type = NULL, *builder = NULL;
    struct xlcfg_err err;
    enum { NONE, PV, PVH, HVM } ty = NONE, bt = NONE;
    size_t n;

    if (xlcfg_get_string(cfg, "type", &type, &err) == -EINVAL)
        fprintf(stderr, "iovm-sim: warning: %s\n", err.msg);
    if (type) {
        n = strlen(type);
        ty = !strncmp(type, "hvm", n)  ? HVM
             : !strncmp(type, "pv", n) ? PV
             : !strncmp(type, "pvh", n) ? PVH
                                        : NONE;
        if (ty == NONE)
            return tool_fail("%s: Invalid domain type %.64s.", file, type);
    }
    if (xlcfg_get_string(cfg, "builder", &builder, &err) == -EINVAL)
        fprintf(stderr, "iovm-sim: warning: %s\n", err.msg);
    if (builder) {
        n = strlen(builder);
        bt = !strncmp(builder, "hvm", n)       ? HVM
             : !strncmp(builder, "generic", n) ? PV
                                               : NONE;
        if (bt == NONE)
            return tool_fail("%s: Invalid domain type %.64s.", file, builder);
        if (ty != NONE && ty != bt)
            return tool_fail("%s: Contradicting \"builder\" and \"type\" "
                           "options specified.", file);
        ty = bt;
    }
    if (ty == HVM || ty == PVH)
        return tool_fail("%s: type=%s: the simulator builds PV domains only",
                       file, ty == HVM ? "hvm" : "pvh");
    return 0;
}

static int xl_cmd_create(struct sim_tool *t, int argc, char **argv)
{
    struct xl_create c = { .file = NULL };
    struct xl_disk *bad = NULL;
    const struct xlcfg_value *list;
    struct xlcfg *cfg = NULL;
    struct xlcfg_err err;
    const char *name;
    bool dd = false;
    char *buf = NULL, id[16], what[96] = "";
    size_t len;
    uint32_t domid;
    unsigned int i;
    int rc, ret = 1;

    if (argc != 2)
        return tool_fail("usage: xl create FILE");
    c.file = argv[1];
    rc = xl_read_file(c.file, &buf, &len);
    if (rc)
        return tool_fail("%s: %s", c.file,
                       rc == -EFBIG ? "config file too large"
                                    : strerror(-rc));
    rc = xlcfg_parse(c.file, buf, len, &cfg, &err);
    free(buf);
    if (rc)
        return tool_fail("%s", err.msg);

    rc = xlcfg_get_string(cfg, "name", &name, &err);
    if (rc) {
        tool_fail("%s: %s", c.file, rc == -ENOENT
                                      ? "Domain name must be specified."
                                      : err.msg);
        goto out;
    }
    if (xl_check_type(cfg, c.file))
        goto out;
    /* As xl: a driver_domain that is not a number is warned about and
     * left at its default. */
    rc = xlcfg_get_bool(cfg, "driver_domain", &dd, &err);
    if (rc == -EINVAL)
        fprintf(stderr, "iovm-sim: warning: %s\n", err.msg);

    rc = xlcfg_get_list(cfg, "disk", &list, &err);
    if (rc == -EINVAL) {
        fprintf(stderr, "iovm-sim: warning: %s\n", err.msg);
    } else if (!rc && list->nitems) {
        c.disks = calloc(list->nitems, sizeof(*c.disks));
        if (!c.disks) {
            tool_fail("out of memory");
            goto out;
        }
        for (i = 0; i < list->nitems; i++) {
            const struct xlcfg_value *v = list->items[i];
            const char *spec;

            /* xl silently stops at a non-string element; a disk that is
             * quietly dropped is worse than an error. */
            if (v->type != XLCFG_STRING) {
                tool_fail("%s:%u: disk element %u is a list, not a string",
                        c.file, v->line, i + 1);
                goto out;
            }
            spec = v->str;
            if (xlcfg_disk_parse(&spec, 1, &c.disks[i].cfg, &err)) {
                tool_fail("%s: %s", c.file, err.msg);
                goto out;
            }
            c.ndisks++;
        }
    }
    /* vif=[...]: each element as xl's parse_nic_config loop reads it,
     * devid its index unless it says devid=. */
    rc = xlcfg_get_list(cfg, "vif", &list, &err);
    if (rc == -EINVAL) {
        fprintf(stderr, "iovm-sim: warning: %s\n", err.msg);
    } else if (!rc && list->nitems) {
        c.vifs = calloc(list->nitems, sizeof(*c.vifs));
        if (!c.vifs) {
            tool_fail("out of memory");
            goto out;
        }
        for (i = 0; i < list->nitems; i++) {
            const struct xlcfg_value *v = list->items[i];

            if (v->type != XLCFG_STRING) {
                tool_fail("%s:%u: vif element %u is a list, not a string",
                          c.file, v->line, i + 1);
                goto out;
            }
            xlcfg_vif_init(&c.vifs[i].cfg, (int)i);
            c.nvifs++;
            if (xlcfg_vif_parse(v->str, &c.vifs[i].cfg, xl_vif_warn,
                                (void *)c.file, &err)) {
                tool_fail("%s:%u: %s", c.file, v->line, err.msg);
                goto out;
            }
        }
    }

    rc = tool_domain_create(t, name, -1, dd, xl_create_before_build, &c,
                            &domid);
    if (rc) {
        if (c.err.msg[0])
            tool_fail("%s: %s; domain %s destroyed", c.file, c.err.msg, name);
        goto out;
    }
    /* domcreate_rebuild_done: store_libxl_entry again, then the disks,
     * each in its own transaction; then all of them are waited for. */
    {
        char p[64];

        snprintf(p, sizeof(p), "/libxl/%u/dm-version", domid);
        if (!xs_write(t->xs, XBT_NULL, p, "qemu_xen", 8)) {
            rc = errno ? -errno : -EIO;
            xl_msg(&c.err, rc, "writing %s: %s", p, strerror(-rc));
        }
    }
    for (i = 0; !rc && i < c.ndisks; i++) {
        bad = &c.disks[i];
        rc = xl_disk_add(t, domid, bad, &c.err);
    }
    if (rc && bad)
        snprintf(what, sizeof(what), "disk %.64s: ", bad->cfg.vdev);
    for (i = 0; !rc && i < c.ndisks; i++) {
        bad = &c.disks[i];
        rc = xl_disk_wait(t, bad, &c.err);
        if (!rc)
            rc = xl_disk_hotplug(t, bad, &c.err);
    }
    if (rc && bad && !what[0])
        snprintf(what, sizeof(what), "disk %.64s: ", bad->cfg.vdev);
    /*
     * Here libxl adds console 0 and waits for xenconsoled's tty (the
     * simulator has no console daemon), then attaches the nics (vif=)
     * all at once (libxl__add_nics: each in its own transaction) and
     * waits for them, then vtpms, pci...
     */
    for (i = 0; !rc && i < c.nvifs; i++) {
        rc = xl_vif_add(t, domid, &c.vifs[i], &c.err);
        if (rc)
            snprintf(what, sizeof(what), "vif %u: ", i);
    }
    for (i = 0; !rc && i < c.nvifs; i++) {
        rc = xl_dev_wait(t, &c.vifs[i].dev, &c.err);
        if (!rc)
            rc = xl_dev_hotplug(t, &c.vifs[i].dev, &c.err);
        if (rc)
            snprintf(what, sizeof(what), "vif %u: ", i);
    }
    if (rc) {
        /* As domcreate_complete: destroy what was built, quietly, so
         * that the reason stays the one line printed. */
        snprintf(id, sizeof(id), "%u", domid);
        t->quiet = true;
        tool_domain_destroy(t, id);
        tool_fail("%s: %s%s; domain %s destroyed", c.file, what, c.err.msg,
                  name);
        goto out;
    }
    printf("%u\n", domid);
    ret = 0;
out:
    for (i = 0; i < c.ndisks; i++)
        xlcfg_disk_free(&c.disks[i].cfg);
    free(c.disks);
    for (i = 0; i < c.nvifs; i++)
        xlcfg_vif_free(&c.vifs[i].cfg);
    free(c.vifs);
    xlcfg_free(cfg);
    return ret;
}

/* ---------------------------------------------------- attach/detach */

static int xl_find(struct sim_tool *t, const char *dom, uint32_t *domid)
{
    struct sim_domain_info info;

    if (ctl_find(t->dir, dom, &info))
        return tool_fail("%s is an invalid domain identifier", dom);
    *domid = info.domid;
    return 0;
}

/* xl block-attach: libxl_device_disk_add on a running domain. */
static int xl_cmd_block_attach(struct sim_tool *t, int argc, char **argv)
{
    struct xl_disk d = { .devid = 0 };
    struct xlcfg_err err;
    uint32_t domid = 0;
    int rc;

    if (argc < 3)
        return tool_fail("usage: xl block-attach DOM DISKSPEC...");
    if (xl_find(t, argv[1], &domid))
        return 1;
    if (xlcfg_disk_parse((const char *const *)argv + 2,
                         (unsigned int)argc - 2, &d.cfg, &err))
        return tool_fail("command line: %s", err.msg);
    rc = xl_disk_setdefault(t, &d, true, &err);
    if (!rc)
        rc = xl_disk_add(t, domid, &d, &err);
    /* A failed wait leaves every node, as libxl does. */
    if (!rc)
        rc = xl_disk_wait(t, &d, &err);
    if (!rc)
        rc = xl_disk_hotplug(t, &d, &err);
    if (rc)
        tool_fail("block-attach %s %s: %s", argv[1], d.cfg.vdev, err.msg);
    xlcfg_disk_free(&d.cfg);
    return rc ? 1 : 0;
}

/* xl block-detach: libxl_device_disk_safe_remove, or _destroy with -f. */
static int xl_cmd_block_detach(struct sim_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "force", no_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    static const char use[] = "usage: xl block-detach DOM VDEV [-f]";
    struct tool_device dev;
    struct xlcfg_err err;
    char devid[16], path[300], *spec;
    unsigned int len;
    uint32_t domid = 0, n;
    bool force = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
        if (c != 'f')
            return tool_fail("%s", use);
        force = true;
    }
    if (argc - optind != 2)
        return tool_fail("%s", use);
    if (xl_find(t, argv[optind], &domid))
        return 1;
    /* libxl_vdev_to_device_disk: the disk as /libxl recorded it. */
    if (xlcfg_vdev_to_devid(argv[optind + 1], &n, &err))
        return tool_fail("Error: Device %s not connected.", argv[optind + 1]);
    snprintf(devid, sizeof(devid), "%u", n);
    rc = tool_device_read(t->xs, domid, "vbd", devid, &dev);
    if (rc)
        return tool_fail("Error: Device %s not connected.", argv[optind + 1]);
    snprintf(path, sizeof(path), "%s/specification", dev.lx);
    spec = xs_read(t->xs, XBT_NULL, path, &len);
    rc = spec && !strcmp(spec, "virtio");
    free(spec);
    if (rc)
        return tool_fail("Hotunplug isn't supported for specification virtio");
    rc = tool_devices_remove(t->dir, t->xs, &dev, 1,
                             force ? TOOL_FORCE_ON : TOOL_FORCE_OFF,
                             t->timeout_ms);
    if (rc)
        return tool_fail("block-detach %s %s: %s%s", argv[optind],
                       argv[optind + 1], dev.why,
                       force ? "; removed anyway" : "; nothing removed");
    return 0;
}

/* xl network-attach: libxl_device_nic_add on a running domain.  Each
 * argument is one item, as xl passes them (no splitting at commas). */
static int xl_cmd_network_attach(struct sim_tool *t, int argc, char **argv)
{
    struct xl_vif v;
    struct xlcfg_err err;
    uint32_t domid = 0;
    int i, rc = 0;

    if (argc < 2)
        return tool_fail("usage: xl network-attach DOM [VIFSPEC-ITEM...]");
    if (xl_find(t, argv[1], &domid))
        return 1;
    xlcfg_vif_init(&v.cfg, -1);
    memset(&v.dev, 0, sizeof(v.dev));
    for (i = 2; i < argc && !rc; i++) {
        rc = xlcfg_vif_parse_item(&v.cfg, argv[i], &err);
        if (rc == XLCFG_VIF_WARNING) {
            fprintf(stderr, "iovm-sim: warning: %s\n", err.msg);
            rc = 0;
        }
    }
    if (rc) {
        xlcfg_vif_free(&v.cfg);
        return tool_fail("command line: %s", err.msg);
    }
    rc = xl_vif_setdefault(t, &v, &err);
    if (!rc)
        rc = xl_vif_update_devid(t, domid, &v, &err);
    if (!rc)
        rc = xl_vif_add(t, domid, &v, &err);
    /* A failed wait leaves every node, as libxl does. */
    if (!rc)
        rc = xl_dev_wait(t, &v.dev, &err);
    if (!rc)
        rc = xl_dev_hotplug(t, &v.dev, &err);
    if (rc)
        tool_fail("network-attach %s: %s", argv[1], err.msg);
    xlcfg_vif_free(&v.cfg);
    return rc ? 1 : 0;
}

/*
 * libxl_mac_to_device_nic: the vif whose /libxl mac (libxl__parse_mac)
 * is mac; its devid into devid.  -ENOENT if none.
 */
static int xl_vif_by_mac(struct sim_tool *t, uint32_t domid,
                         const uint8_t mac[6], char *devid, size_t len)
{
    char path[128], **l, *v;
    unsigned int n, i, vlen;
    uint8_t m[6];
    int rc = -ENOENT;

    snprintf(path, sizeof(path), "/libxl/%u/device/vif", domid);
    l = xs_directory(t->xs, XBT_NULL, path, &n);
    for (i = 0; l && i < n && rc; i++) {
        snprintf(path, sizeof(path), "/libxl/%u/device/vif/%s/mac", domid,
                 l[i]);
        v = xs_read(t->xs, XBT_NULL, path, &vlen);
        if (v && !xlcfg_mac_parse(v, m) && !memcmp(m, mac, 6)) {
            snprintf(devid, len, "%s", l[i]);
            rc = 0;
        }
        free(v);
    }
    free(l);
    return rc;
}

/*
 * xl network-detach: libxl_device_nic_remove (LIBXL__FORCE_AUTO: a
 * backend that does not close in time is removed by force after a
 * second wait), or with -f libxl_device_nic_destroy (forced at once; xl
 * 4.17 has no -f).  The vif by devid, or by MAC when the argument has a
 * colon, as xl decides.
 */
static int xl_cmd_network_detach(struct sim_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "force", no_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    static const char use[] = "usage: xl network-detach DOM DEVID|MAC [-f]";
    struct tool_device dev;
    const char *which;
    char devid[16];
    uint8_t mac[6];
    uint32_t domid = 0;
    unsigned int n;
    bool force = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
        if (c != 'f')
            return tool_fail("%s", use);
        force = true;
    }
    if (argc - optind != 2)
        return tool_fail("%s", use);
    if (xl_find(t, argv[optind], &domid))
        return 1;
    which = argv[optind + 1];
    if (strchr(which, ':')) {
        if (xlcfg_mac_parse(which, mac) ||
            xl_vif_by_mac(t, domid, mac, devid, sizeof(devid)))
            return tool_fail("Unknown device %s.", which);
    } else {
        /* xl's atoi() would take "x" for vif 0: only numbers here. */
        if (iovm_parse_uint(which, INT_MAX, &n))
            return tool_fail("Unknown device %s.", which);
        snprintf(devid, sizeof(devid), "%u", n);
    }
    if (tool_device_read(t->xs, domid, "vif", devid, &dev))
        return tool_fail("Unknown device %s.", which);
    rc = tool_devices_remove(t->dir, t->xs, &dev, 1,
                             force ? TOOL_FORCE_ON : TOOL_FORCE_AUTO,
                             t->timeout_ms);
    if (rc)
        return tool_fail("network-detach %s %s: %s%s", argv[optind], which,
                         dev.why,
                         dev.forced ? "; removed anyway" : "; nothing removed");
    return 0;
}

int xl_main(struct sim_tool *t, int argc, char **argv)
{
    static const char use[] =
        "usage: xl create FILE | xl destroy NAME|DOMID |\n"
        "       xl block-attach DOM DISKSPEC... | "
        "xl block-detach DOM VDEV [-f] |\n"
        "       xl network-attach DOM [VIFSPEC-ITEM...] | "
        "xl network-detach DOM DEVID|MAC [-f]";
    int rc;

    if (argc < 2)
        return tool_fail("%s", use);
    if (xl_timeout_init(t))
        return 1;
    rc = tool_xs_open(t);
    if (rc)
        return tool_fail("cannot open xenstore: %s", strerror(-rc));
    if (!strcmp(argv[1], "create"))
        return xl_cmd_create(t, argc - 1, argv + 1);
    if (!strcmp(argv[1], "destroy")) {
        if (argc != 3)
            return tool_fail("usage: xl destroy NAME|DOMID");
        return tool_domain_destroy(t, argv[2]) ? 1 : 0;
    }
    if (!strcmp(argv[1], "block-attach"))
        return xl_cmd_block_attach(t, argc - 1, argv + 1);
    if (!strcmp(argv[1], "block-detach"))
        return xl_cmd_block_detach(t, argc - 1, argv + 1);
    if (!strcmp(argv[1], "network-attach"))
        return xl_cmd_network_attach(t, argc - 1, argv + 1);
    if (!strcmp(argv[1], "network-detach"))
        return xl_cmd_network_detach(t, argc - 1, argv + 1);
    return tool_fail("unknown xl command '%s'\n%s", argv[1], use);
}
