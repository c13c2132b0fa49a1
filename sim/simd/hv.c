/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The hypervisor socket of each domain: accepts shim connections (one per
 * library handle), reads one request message at a time, checks its size
 * against the operation, dispatches it and sends the reply (with file
 * descriptors where the protocol says so).  Everything a connection sends
 * is untrusted; a connection that breaks the framing is closed, which
 * releases all it holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "simd.h"

static void hv_conn_cb(struct iovm_loop *loop, int fd, uint32_t events,
                       void *arg);

int hv_conn_eventfd(struct hv_conn *c)
{
    return c->eventfd;
}

uint32_t hv_conn_handle_id(struct hv_conn *c)
{
    return c->handle_id;
}

struct hv_conn *hv_conn_by_handle(struct sim_dom *dom, uint32_t handle_id)
{
    struct hv_conn *c;

    for (c = dom->conns; c; c = c->next)
        if (c->handle_id == handle_id)
            return c;
    return NULL;
}

void hv_conn_close(struct hv_conn *c)
{
    struct sim_dom *dom = c->dom;
    struct hv_conn **pp;

    /* Order as Linux closes the device files: mappings and shares go
     * before the channels their unmap notifications are sent on. */
    gnt_release_conn(c);
    evt_release_conn(c);
    for (pp = &dom->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    iovm_loop_fd_del(dom->sd->loop, c->fd);
    close(c->fd);
    if (c->eventfd >= 0)
        close(c->eventfd);
    if (c->pin_log)
        munmap(c->pin_log, sizeof(*c->pin_log));
    if (c->pin_log_fd >= 0)
        close(c->pin_log_fd);
    free(c);
}

static void hv_accept_cb(struct iovm_loop *loop, int fd, uint32_t events,
                         void *arg)
{
    struct sim_dom *dom = arg;
    struct hv_conn *c;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (cfd < 0)
        return;
    c = calloc(1, sizeof(*c));
    if (!c) {
        close(cfd);
        return;
    }
    c->dom = dom;
    c->fd = cfd;
    c->eventfd = -1;
    c->pin_log_fd = -1;
    c->next_map_id = 1;
    c->next_pin_id = 1;
    c->handle_id = ++dom->sd->next_handle_id;
    if (iovm_loop_fd_add(loop, cfd, EPOLLIN, hv_conn_cb, c)) {
        close(cfd);
        free(c);
        return;
    }
    c->next = dom->conns;
    dom->conns = c;
}

int hv_listen_start(struct sim_dom *dom)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, rc;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hv.sock", dom->dir) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    unlink(sa.sun_path);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 64) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    rc = iovm_loop_fd_add(dom->sd->loop, fd, EPOLLIN, hv_accept_cb, dom);
    if (rc) {
        close(fd);
        return rc;
    }
    dom->hv_listen = fd;
    return 0;
}

/* Sends a reply; fds (up to 2) ride along.  False: close the conn. */
static bool hv_reply(struct hv_conn *c, const struct sim_hdr *req, int ret,
                     const void *body, size_t len, const int *fds,
                     unsigned int nfds)
{
    struct sim_hdr h = { req->op, req->seq, ret, (uint32_t)len };
    struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

    if (nfds) {
        struct cmsghdr *cm;

        memset(&u, 0, sizeof(u));
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
    }
    /* A shim waits for its reply; one that does not read is broken. */
    return sendmsg(c->fd, &msg, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + len);
}

static int hv_hello(struct hv_conn *c, const struct sim_hdr *h,
                    const void *body, int *fds, unsigned int *nfds,
                    struct sim_hello_rsp *rsp)
{
    const struct sim_hello_req *req = body;

