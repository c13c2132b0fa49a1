/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ring journal (see rjournal.h for the rules).  Every store that
 * moves the journal from one consistent point to the next is a release
 * store, after the plain stores it covers; the process reading it is a
 * later one (its predecessor is gone), so ordering is all that matters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "rjournal.h"

#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)

size_t iovm_rj_size(void)
{
    return sizeof(struct iovm_rjournal);
}

struct iovm_rjournal *iovm_rj_map(int fd)
{
    struct stat sb;
    void *p;

    if (fstat(fd, &sb))
        return NULL;
    if ((size_t)sb.st_size < sizeof(struct iovm_rjournal)) {
        errno = EINVAL;
        return NULL;
    }
    p = mmap(NULL, sizeof(struct iovm_rjournal), PROT_READ | PROT_WRITE,
             MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

void iovm_rj_unmap(struct iovm_rjournal *j)
{
    if (j)
        munmap(j, sizeof(*j));
}

void iovm_rj_begin(struct iovm_rjournal *j, uint64_t key, unsigned int nq)
{
    unsigned int i;

    STORE(j->valid, 0u);
    for (i = 0; i < nq && i < IOVM_RJ_MAX_QUEUES; i++)
        memset(&j->q[i], 0, sizeof(j->q[i]));
    j->magic = IOVM_RJ_MAGIC;
    j->version = IOVM_RJ_VERSION;
    j->key = key;
    j->nqueues = nq;
}

void iovm_rj_queue_init(struct iovm_rj_queue *jq, uint32_t req_cons,
                        uint32_t rsp_prod_pvt)
{
    STORE(jq->req_cons, req_cons);
    STORE(jq->rsp_prod_pvt, rsp_prod_pvt);
}

void iovm_rj_commit(struct iovm_rjournal *j)
{
    STORE(j->valid, 1u);
}

void iovm_rj_end(struct iovm_rjournal *j)
{
    STORE(j->valid, 0u);
}

bool iovm_rj_matches(const struct iovm_rjournal *j, uint64_t key,
                     unsigned int nq)
{
    return LOAD(j->valid) == 1 && j->magic == IOVM_RJ_MAGIC &&
           j->version == IOVM_RJ_VERSION && j->key == key &&
           j->nqueues == nq;
}

const uint8_t *iovm_rj_take(struct iovm_rj_queue *jq, unsigned int e,
                            uint32_t ring_idx, const volatile void *slot,
                            size_t len)
{
    struct iovm_rj_ent *ent = &jq->ent[e];
    const volatile uint8_t *s = slot;
    size_t i;

    if (len > sizeof(ent->req))
        len = sizeof(ent->req);
    /* Each byte of the frontend's slot read once, here. */
    for (i = 0; i < len; i++)
        ent->req[i] = s[i];
    ent->ring_idx = ring_idx;
    STORE(ent->state, (uint32_t)IOVM_RJ_TAKEN);
    STORE(jq->req_cons, ring_idx + 1);
    return ent->req;
}

void iovm_rj_answering(struct iovm_rj_queue *jq, unsigned int e,
                       uint32_t rsp_idx, int32_t status)
{
    struct iovm_rj_ent *ent = &jq->ent[e];

    ent->status = status;
    ent->rsp_idx = rsp_idx;
    STORE(ent->state, (uint32_t)IOVM_RJ_ANSWERING);
}

void iovm_rj_answered(struct iovm_rj_queue *jq, unsigned int e,
                      uint32_t rsp_prod_pvt)
{
    STORE(jq->rsp_prod_pvt, rsp_prod_pvt);
    STORE(jq->ent[e].state, (uint32_t)IOVM_RJ_FREE);
}

/* Oldest first: the larger the distance back from req_cons. */
struct order {
    uint32_t cons;
    const struct iovm_rj_queue *jq;
};

static int by_ring_order(const void *a, const void *b, void *arg)
{
    const struct order *o = arg;
    uint32_t da = o->cons - o->jq->ent[*(const uint16_t *)a].ring_idx;
    uint32_t db = o->cons - o->jq->ent[*(const uint16_t *)b].ring_idx;

    return da > db ? -1 : da < db;
}

int iovm_rj_recover(struct iovm_rj_queue *jq, unsigned int nents,
                    struct iovm_rj_recovery *rec)
{
    uint32_t cons = LOAD(jq->req_cons), rsp = LOAD(jq->rsp_prod_pvt);
    unsigned int i;

    rec->req_cons = cons;
    rec->rsp_prod_pvt = rsp;
    rec->nreplay = 0;
    rec->answer = -1;
    if (!nents || nents > IOVM_RJ_MAX_ENTS || cons - rsp > nents)
        return -EBADMSG;
    for (i = 0; i < nents; i++) {
        struct iovm_rj_ent *ent = &jq->ent[i];
        uint32_t d;

        switch (LOAD(ent->state)) {
        case IOVM_RJ_FREE:
            break;
        case IOVM_RJ_TAKEN:
            d = cons - ent->ring_idx;
            if (d == 0) {
                /* Died before req_cons moved: the slot is read again. */
                STORE(ent->state, (uint32_t)IOVM_RJ_FREE);
                break;
            }
            if (d > INT32_MAX)
                return -EBADMSG;
            rec->replay[rec->nreplay++] = (uint16_t)i;
            break;
        case IOVM_RJ_ANSWERING:
            d = rsp - ent->rsp_idx;
            if (d == 0) {
                /* Died writing the response: write it again. */
                if (rec->answer >= 0)
                    return -EBADMSG;
                rec->answer = (int)i;
                break;
            }
            if (d > INT32_MAX)
                return -EBADMSG;
            STORE(ent->state, (uint32_t)IOVM_RJ_FREE); /* was answered */
            break;
        default:
            return -EBADMSG;
        }
    }
    /* Every request taken and not answered is in the journal, once. */
    if (cons - rsp != rec->nreplay + (rec->answer >= 0))
        return -EBADMSG;
    qsort_r(rec->replay, rec->nreplay, sizeof(rec->replay[0]),
            by_ring_order, &(struct order){ cons, jq });
    return 0;
}

uint64_t iovm_rj_hash(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
