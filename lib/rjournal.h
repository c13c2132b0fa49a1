/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ring journal: what a backend process has taken from its shared
 * rings and not yet answered, kept where the process's death does not
 * take it (a memfd that iovmd creates per device and holds across the
 * backend's restarts).  With it the next process answers every request
 * the frontend still waits for, exactly once, without the frontend
 * noticing.
 *
 * Why the ring alone is not enough: a response overwrites the slot of
 * the oldest request not yet answered in ring order, so once responses
 * are written (and perhaps not yet published) the ring no longer holds
 * every outstanding request; and which of the taken requests were
 * answered is known only to the process that answered them.
 *
 * The rules (each store is a release store, in this order, so that the
 * journal describes a consistent point whatever instruction the process
 * dies at):
 *   take:    copy the slot into the entry, entry TAKEN (with its ring
 *            index), then req_cons past it.  A TAKEN entry whose index
 *            is not below req_cons was never taken: the slot is still in
 *            the ring and is read again.
 *   answer:  entry ANSWERING (status, and the response index it goes
 *            to), write the response slot, rsp_prod_pvt past it, entry
 *            FREE.  Nothing is published (the ring's rsp_prod) before
 *            rsp_prod_pvt covers it.  An ANSWERING entry whose response
 *            index is below rsp_prod_pvt was answered; otherwise its
 *            response is written again, to the same slot.
 * So after a death: the requests to serve again are the TAKEN entries
 * (in ring order), at most one response is to be written again, and the
 * ring indices to go on from are req_cons and rsp_prod_pvt; the process
 * publishes its responses and notifies the frontend once, since a
 * notification may have been lost with the old process.
 *
 * Trust: the journal is written by backend processes only; one that was
 * compromised may leave anything in it, so recovery checks every index
 * and count, and the requests recovered go through the same checks as
 * ones read from the ring.  A journal that does not add up fails the
 * device; it never crashes the process.
 */
#ifndef IOVM_RJOURNAL_H
#define IOVM_RJOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOVM_RJ_MAGIC 0x316c6e726a6d766full /* "ovmjrnl1" */
#define IOVM_RJ_VERSION 1u
#define IOVM_RJ_MAX_QUEUES 16u
#define IOVM_RJ_MAX_ENTS 512u  /* per queue: a 16-page blkif ring */
#define IOVM_RJ_REQ_BYTES 112u /* the largest request slot (blkif) */

enum iovm_rj_state {
    IOVM_RJ_FREE = 0,
    IOVM_RJ_TAKEN = 1,
    IOVM_RJ_ANSWERING = 2,
};

struct iovm_rj_ent {
    uint32_t state;        /* enum iovm_rj_state */
    uint32_t ring_idx;     /* TAKEN: the request's index in the ring */
    uint32_t rsp_idx;      /* ANSWERING: the response's index */
    int32_t status;        /* ANSWERING: what is answered */
    uint8_t req[IOVM_RJ_REQ_BYTES]; /* the slot, as it was taken */
};

struct iovm_rj_queue {
    uint32_t req_cons;     /* requests taken up to here */
    uint32_t rsp_prod_pvt; /* responses written up to here */
    uint32_t pad[14];
    struct iovm_rj_ent ent[IOVM_RJ_MAX_ENTS];
};

struct iovm_rjournal {
    uint64_t magic;
    uint32_t version;
    uint32_t valid;        /* 1: it describes the connection of key */
    uint64_t key;          /* what the connection was (class-defined) */
    uint32_t nqueues;
    uint32_t pad[9];
    struct iovm_rj_queue q[IOVM_RJ_MAX_QUEUES];
};

/* What the next process is to do for a queue (iovm_rj_recover). */
struct iovm_rj_recovery {
    uint32_t req_cons, rsp_prod_pvt; /* go on from these */
    unsigned int nreplay;            /* TAKEN entries, in ring order */
    uint16_t replay[IOVM_RJ_MAX_ENTS];
    int answer;                      /* an entry to answer again, or -1 */
};

/* Bytes a journal needs (iovmd sizes its memfd so). */
size_t iovm_rj_size(void);
/* Maps fd (read-write, shared); NULL + errno if it is too small. */
struct iovm_rjournal *iovm_rj_map(int fd);
void iovm_rj_unmap(struct iovm_rjournal *j);

/* A new connection: empties the queues' journals and records key. */
void iovm_rj_begin(struct iovm_rjournal *j, uint64_t key, unsigned int nq);
/* Sets a queue's indices (where its ring starts) once, at connect. */
void iovm_rj_queue_init(struct iovm_rj_queue *jq, uint32_t req_cons,
                        uint32_t rsp_prod_pvt);
/* The connection is complete (every queue initialised). */
void iovm_rj_commit(struct iovm_rjournal *j);
/* The connection ended with nothing outstanding: nothing to resume. */
void iovm_rj_end(struct iovm_rjournal *j);
/* Does j describe a live connection of key? */
bool iovm_rj_matches(const struct iovm_rjournal *j, uint64_t key,
                     unsigned int nq);

/*
 * Takes the slot at ring index ring_idx into entry e (len bytes, read
 * once) and moves req_cons past it.  Returns the private copy, for the
 * caller to parse.
 */
const uint8_t *iovm_rj_take(struct iovm_rj_queue *jq, unsigned int e,
                            uint32_t ring_idx, const volatile void *slot,
                            size_t len);
/* Before writing entry e's response at rsp_idx. */
void iovm_rj_answering(struct iovm_rj_queue *jq, unsigned int e,
                       uint32_t rsp_idx, int32_t status);
/* After writing it: rsp_prod_pvt is now past it. */
void iovm_rj_answered(struct iovm_rj_queue *jq, unsigned int e,
                      uint32_t rsp_prod_pvt);

/*
 * What a queue's journal says is outstanding, for a ring of nents
 * entries: fills rec and frees the entries that were done.  -EBADMSG if
 * the journal does not add up (the caller fails the device).
 */
int iovm_rj_recover(struct iovm_rj_queue *jq, unsigned int nents,
                    struct iovm_rj_recovery *rec);

/* FNV-1a, for building connection keys. */
uint64_t iovm_rj_hash(uint64_t h, const void *data, size_t len);
#define IOVM_RJ_HASH_INIT 0xcbf29ce484222325ull

#endif
