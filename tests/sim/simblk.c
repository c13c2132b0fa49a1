/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Block-device helpers for simulator tests (see simblk.h).  Acts as the
 * toolstack: trusted.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "simblk.h"
#include "simtest.h"

static struct xs_handle *dom0(void)
{
    char saved[256] = "", *old = getenv("XENSTORED_PATH");
    struct xs_handle *h;

    if (old)
        snprintf(saved, sizeof(saved), "%s", old);
    simtest_enter(0);
    h = xs_open(0);
    ck_assert_msg(h, "xs_open dom0: %s", strerror(errno));
    if (saved[0])
        setenv("XENSTORED_PATH", saved, 1);
    return h;
}

void simblk_xs_write(struct xs_handle *h, xs_transaction_t t,
                     const char *dir, const char *key, const char *val)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    ck_assert_msg(xs_write(h, t, path, val, strlen(val)), "write %s", path);
}

void simblk_vbd_add(uint32_t be, uint32_t fe, uint32_t devid,
                    const char *params, const char *const *extra)
{
    struct xs_handle *h = dom0();
    struct xs_permissions fep[2] = { { fe, XS_PERM_NONE },
                                     { be, XS_PERM_READ } };
    struct xs_permissions bep[2] = { { be, XS_PERM_NONE },
                                     { fe, XS_PERM_READ } };
    char bed[160], fed[160], num[16];
    xs_transaction_t t;
    unsigned int i;

    snprintf(bed, sizeof(bed), "/local/domain/%u/backend/vbd/%u/%u", be, fe,
             devid);
    snprintf(fed, sizeof(fed), "/local/domain/%u/device/vbd/%u", fe, devid);
    do {
        t = xs_transaction_start(h);
        ck_assert(t);
        xs_rm(h, t, fed);
        ck_assert(xs_mkdir(h, t, fed));
        ck_assert(xs_set_permissions(h, t, fed, fep, 2));
        simblk_xs_write(h, t, fed, "backend", bed);
        snprintf(num, sizeof(num), "%u", be);
        simblk_xs_write(h, t, fed, "backend-id", num);
        simblk_xs_write(h, t, fed, "state", "1");
        snprintf(num, sizeof(num), "%u", devid);
        simblk_xs_write(h, t, fed, "virtual-device", num);
        simblk_xs_write(h, t, fed, "device-type", "disk");
        simblk_xs_write(h, t, fed, "trusted", "1");
        simblk_xs_write(h, t, fed, "protocol", "x86_64-abi");
        xs_rm(h, t, bed);
        ck_assert(xs_mkdir(h, t, bed));
        ck_assert(xs_set_permissions(h, t, bed, bep, 2));
        simblk_xs_write(h, t, bed, "frontend", fed);
        snprintf(num, sizeof(num), "%u", fe);
        simblk_xs_write(h, t, bed, "frontend-id", num);
        simblk_xs_write(h, t, bed, "online", "1");
        simblk_xs_write(h, t, bed, "removable", "0");
        simblk_xs_write(h, t, bed, "bootable", "1");
        simblk_xs_write(h, t, bed, "state", "1");
        simblk_xs_write(h, t, bed, "dev", "xvda");
        simblk_xs_write(h, t, bed, "type", "phy");
        simblk_xs_write(h, t, bed, "mode", "w");
        simblk_xs_write(h, t, bed, "device-type", "disk");
        simblk_xs_write(h, t, bed, "discard-enable", "1");
        simblk_xs_write(h, t, bed, "params", params);
        for (i = 0; extra && extra[i]; i += 2)
            simblk_xs_write(h, t, bed, extra[i], extra[i + 1]);
    } while (!xs_transaction_end(h, t, false) && errno == EAGAIN);
    xs_close(h);
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_on(struct xs_handle *h, const char *path, const char *value,
                   unsigned int ms)
{
    long deadline = now_ms() + ms;
    int rc = -ETIMEDOUT;

    ck_assert(xs_watch(h, path, "w"));
    for (;;) {
        unsigned int len;
        char *v = xs_read(h, XBT_NULL, path, &len), **ev;
        struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
        bool ok = value ? v && !strcmp(v, value) : !v;

        free(v);
        if (ok) {
            rc = 0;
            break;
        }
        if (now_ms() >= deadline ||
            poll(&p, 1, (int)(deadline - now_ms()) + 1) < 0)
            break;
        while ((ev = xs_check_watch(h)))
            free(ev);
    }
    xs_unwatch(h, path, "w");
    return rc;
}

int simblk_wait(const char *path, const char *value, unsigned int ms)
{
    struct xs_handle *h = dom0();
    int rc = wait_on(h, path, value, ms);

    xs_close(h);
    return rc;
}

int simblk_read(const char *path, char *buf, size_t len)
{
    struct xs_handle *h = dom0();
    unsigned int n;
    char *v = xs_read(h, XBT_NULL, path, &n);

    xs_close(h);
    if (!v)
        return -ENOENT;
    snprintf(buf, len, "%s", v);
    free(v);
    return 0;
}

int simblk_vbd_remove(uint32_t be, uint32_t fe, uint32_t devid)
{
    struct xs_handle *h = dom0();
    char bed[160], fed[160], path[200], *state;
    unsigned int len;
    int rc;

    snprintf(bed, sizeof(bed), "/local/domain/%u/backend/vbd/%u/%u", be, fe,
             devid);
    snprintf(fed, sizeof(fed), "/local/domain/%u/device/vbd/%u", fe, devid);
    snprintf(path, sizeof(path), "%s/state", bed);
    /* As libxl: online=0 and Closing (unless already Closed) in one
     * transaction, written only where the directory still exists. */
    for (;;) {
        xs_transaction_t t = xs_transaction_start(h);
        char online[200];

        ck_assert(t != XBT_NULL);
        state = xs_read(h, t, path, &len);
        snprintf(online, sizeof(online), "%s/online", bed);
        if (state)
            ck_assert(xs_write(h, t, online, "0", 1));
        if (state && strcmp(state, "6"))
            ck_assert(xs_write(h, t, path, "5", 1));
        free(state);
        if (xs_transaction_end(h, t, false))
            break;
        ck_assert_int_eq(errno, EAGAIN);
    }
    /* As libxl 4.17: Closed (everything released) and read as such, then
     * the driver domain removes its directory, then both ends are
     * cleaned up. */
    rc = wait_on(h, path, "6", 10000);
    state = xs_read(h, XBT_NULL, path, &len);
    if (rc && !state)
        rc = -ENOENT; /* vanished before Closed: libxl fails too */
    free(state);
    if (!rc)
        rc = wait_on(h, bed, NULL, 10000);
    for (;;) {
        xs_transaction_t t = xs_transaction_start(h);

        ck_assert(t != XBT_NULL);
        xs_rm(h, t, fed);
        xs_rm(h, t, bed);
        if (xs_transaction_end(h, t, false))
            break;
        ck_assert_int_eq(errno, EAGAIN);
    }
    xs_close(h);
    return rc;
}

pid_t simblk_backend_start(uint32_t dom, const char *logpath,
                           const char *args)
{
    char cmd[1024], bin[512];
    const char *b = getenv("IOVM_TEST_BUILDDIR");
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/backend/blk/iovm-blkback", b ? b : ".");
    snprintf(cmd, sizeof(cmd), "exec \"%s\" --dir \"%s\" exec %u -- %s %s "
                               ">>%s 2>&1",
             getenv("IOVM_SIM") ? getenv("IOVM_SIM") : "iovm-sim",
             simtest_start(), dom, bin, args ? args : "", logpath);
    /* The child must not reach a ck_assert (each records its location
     * in Check's message file, shared with the child: a late write from
     * it corrupts the runner's messages), nor keep that file open. */
    pid = fork();
    if (!pid) {
        closefrom(3);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    ck_assert_int_gt(pid, 0);
    return pid;
}

void simblk_backend_stop(pid_t pid)
{
    int status;

    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
}

pid_t simblk_fixture_start(uint32_t *dd, char *logpath, size_t len)
{
    snprintf(logpath, len, "%s/blkback.log", simtest_start());
    *dd = simtest_domain("dd");
    return simblk_backend_start(*dd, logpath,
                                "--log-level debug --remove-delay-ms 250");
}

void simblk_fixture_stop(pid_t bb)
{
    simblk_backend_stop(bb);
    simtest_stop();
}
