/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkif frontend (see blkfront.h).  Negotiates like Linux xen-blkfront
 * (multi-page rings, multi-queue, indirect segments, persistent grants),
 * keeps its data in a pool of pages granted once to the backend (so a
 * persistent-grant backend maps each page once; a grant-copy backend just
 * copies), and builds requests straight into the shared ring.
 *
 * Trust: the backend's xenstore values are parsed strictly; responses are
 * copied once from the ring and their ids checked against our own table
 * of outstanding requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "blk-abi.h"
#include "blkfront.h"
#include "log.h"
#include "ring.h"
#include "util.h"
#include "xenbus.h"

#define PAGE 4096u
#define POOL_CHUNK 64u
#define POOL_MAX 8192u /* pages granted to the backend, at most */
#define MAX_QUEUES 16u
#define MAX_ORDER 4u
#define MAX_SEGS 256u
#define SEGS_PER_IND_PAGE (PAGE / sizeof(struct blkif_request_segment))

struct bf_page {
    struct bf_page *next;
    void *addr;
    uint32_t ref;
};

struct bf_chunk {
    struct bf_chunk *next;
    void *addr;
};

struct bf_shadow {
    struct blkfront_io *io;  /* NULL: free */
    uint16_t npages, nind;
    struct bf_page *pages[MAX_SEGS];
    struct bf_page *ind[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    uint32_t next_free;
};

struct bf_queue {
    blkif_front_ring_t ring;      /* indices only: slots via ring_slot() */
    void *sring;                  /* IOVM_SHARED */
    uint32_t refs[1u << MAX_ORDER];
    evtchn_port_t port;
    struct bf_shadow *shadow;
    uint32_t free_head;
    unsigned int inflight;
    bool pushed;                  /* requests queued since the last kick */
};

struct blkfront {
    struct xs_handle *xs;
    xengntshr_handle *gs;
    xenevtchn_handle *xe;
    uint32_t domid;
    char fe[128], be[160];
    struct blkfront_opts opts;
    struct blkfront_info info;
    enum blk_abi abi;             /* the ring layout we speak */
    size_t ent_size;
    unsigned int order;
    struct bf_queue q[MAX_QUEUES];
    struct bf_page *pool;         /* free pages */
    struct bf_chunk *chunks;
    unsigned int pool_pages;
    bool failed;
    uint64_t wait_ewma;           /* ns responses took once we waited */
    unsigned int wait_probe;
    struct blkfront_stats st;
};

void blkfront_opts_default(struct blkfront_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_queues = 4;
    o->max_ring_order = MAX_ORDER;
    o->max_indirect = MAX_SEGS;
    o->persistent = true;
    o->timeout_ms = 10000;
    o->poll_us = 20;
}

int blkfront_vdev_devid(const char *vdev, uint32_t *devid)
{
    uint64_t disk = 0, part = 0;
    const char *p;
    unsigned int v;

    if (!iovm_parse_uint(vdev, INT32_MAX, &v)) {
        *devid = v;
        return 0;
    }
    if (strncmp(vdev, "xvd", 3) || !(vdev[3] >= 'a' && vdev[3] <= 'z'))
        return -EINVAL;
    /* Bijective base 26: a=0 .. z=25, aa=26 ... (as libxl). */
    for (p = vdev + 3; *p >= 'a' && *p <= 'z'; p++) {
        disk = disk * 26 + (*p - 'a' + 1);
        if (disk > (1u << 20))
            return -EINVAL;
    }
    disk--;
    if (*p && (*p == '0' || iovm_parse_u64(p, 255, &part)))
        return -EINVAL;
    if (disk < 16 && part < 16)
        *devid = (202u << 8) | (uint32_t)(disk << 4) | (uint32_t)part;
    else
        *devid = (1u << 28) | (uint32_t)(disk << 8) | (uint32_t)part;
    return 0;
}

/* ---------------------------------------------------------------- */
/* page pool */

static int pool_grow(struct blkfront *bf)
{
    uint32_t refs[POOL_CHUNK];
    struct bf_chunk *c;
    unsigned int i;
    void *addr;

    if (bf->pool_pages + POOL_CHUNK > POOL_MAX)
        return -EAGAIN;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    addr = xengntshr_share_pages(bf->gs, bf->info.backend_id, POOL_CHUNK,
                                 refs, 1);
    if (!addr) {
        free(c);
        return -errno;
    }
    c->addr = addr;
    c->next = bf->chunks;
    bf->chunks = c;
    for (i = 0; i < POOL_CHUNK; i++) {
        struct bf_page *pg = malloc(sizeof(*pg));

        if (!pg)
            break;
        pg->addr = (char *)addr + (size_t)i * PAGE;
        pg->ref = refs[i];
        pg->next = bf->pool;
        bf->pool = pg;
        bf->pool_pages++;
    }
    return 0;
}

static int pool_take(struct blkfront *bf, unsigned int n, struct bf_page **out)
{
    unsigned int i;

    for (i = 0; i < n; i++) {
        if (!bf->pool && pool_grow(bf)) {
            while (i--) {
                out[i]->next = bf->pool;
                bf->pool = out[i];
            }
            return -EAGAIN;
        }
        out[i] = bf->pool;
        bf->pool = out[i]->next;
    }
    return 0;
}

static void pool_give(struct blkfront *bf, unsigned int n, struct bf_page **pg)
{
    /* LIFO: the backend's cache stays warm on the same few grants. */
    while (n--) {
        pg[n]->next = bf->pool;
        bf->pool = pg[n];
    }
}

/* ---------------------------------------------------------------- */
/* xenstore handshake */

static int wait_be_state(struct blkfront *bf, unsigned int want_mask,
                         enum xenbus_state *got)
{
    uint64_t deadline = iovm_now_ns() +
                        (uint64_t)bf->opts.timeout_ms * 1000000ull;
    char path[200];
    int rc = -ETIMEDOUT;

