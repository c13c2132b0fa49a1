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
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "net-dev.h"
#include "sandbox.h"
#include "util.h"

#define RECONCILE_MS 5000
#define REMOVE_DELAY_MS 1000

static const char *const kinds[] = { "vif" };

struct main_ctx {
    struct netback nb;
    struct iovm_loop *loop;
    int64_t wake_timer;
};

static struct net_dev *dev_find(struct netback *nb, uint32_t fe,
                                uint32_t devid)
{
    struct xbdev *x;

    for (x = nb->devs; x; x = x->next)
        if (x->fe_domid == fe && x->devid == devid)
            return NET_DEV(x);
    return NULL;
}

static void dev_add(struct netback *nb, uint32_t fe, uint32_t devid)
{
    struct net_dev *d;
    struct xbdev *x;
    char fe_path[160], want[80];
    unsigned int fe_id;

    d = calloc(1, sizeof(*d));
    if (!d)
        return;
    x = &d->xb;
    d->nb = nb;
    pthread_mutex_init(&d->hash_lock, NULL);
    x->ops = &net_xbdev_ops;
    x->xs = nb->xs;
    x->fe_domid = fe;
    x->devid = devid;
    x->watch_fe = !nb->supervised;
    x->remove_dir = !nb->supervised;
    x->remove_delay_ms = nb->remove_delay_ms;
    x->clean_stop_key = NET_CLEAN_STOP_KEY;
    snprintf(x->be, sizeof(x->be), "%s/backend/vif/%u/%u", nb->home, fe,
             devid);
    if (nb->only && strcmp(nb->only, x->be))
        goto ignore;
    if (xb_read_str(nb->xs, XBT_NULL, x->be, "frontend", fe_path,
                    sizeof(fe_path)) ||
        xb_read_uint(nb->xs, XBT_NULL, x->be, "frontend-id", 0x7fef,
                     &fe_id) ||
        fe_id != fe)
        goto ignore;
    snprintf(want, sizeof(want), "/local/domain/%u/device/vif/%u", fe, devid);
    if (strcmp(fe_path, want)) {
        LOG_WARN("%s: frontend path %s is not %s; ignoring the device",
                 x->be, fe_path, want);
        goto ignore;
    }
    snprintf(x->fe, sizeof(x->fe), "%s", fe_path);
    x->state = XenbusStateUnknown;
    x->next = nb->devs;
    nb->devs = x;
    LOG_INFO("%s: new vif for domain %u", x->be, fe);
    return;
ignore:
    pthread_mutex_destroy(&d->hash_lock);
    free(d);
}

static void scan_one(void *arg, const char *kind, uint32_t fe, uint32_t devid)
{
    struct netback *nb = arg;

    (void)kind;
    if (!dev_find(nb, fe, devid))
        dev_add(nb, fe, devid);
}

static void scan(struct netback *nb)
{
    xbdev_walk(nb->xs, nb->home, kinds, IOVM_ARRAY_SIZE(kinds), scan_one, nb);
}

static void wake_cb(struct iovm_loop *loop, void *arg);

static void reconcile_all(struct main_ctx *m)
{
    struct xbdev **pp = &m->nb.devs, *x;
    uint64_t now, wake_at = 0;

    while ((x = *pp)) {
        if (xbdev_reconcile(x, &wake_at)) {
            pp = &x->next;
        } else {
            *pp = x->next;
            net_dev_free(NET_DEV(x));
        }
    }
    if (m->nb.supervised && !m->nb.devs) {
        LOG_INFO("%s: nothing more to serve", m->nb.only);
        iovm_loop_stop(m->loop);
        return;
    }
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

    (void)loop;
    m->wake_timer = -1;
    reconcile_all(m);
}

static void xs_cb(struct iovm_loop *loop, int fd, uint32_t events, void *arg)
{
    struct main_ctx *m = arg;
    unsigned int n = 0;
    bool any = false;
    char **ev;

    (void)loop, (void)fd, (void)events;
    while ((ev = xs_check_watch(m->nb.xs)) && n++ < 10000) {
        any = true;
        free(ev);
    }
    free(ev);
    if (!any)
        return;
    scan(&m->nb);
    reconcile_all(m);
}

