/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data path of one blkif queue, in its own thread: take requests from
 * the shared ring (each slot copied once, then validated), reach the
 * guest's pages (persistent mappings, or grant copy through a private
 * bounce buffer), submit to io_uring in batches, and answer out of order
 * as completions arrive, notifying the frontend only when the ring asks.
 *
 * Trust: the ring, indirect pages and data pages are the frontend's;
 * references in them may be bogus or revoked at any time.  A bad request
 * gets an error response; a ring whose indices make no sense halts and
 * the device fails (the main thread writes the error node).  Nothing is
 * answered OKAY before the storage has completed it; a FLUSH is answered
 * after an fdatasync issued once it arrived, so it covers every write
 * completed before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "blk-dev.h"
#include "sandbox.h"
#include "log.h"
#include "util.h"

#define PAGE 4096u
#define BOUNCE_KEEP 11u /* pages of bounce buffer an io keeps */
#define BLK_CHUNK 8u    /* requests between publishing responses */

#define ATOMIC_INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

static void poke_main(struct blk_queue *q)
{
    uint64_t one = 1;

    if (write(q->dev->bb->bed.main_efd, &one, sizeof(one)) < 0) {
        /* The main loop is already due to wake. */
    }
}

/* Rate-limited complaint about a frontend's request. */
static void q_complain(struct blk_queue *q, const char *what, uint64_t id)
{
    uint64_t n = ATOMIC_INC(q->st_errors);

    if (n <= 10 || !(n % 1000))
        LOG_WARN("%s queue %u: request %llu refused: %s (%llu so far)",
                 q->dev->xb.be, q->idx, (unsigned long long)id, what,
                 (unsigned long long)n);
}

/* ---------------------------------------------------------------- */

/* io is taken: in flight, nothing done for it yet. */
static void io_init(struct blk_queue *q, struct blk_io *io)
{
    io->stage = BLK_IO_DATA;
    io->status = BLKIF_RSP_ERROR;
    io->sync_after = false;
    io->retried = false;
    io->nsegs_mapped = 0;
    io->niov = 0;
    q->inflight++;
}

static struct blk_io *io_alloc(struct blk_queue *q)
{
    struct blk_io *io = q->free_ios;

    if (io) {
        q->free_ios = io->next_free;
        io_init(q, io);
    }
    return io;
}

static void io_release_data(struct blk_queue *q, struct blk_io *io)
{
    unsigned int i;

    for (i = 0; i < io->nsegs_mapped; i++)
        pgrant_put(&q->pcache, io->pg[i]);
    io->nsegs_mapped = 0;
}

static unsigned int io_index(const struct blk_queue *q, const struct blk_io *io)
{
    return (unsigned int)(io - q->ios);
}

/* The response slot of io, journalled (a successor writes it again if
 * we die before rsp_prod_pvt covers it). */
static void io_respond(struct blk_queue *q, struct blk_io *io, int16_t status)
{
    uint8_t op = io->req.op == BLKIF_OP_INDIRECT ? io->req.io_op : io->req.op;
    struct iovm_devstat *ds = q->dev->bb->bed.stat;

    if (q->jq)
        iovm_rj_answering(q->jq, io_index(q, io), q->ring.rsp_prod_pvt,
                          status);
    blk_rsp_write(q->abi, iovm_back_ring_rsp(&q->ring), io->req.id, op,
                  status);
    if (q->jq)
        iovm_rj_answered(q->jq, io_index(q, io), q->ring.rsp_prod_pvt);
    if (!ds)
        return;
    if (!IOVM_DEVSTAT_GET(ds->first_rsp_ns))
        IOVM_DEVSTAT_SET(ds->first_rsp_ns, iovm_now_ns());
    if (io->replayed) {
        io->replayed = false;
        /* The last request taken over, of every queue: serving. */
        if (!__atomic_sub_fetch(&ds->replay_left, 1, __ATOMIC_ACQ_REL))
            IOVM_DEVSTAT_SET(ds->serving, 1u);
    }
}

/* Answers io and recycles it. */
static void io_finish(struct blk_queue *q, struct blk_io *io, int16_t status)
{
    io_release_data(q, io);
    q->inflight_pages -= io->pages;
    io->pages = 0;
    io_respond(q, io, status);
    io->stage = BLK_IO_FREE;
    io->next_free = q->free_ios;
    q->free_ios = io;
    q->inflight--;
}

/* At least pages of bounce buffer; small ones are kept between uses. */
static int bounce_reserve(struct blk_queue *q, struct blk_io *io,
                          unsigned int pages)
{
    unsigned int want = IOVM_MAX(pages, BOUNCE_KEEP);
    void *b;

    if (io->bounce && io->bounce_pages >= pages)
        return 0;
    if (posix_memalign(&b, PAGE, (size_t)want * PAGE))
        return -ENOMEM;
    free(io->bounce);
    q->bounce_held += want - io->bounce_pages;
    io->bounce = b;
    io->bounce_pages = want;
    return 0;
}

