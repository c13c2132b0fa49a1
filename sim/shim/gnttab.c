/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libxengnttab.so.1 for the simulator: grant mapping, grant copy and page
 * sharing (gntshr) against iovm-simd, with the same soname, symbols and
 * version nodes as Xen's library.
 *
 * A mapping is a reserved address range whose pages are mapped from the
 * granting domain's RAM (a memfd) at the offsets simd returned after
 * checking the grants; read-only grants are mapped from a read-only file
 * description, so they can never become writable.  A grant copy pins
 * each granted entry in the granter's shared table itself (sim-proto.h,
 * struct sim_gnt_table) and copies between the RAMs; what it cannot
 * decide there it sends to simd, which checks the segment, pins, and
 * answers with the status and pages.  Trusts simd; checks the caller's
 * arguments.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xengnttab.h>

#include "shim.h"

#define RAM_BYTES ((size_t)SIM_DOM_PAGES * SIM_PAGE_SIZE)

struct shim_map {
    struct shim_map *next;
    void *addr;
    uint32_t count;
    uint32_t map_id;
};

struct shim_share {
    struct shim_share *next;
    void *addr;
    uint32_t count;
    uint32_t first_page;
};

/* Another domain's RAM, as far as grants let us at it. */
struct shim_ram {
    struct shim_ram *next;
    uint64_t instance;
    int fd_ro, fd_rw;
    uint8_t *base; /* whole-RAM mapping for grant copy, or NULL */
};

/* Another domain's grant table, for copies without simd. */
struct shim_gdom {
    struct shim_gdom *next;
    uint32_t domid;
    uint64_t instance;
    struct sim_gnt_table *gt;
    struct shim_ram *ram;
};

struct xengntdev_handle {
    struct shim_conn conn;
    uint32_t kind;
    int ram_fd; /* gntshr: our own RAM */
    struct shim_map *maps;
    struct shim_share *shares;
    struct shim_ram *rams;
    /* gnttab: our domain's table (copy_slow, counters), our pin log, and
     * the tables of the domains we copied with. */
    struct sim_gnt_table *own_gt;
    struct sim_pin_log *pin_log;
    struct shim_gdom *gdoms;
};

static struct xengntdev_handle *handle_open(uint32_t kind)
{
    struct xengntdev_handle *h = calloc(1, sizeof(*h));
    int fds[2];
    unsigned int nfds = 2;
    int rc;

    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    h->kind = kind;
    h->ram_fd = -1;
    rc = shim_connect(&h->conn, kind, fds, &nfds);
    if (rc) {
        free(h);
        errno = -rc;
        return NULL;
    }
    if (kind == SIM_HANDLE_GNTSHR) {
        if (nfds != 1) {
            shim_disconnect(&h->conn);
            free(h);
            errno = EIO;
            return NULL;
        }
        h->ram_fd = fds[0];
    }
    if (kind == SIM_HANDLE_GNTTAB) {
        void *gt = MAP_FAILED, *log = MAP_FAILED;

        if (nfds == 2) {
            gt = mmap(NULL, sizeof(*h->own_gt), PROT_READ | PROT_WRITE,
                      MAP_SHARED, fds[0], 0);
            log = mmap(NULL, sizeof(*h->pin_log), PROT_READ | PROT_WRITE,
                       MAP_SHARED, fds[1], 0);
        }
        for (unsigned int i = 0; i < nfds; i++)
            close(fds[i]);
        if (gt == MAP_FAILED || log == MAP_FAILED) {
            if (gt != MAP_FAILED)
                munmap(gt, sizeof(*h->own_gt));
            if (log != MAP_FAILED)
                munmap(log, sizeof(*h->pin_log));
            shim_disconnect(&h->conn);
            free(h);
            errno = EIO;
            return NULL;
        }
        h->own_gt = gt;
        h->pin_log = log;
    }
    return h;
}