/* iovmd: something of our device changed; or queue threads. */
static void efd_cb(struct iovm_loop *loop, int fd, uint32_t events, void *arg)
{
    struct main_ctx *m = arg;
    uint64_t v;

    if (events & (EPOLLHUP | EPOLLERR)) {
        iovm_loop_fd_del(loop, fd); /* iovmd is gone: SIGTERM follows */
        return;
    }
    if (read(fd, &v, sizeof(v)) > 0) {
        scan(&m->nb);
        reconcile_all(m);
    }
}

static void tick(struct iovm_loop *loop, void *arg)
{
    struct main_ctx *m = arg;

    scan(&m->nb);
    reconcile_all(m);
    iovm_loop_timer_add(loop, RECONCILE_MS, tick, m);
}

static void signal_cb(struct iovm_loop *loop, int fd, uint32_t events,
                      void *arg)
{
    struct main_ctx *m = arg;
    struct signalfd_siginfo si;

    (void)events;
    if (read(fd, &si, sizeof(si)) != sizeof(si))
        return;
    if (si.ssi_signo == SIGHUP) {
        LOG_INFO("SIGHUP: rescanning");
        scan(&m->nb);
        reconcile_all(m);
        return;
    }
    LOG_INFO("signal %u: stopping", si.ssi_signo);
    iovm_loop_stop(loop);
}

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

static int bad_fd(const char *opt)
{
    fprintf(stderr, "iovm-netback: --%s must be an open file descriptor "
                    "above 2\n",
            opt);
    return 2;
}

