/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for lib/rjournal.c, the ring journal a backend keeps in
 * iovmd's memory: what recovery concludes at every point a process can
 * die (between the stores of a take and of an answer), against a model
 * over long random runs, and its refusal of journals that do not add up.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rjournal.h"

#define NENTS 32u

static struct iovm_rjournal *J;

static void setup(void)
{
    J = calloc(1, sizeof(*J));
    ck_assert_ptr_nonnull(J);
    iovm_rj_begin(J, 42, 1);
}

static void teardown(void)
{
    free(J);
}

/* A slot whose bytes name it. */
static void slot_for(uint8_t *slot, uint32_t id)
{
    memset(slot, 0, IOVM_RJ_REQ_BYTES);
    memcpy(slot, &id, sizeof(id));
}

static uint32_t id_of(const struct iovm_rj_queue *jq, unsigned int e)
{
    uint32_t id;

    memcpy(&id, jq->ent[e].req, sizeof(id));
    return id;
}

START_TEST(take_copies_slot_and_moves_req_cons)
{
    struct iovm_rj_queue *jq = &J->q[0];
    uint8_t slot[IOVM_RJ_REQ_BYTES];
    const uint8_t *copy;

    iovm_rj_queue_init(jq, 100, 100);
    slot_for(slot, 7);
    copy = iovm_rj_take(jq, 3, 100, slot, sizeof(slot));
    /* The copy is ours: the slot changing later does not change it. */
    slot_for(slot, 8);
    ck_assert_int_eq(memcmp(copy, jq->ent[3].req, 4), 0);
    ck_assert_uint_eq(id_of(jq, 3), 7);
    ck_assert_uint_eq(jq->req_cons, 101);
    ck_assert_uint_eq(jq->ent[3].state, IOVM_RJ_TAKEN);
}
END_TEST

START_TEST(recover_lists_taken_in_ring_order)
{
    struct iovm_rj_queue *jq = &J->q[0];
    struct iovm_rj_recovery rec;
    uint8_t slot[IOVM_RJ_REQ_BYTES];
    unsigned int e;

    /* Across the index wrap: 0xfffffffe, 0xffffffff, 0, 1. */
    iovm_rj_queue_init(jq, 0xfffffffeu, 0xfffffffeu);
    for (e = 0; e < 4; e++) {
        slot_for(slot, e);
        iovm_rj_take(jq, 10 - e, 0xfffffffeu + e, slot, sizeof(slot));
    }
    /* The second one is answered. */
    iovm_rj_answering(jq, 9, 0xfffffffeu, 0);
    iovm_rj_answered(jq, 9, 0xffffffffu);
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), 0);
    ck_assert_uint_eq(rec.req_cons, 2);
    ck_assert_uint_eq(rec.rsp_prod_pvt, 0xffffffffu);
    ck_assert_int_eq(rec.answer, -1);
    ck_assert_uint_eq(rec.nreplay, 3);
    ck_assert_uint_eq(rec.replay[0], 10);
    ck_assert_uint_eq(rec.replay[1], 8);
    ck_assert_uint_eq(rec.replay[2], 7);
}
END_TEST

/* Died after the entry said TAKEN, before req_cons moved: not taken. */
START_TEST(death_inside_take_reads_slot_again)
{
    struct iovm_rj_queue *jq = &J->q[0];
    struct iovm_rj_recovery rec;

    iovm_rj_queue_init(jq, 5, 5);
    jq->ent[0].ring_idx = 5;
    jq->ent[0].state = IOVM_RJ_TAKEN;
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), 0);
    ck_assert_uint_eq(rec.nreplay, 0);
    ck_assert_uint_eq(rec.req_cons, 5);
    ck_assert_uint_eq(jq->ent[0].state, IOVM_RJ_FREE);
}
END_TEST

/* Died with the entry ANSWERING, rsp_prod_pvt not past it: the response
 * (perhaps half written) is written again, to the same index. */
