/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated hypervisor's ABI: messages between iovm-simd and the shim
 * libraries (libxengnttab, libxenevtchn, libxenctrl), and the layout of the
 * memory both sides share.
 *
 * Every library handle (xengnttab_open, xengntshr_open, xenevtchn_open,
 * xc_interface_open) is one SOCK_SEQPACKET connection to the hypervisor
 * socket of the caller's domain; the domain of a handle is the socket it
 * connected to.  Closing the connection (or the process dying) releases
 * everything the handle held, as closing /dev/xen/{gntdev,gntalloc,evtchn}
 * does on Linux.
 *
 * Shared memory, all created by simd as memfds:
 *  - a domain's "RAM": pages a domain shares through gntshr live here;
 *    a grantee maps single pages of it after simd has checked the grant.
 *  - a domain's event-channel page: one struct sim_evtchn_page per domain,
 *    holding the pending/masked bits of each of its ports.  A sender sets
 *    the pending bit of the peer port directly and signals the eventfd of
 *    the handle that owns that port, so a notification is never a round
 *    trip through simd.
 *  - a domain's grant table: one struct sim_gnt_table per domain.  simd
 *    alone creates, ends and revokes entries; a grant copy pins the
 *    entries it uses with a compare-and-swap on their word and copies
 *    between the RAMs itself, so a copy is a round trip through simd only
 *    when the fast path cannot decide (see struct sim_gnt_table).  On
 *    Xen a grant copy is one hypercall, never a wake-up of another
 *    process, and this keeps the simulator's cost of it alike.
 *
 * simd trusts nothing a shim sends: every message is length-checked and
 * every id is looked up in simd's own tables.  The shims trust simd.
 */
#ifndef IOVM_SIM_PROTO_H
#define IOVM_SIM_PROTO_H

#include <stdint.h>

#define SIM_PAGE_SIZE 4096u
#define SIM_PAGE_SHIFT 12

/* Event channels per domain (the 2-level ABI limit on 64-bit Xen). */
#define SIM_EVTCHN_NR 4096u
/*
 * The first port handed to a program.  A guest's kernel binds its own
 * ports first (xenstore on 1, the console, then a timer VIRQ and a few
 * IPIs per vCPU), and Xen allocates the lowest free port, so on a small
 * real guest a program's first port is around 10, never 1.  simd keeps
 * the ports below this free for that kernel and never hands them out.
 */
#define SIM_EVTCHN_FIRST 10u
/* Grant references per domain: 64 v1 frames of 512 entries. */
#define SIM_GNT_NR 32768u
/* A domain's table starts with one frame and grows as Xen's does. */
#define SIM_GNT_PER_FRAME 512u
/* The first 8 references are reserved, as in Xen. */
#define SIM_GNT_FIRST 8u
/* Pages of simulated RAM per domain (sparse memfd). */
#define SIM_DOM_PAGES (256u * 1024u) /* 1 GiB */

/* Largest message in either direction. */
#define SIM_MSG_MAX (64u * 1024u)
/* Most pages in one map or share request and segments in one copy. */
#define SIM_BATCH_MAX 1024u

/* Environment variables set by "iovm-sim exec". */
#define SIM_ENV_HV "IOVM_SIM_HV"         /* hypervisor socket path */
#define SIM_ENV_DIR "IOVM_SIM_DIR"       /* simulator state directory */
#define SIM_ENV_DOMID "IOVM_SIM_DOMID"   /* the domain we run in */

