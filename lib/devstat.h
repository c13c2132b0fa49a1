/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A device's shared status page: iovmd creates it (a memfd), hands it to
 * the backend process it starts for the device, and keeps it across that
 * process's restarts; the backend keeps it current with relaxed atomic
 * stores, iovmd reads it for `iovmd status` without asking the backend
 * anything.  Nothing in it is trusted by iovmd beyond printing numbers:
 * the backend that writes it may be the one that misbehaves.
 */
#ifndef IOVM_DEVSTAT_H
#define IOVM_DEVSTAT_H

#include <stdint.h>

#define IOVM_DEVSTAT_MAGIC 0x31746174736d766full /* "ovmstat1" */
#define IOVM_DEVSTAT_QUEUES 16u

struct iovm_devstat_queue {
    uint64_t requests;      /* taken from the ring */
    uint64_t inflight;      /* taken, not yet answered */
    uint64_t refused;       /* answered with an error for a bad request */
    uint64_t wakeups;       /* event-channel wake-ups */
    uint64_t notifications; /* sent to the frontend */
    uint64_t peak_inflight_bytes; /* most guest data in flight at once */
};

struct iovm_devstat {
    uint64_t magic;
    uint32_t pid;           /* the backend process writing it */
    uint32_t nqueues;       /* connected queues, 0 when not connected */
    struct iovm_devstat_queue q[IOVM_DEVSTAT_QUEUES];
    /* This process's run (iovmd tells a crash loop from it). */
    uint64_t started_ns;    /* CLOCK_MONOTONIC, when it started */
    uint64_t first_rsp_ns;  /* its first response written (0: none yet) */
    uint32_t replay_left;   /* requests it took over, not yet answered */
    uint32_t serving;       /* 1: connected, everything taken over done */
    uint32_t resumed_reqs;  /* requests it took over from the journal */
};

#define IOVM_DEVSTAT_SET(field, v) \
    __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define IOVM_DEVSTAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif
