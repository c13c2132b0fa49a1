/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few libxenctrl.so.4.17 calls iovm uses, for the simulator: opening
 * an interface, reading domain information, and what the host's Xen says
 * about device assignment (physinfo, the command line, the boot messages
 * in the console ring), and assigning PCI devices (to a domain, or to
 * DOMID_IO: quarantine).  As on Xen, only a privileged domain may ask
 * (EPERM otherwise).  Trusts iovm-simd.
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

/* ---------------------------------------------------------------- */
/* the host: physinfo, version, console ring */

static int hostinfo(xc_interface *xch, struct sim_hostinfo_rsp *rsp)
{
    size_t rlen;
    int rc;

    pthread_mutex_lock(&xch->conn.lock);
    rc = shim_call(&xch->conn, SIM_OP_HOSTINFO, NULL, 0, rsp, sizeof(*rsp),
                   &rlen, NULL, NULL);
    pthread_mutex_unlock(&xch->conn.lock);
    if (!rc && rlen != sizeof(*rsp))
        rc = -EIO;
    if (!rc)
        rsp->cmdline[sizeof(rsp->cmdline) - 1] = '\0';
    return rc;
}

SHIM_EXPORT int xc_physinfo(xc_interface *xch, xc_physinfo_t *info)
{
    struct sim_hostinfo_rsp h;
    int rc = hostinfo(xch, &h);

    if (rc) {
        errno = -rc;
        return -1;
    }
    memset(info, 0, sizeof(*info));
    info->threads_per_core = 1;
    info->cores_per_socket = 2;
    info->nr_cpus = 2;
    info->max_cpu_id = 1;
    info->nr_nodes = 1;
    info->cpu_khz = 2000000;
    info->capabilities = XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_hvm |
                         (h.iommu ? XEN_SYSCTL_PHYSCAP_directio : 0);
    info->total_pages = 4u << 18; /* 4 GiB */
    info->free_pages = 2u << 18;
    info->max_mfn = info->total_pages - 1;
    return 0;
}

/* XENVER_version and XENVER_commandline: 4.17, and the host's line. */
SHIM_EXPORT int xc_version(xc_interface *xch, int cmd, void *arg)
{
    struct sim_hostinfo_rsp h;
    int rc;

    switch (cmd) {
    case XENVER_version:
        return (4 << 16) | 17;
    case XENVER_commandline:
        rc = hostinfo(xch, &h);
        if (rc) {
            errno = -rc;
            return -1;
        }
        memcpy(arg, h.cmdline, sizeof(xen_commandline_t));
        return 0;
    default:
        errno = ENOSYS;
        return -1;
    }
}

/*
 * The boot messages Xen 4.17 prints about the IOMMU (as on an emulated
 * VT-d), from the host's settings; clear and incremental reads are not
 * kept apart (the ring never changes).
 */
SHIM_EXPORT int xc_readconsolering(xc_interface *xch, char *buffer,
                                   unsigned int *pnr_chars, int clear,
                                   int incremental, uint32_t *pindex)
{
    struct sim_hostinfo_rsp h;
    char text[2048];
    int rc = hostinfo(xch, &h), n;

    if (rc) {
        errno = -rc;
        return -1;
    }
    if (h.iommu)
        n = snprintf(text, sizeof(text),
                     "(XEN) Xen version 4.17 (iovm-simd)\n"
                     "(XEN) Command line: %s\n"
                     "(XEN) Intel VT-d iommu 0 supported page sizes: 4kB, "
                     "2MB, 1GB\n"
                     "(XEN) Intel VT-d Interrupt Remapping %s.\n"
                     "(XEN) I/O virtualisation enabled\n"
                     "(XEN) Interrupt remapping %sabled\n",
                     h.cmdline, h.intremap ? "enabled" : "not enabled",
                     h.intremap ? "en" : "dis");
    else
        n = snprintf(text, sizeof(text),
                     "(XEN) Xen version 4.17 (iovm-simd)\n"
                     "(XEN) Command line: %s\n"
                     "(XEN) I/O virtualisation disabled\n",
                     h.cmdline);
    if (n < 0)
        n = 0;
    if ((size_t)n > *pnr_chars)
        n = (int)*pnr_chars;
    memcpy(buffer, text, (size_t)n);
    *pnr_chars = (unsigned int)n;
    if (pindex)
        *pindex = (uint32_t)n;
    return 0;
}

/* ---------------------------------------------------------------- */
/* PCI device assignment */

static int pci_op(xc_interface *xch, uint32_t op, uint32_t domid,
                  uint32_t sbdf)
{
    struct sim_pci_assign_req req = { op, domid, sbdf };
    int rc;

    pthread_mutex_lock(&xch->conn.lock);
    rc = shim_call(&xch->conn, SIM_OP_PCI_ASSIGN, &req, sizeof(req), NULL,
                   0, NULL, NULL, NULL);
    pthread_mutex_unlock(&xch->conn.lock);
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}

SHIM_EXPORT int xc_assign_device(xc_interface *xch, uint32_t domid,
                                 uint32_t machine_sbdf, uint32_t flag)
{
    return pci_op(xch, SIM_PCI_ASSIGN, domid, machine_sbdf);
}

SHIM_EXPORT int xc_test_assign_device(xc_interface *xch, uint32_t domid,
                                      uint32_t machine_sbdf)
{
    return pci_op(xch, SIM_PCI_TEST, domid, machine_sbdf);
}

SHIM_EXPORT int xc_deassign_device(xc_interface *xch, uint32_t domid,
                                   uint32_t machine_sbdf)
{
    return pci_op(xch, SIM_PCI_DEASSIGN, domid, machine_sbdf);
}