static void handle_close(struct xengntdev_handle *h)
{
    while (h->maps) {
        struct shim_map *m = h->maps;

        h->maps = m->next;
        munmap(m->addr, (size_t)m->count * SIM_PAGE_SIZE);
        free(m);
    }
    while (h->shares) {
        struct shim_share *s = h->shares;

        h->shares = s->next;
        munmap(s->addr, (size_t)s->count * SIM_PAGE_SIZE);
        free(s);
    }
    while (h->rams) {
        struct shim_ram *r = h->rams;

        h->rams = r->next;
        if (r->base)
            munmap(r->base, RAM_BYTES);
        if (r->fd_ro >= 0)
            close(r->fd_ro);
        if (r->fd_rw >= 0)
            close(r->fd_rw);
        free(r);
    }
    while (h->gdoms) {
        struct shim_gdom *g = h->gdoms;

        h->gdoms = g->next;
        munmap(g->gt, sizeof(*g->gt));
        free(g);
    }
    if (h->own_gt)
        munmap(h->own_gt, sizeof(*h->own_gt));
    if (h->pin_log)
        munmap(h->pin_log, sizeof(*h->pin_log));
    if (h->ram_fd >= 0)
        close(h->ram_fd);
    /* Closing the connection releases what simd holds for us (and the
     * pins our log shows). */
    shim_disconnect(&h->conn);
    free(h);
}

/* ---------------------------------------------------------------- */
/* gnttab */

SHIM_EXPORT xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger,
                                             unsigned open_flags)
{
    return handle_open(SIM_HANDLE_GNTTAB);
}

SHIM_EXPORT int xengnttab_close(xengnttab_handle *xgt)
{
    if (xgt)
        handle_close(xgt);
    return 0;
}

SHIM_EXPORT int xengnttab_fd(xengnttab_handle *xgt)
{
    return xgt->conn.fd;
}

/* Our record of a domain's RAM, made if new (NULL: out of memory). */
static struct shim_ram *ram_find(xengnttab_handle *h, uint64_t instance)
{
    struct shim_ram *r;

    for (r = h->rams; r; r = r->next)
        if (r->instance == instance)
            return r;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->instance = instance;
    r->fd_ro = r->fd_rw = -1;
    r->next = h->rams;
    h->rams = r;
    return r;
}

/* Maps all of r's RAM writable (for grant copy), once. */
static struct shim_ram *ram_map_whole(struct shim_ram *r)
{
    void *b;

    if (!r->base) {
        b = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
                 r->fd_rw, 0);
        if (b == MAP_FAILED)
            return NULL;
        r->base = b;
    }
    return r;
}

/* The RAM of a granting domain; c->lock held. */
static struct shim_ram *ram_get(xengnttab_handle *h, uint64_t instance,
                                bool writable, bool whole)
{
    struct sim_dom_mem_req req = { instance, writable };
    struct shim_ram *r = ram_find(h, instance);
    unsigned int nfds = 1;
    int fd, rc;

    if (!r)
        return NULL;
    if ((writable || whole) ? r->fd_rw < 0 : r->fd_ro < 0) {
        req.writable = writable || whole;
        rc = shim_call(&h->conn, SIM_OP_DOM_MEM, &req, sizeof(req), NULL, 0,
                       NULL, &fd, &nfds);
        if (rc || nfds != 1) {
            errno = rc ? -rc : EIO;
            return NULL;
        }
        if (req.writable)
            r->fd_rw = fd;
        else
            r->fd_ro = fd;
    }
    return whole ? ram_map_whole(r) : r;
}

/* ---------------------------------------------------------------- */
/* grant copy without simd */

#define DOMID_SELF_ID 0x7ff0u
#define PINS(w) ((w) & SIM_GNTW_PINS)

