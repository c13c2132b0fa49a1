/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-netfront: a userspace netif frontend.  Plays Linux xen-netfront's
 * part for device/vif/DEVID of the domain it runs in and exposes the link
 * as a multi-queue TAP device (on the simulator: inside the guest's
 * network namespace, via `iovm-sim exec GUEST -- iovm-netfront ...`).
 *
 *   iovm-netfront [OPTIONS] DEVID
 *
 * Handshake as Linux netfront: Initialising, wait for the backend's
 * InitWait, read its features (feature-rx-copy required), one transaction
 * with the rings, event channels and our features, then Connected
 * (never Initialised).  Data path: nf-queue.c, one thread per queue.
 * Once the backend is Connected too: the control ring's hashing set-up
 * (--ctrl-ring) and the multicast list (--multicast-control), then one
 * line "iovm-netfront: IFNAME up (...)" on stdout.  The backend Closing or
 * Closed: the vif is torn down (TAP removed); then exit 0 if the device
 * is gone, else connect again once the backend is back in InitWait (or,
 * with --exit-on-close, exit 1).  SIGTERM/SIGINT: Closing, Closed, exit 0.
 *
 * Trust: the command line is trusted; the backend and everything it wrote
 * in xenstore is not: values are parsed strictly (a malformed feature is
 * taken as not offered), responses checked (nf-queue.c, ctrl_call()).
 */
#include <errno.h>
#include <net/if.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "log.h"
#include "netfront.h"
#include "tap.h"
#include "util.h"
#include "xenbus.h"

#define HANDSHAKE_MS 10000      /* each step of closing */
#define GONE_GRACE_MS 2000      /* after Closed, for the toolstack's rm */
#define CTRL_TIMEOUT_MS 3000
#define MCAST_MAX 64u

enum outcome {
    OUT_CONNECTED,
    OUT_SIGNAL,           /* SIGTERM/SIGINT: we close */
    OUT_GONE,             /* our device directory was removed */
    OUT_BACKEND_CLOSED,   /* the backend went Closing/Closed */
    OUT_FATAL,            /* a queue found the backend broken */
    OUT_FAIL,             /* could not connect */
};

static int sigfd = -1;

/* "iovm-netfront: <message>" on one line; returns rc. */
static int bad_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("iovm-netfront: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: iovm-netfront [OPTIONS] DEVID\n"
            "Userspace Xen network frontend: connects device/vif/DEVID of "
            "this domain\n"
            "and exposes it as a TAP device.  Runs in the foreground; "
            "prints\n"
            "\"iovm-netfront: IFNAME up (...)\" once connected.\n\n"
            "Options:\n"
            "  --ifname NAME              TAP name (default eth<DEVID>)\n"
            "  --queues N                 at most N queues, 1..16 (default "
            "min(backend's\n"
            "                             multi-queue-max-queues, online "
            "CPUs, 8))\n"
            "  --bufs N                   pages per ring per queue, 24..256 "
            "(default 256;\n"
            "                             real Xen's gntalloc grants 1024 "
            "pages in all\n"
            "                             unless raised: xen_gntalloc "
            "limit=)\n"
            "  --no-sg                    no scatter-gather: frames of a "
            "page, MTU <= 1500\n"
            "  --no-gso                   no TCPv4/TCPv6 segmentation "
            "offload\n"
            "  --no-gso-tcpv6             no TCPv6 segmentation offload\n"
            "  --no-csum-offload          no IPv4 checksum offload "
            "(feature-no-csum-offload=1)\n"
            "  --ipv6-csum-offload        IPv6 checksum offload (default)\n"
            "  --no-ipv6-csum-offload     no IPv6 checksum offload\n"
            "  --no-split-event-channels  one event channel per queue\n"
            "  --no-rx-notify             feature-rx-notify=0, no RX kicks "
            "(to test that\n"
            "                             the backend refuses)\n"
            "  --multicast-control        request-multicast-control=1; "
            "the TAP's multicast\n"
            "                             list goes to the backend as "
            "MCAST_ADD/DEL extras\n"
            "  --ctrl-ring                connect the control ring and set "
            "Toeplitz hashing\n"
            "                             (answers logged at info level)\n"
            "  --no-rx-copy               request-rx-copy=0 (to test that "
            "the backend refuses)\n"
            "  --exit-on-close            the backend closing: exit (0 if "
            "the device is\n"
            "                             gone, else 1) instead of waiting "
            "to reconnect\n"
            "  --foreground               the only mode (accepted)\n"
            "  --log-level L              error, warn, info or debug "
            "(warn)\n"
            "  -h, --help                 this text\n");
}

/* ---------------------------------------------------------------- */
/* waiting */

enum wake { WAKE_XS, WAKE_SIGNAL, WAKE_FATAL, WAKE_TIMEOUT };

/* Waits up to timeout_ms (-1: forever) for xenstore, a signal or a
 * broken queue. */
static enum wake wait_wake(struct nf_dev *d, int timeout_ms)
{
    struct pollfd p[3] = {
        { .fd = xs_fileno(d->xs), .events = POLLIN },
        { .fd = sigfd, .events = POLLIN },
        { .fd = d->fatalfd, .events = POLLIN },
    };
    char **ev;
    int r;