START_TEST(death_inside_answer_writes_response_again)
{
    struct iovm_rj_queue *jq = &J->q[0];
    struct iovm_rj_recovery rec;
    uint8_t slot[IOVM_RJ_REQ_BYTES];

    iovm_rj_queue_init(jq, 0, 0);
    slot_for(slot, 1);
    iovm_rj_take(jq, 4, 0, slot, sizeof(slot));
    iovm_rj_answering(jq, 4, 0, -1);
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), 0);
    ck_assert_int_eq(rec.answer, 4);
    ck_assert_uint_eq(rec.nreplay, 0);
    ck_assert_uint_eq(rec.rsp_prod_pvt, 0);
    ck_assert_int_eq(jq->ent[4].status, -1);
}
END_TEST

/* Died after rsp_prod_pvt moved, before the entry was freed: answered,
 * not to be answered twice. */
START_TEST(death_after_answer_does_not_answer_twice)
{
    struct iovm_rj_queue *jq = &J->q[0];
    struct iovm_rj_recovery rec;
    uint8_t slot[IOVM_RJ_REQ_BYTES];

    iovm_rj_queue_init(jq, 0, 0);
    slot_for(slot, 1);
    iovm_rj_take(jq, 4, 0, slot, sizeof(slot));
    iovm_rj_answering(jq, 4, 0, 0);
    jq->rsp_prod_pvt = 1; /* iovm_rj_answered's first store only */
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), 0);
    ck_assert_int_eq(rec.answer, -1);
    ck_assert_uint_eq(rec.nreplay, 0);
    ck_assert_uint_eq(jq->ent[4].state, IOVM_RJ_FREE);
}
END_TEST

START_TEST(journals_that_do_not_add_up_are_refused)
{
    struct iovm_rj_queue *jq = &J->q[0];
    struct iovm_rj_recovery rec;
    uint8_t slot[IOVM_RJ_REQ_BYTES];

    /* More outstanding than the ring holds. */
    iovm_rj_queue_init(jq, 100, 50);
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), -EBADMSG);
    /* Outstanding by the indices, but no entry says so. */
    iovm_rj_queue_init(jq, 3, 0);
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), -EBADMSG);
    /* An entry of an unknown state. */
    memset(jq, 0, sizeof(*jq));
    jq->ent[2].state = 77;
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), -EBADMSG);
    /* A request taken "after" req_cons. */
    memset(jq, 0, sizeof(*jq));
    iovm_rj_queue_init(jq, 10, 9);
    slot_for(slot, 1);
    iovm_rj_take(jq, 0, 9, slot, sizeof(slot));
    jq->ent[0].ring_idx = 20;
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), -EBADMSG);
    /* Two responses being written at one index. */
    memset(jq, 0, sizeof(*jq));
    iovm_rj_queue_init(jq, 2, 0);
    jq->ent[0].state = jq->ent[1].state = IOVM_RJ_ANSWERING;
    ck_assert_int_eq(iovm_rj_recover(jq, NENTS, &rec), -EBADMSG);
    /* A ring larger than the journal. */
    memset(jq, 0, sizeof(*jq));
    ck_assert_int_eq(iovm_rj_recover(jq, IOVM_RJ_MAX_ENTS + 1, &rec),
                     -EBADMSG);
}
END_TEST

START_TEST(matches_only_its_connection)
{
    ck_assert(!iovm_rj_matches(J, 42, 1)); /* not committed */
    iovm_rj_commit(J);
    ck_assert(iovm_rj_matches(J, 42, 1));
    ck_assert(!iovm_rj_matches(J, 43, 1));
    ck_assert(!iovm_rj_matches(J, 42, 2));
    iovm_rj_end(J);
    ck_assert(!iovm_rj_matches(J, 42, 1));
    ck_assert_uint_ne(iovm_rj_hash(IOVM_RJ_HASH_INIT, "a", 1),
                      iovm_rj_hash(IOVM_RJ_HASH_INIT, "b", 1));
}
END_TEST

