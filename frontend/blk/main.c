/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkfront: a userspace blkif frontend for guests.
 *
 *   iovm-blkfront [OPTIONS] info VDEV
 *   iovm-blkfront [OPTIONS] verify VDEV
 *   iovm-blkfront [OPTIONS] bench VDEV [--rw MODE] [--bs B] [--qd N]
 *                 [--seconds S]
 *   iovm-blkfront [OPTIONS] fuse VDEV MOUNTDIR
 *   iovm-blkfront [OPTIONS] read|write VDEV OFFSET LEN  (data on stdio)
 *   iovm-blkfront [OPTIONS] discard VDEV OFFSET LEN
 *   iovm-blkfront [OPTIONS] flush VDEV
 *
 * Every feature the backend offers is negotiated unless switched off, so
 * each backend path can be exercised.  Trusts its command line.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/io/blkif.h>

#include "blk-abi.h"
#include "blkfront.h"
#include "front-tool.h"
#include "log.h"
#include "util.h"

/* "iovm-blkfront: <message>" on one line; returns rc. */
static int vsay(int rc, const char *fmt, va_list ap)
{
    fputs("iovm-blkfront: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return rc;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vsay(1, fmt, ap);
    va_end(ap);
    return rc;
}

/* Bad usage: exit status 2. */
static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vsay(2, fmt, ap);
    va_end(ap);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: iovm-blkfront [OPTIONS] COMMAND VDEV [ARGS]\n"
            "Userspace Xen block frontend.\n\n"
            "Commands:\n"
            "  info VDEV                 connect and print what was "
            "negotiated\n"
            "  verify VDEV               write a pattern over the whole "
            "disk, flush,\n"
            "                            read it back and compare\n"
            "  bench VDEV [--rw randread|randwrite|read|write] [--bs B]\n"
            "             [--qd N] [--seconds S] [--span B] [--seed N]\n"
            "             [--no-copy]\n"
            "                            prints RESULT iops=... mbps=... "
            "lat_p50_us=...\n"
            "                            lat_p99_us=... notify_per_req=...\n"
            "  stress VDEV [--seconds S] [--stop-file F] [--qd N] "
            "[--span B] [--seed N]\n"
            "                            checked mix of writes, reads and "
            "flushes on every\n"
            "                            queue until S seconds pass, F "
            "exists or SIGTERM;\n"
            "                            then reads everything back; "
            "watches both states\n"
            "                            stay Connected; prints STRESS "
            "ok|FAILED ...\n"
            "  fuse VDEV MOUNTDIR        export the disk as MOUNTDIR/disk\n"
            "  read VDEV OFFSET LEN      copy bytes to stdout\n"
            "  write VDEV OFFSET LEN     copy bytes from stdin\n"
            "  discard VDEV OFFSET LEN   discard a range\n"
            "  flush VDEV                flush the disk cache\n\n"
            "Options (before the command):\n"
            "  --queues N         at most N queues (default 4)\n"
            "  --ring-order N     at most 2^N ring pages (default 4)\n"
            "  --indirect N       at most N segments per request (default "
            "256; 0: none)\n"
            "  --no-persistent    do not offer persistent grants\n"
            "  --protocol P       ring ABI: native (default), x86_32-abi "
            "(a 32-bit\n"
            "                     guest's) or x86_64-abi\n"
            "  --timeout-ms MS    handshake timeout per step (10000)\n"
            "  --force            take the disk over even if another "
            "frontend\n"
            "                     (one that died, say) left it connected\n"
            "  --poll-us N        busy-poll for responses up to N us before "
            "sleeping,\n"
            "                     while they come that fast (20; 0: never)\n"
            "  --log-level L      error, warn, info or debug (warn)\n"
            "  -h, --help         this text\n"
            "Sizes accept K/M/G suffixes.\n");
}

static int open_dev(const char *vdev, const struct blkfront_opts *o,
                    struct blkfront **bf)
{
    int rc = blkfront_open(bf, vdev, o);

