/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-simd internals: the simulated hypervisor's domains, grant tables,
 * event channels and connections.  One thread, one event loop.
 */
#ifndef IOVM_SIMD_H
#define IOVM_SIMD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "evloop.h"
#include "sim-proto.h"
#include "xs-server.h"

struct simd;
struct hv_conn;

enum port_state { PORT_FREE = 0, PORT_UNBOUND, PORT_INTERDOMAIN };

struct sim_port {
    uint8_t state;
    uint32_t remote_domid;    /* UNBOUND: who may bind; INTERDOMAIN: peer */
    uint32_t remote_port;
    uint64_t remote_instance;
    struct hv_conn *owner;
};

/*
 * What only simd knows of a grant; its state, grantee, page and pins are
 * in the domain's shared table (struct sim_gnt_table).  A revoked entry
 * (the sharer let go) is freed once no map or pin holds it.
 */
struct sim_grant {
    uint32_t maps;
    struct hv_conn *owner; /* the gntshr handle that shared it */
};

struct sim_dom {
    struct sim_dom *next;
    struct simd *sd;
    uint32_t domid;
    uint64_t instance;
    char *name;
    uint8_t uuid[16];
    bool introduced;
    bool priv;
    char *dir;          /* <simdir>/dom<domid> */
    bool netns;         /* dir/netns: its network namespace (not dom0) */
    int xs_listen;
    int hv_listen;

    /* RAM: the pages it shares live here. */
    int mem_fd, mem_ro_fd;
    uint8_t *mem;
    uint8_t *page_used; /* bitmap */
    uint32_t page_rover;
    uint32_t pages_used;

    /* Event channels. */
    int evt_fd;
    struct sim_evtchn_page *evt;
    struct sim_port *ports; /* SIM_EVTCHN_NR */

    /* Grant table. */
    int gnt_fd;
    struct sim_gnt_table *gt; /* shared with the shims */
    struct sim_grant *grants; /* SIM_GNT_NR */
    uint32_t grant_entries;   /* the table's size: whole frames, grown */
    uint32_t grant_rover;
    uint32_t grants_used;

    struct hv_conn *conns;
    pid_t *pgids;       /* to kill: pids, or -pgid for process groups */
    unsigned int npgids;

    /* Fault injection. */
    unsigned int fail_map, fail_copy, fail_copy_seg;
    int fail_map_errno, fail_copy_errno;

    uint64_t maps_total;
};

/* A grant-table mapping held by a gnttab handle. */
struct hv_map_entry {
    uint64_t instance; /* granter */
    uint32_t ref;
    uint32_t page;
};
struct hv_map {
    struct hv_map *next;
    uint32_t id;
    uint32_t count;
    int32_t notify_offset;
    int32_t notify_port;
    struct hv_map_entry e[];
};

/* Pages a gntshr handle shares. */
struct hv_share {
    struct hv_share *next;
    uint32_t first_page;
    uint32_t count;
    int32_t notify_offset;
    int32_t notify_port;
    uint32_t refs[];
};

/* Grants held for the duration of one grant copy. */
struct hv_pin {
    struct hv_pin *next;
    uint32_t id;
    uint32_t count;
    struct hv_map_entry e[];
};

struct hv_conn {
    struct hv_conn *next; /* in dom->conns */
    struct sim_dom *dom;
    int fd;
    uint32_t kind;        /* enum sim_handle_kind, 0 before HELLO */
    uint32_t handle_id;
    int eventfd;          /* EVTCHN: signalled when a port has an event */
    bool restricted;
    uint32_t restrict_domid;
    struct hv_map *maps;
    uint32_t next_map_id;
    uint32_t max_grants;  /* 0: no limit set */
    uint32_t mapped;
    struct hv_share *shares;
    struct hv_pin *pins;
    uint32_t next_pin_id;
    struct sim_pin_log *pin_log; /* GNTTAB: what the shim has pinned */
    int pin_log_fd;
};

struct simd {
    struct iovm_loop *loop;
    char *dir;
    struct xs_server *xs;
    struct sim_dom *doms;
    uint32_t next_domid;
    uint64_t next_instance;
    uint32_t next_handle_id;
    int control_fd;
    bool stopping;
    struct xs_sock *xs_socks;
    struct ctl_conn *ctl_conns;
    /* The host, as its Xen reports it. */
    bool host_iommu, host_intremap;
    char host_cmdline[SIM_CMDLINE_MAX];
    /* PCI devices not owned by dom0, and their owners. */
    struct sim_pci_owner *pci_owners;
};

