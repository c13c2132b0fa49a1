/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenstore helpers (see xenbus.h).  Values come from the store and may be
 * a hostile peer's: they are length-bounded and parsed strictly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xenbus.h"

static int xb_path(char *buf, size_t len, const char *dir, const char *key)
{
    int n = key ? snprintf(buf, len, "%s/%s", dir, key)
                : snprintf(buf, len, "%s", dir);

    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xb_read_str(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                const char *key, char *buf, size_t maxlen)
{
    char path[512];
    unsigned int len;
    char *v;
    int rc = xb_path(path, sizeof(path), dir, key);

    if (rc)
        return rc;
    v = xs_read(xs, t, path, &len);
    if (!v)
        return errno == ENOENT || errno == EACCES ? -ENOENT : -errno;
    if (len >= maxlen || strlen(v) != len) {
        /* Too long, or with an embedded NUL: not a value we know. */
        free(v);
        return -E2BIG;
    }
    memcpy(buf, v, len + 1);
    free(v);
    return 0;
}

int xb_read_u64(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                const char *key, uint64_t max, uint64_t *out)
{
    char buf[32];
    int rc = xb_read_str(xs, t, dir, key, buf, sizeof(buf));

    if (rc)
        return rc == -E2BIG ? -EINVAL : rc;
    return iovm_parse_u64(buf, max, out);
}

int xb_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                 const char *key, unsigned int max, unsigned int *out)
{
    uint64_t v;
    int rc = xb_read_u64(xs, t, dir, key, max, &v);

    if (!rc)
        *out = (unsigned int)v;
    return rc;
}

int xb_read_uint_default(struct xs_handle *xs, xs_transaction_t t,
                         const char *dir, const char *key, unsigned int max,
                         unsigned int dflt, unsigned int *out)
{
    int rc = xb_read_uint(xs, t, dir, key, max, out);

    if (rc == -ENOENT) {
        *out = dflt;
        return 0;
    }
    return rc;
}

int xb_printf(struct xs_handle *xs, xs_transaction_t t, const char *dir,
              const char *key, const char *fmt, ...)
{
    char path[512], val[XB_VALUE_MAX];
    va_list ap;
    int n, rc = xb_path(path, sizeof(path), dir, key);

    if (rc)
        return rc;
    va_start(ap, fmt);
    n = vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(val))
        return -E2BIG;
    return xs_write(xs, t, path, val, n) ? 0 : -errno;
}

bool xb_exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
    unsigned int len;
    char *v = xs_read(xs, t, path, &len);

    free(v);
    return v != NULL;
}

int xb_rm_key(struct xs_handle *xs, const char *dir, const char *key)
{
    char path[512];
    int rc = xb_path(path, sizeof(path), dir, key);

    if (rc)
        return rc;
    if (!xs_rm(xs, XBT_NULL, path) && errno != ENOENT)
        return -errno;
    return 0;
}

enum xenbus_state xb_read_state(struct xs_handle *xs, const char *dir)
{
    unsigned int s;

    if (xb_read_uint(xs, XBT_NULL, dir, "state", XenbusStateReconfigured,
                     &s))
        return XenbusStateUnknown;
    return (enum xenbus_state)s;
}

int xb_switch_state(struct xs_handle *xs, const char *dir,
                    enum xenbus_state state, bool force)
{
    char path[512];
    unsigned int tries, cur;
    int rc = xb_path(path, sizeof(path), dir, "state");

    if (rc)
        return rc;
    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t t = xs_transaction_start(xs);
        char val[4];

        if (!t)
            return -errno;
        rc = xb_read_uint(xs, t, dir, "state", 255, &cur);
        if (rc == -ENOENT) {
            /* Removed by the toolstack: never re-create it. */
            xs_transaction_end(xs, t, true);
            return -ENOENT;
        }
        if (!rc && cur == (unsigned int)state && !force) {
            xs_transaction_end(xs, t, true);
            return 0;
        }
        snprintf(val, sizeof(val), "%u", (unsigned int)state);
        if (!xs_write(xs, t, path, val, strlen(val))) {
            rc = -errno;
            xs_transaction_end(xs, t, true);
            return rc;
        }
        if (xs_transaction_end(xs, t, false))
            return 0;
        if (errno != EAGAIN)
            return -errno;
    }
    return -EAGAIN;
}

void xb_write_error(struct xs_handle *xs, const char *dir, int err,
                    const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Only into a directory that still exists. */
    if (xb_exists(xs, XBT_NULL, dir))
        xb_printf(xs, XBT_NULL, dir, "error", "%d %s", err, msg);
}

const char *xb_state_name(enum xenbus_state s)
{
    static const char *const n[] = {
        "Unknown", "Initialising", "InitWait", "Initialised", "Connected",
        "Closing", "Closed", "Reconfiguring", "Reconfigured",
    };

    return (unsigned int)s < IOVM_ARRAY_SIZE(n) ? n[s] : "Invalid";
}