/*
 * A long random run of takes and out-of-order answers; at random points
 * a copy of the journal is recovered and must name exactly the model's
 * outstanding requests, oldest first.
 */
START_TEST(random_runs_recover_what_the_model_says)
{
    struct iovm_rj_queue *jq = &J->q[0];
    struct iovm_rj_queue *copy = malloc(sizeof(*copy));
    struct iovm_rj_recovery *rec = malloc(sizeof(*rec));
    uint32_t owner[NENTS], cons = 0xfffff000u, rsp = cons, next_id = 1;
    bool busy[NENTS] = { false };
    uint8_t slot[IOVM_RJ_REQ_BYTES];
    unsigned int step, e, n = 0, checks = 0;

    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_nonnull(rec);
    srand(1);
    iovm_rj_queue_init(jq, cons, rsp);
    for (step = 0; step < 200000; step++) {
        if (n < NENTS && (rand() % 2 || !n)) {
            do
                e = (unsigned int)rand() % NENTS;
            while (busy[e]);
            slot_for(slot, next_id);
            iovm_rj_take(jq, e, cons++, slot, sizeof(slot));
            owner[e] = next_id++;
            busy[e] = true;
            n++;
        } else {
            do
                e = (unsigned int)rand() % NENTS;
            while (!busy[e]);
            iovm_rj_answering(jq, e, rsp, 0);
            iovm_rj_answered(jq, e, ++rsp);
            busy[e] = false;
            n--;
        }
        if (rand() % 97 == 0) {
            unsigned int i;
            uint32_t last = 0;

            memcpy(copy, jq, sizeof(*copy));
            ck_assert_int_eq(iovm_rj_recover(copy, NENTS, rec), 0);
            ck_assert_uint_eq(rec->req_cons, cons);
            ck_assert_uint_eq(rec->rsp_prod_pvt, rsp);
            ck_assert_uint_eq(rec->nreplay, n);
            for (i = 0; i < rec->nreplay; i++) {
                e = rec->replay[i];
                ck_assert(busy[e]);
                ck_assert_uint_eq(id_of(copy, e), owner[e]);
                /* Oldest first: ids grow with ring order. */
                ck_assert_uint_gt(owner[e], last);
                last = owner[e];
            }
            checks++;
        }
    }
    ck_assert_uint_gt(checks, 1000);
    free(copy);
    free(rec);
}
END_TEST

START_TEST(map_needs_a_large_enough_fd)
{
    int fd = memfd_create("rj-test", MFD_CLOEXEC);
    struct iovm_rjournal *j;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    ck_assert_ptr_null(iovm_rj_map(fd));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(ftruncate(fd, (off_t)iovm_rj_size()), 0);
    j = iovm_rj_map(fd);
    ck_assert_ptr_nonnull(j);
    iovm_rj_begin(j, 1, 2);
    iovm_rj_commit(j);
    iovm_rj_unmap(j);
    /* What one mapping wrote, the next one (the next process) reads. */
    j = iovm_rj_map(fd);
    ck_assert(iovm_rj_matches(j, 1, 2));
    iovm_rj_unmap(j);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rjournal");
    TCase *tc = tcase_create("journal");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, take_copies_slot_and_moves_req_cons);
    tcase_add_test(tc, recover_lists_taken_in_ring_order);
    tcase_add_test(tc, death_inside_take_reads_slot_again);
    tcase_add_test(tc, death_inside_answer_writes_response_again);
    tcase_add_test(tc, death_after_answer_does_not_answer_twice);
    tcase_add_test(tc, journals_that_do_not_add_up_are_refused);
    tcase_add_test(tc, matches_only_its_connection);
    tcase_add_test(tc, random_runs_recover_what_the_model_says);
    tcase_add_test(tc, map_needs_a_large_enough_fd);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
