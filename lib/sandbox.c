/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sandbox a supervised backend enters once its device is set up
 * (storage or TAP open, grant and event-channel handles open): no root,
 * no capabilities, no new privileges, and a seccomp allowlist — what
 * serving a device from open file descriptors needs, and nothing that
 * opens, executes or connects anything.  A call outside it kills the
 * process (after one line on stderr naming the call), and iovmd restarts
 * it; opening a file fails with EACCES instead (see load_filter).  Each
 * class adds its own calls and ioctls (struct iovm_sandbox).  io_uring
 * operations are not system calls: each ring is restricted to the
 * operations the block data path submits (iovm_sandbox_ring()).
 *
 * Trusts its caller; this is the boundary, not a parser.
 */
#include <errno.h>
#include <grp.h>
#include <linux/fs.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <xen/xen.h> /* domid_t, for the ioctl headers */
#include <xen/sys/evtchn.h>
#include <xen/sys/gntdev.h>

#include "sandbox.h"
#include "log.h"
#include "util.h"

/* Async-signal-safe: one line naming the call, then die of SIGSYS. */
static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
    char msg[128];
    size_t n = 0;
    char num[12];
    int v = si->si_syscall, i = 0;
    const char *ident = iovm_log_ident(); /* as the log names us */

    (void)uc;
    for (i = 0; ident[i] && n < 60; i++)
        msg[n++] = ident[i];
    memcpy(msg + n, ": sandbox: forbidden system call ", 33);
    n += 33;
    i = 0;
    do {
        num[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i < (int)sizeof(num));
    while (i)
        msg[n++] = num[--i];
    msg[n++] = '\n';
    if (write(STDERR_FILENO, msg, n) < 0) {
        /* nowhere to say it */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Every call the data path, libxenstore, the grant and event-channel
 * libraries (Debian's, or the simulator's shims) and glibc make once
 * set up. */
static const int allowed[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
    SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(close),
    SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(lseek),
    SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
    SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(futex),
    SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
    SCMP_SYS(epoll_create1), SCMP_SYS(poll), SCMP_SYS(ppoll),
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
    SCMP_SYS(gettimeofday), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
    SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(gettid),
    SCMP_SYS(tgkill), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
    SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(sched_yield),
    SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom),
    SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(membarrier),
    SCMP_SYS(eventfd2), SCMP_SYS(fcntl),
    SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
    SCMP_SYS(recvfrom), SCMP_SYS(shutdown), SCMP_SYS(getrusage),
#if defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer's check at exit (a thread that ptraces the rest). */
    SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(prctl),
    SCMP_SYS(getdents64), SCMP_SYS(readlink), SCMP_SYS(wait4),
    SCMP_SYS(getppid), SCMP_SYS(sched_getparam), SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64), SCMP_SYS(setrlimit), SCMP_SYS(kill),
#endif
};

/* The ioctls, by request number: grant and event-channel devices (the
 * class adds its own). */
static const unsigned long allowed_ioctls[] = {
    IOCTL_GNTDEV_MAP_GRANT_REF, IOCTL_GNTDEV_UNMAP_GRANT_REF,
    IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR, IOCTL_GNTDEV_SET_MAX_GRANTS,
    IOCTL_GNTDEV_SET_UNMAP_NOTIFY, IOCTL_GNTDEV_GRANT_COPY,
    IOCTL_EVTCHN_BIND_INTERDOMAIN, IOCTL_EVTCHN_UNBIND, IOCTL_EVTCHN_NOTIFY,
    IOCTL_EVTCHN_RESTRICT_DOMID, IOCTL_EVTCHN_RESET,
};

/* A name from the password database, or a number (uid = gid): a small
 * driver domain may have no /etc/passwd. */
int iovm_sandbox_user(const char *user, unsigned int *uidp,
                      unsigned int *gidp)
{
    struct passwd *pw;
    unsigned int n;

    if (!iovm_parse_uint(user, 0x7fffffff, &n)) {
        *uidp = *gidp = n;
        return 0;
    }
    errno = 0;
    pw = getpwnam(user);
    if (!pw)
        return errno ? -errno : -ENOENT;
    *uidp = pw->pw_uid;
    *gidp = pw->pw_gid;
    return 0;
}