    snprintf(path, sizeof(path), "%s/state", bf->be);
    if (!xs_watch(bf->xs, path, "bfwait"))
        return -errno;
    for (;;) {
        enum xenbus_state s = xb_read_state(bf->xs, bf->be);
        struct pollfd p = { .fd = xs_fileno(bf->xs), .events = POLLIN };
        uint64_t now;
        char **ev;

        if (want_mask & (1u << s)) {
            *got = s;
            rc = 0;
            break;
        }
        now = iovm_now_ns();
        if (now >= deadline)
            break;
        if (poll(&p, 1, (int)((deadline - now) / 1000000) + 1) > 0)
            while ((ev = xs_check_watch(bf->xs)))
                free(ev);
    }
    xs_unwatch(bf->xs, path, "bfwait");
    return rc;
}

static int switch_state(struct blkfront *bf, enum xenbus_state s)
{
    return xb_switch_state(bf->xs, bf->fe, s, false);
}

static int queue_setup(struct blkfront *bf, struct bf_queue *q)
{
    unsigned int npages = 1u << bf->order, i;
    xenevtchn_port_or_error_t port;

    q->sring = xengntshr_share_pages(bf->gs, bf->info.backend_id, npages,
                                     q->refs, 1);
    if (!q->sring)
        return -errno;
    SHARED_RING_INIT((blkif_sring_t *)q->sring);
    FRONT_RING_INIT(&q->ring, (blkif_sring_t *)q->sring, npages * PAGE);
    /* As many slots as this ABI's entries fit (a power of two). */
    q->ring.nr_ents = iovm_ring_size((size_t)npages * PAGE, bf->ent_size);
    q->shadow = calloc(q->ring.nr_ents, sizeof(*q->shadow));
    if (!q->shadow)
        return -ENOMEM;
    for (i = 0; i < q->ring.nr_ents; i++)
        q->shadow[i].next_free = i + 1;
    q->free_head = 0;
    port = xenevtchn_bind_unbound_port(bf->xe, bf->info.backend_id);
    if (port < 0)
        return -errno;
    q->port = port;
    return 0;
}

static int write_queue_keys(struct blkfront *bf, xs_transaction_t t,
                            const char *dir, struct bf_queue *q)
{
    unsigned int i, npages = 1u << bf->order;
    char key[24];
    int rc = 0;

    for (i = 0; i < npages && !rc; i++) {
        if (npages == 1)
            snprintf(key, sizeof(key), "ring-ref");
        else
            snprintf(key, sizeof(key), "ring-ref%u", i);
        rc = xb_printf(bf->xs, t, dir, key, "%u", q->refs[i]);
    }
    if (!rc)
        rc = xb_printf(bf->xs, t, dir, "event-channel", "%u", q->port);
    return rc;
}

/* Keys of an earlier connection must not outlive it (a reconnect with
 * fewer queues or ring pages would otherwise leave them for the backend). */
static void clear_ring_keys(struct blkfront *bf, xs_transaction_t t)
{
    static const char *const keys[] = { "ring-ref", "ring-page-order",
                                        "multi-queue-num-queues",
                                        "event-channel" };
    char path[224];
    unsigned int i;

    for (i = 0; i < IOVM_ARRAY_SIZE(keys); i++) {
        snprintf(path, sizeof(path), "%s/%s", bf->fe, keys[i]);
        xs_rm(bf->xs, t, path);
    }
    for (i = 0; i < (1u << MAX_ORDER) || i < MAX_QUEUES; i++) {
        snprintf(path, sizeof(path), "%s/ring-ref%u", bf->fe, i);
        xs_rm(bf->xs, t, path);
        snprintf(path, sizeof(path), "%s/queue-%u", bf->fe, i);
        xs_rm(bf->xs, t, path);
    }
}

static int talk_to_backend(struct blkfront *bf)
{
    unsigned int i, tries;
    char dir[160];
    int rc = 0;

    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t t = xs_transaction_start(bf->xs);

        if (!t)
            return -errno;
        rc = 0;
        clear_ring_keys(bf, t);
        if (bf->order)
            rc = xb_printf(bf->xs, t, bf->fe, "ring-page-order", "%u",
                           bf->order);
        if (!rc && bf->info.queues > 1)
            rc = xb_printf(bf->xs, t, bf->fe, "multi-queue-num-queues", "%u",
                           bf->info.queues);
        for (i = 0; i < bf->info.queues && !rc; i++) {
            if (bf->info.queues == 1)
                snprintf(dir, sizeof(dir), "%s", bf->fe);
            else
                snprintf(dir, sizeof(dir), "%s/queue-%u", bf->fe, i);
            rc = write_queue_keys(bf, t, dir, &bf->q[i]);
        }
        if (!rc)
            rc = xb_printf(bf->xs, t, bf->fe, "protocol", "%s",
                           blk_abi_name(bf->abi));
        if (!rc)
            rc = xb_printf(bf->xs, t, bf->fe, "feature-persistent", "%d",
                           bf->opts.persistent);
        if (xs_transaction_end(bf->xs, t, rc != 0))
            return rc;
        if (rc || errno != EAGAIN)
            return rc ? rc : -errno;
    }
    return -EAGAIN;
}

