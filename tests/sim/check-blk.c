/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkback end to end on the simulator: the real daemon runs in a
 * driver domain, this process is the guest and uses libiovmfront.  Every
 * operation is checked against the backing file on the host: read and
 * write at queue depth 1 and 64, indirect requests, several queues,
 * persistent grants and grant copy, the minimal negotiation, flush with
 * and without data, barriers, discard, read-only disks, online resize,
 * close and reconnect, teardown leaving nothing behind, and storage the
 * backend must refuse.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "blkfront.h"
#include "simblk.h"
#include "simtest.h"

#define MIB (1024 * 1024)

static uint32_t dd;
static pid_t bb;
static char logpath[256];

/* A new file of size bytes (a hole) at path. */
static void make_image(const char *path, size_t size)
{
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    close(fd);
}

/* A fresh guest, backing image and vbd; returns the guest's domid. */
static uint32_t new_disk(char *img, size_t len, size_t size, uint32_t devid,
                         const char *const *extra)
{
    uint32_t g = simtest_domain("g");

    snprintf(img, len, "%s/img-%u-%u", simtest_start(), g, devid);
    make_image(img, size);
    simblk_vbd_add(dd, g, devid, img, extra);
    return g;
}

static struct blkfront *connect(uint32_t g, const char *vdev,
                                const struct blkfront_opts *o)
{
    struct blkfront *bf = NULL;
    int rc;

    simtest_enter(g);
    rc = blkfront_open(&bf, vdev, o);
    ck_assert_msg(!rc, "blkfront_open: %s", strerror(-rc));
    return bf;
}

static void fill(uint8_t *b, size_t len, uint64_t off, unsigned int seed)
{
    size_t i;

    for (i = 0; i < len; i++)
        b[i] = (uint8_t)((off + i) * 131 + seed + ((off + i) >> 12));
}

/* The host's view of the backing file: does it hold want at off? */
static bool file_holds(const char *img, uint64_t off, const uint8_t *want,
                       size_t len)
{
    uint8_t *got = malloc(len);
    int fd = open(img, O_RDONLY);
    bool same;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, got, len, off), (ssize_t)len);
    close(fd);
    same = !memcmp(got, want, len);
    free(got);
    return same;
}

static void expect_file(const char *img, uint64_t off, const uint8_t *want,
                        size_t len)
{
    ck_assert_msg(file_holds(img, off, want, len), "file differs at %llu",
                  (unsigned long long)off);
}

static long stat_of(uint32_t dom, const char *key)
{
    char out[512];

    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl stats %u", dom), 0);
    return simtest_field(out, key);
}

START_TEST(rw_qd1)
{
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), 8 * MIB, 51712, NULL);
    struct blkfront *bf = connect(g, "xvda", NULL);
    uint8_t *w = aligned_alloc(4096, MIB), *r = aligned_alloc(4096, MIB);
    unsigned int i;

    ck_assert_uint_eq(blkfront_info(bf)->sectors, 8 * MIB / 512);
    /* Odd sizes and offsets in 512-byte units, one at a time. */
    for (i = 0; i < 64; i++) {
        size_t len = 512 * (1 + (i * 7) % 40);
        uint64_t off = (uint64_t)512 * (i * 37 % 8000);

        fill(w, len, off, i);
        ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, off / 512, w,
                                          len),
                         BLKIF_RSP_OKAY);
        memset(r, 0, len);
        ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, off / 512, r,
                                          len),
                         BLKIF_RSP_OKAY);
        ck_assert(!memcmp(w, r, len));
        expect_file(img, off, w, len);
    }
    /* Past the end of the disk: refused, nothing written. */
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 8 * MIB / 512 - 4,
                                      w, 4096),
                     BLKIF_RSP_ERROR);
    blkfront_close(bf);
    free(w);
    free(r);
}
END_TEST

struct qctx {
    unsigned int done, bad;
};

static void q_done(struct blkfront_io *io, void *arg)
{
    struct qctx *c = arg;

    c->done++;
    if (io->status != BLKIF_RSP_OKAY)
        c->bad++;
}

