/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Handing a vetted PCI device to Xen for a driver domain and taking it
 * back, as xl pci-assignable-add and pci-assignable-remove -r do, but
 * failing closed: unbind it from its dom0 driver, bind it to pciback,
 * reset it, quarantine it (assign it to DOMID_IO); each step undone if a
 * later one fails.  What it did is recorded in <state_dir>/<BDF> first,
 * so release can give the device back to its driver.  Sysfs paths are
 * under root.  The checks (pci.h) come before; nothing here vets.
 */
#ifndef IOVM_IOMMU_ASSIGN_H
#define IOVM_IOMMU_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <xenctrl.h>

/* Where assign records what it did, unless --state-dir says. */
#define IOMMU_STATE_DIR "/var/lib/iovm-iommu"

/*
 * Makes bdf (currently bound to driver, "" for none) assignable.  0, or
 * -errno with every step undone and a one-line reason in err.  Already
 * assigned by us: 0, and *already set.
 */
int iommu_dev_assign(const char *root, const char *state_dir,
                     xc_interface *xch, bool quarantine, const char *bdf,
                     const char *driver, bool *already, char *err,
                     size_t errlen);

/*
 * Gives bdf back to dom0: out of quarantine, reset, unbound from
 * pciback, bound to the driver it had.  0, or -errno with a reason in
 * err: -ENOENT not assigned by us, -EBUSY a domain has it, -EIO the
 * reset failed (it stays with pciback, never back in dom0 unreset).
 */
int iommu_dev_release(const char *root, const char *state_dir,
                      xc_interface *xch, const char *bdf, char *err,
                      size_t errlen);

#endif