enum sim_op {
    SIM_OP_HELLO = 1,
    /* gntshr (granting side) */
    SIM_OP_GNT_SHARE,
    SIM_OP_GNT_UNSHARE,
    /* gnttab (mapping side) */
    SIM_OP_GNT_MAP,
    SIM_OP_GNT_UNMAP,
    SIM_OP_GNT_COPY,
    SIM_OP_GNT_UNPIN,       /* one way: no reply */
    SIM_OP_GNT_SET_MAX,
    SIM_OP_DOM_MEM,         /* fd of another domain's RAM (for mapping) */
    /* event channels */
    SIM_OP_EVT_BIND_UNBOUND,
    SIM_OP_EVT_BIND_INTERDOMAIN,
    SIM_OP_EVT_UNBIND,
    SIM_OP_EVT_RESOLVE,
    SIM_OP_EVT_RESTRICT,
    SIM_OP_EVT_NOTIFY_SLOW, /* notification routed through simd (delay) */
    /* control (libxenctrl) */
    SIM_OP_DOMINFO,
    SIM_OP_DOM_GNT,         /* fds of another domain's grant table and RAM */
    SIM_OP_GNT_RECLAIM,     /* one way: a revoked grant's last pin is gone */
    SIM_OP_HOSTINFO,        /* the host's IOMMU and Xen command line */
    SIM_OP_PCI_ASSIGN,      /* XEN_DOMCTL_{assign,deassign,test_assign}_device */
    SIM_OP__MAX,
};

/* What a connection is for; fixed by its HELLO. */
enum sim_handle_kind {
    SIM_HANDLE_GNTTAB = 1,
    SIM_HANDLE_GNTSHR,
    SIM_HANDLE_EVTCHN,
    SIM_HANDLE_CTRL,
};

/* Every message starts with this header. */
struct sim_hdr {
    uint32_t op;
    uint32_t seq;   /* echoed in the reply */
    int32_t ret;    /* reply: 0 or -errno */
    uint32_t len;   /* bytes after the header */
};

struct sim_hello_req {
    uint32_t kind;  /* enum sim_handle_kind */
};

/*
 * HELLO reply.  Carries fds (SCM_RIGHTS): GNTSHR: the domain's RAM;
 * EVTCHN: the domain's event-channel page, then the handle's eventfd;
 * GNTTAB: the domain's grant table, then the handle's pin log.
 */
struct sim_hello_rsp {
    uint32_t domid;
    uint32_t handle_id;   /* unique for the lifetime of simd */
    uint64_t dom_instance; /* unique per created domain (domids are reused) */
};

/* gntshr: share count fresh zeroed pages with domid. */
struct sim_gnt_share_req {
    uint32_t domid;
    uint32_t count;
    uint32_t writable;
    int32_t notify_offset; /* -1: none; else byte in the first page */
    int32_t notify_port;   /* -1: none; port owned by the caller */
};
/* Reply: page index in the domain's RAM of the first page, then refs. */
struct sim_gnt_share_rsp {
    uint32_t first_page;
    uint32_t count;
    uint32_t refs[];
};

struct sim_gnt_unshare_req {
    uint32_t first_page;
    uint32_t count;
};

struct sim_gnt_ref {
    uint32_t domid;
    uint32_t ref;
};

struct sim_gnt_map_req {
    uint32_t count;
    uint32_t writable;
    int32_t notify_offset; /* as for share; only with count == 1 */
    int32_t notify_port;
    struct sim_gnt_ref refs[];
};
/*
 * Reply: a map id, then for each ref the RAM instance and page index to
 * mmap.  The map holds the grants in use until GNT_UNMAP or close.
 */
struct sim_gnt_map_page {
    uint64_t dom_instance;
    uint32_t page;
    uint32_t pad;
};
struct sim_gnt_map_rsp {
    uint32_t map_id;
    uint32_t count;
    struct sim_gnt_map_page pages[];
};

struct sim_gnt_unmap_req {
    uint32_t map_id;
};

/* DOM_MEM: request an fd (SCM_RIGHTS in the reply) of a domain's RAM. */
struct sim_dom_mem_req {
    uint64_t dom_instance;
    uint32_t writable;
};

/*
 * DOM_GNT: the grant table and RAM (writable) of the domain with this
 * domid, as SCM_RIGHTS in the reply, if it grants the caller something.
 */
