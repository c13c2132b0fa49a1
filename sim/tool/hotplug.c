/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libxl's hotplug scripts for a backend in dom0 (libxl_device.c
 * device_hotplug, libxl_linux.c get_hotplug_env): once the backend is in
 * InitWait the toolstack runs the script the backend directory names,
 * "add", with XENBUS_PATH, XENBUS_TYPE, XENBUS_BASE_PATH and script in
 * its environment, and waits for it (LIBXL_HOTPLUG_TIMEOUT, 40 s); a
 * non-zero exit fails the device, with the script's hotplug-error.  After
 * the backend closed, "remove".  A vif's script (libxl__hotplug_nic) gets
 * "online"/"offline" and "type_if=vif" instead, and netdev (the
 * gatewaydev node, or empty) and vif (vif<domid>.<devid>, the name
 * Linux netback gives the device) in its environment.  The script runs
 * inside dom0, as `iovm-sim exec 0` runs a command (Debian's xenstore
 * tools then reach the simulator).  A driver domain's scripts are the
 * driver domain's business (xl devd, iovmd): not run here.
 *
 * Trusts its caller and the backend directory (dom0 wrote it).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"
#include "util.h"

#define HOTPLUG_TIMEOUT_MS 40000 /* LIBXL_HOTPLUG_TIMEOUT */

int tool_hotplug(const char *dir, struct xs_handle *xs, const char *be,
                 const char *action, char *why, size_t len)
{
    char path[300], *script, *err, type[16] = "vbd", self[4096];
    char vif[40] = "", *netdev = NULL;
    const char *rel = be, *p, *arg = action, *arg2 = NULL;
    unsigned int n, fe_domid;
    int devid;
    int status = 0, pfd;
    ssize_t sl;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/script", be);
    script = xs_read(xs, XBT_NULL, path, &n);
    if (!script)
        return 0; /* qdisk, or no script: nothing to run */
    /* XENBUS_PATH is relative to dom0's home; the type is the path's. */
    if (!strncmp(be, "/local/domain/0/", 16))
        rel = be + 16;
    p = strstr(rel, "backend/");
    if (p && sscanf(p, "backend/%15[^/]", type) != 1)
        snprintf(type, sizeof(type), "vbd");
    sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sl <= 0) {
        free(script);
        snprintf(why, len, "cannot find iovm-sim itself");
        return -ENOENT;
    }
    self[sl] = '\0';
    if (!strcmp(type, "vif")) {
        snprintf(path, sizeof(path), "%s/gatewaydev", be);
        netdev = xs_read(xs, XBT_NULL, path, &n);
        /* NETBACK_NIC_NAME: vif<frontend domid>.<devid> */
        if (sscanf(rel, "backend/vif/%u/%d", &fe_domid, &devid) == 2)
            snprintf(vif, sizeof(vif), "vif%u.%d", fe_domid, devid);
        arg = !strcmp(action, "add") ? "online" : "offline";
        arg2 = "type_if=vif";
    }
    pid = fork();
    if (pid < 0) {
        free(netdev);
        free(script);
        snprintf(why, len, "cannot run %s: %s", path, strerror(errno));
        return -errno;
    }
    if (!pid) {
        int null = open("/dev/null", O_RDWR);

        if (null >= 0)
            dup2(null, STDIN_FILENO);
        setenv("script", script, 1);
        setenv("XENBUS_TYPE", type, 1);
        setenv("XENBUS_PATH", rel, 1);
        setenv("XENBUS_BASE_PATH", "backend", 1);
        if (arg2) {
            setenv("netdev", netdev ? netdev : "", 1);
            setenv("vif", vif, 1);
        }
        execl(self, self, "--dir", dir, "exec", "0", "--", script, arg, arg2,
              (char *)NULL);
        _exit(127);
    }
    /* Wait, as libxl does, for at most its 40 s. */
    pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd pf = { .fd = pfd, .events = POLLIN };

        if (poll(&pf, 1, HOTPLUG_TIMEOUT_MS) != 1)
            kill(pid, SIGKILL);
        close(pfd);
    }
    waitpid(pid, &status, 0);
    free(netdev);
    if (WIFEXITED(status) && !WEXITSTATUS(status)) {
        free(script);
        return 0;
    }
    snprintf(path, sizeof(path), "%s/hotplug-error", be);
    err = xs_read(xs, XBT_NULL, path, &n);
    /* libxl: "script: <hotplug-error>", else how it ended. */
    if (err && *err)
        snprintf(why, len, "%s %s failed; error detected: %s", script, arg,
                 err);
    else if (WIFSIGNALED(status))
        snprintf(why, len, "%s %s killed by signal %d", script, arg,
                 WTERMSIG(status));
    else
        snprintf(why, len, "%s %s exited with error status %d", script,
                 arg, WEXITSTATUS(status));
    free(err);
    free(script);
    return -EIO;
}