static void bounce_trim(struct blk_queue *q, struct blk_io *io)
{
    /* A large indirect request's buffer is not kept around, and what
     * is kept stays within the queue's in-flight ceiling. */
    if (io->bounce && (io->bounce_pages > BOUNCE_KEEP ||
                       q->bounce_held > q->max_inflight_pages)) {
        q->bounce_held -= io->bounce_pages;
        free(io->bounce);
        io->bounce = NULL;
        io->bounce_pages = 0;
    }
}

/* Grant copy between the guest's segments and our bounce buffer. */
static int copy_segments(struct blk_queue *q, struct blk_io *io, bool to_guest)
{
    xengnttab_grant_copy_segment_t seg[BLK_MAX_SEGS];
    unsigned int i;

    memset(seg, 0, sizeof(seg[0]) * io->req.nr_segs);
    for (i = 0; i < io->req.nr_segs; i++) {
        const struct blk_seg *s = &io->req.segs[i];
        void *local = (char *)io->bounce + (size_t)i * PAGE + blk_seg_offset(s);

        seg[i].len = blk_seg_len(s);
        if (to_guest) {
            seg[i].flags = GNTCOPY_dest_gref;
            seg[i].source.virt = local;
            seg[i].dest.foreign.ref = s->gref;
            seg[i].dest.foreign.offset = blk_seg_offset(s);
            seg[i].dest.foreign.domid = q->dev->xb.fe_domid;
        } else {
            seg[i].flags = GNTCOPY_source_gref;
            seg[i].source.foreign.ref = s->gref;
            seg[i].source.foreign.offset = blk_seg_offset(s);
            seg[i].source.foreign.domid = q->dev->xb.fe_domid;
            seg[i].dest.virt = local;
        }
    }
    if (xengnttab_grant_copy(q->gnt, io->req.nr_segs, seg))
        return -errno;
    /* Every element's status, not just the call's. */
    for (i = 0; i < io->req.nr_segs; i++)
        if (seg[i].status != GNTST_okay)
            return -EFAULT;
    return 0;
}

/* Between the guest's mapped pages and our bounce buffer, by the CPU. */
static void copy_mapped(struct blk_io *io, bool to_guest)
{
    unsigned int i;

    for (i = 0; i < io->req.nr_segs; i++) {
        const struct blk_seg *s = &io->req.segs[i];
        char *guest = (char *)io->pg[i]->addr + blk_seg_offset(s);
        char *local = (char *)io->bounce + (size_t)i * PAGE + blk_seg_offset(s);

        if (to_guest)
            memcpy(guest, local, blk_seg_len(s));
        else
            memcpy(local, guest, blk_seg_len(s));
    }
}

/*
 * Does O_DIRECT I/O for this queue go through our bounce buffer rather
 * than straight into the guest's mapped pages?  On a PV driver domain,
 * Linux 6.1's gntdev mishandles mapped pages that in-flight O_DIRECT I/O
 * holds (pinned) when their process dies: page counts go wrong ("Bad
 * rss-counter", try_grab_page warnings, later ENOMEM).  A backend that
 * may be killed therefore does no O_DIRECT I/O into them, unless
 * --zero-copy.  Through the page cache the kernel copies by CPU and pins
 * nothing: no bounce needed.
 */
static bool bounce_mapped(const struct blk_queue *q)
{
    return q->persistent && !q->dev->bb->zero_copy && q->dev->store.direct;
}

/*
 * Makes io->iov point at the data: the guest's mapped pages (zero copy),
 * or our bounce buffer, filled by the CPU from the mapped pages
 * (bounce_mapped) or by grant copy.
 */
