/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backends' sandbox (sandbox.c): entered once a supervised backend
 * has opened everything its device needs.
 */
#ifndef IOVM_SANDBOX_H
#define IOVM_SANDBOX_H

#include <liburing.h>

/* What a device class needs beyond the common allowlist: system calls
 * (seccomp's numbers, SCMP_SYS()) and ioctl requests. */
struct iovm_sandbox {
    const int *syscalls;
    unsigned int nsyscalls;
    const unsigned long *ioctls;
    unsigned int nioctls;
};

/* The uid and gid of a user name, or of a number (both the number).
 * 0 or -errno (-ENOENT: no such user). */
int iovm_sandbox_user(const char *user, unsigned int *uid,
                      unsigned int *gid);

/* Becomes user (not root), no capabilities, no new privileges, and
 * loads the system call allowlist with cls's additions.  0 or -errno
 * (then nothing is served: the caller fails the device). */
int iovm_sandbox_enter(const char *user, const struct iovm_sandbox *cls);

/* Restricts a ring created with IORING_SETUP_R_DISABLED to the
 * operations the block data path submits, then enables it.  0 or
 * -errno. */
int iovm_sandbox_ring(struct io_uring *ring);

#endif