struct sim_pci_owner {
    struct sim_pci_owner *next;
    uint32_t sbdf;
    uint32_t domid; /* a domain, or SIM_DOMID_IO (quarantine) */
};

/* PCI ownership (hv.c): PCI_ASSIGN, and what a destroyed domain held. */
int pci_assign_op(struct simd *sd, const struct sim_pci_assign_req *req);
uint32_t pci_owner(struct simd *sd, uint32_t sbdf);
void pci_dom_destroyed(struct simd *sd, uint32_t domid);

/* domain.c */
int dom_create(struct simd *sd, const char *name, int want_domid,
               bool priv, struct sim_dom **domp);
void dom_destroy(struct simd *sd, struct sim_dom *dom);
struct sim_dom *dom_by_id(struct simd *sd, uint32_t domid);
struct sim_dom *dom_by_instance(struct simd *sd, uint64_t instance);
struct sim_dom *dom_by_name(struct simd *sd, const char *name);

/* hv.c: hypervisor connections */
int hv_listen_start(struct sim_dom *dom);
void hv_conn_close(struct hv_conn *c);

/* evtchn.c */
int evt_bind_unbound(struct hv_conn *c, uint32_t remote_domid,
                     uint32_t *port);
int evt_bind_interdomain(struct hv_conn *c, uint32_t remote_domid,
                         uint32_t remote_port, uint32_t *port);
int evt_unbind(struct hv_conn *c, uint32_t port);
void evt_release_conn(struct hv_conn *c);
/* Sends an event on dom's port as if dom notified it. */
void evt_send(struct sim_dom *dom, uint32_t port);
void evt_notify_delayed(struct sim_dom *dom, uint32_t port,
                        unsigned int delay_ms);
int evt_resolve(struct hv_conn *c, uint32_t port,
                struct sim_evt_resolve_rsp *rsp, int *page_fd,
                int *event_fd);
int hv_conn_eventfd(struct hv_conn *c);
uint32_t hv_conn_handle_id(struct hv_conn *c);
struct hv_conn *hv_conn_by_handle(struct sim_dom *dom, uint32_t handle_id);

/* gnt.c */
int gnt_share(struct hv_conn *c, const struct sim_gnt_share_req *req,
              uint32_t *first_page, uint32_t *refs);
int gnt_unshare(struct hv_conn *c, uint32_t first_page, uint32_t count);
int gnt_map(struct hv_conn *c, const struct sim_gnt_map_req *req,
            struct sim_gnt_map_rsp *rsp);
int gnt_unmap(struct hv_conn *c, uint32_t map_id);
int gnt_copy(struct hv_conn *c, const struct sim_gnt_copy_req *req,
             struct sim_gnt_copy_rsp *rsp);
void gnt_unpin(struct hv_conn *c, uint32_t pin_id);
void gnt_release_conn(struct hv_conn *c);
/* Ends access to a grant as the granting kernel would; EBUSY if in use. */
int gnt_end_access(struct sim_dom *dom, uint32_t ref);
bool gnt_dom_grants_to(struct sim_dom *granter, uint32_t grantee);
/* GNT_RECLAIM from a shim: frees the entry if revoked and unheld. */
void gnt_reclaim(struct simd *sd, uint64_t instance, uint32_t ref);
/* Keeps the table's copy_slow in step with the copy fault injection. */
void gnt_copy_faults_changed(struct sim_dom *d);
/* A grant's shared state, for "iovm-sim grant". */
uint32_t gnt_word(const struct sim_dom *d, uint32_t ref);

/* xs-sock.c */
struct xs_sock;
void xs_sock_output(void *arg, struct xs_client *cl);
int xs_sock_listen(struct simd *sd, struct sim_dom *dom);
void xs_sock_close_domain(struct simd *sd, uint32_t domid);

/* control.c */
struct ctl_conn;
int control_start(struct simd *sd);
/* Closes the control socket and every control connection. */
void control_stop(struct simd *sd);

#endif