static int setup_data(struct blk_queue *q, struct blk_io *io)
{
    unsigned int i;
    int rc;

    if (q->persistent) {
        uint32_t refs[BLK_MAX_SEGS];
        bool bounce = bounce_mapped(q);

        for (i = 0; i < io->req.nr_segs; i++)
            refs[i] = io->req.segs[i].gref;
        /* What is not mapped yet, in one call. */
        rc = pgrant_get_many(&q->pcache, refs, io->req.nr_segs, io->pg);
        if (rc)
            return rc;
        io->nsegs_mapped = io->req.nr_segs;
        if (bounce) {
            rc = bounce_reserve(q, io, io->req.nr_segs);
            if (rc)
                return rc;
        }
        for (i = 0; i < io->req.nr_segs; i++) {
            const struct blk_seg *s = &io->req.segs[i];

            io->iov[i].iov_base =
                bounce ? (char *)io->bounce + (size_t)i * PAGE +
                             blk_seg_offset(s)
                       : (char *)io->pg[i]->addr + blk_seg_offset(s);
            io->iov[i].iov_len = blk_seg_len(s);
        }
        if (bounce && io->req.io_op != BLKIF_OP_READ)
            copy_mapped(io, false);
    } else {
        rc = bounce_reserve(q, io, io->req.nr_segs);
        if (rc)
            return rc;
        for (i = 0; i < io->req.nr_segs; i++) {
            const struct blk_seg *s = &io->req.segs[i];

            io->iov[i].iov_base =
                (char *)io->bounce + (size_t)i * PAGE + blk_seg_offset(s);
            io->iov[i].iov_len = blk_seg_len(s);
        }
        if (io->req.io_op != BLKIF_OP_READ) {
            rc = copy_segments(q, io, false);
            if (rc)
                return rc;
        }
    }
    io->niov = io->req.nr_segs;
    return 0;
}

/* Loads the segments of an INDIRECT request, each page read once. */
static int load_indirect(struct blk_queue *q, struct blk_io *io)
{
    unsigned int i, n = io->req.nr_indirect;

    if (q->persistent) {
        for (i = 0; i < n; i++) {
            struct pgrant *pg = pgrant_get(&q->pcache,
                                           io->req.indirect_grefs[i]);

            if (!pg)
                return -errno;
            blk_req_copy_indirect(&io->req, i, pg->addr);
            pgrant_put(&q->pcache, pg);
        }
        return 0;
    } else {
        xengnttab_grant_copy_segment_t seg[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

        /* Copy (not map) what we interpret, into private memory. */
        memset(seg, 0, sizeof(seg));
        for (i = 0; i < n; i++) {
            seg[i].flags = GNTCOPY_source_gref;
            seg[i].source.foreign.ref = io->req.indirect_grefs[i];
            seg[i].source.foreign.domid = q->dev->xb.fe_domid;
            seg[i].dest.virt = (char *)q->indirect_buf + (size_t)i * PAGE;
            seg[i].len = PAGE;
        }
        if (xengnttab_grant_copy(q->gnt, n, seg))
            return -errno;
        for (i = 0; i < n; i++) {
            if (seg[i].status != GNTST_okay)
                return -EFAULT;
            blk_req_copy_indirect(&io->req, i,
                                  (char *)q->indirect_buf + (size_t)i * PAGE);
        }
    }
    return 0;
}

static struct io_uring_sqe *get_sqe(struct blk_queue *q)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&q->uring);

    if (!sqe) {
        /* SQ full: push what we have and try again. */
        io_uring_submit(&q->uring);
        sqe = io_uring_get_sqe(&q->uring);
    }
    return sqe;
}

/* The store's two fds, registered with the ring (no fget/fput per I/O). */
enum blk_file { BLK_FILE_DATA, BLK_FILE_BUFFERED };

static int file_fd(const struct blk_queue *q, enum blk_file f)
{
    const struct blk_store *st = &q->dev->store;

    if (q->fixed_files)
        return (int)f;
    return f == BLK_FILE_DATA ? st->fd : st->fd_buffered;
}

static void sqe_fixed(const struct blk_queue *q, struct io_uring_sqe *sqe)
{
    if (q->fixed_files)
        sqe->flags |= IOSQE_FIXED_FILE;
}

static int submit_data(struct blk_queue *q, struct blk_io *io,
                       enum blk_file f)
{
    struct io_uring_sqe *sqe = get_sqe(q);
    off_t off = (off_t)(io->req.sector << 9);

    if (!sqe)
        return -EBUSY;
    if (io->req.io_op == BLKIF_OP_READ)
        io_uring_prep_readv(sqe, file_fd(q, f), io->iov, io->niov, off);
    else
        io_uring_prep_writev(sqe, file_fd(q, f), io->iov, io->niov, off);
    sqe_fixed(q, sqe);
    io_uring_sqe_set_data(sqe, io);
    io->stage = BLK_IO_DATA;
    return 0;
}

static int submit_sync(struct blk_queue *q, struct blk_io *io)
{
    struct io_uring_sqe *sqe = get_sqe(q);

    if (!sqe)
        return -EBUSY;
    io_uring_prep_fsync(sqe, file_fd(q, BLK_FILE_BUFFERED),
                        IORING_FSYNC_DATASYNC);
    sqe_fixed(q, sqe);
    io_uring_sqe_set_data(sqe, io);
    io->stage = BLK_IO_SYNC;
    return 0;
}

