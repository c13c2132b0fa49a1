/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-sim: the simulator's toolstack command line.  Its interface is
 * relied on by scripts and tests; keep it stable.  Trusts its user.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "sim-proto.h"
#include "tool.h"
#include "util.h"

#ifndef SHIMDIR
#define SHIMDIR "/usr/local/lib/iovm/sim"
#endif
#ifndef SBINDIR
#define SBINDIR "/usr/local/sbin"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: iovm-sim [--dir DIR] COMMAND [ARGS]\n"
            "The toolstack of iovm's Xen simulator.\n\n"
            "Commands:\n"
            "  start [--log-level L]        start iovm-simd; returns once "
            "ready\n"
            "  stop                         stop it (every domain dies)\n"
            "  domain create NAME [--domid N] [--driver-domain]\n"
            "                               create a domain, print its id\n"
            "  domain destroy NAME|DOMID    tear a domain down as libxl does\n"
            "  xl create FILE               create a domain from an xl config\n"
            "                               (name, driver_domain, disk, vif),"
            " print its id\n"
            "  xl destroy NAME|DOMID        as domain destroy\n"
            "  xl block-attach DOM DISKSPEC...\n"
            "                               add a disk (xl disk syntax)\n"
            "  xl block-detach DOM VDEV [-f]\n"
            "                               remove a disk (-f: forced)\n"
            "  xl network-attach DOM [ITEM...]\n"
            "                               add a vif (xl vif items: mac=, "
            "bridge=,\n"
            "                               backend=, rate=, mtu=, ...)\n"
            "  xl network-detach DOM DEVID|MAC [-f]\n"
            "                               remove a vif (-f: forced at "
            "once)\n"
            "  list                         list domains\n"
            "  exec NAME|DOMID -- CMD [ARG...]\n"
            "                               run CMD inside a domain (and its"
            "\n"
            "                               network namespace)\n"
            "  netns NAME|DOMID             print the path of a domain's "
            "network\n"
            "                               namespace (nsenter --net=PATH)\n"
            "  wait [--timeout S] PATH VALUE|--gone PATH|--exists PATH\n"
            "                               wait for a xenstore node\n"
            "  ctl WORD...                  send a raw control command "
            "(fault,\n"
            "                               stats, grant-status, xs-quota, "
            "...)\n\n"
            "--dir DIR (or $IOVM_SIM_DIR) names the simulator's state "
            "directory;\n"
            "it may appear anywhere before \"--\".  "
            "$IOVM_SIM_XL_TIMEOUT_MS shortens xl's\n"
            "10 s waits for backends (for tests).\n\n"
            "Every domain but dom0 gets a network namespace of its own "
            "(only lo, up)\n"
            "when it is created, bind-mounted on DIR/dom<N>/netns and "
            "removed with the\n"
            "domain; dom0 shares the caller's.  Needs root.  A backend in "
            "a driver\n"
            "domain is the caller's to run (exec); xl waits for it as "
            "libxl does.  A\n"
            "disk or vif served by dom0 is waited for too, and its hotplug "
            "script run\n"
            "in dom0 (block add/remove, vif-bridge online/offline) as "
            "libxl does.\n");
}

int tool_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("iovm-sim: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* Directory of our own executable, for finding iovm-simd and the shims. */
static const char *self_dir(void)
{
    static char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return dirname(buf);
}

static const char *shim_dir(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("IOVM_SIM_SHIMDIR"), *self;

    if (env && *env)
        return env;
    /* A build tree keeps the shims beside iovm-sim. */
    self = self_dir();
    if (self) {
        snprintf(buf, sizeof(buf), "%s/shim/libxengnttab.so.1", self);
        if (!access(buf, R_OK)) {
            snprintf(buf, sizeof(buf), "%s/shim", self);
            return buf;
        }
    }
    return SHIMDIR;
}

static int cmd_start(const char *dir, int argc, char **argv)
{
    const char *level = "info", *self, *simd = getenv("IOVM_SIMD");
    char path[PATH_MAX], reply[64];
    int status;
    pid_t pid;

    if (argc == 3 && !strcmp(argv[1], "--log-level"))
        level = argv[2];
    else if (argc != 1)
        return tool_fail("usage: start [--log-level LEVEL]");
    if (!ctl_cmd(dir, reply, sizeof(reply), "xs-stats"))
        return tool_fail("a simulator is already running in %s", dir);
    if (!simd || !*simd) {
        self = self_dir();
        snprintf(path, sizeof(path), "%s/iovm-simd", self ? self : ".");
        if (access(path, X_OK))
            snprintf(path, sizeof(path), "%s/iovm-simd", SBINDIR);
        if (access(path, X_OK))
            snprintf(path, sizeof(path), "iovm-simd");
        simd = path;
    }
    pid = fork();
    if (pid < 0)
        return tool_fail("fork: %s", strerror(errno));
    if (!pid) {
        execlp(simd, "iovm-simd", "--dir", dir, "--daemon", "--log-level",
               level, (char *)NULL);
        fprintf(stderr, "iovm-sim: cannot run %s: %s\n", simd,
                strerror(errno));
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status))
        return tool_fail("iovm-simd failed to start (see %s/simd.log)", dir);
    return 0;
}

