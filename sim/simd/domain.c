/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Simulated domains: creation (sockets, RAM, event-channel page, a
 * network namespace) and destruction (processes killed, handles closed,
 * grants and channels dropped, @releaseDomain, the namespace), in the
 * order Xen tears a domain down.  Input comes from the control socket
 * (trusted toolstack) only.
 *
 * Every domain but dom0 has a network of its own, as a real one has its
 * own kernel: a network namespace with lo up, kept alive by a bind mount
 * of its nsfs file on <simdir>/dom<N>/netns (iovm-sim exec enters it).
 * Making one needs root (CAP_SYS_ADMIN); without it the domain is not
 * created.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "simd.h"

#define DOMID_FIRST_RESERVED 0x7ff0u

struct sim_dom *dom_by_id(struct simd *sd, uint32_t domid)
{
    struct sim_dom *d;

    for (d = sd->doms; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
}

struct sim_dom *dom_by_instance(struct simd *sd, uint64_t instance)
{
    struct sim_dom *d;

    for (d = sd->doms; d; d = d->next)
        if (d->instance == instance)
            return d;
    return NULL;
}

struct sim_dom *dom_by_name(struct simd *sd, const char *name)
{
    struct sim_dom *d;

    for (d = sd->doms; d; d = d->next)
        if (!strcmp(d->name, name))
            return d;
    return NULL;
}

static int dom_mem_init(struct sim_dom *dom)
{
    char path[64];
    size_t evt_size = (sizeof(struct sim_evtchn_page) + SIM_PAGE_SIZE - 1) &
                      ~(size_t)(SIM_PAGE_SIZE - 1);

    snprintf(path, sizeof(path), "dom%u-ram", dom->domid);
    dom->mem_fd = memfd_create(path, MFD_CLOEXEC);
    if (dom->mem_fd < 0)
        return -errno;
    if (ftruncate(dom->mem_fd, (off_t)SIM_DOM_PAGES * SIM_PAGE_SIZE) < 0)
        return -errno;
    /* A read-only file description of the same memory: mappings made
     * from it can never become writable, as a read-only grant. */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", dom->mem_fd);
    dom->mem_ro_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (dom->mem_ro_fd < 0)
        return -errno;
    dom->mem = mmap(NULL, (size_t)SIM_DOM_PAGES * SIM_PAGE_SIZE,
                    PROT_READ | PROT_WRITE, MAP_SHARED, dom->mem_fd, 0);
    if (dom->mem == MAP_FAILED) {
        dom->mem = NULL;
        return -errno;
    }
    dom->page_used = calloc(SIM_DOM_PAGES / 8, 1);
    if (!dom->page_used)
        return -ENOMEM;

    snprintf(path, sizeof(path), "dom%u-evtchn", dom->domid);
    dom->evt_fd = memfd_create(path, MFD_CLOEXEC);
    if (dom->evt_fd < 0)
        return -errno;
    if (ftruncate(dom->evt_fd, evt_size) < 0)
        return -errno;
    dom->evt = mmap(NULL, evt_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                    dom->evt_fd, 0);
    if (dom->evt == MAP_FAILED) {
        dom->evt = NULL;
        return -errno;
    }
    snprintf(path, sizeof(path), "dom%u-gnttab", dom->domid);
    dom->gnt_fd = memfd_create(path, MFD_CLOEXEC);
    if (dom->gnt_fd < 0)
        return -errno;
    if (ftruncate(dom->gnt_fd, sizeof(*dom->gt)) < 0)
        return -errno;
    dom->gt = mmap(NULL, sizeof(*dom->gt), PROT_READ | PROT_WRITE,
                   MAP_SHARED, dom->gnt_fd, 0);
    if (dom->gt == MAP_FAILED) {
        dom->gt = NULL;
        return -errno;
    }
    dom->gt->dom_instance = dom->instance;
    dom->ports = calloc(SIM_EVTCHN_NR, sizeof(*dom->ports));
    dom->grants = calloc(SIM_GNT_NR, sizeof(*dom->grants));
    if (!dom->ports || !dom->grants)
        return -ENOMEM;
    /* Xen starts every grant table with one frame. */
    dom->grant_entries = SIM_GNT_PER_FRAME;
    dom->gt->entries = dom->grant_entries;
    dom->grant_rover = SIM_GNT_FIRST;
    return 0;
}

/* Unmounts and removes a domain's netns file, if there is one. */
static void dom_netns_remove(const char *dir)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/netns", dir) >= (int)sizeof(path))
        return;
    /* MNT_DETACH: a process still inside keeps the namespace, not us. */
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        LOG_WARN("unmounting %s: %s", path, strerror(errno));
    if (unlink(path) < 0 && errno != ENOENT)
        LOG_WARN("removing %s: %s", path, strerror(errno));
}