static void do_discard(struct blk_queue *q, struct blk_io *io)
{
    struct blk_store *st = &q->dev->store;
    uint64_t range[2] = { io->req.sector << 9, io->req.nr_sectors << 9 };
    struct io_uring_sqe *sqe;
    bool secure = io->req.discard_flag & BLKIF_DISCARD_SECURE;

    if (!io->req.nr_sectors) {
        io_finish(q, io, BLKIF_RSP_OKAY);
        return;
    }
    if (st->is_bdev) {
        /* No io_uring op for it in liburing 2.3: a short ioctl. */
        if (ioctl(st->fd_buffered,
                  secure && q->dev->lim.discard_secure ? BLKSECDISCARD
                                                       : BLKDISCARD,
                  range))
            io_finish(q, io,
                      errno == EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP
                                          : BLKIF_RSP_ERROR);
        else
            io_finish(q, io, BLKIF_RSP_OKAY);
        return;
    }
    sqe = get_sqe(q);
    if (!sqe) {
        io_finish(q, io, BLKIF_RSP_ERROR);
        return;
    }
    io_uring_prep_fallocate(sqe, file_fd(q, BLK_FILE_BUFFERED),
                            FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            range[0], range[1]);
    sqe_fixed(q, sqe);
    io_uring_sqe_set_data(sqe, io);
    io->stage = BLK_IO_DISCARD;
}

/* Starts a barrier once nothing else is in flight. */
static void start_barrier(struct blk_queue *q, struct blk_io *io)
{
    int rc;

    if (io->req.nr_segs) {
        io->sync_after = true;
        rc = setup_data(q, io);
        if (!rc)
            rc = submit_data(q, io, BLK_FILE_DATA);
    } else {
        rc = submit_sync(q, io);
    }
    if (rc) {
        q->draining = false;
        q->barrier = NULL;
        io_finish(q, io, BLKIF_RSP_ERROR);
    }
}

static void handle_req(struct blk_queue *q, struct blk_io *io)
{
    const struct blk_limits *lim = &q->dev->lim;
    enum blk_reject why;
    int16_t st;
    int rc;

    why = blk_req_check_header(&io->req, lim, &st);
    if (why) {
        q_complain(q, blk_reject_str(why), io->req.id);
        io_finish(q, io, st);
        return;
    }
    if (io->req.op == BLKIF_OP_INDIRECT) {
        rc = load_indirect(q, io);
        if (rc) {
            q_complain(q, "indirect page not accessible", io->req.id);
            io_finish(q, io, BLKIF_RSP_ERROR);
            return;
        }
    }
    why = blk_req_check_segs(&io->req, lim, &st);
    if (why) {
        q_complain(q, blk_reject_str(why), io->req.id);
        io_finish(q, io, st);
        return;
    }
    switch (io->req.io_op) {
    case BLKIF_OP_DISCARD:
        do_discard(q, io);
        return;
    case BLKIF_OP_WRITE_BARRIER:
        /* Everything before it completes first, then write + flush. */
        if (q->inflight > 1) {
            q->draining = true;
            q->barrier = io;
            io->stage = BLK_IO_DATA;
            return;
        }
        start_barrier(q, io);
        return;
    case BLKIF_OP_FLUSH_DISKCACHE:
        if (!io->req.nr_segs) {
            if (submit_sync(q, io))
                io_finish(q, io, BLKIF_RSP_ERROR);
            return;
        }
        io->sync_after = true; /* a FUA write: write, then flush */
        break;
    default:
        break;
    }
    rc = setup_data(q, io);
    if (!rc)
        rc = submit_data(q, io, BLK_FILE_DATA);
    if (rc) {
        q_complain(q, rc == -EFAULT || rc == -EINVAL
                          ? "grant not accessible"
                          : strerror(-rc),
                   io->req.id);
        io_finish(q, io, BLKIF_RSP_ERROR);
    }
}

/* Copies a taken request out of slot (the ring's, or the journal's
 * private copy) and starts it. */
static void io_start(struct blk_queue *q, struct blk_io *io,
                     const volatile void *slot)
{
    blk_req_copy(q->abi, slot, &io->req);
    /* At most what it claims (checked next), so the ceiling holds before
     * anything is mapped or allocated for it. */
    io->pages = IOVM_MIN(io->req.nr_segs, BLK_MAX_SEGS);
    q->inflight_pages += io->pages;
    if (q->inflight_pages > q->peak_inflight_pages)
        q->peak_inflight_pages = q->inflight_pages;
    handle_req(q, io);
}

/*
 * Takes and starts up to the budget of requests.  Returns the number
 * taken, or -EPROTO when the ring is broken.
 */
static void reap(struct blk_queue *q);
static void push_and_notify(struct blk_queue *q);
static bool replay(struct blk_queue *q);