    r = poll(p, 3, timeout_ms);
    if (r <= 0)
        return WAKE_TIMEOUT; /* EINTR too: look again */
    if (p[1].revents) {
        struct signalfd_siginfo si;

        if (read(sigfd, &si, sizeof(si)) == sizeof(si))
            LOG_INFO("signal %u: closing", si.ssi_signo);
        return WAKE_SIGNAL;
    }
    if (p[2].revents)
        return WAKE_FATAL;
    while ((ev = xs_check_watch(d->xs)))
        free(ev);
    return WAKE_XS;
}

static bool fe_gone(struct nf_dev *d)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/state", d->fe);
    return !xb_exists(d->xs, XBT_NULL, path);
}

/*
 * Waits for the backend's state to be in mask.  0 (*got set), or
 * OUT_SIGNAL (if signals interrupt), OUT_GONE, OUT_FAIL (timeout).
 */
static int wait_backend(struct nf_dev *d, unsigned int mask, int timeout_ms,
                        bool signals, enum xenbus_state *got)
{
    uint64_t deadline = iovm_now_ns() + (uint64_t)timeout_ms * 1000000ull;

    for (;;) {
        enum xenbus_state s = xb_read_state(d->xs, d->be);
        int left = -1;

        if (mask & (1u << s)) {
            *got = s;
            return 0;
        }
        if (fe_gone(d))
            return OUT_GONE;
        if (timeout_ms >= 0) {
            uint64_t now = iovm_now_ns();

            if (now >= deadline)
                return OUT_FAIL;
            left = (int)((deadline - now) / 1000000) + 1;
        }
        if (wait_wake(d, left) == WAKE_SIGNAL && signals)
            return OUT_SIGNAL;
    }
}

/* ---------------------------------------------------------------- */
/* the backend's offer */

/* A backend flag: absent or malformed is "not offered". */
static bool be_flag(struct nf_dev *d, const char *key)
{
    unsigned int v;
    int rc = xb_read_uint(d->xs, XBT_NULL, d->be, key, UINT32_MAX, &v);

    if (rc == -ENOENT)
        return false;
    if (rc) {
        LOG_WARN("backend's %s is malformed: taken as not offered", key);
        return false;
    }
    return v != 0;
}

struct be_offer {
    bool rx_copy, mq, split, sg, gso4, gso6, ipv6_csum, ctrl, mcast;
    unsigned int max_queues;
};

static void read_offer(struct nf_dev *d, struct be_offer *b)
{
    unsigned int v;
    int rc;

    memset(b, 0, sizeof(*b));
    b->rx_copy = be_flag(d, "feature-rx-copy");
    b->split = be_flag(d, "feature-split-event-channels");
    b->sg = be_flag(d, "feature-sg");
    b->gso4 = be_flag(d, "feature-gso-tcpv4");
    b->gso6 = be_flag(d, "feature-gso-tcpv6");
    b->ipv6_csum = be_flag(d, "feature-ipv6-csum-offload");
    b->ctrl = be_flag(d, "feature-ctrl-ring");
    b->mcast = be_flag(d, "feature-multicast-control");
    b->max_queues = 1;
    rc = xb_read_uint(d->xs, XBT_NULL, d->be, "multi-queue-max-queues",
                      UINT32_MAX, &v);
    if (!rc) {
        b->mq = true;
        if (v)
            b->max_queues = v;
        else
            LOG_WARN("backend's multi-queue-max-queues is 0: using 1");
    } else if (rc != -ENOENT) {
        LOG_WARN("backend's multi-queue-max-queues is malformed: using 1");
    }
}

/* ---------------------------------------------------------------- */
/* the control ring (main thread) */

static const uint8_t rss_key[40] = {
    /* The well-known default Toeplitz key (Microsoft RSS). */
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static int ctrl_setup(struct nf_dev *d)
{
    xenevtchn_port_or_error_t p;

    d->ctrl_pages = xengntshr_share_pages(d->gs, d->backend_id, 3,
                                          d->ctrl_refs, 1);
    if (!d->ctrl_pages)
        return -errno;
    SHARED_RING_INIT((xen_netif_ctrl_sring_t *)d->ctrl_pages);
    FRONT_RING_INIT(&d->ctrl_ring, (xen_netif_ctrl_sring_t *)d->ctrl_pages,
                    NF_PAGE);
    memcpy((char *)d->ctrl_pages + NF_PAGE, rss_key, sizeof(rss_key));
    d->ctrl_xe = xenevtchn_open(NULL, 0);
    if (!d->ctrl_xe)
        return -errno;
    fcntl(xenevtchn_fd(d->ctrl_xe), F_SETFL,
          fcntl(xenevtchn_fd(d->ctrl_xe), F_GETFL) | O_NONBLOCK);
    p = xenevtchn_bind_unbound_port(d->ctrl_xe, d->backend_id);
    if (p < 0)
        return -errno;
    d->ctrl_port = (evtchn_port_t)p;
    return 0;
}

static void ctrl_teardown(struct nf_dev *d)
{
    if (d->ctrl_xe)
        xenevtchn_close(d->ctrl_xe);
    if (d->ctrl_pages)
        xengntshr_unshare(d->gs, d->ctrl_pages, 3);
    d->ctrl_xe = NULL;
    d->ctrl_pages = NULL;
}

/*
 * One control request, waited for.  The backend's status (>= 0) with
 * *data, or -ETIMEDOUT, or -EPROTO (a response index that makes no sense).
 */
static int ctrl_call(struct nf_dev *d, uint16_t type, uint32_t d0,
                     uint32_t d1, uint32_t d2, uint32_t *data)
{
    xen_netif_ctrl_front_ring_t *r = &d->ctrl_ring;
    uint64_t deadline = iovm_now_ns() + CTRL_TIMEOUT_MS * 1000000ull;
    struct xen_netif_ctrl_request *req;
    uint16_t id = ++d->ctrl_id;
    int notify, more;

    req = RING_GET_REQUEST(r, r->req_prod_pvt);
    memset(req, 0, sizeof(*req));
    req->id = id;
    req->type = type;
    req->data[0] = d0;
    req->data[1] = d1;
    req->data[2] = d2;
    r->req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(r, notify);
    if (notify)
        xenevtchn_notify(d->ctrl_xe, d->ctrl_port);
    for (;;) {
        RING_IDX rp = __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_RELAXED);
        struct pollfd p = { .fd = xenevtchn_fd(d->ctrl_xe),
                            .events = POLLIN };
        xenevtchn_port_or_error_t port;
        uint64_t now;

        rmb();
        if (rp - r->rsp_cons > r->req_prod_pvt - r->rsp_cons)
            return -EPROTO;
        while (r->rsp_cons != rp) {
            struct xen_netif_ctrl_response rsp;

            memcpy(&rsp, RING_GET_RESPONSE(r, r->rsp_cons), sizeof(rsp));
            r->rsp_cons++;
            if (rsp.id == id && rsp.type == type) {
                *data = rsp.data;
                return (int)IOVM_MIN(rsp.status, (uint32_t)INT32_MAX);
            }
            LOG_WARN("control ring: unexpected response (id %u, type %u)",
                     rsp.id, rsp.type);
        }
        RING_FINAL_CHECK_FOR_RESPONSES(r, more);
        if (more)
            continue;
        now = iovm_now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        if (poll(&p, 1, (int)((deadline - now) / 1000000) + 1) > 0)
            while ((port = xenevtchn_pending(d->ctrl_xe)) >= 0)
                xenevtchn_unmask(d->ctrl_xe, (evtchn_port_t)port);
    }
}

