/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkfront stress: a mixed stream of writes, reads, flushes and
 * (where offered) barrier writes over
 * every queue, with every byte checked, for as long as asked; built to
 * run while the backend is killed and restarted under it.
 *
 * The disk is cut into 4 KiB blocks.  Each write stamps its blocks with
 * a new generation (every 8-byte word encodes block, generation and
 * position); an acknowledged write makes that generation the block's
 * expected content.  No two requests in flight touch the same block, so
 * every read has one right answer: the last acknowledged generation.
 * At the end every block ever written is read back once more.
 *
 * Failures counted (any makes the exit status 1): an error response, a
 * read that does not match (a lost or torn acknowledged write), a
 * request unanswered for 30 s (a lost completion), a response the
 * frontend library refused (unknown or duplicate id), and any value of
 * either end's xenstore state other than Connected while it ran (a
 * watch on both).  It prints one line:
 *   STRESS ok|FAILED writes=... reads=... flushes=... barriers=...
 *          errors=... bad=...
 *          lost=... bogus=... state_changes=... max_gap_ms=...
 *          verified_blocks=...
 * max_gap_ms is the longest time with requests in flight and no
 * response (a backend restart shows there).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xenstore.h>
#include <xen/xen.h>
#include <xen/io/blkif.h>

#include "front-tool.h"
#include "util.h"

#define BLK 4096u
#define MAX_BLOCKS 64u             /* per request: 256 KiB */
#define LOST_NS (30ull * 1000000000ull)

struct stress;

struct sslot {
    struct blkfront_io io;
    struct stress *s;
    bool busy;
    uint64_t first, n;         /* blocks */
    uint32_t gen;              /* a write's generation */
};

struct stress {
    struct blkfront *bf;
    uint64_t nblocks;
    uint32_t *gen;             /* acknowledged generation per block */
    uint8_t *busy;             /* in a request in flight */
    uint32_t next_gen;
    uint64_t rng;
    uint64_t writes, reads, flushes, barriers, errors, bad, lost, verified;
    uint64_t last_done_ns, max_gap_ns;
    bool verifying;
};

