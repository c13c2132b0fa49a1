/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Strict parsing of numbers that may come from a hostile peer, and I/O
 * loops.  Input is untrusted; nothing here allocates.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int iovm_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (!s || !s[0])
        return -EINVAL;
    for (i = 0; s[i]; i++) {
        unsigned int d;

        if (s[i] < '0' || s[i] > '9' || i >= 20)
            return -EINVAL;
        d = s[i] - '0';
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int iovm_parse_uint(const char *s, unsigned int max, unsigned int *out)
{
    uint64_t v;
    int rc = iovm_parse_u64(s, max, &v);

    if (!rc)
        *out = (unsigned int)v;
    return rc;
}

int iovm_parse_size(const char *s, uint64_t *out)
{
    char num[24];
    const char *p = s;
    unsigned int shift = 0;
    uint64_t v;
    size_t n;
    int rc;

    if (!s)
        return -EINVAL;
    while (*p >= '0' && *p <= '9')
        p++;
    n = p - s;
    if (n == 0 || n >= sizeof(num))
        return -EINVAL;
    memcpy(num, s, n);
    num[n] = '\0';
    if (*p) {
        switch (*p) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: return -EINVAL;
        }
        p++;
        if (!strcmp(p, "iB") || !strcmp(p, "B"))
            p += strlen(p);
        if (*p)
            return -EINVAL;
    }
    rc = iovm_parse_u64(num, UINT64_MAX, &v);
    if (rc)
        return rc;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = v << shift;
    return 0;
}

int iovm_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t r = write(fd, p, len);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        len -= r;
    }
    return 0;
}

int iovm_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len) {
        ssize_t r = read(fd, p, len);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        len -= r;
    }
    return 0;
}

uint64_t iovm_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int iovm_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int iovm_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned int i;

    if (!s || strlen(s) != 17)
        return -EINVAL;
    for (i = 0; i < 6; i++) {
        int hi = iovm_hexval(s[i * 3]), lo = iovm_hexval(s[i * 3 + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
