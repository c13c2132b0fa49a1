/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flushfs refuse|volatile BACKING MOUNTDIR: a FUSE file system with one
 * file, MOUNTDIR/disk, over BACKING, whose flushes the tests control:
 *
 *   refuse    fsync fails with EOPNOTSUPP: storage that cannot flush
 *             (iovm-blkback must withdraw feature-flush-cache);
 *   volatile  writes stay in this process's memory, like a disk's write
 *             cache, and reach BACKING only at an fsync: so BACKING holds
 *             exactly what was flushed, and a flush that never reaches the
 *             storage shows.  MOUNTDIR/count reads the number of fsyncs.
 *
 * Prints "READY" once mounted; SIGTERM unmounts and exits (volatile: what
 * was never flushed is lost, as in a power cut).  A test helper, not
 * installed; single-threaded (fuse_loop), so no locking.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HELD (64u << 20) /* bytes of unflushed writes, at most */

struct held {
    off_t off;
    size_t len;
    struct held *next;
    char data[];
};

static int g_fd = -1;
static int g_volatile;
static unsigned long g_fsyncs;
static struct held *g_held, **g_tail = &g_held;
static size_t g_held_bytes;

static int ff_getattr(const char *path, struct stat *st,
                      struct fuse_file_info *fi)
{
    struct stat b;

    (void)fi;
    memset(st, 0, sizeof(*st));
    if (!strcmp(path, "/")) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    }
    if (!strcmp(path, "/count")) {
        st->st_mode = S_IFREG | 0400;
        st->st_nlink = 1;
        st->st_size = 32;
        return 0;
    }
    if (strcmp(path, "/disk"))
        return -ENOENT;
    if (fstat(g_fd, &b))
        return -errno;
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    st->st_size = b.st_size;
    return 0;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
                      off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags fl)
{
    (void)off;
    (void)fi;
    (void)fl;
    if (strcmp(path, "/"))
        return -ENOENT;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    fill(buf, "disk", NULL, 0, 0);
    fill(buf, "count", NULL, 0, 0);
    return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
    if (!strcmp(path, "/count")) {
        fi->direct_io = 1; /* always the current count */
        return 0;
    }
    return strcmp(path, "/disk") ? -ENOENT : 0;
}

static int ff_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    const struct held *h;
    ssize_t n;

    (void)fi;
    if (!strcmp(path, "/count")) {
        char c[32];
        int len = snprintf(c, sizeof(c), "%lu\n", g_fsyncs);

        if (off >= len)
            return 0;
        n = (ssize_t)(size < (size_t)(len - off) ? size : (size_t)(len - off));
        memcpy(buf, c + off, (size_t)n);
        return (int)n;
    }
    n = pread(g_fd, buf, size, off);
    if (n < 0)
        return -errno;
    /* What the "cache" holds is newer than the backing file. */
    for (h = g_held; h; h = h->next) {
        off_t s = h->off > off ? h->off : off;
        off_t e = h->off + (off_t)h->len < off + (off_t)size
                      ? h->off + (off_t)h->len
                      : off + (off_t)size;

        if (s < e) {
            memcpy(buf + (s - off), h->data + (s - h->off), (size_t)(e - s));
            if (e - off > n)
                n = e - off;
        }
    }
    return (int)n;
}

static int ff_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct held *h;
    ssize_t n;

    (void)fi;
    if (strcmp(path, "/disk"))
        return -EACCES;
    if (!g_volatile) {
        n = pwrite(g_fd, buf, size, off);
        return n < 0 ? -errno : (int)n;
    }
    if (g_held_bytes + size > MAX_HELD)
        return -ENOSPC;
    h = malloc(sizeof(*h) + size);
    if (!h)
        return -ENOMEM;
    h->off = off;
    h->len = size;
    h->next = NULL;
    memcpy(h->data, buf, size);
    *g_tail = h;
    g_tail = &h->next;
    g_held_bytes += size;
    return (int)size;
}

/* The point of it all. */
static int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    struct held *h;

    (void)path;
    (void)datasync;
    (void)fi;
    if (!g_volatile)
        return -EOPNOTSUPP;
    while ((h = g_held)) {
        if (pwrite(g_fd, h->data, h->len, h->off) != (ssize_t)h->len)
            return -EIO;
        g_held = h->next;
        g_held_bytes -= h->len;
        free(h);
    }
    g_tail = &g_held;
    if (fdatasync(g_fd))
        return -errno;
    g_fsyncs++;
    return 0;
}

static const struct fuse_operations ff_ops = {
    .getattr = ff_getattr,
    .readdir = ff_readdir,
    .open = ff_open,
    .read = ff_read,
    .write = ff_write,
    .fsync = ff_fsync,
};

int main(int argc, char **argv)
{
    char *args[] = { argv[0], "-o", "fsname=flushfs", NULL };
    struct fuse_args fa = FUSE_ARGS_INIT(3, args);
    struct fuse *fuse;
    struct held *h;
    int rc;

    if (argc != 4 || (strcmp(argv[1], "refuse") && strcmp(argv[1], "volatile"))) {
        fprintf(stderr, "usage: flushfs refuse|volatile BACKING MOUNTDIR\n");
        return 2;
    }
    g_volatile = !strcmp(argv[1], "volatile");
    g_fd = open(argv[2], O_RDWR | O_CLOEXEC);
    if (g_fd < 0) {
        fprintf(stderr, "flushfs: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    fuse = fuse_new(&fa, &ff_ops, sizeof(ff_ops), NULL);
    if (!fuse || fuse_mount(fuse, argv[3])) {
        fprintf(stderr, "flushfs: cannot mount on %s\n", argv[3]);
        return 1;
    }
    fuse_set_signal_handlers(fuse_get_session(fuse));
    printf("READY\n");
    fflush(stdout);
    rc = fuse_loop(fuse) < 0 ? 1 : 0;
    fuse_remove_signal_handlers(fuse_get_session(fuse));
    fuse_unmount(fuse);
    fuse_destroy(fuse);
    fuse_opt_free_args(&fa);
    while ((h = g_held)) {
        g_held = h->next;
        free(h);
    }
    close(g_fd);
    return rc;
}
