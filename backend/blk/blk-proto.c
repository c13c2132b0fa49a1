/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkif request copy, validation and responses (see blk-proto.h).  Input:
 * ring slots and indirect pages written by the frontend, untrusted; each
 * is read exactly once, through a volatile copy, and only the private
 * copy is decoded.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "blk-proto.h"

const char *blk_reject_str(enum blk_reject why)
{
    static const char *const s[] = {
        [BLK_OK] = "ok",
        [BLK_REJ_OP] = "unsupported operation",
        [BLK_REJ_NSEGS] = "bad segment count",
        [BLK_REJ_SECT] = "bad first/last sector",
        [BLK_REJ_RANGE] = "beyond the end of the device",
        [BLK_REJ_ALIGN] = "misaligned to sector-size",
        [BLK_REJ_READONLY] = "write to a read-only device",
        [BLK_REJ_INDIRECT] = "bad indirect request",
    };

    return (unsigned int)why < sizeof(s) / sizeof(s[0]) ? s[why] : "?";
}

/* The single read of shared memory: a volatile byte copy. */
static void shared_copy(void *dst, IOVM_SHARED const volatile void *src,
                        size_t len)
{
    const volatile uint8_t *s = src;
    uint8_t *d = dst;
    size_t i;

    for (i = 0; i < len; i++)
        d[i] = s[i];
}

static void copy_segs(struct blk_seg *dst,
                      const struct blkif_request_segment *seg, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++) {
        dst[i].gref = seg[i].gref;
        dst[i].first_sect = seg[i].first_sect;
        dst[i].last_sect = seg[i].last_sect;
    }
}

/* Decodes one layout; R (rw), D (discard) and I (indirect) are its
 * request structs.  n is clamped so a hostile count cannot overrun. */
#define DECODE(buf, R, D, I)                                               \
    do {                                                                   \
        const R *rw = (const R *)(buf);                                    \
        req->op = rw->operation;                                           \
        req->id = rw->id;                                                  \
        req->sector = rw->sector_number;                                   \
        req->handle = rw->handle;                                          \
        if (req->op == BLKIF_OP_DISCARD) {                                 \
            const D *d = (const D *)(buf);                                 \
            req->discard_flag = d->flag;                                   \
            req->nr_sectors = d->nr_sectors;                               \
            req->io_op = BLKIF_OP_DISCARD;                                 \
        } else if (req->op == BLKIF_OP_INDIRECT) {                         \
            const I *in = (const I *)(buf);                                \
            req->io_op = in->indirect_op;                                  \
            req->nr_segs = in->nr_segments;                                \
            req->sector = in->sector_number;                               \
            req->handle = in->handle;                                      \
            req->id = in->id;                                              \
            memcpy(req->indirect_grefs, in->indirect_grefs,                \
                   sizeof(req->indirect_grefs));                           \
        } else {                                                           \
            req->io_op = req->op;                                          \
            req->nr_segs = rw->nr_segments;                                \
            copy_segs(req->segs, rw->seg,                                        \
                      req->nr_segs < BLKIF_MAX_SEGMENTS_PER_REQUEST        \
                          ? req->nr_segs                                   \
                          : BLKIF_MAX_SEGMENTS_PER_REQUEST);               \
        }                                                                  \
    } while (0)

void blk_req_copy(enum blk_abi abi, IOVM_SHARED const volatile void *slot,
                  struct blk_req *req)
{
    union {
        union blkif_sring_entry native;
        union blkif_x86_32_entry x32;
        union blkif_x86_64_entry x64;
    } buf;

    shared_copy(&buf, slot, blk_abi_entry_size(abi));
    req->nr_segs = 0;
    req->nr_sectors = 0;
    req->discard_flag = 0;
    switch (abi) {
    case BLK_ABI_X86_32:
        DECODE(&buf, struct blkif_x86_32_request,
               struct blkif_x86_32_request_discard,
               struct blkif_x86_32_request_indirect);
        break;
    case BLK_ABI_X86_64:
        DECODE(&buf, struct blkif_x86_64_request,
               struct blkif_x86_64_request_discard,
               struct blkif_x86_64_request_indirect);
        break;
    default:
        DECODE(&buf, struct blkif_request, struct blkif_request_discard,
               struct blkif_request_indirect);
        break;
    }
    req->nr_indirect = (uint8_t)blk_req_indirect_pages(req);
}

unsigned int blk_req_indirect_pages(const struct blk_req *req)
{
    if (req->op != BLKIF_OP_INDIRECT)
        return 0;
    return (req->nr_segs + BLK_SEGS_PER_INDIRECT_PAGE - 1) /
           BLK_SEGS_PER_INDIRECT_PAGE;
}

void blk_req_copy_indirect(struct blk_req *req, unsigned int page_idx,
                           IOVM_SHARED const volatile void *page)
{
    struct blkif_request_segment seg[BLK_SEGS_PER_INDIRECT_PAGE];
    unsigned int first = page_idx * BLK_SEGS_PER_INDIRECT_PAGE, n;

    if (first >= req->nr_segs || req->nr_segs > BLK_MAX_SEGS)
        return;
    n = req->nr_segs - first;
    if (n > BLK_SEGS_PER_INDIRECT_PAGE)
        n = BLK_SEGS_PER_INDIRECT_PAGE;
    shared_copy(seg, page, n * sizeof(seg[0]));
    copy_segs(&req->segs[first], seg, n);
}

