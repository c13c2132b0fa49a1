/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The shared-ring back end (lib/ring.c) and the blkif protocol core
 * (backend/blk/blk-proto.c) on in-memory rings: the frontend side uses the
 * system's xen/io/ring.h macros on the same page.  Ring cases: empty, one,
 * full, wrap, indices across UINT32_MAX, producer overflow, notification
 * suppression.  Request cases: every ABI, every rejection class, indirect
 * segments, responses in zeroed slots.
 */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "blk-proto.h"
#include "ring.h"

#define PAGE 4096

static uint8_t page[4 * PAGE] __attribute__((aligned(4096)));
static blkif_front_ring_t front;
static struct iovm_back_ring back;

static void rings_init(unsigned int pages, RING_IDX start)
{
    blkif_sring_t *s = (blkif_sring_t *)page;

    memset(page, 0xee, sizeof(page)); /* garbage, as a guest might leave */
    SHARED_RING_INIT(s);
    s->req_prod = s->rsp_prod = start;
    s->req_event = s->rsp_event = start + 1;
    FRONT_RING_ATTACH(&front, s, start, pages * PAGE);
    ck_assert_int_eq(iovm_back_ring_attach(&back, page, pages * PAGE,
                                           blk_abi_entry_size(BLK_ABI_NATIVE)),
                     0);
}

static void front_push_read(uint64_t id, uint64_t sector, unsigned int nsegs)
{
    blkif_request_t *r = RING_GET_REQUEST(&front, front.req_prod_pvt++);
    unsigned int i;

    memset(r, 0, sizeof(*r));
    r->operation = BLKIF_OP_READ;
    r->nr_segments = nsegs;
    r->id = id;
    r->sector_number = sector;
    for (i = 0; i < nsegs && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        r->seg[i].gref = 100 + i;
        r->seg[i].first_sect = 0;
        r->seg[i].last_sect = 7;
    }
}

static struct blk_limits lim(void)
{
    struct blk_limits l = {
        .sectors = 1 << 20,
        .sector_size = 512,
        .max_indirect_segs = 256,
        .flush = true,
        .barrier = true,
        .discard = true,
    };
    return l;
}

/* ---- ring ---- */

START_TEST(ring_size_matches_ring_h)
{
    ck_assert_uint_eq(iovm_ring_size(PAGE, 112),
                      __CONST_RING_SIZE(blkif, PAGE));
    ck_assert_uint_eq(iovm_ring_size(16 * PAGE, 112),
                      __CONST_RING_SIZE(blkif, 16 * PAGE));
    ck_assert_uint_eq(iovm_ring_size(PAGE, 108), 32);
    ck_assert_uint_eq(iovm_ring_size(64, 112), 0);
    ck_assert_int_eq(iovm_back_ring_attach(&back, page, 100, 112), -EINVAL);
}
END_TEST

START_TEST(ring_empty_one_full)
{
    struct blk_req req;
    int notify;
    unsigned int i;

    rings_init(1, 0);
    ck_assert_int_eq(iovm_back_ring_begin(&back), 0);
    ck_assert(iovm_back_ring_next(&back) == NULL);
    /* Empty: the backend arms req_event and sleeps. */
    ck_assert(!iovm_back_ring_final_check(&back));
    ck_assert_uint_eq(((blkif_sring_t *)page)->req_event, 1);

    front_push_read(42, 8, 1);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
    ck_assert(notify); /* the backend was asleep */
    ck_assert_int_eq(iovm_back_ring_begin(&back), 1);
    blk_req_copy(BLK_ABI_NATIVE, iovm_back_ring_next(&back), &req);
    ck_assert_uint_eq(req.id, 42);
    ck_assert(iovm_back_ring_next(&back) == NULL);
    ck_assert_uint_eq(iovm_back_ring_inflight(&back), 1);

    /* Fill: 31 more fit; a 33rd would overwrite an unanswered slot. */
    for (i = 0; i < 31; i++)
        front_push_read(100 + i, 0, 1);
    ck_assert(RING_FULL(&front));
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
    ck_assert(!notify); /* req_event was not re-armed */
    ck_assert_int_eq(iovm_back_ring_begin(&back), 31);
    for (i = 0; i < 31; i++)
        ck_assert(iovm_back_ring_next(&back) != NULL);
    ck_assert(iovm_back_ring_next(&back) == NULL);
    ck_assert_uint_eq(iovm_back_ring_inflight(&back), 32);
}
END_TEST

