/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkback against a hostile frontend, on the simulator: the real
 * daemon runs in a driver domain, this process plays guests that break
 * the blkif protocol on purpose, through libiovmfront's raw ring access
 * and by writing frontend xenstore keys by hand.  Each case checks what
 * a guest may expect (an error response, or the device failed with an
 * error node and Closing) and that the daemon lives on: the same device
 * keeps working after a bad request, another guest's disk keeps working
 * after a fatal one, and nothing stays mapped or open.
 * Cases are named after reliability-anchors.md section 6 (MF-B*).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xen/xen.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "blkfront.h"
#include "simblk.h"
#include "simtest.h"

#define MIB (1024 * 1024)
#define DEVID 51712u /* xvda */
#define BAD_REF 0xfffffu /* never granted */

static uint32_t dd;
static pid_t bb;
static char logpath[256];

/* Any request layout, in a slot's worth of bytes. */
union req {
    blkif_request_t rw;
    blkif_request_discard_t d;
    blkif_request_indirect_t ind;
    union blkif_sring_entry slot;
};
_Static_assert(sizeof(union req) == sizeof(union blkif_sring_entry),
               "a request is one slot");

/* ------------------------------------------------------------ helpers */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fresh guest, backing image and vbd; returns the guest's domid. */
static uint32_t new_disk(char *img, size_t len, size_t size,
                         const char *const *extra)
{
    uint32_t g = simtest_domain("g");
    int fd;

    snprintf(img, len, "%s/img-%u", simtest_start(), g);
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    close(fd);
    simblk_vbd_add(dd, g, DEVID, img, extra);
    return g;
}

static struct blkfront *connect(uint32_t g, unsigned int max_queues)
{
    struct blkfront_opts o;
    struct blkfront *bf = NULL;
    int rc;

    blkfront_opts_default(&o);
    o.max_queues = max_queues;
    simtest_enter(g);
    rc = blkfront_open(&bf, "xvda", &o);
    ck_assert_msg(!rc, "blkfront_open: %s", strerror(-rc));
    return bf;
}

static void fill(uint8_t *b, size_t len, unsigned int seed)
{
    size_t i;

    for (i = 0; i < len; i++)
        b[i] = (uint8_t)(i * 131 + seed + (i >> 9));
}

/* The host's view of the backing file. */
static void expect_file(const char *img, uint64_t off, const uint8_t *want,
                        size_t len)
{
    uint8_t *got = malloc(len);
    int fd = open(img, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, got, len, off), (ssize_t)len);
    close(fd);
    ck_assert_msg(!memcmp(got, want, len), "%s differs at %llu", img,
                  (unsigned long long)off);
    free(got);
}

/* A normal write, read back and found in the file: the device works. */
static void rw_ok(struct blkfront *bf, const char *img, uint64_t sector,
                  unsigned int seed)
{
    uint8_t w[8192], r[8192];

    fill(w, sizeof(w), seed);
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_WRITE, sector, w,
                                      sizeof(w)),
                     BLKIF_RSP_OKAY);
    memset(r, 0, sizeof(r));
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, sector, r,
                                      sizeof(r)),
                     BLKIF_RSP_OKAY);
    ck_assert(!memcmp(w, r, sizeof(r)));
    expect_file(img, sector * 512, w, sizeof(w));
}

static long stat_of(uint32_t dom, const char *key)
{
    char out[512];

    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl stats %u", dom), 0);
    return simtest_field(out, key);
}

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

static void be_path(char *buf, size_t len, uint32_t g, const char *key)
{
    snprintf(buf, len, "/local/domain/%u/backend/vbd/%u/%u%s%s", dd, g, DEVID,
             key ? "/" : "", key ? key : "");
}

/* The device failed as xenbus_dev_fatal() fails one: Closing, and an
 * error node "<errno> <message>" naming err. */
static void expect_dev_failed(uint32_t g, int err)
{
    char path[200], v[256], want[16];

    be_path(path, sizeof(path), g, "state");
    ck_assert_int_eq(simblk_wait(path, "5", 10000), 0);
    be_path(path, sizeof(path), g, "error");
    ck_assert_int_eq(simblk_read(path, v, sizeof(v)), 0);
    snprintf(want, sizeof(want), "%d ", err);
    ck_assert_msg(!strncmp(v, want, strlen(want)), "error node '%s', want %d",
                  v, err);
}

/* libxl's removal of g's vbd (see simblk_vbd_remove). */
static int vbd_remove(uint32_t g)
{
    return simblk_vbd_remove(dd, g, DEVID);
}

/* The backend's /proc/<pid>/stat into st; returns what follows its
 * name: " <state> <ppid> ...". */
static const char *backend_stat(char *st, size_t len)
{
    char path[64], *p = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)bb);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    if (fgets(st, (int)len, f))
        p = strrchr(st, ')');
    fclose(f);
    ck_assert_ptr_nonnull(p);
    return p + 1;
}

/* The daemon runs (it is the runner's child, not ours: no waitpid; a
 * zombie would still take kill(pid, 0)). */