static bool is_write(const struct blk_req *req)
{
    return req->io_op == BLKIF_OP_WRITE ||
           req->io_op == BLKIF_OP_WRITE_BARRIER ||
           (req->io_op == BLKIF_OP_FLUSH_DISKCACHE && req->nr_segs);
}

enum blk_reject blk_req_check_header(const struct blk_req *req,
                                     const struct blk_limits *lim,
                                     int16_t *status)
{
    *status = BLKIF_RSP_ERROR;
    switch (req->op) {
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
        if (!req->nr_segs || req->nr_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST)
            return BLK_REJ_NSEGS;
        break;
    case BLKIF_OP_FLUSH_DISKCACHE:
    case BLKIF_OP_WRITE_BARRIER:
        if (req->op == BLKIF_OP_FLUSH_DISKCACHE ? !lim->flush : !lim->barrier) {
            *status = BLKIF_RSP_EOPNOTSUPP;
            return BLK_REJ_OP;
        }
        /* Either may carry data (FUA write / barrier write), or none. */
        if (req->nr_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST)
            return BLK_REJ_NSEGS;
        break;
    case BLKIF_OP_DISCARD: {
        uint64_t end;

        if (!lim->discard) {
            *status = BLKIF_RSP_EOPNOTSUPP;
            return BLK_REJ_OP;
        }
        if (lim->readonly)
            return BLK_REJ_READONLY;
        if (__builtin_add_overflow(req->sector, req->nr_sectors, &end) ||
            end > lim->sectors)
            return BLK_REJ_RANGE;
        return BLK_OK;
    }
    case BLKIF_OP_INDIRECT:
        if (req->io_op != BLKIF_OP_READ && req->io_op != BLKIF_OP_WRITE)
            return BLK_REJ_INDIRECT;
        if (!lim->max_indirect_segs) {
            *status = BLKIF_RSP_EOPNOTSUPP;
            return BLK_REJ_OP;
        }
        if (!req->nr_segs || req->nr_segs > lim->max_indirect_segs ||
            req->nr_segs > BLK_MAX_SEGS)
            return BLK_REJ_NSEGS;
        if (blk_req_indirect_pages(req) > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
            return BLK_REJ_INDIRECT;
        break;
    default:
        /* Unknown ops (and SLES' RESERVED_1): not supported. */
        *status = BLKIF_RSP_EOPNOTSUPP;
        return BLK_REJ_OP;
    }
    if (lim->readonly && is_write(req))
        return BLK_REJ_READONLY;
    *status = BLKIF_RSP_OKAY;
    return BLK_OK;
}

enum blk_reject blk_req_check_segs(struct blk_req *req,
                                   const struct blk_limits *lim,
                                   int16_t *status)
{
    uint32_t align = lim->sector_size > 512 ? lim->sector_size : 512;
    uint64_t total = 0, end;
    unsigned int i;

    *status = BLKIF_RSP_ERROR;
    for (i = 0; i < req->nr_segs; i++) {
        const struct blk_seg *s = &req->segs[i];

        if (s->first_sect > s->last_sect || s->last_sect > 7)
            return BLK_REJ_SECT;
        if (blk_seg_offset(s) % align || blk_seg_len(s) % align)
            return BLK_REJ_ALIGN;
        total += s->last_sect - s->first_sect + 1;
    }
    if (req->nr_segs) {
        /* The start must be aligned too (units are always 512 bytes). */
        if ((req->sector << 9) % align || req->sector > (UINT64_MAX >> 9))
            return BLK_REJ_ALIGN;
        if (__builtin_add_overflow(req->sector, total, &end) ||
            end > lim->sectors)
            return BLK_REJ_RANGE;
    }
    /* A discard's length is its own field; everything else's is here. */
    if (req->io_op != BLKIF_OP_DISCARD)
        req->nr_sectors = total;
    *status = BLKIF_RSP_OKAY;
    return BLK_OK;
}

void blk_rsp_write(enum blk_abi abi, IOVM_SHARED volatile void *slot,
                   uint64_t id, uint8_t op, int16_t status)
{
    union {
        struct blkif_response native;
        struct blkif_x86_32_response x32;
        struct blkif_x86_64_response x64;
    } r;
    volatile uint8_t *d = slot;
    size_t len, i;

    /* Built in a zeroed private struct: no padding bytes leak. */
    memset(&r, 0, sizeof(r));
    if (abi == BLK_ABI_X86_32) {
        r.x32.id = id;
        r.x32.operation = op;
        r.x32.status = status;
        len = sizeof(r.x32);
    } else {
        r.native.id = id;
        r.native.operation = op;
        r.native.status = status;
        len = sizeof(r.native);
    }
    for (i = 0; i < len; i++)
        d[i] = ((const uint8_t *)&r)[i];
}