static int cmd_stop(const char *dir)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char buf[256];
    int fd;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", dir) >=
        (int)sizeof(sa.sun_path))
        return tool_fail("directory name too long for a socket: %s", dir);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return tool_fail("no simulator running in %s", dir);
    if (iovm_write_all(fd, "stop\n", 5))
        return tool_fail("cannot talk to iovm-simd");
    /* simd answers OK and keeps the connection until it has exited. */
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
    return 0;
}

static int cmd_list(const char *dir)
{
    return ctl_passthrough(dir, "list") ? 1 : 0;
}

static int cmd_domain(struct sim_tool *t, int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "create")) {
        static const struct option opts[] = {
            { "domid", required_argument, NULL, 'i' },
            { "driver-domain", no_argument, NULL, 'D' },
            { NULL, 0, NULL, 0 },
        };
        bool dd = false;
        int want = -1, c;
        unsigned int v;
        uint32_t domid;

        optind = 2;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
            switch (c) {
            case 'i':
                if (iovm_parse_uint(optarg, 0x7fef, &v))
                    return tool_fail("bad domid '%s'", optarg);
                want = (int)v;
                break;
            case 'D': dd = true; break;
            default: return tool_fail("usage: domain create NAME [--domid N] "
                                 "[--driver-domain]");
            }
        }
        if (optind != argc - 1)
            return tool_fail("usage: domain create NAME [--domid N] "
                        "[--driver-domain]");
        if (tool_domain_create(t, argv[optind], want, dd, NULL, NULL,
                               &domid))
            return 1;
        printf("%u\n", domid);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "destroy"))
        return tool_domain_destroy(t, argv[2]) ? 1 : 0;
    return tool_fail("usage: domain create NAME | domain destroy NAME|DOMID");
}

/* <dir>/dom<N>/netns: the bind mount of domain N's network namespace. */
static int netns_path(const char *dir, const struct sim_domain_info *info,
                      char *path, size_t len)
{
    if (snprintf(path, len, "%s/dom%u/netns", dir, info->domid) >= (int)len)
        return tool_fail("directory name too long");
    return 0;
}

static int cmd_netns(const char *dir, int argc, char **argv)
{
    struct sim_domain_info info;
    char path[PATH_MAX];

    if (argc != 2)
        return tool_fail("usage: netns NAME|DOMID");
    if (ctl_find(dir, argv[1], &info))
        return tool_fail("no domain '%s'", argv[1]);
    if (info.domid == 0)
        return tool_fail("dom0 has no network namespace of its own: it "
                         "runs in the caller's");
    if (netns_path(dir, &info, path, sizeof(path)))
        return 1;
    if (access(path, F_OK))
        return tool_fail("%s: %s", path, strerror(errno));
    printf("%s\n", path);
    return 0;
}

static int cmd_exec(const char *dir, int argc, char **argv)
{
    struct sim_domain_info info;
    char path[PATH_MAX], num[16], *ld;
    const char *old;
    int rc;

    if (argc < 4 || strcmp(argv[2], "--"))
        return tool_fail("usage: exec NAME|DOMID -- CMD [ARG...]");
    rc = ctl_find(dir, argv[1], &info);
    if (rc)
        return tool_fail("no domain '%s'", argv[1]);

    /* Every domain but dom0 has its own network (simd made it). */
    if (info.domid != 0) {
        int fd;

        if (netns_path(dir, &info, path, sizeof(path)))
            return 1;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
            return tool_fail("cannot enter the network namespace of domain "
                             "%u (%s): %s", info.domid, path,
                             strerror(errno));
        close(fd);
    }
    if (snprintf(path, sizeof(path), "%s/dom%u/xenstore.sock", dir,
                 info.domid) >= (int)sizeof(path))
        return tool_fail("directory name too long");
    setenv("XENSTORED_PATH", path, 1);
    if (snprintf(path, sizeof(path), "%s/dom%u/hv.sock", dir, info.domid) >=
        (int)sizeof(path))
        return tool_fail("directory name too long");
    setenv(SIM_ENV_HV, path, 1);
    setenv("IOVM_SIM_DIR", dir, 1);
    snprintf(num, sizeof(num), "%u", info.domid);
    setenv("IOVM_SIM_DOMID", num, 1);
    old = getenv("LD_LIBRARY_PATH");
    if (asprintf(&ld, "%s%s%s", shim_dir(), old && *old ? ":" : "",
                 old && *old ? old : "") < 0)
        return tool_fail("out of memory");
    setenv("LD_LIBRARY_PATH", ld, 1);
    free(ld);

    /*
     * The domain's processes die with it.  An interactive command keeps
     * its terminal's process group; anything else gets a group of its
     * own, so its children die with it too.
     */
    if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp()) {
        rc = ctl_cmd(dir, NULL, 0, "pid %u %d", info.domid, (int)getpid());
    } else if (!setpgid(0, 0) || getpgrp() == getpid()) {
        rc = ctl_cmd(dir, NULL, 0, "pgid %u %d", info.domid, (int)getpid());
    } else {
        rc = ctl_cmd(dir, NULL, 0, "pid %u %d", info.domid, (int)getpid());
    }
    if (rc)
        return tool_fail("cannot register with the simulator: %s", strerror(-rc));
    execvp(argv[3], argv + 3);
    return tool_fail("cannot run %s: %s", argv[3], strerror(errno));
}

