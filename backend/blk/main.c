/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkback: userspace blkif backend.  Serves every virtual block
 * device under this domain's backend/vbd and backend/qdisk (or just one,
 * with --device), over io_uring on a file or block device.
 *
 * The main thread owns xenstore: one watch per backend kind plus one per
 * frontend state node, a reconcile of every device on each event and
 * every few seconds (events can be lost), and storage-size checks for
 * online resize.  Queue threads (blk-queue.c) carry the data.
 *
 * Under iovmd (--supervised) it serves one device and registers no
 * watches: iovmd watches for the whole domain (its watch quota is small)
 * and pokes us through --poke-fd.  We exit once the device is gone or
 * offline and Closed, and on SIGTERM stop without closing it.
 * Trusts its command line and the fds it is given; see blk-xs.c for what
 * it trusts in xenstore.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "blk-dev.h"
#include "evloop.h"
#include "log.h"
#include "util.h"

#define RECONCILE_MS 5000
/* Closed -> directory removed; libxl waits up to 10 s for it. */
#define REMOVE_DELAY_MS 1000

static const char *const kinds[] = { "vbd", "qdisk" };

struct main_ctx {
    struct blkback bb;
    struct iovm_loop *loop;
    int64_t wake_timer;       /* for the earliest device removal; -1 */
    bool stopping;
};

static struct blk_dev *dev_find(struct blkback *bb, enum blk_kind kind,
                                uint32_t fe, uint32_t devid)
{
    struct xbdev *x;

    for (x = bb->devs; x; x = x->next)
        if (BLK_DEV(x)->kind == kind && x->fe_domid == fe &&
            x->devid == devid)
            return BLK_DEV(x);
    return NULL;
}

/* A device directory we have not seen: start tracking it. */
static struct blk_dev *dev_add(struct blkback *bb, enum blk_kind kind,
                               uint32_t fe, uint32_t devid)
{
    struct blk_dev *d;
    struct xbdev *x;
    char fe_path[160], want[80];
    unsigned int fe_id;

    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    x = &d->xb;
    d->bb = bb;
    d->kind = kind;
    x->ops = &blk_xbdev_ops;
    x->xs = bb->xs;
    x->fe_domid = fe;
    x->devid = devid;
    /* Under iovmd: iovmd watches, and removes the directory. */
    x->watch_fe = !bb->supervised;
    x->remove_dir = !bb->supervised;
    x->remove_delay_ms = bb->remove_delay_ms;
    x->clean_stop_key = BLK_CLEAN_STOP_KEY;
    snprintf(x->be, sizeof(x->be), "%s/backend/%s/%u/%u", bb->home,
             kinds[kind], fe, devid);
    if (bb->only && strcmp(bb->only, x->be)) {
        free(d);
        return NULL;
    }
    /* The toolstack wrote these; still, they must agree with the path. */
    if (xb_read_str(bb->xs, XBT_NULL, x->be, "frontend", fe_path,
                    sizeof(fe_path)) ||
        xb_read_uint(bb->xs, XBT_NULL, x->be, "frontend-id", 0x7fef,
                     &fe_id) ||
        fe_id != fe) {
        free(d);
        return NULL;
    }
    snprintf(want, sizeof(want), "/local/domain/%u/device/vbd/%u", fe, devid);
    if (strcmp(fe_path, want)) {
        LOG_WARN("%s: frontend path %s is not %s; ignoring the device",
                 x->be, fe_path, want);
        free(d);
        return NULL;
    }
    snprintf(x->fe, sizeof(x->fe), "%s", fe_path);
    x->state = XenbusStateUnknown;
    x->next = bb->devs;
    bb->devs = x;
    LOG_INFO("%s: new device for domain %u", x->be, fe);
    return d;
}

static void scan_one(void *arg, const char *kind, uint32_t fe, uint32_t devid)
{
    struct blkback *bb = arg;
    enum blk_kind k = strcmp(kind, "vbd") ? BLK_KIND_QDISK : BLK_KIND_VBD;

    if (!dev_find(bb, k, fe, devid))
        dev_add(bb, k, fe, devid);
}

/* Walks backend/<kind>/<fe>/<dev> and starts tracking new devices. */
static void scan(struct blkback *bb)
{
    xbdev_walk(bb->xs, bb->home, kinds, IOVM_ARRAY_SIZE(kinds), scan_one, bb);
}

static void wake_cb(struct iovm_loop *loop, void *arg);

