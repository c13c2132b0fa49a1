/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenstore helpers for split drivers (both ends): strict reads of values
 * a peer may have written, printf-style writes, and the state switch
 * that never re-creates a directory the toolstack has removed.  Glue over
 * the real libxenstore.
 */
#ifndef IOVM_XENBUS_H
#define IOVM_XENBUS_H

#include <stdbool.h>
#include <stdint.h>

#include <xenstore.h>
#include <xen/io/xenbus.h>

/* Longest value we accept from a peer for anything we parse. */
#define XB_VALUE_MAX 256

/*
 * Reads dir/key (key may be NULL: dir is the path) as an unsigned decimal
 * no larger than max.  Returns 0, -ENOENT if absent, -EINVAL/-ERANGE if
 * malformed (hostile values: sign, spaces, hex, empty, overlong).
 */
int xb_read_u64(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                const char *key, uint64_t max, uint64_t *out);
int xb_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                 const char *key, unsigned int max, unsigned int *out);
/* As xb_read_uint, with a default when absent. */
int xb_read_uint_default(struct xs_handle *xs, xs_transaction_t t,
                         const char *dir, const char *key, unsigned int max,
                         unsigned int dflt, unsigned int *out);
/* Reads a string of at most maxlen bytes into buf; -ENOENT, -E2BIG. */
int xb_read_str(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                const char *key, char *buf, size_t maxlen);
/* Writes a formatted value; 0 or -errno. */
int xb_printf(struct xs_handle *xs, xs_transaction_t t, const char *dir,
              const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
bool xb_exists(struct xs_handle *xs, xs_transaction_t t, const char *path);
/* Removes dir/key; 0 (also when it was not there) or -errno. */
int xb_rm_key(struct xs_handle *xs, const char *dir, const char *key);

/* dir/state, or XenbusStateUnknown if absent or malformed. */
enum xenbus_state xb_read_state(struct xs_handle *xs, const char *dir);
/*
 * Writes dir/state in a transaction that first checks dir/state still
 * exists, so a removed device is never brought back (-ENOENT then).
 * force: write even if unchanged (resize re-writes Connected).
 */
int xb_switch_state(struct xs_handle *xs, const char *dir,
                    enum xenbus_state state, bool force);
/* Writes dir/error = "<errno> <message>" (best effort). */
void xb_write_error(struct xs_handle *xs, const char *dir, int err,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
const char *xb_state_name(enum xenbus_state s);

#endif