    if (rc)
        fprintf(stderr, "iovm-blkfront: cannot connect %s: %s\n", vdev,
                strerror(-rc));
    return rc;
}

static int cmd_info(struct blkfront *bf)
{
    const struct blkfront_info *in = blkfront_info(bf);

    printf("devid=%u backend=%u sectors=%" PRIu64 " sector_size=%u "
           "physical_sector_size=%u info=%u queues=%u ring_pages=%u "
           "max_segs=%u persistent=%d flush=%d barrier=%d discard=%d\n",
           in->devid, in->backend_id, in->sectors, in->sector_size,
           in->phys_sector_size, in->info, in->queues, in->ring_pages,
           in->max_segs, in->persistent, in->flush, in->barrier, in->discard);
    return 0;
}

/* ---------------------------------------------------------------- */
/* verify: every byte written, flushed and read back */

static void pattern_fill(uint8_t *buf, size_t len, uint64_t off, uint64_t seed)
{
    size_t i;

    /* Each 8-byte word encodes its own disk offset and the seed. */
    for (i = 0; i + 8 <= len; i += 8) {
        uint64_t w = ((off + i) * 0x9e3779b97f4a7c15ull) ^ seed;

        memcpy(buf + i, &w, 8);
    }
}

struct vctx {
    struct blkfront *bf;
    uint8_t *bufs;
    size_t chunk;
    unsigned int slots;
    bool reading;
    uint64_t seed, bad, errors, done_bytes;
};

struct vio {
    struct blkfront_io io;
    struct vctx *v;
    bool busy;
};

static void verify_done(struct blkfront_io *io, void *arg)
{
    struct vio *vi = arg;
    struct vctx *v = vi->v;

    vi->busy = false;
    if (io->status != BLKIF_RSP_OKAY) {
        v->errors++;
        return;
    }
    v->done_bytes += io->len;
    if (v->reading) {
        uint8_t *want = malloc(io->len);

        if (!want) {
            v->errors++;
            return;
        }
        pattern_fill(want, io->len, io->sector << 9, v->seed);
        if (memcmp(want, io->buf, io->len))
            v->bad++;
        free(want);
    }
}

static int verify_pass(struct vctx *v, bool reading)
{
    uint64_t size = blkfront_info(v->bf)->sectors << 9, off = 0;
    struct vio *vios = calloc(v->slots, sizeof(*vios));
    unsigned int i, idle = 0;
    int rc = 0;

    if (!vios)
        return -ENOMEM;
    v->reading = reading;
    for (;;) {
        bool submitted = false;

        for (i = 0; i < v->slots && off < size; i++) {
            struct vio *vi = &vios[i];

            if (vi->busy)
                continue;
            vi->v = v;
            vi->io.op = reading ? BLKIF_OP_READ : BLKIF_OP_WRITE;
            vi->io.sector = off >> 9;
            vi->io.len = IOVM_MIN(v->chunk, size - off);
            vi->io.buf = v->bufs + (size_t)i * v->chunk;
            vi->io.done = verify_done;
            vi->io.arg = vi;
            if (!reading)
                pattern_fill(vi->io.buf, vi->io.len, off, v->seed);
            rc = blkfront_submit(v->bf, 0, &vi->io);
            if (rc == -EAGAIN)
                break;
            if (rc)
                goto out;
            vi->busy = true;
            off += vi->io.len;
            submitted = true;
        }
        if (submitted)
            blkfront_kick(v->bf);
        if (!blkfront_inflight(v->bf) && off >= size)
            break;
        rc = blkfront_poll(v->bf, 5000);
        if (rc < 0)
            goto out;
        /* A backend that stopped answering: give up after 30 s. */
        idle = rc ? 0 : idle + 1;
        if (idle >= 6) {
            rc = -ETIMEDOUT;
            goto out;
        }
        rc = 0;
    }
out:
    free(vios);
    return rc;
}

