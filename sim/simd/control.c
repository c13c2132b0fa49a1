/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: the toolstack's (iovm-sim's) line protocol to the
 * simulated hypervisor.  One command per line, answered by "OK [...]" or
 * "ERR <errno> <text>"; "list" sends its rows first.  Only processes that
 * can open <dir>/control.sock (mode 0600) get here, but lines are still
 * parsed strictly.
 *
 *   create NAME [DOMID]            -> OK DOMID UUID
 *   destroy DOMID                  -> abrupt hypervisor-level destroy
 *   list                 -> DOM <domid> <name> <uuid> <instance> <intro>
 *   find NAME|DOMID                -> OK DOMID NAME
 *   pgid DOMID PGID                -> kill this process group on destroy
 *   pid DOMID PID                  -> kill this process on destroy
 *   fault map|copy DOMID N ERRNO   -> fail the next N grant maps/copies
 *   fault copy-seg DOMID N         -> fail the next N copy segments
 *   fault notify-drop DOMID N      -> drop the next N notifications sent
 *   fault notify-delay DOMID MS    -> delay notifications sent (0: off)
 *   grant-status DOMID REF         -> OK free | OK active ...
 *   grant-end DOMID REF            -> end access (EBUSY while in use)
 *   stats DOMID                    -> OK key=value...
 *   xs-stats                       -> OK nodes=... events_dropped=...
 *   xs-quota NAME VALUE            -> set a xenstore quota
 *   host iommu|intremap on|off     -> what the host's Xen reports
 *   host cmdline [WORD...]         -> Xen's command line
 *   pci-owner BDF [DOMID]          -> OK owner=DOMID (32753: DOMID_IO);
 *                                     with DOMID, assign it there first
 *   stop                           -> OK, then simd exits
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "simd.h"
#include "util.h"

#define LINE_MAX_LEN 1024

struct ctl_conn {
    struct ctl_conn *next;
    struct simd *sd;
    int fd;
    char buf[LINE_MAX_LEN];
    size_t used;
};

