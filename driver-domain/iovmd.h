/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovmd internals: the driver domain's supervisor.  iovmd.c has main(),
 * the event loop, the control socket and the status client; dev.c has
 * the devices: discovery from xenstore, one backend process each, the
 * hotplug scripts, restarts and teardown.
 */
#ifndef IOVM_IOVMD_H
#define IOVM_IOVMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <xenstore.h>

#include "devstat.h"
#include "evloop.h"
#include "xenbus.h"

#define IOVMD_MAX_BACKEND_ARGS 16
#define IOVMD_CRASH_LOOP 5        /* abnormal exits ... */
#define IOVMD_CRASH_WINDOW_MS 30000 /* ... within this long fail a device */
#define IOVMD_BACKOFF_MIN_MS 100
#define IOVMD_BACKOFF_MAX_MS 5000
#define IOVMD_SCRIPT_TIMEOUT_MS 40000 /* LIBXL_HOTPLUG_TIMEOUT */
#define IOVMD_STOP_TIMEOUT_MS 10000   /* then SIGKILL */

/* A device class: its backend directory name and how to serve it. */
struct iovmd_class {
    const char *kind;         /* vbd, qdisk, vif, console */
    const char *backend;      /* program, or NULL: left to others */
    unsigned int args;        /* which backend_args it gets */
    const char *script_add;   /* hotplug script arguments */
    const char *script_remove;
};

enum iovmd_script {
    SCRIPT_NONE = 0,          /* not run (yet) */
    SCRIPT_ADDING,
    SCRIPT_ADDED,
    SCRIPT_REMOVING,
    SCRIPT_REMOVED,
};

struct iovmd_dev {
    struct iovmd_dev *next;
    const struct iovmd_class *cls;
    uint32_t fe_domid, devid;
    char be[160];             /* absolute backend directory */
    char rel[128];            /* backend/<kind>/<fe>/<devid> (XENBUS_PATH) */
    char fe[160];             /* frontend directory (the toolstack's) */
    bool fe_watched;
    pid_t pid;                /* the backend process, or 0 */
    uint64_t started_ns;
    bool stop_sent;           /* we asked it to stop */
    bool restart_now;         /* ... to start it again at once (upgrade) */
    bool replacing;           /* the next start replaces it: no restart */
    pid_t script_pid;         /* a hotplug script running, or 0 */
    uint64_t script_deadline_ns;
    enum iovmd_script script;
    bool failed;              /* error written, state Closing: no restarts */
    uint64_t close_at_ns;     /* failed: write Closing then (0: done) */
    unsigned int restarts;    /* since iovmd started serving it */
    unsigned int crashes;     /* abnormal exits in the current window */
    uint64_t crash_window_ns; /* start of that window */
    uint64_t restart_at_ns;   /* backoff: not before then */
    uint64_t closed_ns;       /* seen offline and Closed, backend gone */
    char last_error[256];
    int poke_fd;              /* eventfd the backend reconciles on */
    int stat_fd;              /* memfd: the backend's status page */
    int journal_fd;           /* memfd: its ring journal (rjournal.h), kept
                                 across its restarts */
    unsigned int takeovers;   /* restarts that went on without a crash
                                 being counted (the dead one was serving) */
    struct iovm_devstat *stat;
};

struct iovmd {
    struct xs_handle *xs;
    struct iovm_loop *loop;
    uint32_t domid;
    char home[64];            /* /local/domain/<domid> */
    struct iovmd_dev *devs;
    unsigned int ndevs;
    struct iovmd_class classes[4];
    /* Extra arguments: [0] block backends, [1] network backends. */
    const char *backend_args[2][IOVMD_MAX_BACKEND_ARGS];
    unsigned int nbackend_args[2];
    bool run_scripts;
    bool sandbox;             /* backends sandboxed (--sandbox) */
    const char *backend_user; /* the sandbox's user, or NULL: theirs */
    unsigned int remove_delay_ms;
    unsigned int script_timeout_s; /* hotplug scripts get this long */
    const char *log_level;    /* passed on to backends */
    int64_t timer;            /* the earliest pending deadline, or -1 */
    bool stopping;
    bool ready;
};

/* dev.c */
/* Lets go of what iovmd holds for a device (watch, status page, fds). */
void iovmd_dev_free(struct iovmd *d, struct iovmd_dev *v);
/* Looks at backend/ and brings every device in line with it. */
void iovmd_scan(struct iovmd *d);
void iovmd_reconcile_all(struct iovmd *d);
/* A watch fired for path: poke the backend it concerns. */
void iovmd_watch_event(struct iovmd *d, const char *path);
/* A child exited. */
void iovmd_child_exited(struct iovmd *d, pid_t pid, int status);
/* Stop every backend (they leave their devices as they are). */
void iovmd_stop_all(struct iovmd *d);
bool iovmd_children_left(const struct iovmd *d);
void iovmd_kill_all(struct iovmd *d);
/* Stops a device's backend and starts it again at once (a new binary,
 * say); the device stays connected.  0, or -ENOENT. */
int iovmd_upgrade(struct iovmd *d, const char *device);
/* Status, as text or JSON. */
void iovmd_status(struct iovmd *d, FILE *out, bool json);
/* Acts on deadlines that passed (hotplug scripts past their time). */
void iovmd_deadlines(struct iovmd *d);
/* Earliest deadline of any device (ns), or 0. */
uint64_t iovmd_next_deadline(const struct iovmd *d);

#endif