static int cmd_wait(struct sim_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "timeout", required_argument, NULL, 't' },
        { "gone", no_argument, NULL, 'g' },
        { "exists", no_argument, NULL, 'e' },
        { NULL, 0, NULL, 0 },
    };
    static const char use[] =
        "usage: wait [--timeout S] PATH VALUE | --gone PATH | --exists PATH";
    unsigned int timeout = 30;
    int mode = 0, c, rc; /* 0: value, 'g': gone, 'e': exists */

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (iovm_parse_uint(optarg, 3600, &timeout))
                return tool_fail("bad timeout '%s'", optarg);
            break;
        case 'g':
        case 'e': mode = c; break;
        default: return tool_fail("%s", use);
        }
    }
    if (argc - optind != (mode ? 1 : 2))
        return tool_fail("%s", use);
    rc = tool_xs_open(t);
    if (rc)
        return tool_fail("cannot open xenstore: %s", strerror(-rc));
    rc = tool_xs_wait(t->xs, argv[optind],
                      mode == 'g' ? NULL
                      : mode == 'e' ? TOOL_WAIT_EXISTS
                                    : argv[optind + 1],
                      timeout * 1000);
    if (rc)
        return tool_fail("timed out after %us waiting for %s%s%s", timeout,
                    argv[optind],
                    mode == 'g' ? " to go" : mode == 'e' ? " to exist" : " = ",
                    mode ? "" : argv[optind + 1]);
    return 0;
}

static int cmd_ctl(const char *dir, int argc, char **argv)
{
    char line[1024] = "";
    size_t used = 0;
    int i;

    if (argc < 2)
        return tool_fail("usage: ctl WORD...");
    for (i = 1; i < argc; i++) {
        int n = snprintf(line + used, sizeof(line) - used, "%s%s",
                         i > 1 ? " " : "", argv[i]);

        if (n < 0 || (size_t)n >= sizeof(line) - used)
            return tool_fail("command too long");
        used += n;
    }
    return ctl_passthrough(dir, line) ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct sim_tool t = { 0 };
    char dirbuf[PATH_MAX];
    const char *dir = getenv("IOVM_SIM_DIR");
    char *args[argc + 1];
    int i, n = 0, rc;
    bool dashdash = false;

    iovm_log_init("iovm-sim", IOVM_LOG_WARN);
    /* Pull --dir out of the arguments, wherever it is before "--". */
    for (i = 1; i < argc; i++) {
        if (!dashdash && !strcmp(argv[i], "--"))
            dashdash = true;
        if (!dashdash && !strcmp(argv[i], "--dir")) {
            if (i + 1 >= argc)
                return tool_fail("--dir needs a directory");
            dir = argv[++i];
        } else if (!dashdash && !strncmp(argv[i], "--dir=", 6)) {
            dir = argv[i] + 6;
        } else if (!dashdash &&
                   (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
            usage(stdout);
            return 0;
        } else {
            args[n++] = argv[i];
        }
    }
    args[n] = NULL; /* exec passes a tail of args to execvp */
    if (!n) {
        usage(stderr);
        return 2;
    }
    if (!dir || !*dir)
        return tool_fail("no simulator directory: use --dir DIR or set "
                    "IOVM_SIM_DIR");
    if (!strcmp(args[0], "start") && mkdir(dir, 0700) < 0 && errno != EEXIST)
        return tool_fail("cannot create %s: %s", dir, strerror(errno));
    if (!realpath(dir, dirbuf))
        return tool_fail("%s: %s", dir, strerror(errno));
    t.dir = dirbuf;

    if (!strcmp(args[0], "start"))
        rc = cmd_start(t.dir, n, args);
    else if (!strcmp(args[0], "stop") && n == 1)
        rc = cmd_stop(t.dir);
    else if (!strcmp(args[0], "domain"))
        rc = cmd_domain(&t, n, args);
    else if (!strcmp(args[0], "list") && n == 1)
        rc = cmd_list(t.dir);
    else if (!strcmp(args[0], "exec"))
        rc = cmd_exec(t.dir, n, args);
    else if (!strcmp(args[0], "netns"))
        rc = cmd_netns(t.dir, n, args);
    else if (!strcmp(args[0], "wait"))
        rc = cmd_wait(&t, n, args);
    else if (!strcmp(args[0], "ctl"))
        rc = cmd_ctl(t.dir, n, args);
    else if (!strcmp(args[0], "xl"))
        rc = xl_main(&t, n, args);
    else {
        fprintf(stderr, "iovm-sim: unknown command '%s'\n", args[0]);
        usage(stderr);
        rc = 2;
    }
    if (t.xs)
        xs_close(t.xs);
    return rc;
}