/* The RAM simd handed over with a table: adopts fd (writable). */
static struct shim_ram *ram_adopt(xengnttab_handle *h, uint64_t instance,
                                  int fd)
{
    struct shim_ram *r = ram_find(h, instance);

    if (!r) {
        close(fd);
        return NULL;
    }
    if (r->fd_rw < 0)
        r->fd_rw = fd;
    else
        close(fd);
    return ram_map_whole(r);
}

/* The table of live domain domid, or NULL (then simd decides). */
static struct shim_gdom *gdom_get(xengnttab_handle *h, uint32_t domid)
{
    struct sim_dom_gnt_req req = { domid };
    struct sim_dom_gnt_rsp rsp;
    struct shim_gdom **pp, *g;
    unsigned int nfds = 2;
    int fds[2], rc;
    size_t rlen;
    void *gt;

    for (pp = &h->gdoms; (g = *pp); pp = &g->next) {
        if (g->domid != domid)
            continue;
        if (!__atomic_load_n(&g->gt->dead, __ATOMIC_ACQUIRE))
            return g;
        /* That domain is gone; the domid may be another's now. */
        *pp = g->next;
        munmap(g->gt, sizeof(*g->gt));
        free(g);
        break;
    }
    rc = shim_call(&h->conn, SIM_OP_DOM_GNT, &req, sizeof(req), &rsp,
                   sizeof(rsp), &rlen, fds, &nfds);
    if (rc || nfds != 2 || rlen != sizeof(rsp)) {
        for (unsigned int i = 0; !rc && i < nfds; i++)
            close(fds[i]);
        return NULL;
    }
    gt = mmap(NULL, sizeof(*g->gt), PROT_READ | PROT_WRITE, MAP_SHARED,
              fds[0], 0);
    close(fds[0]);
    g = gt == MAP_FAILED ? NULL : calloc(1, sizeof(*g));
    if (!g) {
        if (gt != MAP_FAILED)
            munmap(gt, sizeof(*g->gt));
        close(fds[1]);
        return NULL;
    }
    g->domid = domid;
    g->instance = rsp.dom_instance;
    g->gt = gt;
    g->ram = ram_adopt(h, rsp.dom_instance, fds[1]);
    if (!g->ram) {
        munmap(gt, sizeof(*g->gt));
        free(g);
        return NULL;
    }
    g->next = h->gdoms;
    h->gdoms = g;
    return g;
}

static void fast_unpin(xengnttab_handle *h, unsigned int slot,
                       struct shim_gdom *g, uint32_t ref)
{
    uint32_t w;

    /* Log first: dying between the two leaks a pin, never frees one
     * twice. */
    __atomic_store_n(&h->pin_log->e[slot].state, SIM_PIN_FREE,
                     __ATOMIC_RELEASE);
    w = __atomic_sub_fetch(&g->gt->e[ref].word, 1, __ATOMIC_ACQ_REL);
    if ((w & SIM_GNTW_REVOKED) && !PINS(w)) {
        struct sim_gnt_reclaim_req req = { g->instance, ref, 0 };

        shim_send(&h->conn, SIM_OP_GNT_RECLAIM, &req, sizeof(req));
    }
}

/*
 * Pins domid's grant ref for a copy in slot 0 (source) or 1 (dest) of our
 * pin log and returns its page, or NULL when simd has to decide: the
 * entry is not a plain live grant to us, or the reference is out of the
 * table.
 */
static uint8_t *fast_pin(xengnttab_handle *h, unsigned int slot,
                         uint32_t domid, uint32_t ref, bool write,
                         struct shim_gdom **gp)
{
    struct shim_gdom *g;
    struct sim_gnt_entry *e;
    uint32_t w, page;

