/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-iommu's view of the PCI bus, from sysfs and procfs under a root
 * prefix ("" or "/" for the running system, a fake tree in tests): what
 * each device is, where it sits, how it resets, what dom0 uses, and every
 * reason a device cannot be handed to a driver domain.
 *
 * Trusts the tree to describe the machine (its contents are the truth
 * about devices), not its shape: every file is parsed strictly and read
 * with a bound, config-space capability walks are bounded.  Nothing here
 * writes to the tree, prints or exits.
 */
#ifndef IOVM_IOMMU_PCI_H
#define IOVM_IOMMU_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv.h"

/* "DDDD:BB:DD.F"; PCI domains may be up to 8 hex digits (VMD). */
#define IOMMU_PCI_BDF_LEN  18
#define IOMMU_PCI_NAME_LEN 64
/* BARs 0-5 and the expansion ROM (sysfs resource lines 0-6). */
#define IOMMU_PCI_MAX_BARS 7
/* Bridges between a root bus and a device. */
#define IOMMU_PCI_MAX_DEPTH 16
/* A bound on the reasons one device can collect, for callers' arrays. */
#define IOMMU_PCI_MAX_REASONS 32

/* Reset methods, as the kernel names them in reset_method. */
#define IOMMU_PCI_RESET_FLR     (1u << 0)
#define IOMMU_PCI_RESET_AF_FLR  (1u << 1)
#define IOMMU_PCI_RESET_PM      (1u << 2)
#define IOMMU_PCI_RESET_BUS     (1u << 3)
#define IOMMU_PCI_RESET_CXL_BUS (1u << 4)
#define IOMMU_PCI_RESET_ACPI    (1u << 5)
#define IOMMU_PCI_RESET_DEVSPEC (1u << 6)
/* The kernel can reset it (a `reset` file) but does not say how. */
#define IOMMU_PCI_RESET_UNKNOWN (1u << 7)

/* PCIe Device/Port type (PCIe capability, flags bits 7:4). */
#define IOMMU_PCI_PORT_ROOT       4
#define IOMMU_PCI_PORT_UPSTREAM   5
#define IOMMU_PCI_PORT_DOWNSTREAM 6
#define IOMMU_PCI_PORT_PCIE_PCI   7 /* PCIe-to-PCI/PCI-X bridge */
#define IOMMU_PCI_PORT_PCI_PCIE   8 /* PCI/PCI-X-to-PCIe bridge */

struct iommu_pci_bar {
    unsigned int index;         /* 0-5, 6 for the ROM */
    uint64_t start, end, flags; /* as in sysfs `resource` */
};

/* One bridge above a device. */
struct iommu_pci_bridge {
    char bdf[IOMMU_PCI_BDF_LEN];
    bool found;        /* it is itself in the scan */
    bool pcie;         /* has a PCIe capability (config >= 256 bytes) */
    int port_type;     /* IOMMU_PCI_PORT_*, -1 when not PCIe */
    bool conventional; /* its secondary bus is conventional PCI */
    bool acs;          /* ACS capability, SV/RR/CR/UF enabled if offered */
    bool isolates;     /* stops peer-to-peer between what is below it */
};

struct iommu_pci_dev {
    char bdf[IOMMU_PCI_BDF_LEN]; /* lower case, as sysfs names it */
    uint32_t domain;
    uint8_t bus, slot, fn;
    uint32_t class_code; /* 24 bits, e.g. 0x010802 */
    uint16_t vendor, device;
    char driver[IOMMU_PCI_NAME_LEN]; /* "" when unbound */
    int group; /* IOMMU group; -1 when none (always so on Xen dom0) */

    unsigned int reset;                  /* IOMMU_PCI_RESET_* */
    char reset_text[IOMMU_PCI_NAME_LEN]; /* reset_method, or inferred */
    bool reset_inferred;                 /* no reset_method file */

    unsigned int irq;       /* 0: no legacy interrupt */
    bool msi_bus;           /* the msi_bus file exists */
    bool msi_irqs;          /* the msi_irqs directory exists (MSI in use) */
    bool msi_cap, msix_cap; /* capabilities in config space */
    bool is_vf;             /* an SR-IOV virtual function (physfn link) */

    struct iommu_pci_bar bars[IOMMU_PCI_MAX_BARS];
    unsigned int nbars; /* assigned BARs only (flags != 0) */

    size_t cfg_len; /* bytes of config space readable (64 unless root) */
    bool pcie;
    int port_type;      /* -1 when not PCIe */
    bool flr_cap;       /* PCIe DevCap FLR */
    bool acs;           /* own ACS, enabled */
    bool multifunction; /* header type bit 7 */