static int drop_privileges(const char *user)
{
    unsigned int u, g;
    uid_t uid;
    gid_t gid;
    int rc = iovm_sandbox_user(user, &u, &g);

    if (rc)
        return rc;
    uid = (uid_t)u;
    gid = (gid_t)g;
    if (!uid)
        return -EPERM; /* that would be no drop at all */
    if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
        setresuid(uid, uid, uid))
        return -errno;
    /* A uid that is not 0 keeps no capability; make sure, and that no
     * exec could bring any back. */
    if (!getuid() || !geteuid())
        return -EPERM;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        return -errno;
    return 0;
}

static int load_filter(const struct iovm_sandbox *cls)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    struct sigaction sa = { 0 };
    unsigned int i;
    int rc = -ENOMEM;

    if (!ctx)
        return rc;
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
        if (rc)
            goto out;
    }
    for (i = 0; i < cls->nsyscalls; i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, cls->syscalls[i], 0);
        if (rc)
            goto out;
    }
    for (i = 0; i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, allowed_ioctls[i]));
        if (rc)
            goto out;
    }
    for (i = 0; i < cls->nioctls; i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, cls->ioctls[i]));
        if (rc)
            goto out;
    }
#if !defined(__SANITIZE_ADDRESS__)
    /* Threads (queue threads, libxenstore's reader), nothing else.
     * glibc tries clone3 first, whose flags seccomp cannot see: refuse
     * it softly and glibc uses clone. */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
                                  CLONE_THREAD));
    if (rc)
        goto out;
#endif
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc)
        goto out;
    /*
     * Opening a file is refused, not fatal: libraries look for files
     * lazily (glibc's malloc reads /proc/sys/vm/overcommit_memory the
     * first time it shrinks a thread's heap) and cope with EACCES.
     */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
    if (rc)
        goto out;
    sa.sa_sigaction = sigsys_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL)) {
        rc = -errno;
        goto out;
    }
    rc = seccomp_load(ctx);
out:
    seccomp_release(ctx);
    return rc;
}

int iovm_sandbox_enter(const char *user, const struct iovm_sandbox *cls)
{
    int rc = drop_privileges(user);

    if (rc) {
        LOG_ERR("sandbox: cannot become user %s: %s", user,
                rc == -ENOENT ? "no such user" : strerror(-rc));
        return rc;
    }
    rc = load_filter(cls);
    if (rc) {
        LOG_ERR("sandbox: cannot load the system call filter: %s",
                strerror(-rc));
        return rc;
    }
    LOG_INFO("sandboxed: user %s, no capabilities, system call allowlist",
             user);
    return 0;
}

int iovm_sandbox_ring(struct io_uring *ring)
{
    struct io_uring_restriction res[8] = { { 0 } };
    unsigned int n = 0;

    /* What the block data path submits, with the store's registered files... */
    res[n].opcode = IORING_RESTRICTION_SQE_OP;
    res[n++].sqe_op = IORING_OP_READV;
    res[n].opcode = IORING_RESTRICTION_SQE_OP;
    res[n++].sqe_op = IORING_OP_WRITEV;
    res[n].opcode = IORING_RESTRICTION_SQE_OP;
    res[n++].sqe_op = IORING_OP_FSYNC;
    res[n].opcode = IORING_RESTRICTION_SQE_OP;
    res[n++].sqe_op = IORING_OP_FALLOCATE; /* discard on a file */
    res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    res[n++].sqe_flags = IOSQE_FIXED_FILE;
    /* ... and, to let go of them at the end, unregistering. */
    res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
    res[n++].register_op = IORING_UNREGISTER_FILES;
    res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
    res[n++].register_op = IORING_UNREGISTER_EVENTFD;
    /* Debian 12's liburing declares these two but does not export
     * them: the system call itself. */
    if (syscall(__NR_io_uring_register, ring->ring_fd,
                IORING_REGISTER_RESTRICTIONS, res, n) < 0 ||
        syscall(__NR_io_uring_register, ring->ring_fd,
                IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        return -errno;
    return 0;
}