static void run_wrap(RING_IDX start)
{
    unsigned int round, i;
    int notify;

    rings_init(1, start);
    (void)notify;
    for (round = 0; round < 5; round++) {
        for (i = 0; i < 20; i++)
            front_push_read(round * 100 + i, i, 1);
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
        ck_assert_int_eq(iovm_back_ring_begin(&back), 20);
        for (i = 0; i < 20; i++) {
            struct blk_req req;

            blk_req_copy(BLK_ABI_NATIVE, iovm_back_ring_next(&back), &req);
            ck_assert_uint_eq(req.id, round * 100 + i);
            blk_rsp_write(BLK_ABI_NATIVE, iovm_back_ring_rsp(&back), req.id,
                          req.op, BLKIF_RSP_OKAY);
        }
        iovm_back_ring_push(&back);
        for (i = 0; i < 20; i++) {
            blkif_response_t *rsp;

            ck_assert(RING_HAS_UNCONSUMED_RESPONSES(&front));
            rsp = RING_GET_RESPONSE(&front, front.rsp_cons++);
            ck_assert_uint_eq(rsp->id, round * 100 + i);
            ck_assert_int_eq(rsp->status, BLKIF_RSP_OKAY);
        }
        ck_assert(!RING_HAS_UNCONSUMED_RESPONSES(&front));
    }
}

START_TEST(ring_wraps)
{
    run_wrap(0);
}
END_TEST

START_TEST(ring_indices_across_uint32_max)
{
    run_wrap(UINT32_MAX - 45);
    ck_assert_uint_lt(back.req_cons, 100); /* it did wrap */
}
END_TEST

START_TEST(ring_producer_overflow_detected)
{
    blkif_sring_t *s = (blkif_sring_t *)page;

    rings_init(1, 0);
    s->req_prod = 33; /* more than can be outstanding */
    ck_assert_int_eq(iovm_back_ring_begin(&back), -EPROTO);
    s->req_prod = 0xfffffff0u; /* a jump backwards */
    ck_assert_int_eq(iovm_back_ring_begin(&back), -EPROTO);
    s->req_prod = 32;
    ck_assert_int_eq(iovm_back_ring_begin(&back), 32);
    /* With two unanswered requests, 31 new ones overflow. */
    rings_init(1, 0);
    s->req_prod = 2;
    iovm_back_ring_begin(&back);
    iovm_back_ring_next(&back);
    iovm_back_ring_next(&back);
    s->req_prod = 2 + 31;
    ck_assert_int_eq(iovm_back_ring_begin(&back), -EPROTO);
}
END_TEST

START_TEST(ring_response_notify_suppression)
{
    blkif_sring_t *s = (blkif_sring_t *)page;
    int more;

    rings_init(1, 0);
    front_push_read(1, 0, 1);
    front_push_read(2, 0, 1);
    RING_PUSH_REQUESTS(&front);
    iovm_back_ring_begin(&back);
    iovm_back_ring_next(&back);
    iovm_back_ring_next(&back);
    /* The frontend waits for the first response: notify. */
    blk_rsp_write(BLK_ABI_NATIVE, iovm_back_ring_rsp(&back), 1, 0, 0);
    ck_assert(iovm_back_ring_push(&back));
    /* It has not consumed it yet: rsp_event unchanged, no new kick. */
    blk_rsp_write(BLK_ABI_NATIVE, iovm_back_ring_rsp(&back), 2, 0, 0);
    ck_assert(!iovm_back_ring_push(&back));
    ck_assert(!iovm_back_ring_push(&back)); /* nothing new */
    front.rsp_cons = 2;
    RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
    ck_assert(!more);
    ck_assert_uint_eq(s->rsp_event, 3);
}
END_TEST