static int cmd_verify(struct blkfront *bf)
{
    struct vctx v = { .bf = bf };
    uint64_t size = blkfront_info(bf)->sectors << 9;
    int rc, st;

    v.chunk = IOVM_MIN(blkfront_max_io(bf), (size_t)256 * 1024);
    v.slots = 16;
    v.seed = iovm_now_ns();
    v.bufs = aligned_alloc(4096, v.chunk * v.slots);
    if (!v.bufs)
        return fail("out of memory");
    rc = verify_pass(&v, false);
    if (!rc && !v.errors && blkfront_info(bf)->flush) {
        st = blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0);
        if (st != BLKIF_RSP_OKAY)
            v.errors++;
    }
    if (!rc && !v.errors)
        rc = verify_pass(&v, true);
    free(v.bufs);
    if (rc || v.errors || v.bad || v.done_bytes != 2 * size)
        return fail("VERIFY FAILED: rc=%d errors=%" PRIu64 " bad=%" PRIu64
                    " bytes=%" PRIu64 "/%" PRIu64,
                    rc, v.errors, v.bad, v.done_bytes, 2 * size);
    printf("VERIFY OK bytes=%" PRIu64 "\n", size);
    return 0;
}

/* ---------------------------------------------------------------- */
/* raw commands */

static int parse_range(const char *o, const char *l, uint64_t *off,
                       uint64_t *len, const struct blkfront *bf)
{
    uint64_t size = blkfront_info(bf)->sectors << 9;

    if (iovm_parse_size(o, off) || iovm_parse_size(l, len) || *off % 512 ||
        *len % 512 || *off > size || *len > size - *off)
        return -EINVAL;
    return 0;
}

static int cmd_rw(struct blkfront *bf, bool write, const char *o,
                  const char *l)
{
    size_t max = blkfront_max_io(bf);
    uint64_t off, len;
    uint8_t *buf;
    int st = 0;

    if (parse_range(o, l, &off, &len, bf))
        return fail("bad range (512-byte aligned, within the disk)");
    buf = aligned_alloc(4096, max);
    if (!buf)
        return fail("out of memory");
    while (len) {
        size_t n = IOVM_MIN((uint64_t)max, len);

        if (write && iovm_read_all(STDIN_FILENO, buf, n)) {
            free(buf);
            return fail("short input");
        }
        st = blkfront_rw_sync(bf, write ? BLKIF_OP_WRITE : BLKIF_OP_READ,
                              off >> 9, buf, n);
        if (st != BLKIF_RSP_OKAY)
            break;
        if (!write && iovm_write_all(STDOUT_FILENO, buf, n))
            break;
        off += n;
        len -= n;
    }
    free(buf);
    if (st != BLKIF_RSP_OKAY)
        return fail("%s failed: status %d", write ? "write" : "read", st);
    return len ? fail("output error") : 0;
}

