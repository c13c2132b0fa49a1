/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovmd's devices.  For every directory backend/<kind>/<fe>/<devid> of
 * this domain whose kind has a backend program, iovmd does what xl devd
 * does for kernel backends, with one process per device:
 *
 *   online=1:  start the backend (it advertises its limits and reaches
 *              InitWait); then run the device's hotplug script "add"
 *              (Debian's block script insists on InitWait) and wait for
 *              hotplug-status; restart a backend that dies, with backoff,
 *              and fail the device (error node, Closing) on a crash loop
 *              or a failed script;
 *   online=0:  the backend closes the device and exits; then run the
 *              script's "remove" and, once libxl has had time to read
 *              Closed, remove the backend directory (libxl waits for it).
 *
 * Level-triggered: every event re-reads the store (events are coalesced
 * or lost).  iovmd holds the only watches of the domain (its quota is
 * 128): backend/ and each frontend's state node; it pokes the backend of
 * a device whose nodes changed instead of letting each process watch.
 *
 * Trust: the backend directories are written by the toolstack and by our
 * backends; script paths come from there (the toolstack wrote them) and
 * must be absolute.  The frontend's state is only compared.  A backend
 * process is not trusted: its status page is only printed, and whatever
 * it does to its device, iovmd only counts its exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iovmd.h"
#include "log.h"
#include "rjournal.h"
#include "util.h"
#include "xbdev.h"

#define NS_PER_MS 1000000ull

static struct iovmd_dev *dev_find(struct iovmd *d, const struct iovmd_class *c,
                                  uint32_t fe, uint32_t devid)
{
    struct iovmd_dev *v;

    for (v = d->devs; v; v = v->next)
        if (v->cls == c && v->fe_domid == fe && v->devid == devid)
            return v;
    return NULL;
}

static struct iovmd_dev *dev_by_name(struct iovmd *d, const char *name)
{
    struct iovmd_dev *v;

    for (v = d->devs; v; v = v->next)
        if (!strcmp(v->rel, name) || !strcmp(v->be, name))
            return v;
    return NULL;
}

static void dev_poke(struct iovmd_dev *v)
{
    uint64_t one = 1;

    if (v->pid && v->poke_fd >= 0 && write(v->poke_fd, &one, sizeof(one)) < 0) {
        /* Already due to wake: the counter saturates, never blocks. */
    }
}

static void dev_add(struct iovmd *d, const struct iovmd_class *c, uint32_t fe,
                    uint32_t devid)
{
    struct iovmd_dev *v = calloc(1, sizeof(*v));
    char path[200];
    void *p;

    if (!v)
        return;
    v->cls = c;
    v->fe_domid = fe;
    v->devid = devid;
    v->poke_fd = v->stat_fd = v->journal_fd = -1;
    snprintf(v->rel, sizeof(v->rel), "backend/%s/%u/%u", c->kind, fe, devid);
    snprintf(v->be, sizeof(v->be), "%.31s/%.127s", d->home, v->rel);
    if (xb_read_str(d->xs, XBT_NULL, v->be, "frontend", v->fe,
                    sizeof(v->fe)) ||
        v->fe[0] != '/') {
        /* Not written yet (the toolstack writes it in one transaction
         * with the rest, so: not ours, or being removed). */
        free(v);
        return;
    }
    v->poke_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    v->stat_fd = memfd_create("iovm-devstat", MFD_CLOEXEC);
    v->journal_fd = memfd_create("iovm-journal", MFD_CLOEXEC);
    if (v->poke_fd < 0 || v->stat_fd < 0 || v->journal_fd < 0 ||
        ftruncate(v->journal_fd, (off_t)iovm_rj_size()) ||
        ftruncate(v->stat_fd, sizeof(struct iovm_devstat)) ||
        (p = mmap(NULL, sizeof(struct iovm_devstat), PROT_READ, MAP_SHARED,
                  v->stat_fd, 0)) == MAP_FAILED) {
        LOG_ERR("%s: cannot set up: %s", v->be, strerror(errno));
        if (v->poke_fd >= 0)
            close(v->poke_fd);
        if (v->stat_fd >= 0)
            close(v->stat_fd);
        if (v->journal_fd >= 0)
            close(v->journal_fd);
        free(v);
        return;
    }
    v->stat = p;
    snprintf(path, sizeof(path), "%s/state", v->fe);
    v->fe_watched = xs_watch(d->xs, path, "fe");
    v->next = d->devs;
    d->devs = v;
    d->ndevs++;
    LOG_INFO("%s: new %s device for domain %u", v->rel, c->kind, fe);
}

void iovmd_dev_free(struct iovmd *d, struct iovmd_dev *v)
{
    char path[200];

    if (v->fe_watched) {
        snprintf(path, sizeof(path), "%s/state", v->fe);
        xs_unwatch(d->xs, path, "fe");
    }
    if (v->stat)
        munmap(v->stat, sizeof(*v->stat));
    if (v->poke_fd >= 0)
        close(v->poke_fd);
    if (v->stat_fd >= 0)
        close(v->stat_fd);
    if (v->journal_fd >= 0)
        close(v->journal_fd);
    free(v);
}

static void scan_one(void *arg, const char *kind, uint32_t fe, uint32_t devid)
{
    struct iovmd *d = arg;
    const struct iovmd_class *c = NULL;
    unsigned int k;

    for (k = 0; k < IOVM_ARRAY_SIZE(d->classes); k++)
        if (d->classes[k].kind && !strcmp(d->classes[k].kind, kind))
            c = &d->classes[k];
    if (c && !dev_find(d, c, fe, devid))
        dev_add(d, c, fe, devid);
}

void iovmd_scan(struct iovmd *d)
{
    const char *kinds[IOVM_ARRAY_SIZE(d->classes)];
    unsigned int k, n = 0;

    /* Only the kinds we have a backend for: the others are left to
     * whatever else serves them. */
    for (k = 0; k < IOVM_ARRAY_SIZE(d->classes); k++)
        if (d->classes[k].kind && d->classes[k].backend)
            kinds[n++] = d->classes[k].kind;
    xbdev_walk(d->xs, d->home, kinds, n, scan_one, d);
}

void iovmd_watch_event(struct iovmd *d, const char *path)
{
    struct iovmd_dev *v;
    size_t n;

    for (v = d->devs; v; v = v->next) {
        n = strlen(v->be);
        if ((!strncmp(path, v->be, n) && (!path[n] || path[n] == '/')) ||
            (!strncmp(path, v->fe, strlen(v->fe)) &&
             !strcmp(path + strlen(v->fe), "/state")))
            dev_poke(v);
    }
}

/* ---------------------------------------------------------------- */
/* processes */

/* In the child, before exec: only the fds it is meant to have. */
static void child_setup(const int *keep, unsigned int nkeep)
{
    sigset_t none;
    unsigned int i;
    int fd, null = open("/dev/null", O_RDONLY);

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    /* If iovmd dies, its backends stop as for maintenance. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        if (null > 2)
            close(null);
    }
    for (i = 0; i < nkeep; i++)
        fcntl(keep[i], F_SETFD, 0);
    for (fd = 3; fd < 1024; fd++) {
        bool k = false;

        for (i = 0; i < nkeep; i++)
            k |= fd == keep[i];
        if (!k)
            close(fd);
    }
}

static int dev_start(struct iovmd *d, struct iovmd_dev *v)
{
    const char *argv[IOVMD_MAX_BACKEND_ARGS + 16];
    char poke[16], stat[16], journal[16], path[200];
    unsigned int n = 0, i;
    bool hotplug;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/script", v->be);
    hotplug = d->run_scripts && xb_exists(d->xs, XBT_NULL, path);
    snprintf(poke, sizeof(poke), "%d", v->poke_fd);
    snprintf(stat, sizeof(stat), "%d", v->stat_fd);
    snprintf(journal, sizeof(journal), "%d", v->journal_fd);
    argv[n++] = v->cls->backend;
    argv[n++] = "--supervised";
    argv[n++] = "--device";
    argv[n++] = v->be;
    argv[n++] = "--poke-fd";
    argv[n++] = poke;
    argv[n++] = "--stats-fd";
    argv[n++] = stat;
    argv[n++] = "--journal-fd";
    argv[n++] = journal;
    if (hotplug)
        argv[n++] = "--hotplug";
    if (d->sandbox)
        argv[n++] = "--sandbox";
    if (d->sandbox && d->backend_user) {
        argv[n++] = "--user";
        argv[n++] = d->backend_user;
    }
    if (d->log_level) {
        argv[n++] = "--log-level";
        argv[n++] = d->log_level;
    }
    for (i = 0; i < d->nbackend_args[v->cls->args]; i++)
        argv[n++] = d->backend_args[v->cls->args][i];
    argv[n] = NULL;

    pid = fork();
    if (pid < 0) {
        LOG_ERR("%s: cannot start %s: %s", v->rel, v->cls->backend,
                strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        int keep[3] = { v->poke_fd, v->stat_fd, v->journal_fd };

        child_setup(keep, 3);
        execvp(argv[0], (char **)argv);
        fprintf(stderr, "iovmd: cannot run %s: %s\n", argv[0],
                strerror(errno));
        _exit(127);
    }
    v->pid = pid;
    v->started_ns = iovm_now_ns();
    v->stop_sent = v->restart_now = false;
    LOG_INFO("%s: started %s (pid %d)%s", v->rel, v->cls->backend, (int)pid,
             hotplug ? ", hotplug script to run" : "");
    return 0;
}

static void dev_run_script(struct iovmd *d, struct iovmd_dev *v, bool add)
{
    char script[256], sp[256];
    const char *action = add ? v->cls->script_add : v->cls->script_remove;
    struct stat sb;
    pid_t pid;

    v->script = add ? SCRIPT_ADDING : SCRIPT_REMOVING;
    if (xb_read_str(d->xs, XBT_NULL, v->be, "script", script,
                    sizeof(script)) ||
        script[0] != '/' || stat(script, &sb) || !S_ISREG(sb.st_mode) ||
        access(script, X_OK)) {
        snprintf(v->last_error, sizeof(v->last_error),
                 "hotplug script '%.200s' is not an executable file",
                 script);
        LOG_ERR("%s: %s", v->rel, v->last_error);
        v->script = add ? SCRIPT_ADDED : SCRIPT_REMOVED;
        if (add)
            v->script_pid = -1; /* fail it below, in the caller's round */
        return;
    }
    snprintf(sp, sizeof(sp), "%s", script);
    pid = fork();
    if (pid < 0) {
        snprintf(v->last_error, sizeof(v->last_error),
                 "cannot run hotplug script: %s", strerror(errno));
        v->script = add ? SCRIPT_ADDED : SCRIPT_REMOVED;
        if (add)
            v->script_pid = -1;
        return;
    }
    if (pid == 0) {
        /* The environment xl devd gives it (libxl_linux.c), in a
         * process group of its own: a timeout kills all of it. */
        child_setup(NULL, 0);
        setpgid(0, 0);
        setenv("script", sp, 1);
        setenv("XENBUS_TYPE", v->cls->kind, 1);
        setenv("XENBUS_PATH", v->rel, 1);
        setenv("XENBUS_BASE_PATH", "backend", 1);
        if (!strcmp(v->cls->kind, "vif")) {
            /* The TAP iovm-netback made (the script renames it to
             * vifname), and libxl's arguments for a vif. */
            char vif[32], gw[64];

            snprintf(vif, sizeof(vif), "vif%u.%u", v->fe_domid, v->devid);
            setenv("vif", vif, 1);
            if (xb_read_str(d->xs, XBT_NULL, v->be, "gatewaydev", gw,
                            sizeof(gw)))
                gw[0] = '\0';
            setenv("netdev", gw, 1);
            execl(sp, sp, action, "type_if=vif", (char *)NULL);
        } else {
            execl(sp, sp, action, (char *)NULL);
        }
        fprintf(stderr, "iovmd: cannot run %s: %s\n", sp, strerror(errno));
        _exit(127);
    }
    v->script_pid = pid;
    v->script_deadline_ns =
        iovm_now_ns() + (uint64_t)d->script_timeout_s * 1000 * NS_PER_MS;
    LOG_INFO("%s: running %s %s (pid %d)", v->rel, sp, action, (int)pid);
}

