/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hypervisor connection for the ABI shims: SOCK_SEQPACKET messages with
 * descriptors passed as SCM_RIGHTS.  Trusts iovm-simd's replies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

static int shim_recv(struct shim_conn *c, struct sim_hdr *h, void *body,
                     size_t body_max, int *fds, unsigned int *nfds)
{
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov[2] = { { h, sizeof(*h) }, { body, body_max } };
    struct msghdr msg = { .msg_iov = iov,
                          .msg_iovlen = 2,
                          .msg_control = u.buf,
                          .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *cm;
    unsigned int got = 0;
    ssize_t n;

    do {
        n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < (ssize_t)sizeof(*h))
        return -EIO;
    for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            unsigned int i, k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *p = (int *)CMSG_DATA(cm);

            for (i = 0; i < k; i++) {
                if (fds && nfds && got < *nfds)
                    fds[got++] = p[i];
                else
                    close(p[i]);
            }
        }
    }
    if (nfds)
        *nfds = got;
    if (h->len != (size_t)n - sizeof(*h))
        return -EIO;
    return 0;
}

int shim_call(struct shim_conn *c, uint32_t op, const void *req, size_t len,
              void *rsp, size_t rsp_max, size_t *rsp_len, int *fds,
              unsigned int *nfds)
{
    struct sim_hdr h = { op, ++c->seq, 0, (uint32_t)len }, r;
    struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)req, len } };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
    unsigned int want = nfds ? *nfds : 0;
    ssize_t n;
    int rc;

    do {
        n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)(sizeof(h) + len))
        return -EIO;
    if (nfds)
        *nfds = want;
    rc = shim_recv(c, &r, rsp, rsp_max, fds, nfds);
    if (rc)
        return rc;
    if (r.seq != h.seq || r.op != op)
        return -EIO;
    if (rsp_len)
        *rsp_len = r.len;
    return r.ret;
}

int shim_send(struct shim_conn *c, uint32_t op, const void *req, size_t len)
{
    struct sim_hdr h = { op, ++c->seq, 0, (uint32_t)len };
    struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)req, len } };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
    ssize_t n;

    do {
        n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)(sizeof(h) + len) ? 0 : -EIO;
}

int shim_connect(struct shim_conn *c, uint32_t kind, int *fds,
                 unsigned int *nfds)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct sim_hello_req req = { kind };
    const char *path = getenv(SIM_ENV_HV);
    size_t len;
    int rc;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    if (!path || !*path)
        return -ENOENT; /* not inside a simulated domain */
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        close(c->fd);
        c->fd = -1;
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    rc = shim_call(c, SIM_OP_HELLO, &req, sizeof(req), &c->hello,
                   sizeof(c->hello), &len, fds, nfds);
    if (!rc && len != sizeof(c->hello))
        rc = -EIO;
    if (rc) {
        shim_disconnect(c);
        return rc;
    }
    return 0;
}

void shim_disconnect(struct shim_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        pthread_mutex_destroy(&c->lock);
    }
    c->fd = -1;
}