/* n requests of len bytes, all submitted before any is reaped. */
static void batch(struct blkfront *bf, uint8_t op, uint8_t *buf, size_t len,
                  unsigned int n)
{
    struct blkfront_io *ios = calloc(n, sizeof(*ios));
    struct qctx c = { 0 };
    unsigned int i, sent = 0;

    while (c.done < n) {
        for (; sent < n; sent++) {
            ios[sent].op = op;
            ios[sent].sector = (uint64_t)sent * len / 512;
            ios[sent].buf = buf + (size_t)sent * len;
            ios[sent].len = len;
            ios[sent].done = q_done;
            ios[sent].arg = &c;
            if (blkfront_submit(bf, sent % blkfront_info(bf)->queues,
                                &ios[sent]))
                break;
        }
        blkfront_kick(bf);
        ck_assert_int_ge(blkfront_poll(bf, 5000), 0);
        if (sent == n && !blkfront_inflight(bf))
            break;
    }
    ck_assert_uint_eq(c.done, n);
    ck_assert_uint_eq(c.bad, 0);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(ios[i].status, BLKIF_RSP_OKAY);
    free(ios);
}

/*
 * The other guest ABIs of the ring ("protocol"): a 32-bit guest's
 * x86_32-abi (108-byte slots, 4-byte aligned ids) and x86_64-abi, each on
 * a one-page and a multi-page ring, with direct, indirect, batched (every
 * slot used, the ring wrapping), flush and discard requests: the data
 * comes back right only if the backend reads and answers each slot in
 * the layout the frontend wrote.
 */
START_TEST(guest_abis_end_to_end)
{
    static const char *const protos[] = { XEN_IO_PROTO_ABI_X86_32,
                                          XEN_IO_PROTO_ABI_X86_64 };
    uint8_t *w = aligned_alloc(4096, 4 * MIB), *r = aligned_alloc(4096,
                                                                  4 * MIB);
    unsigned int p, order;

    for (p = 0; p < 2; p++) {
        for (order = 0; order <= 2; order += 2) {
            char img[256];
            uint32_t g = new_disk(img, sizeof(img), 8 * MIB, 51712, NULL);
            struct blkfront_opts o;
            struct blkfront *bf;
            size_t len;

            blkfront_opts_default(&o);
            o.protocol = protos[p];
            o.max_ring_order = order;
            o.max_queues = 1;
            bf = connect(g, "xvda", &o);
            ck_assert_uint_eq(blkfront_info(bf)->ring_pages, 1u << order);
            /* 1 segment, the 11 a slot holds, then indirect. */
            for (len = 4096; len <= 65536; len *= 4) {
                size_t l = len == 65536 ? 45056 : len;

                fill(w, l, 4096, p * 10 + order + (unsigned)len);
                ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 8, w, l),
                                 BLKIF_RSP_OKAY);
                ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, 8, r, l),
                                 BLKIF_RSP_OKAY);
                ck_assert_msg(!memcmp(w, r, l), "%s order %u: %zu bytes",
                              protos[p], order, l);
            }
            fill(w, MIB, 0, 50 + p);
            ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 0, w, MIB),
                             BLKIF_RSP_OKAY);
            expect_file(img, 0, w, MIB);
            /* Every slot, several times round the ring. */
            fill(w, 4 * MIB, 0, 60 + p);
            batch(bf, BLKIF_OP_WRITE, w, 4096, 1024);
            memset(r, 0, 4 * MIB);
            batch(bf, BLKIF_OP_READ, r, 4096, 1024);
            ck_assert_msg(!memcmp(w, r, 4 * MIB), "%s order %u: batch",
                          protos[p], order);
            ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 0,
                                              NULL, 0),
                             BLKIF_RSP_OKAY);
            ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_DISCARD, 128, NULL,
                                              65536),
                             BLKIF_RSP_OKAY);
            memset(w, 0, 65536);
            expect_file(img, 65536, w, 65536);
            blkfront_close(bf);
        }
    }
    free(w);
    free(r);
}
END_TEST

/*
 * A persistent-grant cache far smaller than what the frontend keeps in
 * flight (iovm-blkback --max-persistent-grants 8, in a driver domain of
 * its own): evictions and mappings for one request only, every byte
 * still right; the pages a request brings are mapped in one call, not
 * one by one; and after the disconnect nothing of the guest is mapped.
 */