static const char *ctrl_status(int st)
{
    switch (st) {
    case XEN_NETIF_CTRL_STATUS_SUCCESS: return "SUCCESS";
    case XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED: return "NOT_SUPPORTED";
    case XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER: return "INVALID_PARAMETER";
    case XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW: return "BUFFER_OVERFLOW";
    case -ETIMEDOUT: return "no answer (timed out)";
    case -EPROTO: return "bad response index";
    default: return "unknown status";
    }
}

/* One call, its answer logged; the status. */
static int ctrl_do(struct nf_dev *d, const char *what, uint16_t type,
                   uint32_t d0, uint32_t d1, uint32_t d2, uint32_t *data)
{
    int st = ctrl_call(d, type, d0, d1, d2, data);

    if (st == XEN_NETIF_CTRL_STATUS_SUCCESS)
        LOG_INFO("control ring: %s -> SUCCESS (data %u)", what, *data);
    else if (st < 0)
        LOG_WARN("control ring: %s -> %s", what, ctrl_status(st));
    else
        LOG_INFO("control ring: %s -> %s (%d)", what, ctrl_status(st), st);
    return st;
}

/*
 * Toeplitz hashing over every queue, as Windows PV drivers set it up.  A
 * backend that does not answer (or answers nonsense) gets no more calls.
 */
static void ctrl_hash(struct nf_dev *d)
{
    uint32_t flags = XEN_NETIF_CTRL_HASH_TYPE_IPV4 |
                     XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |
                     XEN_NETIF_CTRL_HASH_TYPE_IPV6 |
                     XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
    uint32_t *map = (uint32_t *)((char *)d->ctrl_pages + 2 * NF_PAGE);
    uint32_t data = 0, size = 128, i;
    char what[64];
    int st;

    if (ctrl_do(d, "SET_HASH_ALGORITHM toeplitz",
                XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
                XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, &data) < 0)
        return;
    st = ctrl_do(d, "GET_HASH_FLAGS", XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0,
                 0, 0, &data);
    if (st < 0)
        return;
    if (st == XEN_NETIF_CTRL_STATUS_SUCCESS && (data & flags))
        flags &= data;
    snprintf(what, sizeof(what), "SET_HASH_FLAGS 0x%x", flags);
    if (ctrl_do(d, what, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, flags, 0, 0,
                &data) < 0 ||
        ctrl_do(d, "SET_HASH_KEY (40 bytes)",
                XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, d->ctrl_refs[1],
                sizeof(rss_key), 0, &data) < 0)
        return;
    st = ctrl_do(d, "GET_HASH_MAPPING_SIZE",
                 XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &data);
    if (st < 0)
        return;
    if (st == XEN_NETIF_CTRL_STATUS_SUCCESS && data)
        size = IOVM_MIN(data, size);
    snprintf(what, sizeof(what), "SET_HASH_MAPPING_SIZE %u", size);
    if (ctrl_do(d, what, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, size, 0,
                0, &data) < 0)
        return;
    for (i = 0; i < size; i++)
        map[i] = i % d->nq;
    snprintf(what, sizeof(what), "SET_HASH_MAPPING %u entries over %u "
             "queues", size, d->nq);
    ctrl_do(d, what, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, d->ctrl_refs[2],
            size, 0, &data);
}

/* ---------------------------------------------------------------- */
/* the TAP's multicast list -> MCAST_ADD/DEL extras (queue 0) */

struct mc_list {
    unsigned int n;
    uint8_t addr[MCAST_MAX][6];
};

