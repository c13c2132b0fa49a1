/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libxenevtchn.so.1 for the simulator, with the semantics of Linux's
 * /dev/xen/evtchn: a port that fires is masked and reported once by
 * xenevtchn_pending(); it fires again only after xenevtchn_unmask(), and
 * an event that arrives while masked is remembered (pending bit).
 *
 * Binding goes through iovm-simd; notifying does not: the sender sets the
 * pending bit of the peer port in the peer domain's event page and kicks
 * the eventfd of the handle that owns it.  Who the peer is comes from simd
 * once and is cached until the port's generation word changes.
 * Trusts simd; checks the caller's ports.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "shim.h"

#define EVT_PAGE_BYTES                                                     \
    ((sizeof(struct sim_evtchn_page) + SIM_PAGE_SIZE - 1) &                \
     ~(size_t)(SIM_PAGE_SIZE - 1))

/* A peer domain's event page, shared by the ports bound to it. */
struct peer_page {
    struct peer_page *next;
    uint64_t instance;
    struct sim_evtchn_page *page;
    unsigned int refs;
};

/* A peer handle's eventfd. */
struct peer_kick {
    struct peer_kick *next;
    uint64_t instance;
    uint32_t handle_id;
    int fd;
    unsigned int refs;
};

struct shim_port {
    uint32_t port;
    bool resolved;
    uint32_t gen;
    struct peer_page *peer;
    struct peer_kick *kick;
    uint32_t peer_port;
};

struct xenevtchn_handle {
    struct shim_conn conn;
    struct sim_evtchn_page *page; /* our domain's */
    int eventfd;
    struct shim_port *ports;
    unsigned int nports, cap, scan;
    struct peer_page *peers;
    struct peer_kick *kicks;
};

static void kick(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) < 0) {
        /* Saturated counter: the reader wakes anyway. */
    }
}

SHIM_EXPORT xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
                                             unsigned int flags)
{
    struct xenevtchn_handle *h = calloc(1, sizeof(*h));
    int fds[2];
    unsigned int nfds = 2;
    int rc;

    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    rc = shim_connect(&h->conn, SIM_HANDLE_EVTCHN, fds, &nfds);
    if (rc) {
        free(h);
        errno = -rc;
        return NULL;
    }
    if (nfds != 2) {
        while (nfds)
            close(fds[--nfds]);
        shim_disconnect(&h->conn);
        free(h);
        errno = EIO;
        return NULL;
    }
    h->page = mmap(NULL, EVT_PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fds[0], 0);
    close(fds[0]);
    h->eventfd = fds[1];
    if (h->page == MAP_FAILED) {
        rc = errno;
        close(h->eventfd);
        shim_disconnect(&h->conn);
        free(h);
        errno = rc;
        return NULL;
    }
    /* Blocking like the evtchn device unless the caller says otherwise;
     * the eventfd itself is non-blocking for our own draining. */
    return h;
}

SHIM_EXPORT xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger,
                                               int fd, unsigned open_flags)
{
    errno = EOPNOTSUPP;
    return NULL;
}

static void port_drop_peer(struct xenevtchn_handle *h, struct shim_port *p)
{
    if (p->peer && !--p->peer->refs) {
        struct peer_page **pp;

        for (pp = &h->peers; *pp; pp = &(*pp)->next) {
            if (*pp == p->peer) {
                *pp = p->peer->next;
                break;
            }
        }
        munmap(p->peer->page, EVT_PAGE_BYTES);
        free(p->peer);
    }
    if (p->kick && !--p->kick->refs) {
        struct peer_kick **pp;

        for (pp = &h->kicks; *pp; pp = &(*pp)->next) {
            if (*pp == p->kick) {
                *pp = p->kick->next;
                break;
            }
        }
        close(p->kick->fd);
        free(p->kick);
    }
    p->peer = NULL;
    p->kick = NULL;
    p->resolved = false;
}

SHIM_EXPORT int xenevtchn_close(xenevtchn_handle *xce)
{
    unsigned int i;

    if (!xce)
        return 0;
    for (i = 0; i < xce->nports; i++)
        port_drop_peer(xce, &xce->ports[i]);
    free(xce->ports);
    munmap(xce->page, EVT_PAGE_BYTES);
    close(xce->eventfd);
    /* simd closes every port of the handle with the connection. */
    shim_disconnect(&xce->conn);
    free(xce);
    return 0;
}

SHIM_EXPORT int xenevtchn_fd(xenevtchn_handle *xce)
{
    return xce->eventfd;
}

static struct shim_port *port_find(struct xenevtchn_handle *h, uint32_t port)
{
    unsigned int i;

    for (i = 0; i < h->nports; i++)
        if (h->ports[i].port == port)
            return &h->ports[i];
    return NULL;
}

static int port_add(struct xenevtchn_handle *h, uint32_t port)
{
    if (h->nports == h->cap) {
        unsigned int cap = h->cap ? h->cap * 2 : 8;
        struct shim_port *p = realloc(h->ports, cap * sizeof(*p));

        if (!p)
            return -ENOMEM;
        h->ports = p;
        h->cap = cap;
    }
    memset(&h->ports[h->nports], 0, sizeof(h->ports[0]));
    h->ports[h->nports++].port = port;
    return 0;
}