START_TEST(small_grant_cache)
{
    uint32_t d2 = simtest_domain("dd2"), g = simtest_domain("gc");
    uint8_t *w = aligned_alloc(4096, 8 * MIB), *r = aligned_alloc(4096,
                                                                  8 * MIB);
    char img[200], log2[256], line[512];
    unsigned long long maps = 0, calls = 0;
    struct blkfront_opts o;
    struct blkfront *bf;
    long base;
    pid_t bb2;
    FILE *f;

    snprintf(log2, sizeof(log2), "%s/blkback-dd2.log", simtest_start());
    bb2 = simblk_backend_start(d2, log2,
                               "--log-level debug --remove-delay-ms 100 "
                               "--max-persistent-grants 8");
    snprintf(img, sizeof(img), "%s/gc-%u", simtest_start(), g);
    make_image(img, 8 * MIB);
    base = stat_of(d2, "maps_active");
    simblk_vbd_add(d2, g, 51712, img, NULL);
    blkfront_opts_default(&o);
    o.max_queues = 1;
    bf = connect(g, "xvda", &o);
    ck_assert(blkfront_info(bf)->persistent);
    fill(w, 8 * MIB, 0, 71);
    /* 32 x 256 KiB (64 pages each) in flight: 2048 pages, cache of 8. */
    batch(bf, BLKIF_OP_WRITE, w, 256 * 1024, 32);
    batch(bf, BLKIF_OP_READ, r, 256 * 1024, 32);
    ck_assert(!memcmp(w, r, 8 * MIB));
    expect_file(img, 0, w, 8 * MIB);
    /* Small requests too, on pages the cache keeps. */
    batch(bf, BLKIF_OP_READ, r, 4096, 64);
    ck_assert(!memcmp(w, r, 64 * 4096));
    blkfront_close(bf);
    ck_assert_int_eq(simblk_vbd_remove(d2, g, 51712), 0);
    ck_assert_int_eq(stat_of(d2, "maps_active"), base);
    simblk_backend_stop(bb2);
    f = fopen(log2, "r");
    ck_assert(f);
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "grants: ");

        if (p)
            ck_assert_int_eq(sscanf(p, "grants: %llu maps in %llu calls",
                                    &maps, &calls),
                             2);
    }
    fclose(f);
    ck_assert_msg(maps >= 2 * 2048 && calls * 16 <= maps,
                  "%llu pages mapped in %llu calls", maps, calls);
    free(w);
    free(r);
}
END_TEST

START_TEST(qd64_multiqueue_indirect)
{
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), 16 * MIB, 51712, NULL);
    struct blkfront *bf = connect(g, "xvda", NULL);
    const struct blkfront_info *in = blkfront_info(bf);
    uint8_t *w = aligned_alloc(4096, 16 * MIB), *r = aligned_alloc(4096,
                                                                   16 * MIB);

    /* Everything negotiated: 16-page rings, >1 queue, 256 segments. */
    ck_assert_uint_eq(in->ring_pages, 16);
    ck_assert_uint_ge(in->queues, 2);
    ck_assert_uint_eq(in->max_segs, 256);
    ck_assert(in->persistent);
    fill(w, 16 * MIB, 0, 3);
    batch(bf, BLKIF_OP_WRITE, w, 64 * 1024, 256);      /* QD >= 64 */
    memset(r, 0, 16 * MIB);
    batch(bf, BLKIF_OP_READ, r, MIB, 16);              /* indirect, 1 MiB */
    ck_assert(!memcmp(w, r, 16 * MIB));
    memset(r, 0, 16 * MIB);
    batch(bf, BLKIF_OP_READ, r, 4096, 4096);           /* QD up to ring */
    ck_assert(!memcmp(w, r, 16 * MIB));
    expect_file(img, 0, w, 16 * MIB);
    blkfront_close(bf);
    free(w);
    free(r);
}
END_TEST

START_TEST(grant_copy_mode)
{
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), 4 * MIB, 51712, NULL);
    struct blkfront_opts o;
    struct blkfront *bf;
    uint8_t *w = aligned_alloc(4096, 4 * MIB), *r = aligned_alloc(4096,
                                                                  4 * MIB);
    long copies;

    blkfront_opts_default(&o);
    o.persistent = false;
    bf = connect(g, "xvda", &o);
    ck_assert(!blkfront_info(bf)->persistent);
    copies = stat_of(dd, "copies");
    fill(w, 4 * MIB, 0, 9);
    batch(bf, BLKIF_OP_WRITE, w, 256 * 1024, 16);
    batch(bf, BLKIF_OP_READ, r, 4096, 1024);
    ck_assert(!memcmp(w, r, 4 * MIB));
    expect_file(img, 0, w, 4 * MIB);
    /* The data moved by grant copy, not by mapping. */
    ck_assert_int_gt(stat_of(dd, "copies"), copies + 1000);
    /*
     * One at a time (so the backend reuses one request slot and its
     * bounce buffer): large, small, then a little larger than the small
     * one but under what a slot keeps.  Found on real Xen: the kept
     * buffer was sized by the last request, and the third overran it.
     */
    {
        static const size_t sizes[] = { 256 * 1024, 5 * 4096, 11 * 4096,
                                        3 * 4096, 11 * 4096, 64 * 4096,
                                        11 * 4096 };
        unsigned int i;

        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            fill(w, sizes[i], 0, 20 + i);
            ck_assert_int_eq(
                blkfront_rw_sync(bf, BLKIF_OP_WRITE, 0, w, sizes[i]), 0);
            memset(r, 0, sizes[i]);
            ck_assert_int_eq(
                blkfront_rw_sync(bf, BLKIF_OP_READ, 0, r, sizes[i]), 0);
            ck_assert(!memcmp(w, r, sizes[i]));
        }
    }
    blkfront_close(bf);
    free(w);
    free(r);
}
END_TEST