static bool mc_has(const struct mc_list *l, const uint8_t *a)
{
    unsigned int i;

    for (i = 0; i < l->n; i++)
        if (!memcmp(l->addr[i], a, 6))
            return true;
    return false;
}

/* The link-layer multicast addresses of ifindex (/proc/net/dev_mcast). */
static int mc_read(int ifindex, struct mc_list *l)
{
    FILE *f = fopen("/proc/net/dev_mcast", "re");
    char line[256];

    l->n = 0;
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char name[IFNAMSIZ + 1], hex[64];
        int idx, users, global;
        uint8_t a[6];
        unsigned int i, v;

        if (sscanf(line, "%d %16s %d %d %63s", &idx, name, &users, &global,
                   hex) != 5 ||
            idx != ifindex || strlen(hex) != 12)
            continue;
        for (i = 0; i < 6; i++) {
            if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                break;
            a[i] = (uint8_t)v;
        }
        if (i == 6 && l->n < MCAST_MAX && !mc_has(l, a))
            memcpy(l->addr[l->n++], a, 6);
    }
    fclose(f);
    return 0;
}

/* Sends what changed since *known (which then follows what was queued). */
static void mc_sync(struct nf_dev *d, struct mc_list *known)
{
    struct mc_list cur;
    struct nf_mcast_op op;
    unsigned int i;
    int ifindex = (int)if_nametoindex(d->ifname);

    if (ifindex <= 0 || mc_read(ifindex, &cur))
        return;
    for (i = 0; i < known->n;) {
        if (mc_has(&cur, known->addr[i])) {
            i++;
            continue;
        }
        op.add = false;
        memcpy(op.addr, known->addr[i], 6);
        if (!nf_queue_mcast(&d->q[0], &op))
            return; /* full: the rest next time */
        memmove(known->addr[i], known->addr[i + 1],
                (known->n - i - 1) * sizeof(known->addr[0]));
        known->n--;
    }
    for (i = 0; i < cur.n; i++) {
        if (mc_has(known, cur.addr[i]) || known->n >= MCAST_MAX)
            continue;
        op.add = true;
        memcpy(op.addr, cur.addr[i], 6);
        if (!nf_queue_mcast(&d->q[0], &op))
            return;
        memcpy(known->addr[known->n++], cur.addr[i], 6);
    }
}

/* ---------------------------------------------------------------- */
/* connecting */

static int write_queue_keys(struct nf_dev *d, xs_transaction_t t,
                            struct nf_queue *q)
{
    char dir[128];
    int rc;

    if (d->nq == 1)
        snprintf(dir, sizeof(dir), "%s", d->fe);
    else
        snprintf(dir, sizeof(dir), "%s/queue-%u", d->fe, q->idx);
    rc = xb_printf(d->xs, t, dir, "tx-ring-ref", "%u", q->refs[0]);
    if (!rc)
        rc = xb_printf(d->xs, t, dir, "rx-ring-ref", "%u", q->refs[1]);
    if (!rc && d->split)
        rc = xb_printf(d->xs, t, dir, "event-channel-tx", "%u", q->port_tx);
    if (!rc && d->split)
        rc = xb_printf(d->xs, t, dir, "event-channel-rx", "%u", q->port_rx);
    if (!rc && !d->split)
        rc = xb_printf(d->xs, t, dir, "event-channel", "%u", q->port_tx);
    return rc;
}

/* Keys of an earlier connection must not outlive it. */
static void clear_keys(struct nf_dev *d, xs_transaction_t t)
{
    static const char *const keys[] = {
        "tx-ring-ref", "rx-ring-ref", "event-channel", "event-channel-tx",
        "event-channel-rx", "multi-queue-num-queues", "ctrl-ring-ref",
        "event-channel-ctrl",
    };
    char path[160];
    unsigned int i;

    for (i = 0; i < IOVM_ARRAY_SIZE(keys); i++) {
        snprintf(path, sizeof(path), "%s/%s", d->fe, keys[i]);
        xs_rm(d->xs, t, path);
    }
    for (i = 0; i < NF_MAX_QUEUES; i++) {
        snprintf(path, sizeof(path), "%s/queue-%u", d->fe, i);
        xs_rm(d->xs, t, path);
    }
}

static int talk_to_backend(struct nf_dev *d)
{
    const struct nf_opts *o = d->o;
    unsigned int i, tries;
    int rc = 0;

    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t t = xs_transaction_start(d->xs);

        if (!t)
            return -errno;
        clear_keys(d, t);
        rc = 0;
        if (d->be_mq)
            rc = xb_printf(d->xs, t, d->fe, "multi-queue-num-queues", "%u",
                           d->nq);
        for (i = 0; i < d->nq && !rc; i++)
            rc = write_queue_keys(d, t, &d->q[i]);
        if (!rc && d->ctrl)
            rc = xb_printf(d->xs, t, d->fe, "ctrl-ring-ref", "%u",
                           d->ctrl_refs[0]);
        if (!rc && d->ctrl)
            rc = xb_printf(d->xs, t, d->fe, "event-channel-ctrl", "%u",
                           d->ctrl_port);
        if (!rc)
            rc = xb_printf(d->xs, t, d->fe, "request-rx-copy", "%d",
                           o->rx_copy);
        if (!rc)
            rc = xb_printf(d->xs, t, d->fe, "feature-rx-notify", "%d",
                           o->rx_notify);
        if (!rc)
            rc = xb_printf(d->xs, t, d->fe, "feature-sg", "%d", o->sg);
        if (!rc)
            rc = xb_printf(d->xs, t, d->fe, "feature-gso-tcpv4", "%d",
                           o->gso4);
        if (!rc)
            rc = xb_printf(d->xs, t, d->fe, "feature-gso-tcpv6", "%d",
                           o->gso6);
        if (!rc)
            rc = xb_printf(d->xs, t, d->fe, "feature-no-csum-offload", "%d",
                           !o->csum);
        if (!rc)
            rc = xb_printf(d->xs, t, d->fe, "feature-ipv6-csum-offload",
                           "%d", o->ipv6_csum);
        if (!rc)
            rc = xb_printf(d->xs, t, d->fe, "request-multicast-control",
                           "%d", d->mcast);
        if (xs_transaction_end(d->xs, t, rc != 0))
            return rc;
        if (rc || errno != EAGAIN)
            return rc ? rc : -errno;
    }
    return -EAGAIN;
}

