/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tcp-xfer: a TCP transfer whose every byte is checked.
 *
 *   tcp-xfer recv PORT             accept one connection, check it
 *   tcp-xfer send HOST PORT BYTES SEED
 *
 * The sender sends BYTES and SEED first, then BYTES of a pseudo-random
 * stream from SEED; the receiver regenerates the stream and compares
 * every byte, then prints one line:
 *   RECV ok bytes=N seconds=S MBps=R
 *   RECV FAILED <why> (at byte N)
 * and exits 0 only if all of it came, unchanged.  The sender retries its
 * connection for 30 s (the receiver may start after it).  Trusts its
 * command line; the data from the network is what it checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
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
    fprintf(stderr, "usage: tcp-xfer recv PORT | tcp-xfer send HOST PORT "
                    "BYTES SEED\n");
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

static int do_send(const char *host, const char *port, const char *bytes,
                   const char *seed)
{
    struct addrinfo hints = { .ai_family = AF_INET,
                              .ai_socktype = SOCK_STREAM },
                    *ai;
    uint64_t hdr[2], total, done = 0, s;
    uint8_t *buf = malloc(CHUNK);
    double give_up = now_s() + 30;
    int fd = -1;

    if (!buf || getaddrinfo(host, port, &hints, &ai)) {
        fprintf(stderr, "tcp-xfer: cannot resolve %s\n", host);
        return 1;
    }
    total = strtoull(bytes, NULL, 0);
    s = strtoull(seed, NULL, 0) | 1;
    hdr[0] = total;
    hdr[1] = s;
    for (;;) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
            break;
        close(fd);
        if (now_s() > give_up) {
            fprintf(stderr, "tcp-xfer: cannot connect to %s:%s: %s\n", host,
                    port, strerror(errno));
            return 1;
        }
        usleep(20000); /* the receiver is not listening yet: retry */
    }
    freeaddrinfo(ai);
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

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "recv"))
        return do_recv(argv[2]);
    if (argc == 6 && !strcmp(argv[1], "send"))
        return do_send(argv[2], argv[3], argv[4], argv[5]);
    return usage();
}
