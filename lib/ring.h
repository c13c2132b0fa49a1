/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The back (consumer) end of a Xen shared ring whose entry size is only
 * known at run time (blkif has three ABIs), following the index rules of
 * the system's xen/io/ring.h: the frontend's req_prod is read once per
 * batch, checked against the ring size before use, and every request slot
 * is handed out exactly once for the caller to copy; responses go into
 * zeroed slots and are pushed with the req_event/rsp_event notification
 * check.  The ring memory is the frontend's: nothing read from it is
 * trusted.
 */
#ifndef IOVM_RING_H
#define IOVM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/io/ring.h>

/* The barriers xen/io/ring.h's macros expect the includer to provide. */
#ifndef mb
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
#ifndef rmb
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif
#ifndef wmb
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

/* Marks pointers into memory a peer can write (grep for it). */
#define IOVM_SHARED

/* The index header at the start of every shared ring (ring.h layout). */
struct iovm_sring_hdr {
    RING_IDX req_prod, req_event;
    RING_IDX rsp_prod, rsp_event;
    uint8_t pad[48];
};
_Static_assert(sizeof(struct iovm_sring_hdr) == 64, "sring header");

struct iovm_back_ring {
    IOVM_SHARED struct iovm_sring_hdr *sring;
    size_t ent_size;
    RING_IDX nr_ents;
    RING_IDX req_cons;     /* next request to take */
    RING_IDX rsp_prod_pvt; /* next response slot */
    RING_IDX req_prod;     /* snapshot of the frontend's index */
};

/* The number of entries of a ring of bytes (as __RING_SIZE). */
RING_IDX iovm_ring_size(size_t bytes, size_t ent_size);

/* Attaches to a ring the frontend initialised; indices start at its
 * current values.  Returns 0 or -EINVAL (ring too small). */
int iovm_back_ring_attach(struct iovm_back_ring *r, void *sring, size_t bytes,
                          size_t ent_size);

/*
 * Starts a batch: snapshots req_prod.  Returns -EPROTO if the frontend
 * claims more requests than can be outstanding (a corrupt or hostile
 * index: the ring must be halted), else the number of requests available.
 */
int iovm_back_ring_begin(struct iovm_back_ring *r);

/*
 * The next request slot of the batch, or NULL when the batch is done or
 * every slot is busy (each consumed request still owes a response).  The
 * caller must copy the slot once and use only the copy.
 */
IOVM_SHARED const volatile void *iovm_back_ring_next(struct iovm_back_ring *r);

/* Requests taken but not yet answered. */
static inline RING_IDX iovm_back_ring_inflight(const struct iovm_back_ring *r)
{
    return r->req_cons - r->rsp_prod_pvt;
}

/* A zeroed response slot; it becomes visible at the next push. */
IOVM_SHARED volatile void *iovm_back_ring_rsp(struct iovm_back_ring *r);

/* Publishes responses; true if the frontend asked to be notified. */
bool iovm_back_ring_push(struct iovm_back_ring *r);

/*
 * Before sleeping: asks to be notified of the next request and checks
 * once more.  True if requests arrived meanwhile (do not sleep).
 */
bool iovm_back_ring_final_check(struct iovm_back_ring *r);

#endif