static void ctl_send(struct ctl_conn *cc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ctl_send(struct ctl_conn *cc, const char *fmt, ...)
{
    char line[LINE_MAX_LEN];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* The toolstack reads its answers; a blocking write is fine here. */
    iovm_write_all(cc->fd, line, n);
}

static void ctl_err(struct ctl_conn *cc, int err, const char *what)
{
    ctl_send(cc, "ERR %d %s: %s", err, what, strerror(err));
}

static void uuid_str(const uint8_t *u, char *buf)
{
    sprintf(buf,
            "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
            u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
            u[11], u[12], u[13], u[14], u[15]);
}

static struct sim_dom *ctl_dom(struct ctl_conn *cc, const char *arg)
{
    unsigned int domid;
    struct sim_dom *d = NULL;

    if (!arg)
        return NULL;
    if (!iovm_parse_uint(arg, 0xffff, &domid))
        d = dom_by_id(cc->sd, domid);
    if (!d)
        d = dom_by_name(cc->sd, arg);
    return d;
}

static int errno_parse(const char *s, int *err)
{
    static const struct {
        const char *name;
        int err;
    } names[] = { { "EIO", EIO },       { "ENOMEM", ENOMEM },
                  { "EINVAL", EINVAL }, { "EAGAIN", EAGAIN },
                  { "EFAULT", EFAULT }, { "ENOSPC", ENOSPC },
                  { "EPERM", EPERM },   { "EACCES", EACCES },
                  { "EBUSY", EBUSY },   { "ENOENT", ENOENT } };
    unsigned int i, v;

    for (i = 0; i < IOVM_ARRAY_SIZE(names); i++) {
        if (!strcmp(s, names[i].name)) {
            *err = names[i].err;
            return 0;
        }
    }
    if (iovm_parse_uint(s, 4095, &v) || !v)
        return -EINVAL;
    *err = (int)v;
    return 0;
}

static void ctl_fault(struct ctl_conn *cc, char **argv, int argc)
{
    struct sim_dom *d = argc >= 3 ? ctl_dom(cc, argv[2]) : NULL;
    unsigned int n;
    int err = 0;

    if (!d) {
        ctl_err(cc, ESRCH, "fault: no such domain");
        return;
    }
    if (argc < 4 || iovm_parse_uint(argv[3], 1000000, &n)) {
        ctl_err(cc, EINVAL, "fault: bad count");
        return;
    }
    if (!strcmp(argv[1], "map") || !strcmp(argv[1], "copy")) {
        if (argc != 5 || errno_parse(argv[4], &err)) {
            ctl_err(cc, EINVAL, "fault: bad errno");
            return;
        }
        if (argv[1][0] == 'm') {
            d->fail_map = n;
            d->fail_map_errno = err;
        } else {
            d->fail_copy = n;
            d->fail_copy_errno = err;
            gnt_copy_faults_changed(d);
        }
    } else if (!strcmp(argv[1], "copy-seg") && argc == 4) {
        d->fail_copy_seg = n;
        gnt_copy_faults_changed(d);
    } else if (!strcmp(argv[1], "notify-drop") && argc == 4) {
        __atomic_store_n(&d->evt->drop_notify, n, __ATOMIC_RELAXED);
    } else if (!strcmp(argv[1], "notify-delay") && argc == 4) {
        __atomic_store_n(&d->evt->delay_notify_ms, n, __ATOMIC_RELAXED);
    } else {
        ctl_err(cc, EINVAL, "fault: unknown fault");
        return;
    }
    ctl_send(cc, "OK");
}

static void ctl_stats(struct ctl_conn *cc, struct sim_dom *d)
{
    unsigned int ports = 0, handles = 0, i;
    uint64_t active_maps = 0;
    struct hv_conn *c;

    for (i = 1; i < SIM_EVTCHN_NR; i++)
        if (d->ports[i].state != PORT_FREE)
            ports++;
    for (c = d->conns; c; c = c->next) {
        active_maps += c->mapped;
        handles++;
    }
    ctl_send(cc,
             "OK grants=%u pages=%u maps_active=%llu ports=%u handles=%u "
             "notify_sent=%llu notify_dropped=%llu maps_total=%llu "
             "copies=%llu copy_segs=%llu xs_nodes=%u xs_watches=%u",
             d->grants_used, d->pages_used, (unsigned long long)active_maps,
             ports, handles,
             (unsigned long long)__atomic_load_n(&d->evt->notify_sent,
                                                 __ATOMIC_RELAXED),
             (unsigned long long)__atomic_load_n(&d->evt->notify_dropped,
                                                 __ATOMIC_RELAXED),
             (unsigned long long)d->maps_total,
             (unsigned long long)__atomic_load_n(&d->gt->copies_total,
                                                 __ATOMIC_RELAXED),
             (unsigned long long)__atomic_load_n(&d->gt->copy_segs_total,
                                                 __ATOMIC_RELAXED),
             xs_store_domain_nodes(xs_server_store(cc->sd->xs), d->domid),
             xs_server_watch_count(cc->sd->xs, d->domid));
}

static void ctl_grant(struct ctl_conn *cc, char **argv, int argc)
{
    struct sim_dom *d = argc == 3 ? ctl_dom(cc, argv[1]) : NULL;
    unsigned int ref;
    uint32_t w;
    int rc;

    if (!d) {
        ctl_err(cc, ESRCH, "no such domain");
        return;
    }
    if (iovm_parse_uint(argv[2], SIM_GNT_NR - 1, &ref)) {
        ctl_err(cc, EINVAL, "bad grant reference");
        return;
    }
    if (!strcmp(argv[0], "grant-end")) {
        rc = gnt_end_access(d, ref);
        if (rc)
            ctl_err(cc, -rc, "grant-end");
        else
            ctl_send(cc, "OK");
        return;
    }
    w = gnt_word(d, ref);
    if (!(w & SIM_GNTW_IN_USE))
        ctl_send(cc, "OK free");
    else
        ctl_send(cc,
                 "OK active grantee=%u readonly=%d maps=%u pins=%u "
                 "revoked=%d",
                 d->gt->e[ref].grantee, !!(w & SIM_GNTW_READONLY),
                 d->grants[ref].maps, w & SIM_GNTW_PINS,
                 !!(w & SIM_GNTW_REVOKED));
}

static void ctl_host(struct ctl_conn *cc, char **argv, int argc)
{
    struct simd *sd = cc->sd;
    size_t used = 0;
    int i;

    if (!strcmp(argv[1], "cmdline")) {
        sd->host_cmdline[0] = '\0';
        for (i = 2; i < argc; i++) {
            int n = snprintf(sd->host_cmdline + used,
                             sizeof(sd->host_cmdline) - used, "%s%s",
                             i > 2 ? " " : "", argv[i]);

            if (n < 0 || (size_t)n >= sizeof(sd->host_cmdline) - used) {
                ctl_err(cc, E2BIG, "host cmdline: too long");
                return;
            }
            used += (size_t)n;
        }
        ctl_send(cc, "OK");
        return;
    }
    if (argc != 3 || (strcmp(argv[2], "on") && strcmp(argv[2], "off")) ||
        (strcmp(argv[1], "iommu") && strcmp(argv[1], "intremap"))) {
        ctl_err(cc, EINVAL, "host iommu|intremap on|off, host cmdline ...");
        return;
    }
    if (!strcmp(argv[1], "iommu"))
        sd->host_iommu = !strcmp(argv[2], "on");
    else
        sd->host_intremap = !strcmp(argv[2], "on");
    ctl_send(cc, "OK");
}

static void ctl_xs_quota(struct ctl_conn *cc, char **argv, int argc)
{
    struct xs_quota *q = xs_store_quota(xs_server_store(cc->sd->xs));
    struct xs_limits *l = xs_server_limits(cc->sd->xs);
    unsigned int v;
    unsigned int *field = NULL;

    if (argc != 3 || iovm_parse_uint(argv[2], 1000000, &v)) {
        ctl_err(cc, EINVAL, "xs-quota NAME VALUE");
        return;
    }
    if (!strcmp(argv[1], "nodes"))
        field = &q->nodes_per_domain;
    else if (!strcmp(argv[1], "entry-size"))
        field = &q->max_entry_size;
    else if (!strcmp(argv[1], "perms"))
        field = &q->perms_per_node;
    else if (!strcmp(argv[1], "txn-nodes"))
        field = &q->nodes_per_txn;
    else if (!strcmp(argv[1], "watches"))
        field = &l->watches_per_domain;
    else if (!strcmp(argv[1], "transactions"))
        field = &l->txns_per_conn;
    else if (!strcmp(argv[1], "outstanding"))
        field = &l->outstanding_per_conn;
    else if (!strcmp(argv[1], "events"))
        field = &l->events_per_conn;
    if (!field) {
        ctl_err(cc, EINVAL, "unknown quota");
        return;
    }
    *field = v;
    ctl_send(cc, "OK");
}

static void ctl_line(struct ctl_conn *cc, char *line)
{
    struct simd *sd = cc->sd;
    char *argv[16], *save = NULL, *tok;
    int argc = 0;
    struct sim_dom *d;

    for (tok = strtok_r(line, " \t", &save); tok && argc < 16;
         tok = strtok_r(NULL, " \t", &save))
        argv[argc++] = tok;
    if (!argc) {
        ctl_err(cc, EINVAL, "empty command");
        return;
    }
    if (!strcmp(argv[0], "create") && (argc == 2 || argc == 3)) {
        unsigned int want = 0;
        int rc;

        if (argc == 3 && iovm_parse_uint(argv[2], 0x7fef, &want)) {
            ctl_err(cc, EINVAL, "create: bad domid");
            return;
        }
        rc = dom_create(sd, argv[1], argc == 3 ? (int)want : -1, false, &d);
        if (rc) {
            ctl_err(cc, -rc, "create");
        } else {
            char u[40];

            uuid_str(d->uuid, u);
            ctl_send(cc, "OK %u %s", d->domid, u);
        }
    } else if (!strcmp(argv[0], "destroy") && argc == 2) {
        d = ctl_dom(cc, argv[1]);
        if (!d || d->priv)
            ctl_err(cc, d ? EPERM : ESRCH, "destroy");
        else {
            dom_destroy(sd, d);
            ctl_send(cc, "OK");
        }
    } else if (!strcmp(argv[0], "list") && argc == 1) {
        for (d = sd->doms; d; d = d->next) {
            char u[40];

            uuid_str(d->uuid, u);
            ctl_send(cc, "DOM %u %s %s %llu %d", d->domid, d->name, u,
                     (unsigned long long)d->instance, d->introduced);
        }
        ctl_send(cc, "OK");
    } else if (!strcmp(argv[0], "find") && argc == 2) {
        d = ctl_dom(cc, argv[1]);
        if (!d)
            ctl_err(cc, ESRCH, "no such domain");
        else
            ctl_send(cc, "OK %u %s", d->domid, d->name);
    } else if ((!strcmp(argv[0], "pgid") || !strcmp(argv[0], "pid")) &&
               argc == 3) {
        unsigned int pgid;
        pid_t *p;

        d = ctl_dom(cc, argv[1]);
        if (!d || iovm_parse_uint(argv[2], 0x7fffffff, &pgid) || pgid < 2) {
            ctl_err(cc, EINVAL, "pgid");
            return;
        }
        /* A process group is stored negated, as kill() takes it. */
        p = realloc(d->pgids, (d->npgids + 1) * sizeof(*p));
        if (!p) {
            ctl_err(cc, ENOMEM, "pgid");
            return;
        }
        d->pgids = p;
        d->pgids[d->npgids++] = argv[0][1] == 'g' ? -(pid_t)pgid : (pid_t)pgid;
        ctl_send(cc, "OK");
    } else if (!strcmp(argv[0], "fault") && argc >= 3) {
        ctl_fault(cc, argv, argc);
    } else if ((!strcmp(argv[0], "grant-status") ||
                !strcmp(argv[0], "grant-end")) &&
               argc == 3) {
        ctl_grant(cc, argv, argc);
    } else if (!strcmp(argv[0], "stats") && argc == 2) {
        d = ctl_dom(cc, argv[1]);
        if (!d)
            ctl_err(cc, ESRCH, "no such domain");
        else
            ctl_stats(cc, d);
    } else if (!strcmp(argv[0], "xs-stats") && argc == 1) {
        ctl_send(cc, "OK nodes=%u events_dropped=%llu",
                 xs_store_count(xs_server_store(sd->xs)),
                 (unsigned long long)xs_server_events_dropped(sd->xs));
    } else if (!strcmp(argv[0], "xs-quota")) {
        ctl_xs_quota(cc, argv, argc);
    } else if (!strcmp(argv[0], "pci-owner") && (argc == 2 || argc == 3)) {
        unsigned int seg, bus, dev, fn, domid = 0;
        char end;
        int rc = 0;

        if (sscanf(argv[1], "%4x:%2x:%2x.%1x%c", &seg, &bus, &dev, &fn,
                   &end) != 4 || dev > 31 || fn > 7 ||
            (argc == 3 && iovm_parse_uint(argv[2], 0x7ff1, &domid))) {
            ctl_err(cc, EINVAL, "pci-owner DDDD:BB:DD.F [DOMID]");
        } else {
            uint32_t sbdf = seg << 16 | bus << 8 | dev << 3 | fn;

            /* As xl pci-attach's libxl would: assign it to a domain. */
            if (argc == 3)
                rc = pci_assign_op(sd, &(struct sim_pci_assign_req){
                                           SIM_PCI_ASSIGN, domid, sbdf });
            if (rc)
                ctl_err(cc, -rc, "pci-owner");
            else
                ctl_send(cc, "OK owner=%u", pci_owner(sd, sbdf));
        }
    } else if (!strcmp(argv[0], "host") && argc >= 2) {
        ctl_host(cc, argv, argc);
    } else if (!strcmp(argv[0], "stop") && argc == 1) {
        ctl_send(cc, "OK");
        sd->stopping = true;
        iovm_loop_stop(sd->loop);
    } else {
        ctl_err(cc, EINVAL, "unknown command");
    }
}

static void ctl_close(struct ctl_conn *cc)
{
    struct ctl_conn **pp;

    for (pp = &cc->sd->ctl_conns; *pp; pp = &(*pp)->next) {
        if (*pp == cc) {
            *pp = cc->next;
            break;
        }
    }
    iovm_loop_fd_del(cc->sd->loop, cc->fd);
    close(cc->fd);
    free(cc);
}

static void ctl_conn_cb(struct iovm_loop *loop, int fd, uint32_t events,
                        void *arg)
{
    struct ctl_conn *cc = arg;
    ssize_t n;
    char *nl;

    n = read(fd, cc->buf + cc->used, sizeof(cc->buf) - 1 - cc->used);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        ctl_close(cc);
        return;
    }
    cc->used += n;
    cc->buf[cc->used] = '\0';
    while ((nl = strchr(cc->buf, '\n'))) {
        *nl = '\0';
        ctl_line(cc, cc->buf);
        memmove(cc->buf, nl + 1, cc->used - (nl + 1 - cc->buf) + 1);
        cc->used -= nl + 1 - cc->buf;
        if (cc->sd->stopping)
            return; /* the connection stays open until simd exits */
    }
    if (cc->used == sizeof(cc->buf) - 1) {
        ctl_err(cc, E2BIG, "line too long");
        ctl_close(cc);
    }
}

