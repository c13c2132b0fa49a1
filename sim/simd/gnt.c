/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Grant tables with v1 semantics.  A granting domain shares pages of its
 * RAM with one grantee, read-only or writable; only that grantee may map
 * or copy them, never writably when read-only; access cannot end while a
 * mapping or copy holds the grant (the sharer's pages then live on until
 * the last user lets go, as Linux gntalloc defers them, and the grantee
 * may map them again meanwhile); grant copy checks every segment and
 * reports a status per segment.  The entries live in a table the shims
 * share (sim-proto.h, struct sim_gnt_table): a shim's grant copy pins
 * entries there itself and comes here only when it cannot decide.
 *
 * References, page numbers and map ids come from shims and are checked
 * against simd's tables before any use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "log.h"
#include "simd.h"

#define DOMID_SELF_ID 0x7ff0u

static bool page_test(const struct sim_dom *d, uint32_t p)
{
    return d->page_used[p / 8] & (1u << (p % 8));
}

static void page_set(struct sim_dom *d, uint32_t p, bool used)
{
    if (used)
        d->page_used[p / 8] |= 1u << (p % 8);
    else
        d->page_used[p / 8] &= ~(1u << (p % 8));
}

/* First fit of count contiguous pages, starting at the rover. */
static int pages_alloc(struct sim_dom *d, uint32_t count, uint32_t *first)
{
    uint32_t start = d->page_rover, p = start, run = 0, wrapped = 0;

    if (count > SIM_DOM_PAGES - d->pages_used)
        return -ENOMEM;
    while (!wrapped || p < start) {
        if (p + count > SIM_DOM_PAGES) {
            if (wrapped)
                break;
            wrapped = 1;
            p = 0;
            run = 0;
            continue;
        }
        if (page_test(d, p + run)) {
            p += run + 1;
            run = 0;
            continue;
        }
        if (++run == count) {
            uint32_t i;

            for (i = 0; i < count; i++)
                page_set(d, p + i, true);
            d->pages_used += count;
            d->page_rover = p + count;
            *first = p;
            return 0;
        }
    }
    return -ENOMEM;
}

static void page_free(struct sim_dom *d, uint32_t p)
{
    if (!page_test(d, p))
        return;
    page_set(d, p, false);
    d->pages_used--;
    /* Give the memory back; later mappings of it read zeroes. */
    fallocate(d->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
              (off_t)p * SIM_PAGE_SIZE, SIM_PAGE_SIZE);
}

#define PINS(w) ((w) & SIM_GNTW_PINS)

uint32_t gnt_word(const struct sim_dom *d, uint32_t ref)
{
    return __atomic_load_n(&d->gt->e[ref].word, __ATOMIC_ACQUIRE);
}

/* Drops one use; frees a revoked grant (and its page) on the last one.
 * Once REVOKED is set no shim can pin it, so no pins seen stays so. */
static void grant_put(struct sim_dom *d, uint32_t ref)
{
    struct sim_gnt_entry *e = &d->gt->e[ref];
    uint32_t w = gnt_word(d, ref);

    if ((w & SIM_GNTW_IN_USE) && (w & SIM_GNTW_REVOKED) && !PINS(w) &&
        !d->grants[ref].maps) {
        page_free(d, e->page);
        __atomic_store_n(&e->word, 0, __ATOMIC_RELEASE);
        e->grantee = e->page = 0;
        memset(&d->grants[ref], 0, sizeof(d->grants[ref]));
        d->grants_used--;
    }
}

/* Holds or lets go of an entry for a copy simd checks itself. */
static void grant_pin(struct sim_dom *d, uint32_t ref)
{
    __atomic_add_fetch(&d->gt->e[ref].word, 1, __ATOMIC_ACQ_REL);
}

