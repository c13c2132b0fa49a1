/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovmd: the driver domain's supervisor, what xl devd is for kernel
 * backends.  It watches this domain's backend/ in xenstore and serves
 * every device of a kind it has a backend for (vbd, qdisk: iovm-blkback;
 * vif: iovm-netback)
 * with one backend process per device, runs the devices' hotplug
 * scripts, restarts backends that die and tidies up after removed
 * devices (dev.c).  `iovmd status` and `iovmd upgrade` talk to it over a
 * unix socket only root can open.
 *
 * The main loop: xenstore watch events, SIGCHLD, SIGTERM/SIGINT (stop:
 * backends stop with their devices left connected, for the next iovmd),
 * the control socket, and one timer for the earliest deadline (restart
 * backoff, hotplug timeouts, directory removal) plus a periodic
 * reconcile (watch events can be lost).
 *
 * Trusts its command line and root's control socket; see dev.c for
 * xenstore.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iovmd.h"
#include "log.h"
#include "util.h"

#define RECONCILE_MS 5000
#define REMOVE_DELAY_MS 1000
#define DEFAULT_CONTROL "/run/iovmd.sock"
#define READY_KEY "data/iovmd"

static struct iovmd D;
static int64_t tick_timer = -1, stop_timer = -1;
static const char *control_path = DEFAULT_CONTROL;
static int control_fd = -1;

static void rearm(void);

/* ---------------------------------------------------------------- */
/* systemd readiness (sd_notify(3)'s protocol, without libsystemd) */

static void sd_notify_msg(const char *msg)
{
    const char *e = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len;
    int fd;

    if (!e || (e[0] != '/' && e[0] != '@') || strlen(e) >= sizeof(sa.sun_path))
        return;
    len = strlen(e);
    memcpy(sa.sun_path, e, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        LOG_WARN("sd_notify: %s", strerror(errno));
    close(fd);
}

/* ---------------------------------------------------------------- */
/* the loop */

static void reconcile(void)
{
    iovmd_deadlines(&D);
    iovmd_reconcile_all(&D);
    if (D.stopping && !iovmd_children_left(&D))
        iovm_loop_stop(D.loop);
    rearm();
}

static void deadline_cb(struct iovm_loop *loop, void *arg)
{
    D.timer = -1;
    reconcile();
}

/* One timer, for the earliest deadline of any device. */
static void rearm(void)
{
    uint64_t at = iovmd_next_deadline(&D), now = iovm_now_ns();

    if (D.timer >= 0)
        iovm_loop_timer_cancel(D.loop, D.timer);
    D.timer = -1;
    if (at)
        D.timer = iovm_loop_timer_add(
            D.loop, at > now ? (at - now) / 1000000u + 1 : 0, deadline_cb,
            NULL);
}

static void tick_cb(struct iovm_loop *loop, void *arg)
{
    iovmd_scan(&D);
    reconcile();
    tick_timer = iovm_loop_timer_add(loop, RECONCILE_MS, tick_cb, NULL);
}

static void xs_cb(struct iovm_loop *loop, int fd, uint32_t events, void *arg)
{
    char **ev;
    unsigned int n = 0;
    bool any = false;

    /* Coalesce: poke the backends concerned, then one reconcile. */
    while (n++ < 10000 && (ev = xs_check_watch(D.xs))) {
        iovmd_watch_event(&D, ev[XS_WATCH_PATH]);
        any = true;
        free(ev);
    }
    if (!any)
        return;
    if (!D.stopping)
        iovmd_scan(&D);
    reconcile();
}

static void stop_kill_cb(struct iovm_loop *loop, void *arg)
{
    stop_timer = -1;
    LOG_WARN("backends did not stop in %u s; killing them",
             IOVMD_STOP_TIMEOUT_MS / 1000);
    iovmd_kill_all(&D);
}

static void signal_cb(struct iovm_loop *loop, int fd, uint32_t events,
                      void *arg)
{
    struct signalfd_siginfo si;
    int status;
    pid_t pid;

    if (read(fd, &si, sizeof(si)) != sizeof(si))
        return;
    switch (si.ssi_signo) {
    case SIGCHLD:
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            iovmd_child_exited(&D, pid, status);
        reconcile();
        break;
    case SIGHUP:
        LOG_INFO("SIGHUP: rescanning");
        iovmd_scan(&D);
        reconcile();
        break;
    default:
        if (D.stopping)
            break;
        LOG_INFO("signal %u: stopping; devices stay connected for the next "
                 "iovmd",
                 si.ssi_signo);
        sd_notify_msg("STOPPING=1");
        D.stopping = true;
        iovmd_stop_all(&D);
        stop_timer = iovm_loop_timer_add(loop, IOVMD_STOP_TIMEOUT_MS,
                                         stop_kill_cb, NULL);
        reconcile();
        break;
    }
}

/* ---------------------------------------------------------------- */
/* the control socket: one request line, one answer, then close */

static void control_cb(struct iovm_loop *loop, int lfd, uint32_t events,
                       void *arg)
{
    struct pollfd p;
    char req[256];
    size_t n = 0;
    FILE *out;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return;
    /* A client gets a second to say what it wants. */
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    while (n < sizeof(req) - 1 && poll(&p, 1, 1000) == 1) {
        ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);

        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(req, '\n', n))
            break;
    }
    req[n] = '\0';
    req[strcspn(req, "\n")] = '\0';
    out = fdopen(fd, "w");
    if (!out) {
        close(fd);
        return;
    }
    if (!strcmp(req, "status")) {
        iovmd_status(&D, out, false);
    } else if (!strcmp(req, "status json")) {
        iovmd_status(&D, out, true);
    } else if (!strncmp(req, "upgrade ", 8)) {
        const char *what = req + 8;

        if (iovmd_upgrade(&D, strcmp(what, "--all") ? what : NULL))
            fprintf(out, "error: no running backend for %s\n", what);
        else
            fprintf(out, "ok\n");
        reconcile();
    } else {
        fprintf(out, "error: unknown request\n");
    }
    fclose(out);
}