static void backend_alive(void)
{
    char st[512];
    const char *p;

    ck_assert_int_eq(kill(bb, 0), 0);
    p = backend_stat(st, sizeof(st));
    ck_assert_msg(p[0] == ' ' && p[1] != 'Z' && p[1] != 'X',
                  "iovm-blkback is dead: %s", st);
}

/*
 * Proof that the daemon's main loop finished everything it started
 * before now: it must act on a vbd added afterwards (one whose storage
 * is missing, so it fails at once and opens nothing).
 */
static void daemon_barrier(void)
{
    static const char *const none[] = { NULL };
    uint32_t g = simtest_domain("barrier");
    char img[256], path[200];

    snprintf(img, sizeof(img), "%s/no-such-image", simtest_start());
    simblk_vbd_add(dd, g, DEVID, img, none);
    be_path(path, sizeof(path), g, "state");
    ck_assert_int_eq(simblk_wait(path, "5", 10000), 0);
    ck_assert_int_eq(vbd_remove(g), 0);
}

/* ------------------------------------------------- raw requests */

static void raw_done(struct blkfront_io *io, void *arg)
{
    (*(unsigned int *)arg)++;
}

static blkif_sring_t *sring0(struct blkfront *bf, unsigned int *n)
{
    blkif_sring_t *sr = blkfront_raw_sring(bf, 0, n);

    ck_assert_ptr_nonnull(sr);
    return sr;
}

static RING_IDX shared_idx(const RING_IDX *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/*
 * Sends req on queue 0 and waits for the answer (the only request in
 * flight).  Checks what a frontend may rely on (MF-B11/12): exactly one
 * answer, for our id, and no byte of it outside id, operation and status
 * other than zero.  Returns the status.
 */
static int raw_req(struct blkfront *bf, const union req *req)
{
    struct blkfront_io io = { .done = raw_done };
    struct blkfront_stats a, b;
    unsigned int calls = 0, n;
    blkif_sring_t *sr = sring0(bf, &n);
    RING_IDX rp = shared_idx(&sr->rsp_prod);
    uint64_t deadline = now_ms() + 10000, id;
    const uint8_t *rsp;

    ck_assert_uint_eq(blkfront_inflight(bf), 0);
    io.arg = &calls;
    blkfront_stats(bf, &a);
    ck_assert_int_eq(blkfront_raw_push(bf, 0, &req->rw, &io, &id), 0);
    blkfront_raw_notify(bf, 0);
    while (!calls && now_ms() < deadline)
        ck_assert_int_ge(blkfront_poll(bf, 1000), 0);
    ck_assert_msg(calls == 1, "request (op %u) not answered",
                  req->rw.operation);
    /* Nothing more came. */
    ck_assert_int_eq(blkfront_poll(bf, 0), 0);
    blkfront_stats(bf, &b);
    ck_assert_uint_eq(b.responses - a.responses, 1);
    ck_assert_uint_eq(b.bogus, a.bogus);
    ck_assert_uint_eq(shared_idx(&sr->rsp_prod), rp + 1);
    /* The answer sits in response slot rp: padding zeroed (XSA-216). */
    rsp = (const uint8_t *)&sr->ring[rp & (n - 1)].rsp;
    ck_assert_uint_eq(((const blkif_response_t *)rsp)->id, id);
    ck_assert_uint_eq(rsp[offsetof(blkif_response_t, operation) + 1], 0);
    for (size_t i = offsetof(blkif_response_t, status) + 2;
         i < sizeof(blkif_response_t); i++)
        ck_assert_msg(!rsp[i], "response padding byte %zu is %u", i, rsp[i]);
    return io.status;
}

/* A direct read/write request, every segment alike. */
static void rw_req(union req *r, uint8_t op, uint8_t nsegs, uint64_t sector,
                   uint32_t ref, uint8_t first, uint8_t last)
{
    unsigned int i;

    memset(r, 0, sizeof(*r));
    r->rw.operation = op;
    r->rw.nr_segments = nsegs;
    r->rw.handle = DEVID & 0xffff;
    r->rw.sector_number = sector;
    for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        r->rw.seg[i].gref = ref;
        r->rw.seg[i].first_sect = first;
        r->rw.seg[i].last_sect = last;
    }
}

/* An indirect request whose nsegs descriptors (in page ind) all name
 * ref, whole pages. */
static void ind_req(union req *r, uint8_t op, uint16_t nsegs, uint64_t sector,
                    uint32_t ind_ref, void *ind, uint32_t ref)
{
    struct blkif_request_segment *seg = ind;
    unsigned int i;

    memset(r, 0, sizeof(*r));
    r->ind.operation = BLKIF_OP_INDIRECT;
    r->ind.indirect_op = op;
    r->ind.nr_segments = nsegs;
    r->ind.sector_number = sector;
    r->ind.handle = DEVID & 0xffff;
    r->ind.indirect_grefs[0] = ind_ref;
    for (i = 0; i < 4096 / sizeof(*seg); i++)
        seg[i] = (struct blkif_request_segment){ .gref = ref,
                                                 .first_sect = 0,
                                                 .last_sect = 7 };
}

/* ------------------------------------------------------------ tests */