static void drain_fd(int fd)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) > 0)
        ;
}

/* Frees whatever a connection set up (threads must be stopped). */
static void release(struct nf_dev *d)
{
    unsigned int i;

    for (i = 0; d->q && i < d->nq; i++)
        nf_queue_teardown(d, &d->q[i]);
    free(d->q);
    d->q = NULL;
    ctrl_teardown(d);
    drain_fd(d->stopfd);
    drain_fd(d->fatalfd);
    d->fatal_why[0] = '\0';
}

static void stop_queues(struct nf_dev *d)
{
    uint64_t one = 1;
    unsigned int i;

    if (write(d->stopfd, &one, sizeof(one)) < 0) {
        /* An eventfd write of 1 does not fail. */
    }
    for (i = 0; d->q && i < d->nq; i++)
        nf_queue_stop(&d->q[i]);
}

static unsigned int default_queues(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : (unsigned int)IOVM_MIN(n, 8L);
}

static int fail_closed(struct nf_dev *d)
{
    xb_switch_state(d->xs, d->fe, XenbusStateClosed, false);
    return OUT_FAIL;
}

/*
 * From Initialising to Connected.  OUT_CONNECTED (threads running, TAP
 * up), or why not.
 */
static int nf_connect(struct nf_dev *d)
{
    const struct nf_opts *o = d->o;
    unsigned int i, offload, cap, want;
    struct be_offer b;
    enum xenbus_state s;
    int rc;

    rc = xb_switch_state(d->xs, d->fe, XenbusStateInitialising, false);
    if (rc == -ENOENT)
        return OUT_GONE;
    if (rc) {
        LOG_ERR("%s: cannot write state: %s", d->fe, strerror(-rc));
        return OUT_FAIL;
    }
    LOG_INFO("waiting for backend %s to reach InitWait", d->be);
    rc = wait_backend(d, 1u << XenbusStateInitWait, -1, true, &s);
    if (rc)
        return rc;
    read_offer(d, &b);
    if (!b.rx_copy) {
        LOG_ERR("backend %s does not offer feature-rx-copy: netfront "
                "receives by copy only (page flipping is not supported)",
                d->be);
        return fail_closed(d);
    }
    want = o->queues ? o->queues : default_queues();
    d->nq = IOVM_MAX(1u, IOVM_MIN(IOVM_MIN(want, b.max_queues),
                                   NF_MAX_QUEUES));
    if (o->queues && d->nq < o->queues)
        LOG_INFO("backend offers %u queue(s): using %u", b.max_queues,
                 d->nq);
    d->be_mq = b.mq;
    d->split = o->split && b.split;
    d->rx_sg = o->sg;
    d->ctrl = o->ctrl && b.ctrl;
    d->mcast = o->mcast && b.mcast;
    if (o->ctrl && !b.ctrl)
        LOG_WARN("backend does not offer feature-ctrl-ring: no control "
                 "ring");
    if (o->mcast && !b.mcast)
        LOG_WARN("backend does not offer feature-multicast-control: not "
                 "requested");
    /* What we may send: both ends must agree (IPv4 checksum offload is
     * every backend's). */
    d->txc.sg = o->sg && b.sg;
    d->txc.csum4 = o->csum;
    d->txc.csum6 = o->ipv6_csum && b.ipv6_csum;
    d->txc.gso4 = d->txc.sg && d->txc.csum4 && o->gso4 && b.gso4;
    d->txc.gso6 = d->txc.sg && d->txc.csum6 && o->gso6 && b.gso6;
    cap = d->txc.sg ? NF_TX_MAX_FRAME - NF_ETH_HLEN : 1500;
    if (d->mtu > cap)
        LOG_WARN("mtu %u capped at %u%s", d->mtu, cap,
                 d->txc.sg ? "" : " (no scatter-gather)");

    d->q = calloc(d->nq, sizeof(*d->q));
    if (!d->q)
        return fail_closed(d);
    for (i = 0; i < d->nq; i++) {
        rc = nf_queue_setup(d, &d->q[i], i);
        if (rc) {
            LOG_ERR("queue %u: cannot set up: %s", i, strerror(-rc));
            d->nq = i + 1; /* what release() frees */
            return fail_closed(d);
        }
        nf_queue_prime(&d->q[i]);
        rc = iovm_tap_open(d->ifname, 1, &d->q[i].tapfd);
        if (rc) {
            LOG_ERR("cannot open queue %u of TAP %s: %s", i, d->ifname,
                    strerror(-rc));
            d->nq = i + 1;
            return fail_closed(d);
        }
    }
    /* TUN_F_CSUM covers both families: a partial checksum the backend
     * may not take is completed here (nf_tx_plan). */
    offload = (d->txc.csum4 || d->txc.csum6 ? TUN_F_CSUM : 0) |
              (d->txc.gso4 ? TUN_F_TSO4 : 0) | (d->txc.gso6 ? TUN_F_TSO6 : 0);
    rc = iovm_tap_offload(d->q[0].tapfd, offload);
    if (!rc)
        rc = iovm_link_set_mac(d->ifname, d->mac);
    if (!rc)
        rc = iovm_link_set_mtu(d->ifname, IOVM_MIN(d->mtu, cap));
    if (rc) {
        LOG_ERR("cannot configure TAP %s: %s", d->ifname, strerror(-rc));
        return fail_closed(d);
    }
    if (d->ctrl) {
        rc = ctrl_setup(d);
        if (rc) {
            LOG_ERR("cannot set up the control ring: %s", strerror(-rc));
            return fail_closed(d);
        }
    }
    rc = talk_to_backend(d);
    if (rc) {
        LOG_ERR("%s: cannot write the rings' keys: %s", d->fe,
                strerror(-rc));
        return fail_closed(d);
    }
    rc = xb_switch_state(d->xs, d->fe, XenbusStateConnected, false);
    if (rc == -ENOENT)
        return OUT_GONE;
    for (i = 0; i < d->nq && !rc; i++)
        rc = nf_queue_start(&d->q[i]);
    if (!rc)
        rc = iovm_link_up(d->ifname);
    if (rc) {
        LOG_ERR("cannot start %s: %s", d->ifname, strerror(-rc));
        return OUT_FATAL;
    }
    return OUT_CONNECTED;
}

