/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkfront bench: keeps QD requests of BS bytes in flight for a
 * while and prints one line:
 *   RESULT iops=... mbps=... lat_p50_us=... lat_p99_us=...
 *          notify_per_req=... reqs=...
 * notify_per_req counts this frontend's notifications, both directions
 * (kicks it sent plus events it received), per completed request.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/io/blkif.h>

#include "front-tool.h"
#include "lathist.h"
#include "offsets.h"
#include "util.h"


struct bench {
    struct blkfront *bf;
    bool write, random, copy;
    size_t bs;
    uint64_t span, done, bytes, errors;
    struct iovm_offsets off;
    struct iovm_lathist lat;
};

struct bio_slot {
    struct blkfront_io io;
    struct bench *b;
    bool busy;
};

static void bench_done(struct blkfront_io *io, void *arg)
{
    struct bio_slot *s = arg;
    struct bench *b = s->b;

    s->busy = false;
    if (io->status != BLKIF_RSP_OKAY) {
        b->errors++;
        return;
    }
    b->done++;
    b->bytes += io->len;
    iovm_lathist_add(&b->lat, iovm_now_ns() - io->t_submit);
}

int cmd_bench(const char *vdev, const struct blkfront_opts *o, int argc,
              char **argv)
{
    static const struct option opts[] = {
        { "rw", required_argument, NULL, 'w' },
        { "bs", required_argument, NULL, 'b' },
        { "qd", required_argument, NULL, 'q' },
        { "seconds", required_argument, NULL, 's' },
        { "span", required_argument, NULL, 'S' },
        { "no-copy", no_argument, NULL, 'C' },
        { "seed", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    struct bench b = { .bs = 4096, .random = true, .copy = true };
    unsigned int qd = 32, seconds = 5, i, idle = 0;
    struct blkfront_stats st;
    struct bio_slot *slots;
    uint64_t t0, t_end, span = 0, v, seed = 0;
    uint8_t *bufs;
    double secs;
    int c, rc;

    optind = 1;
    opterr = 0; /* our own one-line message */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (!strcmp(optarg, "randread") || !strcmp(optarg, "randwrite") ||
                !strcmp(optarg, "read") || !strcmp(optarg, "write")) {
                b.write = strstr(optarg, "write") != NULL;
                b.random = !strncmp(optarg, "rand", 4);
            } else {
                fprintf(stderr, "iovm-blkfront: --rw must be randread, "
                                "randwrite, read or write\n");
                return 2;
            }
            break;
        case 'b':
            if (iovm_parse_size(optarg, &v) || !v || v % 512 || v > (1 << 20)) {
                fprintf(stderr, "iovm-blkfront: --bs must be a multiple of "
                                "512 up to 1M\n");
                return 2;
            }
            b.bs = v;
            break;
        case 'q':
            if (iovm_parse_u64(optarg, 1024, &v) || !v) {
                fprintf(stderr, "iovm-blkfront: --qd must be 1..1024\n");
                return 2;
            }
            qd = (unsigned int)v;
            break;
        case 's':
            if (iovm_parse_u64(optarg, 3600, &v) || !v) {
                fprintf(stderr, "iovm-blkfront: --seconds must be 1..3600\n");
                return 2;
            }
            seconds = (unsigned int)v;
            break;
        case 'S':
            if (iovm_parse_size(optarg, &span) || !span) {
                fprintf(stderr, "iovm-blkfront: bad --span\n");
                return 2;
            }
            break;
        case 'C': b.copy = false; break;
        case 'r':
            if (iovm_parse_u64(optarg, UINT64_MAX, &seed)) {
                fprintf(stderr, "iovm-blkfront: bad --seed\n");
                return 2;
            }
            break;
        default:
            fprintf(stderr, "iovm-blkfront: bad bench option or missing "
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
    rc = blkfront_open(&b.bf, vdev, o);
    if (rc) {
        fprintf(stderr, "iovm-blkfront: cannot connect %s: %s\n", vdev,
                strerror(-rc));
        return 1;
    }
    b.span = blkfront_info(b.bf)->sectors << 9;
    if (span && span < b.span)
        b.span = span;
    if (b.bs > blkfront_max_io(b.bf) || b.span < b.bs) {
        fprintf(stderr, "iovm-blkfront: --bs %zu does not fit (max %zu, disk "
                        "%" PRIu64 ")\n",
                b.bs, blkfront_max_io(b.bf), b.span);
        blkfront_close(b.bf);
        return 2;
    }
    iovm_offsets_init(&b.off, b.span, b.bs, b.random, seed);
    slots = calloc(qd, sizeof(*slots));
    bufs = aligned_alloc(4096, (size_t)qd * b.bs);
    if (!slots || !bufs) {
        blkfront_close(b.bf);
        return 1;
    }
    for (i = 0; i < (size_t)qd * b.bs; i++)
        bufs[i] = (uint8_t)(i * 31);
    t0 = iovm_now_ns();
    t_end = t0 + (uint64_t)seconds * 1000000000ull;
    for (;;) {
        bool sub = false;
        uint64_t now = iovm_now_ns();

        for (i = 0; i < qd && now < t_end; i++) {
            struct bio_slot *s = &slots[i];

            if (s->busy)
                continue;
            s->b = &b;
            s->io.op = b.write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
            s->io.sector = iovm_offsets_next(&b.off) >> 9;
            s->io.len = b.bs;
            s->io.buf = b.copy ? bufs + (size_t)i * b.bs : NULL;
            s->io.done = bench_done;
            s->io.arg = s;
            /* Spread over the queues the way blk-mq does per CPU. */
            rc = blkfront_submit(b.bf, i % blkfront_info(b.bf)->queues,
                                 &s->io);
            if (rc == -EAGAIN)
                break;
            if (rc) {
                fprintf(stderr, "iovm-blkfront: submit: %s\n", strerror(-rc));
                goto out;
            }
            s->busy = true;
            sub = true;
        }
        if (sub)
            blkfront_kick(b.bf);
        if (now >= t_end && !blkfront_inflight(b.bf))
            break;
        rc = blkfront_poll(b.bf, 1000);
        if (rc < 0)
            goto out;
        idle = rc ? 0 : idle + 1;
        if (idle > 30) {
            fprintf(stderr, "iovm-blkfront: backend stopped answering\n");
            rc = -ETIMEDOUT;
            goto out;
        }
    }
    rc = 0;
    secs = (iovm_now_ns() - t0) / 1e9;
    blkfront_stats(b.bf, &st);
    printf("RESULT iops=%.0f mbps=%.1f lat_p50_us=%.1f lat_p99_us=%.1f "
           "notify_per_req=%.4f reqs=%" PRIu64 " errors=%" PRIu64 "\n",
           b.done / secs, b.bytes / secs / 1e6, iovm_lathist_pct_us(&b.lat, 0.50),
           iovm_lathist_pct_us(&b.lat, 0.99),
           b.done ? (double)(st.notify_sent + st.events) / b.done : 0.0,
           b.done, b.errors);
    fflush(stdout);
out:
    free(slots);
    free(bufs);
    blkfront_close(b.bf);
    return rc || b.errors ? 1 : 0;
}
