/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-blkfront fuse: exports the virtual disk as MOUNTDIR/disk so that
 * ordinary tools (mkfs, e2fsck, fio, a loop mount) work on it.  One
 * thread serves FUSE and drives the frontend; reads and writes are split
 * into requests of at most the negotiated size, unaligned edges are
 * read-modify-written, fsync is a FLUSH and hole punching a DISCARD.
 * Requests from the kernel are trusted as much as the local user is.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/io/blkif.h>

#include "front-tool.h"
#include "log.h"
#include "util.h"

static struct blkfront *g_bf;
static uint8_t *g_buf; /* one max-sized request */

static uint64_t disk_size(void)
{
    return blkfront_info(g_bf)->sectors << 9;
}

static int status_errno(int st)
{
    return st == BLKIF_RSP_OKAY ? 0 : st == BLKIF_RSP_EOPNOTSUPP ? -EOPNOTSUPP
                                                                 : -EIO;
}

static int fs_getattr(const char *path, struct stat *st,
                      struct fuse_file_info *fi)
{
    memset(st, 0, sizeof(*st));
    if (!strcmp(path, "/")) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    }
    if (strcmp(path, "/disk"))
        return -ENOENT;
    st->st_mode = S_IFREG |
                  ((blkfront_info(g_bf)->info & VDISK_READONLY) ? 0444 : 0644);
    st->st_nlink = 1;
    st->st_size = disk_size();
    st->st_blksize = blkfront_info(g_bf)->sector_size;
    st->st_blocks = st->st_size / 512;
    return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
                      off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags)
{
    if (strcmp(path, "/"))
        return -ENOENT;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    fill(buf, "disk", NULL, 0, 0);
    return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    if (strcmp(path, "/disk"))
        return -ENOENT;
    if ((fi->flags & O_ACCMODE) != O_RDONLY &&
        (blkfront_info(g_bf)->info & VDISK_READONLY))
        return -EROFS;
    return 0;
}