static void say_up(struct nf_dev *d)
{
    char feat[200];
    int n;

    n = snprintf(feat, sizeof(feat), "%u queue%s", d->nq,
                 d->nq == 1 ? "" : "s");
    n += snprintf(feat + n, sizeof(feat) - n, "%s%s%s%s%s%s%s%s%s",
                  d->txc.sg ? ", sg" : "", d->txc.gso4 ? ", gso-tcpv4" : "",
                  d->txc.gso6 ? ", gso-tcpv6" : "",
                  d->txc.csum4 ? ", ipv4-csum" : "",
                  d->txc.csum6 ? ", ipv6-csum" : "",
                  d->split ? ", split-event-channels" : "",
                  d->ctrl ? ", ctrl-ring" : "",
                  d->mcast ? ", multicast-control" : "",
                  d->o->rx_notify ? "" : ", no-rx-notify");
    snprintf(feat + n, sizeof(feat) - n, ", mtu %u",
             IOVM_MIN(d->mtu, d->txc.sg ? NF_TX_MAX_FRAME - NF_ETH_HLEN
                                        : 1500u));
    printf("iovm-netfront: %s up (%s)\n", d->ifname, feat);
    fflush(stdout);
}

/* Connected: until the backend closes, the device goes, a signal. */
static int nf_run(struct nf_dev *d)
{
    struct mc_list known = { 0 };
    bool up = false;

    for (;;) {
        enum xenbus_state s = xb_read_state(d->xs, d->be);

        if (fe_gone(d))
            return OUT_GONE;
        if (s == XenbusStateClosing || s == XenbusStateClosed ||
            s == XenbusStateUnknown)
            return OUT_BACKEND_CLOSED;
        if (s == XenbusStateConnected && !up) {
            up = true;
            if (d->ctrl)
                ctrl_hash(d);
            if (d->mcast)
                mc_sync(d, &known);
            say_up(d);
        }
        switch (wait_wake(d, 1000)) {
        case WAKE_SIGNAL:
            return OUT_SIGNAL;
        case WAKE_FATAL:
            return OUT_FATAL;
        case WAKE_TIMEOUT:
            if (up && d->mcast)
                mc_sync(d, &known);
            break;
        case WAKE_XS:
            break;
        }
    }
}

/* Closing handshake after why; frees the connection. */
static void nf_disconnect(struct nf_dev *d, int why)
{
    enum xenbus_state s;

    stop_queues(d);
    if (why == OUT_SIGNAL || why == OUT_FATAL) {
        if (xb_read_state(d->xs, d->fe) == XenbusStateConnected &&
            !xb_switch_state(d->xs, d->fe, XenbusStateClosing, false))
            wait_backend(d,
                         (1u << XenbusStateClosing) |
                             (1u << XenbusStateClosed) |
                             (1u << XenbusStateUnknown),
                         HANDSHAKE_MS, false, &s);
        if (!xb_switch_state(d->xs, d->fe, XenbusStateClosed, false))
            wait_backend(d,
                         (1u << XenbusStateClosed) |
                             (1u << XenbusStateInitWait) |
                             (1u << XenbusStateUnknown),
                         HANDSHAKE_MS, false, &s);
    } else if (why == OUT_BACKEND_CLOSED) {
        /* As Linux netfront: the backend closing, we are Closed. */
        if (!xb_switch_state(d->xs, d->fe, XenbusStateClosed, false))
            wait_backend(d,
                         (1u << XenbusStateClosed) |
                             (1u << XenbusStateUnknown),
                         HANDSHAKE_MS, false, &s);
    }
    release(d);
}

