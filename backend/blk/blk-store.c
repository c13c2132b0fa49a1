/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Storage probing and opening (see blk-store.h).  The path comes from the
 * toolstack-written backend directory; nothing here reads guest data.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/major.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blk-store.h"
#include "log.h"

int blk_store_resolve(const char *params, char *path, size_t len)
{
    const char *colon = strchr(params, ':');
    int n;

    if (colon && colon[1] == '/') {
        size_t fl = colon - params;

        if (!((fl == 3 && !strncmp(params, "aio", 3)) ||
              (fl == 3 && !strncmp(params, "raw", 3))))
            return -EOPNOTSUPP; /* qcow2, vhd, ...: not ours */
        params = colon + 1;
    }
    if (!*params)
        return -ENOENT; /* an empty (ejected) drive */
    n = params[0] == '/' ? snprintf(path, len, "%s", params)
                         : snprintf(path, len, "/dev/%s", params);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Reads a small sysfs attribute of a block device (rel: under its
 * /sys/dev/block/MAJ:MIN), without its trailing newline. */
static int sysfs_attr(dev_t dev, const char *rel, char *buf, size_t len)
{
    char p[128];
    FILE *f;
    size_t n;

    snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/%s", major(dev),
             minor(dev), rel);
    f = fopen(p, "re");
    if (!f)
        return -errno;
    n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return 0;
}

/* An attribute of a block device's queue (a partition's is its disk's),
 * trailing blanks dropped. */
static int sysfs_queue(dev_t dev, const char *attr, char *buf, size_t len)
{
    char rel[64];
    size_t n;
    int rc;

    snprintf(rel, sizeof(rel), "queue/%s", attr);
    rc = sysfs_attr(dev, rel, buf, len);
    if (rc) {
        snprintf(rel, sizeof(rel), "../queue/%s", attr);
        rc = sysfs_attr(dev, rel, buf, len);
    }
    for (n = rc ? 0 : strlen(buf); n && buf[n - 1] == ' ';)
        buf[--n] = '\0';
    return rc;
}

/*
 * A loop device: lock its backing file as we lock the device, so a second
 * loop device over the same file (Debian 12's block script sets one up:
 * its file-sharing check compares losetup's decimal device numbers with
 * stat's hex ones, and never matches) is refused as well.
 */
