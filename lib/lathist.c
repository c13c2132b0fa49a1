/* SPDX-License-Identifier: GPL-2.0-only */
/* Latency histogram (see lathist.h). */
#include "lathist.h"

static unsigned int bucket(uint64_t ns)
{
    unsigned int e = 0, b;

    ns /= 100; /* 0.1 us resolution */
    if (ns < 16)
        return (unsigned int)ns;
    while ((ns >> e) >= 32)
        e++;
    b = 16 * (e + 1) + (unsigned int)((ns >> e) - 16);
    return b < IOVM_LATHIST_BUCKETS ? b : IOVM_LATHIST_BUCKETS - 1;
}

static double bucket_us(unsigned int b)
{
    if (b < 16)
        return b / 10.0;
    return (double)((uint64_t)(16 + b % 16) << (b / 16 - 1)) / 10.0;
}

void iovm_lathist_add(struct iovm_lathist *h, uint64_t ns)
{
    h->n[bucket(ns)]++;
    h->count++;
}

double iovm_lathist_pct_us(const struct iovm_lathist *h, double p)
{
    uint64_t want = (uint64_t)(h->count * p), seen = 0;
    unsigned int i;

    for (i = 0; i < IOVM_LATHIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen > want)
            return bucket_us(i);
    }
    return 0;
}