static void reconcile_all(struct main_ctx *m)
{
    struct xbdev **pp = &m->bb.devs, *x;
    uint64_t now, wake_at = 0;

    while ((x = *pp)) {
        if (xbdev_reconcile(x, &wake_at)) {
            pp = &x->next;
        } else {
            *pp = x->next;
            blk_dev_free(BLK_DEV(x));
        }
    }
    /* Supervised, the one device is done with (or was never there). */
    if (m->bb.supervised && !m->bb.devs) {
        LOG_INFO("%s: nothing more to serve", m->bb.only);
        iovm_loop_stop(m->loop);
        return;
    }
    /* A device waits to remove its directory: come back then. */
    if (m->wake_timer >= 0)
        iovm_loop_timer_cancel(m->loop, m->wake_timer);
    m->wake_timer = -1;
    if (wake_at) {
        now = iovm_now_ns();
        m->wake_timer = iovm_loop_timer_add(
            m->loop, wake_at > now ? (wake_at - now) / 1000000u + 1 : 0,
            wake_cb, m);
    }
}

static void wake_cb(struct iovm_loop *loop, void *arg)
{
    struct main_ctx *m = arg;

    m->wake_timer = -1;
    reconcile_all(m);
}

static void xs_cb(struct iovm_loop *loop, int fd, uint32_t events, void *arg)
{
    struct main_ctx *m = arg;
    char **ev;
    bool any = false;
    unsigned int n = 0;

    /* Coalesce: drain every queued event, then reconcile once.  The
     * queue is bounded by what xenstored lets us have outstanding. */
    while ((ev = xs_check_watch(m->bb.xs)) && n++ < 10000) {
        any = true;
        free(ev);
    }
    free(ev);
    if (!any)
        return;
    scan(&m->bb);
    reconcile_all(m);
}

/* iovmd: something of our device changed in xenstore. */
static void poke_cb(struct iovm_loop *loop, int fd, uint32_t events,
                    void *arg)
{
    struct main_ctx *m = arg;
    uint64_t v;

    if (events & (EPOLLHUP | EPOLLERR)) {
        /* iovmd is gone (its death signal brings SIGTERM too). */
        iovm_loop_fd_del(loop, fd);
        return;
    }
    if (read(fd, &v, sizeof(v)) > 0) {
        scan(&m->bb);
        reconcile_all(m);
    }
}

static void main_efd_cb(struct iovm_loop *loop, int fd, uint32_t events,
                        void *arg)
{
    struct main_ctx *m = arg;
    uint64_t v;

    if (read(fd, &v, sizeof(v)) > 0)
        reconcile_all(m);
}

static void tick(struct iovm_loop *loop, void *arg)
{
    struct main_ctx *m = arg;

    /* Events may have been lost (xenstored drops unread ones). */
    scan(&m->bb);
    reconcile_all(m);
    iovm_loop_timer_add(loop, RECONCILE_MS, tick, m);
}