START_TEST(ring_response_slot_zeroed)
{
    uint8_t *slot;
    unsigned int i, nonzero = 0;

    rings_init(1, 0);
    front_push_read(7, 0, 11);
    RING_PUSH_REQUESTS(&front);
    iovm_back_ring_begin(&back);
    iovm_back_ring_next(&back);
    slot = (uint8_t *)iovm_back_ring_rsp(&back);
    blk_rsp_write(BLK_ABI_NATIVE, slot, 7, BLKIF_OP_READ, BLKIF_RSP_OKAY);
    /* Only id (7) and op (0) and status (0): padding and the rest of
     * the old request are zero. */
    for (i = 0; i < sizeof(union blkif_sring_entry); i++)
        nonzero += slot[i] != 0;
    ck_assert_uint_eq(nonzero, 1);
    ck_assert_uint_eq(slot[0], 7);
}
END_TEST

/* ---- requests ---- */

static struct blk_req req_rw(uint8_t op, uint64_t sector, unsigned int n)
{
    blkif_request_t r;
    struct blk_req q;
    unsigned int i;

    memset(&r, 0, sizeof(r));
    r.operation = op;
    r.nr_segments = n;
    r.id = 0x1122334455667788ull;
    r.sector_number = sector;
    for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        r.seg[i].gref = 9 + i;
        r.seg[i].last_sect = 7;
    }
    blk_req_copy(BLK_ABI_NATIVE, &r, &q);
    return q;
}

static enum blk_reject check(struct blk_req *q, const struct blk_limits *l,
                             int16_t *st)
{
    enum blk_reject why = blk_req_check_header(q, l, st);

    return why ? why : blk_req_check_segs(q, l, st);
}

START_TEST(req_valid_read_write)
{
    struct blk_limits l = lim();
    struct blk_req q = req_rw(BLKIF_OP_WRITE, 16, 11);
    int16_t st;

    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);
    ck_assert_int_eq(st, BLKIF_RSP_OKAY);
    ck_assert_uint_eq(q.nr_sectors, 88);
    ck_assert_uint_eq(q.id, 0x1122334455667788ull);
    ck_assert_uint_eq(q.segs[10].gref, 19);
    /* The very last sectors of the device. */
    q = req_rw(BLKIF_OP_READ, (1 << 20) - 8, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);
}
END_TEST

START_TEST(req_rejects_ops)
{
    struct blk_limits l = lim();
    struct blk_req q;
    int16_t st;

    q = req_rw(9, 0, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_OP);
    ck_assert_int_eq(st, BLKIF_RSP_EOPNOTSUPP);
    q = req_rw(BLKIF_OP_RESERVED_1, 0, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_OP);
    ck_assert_int_eq(st, BLKIF_RSP_EOPNOTSUPP);
    l.flush = false;
    q = req_rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_OP);
    ck_assert_int_eq(st, BLKIF_RSP_EOPNOTSUPP);
    l.barrier = false;
    q = req_rw(BLKIF_OP_WRITE_BARRIER, 0, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_OP);
    l = lim();
    /* Flush without data and with data (FUA) are both fine. */
    q = req_rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);
    ck_assert_uint_eq(q.nr_sectors, 0);
    q = req_rw(BLKIF_OP_FLUSH_DISKCACHE, 8, 2);
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);
    ck_assert_uint_eq(q.nr_sectors, 16);
}
END_TEST

START_TEST(req_rejects_segment_counts)
{
    struct blk_limits l = lim();
    struct blk_req q;
    int16_t st;

    q = req_rw(BLKIF_OP_READ, 0, 0);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_NSEGS);
    ck_assert_int_eq(st, BLKIF_RSP_ERROR);
    q = req_rw(BLKIF_OP_WRITE, 0, 12);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_NSEGS);
    q = req_rw(BLKIF_OP_WRITE, 0, 255);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_NSEGS);
}
END_TEST