struct watcher {
    char be[160], fe[160];
    struct xs_handle *xs;
    pthread_t thread;
    uint64_t changes;          /* atomic */
    char last_bad[200];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static uint64_t rnd(struct stress *s)
{
    /* xorshift64*: deterministic for a seed. */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t word(uint64_t block, uint32_t gen, unsigned int i)
{
    return (block * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)gen << 32) ^
           (i * 0xbf58476d1ce4e5b9ull) ^ 0x5eed;
}

static void stamp(uint8_t *buf, uint64_t block, uint32_t gen)
{
    unsigned int i;

    for (i = 0; i < BLK / 8; i++) {
        uint64_t w = word(block, gen, i);

        memcpy(buf + (size_t)i * 8, &w, 8);
    }
}

static bool matches(const uint8_t *buf, uint64_t block, uint32_t gen)
{
    unsigned int i;

    for (i = 0; i < BLK / 8; i++) {
        uint64_t w;

        memcpy(&w, buf + (size_t)i * 8, 8);
        if (w != word(block, gen, i))
            return false;
    }
    return true;
}

static void slot_done(struct blkfront_io *io, void *arg)
{
    struct sslot *sl = arg;
    struct stress *s = sl->s;
    uint64_t now = iovm_now_ns(), b;

    if (now - s->last_done_ns > s->max_gap_ns)
        s->max_gap_ns = now - s->last_done_ns;
    s->last_done_ns = now;
    sl->busy = false;
    for (b = sl->first; b < sl->first + sl->n; b++)
        s->busy[b] = 0;
    if (io->status != BLKIF_RSP_OKAY) {
        s->errors++;
        fprintf(stderr, "iovm-blkfront: stress: %s of blocks %" PRIu64
                        "+%" PRIu64 " answered %d\n",
                io->op == BLKIF_OP_READ    ? "read"
                : io->op == BLKIF_OP_WRITE ? "write"
                                           : "flush",
                sl->first, sl->n, io->status);
        return;
    }
    if (io->op == BLKIF_OP_WRITE || io->op == BLKIF_OP_WRITE_BARRIER) {
        for (b = sl->first; b < sl->first + sl->n; b++)
            s->gen[b] = sl->gen;
        return;
    }
    if (io->op != BLKIF_OP_READ)
        return;
    for (b = sl->first; b < sl->first + sl->n; b++) {
        const uint8_t *p = (const uint8_t *)io->buf + (b - sl->first) * BLK;

        if (!s->gen[b])
            continue; /* never written: whatever was there */
        if (s->verifying)
            s->verified++;
        if (!matches(p, b, s->gen[b])) {
            if (s->bad++ < 10)
                fprintf(stderr, "iovm-blkfront: stress: block %" PRIu64
                                " does not hold generation %u\n",
                        b, s->gen[b]);
        }
    }
}

/* Picks a free extent; false if the one drawn is busy (try later). */
static bool pick(struct stress *s, uint64_t max_blocks, uint64_t *first,
                 uint64_t *n)
{
    uint64_t b;

    *n = 1 + rnd(s) % max_blocks;
    if (*n > s->nblocks)
        *n = s->nblocks;
    *first = rnd(s) % (s->nblocks - *n + 1);
    for (b = *first; b < *first + *n; b++)
        if (s->busy[b])
            return false;
    for (b = *first; b < *first + *n; b++)
        s->busy[b] = 1;
    return true;
}

static void *watch_thread(void *arg)
{
    struct watcher *w = arg;

    for (;;) {
        unsigned int n;
        char **ev = xs_read_watch(w->xs, &n);
        char *val;

        if (!ev)
            return NULL;
        if (!strcmp(ev[XS_WATCH_TOKEN], "stop")) {
            free(ev);
            return NULL;
        }
        val = xs_read(w->xs, XBT_NULL, ev[XS_WATCH_PATH], NULL);
        if (!val || strcmp(val, "4")) {
            __atomic_add_fetch(&w->changes, 1, __ATOMIC_RELAXED);
            snprintf(w->last_bad, sizeof(w->last_bad), "%s = %s",
                     ev[XS_WATCH_PATH], val ? val : "(gone)");
        }
        free(val);
        free(ev);
    }
}

static int watch_start(struct watcher *w, const struct blkfront_info *in)
{
    char path[200], *dom, *be;

    w->xs = xs_open(0);
    if (!w->xs)
        return -errno;
    dom = xs_read(w->xs, XBT_NULL, "domid", NULL);
    snprintf(w->fe, sizeof(w->fe), "/local/domain/%s/device/vbd/%u",
             dom ? dom : "0", in->devid);
    free(dom);
    snprintf(path, sizeof(path), "%s/backend", w->fe);
    be = xs_read(w->xs, XBT_NULL, path, NULL);
    if (!be) {
        xs_close(w->xs);
        return -ENOENT;
    }
    snprintf(w->be, sizeof(w->be), "%s", be);
    free(be);
    snprintf(path, sizeof(path), "%s/state", w->fe);
    if (!xs_watch(w->xs, path, "fe"))
        goto fail;
    snprintf(path, sizeof(path), "%s/state", w->be);
    if (!xs_watch(w->xs, path, "be"))
        goto fail;
    if (pthread_create(&w->thread, NULL, watch_thread, w))
        goto fail;
    return 0;
fail:
    xs_close(w->xs);
    return -EIO;
}

static void watch_stop(struct watcher *w)
{
    char path[200];

    /* A new watch fires once at once: its token tells the thread to end. */
    snprintf(path, sizeof(path), "%s/state", w->fe);
    xs_watch(w->xs, path, "stop");
    pthread_join(w->thread, NULL);
    xs_close(w->xs);
}

static int run(struct stress *s, struct sslot *slots, unsigned int qd,
               unsigned int seconds, const char *stop_file, bool final)
{
    const struct blkfront_info *in = blkfront_info(s->bf);
    uint64_t max_blocks = IOVM_MIN((uint64_t)MAX_BLOCKS,
                                   blkfront_max_io(s->bf) / BLK);
    uint64_t t_end = iovm_now_ns() + (uint64_t)seconds * 1000000000ull;
    uint64_t next_look = 0, verify_next = 0;
    unsigned int i;
    int rc;

    s->last_done_ns = iovm_now_ns();
    for (;;) {
        uint64_t now = iovm_now_ns();
        bool sub = false, more;
        struct stat sb;

        more = final ? verify_next < s->nblocks
                     : !stop_signal && (!seconds || now < t_end);
        if (!final && more && stop_file && now >= next_look) {
            next_look = now + 10000000ull;
            if (!stat(stop_file, &sb))
                more = false;
        }
        for (i = 0; i < qd && more; i++) {
            struct sslot *sl = &slots[i];
            unsigned int pct = (unsigned int)(rnd(s) % 100);

            if (sl->busy)
                continue;
            sl->s = s;
            sl->io.done = slot_done;
            sl->io.arg = sl;
            if (final) {
                /* Read everything back, in order. */
                sl->first = verify_next;
                sl->n = IOVM_MIN(max_blocks, s->nblocks - verify_next);
                verify_next += sl->n;
                sl->io.op = BLKIF_OP_READ;
                more = verify_next < s->nblocks;
            } else if (pct < 5 && in->flush) {
                sl->first = sl->n = 0;
                sl->io.op = BLKIF_OP_FLUSH_DISKCACHE;
            } else {
                uint64_t first, n, b;
                uint8_t op = pct < 7 && in->barrier ? BLKIF_OP_WRITE_BARRIER
                             : pct < 65               ? BLKIF_OP_WRITE
                                                      : BLKIF_OP_READ;

                /* A barrier's data travels without indirect pages. */
                if (!pick(s,
                          op == BLKIF_OP_WRITE_BARRIER
                              ? IOVM_MIN(max_blocks,
                                         (uint64_t)BLKIF_MAX_SEGMENTS_PER_REQUEST)
                              : max_blocks,
                          &first, &n))
                    continue;
                sl->first = first;
                sl->n = n;
                sl->io.op = op;
                if (sl->io.op != BLKIF_OP_READ) {
                    sl->gen = ++s->next_gen ? s->next_gen : ++s->next_gen;
                    for (b = 0; b < n; b++)
                        stamp((uint8_t *)sl->io.buf + b * BLK, first + b,
                              sl->gen);
                }
            }
            sl->io.sector = sl->first * (BLK / 512);
            sl->io.len = sl->n * BLK;
            rc = blkfront_submit(s->bf, i % in->queues, &sl->io);
            if (rc == -EAGAIN) {
                uint64_t b;

                for (b = sl->first; b < sl->first + sl->n; b++)
                    s->busy[b] = 0;
                if (final)
                    verify_next = sl->first;
                break;
            }
            if (rc) {
                fprintf(stderr, "iovm-blkfront: stress: submit: %s\n",
                        strerror(-rc));
                return rc;
            }
            if (sl->io.op == BLKIF_OP_WRITE)
                s->writes++;
            else if (sl->io.op == BLKIF_OP_READ)
                s->reads++;
            else if (sl->io.op == BLKIF_OP_WRITE_BARRIER)
                s->barriers++;
            else
                s->flushes++;
            sl->busy = true;
            sub = true;
        }
        if (sub)
            blkfront_kick(s->bf);
        if (!more && !blkfront_inflight(s->bf))
            return 0;
        rc = blkfront_poll(s->bf, 1000);
        if (rc < 0) {
            fprintf(stderr, "iovm-blkfront: stress: %s\n", strerror(-rc));
            return rc;
        }
        if (!blkfront_inflight(s->bf))
            s->last_done_ns = iovm_now_ns();
        now = iovm_now_ns();
        for (i = 0; i < qd; i++) {
            if (slots[i].busy && now - slots[i].io.t_submit > LOST_NS) {
                s->lost++;
                fprintf(stderr, "iovm-blkfront: stress: a request on blocks "
                                "%" PRIu64 "+%" PRIu64 " is unanswered after "
                                "30 s\n",
                        slots[i].first, slots[i].n);
                return -ETIMEDOUT;
            }
        }
    }
}

int cmd_stress(const char *vdev, const struct blkfront_opts *o, int argc,
               char **argv)
{
    static const struct option opts[] = {
        { "qd", required_argument, NULL, 'q' },
        { "seconds", required_argument, NULL, 's' },
        { "span", required_argument, NULL, 'S' },
        { "seed", required_argument, NULL, 'r' },
        { "stop-file", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    struct stress s = { .rng = 0x1234567 };
    struct watcher w = { 0 };
    struct blkfront_stats st;
    struct sigaction sa = { .sa_handler = on_signal };
    unsigned int qd = 32, seconds = 0, i;
    const char *stop_file = NULL;
    uint64_t span = 0, v;
    struct sslot *slots = NULL;
    uint8_t *bufs = NULL;
    bool failed;
    int c, rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            if (iovm_parse_u64(optarg, 256, &v) || !v) {
                fprintf(stderr, "iovm-blkfront: --qd must be 1..256\n");
                return 2;
            }
            qd = (unsigned int)v;
            break;
        case 's':
            if (iovm_parse_u64(optarg, 86400, &v)) {
                fprintf(stderr, "iovm-blkfront: --seconds must be "
                                "0..86400\n");
                return 2;
            }
            seconds = (unsigned int)v;
            break;
        case 'S':
            if (iovm_parse_size(optarg, &span) || span < BLK) {
                fprintf(stderr, "iovm-blkfront: bad --span\n");
                return 2;
            }
            break;
        case 'r':
            if (iovm_parse_u64(optarg, UINT64_MAX, &v) || !v) {
                fprintf(stderr, "iovm-blkfront: bad --seed (1..)\n");
                return 2;
            }
            s.rng = v;
            break;
        case 'f': stop_file = optarg; break;
        default:
            fprintf(stderr, "iovm-blkfront: bad stress option or missing "
                            "value: %s (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "iovm-blkfront: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    if (!seconds && !stop_file) {
        fprintf(stderr, "iovm-blkfront: stress needs --seconds or "
                        "--stop-file\n");
        return 2;
    }
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = blkfront_open(&s.bf, vdev, o);
    if (rc) {
        fprintf(stderr, "iovm-blkfront: cannot connect %s: %s\n", vdev,
                strerror(-rc));
        return 1;
    }
    s.nblocks = (blkfront_info(s.bf)->sectors << 9) / BLK;
    if (span && span / BLK < s.nblocks)
        s.nblocks = span / BLK;
    s.gen = calloc(s.nblocks, sizeof(*s.gen));
    s.busy = calloc(s.nblocks, 1);
    slots = calloc(qd, sizeof(*slots));
    bufs = aligned_alloc(BLK, (size_t)qd * MAX_BLOCKS * BLK);
    if (!s.nblocks || !s.gen || !s.busy || !slots || !bufs) {
        fprintf(stderr, "iovm-blkfront: stress: disk too small or out of "
                        "memory\n");
        rc = -ENOMEM;
        goto out;
    }
    for (i = 0; i < qd; i++)
        slots[i].io.buf = bufs + (size_t)i * MAX_BLOCKS * BLK;
    rc = watch_start(&w, blkfront_info(s.bf));
    if (rc) {
        fprintf(stderr, "iovm-blkfront: stress: cannot watch the states: "
                        "%s\n",
                strerror(-rc));
        goto out;
    }
    rc = run(&s, slots, qd, seconds, stop_file, false);
    if (!rc) {
        s.verifying = true;
        rc = run(&s, slots, qd, 0, NULL, true);
    }
    watch_stop(&w);
out:
    blkfront_stats(s.bf, &st);
    failed = rc || s.errors || s.bad || s.lost || st.bogus ||
             __atomic_load_n(&w.changes, __ATOMIC_RELAXED);
    if (w.changes)
        fprintf(stderr, "iovm-blkfront: stress: a state left Connected: %s\n",
                w.last_bad);
    printf("STRESS %s writes=%" PRIu64 " reads=%" PRIu64 " flushes=%" PRIu64
           " barriers=%" PRIu64 " errors=%" PRIu64 " bad=%" PRIu64 " lost=%" PRIu64
           " bogus=%" PRIu64 " state_changes=%" PRIu64
           " max_gap_ms=%" PRIu64 " verified_blocks=%" PRIu64 "\n",
           failed ? "FAILED" : "ok", s.writes, s.reads, s.flushes,
           s.barriers, s.errors,
           s.bad, s.lost, st.bogus, w.changes, s.max_gap_ns / 1000000,
           s.verified);
    fflush(stdout);
    free(bufs);
    free(slots);
    free(s.gen);
    free(s.busy);
    blkfront_close(s.bf);
    return failed ? 1 : 0;
}