static int control_listen(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    mode_t old;
    int fd;

    if (strlen(control_path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, control_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    unlink(control_path);
    old = umask(077);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
        int rc = -errno;

        umask(old);
        close(fd);
        return rc;
    }
    umask(old);
    control_fd = fd;
    return 0;
}

/* The client side: iovmd status / iovmd upgrade. */
static int control_request(const char *req)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char buf[4096];
    bool err = false, first = true;
    ssize_t r;
    int fd;

    if (strlen(control_path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "iovmd: control socket path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, control_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        fprintf(stderr, "iovmd: cannot reach iovmd at %s: %s\n",
                control_path, strerror(errno));
        return 1;
    }
    if (iovm_write_all(fd, req, strlen(req)) ||
        iovm_write_all(fd, "\n", 1)) {
        fprintf(stderr, "iovmd: cannot send the request: %s\n",
                strerror(errno));
        close(fd);
        return 1;
    }
    while ((r = read(fd, buf, sizeof(buf))) > 0) {
        if (first && r >= 6 && !strncmp(buf, "error:", 6))
            err = true;
        first = false;
        fwrite(buf, 1, (size_t)r, err ? stderr : stdout);
    }
    close(fd);
    return err ? 1 : 0;
}

/* ---------------------------------------------------------------- */

/* A backend program beside our own binary (an install, or the build
 * tree's layout: ../backend/<dir>/), else from PATH. */
