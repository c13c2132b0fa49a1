/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Persistent-grant cache of one queue: grant references the frontend
 * keeps reusing are mapped once and kept, up to a bound; idle mappings
 * are evicted least recently used first; when every cached mapping is
 * busy a reference is mapped just for the request.  References are the
 * frontend's (untrusted); a map can fail at any time (the frontend may
 * have revoked the grant) and is reported, never fatal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blk-dev.h"
#include "log.h"

#define HASH(ref) (((ref) * 2654435761u) >> 22) /* 1024 buckets */

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

static void unmap_entry(struct pgrant_cache *c, struct pgrant *pg)
{
    if (xengnttab_unmap(c->gnt, pg->addr, 1))
        LOG_WARN("unmap of grant %u failed: %s", pg->ref, strerror(errno));
    c->unmaps++;
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
    unmap_entry(c, pg);
    c->count--;
    free(pg);
}

struct pgrant *pgrant_get(struct pgrant_cache *c, uint32_t ref)
{
    struct pgrant *pg;
    void *addr;

    for (pg = c->buckets[HASH(ref)]; pg; pg = pg->hnext) {
        if (pg->ref == ref) {
            if (!pg->busy++)
                lru_del(pg);
            c->hits++;
            return pg;
        }
    }
    /* Full: make room by dropping the least recently used idle map. */
    if (c->count >= c->max && c->lru.prev != &c->lru)
        evict(c, c->lru.prev);
    pg = calloc(1, sizeof(*pg));
    if (!pg) {
        errno = ENOMEM;
        return NULL;
    }
    /* blkif.h: persistent grants are always mapped writable. */
    addr = xengnttab_map_grant_ref(c->gnt, c->domid, ref,
                                   PROT_READ | PROT_WRITE);
    if (!addr) {
        int e = errno;

        free(pg);
        errno = e;
        return NULL;
    }
    c->maps++;
    pg->ref = ref;
    pg->addr = addr;
    pg->busy = 1;
    pg->prev = pg->next = pg;
    if (c->count >= c->max) {
        pg->transient = true; /* every cached map is busy */
        return pg;
    }
    pg->hnext = c->buckets[HASH(ref)];
    c->buckets[HASH(ref)] = pg;
    c->count++;
    return pg;
}

void pgrant_put(struct pgrant_cache *c, struct pgrant *pg)
{
    if (pg->transient) {
        unmap_entry(c, pg);
        free(pg);
        return;
    }
    if (!--pg->busy)
        lru_add(c, pg);
}

void pgrant_flush(struct pgrant_cache *c)
{
    unsigned int i;

    for (i = 0; i < 1024; i++) {
        while (c->buckets[i]) {
            struct pgrant *pg = c->buckets[i];

            c->buckets[i] = pg->hnext;
            unmap_entry(c, pg);
            free(pg);
        }
    }
    c->count = 0;
    c->lru.prev = c->lru.next = &c->lru;
}
