/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The baseline of tests/bench/blk-compare: the same workload as
 * "iovm-blkfront bench", straight on the image file with io_uring from one
 * thread (same queue depth, block size and access pattern), so the ratio
 * shows what the frontend -> ring -> backend path costs.
 *
 *   direct-io FILE [--rw randread|read|randwrite|write] [--bs B] [--qd N]
 *             [--seconds S] [--span BYTES] [--seed N] [--direct]
 * --seed picks other random offsets (and, for sequential runs, another
 * start): blk-compare gives every run its own, so no run reads what the
 * one before it just pulled into a cache below us.
 * prints: RESULT iops=... mbps=... lat_p50_us=... lat_p99_us=... reqs=...
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lathist.h"
#include "offsets.h"
#include "util.h"

static struct iovm_lathist lat;

struct slot {
    uint64_t t;
    void *buf;
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "rw", required_argument, NULL, 'w' },
        { "bs", required_argument, NULL, 'b' },
        { "qd", required_argument, NULL, 'q' },
        { "seconds", required_argument, NULL, 's' },
        { "span", required_argument, NULL, 'S' },
        { "direct", no_argument, NULL, 'D' },
        { "seed", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t bs = 4096, span = 0, v, seed = 0, size;
    uint64_t done = 0, bytes = 0, t0, t_end;
    unsigned int qd = 32, seconds = 5, i, inflight = 0;
    bool rnd = true, wr = false, direct = false;
    struct io_uring ring;
    struct iovm_offsets offs;
    struct slot *slots;
    struct stat sb;
    int c, fd;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            rnd = !strncmp(optarg, "rand", 4);
            wr = strstr(optarg, "write") != NULL;
            break;
        case 'b':
            if (iovm_parse_size(optarg, &bs) || !bs || bs % 512)
                return 2;
            break;
        case 'q':
            if (iovm_parse_u64(optarg, 1024, &v) || !v)
                return 2;
            qd = v;
            break;
        case 's':
            if (iovm_parse_u64(optarg, 3600, &v) || !v)
                return 2;
            seconds = v;
            break;
        case 'S':
            if (iovm_parse_size(optarg, &span))
                return 2;
            break;
        case 'D': direct = true; break;
        case 'r':
            if (iovm_parse_u64(optarg, UINT64_MAX, &seed))
                return 2;
            break;
        default:
            fprintf(stderr, "usage: direct-io FILE [--rw MODE] [--bs B] "
                            "[--qd N] [--seconds S] [--span B] [--seed N] "
                            "[--direct]\n");
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "direct-io: need exactly one FILE\n");
        return 2;
    }
    fd = open(argv[optind], (wr ? O_RDWR : O_RDONLY) | (direct ? O_DIRECT : 0));
    if (fd < 0 || fstat(fd, &sb)) {
        perror(argv[optind]);
        return 1;
    }
    size = (uint64_t)sb.st_size;
    /* A block device's size is not in st_size. */
    if (S_ISBLK(sb.st_mode) && ioctl(fd, BLKGETSIZE64, &size))
        size = 0;
    if (!span || span > size)
        span = size;
    if (span < bs || io_uring_queue_init(qd, &ring, 0)) {
        fprintf(stderr, "direct-io: bad size or no io_uring\n");
        return 1;
    }
    /* As iovm-blkfront bench does with the same seed. */
    iovm_offsets_init(&offs, span, bs, rnd, seed);
    slots = calloc(qd, sizeof(*slots));
    for (i = 0; i < qd; i++)
        if (posix_memalign(&slots[i].buf, 4096, bs))
            return 1;
    t0 = iovm_now_ns();
    t_end = t0 + (uint64_t)seconds * 1000000000ull;
    for (;;) {
        struct io_uring_cqe *cqe;
        unsigned int head, n = 0;

        for (i = 0; i < qd && inflight < qd && iovm_now_ns() < t_end; i++) {
            struct io_uring_sqe *sqe;
            uint64_t off;

            if (slots[i].t)
                continue;
            off = iovm_offsets_next(&offs);
            sqe = io_uring_get_sqe(&ring);
            if (wr)
                io_uring_prep_write(sqe, fd, slots[i].buf, bs, off);
            else
                io_uring_prep_read(sqe, fd, slots[i].buf, bs, off);
            io_uring_sqe_set_data(sqe, &slots[i]);
            slots[i].t = iovm_now_ns();
            inflight++;
        }
        if (!inflight)
            break;
        io_uring_submit_and_wait(&ring, 1);
        io_uring_for_each_cqe(&ring, head, cqe) {
            struct slot *s = io_uring_cqe_get_data(cqe);

            if (cqe->res != (int)bs) {
                fprintf(stderr, "direct-io: I/O failed: %d\n", cqe->res);
                return 1;
            }
            iovm_lathist_add(&lat, iovm_now_ns() - s->t);
            s->t = 0;
            done++;
            bytes += bs;
            inflight--;
            n++;
        }
        io_uring_cq_advance(&ring, n);
    }
    {
        double secs = (iovm_now_ns() - t0) / 1e9;

        printf("RESULT iops=%.0f mbps=%.1f lat_p50_us=%.1f lat_p99_us=%.1f "
               "reqs=%" PRIu64 "\n",
               done / secs, bytes / secs / 1e6, iovm_lathist_pct_us(&lat, 0.5),
               iovm_lathist_pct_us(&lat, 0.99),
               done);
    }
    return 0;
}
