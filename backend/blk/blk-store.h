/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The storage under a virtual disk: a regular file or a block device,
 * opened from the backend directory's params (trusted: the toolstack
 * wrote it), with what the disk can honestly advertise: size, logical and
 * physical sector size, whether it has a volatile cache (flush), discard.
 */
#ifndef IOVM_BLK_STORE_H
#define IOVM_BLK_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct blk_store {
    int fd;            /* O_DIRECT when direct */
    int fd_buffered;   /* for requests O_DIRECT cannot take */
    int lock_fd;       /* a loop device's backing file, locked; or -1 */
    bool is_bdev;
    bool direct;
    bool readonly;
    bool flush;        /* volatile write cache: offer FLUSH */
    bool discard;
    bool discard_secure;
    uint32_t discard_granularity;
    uint32_t sector_size;
    uint32_t phys_sector_size;
    uint64_t size;     /* bytes */
    char path[256];
};

/*
 * Resolves a params value to a path: "aio:PATH"/"raw:PATH" (qdisk style)
 * and "PATH" (phy, relative names are under /dev as the block hotplug
 * script does).  Other formats (qcow2, vhd) are refused: -EOPNOTSUPP.
 */
int blk_store_resolve(const char *params, char *path, size_t len);

/*
 * Opens path: a block device always O_DIRECT, a file O_DIRECT if direct.  Takes a lock so that a second read-write attach of the same
 * storage is refused (-EBUSY): on the path, and on a loop device's
 * backing file (two loop devices over one file are one storage).  want_discard: the toolstack's
 * discard-enable.  Returns 0 or -errno.
 */
int blk_store_open(struct blk_store *st, const char *path, bool writable,
                   bool direct, bool want_discard);
void blk_store_close(struct blk_store *st);
/* Current size in bytes (for online resize). */
int blk_store_size(const struct blk_store *st, uint64_t *size);

#endif
