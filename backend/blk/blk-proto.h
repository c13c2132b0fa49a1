/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkif protocol core, pure: copy a request out of a ring slot (once, in
 * the negotiated ABI), copy indirect segment descriptors, validate the
 * private copy against the device's limits, and write responses.  No Xen
 * calls; unit-tested on in-memory rings.
 *
 * Everything read from a slot or an indirect page is the frontend's and
 * untrusted.  Units on the ring are always 512-byte sectors; sector-size
 * is an alignment constraint only.
 */
#ifndef IOVM_BLK_PROTO_H
#define IOVM_BLK_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "blk-abi.h"
#include "ring.h"

#define BLK_MAX_INDIRECT_SEGS 256u       /* what we advertise */
#define BLK_SEGS_PER_INDIRECT_PAGE 512u  /* 4096 / 8 */
#define BLK_MAX_SEGS BLK_MAX_INDIRECT_SEGS

struct blk_seg {
    uint32_t gref;
    uint8_t first_sect;
    uint8_t last_sect;
};

/* A private copy of one request. */
struct blk_req {
    uint64_t id;
    uint64_t sector;      /* 512-byte units */
    uint64_t nr_sectors;  /* discard: from the request; r/w: from segs */
    uint8_t op;           /* BLKIF_OP_* as received */
    uint8_t io_op;        /* READ/WRITE/FLUSH/BARRIER/DISCARD after
                             unwrapping INDIRECT */
    uint8_t discard_flag;
    uint16_t handle;
    uint16_t nr_segs;
    uint8_t nr_indirect;  /* indirect pages */
    uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    struct blk_seg segs[BLK_MAX_SEGS];
};

struct blk_limits {
    uint64_t sectors;           /* device size, 512-byte units */
    uint32_t sector_size;       /* logical block size, bytes */
    uint32_t max_indirect_segs; /* 0: no indirect */
    bool readonly;
    bool flush;                 /* FLUSH_DISKCACHE offered */
    bool barrier;               /* WRITE_BARRIER offered */
    bool discard;
    bool discard_secure;
};

/* Why a request was refused (for logging; never shown to the guest). */
enum blk_reject {
    BLK_OK = 0,
    BLK_REJ_OP,             /* unknown or unsupported operation */
    BLK_REJ_NSEGS,          /* segment count 0 or over the limit */
    BLK_REJ_SECT,           /* first/last_sect out of order or > 7 */
    BLK_REJ_RANGE,          /* past the end of the device */
    BLK_REJ_ALIGN,          /* not aligned to sector-size */
    BLK_REJ_READONLY,       /* write to a read-only device */
    BLK_REJ_INDIRECT,       /* bad indirect op or page count */
};
const char *blk_reject_str(enum blk_reject why);

/*
 * Copies the request in slot (ABI abi) into req: one volatile read of the
 * whole slot, then decoding from the private copy only.  For INDIRECT
 * only the header is copied; segments follow from blk_req_copy_indirect.
 */
void blk_req_copy(enum blk_abi abi, IOVM_SHARED const volatile void *slot,
                  struct blk_req *req);

/* Number of indirect pages an INDIRECT request needs (0 if none). */
unsigned int blk_req_indirect_pages(const struct blk_req *req);

/*
 * Copies segment descriptors page_idx of an indirect request from the
 * (mapped or copied) indirect page, once.  Call only after
 * blk_req_check_header() accepted the request.
 */
void blk_req_copy_indirect(struct blk_req *req, unsigned int page_idx,
                           IOVM_SHARED const volatile void *page);

/*
 * Checks what the header alone decides: operation, segment count,
 * indirect page count, read-only, discard range.  Returns BLK_OK or why;
 * *status is the BLKIF_RSP_* to answer with.
 */
enum blk_reject blk_req_check_header(const struct blk_req *req,
                                     const struct blk_limits *lim,
                                     int16_t *status);

/*
 * Checks the segments (sector bounds, alignment, device range) and sets
 * req->nr_sectors.  Call after the segments are in req.
 */
enum blk_reject blk_req_check_segs(struct blk_req *req,
                                   const struct blk_limits *lim,
                                   int16_t *status);

/* Byte offset and length of segment i within its page. */
static inline uint32_t blk_seg_offset(const struct blk_seg *s)
{
    return (uint32_t)s->first_sect << 9;
}
static inline uint32_t blk_seg_len(const struct blk_seg *s)
{
    return (uint32_t)(s->last_sect - s->first_sect + 1) << 9;
}

/* Writes a response into a zeroed ring slot, in the ring's ABI. */
void blk_rsp_write(enum blk_abi abi, IOVM_SHARED volatile void *slot,
                   uint64_t id, uint8_t op, int16_t status);

#endif