/*
 * The child that makes the namespace: a fork of a single-threaded
 * daemon, so only system calls here.  Exit status: 0, or which step
 * failed (the parent logs it).
 */
static void dom_netns_child(const char *path)
{
    struct ifreq ifr = { .ifr_name = "lo" };
    int fd;

    if (unshare(CLONE_NEWNET) < 0)
        _exit(1);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        _exit(2);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        _exit(2);
    /* Our mount namespace is the daemon's: the mount outlives us. */
    if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
        _exit(3);
    _exit(0);
}

static int dom_netns_create(struct sim_dom *dom)
{
    static const char *const step[] = {
        "", "unshare(CLONE_NEWNET) failed (not root?)",
        "cannot bring lo up", "cannot bind-mount the namespace",
    };
    char path[PATH_MAX];
    int fd, status;
    pid_t pid;

    if (snprintf(path, sizeof(path), "%s/netns", dom->dir) >=
        (int)sizeof(path))
        return -ENAMETOOLONG;
    dom_netns_remove(dom->dir); /* left by a simd that was killed */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    pid = fork();
    if (pid < 0)
        return -errno;
    if (!pid)
        dom_netns_child(path);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (WIFEXITED(status) && !WEXITSTATUS(status))
        return 0;
    LOG_ERR("domain %u: network namespace: %s", dom->domid,
            WIFEXITED(status) && WEXITSTATUS(status) < 4
                ? step[WEXITSTATUS(status)]
                : "its helper died");
    dom_netns_remove(dom->dir);
    return -EPERM;
}