    if (domid == DOMID_SELF_ID || !(g = gdom_get(h, domid)) ||
        ref >= __atomic_load_n(&g->gt->entries, __ATOMIC_ACQUIRE))
        return NULL;
    e = &g->gt->e[ref];
    h->pin_log->e[slot].dom_instance = g->instance;
    h->pin_log->e[slot].ref = ref;
    __atomic_store_n(&h->pin_log->e[slot].state, SIM_PIN_INTENT,
                     __ATOMIC_RELEASE);
    w = __atomic_load_n(&e->word, __ATOMIC_ACQUIRE);
    do {
        if (!(w & SIM_GNTW_IN_USE) || (w & SIM_GNTW_REVOKED) ||
            PINS(w) >= SIM_GNTW_PINS - 1 ||
            (write && (w & SIM_GNTW_READONLY))) {
            __atomic_store_n(&h->pin_log->e[slot].state, SIM_PIN_FREE,
                             __ATOMIC_RELEASE);
            return NULL;
        }
    } while (!__atomic_compare_exchange_n(&e->word, &w, w + 1, false,
                                          __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    __atomic_store_n(&h->pin_log->e[slot].state, SIM_PIN_PINNED,
                     __ATOMIC_RELEASE);
    /* Pinned: simd changes neither until we let go. */
    page = __atomic_load_n(&e->page, __ATOMIC_RELAXED);
    if (__atomic_load_n(&e->grantee, __ATOMIC_RELAXED) !=
            h->conn.hello.domid ||
        page >= SIM_DOM_PAGES) {
        fast_unpin(h, slot, g, ref);
        return NULL;
    }
    *gp = g;
    return g->ram->base + (size_t)page * SIM_PAGE_SIZE;
}

/* One segment without simd; false if simd has to do it. */
static bool fast_copy(xengnttab_handle *h, xengnttab_grant_copy_segment_t *s)
{
    struct shim_gdom *gs = NULL, *gd = NULL;
    uint8_t *src, *dst;

    if (s->flags & GNTCOPY_source_gref) {
        src = fast_pin(h, 0, s->source.foreign.domid, s->source.foreign.ref,
                       false, &gs);
        if (!src)
            return false;
        src += s->source.foreign.offset;
    } else {
        src = s->source.virt;
    }
    if (s->flags & GNTCOPY_dest_gref) {
        dst = fast_pin(h, 1, s->dest.foreign.domid, s->dest.foreign.ref,
                       true, &gd);
        if (!dst) {
            if (gs)
                fast_unpin(h, 0, gs, s->source.foreign.ref);
            return false;
        }
        dst += s->dest.foreign.offset;
    } else {
        dst = s->dest.virt;
    }
    memcpy(dst, src, s->len);
    if (gs)
        fast_unpin(h, 0, gs, s->source.foreign.ref);
    if (gd)
        fast_unpin(h, 1, gd, s->dest.foreign.ref);
    s->status = GNTST_okay;
    return true;
}

static void *map_refs(xengnttab_handle *h, uint32_t count,
                      const uint32_t *domids, uint32_t domid,
                      const uint32_t *refs, int prot, int32_t notify_offset,
                      int32_t notify_port)
{
    struct sim_gnt_map_req *req = NULL;
    struct sim_gnt_map_rsp *rsp = NULL;
    struct shim_map *m = NULL;
    uint8_t *addr = MAP_FAILED;
    bool writable = prot & PROT_WRITE, mapped = false;
    size_t rlen, len;
    uint32_t i, n;
    int rc = 0;

    if (!count || count > SIM_BATCH_MAX || (prot & ~(PROT_READ | PROT_WRITE))) {
        errno = EINVAL;
        return NULL;
    }
    len = sizeof(*req) + count * sizeof(req->refs[0]);
    req = calloc(1, len);
    rsp = calloc(1, sizeof(*rsp) + count * sizeof(rsp->pages[0]));
    m = calloc(1, sizeof(*m));
    if (!req || !rsp || !m) {
        rc = -ENOMEM;
        goto out;
    }
    req->count = count;
    req->writable = writable;
    req->notify_offset = notify_offset;
    req->notify_port = notify_port;
    for (i = 0; i < count; i++) {
        req->refs[i].domid = domids ? domids[i] : domid;
        req->refs[i].ref = refs[i];
    }

    pthread_mutex_lock(&h->conn.lock);
    rc = shim_call(&h->conn, SIM_OP_GNT_MAP, req, len, rsp,
                   sizeof(*rsp) + count * sizeof(rsp->pages[0]), &rlen, NULL,
                   NULL);
    if (rc)
        goto unlock;
    mapped = true;
    addr = mmap(NULL, (size_t)count * SIM_PAGE_SIZE, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
        rc = -errno;
        goto unlock;
    }
    /* Map runs of consecutive pages of one domain with one mmap. */
    for (i = 0; i < count; i += n) {
        struct shim_ram *r = ram_get(h, rsp->pages[i].dom_instance, writable,
                                     false);
        void *p;

        if (!r) {
            rc = -(errno ? errno : EIO);
            goto unlock;
        }
        for (n = 1; i + n < count &&
                    rsp->pages[i + n].dom_instance == rsp->pages[i].dom_instance &&
                    rsp->pages[i + n].page == rsp->pages[i].page + n;
             n++)
            ;
        p = mmap(addr + (size_t)i * SIM_PAGE_SIZE, (size_t)n * SIM_PAGE_SIZE,
                 writable ? PROT_READ | PROT_WRITE : PROT_READ,
                 MAP_SHARED | MAP_FIXED, writable ? r->fd_rw : r->fd_ro,
                 (off_t)rsp->pages[i].page * SIM_PAGE_SIZE);
        if (p == MAP_FAILED) {
            rc = -errno;
            goto unlock;
        }
    }
    m->addr = addr;
    m->count = count;
    m->map_id = rsp->map_id;
    m->next = h->maps;
    h->maps = m;
    m = NULL;
unlock:
    if (rc && mapped) {
        struct sim_gnt_unmap_req ureq = { rsp->map_id };

        shim_call(&h->conn, SIM_OP_GNT_UNMAP, &ureq, sizeof(ureq), NULL, 0,
                  NULL, NULL, NULL);
        if (addr != MAP_FAILED)
            munmap(addr, (size_t)count * SIM_PAGE_SIZE);
    }
    pthread_mutex_unlock(&h->conn.lock);
out:
    free(req);
    free(rsp);
    free(m);
    if (rc) {
        errno = -rc;
        return NULL;
    }
    return addr;
}

SHIM_EXPORT void *xengnttab_map_grant_ref(xengnttab_handle *xgt,
                                          uint32_t domid, uint32_t ref,
                                          int prot)
{
    return map_refs(xgt, 1, NULL, domid, &ref, prot, -1, -1);
}

SHIM_EXPORT void *xengnttab_map_grant_refs(xengnttab_handle *xgt,
                                           uint32_t count, uint32_t *domids,
                                           uint32_t *refs, int prot)
{
    return map_refs(xgt, count, domids, 0, refs, prot, -1, -1);
}

SHIM_EXPORT void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt,
                                                  uint32_t count,
                                                  uint32_t domid,
                                                  uint32_t *refs, int prot)
{
    return map_refs(xgt, count, NULL, domid, refs, prot, -1, -1);
}

SHIM_EXPORT void *xengnttab_map_grant_ref_notify(xengnttab_handle *xgt,
                                                 uint32_t domid, uint32_t ref,
                                                 int prot,
                                                 uint32_t notify_offset,
                                                 evtchn_port_t notify_port)
{
    int32_t off = notify_offset == (uint32_t)-1 ? -1 : (int32_t)notify_offset;
    int32_t port = notify_port == (evtchn_port_t)-1 ? -1 : (int32_t)notify_port;

    if (off != -1 && (uint32_t)off >= SIM_PAGE_SIZE) {
        errno = EINVAL;
        return NULL;
    }
    return map_refs(xgt, 1, NULL, domid, &ref, prot, off, port);
}

SHIM_EXPORT int xengnttab_unmap(xengnttab_handle *xgt, void *start_address,
                                uint32_t count)
{
    struct shim_map **pp, *m;
    int rc = -EINVAL;

    pthread_mutex_lock(&xgt->conn.lock);
    for (pp = &xgt->maps; (m = *pp); pp = &m->next) {
        if (m->addr == start_address && m->count == count) {
            struct sim_gnt_unmap_req req = { m->map_id };

            *pp = m->next;
            munmap(m->addr, (size_t)m->count * SIM_PAGE_SIZE);
            rc = shim_call(&xgt->conn, SIM_OP_GNT_UNMAP, &req, sizeof(req),
                           NULL, 0, NULL, NULL, NULL);
            free(m);
            break;
        }
    }
    pthread_mutex_unlock(&xgt->conn.lock);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}

SHIM_EXPORT int xengnttab_set_max_grants(xengnttab_handle *xgt,
                                         uint32_t nr_grants)
{
    struct sim_gnt_set_max_req req = { nr_grants };
    int rc;

    pthread_mutex_lock(&xgt->conn.lock);
    rc = shim_call(&xgt->conn, SIM_OP_GNT_SET_MAX, &req, sizeof(req), NULL,
                   0, NULL, NULL, NULL);
    pthread_mutex_unlock(&xgt->conn.lock);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}

static int copy_batch(xengnttab_handle *h, uint32_t count,
                      xengnttab_grant_copy_segment_t *segs,
                      struct sim_gnt_copy_req *req,
                      struct sim_gnt_copy_rsp *rsp)
{
    size_t len = sizeof(*req) + count * sizeof(req->segs[0]), rlen;
    uint32_t i;
    int rc;

