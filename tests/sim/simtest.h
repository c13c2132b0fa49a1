/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for Check suites that run against a live iovm-simd: start and
 * stop a simulator in a temporary directory, create domains, run
 * iovm-sim commands, and point this process's Xen library handles at a
 * domain (the shims and libxenstore read their socket paths when a handle
 * is opened, so one test process can act as several domains).
 */
#ifndef IOVM_SIMTEST_H
#define IOVM_SIMTEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Starts a simulator (once per process; idempotent) and returns its dir. */
const char *simtest_start(void);
void simtest_stop(void);
/* Runs a shell command line; its stdout (trimmed) into out.  Returns the
 * exit status, or -1. */
int simtest_sh(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "iovm-sim --dir DIR ARGS"; same conventions. */
int simtest_sim(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Creates a domain with a name unique to this process; returns its id. */
uint32_t simtest_domain(const char *tag);
/* Library handles opened after this belong to domid. */
void simtest_enter(uint32_t domid);
/*
 * In a test (a forked child of Check): nothing we spawn may inherit
 * Check's message file, whose offset the child shares with its parent.
 * Marks every descriptor from 3 up close-on-exec.
 */
void simtest_cloexec_all(void);
/* Runs the suite (CK_NORMAL), frees it; EXIT_SUCCESS or EXIT_FAILURE. */
int simtest_run(Suite *s);
/* A field "key=value" of a control reply, as a number (-1: absent). */
long simtest_field(const char *reply, const char *key);

#endif