static void dom_free(struct sim_dom *dom)
{
    size_t evt_size = (sizeof(struct sim_evtchn_page) + SIM_PAGE_SIZE - 1) &
                      ~(size_t)(SIM_PAGE_SIZE - 1);
    char path[PATH_MAX];

    if (dom->xs_listen >= 0)
        close(dom->xs_listen);
    if (dom->hv_listen >= 0)
        close(dom->hv_listen);
    if (dom->dir) {
        snprintf(path, sizeof(path), "%s/xenstore.sock", dom->dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/hv.sock", dom->dir);
        unlink(path);
        if (dom->netns)
            dom_netns_remove(dom->dir);
        rmdir(dom->dir);
    }
    if (dom->mem)
        munmap(dom->mem, (size_t)SIM_DOM_PAGES * SIM_PAGE_SIZE);
    if (dom->evt)
        munmap(dom->evt, evt_size);
    if (dom->gt) {
        /* Shims still mapping it see the domain gone. */
        __atomic_store_n(&dom->gt->dead, 1, __ATOMIC_RELEASE);
        munmap(dom->gt, sizeof(*dom->gt));
    }
    if (dom->gnt_fd >= 0)
        close(dom->gnt_fd);
    if (dom->mem_fd >= 0)
        close(dom->mem_fd);
    if (dom->mem_ro_fd >= 0)
        close(dom->mem_ro_fd);
    if (dom->evt_fd >= 0)
        close(dom->evt_fd);
    free(dom->page_used);
    free(dom->ports);
    free(dom->grants);
    free(dom->pgids);
    free(dom->dir);
    free(dom->name);
    free(dom);
}

int dom_create(struct simd *sd, const char *name, int want_domid, bool priv,
               struct sim_dom **domp)
{
    struct sim_dom *dom = NULL;
    uint32_t domid;
    int rc;

    if (dom_by_name(sd, name))
        return -EEXIST;
    if (want_domid >= 0) {
        if ((uint32_t)want_domid >= DOMID_FIRST_RESERVED)
            return -EINVAL;
        if (dom_by_id(sd, want_domid))
            return -EEXIST;
        domid = want_domid;
    } else {
        /* Sequential like Xen: ids are not reused until they wrap. */
        unsigned int tries;

        for (tries = 0; tries < DOMID_FIRST_RESERVED; tries++) {
            domid = sd->next_domid++;
            if (sd->next_domid >= DOMID_FIRST_RESERVED)
                sd->next_domid = 1;
            if (!dom_by_id(sd, domid))
                break;
        }
        if (tries == DOMID_FIRST_RESERVED)
            return -ENOSPC;
    }

    dom = calloc(1, sizeof(*dom));
    if (!dom)
        return -ENOMEM;
    dom->sd = sd;
    dom->domid = domid;
    dom->instance = ++sd->next_instance;
    dom->priv = priv;
    dom->xs_listen = dom->hv_listen = -1;
    dom->mem_fd = dom->mem_ro_fd = dom->evt_fd = dom->gnt_fd = -1;
    dom->name = strdup(name);
    if (!dom->name || asprintf(&dom->dir, "%s/dom%u", sd->dir, domid) < 0) {
        dom->dir = NULL;
        rc = -ENOMEM;
        goto fail;
    }
    if (getrandom(dom->uuid, sizeof(dom->uuid), 0) != sizeof(dom->uuid)) {
        rc = -EIO;
        goto fail;
    }
    dom->uuid[6] = (dom->uuid[6] & 0x0f) | 0x40; /* version 4 */
    dom->uuid[8] = (dom->uuid[8] & 0x3f) | 0x80;
    if (mkdir(dom->dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        goto fail;
    }
    rc = dom_mem_init(dom);
    if (rc)
        goto fail;
    if (domid != 0) {
        dom->netns = true;
        rc = dom_netns_create(dom);
        if (rc)
            goto fail;
    }
    rc = xs_sock_listen(sd, dom);
    if (rc)
        goto fail;
    rc = hv_listen_start(dom);
    if (rc)
        goto fail;
    dom->next = sd->doms;
    sd->doms = dom;
    LOG_INFO("domain %u (%s) created", domid, name);
    *domp = dom;
    return 0;
fail:
    LOG_ERR("creating domain %s: %s", name, strerror(-rc));
    if (dom->xs_listen >= 0)
        iovm_loop_fd_del(sd->loop, dom->xs_listen);
    dom_free(dom);
    return rc;
}

void dom_destroy(struct simd *sd, struct sim_dom *dom)
{
    struct sim_dom **pp;
    unsigned int i;

    LOG_INFO("domain %u (%s) destroyed", dom->domid, dom->name);
    /* A dead domain runs nothing: its processes go first. */
    for (i = 0; i < dom->npgids; i++)
        kill(dom->pgids[i], SIGKILL);
    /* Closing every handle closes its channels (peers' ports become
     * unbound), ends its grants and drops its mappings of others. */
    while (dom->conns)
        hv_conn_close(dom->conns);
    pci_dom_destroyed(sd, dom->domid);
    for (pp = &sd->doms; *pp; pp = &(*pp)->next) {
        if (*pp == dom) {
            *pp = dom->next;
            break;
        }
    }
    iovm_loop_fd_del(sd->loop, dom->xs_listen);
    iovm_loop_fd_del(sd->loop, dom->hv_listen);
    xs_sock_close_domain(sd, dom->domid);
    if (dom->introduced)
        xs_server_domain_released(sd->xs, dom->domid);
    else
        xs_store_domain_gone(xs_server_store(sd->xs), dom->domid);
    dom_free(dom);
}