    req->count = count;
    for (i = 0; i < count; i++) {
        xengnttab_grant_copy_segment_t *s = &segs[i];
        struct sim_gnt_copy_seg *q = &req->segs[i];

        memset(q, 0, sizeof(*q));
        q->len = s->len;
        if (s->flags & GNTCOPY_source_gref) {
            q->flags |= SIM_COPY_SRC_GREF;
            q->src_domid = s->source.foreign.domid;
            q->src_ref = s->source.foreign.ref;
            q->src_offset = s->source.foreign.offset;
        }
        if (s->flags & GNTCOPY_dest_gref) {
            q->flags |= SIM_COPY_DST_GREF;
            q->dst_domid = s->dest.foreign.domid;
            q->dst_ref = s->dest.foreign.ref;
            q->dst_offset = s->dest.foreign.offset;
        }
    }
    rc = shim_call(&h->conn, SIM_OP_GNT_COPY, req, len, rsp,
                   sizeof(*rsp) + count * sizeof(rsp->res[0]), &rlen, NULL,
                   NULL);
    if (rc)
        return rc;
    for (i = 0; i < count; i++) {
        xengnttab_grant_copy_segment_t *s = &segs[i];
        struct sim_gnt_copy_res *r = &rsp->res[i];
        uint8_t *src, *dst;

        s->status = (int16_t)r->status;
        if (r->status != GNTST_okay)
            continue;
        if (s->flags & GNTCOPY_source_gref) {
            struct shim_ram *ram = ram_get(h, r->src_instance, true, true);

            if (!ram) {
                s->status = GNTST_general_error;
                continue;
            }
            src = ram->base + (size_t)r->src_page * SIM_PAGE_SIZE +
                  s->source.foreign.offset;
        } else {
            src = s->source.virt;
        }
        if (s->flags & GNTCOPY_dest_gref) {
            struct shim_ram *ram = ram_get(h, r->dst_instance, true, true);

            if (!ram) {
                s->status = GNTST_general_error;
                continue;
            }
            dst = ram->base + (size_t)r->dst_page * SIM_PAGE_SIZE +
                  s->dest.foreign.offset;
        } else {
            dst = s->dest.virt;
        }
        memcpy(dst, src, s->len);
    }
    if (rsp->pin_id) {
        struct sim_gnt_unpin_req ureq = { rsp->pin_id };

        shim_send(&h->conn, SIM_OP_GNT_UNPIN, &ureq, sizeof(ureq));
    }
    return 0;
}

SHIM_EXPORT int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
                                     xengnttab_grant_copy_segment_t *segs)
{
    struct sim_gnt_copy_req *req = NULL;
    struct sim_gnt_copy_rsp *rsp = NULL;
    uint32_t i, fast = 0, batch = count < SIM_BATCH_MAX ? count : SIM_BATCH_MAX;
    bool slow;
    int rc = 0;

    /* As gntdev: the whole call fails on malformed segments. */
    for (i = 0; i < count; i++) {
        xengnttab_grant_copy_segment_t *s = &segs[i];

        if (!(s->flags & (GNTCOPY_source_gref | GNTCOPY_dest_gref)) ||
            s->len > SIM_PAGE_SIZE ||
            ((s->flags & GNTCOPY_source_gref) &&
             s->source.foreign.offset + s->len > SIM_PAGE_SIZE) ||
            ((s->flags & GNTCOPY_dest_gref) &&
             s->dest.foreign.offset + s->len > SIM_PAGE_SIZE)) {
            errno = EINVAL;
            return -1;
        }
    }
    if (!count)
        return 0;
    pthread_mutex_lock(&xgt->conn.lock);
    /* In order; a segment the fast path refuses goes to simd alone (they
     * are errors, or a grant revoked while mapped).  With copy faults
     * armed every call goes to simd as it came, so the faults count
     * calls as before. */
    slow = __atomic_load_n(&xgt->own_gt->copy_slow, __ATOMIC_ACQUIRE);
    for (i = 0; i < count && !rc;) {
        uint32_t n = count - i < batch ? count - i : batch;

        if (!slow && fast_copy(xgt, &segs[i])) {
            i++;
            fast++;
            continue;
        }
        if (!req) {
            req = malloc(sizeof(*req) + batch * sizeof(req->segs[0]));
            rsp = malloc(sizeof(*rsp) + batch * sizeof(rsp->res[0]));
            if (!req || !rsp) {
                rc = -ENOMEM;
                break;
            }
        }
        if (slow) {
            rc = copy_batch(xgt, n, segs + i, req, rsp);
            i += n;
        } else {
            rc = copy_batch(xgt, 1, segs + i, req, rsp);
            i++;
        }
    }
    if (fast) {
        __atomic_add_fetch(&xgt->own_gt->copies_total, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&xgt->own_gt->copy_segs_total, fast,
                           __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&xgt->conn.lock);
    free(req);
    free(rsp);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}

SHIM_EXPORT int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *xgt,
                                               uint32_t domid, uint32_t flags,
                                               uint32_t count,
                                               const uint32_t *refs,
                                               uint32_t *fd)
{
    errno = EOPNOTSUPP;
    return -1;
}