START_TEST(minimal_negotiation)
{
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), 4 * MIB, 51712, NULL);
    struct blkfront_opts o;
    struct blkfront *bf;
    uint8_t *w = aligned_alloc(4096, MIB), *r = aligned_alloc(4096, MIB);

    blkfront_opts_default(&o);
    o.max_queues = 1;
    o.max_ring_order = 0;
    o.max_indirect = 0;
    bf = connect(g, "xvda", &o);
    ck_assert_uint_eq(blkfront_info(bf)->queues, 1);
    ck_assert_uint_eq(blkfront_info(bf)->ring_pages, 1);
    ck_assert_uint_eq(blkfront_info(bf)->max_segs, 11);
    fill(w, MIB, 0, 5);
    batch(bf, BLKIF_OP_WRITE, w, 44 * 1024, 20); /* 11 segments each */
    batch(bf, BLKIF_OP_READ, r, 44 * 1024, 20);
    ck_assert(!memcmp(w, r, 20 * 44 * 1024));
    blkfront_close(bf);
    free(w);
    free(r);
}
END_TEST

START_TEST(flush_fua_barrier)
{
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), 4 * MIB, 51712, NULL);
    struct blkfront *bf = connect(g, "xvda", NULL);
    uint8_t *w = aligned_alloc(4096, 64 * 1024);

    ck_assert(blkfront_info(bf)->flush);
    ck_assert(blkfront_info(bf)->barrier);
    fill(w, 8192, 0, 1);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 0, w, 8192), 0);
    /* A flush without data, and one carrying data (a FUA write). */
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL,
                                      0),
                     BLKIF_RSP_OKAY);
    fill(w, 16384, 8192, 2);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 16, w,
                                      16384),
                     BLKIF_RSP_OKAY);
    expect_file(img, 8192, w, 16384);
    /* Barriers, with and without data. */
    fill(w, 4096, 65536, 3);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE_BARRIER, 128, w,
                                      4096),
                     BLKIF_RSP_OKAY);
    expect_file(img, 65536, w, 4096);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE_BARRIER, 0, NULL, 0),
                     BLKIF_RSP_OKAY);
    blkfront_close(bf);
    free(w);
}
END_TEST

/*
 * flushfs (tests/sim/flushfs.c), a FUSE file over img: "refuse" fails
 * every fsync; "volatile" keeps writes in memory until an fsync, so img
 * holds exactly what was flushed.  The disk is MNT/disk; MNT/count reads
 * the number of fsyncs.
 */
struct flushfs {
    char img[200], mnt[256], disk[300];
    pid_t pid;
    int out;
};