static void ctl_accept_cb(struct iovm_loop *loop, int fd, uint32_t events,
                          void *arg)
{
    struct simd *sd = arg;
    struct ctl_conn *cc;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (cfd < 0)
        return;
    cc = calloc(1, sizeof(*cc));
    if (!cc) {
        close(cfd);
        return;
    }
    cc->sd = sd;
    cc->fd = cfd;
    if (iovm_loop_fd_add(loop, cfd, EPOLLIN, ctl_conn_cb, cc)) {
        close(cfd);
        free(cc);
        return;
    }
    cc->next = sd->ctl_conns;
    sd->ctl_conns = cc;
}

void control_stop(struct simd *sd)
{
    /* The connection that asked us to stop closes last, at exit: its
     * peer waits for that to know we are gone. */
    while (sd->ctl_conns) {
        struct ctl_conn *cc = sd->ctl_conns;

        sd->ctl_conns = cc->next;
        iovm_loop_fd_del(sd->loop, cc->fd);
        free(cc); /* fd left open on purpose; the kernel closes it */
    }
    if (sd->control_fd >= 0) {
        iovm_loop_fd_del(sd->loop, sd->control_fd);
        close(sd->control_fd);
    }
}

int control_start(struct simd *sd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, rc;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock",
                 sd->dir) >= (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    unlink(sa.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(sa.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    rc = iovm_loop_fd_add(sd->loop, fd, EPOLLIN, ctl_accept_cb, sd);
    if (rc) {
        close(fd);
        return rc;
    }
    sd->control_fd = fd;
    return 0;
}
