/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Persistent-grant cache of one queue: grant references the frontend
 * keeps reusing are mapped once and kept, up to a bound; idle mappings
 * are evicted least recently used first; when every cached mapping is
 * busy a reference is mapped just for the request.  References are the
 * frontend's (untrusted); a map can fail at any time (the frontend may
 * have revoked the grant) and is reported, never fatal.
 *
 * The references a request brings that are not cached yet are mapped
 * together, in one call (one gntdev mapping, "chunk"); a chunk is unmapped
 * in one call too, once none of its pages is cached any more.  Mapping
 * and, above all, unmapping page by page is what makes a disconnect slow:
 * every unmap is a few system calls, a hypercall and a TLB flush.  Pages
 * of a chunk evicted early stay mapped until the chunk goes; eviction
 * keeps all mapped pages within twice the bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blk-dev.h"
#include "log.h"

#define PAGE 4096u
#define HASH(ref) (((ref) * 2654435761u) >> 22) /* 1024 buckets */

struct pgrant_chunk {
    void *addr;            /* IOVM_SHARED: npages of the guest's pages */
    unsigned int npages;
    unsigned int live;     /* entries not yet released */
    struct pgrant ent[];   /* one per page, freed with the chunk */
};

static void lru_del(struct pgrant *pg)
{
    pg->prev->next = pg->next;
    pg->next->prev = pg->prev;
    pg->prev = pg->next = pg;
}

static void lru_add(struct pgrant_cache *c, struct pgrant *pg)
{
    pg->next = c->lru.next;
    pg->prev = &c->lru;
    c->lru.next->prev = pg;
    c->lru.next = pg;
}

void pgrant_init(struct pgrant_cache *c, xengnttab_handle *gnt,
                 uint32_t domid, unsigned int max)
{
    memset(c, 0, sizeof(*c));
    c->gnt = gnt;
    c->domid = domid;
    c->max = max;
    c->lru.prev = c->lru.next = &c->lru;
}

/* An entry is gone; its chunk goes with its last entry. */
static void release_entry(struct pgrant_cache *c, struct pgrant *pg)
{
    struct pgrant_chunk *ch = pg->chunk;

    if (--ch->live)
        return;
    if (xengnttab_unmap(c->gnt, ch->addr, ch->npages))
        LOG_WARN("unmap of %u granted pages failed: %s", ch->npages,
                 strerror(errno));
    c->unmaps += ch->npages;
    c->mapped -= ch->npages;
    free(ch);
}

static void evict(struct pgrant_cache *c, struct pgrant *pg)
{
    struct pgrant **pp;

    for (pp = &c->buckets[HASH(pg->ref)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == pg) {
            *pp = pg->hnext;
            break;
        }
    }
    lru_del(pg);
    c->count--;
    release_entry(c, pg);
}

static struct pgrant *lookup(struct pgrant_cache *c, uint32_t ref)
{
    struct pgrant *pg;

    for (pg = c->buckets[HASH(ref)]; pg; pg = pg->hnext)
        if (pg->ref == ref)
            return pg;
    return NULL;
}

/* Maps refs[0..n) in one call; the chunk's entries are for them. */
static struct pgrant_chunk *map_chunk(struct pgrant_cache *c,
                                      const uint32_t *refs, unsigned int n)
{
    struct pgrant_chunk *ch = calloc(1, sizeof(*ch) + n * sizeof(ch->ent[0]));
    unsigned int i;
    int e;

    if (!ch) {
        errno = ENOMEM;
        return NULL;
    }
    /* blkif.h: persistent grants are always mapped writable. */
    ch->addr = xengnttab_map_domain_grant_refs(c->gnt, n, c->domid,
                                               (uint32_t *)refs,
                                               PROT_READ | PROT_WRITE);
    if (!ch->addr) {
        e = errno;
        free(ch);
        errno = e;
        return NULL;
    }
    ch->npages = ch->live = n;
    c->maps += n;
    c->map_calls++;
    c->mapped += n;
    for (i = 0; i < n; i++) {
        struct pgrant *pg = &ch->ent[i];

        pg->ref = refs[i];
        pg->addr = (char *)ch->addr + (size_t)i * PAGE;
        pg->chunk = ch;
        pg->prev = pg->next = pg;
        if (c->count < c->max) {
            pg->hnext = c->buckets[HASH(pg->ref)];
            c->buckets[HASH(pg->ref)] = pg;
            c->count++;
        } else {
            pg->transient = true; /* every cached map is busy */
        }
    }
    return ch;
}

int pgrant_get_many(struct pgrant_cache *c, const uint32_t *refs,
                    unsigned int n, struct pgrant **out)
{
    uint32_t miss[BLK_MAX_SEGS];
    uint16_t which[BLK_MAX_SEGS]; /* refs[i] is miss[which[i]] */
    struct pgrant_chunk *ch;
    unsigned int i, j, m = 0;

    if (n > BLK_MAX_SEGS)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        out[i] = lookup(c, refs[i]);
        if (out[i]) {
            if (!out[i]->busy++)
                lru_del(out[i]);
            c->hits++;
            continue;
        }
        /* A reference twice in one request is mapped once. */
        for (j = 0; j < m && miss[j] != refs[i]; j++)
            ;
        if (j == m)
            miss[m++] = refs[i];
        which[i] = (uint16_t)j;
    }
    if (!m)
        return 0;
    /* Room: idle entries go, least recently used first, and pages kept
     * only by half-evicted chunks stay within the bound. */
    while (c->lru.prev != &c->lru &&
           (c->count + m > c->max || c->mapped + m > 2 * c->max))
        evict(c, c->lru.prev);
    ch = map_chunk(c, miss, m);
    if (!ch) {
        int e = errno;

        /* Whose fault?  Not ours to find out: the request fails. */
        for (i = 0; i < n; i++)
            if (out[i])
                pgrant_put(c, out[i]);
        return -e;
    }
    for (i = 0; i < n; i++) {
        if (!out[i]) {
            out[i] = &ch->ent[which[i]];
            out[i]->busy++;
        }
    }
    return 0;
}

void pgrant_put(struct pgrant_cache *c, struct pgrant *pg)
{
    if (--pg->busy)
        return;
    if (pg->transient)
        release_entry(c, pg); /* mapped for its request(s) only */
    else
        lru_add(c, pg);
}

struct pgrant *pgrant_get(struct pgrant_cache *c, uint32_t ref)
{
    struct pgrant *pg;
    int rc = pgrant_get_many(c, &ref, 1, &pg);

    if (rc) {
        errno = -rc;
        return NULL;
    }
    return pg;
}

void pgrant_flush(struct pgrant_cache *c)
{
    unsigned int i;

    for (i = 0; i < 1024; i++) {
        while (c->buckets[i]) {
            struct pgrant *pg = c->buckets[i];

            c->buckets[i] = pg->hnext;
            lru_del(pg);
            c->count--;
            release_entry(c, pg);
        }
    }
    if (c->mapped)
        LOG_WARN("%u granted pages still mapped after a flush (entries "
                 "still in use)",
                 c->mapped);
}