static int process_ring(struct blk_queue *q, bool *more)
{
    unsigned int budget = BLK_BUDGET, taken = 0;

    *more = false;
    /* What a previous process took comes first, then the ring. */
    if (q->rec && !replay(q))
        return 0;
    for (;;) {
        IOVM_SHARED const volatile void *slot;
        int n;

        if (q->draining || q->broken)
            break;
        n = iovm_back_ring_begin(&q->ring);
        if (n < 0) {
            LOG_ERR("%s queue %u: frontend ring indices are corrupt; "
                    "halting the ring",
                    q->dev->xb.be, q->idx);
            __atomic_store_n(&q->broken, true, __ATOMIC_RELEASE);
            poke_main(q);
            return -EPROTO;
        }
        while (budget && !q->draining &&
               q->inflight_pages < q->max_inflight_pages &&
               (slot = iovm_back_ring_next(&q->ring))) {
            struct blk_io *io = io_alloc(q);

            if (!io)
                break; /* cannot happen: one io per ring slot */
            /* Into the journal first (the one read of the slot), so a
             * successor knows we took it. */
            if (q->jq)
                slot = iovm_rj_take(q->jq, io_index(q, io),
                                    q->ring.req_cons - 1, slot,
                                    q->ring.ent_size);
            io_start(q, io, slot);
            budget--;
            /*
             * Pipeline: start what we have and publish what is done every
             * few requests, so the frontend refills the ring while we
             * work instead of waiting for the whole batch.  Notifications
             * stay rare: the frontend re-arms rsp_event only to sleep.
             */
            if (!(++taken % BLK_CHUNK)) {
                io_uring_submit(&q->uring);
                if (io_uring_cq_ready(&q->uring))
                    reap(q);
                push_and_notify(q);
            }
        }
        io_uring_submit(&q->uring);
        if (!budget) {
            *more = true; /* come back without sleeping */
            break;
        }
        if (q->draining ||
            iovm_back_ring_inflight(&q->ring) >= q->ring.nr_ents ||
            q->inflight_pages >= q->max_inflight_pages)
            break; /* completions will bring us back */
        /* Without arming req_event: the frontend need not kick us while
         * we are awake; the caller arms it before sleeping. */
        if (__atomic_load_n(&q->ring.sring->req_prod, __ATOMIC_ACQUIRE) ==
            q->ring.req_cons)
            break;
    }
    __atomic_add_fetch(&q->st_reqs, taken, __ATOMIC_RELAXED);
    return (int)taken;
}

static void push_and_notify(struct blk_queue *q)
{
    if (iovm_back_ring_push(&q->ring)) {
        xenevtchn_notify(q->evtchn, q->port);
        ATOMIC_INC(q->st_notify);
    }
}

static void complete_one(struct blk_queue *q, struct blk_io *io, int res)
{
    switch (io->stage) {
    case BLK_IO_DATA: {
        size_t want = io->req.nr_sectors << 9;

        if (res == -EINVAL && !io->retried && q->dev->store.direct &&
            q->dev->store.fd != q->dev->store.fd_buffered) {
            /* O_DIRECT refused this one: once more through the cache.
             * A write then sits in our page cache: with no flush offered
             * (the frontend takes OKAY as stable), sync it first. */
            io->retried = true;
            if (io->req.io_op == BLKIF_OP_WRITE && !q->dev->lim.flush)
                io->sync_after = true;
            if (!submit_data(q, io, BLK_FILE_BUFFERED))
                return;
        }
        if (res < 0 || (size_t)res != want) {
            LOG_WARN("%s: %s of %zu bytes at sector %llu failed: %s",
                     q->dev->xb.be,
                     io->req.io_op == BLKIF_OP_READ ? "read" : "write", want,
                     (unsigned long long)io->req.sector,
                     res < 0 ? strerror(-res) : "short transfer");
            io_finish(q, io, BLKIF_RSP_ERROR);
            break;
        }
        if (bounce_mapped(q) && io->req.io_op == BLKIF_OP_READ)
            copy_mapped(io, true);
        if (!q->persistent && io->req.io_op == BLKIF_OP_READ &&
            copy_segments(q, io, true)) {
            q_complain(q, "grant not accessible for read data", io->req.id);
            io_finish(q, io, BLKIF_RSP_ERROR);
            break;
        }
        if (io->sync_after) {
            if (!submit_sync(q, io))
                return;
            io_finish(q, io, BLKIF_RSP_ERROR);
            break;
        }
        io_finish(q, io, BLKIF_RSP_OKAY);
        break;
    }
    case BLK_IO_SYNC:
        if (res == -EOPNOTSUPP || res == -EINVAL) {
            /* The storage cannot flush: withdraw the feature. */
            __atomic_store_n(&q->flush_failed, true, __ATOMIC_RELEASE);
            poke_main(q);
            io_finish(q, io, BLKIF_RSP_EOPNOTSUPP);
        } else {
            io_finish(q, io, res ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY);
        }
        break;
    case BLK_IO_DISCARD:
        io_finish(q, io,
                  !res                  ? BLKIF_RSP_OKAY
                  : res == -EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP
                                       : BLKIF_RSP_ERROR);
        break;
    default:
        break;
    }
    if (io->stage == BLK_IO_FREE)
        bounce_trim(q, io);
    if (io->stage == BLK_IO_FREE && q->barrier == io) {
        q->barrier = NULL;
        q->draining = false;
    }
}

