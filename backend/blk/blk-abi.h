/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The three blkif ring layouts a backend must understand ("protocol"
 * key): native, x86_32 and x86_64.  The native layout comes from the
 * system's xen/io/blkif.h; the two x86 layouts are spelled out here with
 * the alignment each guest ABI gives uint64_t (4 bytes on x86_32), as
 * Linux blkback's common.h does.  On an x86_64 host native == x86_64.
 */
#ifndef IOVM_BLK_ABI_H
#define IOVM_BLK_ABI_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <xen/xen.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

enum blk_abi {
    BLK_ABI_NATIVE = 0,
    BLK_ABI_X86_32,
    BLK_ABI_X86_64,
};

#pragma pack(push, 4)
struct blkif_x86_32_request {
    uint8_t operation;
    uint8_t nr_segments;
    blkif_vdev_t handle;
    uint64_t id;
    blkif_sector_t sector_number;
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
struct blkif_x86_32_request_discard {
    uint8_t operation;
    uint8_t flag;
    blkif_vdev_t handle;
    uint64_t id;
    blkif_sector_t sector_number;
    uint64_t nr_sectors;
};
struct blkif_x86_32_request_indirect {
    uint8_t operation;
    uint8_t indirect_op;
    uint16_t nr_segments;
    uint64_t id;
    blkif_sector_t sector_number;
    blkif_vdev_t handle;
    uint16_t _pad1;
    grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    uint64_t _pad2; /* 64 bytes, as on i386 */
};
struct blkif_x86_32_response {
    uint64_t id;
    uint8_t operation;
    int16_t status;
};
#pragma pack(pop)

struct blkif_x86_64_request {
    uint8_t operation;
    uint8_t nr_segments;
    blkif_vdev_t handle;
    uint64_t __attribute__((aligned(8))) id;
    blkif_sector_t sector_number;
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
struct blkif_x86_64_request_discard {
    uint8_t operation;
    uint8_t flag;
    blkif_vdev_t handle;
    uint64_t __attribute__((aligned(8))) id;
    blkif_sector_t sector_number;
    uint64_t nr_sectors;
};
struct blkif_x86_64_request_indirect {
    uint8_t operation;
    uint8_t indirect_op;
    uint16_t nr_segments;
    uint64_t __attribute__((aligned(8))) id;
    blkif_sector_t sector_number;
    blkif_vdev_t handle;
    uint16_t _pad1;
    grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};
struct blkif_x86_64_response {
    uint64_t __attribute__((aligned(8))) id;
    uint8_t operation;
    int16_t status;
};

union blkif_x86_32_entry {
    struct blkif_x86_32_request req;
    struct blkif_x86_32_response rsp;
};
union blkif_x86_64_entry {
    struct blkif_x86_64_request req;
    struct blkif_x86_64_response rsp;
};

_Static_assert(sizeof(struct blkif_x86_32_request) == 108, "x86_32 req");
_Static_assert(sizeof(struct blkif_x86_32_request_indirect) == 64,
               "x86_32 indirect");
_Static_assert(sizeof(struct blkif_x86_32_response) == 12, "x86_32 rsp");
_Static_assert(sizeof(union blkif_x86_32_entry) == 108, "x86_32 entry");
_Static_assert(sizeof(struct blkif_x86_64_request) == 112, "x86_64 req");
_Static_assert(sizeof(union blkif_x86_64_entry) == 112, "x86_64 entry");
_Static_assert(sizeof(union blkif_sring_entry) == 112, "native entry");

/* "protocol" key -> ABI; absent (NULL) means native.  -EINVAL if bad. */
static inline int blk_abi_parse(const char *protocol, enum blk_abi *abi)
{
    if (!protocol || !*protocol)
        *abi = BLK_ABI_NATIVE;
    else if (!strcmp(protocol, XEN_IO_PROTO_ABI_X86_32))
        *abi = BLK_ABI_X86_32;
    else if (!strcmp(protocol, XEN_IO_PROTO_ABI_X86_64))
        *abi = BLK_ABI_X86_64;
    else
        return -EINVAL;
    return 0;
}

/* ABI -> "protocol" key (the native one's name for BLK_ABI_NATIVE). */
static inline const char *blk_abi_name(enum blk_abi abi)
{
    return abi == BLK_ABI_X86_32   ? XEN_IO_PROTO_ABI_X86_32
           : abi == BLK_ABI_X86_64 ? XEN_IO_PROTO_ABI_X86_64
                                   : XEN_IO_PROTO_ABI_NATIVE;
}

/* Ring entry size of an ABI. */
static inline size_t blk_abi_entry_size(enum blk_abi abi)
{
    return abi == BLK_ABI_X86_32 ? sizeof(union blkif_x86_32_entry)
                                 : sizeof(union blkif_sring_entry);
}

#endif
