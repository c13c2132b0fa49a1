/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-netback: userspace netif backend.  Serves every virtual network
 * interface under this domain's backend/vif (or one, with --device), each
 * as a TAP device the distribution's vif scripts attach to a bridge or a
 * route.
 *
 * The main thread owns xenstore (watches when standalone; under iovmd,
 * --supervised, iovmd's pokes) and reconciles devices with what the
 * store says; queue threads (net-queue.c) carry the packets.  Under iovmd
 * a SIGTERM is maintenance: the rings are drained and the vif stays
 * Connected, with its TAP, for the next process; a process that dies is
 * taken over through the journal (--journal-fd).  Trusts its command line
 * and the fds it is given; see net-xs.c for what it trusts in xenstore.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "net-dev.h"
#include "util.h"

#define REMOVE_DELAY_MS 1000

static const char *const kinds[] = { "vif" };

static void dev_add(struct iovm_bed *bed, const char *kind, uint32_t fe,
                    uint32_t devid)
{
    struct netback *nb = bed->arg;
    struct net_dev *d = calloc(1, sizeof(*d));

    if (!d)
        return;
    if (iovm_bed_paths(bed, &d->xb, kind, "vif", fe, devid)) {
        free(d);
        return;
    }
    d->nb = nb;
    pthread_mutex_init(&d->hash_lock, NULL);
    d->xb.ops = &net_xbdev_ops;
    d->xb.remove_delay_ms = nb->remove_delay_ms;
    d->xb.clean_stop_key = NET_CLEAN_STOP_KEY;
    d->xb.next = bed->devs;
    bed->devs = &d->xb;
    LOG_INFO("%s: new vif for domain %u", d->xb.be, fe);
}

static void dev_free(struct iovm_bed *bed, struct xbdev *xd)
{
    (void)bed;
    net_dev_free(NET_DEV(xd));
}

static const struct iovm_bed_class net_class = {
    "iovm-netback", kinds, IOVM_ARRAY_SIZE(kinds), dev_add, dev_free, NULL,
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: iovm-netback [OPTIONS]\n"
            "Userspace Xen network backend (netif).  Serves every vif under "
            "this domain's\nbackend/vif in xenstore as a TAP device named "
            "vif<domid>.<devid>.\n\n"
            "  -d, --device PATH      serve only this backend directory\n"
            "  -q, --max-queues N     queues offered (default: online CPUs, "
            "max %u)\n"
            "      --no-split-event-channels  offer one event channel per "
            "queue\n"
            "      --no-ctrl-ring     do not offer the control ring "
            "(hashing)\n"
            "      --no-multicast-control  do not offer multicast "
            "filtering\n"
            "      --supervised       run under iovmd: serve --device only, "
            "no watches\n"
            "                         (iovmd pokes --poke-fd); SIGTERM "
            "drains and leaves\n"
            "                         the vif and its TAP for the next "
            "process\n"
            "      --hotplug          a hotplug script attaches the TAP: "
            "Connected waits\n"
            "                         for its hotplug-status=connected\n"
            "      --poke-fd N        (with --supervised) an eventfd iovmd "
            "writes to\n"
            "      --stats-fd N       a status page (memfd) iovmd reads\n"
            "      --journal-fd N     (with --supervised) the ring journal "
            "(memfd): a\n"
            "                         process that died is taken over\n"
            "      --sandbox          (with --supervised) once the TAP is "
            "open: become\n"
            "                         --user, no capabilities, system call "
            "allowlist\n"
            "      --user NAME|UID    the sandbox's user (default nobody)\n"
            "      --remove-delay-ms N  after closing a vif the toolstack "
            "took offline,\n"
            "                         remove its directory N ms later "
            "(default %u)\n"
            "  -l, --log-level L      error, warn, info or debug (info)\n"
            "  -h, --help             this text\n",
            NET_MAX_QUEUES, REMOVE_DELAY_MS);
}

