/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkback's sandbox (blk-sandbox.c): entered once a supervised
 * backend has opened everything its device needs.
 */
#ifndef IOVM_BLK_SANDBOX_H
#define IOVM_BLK_SANDBOX_H

#include <liburing.h>

/* Becomes user (not root), no capabilities, no new privileges, and
 * loads the system call allowlist.  0 or -errno (then nothing is
 * served: the caller fails the device). */
int blk_sandbox_enter(const char *user);

/* Restricts a ring created with IORING_SETUP_R_DISABLED to the
 * operations blk-queue.c submits, then enables it.  0 or -errno. */
int blk_sandbox_ring(struct io_uring *ring);

#endif