    if (c->kind || h->len != sizeof(*req))
        return -EINVAL;
    switch (req->kind) {
    case SIM_HANDLE_GNTTAB: {
        void *p;

        c->pin_log_fd = memfd_create("pin-log", MFD_CLOEXEC);
        if (c->pin_log_fd < 0)
            return -errno;
        if (ftruncate(c->pin_log_fd, sizeof(*c->pin_log)) < 0)
            return -errno;
        p = mmap(NULL, sizeof(*c->pin_log), PROT_READ | PROT_WRITE,
                 MAP_SHARED, c->pin_log_fd, 0);
        if (p == MAP_FAILED)
            return -errno;
        c->pin_log = p;
        fds[(*nfds)++] = c->dom->gnt_fd;
        fds[(*nfds)++] = c->pin_log_fd;
        break;
    }
    case SIM_HANDLE_CTRL:
        break;
    case SIM_HANDLE_GNTSHR:
        fds[(*nfds)++] = c->dom->mem_fd;
        break;
    case SIM_HANDLE_EVTCHN:
        c->eventfd = eventfd(0, EFD_CLOEXEC);
        if (c->eventfd < 0)
            return -errno;
        fds[(*nfds)++] = c->dom->evt_fd;
        fds[(*nfds)++] = c->eventfd;
        break;
    default:
        return -EINVAL;
    }
    c->kind = req->kind;
    rsp->domid = c->dom->domid;
    rsp->handle_id = c->handle_id;
    rsp->dom_instance = c->dom->instance;
    return 0;
}

static int hv_dominfo(struct hv_conn *c, const struct sim_dominfo_req *req,
                      struct sim_dominfo_rsp *rsp, size_t room)
{
    struct simd *sd = c->dom->sd;
    uint32_t id, n = 0;

    /* Domains in domid order from first_domid, as getdomaininfo. */
    for (id = req->first_domid; id < 0x7ff0 && n < req->max; id++) {
        struct sim_dom *d = dom_by_id(sd, id);
        struct sim_dominfo *i;

        if (!d)
            continue;
        if (sizeof(*rsp) + (n + 1) * sizeof(*i) > room)
            break;
        i = &rsp->info[n++];
        memset(i, 0, sizeof(*i));
        i->domid = d->domid;
        i->instance = d->instance;
        i->flags = SIM_DOMINFO_RUNNING | (d->priv ? SIM_DOMINFO_PRIV : 0);
        memcpy(i->handle, d->uuid, sizeof(i->handle));
        i->tot_pages = d->pages_used;
        i->max_pages = SIM_DOM_PAGES;
    }
    rsp->count = n;
    return 0;
}

/* Checks a variable-length request: header + n elements of size esz. */
static bool len_ok(const struct sim_hdr *h, size_t fixed, uint32_t n,
                   size_t esz)
{
    return n <= SIM_BATCH_MAX && h->len == fixed + (size_t)n * esz;
}

/* ---------------------------------------------------------------- */
/* PCI device ownership */

static struct sim_pci_owner **pci_find(struct simd *sd, uint32_t sbdf)
{
    struct sim_pci_owner **pp;

    for (pp = &sd->pci_owners; *pp; pp = &(*pp)->next)
        if ((*pp)->sbdf == sbdf)
            break;
    return pp;
}

uint32_t pci_owner(struct simd *sd, uint32_t sbdf)
{
    struct sim_pci_owner **pp = pci_find(sd, sbdf);

    return *pp ? (*pp)->domid : 0;
}

static int pci_set_owner(struct simd *sd, uint32_t sbdf, uint32_t domid)
{
    struct sim_pci_owner **pp = pci_find(sd, sbdf), *o = *pp;

    if (!domid) {
        if (o) {
            *pp = o->next;
            free(o);
        }
        return 0;
    }
    if (!o) {
        o = calloc(1, sizeof(*o));
        if (!o)
            return -ENOMEM;
        o->sbdf = sbdf;
        o->next = sd->pci_owners;
        sd->pci_owners = o;
    }
    o->domid = domid;
    return 0;
}

