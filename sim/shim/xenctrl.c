/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few libxenctrl.so.4.17 calls iovm uses, for the simulator: opening
 * an interface and reading domain information.  As on Xen, only a
 * privileged domain may read other domains' information (EPERM
 * otherwise).  Trusts iovm-simd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>

#include "shim.h"

struct xc_interface_core {
    struct shim_conn conn;
};

SHIM_EXPORT xc_interface *xc_interface_open(xentoollog_logger *logger,
                                            xentoollog_logger *dombuild_logger,
                                            unsigned open_flags)
{
    struct xc_interface_core *xch = calloc(1, sizeof(*xch));
    int rc;

    if (!xch) {
        errno = ENOMEM;
        return NULL;
    }
    rc = shim_connect(&xch->conn, SIM_HANDLE_CTRL, NULL, NULL);
    if (rc) {
        free(xch);
        errno = -rc;
        return NULL;
    }
    return xch;
}

SHIM_EXPORT int xc_interface_close(xc_interface *xch)
{
    if (!xch)
        return 0;
    shim_disconnect(&xch->conn);
    free(xch);
    return 0;
}

/* Fetches up to max entries from first_domid on; returns count or -errno. */
static int dominfo(xc_interface *xch, uint32_t first_domid, unsigned int max,
                   struct sim_dominfo_rsp **rspp)
{
    struct sim_dominfo_req req = { first_domid, max };
    struct sim_dominfo_rsp *rsp = malloc(SIM_MSG_MAX);
    size_t rlen;
    int rc;

    if (!rsp)
        return -ENOMEM;
    pthread_mutex_lock(&xch->conn.lock);
    rc = shim_call(&xch->conn, SIM_OP_DOMINFO, &req, sizeof(req), rsp,
                   SIM_MSG_MAX, &rlen, NULL, NULL);
    pthread_mutex_unlock(&xch->conn.lock);
    if (!rc && (rlen < sizeof(*rsp) ||
                rlen != sizeof(*rsp) + rsp->count * sizeof(rsp->info[0])))
        rc = -EIO;
    if (rc) {
        free(rsp);
        return rc;
    }
    *rspp = rsp;
    return (int)rsp->count;
}

SHIM_EXPORT int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                                      unsigned int max_domains,
                                      xc_domaininfo_t *info)
{
    struct sim_dominfo_rsp *rsp;
    int n = dominfo(xch, first_domain, max_domains, &rsp), i;

    if (n < 0) {
        errno = -n;
        return -1;
    }
    for (i = 0; i < n; i++) {
        const struct sim_dominfo *d = &rsp->info[i];

        memset(&info[i], 0, sizeof(info[i]));
        info[i].domain = (domid_t)d->domid;
        info[i].flags = ((d->flags & SIM_DOMINFO_DYING) ? XEN_DOMINF_dying : 0) |
                        ((d->flags & SIM_DOMINFO_SHUTDOWN) ? XEN_DOMINF_shutdown : 0) |
                        ((d->flags & SIM_DOMINFO_RUNNING) ? XEN_DOMINF_running : 0);
        info[i].tot_pages = d->tot_pages;
        info[i].max_pages = d->max_pages;
        info[i].max_vcpu_id = d->max_vcpu_id;
        memcpy(info[i].handle, d->handle, sizeof(info[i].handle));
    }
    free(rsp);
    return n;
}

SHIM_EXPORT int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid,
                                  unsigned int max_doms, xc_dominfo_t *info)
{
    struct sim_dominfo_rsp *rsp;
    int n = dominfo(xch, first_domid, max_doms, &rsp), i;

    if (n < 0) {
        errno = -n;
        return -1;
    }
    for (i = 0; i < n; i++) {
        const struct sim_dominfo *d = &rsp->info[i];

        memset(&info[i], 0, sizeof(info[i]));
        info[i].domid = d->domid;
        info[i].dying = !!(d->flags & SIM_DOMINFO_DYING);
        info[i].shutdown = !!(d->flags & SIM_DOMINFO_SHUTDOWN);
        info[i].running = !!(d->flags & SIM_DOMINFO_RUNNING);
        info[i].nr_pages = d->tot_pages;
        info[i].max_memkb = d->max_pages * (SIM_PAGE_SIZE / 1024);
        info[i].max_vcpu_id = d->max_vcpu_id;
        info[i].nr_online_vcpus = d->max_vcpu_id + 1;
        memcpy(info[i].handle, d->handle, sizeof(info[i].handle));
    }
    free(rsp);
    return n;
}
