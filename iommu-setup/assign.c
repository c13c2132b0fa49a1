/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Assigning and releasing PCI devices (see assign.h).  The order is
 * libxl's for pci-assignable-add (unbind, pciback new_slot + bind,
 * quarantine), with a reset added before the device leaves dom0's hands
 * and before it comes back, whose failure stops everything (libxl
 * ignores it).  Sysfs files are opened without O_CREAT: a file the
 * kernel does not offer is an error, not a new file.
 *
 * Trusts root (dom0's sysfs) and the state directory (root's own).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assign.h"
#include "util.h"

#define PCIBACK "pciback"
#define DOMID_IO_ID 0x7ff1u

/* Writes value to <root>/<path>; 0 or -errno. */
static int sysfs_write(const char *root, const char *path, const char *value)
{
    char p[4096];
    int fd, rc;

    if (snprintf(p, sizeof(p), "%s/%s", root, path) >= (int)sizeof(p))
        return -ENAMETOOLONG;
    fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = iovm_write_all(fd, value, strlen(value));
    if (close(fd) < 0 && !rc)
        rc = -errno;
    return rc;
}

static bool sysfs_exists(const char *root, const char *path)
{
    char p[4096];
    struct stat st;

    return snprintf(p, sizeof(p), "%s/%s", root, path) < (int)sizeof(p) &&
           stat(p, &st) == 0;
}

static int sbdf_of(const char *bdf, uint32_t *sbdf)
{
    unsigned int seg, bus, dev, fn;
    char end;

    if (sscanf(bdf, "%x:%x:%x.%x%c", &seg, &bus, &dev, &fn, &end) != 4 ||
        seg > 0xffff || bus > 0xff || dev > 31 || fn > 7)
        return -EINVAL;
    *sbdf = seg << 16 | bus << 8 | dev << 3 | fn;
    return 0;
}

/* ---- the record: <state_dir>/<bdf>, "driver=NAME\nquarantined=0|1\n" */

static int state_path(const char *dir, const char *bdf, char *p, size_t len)
{
    return snprintf(p, len, "%s/%s", dir, bdf) >= (int)len ? -ENAMETOOLONG
                                                           : 0;
}