static void reap(struct blk_queue *q)
{
    struct io_uring_cqe *cqe;
    unsigned int head, n = 0;

    io_uring_for_each_cqe(&q->uring, head, cqe) {
        complete_one(q, io_uring_cqe_get_data(cqe), cqe->res);
        n++;
    }
    io_uring_cq_advance(&q->uring, n);
    /* The barrier goes once it is the only request left. */
    if (q->draining && q->barrier && q->inflight == 1 &&
        q->barrier->stage == BLK_IO_DATA && !q->barrier->niov &&
        !q->barrier->sync_after)
        start_barrier(q, q->barrier);
    io_uring_submit(&q->uring);
}

/*
 * Waits for what the kernel holds, answering it.  A barrier waiting for
 * the queue to drain starts when the last request before it completes
 * (reap), so it is answered too.
 */
static void drain_all(struct blk_queue *q)
{
    unsigned int waited = 0;

    if (q->barrier && q->inflight == 1 && q->barrier->stage == BLK_IO_DATA &&
        !q->barrier->niov && !q->barrier->sync_after)
        start_barrier(q, q->barrier);
    io_uring_submit(&q->uring);
    while (q->inflight) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = { .tv_sec = 1 };

        /* The kernel may still write into guest pages: wait for it. */
        if (io_uring_wait_cqe_timeout(&q->uring, &cqe, &ts) == -ETIME) {
            if (++waited % 10 == 0)
                LOG_WARN("%s queue %u: waiting for %u I/Os to finish",
                         q->dev->xb.be, q->idx, q->inflight);
            continue;
        }
        reap(q);
    }
    push_and_notify(q);
}

/* For `iovmd status`: a few relaxed stores per wake-up. */
static void publish_stats(struct blk_queue *q)
{
    struct iovm_devstat_queue *ds = q->ds;

    if (!ds)
        return;
    IOVM_DEVSTAT_SET(ds->inflight, q->inflight);
    IOVM_DEVSTAT_SET(ds->requests, q->st_reqs);
    IOVM_DEVSTAT_SET(ds->refused, q->st_errors);
    IOVM_DEVSTAT_SET(ds->wakeups, q->st_wakeups);
    IOVM_DEVSTAT_SET(ds->notifications, q->st_notify);
    IOVM_DEVSTAT_SET(ds->peak_inflight_bytes,
                     (uint64_t)q->peak_inflight_pages * PAGE);
}

/*
 * Taking over (a previous process died or stopped): write again the one
 * response it may have been writing, then serve again every request it
 * took and did not answer, in ring order, each as if just taken, with
 * only the ones before it in flight (so a barrier waits for the same
 * requests it waited for, and what follows a waiting barrier waits for
 * it: nothing is taken while draining).  Reads are read again and writes
 * written again: the frontend's pages still hold the data (it keeps them
 * until answered), and whatever the previous process had in the kernel
 * finished before our storage opened (its io_uring held the storage's
 * lock until then).  New requests from the ring wait until every one of
 * these has been taken again.  Returns true once it is done.
 */
static bool replay(struct blk_queue *q)
{
    struct iovm_rj_recovery *rec = q->rec;

    if (rec->answer >= 0) {
        /* Its entry says ANSWERING at rsp_prod_pvt with its status:
         * answering again writes that slot, and moves on. */
        struct blk_io *io = &q->ios[rec->answer];
        const struct iovm_rj_ent *e = &q->jq->ent[rec->answer];

        blk_req_copy(q->abi, e->req, &io->req);
        io->replayed = false;
        io_respond(q, io, (int16_t)e->status);
        io->next_free = q->free_ios;
        q->free_ios = io;
        rec->answer = -1;
    }
    while (q->replay_next < rec->nreplay && !q->draining && !q->broken) {
        struct blk_io *io = &q->ios[rec->replay[q->replay_next++]];

        io_init(q, io);
        io_start(q, io, q->jq->ent[io_index(q, io)].req);
    }
    io_uring_submit(&q->uring);
    if (q->replay_next < rec->nreplay)
        return false;
    free(rec);
    q->rec = NULL;
    return true;
}