static const char *default_backend(const char *name, const char *dir)
{
    static char paths[2][4200];
    static unsigned int used;
    char rel[2][64];
    char *path = paths[used++ % 2];
    char self[4000];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    unsigned int i;
    char *slash;

    if (n > 0) {
        self[n] = '\0';
        slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(rel[0], sizeof(rel[0]), "%s", name);
            snprintf(rel[1], sizeof(rel[1]), "../backend/%s/%s", dir, name);
            for (i = 0; i < IOVM_ARRAY_SIZE(rel); i++) {
                snprintf(path, sizeof(paths[0]), "%s/%s", self, rel[i]);
                if (!access(path, X_OK))
                    return path;
            }
        }
    }
    return name;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: iovmd [OPTIONS]                  run the supervisor\n"
            "       iovmd status [--json]            what every device is "
            "doing\n"
            "       iovmd upgrade DEVICE|--all       replace backend "
            "processes (new binary)\n"
            "The driver domain's supervisor: serves every device under this "
            "domain's\nbackend/ in xenstore that it has a backend for (vbd, "
            "qdisk: iovm-blkback;\nvif: iovm-netback), one process per device; runs hotplug "
            "scripts as xl devd does.\n\n"
            "  -c, --control PATH     control socket (default %s)\n"
            "      --blkback PATH     the block backend program\n"
            "      --netback PATH     the network backend program\n"
            "      --backend-arg ARG  pass ARG to every block backend "
            "(repeatable)\n"
            "      --netback-arg ARG  pass ARG to every network backend "
            "(repeatable)\n"
            "      --no-hotplug-scripts  run no scripts; backends open "
            "params themselves\n"
            "      --backend-user U   backends run as U once set up "
            "(default nobody)\n"
            "      --no-sandbox       backends keep root and make any "
            "system call\n"
            "      --hotplug-timeout S  kill a hotplug script after S "
            "seconds (default 40,\n"
            "                         as libxl) and fail its device\n"
            "      --remove-delay-ms N  closed and offline -> directory "
            "removed N ms\n"
            "                         later (default %u; libxl reads "
            "Closed first)\n"
            "      --json             (status) JSON output\n"
            "  -l, --log-level L      error, warn, info or debug (info); "
            "backends too\n"
            "  -h, --help             this text\n",
            DEFAULT_CONTROL, REMOVE_DELAY_MS);
}