SHIM_EXPORT int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *xgt,
                                                   uint32_t fd,
                                                   uint32_t wait_to_ms)
{
    errno = EOPNOTSUPP;
    return -1;
}

SHIM_EXPORT int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *xgt,
                                             uint32_t domid, uint32_t fd,
                                             uint32_t count, uint32_t *refs)
{
    errno = EOPNOTSUPP;
    return -1;
}

SHIM_EXPORT int xengnttab_dmabuf_imp_release(xengnttab_handle *xgt,
                                             uint32_t fd)
{
    errno = EOPNOTSUPP;
    return -1;
}

/* ---------------------------------------------------------------- */
/* gntshr */

SHIM_EXPORT xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger,
                                             unsigned open_flags)
{
    return handle_open(SIM_HANDLE_GNTSHR);
}

SHIM_EXPORT int xengntshr_close(xengntshr_handle *xgs)
{
    if (xgs)
        handle_close(xgs);
    return 0;
}

SHIM_EXPORT int xengntshr_fd(xengntshr_handle *xgs)
{
    return xgs->conn.fd;
}

static void *share(xengntshr_handle *h, uint32_t domid, int count,
                   uint32_t *refs, int writable, int32_t notify_offset,
                   int32_t notify_port)
{
    struct sim_gnt_share_req req = { domid, (uint32_t)count, !!writable,
                                     notify_offset, notify_port };
    struct sim_gnt_share_rsp *rsp;
    struct shim_share *s;
    size_t rlen;
    void *addr = NULL;
    int rc;

    if (count <= 0 || (uint32_t)count > SIM_BATCH_MAX) {
        errno = EINVAL;
        return NULL;
    }
    rsp = malloc(sizeof(*rsp) + count * sizeof(uint32_t));
    s = calloc(1, sizeof(*s));
    if (!rsp || !s) {
        free(rsp);
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&h->conn.lock);
    rc = shim_call(&h->conn, SIM_OP_GNT_SHARE, &req, sizeof(req), rsp,
                   sizeof(*rsp) + count * sizeof(uint32_t), &rlen, NULL,
                   NULL);
    if (!rc) {
        addr = mmap(NULL, (size_t)count * SIM_PAGE_SIZE,
                    PROT_READ | PROT_WRITE, MAP_SHARED, h->ram_fd,
                    (off_t)rsp->first_page * SIM_PAGE_SIZE);
        if (addr == MAP_FAILED) {
            struct sim_gnt_unshare_req ureq = { rsp->first_page,
                                                (uint32_t)count };

            rc = -errno;
            addr = NULL;
            shim_call(&h->conn, SIM_OP_GNT_UNSHARE, &ureq, sizeof(ureq),
                      NULL, 0, NULL, NULL, NULL);
        }
    }
    if (!rc) {
        memcpy(refs, rsp->refs, count * sizeof(uint32_t));
        s->addr = addr;
        s->count = count;
        s->first_page = rsp->first_page;
        s->next = h->shares;
        h->shares = s;
        s = NULL;
    }
    pthread_mutex_unlock(&h->conn.lock);
    free(rsp);
    free(s);
    if (rc)
        errno = -rc;
    return addr;
}

