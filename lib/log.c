/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Levelled logging.  Trusts its callers; message text that came from a peer
 * must be passed as a "%s" argument, never as the format.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "iovm";
static enum iovm_log_level log_level = IOVM_LOG_INFO;

static const char *const level_names[] = {
    [IOVM_LOG_ERR] = "error",
    [IOVM_LOG_WARN] = "warn",
    [IOVM_LOG_INFO] = "info",
    [IOVM_LOG_DEBUG] = "debug",
};

const char *iovm_log_ident(void)
{
    return log_ident;
}

void iovm_log_init(const char *ident, enum iovm_log_level level)
{
    log_ident = ident;
    log_level = level;
}

void iovm_log_set_level(enum iovm_log_level level)
{
    log_level = level;
}

enum iovm_log_level iovm_log_get_level(void)
{
    return log_level;
}

int iovm_log_level_parse(const char *s, enum iovm_log_level *level)
{
    unsigned int i;

    for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (!strcmp(s, level_names[i])) {
            *level = i;
            return 0;
        }
    }
    if (!strcmp(s, "err") || !strcmp(s, "warning")) {
        *level = s[0] == 'e' ? IOVM_LOG_ERR : IOVM_LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

void iovm_log(enum iovm_log_level level, const char *fmt, ...)
{
    char buf[1024];
    struct timespec ts;
    va_list ap;
    int n, saved_errno = errno;

    if (level > log_level)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    n = snprintf(buf, sizeof(buf), "%ld.%03ld %s[%d]: %s: ", (long)ts.tv_sec,
                 ts.tv_nsec / 1000000, log_ident, (int)getpid(),
                 level_names[level]);
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof(buf))
        vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    /* One write per line so lines of concurrent processes do not mix. */
    n = strlen(buf);
    if (n == sizeof(buf) - 1)
        buf[n - 1] = '\n';
    else
        buf[n++] = '\n';
    if (write(STDERR_FILENO, buf, n) < 0) {
        /* Nowhere left to report it. */
    }
    errno = saved_errno;
}
