/* SPDX-License-Identifier: GPL-2.0-only */
/* iovm-blkfront's commands, one file each. */
#ifndef IOVM_FRONT_TOOL_H
#define IOVM_FRONT_TOOL_H

#include "blkfront.h"

/* bench.c: connects itself (argv[0] is the vdev, then bench options). */
int cmd_bench(const char *vdev, const struct blkfront_opts *o, int argc,
              char **argv);
/* stress.c: connects itself; a checked mixed stream (see there). */
int cmd_stress(const char *vdev, const struct blkfront_opts *o, int argc,
               char **argv);
/* fuse.c: serves bf as MOUNTDIR/disk until unmounted or signalled. */
int cmd_fuse(struct blkfront *bf, const char *mountdir);

#endif