SHIM_EXPORT void *xengntshr_share_pages(xengntshr_handle *xgs, uint32_t domid,
                                        int count, uint32_t *refs,
                                        int writable)
{
    return share(xgs, domid, count, refs, writable, -1, -1);
}

SHIM_EXPORT void *xengntshr_share_page_notify(xengntshr_handle *xgs,
                                              uint32_t domid, uint32_t *ref,
                                              int writable,
                                              uint32_t notify_offset,
                                              evtchn_port_t notify_port)
{
    int32_t off = notify_offset == (uint32_t)-1 ? -1 : (int32_t)notify_offset;
    int32_t port = notify_port == (evtchn_port_t)-1 ? -1 : (int32_t)notify_port;

    if (off != -1 && (uint32_t)off >= SIM_PAGE_SIZE) {
        errno = EINVAL;
        return NULL;
    }
    return share(xgs, domid, 1, ref, writable, off, port);
}

SHIM_EXPORT int xengntshr_unshare(xengntshr_handle *xgs, void *start_address,
                                  uint32_t count)
{
    struct shim_share **pp, *s;
    int rc = -EINVAL;

    pthread_mutex_lock(&xgs->conn.lock);
    for (pp = &xgs->shares; (s = *pp); pp = &s->next) {
        if (s->addr == start_address && s->count == count) {
            struct sim_gnt_unshare_req req = { s->first_page, s->count };

            *pp = s->next;
            munmap(s->addr, (size_t)s->count * SIM_PAGE_SIZE);
            rc = shim_call(&xgs->conn, SIM_OP_GNT_UNSHARE, &req, sizeof(req),
                           NULL, 0, NULL, NULL, NULL);
            free(s);
            break;
        }
    }
    pthread_mutex_unlock(&xgs->conn.lock);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}