START_TEST(req_rejects_sectors_in_segment)
{
    struct blk_limits l = lim();
    struct blk_req q = req_rw(BLKIF_OP_READ, 0, 2);
    int16_t st;

    q.segs[1].first_sect = 5;
    q.segs[1].last_sect = 4;
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_SECT);
    q.segs[1].first_sect = 0;
    q.segs[1].last_sect = 8;
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_SECT);
    q.segs[1].first_sect = 255;
    q.segs[1].last_sect = 255;
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_SECT);
}
END_TEST

START_TEST(req_rejects_range)
{
    struct blk_limits l = lim();
    struct blk_req q;
    int16_t st;

    q = req_rw(BLKIF_OP_READ, (1 << 20) - 7, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_RANGE);
    q = req_rw(BLKIF_OP_READ, UINT64_MAX - 3, 1); /* would wrap */
    ck_assert_int_ne(check(&q, &l, &st), BLK_OK);
    q = req_rw(BLKIF_OP_DISCARD, 0, 0);
    q.nr_sectors = (1 << 20) + 1;
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_RANGE);
    q.sector = 1;
    q.nr_sectors = UINT64_MAX;
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_RANGE);
    /* A valid discard keeps its length through the segment check. */
    q.sector = 8;
    q.nr_sectors = 1024;
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);
    ck_assert_uint_eq(q.nr_sectors, 1024);
}
END_TEST

START_TEST(req_rejects_misalignment)
{
    struct blk_limits l = lim();
    struct blk_req q;
    int16_t st;

    l.sector_size = 4096;
    q = req_rw(BLKIF_OP_READ, 8, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK); /* 512-byte units */
    q = req_rw(BLKIF_OP_READ, 4, 1); /* start not on a 4 KiB boundary */
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_ALIGN);
    q = req_rw(BLKIF_OP_READ, 8, 1);
    q.segs[0].first_sect = 1; /* a partial 4 KiB block */
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_ALIGN);
    q = req_rw(BLKIF_OP_READ, 8, 1);
    q.segs[0].last_sect = 3;
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_ALIGN);
}
END_TEST

START_TEST(req_readonly)
{
    struct blk_limits l = lim();
    struct blk_req q;
    int16_t st;

    l.readonly = true;
    q = req_rw(BLKIF_OP_READ, 0, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);
    q = req_rw(BLKIF_OP_WRITE, 0, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_READONLY);
    q = req_rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 1);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_READONLY);
    q = req_rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);
    q = req_rw(BLKIF_OP_DISCARD, 0, 0);
    q.nr_sectors = 8;
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_READONLY);
}
END_TEST