static int read_disk(struct blkfront *bf)
{
    struct blkfront_info *in = &bf->info;
    unsigned int v;
    int rc;

    rc = xb_read_u64(bf->xs, XBT_NULL, bf->be, "sectors", UINT64_MAX >> 9,
                     &in->sectors);
    if (!rc)
        rc = xb_read_uint(bf->xs, XBT_NULL, bf->be, "sector-size", 65536,
                          &in->sector_size);
    if (rc)
        return rc;
    if (in->sector_size < 512 || (in->sector_size & (in->sector_size - 1)))
        return -EINVAL;
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be, "physical-sector-size",
                         1u << 20, in->sector_size, &in->phys_sector_size);
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be, "info", UINT32_MAX, 0,
                         &in->info);
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be, "feature-flush-cache", 1,
                         0, &v);
    in->flush = v;
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be, "feature-barrier", 1, 0,
                         &v);
    in->barrier = v;
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be, "feature-discard", 1, 0,
                         &v);
    in->discard = v;
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be, "feature-persistent", 1,
                         0, &v);
    in->persistent = v && bf->opts.persistent;
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be,
                         "feature-max-indirect-segments", 1u << 16, 0, &v);
    /* Indirect only if it allows more than the 11 direct segments. */
    v = IOVM_MIN(v, IOVM_MIN(bf->opts.max_indirect, MAX_SEGS));
    in->max_segs = v > BLKIF_MAX_SEGMENTS_PER_REQUEST
                       ? v
                       : BLKIF_MAX_SEGMENTS_PER_REQUEST;
    return 0;
}