static xenevtchn_port_or_error_t bind_call(struct xenevtchn_handle *h,
                                           uint32_t op, const void *req,
                                           size_t len)
{
    struct sim_evt_port_rsp rsp;
    size_t rlen;
    int rc;

    pthread_mutex_lock(&h->conn.lock);
    rc = shim_call(&h->conn, op, req, len, &rsp, sizeof(rsp), &rlen, NULL,
                   NULL);
    if (!rc && rlen != sizeof(rsp))
        rc = -EIO;
    if (!rc)
        rc = port_add(h, rsp.port);
    pthread_mutex_unlock(&h->conn.lock);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return (xenevtchn_port_or_error_t)rsp.port;
}

SHIM_EXPORT xenevtchn_port_or_error_t
xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid)
{
    struct sim_evt_bind_unbound_req req = { domid };

    return bind_call(xce, SIM_OP_EVT_BIND_UNBOUND, &req, sizeof(req));
}

SHIM_EXPORT xenevtchn_port_or_error_t
xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
                           evtchn_port_t remote_port)
{
    struct sim_evt_bind_interdomain_req req = { domid, remote_port };

    return bind_call(xce, SIM_OP_EVT_BIND_INTERDOMAIN, &req, sizeof(req));
}

SHIM_EXPORT xenevtchn_port_or_error_t
xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
    errno = EINVAL; /* no virtual IRQs in the simulator */
    return -1;
}

SHIM_EXPORT int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    struct sim_evt_port_req req = { port };
    struct shim_port *p;
    int rc;

    /* The evtchn device's order: a port beyond the table is EINVAL,
     * one this handle has not bound ENOTCONN. */
    if (port >= SIM_EVTCHN_NR) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&xce->conn.lock);
    p = port_find(xce, port);
    if (!p) {
        pthread_mutex_unlock(&xce->conn.lock);
        errno = ENOTCONN;
        return -1;
    }
    rc = shim_call(&xce->conn, SIM_OP_EVT_UNBIND, &req, sizeof(req), NULL, 0,
                   NULL, NULL, NULL);
    if (!rc) {
        port_drop_peer(xce, p);
        *p = xce->ports[--xce->nports];
    }
    pthread_mutex_unlock(&xce->conn.lock);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}

/* Learns where notifications on p go; conn.lock held. */
static int port_resolve(struct xenevtchn_handle *h, struct shim_port *p)
{
    struct sim_evt_port_req req = { p->port };
    struct sim_evt_resolve_rsp rsp;
    struct peer_page *pg;
    struct peer_kick *k;
    int fds[2];
    unsigned int nfds = 2;
    size_t rlen;
    int rc;

    rc = shim_call(&h->conn, SIM_OP_EVT_RESOLVE, &req, sizeof(req), &rsp,
                   sizeof(rsp), &rlen, fds, &nfds);
    if (!rc && rlen != sizeof(rsp))
        rc = -EIO;
    if (rc) {
        while (nfds)
            close(fds[--nfds]);
        return rc;
    }
    port_drop_peer(h, p);
    p->gen = rsp.gen;
    p->resolved = true;
    if (!rsp.bound || nfds != 2) {
        while (nfds)
            close(fds[--nfds]);
        return 0;
    }
    for (pg = h->peers; pg; pg = pg->next)
        if (pg->instance == rsp.peer_instance)
            break;
    if (!pg) {
        void *m = mmap(NULL, EVT_PAGE_BYTES, PROT_READ | PROT_WRITE,
                       MAP_SHARED, fds[0], 0);

        pg = m == MAP_FAILED ? NULL : calloc(1, sizeof(*pg));
        if (!pg) {
            if (m != MAP_FAILED)
                munmap(m, EVT_PAGE_BYTES);
            close(fds[0]);
            close(fds[1]);
            p->resolved = false;
            return -ENOMEM;
        }
        pg->instance = rsp.peer_instance;
        pg->page = m;
        pg->next = h->peers;
        h->peers = pg;
    }
    close(fds[0]);
    for (k = h->kicks; k; k = k->next)
        if (k->instance == rsp.peer_instance && k->handle_id == rsp.peer_handle)
            break;
    if (k) {
        close(fds[1]);
    } else {
        k = calloc(1, sizeof(*k));
        if (!k) {
            close(fds[1]);
            if (!pg->refs) {
                h->peers = pg->next;
                munmap(pg->page, EVT_PAGE_BYTES);
                free(pg);
            }
            p->resolved = false;
            return -ENOMEM;
        }
        k->instance = rsp.peer_instance;
        k->handle_id = rsp.peer_handle;
        k->fd = fds[1];
        k->next = h->kicks;
        h->kicks = k;
    }
    pg->refs++;
    k->refs++;
    p->peer = pg;
    p->kick = k;
    p->peer_port = rsp.peer_port;
    return 0;
}