static void flushfs_start(struct flushfs *f, const char *mode, uint32_t g,
                          size_t size)
{
    const char *b = getenv("IOVM_TEST_BUILDDIR");
    char bin[300], ready[16] = "";
    struct pollfd pfd;
    int out[2];

    snprintf(f->img, sizeof(f->img), "%s/%s-%u", simtest_start(), mode, g);
    make_image(f->img, size);
    snprintf(f->mnt, sizeof(f->mnt), "%s.mnt", f->img);
    ck_assert_int_eq(mkdir(f->mnt, 0700), 0);
    snprintf(bin, sizeof(bin), "%s/tests/sim/flushfs", b ? b : ".");
    ck_assert_int_eq(pipe(out), 0);
    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (!f->pid) {
        /* No ck_assert here, and not Check's message file open. */
        dup2(out[1], 1);
        closefrom(3);
        execl(bin, bin, mode, f->img, f->mnt, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    f->out = out[0];
    pfd = (struct pollfd){ .fd = f->out, .events = POLLIN };
    ck_assert_msg(poll(&pfd, 1, 10000) == 1 &&
                      read(f->out, ready, sizeof(ready) - 1) > 0 &&
                      !strncmp(ready, "READY", 5),
                  "flushfs did not mount (needs /dev/fuse)");
    snprintf(f->disk, sizeof(f->disk), "%s/disk", f->mnt);
}

static unsigned long flushfs_count(const struct flushfs *f)
{
    char path[300], buf[32] = "";
    int fd;

    snprintf(path, sizeof(path), "%s/count", f->mnt);
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
    close(fd);
    return strtoul(buf, NULL, 10);
}

/* Once the backend let go of the file: it unmounts cleanly. */
static void flushfs_stop(struct flushfs *f)
{
    int status;

    kill(f->pid, SIGTERM);
    ck_assert_int_eq(waitpid(f->pid, &status, 0), f->pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "flushfs exit status %d", status);
    close(f->out);
    rmdir(f->mnt);
}

/*
 * Storage that refuses to flush: the FLUSH is answered EOPNOTSUPP, not
 * OKAY; the backend withdraws feature-flush-cache and feature-barrier at
 * run time, as Linux blkback does; the disk goes on serving reads and
 * writes.
 */
START_TEST(flush_refused_is_withdrawn)
{
    char be[200], path[240], v[16];
    uint32_t g = simtest_domain("noflush");
    uint8_t *w = aligned_alloc(4096, 65536), *r = aligned_alloc(4096, 65536);
    struct blkfront *bf;
    struct flushfs f;

    flushfs_start(&f, "refuse", g, 2 * MIB);
    simblk_vbd_add(dd, g, 51776, f.disk, NULL);
    snprintf(be, sizeof(be), "/local/domain/%u/backend/vbd/%u/51776", dd, g);

    bf = connect(g, "xvde", NULL);
    ck_assert(blkfront_info(bf)->flush);
    fill(w, 65536, 0, 41);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 0, w, 65536),
                     BLKIF_RSP_OKAY);
    /* Not OKAY: nothing is known to be on stable storage. */
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL,
                                      0),
                     BLKIF_RSP_EOPNOTSUPP);
    snprintf(path, sizeof(path), "%s/feature-flush-cache", be);
    ck_assert_int_eq(simblk_wait(path, "0", 10000), 0);
    snprintf(path, sizeof(path), "%s/feature-barrier", be);
    ck_assert_int_eq(simblk_read(path, v, sizeof(v)), 0);
    ck_assert_str_eq(v, "0");
    /* Still a disk. */
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, 0, r, 65536),
                     BLKIF_RSP_OKAY);
    ck_assert(!memcmp(w, r, 65536));
    blkfront_close(bf);
    ck_assert_int_eq(simblk_vbd_remove(dd, g, 51776), 0);
    flushfs_stop(&f);
    expect_file(f.img, 0, w, 65536);
    free(w);
    free(r);
}
END_TEST

/* Not (yet) on the storage. */
static void expect_file_not(const char *img, uint64_t off, const uint8_t *want,
                            size_t len)
{
    ck_assert_msg(!file_holds(img, off, want, len),
                  "already on storage at %llu", (unsigned long long)off);
}

/*
 * Storage with a volatile cache (flushfs volatile): what the frontend is
 * told is flushed is on the storage, counted in fsyncs.  A plain write is
 * acknowledged from the cache (the harness works: not on storage yet); a
 * FLUSH puts it there; a FLUSH with data (FUA) puts its own data there
 * too; a barrier alone in flight, with and without data, flushes what
 * came before it and itself.
 */