static int map_journal(struct netback *nb, int fd)
{
    struct stat sb;
    void *p;

    if (fstat(fd, &sb))
        return -errno;
    /* iovmd sizes it for the block journal; ours may differ. */
    if ((size_t)sb.st_size < sizeof(*nb->journal) &&
        ftruncate(fd, sizeof(*nb->journal)))
        return -errno;
    p = mmap(NULL, sizeof(*nb->journal), PROT_READ | PROT_WRITE, MAP_SHARED,
             fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    close(fd);
    nb->journal = p;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "device", required_argument, NULL, 'd' },
        { "max-queues", required_argument, NULL, 'q' },
        { "no-split-event-channels", no_argument, NULL, 'E' },
        { "no-ctrl-ring", no_argument, NULL, 'C' },
        { "no-multicast-control", no_argument, NULL, 'M' },
        { "supervised", no_argument, NULL, 'S' },
        { "hotplug", no_argument, NULL, 'H' },
        { "poke-fd", required_argument, NULL, 'K' },
        { "stats-fd", required_argument, NULL, 'T' },
        { "journal-fd", required_argument, NULL, 'J' },
        { "sandbox", no_argument, NULL, 'X' },
        { "user", required_argument, NULL, 'U' },
        { "remove-delay-ms", required_argument, NULL, 'R' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static struct netback nbs;
    struct netback *nb = &nbs;
    struct iovm_bed *bed = &nb->bed;
    enum iovm_log_level level = IOVM_LOG_INFO;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int c, rc = 1, stats_fd = -1, journal_fd = -1;
    bool sandbox = false;
    const char *user = "nobody";
    unsigned int v;

    bed->cls = &net_class;
    bed->arg = nb;
    bed->poke_fd = -1;
    nb->max_queues = ncpu > 0 ? (unsigned int)ncpu : 1;
    if (nb->max_queues > NET_MAX_QUEUES)
        nb->max_queues = NET_MAX_QUEUES;
    nb->split = nb->ctrl_ring = nb->mcast = true;
    nb->remove_delay_ms = REMOVE_DELAY_MS;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "d:q:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': bed->only = optarg; break;
        case 'q':
            if (iovm_parse_uint(optarg, NET_MAX_QUEUES, &v) || !v) {
                fprintf(stderr, "iovm-netback: --max-queues must be 1..%u\n",
                        NET_MAX_QUEUES);
                return 2;
            }
            nb->max_queues = v;
            break;
        case 'E': nb->split = false; break;
        case 'C': nb->ctrl_ring = false; break;
        case 'M': nb->mcast = false; break;
        case 'S': bed->supervised = true; break;
        case 'H': nb->hotplug = true; break;
        case 'X': sandbox = true; break;
        case 'U': user = optarg; break;
        case 'R':
            if (iovm_parse_uint(optarg, 9000, &v)) {
                fprintf(stderr,
                        "iovm-netback: --remove-delay-ms must be 0..9000\n");
                return 2;
            }
            nb->remove_delay_ms = v;
            break;
        case 'K':
            if (iovm_bed_fd_arg("iovm-netback", "poke-fd", optarg,
                                &bed->poke_fd))
                return 2;
            break;
        case 'T':
            if (iovm_bed_fd_arg("iovm-netback", "stats-fd", optarg,
                                &stats_fd))
                return 2;
            break;
        case 'J':
            if (iovm_bed_fd_arg("iovm-netback", "journal-fd", optarg,
                                &journal_fd))
                return 2;
            break;
        case 'l':
            if (iovm_log_level_parse(optarg, &level)) {
                fprintf(stderr, "iovm-netback: bad log level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "iovm-netback: unknown option or missing value: "
                            "%s (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "iovm-netback: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    if (bed->supervised && !bed->only) {
        fprintf(stderr, "iovm-netback: --supervised needs --device\n");
        return 2;
    }
    if ((sandbox || journal_fd >= 0 || bed->poke_fd >= 0) &&
        !bed->supervised) {
        fprintf(stderr, "iovm-netback: --%s needs --supervised\n",
                sandbox           ? "sandbox"
                : journal_fd >= 0 ? "journal-fd"
                                  : "poke-fd");
        return 2;
    }
    iovm_log_init("iovm-netback", level);
    signal(SIGPIPE, SIG_IGN);
    if (stats_fd >= 0 && iovm_bed_map_stats(bed, stats_fd)) {
        fprintf(stderr, "iovm-netback: --stats-fd: cannot map it: %s\n",
                strerror(errno));
        return 2;
    }
    if (journal_fd >= 0 && map_journal(nb, journal_fd)) {
        fprintf(stderr, "iovm-netback: --journal-fd: cannot map it: %s\n",
                strerror(errno));
        return 2;
    }
    /* The sandbox opens nothing: a handle pair per queue, now. */
    if (sandbox) {
        nb->sandbox_user = user;
        if (iovm_bed_pool_open(bed, nb->max_queues))
            goto out;
    }
    if (iovm_bed_open(bed, 0))
        goto out;
    LOG_INFO("serving %s/backend/vif%s%s: %u queue(s)%s%s%s", bed->home,
             bed->only ? " only " : "", bed->only ? bed->only : "",
             nb->max_queues, nb->split ? ", split event channels" : "",
             nb->ctrl_ring ? ", control ring" : "",
             nb->mcast ? ", multicast control" : "");
    rc = iovm_bed_run(bed);

    /* Standalone: close every vif.  Under iovmd: maintenance. */
    while (bed->devs) {
        struct net_dev *d = NET_DEV(bed->devs);

        bed->devs = d->xb.next;
        if (bed->supervised)
            net_dev_suspend(d);
        else
            net_dev_shutdown(d, true);
        net_dev_free(d);
    }
out:
    iovm_bed_close(bed);
    return rc;
}