static void *queue_thread(void *arg)
{
    struct blk_queue *q = arg;
    struct epoll_event ev[4];
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    bool stop = false, more, active = true;

    if (epfd < 0) {
        __atomic_store_n(&q->broken, true, __ATOMIC_RELEASE);
        poke_main(q);
        return NULL;
    }
    /* Never block in xenevtchn_pending(): a wake-up may be stale. */
    fcntl(xenevtchn_fd(q->evtchn), F_SETFL,
          fcntl(xenevtchn_fd(q->evtchn), F_GETFL) | O_NONBLOCK);
    ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 1 };
    epoll_ctl(epfd, EPOLL_CTL_ADD, xenevtchn_fd(q->evtchn), &ev[0]);
    ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 2 };
    epoll_ctl(epfd, EPOLL_CTL_ADD, q->uring_efd, &ev[0]);
    ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 3 };
    epoll_ctl(epfd, EPOLL_CTL_ADD, q->stop_efd, &ev[0]);

    /* What a previous process left outstanding, then requests that may
     * be waiting already (a reconnect, or a process that died). */
    process_ring(q, &more);
    push_and_notify(q);
    if (q->resumed) {
        /* A notification may have died with our predecessor. */
        xenevtchn_notify(q->evtchn, q->port);
        ATOMIC_INC(q->st_notify);
    }
    while (!stop) {
        bool kicked, evt = false, armed = false;
        uint64_t before = q->st_reqs;
        int i, n;

        /*
         * Before sleeping: poll briefly for new requests or completions
         * (a wake-up costs far more than this), then arm req_event and
         * look once more; only then sleep.
         */
        if (!more && !q->broken) {
            /* Poll only while busy: I/O in flight, or just served some
             * (the frontend is likely to send more right away). */
            uint64_t until = (q->inflight || active) && q->dev->bb->poll_us
                                 ? iovm_now_ns() +
                                       (uint64_t)q->dev->bb->poll_us * 1000
                                 : 0;

            while (iovm_now_ns() < until &&
                   __atomic_load_n(&q->ring.sring->req_prod,
                                   __ATOMIC_ACQUIRE) == q->ring.req_cons &&
                   !io_uring_cq_ready(&q->uring))
                __builtin_ia32_pause();
            if (io_uring_cq_ready(&q->uring))
                reap(q);
            else if (q->inflight_pages < q->max_inflight_pages &&
                     iovm_back_ring_final_check(&q->ring))
                more = true; /* requests arrived: no sleep */
            else
                armed = true; /* at the ceiling: a completion wakes us */
        }
        if (armed && q->cq_efd_off) {
            /* Completions must wake us now; one may have come already. */
            io_uring_cq_eventfd_toggle(&q->uring, true);
            q->cq_efd_off = false;
            /* The flag before the CQ tail (io-wq posts from elsewhere). */
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (io_uring_cq_ready(&q->uring)) {
                reap(q);
                armed = false;
            }
        }
        n = epoll_wait(epfd, ev, 4, armed ? -1 : 0);
        /*
         * Awake, we look at the CQ on every round and before sleeping:
         * completions need not signal the eventfd meanwhile (page-cache
         * hits complete inline, each would cost a read and an epoll
         * round).  Device completions come as task work and signal it
         * once enabled again.
         */
        if (!q->cq_efd_off &&
            !io_uring_cq_eventfd_toggle(&q->uring, false))
            q->cq_efd_off = true;
        if (n < 0 && errno != EINTR)
            break;
        kicked = more || !armed;
        for (i = 0; i < n; i++) {
            uint64_t v;

            switch (ev[i].data.u32) {
            case 1: {
                int port = xenevtchn_pending(q->evtchn);

                if (port >= 0 && (evtchn_port_t)port != q->port)
                    xenevtchn_unmask(q->evtchn, port);
                if (port >= 0) {
                    ATOMIC_INC(q->st_wakeups);
                    evt = true;
                    /* Unmask now: anything after this raises it again,
                     * and we drain the ring below anyway. */
                    xenevtchn_unmask(q->evtchn, q->port);
                }
                kicked = true;
                break;
            }
            case 2:
                if (read(q->uring_efd, &v, sizeof(v)) < 0) {
                    /* nothing to clear */
                }
                kicked = true;
                break;
            case 3:
                stop = true;
                break;
            }
        }
        if (stop || q->broken)
            break;
        if (io_uring_cq_ready(&q->uring))
            reap(q); /* slots freed: more may fit now */
        if (kicked) {
            int taken = process_ring(q, &more);

            if (taken == 0 && evt && !more)
                ATOMIC_INC(q->st_spurious);
        }
        push_and_notify(q);
        active = q->st_reqs != before || q->inflight;
        publish_stats(q);
    }
    drain_all(q);
    /* Nothing is in flight: let go of the guest's pages here, in this
     * queue's thread, alongside the other queues doing the same. */
    pgrant_flush(&q->pcache);
    close(epfd);
    return NULL;
}

