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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "blk-dev.h"
#include "log.h"
#include "util.h"

/* Closed -> directory removed; libxl waits up to 10 s for it. */
#define REMOVE_DELAY_MS 1000

static const char *const kinds[] = { "vbd", "qdisk" };

/* A device directory we have not seen: start tracking it. */
static void dev_add(struct iovm_bed *bed, const char *kind, uint32_t fe,
                    uint32_t devid)
{
    struct blkback *bb = bed->arg;
    struct blk_dev *d = calloc(1, sizeof(*d));

    if (!d)
        return;
    /* A qdisk's frontend is a vbd too. */
    if (iovm_bed_paths(bed, &d->xb, kind, "vbd", fe, devid)) {
        free(d);
        return;
    }
    d->bb = bb;
    d->kind = strcmp(kind, "vbd") ? BLK_KIND_QDISK : BLK_KIND_VBD;
    d->xb.ops = &blk_xbdev_ops;
    d->xb.remove_delay_ms = bb->remove_delay_ms;
    d->xb.clean_stop_key = BLK_CLEAN_STOP_KEY;
    d->xb.next = bed->devs;
    bed->devs = &d->xb;
    LOG_INFO("%s: new device for domain %u", d->xb.be, fe);
}

static void dev_free(struct iovm_bed *bed, struct xbdev *xd)
{
    (void)bed;
    blk_dev_free(BLK_DEV(xd));
}

/* --test-hooks: SIGUSR1 is what a compromised backend might try first. */
static void test_signal(struct iovm_bed *bed, int signo)
{
    (void)bed;
    if (signo != SIGUSR1)
        return;
    LOG_WARN("SIGUSR1 (--test-hooks): opening a network socket");
    close(socket(AF_INET, SOCK_STREAM, 0));
}

static const struct iovm_bed_class blk_class = {
    "iovm-blkback", kinds, IOVM_ARRAY_SIZE(kinds), dev_add, dev_free,
    test_signal,
};

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
    static struct blkback bbs;
    struct blkback *bb = &bbs;
    struct iovm_bed *bed = &bb->bed;
    enum iovm_log_level level = IOVM_LOG_INFO;
    unsigned int v;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int c, rc = 1, stats_fd = -1, journal_fd = -1;

    bed->cls = &blk_class;
    bed->arg = bb;
    bed->poke_fd = -1;
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
    opterr = 0; /* our own one-line message */
    while ((c = getopt_long(argc, argv, "d:q:r:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': bed->only = optarg; break;
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
        case 'S': bed->supervised = true; break;
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
            if (iovm_bed_fd_arg("iovm-blkback", "poke-fd", optarg,
                                &bed->poke_fd))
                return 2;
            break;
        case 'T':
            if (iovm_bed_fd_arg("iovm-blkback", "stats-fd", optarg,
                                &stats_fd))
                return 2;
            break;
        case 'J':
            if (iovm_bed_fd_arg("iovm-blkback", "journal-fd", optarg,
                                &journal_fd))
                return 2;
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
    if (bed->supervised && !bed->only) {
        fprintf(stderr, "iovm-blkback: --supervised needs --device\n");
        return 2;
    }
    if (bb->sandbox && !bed->supervised) {
        fprintf(stderr, "iovm-blkback: --sandbox needs --supervised\n");
        return 2;
    }
    if (journal_fd >= 0 && !bed->supervised) {
        fprintf(stderr, "iovm-blkback: --journal-fd needs --supervised\n");
        return 2;
    }
    if (bed->poke_fd >= 0 && !bed->supervised) {
        fprintf(stderr, "iovm-blkback: --poke-fd needs --supervised\n");
        return 2;
    }
    iovm_log_init("iovm-blkback", level);
    signal(SIGPIPE, SIG_IGN);
    if (stats_fd >= 0 && iovm_bed_map_stats(bed, stats_fd)) {
        fprintf(stderr, "iovm-blkback: --stats-fd: cannot map it: %s\n",
                strerror(errno));
        return 2;
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

    /* The sandbox opens nothing: a handle pair per queue, now. */
    if (bb->sandbox && iovm_bed_pool_open(bed, bb->max_queues))
        goto out;
    if (iovm_bed_open(bed, bb->test_hooks ? SIGUSR1 : 0))
        goto out;
    LOG_INFO("serving %s/backend/{vbd,qdisk}%s%s: %u queue(s), ring order "
             "%u, %spersistent grants, %sindirect",
             bed->home, bed->only ? " only " : "", bed->only ? bed->only : "",
             bb->max_queues, bb->max_ring_order,
             bb->persistent ? "" : "no ", bb->indirect ? "" : "no ");
    rc = iovm_bed_run(bed);

    /*
     * Told to stop.  Standalone: close every device so frontends see it
     * go.  Under iovmd: a stop is maintenance or an upgrade; drain, and
     * leave the device Connected for the next process.
     */
    while (bed->devs) {
        struct blk_dev *d = BLK_DEV(bed->devs);

        bed->devs = d->xb.next;
        if (bed->supervised)
            blk_dev_suspend(d);
        else
            blk_dev_shutdown(d, true);
        blk_dev_free(d);
    }
out:
    iovm_bed_close(bed);
    return rc;
}
