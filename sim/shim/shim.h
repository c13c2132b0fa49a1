/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Common code of the simulator's ABI shims (drop-in libxengnttab,
 * libxenevtchn and libxenctrl): one hypervisor connection per handle and
 * a synchronous request/reply call.  The shims trust iovm-simd.
 */
#ifndef IOVM_SIM_SHIM_H
#define IOVM_SIM_SHIM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sim-proto.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

struct shim_conn {
    int fd;
    uint32_t seq;
    pthread_mutex_t lock;
    struct sim_hello_rsp hello;
};

/*
 * Connects to the hypervisor socket named by $IOVM_SIM_HV and says HELLO.
 * fds: up to 2 descriptors the HELLO reply carries.  Returns 0 or -errno
 * (-ENOENT when not running on the simulator).
 */
int shim_connect(struct shim_conn *c, uint32_t kind, int *fds,
                 unsigned int *nfds);
void shim_disconnect(struct shim_conn *c);

/*
 * Sends op with req and waits for the reply: its body (up to rsp_max
 * bytes) into rsp, its length in *rsp_len, and up to 2 fds.  Returns the
 * reply's ret (0 or -errno), or -EIO if simd went away.  The caller holds
 * c->lock.
 */
int shim_call(struct shim_conn *c, uint32_t op, const void *req, size_t len,
              void *rsp, size_t rsp_max, size_t *rsp_len, int *fds,
              unsigned int *nfds);
/* A one-way message (no reply). */
int shim_send(struct shim_conn *c, uint32_t op, const void *req, size_t len);

#endif