int pci_assign_op(struct simd *sd, const struct sim_pci_assign_req *req)
{
    uint32_t owner = pci_owner(sd, req->sbdf);
    bool free_ = !owner || owner == SIM_DOMID_IO;

    if (req->domid != SIM_DOMID_IO && !dom_by_id(sd, req->domid))
        return -ESRCH;
    switch (req->op) {
    case SIM_PCI_TEST:
        return free_ ? 0 : -EBUSY;
    case SIM_PCI_ASSIGN:
        if (!sd->host_iommu)
            return -EOPNOTSUPP;
        if (!free_)
            return owner == req->domid ? 0 : -EBUSY;
        return pci_set_owner(sd, req->sbdf, req->domid);
    case SIM_PCI_DEASSIGN:
        if (owner != req->domid || !owner)
            return -EINVAL;
        return pci_set_owner(sd, req->sbdf,
                             req->domid == SIM_DOMID_IO ? 0 : SIM_DOMID_IO);
    default:
        return -EINVAL;
    }
}

/* Xen quarantines what a dying domain had. */
void pci_dom_destroyed(struct simd *sd, uint32_t domid)
{
    struct sim_pci_owner *o;

    for (o = sd->pci_owners; o; o = o->next)
        if (o->domid == domid)
            o->domid = SIM_DOMID_IO;
}