static struct blk_req mk_indirect(uint8_t iop, uint16_t nsegs,
                                   struct blkif_request_segment *pages)
{
    union {
        blkif_request_indirect_t r;
        union blkif_sring_entry slot; /* a whole ring slot */
    } u;
    blkif_request_indirect_t *rp = &u.r;
    struct blk_req q;
    unsigned int i;

#define r (*rp)
    memset(&u, 0, sizeof(u));
    r.operation = BLKIF_OP_INDIRECT;
    r.indirect_op = iop;
    r.nr_segments = nsegs;
    r.id = 5;
    r.sector_number = 64;
    for (i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
        r.indirect_grefs[i] = 1000 + i;
#undef r
    blk_req_copy(BLK_ABI_NATIVE, &u, &q);
    for (i = 0; pages && i < blk_req_indirect_pages(&q) && i < 8; i++)
        blk_req_copy_indirect(&q, i, pages + i * 512);
    return q;
}

START_TEST(req_indirect)
{
    static struct blkif_request_segment pages[1024];
    struct blk_limits l = lim();
    struct blk_req q;
    unsigned int i;
    int16_t st;

    for (i = 0; i < 1024; i++) {
        pages[i].gref = 5000 + i;
        pages[i].first_sect = 0;
        pages[i].last_sect = 7;
    }
    q = mk_indirect(BLKIF_OP_READ, 256, pages);
    ck_assert_int_eq(q.nr_indirect, 1);
    ck_assert_uint_eq(q.indirect_grefs[0], 1000);
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);
    ck_assert_uint_eq(q.nr_sectors, 256 * 8);
    ck_assert_uint_eq(q.segs[255].gref, 5255);
    ck_assert_uint_eq(q.io_op, BLKIF_OP_READ);
    /* Over the advertised maximum. */
    q = mk_indirect(BLKIF_OP_READ, 257, NULL);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_NSEGS);
    q = mk_indirect(BLKIF_OP_READ, 0, NULL);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_NSEGS);
    /* Only READ and WRITE may be wrapped. */
    q = mk_indirect(BLKIF_OP_FLUSH_DISKCACHE, 8, NULL);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_INDIRECT);
    q = mk_indirect(BLKIF_OP_INDIRECT, 8, NULL);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_INDIRECT);
    /* More pages than the protocol allows (a bigger limit). */
    l.max_indirect_segs = 65535;
    q = mk_indirect(BLKIF_OP_READ, 8 * 512 + 1, NULL);
    ck_assert_int_ne(check(&q, &l, &st), BLK_OK);
    /* A bad descriptor inside an indirect page. */
    l = lim();
    pages[200].last_sect = 9;
    q = mk_indirect(BLKIF_OP_WRITE, 256, pages);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_SECT);
    pages[200].last_sect = 7;
    /* No indirect support advertised. */
    l.max_indirect_segs = 0;
    q = mk_indirect(BLKIF_OP_READ, 8, pages);
    ck_assert_int_eq(check(&q, &l, &st), BLK_REJ_OP);
    ck_assert_int_eq(st, BLKIF_RSP_EOPNOTSUPP);
}
END_TEST

/*
 * Watching reads of shared memory, one instruction at a time: the page is
 * inaccessible; a read of it faults (SIGSEGV), we count the byte it
 * starts at, open the page and single-step that one instruction (the
 * trap flag); the trap (SIGTRAP) then plays the frontend: it rewrites the
 * byte just read, and closes the page again.  A copy that reads a byte
 * twice both shows in the counts and gets a different value the second
 * time.
 */
#if defined(__x86_64__)
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#define TF 0x100 /* EFLAGS trap flag */

static uint8_t *spy;
static unsigned int spy_reads[PAGE];
static long spy_last = -1;

static void spy_segv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    uintptr_t a = (uintptr_t)si->si_addr, b = (uintptr_t)spy;

    if (a < b || a >= b + PAGE) {
        signal(sig, SIG_DFL); /* not ours: fault again, for real */
        return;
    }
    spy_reads[a - b]++;
    spy_last = (long)(a - b);
    mprotect(spy, PAGE, PROT_READ | PROT_WRITE);
    uc->uc_mcontext.gregs[REG_EFL] |= TF;
}

static void spy_trap(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;

    (void)sig;
    (void)si;
    if (spy_last >= 0)
        spy[spy_last] ^= 0xff; /* the frontend changes what was read */
    spy_last = -1;
    mprotect(spy, PAGE, PROT_NONE);
    uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)TF;
}

static void spy_on(const void *content, size_t len)
{
    struct sigaction sa = { .sa_flags = SA_SIGINFO };

    if (!spy) {
        spy = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert(spy != MAP_FAILED);
    }
    memset(spy, 0, PAGE);
    memcpy(spy, content, len);
    memset(spy_reads, 0, sizeof(spy_reads));
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = spy_segv;
    ck_assert_int_eq(sigaction(SIGSEGV, &sa, NULL), 0);
    sa.sa_sigaction = spy_trap;
    ck_assert_int_eq(sigaction(SIGTRAP, &sa, NULL), 0);
    ck_assert_int_eq(mprotect(spy, PAGE, PROT_NONE), 0);
}