START_TEST(flush_reaches_storage)
{
    uint32_t g = simtest_domain("volatile");
    uint8_t *w = aligned_alloc(4096, 65536), *x = aligned_alloc(4096, 65536);
    struct blkfront *bf;
    struct flushfs f;
    unsigned long n0;

    flushfs_start(&f, "volatile", g, 2 * MIB);
    simblk_vbd_add(dd, g, 51792, f.disk, NULL);
    bf = connect(g, "xvdf", NULL);
    ck_assert(blkfront_info(bf)->flush);
    ck_assert(blkfront_info(bf)->barrier);
    n0 = flushfs_count(&f);

    fill(w, 65536, 0, 51);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 0, w, 65536),
                     BLKIF_RSP_OKAY);
    expect_file_not(f.img, 0, w, 65536);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL,
                                      0),
                     BLKIF_RSP_OKAY);
    ck_assert_uint_ge(flushfs_count(&f), n0 + 1);
    expect_file(f.img, 0, w, 65536);

    /* FUA: a FLUSH carrying data (direct segments only: INDIRECT
     * carries reads and writes); its data is stable once OKAY. */
    n0 = flushfs_count(&f);
    fill(x, 32768, 65536, 52);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 128, x,
                                      32768),
                     BLKIF_RSP_OKAY);
    ck_assert_uint_ge(flushfs_count(&f), n0 + 1);
    expect_file(f.img, 65536, x, 32768);

    /* A barrier alone in flight, with data: what came before it and its
     * own data are stable once it is answered. */
    fill(w, 65536, 131072, 53);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 256, w, 65536),
                     BLKIF_RSP_OKAY);
    expect_file_not(f.img, 131072, w, 65536);
    fill(x, 4096, 262144, 54);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE_BARRIER, 512, x,
                                      4096),
                     BLKIF_RSP_OKAY);
    expect_file(f.img, 131072, w, 65536);
    expect_file(f.img, 262144, x, 4096);
    /* And without data. */
    fill(w, 4096, 393216, 55);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 768, w, 4096),
                     BLKIF_RSP_OKAY);
    n0 = flushfs_count(&f);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE_BARRIER, 0, NULL, 0),
                     BLKIF_RSP_OKAY);
    ck_assert_uint_ge(flushfs_count(&f), n0 + 1);
    expect_file(f.img, 393216, w, 4096);

    blkfront_close(bf);
    ck_assert_int_eq(simblk_vbd_remove(dd, g, 51792), 0);
    flushfs_stop(&f);
    free(w);
    free(x);
}
END_TEST

START_TEST(barrier_orders_after_queued_writes)
{
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), 8 * MIB, 51712, NULL);
    struct blkfront_opts o;
    struct blkfront *bf;
    uint8_t *w = aligned_alloc(4096, 4 * MIB), *b = aligned_alloc(4096, 4096);
    struct blkfront_io ios[65];
    struct qctx c = { 0 };
    unsigned int i;

    blkfront_opts_default(&o);
    o.max_queues = 1;
    bf = connect(g, "xvda", &o);
    fill(w, 4 * MIB, 0, 11);
    memset(ios, 0, sizeof(ios));
    /* 64 writes, then a barrier overwriting the first block, all queued
     * together: the barrier waits for the writes, so its data wins. */
    for (i = 0; i < 64; i++) {
        ios[i] = (struct blkfront_io){ .op = BLKIF_OP_WRITE,
                                       .sector = i * 128,
                                       .buf = w + (size_t)i * 65536,
                                       .len = 65536, .done = q_done,
                                       .arg = &c };
        ck_assert_int_eq(blkfront_submit(bf, 0, &ios[i]), 0);
    }
    memset(b, 0x5a, 4096);
    ios[64] = (struct blkfront_io){ .op = BLKIF_OP_WRITE_BARRIER, .sector = 0,
                                    .buf = b, .len = 4096, .done = q_done,
                                    .arg = &c };
    ck_assert_int_eq(blkfront_submit(bf, 0, &ios[64]), 0);
    blkfront_kick(bf);
    while (c.done < 65)
        ck_assert_int_ge(blkfront_poll(bf, 5000), 0);
    ck_assert_uint_eq(c.bad, 0);
    expect_file(img, 0, b, 4096);
    expect_file(img, 4096, w + 4096, 4 * MIB - 4096);
    blkfront_close(bf);
    free(w);
    free(b);
}
END_TEST

START_TEST(discard_makes_zeroes)
{
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), 4 * MIB, 51712, NULL);
    struct blkfront *bf = connect(g, "xvda", NULL);
    uint8_t *w = aligned_alloc(4096, MIB), *z = calloc(1, MIB);
    struct stat before, after;

    ck_assert(blkfront_info(bf)->discard);
    fill(w, MIB, 0, 4);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 0, w, MIB), 0);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL,
                                      0),
                     0);
    ck_assert_int_eq(stat(img, &before), 0);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_DISCARD, 256, NULL,
                                      512 * 1024),
                     BLKIF_RSP_OKAY);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, 0, w, MIB), 0);
    ck_assert(!memcmp(w + 128 * 1024, z, 512 * 1024));
    ck_assert_int_eq(stat(img, &after), 0);
    ck_assert_int_lt(after.st_blocks, before.st_blocks); /* a real hole */
    /* Past the end: refused. */
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_DISCARD, 8000, NULL, MIB),
                     BLKIF_RSP_ERROR);
    blkfront_close(bf);
    free(w);
    free(z);
}
END_TEST

