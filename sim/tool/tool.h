/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-sim, the simulator's toolstack: talks to iovm-simd's control socket
 * (the hypervisor) and, as dom0, to its xenstore through the real
 * libxenstore, writing what libxl writes.
 */
#ifndef IOVM_SIM_TOOL_H
#define IOVM_SIM_TOOL_H

#include <stdbool.h>
#include <stdint.h>

#include <xenstore.h>

struct sim_tool {
    const char *dir;         /* simulator state directory */
    struct xs_handle *xs;    /* dom0's xenstore, opened on demand */
};

/* ctl.c: one command line to simd; reply in buf ("OK ..." stripped). */
int ctl_cmd(const char *dir, char *reply, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends a command and copies every reply line to stdout. */
int ctl_passthrough(const char *dir, const char *line);

struct sim_domain_info {
    uint32_t domid;
    char name[64];
    char uuid[40];
};
/* Looks up a domain by name or id. */
int ctl_find(const char *dir, const char *name_or_id,
             struct sim_domain_info *info);

/* toolstack.c */
int tool_xs_open(struct sim_tool *t);
int tool_domain_create(struct sim_tool *t, const char *name, int want_domid,
                       bool driver_domain, uint32_t *domid);
int tool_domain_destroy(struct sim_tool *t, const char *name_or_id);
/* Waits until path reads value (or is gone if value is NULL, or exists
 * if value is TOOL_WAIT_EXISTS); 0 or -ETIMEDOUT. */
extern const char TOOL_WAIT_EXISTS[];
int tool_xs_wait(struct xs_handle *xs, const char *path, const char *value,
                 unsigned int timeout_ms);
/* Removes path and its ancestors that became empty (libxl path_cleanup). */
void tool_xs_path_cleanup(struct xs_handle *xs, xs_transaction_t t,
                          const char *path);

#endif