static void spy_off(void)
{
    ck_assert_int_eq(mprotect(spy, PAGE, PROT_READ | PROT_WRITE), 0);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGTRAP, SIG_DFL);
}

/* A copy that checks the segment count and then reads it again. */
static unsigned int __attribute__((noinline))
twice(IOVM_SHARED const volatile uint8_t *slot)
{
    unsigned int n = slot[1];

    if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST)
        return 0;
    return slot[1];
}

START_TEST(req_copy_is_once)
{
    blkif_request_t r;
    struct blk_req q;
    struct blk_limits l = lim();
    unsigned int i, n;
    int16_t st;

    /* The detector itself: it sees a double fetch, and the second read
     * gets what the frontend wrote in between. */
    memset(&r, 0, sizeof(r));
    r.nr_segments = 3;
    spy_on(&r, sizeof(r));
    n = twice(spy);
    spy_off();
    ck_assert_uint_eq(spy_reads[1], 2);
    ck_assert_uint_eq(n, 3 ^ 0xff);

    /* blk_req_copy: every byte of the slot read exactly once, each
     * rewritten by the frontend right after; the copy holds the request
     * as it was, and only the copy is validated. */
    memset(&r, 0, sizeof(r));
    r.operation = BLKIF_OP_WRITE;
    r.nr_segments = 3;
    r.handle = 0;
    r.id = 0x1122334455667788ull;
    r.sector_number = 64;
    for (i = 0; i < 3; i++) {
        r.seg[i].gref = 100 + i;
        r.seg[i].first_sect = 0;
        r.seg[i].last_sect = 7;
    }
    spy_on(&r, sizeof(r));
    blk_req_copy(BLK_ABI_NATIVE, spy, &q);
    spy_off();
    for (i = 0; i < sizeof(r); i++)
        ck_assert_msg(spy_reads[i] == 1, "slot byte %u read %u times", i,
                      spy_reads[i]);
    ck_assert(memcmp(spy, &r, sizeof(r))); /* the frontend did rewrite */
    ck_assert_uint_eq(q.op, BLKIF_OP_WRITE);
    ck_assert_uint_eq(q.nr_segs, 3);
    ck_assert_uint_eq(q.id, r.id);
    ck_assert_uint_eq(q.sector, 64);
    for (i = 0; i < 3; i++) {
        ck_assert_uint_eq(q.segs[i].gref, 100 + i);
        ck_assert_uint_eq(q.segs[i].last_sect, 7);
    }
    ck_assert_int_eq(check(&q, &l, &st), BLK_OK);

    /* An indirect page: each segment descriptor it uses read once. */
    {
        struct blkif_request_segment segs[20];
        struct blk_req iq;

        memset(&iq, 0, sizeof(iq));
        iq.op = BLKIF_OP_INDIRECT;
        iq.io_op = BLKIF_OP_READ;
        iq.nr_segs = 20;
        memset(segs, 0, sizeof(segs));
        for (i = 0; i < 20; i++) {
            segs[i].gref = 500 + i;
            segs[i].last_sect = 7;
        }
        spy_on(segs, sizeof(segs));
        blk_req_copy_indirect(&iq, 0, spy);
        spy_off();
        for (i = 0; i < sizeof(segs); i++)
            ck_assert_msg(spy_reads[i] <= 1, "indirect byte %u read %u times",
                          i, spy_reads[i]);
        for (i = 0; i < 20; i++) {
            ck_assert_uint_eq(iq.segs[i].gref, 500 + i);
            ck_assert_uint_eq(iq.segs[i].last_sect, 7);
        }
        /* Nothing past the 20 descriptors was touched. */
        for (i = sizeof(segs); i < PAGE; i++)
            ck_assert_uint_eq(spy_reads[i], 0);
    }
}
END_TEST
#endif

