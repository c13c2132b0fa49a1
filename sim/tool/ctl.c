/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Client side of iovm-simd's control socket.  Trusts simd.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tool.h"
#include "util.h"

static int ctl_connect(const char *dir)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", dir) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int rc = -errno;

        close(fd);
        return rc;
    }
    return fd;
}

/* Reads one line (without the newline); returns its length or -errno. */
static int ctl_readline(int fd, char *buf, size_t len)
{
    size_t n = 0;

    while (n + 1 < len) {
        ssize_t r = read(fd, buf + n, 1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return n ? (int)n : -EPIPE;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return (int)n;
}

/* Parses "ERR <errno> text" into -errno. */
static int ctl_status(const char *line)
{
    unsigned int e;
    char num[16];
    size_t i;

    if (!strncmp(line, "OK", 2))
        return 0;
    if (strncmp(line, "ERR ", 4))
        return -EPROTO;
    for (i = 0; line[4 + i] && line[4 + i] != ' ' && i < sizeof(num) - 1; i++)
        num[i] = line[4 + i];
    num[i] = '\0';
    if (iovm_parse_uint(num, 4095, &e) || !e)
        return -EPROTO;
    return -(int)e;
}

int ctl_cmd(const char *dir, char *reply, size_t len, const char *fmt, ...)
{
    char line[1024], in[1024];
    va_list ap;
    int fd, n, rc;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 1)
        return -E2BIG;
    line[n++] = '\n';
    fd = ctl_connect(dir);
    if (fd < 0)
        return fd;
    rc = iovm_write_all(fd, line, n);
    while (!rc) {
        rc = ctl_readline(fd, in, sizeof(in));
        if (rc < 0)
            break;
        if (!strncmp(in, "OK", 2) || !strncmp(in, "ERR", 3)) {
            rc = ctl_status(in);
            if (reply && len) {
                const char *p = !strncmp(in, "OK", 2) ? in + 2 : in;

                while (*p == ' ')
                    p++;
                snprintf(reply, len, "%s", p);
            }
            break;
        }
        rc = 0; /* a data row: skip */
    }
    close(fd);
    return rc;
}

int ctl_passthrough(const char *dir, const char *cmd)
{
    char in[1024];
    int fd, rc;

    fd = ctl_connect(dir);
    if (fd < 0)
        return fd;
    rc = iovm_write_all(fd, cmd, strlen(cmd));
    if (!rc)
        rc = iovm_write_all(fd, "\n", 1);
    while (!rc) {
        rc = ctl_readline(fd, in, sizeof(in));
        if (rc < 0)
            break;
        printf("%s\n", in);
        if (!strncmp(in, "OK", 2) || !strncmp(in, "ERR", 3)) {
            rc = ctl_status(in);
            break;
        }
        rc = 0;
    }
    close(fd);
    return rc;
}

int ctl_find(const char *dir, const char *name_or_id,
             struct sim_domain_info *info)
{
    char reply[256];
    int rc;

    rc = ctl_cmd(dir, reply, sizeof(reply), "find %s", name_or_id);
    if (rc)
        return rc;
    if (sscanf(reply, "%u %63s", &info->domid, info->name) != 2)
        return -EPROTO;
    info->uuid[0] = '\0';
    return 0;
}

int ctl_list_domids(const char *dir, uint32_t *ids, unsigned int max)
{
    char in[1024];
    unsigned int n = 0, id;
    int fd, rc;

    fd = ctl_connect(dir);
    if (fd < 0)
        return fd;
    rc = iovm_write_all(fd, "list\n", 5);
    while (!rc) {
        rc = ctl_readline(fd, in, sizeof(in));
        if (rc < 0)
            break;
        if (!strncmp(in, "OK", 2) || !strncmp(in, "ERR", 3)) {
            rc = ctl_status(in);
            break;
        }
        /* "DOM <domid> <name> ..." */
        if (sscanf(in, "DOM %u ", &id) == 1 && n < max)
            ids[n++] = id;
        rc = 0;
    }
    close(fd);
    return rc ? rc : (int)n;
}