SHIM_EXPORT int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    struct sim_evtchn_page *own = xce->page;
    struct shim_port *p;
    uint32_t gen, drop;
    int rc = 0;

    pthread_mutex_lock(&xce->conn.lock);
    p = port_find(xce, port);
    if (!p) {
        pthread_mutex_unlock(&xce->conn.lock);
        errno = ENOTCONN;
        return -1;
    }
    gen = __atomic_load_n(&own->ports[port].gen, __ATOMIC_ACQUIRE);
    if (!p->resolved || p->gen != gen)
        rc = port_resolve(xce, p);
    if (rc)
        goto out;
    /* Fault injection: drop or delay what this domain sends. */
    drop = __atomic_load_n(&own->drop_notify, __ATOMIC_RELAXED);
    while (drop && !__atomic_compare_exchange_n(&own->drop_notify, &drop,
                                                drop - 1, false,
                                                __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED))
        ;
    if (drop) {
        __atomic_add_fetch(&own->notify_dropped, 1, __ATOMIC_RELAXED);
        goto out;
    }
    if (__atomic_load_n(&own->delay_notify_ms, __ATOMIC_RELAXED)) {
        struct sim_evt_port_req req = { port };

        rc = shim_send(&xce->conn, SIM_OP_EVT_NOTIFY_SLOW, &req, sizeof(req));
        goto out;
    }
    if (!p->peer)
        goto out; /* unbound: dropped silently, as Xen does */
    __atomic_add_fetch(&own->notify_sent, 1, __ATOMIC_RELAXED);
    {
        struct sim_evtchn_port *pp = &p->peer->page->ports[p->peer_port];
        uint32_t old = __atomic_fetch_or(&pp->flags, SIM_EVT_PENDING,
                                         __ATOMIC_ACQ_REL);

        if (!(old & (SIM_EVT_PENDING | SIM_EVT_MASKED)))
            kick(p->kick->fd);
    }
out:
    pthread_mutex_unlock(&xce->conn.lock);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}

/* Takes one deliverable port (pending, not masked) and masks it. */
static int take_one(struct xenevtchn_handle *h, unsigned int *left)
{
    unsigned int i, n = h->nports, start = h->scan;
    int found = -1;

    *left = 0;
    /* From where the last scan stopped, every port once: each pending one
     * after the one taken must be counted, or its wake-up is lost. */
    for (i = 0; i < n; i++) {
        struct shim_port *p = &h->ports[(start + i) % n];
        uint32_t *flags = &h->page->ports[p->port].flags;
        uint32_t f = __atomic_load_n(flags, __ATOMIC_ACQUIRE);

        while ((f & SIM_EVT_PENDING) && !(f & SIM_EVT_MASKED)) {
            if (found >= 0) {
                (*left)++;
                break;
            }
            if (__atomic_compare_exchange_n(
                    flags, &f, (f & ~SIM_EVT_PENDING) | SIM_EVT_MASKED, false,
                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                found = p->port;
                /* Round robin: a busy port cannot hide the others. */
                h->scan = (start + i + 1) % n;
                break;
            }
        }
    }
    return found;
}

SHIM_EXPORT xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    for (;;) {
        unsigned int left;
        uint64_t v;
        int port, nonblock;
        struct pollfd pfd = { .fd = xce->eventfd, .events = POLLIN };

        /* Clear the doorbell first: a kick after this is not lost. */
        if (poll(&pfd, 1, 0) > 0 && read(xce->eventfd, &v, sizeof(v)) < 0) {
            /* Raced with another reader: fine. */
        }
        pthread_mutex_lock(&xce->conn.lock);
        port = take_one(xce, &left);
        pthread_mutex_unlock(&xce->conn.lock);
        if (port >= 0) {
            if (left)
                kick(xce->eventfd); /* keep the fd readable */
            return port;
        }
        nonblock = fcntl(xce->eventfd, F_GETFL) & O_NONBLOCK;
        if (nonblock) {
            errno = EAGAIN;
            return -1;
        }
        pfd.revents = 0;
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            return -1;
    }
}

SHIM_EXPORT int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    uint32_t old;

    if (port == 0 || port >= SIM_EVTCHN_NR) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&xce->conn.lock);
    if (!port_find(xce, port)) {
        pthread_mutex_unlock(&xce->conn.lock);
        return 0; /* as the device: unmasking a foreign port is ignored */
    }
    old = __atomic_fetch_and(&xce->page->ports[port].flags, ~SIM_EVT_MASKED,
                             __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&xce->conn.lock);
    if ((old & SIM_EVT_MASKED) && (old & SIM_EVT_PENDING))
        kick(xce->eventfd);
    return 0;
}

SHIM_EXPORT int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
    struct sim_evt_restrict_req req = { domid };
    int rc;

    pthread_mutex_lock(&xce->conn.lock);
    rc = shim_call(&xce->conn, SIM_OP_EVT_RESTRICT, &req, sizeof(req), NULL,
                   0, NULL, NULL, NULL);
    pthread_mutex_unlock(&xce->conn.lock);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}
