/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers shared by every iovm program: strict number parsing for
 * values that come from peers (xenstore, command lines, config files) and
 * full-length I/O loops.
 */
#ifndef IOVM_UTIL_H
#define IOVM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IOVM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define IOVM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define IOVM_MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Parses an unsigned decimal number: digits only (no sign, space, "0x" or
 * exponent), at most 20 digits, value <= max.  Returns 0, -EINVAL for bad
 * syntax or -ERANGE when the value exceeds max.
 */
int iovm_parse_u64(const char *s, uint64_t max, uint64_t *out);
int iovm_parse_uint(const char *s, unsigned int max, unsigned int *out);

/*
 * Parses a size with an optional binary suffix (K, M, G, T; "KiB" forms
 * accepted).  Same strictness as iovm_parse_u64.
 */
int iovm_parse_size(const char *s, uint64_t *out);
/* "xx:xx:xx:xx:xx:xx" (hex, either case): 0 or -EINVAL. */
int iovm_parse_mac(const char *s, uint8_t mac[6]);
/* The value of one hex digit (either case), or -1. */
int iovm_hexval(char c);

/* Write or read exactly len bytes; return 0 or -errno (-EIO on EOF). */
int iovm_write_all(int fd, const void *buf, size_t len);
int iovm_read_all(int fd, void *buf, size_t len);

/* Monotonic clock in nanoseconds. */
uint64_t iovm_now_ns(void);

#endif