int blkfront_open(struct blkfront **bfp, const char *vdev,
                  const struct blkfront_opts *opts)
{
    struct blkfront *bf = calloc(1, sizeof(*bf));
    unsigned int v, maxq, order, i;
    enum xenbus_state s;
    char bepath[160];
    int rc;

    if (!bf)
        return -ENOMEM;
    if (opts)
        bf->opts = *opts;
    else
        blkfront_opts_default(&bf->opts);
    if (!bf->opts.timeout_ms)
        bf->opts.timeout_ms = 10000;
    rc = blkfront_vdev_devid(vdev, &bf->info.devid);
    if (rc)
        goto fail;
    bf->abi = BLK_ABI_NATIVE;
    if (bf->opts.protocol && strcmp(bf->opts.protocol, "native") &&
        blk_abi_parse(bf->opts.protocol, &bf->abi)) {
        rc = -EINVAL;
        goto fail;
    }
    bf->ent_size = blk_abi_entry_size(bf->abi);
    bf->xs = xs_open(0);
    if (!bf->xs) {
        rc = -errno;
        goto fail;
    }
    rc = xb_read_uint(bf->xs, XBT_NULL, "domid", NULL, 0x7fef, &v);
    if (rc)
        goto fail;
    bf->domid = v;
    snprintf(bf->fe, sizeof(bf->fe), "/local/domain/%u/device/vbd/%u",
             bf->domid, bf->info.devid);
    rc = xb_read_str(bf->xs, XBT_NULL, bf->fe, "backend", bepath,
                     sizeof(bepath));
    if (!rc)
        rc = xb_read_uint(bf->xs, XBT_NULL, bf->fe, "backend-id", 0x7fef, &v);
    if (rc) {
        LOG_ERR("%s: no such virtual disk", vdev);
        goto fail;
    }
    snprintf(bf->be, sizeof(bf->be), "%s", bepath);
    bf->info.backend_id = v;
    bf->gs = xengntshr_open(NULL, 0);
    bf->xe = xenevtchn_open(NULL, 0);
    if (!bf->gs || !bf->xe) {
        rc = -errno;
        goto fail;
    }
    /* Polled before reading: a stale wake-up must not block us. */
    fcntl(xenevtchn_fd(bf->xe), F_SETFL,
          fcntl(xenevtchn_fd(bf->xe), F_GETFL) | O_NONBLOCK);
    /* Another frontend has it (or died holding it: --force). */
    s = xb_read_state(bf->xs, bf->fe);
    if (!bf->opts.force &&
        (s == XenbusStateInitialised || s == XenbusStateConnected)) {
        LOG_ERR("%s: in use by another frontend (state %s)", vdev,
                xb_state_name(s));
        bf->fe[0] = '\0'; /* not ours: leave its state alone */
        rc = -EBUSY;
        goto fail;
    }
    /* A frontend starting (again): Initialising, then wait for the
     * backend to be ready for us. */
    rc = switch_state(bf, XenbusStateInitialising);
    if (rc)
        goto fail;
    rc = wait_be_state(bf, 1u << XenbusStateInitWait, &s);
    if (rc) {
        LOG_ERR("%s: backend %s did not reach InitWait", vdev, bf->be);
        goto fail;
    }
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be, "max-ring-page-order",
                         MAX_ORDER, 0, &order);
    xb_read_uint_default(bf->xs, XBT_NULL, bf->be, "multi-queue-max-queues",
                         MAX_QUEUES, 1, &maxq);
    bf->order = IOVM_MIN(order, bf->opts.max_ring_order);
    bf->info.ring_pages = 1u << bf->order;
    bf->info.queues = IOVM_MAX(1u, maxq);
    if (bf->opts.max_queues)
        bf->info.queues = IOVM_MIN(bf->info.queues, bf->opts.max_queues);
    for (i = 0; i < bf->info.queues; i++) {
        rc = queue_setup(bf, &bf->q[i]);
        if (rc)
            goto fail;
    }
    rc = talk_to_backend(bf);
    if (!rc)
        rc = switch_state(bf, XenbusStateInitialised);
    if (rc)
        goto fail;
    rc = wait_be_state(bf, 1u << XenbusStateConnected, &s);
    if (rc) {
        LOG_ERR("%s: backend did not connect", vdev);
        goto fail;
    }
    rc = read_disk(bf);
    if (rc) {
        LOG_ERR("%s: backend published a bad disk description", vdev);
        goto fail;
    }
    rc = switch_state(bf, XenbusStateConnected);
    if (rc)
        goto fail;
    *bfp = bf;
    return 0;
fail:
    blkfront_close(bf);
    return rc;
}

