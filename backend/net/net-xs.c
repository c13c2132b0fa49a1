/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The network class's part of a device's life (lib/xbdev.c drives it):
 * probe (the TAP device, the features, then InitWait, where the hotplug
 * script attaches the TAP), prepare (Connected waits for the script's
 * hotplug-status=connected, as Linux netback does), connect (the
 * frontend's features and rings, the queues, Connected), disconnect, the
 * checks while connected (a failed queue, the rate, the multicast
 * switch), and release (the TAP goes).
 *
 * Trust: the backend directory is the toolstack's, the script's and
 * ours; the frontend directory is hostile, parsed strictly, and a bad
 * value fails only this vif.  Keys: xenstore-schema/vif.schema.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "net-dev.h"
#include "sandbox.h"
#include "tap.h"
#include "util.h"

#define MAX_EVTCHN_PORT (1u << 17)

static struct xs_handle *XS(struct net_dev *dev)
{
    return dev->nb->bed.xs;
}

#define dev_fatal(dev, ...) xbdev_fatal(&(dev)->xb, __VA_ARGS__)

static const uint8_t tap_mac[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };

bool net_dev_mcast_pass(struct net_dev *dev, const uint8_t *dst)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    unsigned int i;
    bool pass = false;

    if (!(dst[0] & 1) || !memcmp(dst, bcast, 6))
        return true;
    pthread_mutex_lock(&dev->hash_lock);
    for (i = 0; i < dev->vs->nmcast && !pass; i++)
        pass = !memcmp(dev->vs->mcast[i], dst, 6);
    pthread_mutex_unlock(&dev->hash_lock);
    return pass;
}