static int bad_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "iovmd: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "control", required_argument, NULL, 'c' },
        { "blkback", required_argument, NULL, 'B' },
        { "netback", required_argument, NULL, 'n' + 256 },
        { "netback-arg", required_argument, NULL, 'a' + 256 },
        { "backend-arg", required_argument, NULL, 'A' },
        { "no-hotplug-scripts", no_argument, NULL, 'N' },
        { "no-sandbox", no_argument, NULL, 'O' },
        { "backend-user", required_argument, NULL, 'u' },
        { "remove-delay-ms", required_argument, NULL, 'R' },
        { "hotplug-timeout", required_argument, NULL, 'H' },
        { "json", no_argument, NULL, 'j' },
        { "all", no_argument, NULL, 'a' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum iovm_log_level level = IOVM_LOG_INFO;
    const char *blkback = NULL, *netback = NULL, *cmd = NULL;
    bool json = false, all = false;
    unsigned int v;
    sigset_t mask;
    int c, sfd, rc = 1;

    D.run_scripts = true;
    D.sandbox = true;
    D.remove_delay_ms = REMOVE_DELAY_MS;
    D.script_timeout_s = IOVMD_SCRIPT_TIMEOUT_MS / 1000;
    D.timer = -1;
    if (getenv("IOVMD_CONTROL") && *getenv("IOVMD_CONTROL"))
        control_path = getenv("IOVMD_CONTROL");
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': control_path = optarg; break;
        case 'B': blkback = optarg; break;
        case 'A':
        case 'a' + 256: {
            unsigned int w = c != 'A';

            if (D.nbackend_args[w] >= IOVMD_MAX_BACKEND_ARGS)
                return bad_usage("at most %u --%s", IOVMD_MAX_BACKEND_ARGS,
                                 w ? "netback-arg" : "backend-arg");
            D.backend_args[w][D.nbackend_args[w]++] = optarg;
            break;
        }
        case 'n' + 256: netback = optarg; break;
        case 'N': D.run_scripts = false; break;
        case 'O': D.sandbox = false; break;
        case 'u': D.backend_user = optarg; break;
        case 'R':
            if (iovm_parse_uint(optarg, 9000, &v))
                return bad_usage("--remove-delay-ms must be 0..9000, not "
                                 "'%s'",
                                 optarg);
            D.remove_delay_ms = v;
            break;
        case 'H':
            if (iovm_parse_uint(optarg, 3600, &v) || !v)
                return bad_usage("--hotplug-timeout must be 1..3600 s, not "
                                 "'%s'",
                                 optarg);
            D.script_timeout_s = v;
            break;
        case 'j': json = true; break;
        case 'a': all = true; break;
        case 'l':
            if (iovm_log_level_parse(optarg, &level))
                return bad_usage("bad log level '%s'", optarg);
            D.log_level = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default:
            return bad_usage("unknown option or missing value: %s",
                             argv[optind - 1]);
        }
    }
    if (optind < argc)
        cmd = argv[optind++];
    if (cmd && !strcmp(cmd, "status")) {
        if (optind != argc)
            return bad_usage("status takes no argument '%s'", argv[optind]);
        return control_request(json ? "status json" : "status");
    }
    if (cmd && !strcmp(cmd, "upgrade")) {
        char req[300];

        if (all ? optind != argc : optind != argc - 1)
            return bad_usage("%s", "upgrade takes one DEVICE or --all");
        snprintf(req, sizeof(req), "upgrade %s", all ? "--all" : argv[optind]);
        return control_request(req);
    }
    if (cmd)
        return bad_usage("unknown command '%s'", cmd);
    if (json || all)
        return bad_usage("%s", "--json and --all go with status and upgrade");

    iovm_log_init("iovmd", level);
    signal(SIGPIPE, SIG_IGN);
    D.classes[0] = (struct iovmd_class){ "vbd", NULL, 0, "add", "remove" };
    D.classes[1] = (struct iovmd_class){ "qdisk", NULL, 0, "add", "remove" };
    D.classes[2] = (struct iovmd_class){ "vif", NULL, 1, "online",
                                         "offline" };
    /* Seen, but not ours yet: left to whatever else serves them. */
    D.classes[3] = (struct iovmd_class){ "console", NULL, 0, "add",
                                         "remove" };
    D.classes[0].backend = D.classes[1].backend =
        blkback ? blkback : default_backend("iovm-blkback", "blk");
    D.classes[2].backend =
        netback ? netback : default_backend("iovm-netback", "net");

    D.xs = xs_open(0);
    if (!D.xs) {
        LOG_ERR("cannot open xenstore: %s", strerror(errno));
        return 1;
    }
    if (xb_read_uint(D.xs, XBT_NULL, "domid", NULL, 0x7fef, &v)) {
        LOG_ERR("cannot read our domid from xenstore");
        goto out;
    }
    D.domid = v;
    snprintf(D.home, sizeof(D.home), "/local/domain/%u", D.domid);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    rc = control_listen();
    if (rc) {
        LOG_ERR("cannot listen on %s: %s", control_path, strerror(-rc));
        rc = 1;
        goto out;
    }
    rc = 1;
    if (sfd < 0 || iovm_loop_new(&D.loop) ||
        iovm_loop_fd_add(D.loop, sfd, EPOLLIN, signal_cb, NULL) ||
        iovm_loop_fd_add(D.loop, xs_fileno(D.xs), EPOLLIN, xs_cb, NULL) ||
        iovm_loop_fd_add(D.loop, control_fd, EPOLLIN, control_cb, NULL) ||
        (tick_timer = iovm_loop_timer_add(D.loop, RECONCILE_MS, tick_cb,
                                          NULL)) < 0) {
        LOG_ERR("cannot set up the event loop");
        goto out;
    }
    /* One watch for every device of the domain (R-XS-1). */
    {
        char path[96];

        snprintf(path, sizeof(path), "%s/backend", D.home);
        if (!xs_watch(D.xs, path, "be")) {
            LOG_ERR("cannot watch %s: %s", path, strerror(errno));
            goto out;
        }
    }
    LOG_INFO("serving %s/backend/{vbd,qdisk} with %s, one process per "
             "device; hotplug scripts %s; sandbox %s; control socket %s",
             D.home, D.classes[0].backend, D.run_scripts ? "on" : "off",
             D.sandbox ? "on" : "off", control_path);
    iovmd_scan(&D);
    reconcile();
    /* Serving: every device there is has its backend on the way. */
    if (xb_printf(D.xs, XBT_NULL, D.home, READY_KEY, "ready"))
        LOG_WARN("cannot write %s/%s", D.home, READY_KEY);
    D.ready = true;
    {
        char msg[96];

        snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving %u device(s)",
                 D.ndevs);
        sd_notify_msg(msg);
    }
    rc = iovm_loop_run(D.loop) ? 1 : 0;
    LOG_INFO("stopped");
out:
    if (D.ready)
        xb_rm_key(D.xs, D.home, READY_KEY);
    if (control_fd >= 0) {
        close(control_fd);
        unlink(control_path);
    }
    while (D.devs) {
        struct iovmd_dev *d = D.devs;

        D.devs = d->next;
        iovmd_dev_free(&D, d);
    }
    if (D.loop)
        iovm_loop_free(D.loop);
    xs_close(D.xs);
    return rc;
}