void blkfront_close(struct blkfront *bf)
{
    enum xenbus_state s;
    unsigned int i;

    if (!bf)
        return;
    if (bf->xs && bf->fe[0] && bf->be[0] &&
        xb_read_state(bf->xs, bf->fe) == XenbusStateConnected) {
        /* Closing; the backend follows; then Closed. */
        bf->opts.timeout_ms = IOVM_MIN(bf->opts.timeout_ms, 10000u);
        if (!switch_state(bf, XenbusStateClosing))
            wait_be_state(bf,
                          (1u << XenbusStateClosing) |
                              (1u << XenbusStateClosed) |
                              (1u << XenbusStateUnknown),
                          &s);
        if (!switch_state(bf, XenbusStateClosed))
            wait_be_state(bf,
                          (1u << XenbusStateClosed) |
                              (1u << XenbusStateInitWait) |
                              (1u << XenbusStateUnknown),
                          &s);
    } else if (bf->xs && bf->fe[0]) {
        switch_state(bf, XenbusStateClosed);
    }
    for (i = 0; i < MAX_QUEUES; i++) {
        struct bf_queue *q = &bf->q[i];

        if (q->sring)
            xengntshr_unshare(bf->gs, q->sring, 1u << bf->order);
        free(q->shadow);
    }
    while (bf->chunks) {
        struct bf_chunk *c = bf->chunks;

        bf->chunks = c->next;
        xengntshr_unshare(bf->gs, c->addr, POOL_CHUNK);
        free(c);
    }
    while (bf->pool) {
        struct bf_page *p = bf->pool;

        bf->pool = p->next;
        free(p);
    }
    if (bf->xe)
        xenevtchn_close(bf->xe);
    if (bf->gs)
        xengntshr_close(bf->gs);
    if (bf->xs)
        xs_close(bf->xs);
    free(bf);
}

const struct blkfront_info *blkfront_info(const struct blkfront *bf)
{
    return &bf->info;
}

size_t blkfront_max_io(const struct blkfront *bf)
{
    return (size_t)bf->info.max_segs * PAGE;
}

unsigned int blkfront_inflight(const struct blkfront *bf)
{
    unsigned int i, n = 0;

    for (i = 0; i < bf->info.queues; i++)
        n += bf->q[i].inflight;
    return n;
}

void blkfront_stats(const struct blkfront *bf, struct blkfront_stats *st)
{
    *st = bf->st;
}

/* ---------------------------------------------------------------- */
/* I/O */

/* The shared slot of ring index i, in this ring's ABI. */
static void *ring_slot(const struct blkfront *bf, const struct bf_queue *q,
                       RING_IDX i)
{
    return (char *)q->sring + offsetof(blkif_sring_t, ring) +
           (size_t)(i & (q->ring.nr_ents - 1)) * bf->ent_size;
}

/* One request, built natively, into its slot in the ring's ABI. */
union bf_req {
    blkif_request_t rw;
    blkif_request_discard_t discard;
    blkif_request_indirect_t ind;
};