START_TEST(readonly_disk)
{
    static const char *const ro[] = { "mode", "r", "discard-enable", "0",
                                      NULL };
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), MIB, 51712, ro);
    struct blkfront *bf = connect(g, "xvda", NULL);
    uint8_t *w = aligned_alloc(4096, 4096);

    ck_assert(blkfront_info(bf)->info & VDISK_READONLY);
    ck_assert(!blkfront_info(bf)->discard);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, 0, w, 4096), 0);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 0, w, 4096),
                     BLKIF_RSP_ERROR);
    blkfront_close(bf);
    free(w);
}
END_TEST

START_TEST(online_resize)
{
    char img[256], path[160];
    uint32_t g = new_disk(img, sizeof(img), MIB, 51712, NULL);
    struct blkfront *bf = connect(g, "xvda", NULL);
    uint8_t *w = aligned_alloc(4096, 4096);

    ck_assert_int_eq(truncate(img, 3 * MIB), 0);
    snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd/%u/51712/sectors",
             dd, g);
    /* The backend notices (inotify-free: its periodic check or SIGHUP). */
    kill(bb, SIGHUP);
    ck_assert_int_eq(simblk_wait(path, "6144", 15000), 0);
    /* The new space is usable after reconnecting. */
    blkfront_close(bf);
    bf = connect(g, "xvda", NULL);
    ck_assert_uint_eq(blkfront_info(bf)->sectors, 6144);
    memset(w, 7, 4096);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 6136, w, 4096), 0);
    expect_file(img, 3 * MIB - 4096, w, 4096);
    blkfront_close(bf);
    free(w);
}
END_TEST

/*
 * A block device as storage (a loop device over an image), as on real
 * hardware: the size comes from the device, data lands in the image.
 * Found on real Xen: the size ioctl used a descriptor not yet set.
 */
START_TEST(block_device_storage)
{
    static const char *const phy[] = { "type", "phy", "direct-io-safe", "1",
                                       NULL };
    char img[256], loopdev[64], path[200], v[32];
    uint32_t g = simtest_domain("bdev");
    uint8_t *w = aligned_alloc(4096, 64 * 1024), *r = aligned_alloc(4096,
                                                                     64 * 1024);
    struct blkfront *bf;

    snprintf(img, sizeof(img), "%s/bdev-%u", simtest_start(), g);
    make_image(img, 3 * MIB);
    ck_assert_msg(simtest_sh(loopdev, sizeof(loopdev),
                             "losetup --find --show '%s'", img) == 0 &&
                      !strncmp(loopdev, "/dev/loop", 9),
                  "this test needs a loop device (losetup, as root): '%s'",
                  loopdev);
    simblk_vbd_add(dd, g, 51712, loopdev, phy);
    bf = connect(g, "xvda", NULL);
    ck_assert_uint_eq(blkfront_info(bf)->sectors, 3 * MIB / 512);
    fill(w, 64 * 1024, 0, 31);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 2048, w, 64 * 1024),
                     0);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL,
                                      0),
                     0);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, 2048, r, 64 * 1024),
                     0);
    ck_assert(!memcmp(w, r, 64 * 1024));
    blkfront_close(bf);
    ck_assert_int_eq(simblk_vbd_remove(dd, g, 51712), 0);
    snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd/%u/51712", dd,
             g);
    ck_assert_int_eq(simblk_read(path, v, sizeof(v)), -ENOENT);
    /* Through the loop device into the image. */
    ck_assert_int_eq(simtest_sh(NULL, 0, "losetup -d %s", loopdev), 0);
    expect_file(img, 2048 * 512, w, 64 * 1024);
    free(w);
    free(r);
}
END_TEST

