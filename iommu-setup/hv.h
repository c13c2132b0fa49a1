/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the hypervisor says about device assignment, through libxenctrl
 * (the simulator's shim in tests): is the IOMMU on (physinfo's directio
 * capability), is interrupt remapping on (Xen's boot messages, from the
 * console ring), is the IOMMU enforced (iommu=required or force on Xen's
 * command line), and is quarantine on.  Trusts the hypervisor.
 */
#ifndef IOVM_IOMMU_HV_H
#define IOVM_IOMMU_HV_H

#include <stdbool.h>
#include <stddef.h>

enum iommu_tristate { IOMMU_NO = 0, IOMMU_YES, IOMMU_UNKNOWN };

struct iommu_hv {
    bool iommu;                   /* directio: devices can be assigned */
    enum iommu_tristate intremap; /* interrupt remapping enabled */
    bool required;                /* iommu=required|force: Xen panics without */
    bool quarantine;              /* not iommu=no-quarantine */
    char cmdline[1024];           /* Xen's command line, as read */
};

/*
 * Asks the hypervisor.  0, or -errno with a one-line reason in err (not
 * running on Xen, not privileged).
 */
int iommu_hv_probe(struct iommu_hv *hv, char *err, size_t errlen);

#endif