static void put_request(const struct blkfront *bf, void *slot,
                        const union bf_req *r)
{
    union {
        struct blkif_x86_32_request rw;
        struct blkif_x86_32_request_discard discard;
        struct blkif_x86_32_request_indirect ind;
    } x;
    unsigned int i;

    /* x86_64 is the native layout here (blk-abi.h asserts the sizes). */
    if (bf->abi != BLK_ABI_X86_32) {
        memcpy(slot, r, sizeof(*r));
        return;
    }
    memset(&x, 0, sizeof(x));
    switch (r->rw.operation) {
    case BLKIF_OP_DISCARD:
        x.discard.operation = r->discard.operation;
        x.discard.flag = r->discard.flag;
        x.discard.handle = r->discard.handle;
        x.discard.id = r->discard.id;
        x.discard.sector_number = r->discard.sector_number;
        x.discard.nr_sectors = r->discard.nr_sectors;
        break;
    case BLKIF_OP_INDIRECT:
        x.ind.operation = r->ind.operation;
        x.ind.indirect_op = r->ind.indirect_op;
        x.ind.nr_segments = r->ind.nr_segments;
        x.ind.id = r->ind.id;
        x.ind.sector_number = r->ind.sector_number;
        x.ind.handle = r->ind.handle;
        for (i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
            x.ind.indirect_grefs[i] = r->ind.indirect_grefs[i];
        break;
    default:
        x.rw.operation = r->rw.operation;
        x.rw.nr_segments = r->rw.nr_segments;
        x.rw.handle = r->rw.handle;
        x.rw.id = r->rw.id;
        x.rw.sector_number = r->rw.sector_number;
        for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
            x.rw.seg[i] = r->rw.seg[i];
        break;
    }
    memcpy(slot, &x, sizeof(struct blkif_x86_32_request));
}

int blkfront_submit(struct blkfront *bf, unsigned int qi,
                    struct blkfront_io *io)
{
    struct bf_queue *q;
    struct bf_shadow *sh;
    unsigned int nseg = 0, nind = 0, i, id;
    union bf_req r;
    int rc;

    if (bf->failed)
        return -EIO;
    if (qi >= bf->info.queues)
        return -EINVAL;
    q = &bf->q[qi];
    if (io->op == BLKIF_OP_READ || io->op == BLKIF_OP_WRITE ||
        ((io->op == BLKIF_OP_FLUSH_DISKCACHE ||
          io->op == BLKIF_OP_WRITE_BARRIER) &&
         io->len)) {
        if (!io->len || io->len % 512 || io->len > blkfront_max_io(bf))
            return -EINVAL;
        nseg = (io->len + PAGE - 1) / PAGE;
        /* Only reads and writes may travel indirectly. */
        if (nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST &&
            io->op != BLKIF_OP_READ && io->op != BLKIF_OP_WRITE)
            return -EINVAL;
        if (nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST)
            nind = (nseg + SEGS_PER_IND_PAGE - 1) /
                   SEGS_PER_IND_PAGE;
    } else if (io->op == BLKIF_OP_DISCARD) {
        if (!bf->info.discard)
            return -EOPNOTSUPP;
    } else if (io->op != BLKIF_OP_FLUSH_DISKCACHE &&
               io->op != BLKIF_OP_WRITE_BARRIER) {
        return -EINVAL;
    }
    if (RING_FULL(&q->ring) || q->free_head >= q->ring.nr_ents)
        return -EAGAIN;
    id = q->free_head;
    sh = &q->shadow[id];
    rc = pool_take(bf, nseg, sh->pages);
    if (!rc && nind) {
        rc = pool_take(bf, nind, sh->ind);
        if (rc)
            pool_give(bf, nseg, sh->pages);
    }
    if (rc)
        return rc;
    q->free_head = sh->next_free;
    sh->io = io;
    sh->npages = nseg;
    sh->nind = nind;
    if (io->op != BLKIF_OP_READ && nseg && io->buf)
        for (i = 0; i < nseg; i++)
            memcpy(sh->pages[i]->addr, (char *)io->buf + (size_t)i * PAGE,
                   IOVM_MIN((size_t)PAGE, io->len - (size_t)i * PAGE));

    memset(&r, 0, sizeof(r));
    if (io->op == BLKIF_OP_DISCARD) {
        blkif_request_discard_t *d = &r.discard;

        d->operation = BLKIF_OP_DISCARD;
        d->id = id;
        d->sector_number = io->sector;
        d->nr_sectors = io->len >> 9;
    } else if (nind) {
        blkif_request_indirect_t *in = &r.ind;
        struct blkif_request_segment *segs;

        in->operation = BLKIF_OP_INDIRECT;
        in->indirect_op = io->op;
        in->nr_segments = nseg;
        in->id = id;
        in->sector_number = io->sector;
        in->handle = bf->info.devid & 0xffff;
        for (i = 0; i < nind; i++)
            in->indirect_grefs[i] = sh->ind[i]->ref;
        for (i = 0; i < nseg; i++) {
            size_t seglen = IOVM_MIN((size_t)PAGE, io->len - (size_t)i * PAGE);

            segs = (struct blkif_request_segment *)
                       sh->ind[i / SEGS_PER_IND_PAGE]->addr +
                   i % SEGS_PER_IND_PAGE;
            segs->gref = sh->pages[i]->ref;
            segs->first_sect = 0;
            segs->last_sect = seglen / 512 - 1;
        }
    } else {
        blkif_request_t *req = &r.rw;

        req->operation = io->op;
        req->nr_segments = nseg;
        req->id = id;
        req->sector_number = io->sector;
        req->handle = bf->info.devid & 0xffff;
        for (i = 0; i < nseg; i++) {
            size_t seglen = IOVM_MIN((size_t)PAGE, io->len - (size_t)i * PAGE);

            req->seg[i].gref = sh->pages[i]->ref;
            req->seg[i].first_sect = 0;
            req->seg[i].last_sect = seglen / 512 - 1;
        }
    }
    put_request(bf, ring_slot(bf, q, q->ring.req_prod_pvt), &r);
    q->ring.req_prod_pvt++;
    q->inflight++;
    q->pushed = true;
    io->t_submit = iovm_now_ns();
    bf->st.reqs++;
    return 0;
}

void blkfront_kick(struct blkfront *bf)
{
    unsigned int i;

    for (i = 0; i < bf->info.queues; i++) {
        struct bf_queue *q = &bf->q[i];
        int notify;

        if (!q->pushed)
            continue;
        q->pushed = false;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->ring, notify);
        if (notify) {
            xenevtchn_notify(bf->xe, q->port);
            bf->st.notify_sent++;
        }
    }
}