static int map_stats(struct netback *nb, int fd)
{
    void *p;

    if (ftruncate(fd, sizeof(*nb->stat)) ||
        (p = mmap(NULL, sizeof(*nb->stat), PROT_READ | PROT_WRITE, MAP_SHARED,
                  fd, 0)) == MAP_FAILED)
        return -errno;
    close(fd);
    nb->stat = p;
    memset(nb->stat, 0, sizeof(*nb->stat));
    nb->stat->magic = IOVM_DEVSTAT_MAGIC;
    nb->stat->pid = (uint32_t)getpid();
    nb->stat->started_ns = iovm_now_ns();
    return 0;
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
    struct main_ctx m = { 0 };
    struct netback *nb = &m.nb;
    enum iovm_log_level level = IOVM_LOG_INFO;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int c, sfd, rc = 1, poke_fd = -1, stats_fd = -1, journal_fd = -1;
    bool sandbox = false;
    const char *user = "nobody";
    unsigned int v;
    sigset_t mask;
    char path[160];

    nb->max_queues = ncpu > 0 ? (unsigned int)ncpu : 1;
    if (nb->max_queues > NET_MAX_QUEUES)
        nb->max_queues = NET_MAX_QUEUES;
    nb->split = nb->ctrl_ring = nb->mcast = true;
    nb->remove_delay_ms = REMOVE_DELAY_MS;
    nb->main_efd = -1;
    m.wake_timer = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "d:q:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': nb->only = optarg; break;
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
        case 'S': nb->supervised = true; break;
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
        case 'T':
        case 'J':
            if (iovm_parse_uint(optarg, 65535, &v) || v < 3 ||
                fcntl((int)v, F_GETFD) < 0)
                return bad_fd(c == 'K'   ? "poke-fd"
                              : c == 'T' ? "stats-fd"
                                         : "journal-fd");
            *(c == 'K'   ? &poke_fd
              : c == 'T' ? &stats_fd
                         : &journal_fd) = (int)v;
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
    if (nb->supervised && !nb->only) {
        fprintf(stderr, "iovm-netback: --supervised needs --device\n");
        return 2;
    }
    if ((sandbox || journal_fd >= 0 || poke_fd >= 0) && !nb->supervised) {
        fprintf(stderr, "iovm-netback: --%s needs --supervised\n",
                sandbox         ? "sandbox"
                : journal_fd >= 0 ? "journal-fd"
                                  : "poke-fd");
        return 2;
    }
    iovm_log_init("iovm-netback", level);
    signal(SIGPIPE, SIG_IGN);
    if (stats_fd >= 0 && map_stats(nb, stats_fd)) {
        fprintf(stderr, "iovm-netback: --stats-fd: cannot map it: %s\n",
                strerror(errno));
        return 2;
    }
    if (journal_fd >= 0 && map_journal(nb, journal_fd)) {
        fprintf(stderr, "iovm-netback: --journal-fd: cannot map it: %s\n",
                strerror(errno));
        return 2;
    }
    nb->xs = xs_open(0);
    if (!nb->xs) {
        LOG_ERR("cannot open xenstore: %s", strerror(errno));
        return 1;
    }
    if (xb_read_uint(nb->xs, XBT_NULL, "domid", NULL, 0x7fef, &v)) {
        LOG_ERR("cannot read our domid from xenstore");
        goto out;
    }
    nb->domid = v;
    snprintf(nb->home, sizeof(nb->home), "/local/domain/%u", nb->domid);
    if (sandbox) {
        unsigned int k;

        /* The sandbox opens nothing: a handle pair per queue, now. */
        nb->sandbox_user = user;
        nb->sandbox = true;
        for (k = 0; k < nb->max_queues; k++) {
            nb->pool_gnt[k] = xengnttab_open(NULL, 0);
            nb->pool_evt[k] = xenevtchn_open(NULL, 0);
            if (!nb->pool_gnt[k] || !nb->pool_evt[k]) {
                LOG_ERR("cannot open the grant and event-channel devices: "
                        "%s",
                        strerror(errno));
                goto out;
            }
        }
    }
    nb->main_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (nb->main_efd < 0 || iovm_loop_new(&m.loop)) {
        LOG_ERR("cannot set up the event loop");
        goto out;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (!nb->supervised) {
        snprintf(path, sizeof(path), "%s/backend/vif", nb->home);
        if (!xs_watch(nb->xs, path, "be")) {
            LOG_ERR("cannot watch %s: %s", path, strerror(errno));
            goto out;
        }
    }
    if (sfd < 0 ||
        iovm_loop_fd_add(m.loop, xs_fileno(nb->xs), EPOLLIN, xs_cb, &m) ||
        iovm_loop_fd_add(m.loop, nb->main_efd, EPOLLIN, efd_cb, &m) ||
        iovm_loop_fd_add(m.loop, sfd, EPOLLIN, signal_cb, &m) ||
        (poke_fd >= 0 &&
         iovm_loop_fd_add(m.loop, poke_fd, EPOLLIN, efd_cb, &m)) ||
        iovm_loop_timer_add(m.loop, RECONCILE_MS, tick, &m) < 0) {
        LOG_ERR("cannot set up the event loop");
        goto out;
    }
    LOG_INFO("serving %s/backend/vif%s%s: %u queue(s)%s%s%s", nb->home,
             nb->only ? " only " : "", nb->only ? nb->only : "",
             nb->max_queues, nb->split ? ", split event channels" : "",
             nb->ctrl_ring ? ", control ring" : "",
             nb->mcast ? ", multicast control" : "");
    scan(nb);
    reconcile_all(&m);
    rc = iovm_loop_run(m.loop) ? 1 : 0;

    /* Standalone: close every vif.  Under iovmd: maintenance. */
    while (nb->devs) {
        struct net_dev *d = NET_DEV(nb->devs);

        nb->devs = d->xb.next;
        if (nb->supervised)
            net_dev_suspend(d);
        else
            net_dev_shutdown(d, true);
        net_dev_free(d);
    }
out:
    if (m.loop)
        iovm_loop_free(m.loop);
    if (nb->main_efd >= 0)
        close(nb->main_efd);
    for (v = 0; v < NET_MAX_QUEUES; v++) {
        if (nb->pool_gnt[v])
            xengnttab_close(nb->pool_gnt[v]);
        if (nb->pool_evt[v])
            xenevtchn_close(nb->pool_evt[v]);
    }
    xs_close(nb->xs);
    return rc;
}