struct sim_dom_gnt_req {
    uint32_t domid;
};
struct sim_dom_gnt_rsp {
    uint64_t dom_instance;
};

/*
 * HOSTINFO (privileged, as the sysctl and XENVER_commandline are): what
 * the simulated host's Xen says about device assignment.  Set with
 * "iovm-sim ctl host ...".
 */
#define SIM_CMDLINE_MAX 1024u
struct sim_hostinfo_rsp {
    uint32_t iommu;    /* I/O virtualisation enabled (directio) */
    uint32_t intremap; /* interrupt remapping enabled */
    char cmdline[SIM_CMDLINE_MAX]; /* Xen's command line, NUL-terminated */
};

/*
 * PCI_ASSIGN (privileged): who owns a PCI device, as Xen's IOMMU code
 * keeps it: dom0 (the hardware domain) until assigned, DOMID_IO when
 * quarantined, else the domain it was assigned to.  Assigning needs the
 * IOMMU on and the device free (dom0's or quarantined), else EBUSY;
 * deassigning needs the owner named: from a domain the device goes to
 * quarantine, from DOMID_IO back to dom0.
 */
#define SIM_PCI_ASSIGN 1u
#define SIM_PCI_DEASSIGN 2u
#define SIM_PCI_TEST 3u
#define SIM_DOMID_IO 0x7ff1u
struct sim_pci_assign_req {
    uint32_t op;   /* SIM_PCI_* */
    uint32_t domid;
    uint32_t sbdf; /* segment << 16 | bus << 8 | devfn */
};

/* GNT_RECLAIM: frees the entry if it is revoked and nothing holds it. */
struct sim_gnt_reclaim_req {
    uint64_t dom_instance;
    uint32_t ref;
    uint32_t pad;
};

/* Grant copy: one side of a segment is a grant, the other is local. */
#define SIM_COPY_SRC_GREF 1u
#define SIM_COPY_DST_GREF 2u
struct sim_gnt_copy_seg {
    uint32_t flags;
    uint32_t len;
    uint32_t src_domid, src_ref, src_offset;
    uint32_t dst_domid, dst_ref, dst_offset;
};
struct sim_gnt_copy_req {
    uint32_t count;
    struct sim_gnt_copy_seg segs[];
};
/* Per segment: a GNTST_* status and where the granted page(s) are. */
struct sim_gnt_copy_res {
    int32_t status;
    uint32_t src_page;
    uint32_t dst_page;
    uint32_t pad;
    uint64_t src_instance;
    uint64_t dst_instance;
};
struct sim_gnt_copy_rsp {
    uint32_t pin_id; /* 0: nothing pinned */
    uint32_t count;
    struct sim_gnt_copy_res res[];
};
struct sim_gnt_unpin_req {
    uint32_t pin_id;
};

struct sim_gnt_set_max_req {
    uint32_t count;
};

struct sim_evt_bind_unbound_req {
    uint32_t remote_domid;
};
struct sim_evt_bind_interdomain_req {
    uint32_t remote_domid;
    uint32_t remote_port;
};
struct sim_evt_port_req {
    uint32_t port;
};
struct sim_evt_port_rsp {
    uint32_t port;
};
struct sim_evt_restrict_req {
    uint32_t domid;
};

/*
 * RESOLVE: who receives notifications sent on one of our ports.  gen is
 * the value of our port's gen word when the answer was true; a shim caches
 * the answer until the word changes.  When bound, the reply carries the
 * peer domain's event-channel page and the peer handle's eventfd.
 */
struct sim_evt_resolve_rsp {
    uint32_t gen;
    uint32_t bound;          /* 0: unbound, notifications are dropped */
    uint64_t peer_instance;
    uint32_t peer_port;
    uint32_t peer_handle;
};