static void fail_device(struct blkfront *bf, const char *why)
{
    if (!bf->failed)
        LOG_ERR("%s: %s; failing the device", bf->fe, why);
    bf->failed = true;
}

/*
 * Consumes responses.  arm: also ask for a notification of the next one
 * (before sleeping); while busy we leave rsp_event alone so the backend
 * need not kick us.
 */
static int reap_queue(struct blkfront *bf, struct bf_queue *q, bool arm)
{
    int done = 0, more = 0;

    do {
        RING_IDX rp = __atomic_load_n(&q->ring.sring->rsp_prod,
                                      __ATOMIC_RELAXED), i;

        rmb(); /* the index before the responses */
        if (rp - q->ring.rsp_cons > q->ring.nr_ents) {
            fail_device(bf, "backend response index out of range");
            return done;
        }
        for (i = q->ring.rsp_cons; i != rp; i++) {
            blkif_response_t rsp;
            struct blkfront_io *io;
            struct bf_shadow *sh;
            unsigned int k;

            /* id, operation and status sit at the same offsets in
             * every ABI (only the entry size differs). */
            memcpy(&rsp, ring_slot(bf, q, i), sizeof(rsp));
            bf->st.responses++;
            if (rsp.id >= q->ring.nr_ents || !q->shadow[rsp.id].io) {
                bf->st.bogus++;
                fail_device(bf, "backend answered an unknown request");
                continue;
            }
            sh = &q->shadow[rsp.id];
            io = sh->io;
            io->status = rsp.status;
            if (io->op == BLKIF_OP_READ && io->buf &&
                rsp.status == BLKIF_RSP_OKAY)
                for (k = 0; k < sh->npages; k++)
                    memcpy((char *)io->buf + (size_t)k * PAGE,
                           sh->pages[k]->addr,
                           IOVM_MIN((size_t)PAGE, io->len - (size_t)k * PAGE));
            pool_give(bf, sh->npages, sh->pages);
            pool_give(bf, sh->nind, sh->ind);
            sh->io = NULL;
            sh->next_free = q->free_head;
            q->free_head = rsp.id;
            q->inflight--;
            done++;
            if (io->done)
                io->done(io, io->arg);
        }
        q->ring.rsp_cons = rp;
        if (arm)
            RING_FINAL_CHECK_FOR_RESPONSES(&q->ring, more);
    } while (more);
    return done;
}

static bool responses_waiting(struct blkfront *bf)
{
    unsigned int i;

    for (i = 0; i < bf->info.queues; i++)
        if (RING_HAS_UNCONSUMED_RESPONSES(&bf->q[i].ring))
            return true;
    return false;
}

/* Folds one observed wait into the average (weight 1/8). */
static void wait_note(struct blkfront *bf, uint64_t ns)
{
    bf->wait_ewma = bf->wait_ewma - bf->wait_ewma / 8 + ns / 8;
}

static int reap_all(struct blkfront *bf)
{
    unsigned int i;
    int done = 0;

    for (i = 0; i < bf->info.queues; i++)
        done += reap_queue(bf, &bf->q[i], false);
    return done;
}

int blkfront_poll(struct blkfront *bf, int timeout_ms)
{
    struct pollfd p = { .fd = xenevtchn_fd(bf->xe), .events = POLLIN };
    uint64_t t0 = 0;
    unsigned int i;
    int done = 0, r;

    /* Whatever is already there first: no sleep if there is work. */
    for (i = 0; i < bf->info.queues; i++)
        done += reap_queue(bf, &bf->q[i], false);
    if (done || !timeout_ms)
        return done;
    /*
     * Hybrid polling: spin briefly (a wake-up costs more) when responses
     * have lately come within the budget (a page-cache hit, say), and
     * sleep at once when they take longer (real I/O), where spinning
     * would only burn the CPU the I/O needs.  wait_ewma tracks how long
     * responses took to come after we started waiting.
     */
    if (bf->opts.poll_us && blkfront_inflight(bf)) {
        uint64_t budget = (uint64_t)bf->opts.poll_us * 1000;

        t0 = iovm_now_ns();
        /* Now and then spin anyway, to notice responses got quick. */
        if (bf->wait_ewma < 4 * budget || !(++bf->wait_probe & 15)) {
            while (!responses_waiting(bf) && iovm_now_ns() - t0 < budget)
                __builtin_ia32_pause();
            if (responses_waiting(bf)) {
                wait_note(bf, iovm_now_ns() - t0);
                return reap_all(bf);
            }
        }
    }
    for (i = 0; i < bf->info.queues; i++)
        done += reap_queue(bf, &bf->q[i], true);
    if (done)
        return done;
    r = poll(&p, 1, timeout_ms);
    if (t0)
        wait_note(bf, iovm_now_ns() - t0);
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    if (r > 0) {
        int port = xenevtchn_pending(bf->xe);

        if (port >= 0) {
            bf->st.events++;
            /* Unmask before reaping: a response after this re-fires. */
            xenevtchn_unmask(bf->xe, port);
        }
    }
    for (i = 0; i < bf->info.queues; i++)
        done += reap_queue(bf, &bf->q[i], false);
    return done;
}