/* BE/rate: "BYTES,USECS" (libxl), absent or "0,0": unlimited. */
static void read_rate(struct net_dev *dev)
{
    unsigned long long bytes = 0, usec = 0;
    char rate[64];
    int end = 0;

    if (!xb_read_str(XS(dev), XBT_NULL, dev->xb.be, "rate", rate,
                     sizeof(rate)) &&
        (sscanf(rate, "%llu,%llu%n", &bytes, &usec, &end) != 2 || rate[end] ||
         usec > 60000000ull)) {
        LOG_WARN("%s: ignoring bad rate '%s'", dev->xb.be, rate);
        bytes = usec = 0;
    }
    if (bytes != __atomic_load_n(&dev->credit_bytes, __ATOMIC_RELAXED) ||
        usec != __atomic_load_n(&dev->credit_usec, __ATOMIC_RELAXED))
        LOG_INFO("%s: rate %s", dev->xb.be,
                 bytes && usec ? rate : "unlimited");
    /* Split between the queues, as one vif's allowance. */
    __atomic_store_n(&dev->credit_bytes,
                     dev->nqueues > 1 ? bytes / dev->nqueues : bytes,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&dev->credit_usec, usec, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- */
/* probe */

/* The TAP: a predecessor's (renamed by the script, or not), or new. */
static int dev_tap(struct net_dev *dev)
{
    char vifname[IFNAMSIZ + 8], dflt[IFNAMSIZ];
    unsigned int i, mtu = 1500;
    bool fresh;
    int rc;

    if (dev->ntap)
        return 0;
    snprintf(dflt, sizeof(dflt), "vif%u.%u", dev->xb.fe_domid, dev->xb.devid);
    if (xb_read_str(XS(dev), XBT_NULL, dev->xb.be, "vifname", vifname,
                    sizeof(vifname)) ||
        !vifname[0] || strlen(vifname) >= IFNAMSIZ)
        vifname[0] = '\0';
    if (vifname[0] && !!if_nametoindex(vifname))
        snprintf(dev->ifname, sizeof(dev->ifname), "%s", vifname);
    else if (!!if_nametoindex(dflt) || dev->nb->hotplug || !vifname[0])
        snprintf(dev->ifname, sizeof(dev->ifname), "%s", dflt);
    else
        snprintf(dev->ifname, sizeof(dev->ifname), "%s", vifname);
    fresh = !!!if_nametoindex(dev->ifname);
    rc = iovm_tap_open(dev->ifname, dev->nb->max_queues, dev->tap_fds);
    if (rc) {
        dev_fatal(dev, -rc, "cannot open TAP device %s: %s", dev->ifname,
                  strerror(-rc));
        return rc;
    }
    dev->ntap = dev->nb->max_queues;
    /* It outlives this process: a successor takes it over, with the
     * bridge it is on. */
    rc = iovm_tap_persist(dev->tap_fds[0], true);
    if (!rc && fresh) {
        xb_read_uint_default(XS(dev), XBT_NULL, dev->xb.be, "mtu", 65535,
                             1500, &mtu);
        rc = iovm_link_set_mac(dev->ifname, tap_mac);
        if (!rc && mtu >= 68)
            rc = iovm_link_set_mtu(dev->ifname, mtu);
    }
    if (rc) {
        dev_fatal(dev, -rc, "cannot set up TAP device %s: %s", dev->ifname,
                  strerror(-rc));
        return rc;
    }
    /* Until a frontend connects, no queue takes the kernel's frames. */
    for (i = 0; i < dev->ntap; i++)
        iovm_tap_queue(dev->tap_fds[i], false);
    LOG_INFO("%s: %s TAP device %s", dev->xb.be, fresh ? "created" : "took",
             dev->ifname);
    return 0;
}

/* What the network data path needs in the sandbox. */
static const int net_syscalls[] = {
    SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
};
static const unsigned long net_ioctls[] = {
    TUNSETQUEUE, TUNSETOFFLOAD, TUNSETPERSIST,
};
static const struct iovm_sandbox net_sandbox = {
    net_syscalls, IOVM_ARRAY_SIZE(net_syscalls),
    net_ioctls, IOVM_ARRAY_SIZE(net_ioctls),
};

/* Everything is open: from here on nothing more may be.  The sandbox's
 * user may still attach and detach the TAP's queues (its owner). */
static int enter_sandbox(struct net_dev *dev)
{
    struct netback *nb = dev->nb;
    unsigned int uid, gid;
    int rc;

    rc = iovm_sandbox_user(nb->sandbox_user, &uid, &gid);
    if (!rc)
        rc = iovm_tap_owner(dev->tap_fds[0], uid);
    if (!rc)
        rc = iovm_sandbox_enter(nb->sandbox_user, &net_sandbox);
    if (rc) {
        dev_fatal(dev, -rc, "cannot enter the sandbox: %s", strerror(-rc));
        return rc;
    }
    nb->sandboxed = true;
    return 0;
}

static int ops_probe(struct xbdev *xd, bool resume)
{
    struct net_dev *dev = NET_DEV(xd);
    struct netback *nb = dev->nb;
    static const char *const one[] = {
        "feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
        "feature-ipv6-csum-offload", "feature-rx-copy",
    };
    xs_transaction_t t;
    unsigned int i, tries;
    int rc;

    rc = dev_tap(dev);
    if (rc)
        return rc;
    (void)resume; /* the same features either way */
    /* The features in one transaction, as Linux netback. */
    for (tries = 0; tries < 10; tries++) {
        t = xs_transaction_start(XS(dev));
        if (!t)
            break;
        rc = 0;
        for (i = 0; !rc && i < IOVM_ARRAY_SIZE(one); i++)
            rc = xb_printf(XS(dev), t, xd->be, one[i], "1");
        if (!rc)
            rc = xb_printf(XS(dev), t, xd->be, "feature-rx-flip", "0");
        if (!rc)
            rc = xb_printf(XS(dev), t, xd->be, "feature-multicast-control",
                           "%d", nb->mcast);
        if (!rc)
            rc = xb_printf(XS(dev), t, xd->be,
                           "feature-dynamic-multicast-control", "%d",
                           nb->mcast);
        if (rc) {
            xs_transaction_end(XS(dev), t, true);
            break;
        }
        if (xs_transaction_end(XS(dev), t, false))
            break;
        rc = -errno;
        if (rc != -EAGAIN)
            break;
    }
    if (!rc)
        rc = xb_printf(XS(dev), XBT_NULL, xd->be,
                       "feature-split-event-channels", "%d", nb->split);
    if (!rc)
        rc = xb_printf(XS(dev), XBT_NULL, xd->be, "multi-queue-max-queues",
                       "%u", nb->max_queues);
    if (!rc)
        rc = xb_printf(XS(dev), XBT_NULL, xd->be, "feature-ctrl-ring", "%d",
                       nb->ctrl_ring);
    if (!rc && nb->sandbox_user && !nb->sandboxed) {
        rc = enter_sandbox(dev);
        if (rc)
            return rc;
    }
    /* No script attaches the TAP (a standalone backend): ready now. */
    if (!rc && !nb->hotplug)
        rc = xb_printf(XS(dev), XBT_NULL, xd->be, "hotplug-status",
                       "connected");
    if (rc) {
        dev_fatal(dev, -rc, "writing features: %s", strerror(-rc));
        return rc;
    }
    return 0;
}

/* Connected waits for the script (Linux netback's rule). */
static int ops_prepare(struct xbdev *xd)
{
    char hs[32];

    if (xb_read_str(NET_DEV(xd)->nb->bed.xs, XBT_NULL, xd->be, "hotplug-status",
                    hs, sizeof(hs)) ||
        strcmp(hs, "connected"))
        return -EAGAIN;
    return 0;
}

/* ---------------------------------------------------------------- */
/* connect */

struct queue_keys {
    uint32_t tx_ref, rx_ref;
    uint32_t port_tx, port_rx;
};

static int read_port(struct net_dev *dev, const char *dir, const char *key,
                     uint32_t *port)
{
    unsigned int v;
    int rc = xb_read_uint(XS(dev), XBT_NULL, dir, key, MAX_EVTCHN_PORT, &v);

    if (!rc && !v)
        rc = -EINVAL;
    *port = v;
    return rc;
}

static int queue_keys(struct net_dev *dev, const char *dir,
                      struct queue_keys *k)
{
    unsigned int v;
    int rc;

    rc = xb_read_uint(XS(dev), XBT_NULL, dir, "tx-ring-ref", UINT32_MAX, &v);
    k->tx_ref = v;
    if (!rc)
        rc = xb_read_uint(XS(dev), XBT_NULL, dir, "rx-ring-ref", UINT32_MAX,
                          &v);
    k->rx_ref = v;
    if (rc) {
        dev_fatal(dev, -rc, "%s: bad or missing tx-ring-ref/rx-ring-ref",
                  dir);
        return rc;
    }
    /* Split channels if offered and used, else one for both. */
    rc = read_port(dev, dir, "event-channel-tx", &k->port_tx);
    if (rc == -ENOENT) {
        rc = read_port(dev, dir, "event-channel", &k->port_tx);
        k->port_rx = k->port_tx;
    } else if (!rc) {
        rc = dev->nb->split ? read_port(dev, dir, "event-channel-rx",
                                        &k->port_rx)
                            : -EINVAL;
    }
    if (rc) {
        dev_fatal(dev, -rc, "%s: bad or missing event channel(s)", dir);
        return rc;
    }
    return 0;
}

static void queue_teardown(struct net_queue *q)
{
    struct net_dev *dev = q->dev;

    net_queue_stop(q);
    if (q->ran)
        LOG_INFO("%s queue %u: TX %llu packets (%llu bytes, %llu dropped), "
                 "RX %llu frames (%llu bytes, %llu dropped), %llu wake-ups, "
                 "%llu notifications, %llu grant-copy calls",
                 dev->xb.be, q->idx, (unsigned long long)q->st_tx_pkts,
                 (unsigned long long)q->st_tx_bytes,
                 (unsigned long long)q->st_tx_drop,
                 (unsigned long long)q->st_rx_pkts,
                 (unsigned long long)q->st_rx_bytes,
                 (unsigned long long)q->st_rx_drop,
                 (unsigned long long)q->st_wakeups,
                 (unsigned long long)q->st_notify,
                 (unsigned long long)q->st_copy_calls);
    if (q->tx_addr) {
        xengnttab_unmap(q->gnt, q->tx_addr, 2);
        q->tx_addr = q->rx_addr = NULL;
    }
    {
        evtchn_port_t ports[3] = { q->port_tx,
                                   q->port_rx != q->port_tx ? q->port_rx : 0,
                                   q->idx == 0 ? dev->port_ctrl : 0 };

        iovm_bed_handles_put(&dev->nb->bed, &q->gnt, &q->evtchn, ports, 3);
    }
    if (q->idx == 0)
        dev->port_ctrl = 0;
    q->port_tx = q->port_rx = 0;
    q->evtchn = NULL;
    q->gnt = NULL;
    if (q->idx < dev->ntap)
        iovm_tap_queue(dev->tap_fds[q->idx], false);
}

static int bind_port(struct net_dev *dev, struct net_queue *q, uint32_t port,
                     evtchn_port_t *local)
{
    xenevtchn_port_or_error_t l;

    l = xenevtchn_bind_interdomain(q->evtchn, dev->xb.fe_domid, port);
    if (l < 0) {
        int rc = -errno;

        dev_fatal(dev, -rc, "binding event channel %u failed: %s", port,
                  strerror(-rc));
        return rc;
    }
    *local = (evtchn_port_t)l;
    return 0;
}

static int queue_connect(struct net_dev *dev, struct net_queue *q,
                         const struct queue_keys *k)
{
    uint32_t refs[2] = { k->tx_ref, k->rx_ref };
    int rc;

    q->tap_fd = dev->tap_fds[q->idx];
    rc = iovm_bed_handles(&dev->nb->bed, q->idx, &q->gnt, &q->evtchn);
    if (rc) {
        dev_fatal(dev, -rc, "opening grant/event-channel devices: %s",
                  strerror(-rc));
        return rc;
    }
    q->tx_addr = xengnttab_map_domain_grant_refs(
        q->gnt, 2, dev->xb.fe_domid, refs, PROT_READ | PROT_WRITE);
    if (!q->tx_addr) {
        rc = -errno;
        dev_fatal(dev, -rc, "queue %u: mapping the rings failed: %s", q->idx,
                  strerror(-rc));
        return rc;
    }
    q->rx_addr = (uint8_t *)q->tx_addr + NET_PAGE;
    if (iovm_back_ring_attach(&q->tx, q->tx_addr, NET_PAGE,
                              sizeof(union netif_tx_sring_entry)) ||
        iovm_back_ring_attach(&q->rx, q->rx_addr, NET_PAGE,
                              sizeof(union netif_rx_sring_entry)) ||
        q->tx.nr_ents != NET_RING_ENTS || q->rx.nr_ents != NET_RING_ENTS) {
        dev_fatal(dev, EINVAL, "queue %u: unexpected ring size", q->idx);
        return -EINVAL;
    }
    xenevtchn_restrict(q->evtchn, dev->xb.fe_domid);
    rc = bind_port(dev, q, k->port_tx, &q->port_tx);
    if (!rc && k->port_rx != k->port_tx)
        rc = bind_port(dev, q, k->port_rx, &q->port_rx);
    else
        q->port_rx = q->port_tx;
    if (rc)
        return rc;
    rc = iovm_tap_queue(q->tap_fd, true);
    if (rc) {
        dev_fatal(dev, -rc, "queue %u: attaching the TAP queue: %s", q->idx,
                  strerror(-rc));
        return rc;
    }
    if (dev->nb->bed.stat)
        q->ds = &dev->nb->bed.stat->q[q->idx];
    return 0;
}

static int ctrl_connect(struct net_dev *dev)
{
    unsigned int ref;
    uint32_t port;
    struct net_queue *q0 = &dev->queues[0];
    int rc;

    rc = xb_read_uint(XS(dev), XBT_NULL, dev->xb.fe, "ctrl-ring-ref",
                      UINT32_MAX, &ref);
    if (rc == -ENOENT || !dev->nb->ctrl_ring)
        return 0;
    if (!rc)
        rc = read_port(dev, dev->xb.fe, "event-channel-ctrl", &port);
    if (rc) {
        dev_fatal(dev, -rc, "bad control ring keys");
        return rc;
    }
    dev->ctrl_addr = xengnttab_map_domain_grant_refs(
        q0->gnt, 1, dev->xb.fe_domid, (uint32_t *)&ref,
        PROT_READ | PROT_WRITE);
    if (!dev->ctrl_addr) {
        rc = -errno;
        dev_fatal(dev, -rc, "mapping the control ring failed: %s",
                  strerror(-rc));
        return rc;
    }
    if (iovm_back_ring_attach(&dev->ctrl, dev->ctrl_addr, NET_PAGE,
                              sizeof(union xen_netif_ctrl_sring_entry))) {
        dev_fatal(dev, EINVAL, "control ring too small");
        return -EINVAL;
    }
    rc = bind_port(dev, q0, port, &dev->port_ctrl);
    if (!rc)
        LOG_INFO("%s: control ring connected", dev->xb.be);
    return rc;
}

static void vifstate_init(struct net_vifstate *vs, unsigned int nq)
{
    memset(vs, 0, sizeof(*vs));
    net_hash_init(&vs->hash, nq);
}

/* What a predecessor left (it may have been compromised): only values
 * the control ring and multicast extras could have set. */
static bool vifstate_ok(const struct net_vifstate *vs, unsigned int nq)
{
    const struct net_hash *h = &vs->hash;
    unsigned int i;

    if ((h->algorithm != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE &&
         h->algorithm != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ) ||
        (h->types & ~NET_HASH_TYPES) ||
        h->mapping_size > NET_HASH_MAPPING_MAX || h->nqueues != nq ||
        vs->nmcast > NET_MCAST_MAX)
        return false;
    for (i = 0; i < h->mapping_size; i++)
        if (h->mapping[i] >= nq)
            return false;
    return true;
}

/* The frontend's features: 0, or -errno after failing the vif. */
static int read_features(struct net_dev *dev)
{
    struct {
        const char *key;
        unsigned int dflt;
        unsigned int v;
    } f[] = {
        { "request-rx-copy", 0, 0 },        { "feature-rx-notify", 0, 0 },
        { "feature-sg", 0, 0 },             { "feature-gso-tcpv4", 0, 0 },
        { "feature-gso-tcpv6", 0, 0 },      { "feature-no-csum-offload", 0, 0 },
        { "feature-ipv6-csum-offload", 0, 0 },
        { "request-multicast-control", 0, 0 },
    };
    unsigned int i;
    int rc;

    for (i = 0; i < IOVM_ARRAY_SIZE(f); i++) {
        rc = xb_read_uint_default(XS(dev), XBT_NULL, dev->xb.fe, f[i].key, 1,
                                  f[i].dflt, &f[i].v);
        if (rc) {
            dev_fatal(dev, -rc, "%s/%s: not 0 or 1", dev->xb.fe, f[i].key);
            return rc;
        }
    }
    if (!f[0].v) {
        dev_fatal(dev, EOPNOTSUPP, "the frontend does not request rx-copy "
                                   "(the only receive mode there is)");
        return -EOPNOTSUPP;
    }
    dev->rx_notify = f[1].v;
    dev->feat.sg = f[2].v;
    dev->feat.gso_tcpv4 = f[3].v && dev->feat.sg;
    dev->feat.gso_tcpv6 = f[4].v && dev->feat.sg;
    dev->feat.csum = !f[5].v;
    dev->feat.ipv6_csum = f[6].v;
    dev->feat.mcast = f[7].v && dev->nb->mcast;
    __atomic_store_n(&dev->mcast_ctrl, dev->feat.mcast, __ATOMIC_RELAXED);
    return 0;
}

/* What a connection is: the journal of another is not ours. */
static uint64_t conn_key(const struct net_dev *dev,
                         const struct queue_keys *k, unsigned int nq)
{
    uint64_t h = 1469598103934665603ull;
    unsigned int i;

#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
    MIX(dev->xb.fe_domid);
    MIX(dev->xb.devid);
    MIX(nq);
    for (i = 0; i < nq; i++) {
        MIX(k[i].tx_ref);
        MIX(k[i].rx_ref);
        MIX(k[i].port_tx);
        MIX(k[i].port_rx);
    }
#undef MIX
    return h;
}

/*
 * Connected already (a predecessor served it): after a clean stop the
 * rings are as it left them; else its journal of this very connection
 * says what to take again, or the vif cannot go on.
 */
/* Does the journal describe the connection of key (valid or not)? */
static bool journal_is(const struct net_journal *j, uint64_t key,
                       unsigned int nq)
{
    return j && j->magic == NET_JOURNAL_MAGIC && j->key == key &&
           j->nqueues == nq;
}

static int journal_begin(struct net_dev *dev, uint64_t key, unsigned int nq)
{
    struct net_journal *j = dev->nb->journal;
    char path[200];

    snprintf(path, sizeof(path), "%s/%s", dev->xb.be, NET_CLEAN_STOP_KEY);
    dev->clean_stop = xb_exists(XS(dev), XBT_NULL, path);
    dev->resuming = dev->xb.state == XenbusStateConnected;
    if (dev->resuming && !dev->clean_stop &&
        !(journal_is(j, key, nq) && j->valid)) {
        dev_fatal(dev, EPIPE, "the previous backend process ended and its "
                              "ring journal is not of this connection");
        return -EPIPE;
    }
    return 0;
}

static int ops_connect(struct xbdev *xd)
{
    struct net_dev *dev = NET_DEV(xd);
    struct netback *nb = dev->nb;
    struct queue_keys k[NET_MAX_QUEUES];
    struct net_journal *j = nb->journal;
    unsigned int nq, i, off;
    char dir[200], mac[32];
    uint64_t key;
    int rc;

    rc = read_features(dev);
    if (rc)
        return rc;
    rc = xb_read_uint_default(XS(dev), XBT_NULL, xd->fe,
                              "multi-queue-num-queues", UINT32_MAX, 1, &nq);
    if (rc || !nq || nq > nb->max_queues) {
        dev_fatal(dev, EINVAL, "the frontend asks for %u queues (at most %u)",
                  nq, nb->max_queues);
        return -EINVAL;
    }
    if (xb_read_str(XS(dev), XBT_NULL, xd->be, "mac", mac, sizeof(mac)) ||
        iovm_parse_mac(mac, dev->mac)) {
        dev_fatal(dev, EINVAL, "bad or missing mac");
        return -EINVAL;
    }
    for (i = 0; i < nq; i++) {
        if (nq == 1)
            snprintf(dir, sizeof(dir), "%s", xd->fe);
        else
            snprintf(dir, sizeof(dir), "%s/queue-%u", xd->fe, i);
        rc = queue_keys(dev, dir, &k[i]);
        if (rc)
            return rc;
    }
    key = conn_key(dev, k, nq);
    rc = journal_begin(dev, key, nq);
    if (rc)
        return rc;
    dev->queues = calloc(nq, sizeof(*dev->queues));
    if (!dev->queues) {
        dev_fatal(dev, ENOMEM, "out of memory");
        return -ENOMEM;
    }
    dev->nqueues = nq;
    for (i = 0; i < nq; i++) {
        dev->queues[i].idx = i;
        dev->queues[i].dev = dev;
        dev->queues[i].stop_efd = dev->queues[i].timer_fd = -1;
    }
    read_rate(dev);
    for (i = 0; i < nq; i++) {
        rc = queue_connect(dev, &dev->queues[i], &k[i]);
        if (rc)
            goto fail;
    }
    rc = ctrl_connect(dev);
    if (rc)
        goto fail;
    /* What the kernel may hand us, by what the frontend takes. */
    off = 0;
    if (dev->feat.csum && dev->feat.ipv6_csum) {
        off |= TUN_F_CSUM;
        if (dev->feat.gso_tcpv4)
            off |= TUN_F_TSO4;
        if (dev->feat.gso_tcpv6)
            off |= TUN_F_TSO6;
    }
    rc = iovm_tap_offload(dev->tap_fds[0], off);
    if (rc) {
        dev_fatal(dev, -rc, "setting the TAP's offloads: %s", strerror(-rc));
        goto fail;
    }
    /* The journal: taken over, or begun afresh. */
    if (j) {
        /* The hashing and multicast state of this very connection, if
         * the journal has it (a takeover, or a clean stop). */
        bool keep = dev->resuming && journal_is(j, key, nq);

        if (keep && !vifstate_ok(&j->vs, nq)) {
            dev_fatal(dev, EBADMSG, "the journal's hashing or multicast "
                                    "state does not add up");
            rc = -EBADMSG;
            goto fail;
        }
        if (!keep)
            vifstate_init(&j->vs, nq);
        dev->vs = &j->vs;
        if (dev->resuming && !dev->clean_stop) {
            for (i = 0; i < nq && !rc; i++) {
                dev->queues[i].jq = &j->q[i];
                rc = net_queue_takeover(&dev->queues[i]);
            }
            if (rc) {
                dev_fatal(dev, EBADMSG, "the ring journal does not add up; "
                                        "cannot take the vif over");
                goto fail;
            }
        } else {
            __atomic_store_n(&j->valid, 0, __ATOMIC_RELEASE);
            memset(j->q, 0, sizeof(j->q));
            j->magic = NET_JOURNAL_MAGIC;
            j->key = key;
            j->nqueues = nq;
            for (i = 0; i < nq; i++) {
                struct net_queue *q = &dev->queues[i];

                q->jq = &j->q[i];
                q->jq->tx.req_cons = q->tx.req_cons;
                q->jq->tx.rsp_prod_pvt = q->tx.rsp_prod_pvt;
                q->jq->rx.req_cons = q->rx.req_cons;
                q->jq->rx.rsp_prod_pvt = q->rx.rsp_prod_pvt;
            }
            __atomic_store_n(&j->valid, 1, __ATOMIC_RELEASE);
        }
    } else {
        dev->vs = &dev->own_vs;
        vifstate_init(dev->vs, nq);
    }
    for (i = 0; i < nq; i++) {
        rc = net_queue_start(&dev->queues[i]);
        if (rc) {
            dev_fatal(dev, -rc, "queue %u: cannot start: %s", i,
                      strerror(-rc));
            goto fail;
        }
    }
    if (nb->bed.stat) {
        IOVM_DEVSTAT_SET(nb->bed.stat->nqueues, nq);
        IOVM_DEVSTAT_SET(nb->bed.stat->serving, 1u);
    }
    if (!dev->resuming && xbdev_switch(xd, XenbusStateConnected, false)) {
        rc = -EIO;
        goto fail;
    }
    xd->connected = true;
    LOG_INFO("%s: %s %s: %u queue(s)%s, %s%s%s%s%s%s%s", xd->be,
             dev->resuming ? "resumed" : "connected", dev->ifname, nq,
             k[0].port_tx != k[0].port_rx ? " split" : "",
             dev->feat.sg ? "sg" : "no sg",
             dev->feat.gso_tcpv4 ? ", gso4" : "",
             dev->feat.gso_tcpv6 ? ", gso6" : "",
             dev->feat.csum ? ", csum" : ", no csum",
             dev->feat.ipv6_csum ? ", ipv6 csum" : "",
             dev->rx_notify ? ", rx-notify" : ", no rx-notify",
             dev->feat.mcast ? ", multicast control" : "");
    return 0;
fail:
    xd->ops->disconnect(xd);
    return rc < 0 ? rc : -EIO;
}

static void ops_disconnect(struct xbdev *xd)
{
    struct net_dev *dev = NET_DEV(xd);
    unsigned int i;

    if (!dev->queues)
        return;
    /* Wind down together, then join; queue 0's thread serves the
     * control ring, so that is unmapped only once it is gone. */
    for (i = 0; i < dev->nqueues; i++)
        net_queue_request_stop(&dev->queues[i]);
    net_queue_stop(&dev->queues[0]);
    if (dev->ctrl_addr) {
        xengnttab_unmap(dev->queues[0].gnt, dev->ctrl_addr, 1);
        dev->ctrl_addr = NULL;
    }
    for (i = 0; i < dev->nqueues; i++)
        queue_teardown(&dev->queues[i]);
    free(dev->queues);
    dev->queues = NULL;
    dev->nqueues = 0;
    xd->connected = false;
    /* A stop for maintenance leaves the rings drained and resumable;
     * anything else ends the connection the journal describes. */
    if (dev->nb->journal && !dev->suspending)
        __atomic_store_n(&dev->nb->journal->valid, 0, __ATOMIC_RELEASE);
    if (dev->nb->bed.stat) {
        IOVM_DEVSTAT_SET(dev->nb->bed.stat->serving, 0u);
        IOVM_DEVSTAT_SET(dev->nb->bed.stat->nqueues, 0);
    }
}

/* Offline: the TAP goes (the script's offline finds it gone). */
static void ops_release(struct xbdev *xd)
{
    struct net_dev *dev = NET_DEV(xd);
    unsigned int i;

    if (dev->nb->journal)
        __atomic_store_n(&dev->nb->journal->valid, 0, __ATOMIC_RELEASE);
    if (dev->ntap)
        iovm_tap_persist(dev->tap_fds[0], false);
    for (i = 0; i < dev->ntap; i++)
        close(dev->tap_fds[i]);
    if (dev->ntap)
        LOG_INFO("%s: TAP device %s removed", xd->be, dev->ifname);
    dev->ntap = 0;
}

static bool ops_check(struct xbdev *xd)
{
    struct net_dev *dev = NET_DEV(xd);
    unsigned int i, v;

    for (i = 0; i < dev->nqueues; i++) {
        struct net_queue *q = &dev->queues[i];

        if (__atomic_load_n(&q->broken, __ATOMIC_ACQUIRE)) {
            char why[sizeof(q->broken_why)];

            memcpy(why, q->broken_why, sizeof(why));
            dev_fatal(dev, EPROTO, "queue %u: %s", i, why);
            return false;
        }
    }
    /* Live: the rate, and the multicast switch. */
    read_rate(dev);
    if (dev->nb->mcast &&
        !xb_read_uint_default(XS(dev), XBT_NULL, xd->fe,
                              "request-multicast-control", 1, 0, &v))
        __atomic_store_n(&dev->mcast_ctrl, v != 0, __ATOMIC_RELAXED);
    return true;
}

static bool ops_resumable(struct xbdev *xd)
{
    struct net_journal *j = NET_DEV(xd)->nb->journal;

    return j && j->magic == NET_JOURNAL_MAGIC && j->valid;
}

const struct xbdev_ops net_xbdev_ops = {
    .probe = ops_probe,
    .prepare = ops_prepare,
    .connect = ops_connect,
    .disconnect = ops_disconnect,
    .release = ops_release,
    .check = ops_check,
    .resumable = ops_resumable,
};

void net_dev_shutdown(struct net_dev *dev, bool closing)
{
    ops_disconnect(&dev->xb);
    if (closing) {
        xbdev_switch(&dev->xb, XenbusStateClosing, false);
        ops_release(&dev->xb); /* nobody takes the TAP over */
    }
}

void net_dev_suspend(struct net_dev *dev)
{
    char path[200];

    if (!dev->xb.connected)
        return;
    /* Each batch is answered before a queue stops: nothing is left
     * taken.  The TAP stays, with its bridge. */
    dev->suspending = true;
    ops_disconnect(&dev->xb);
    snprintf(path, sizeof(path), "%s/%s", dev->xb.be, NET_CLEAN_STOP_KEY);
    if (!xs_write(XS(dev), XBT_NULL, path, "1", 1))
        LOG_WARN("%s: cannot mark the clean stop", dev->xb.be);
    LOG_INFO("%s: stopped for maintenance; the next process resumes it",
             dev->xb.be);
}

void net_dev_free(struct net_dev *dev)
{
    unsigned int i;

    ops_disconnect(&dev->xb);
    xbdev_unwatch(&dev->xb);
    /* The TAP's fds (persistent: it stays for a successor). */
    for (i = 0; i < dev->ntap; i++)
        close(dev->tap_fds[i]);
    pthread_mutex_destroy(&dev->hash_lock);
    free(dev);
}