static unsigned int fd_count(pid_t pid)
{
    char path[64];
    unsigned int n = 0;
    struct dirent *e;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(close_reconnect_teardown)
{
    /* The baseline before the disk exists: its removal closes all. */
    pid_t pid = bb;
    unsigned int fds0 = fd_count(pid);
    char img[256], path[160], st[16];
    uint32_t g = new_disk(img, sizeof(img), 2 * MIB, 51712, NULL);
    uint8_t *w = aligned_alloc(4096, MIB), *r = aligned_alloc(4096, MIB);
    long maps0 = stat_of(dd, "maps_active"), ports0 = stat_of(dd, "ports");
    struct blkfront *bf;
    int round;

    ck_assert_uint_gt(fds0, 0);
    fill(w, MIB, 0, 6);
    for (round = 0; round < 3; round++) {
        bf = connect(g, "xvda", NULL);
        if (round)
            ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, 0, r, MIB),
                             0);
        if (round)
            ck_assert(!memcmp(w, r, MIB)); /* survived the reconnect */
        ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, 0, w, MIB), 0);
        blkfront_close(bf);
        snprintf(path, sizeof(path),
                 "/local/domain/%u/backend/vbd/%u/51712/state", dd, g);
        ck_assert_int_eq(simblk_read(path, st, sizeof(st)), 0);
        ck_assert_str_eq(st, "6");
        /* Nothing of the connection is left mapped. */
        ck_assert_int_eq(stat_of(dd, "maps_active"), maps0);
    }
    /* The toolstack takes the disk away: the backend removes its node. */
    ck_assert_int_eq(simblk_vbd_remove(dd, g, 51712), 0);
    snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd/%u/51712", dd,
             g);
    ck_assert_int_eq(simblk_read(path, st, sizeof(st)), -ENOENT);
    ck_assert_int_eq(stat_of(dd, "maps_active"), maps0);
    ck_assert_int_eq(stat_of(dd, "ports"), ports0);
    /* The storage and every per-connection fd are closed again. */
    ck_assert_uint_eq(fd_count(pid), fds0);
    free(w);
    free(r);
}
END_TEST

START_TEST(bad_storage_fails_only_that_disk)
{
    static const char *const missing[] = { NULL };
    char img[256], img2[256], path[200], v[64];
    uint32_t g, g2;
    struct blkfront *bf;
    uint8_t buf[512];

    g = simtest_domain("bad");
    snprintf(img, sizeof(img), "%s/no-such-image", simtest_start());
    simblk_vbd_add(dd, g, 51712, img, missing);
    snprintf(path, sizeof(path),
             "/local/domain/%u/backend/vbd/%u/51712/state", dd, g);
    ck_assert_int_eq(simblk_wait(path, "5", 10000), 0);
    snprintf(path, sizeof(path),
             "/local/domain/%u/backend/vbd/%u/51712/error", dd, g);
    ck_assert_int_eq(simblk_read(path, v, sizeof(v)), 0);
    ck_assert_msg(strstr(v, "2 "), "error node '%s'", v); /* ENOENT */
    /* A second read-write attach of the same image is refused. */
    g2 = new_disk(img2, sizeof(img2), MIB, 51712, NULL);
    bf = connect(g2, "xvda", NULL);
    g = simtest_domain("dup");
    simblk_vbd_add(dd, g, 51712, img2, NULL);
    snprintf(path, sizeof(path),
             "/local/domain/%u/backend/vbd/%u/51712/state", dd, g);
    ck_assert_int_eq(simblk_wait(path, "5", 10000), 0);
    /* The daemon still serves the good disk. */
    simtest_enter(g2);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, 0, buf, 512), 0);
    blkfront_close(bf);
}
END_TEST

static void setup(void)
{
    bb = simblk_fixture_start(&dd, logpath, sizeof(logpath));
}

static void teardown(void)
{
    simblk_fixture_stop(bb);
}

int main(void)
{
    Suite *s = suite_create("sim-blk");
    TCase *tc = tcase_create("blkback");

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_checked_fixture(tc, simtest_cloexec_all, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rw_qd1);
    tcase_add_test(tc, guest_abis_end_to_end);
    tcase_add_test(tc, qd64_multiqueue_indirect);
    tcase_add_test(tc, grant_copy_mode);
    tcase_add_test(tc, minimal_negotiation);
    tcase_add_test(tc, flush_fua_barrier);
    tcase_add_test(tc, barrier_orders_after_queued_writes);
    tcase_add_test(tc, discard_makes_zeroes);
    tcase_add_test(tc, readonly_disk);
    tcase_add_test(tc, block_device_storage);
    tcase_add_test(tc, flush_refused_is_withdrawn);
    tcase_add_test(tc, flush_reaches_storage);
    tcase_add_test(tc, small_grant_cache);
    tcase_add_test(tc, online_resize);
    tcase_add_test(tc, close_reconnect_teardown);
    tcase_add_test(tc, bad_storage_fails_only_that_disk);
    suite_add_tcase(s, tc);
    return simtest_run(s);
}
