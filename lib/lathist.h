/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Latency histogram for the benchmarks: log-linear buckets (16 per power
 * of two, 0.1 us resolution), percentiles read back in microseconds.
 */
#ifndef IOVM_LATHIST_H
#define IOVM_LATHIST_H

#include <stdint.h>

#define IOVM_LATHIST_BUCKETS 512

struct iovm_lathist {
    uint64_t count;
    uint64_t n[IOVM_LATHIST_BUCKETS];
};

void iovm_lathist_add(struct iovm_lathist *h, uint64_t ns);
/* The p-quantile (0..1) in microseconds; 0 if empty. */
double iovm_lathist_pct_us(const struct iovm_lathist *h, double p);

#endif