static bool hv_dispatch(struct hv_conn *c, const struct sim_hdr *h,
                        const void *body, void *out)
{
    int fds[2], rc = -EINVAL;
    unsigned int nfds = 0;
    size_t olen = 0;

    if (!c->kind && h->op != SIM_OP_HELLO)
        return false;
    switch (h->op) {
    case SIM_OP_HELLO:
        rc = hv_hello(c, h, body, fds, &nfds, out);
        olen = rc ? 0 : sizeof(struct sim_hello_rsp);
        break;
    case SIM_OP_GNT_SHARE: {
        const struct sim_gnt_share_req *req = body;
        struct sim_gnt_share_rsp *rsp = out;

        if (c->kind != SIM_HANDLE_GNTSHR || h->len != sizeof(*req) ||
            !req->count || req->count > SIM_BATCH_MAX)
            break;
        rc = gnt_share(c, req, &rsp->first_page, rsp->refs);
        if (!rc) {
            rsp->count = req->count;
            olen = sizeof(*rsp) + req->count * sizeof(uint32_t);
        }
        break;
    }
    case SIM_OP_GNT_UNSHARE: {
        const struct sim_gnt_unshare_req *req = body;

        if (c->kind != SIM_HANDLE_GNTSHR || h->len != sizeof(*req))
            break;
        rc = gnt_unshare(c, req->first_page, req->count);
        break;
    }
    case SIM_OP_GNT_MAP: {
        const struct sim_gnt_map_req *req = body;

        if (c->kind != SIM_HANDLE_GNTTAB || h->len < sizeof(*req) ||
            !req->count ||
            !len_ok(h, sizeof(*req), req->count, sizeof(req->refs[0])))
            break;
        rc = gnt_map(c, req, out);
        if (!rc)
            olen = sizeof(struct sim_gnt_map_rsp) +
                   req->count * sizeof(struct sim_gnt_map_page);
        break;
    }
    case SIM_OP_GNT_UNMAP: {
        const struct sim_gnt_unmap_req *req = body;

        if (c->kind != SIM_HANDLE_GNTTAB || h->len != sizeof(*req))
            break;
        rc = gnt_unmap(c, req->map_id);
        break;
    }
    case SIM_OP_GNT_COPY: {
        const struct sim_gnt_copy_req *req = body;

        if (c->kind != SIM_HANDLE_GNTTAB || h->len < sizeof(*req) ||
            !len_ok(h, sizeof(*req), req->count, sizeof(req->segs[0])))
            break;
        rc = gnt_copy(c, req, out);
        if (!rc)
            olen = sizeof(struct sim_gnt_copy_rsp) +
                   req->count * sizeof(struct sim_gnt_copy_res);
        break;
    }
    case SIM_OP_GNT_UNPIN: {
        const struct sim_gnt_unpin_req *req = body;

        if (c->kind != SIM_HANDLE_GNTTAB || h->len != sizeof(*req))
            return false;
        gnt_unpin(c, req->pin_id);
        return true; /* one way */
    }
    case SIM_OP_GNT_SET_MAX: {
        const struct sim_gnt_set_max_req *req = body;

        if (c->kind != SIM_HANDLE_GNTTAB || h->len != sizeof(*req))
            break;
        c->max_grants = req->count;
        rc = 0;
        break;
    }
    case SIM_OP_DOM_MEM: {
        const struct sim_dom_mem_req *req = body;
        struct sim_dom *d;

        if (c->kind != SIM_HANDLE_GNTTAB || h->len != sizeof(*req))
            break;
        d = dom_by_instance(c->dom->sd, req->dom_instance);
        /* Only memory of a domain that granted us something. */
        if (!d || !gnt_dom_grants_to(d, c->dom->domid)) {
            rc = -ESRCH;
            break;
        }
        fds[nfds++] = req->writable ? d->mem_fd : d->mem_ro_fd;
        rc = 0;
        break;
    }
    case SIM_OP_DOM_GNT: {
        const struct sim_dom_gnt_req *req = body;
        struct sim_dom_gnt_rsp *rsp = out;
        struct sim_dom *d;

        if (c->kind != SIM_HANDLE_GNTTAB || h->len != sizeof(*req))
            break;
        d = dom_by_id(c->dom->sd, req->domid);
        if (!d || !gnt_dom_grants_to(d, c->dom->domid)) {
            rc = -ESRCH;
            break;
        }
        rsp->dom_instance = d->instance;
        fds[nfds++] = d->gnt_fd;
        fds[nfds++] = d->mem_fd;
        olen = sizeof(*rsp);
        rc = 0;
        break;
    }
    case SIM_OP_HOSTINFO: {
        struct sim_hostinfo_rsp *rsp = out;
        struct simd *sd = c->dom->sd;

        if (c->kind != SIM_HANDLE_CTRL || h->len != 0)
            break;
        if (!c->dom->priv) {
            rc = -EPERM;
            break;
        }
        memset(rsp, 0, sizeof(*rsp));
        rsp->iommu = sd->host_iommu;
        rsp->intremap = sd->host_iommu && sd->host_intremap;
        snprintf(rsp->cmdline, sizeof(rsp->cmdline), "%s", sd->host_cmdline);
        olen = sizeof(*rsp);
        rc = 0;
        break;
    }
    case SIM_OP_PCI_ASSIGN: {
        if (c->kind != SIM_HANDLE_CTRL ||
            h->len != sizeof(struct sim_pci_assign_req))
            break;
        rc = c->dom->priv ? pci_assign_op(c->dom->sd, body) : -EPERM;
        break;
    }
    case SIM_OP_GNT_RECLAIM: {
        const struct sim_gnt_reclaim_req *req = body;

        if (c->kind != SIM_HANDLE_GNTTAB || h->len != sizeof(*req))
            return false;
        gnt_reclaim(c->dom->sd, req->dom_instance, req->ref);
        return true; /* one way */
    }
    case SIM_OP_EVT_BIND_UNBOUND: {
        const struct sim_evt_bind_unbound_req *req = body;
        struct sim_evt_port_rsp *rsp = out;

        if (c->kind != SIM_HANDLE_EVTCHN || h->len != sizeof(*req))
            break;
        rc = evt_bind_unbound(c, req->remote_domid, &rsp->port);
        olen = rc ? 0 : sizeof(*rsp);
        break;
    }
    case SIM_OP_EVT_BIND_INTERDOMAIN: {
        const struct sim_evt_bind_interdomain_req *req = body;
        struct sim_evt_port_rsp *rsp = out;

        if (c->kind != SIM_HANDLE_EVTCHN || h->len != sizeof(*req))
            break;
        rc = evt_bind_interdomain(c, req->remote_domid, req->remote_port,
                                  &rsp->port);
        olen = rc ? 0 : sizeof(*rsp);
        break;
    }
    case SIM_OP_EVT_UNBIND: {
        const struct sim_evt_port_req *req = body;

        if (c->kind != SIM_HANDLE_EVTCHN || h->len != sizeof(*req))
            break;
        rc = evt_unbind(c, req->port);
        break;
    }
    case SIM_OP_EVT_RESOLVE: {
        const struct sim_evt_port_req *req = body;
        int pfd = -1, efd = -1;

        if (c->kind != SIM_HANDLE_EVTCHN || h->len != sizeof(*req))
            break;
        rc = evt_resolve(c, req->port, out, &pfd, &efd);
        if (!rc) {
            olen = sizeof(struct sim_evt_resolve_rsp);
            if (pfd >= 0 && efd >= 0) {
                fds[nfds++] = pfd;
                fds[nfds++] = efd;
            }
        }
        break;
    }
    case SIM_OP_EVT_RESTRICT: {
        const struct sim_evt_restrict_req *req = body;

        if (c->kind != SIM_HANDLE_EVTCHN || h->len != sizeof(*req))
            break;
        c->restricted = true;
        c->restrict_domid = req->domid;
        rc = 0;
        break;
    }
    case SIM_OP_EVT_NOTIFY_SLOW: {
        const struct sim_evt_port_req *req = body;

        if (c->kind != SIM_HANDLE_EVTCHN || h->len != sizeof(*req))
            return false;
        if (req->port < SIM_EVTCHN_NR &&
            c->dom->ports[req->port].owner == c)
            evt_notify_delayed(c->dom, req->port,
                               __atomic_load_n(&c->dom->evt->delay_notify_ms,
                                               __ATOMIC_RELAXED));
        return true; /* one way */
    }
    case SIM_OP_DOMINFO: {
        const struct sim_dominfo_req *req = body;

        if (c->kind != SIM_HANDLE_CTRL || h->len != sizeof(*req))
            break;
        /* Reading other domains' state is a privileged domctl. */
        if (!c->dom->priv) {
            rc = -EPERM;
            break;
        }
        rc = hv_dominfo(c, req, out, SIM_MSG_MAX);
        if (!rc)
            olen = sizeof(struct sim_dominfo_rsp) +
                   ((struct sim_dominfo_rsp *)out)->count *
                       sizeof(struct sim_dominfo);
        break;
    }
    default:
        break;
    }
    return hv_reply(c, h, rc, out, rc ? 0 : olen, fds, nfds);
}

