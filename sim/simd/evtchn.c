/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event channels with Xen's semantics: a port is allocated unbound for one
 * remote domain, the remote binds to it, notifications set the peer's
 * pending bit, closing one end leaves the other unbound (so a restarted
 * peer may bind to it again), and binding raises an event on the new port
 * in case the other side notified before.
 *
 * simd owns the binding tables; the pending/masked bits live in each
 * domain's shared event page so that shims signal each other directly.
 * Port numbers come from shims and are range-checked before use.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "simd.h"

#define DOMID_SELF 0x7ff0u

static void port_gen_bump(struct sim_dom *dom, uint32_t port)
{
    __atomic_add_fetch(&dom->evt->ports[port].gen, 1, __ATOMIC_RELEASE);
}

static int port_alloc(struct sim_dom *dom, struct hv_conn *owner,
                      uint32_t *portp)
{
    uint32_t p;

    /* Lowest free, as Xen's get_free_port(); port 0 is never used and
     * the guest kernel holds the ports below SIM_EVTCHN_FIRST. */
    for (p = SIM_EVTCHN_FIRST; p < SIM_EVTCHN_NR; p++) {
        if (dom->ports[p].state == PORT_FREE) {
            dom->ports[p].owner = owner;
            __atomic_store_n(&dom->evt->ports[p].flags, 0, __ATOMIC_RELAXED);
            port_gen_bump(dom, p);
            *portp = p;
            return 0;
        }
    }
    return -ENOSPC;
}

/* Raises an event on dom's own port (the receiving side). */
static void port_raise(struct sim_dom *dom, uint32_t port)
{
    struct sim_evtchn_port *ep = &dom->evt->ports[port];
    uint32_t old = __atomic_fetch_or(&ep->flags, SIM_EVT_PENDING,
                                     __ATOMIC_ACQ_REL);
    struct hv_conn *owner = dom->ports[port].owner;

    if (!(old & (SIM_EVT_PENDING | SIM_EVT_MASKED)) && owner &&
        owner->eventfd >= 0) {
        uint64_t one = 1;

        if (write(owner->eventfd, &one, sizeof(one)) < 0) {
            /* Counter saturated: the reader is already due to wake. */
        }
    }
}

void evt_send(struct sim_dom *dom, uint32_t port)
{
    struct sim_port *p;
    struct sim_dom *peer;

    if (port >= SIM_EVTCHN_NR)
        return;
    p = &dom->ports[port];
    if (p->state != PORT_INTERDOMAIN)
        return; /* unbound: silently dropped, as EVTCHNOP_send does */
    peer = dom_by_instance(dom->sd, p->remote_instance);
    if (!peer || p->remote_port >= SIM_EVTCHN_NR)
        return;
    __atomic_add_fetch(&dom->evt->notify_sent, 1, __ATOMIC_RELAXED);
    port_raise(peer, p->remote_port);
}

struct delayed_notify {
    struct simd *sd;
    uint64_t instance;
    uint32_t port;
};

static void delayed_cb(struct iovm_loop *loop, void *arg)
{
    struct delayed_notify *dn = arg;
    struct sim_dom *dom = dom_by_instance(dn->sd, dn->instance);

    if (dom)
        evt_send(dom, dn->port);
    free(dn);
}

void evt_notify_delayed(struct sim_dom *dom, uint32_t port,
                        unsigned int delay_ms)
{
    struct delayed_notify *dn = malloc(sizeof(*dn));

    if (!dn)
        return;
    dn->sd = dom->sd;
    dn->instance = dom->instance;
    dn->port = port;
    if (iovm_loop_timer_add(dom->sd->loop, delay_ms, delayed_cb, dn) < 0)
        free(dn);
}

int evt_bind_unbound(struct hv_conn *c, uint32_t remote_domid,
                     uint32_t *port)
{
    struct sim_dom *dom = c->dom;
    int rc;

    if (c->restricted)
        return -EACCES;
    if (remote_domid == DOMID_SELF)
        remote_domid = dom->domid;
    if (remote_domid >= DOMID_SELF)
        return -EINVAL;
    rc = port_alloc(dom, c, port);
    if (rc)
        return rc;
    dom->ports[*port].state = PORT_UNBOUND;
    dom->ports[*port].remote_domid = remote_domid;
    return 0;
}