static void grant_unpin(struct sim_dom *d, uint32_t ref)
{
    uint32_t w = gnt_word(d, ref);

    /* Never below zero, whatever a dead shim's log said. */
    while (PINS(w) &&
           !__atomic_compare_exchange_n(&d->gt->e[ref].word, &w, w - 1,
                                        false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
        ;
    grant_put(d, ref);
}

/*
 * The grant a caller in domain `caller` may use, or a GNTST_ error as
 * Xen's map_grant_ref() and acquire_grant_for_copy() give it: a reference
 * beyond the granter's table is bad_gntref; an entry that does not let
 * the caller in (free, ended, for another domain, read-only for a write)
 * is general_error.  Xen checks the entry's flags only when nothing has
 * it pinned: while the grantee maps it (or copies with it) it may pin it
 * again, even though its sharer has let go.
 */
static int grant_check(struct simd *sd, uint32_t caller, uint32_t domid,
                       uint32_t ref, bool write, struct sim_dom **dp)
{
    struct sim_dom *d;
    uint32_t w;

    if (domid == DOMID_SELF_ID)
        domid = caller;
    d = dom_by_id(sd, domid);
    if (!d)
        return GNTST_bad_domain;
    if (ref >= d->grant_entries)
        return GNTST_bad_gntref;
    w = gnt_word(d, ref);
    if (!(w & SIM_GNTW_IN_USE) || d->gt->e[ref].grantee != caller ||
        ((w & SIM_GNTW_REVOKED) && !d->grants[ref].maps && !PINS(w)))
        return GNTST_general_error;
    if (write && (w & SIM_GNTW_READONLY))
        return GNTST_general_error;
    *dp = d;
    return GNTST_okay;
}

bool gnt_dom_grants_to(struct sim_dom *granter, uint32_t grantee)
{
    uint32_t r;

    for (r = SIM_GNT_FIRST; r < granter->grant_entries; r++)
        if ((gnt_word(granter, r) & SIM_GNTW_IN_USE) &&
            granter->gt->e[r].grantee == grantee)
            return true;
    return false;
}

int gnt_share(struct hv_conn *c, const struct sim_gnt_share_req *req,
              uint32_t *first_page, uint32_t *refs)
{
    struct sim_dom *d = c->dom;
    struct hv_share *s;
    uint32_t i, r;
    int rc;

    if (req->domid >= DOMID_SELF_ID ||
        (req->notify_offset != -1 &&
         (req->notify_offset < 0 ||
          (uint32_t)req->notify_offset >= SIM_PAGE_SIZE)) ||
        (req->notify_port != -1 &&
         (req->notify_port <= 0 ||
          (uint32_t)req->notify_port >= SIM_EVTCHN_NR)))
        return -EINVAL;
    if (d->grants_used + req->count > SIM_GNT_NR - SIM_GNT_FIRST)
        return -ENOSPC;
    s = calloc(1, sizeof(*s) + req->count * sizeof(uint32_t));
    if (!s)
        return -ENOMEM;
    rc = pages_alloc(d, req->count, &s->first_page);
    if (rc) {
        free(s);
        return rc;
    }
    for (i = 0; i < req->count; i++) {
        /* Lowest free reference at or after the rover. */
        for (r = d->grant_rover;; r++) {
            if (r >= SIM_GNT_NR)
                r = SIM_GNT_FIRST;
            if (!(gnt_word(d, r) & SIM_GNTW_IN_USE))
                break;
        }
        d->grant_rover = r + 1;
        /* The kernel grows its table a frame at a time as it needs. */
        if (r >= d->grant_entries) {
            d->grant_entries = (r / SIM_GNT_PER_FRAME + 1) * SIM_GNT_PER_FRAME;
            __atomic_store_n(&d->gt->entries, d->grant_entries,
                             __ATOMIC_RELEASE);
        }
        d->grants[r] = (struct sim_grant){ .owner = c };
        d->gt->e[r].grantee = req->domid;
        d->gt->e[r].page = s->first_page + i;
        __atomic_store_n(&d->gt->e[r].word,
                         SIM_GNTW_IN_USE |
                             (req->writable ? 0 : SIM_GNTW_READONLY),
                         __ATOMIC_RELEASE);
        d->grants_used++;
        s->refs[i] = refs[i] = r;
    }
    s->count = req->count;
    s->notify_offset = req->notify_offset;
    s->notify_port = req->notify_port;
    s->next = c->shares;
    c->shares = s;
    *first_page = s->first_page;
    return 0;
}

static void share_end(struct hv_conn *c, struct hv_share *s)
{
    struct sim_dom *d = c->dom;
    uint32_t i;

    /* gntalloc's unmap notification: clear a byte, then send. */
    if (s->notify_offset >= 0)
        d->mem[(size_t)s->first_page * SIM_PAGE_SIZE + s->notify_offset] = 0;
    if (s->notify_port > 0)
        evt_send(d, s->notify_port);
    for (i = 0; i < s->count; i++) {
        uint32_t r = s->refs[i];

        if ((gnt_word(d, r) & SIM_GNTW_IN_USE) && d->grants[r].owner == c) {
            __atomic_or_fetch(&d->gt->e[r].word, SIM_GNTW_REVOKED,
                              __ATOMIC_ACQ_REL);
            d->grants[r].owner = NULL;
            grant_put(d, r);
        } else {
            page_free(d, s->first_page + i);
        }
    }
}

int gnt_unshare(struct hv_conn *c, uint32_t first_page, uint32_t count)
{
    struct hv_share **pp, *s;

    for (pp = &c->shares; (s = *pp); pp = &s->next) {
        if (s->first_page == first_page && s->count == count) {
            *pp = s->next;
            share_end(c, s);
            free(s);
            return 0;
        }
    }
    return -EINVAL;
}

int gnt_end_access(struct sim_dom *d, uint32_t ref)
{
    uint32_t w;

    if (ref >= SIM_GNT_NR)
        return -EINVAL;
    w = gnt_word(d, ref);
    if (!(w & SIM_GNTW_IN_USE))
        return -ENOENT;
    if (d->grants[ref].maps || PINS(w))
        return -EBUSY;
    if (w & SIM_GNTW_REVOKED) {
        grant_put(d, ref);
        return 0;
    }
    /* The share keeps its page; only the access ends.  A copy may pin
     * the entry at this very moment: then it is busy. */
    if (!__atomic_compare_exchange_n(&d->gt->e[ref].word, &w, 0, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return -EBUSY;
    d->gt->e[ref].grantee = d->gt->e[ref].page = 0;
    memset(&d->grants[ref], 0, sizeof(d->grants[ref]));
    d->grants_used--;
    return 0;
}

int gnt_map(struct hv_conn *c, const struct sim_gnt_map_req *req,
            struct sim_gnt_map_rsp *rsp)
{
    struct sim_dom *self = c->dom;
    struct hv_map *m;
    uint32_t i;

    if (self->fail_map) {
        self->fail_map--;
        return -self->fail_map_errno;
    }
    if (req->count > 1 &&
        (req->notify_offset != -1 || req->notify_port != -1))
        return -EINVAL;
    if ((req->notify_offset != -1 &&
         (req->notify_offset < 0 ||
          (uint32_t)req->notify_offset >= SIM_PAGE_SIZE)) ||
        (req->notify_port != -1 &&
         (req->notify_port <= 0 ||
          (uint32_t)req->notify_port >= SIM_EVTCHN_NR)))
        return -EINVAL;
    if (c->max_grants && c->mapped + req->count > c->max_grants)
        return -ENOSPC;
    /* All or nothing, as a gntdev mmap: check everything first. */
    for (i = 0; i < req->count; i++) {
        struct sim_dom *d;
        int st = grant_check(self->sd, self->domid, req->refs[i].domid,
                             req->refs[i].ref, req->writable, &d);

        if (st != GNTST_okay) {
            LOG_DEBUG("dom%u: map of dom%u ref %u refused (%d)",
                      self->domid, req->refs[i].domid, req->refs[i].ref, st);
            return -EINVAL;
        }
    }
    m = calloc(1, sizeof(*m) + req->count * sizeof(m->e[0]));
    if (!m)
        return -ENOMEM;
    for (i = 0; i < req->count; i++) {
        struct sim_dom *d;

        grant_check(self->sd, self->domid, req->refs[i].domid,
                    req->refs[i].ref, req->writable, &d);
        d->grants[req->refs[i].ref].maps++;
        m->e[i].instance = d->instance;
        m->e[i].ref = req->refs[i].ref;
        m->e[i].page = d->gt->e[req->refs[i].ref].page;
        rsp->pages[i].dom_instance = d->instance;
        rsp->pages[i].page = m->e[i].page;
        rsp->pages[i].pad = 0;
    }
    m->id = c->next_map_id++;
    if (!m->id)
        m->id = c->next_map_id++;
    m->count = req->count;
    m->notify_offset = req->notify_offset;
    m->notify_port = req->notify_port;
    m->next = c->maps;
    c->maps = m;
    c->mapped += req->count;
    self->maps_total += req->count;
    rsp->map_id = m->id;
    rsp->count = req->count;
    return 0;
}

static void map_end(struct hv_conn *c, struct hv_map *m)
{
    struct simd *sd = c->dom->sd;
    uint32_t i;

    for (i = 0; i < m->count; i++) {
        struct sim_dom *d = dom_by_instance(sd, m->e[i].instance);

        if (!d)
            continue; /* the granter is gone; nothing left to release */
        if (i == 0 && m->notify_offset >= 0)
            d->mem[(size_t)m->e[0].page * SIM_PAGE_SIZE + m->notify_offset] =
                0;
        d->grants[m->e[i].ref].maps--;
        grant_put(d, m->e[i].ref);
    }
    if (m->notify_port > 0)
        evt_send(c->dom, m->notify_port);
    c->mapped -= m->count;
}

int gnt_unmap(struct hv_conn *c, uint32_t map_id)
{
    struct hv_map **pp, *m;

    for (pp = &c->maps; (m = *pp); pp = &m->next) {
        if (m->id == map_id) {
            *pp = m->next;
            map_end(c, m);
            free(m);
            return 0;
        }
    }
    return -EINVAL;
}

static int copy_side(struct hv_conn *c, uint32_t domid, uint32_t ref,
                     uint32_t offset, uint32_t len, bool write,
                     struct sim_dom **dp)
{
    int st;

    if (offset >= SIM_PAGE_SIZE || len > SIM_PAGE_SIZE - offset)
        return GNTST_bad_copy_arg;
    st = grant_check(c->dom->sd, c->dom->domid, domid, ref, write, dp);
    /* As Xen's pin counts: no more holds than the field counts. */
    if (st == GNTST_okay && PINS(gnt_word(*dp, ref)) >= SIM_GNTW_PINS - 1)
        st = GNTST_general_error;
    return st;
}

int gnt_copy(struct hv_conn *c, const struct sim_gnt_copy_req *req,
             struct sim_gnt_copy_rsp *rsp)
{
    struct sim_dom *self = c->dom;
    struct hv_pin *pin;
    uint32_t i, npin = 0;

    if (self->fail_copy) {
        self->fail_copy--;
        gnt_copy_faults_changed(self);
        return -self->fail_copy_errno;
    }
    pin = calloc(1, sizeof(*pin) + 2 * req->count * sizeof(pin->e[0]));
    if (!pin)
        return -ENOMEM;
    for (i = 0; i < req->count; i++) {
        const struct sim_gnt_copy_seg *s = &req->segs[i];
        struct sim_gnt_copy_res *r = &rsp->res[i];
        struct sim_dom *sd_ = NULL, *dd = NULL;
        int st = GNTST_okay;

        memset(r, 0, sizeof(*r));
        if (!(s->flags & (SIM_COPY_SRC_GREF | SIM_COPY_DST_GREF)) ||
            (s->flags & ~(SIM_COPY_SRC_GREF | SIM_COPY_DST_GREF)))
            st = GNTST_general_error;
        if (st == GNTST_okay && (s->flags & SIM_COPY_SRC_GREF))
            st = copy_side(c, s->src_domid, s->src_ref, s->src_offset,
                           s->len, false, &sd_);
        if (st == GNTST_okay && (s->flags & SIM_COPY_DST_GREF))
            st = copy_side(c, s->dst_domid, s->dst_ref, s->dst_offset,
                           s->len, true, &dd);
        if (st == GNTST_okay && self->fail_copy_seg) {
            self->fail_copy_seg--;
            gnt_copy_faults_changed(self);
            st = GNTST_general_error;
        }
        r->status = st;
        if (st != GNTST_okay)
            continue;
        /* Hold the grants until the shim has copied (GNT_UNPIN). */
        if (sd_) {
            grant_pin(sd_, s->src_ref);
            pin->e[npin].instance = sd_->instance;
            pin->e[npin++].ref = s->src_ref;
            r->src_instance = sd_->instance;
            r->src_page = sd_->gt->e[s->src_ref].page;
        }
        if (dd) {
            grant_pin(dd, s->dst_ref);
            pin->e[npin].instance = dd->instance;
            pin->e[npin++].ref = s->dst_ref;
            r->dst_instance = dd->instance;
            r->dst_page = dd->gt->e[s->dst_ref].page;
        }
    }
    __atomic_add_fetch(&self->gt->copies_total, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&self->gt->copy_segs_total, req->count,
                       __ATOMIC_RELAXED);
    rsp->count = req->count;
    if (!npin) {
        free(pin);
        rsp->pin_id = 0;
        return 0;
    }
    pin->count = npin;
    pin->id = c->next_pin_id++;
    if (!pin->id)
        pin->id = c->next_pin_id++;
    pin->next = c->pins;
    c->pins = pin;
    rsp->pin_id = pin->id;
    return 0;
}

static void pin_end(struct hv_conn *c, struct hv_pin *p)
{
    uint32_t i;

    for (i = 0; i < p->count; i++) {
        struct sim_dom *d = dom_by_instance(c->dom->sd, p->e[i].instance);

        if (!d)
            continue;
        grant_unpin(d, p->e[i].ref);
    }
}

void gnt_unpin(struct hv_conn *c, uint32_t pin_id)
{
    struct hv_pin **pp, *p;

    for (pp = &c->pins; (p = *pp); pp = &p->next) {
        if (p->id == pin_id) {
            *pp = p->next;
            pin_end(c, p);
            free(p);
            return;
        }
    }
}

void gnt_reclaim(struct simd *sd, uint64_t instance, uint32_t ref)
{
    struct sim_dom *d = dom_by_instance(sd, instance);

    if (d && ref < SIM_GNT_NR)
        grant_put(d, ref);
}

void gnt_copy_faults_changed(struct sim_dom *d)
{
    __atomic_store_n(&d->gt->copy_slow, d->fail_copy || d->fail_copy_seg,
                     __ATOMIC_RELEASE);
}

/* The pins a closed handle's shim still held (sim-proto.h). */
static void pin_log_release(struct hv_conn *c)
{
    unsigned int i;

    for (i = 0; i < 2; i++) {
        uint32_t st = __atomic_load_n(&c->pin_log->e[i].state,
                                      __ATOMIC_ACQUIRE);
        uint64_t inst = c->pin_log->e[i].dom_instance;
        uint32_t ref = c->pin_log->e[i].ref;
        struct sim_dom *d;

        if (st == SIM_PIN_FREE)
            continue;
        d = dom_by_instance(c->dom->sd, inst);
        if (!d || ref >= SIM_GNT_NR)
            continue;
        if (st == SIM_PIN_PINNED)
            grant_unpin(d, ref);
        else
            LOG_WARN("dom%u: a handle died pinning dom%u ref %u; the grant "
                     "stays held",
                     c->dom->domid, d->domid, ref);
    }
}

void gnt_release_conn(struct hv_conn *c)
{
    if (c->pin_log)
        pin_log_release(c);
    while (c->maps) {
        struct hv_map *m = c->maps;

        c->maps = m->next;
        map_end(c, m);
        free(m);
    }
    while (c->pins) {
        struct hv_pin *p = c->pins;

        c->pins = p->next;
        pin_end(c, p);
        free(p);
    }
    while (c->shares) {
        struct hv_share *s = c->shares;

        c->shares = s->next;
        share_end(c, s);
        free(s);
    }
}