static int state_write(const char *dir, const char *bdf, const char *driver,
                       bool quarantined)
{
    char p[4096], tmp[4200], text[160];
    int fd, rc;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    rc = state_path(dir, bdf, p, sizeof(p));
    if (rc)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    snprintf(text, sizeof(text), "driver=%s\nquarantined=%d\n", driver,
             quarantined);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    rc = iovm_write_all(fd, text, strlen(text));
    if (!rc && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (!rc && rename(tmp, p) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

static int state_read(const char *dir, const char *bdf, char *driver,
                      size_t len, bool *quarantined)
{
    char p[4096], text[256], *d, *q, *nl;
    int fd, n, rc;

    rc = state_path(dir, bdf, p, sizeof(p));
    if (rc)
        return rc;
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = (int)read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    text[n] = '\0';
    d = strstr(text, "driver=");
    q = strstr(text, "quarantined=");
    if (!d || !q || d != text)
        return -EBADMSG;
    d += 7;
    nl = strchr(d, '\n');
    if (!nl || (size_t)(nl - d) >= len || memchr(d, '/', (size_t)(nl - d)))
        return -EBADMSG;
    memcpy(driver, d, (size_t)(nl - d));
    driver[nl - d] = '\0';
    *quarantined = q[12] == '1';
    return 0;
}

static void state_remove(const char *dir, const char *bdf)
{
    char p[4096];

    if (!state_path(dir, bdf, p, sizeof(p)))
        unlink(p);
}

/* ---- steps */

static int bind_to(const char *root, const char *bdf, const char *driver)
{
    char p[256];

    snprintf(p, sizeof(p), "sys/bus/pci/drivers/%s/bind", driver);
    return sysfs_write(root, p, bdf);
}

static void pciback_let_go(const char *root, const char *bdf)
{
    sysfs_write(root, "sys/bus/pci/drivers/" PCIBACK "/unbind", bdf);
    sysfs_write(root, "sys/bus/pci/drivers/" PCIBACK "/remove_slot", bdf);
}

static int reset(const char *root, const char *bdf)
{
    char p[256];

    snprintf(p, sizeof(p), "sys/bus/pci/devices/%s/reset", bdf);
    return sysfs_write(root, p, "1");
}

int iommu_dev_assign(const char *root, const char *state_dir,
                     xc_interface *xch, bool quarantine, const char *bdf,
                     const char *driver, bool *already, char *err,
                     size_t errlen)
{
    bool was_bound = driver[0] && strcmp(driver, PCIBACK);
    char p[256], old[64];
    bool q;
    uint32_t sbdf;
    int rc;

    *already = false;
    if (sbdf_of(bdf, &sbdf)) {
        snprintf(err, errlen, "%s: not a PCI address", bdf);
        return -EINVAL;
    }
    if (!state_read(state_dir, bdf, old, sizeof(old), &q)) {
        *already = true;
        return 0;
    }
    if (!sysfs_exists(root, "sys/bus/pci/drivers/" PCIBACK)) {
        snprintf(err, errlen, "xen-pciback is not loaded (modprobe "
                              "xen-pciback)");
        return -ENOENT;
    }
    /* The record first: whatever happens next, release knows. */
    rc = state_write(state_dir, bdf, driver, false);
    if (rc) {
        snprintf(err, errlen, "%s: recording in %s: %s", bdf, state_dir,
                 strerror(-rc));
        return rc;
    }
    if (was_bound) {
        snprintf(p, sizeof(p), "sys/bus/pci/devices/%s/driver/unbind", bdf);
        rc = sysfs_write(root, p, bdf);
        if (rc) {
            snprintf(err, errlen, "%s: unbinding from %s: %s", bdf, driver,
                     strerror(-rc));
            goto undo_record;
        }
    }
    if (strcmp(driver, PCIBACK)) {
        rc = sysfs_write(root, "sys/bus/pci/drivers/" PCIBACK "/new_slot",
                         bdf);
        if (!rc)
            rc = bind_to(root, bdf, PCIBACK);
        if (rc) {
            snprintf(err, errlen, "%s: binding to pciback: %s", bdf,
                     strerror(-rc));
            goto undo_pciback;
        }
    }
    rc = reset(root, bdf);
    if (rc) {
        snprintf(err, errlen, "%s: reset failed (%s): not assigned",
                 bdf, strerror(-rc));
        goto undo_pciback;
    }
    if (quarantine) {
        if (xc_assign_device(xch, DOMID_IO_ID, sbdf, 0) < 0) {
            rc = -errno;
            snprintf(err, errlen, "%s: quarantine (assign to DOMID_IO): %s",
                     bdf, strerror(errno));
            goto undo_pciback;
        }
        rc = state_write(state_dir, bdf, driver, true);
        if (rc) {
            snprintf(err, errlen, "%s: recording in %s: %s", bdf,
                     state_dir, strerror(-rc));
            xc_deassign_device(xch, DOMID_IO_ID, sbdf);
            goto undo_pciback;
        }
    }
    return 0;

undo_pciback:
    if (strcmp(driver, PCIBACK))
        pciback_let_go(root, bdf);
    if (was_bound)
        bind_to(root, bdf, driver);
undo_record:
    state_remove(state_dir, bdf);
    return rc;
}

int iommu_dev_release(const char *root, const char *state_dir,
                      xc_interface *xch, const char *bdf, char *err,
                      size_t errlen)
{
    char driver[64];
    bool quarantined;
    uint32_t sbdf;
    int rc;

    if (sbdf_of(bdf, &sbdf)) {
        snprintf(err, errlen, "%s: not a PCI address", bdf);
        return -EINVAL;
    }
    rc = state_read(state_dir, bdf, driver, sizeof(driver), &quarantined);
    if (rc) {
        snprintf(err, errlen, "%s: not assigned by iovm-iommu (%s/%s: %s)",
                 bdf, state_dir, bdf, strerror(-rc));
        return rc == -EBADMSG ? rc : -ENOENT;
    }
    if (quarantined && xc_deassign_device(xch, DOMID_IO_ID, sbdf) < 0) {
        snprintf(err, errlen, "%s: a domain has it (xl pci-detach it "
                              "first): %s",
                 bdf, strerror(errno));
        return -EBUSY;
    }
    /* Back to dom0 only after a reset that worked. */
    rc = reset(root, bdf);
    if (rc) {
        if (quarantined)
            xc_assign_device(xch, DOMID_IO_ID, sbdf, 0);
        snprintf(err, errlen, "%s: reset failed (%s): it stays with "
                              "pciback",
                 bdf, strerror(-rc));
        return -EIO;
    }
    if (strcmp(driver, PCIBACK))
        pciback_let_go(root, bdf);
    state_remove(state_dir, bdf);
    if (driver[0] && strcmp(driver, PCIBACK)) {
        rc = bind_to(root, bdf, driver);
        if (rc) {
            snprintf(err, errlen, "%s: released, but binding to %s: %s",
                     bdf, driver, strerror(-rc));
            return rc;
        }
    }
    return 0;
}