static int lock_loop_backing(struct blk_store *st, dev_t rdev, bool writable)
{
    struct loop_info64 li;
    char file[4096];
    struct stat sb;
    int fd;

    if (major(rdev) != LOOP_MAJOR ||
        ioctl(st->fd_buffered, LOOP_GET_STATUS64, &li) < 0 ||
        sysfs_attr(rdev, "loop/backing_file", file, sizeof(file)))
        return 0; /* not a loop device, or one with no file */
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0; /* deleted, or not visible here: nothing to share */
    /* The file the loop device has, not another one by that name now. */
    if (fstat(fd, &sb) || sb.st_ino != li.lo_inode ||
        sb.st_dev != (dev_t)li.lo_device) {
        close(fd);
        return 0;
    }
    if (flock(fd, (writable ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
        int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

        close(fd);
        return rc;
    }
    st->lock_fd = fd;
    return 0;
}

static int probe_bdev(struct blk_store *st, dev_t rdev, bool want_discard)
{
    int fd = st->fd_buffered;
    char buf[64];
    int ssz = 512;
    unsigned int pbsz = 512;

    if (ioctl(fd, BLKGETSIZE64, &st->size) < 0)
        return -errno;
    if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz >= 512)
        st->sector_size = ssz;
    if (ioctl(fd, BLKPBSZGET, &pbsz) == 0 && pbsz >= 512)
        st->phys_sector_size = pbsz;
    /* Only a write-back cache needs flushes (else writes are stable). */
    st->flush = !sysfs_queue(rdev, "write_cache", buf, sizeof(buf))
                    ? strcmp(buf, "write through") != 0
                    : true;
    if (want_discard && !sysfs_queue(rdev, "discard_max_bytes", buf,
                                     sizeof(buf)) &&
        strtoull(buf, NULL, 10) > 0) {
        st->discard = true;
        if (!sysfs_queue(rdev, "discard_granularity", buf, sizeof(buf)))
            st->discard_granularity = strtoul(buf, NULL, 10);
    }
    return 0;
}

static void probe_file(struct blk_store *st, const struct stat *sb,
                       bool want_discard)
{
    st->size = sb->st_size;
    st->sector_size = 512;
    st->phys_sector_size = sb->st_blksize >= 512 && sb->st_blksize <= 65536
                               ? (uint32_t)sb->st_blksize
                               : 4096;
    /* A file sits in the page cache: flush is always meaningful. */
    st->flush = true;
    if (want_discard && !st->readonly) {
        /* Punching a hole past the end changes nothing but tells us
         * whether the filesystem can. */
        if (!fallocate(st->fd_buffered,
                       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       (sb->st_size + 65535) & ~(off_t)4095, 4096)) {
            st->discard = true;
            st->discard_granularity = st->phys_sector_size;
        }
    }
}

int blk_store_open(struct blk_store *st, const char *path, bool writable,
                   bool direct, bool want_discard)
{
    int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    struct stat sb;
    int rc;

    memset(st, 0, sizeof(*st));
    st->fd = st->fd_buffered = st->lock_fd = -1;
    if (snprintf(st->path, sizeof(st->path), "%s", path) >=
        (int)sizeof(st->path))
        return -ENAMETOOLONG;
    st->readonly = !writable;
    st->fd_buffered = open(path, flags);
    if (st->fd_buffered < 0)
        return -errno;
    /* One writer per storage (docs/misc/block-scripts.txt's sharing
     * check); readers share. */
    if (flock(st->fd_buffered, (writable ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        goto fail;
    }
    if (fstat(st->fd_buffered, &sb)) {
        rc = -errno;
        goto fail;
    }
    st->sector_size = st->phys_sector_size = 512;
    if (S_ISBLK(sb.st_mode)) {
        st->is_bdev = true;
        rc = lock_loop_backing(st, sb.st_rdev, writable);
        if (rc)
            goto fail;
        rc = probe_bdev(st, sb.st_rdev, want_discard);
        if (rc)
            goto fail;
    } else if (S_ISREG(sb.st_mode)) {
        probe_file(st, &sb, want_discard);
    } else {
        rc = -EINVAL;
        goto fail;
    }
    st->fd = st->fd_buffered;
    /* A block device: straight to it, as Linux blkback's bios go (its
     * own cache, if volatile, is what FLUSH is for).  A file: through the
     * page cache unless the toolstack said O_DIRECT is safe. */
    if (st->is_bdev)
        direct = true;
    if (direct) {
        st->fd = open(path, flags | O_DIRECT);
        if (st->fd < 0) {
            /* tmpfs and friends: fall back, and say so. */
            LOG_WARN("%s: O_DIRECT unavailable (%s), using the page cache",
                     path, strerror(errno));
            st->fd = st->fd_buffered;
        } else {
            st->direct = true;
        }
    }
    /*
     * Through the page cache, a write the guest was told is done sits in
     * our domain's memory until written back: a volatile cache, whatever
     * the device's own.  Offer FLUSH, so acknowledged-and-flushed means
     * on the device (Linux blkfront with no flush offered takes every
     * write to be stable the moment it is acknowledged).
     */
    if (!st->direct)
        st->flush = true;
    return 0;
fail:
    close(st->fd_buffered);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    st->fd_buffered = st->lock_fd = -1;
    return rc;
}

void blk_store_close(struct blk_store *st)
{
    if (st->fd >= 0 && st->fd != st->fd_buffered)
        close(st->fd);
    if (st->fd_buffered >= 0)
        close(st->fd_buffered);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    st->fd = st->fd_buffered = st->lock_fd = -1;
}

int blk_store_size(const struct blk_store *st, uint64_t *size)
{
    struct stat sb;

    if (st->is_bdev)
        return ioctl(st->fd_buffered, BLKGETSIZE64, size) < 0 ? -errno : 0;
    if (fstat(st->fd_buffered, &sb))
        return -errno;
    *size = sb.st_size;
    return 0;
}
