/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: blkif request intake as iovm-blkback does it, on bytes a
 * hostile frontend controls.  Input: one byte of ABI, one of limit flags,
 * the device size (8 bytes), then a ring slot, then up to 8 indirect
 * pages.  Accepted requests must satisfy every invariant the I/O path
 * relies on; a violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/io/blkif.h>

#include "blk-proto.h"

#define SLOT_MAX 128u
#define PAGE 4096u

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t slot[SLOT_MAX], pages[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST][PAGE];
    static struct blk_req req;
    struct blk_limits lim;
    enum blk_abi abi;
    enum blk_reject why;
    uint64_t sectors;
    size_t esz, n;
    int16_t st = 0;
    unsigned int i, np;
    uint8_t fl;

    if (size < 10)
        return 0;
    abi = data[0] % 3;
    fl = data[1];
    memcpy(&sectors, data + 2, 8);
    data += 10;
    size -= 10;
    memset(&lim, 0, sizeof(lim));
    lim.sectors = sectors % (1ull << 40);
    lim.sector_size = fl & 1 ? 4096 : 512;
    lim.max_indirect_segs = fl & 2 ? BLK_MAX_INDIRECT_SEGS : 0;
    lim.readonly = fl & 4;
    lim.flush = fl & 8;
    lim.barrier = fl & 16;
    lim.discard = fl & 32;
    lim.discard_secure = fl & 64;

    esz = blk_abi_entry_size(abi);
    check(esz <= SLOT_MAX);
    memset(slot, 0, sizeof(slot));
    n = size < esz ? size : esz;
    memcpy(slot, data, n);
    data += n;
    size -= n;

    blk_req_copy(abi, slot, &req);
    why = blk_req_check_header(&req, &lim, &st);
    if (why != BLK_OK) {
        check(st != BLKIF_RSP_OKAY);
        check(blk_reject_str(why) != NULL);
        return 0;
    }
    np = blk_req_indirect_pages(&req);
    check(np <= BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
    check(req.nr_segs <= BLK_MAX_SEGS);
    if (req.op == BLKIF_OP_INDIRECT) {
        check(lim.max_indirect_segs);
        check(req.nr_segs <= lim.max_indirect_segs);
        check(np == req.nr_indirect);
    } else if (req.io_op == BLKIF_OP_READ || req.io_op == BLKIF_OP_WRITE) {
        check(req.nr_segs <= BLKIF_MAX_SEGMENTS_PER_REQUEST);
    }
    for (i = 0; i < np; i++) {
        memset(pages[i], 0, PAGE);
        n = size < PAGE ? size : PAGE;
        memcpy(pages[i], data, n);
        data += n;
        size -= n;
        blk_req_copy_indirect(&req, i, pages[i]);
    }
    if (lim.readonly)
        check(req.io_op != BLKIF_OP_WRITE && req.io_op != BLKIF_OP_DISCARD &&
              req.io_op != BLKIF_OP_WRITE_BARRIER);
    if (req.io_op == BLKIF_OP_DISCARD) {
        check(lim.discard);
        check(req.sector <= lim.sectors &&
              req.nr_sectors <= lim.sectors - req.sector);
        return 0;
    }
    why = blk_req_check_segs(&req, &lim, &st);
    if (why != BLK_OK) {
        check(st != BLKIF_RSP_OKAY);
        return 0;
    }
    {
        uint64_t total = 0;

        for (i = 0; i < req.nr_segs; i++) {
            const struct blk_seg *s = &req.segs[i];

            check(s->first_sect <= s->last_sect && s->last_sect < 8);
            check(blk_seg_offset(s) + blk_seg_len(s) <= PAGE);
            if (lim.sector_size == 4096)
                check(blk_seg_offset(s) % 4096 == 0 &&
                      blk_seg_len(s) % 4096 == 0);
            total += blk_seg_len(s) >> 9;
        }
        check(total == req.nr_sectors);
        /* Without data (a pure flush) the sector is meaningless. */
        if (req.nr_segs) {
            check(req.sector <= lim.sectors &&
                  req.nr_sectors <= lim.sectors - req.sector);
            if (lim.sector_size == 4096)
                check(req.sector % 8 == 0);
        }
    }
    /* The response goes into a zeroed slot, whole. */
    memset(slot, 0, sizeof(slot));
    blk_rsp_write(abi, slot, req.id, req.op, BLKIF_RSP_OKAY);
    return 0;
}