static void signal_cb(struct iovm_loop *loop, int fd, uint32_t events,
                      void *arg)
{
    struct main_ctx *m = arg;
    struct signalfd_siginfo si;

    if (read(fd, &si, sizeof(si)) != sizeof(si))
        return;
    if (si.ssi_signo == SIGUSR1 && m->bb.test_hooks) {
        /* Tests: what a compromised backend might try first. */
        LOG_WARN("SIGUSR1 (--test-hooks): opening a network socket");
        close(socket(AF_INET, SOCK_STREAM, 0));
        return;
    }
    if (si.ssi_signo == SIGHUP) {
        LOG_INFO("SIGHUP: rescanning");
        scan(&m->bb);
        reconcile_all(m);
        return;
    }
    LOG_INFO("signal %u: stopping", si.ssi_signo);
    m->stopping = true;
    iovm_loop_stop(loop);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: iovm-blkback [OPTIONS]\n"
            "Userspace Xen block backend (blkif over io_uring).  Serves "
            "every device\nunder this domain's backend/vbd and "
            "backend/qdisk in xenstore.\n\n"
            "  -d, --device PATH      serve only this backend directory\n"
            "  -q, --max-queues N     queues offered (default: online CPUs, "
            "max %u)\n"
            "  -r, --max-ring-order N ring pages offered, as log2 "
            "(default %u, max %u)\n"
            "      --no-persistent    do not offer persistent grants (grant "
            "copy)\n"
            "      --no-indirect      do not offer indirect segments\n"
            "      --max-persistent-grants N  guest pages kept mapped per "
            "queue\n"
            "                         (default %u; more are mapped per "
            "request)\n"
            "      --poll-us N        busy-poll the ring and io_uring for up "
            "to N us\n"
            "                         before sleeping, while I/O is in flight "
            "(default 0: off)\n"
            "      --zero-copy        with persistent grants, do O_DIRECT "
            "I/O straight into\n"
            "                         the guest's mapped pages (no copy). "
            "Unsafe if the\n"
            "                         process can die with I/O in flight on a "
            "PV driver\n"
            "                         domain: Linux 6.1's gntdev then "
            "corrupts page counts\n"
            "      --supervised       run under iovmd: serve --device only, "
            "no watches\n"
            "                         (iovmd pokes --poke-fd), leave the "
            "directory and\n"
            "                         hotplug script to iovmd; SIGTERM "
            "drains and leaves\n"
            "                         the device for the next process to "
            "resume\n"
            "      --hotplug          a hotplug script provides "
            "physical-device: open\n"
            "                         that once it is written, not params\n"
            "      --poke-fd N        (with --supervised) an eventfd iovmd "
            "writes to\n"
            "      --stats-fd N       a status page (memfd) iovmd reads\n"
            "      --journal-fd N     (with --supervised) the ring journal "
            "(memfd) iovmd\n"
            "                         keeps across restarts: a process "
            "that died is\n"
            "                         taken over without the frontend "
            "noticing\n"
            "      --sandbox          (with --supervised) once the storage "
            "is open: become\n"
            "                         --user, drop every capability, "
            "system call allowlist,\n"
            "                         io_uring restricted to its "
            "operations\n"
            "      --user NAME|UID    the sandbox's user (default "
            "nobody)\n"
            "      --max-inflight-bytes B  guest data in flight per "
            "device, at most\n"
            "                         (default 64M; K/M/G; the frontend "
            "waits)\n"
            "      --test-hooks       SIGUSR1 makes a forbidden system call "
            "(tests)\n"
            "      --remove-delay-ms N  after closing a device the toolstack "
            "took\n"
            "                         offline, remove its directory N ms "
            "later\n"
            "                         (default %u; libxl must read Closed "
            "first)\n"
            "  -l, --log-level L      error, warn, info or debug (info)\n"
            "  -h, --help             this text\n",
            BLK_MAX_QUEUES, BLK_MAX_RING_ORDER, BLK_MAX_RING_ORDER,
            BLK_PGRANT_DEFAULT, REMOVE_DELAY_MS);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "device", required_argument, NULL, 'd' },
        { "max-queues", required_argument, NULL, 'q' },
        { "max-ring-order", required_argument, NULL, 'r' },
        { "no-persistent", no_argument, NULL, 'P' },
        { "no-indirect", no_argument, NULL, 'I' },
        { "poll-us", required_argument, NULL, 'p' },
        { "remove-delay-ms", required_argument, NULL, 'R' },
        { "max-persistent-grants", required_argument, NULL, 'G' },
        { "supervised", no_argument, NULL, 'S' },
        { "hotplug", no_argument, NULL, 'H' },
        { "poke-fd", required_argument, NULL, 'K' },
        { "stats-fd", required_argument, NULL, 'T' },
        { "journal-fd", required_argument, NULL, 'J' },
        { "sandbox", no_argument, NULL, 'X' },
        { "user", required_argument, NULL, 'U' },
        { "max-inflight-bytes", required_argument, NULL, 'M' },
        { "test-hooks", no_argument, NULL, 'Y' },
        { "zero-copy", no_argument, NULL, 'Z' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct main_ctx m = { 0 };
    struct blkback *bb = &m.bb;
    enum iovm_log_level level = IOVM_LOG_INFO;
    unsigned int v, k;
    sigset_t mask;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int c, sfd, rc = 1, poke_fd = -1, stats_fd = -1, journal_fd = -1;
    char path[160];

    bb->max_queues = ncpu > 0 ? (unsigned int)ncpu : 1;
    if (bb->max_queues > BLK_MAX_QUEUES)
        bb->max_queues = BLK_MAX_QUEUES;
    bb->max_ring_order = BLK_MAX_RING_ORDER;
    bb->persistent = bb->indirect = true;
    bb->poll_us = 0;
    bb->remove_delay_ms = REMOVE_DELAY_MS;
    bb->max_pgrants = BLK_PGRANT_DEFAULT;
    bb->max_inflight_bytes = BLK_INFLIGHT_DEFAULT;
    bb->user = "nobody";
    m.wake_timer = -1;
    opterr = 0; /* our own one-line message */
    while ((c = getopt_long(argc, argv, "d:q:r:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': bb->only = optarg; break;
        case 'q':
            if (iovm_parse_uint(optarg, BLK_MAX_QUEUES, &v) || !v) {
                fprintf(stderr, "iovm-blkback: --max-queues must be 1..%u\n",
                        BLK_MAX_QUEUES);
                return 2;
            }
            bb->max_queues = v;
            break;
        case 'r':
            if (iovm_parse_uint(optarg, BLK_MAX_RING_ORDER, &v)) {
                fprintf(stderr,
                        "iovm-blkback: --max-ring-order must be 0..%u\n",
                        BLK_MAX_RING_ORDER);
                return 2;
            }
            bb->max_ring_order = v;
            break;
        case 'P': bb->persistent = false; break;
        case 'p':
            if (iovm_parse_uint(optarg, 10000, &v)) {
                fprintf(stderr, "iovm-blkback: --poll-us must be 0..10000\n");
                return 2;
            }
            bb->poll_us = v;
            break;
        case 'I': bb->indirect = false; break;
        case 'R':
            if (iovm_parse_uint(optarg, 9000, &v)) {
                fprintf(stderr,
                        "iovm-blkback: --remove-delay-ms must be 0..9000\n");
                return 2;
            }
            bb->remove_delay_ms = v;
            break;
        case 'G':
            if (iovm_parse_uint(optarg, BLK_PGRANT_LIMIT, &v) || !v) {
                fprintf(stderr, "iovm-blkback: --max-persistent-grants must "
                                "be 1..%u\n",
                        BLK_PGRANT_LIMIT);
                return 2;
            }
            bb->max_pgrants = v;
            break;
        case 'S': bb->supervised = true; break;
        case 'X': bb->sandbox = true; break;
        case 'U': bb->user = optarg; break;
        case 'Y': bb->test_hooks = true; break;
        case 'M': {
            uint64_t b;

            if (iovm_parse_size(optarg, &b) || b < BLK_INFLIGHT_MIN ||
                b > BLK_INFLIGHT_LIMIT) {
                fprintf(stderr, "iovm-blkback: --max-inflight-bytes must be "
                                "1M..1G\n");
                return 2;
            }
            bb->max_inflight_bytes = (unsigned int)b;
            break;
        }
        case 'H': bb->hotplug = true; break;
        case 'Z': bb->zero_copy = true; break;
        case 'K':
        case 'T':
        case 'J':
            if (iovm_parse_uint(optarg, 65535, &v) || v < 3 ||
                fcntl((int)v, F_GETFD) < 0) {
                fprintf(stderr, "iovm-blkback: --%s must be an open file "
                                "descriptor above 2\n",
                        c == 'K'   ? "poke-fd"
                        : c == 'T' ? "stats-fd"
                                   : "journal-fd");
                return 2;
            }
            *(c == 'K'   ? &poke_fd
              : c == 'T' ? &stats_fd
                         : &journal_fd) = (int)v;
            break;
        case 'l':
            if (iovm_log_level_parse(optarg, &level)) {
                fprintf(stderr, "iovm-blkback: bad log level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "iovm-blkback: unknown option or missing value: "
                            "%s (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "iovm-blkback: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    if (bb->supervised && !bb->only) {
        fprintf(stderr, "iovm-blkback: --supervised needs --device\n");
        return 2;
    }
    if (bb->sandbox && !bb->supervised) {
        fprintf(stderr, "iovm-blkback: --sandbox needs --supervised\n");
        return 2;
    }
    if (journal_fd >= 0 && !bb->supervised) {
        fprintf(stderr, "iovm-blkback: --journal-fd needs --supervised\n");
        return 2;
    }
    if (poke_fd >= 0 && !bb->supervised) {
        fprintf(stderr, "iovm-blkback: --poke-fd needs --supervised\n");
        return 2;
    }
    iovm_log_init("iovm-blkback", level);
    signal(SIGPIPE, SIG_IGN);
    if (stats_fd >= 0) {
        void *p;

        if (ftruncate(stats_fd, sizeof(*bb->stat)) ||
            (p = mmap(NULL, sizeof(*bb->stat), PROT_READ | PROT_WRITE,
                      MAP_SHARED, stats_fd, 0)) == MAP_FAILED) {
            fprintf(stderr, "iovm-blkback: --stats-fd: cannot map it: %s\n",
                    strerror(errno));
            return 2;
        }
        close(stats_fd);
        bb->stat = p;
        memset(bb->stat, 0, sizeof(*bb->stat));
        bb->stat->magic = IOVM_DEVSTAT_MAGIC;
        bb->stat->pid = (uint32_t)getpid();
        bb->stat->started_ns = iovm_now_ns();
    }
    if (journal_fd >= 0) {
        bb->journal = iovm_rj_map(journal_fd);
        if (!bb->journal) {
            fprintf(stderr, "iovm-blkback: --journal-fd: cannot map it: %s\n",
                    strerror(errno));
            return 2;
        }
        close(journal_fd);
    }

    bb->xs = xs_open(0);
    if (!bb->xs) {
        LOG_ERR("cannot open xenstore: %s", strerror(errno));
        return 1;
    }
    if (xb_read_uint(bb->xs, XBT_NULL, "domid", NULL, 0x7fef, &v)) {
        LOG_ERR("cannot read our domid from xenstore");
        goto out;
    }
    bb->domid = v;
    snprintf(bb->home, sizeof(bb->home), "/local/domain/%u", bb->domid);
    /* The sandbox opens nothing: a handle pair per queue, now. */
    for (k = 0; bb->sandbox && k < bb->max_queues; k++) {
        bb->pool_gnt[k] = xengnttab_open(NULL, 0);
        bb->pool_evt[k] = xenevtchn_open(NULL, 0);
        if (!bb->pool_gnt[k] || !bb->pool_evt[k]) {
            LOG_ERR("cannot open the grant and event-channel devices: %s",
                    strerror(errno));
            goto out;
        }
    }
    bb->main_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (bb->main_efd < 0 || iovm_loop_new(&m.loop)) {
        LOG_ERR("cannot set up the event loop");
        goto out;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (bb->test_hooks)
        sigaddset(&mask, SIGUSR1);
    /* Before any thread starts, so every thread blocks them. */
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    for (k = 0; k < IOVM_ARRAY_SIZE(kinds) && !bb->supervised; k++) {
        snprintf(path, sizeof(path), "%s/backend/%s", bb->home, kinds[k]);
        if (!xs_watch(bb->xs, path, "be")) {
            LOG_ERR("cannot watch %s: %s", path, strerror(errno));
            goto out;
        }
    }
    if (iovm_loop_fd_add(m.loop, xs_fileno(bb->xs), EPOLLIN, xs_cb, &m) ||
        iovm_loop_fd_add(m.loop, bb->main_efd, EPOLLIN, main_efd_cb, &m) ||
        (sfd >= 0 && iovm_loop_fd_add(m.loop, sfd, EPOLLIN, signal_cb, &m)) ||
        (poke_fd >= 0 &&
         iovm_loop_fd_add(m.loop, poke_fd, EPOLLIN, poke_cb, &m)) ||
        iovm_loop_timer_add(m.loop, RECONCILE_MS, tick, &m) < 0) {
        LOG_ERR("cannot set up the event loop");
        goto out;
    }
    LOG_INFO("serving %s/backend/{vbd,qdisk}%s%s: %u queue(s), ring order "
             "%u, %spersistent grants, %sindirect",
             bb->home, bb->only ? " only " : "", bb->only ? bb->only : "",
             bb->max_queues, bb->max_ring_order,
             bb->persistent ? "" : "no ", bb->indirect ? "" : "no ");
    scan(bb);
    reconcile_all(&m);
    rc = iovm_loop_run(m.loop) ? 1 : 0;

    /*
     * Told to stop.  Standalone: close every device so frontends see it
     * go.  Under iovmd: a stop is maintenance or an upgrade; drain, and
     * leave the device Connected for the next process.
     */
    while (bb->devs) {
        struct blk_dev *d = BLK_DEV(bb->devs);

        bb->devs = d->xb.next;
        if (bb->supervised)
            blk_dev_suspend(d);
        else
            blk_dev_shutdown(d, true);
        blk_dev_free(d);
    }
out:
    if (m.loop)
        iovm_loop_free(m.loop);
    if (bb->main_efd > 0)
        close(bb->main_efd);
    for (k = 0; k < BLK_MAX_QUEUES; k++) {
        if (bb->pool_gnt[k])
            xengnttab_close(bb->pool_gnt[k]);
        if (bb->pool_evt[k])
            xenevtchn_close(bb->pool_evt[k]);
    }
    xs_close(bb->xs);
    return rc;
}
