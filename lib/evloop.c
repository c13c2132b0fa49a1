/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * epoll event loop.  Registrations live in a table indexed by fd; a
 * removed registration is only marked dead during a dispatch round and
 * freed after it, so a callback that removes another fd never makes the
 * loop touch freed memory.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"

struct loop_fd {
    iovm_fd_cb *cb;
    void *arg;
    uint64_t gen;
    bool live;
};

struct loop_timer {
    struct loop_timer *next;
    int64_t id;
    uint64_t due_ns;
    iovm_timer_cb *cb;
    void *arg;
};

struct iovm_loop {
    int epfd;
    bool stop;
    struct loop_fd *fds;
    unsigned int nfds;
    uint64_t gen;
    struct loop_timer *timers; /* sorted by due time */
    int64_t next_timer_id;
};

int iovm_loop_new(struct iovm_loop **loopp)
{
    struct iovm_loop *loop = calloc(1, sizeof(*loop));

    if (!loop)
        return -ENOMEM;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int rc = -errno;

        free(loop);
        return rc;
    }
    loop->next_timer_id = 1;
    *loopp = loop;
    return 0;
}

void iovm_loop_free(struct iovm_loop *loop)
{
    struct loop_timer *t, *next;

    if (!loop)
        return;
    for (t = loop->timers; t; t = next) {
        next = t->next;
        free(t);
    }
    close(loop->epfd);
    free(loop->fds);
    free(loop);
}

int iovm_loop_fd_add(struct iovm_loop *loop, int fd, uint32_t events,
                     iovm_fd_cb *cb, void *arg)
{
    struct epoll_event ev = { .events = events };

    if (fd < 0)
        return -EBADF;
    if ((unsigned int)fd >= loop->nfds) {
        unsigned int n = IOVM_MAX((unsigned int)fd + 1, loop->nfds * 2);
        struct loop_fd *fds = realloc(loop->fds, n * sizeof(*fds));

        if (!fds)
            return -ENOMEM;
        memset(fds + loop->nfds, 0, (n - loop->nfds) * sizeof(*fds));
        loop->fds = fds;
        loop->nfds = n;
    }
    if (loop->fds[fd].live)
        return -EEXIST;
    /* The generation travels with the event so stale events are dropped. */
    loop->fds[fd].gen = ++loop->gen;
    ev.data.u64 = ((uint64_t)fd << 32) | (loop->fds[fd].gen & 0xffffffff);
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    loop->fds[fd].cb = cb;
    loop->fds[fd].arg = arg;
    loop->fds[fd].live = true;
    return 0;
}

int iovm_loop_fd_mod(struct iovm_loop *loop, int fd, uint32_t events)
{
    struct epoll_event ev = { .events = events };

    if (fd < 0 || (unsigned int)fd >= loop->nfds || !loop->fds[fd].live)
        return -ENOENT;
    ev.data.u64 = ((uint64_t)fd << 32) | (loop->fds[fd].gen & 0xffffffff);
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -errno;
    return 0;
}

void iovm_loop_fd_del(struct iovm_loop *loop, int fd)
{
    if (fd < 0 || (unsigned int)fd >= loop->nfds || !loop->fds[fd].live)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    loop->fds[fd].live = false;
    loop->fds[fd].gen = ++loop->gen;
}

int64_t iovm_loop_timer_add(struct iovm_loop *loop, uint64_t delay_ms,
                            iovm_timer_cb *cb, void *arg)
{
    struct loop_timer *t = calloc(1, sizeof(*t)), **pp;

    if (!t)
        return -ENOMEM;
    t->id = loop->next_timer_id++;
    /* A delay too long to add is "never" (a year), not "at once". */
    if (delay_ms > 365ull * 24 * 3600 * 1000)
        delay_ms = 365ull * 24 * 3600 * 1000;
    t->due_ns = iovm_now_ns() + delay_ms * 1000000ull;
    t->cb = cb;
    t->arg = arg;
    for (pp = &loop->timers; *pp && (*pp)->due_ns <= t->due_ns;
         pp = &(*pp)->next)
        ;
    t->next = *pp;
    *pp = t;
    return t->id;
}

void iovm_loop_timer_cancel(struct iovm_loop *loop, int64_t id)
{
    struct loop_timer **pp, *t;

    for (pp = &loop->timers; (t = *pp); pp = &t->next) {
        if (t->id == id) {
            *pp = t->next;
            free(t);
            return;
        }
    }
}

static int loop_timeout_ms(struct iovm_loop *loop)
{
    uint64_t now;

    if (!loop->timers)
        return -1;
    now = iovm_now_ns();
    if (loop->timers->due_ns <= now)
        return 0;
    /* Round up so a timer never fires early. */
    return (int)IOVM_MIN((loop->timers->due_ns - now + 999999) / 1000000,
                         (uint64_t)60000);
}

static void loop_run_timers(struct iovm_loop *loop)
{
    uint64_t now = iovm_now_ns();
    struct loop_timer *t;

    while ((t = loop->timers) && t->due_ns <= now && !loop->stop) {
        loop->timers = t->next;
        t->cb(loop, t->arg);
        free(t);
    }
}

int iovm_loop_run(struct iovm_loop *loop)
{
    struct epoll_event evs[64];

    loop->stop = false;
    while (!loop->stop) {
        int i, n = epoll_wait(loop->epfd, evs, IOVM_ARRAY_SIZE(evs),
                              loop_timeout_ms(loop));

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (i = 0; i < n && !loop->stop; i++) {
            int fd = (int)(evs[i].data.u64 >> 32);
            uint32_t gen = evs[i].data.u64 & 0xffffffff;
            struct loop_fd *lf;

            if ((unsigned int)fd >= loop->nfds)
                continue;
            lf = &loop->fds[fd];
            if (!lf->live || (lf->gen & 0xffffffff) != gen)
                continue;
            lf->cb(loop, fd, evs[i].events, lf->arg);
        }
        loop_run_timers(loop);
    }
    return 0;
}

void iovm_loop_stop(struct iovm_loop *loop)
{
    loop->stop = true;
}