static int cmd_simple(struct blkfront *bf, uint8_t op, const char *o,
                      const char *l)
{
    uint64_t off = 0, len = 0;
    int st;

    if (o && parse_range(o, l, &off, &len, bf))
        return fail("bad range");
    st = blkfront_rw_sync(bf, op, off >> 9, NULL, len);
    if (st != BLKIF_RSP_OKAY)
        return fail("%s failed: status %d",
                    op == BLKIF_OP_DISCARD ? "discard" : "flush", st);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "queues", required_argument, NULL, 'q' },
        { "ring-order", required_argument, NULL, 'r' },
        { "indirect", required_argument, NULL, 'i' },
        { "no-persistent", no_argument, NULL, 'P' },
        { "protocol", required_argument, NULL, 'A' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "poll-us", required_argument, NULL, 'p' },
        { "force", no_argument, NULL, 'f' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum iovm_log_level level = IOVM_LOG_WARN;
    struct blkfront_opts o;
    struct blkfront *bf;
    const char *cmd;
    enum blk_abi abi;
    unsigned int v;
    int c, rc;

    blkfront_opts_default(&o);
    /* Options stop at the command: the rest belongs to it. */
    opterr = 0; /* our own one-line message */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            if (iovm_parse_uint(optarg, 16, &v) || !v)
                return bad_usage("--queues must be 1..16");
            o.max_queues = v;
            break;
        case 'r':
            if (iovm_parse_uint(optarg, 4, &v))
                return bad_usage("--ring-order must be 0..4");
            o.max_ring_order = v;
            break;
        case 'i':
            if (iovm_parse_uint(optarg, 256, &v))
                return bad_usage("--indirect must be 0..256");
            o.max_indirect = v;
            break;
        case 'P': o.persistent = false; break;
        case 'A':
            if (strcmp(optarg, "native") && blk_abi_parse(optarg, &abi))
                return bad_usage("--protocol must be native, x86_32-abi or "
                                 "x86_64-abi");
            o.protocol = optarg;
            break;
        case 'f': o.force = true; break;
        case 't':
            if (iovm_parse_uint(optarg, 600000, &v) || !v)
                return bad_usage("bad --timeout-ms");
            o.timeout_ms = v;
            break;
        case 'p':
            if (iovm_parse_uint(optarg, 10000, &v))
                return bad_usage("--poll-us must be 0..10000");
            o.poll_us = v;
            break;
        case 'l':
            if (iovm_log_level_parse(optarg, &level))
                return bad_usage("bad log level '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default:
            return bad_usage("unknown option or missing value: %s (see "
                             "--help)",
                             argv[optind - 1]);
        }
    }
    iovm_log_init("iovm-blkfront", level);
    if (argc - optind < 2) {
        usage(stderr);
        return 2;
    }
    cmd = argv[optind];
    if (strcmp(cmd, "info") && strcmp(cmd, "verify") && strcmp(cmd, "bench") &&
        strcmp(cmd, "stress") &&
        strcmp(cmd, "fuse") && strcmp(cmd, "read") && strcmp(cmd, "write") &&
        strcmp(cmd, "discard") && strcmp(cmd, "flush"))
        return bad_usage("unknown command '%s' (see --help)", cmd);
    if ((!strcmp(cmd, "read") || !strcmp(cmd, "write") ||
         !strcmp(cmd, "discard")) &&
        argc - optind != 4)
        return bad_usage("usage: %s VDEV OFFSET LEN", cmd);
    if (!strcmp(cmd, "fuse") && argc - optind != 3)
        return bad_usage("usage: fuse VDEV MOUNTDIR");
    if (!strcmp(cmd, "bench"))
        return cmd_bench(argv[optind + 1], &o, argc - optind - 1,
                         argv + optind + 1);
    if (!strcmp(cmd, "stress"))
        return cmd_stress(argv[optind + 1], &o, argc - optind - 1,
                          argv + optind + 1);
    if ((!strcmp(cmd, "info") || !strcmp(cmd, "verify") ||
         !strcmp(cmd, "flush")) &&
        argc - optind != 2)
        return bad_usage("usage: %s VDEV", cmd);
    if (open_dev(argv[optind + 1], &o, &bf))
        return 1;
    if (!strcmp(cmd, "info"))
        rc = cmd_info(bf);
    else if (!strcmp(cmd, "verify"))
        rc = cmd_verify(bf);
    else if (!strcmp(cmd, "fuse"))
        rc = cmd_fuse(bf, argv[optind + 2]);
    else if (!strcmp(cmd, "read") || !strcmp(cmd, "write"))
        rc = cmd_rw(bf, cmd[0] == 'w', argv[optind + 2], argv[optind + 3]);
    else if (!strcmp(cmd, "discard"))
        rc = cmd_simple(bf, BLKIF_OP_DISCARD, argv[optind + 2],
                        argv[optind + 3]);
    else
        rc = cmd_simple(bf, BLKIF_OP_FLUSH_DISKCACHE, NULL, NULL);
    blkfront_close(bf);
    return rc;
}