/*
 * MF-B3/4/5/8/9: malformed requests get an error answer, as Linux
 * blkback gives them (EOPNOTSUPP for an unknown operation, ERROR for the
 * rest), and the device goes on working.  Valid raw requests first, so
 * the refusals are the backend's and not the harness's.
 */
START_TEST(bad_requests_answered_device_survives)
{
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), 4 * MIB, NULL);
    struct blkfront *bf = connect(g, 0);
    const uint64_t sectors = 4 * MIB / 512;
    uint32_t ref, ind_ref;
    uint8_t *page, want[12 * 4096];
    void *ind;
    union req r;
    unsigned int i, k = 0;

    ck_assert_uint_eq(blkfront_info(bf)->sectors, sectors);
    ck_assert_int_eq(blkfront_raw_page(bf, &ref, (void **)&page), 0);
    ck_assert_int_eq(blkfront_raw_page(bf, &ind_ref, &ind), 0);

    /* Controls: a raw write and read, an indirect write naming one page
     * twelve times (the same grant in one request twice is legal). */
    fill(page, 4096, 1);
    rw_req(&r, BLKIF_OP_WRITE, 1, 8, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_OKAY);
    expect_file(img, 8 * 512, page, 4096);
    memset(page, 0, 4096);
    rw_req(&r, BLKIF_OP_READ, 1, 8, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_OKAY);
    fill(want, 4096, 1);
    ck_assert(!memcmp(page, want, 4096));
    ind_req(&r, BLKIF_OP_WRITE, 12, 64, ind_ref, ind, ref);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_OKAY);
    for (i = 0; i < 12; i++)
        memcpy(want + i * 4096, page, 4096);
    expect_file(img, 64 * 512, want, sizeof(want));
    /* A handle naming another device: ignored, as Linux does. */
    rw_req(&r, BLKIF_OP_READ, 1, 8, ref, 0, 7);
    r.rw.handle = 0xbeef;
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_OKAY);

    /* An unknown operation. */
    rw_req(&r, 77, 1, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_EOPNOTSUPP);
    rw_ok(bf, img, 1024, k++);
    /* Segment counts: none, one over the direct limit, absurd. */
    rw_req(&r, BLKIF_OP_READ, 0, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    rw_req(&r, BLKIF_OP_WRITE, 0, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_req(&r, BLKIF_OP_READ, 12, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    rw_req(&r, BLKIF_OP_WRITE, 255, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    /* Sector bounds within a page. */
    rw_req(&r, BLKIF_OP_READ, 1, 0, ref, 4, 2);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    rw_req(&r, BLKIF_OP_WRITE, 1, 0, ref, 0, 8);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    /* Past the end, and a start that wraps 64 bits with the length. */
    rw_req(&r, BLKIF_OP_WRITE, 1, sectors - 4, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_req(&r, BLKIF_OP_READ, 1, sectors, ref, 0, 0);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_req(&r, BLKIF_OP_READ, 1, UINT64_MAX - 3, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    /* Grants never given, for either direction. */
    rw_req(&r, BLKIF_OP_READ, 1, 0, BAD_REF, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    rw_req(&r, BLKIF_OP_WRITE, 2, 0, ref, 0, 7);
    r.rw.seg[1].gref = BAD_REF; /* the second of two */
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    /* Indirect: no segments, more than advertised, an operation that
     * cannot travel indirectly, a descriptor page never granted, and a
     * descriptor naming a grant never given. */
    ind_req(&r, BLKIF_OP_READ, 0, 0, ind_ref, ind, ref);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    ind_req(&r, BLKIF_OP_READ, 257, 0, ind_ref, ind, ref);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    ind_req(&r, BLKIF_OP_WRITE, 4097, 0, ind_ref, ind, ref);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    ind_req(&r, BLKIF_OP_FLUSH_DISKCACHE, 12, 0, ind_ref, ind, ref);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    ind_req(&r, BLKIF_OP_INDIRECT, 12, 0, ind_ref, ind, ref);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    ind_req(&r, BLKIF_OP_READ, 12, 0, BAD_REF, ind, ref);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    ind_req(&r, BLKIF_OP_WRITE, 12, 0, ind_ref, ind, ref);
    ((struct blkif_request_segment *)ind)[11].gref = BAD_REF;
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    ind_req(&r, BLKIF_OP_READ, 12, 0, ind_ref, ind, ref);
    ((struct blkif_request_segment *)ind)[3].last_sect = 9;
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    /* Flush carrying more data than a direct request can. */
    rw_req(&r, BLKIF_OP_FLUSH_DISKCACHE, 12, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    /* Discard: past the end, and a length of 2^64 - 1 (MF-B4). */
    memset(&r, 0, sizeof(r));
    r.d.operation = BLKIF_OP_DISCARD;
    r.d.sector_number = sectors - 8;
    r.d.nr_sectors = 16;
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    r.d.sector_number = 8;
    r.d.nr_sectors = UINT64_MAX;
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_ok(bf, img, 1024, k++);
    /* None of it wrote anything: the controls' data is intact. */
    fill(want, 4096, 1);
    expect_file(img, 8 * 512, want, 4096);
    expect_file(img, 0, (const uint8_t[4096]){ 0 }, 4096);
    backend_alive();
    blkfront_close(bf);
}
END_TEST

/* MF-B10: a read-only vbd refuses every kind of write, raw or not. */
START_TEST(readonly_refuses_raw_writes)
{
    static const char *const ro[] = { "mode", "r", NULL };
    char img[256];
    uint32_t g = new_disk(img, sizeof(img), MIB, ro);
    struct blkfront *bf = connect(g, 1);
    uint32_t ref, ind_ref;
    uint8_t *page, buf[4096];
    void *ind;
    static const uint8_t zero[4096];
    union req r;

    ck_assert(blkfront_info(bf)->info & VDISK_READONLY);
    ck_assert_int_eq(blkfront_raw_page(bf, &ref, (void **)&page), 0);
    ck_assert_int_eq(blkfront_raw_page(bf, &ind_ref, &ind), 0);
    memset(page, 0xaa, 4096);
    rw_req(&r, BLKIF_OP_WRITE, 1, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    ind_req(&r, BLKIF_OP_WRITE, 12, 0, ind_ref, ind, ref);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    /* A FUA write and a barrier carrying data are writes too. */
    rw_req(&r, BLKIF_OP_FLUSH_DISKCACHE, 1, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    rw_req(&r, BLKIF_OP_WRITE_BARRIER, 1, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_ERROR);
    /* Discard is not offered on a read-only disk: EOPNOTSUPP, as for
     * any feature not advertised. */
    ck_assert(!blkfront_info(bf)->discard);
    memset(&r, 0, sizeof(r));
    r.d.operation = BLKIF_OP_DISCARD;
    r.d.nr_sectors = 8;
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_EOPNOTSUPP);
    /* Reads still work, and the file was never touched. */
    rw_req(&r, BLKIF_OP_READ, 1, 0, ref, 0, 7);
    ck_assert_int_eq(raw_req(bf, &r), BLKIF_RSP_OKAY);
    ck_assert(!memcmp(page, zero, 4096));
    ck_assert_int_eq(blkfront_rw_sync(bf, BLKIF_OP_READ, 0, buf, 4096),
                     BLKIF_RSP_OKAY);
    expect_file(img, 0, zero, sizeof(zero));
    backend_alive();
    blkfront_close(bf);
}
END_TEST

/*
 * MF-B1: a request index far beyond what can be outstanding halts that
 * device (error node, Closing; its mappings dropped) while a second
 * guest on the same daemon goes on with verified I/O.  Reconnecting
 * brings the halted device back.
 */
START_TEST(ring_index_jump_fails_only_that_device)
{
    char img1[256], img2[256];
    uint32_t g1 = new_disk(img1, sizeof(img1), 2 * MIB, NULL);
    uint32_t g2 = new_disk(img2, sizeof(img2), 2 * MIB, NULL);
    struct blkfront *bf2 = connect(g2, 0), *bf1;
    unsigned int n, i;
    blkif_sring_t *sr;
    long maps0;

    rw_ok(bf2, img2, 0, 1);
    maps0 = stat_of(dd, "maps_active");
    bf1 = connect(g1, 0);
    rw_ok(bf1, img1, 0, 2);
    rw_ok(bf2, img2, 0, 3);
    sr = sring0(bf1, &n);
    blkfront_raw_set_req_prod(bf1, 0, shared_idx(&sr->rsp_prod) + n + 1000);
    blkfront_raw_notify(bf1, 0);
    for (i = 0; i < 4; i++)
        rw_ok(bf2, img2, 16 * i, 10 + i); /* meanwhile */
    expect_dev_failed(g1, EPROTO);
    /* Every queue of it is down: nothing of g1 stays mapped. */
    ck_assert_int_eq(stat_of(dd, "maps_active"), maps0);
    for (i = 0; i < 4; i++)
        rw_ok(bf2, img2, 16 * i, 20 + i);
    backend_alive();
    /* A new connection starts from a clean ring. */
    blkfront_close(bf1);
    bf1 = connect(g1, 0);
    rw_ok(bf1, img1, 0, 4);
    blkfront_close(bf1);
    blkfront_close(bf2);
}
END_TEST

/*
 * MF-B6: the slot of a published request keeps changing (operation,
 * segment count, sector, grant, sector bounds, each flipping between
 * sane and absurd) until its answer comes.  The backend copies each slot
 * once, so it answers exactly once and consistently with one version of
 * the request; it lives, and the other guest never notices.
 */
START_TEST(request_rewritten_after_submission)
{
    char img1[256], img2[256];
    uint32_t g1 = new_disk(img1, sizeof(img1), MIB, NULL);
    uint32_t g2 = new_disk(img2, sizeof(img2), MIB, NULL);
    struct blkfront *bf1 = connect(g1, 1), *bf2 = connect(g2, 0);
    static const uint8_t ops[] = { BLKIF_OP_WRITE, BLKIF_OP_READ, 77, 0xff };
    static const uint8_t nsegs[] = { 1, 0, 12, 255 };
    const uint64_t sectors[] = { 16, MIB / 512, UINT64_MAX - 1, 0 };
    unsigned int round, n;
    blkif_sring_t *sr = sring0(bf1, &n);
    uint32_t ref, refs[2];
    uint8_t *page;

    ck_assert_int_eq(blkfront_raw_page(bf1, &ref, (void **)&page), 0);
    refs[0] = ref;
    refs[1] = BAD_REF;
    fill(page, 4096, 7);
    for (round = 0; round < 200; round++) {
        struct blkfront_io io = { .done = raw_done };
        unsigned int calls = 0, it = 0;
        RING_IDX rp = shared_idx(&sr->rsp_prod);
        uint64_t deadline = now_ms() + 10000, id;
        volatile uint8_t *s;
        blkif_request_t *req;
        union req r;
        uint8_t *rsp, op;
        int16_t st;

        rw_req(&r, BLKIF_OP_WRITE, 1, 16, ref, 0, 7);
        io.arg = &calls;
        ck_assert_int_eq(blkfront_raw_push(bf1, 0, &r.rw, &io, &id), 0);
        req = &sr->ring[(shared_idx(&sr->req_prod) - 1) & (n - 1)].req;
        s = (volatile uint8_t *)req;
        /*
         * Rewrite until the answer is published.  Even rounds notify at
         * once (the backend mostly copies the valid version, then we
         * scribble while it works); odd rounds scribble first, so the copy
         * lands somewhere in the storm (a backend polling the ring may
         * take it before the notification).
         */
        if (!(round & 1))
            blkfront_raw_notify(bf1, 0);
        while (shared_idx(&sr->rsp_prod) == rp && now_ms() < deadline) {
            unsigned int v = it++ * 2654435761u + round;

            if (it == 2000 && (round & 1))
                blkfront_raw_notify(bf1, 0);
            s[offsetof(blkif_request_t, operation)] = ops[v % 4];
            s[offsetof(blkif_request_t, nr_segments)] = nsegs[(v >> 2) % 4];
            __atomic_store_n(&req->sector_number, sectors[(v >> 4) % 4],
                             __ATOMIC_RELAXED);
            __atomic_store_n(&req->seg[0].gref, refs[(v >> 6) % 2],
                             __ATOMIC_RELAXED);
            s[offsetof(blkif_request_t, seg[0].first_sect)] = (v >> 7) % 3;
            s[offsetof(blkif_request_t, seg[0].last_sect)] =
                (v >> 9) % 3 ? 7 : 9;
        }
        ck_assert_msg(shared_idx(&sr->rsp_prod) == rp + 1,
                      "round %u: %u answers", round,
                      shared_idx(&sr->rsp_prod) - rp);
        /*
         * The answer went into the slot we were rewriting (one request in
         * flight: response rp lands in request slot rp), and our last
         * writes of operation and nr_segments may have hit the low bytes
         * of its id: a frontend that scribbles on its own slots gets what
         * it deserves.  Only those two bytes can be ours; put back what
         * the backend wrote there, check the rest.
         */
        rsp = (uint8_t *)&sr->ring[rp & (n - 1)].rsp;
        for (size_t i = 2; i < sizeof(uint64_t); i++)
            ck_assert_uint_eq(rsp[i], 0);
        rsp[0] = (uint8_t)id;
        rsp[1] = (uint8_t)(id >> 8);
        op = rsp[offsetof(blkif_response_t, operation)];
        memcpy(&st, rsp + offsetof(blkif_response_t, status), sizeof(st));
        while (!calls && now_ms() < deadline)
            ck_assert_int_ge(blkfront_poll(bf1, 1000), 0);
        ck_assert_uint_eq(calls, 1);
        ck_assert_int_eq(io.status, st);
        /* One version of the request decided both fields. */
        if (op == BLKIF_OP_WRITE || op == BLKIF_OP_READ) {
            ck_assert_msg(st == BLKIF_RSP_OKAY || st == BLKIF_RSP_ERROR,
                          "op %u status %d", op, st);
        } else {
            ck_assert_msg(op == 77 || op == 0xff, "answered op %u", op);
            ck_assert_int_eq(st, BLKIF_RSP_EOPNOTSUPP);
        }
        if (round % 20 == 0)
            rw_ok(bf2, img2, round, round);
    }
    /* Nothing more came, and the hostile device still works. */
    ck_assert_int_eq(blkfront_poll(bf1, 0), 0);
    rw_ok(bf1, img1, 64, 1);
    rw_ok(bf2, img2, 64, 2);
    backend_alive();
    blkfront_close(bf1);
    blkfront_close(bf2);
}
END_TEST

/*
 * R-EVT-2: a storm of notifications with nothing on the ring
 * costs the backend nothing lasting; the device then serves I/O.
 */
/* The backend's CPU time so far (user + system), in milliseconds. */
static long backend_cpu_ms(void)
{
    char st[512];
    const char *p = backend_stat(st, sizeof(st));
    unsigned long ut = 0, stm = 0;

    /* After the name: state (3) ... utime (14), stime (15). */
    ck_assert_int_eq(sscanf(p + 1, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                   "%*u %lu %lu",
                            &ut, &stm),
                     2);
    return (long)((ut + stm) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* Wake-ups (and spurious ones) the backend logged for be's queues when
 * they last disconnected. */
static void backend_wakeups(const char *be, unsigned long *wake,
                            unsigned long *spurious)
{
    char line[512];
    unsigned long q, r, w, sp;
    FILE *f = fopen(logpath, "r");

    *wake = *spurious = 0;
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        char *m = strstr(line, be);

        if (!m || sscanf(m + strlen(be),
                         " queue %lu: %lu requests, %lu wake-ups (%lu "
                         "spurious)",
                         &q, &r, &w, &sp) != 4)
            continue;
        if (q == 0)
            *wake = *spurious = 0; /* a later connection's set */
        *wake += w;
        *spurious += sp;
    }
    fclose(f);
}

START_TEST(notification_flood)
{
    char img[256], be[128];
    uint32_t g = new_disk(img, sizeof(img), MIB, NULL);
    struct blkfront *bf = connect(g, 0);
    struct blkfront_stats a, b;
    unsigned long wake, spurious;
    long cpu0, cpu1, cpu2;
    unsigned int i;

    snprintf(be, sizeof(be), "/local/domain/%u/backend/vbd/%u/%u", dd, g,
             DEVID);
    rw_ok(bf, img, 0, 1);
    blkfront_stats(bf, &a);
    cpu0 = backend_cpu_ms();
    /* Spread over every queue: one wake-up path each. */
    for (i = 0; i < 100000; i++)
        blkfront_raw_notify(bf, i % blkfront_info(bf)->queues);
    blkfront_stats(bf, &b);
    ck_assert_uint_eq(b.notify_sent - a.notify_sent, 100000);
    /* No response out of nothing. */
    ck_assert_int_eq(blkfront_poll(bf, 0), 0);
    for (i = 0; i < 8; i++)
        rw_ok(bf, img, 16 * i, 2 + i);
    backend_alive();
    cpu1 = backend_cpu_ms();
    /* A flood costs the backend a few microseconds a notification at
     * most (it coalesces them: a pending port wakes it once), ... */
    ck_assert_msg(cpu1 - cpu0 < 1000, "backend used %ld ms of CPU for "
                                      "100000 notifications",
                  cpu1 - cpu0);
    /* ... and leaves it idle once over: 200 ms of nothing to do cost it
     * next to nothing (not spinning, not re-reading xenstore). */
    poll(NULL, 0, 200);
    cpu2 = backend_cpu_ms();
    ck_assert_msg(cpu2 - cpu1 < 40, "idle backend used %ld ms of CPU in "
                                    "200 ms",
                  cpu2 - cpu1);
    blkfront_close(bf);
    /* Every wake-up it counted came from a notification or an I/O; the
     * flood's were spurious (nothing on the ring), and counted so. */
    backend_wakeups(be, &wake, &spurious);
    fprintf(stderr, "notification flood: backend %ld ms CPU, then %ld ms "
                    "idle; %lu wake-ups (%lu spurious)\n",
            cpu1 - cpu0, cpu2 - cpu1, wake, spurious);
    ck_assert_msg(wake >= 1 && wake <= 100000 + 100,
                  "%lu wake-ups for 100000 notifications", wake);
    ck_assert_msg(spurious >= 1 && spurious <= wake,
                  "%lu spurious of %lu wake-ups", spurious, wake);
}
END_TEST

/*
 * The guest of frontend_destroyed_mid_io, in a child process (which must
 * not reach a ck_assert: see simblk_backend_start).  Queues 64 writes of
 * 256 KiB at once; in_flight: waits for the first answer and dies with the
 * rest still in the backend's hands (tried again if it was too quick),
 * else dies right after the kick (the backend mostly finds the grants
 * already revoked).  Exits 0 once it died as asked.
 */
static void __attribute__((noreturn)) victim(uint32_t g, bool in_flight)
{
    static struct blkfront_io ios[64];
    static uint8_t buf[64 * 262144];
    struct blkfront_opts o;
    struct blkfront *bf;
    unsigned int i, round;

    blkfront_opts_default(&o);
    o.max_queues = 1;
    simtest_enter(g);
    if (blkfront_open(&bf, "xvda", &o))
        _exit(1);
    for (round = 0; round < 20; round++) {
        for (i = 0; i < 64; i++) {
            ios[i] = (struct blkfront_io){ .op = BLKIF_OP_WRITE,
                                           .sector = (uint64_t)i * 512,
                                           .buf = buf + (size_t)i * 262144,
                                           .len = 262144 };
            if (blkfront_submit(bf, 0, &ios[i]))
                _exit(2);
        }
        blkfront_kick(bf);
        if (!in_flight)
            _exit(blkfront_inflight(bf) == 64 ? 0 : 3);
        while (blkfront_inflight(bf) == 64)
            if (blkfront_poll(bf, 10000) <= 0)
                _exit(4);
        if (blkfront_inflight(bf))
            _exit(0); /* dies holding the rest */
    }
    _exit(5);
}

/*
 * Section 4.1: the guest dies with 64 writes queued or in flight and
 * never closes; the toolstack destroys the domain.  The backend must let
 * go of everything in time (no "did not reach Closed" from the
 * toolstack): its directory goes, no grant of the dead guest stays mapped
 * (a zombie domain otherwise), no fd stays open; the other guest keeps
 * working.
 */
START_TEST(frontend_destroyed_mid_io)
{
    char img[256], img2[256], path[200], out[1024], v[16];
    uint32_t g2 = new_disk(img2, sizeof(img2), MIB, NULL);
    struct blkfront *bf2 = connect(g2, 0);
    uint32_t g = simtest_domain("victim");
    unsigned int fds0;
    long maps0, ports0;
    int fd, status;
    pid_t pid;

    rw_ok(bf2, img2, 0, 1);
    daemon_barrier();
    fds0 = fd_count(bb);
    maps0 = stat_of(dd, "maps_active");
    ports0 = stat_of(dd, "ports");
    ck_assert_uint_gt(fds0, 0);

    /* Attached by the toolstack, so that domain destroy knows it. */
    snprintf(img, sizeof(img), "%s/img-victim-%u", simtest_start(), g);
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 16 * MIB), 0);
    close(fd);
    ck_assert_int_eq(simtest_sim(out, sizeof(out),
                                 "xl block-attach %u backend=%u,vdev=xvda,"
                                 "target=%s 2>&1",
                                 g, dd, img),
                     0);

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (!pid)
        victim(g, _i);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status),
                  "guest child: status %#x", status);
    /* The backend connected (the frontend died Connected). */
    be_path(path, sizeof(path), g, "state");
    ck_assert_int_eq(simblk_read(path, v, sizeof(v)), 0);
    ck_assert_str_eq(v, "4");

    ck_assert_int_eq(simtest_sim(out, sizeof(out), "domain destroy %u 2>&1",
                                 g),
                     0);
    ck_assert_msg(!out[0], "toolstack: %s", out);
    be_path(path, sizeof(path), g, NULL);
    ck_assert_int_eq(simblk_read(path, v, sizeof(v)), -ENOENT);
    daemon_barrier();
    ck_assert_int_eq(stat_of(dd, "maps_active"), maps0);
    ck_assert_int_eq(stat_of(dd, "ports"), ports0);
    ck_assert_uint_eq(fd_count(bb), fds0);
    rw_ok(bf2, img2, 0, 2);
    backend_alive();
    blkfront_close(bf2);
}
END_TEST

/*
 * MF-B15 / R-XS-4: frontends that connect with keys no backend can use:
 * a ring-ref never granted or not a number, an event channel never
 * allocated or offered to another domain, an unknown protocol, zero
 * queues or more than offered, a ring order over the limit, a ring whose
 * indices are corrupt from the start.  Each fails only its own device,
 * releasing what it had mapped or bound; the other guest keeps working;
 * the toolstack can remove the failed device.
 */
struct fe_case {
    const char *name;
    const char *ring_ref;      /* NULL: a good ring page */
    int port;                  /* -1: good, -2: offered to dom0, else as is */
    const char *const kv[5];   /* further keys */
    RING_IDX req_prod;         /* written into the ring */
    int err;                   /* the error node's errno */
};

static const struct fe_case fe_cases[] = {
    { "ring-ref never granted", "1048575", -1, { NULL }, 0, 0 },
    { "ring-ref not a number", "12abc", -1, { NULL }, 0, EINVAL },
    { "event channel never allocated", NULL, 4000, { NULL }, 0, 0 },
    { "event channel for another domain", NULL, -2, { NULL }, 0, 0 },
    { "unknown protocol", NULL, -1, { "protocol", "x86_16-abi", NULL }, 0,
      EINVAL },
    { "zero queues", NULL, -1, { "multi-queue-num-queues", "0", NULL }, 0,
      EINVAL },
    { "more queues than offered", NULL, -1,
      { "multi-queue-num-queues", "99", NULL }, 0, EINVAL },
    { "ring order over the limit", NULL, -1,
      { "ring-page-order", "5", NULL }, 0, EINVAL },
    { "corrupt ring indices", NULL, -1, { NULL }, 100000, EPROTO },
};

START_TEST(frontend_keys_fail_only_that_device)
{
    const struct fe_case *c = &fe_cases[_i];
    char img[256], img2[256], fe[128], path[200], v[256], val[32];
    uint32_t g2 = new_disk(img2, sizeof(img2), MIB, NULL);
    struct blkfront *bf2 = connect(g2, 0);
    uint32_t g = new_disk(img, sizeof(img), MIB, NULL);
    xengntshr_handle *gs;
    xenevtchn_handle *xe;
    struct xs_handle *xs;
    blkif_sring_t *sr;
    uint32_t ref;
    long maps0;
    int port;
    unsigned int i;

    rw_ok(bf2, img2, 0, 1);
    maps0 = stat_of(dd, "maps_active");
    be_path(path, sizeof(path), g, "state");
    ck_assert_int_eq(simblk_wait(path, "2", 10000), 0);
    /* The guest's half of the handshake, by hand. */
    simtest_enter(g);
    xs = xs_open(0);
    gs = xengntshr_open(NULL, 0);
    xe = xenevtchn_open(NULL, 0);
    ck_assert(xs && gs && xe);
    sr = xengntshr_share_pages(gs, dd, 1, &ref, 1);
    ck_assert_ptr_nonnull(sr);
    SHARED_RING_INIT(sr);
    sr->req_prod = c->req_prod;
    port = xenevtchn_bind_unbound_port(xe, c->port == -2 ? 0 : dd);
    ck_assert_int_gt(port, 0);
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", g, DEVID);
#define FE_WRITE(key, value)                                                 \
    do {                                                                     \
        snprintf(path, sizeof(path), "%s/%s", fe, key);                      \
        ck_assert_msg(xs_write(xs, XBT_NULL, path, value, strlen(value)),    \
                      "write %s", path);                                     \
    } while (0)
    if (c->ring_ref) {
        FE_WRITE("ring-ref", c->ring_ref);
    } else {
        snprintf(val, sizeof(val), "%u", ref);
        FE_WRITE("ring-ref", val);
    }
    snprintf(val, sizeof(val), "%d", c->port >= 0 ? c->port : port);
    FE_WRITE("event-channel", val);
    FE_WRITE("protocol", XEN_IO_PROTO_ABI_NATIVE);
    for (i = 0; c->kv[i]; i += 2)
        FE_WRITE(c->kv[i], c->kv[i + 1]);
    FE_WRITE("state", "3");
#undef FE_WRITE
    /* Failed: Closing and an error node (its errno checked where the
     * case can predict it). */
    be_path(path, sizeof(path), g, "state");
    ck_assert_msg(!simblk_wait(path, "5", 10000), "%s: not failed", c->name);
    be_path(path, sizeof(path), g, "error");
    ck_assert_msg(!simblk_read(path, v, sizeof(v)), "%s: no error node",
                  c->name);
    if (c->err)
        expect_dev_failed(g, c->err);
    /* Nothing of it stays mapped; everyone else is served. */
    ck_assert_int_eq(stat_of(dd, "maps_active"), maps0);
    rw_ok(bf2, img2, 0, 2);
    backend_alive();
    /* The toolstack can take the failed device away in time, though the
     * frontend never moves on from Initialised (R-SM-4). */
    ck_assert_int_eq(vbd_remove(g), 0);
    xenevtchn_close(xe);
    xengntshr_unshare(gs, sr, 1);
    xengntshr_close(gs);
    xs_close(xs);
    blkfront_close(bf2);
}
END_TEST

/*
 * A device that failed (here: its storage cannot be opened) stays failed
 * quietly: no retry storm rewriting its error node (each rewrite is a
 * watch event for the daemon itself), and the toolstack can remove it
 * in time although its frontend never left Initialising (R-SM-4).
 */
START_TEST(failed_device_quiet_and_removable)
{
    static const char *const none[] = { NULL };
    uint32_t g = simtest_domain("nostore");
    char img[256], path[200], v[256], **ev;
    struct xs_handle *xs;
    struct pollfd p;
    unsigned int events = 0;
    uint64_t until;

    snprintf(img, sizeof(img), "%s/no-such-image", simtest_start());
    simblk_vbd_add(dd, g, DEVID, img, none);
    expect_dev_failed(g, ENOENT);
    /* Watch the error node: the watch fires once when set, then only if
     * the node is written again. */
    simtest_enter(0);
    xs = xs_open(0);
    ck_assert_ptr_nonnull(xs);
    be_path(path, sizeof(path), g, "error");
    ck_assert(xs_watch(xs, path, "err"));
    p = (struct pollfd){ .fd = xs_fileno(xs), .events = POLLIN };
    until = now_ms() + 1000;
    while (now_ms() < until &&
           poll(&p, 1, (int)(until - now_ms()) + 1) > 0) {
        while ((ev = xs_check_watch(xs))) {
            events++;
            free(ev);
        }
    }
    ck_assert_msg(events == 1, "error node written %u more times in 1 s",
                  events - 1);
    xs_close(xs);
    backend_alive();
    ck_assert_int_eq(vbd_remove(g), 0);
    be_path(path, sizeof(path), g, NULL);
    ck_assert_int_eq(simblk_read(path, v, sizeof(v)), -ENOENT);
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
    Suite *s = suite_create("sim-blk-hostile");
    TCase *tc = tcase_create("blkback-hostile");

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_checked_fixture(tc, simtest_cloexec_all, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bad_requests_answered_device_survives);
    tcase_add_test(tc, readonly_refuses_raw_writes);
    tcase_add_test(tc, ring_index_jump_fails_only_that_device);
    tcase_add_test(tc, request_rewritten_after_submission);
    tcase_add_test(tc, notification_flood);
    tcase_add_loop_test(tc, frontend_destroyed_mid_io, 0, 2);
    tcase_add_test(tc, failed_device_quiet_and_removable);
    tcase_add_loop_test(tc, frontend_keys_fail_only_that_device, 0,
                        sizeof(fe_cases) / sizeof(fe_cases[0]));
    suite_add_tcase(s, tc);
    return simtest_run(s);
}
