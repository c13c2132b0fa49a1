/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Block-device helpers for simulator tests: write a vbd's nodes as libxl
 * does (as dom0), take one down as libxl does, run iovm-blkback inside a
 * domain.  See simtest.h for the simulator itself.
 */
#ifndef IOVM_SIMBLK_H
#define IOVM_SIMBLK_H

#include <stdint.h>
#include <sys/types.h>

#include <xenstore.h>

/* extra: NULL-terminated key, value pairs added to the backend dir. */
void simblk_vbd_add(uint32_t be, uint32_t fe, uint32_t devid,
                    const char *params, const char *const *extra);
/*
 * libxl's removal: online=0 and Closing (unless already Closed) in one
 * transaction; waits to read Closed, then for the driver domain to
 * remove its directory; then removes what is left of both ends (either
 * way).  0, -ETIMEDOUT, or -ENOENT if the directory vanished before
 * Closed could be read (libxl fails then too).
 */
int simblk_vbd_remove(uint32_t be, uint32_t fe, uint32_t devid);
/*
 * The block suites' fixture: the simulator, a driver domain and
 * iovm-blkback (debug log in the simulator's directory, quick directory
 * removal) in it.  Returns the backend's pid; *dd is the driver domain.
 */
pid_t simblk_fixture_start(uint32_t *dd, char *logpath, size_t len);
void simblk_fixture_stop(pid_t bb);
/* Starts iovm-blkback ARGS in domain dom; its log goes to logpath. */
pid_t simblk_backend_start(uint32_t dom, const char *logpath,
                           const char *args);
void simblk_backend_stop(pid_t pid);
/* Writes dir/key = val through h (in transaction t), or fails the test. */
void simblk_xs_write(struct xs_handle *h, xs_transaction_t t,
                     const char *dir, const char *key, const char *val);
/* Reads a xenstore node as dom0 into buf; 0 or -ENOENT. */
int simblk_read(const char *path, char *buf, size_t len);
/* Waits (watch, no sleep) for path to read value; NULL: to be gone. */
int simblk_wait(const char *path, const char *value, unsigned int ms);

#endif
