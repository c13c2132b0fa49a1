/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for lib/util.c (strict number parsing of peer-supplied
 * values) and lib/evloop.c (fd and timer dispatch, removal during
 * dispatch).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"

START_TEST(parse_u64_accepts_plain_decimal)
{
    uint64_t v;

    ck_assert_int_eq(iovm_parse_u64("0", 10, &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(iovm_parse_u64("18446744073709551615", UINT64_MAX, &v),
                     0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(iovm_parse_u64("4096", 4096, &v), 0);
    ck_assert_uint_eq(v, 4096);
}
END_TEST

START_TEST(parse_u64_rejects_hostile_forms)
{
    static const char *const bad[] = { "", " 1", "1 ", "+1", "-1", "0x10",
                                       "1e9", "12a", "١", "1\n",
                                       "000000000000000000001" };
    uint64_t v = 77;
    unsigned int i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(iovm_parse_u64(bad[i], UINT64_MAX, &v) == -EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert_uint_eq(v, 77);
    }
    ck_assert_int_eq(iovm_parse_u64(NULL, 1, &v), -EINVAL);
}
END_TEST

START_TEST(parse_u64_range)
{
    uint64_t v;
    unsigned int u;

    ck_assert_int_eq(iovm_parse_u64("18446744073709551616", UINT64_MAX, &v),
                     -ERANGE);
    ck_assert_int_eq(iovm_parse_u64("99999999999999999999", UINT64_MAX, &v),
                     -ERANGE);
    ck_assert_int_eq(iovm_parse_u64("11", 10, &v), -ERANGE);
    ck_assert_int_eq(iovm_parse_uint("4294967296", UINT32_MAX, &u), -ERANGE);
    ck_assert_int_eq(iovm_parse_uint("4294967295", UINT32_MAX, &u), 0);
    ck_assert_uint_eq(u, UINT32_MAX);
}
END_TEST

START_TEST(parse_size_suffixes)
{
    uint64_t v;

    ck_assert_int_eq(iovm_parse_size("4096", &v), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(iovm_parse_size("4k", &v), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(iovm_parse_size("1MiB", &v), 0);
    ck_assert_uint_eq(v, 1 << 20);
    ck_assert_int_eq(iovm_parse_size("2G", &v), 0);
    ck_assert_uint_eq(v, 2ull << 30);
    ck_assert_int_eq(iovm_parse_size("1x", &v), -EINVAL);
    ck_assert_int_eq(iovm_parse_size("1KiBB", &v), -EINVAL);
    ck_assert_int_eq(iovm_parse_size("K", &v), -EINVAL);
    ck_assert_int_eq(iovm_parse_size("17179869184T", &v), -ERANGE);
}
END_TEST

/* ---- event loop ---- */

struct loop_ctx {
    struct iovm_loop *loop;
    int fds[2][2];
    int hits[2];
    int timer_hits;
};

static void drain_and_kill_other(struct iovm_loop *loop, int fd,
                                 uint32_t events, void *arg)
{
    struct loop_ctx *c = arg;
    int me = fd == c->fds[0][0] ? 0 : 1;
    char b;

    ck_assert_int_eq(read(fd, &b, 1), 1);
    c->hits[me]++;
    /* Remove the other fd although it is ready in this same round. */
    iovm_loop_fd_del(loop, c->fds[!me][0]);
    iovm_loop_stop(loop);
}

START_TEST(evloop_removed_fd_not_dispatched)
{
    struct loop_ctx c = { 0 };

    ck_assert_int_eq(iovm_loop_new(&c.loop), 0);
    ck_assert_int_eq(pipe(c.fds[0]), 0);
    ck_assert_int_eq(pipe(c.fds[1]), 0);
    ck_assert_int_eq(write(c.fds[0][1], "x", 1), 1);
    ck_assert_int_eq(write(c.fds[1][1], "y", 1), 1);
    ck_assert_int_eq(iovm_loop_fd_add(c.loop, c.fds[0][0], EPOLLIN,
                                      drain_and_kill_other, &c),
                     0);
    ck_assert_int_eq(iovm_loop_fd_add(c.loop, c.fds[1][0], EPOLLIN,
                                      drain_and_kill_other, &c),
                     0);
    ck_assert_int_eq(iovm_loop_fd_add(c.loop, c.fds[1][0], EPOLLIN,
                                      drain_and_kill_other, &c),
                     -EEXIST);
    ck_assert_int_eq(iovm_loop_run(c.loop), 0);
    /* Exactly one of the two ready fds ran. */
    ck_assert_int_eq(c.hits[0] + c.hits[1], 1);
    iovm_loop_free(c.loop);
}
END_TEST

static void timer_cb(struct iovm_loop *loop, void *arg)
{
    struct loop_ctx *c = arg;

    c->timer_hits++;
    if (c->timer_hits == 2)
        iovm_loop_stop(loop);
}

START_TEST(evloop_timers_fire_in_order_and_cancel)
{
    struct loop_ctx c = { 0 };
    int64_t id;

    ck_assert_int_eq(iovm_loop_new(&c.loop), 0);
    id = iovm_loop_timer_add(c.loop, 5, timer_cb, &c);
    ck_assert_int_gt(id, 0);
    iovm_loop_timer_cancel(c.loop, id);
    ck_assert_int_gt(iovm_loop_timer_add(c.loop, 2, timer_cb, &c), 0);
    ck_assert_int_gt(iovm_loop_timer_add(c.loop, 1, timer_cb, &c), 0);
    ck_assert_int_eq(iovm_loop_run(c.loop), 0);
    ck_assert_int_eq(c.timer_hits, 2);
    iovm_loop_free(c.loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("parse");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, parse_u64_accepts_plain_decimal);
    tcase_add_test(tc, parse_u64_rejects_hostile_forms);
    tcase_add_test(tc, parse_u64_range);
    tcase_add_test(tc, parse_size_suffixes);
    suite_add_tcase(s, tc);
    tc = tcase_create("evloop");
    tcase_add_test(tc, evloop_removed_fd_not_dispatched);
    tcase_add_test(tc, evloop_timers_fire_in_order_and_cancel);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
