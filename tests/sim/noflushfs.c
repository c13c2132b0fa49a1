/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * noflushfs BACKING MOUNTDIR: a FUSE filesystem with one file,
 * MOUNTDIR/disk, whose data is BACKING's and whose fsync fails with
 * EOPNOTSUPP: storage that cannot flush, for the test that iovm-blkback
 * withdraws feature-flush-cache at run time.  Prints "READY" once
 * mounted; SIGTERM unmounts and exits.  A test helper, not installed.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int g_fd = -1;

static int nf_getattr(const char *path, struct stat *st,
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
    if (strcmp(path, "/disk"))
        return -ENOENT;
    if (fstat(g_fd, &b))
        return -errno;
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    st->st_size = b.st_size;
    return 0;
}

static int nf_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
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
    return 0;
}

static int nf_open(const char *path, struct fuse_file_info *fi)
{
    (void)fi;
    return strcmp(path, "/disk") ? -ENOENT : 0;
}

static int nf_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    ssize_t n = pread(g_fd, buf, size, off);

    (void)path;
    (void)fi;
    return n < 0 ? -errno : (int)n;
}

static int nf_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    ssize_t n = pwrite(g_fd, buf, size, off);

    (void)path;
    (void)fi;
    return n < 0 ? -errno : (int)n;
}

/* The point of it all. */
static int nf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    (void)fi;
    return -EOPNOTSUPP;
}

static const struct fuse_operations nf_ops = {
    .getattr = nf_getattr,
    .readdir = nf_readdir,
    .open = nf_open,
    .read = nf_read,
    .write = nf_write,
    .fsync = nf_fsync,
};

int main(int argc, char **argv)
{
    char *args[] = { argv[0], "-o", "fsname=noflushfs", NULL };
    struct fuse_args fa = FUSE_ARGS_INIT(3, args);
    struct fuse *fuse;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: noflushfs BACKING MOUNTDIR\n");
        return 2;
    }
    g_fd = open(argv[1], O_RDWR | O_CLOEXEC);
    if (g_fd < 0) {
        fprintf(stderr, "noflushfs: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    fuse = fuse_new(&fa, &nf_ops, sizeof(nf_ops), NULL);
    if (!fuse || fuse_mount(fuse, argv[2])) {
        fprintf(stderr, "noflushfs: cannot mount on %s\n", argv[2]);
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
    close(g_fd);
    return rc;
}
