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
    unsigned int timeout_ms; /* libxl's 10 s device timeouts; 0: those */
    bool quiet;              /* no warnings from device teardown */
};

/* ctl.c: one command line to simd; reply in buf ("OK ..." stripped). */
/* "iovm-sim: MESSAGE" on stderr; returns 1 (the exit status). */
int tool_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
/* The ids of the running domains (xc_domain_getinfolist): at most max
 * of them into ids; returns how many or -errno. */
int ctl_list_domids(const char *dir, uint32_t *ids, unsigned int max);

/* toolstack.c */
int tool_xs_open(struct sim_tool *t);
/*
 * Called by tool_domain_create between libxl__domain_make and the build
 * (where libxl sets the disks' defaults); a non-zero return destroys the
 * new domain and is returned.
 */
typedef int tool_create_hook(struct sim_tool *t, uint32_t domid, void *arg);
int tool_domain_create(struct sim_tool *t, const char *name, int want_domid,
                       bool driver_domain, tool_create_hook *before_build,
                       void *arg, uint32_t *domid);
int tool_domain_destroy(struct sim_tool *t, const char *name_or_id);
/* Waits until path reads value (or is gone if value is NULL, or exists
 * if value is TOOL_WAIT_EXISTS); 0 or -ETIMEDOUT. */
extern const char TOOL_WAIT_EXISTS[];
int tool_xs_wait(struct xs_handle *xs, const char *path, const char *value,
                 unsigned int timeout_ms);
/*
 * Waits until the backend state node at path holds state (read with
 * atoi(), as libxl's devstate does) until deadline (iovm_now_ns() clock):
 * 0, -ETIMEDOUT, or -ENOENT as soon as the node is missing.
 */
int tool_xs_wait_state(struct xs_handle *xs, const char *path, int state,
                       uint64_t deadline_ns);
/* Removes path and its ancestors that became empty (libxl path_cleanup). */
void tool_xs_path_cleanup(struct xs_handle *xs, xs_transaction_t t,
                          const char *path);

/* One PV device, as libxl records it in /libxl/D/device/KIND/DEVID. */
struct tool_device {
    char fe[256];      /* frontend path */
    char be[256];      /* backend path */
    char lx[256];      /* the /libxl entry */
    uint32_t be_domid;
    int rc;            /* tool_devices_remove: 0 or -errno ... */
    char why[192];     /* ... and what went wrong */
    bool forced;       /* ... and whether it was removed by force */
};

/* libxl's force flag for removals (libxl_internal.h). */
enum tool_force {
    TOOL_FORCE_OFF,  /* xl block-detach: fail, leaving all, if not closed */
    TOOL_FORCE_ON,   /* block-detach -f, destroy: remove whatever happens */
    TOOL_FORCE_AUTO, /* network-detach: not closed in time, go on as ON */
};

/* Fills dev from /libxl/<domid>/device/<kind>/<devid>; -ENOENT if absent. */
int tool_device_read(struct xs_handle *xs, uint32_t domid, const char *kind,
                     const char *devid, struct tool_device *dev);
/*
 * Removes devices as libxl__initiate_device_generic_remove does, all at
 * once: (FORCE_ON: remove the frontend,) write online=0 and state=5,
 * wait for state 6, for a driver-domain backend wait for it to remove
 * its directory, then remove frontend, /libxl entry and backend with
 * path_cleanup.  timeout_ms (LIBXL_DESTROY_TIMEOUT) bounds each wait.
 * FORCE_AUTO: a device whose wait for state 6 timed out starts over
 * with FORCE_ON (device_backend_callback), waiting as long again.
 * Sets each device's rc/why; returns the first error.
 */
int tool_devices_remove(const char *dir, struct xs_handle *xs,
                        struct tool_device *devs, unsigned int n,
                        enum tool_force force, unsigned int timeout_ms);

/*
 * hotplug.c: runs the hotplug script be/script names (if any), "add" or
 * "remove" (a vif's: "online"/"offline" type_if=vif), inside dom0 with
 * libxl's environment, and waits for it (40 s).  0, or -errno with what
 * libxl would say in why.
 */
int tool_hotplug(const char *dir, struct xs_handle *xs, const char *be,
                 const char *action, char *why, size_t len);

/* xl.c: `iovm-sim xl ...`; argv[0] is "xl". */
int xl_main(struct sim_tool *t, int argc, char **argv);

#endif
