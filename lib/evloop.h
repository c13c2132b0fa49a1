/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small epoll event loop: file descriptors and one-shot timers, one
 * thread.  Callbacks may add or remove any registration, including their
 * own, while being dispatched.
 */
#ifndef IOVM_EVLOOP_H
#define IOVM_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct iovm_loop;

typedef void iovm_fd_cb(struct iovm_loop *loop, int fd, uint32_t events,
                        void *arg);
typedef void iovm_timer_cb(struct iovm_loop *loop, void *arg);

int iovm_loop_new(struct iovm_loop **loopp);
void iovm_loop_free(struct iovm_loop *loop);

/* events are EPOLLIN/EPOLLOUT; EPOLLERR/EPOLLHUP are always reported. */
int iovm_loop_fd_add(struct iovm_loop *loop, int fd, uint32_t events,
                     iovm_fd_cb *cb, void *arg);
int iovm_loop_fd_mod(struct iovm_loop *loop, int fd, uint32_t events);
/* After this returns no callback for fd runs again. */
void iovm_loop_fd_del(struct iovm_loop *loop, int fd);

/* One-shot timer; returns an id > 0, or -errno. */
int64_t iovm_loop_timer_add(struct iovm_loop *loop, uint64_t delay_ms,
                            iovm_timer_cb *cb, void *arg);
void iovm_loop_timer_cancel(struct iovm_loop *loop, int64_t id);

/* Runs until iovm_loop_stop(); returns 0 or -errno. */
int iovm_loop_run(struct iovm_loop *loop);
void iovm_loop_stop(struct iovm_loop *loop);

#endif