/* Asks the backend to stop (it drains and exits), once. */
static void dev_stop(struct iovmd_dev *v)
{
    if (v->pid > 0 && !v->stop_sent) {
        kill(v->pid, SIGTERM);
        v->stop_sent = true;
    }
}

/* Kills a hotplug script and whatever it started (its process group). */
static void script_kill(struct iovmd_dev *v)
{
    if (v->script_pid > 0) {
        kill(-v->script_pid, SIGKILL);
        kill(v->script_pid, SIGKILL);
    }
}

/*
 * The device cannot be served: say why where the toolstack and the
 * guest's frontend look, and close it (xenbus_dev_fatal's way).  Closing
 * comes remove_delay_ms later: a script fails quickly, and dom0's libxl,
 * waiting to read InitWait, would miss it and time out instead.
 */
static void dev_fail(struct iovmd *d, struct iovmd_dev *v, const char *why)
{
    if (why != v->last_error)
        snprintf(v->last_error, sizeof(v->last_error), "%s", why);
    LOG_ERR("%s: %s; failing the device", v->rel, v->last_error);
    v->failed = true;
    if (xb_exists(d->xs, XBT_NULL, v->be))
        xb_printf(d->xs, XBT_NULL, v->be, "error", "iovmd: %s",
                  v->last_error);
    dev_stop(v);
    v->close_at_ns =
        iovm_now_ns() + (uint64_t)d->remove_delay_ms * NS_PER_MS + 1;
}

