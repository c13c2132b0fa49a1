/* SPDX-License-Identifier: GPL-2.0-only */
/* Benchmark offsets (see offsets.h). */
#include "offsets.h"

void iovm_offsets_init(struct iovm_offsets *o, uint64_t span, uint64_t bs,
                       bool random, uint64_t seed)
{
    o->span = span;
    o->bs = bs;
    o->random = random;
    o->rng = 88172645463325252ull ^ (seed * 0x9e3779b97f4a7c15ull);
    if (!o->rng)
        o->rng = 1;
    o->next = seed ? (o->rng % (span / bs)) * bs : 0;
}

uint64_t iovm_offsets_next(struct iovm_offsets *o)
{
    uint64_t off;

    if (o->random) {
        o->rng ^= o->rng << 13;
        o->rng ^= o->rng >> 7;
        o->rng ^= o->rng << 17;
        return (o->rng % (o->span / o->bs)) * o->bs;
    }
    off = o->next;
    /* Wrap before a block would run past the end. */
    o->next = off + 2 * o->bs > o->span ? 0 : off + o->bs;
    return off;
}