static void sync_done(struct blkfront_io *io, void *arg)
{
    *(bool *)arg = true;
}

int blkfront_rw_sync(struct blkfront *bf, uint8_t op, uint64_t sector,
                     void *buf, size_t len)
{
    struct blkfront_io io = { .op = op, .sector = sector, .buf = buf,
                              .len = len, .done = sync_done };
    bool finished = false;
    int rc;

    io.arg = &finished;
    while ((rc = blkfront_submit(bf, 0, &io)) == -EAGAIN)
        if (blkfront_poll(bf, 1000) < 0)
            return BLKIF_RSP_ERROR;
    if (rc)
        return rc == -EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR;
    blkfront_kick(bf);
    while (!finished) {
        if (bf->failed || blkfront_poll(bf, 1000) < 0)
            return BLKIF_RSP_ERROR;
    }
    return io.status;
}

/* ---------------------------------------------------------------- */
/* Raw ring access, for conformance and hostile-frontend tests */

/* blkfront_raw_push() rewrites the id of whatever layout it is given. */
_Static_assert(offsetof(blkif_request_t, id) ==
                       offsetof(blkif_request_indirect_t, id) &&
                   offsetof(blkif_request_t, id) ==
                       offsetof(blkif_request_discard_t, id),
               "request id at one offset in every layout");

void *blkfront_raw_sring(struct blkfront *bf, unsigned int qi,
                         unsigned int *nr_ents)
{
    if (qi >= bf->info.queues)
        return NULL;
    if (nr_ents)
        *nr_ents = bf->q[qi].ring.nr_ents;
    return bf->q[qi].sring;
}

int blkfront_raw_page(struct blkfront *bf, uint32_t *ref, void **addr)
{
    struct bf_page *pg;
    int rc = pool_take(bf, 1, &pg);

    if (rc)
        return rc;
    /* The page itself belongs to its chunk, unshared at close; only the
     * pool's record of it goes. */
    *ref = pg->ref;
    *addr = pg->addr;
    free(pg);
    return 0;
}

int blkfront_raw_push(struct blkfront *bf, unsigned int qi,
                      const struct blkif_request *req,
                      struct blkfront_io *io, uint64_t *idp)
{
    struct bf_queue *q;
    struct bf_shadow *sh;
    union bf_req r;
    unsigned int id;

    if (bf->failed)
        return -EIO;
    if (qi >= bf->info.queues)
        return -EINVAL;
    q = &bf->q[qi];
    if (RING_FULL(&q->ring) || q->free_head >= q->ring.nr_ents)
        return -EAGAIN;
    id = q->free_head;
    sh = &q->shadow[id];
    q->free_head = sh->next_free;
    sh->io = io;
    sh->npages = sh->nind = 0; /* the caller's pages stay the caller's */
    memset(&r, 0, sizeof(r));
    memcpy(&r, req, sizeof(*req));
    r.rw.id = id;
    put_request(bf, ring_slot(bf, q, q->ring.req_prod_pvt), &r);
    q->ring.req_prod_pvt++;
    q->inflight++;
    io->t_submit = iovm_now_ns();
    bf->st.reqs++;
    RING_PUSH_REQUESTS(&q->ring);
    q->pushed = false;
    if (idp)
        *idp = id;
    return 0;
}

void blkfront_raw_set_req_prod(struct blkfront *bf, unsigned int qi,
                               uint32_t prod)
{
    if (qi >= bf->info.queues)
        return;
    wmb(); /* whatever the caller wrote into slots, before the index */
    __atomic_store_n(&bf->q[qi].ring.sring->req_prod, prod,
                     __ATOMIC_RELAXED);
}

void blkfront_raw_notify(struct blkfront *bf, unsigned int qi)
{
    if (qi >= bf->info.queues)
        return;
    xenevtchn_notify(bf->xe, bf->q[qi].port);
    bf->st.notify_sent++;
}