/* Reads hotplug-status after "add": "connected", or the script's error. */
static void dev_check_hotplug(struct iovmd *d, struct iovmd_dev *v, int status)
{
    char hs[32], he[200], msg[256];

    if (xb_read_str(d->xs, XBT_NULL, v->be, "hotplug-status", hs, sizeof(hs)))
        hs[0] = '\0';
    if (WIFEXITED(status) && !WEXITSTATUS(status) && !strcmp(hs, "connected"))
        return;
    if (!xb_read_str(d->xs, XBT_NULL, v->be, "hotplug-error", he, sizeof(he)))
        snprintf(msg, sizeof(msg), "hotplug script failed: %s", he);
    else if (WIFSIGNALED(status))
        snprintf(msg, sizeof(msg), "hotplug script killed by signal %d%s",
                 WTERMSIG(status),
                 WTERMSIG(status) == SIGKILL ? " (it timed out)" : "");
    else if (WIFEXITED(status) && WEXITSTATUS(status))
        snprintf(msg, sizeof(msg), "hotplug script exited with status %d",
                 WEXITSTATUS(status));
    else
        snprintf(msg, sizeof(msg), "hotplug script left hotplug-status "
                                   "'%s', not 'connected'",
                 hs);
    dev_fail(d, v, msg);
}