    /* Bridges from the root bus down: path[npath - 1] is the parent. */
    struct iommu_pci_bridge path[IOMMU_PCI_MAX_DEPTH];
    unsigned int npath;
    bool path_known; /* false: the sysfs path could not be read */
    bool acs_path;   /* every bridge on the path isolates */
    char acs_missing[IOMMU_PCI_BDF_LEN]; /* nearest that does not, or "" */
};

/*
 * Reads every device under <root>/sys/bus/pci/devices, sorted by BDF, into
 * a new array (*devs, *n; free with iommu_pci_free).  0, -ENOENT when the
 * directory is missing, -EINVAL when a device lacks a readable class,
 * vendor or device, or has a malformed resource file, other -errno.
 */
int iommu_pci_scan(const char *root, struct iommu_pci_dev **devs, size_t *n);
void iommu_pci_free(struct iommu_pci_dev *devs);
/* Index of bdf in devs (any case), or -1. */
long iommu_pci_find(const struct iommu_pci_dev *devs, size_t n,
                    const char *bdf);

/* A device dom0 needs, and what for. */
struct iommu_pci_use {
    char bdf[IOMMU_PCI_BDF_LEN];
    char what[96]; /* "root filesystem (nvme0n1p2)", "console ttyS0", ... */
};

/*
 * Finds the devices holding dom0's mounted block filesystems (the root
 * first), its consoles and the interfaces of its default routes, one entry
 * per device.  0, -ENOSPC when more than max were found (the first max
 * are stored), -ENOENT without <root>/proc/self/mountinfo (a dom0 whose
 * root disk is unknown is not safe to assign from), other -errno.
 */
int iommu_pci_dom0_uses(const char *root, struct iommu_pci_use *uses,
                        size_t max, size_t *n);

/* What the caller knows about the host and the assignment. */
struct iommu_pci_host {
    bool iommu;                   /* Xen has the IOMMU on (directio) */
    enum iommu_tristate intremap; /* interrupt remapping */
    const char *const *assign;    /* BDFs being assigned together */
    size_t nassign;
    const struct iommu_pci_use *dom0; /* from iommu_pci_dom0_uses */
    size_t ndom0;
};

enum iommu_pci_reason {
    IOMMU_PCI_R_IOMMU_OFF = 1, /* Xen's IOMMU is off */
    IOMMU_PCI_R_INTREMAP,      /* interrupt remapping off or unknown */
    IOMMU_PCI_R_NO_RESET,      /* no reset, or bus reset hits dom0's */
    IOMMU_PCI_R_GROUP,         /* IOMMU group shared with a non-assigned */
    IOMMU_PCI_R_BRIDGE,        /* no isolation from dom0's devices */
    IOMMU_PCI_R_MULTIFUNCTION, /* other functions of the slot stay */
    IOMMU_PCI_R_SHARED_IRQ,    /* INTx line shared with dom0 (XSA-461) */
    IOMMU_PCI_R_SHARED_PAGE,   /* BAR page shared (XSA-461) */
    IOMMU_PCI_R_DOM0,          /* holds dom0's root, console, network */
    IOMMU_PCI_R_DRIVER_BUSY,   /* bound to a driver, and dom0 uses it */
    /* Notes: said, but not a refusal. */
    IOMMU_PCI_N_UNBIND,   /* bound to a driver: assign unbinds it */
    IOMMU_PCI_N_NO_GROUP, /* no IOMMU group (Xen dom0) */
};

struct iommu_pci_refusal {
    enum iommu_pci_reason code;
    bool note;      /* informational: does not make it unassignable */
    char text[160]; /* one line, names the other device or bridge */
};

/* A stable short name ("iommu-off", "shared-irq", ...) for JSON. */
const char *iommu_pci_reason_name(enum iommu_pci_reason code);

/*
 * Lists every reason devs[idx] cannot go to a driver domain, and notes.
 * devs[idx] counts as being assigned whether or not host->assign names
 * it.  0 with *nwhy entries, -ENOSPC when more than max (the first max
 * are stored), -EINVAL for a bad argument.
 */
int iommu_pci_check_assign(const struct iommu_pci_dev *devs, size_t n,
                           size_t idx, const struct iommu_pci_host *host,
                           struct iommu_pci_refusal *why, size_t max,
                           size_t *nwhy);
/* True when none of the n entries is a refusal. */
bool iommu_pci_assignable(const struct iommu_pci_refusal *why, size_t n);

#endif