int blk_queue_start(struct blk_queue *q)
{
    unsigned int i, n = q->ring.nr_ents;
    int rc;

    q->stop_efd = eventfd(0, EFD_CLOEXEC);
    q->uring_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    q->ios = calloc(n, sizeof(*q->ios));
    if (q->stop_efd < 0 || q->uring_efd < 0 || !q->ios ||
        posix_memalign(&q->indirect_buf, PAGE,
                       (size_t)BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * PAGE)) {
        rc = -ENOMEM;
        goto fail;
    }
    /* Every io is free but the ones a previous process left in the
     * journal (rec): replay() takes those again, as they were taken. */
    for (i = n; i-- > 0;) {
        struct blk_io *io = &q->ios[i];

        if (q->rec && q->jq->ent[i].state != IOVM_RJ_FREE) {
            /* Taken by replay(), in ring order. */
            io->replayed = true;
            continue;
        }
        q->ios[i].next_free = q->free_ios;
        q->free_ios = &q->ios[i];
    }
    /* One SQE per request plus one for a flush after a write.  In the
     * sandbox the ring starts disabled, to be restricted first. */
    rc = io_uring_queue_init(2 * n, &q->uring,
                             q->dev->bb->sandboxed ? IORING_SETUP_R_DISABLED
                                                   : 0);
    if (rc) {
        LOG_ERR("%s: io_uring is not available (%s); iovm-blkback needs "
                "it (Linux >= 5.6, not disabled by sysctl "
                "kernel.io_uring_disabled)",
                q->dev->xb.be, strerror(-rc));
        goto fail;
    }
    q->uring_ok = true;
    {
        int fds[2] = { q->dev->store.fd, q->dev->store.fd_buffered };

        /* Saves a file lookup per I/O; plain fds work too. */
        q->fixed_files = !io_uring_register_files(&q->uring, fds, 2);
        if (!q->fixed_files)
            LOG_DEBUG("%s queue %u: cannot register the store's files "
                      "with io_uring; using plain fds",
                      q->dev->xb.be, q->idx);
    }
    rc = io_uring_register_eventfd(&q->uring, q->uring_efd);
    if (rc)
        goto fail;
    if (q->dev->bb->sandboxed) {
        rc = iovm_sandbox_ring(&q->uring);
        if (rc) {
            LOG_ERR("%s: cannot restrict io_uring: %s", q->dev->xb.be,
                    strerror(-rc));
            goto fail;
        }
    }
    /* Per queue, and at most BLK_PGRANT_DEVICE_MAX for the device. */
    pgrant_init(&q->pcache, q->gnt, q->dev->xb.fe_domid,
                IOVM_MIN(q->dev->bb->max_pgrants,
                         IOVM_MAX(BLK_PGRANT_DEVICE_MAX /
                                      IOVM_MAX(q->dev->nqueues, 1u),
                                  1u)));
    rc = -pthread_create(&q->thread, NULL, queue_thread, q);
    if (rc)
        goto fail;
    q->thread_started = true;
    return 0;
fail:
    blk_queue_stop(q);
    return rc ? rc : -ENOMEM;
}

void blk_queue_request_stop(struct blk_queue *q)
{
    uint64_t one = 1;

    if (q->thread_started && !q->stop_requested) {
        if (write(q->stop_efd, &one, sizeof(one)) < 0)
            LOG_WARN("cannot stop queue %u", q->idx);
        q->stop_requested = true;
    }
}

void blk_queue_stop(struct blk_queue *q)
{
    unsigned int i;

    if (q->thread_started) {
        blk_queue_request_stop(q);
        /* The thread let go of the guest's pages as it ended. */
        pthread_join(q->thread, NULL);
        q->stop_requested = false;
        q->thread_started = false;
    }
    if (q->uring_ok) {
        /*
         * The kernel frees a ring, and drops the files registered with
         * it, in a work item after the ring's last close: the storage
         * (and its lock) would outlive us, and our successor would find
         * it "in use".  Unregistering now drops them at once.
         */
        if (q->fixed_files)
            io_uring_unregister_files(&q->uring);
        q->fixed_files = false;
        io_uring_queue_exit(&q->uring);
        q->uring_ok = false;
    }
    if (q->ios) {
        for (i = 0; i < q->ring.nr_ents; i++)
            free(q->ios[i].bounce);
        free(q->ios);
        q->ios = NULL;
    }
    q->bounce_held = q->inflight_pages = 0;
    q->free_ios = NULL;
    free(q->rec);
    q->rec = NULL;
    free(q->indirect_buf);
    q->indirect_buf = NULL;
    if (q->stop_efd >= 0)
        close(q->stop_efd);
    if (q->uring_efd >= 0)
        close(q->uring_efd);
    q->stop_efd = q->uring_efd = -1;
}
