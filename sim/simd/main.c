/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-simd: a userspace Xen for development and tests — xenstored,
 * grant tables, event channels and domains behind the real Xen client
 * ABI.  See sim/sim-proto.h for the hypervisor side and xs-server.c for
 * xenstore.  Trusts its command line and the control socket; everything
 * arriving on a domain's sockets is untrusted.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "simd.h"

static int sim_introduce(void *arg, uint32_t domid)
{
    struct simd *sd = arg;
    struct sim_dom *d = dom_by_id(sd, domid);

    if (!d)
        return EINVAL;
    if (!d->introduced) {
        d->introduced = true;
        xs_server_domain_introduced(sd->xs, domid);
    }
    return 0;
}

static int sim_release(void *arg, uint32_t domid)
{
    struct simd *sd = arg;
    struct sim_dom *d = dom_by_id(sd, domid);

    /* As xenstored: ENOENT for a domain that does not run, EINVAL for
     * one never introduced. */
    if (!d)
        return ENOENT;
    if (!d->introduced)
        return EINVAL;
    d->introduced = false;
    xs_server_domain_released(sd->xs, domid);
    return 0;
}

static bool sim_is_introduced(void *arg, uint32_t domid)
{
    struct sim_dom *d = dom_by_id(arg, domid);

    return d && d->introduced;
}

static bool sim_exists(void *arg, uint32_t domid)
{
    return dom_by_id(arg, domid) != NULL;
}

static const struct xs_server_ops sim_xs_ops = {
    .introduce = sim_introduce,
    .release = sim_release,
    .is_introduced = sim_is_introduced,
    .exists = sim_exists,
    .output = xs_sock_output,
};

static void signal_cb(struct iovm_loop *loop, int fd, uint32_t events,
                      void *arg)
{
    struct signalfd_siginfo si;

    if (read(fd, &si, sizeof(si)) == sizeof(si)) {
        LOG_INFO("signal %u: stopping", si.ssi_signo);
        iovm_loop_stop(loop);
    }
}

/* What xen-init-dom0 writes for dom0. */
static int dom0_nodes(struct simd *sd)
{
    static const struct xs_caller tool = { 0, true };
    struct xs_store *st = xs_server_store(sd->xs);
    int rc;

    rc = xs_store_write(st, &tool, NULL, "/local/domain/0/domid", "0", 1);
    if (!rc)
        rc = xs_store_write(st, &tool, NULL, "/local/domain/0/name",
                            "Domain-0", 8);
    return rc ? -rc : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: iovm-simd --dir DIR [--daemon] [--log-level LEVEL]\n"
            "Simulated Xen hypervisor and xenstored for iovm.\n\n"
            "  -d, --dir DIR        state directory (sockets, logs)\n"
            "  -D, --daemon         detach once ready (log to DIR/simd.log)\n"
            "  -l, --log-level L    error, warn, info or debug (info)\n"
            "  -h, --help           this text\n\n"
            "Use iovm-sim to drive it.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "daemon", no_argument, NULL, 'D' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum iovm_log_level level = IOVM_LOG_INFO;
    struct simd sd = { .control_fd = -1, .next_domid = 1,
                       .host_iommu = true, .host_intremap = true,
                       .host_cmdline = "dom0_mem=1024M iommu=required" };
    struct sim_dom *dom0, *d;
    int ready[2] = { -1, -1 }, c, rc, sfd;
    bool daemonize = false;
    const char *dir = NULL;
    sigset_t mask;
    char path[PATH_MAX];

    while ((c = getopt_long(argc, argv, "d:Dl:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'D': daemonize = true; break;
        case 'l':
            if (iovm_log_level_parse(optarg, &level)) {
                fprintf(stderr, "iovm-simd: bad log level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!dir || optind != argc) {
        fprintf(stderr, "iovm-simd: %s\n",
                dir ? "unexpected argument" : "--dir is required");
        return 2;
    }
    iovm_log_init("iovm-simd", level);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "iovm-simd: cannot create %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    sd.dir = realpath(dir, NULL);
    if (!sd.dir) {
        fprintf(stderr, "iovm-simd: %s: %s\n", dir, strerror(errno));
        return 1;
    }

    if (daemonize) {
        pid_t pid;
        char byte;
        int fd;

        if (pipe2(ready, O_CLOEXEC) < 0) {
            perror("iovm-simd: pipe");
            return 1;
        }
        pid = fork();
        if (pid < 0) {
            perror("iovm-simd: fork");
            return 1;
        }
        if (pid > 0) {
            /* Parent: succeed only once the child says it is ready. */
            close(ready[1]);
            rc = read(ready[0], &byte, 1) == 1 ? 0 : 1;
            if (rc)
                fprintf(stderr, "iovm-simd: failed to start, see %s/simd.log\n",
                        sd.dir);
            free(sd.dir);
            return rc;
        }
        close(ready[0]);
        setsid();
        snprintf(path, sizeof(path), "%s/simd.log", sd.dir);
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
    }

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    rc = iovm_loop_new(&sd.loop);
    if (rc)
        goto fail;
    rc = -xs_server_new(&sd.xs, &sim_xs_ops, &sd);
    if (rc)
        goto fail;
    if (sfd >= 0)
        iovm_loop_fd_add(sd.loop, sfd, EPOLLIN, signal_cb, NULL);
    rc = dom_create(&sd, "Domain-0", 0, true, &dom0);
    if (rc)
        goto fail;
    dom0->introduced = true;
    rc = dom0_nodes(&sd);
    if (rc)
        goto fail;
    rc = control_start(&sd);
    if (rc)
        goto fail;
    snprintf(path, sizeof(path), "%s/simd.pid", sd.dir);
    {
        FILE *f = fopen(path, "w");

        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    LOG_INFO("ready in %s", sd.dir);
    if (ready[1] >= 0) {
        if (write(ready[1], "R", 1) != 1)
            LOG_WARN("cannot report readiness");
        close(ready[1]);
    }

    rc = iovm_loop_run(sd.loop);

    /* Tear down every domain (their processes die with them). */
    while ((d = sd.doms)) {
        if (d == dom0 && d->next) {
            /* dom0 last */
            struct sim_dom *n = d->next;

            dom_destroy(&sd, n);
            continue;
        }
        dom_destroy(&sd, d);
    }
    while (sd.pci_owners) {
        struct sim_pci_owner *o = sd.pci_owners;

        sd.pci_owners = o->next;
        free(o);
    }
    control_stop(&sd);
    snprintf(path, sizeof(path), "%s/control.sock", sd.dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/simd.pid", sd.dir);
    unlink(path);
    xs_server_free(sd.xs);
    iovm_loop_free(sd.loop);
    LOG_INFO("stopped");
    free(sd.dir);
    return rc ? 1 : 0;
fail:
    LOG_ERR("startup failed: %s", strerror(-rc));
    return 1;
}