/* Waits up to ms for our device directory to go. */
static bool wait_gone(struct nf_dev *d, int ms)
{
    uint64_t deadline = iovm_now_ns() + (uint64_t)ms * 1000000ull;

    for (;;) {
        uint64_t now = iovm_now_ns();

        if (fe_gone(d))
            return true;
        if (now >= deadline)
            return false;
        if (wait_wake(d, (int)((deadline - now) / 1000000) + 1) ==
            WAKE_SIGNAL)
            return fe_gone(d);
    }
}

/* ---------------------------------------------------------------- */

static int parse_opts(int argc, char **argv, struct nf_opts *o,
                      enum iovm_log_level *level)
{
    enum {
        O_IFNAME = 256, O_QUEUES, O_BUFS, O_NO_SG, O_NO_GSO, O_NO_GSO6,
        O_NO_CSUM, O_IPV6_CSUM, O_NO_IPV6_CSUM, O_NO_SPLIT, O_NO_RX_NOTIFY,
        O_MCAST, O_CTRL, O_NO_RX_COPY, O_EXIT_ON_CLOSE, O_FOREGROUND,
        O_LOG_LEVEL,
    };
    static const struct option opts[] = {
        { "ifname", required_argument, NULL, O_IFNAME },
        { "queues", required_argument, NULL, O_QUEUES },
        { "bufs", required_argument, NULL, O_BUFS },
        { "no-sg", no_argument, NULL, O_NO_SG },
        { "no-gso", no_argument, NULL, O_NO_GSO },
        { "no-gso-tcpv6", no_argument, NULL, O_NO_GSO6 },
        { "no-csum-offload", no_argument, NULL, O_NO_CSUM },
        { "ipv6-csum-offload", no_argument, NULL, O_IPV6_CSUM },
        { "no-ipv6-csum-offload", no_argument, NULL, O_NO_IPV6_CSUM },
        { "no-split-event-channels", no_argument, NULL, O_NO_SPLIT },
        { "no-rx-notify", no_argument, NULL, O_NO_RX_NOTIFY },
        { "multicast-control", no_argument, NULL, O_MCAST },
        { "ctrl-ring", no_argument, NULL, O_CTRL },
        { "no-rx-copy", no_argument, NULL, O_NO_RX_COPY },
        { "exit-on-close", no_argument, NULL, O_EXIT_ON_CLOSE },
        { "foreground", no_argument, NULL, O_FOREGROUND },
        { "log-level", required_argument, NULL, O_LOG_LEVEL },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *ifname = NULL;
    unsigned int v;
    int c;

    memset(o, 0, sizeof(*o));
    o->bufs = 256;
    o->sg = o->gso4 = o->gso6 = o->csum = o->ipv6_csum = true;
    o->split = o->rx_notify = o->rx_copy = true;
    opterr = 0; /* our own one-line message */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_IFNAME:
            if (!*optarg || strlen(optarg) >= IFNAMSIZ ||
                strpbrk(optarg, "/: \t\n") || !strcmp(optarg, ".") ||
                !strcmp(optarg, ".."))
                return bad_usage("--ifname must be a valid interface name "
                                 "(1..%d characters, no '/', ':' or "
                                 "blanks)",
                                 IFNAMSIZ - 1);
            ifname = optarg;
            break;
        case O_QUEUES:
            if (iovm_parse_uint(optarg, NF_MAX_QUEUES, &v) || !v)
                return bad_usage("--queues must be 1..%u", NF_MAX_QUEUES);
            o->queues = v;
            break;
        case O_BUFS:
            if (iovm_parse_uint(optarg, 256, &v) || v < 24)
                return bad_usage("--bufs must be 24..256");
            o->bufs = v;
            break;
        case O_NO_SG: o->sg = false; break;
        case O_NO_GSO: o->gso4 = o->gso6 = false; break;
        case O_NO_GSO6: o->gso6 = false; break;
        case O_NO_CSUM: o->csum = false; break;
        case O_IPV6_CSUM: o->ipv6_csum = true; break;
        case O_NO_IPV6_CSUM: o->ipv6_csum = false; break;
        case O_NO_SPLIT: o->split = false; break;
        case O_NO_RX_NOTIFY: o->rx_notify = false; break;
        case O_MCAST: o->mcast = true; break;
        case O_CTRL: o->ctrl = true; break;
        case O_NO_RX_COPY: o->rx_copy = false; break;
        case O_EXIT_ON_CLOSE: o->exit_on_close = true; break;
        case O_FOREGROUND: break;
        case O_LOG_LEVEL:
            if (iovm_log_level_parse(optarg, level))
                return bad_usage("bad log level '%s' (error, warn, info or "
                                 "debug)",
                                 optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return bad_usage("unknown option or missing value: %s (see "
                             "--help)",
                             argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return bad_usage("missing DEVID (see --help)");
    if (argc - optind > 1)
        return bad_usage("one DEVID only, got '%s' too", argv[optind + 1]);
    if (iovm_parse_uint(argv[optind], 65535, &o->devid))
        return bad_usage("DEVID must be a number 0..65535, not '%s'",
                         argv[optind]);
    if (ifname)
        snprintf(o->ifname, sizeof(o->ifname), "%s", ifname);
    else
        snprintf(o->ifname, sizeof(o->ifname), "eth%u", o->devid);
    return 0;
}

/* Our device's directory, backend and what the toolstack gave us. */
static int open_device(struct nf_dev *d)
{
    char path[96], mac[32];
    unsigned int v;
    int rc;

    rc = xb_read_uint(d->xs, XBT_NULL, "domid", NULL, 0x7fef, &v);
    if (rc) {
        LOG_ERR("cannot read our domid from xenstore: %s", strerror(-rc));
        return rc;
    }
    d->domid = v;
    snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/vif/%u",
             d->domid, d->o->devid);
    snprintf(path, sizeof(path), "device/vif/%u", d->o->devid);
    rc = xb_read_str(d->xs, XBT_NULL, d->fe, "backend", d->be,
                     sizeof(d->be));
    if (!rc)
        rc = xb_read_uint(d->xs, XBT_NULL, d->fe, "backend-id", 0x7fef, &v);
    if (rc) {
        LOG_ERR("%s: no such vif (no valid backend, backend-id)", path);
        return -ENODEV;
    }
    d->backend_id = v;
    if (xb_read_str(d->xs, XBT_NULL, d->fe, "mac", mac, sizeof(mac)) ||
        iovm_parse_mac(mac, d->mac) || (d->mac[0] & 1) ||
        !(d->mac[0] | d->mac[1] | d->mac[2] | d->mac[3] | d->mac[4] |
          d->mac[5])) {
        LOG_ERR("%s/mac: missing or not a unicast xx:xx:xx:xx:xx:xx", path);
        return -EINVAL;
    }
    rc = xb_read_uint_default(d->xs, XBT_NULL, d->fe, "mtu", 65535, 1500,
                              &d->mtu);
    if (rc || d->mtu < 68) {
        LOG_ERR("%s/mtu: not a number 68..65535", path);
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum iovm_log_level level = IOVM_LOG_WARN;
    struct nf_dev dev, *d = &dev;
    struct nf_opts o;
    char path[300];
    sigset_t ss;
    int rc, out, fd;

    rc = parse_opts(argc, argv, &o, &level);
    if (rc)
        return rc;
    iovm_log_init("iovm-netfront", level);
    memset(d, 0, sizeof(*d));
    d->o = &o;
    snprintf(d->ifname, sizeof(d->ifname), "%s", o.ifname);
    pthread_mutex_init(&d->fatal_lock, NULL);

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    sigaddset(&ss, SIGHUP);
    /* Before any thread: they inherit the mask. */
    pthread_sigmask(SIG_BLOCK, &ss, NULL);
    sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
    d->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    d->fatalfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sigfd < 0 || d->stopfd < 0 || d->fatalfd < 0) {
        LOG_ERR("cannot create event fds: %s", strerror(errno));
        return 1;
    }
    d->xs = xs_open(0);
    if (!d->xs) {
        LOG_ERR("cannot reach xenstore: %s", strerror(errno));
        return 1;
    }
    rc = open_device(d);
    if (rc)
        return 1;
    /* Fail early (before touching the device) if the TAP cannot be had;
     * the device goes again when this fd closes. */
    rc = iovm_tap_open(d->ifname, 1, &fd);
    if (rc) {
        LOG_ERR("cannot create TAP %s: %s", d->ifname, strerror(-rc));
        return 1;
    }
    close(fd);
    d->gs = xengntshr_open(NULL, 0);
    if (!d->gs) {
        LOG_ERR("cannot open the grant-sharing device: %s", strerror(errno));
        return 1;
    }
    {
        enum xenbus_state s = xb_read_state(d->xs, d->fe);

        if (s == XenbusStateInitialised || s == XenbusStateConnected) {
            LOG_ERR("device/vif/%u: in use by another frontend (state %s)",
                    o.devid, xb_state_name(s));
            return 1;
        }
    }
    snprintf(path, sizeof(path), "%.255s/state", d->be);
    if (!xs_watch(d->xs, path, "be") || !xs_watch(d->xs, d->fe, "fe")) {
        LOG_ERR("cannot watch %s: %s", path, strerror(errno));
        return 1;
    }
    for (;;) {
        char err[160];

        out = nf_connect(d);
        if (out == OUT_CONNECTED)
            out = nf_run(d);
        if (out == OUT_BACKEND_CLOSED || out == OUT_FAIL) {
            if (xb_read_str(d->xs, XBT_NULL, d->be, "error", err,
                            sizeof(err)))
                snprintf(err, sizeof(err), "none");
        }
        if (out == OUT_FATAL && d->fatal_why[0])
            LOG_ERR("backend is broken: %s; closing the vif", d->fatal_why);
        nf_disconnect(d, out);
        switch (out) {
        case OUT_SIGNAL:
            rc = 0;
            break;
        case OUT_GONE:
            LOG_INFO("device/vif/%u removed: exiting", o.devid);
            rc = 0;
            break;
        case OUT_FATAL:
        case OUT_FAIL:
            rc = 1;
            break;
        case OUT_BACKEND_CLOSED:
            if (wait_gone(d, GONE_GRACE_MS)) {
                LOG_INFO("backend closed device/vif/%u and it was removed: "
                         "exiting", o.devid);
                rc = 0;
                break;
            }
            if (o.exit_on_close) {
                LOG_ERR("backend %s closed the vif (its error node: %s)",
                        d->be, err);
                rc = 1;
                break;
            }
            LOG_WARN("backend %s closed the vif (its error node: %s); "
                     "waiting for it to come back", d->be, err);
            continue;
        default:
            rc = 1;
            break;
        }
        break;
    }
    xengntshr_close(d->gs);
    xs_close(d->xs);
    return rc;
}