struct sim_dominfo_req {
    uint32_t first_domid;
    uint32_t max;
};
struct sim_dominfo {
    uint32_t domid;
    uint32_t flags;          /* SIM_DOMINFO_* */
    uint64_t instance;
    uint8_t handle[16];      /* the domain's UUID */
    uint32_t max_vcpu_id;
    uint32_t pad;
    uint64_t tot_pages;
    uint64_t max_pages;
};
#define SIM_DOMINFO_DYING 1u
#define SIM_DOMINFO_SHUTDOWN 2u
#define SIM_DOMINFO_RUNNING 4u
#define SIM_DOMINFO_PRIV 8u
struct sim_dominfo_rsp {
    uint32_t count;
    struct sim_dominfo info[];
};

/* ---- shared memory ---- */

#define SIM_EVT_PENDING 1u
#define SIM_EVT_MASKED 2u

struct sim_evtchn_port {
    uint32_t flags; /* SIM_EVT_*, atomic */
    uint32_t gen;   /* changed by simd when the binding changes, atomic */
};

/* One per domain, mapped by every process that talks to it. */
struct sim_evtchn_page {
    /* Fault injection and counters for notifications this domain sends. */
    uint32_t drop_notify;     /* drop the next N, atomic */
    uint32_t delay_notify_ms; /* route through simd with this delay */
    uint64_t notify_sent;     /* atomic counters */
    uint64_t notify_dropped;
    uint64_t pad[5];
    struct sim_evtchn_port ports[SIM_EVTCHN_NR];
};

/*
 * A domain's grant table.  An entry's word holds its state and how many
 * grant copies hold it (pins).  simd writes grantee and page while the
 * entry is free, then publishes the word (release); it clears the word of
 * an entry only with a compare-and-swap that finds no pins, and it sets
 * REVOKED when the sharer lets go while something holds the entry, after
 * which pins only go down.
 *
 * A shim copying with a grant first notes the entry in its handle's pin
 * log (INTENT), raises pins with a compare-and-swap from a word that is
 * IN_USE and not REVOKED, marks the log entry PINNED, and only then reads
 * grantee and page, which cannot change while pinned.  It unpins by
 * clearing the log entry first and then lowering pins; when that leaves a
 * REVOKED entry with no pins it sends GNT_RECLAIM.  When a handle closes,
 * simd drops the pins its log says PINNED; a process killed between the
 * compare-and-swap and the log update leaks a pin (the entry is never
 * freed), never frees an entry in use.
 *
 * Whatever the fast path cannot decide (a revoked entry still mapped, a
 * grant for another domain, a reference out of range, DOMID_SELF, fault
 * injection armed: copy_slow) goes to simd as GNT_COPY, which answers
 * with Xen's status for it.
 */
#define SIM_GNTW_IN_USE (1u << 31)
#define SIM_GNTW_READONLY (1u << 30)
#define SIM_GNTW_REVOKED (1u << 29)
#define SIM_GNTW_PINS 0xffffu

struct sim_gnt_entry {
    uint32_t word;
    uint32_t grantee;
    uint32_t page;
    uint32_t pad;
};

struct sim_gnt_table {
    uint64_t dom_instance;
    uint32_t entries;   /* the table's size (grows), atomic */
    uint32_t dead;      /* the domain is gone, atomic */
    uint32_t copy_slow; /* send every copy by this domain to simd, atomic */
    uint32_t pad;
    uint64_t copies_total;    /* grant copies by this domain, atomic */
    uint64_t copy_segs_total;
    uint64_t pad2[3];
    struct sim_gnt_entry e[SIM_GNT_NR];
};

enum sim_pin_state { SIM_PIN_FREE = 0, SIM_PIN_INTENT, SIM_PIN_PINNED };

/* What a gnttab handle holds pinned right now (both sides of a copy). */
struct sim_pin_log {
    struct {
        uint64_t dom_instance;
        uint32_t ref;
        uint32_t state; /* enum sim_pin_state, atomic */
    } e[2];
};

#endif
