/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Back end of a shared ring (see ring.h).  The barriers pair with the
 * frontend's as in xen/io/ring.h: a read barrier between reading req_prod
 * and reading request slots, a write barrier between writing response
 * slots and publishing rsp_prod, full barriers around the event indices.
 */
#include <errno.h>
#include <string.h>

#include "ring.h"

RING_IDX iovm_ring_size(size_t bytes, size_t ent_size)
{
    size_t n;
    RING_IDX p = 1;

    if (bytes <= sizeof(struct iovm_sring_hdr) || !ent_size)
        return 0;
    n = (bytes - sizeof(struct iovm_sring_hdr)) / ent_size;
    if (!n)
        return 0;
    /* Round down to a power of two (__RD32). */
    while ((size_t)p * 2 <= n)
        p *= 2;
    return p;
}

int iovm_back_ring_attach(struct iovm_back_ring *r, void *sring, size_t bytes,
                          size_t ent_size)
{
    memset(r, 0, sizeof(*r));
    r->nr_ents = iovm_ring_size(bytes, ent_size);
    if (!r->nr_ents)
        return -EINVAL;
    r->sring = sring;
    r->ent_size = ent_size;
    /* Both indices the frontend left there (0 on a fresh ring). */
    r->req_cons = r->rsp_prod_pvt =
        __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_RELAXED);
    r->req_prod = r->req_cons;
    return 0;
}

int iovm_back_ring_begin(struct iovm_back_ring *r)
{
    /* One read of the frontend's index per batch. */
    RING_IDX rp = __atomic_load_n(&r->sring->req_prod, __ATOMIC_RELAXED);

    rmb(); /* the index before the slots it covers */
    /* RING_REQUEST_PROD_OVERFLOW: unsigned, so wrapping is fine. */
    if (rp - r->rsp_prod_pvt > r->nr_ents)
        return -EPROTO;
    if (rp - r->req_cons > r->nr_ents)
        return -EPROTO;
    r->req_prod = rp;
    return (int)(rp - r->req_cons);
}

IOVM_SHARED const volatile void *iovm_back_ring_next(struct iovm_back_ring *r)
{
    IOVM_SHARED const volatile uint8_t *ents;
    RING_IDX i;

    if (r->req_cons == r->req_prod)
        return NULL;
    /* RING_REQUEST_CONS_OVERFLOW: every slot owes a response. */
    if (r->req_cons - r->rsp_prod_pvt >= r->nr_ents)
        return NULL;
    i = r->req_cons++ & (r->nr_ents - 1);
    ents = (const volatile uint8_t *)(r->sring + 1);
    return ents + (size_t)i * r->ent_size;
}

IOVM_SHARED volatile void *iovm_back_ring_rsp(struct iovm_back_ring *r)
{
    IOVM_SHARED volatile uint8_t *slot;
    RING_IDX i = r->rsp_prod_pvt++ & (r->nr_ents - 1);
    size_t k;

    slot = (volatile uint8_t *)(r->sring + 1) + (size_t)i * r->ent_size;
    /* Nothing of the old request (or of ours) leaks into the reply. */
    for (k = 0; k < r->ent_size; k++)
        slot[k] = 0;
    return slot;
}

bool iovm_back_ring_push(struct iovm_back_ring *r)
{
    RING_IDX old = __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_RELAXED);
    RING_IDX new = r->rsp_prod_pvt;
    RING_IDX event;

    if (old == new)
        return false;
    wmb(); /* the responses before the index that publishes them */
    __atomic_store_n(&r->sring->rsp_prod, new, __ATOMIC_RELAXED);
    mb(); /* the index before reading when the frontend wants a kick */
    event = __atomic_load_n(&r->sring->rsp_event, __ATOMIC_RELAXED);
    return (RING_IDX)(new - event) < (RING_IDX)(new - old);
}

bool iovm_back_ring_final_check(struct iovm_back_ring *r)
{
    RING_IDX rp = __atomic_load_n(&r->sring->req_prod, __ATOMIC_RELAXED);

    if (rp != r->req_cons)
        return true;
    __atomic_store_n(&r->sring->req_event, r->req_cons + 1,
                     __ATOMIC_RELAXED);
    mb(); /* req_event before re-reading req_prod */
    rp = __atomic_load_n(&r->sring->req_prod, __ATOMIC_RELAXED);
    return rp != r->req_cons;
}