/* Moves one aligned run (off, len multiples of 512) in max-sized pieces. */
static int xfer_aligned(bool write, uint8_t *data, uint64_t off, size_t len)
{
    size_t max = blkfront_max_io(g_bf);

    while (len) {
        size_t n = IOVM_MIN(max, len);
        int st;

        if (write)
            memcpy(g_buf, data, n);
        st = blkfront_rw_sync(g_bf, write ? BLKIF_OP_WRITE : BLKIF_OP_READ,
                              off >> 9, g_buf, n);
        if (st != BLKIF_RSP_OKAY)
            return status_errno(st);
        if (!write)
            memcpy(data, g_buf, n);
        data += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* Read-modify-write of a partial sector. */
static int edge(bool write, uint8_t *data, uint64_t off, size_t len)
{
    uint8_t sect[512];
    uint64_t base = off & ~(uint64_t)511;
    int rc = xfer_aligned(false, sect, base, 512);

    if (rc)
        return rc;
    if (!write) {
        memcpy(data, sect + (off - base), len);
        return 0;
    }
    memcpy(sect + (off - base), data, len);
    return xfer_aligned(true, sect, base, 512);
}

static int xfer(bool write, uint8_t *data, uint64_t off, size_t len)
{
    size_t done = 0;
    int rc;

    if (off >= disk_size())
        return 0;
    len = IOVM_MIN((uint64_t)len, disk_size() - off);
    if (off % 512) {
        size_t n = IOVM_MIN(len, 512 - (size_t)(off % 512));

        rc = edge(write, data, off, n);
        if (rc)
            return rc;
        done = n;
    }
    if (len - done >= 512) {
        size_t n = (len - done) & ~(size_t)511;

        rc = xfer_aligned(write, data + done, off + done, n);
        if (rc)
            return rc;
        done += n;
    }
    if (done < len) {
        rc = edge(write, data + done, off + done, len - done);
        if (rc)
            return rc;
        done = len;
    }
    return (int)done;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    return xfer(false, (uint8_t *)buf, off, size);
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    if ((uint64_t)off >= disk_size())
        return -ENOSPC;
    return xfer(true, (uint8_t *)buf, off, size);
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    if (!blkfront_info(g_bf)->flush)
        return 0; /* the backend writes through */
    return status_errno(
        blkfront_rw_sync(g_bf, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0));
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
    return 0; /* close(): nothing buffered here */
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    /* A disk has its size; allow "truncating" to it (O_TRUNC opens). */
    return (uint64_t)size == disk_size() ? 0 : -EPERM;
}

static int fs_fallocate(const char *path, int mode, off_t off, off_t len,
                        struct fuse_file_info *fi)
{
    static uint8_t zero[512];
    uint64_t start = off, end, a, b;
    int rc, st;

    if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
        return mode ? -EOPNOTSUPP : 0;
    if (off < 0 || len <= 0 || start >= disk_size())
        return 0;
    end = IOVM_MIN(start + (uint64_t)len, disk_size());
    a = (start + 511) & ~(uint64_t)511;
    b = end & ~(uint64_t)511;
    if (a >= b) {
        /* Within one sector (or two partial ones): write zeroes. */
        for (; start < end; start += rc) {
            rc = xfer(true, zero, start, IOVM_MIN((uint64_t)512, end - start));
            if (rc <= 0)
                return rc ? rc : -EIO;
        }
        return 0;
    }
    if (start < a && (rc = xfer(true, zero, start, a - start)) < 0)
        return rc;
    if (!blkfront_info(g_bf)->discard)
        return -EOPNOTSUPP;
    st = blkfront_rw_sync(g_bf, BLKIF_OP_DISCARD, a >> 9, NULL, b - a);
    if (st != BLKIF_RSP_OKAY)
        return status_errno(st);
    if (end > b && (rc = xfer(true, zero, b, end - b)) < 0)
        return rc;
    return 0;
}

static int fs_statfs(const char *path, struct statvfs *st)
{
    memset(st, 0, sizeof(*st));
    st->f_bsize = st->f_frsize = 4096;
    st->f_blocks = disk_size() / 4096;
    st->f_files = 2;
    st->f_namemax = 255;
    return 0;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* The disk changes only through us, but resizes come from below. */
    cfg->attr_timeout = 0;
    cfg->entry_timeout = 0;
    cfg->use_ino = 1;
    return NULL;
}

static const struct fuse_operations fs_ops = {
    .init = fs_init,
    .getattr = fs_getattr,
    .readdir = fs_readdir,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .fsync = fs_fsync,
    .flush = fs_flush,
    .truncate = fs_truncate,
    .fallocate = fs_fallocate,
    .statfs = fs_statfs,
};

int cmd_fuse(struct blkfront *bf, const char *mountdir)
{
    char *args[] = { "iovm-blkfront", "-o", "fsname=iovm-blkfront", NULL };
    struct fuse_args fa = FUSE_ARGS_INIT(3, args);
    struct fuse *fuse;
    int rc = 1;

    g_bf = bf;
    g_buf = aligned_alloc(4096, blkfront_max_io(bf));
    if (!g_buf)
        return 1;
    fuse = fuse_new(&fa, &fs_ops, sizeof(fs_ops), NULL);
    if (!fuse) {
        fprintf(stderr, "iovm-blkfront: fuse_new failed\n");
        goto out;
    }
    if (fuse_mount(fuse, mountdir)) {
        fprintf(stderr, "iovm-blkfront: cannot mount on %s\n", mountdir);
        fuse_destroy(fuse);
        goto out;
    }
    /* SIGINT/SIGTERM/SIGHUP end the loop (and unmount). */
    fuse_set_signal_handlers(fuse_get_session(fuse));
    LOG_INFO("serving %s/disk", mountdir);
    printf("READY %s/disk\n", mountdir);
    fflush(stdout);
    rc = fuse_loop(fuse) < 0 ? 1 : 0;
    fuse_remove_signal_handlers(fuse_get_session(fuse));
    fuse_unmount(fuse);
    fuse_destroy(fuse);
out:
    fuse_opt_free_args(&fa);
    free(g_buf);
    return rc;
}
