/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tcp-xfer: a TCP transfer whose every byte is checked.
 *
 *   tcp-xfer recv PORT             accept one connection, check it
 *   tcp-xfer send HOST PORT BYTES SEED
 *   tcp-xfer rr-server PORT        answer each byte with a byte
 *   tcp-xfer rr-client HOST PORT SECONDS
 *                                  one byte there and back, again and
 *                                  again: prints
 *   RR n=N mean_us=M p50_us=P p99_us=Q
 *
 * The sender sends BYTES and SEED first, then BYTES of a pseudo-random
 * stream from SEED; the receiver regenerates the stream and compares
 * every byte, then prints one line:
 *   RECV ok bytes=N seconds=S MBps=R
 *   RECV FAILED <why> (at byte N)
 * and exits 0 only if all of it came, unchanged.  The sender (and the
 * request/response client) retries its connection for 30 s (the
 * receiver may start after it).  Trusts its
 * command line; the data from the network is what it checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256u << 10)

static uint64_t next(uint64_t *s)
{
    /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void fill(uint8_t *buf, size_t len, uint64_t *s)
{
    size_t i;

    for (i = 0; i < len; i += 8) {
        uint64_t v = next(s);

        memcpy(buf + i, &v, 8);
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: tcp-xfer recv PORT | send HOST PORT BYTES SEED "
                    "| rr-server PORT | rr-client HOST PORT SECONDS\n");
    return 2;
}

static int do_recv(const char *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    uint8_t *want = malloc(CHUNK), *got = malloc(CHUNK);
    uint64_t hdr[2], total, done = 0, s;
    int l, c, one = 1;
    double t0;

    if (!want || !got)
        return 1;
    a.sin_port = htons((uint16_t)atoi(port));
    l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1)) {
        printf("RECV FAILED cannot listen on %s: %s\n", port,
               strerror(errno));
        return 1;
    }
    fflush(stdout);
    c = accept(l, NULL, NULL);
    if (c < 0) {
        printf("RECV FAILED accept: %s\n", strerror(errno));
        return 1;
    }
    t0 = now_s();
    if (recv(c, hdr, sizeof(hdr), MSG_WAITALL) != (ssize_t)sizeof(hdr)) {
        printf("RECV FAILED no header\n");
        return 1;
    }
    total = hdr[0];
    s = hdr[1] | 1;
    while (done < total) {
        size_t want_n = total - done < CHUNK ? (size_t)(total - done) : CHUNK;
        size_t have = 0;

        fill(want, (want_n + 7) & ~(size_t)7, &s);
        while (have < want_n) {
            ssize_t n = recv(c, got + have, want_n - have, 0);

            if (n <= 0) {
                printf("RECV FAILED connection ended: %s (at byte %llu)\n",
                       n ? strerror(errno) : "EOF",
                       (unsigned long long)(done + have));
                return 1;
            }
            have += (size_t)n;
        }
        if (memcmp(want, got, want_n)) {
            size_t i = 0;

            while (want[i] == got[i])
                i++;
            printf("RECV FAILED data differs (at byte %llu)\n",
                   (unsigned long long)(done + i));
            return 1;
        }
        done += want_n;
    }
    {
        double t = now_s() - t0;

        printf("RECV ok bytes=%llu seconds=%.2f MBps=%.1f\n",
               (unsigned long long)total, t, (double)total / 1e6 / t);
    }
    close(c);
    close(l);
    free(want);
    free(got);
    return 0;
}

/* A connection to host:port, retried for 30 s; -1 after. */
static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_INET,
                              .ai_socktype = SOCK_STREAM },
                    *ai;
    double give_up = now_s() + 30;
    int fd;

    if (getaddrinfo(host, port, &hints, &ai)) {
        fprintf(stderr, "tcp-xfer: cannot resolve %s\n", host);
        return -1;
    }
    for (;;) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
            break;
        close(fd);
        if (now_s() > give_up) {
            fprintf(stderr, "tcp-xfer: cannot connect to %s:%s: %s\n", host,
                    port, strerror(errno));
            freeaddrinfo(ai);
            return -1;
        }
        usleep(20000); /* the receiver is not listening yet: retry */
    }
    freeaddrinfo(ai);
    return fd;
}

static int do_send(const char *host, const char *port, const char *bytes,
                   const char *seed)
{
    uint64_t hdr[2], total, done = 0, s;
    uint8_t *buf = malloc(CHUNK);
    int fd;

    if (!buf)
        return 1;
    total = strtoull(bytes, NULL, 0);
    s = strtoull(seed, NULL, 0) | 1;
    hdr[0] = total;
    hdr[1] = s;
    fd = connect_to(host, port);
    if (fd < 0)
        return 1;
    if (send(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
        return 1;
    while (done < total) {
        size_t n = total - done < CHUNK ? (size_t)(total - done) : CHUNK;
        size_t off = 0;

        fill(buf, (n + 7) & ~(size_t)7, &s);
        while (off < n) {
            ssize_t w = send(fd, buf + off, n - off, 0);

            if (w <= 0) {
                fprintf(stderr, "tcp-xfer: send: %s\n", strerror(errno));
                return 1;
            }
            off += (size_t)w;
        }
        done += n;
    }
    shutdown(fd, SHUT_WR);
    /* Until the receiver has it all (it closes). */
    while (recv(fd, buf, CHUNK, 0) > 0)
        ;
    close(fd);
    free(buf);
    return 0;
}

static int listen_one(const char *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    int l = socket(AF_INET, SOCK_STREAM, 0), c, one = 1;

    a.sin_port = htons((uint16_t)atoi(port));
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
        return -1;
    c = accept(l, NULL, NULL);
    close(l);
    if (c >= 0)
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return c;
}

static int do_rr_server(const char *port)
{
    int c = listen_one(port);
    char b;

    if (c < 0) {
        fprintf(stderr, "tcp-xfer: rr-server on %s: %s\n", port,
                strerror(errno));
        return 1;
    }
    while (recv(c, &b, 1, 0) == 1)
        if (send(c, &b, 1, 0) != 1)
            break;
    close(c);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int do_rr_client(const char *host, const char *port, const char *secs)
{
    size_t n = 0, cap = 1u << 20;
    double *lat = malloc(cap * sizeof(*lat)), end, sum = 0;
    int fd = connect_to(host, port), one = 1;
    char b = 'x';

    if (fd < 0 || !lat)
        return 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    end = now_s() + atof(secs);
    while (n < cap) {
        double t0 = now_s(), t1;

        if (send(fd, &b, 1, 0) != 1 || recv(fd, &b, 1, MSG_WAITALL) != 1) {
            fprintf(stderr, "tcp-xfer: rr: connection lost\n");
            return 1;
        }
        t1 = now_s();
        lat[n++] = (t1 - t0) * 1e6;
        sum += (t1 - t0) * 1e6;
        if (t1 >= end)
            break;
    }
    close(fd);
    qsort(lat, n, sizeof(*lat), cmp_double);
    printf("RR n=%zu mean_us=%.1f p50_us=%.1f p99_us=%.1f\n", n, sum / (double)n,
           lat[n / 2], lat[n * 99 / 100]);
    free(lat);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "rr-server"))
        return do_rr_server(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "rr-client"))
        return do_rr_client(argv[2], argv[3], argv[4]);
    if (argc == 3 && !strcmp(argv[1], "recv"))
        return do_recv(argv[2]);
    if (argc == 6 && !strcmp(argv[1], "send"))
        return do_send(argv[2], argv[3], argv[4], argv[5]);
    return usage();
}