static void hv_conn_cb(struct iovm_loop *loop, int fd, uint32_t events,
                       void *arg)
{
    struct hv_conn *c = arg;
    static uint64_t in[SIM_MSG_MAX / 8], out[SIM_MSG_MAX / 8];
    struct sim_hdr h;
    ssize_t n;
    unsigned int budget = 64;

    /* A bounded number of requests per wake-up: one handle cannot
     * starve the others. */
    while (budget--) {
        n = recv(fd, in, sizeof(in), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            hv_conn_close(c);
            return;
        }
        if (n == 0) {
            hv_conn_close(c);
            return;
        }
        if ((size_t)n < sizeof(h) || (size_t)n > sizeof(in)) {
            LOG_WARN("dom%u: malformed hypervisor message, closing handle",
                     c->dom->domid);
            hv_conn_close(c);
            return;
        }
        memcpy(&h, in, sizeof(h));
        if (h.len != (size_t)n - sizeof(h) || !h.op || h.op >= SIM_OP__MAX) {
            LOG_WARN("dom%u: bad hypervisor request %u, closing handle",
                     c->dom->domid, h.op);
            hv_conn_close(c);
            return;
        }
        memset(out, 0, 64);
        if (!hv_dispatch(c, &h, (char *)in + sizeof(h), out)) {
            hv_conn_close(c);
            return;
        }
    }
}
