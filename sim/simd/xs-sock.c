/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenstore sockets: one listening unix socket per domain; a connection
 * belongs to the domain whose socket it came in on (dom0's is privileged).
 * Moves bytes between sockets and the protocol engine (xs-server.c), with
 * back-pressure: a client with too many unread replies is not read from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "simd.h"

struct xs_sock {
    struct xs_sock *next, *prev;
    struct simd *sd;
    struct xs_client *cl;
    int fd;
    uint32_t events;
};

static void xs_sock_update(struct xs_sock *s)
{
    const void *buf;
    uint32_t ev = 0;

    if (xs_client_can_read(s->cl))
        ev |= EPOLLIN;
    if (xs_client_output(s->cl, &buf))
        ev |= EPOLLOUT;
    if (ev != s->events) {
        iovm_loop_fd_mod(s->sd->loop, s->fd, ev);
        s->events = ev;
    }
}

static void xs_sock_close(struct xs_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->sd->xs_socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    iovm_loop_fd_del(s->sd->loop, s->fd);
    close(s->fd);
    xs_client_free(s->cl);
    free(s);
}

/* Returns false if the connection was closed. */
static bool xs_sock_flush(struct xs_sock *s)
{
    const void *buf;
    size_t len;

    while ((len = xs_client_output(s->cl, &buf))) {
        ssize_t n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            xs_sock_close(s);
            return false;
        }
        xs_client_consume(s->cl, n);
    }
    return true;
}

static void xs_sock_cb(struct iovm_loop *loop, int fd, uint32_t events,
                       void *arg)
{
    struct xs_sock *s = arg;
    char buf[8192];

    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            xs_sock_close(s);
            return;
        }
        if (n > 0 && xs_client_input(s->cl, buf, n)) {
            LOG_WARN("xenstore: dom%u sent an oversize message, dropping "
                     "the connection",
                     xs_client_domid(s->cl));
            xs_sock_close(s);
            return;
        }
    }
    if (!xs_sock_flush(s))
        return;
    xs_sock_update(s);
}

static void xs_accept_cb(struct iovm_loop *loop, int fd, uint32_t events,
                         void *arg)
{
    struct sim_dom *dom = arg;
    struct xs_sock *s;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (cfd < 0)
        return;
    s = calloc(1, sizeof(*s));
    if (!s) {
        close(cfd);
        return;
    }
    s->sd = dom->sd;
    s->fd = cfd;
    s->events = EPOLLIN;
    s->cl = xs_client_new(dom->sd->xs, dom->domid, dom->priv, s);
    if (!s->cl || iovm_loop_fd_add(loop, cfd, EPOLLIN, xs_sock_cb, s)) {
        xs_client_free(s->cl);
        close(cfd);
        free(s);
        return;
    }
    s->next = dom->sd->xs_socks;
    if (s->next)
        s->next->prev = s;
    dom->sd->xs_socks = s;
}

int xs_sock_listen(struct simd *sd, struct sim_dom *dom)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, rc;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenstore.sock",
                 dom->dir) >= (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    unlink(sa.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 64) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    rc = iovm_loop_fd_add(sd->loop, fd, EPOLLIN, xs_accept_cb, dom);
    if (rc) {
        close(fd);
        return rc;
    }
    dom->xs_listen = fd;
    return 0;
}

/* Output became available on some client: arm its socket for writing. */
void xs_sock_output(void *arg, struct xs_client *cl)
{
    struct xs_sock *s = xs_client_arg(cl);

    if (!(s->events & EPOLLOUT)) {
        s->events |= EPOLLOUT;
        iovm_loop_fd_mod(s->sd->loop, s->fd, s->events);
    }
}

void xs_sock_close_domain(struct simd *sd, uint32_t domid)
{
    struct xs_sock *s, *next;

    for (s = sd->xs_socks; s; s = next) {
        next = s->next;
        if (xs_client_domid(s->cl) == domid)
            xs_sock_close(s);
    }
}