START_TEST(abi_x86_32_layout)
{
    struct blkif_x86_32_request r;
    union {
        struct blkif_x86_32_request_discard d;
        union blkif_x86_32_entry slot;
    } du;
    struct blkif_x86_32_request_discard *dp = &du.d;
    struct blk_req q;
    uint8_t slot[112];

    memset(&r, 0, sizeof(r));
    r.operation = BLKIF_OP_WRITE;
    r.nr_segments = 2;
    r.id = 0xdeadbeefcafe;
    r.sector_number = 24;
    r.seg[1].gref = 77;
    r.seg[1].last_sect = 7;
    r.seg[0].last_sect = 7;
    ck_assert_uint_eq(offsetof(struct blkif_x86_32_request, id), 4);
    ck_assert_uint_eq(offsetof(struct blkif_x86_32_request, seg), 20);
    blk_req_copy(BLK_ABI_X86_32, &r, &q);
    ck_assert_uint_eq(q.id, 0xdeadbeefcafe);
    ck_assert_uint_eq(q.sector, 24);
    ck_assert_uint_eq(q.segs[1].gref, 77);
    memset(&du, 0, sizeof(du));
    dp->operation = BLKIF_OP_DISCARD;
    dp->flag = BLKIF_DISCARD_SECURE;
    dp->nr_sectors = 99;
    blk_req_copy(BLK_ABI_X86_32, &du, &q);
    ck_assert_uint_eq(q.nr_sectors, 99);
    ck_assert_uint_eq(q.discard_flag, BLKIF_DISCARD_SECURE);
    /* The 32-bit response is 12 bytes: status at offset 10. */
    memset(slot, 0, sizeof(slot));
    blk_rsp_write(BLK_ABI_X86_32, slot, 3, 1, BLKIF_RSP_EOPNOTSUPP);
    ck_assert_uint_eq(slot[0], 3);
    ck_assert_uint_eq(slot[8], 1);
    ck_assert_int_eq(*(int16_t *)(slot + 10), BLKIF_RSP_EOPNOTSUPP);
    ck_assert_uint_eq(slot[12], 0);
}
END_TEST

START_TEST(abi_parse)
{
    enum blk_abi a;

    ck_assert_int_eq(blk_abi_parse(NULL, &a), 0);
    ck_assert_int_eq(a, BLK_ABI_NATIVE);
    ck_assert_int_eq(blk_abi_parse("x86_32-abi", &a), 0);
    ck_assert_int_eq(a, BLK_ABI_X86_32);
    ck_assert_int_eq(blk_abi_parse("x86_64-abi", &a), 0);
    ck_assert_int_eq(a, BLK_ABI_X86_64);
    ck_assert_int_eq(blk_abi_parse("arm-abi", &a), -EINVAL);
    ck_assert_int_eq(blk_abi_parse("x86_64-abi ", &a), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("blkproto");
    TCase *tr = tcase_create("ring"), *tq = tcase_create("request");
    SRunner *sr;
    int failed;

    tcase_add_test(tr, ring_size_matches_ring_h);
    tcase_add_test(tr, ring_empty_one_full);
    tcase_add_test(tr, ring_wraps);
    tcase_add_test(tr, ring_indices_across_uint32_max);
    tcase_add_test(tr, ring_producer_overflow_detected);
    tcase_add_test(tr, ring_response_notify_suppression);
    tcase_add_test(tr, ring_response_slot_zeroed);
    suite_add_tcase(s, tr);
    tcase_add_test(tq, req_valid_read_write);
    tcase_add_test(tq, req_rejects_ops);
    tcase_add_test(tq, req_rejects_segment_counts);
    tcase_add_test(tq, req_rejects_sectors_in_segment);
    tcase_add_test(tq, req_rejects_range);
    tcase_add_test(tq, req_rejects_misalignment);
    tcase_add_test(tq, req_readonly);
    tcase_add_test(tq, req_indirect);
#if defined(__x86_64__)
    tcase_add_test(tq, req_copy_is_once);
#endif
    tcase_add_test(tq, abi_x86_32_layout);
    tcase_add_test(tq, abi_parse);
    suite_add_tcase(s, tq);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