int evt_bind_interdomain(struct hv_conn *c, uint32_t remote_domid,
                         uint32_t remote_port, uint32_t *port)
{
    struct sim_dom *dom = c->dom, *rdom;
    struct sim_port *rp;
    int rc;

    if (remote_domid == DOMID_SELF)
        remote_domid = dom->domid;
    if (c->restricted && c->restrict_domid != remote_domid)
        return -EACCES;
    rdom = dom_by_id(dom->sd, remote_domid);
    if (!rdom)
        return -ESRCH;
    if (remote_port == 0 || remote_port >= SIM_EVTCHN_NR)
        return -EINVAL;
    rp = &rdom->ports[remote_port];
    if (rp->state != PORT_UNBOUND || rp->remote_domid != dom->domid)
        return -EINVAL;
    rc = port_alloc(dom, c, port);
    if (rc)
        return rc;
    dom->ports[*port].state = PORT_INTERDOMAIN;
    dom->ports[*port].remote_domid = remote_domid;
    dom->ports[*port].remote_port = remote_port;
    dom->ports[*port].remote_instance = rdom->instance;
    rp->state = PORT_INTERDOMAIN;
    rp->remote_domid = dom->domid;
    rp->remote_port = *port;
    rp->remote_instance = dom->instance;
    port_gen_bump(rdom, remote_port);
    /* The remote may have notified before we bound: raise an event. */
    port_raise(dom, *port);
    return 0;
}

static void port_close(struct sim_dom *dom, uint32_t port)
{
    struct sim_port *p = &dom->ports[port];

    if (p->state == PORT_INTERDOMAIN) {
        struct sim_dom *peer = dom_by_instance(dom->sd, p->remote_instance);

        /* Xen's evtchn_close(): the peer port goes back to unbound,
         * still reserved for us, so we could bind to it again. */
        if (peer && p->remote_port < SIM_EVTCHN_NR) {
            struct sim_port *pp = &peer->ports[p->remote_port];

            if (pp->state == PORT_INTERDOMAIN &&
                pp->remote_instance == dom->instance &&
                pp->remote_port == port) {
                pp->state = PORT_UNBOUND;
                pp->remote_domid = dom->domid;
                pp->remote_port = 0;
                pp->remote_instance = 0;
                port_gen_bump(peer, p->remote_port);
            }
        }
    }
    p->state = PORT_FREE;
    p->owner = NULL;
    p->remote_domid = p->remote_port = 0;
    p->remote_instance = 0;
    __atomic_store_n(&dom->evt->ports[port].flags, 0, __ATOMIC_RELAXED);
    port_gen_bump(dom, port);
}

int evt_unbind(struct hv_conn *c, uint32_t port)
{
    if (port == 0 || port >= SIM_EVTCHN_NR)
        return -EINVAL;
    if (c->dom->ports[port].owner != c)
        return -ENOTCONN;
    port_close(c->dom, port);
    return 0;
}

void evt_release_conn(struct hv_conn *c)
{
    uint32_t p;

    if (c->kind != SIM_HANDLE_EVTCHN)
        return;
    for (p = 1; p < SIM_EVTCHN_NR; p++)
        if (c->dom->ports[p].owner == c)
            port_close(c->dom, p);
}

int evt_resolve(struct hv_conn *c, uint32_t port,
                struct sim_evt_resolve_rsp *rsp, int *page_fd, int *event_fd)
{
    struct sim_dom *dom = c->dom, *peer;
    struct sim_port *p;
    struct hv_conn *pc;

    if (port == 0 || port >= SIM_EVTCHN_NR)
        return -EINVAL;
    p = &dom->ports[port];
    if (p->owner != c)
        return -ENOTCONN;
    /* Read the generation first: if the binding changes after this the
     * shim sees a newer generation and asks again. */
    rsp->gen = __atomic_load_n(&dom->evt->ports[port].gen, __ATOMIC_ACQUIRE);
    rsp->bound = 0;
    if (p->state != PORT_INTERDOMAIN)
        return 0;
    peer = dom_by_instance(dom->sd, p->remote_instance);
    if (!peer || p->remote_port >= SIM_EVTCHN_NR)
        return 0;
    pc = peer->ports[p->remote_port].owner;
    if (!pc || pc->eventfd < 0)
        return 0;
    rsp->bound = 1;
    rsp->peer_instance = peer->instance;
    rsp->peer_port = p->remote_port;
    rsp->peer_handle = pc->handle_id;
    *page_fd = peer->evt_fd;
    *event_fd = pc->eventfd;
    return 0;
}
