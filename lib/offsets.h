/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The offsets the benchmarks read or write (tests/bench/direct-io and
 * iovm-blkfront bench): random, block-aligned (xorshift64), or
 * sequential, wrapping before a block would pass the end.  The same seed
 * gives both tools the same sequence; another seed, other offsets and
 * another sequential start.
 */
#ifndef IOVM_OFFSETS_H
#define IOVM_OFFSETS_H

#include <stdbool.h>
#include <stdint.h>

struct iovm_offsets {
    uint64_t span, bs, next, rng;
    bool random;
};

/* span >= bs > 0. */
void iovm_offsets_init(struct iovm_offsets *o, uint64_t span, uint64_t bs,
                       bool random, uint64_t seed);
uint64_t iovm_offsets_next(struct iovm_offsets *o);

#endif
