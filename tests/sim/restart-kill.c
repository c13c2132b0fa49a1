/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * restart-kill: kills a device's backend process N times at random
 * moments, through iovmd's control socket, and measures each restart.
 *
 *   restart-kill SOCKET DEVICE KILLS SIGNAL MAX_DELAY_MS SEED [POLL_MS]
 *
 * SIGNAL 0: no kill but `iovmd upgrade DEVICE` (a live upgrade).
 *
 * Each round waits until the device's current backend serves (connected,
 * done with what it took over: `serving` in `iovmd status --json`) and
 * has answered a request, waits a random 0..MAX_DELAY_MS, sends SIGNAL
 * (a number: 9 for SIGKILL, or 10 (SIGUSR1) for a backend run with
 * --test-hooks, which then makes a forbidden system call), and waits for
 * the next process to answer its first request.  The restart latency is
 * kill -> that first response (both CLOCK_MONOTONIC).  Prints one line
 * per kill and then
 *   KILLS n=... median_ms=... max_ms=... resumed_requests=...
 * resumed_requests: requests the successors took over from the journal
 * (in flight at the kills).  POLL_MS: how often iovmd's status is read
 * while waiting (default 2; more on a slow machine).  Exit 1 if a round times out (60 s) or the
 * device fails.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ROUND_NS (60ull * 1000000000ull)

static uint64_t poll_ns = 2000000;

struct devst {
    long pid;
    bool serving, failed;
    unsigned long long first_rsp, resumed;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pause_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ull),
                           (long)(ns % 1000000000ull) };

    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* A number after "key": in obj (up to its closing brace), or -1. */
static long long num(const char *obj, const char *key)
{
    char pat[64];
    const char *p, *end = strchr(obj, '}');

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(obj, pat);
    if (!p || (end && p > end))
        return -1;
    p += strlen(pat);
    if (!strncmp(p, "true", 4))
        return 1;
    if (!strncmp(p, "false", 5))
        return 0;
    return strtoll(p, NULL, 10);
}

/* One request to iovmd; its answer in buf.  0 or -1. */
static int ask(const char *sock, const char *req, char *buf, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = 0;
    ssize_t r;
    int fd;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
        write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = '\0';
    return 0;
}

static int query(const char *sock, const char *device, struct devst *d)
{
    static char buf[65536];
    char pat[256];
    const char *obj;

    if (ask(sock, "status json\n", buf, sizeof(buf)))
        return -1;
    snprintf(pat, sizeof(pat), "\"device\":\"%s\"", device);
    obj = strstr(buf, pat);
    if (!obj)
        return -1;
    d->pid = (long)num(obj, "pid");
    d->serving = num(obj, "serving") == 1;
    d->failed = num(obj, "failed") == 1;
    d->first_rsp = (unsigned long long)num(obj, "first_response_ns");
    d->resumed = (unsigned long long)num(obj, "resumed_requests");
    return 0;
}

/* Waits for a backend other than not_pid that serves and has answered. */
static int wait_serving(const char *sock, const char *device, long not_pid,
                        struct devst *d)
{
    uint64_t deadline = now_ns() + ROUND_NS;

    while (now_ns() < deadline) {
        if (!query(sock, device, d)) {
            if (d->failed) {
                fprintf(stderr, "restart-kill: the device failed\n");
                return -1;
            }
            if (d->pid > 0 && d->pid != not_pid && d->serving &&
                d->first_rsp)
                return 0;
        }
        pause_ns(poll_ns);
    }
    fprintf(stderr, "restart-kill: no serving backend after 60 s\n");
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    unsigned int kills, i, maxdelay;
    unsigned long long resumed = 0;
    uint64_t *lat, seed;
    struct devst d;
    long pid;
    int sig;

    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: restart-kill SOCKET DEVICE KILLS SIGNAL "
                        "MAX_DELAY_MS SEED [POLL_MS]\n");
        return 2;
    }
    if (argc == 8)
        poll_ns = strtoull(argv[7], NULL, 10) * 1000000ull;
    kills = (unsigned int)strtoul(argv[3], NULL, 10);
    sig = atoi(argv[4]);
    maxdelay = (unsigned int)strtoul(argv[5], NULL, 10);
    seed = strtoull(argv[6], NULL, 10);
    srand48((long)seed);
    lat = calloc(kills ? kills : 1, sizeof(*lat));
    if (!lat || !kills || sig < 0)
        return 2;
    if (wait_serving(argv[1], argv[2], 0, &d))
        return 1;
    pid = d.pid;
    for (i = 0; i < kills; i++) {
        uint64_t t0;

        pause_ns((uint64_t)(drand48() * maxdelay * 1e6));
        t0 = now_ns();
        if (!sig) {
            char req[300], ans[256];

            snprintf(req, sizeof(req), "upgrade %s\n", argv[2]);
            if (ask(argv[1], req, ans, sizeof(ans)) ||
                strncmp(ans, "ok", 2)) {
                fprintf(stderr, "restart-kill: upgrade: %s\n", ans);
                return 1;
            }
        } else if (kill((pid_t)pid, sig)) {
            fprintf(stderr, "restart-kill: kill %ld: %s\n", pid,
                    strerror(errno));
            return 1;
        }
        if (wait_serving(argv[1], argv[2], pid, &d))
            return 1;
        lat[i] = d.first_rsp > t0 ? d.first_rsp - t0 : 0;
        resumed += d.resumed;
        printf("%s %u: pid %ld -> %ld, first response after %.1f ms, "
               "%llu request(s) taken over\n",
               sig ? "kill" : "upgrade", i + 1, pid, d.pid, lat[i] / 1e6, d.resumed);
        pid = d.pid;
    }
    qsort(lat, kills, sizeof(*lat), cmp_u64);
    printf("KILLS n=%u median_ms=%.1f max_ms=%.1f resumed_requests=%llu\n",
           kills, lat[kills / 2] / 1e6, lat[kills - 1] / 1e6, resumed);
    free(lat);
    return 0;
}