static void describe_exit(char *buf, size_t len, int status)
{
    if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

void iovmd_child_exited(struct iovmd *d, pid_t pid, int status)
{
    struct iovmd_dev *v;
    uint64_t now = iovm_now_ns();
    char how[96];

    for (v = d->devs; v; v = v->next) {
        if (v->script_pid == pid) {
            v->script_pid = 0;
            if (v->script == SCRIPT_ADDING) {
                v->script = SCRIPT_ADDED;
                if (!v->failed)
                    dev_check_hotplug(d, v, status);
                dev_poke(v);
            } else {
                v->script = SCRIPT_REMOVED;
                if (!WIFEXITED(status) || WEXITSTATUS(status))
                    LOG_WARN("%s: hotplug script remove failed", v->rel);
            }
            return;
        }
        if (v->pid != pid)
            continue;
        v->pid = 0;
        describe_exit(how, sizeof(how), status);
        if (v->stop_sent || (WIFEXITED(status) && !WEXITSTATUS(status))) {
            LOG_INFO("%s: backend (pid %d) %s", v->rel, (int)pid, how);
            if (v->restart_now) {
                v->restart_at_ns = 0;
                v->replacing = true;
            }
            return;
        }
        snprintf(v->last_error, sizeof(v->last_error), "backend %s", how);
        /*
         * It was serving (connected, and done with whatever it had taken
         * over itself): its successor takes the device over from the
         * journal at once.  Only deaths before that count toward a crash
         * loop (a request that kills every process that serves it, a
         * device that cannot be set up), with backoff.
         */
        if (IOVM_DEVSTAT_GET(v->stat->pid) == (uint32_t)pid &&
            IOVM_DEVSTAT_GET(v->stat->serving)) {
            LOG_WARN("%s: backend (pid %d) %s; taking over at once", v->rel,
                     (int)pid, how);
            v->crashes = 0;
            v->crash_window_ns = 0;
            v->restart_at_ns = 0;
            v->takeovers++;
            return;
        }
        /* Abnormal: count it, back off, and give up on a loop. */
        LOG_WARN("%s: backend (pid %d) %s", v->rel, (int)pid, how);
        if (!v->crash_window_ns ||
            now - v->crash_window_ns >
                (uint64_t)IOVMD_CRASH_WINDOW_MS * NS_PER_MS) {
            v->crash_window_ns = now;
            v->crashes = 0;
        }
        if (++v->crashes >= IOVMD_CRASH_LOOP) {
            char msg[256];

            snprintf(msg, sizeof(msg),
                     "backend crashed %u times in %u s (last: %s)",
                     v->crashes, IOVMD_CRASH_WINDOW_MS / 1000, how);
            dev_fail(d, v, msg);
            return;
        }
        v->restart_at_ns =
            now + (uint64_t)IOVM_MIN(IOVMD_BACKOFF_MIN_MS << (v->crashes - 1),
                                     IOVMD_BACKOFF_MAX_MS) *
                      NS_PER_MS;
        return;
    }
}

/* ---------------------------------------------------------------- */
/* the reconciler */

/* Returns false once the device is forgotten. */
static bool dev_reconcile(struct iovmd *d, struct iovmd_dev *v)
{
    uint64_t now = iovm_now_ns();
    enum xenbus_state be;
    unsigned int online;
    char path[200];
    bool has_script;

    snprintf(path, sizeof(path), "%s/state", v->be);
    if (!xb_exists(d->xs, XBT_NULL, path)) {
        /* Removed under us (forced removal, or we removed it). */
        dev_stop(v);
        if (v->script == SCRIPT_ADDED && !v->script_pid)
            LOG_WARN("%s: removed before it was closed; hotplug script "
                     "remove not run (its nodes are gone)",
                     v->rel);
        if (v->pid || v->script_pid > 0)
            return true;
        LOG_INFO("%s: forgotten", v->rel);
        return false;
    }
    be = xb_read_state(d->xs, v->be);
    if (xb_read_uint_default(d->xs, XBT_NULL, v->be, "online", 1, 1, &online))
        online = 0;
    snprintf(path, sizeof(path), "%s/script", v->be);
    has_script = d->run_scripts && xb_exists(d->xs, XBT_NULL, path);

    if (online) {
        v->closed_ns = 0;
        if (v->close_at_ns && now >= v->close_at_ns) {
            v->close_at_ns = 0;
            xb_switch_state(d->xs, v->be, XenbusStateClosing, false);
        }
        if (v->failed || d->stopping)
            return true;
        if (!v->pid && now >= v->restart_at_ns) {
            if (v->started_ns && !v->replacing)
                v->restarts++;
            v->replacing = false;
            if (dev_start(d, v))
                v->restart_at_ns = now + IOVMD_BACKOFF_MAX_MS * NS_PER_MS;
        }
        /* The backend is in InitWait: now the script (xl devd's order). */
        if (has_script && v->script == SCRIPT_NONE && v->pid &&
            be == XenbusStateInitWait)
            dev_run_script(d, v, true);
        if (v->script_pid == -1) {
            v->script_pid = 0;
            dev_fail(d, v, v->last_error);
        }
        return true;
    }

    /*
     * Offline: the backend closes it (and exits); then we tidy up.  Once
     * it reads Closed the backend has let go of the storage, so the
     * script's remove need not wait for the process to be gone: libxl
     * gives us 10 s from Closed to the directory's removal, and a script
     * is slow on a slow machine.
     */
    v->close_at_ns = 0;
    dev_poke(v);
    if (v->script_pid > 0 || d->stopping)
        return true;
    if (be != XenbusStateClosed) {
        if (v->pid)
            return true; /* the backend is closing it */
        /* No backend to close it (it failed, or never started). */
        if (xb_switch_state(d->xs, v->be, XenbusStateClosed, false))
            return true;
        LOG_INFO("%s: offline; closed", v->rel);
    }
    /* "remove" undoes what "add" did: ours, or an iovmd's before us
     * (hotplug-status says a script ran). */
    snprintf(path, sizeof(path), "%s/hotplug-status", v->be);
    if (has_script && v->script != SCRIPT_REMOVED &&
        (v->script != SCRIPT_NONE || xb_exists(d->xs, XBT_NULL, path))) {
        dev_run_script(d, v, false);
        if (v->script_pid > 0)
            return true;
    }
    /* libxl first reads Closed, then waits (10 s) for the directory to
     * go; removed before it read Closed, its removal fails. */
    if (!v->closed_ns)
        v->closed_ns = now;
    if (now - v->closed_ns < (uint64_t)d->remove_delay_ms * NS_PER_MS)
        return true;
    LOG_INFO("%s: removing the backend directory", v->rel);
    xs_rm(d->xs, XBT_NULL, v->be);
    return false;
}

void iovmd_reconcile_all(struct iovmd *d)
{
    struct iovmd_dev **pp = &d->devs, *v;

    while ((v = *pp)) {
        if (dev_reconcile(d, v)) {
            pp = &v->next;
        } else {
            *pp = v->next;
            d->ndevs--;
            iovmd_dev_free(d, v);
        }
    }
}

uint64_t iovmd_next_deadline(const struct iovmd *d)
{
    const struct iovmd_dev *v;
    uint64_t t = 0, x;

    for (v = d->devs; v; v = v->next) {
        x = 0;
        if (!v->pid && v->restart_at_ns && !v->failed)
            x = v->restart_at_ns;
        if (v->script_pid > 0 && v->script_deadline_ns)
            x = x && x < v->script_deadline_ns ? x : v->script_deadline_ns;
        if (v->close_at_ns)
            x = x && x < v->close_at_ns ? x : v->close_at_ns;
        if (v->closed_ns) {
            uint64_t r = v->closed_ns +
                         (uint64_t)d->remove_delay_ms * NS_PER_MS;

            x = x && x < r ? x : r;
        }
        if (x && (!t || x < t))
            t = x;
    }
    return t;
}

/* Scripts past their 40 s: killed (their exit then fails the device). */
static void kill_late_scripts(struct iovmd *d)
{
    struct iovmd_dev *v;
    uint64_t now = iovm_now_ns();

    for (v = d->devs; v; v = v->next)
        if (v->script_pid > 0 && v->script_deadline_ns &&
            now >= v->script_deadline_ns) {
            LOG_ERR("%s: hotplug script (pid %d) timed out", v->rel,
                    (int)v->script_pid);
            script_kill(v);
            v->script_deadline_ns = 0; /* its exit fails the device */
        }
}

void iovmd_stop_all(struct iovmd *d)
{
    struct iovmd_dev *v;

    kill_late_scripts(d);
    for (v = d->devs; v; v = v->next)
        dev_stop(v);
}

bool iovmd_children_left(const struct iovmd *d)
{
    const struct iovmd_dev *v;

    for (v = d->devs; v; v = v->next)
        if (v->pid > 0 || v->script_pid > 0)
            return true;
    return false;
}

void iovmd_kill_all(struct iovmd *d)
{
    struct iovmd_dev *v;

    for (v = d->devs; v; v = v->next) {
        if (v->pid > 0)
            kill(v->pid, SIGKILL);
        script_kill(v);
    }
}

int iovmd_upgrade(struct iovmd *d, const char *device)
{
    struct iovmd_dev *v;
    int n = 0;

    for (v = d->devs; v; v = v->next) {
        if (device && v != dev_by_name(d, device))
            continue;
        if (v->pid > 0 && !v->stop_sent && !v->failed) {
            LOG_INFO("%s: replacing the backend (pid %d)", v->rel,
                     (int)v->pid);
            dev_stop(v);
            v->restart_now = true;
            n++;
        }
    }
    return n ? 0 : -ENOENT;
}

void iovmd_deadlines(struct iovmd *d)
{
    kill_late_scripts(d);
}

/* ---------------------------------------------------------------- */
/* status */

static const char *script_name(const struct iovmd_dev *v)
{
    switch (v->script) {
    case SCRIPT_ADDING: return "adding";
    case SCRIPT_REMOVING: return "removing";
    default: return NULL;
    }
}

/* A JSON string: only what our own messages and paths contain needs
 * escaping, but the toolstack or a script wrote some of them. */
static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

void iovmd_status(struct iovmd *d, FILE *out, bool json)
{
    struct iovmd_dev *v;
    bool first = true;

    if (json)
        fprintf(out, "{\"domid\":%u,\"ready\":%s,\"devices\":[", d->domid,
                d->ready ? "true" : "false");
    else
        fprintf(out, "%-26s %-5s %-12s %-12s %-7s %-6s %-8s %-8s %-10s %s\n",
                "DEVICE", "FE", "STATE", "FE-STATE", "PID", "QUEUES",
                "INFLIGHT", "RESTARTS", "HOTPLUG", "LAST-ERROR");
    for (v = d->devs; v; v = v->next) {
        enum xenbus_state be = xb_read_state(d->xs, v->be);
        enum xenbus_state fe = xb_read_state(d->xs, v->fe);
        char hs[32];
        uint64_t inflight = 0, reqs = 0, peak = 0, t_start = 0, t_rsp = 0;
        unsigned int serving = 0, resumed = 0;
        unsigned int nq = 0, i;
        /* The page of the process running now (not what a previous
         * one left in it, before the new one has started). */
        bool live = v->pid > 0 &&
                    IOVM_DEVSTAT_GET(v->stat->magic) == IOVM_DEVSTAT_MAGIC &&
                    IOVM_DEVSTAT_GET(v->stat->pid) == (uint32_t)v->pid;

        if (xb_read_str(d->xs, XBT_NULL, v->be, "hotplug-status", hs,
                        sizeof(hs)))
            snprintf(hs, sizeof(hs), "%s", script_name(v) ? script_name(v)
                                                          : "-");
        if (live) {
            nq = IOVM_MIN(IOVM_DEVSTAT_GET(v->stat->nqueues),
                          IOVM_DEVSTAT_QUEUES);
            for (i = 0; i < nq; i++) {
                inflight += IOVM_DEVSTAT_GET(v->stat->q[i].inflight);
                reqs += IOVM_DEVSTAT_GET(v->stat->q[i].requests);
            }
            t_start = IOVM_DEVSTAT_GET(v->stat->started_ns);
            t_rsp = IOVM_DEVSTAT_GET(v->stat->first_rsp_ns);
            serving = IOVM_DEVSTAT_GET(v->stat->serving);
            resumed = IOVM_DEVSTAT_GET(v->stat->resumed_reqs);
            /* The last connection's, also once it is gone. */
            for (i = 0; i < IOVM_DEVSTAT_QUEUES; i++)
                peak += IOVM_DEVSTAT_GET(v->stat->q[i].peak_inflight_bytes);
        }
        if (json) {
            fprintf(out, "%s{\"device\":", first ? "" : ",");
            json_str(out, v->rel);
            fprintf(out, ",\"kind\":\"%s\",\"frontend_id\":%u,\"frontend\":",
                    v->cls->kind, v->fe_domid);
            json_str(out, v->fe);
            fprintf(out, ",\"state\":\"%s\",\"frontend_state\":\"%s\","
                         "\"pid\":%d,\"failed\":%s,\"queues\":%u,"
                         "\"inflight\":%llu,\"requests\":%llu,"
                         "\"peak_inflight_bytes\":%llu,"
                         "\"restarts\":%u,",
                    xb_state_name(be), xb_state_name(fe), (int)v->pid,
                    v->failed ? "true" : "false", nq,
                    (unsigned long long)inflight, (unsigned long long)reqs,
                    (unsigned long long)peak, v->restarts);
            /* This process: when it started and first answered (ns,
             * CLOCK_MONOTONIC), whether it serves (connected, and done
             * with what it took over), how many requests it took over;
             * and the restarts that were takeovers of a serving device. */
            fprintf(out, "\"serving\":%s,\"started_ns\":%llu,"
                         "\"first_response_ns\":%llu,\"resumed_requests\":%u,"
                         "\"takeovers\":%u,\"hotplug_status\":",
                    serving ? "true" : "false", (unsigned long long)t_start,
                    (unsigned long long)t_rsp, resumed, v->takeovers);
            json_str(out, hs);
            fputs(",\"last_error\":", out);
            if (v->last_error[0])
                json_str(out, v->last_error);
            else
                fputs("null", out);
            fputc('}', out);
        } else {
            fprintf(out, "%-26s %-5u %-12s %-12s %-7d %-6u %-8llu %-8u "
                         "%-10s %s\n",
                    v->rel, v->fe_domid, xb_state_name(be),
                    xb_state_name(fe), (int)v->pid, nq,
                    (unsigned long long)inflight, v->restarts, hs,
                    v->last_error[0] ? v->last_error : "-");
        }
        first = false;
    }
    if (json)
        fputs("]}\n", out);
}
