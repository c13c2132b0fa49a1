/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netif protocol core, pure: take one transmitted packet (its request
 * slots and extra-info slots) from private copies of TX ring slots,
 * validate it, and say what to answer; lay a received frame out over RX
 * slots the way Linux netback does.  No Xen calls; unit-tested.
 *
 * Everything in a slot is the frontend's and untrusted.  A bad packet is
 * either dropped (every slot it used answered with an error, the vif goes
 * on) or fatal (the vif fails, as Linux netback disables it), by the same
 * classes as Linux netback:
 *
 *   drop   first slot shorter than an Ethernet header; fragments adding
 *          up to more than the packet's size (a frame of 64 KiB or more
 *          overflows the 16-bit size: buggy frontends do this); 19 or 20
 *          data slots (more than XEN_NETIF_NR_SLOTS_MIN, which old
 *          frontends exceeded);
 *   fatal  a slot whose data crosses its page; more than 20 data slots;
 *          a packet or extra chain that runs past what the frontend has
 *          posted; an extra-info type 0 or unknown; GSO with size 0 or a
 *          type other than TCPv4/TCPv6 (or one not negotiated).
 *
 * Slot accounting: every slot a packet takes gets one response, data
 * slots with their id, extra-info slots NETIF_RSP_NULL.
 */
#ifndef IOVM_NET_PROTO_H
#define IOVM_NET_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/io/netif.h>

#define NET_ETH_HLEN 14u
#define NET_PAGE 4096u
/* Data slots a packet may use (what every backend must take) ... */
#define NET_TX_SLOTS_OK XEN_NETIF_NR_SLOTS_MIN
/* ... and up to which a packet is only dropped, not fatal. */
#define NET_TX_SLOTS_FATAL 20u
/* Extra-info slots we follow at most (one of each type). */
#define NET_TX_EXTRAS_MAX (XEN_NETIF_EXTRA_TYPE_MAX - 1)
/* Slots a packet can take without being fatal. */
#define NET_TX_LOOKAHEAD (NET_TX_SLOTS_FATAL + NET_TX_EXTRAS_MAX)

/* What the frontend and we agreed on (xenstore features). */
struct net_features {
    bool sg;          /* feature-sg: more than one data slot */
    bool gso_tcpv4, gso_tcpv6;
    bool csum;        /* not feature-no-csum-offload */
    bool ipv6_csum;   /* feature-ipv6-csum-offload */
    bool mcast;       /* request-multicast-control */
};

enum net_tx_reject {
    NET_TX_OK = 0,
    /* drop */
    NET_TX_TOO_SHORT,        /* first slot < 14 bytes */
    NET_TX_FRAGS_OVERRUN,    /* fragments larger than the packet */
    NET_TX_SLOTS_DROP,       /* 19 or 20 data slots */
    /* fatal */
    NET_TX_CROSS_PAGE,       /* offset + size past the page */
    NET_TX_SLOTS_FATAL_MANY, /* more than 20 data slots */
    NET_TX_TRUNCATED,        /* chain runs past the posted slots */
    NET_TX_EXTRA_TYPE,       /* extra type 0, unknown, or repeated */
    NET_TX_GSO_SIZE,         /* GSO size 0 */
    NET_TX_GSO_TYPE,         /* GSO type not TCPv4/v6, or not offered */
};
const char *net_tx_reject_str(enum net_tx_reject why);
/* Does this rejection fail the vif (rather than drop the packet)? */
bool net_tx_reject_fatal(enum net_tx_reject why);

/* One transmitted packet, as validated. */
struct net_tx_pkt {
    unsigned int nslots;     /* slots taken: data + extra-info */
    unsigned int ndata;      /* data slots (frag[0] is the first) */
    struct netif_tx_request frag[NET_TX_SLOTS_FATAL];
    uint16_t size;           /* the whole packet, bytes */
    uint16_t head_size;      /* frag[0]'s own bytes */
    uint16_t flags;          /* NETTXF_* of the first slot */
    uint8_t gso_type;        /* XEN_NETIF_GSO_TYPE_* (NONE: no GSO) */
    uint16_t gso_size;
    bool mcast_add, mcast_del;
    uint8_t mcast_addr[6];
    bool hash;
    uint8_t hash_type, hash_alg;
    uint8_t hash_value[4];
    /* Which of the nslots slots were extra-info (NETIF_RSP_NULL), by
     * position from the first. */
    uint32_t extra_mask;
};

/*
 * Parses the packet that starts at slots[0]; avail slots (private copies,
 * in ring order) are all the frontend has posted.  Fills pkt and returns
 * NET_TX_OK, or the reason it is dropped (pkt->nslots: the slots to
 * answer, with an error, and skip) or fatal (nothing to answer; the vif
 * fails).
 */
enum net_tx_reject net_tx_parse(const struct netif_tx_request *slots,
                                unsigned int avail,
                                const struct net_features *feat,
                                struct net_tx_pkt *pkt);

/* ---- receive (to the frontend) ---- */

/* The largest frame we pass to a frontend: a 64 KiB GSO packet plus its
 * Ethernet header. */
#define NET_RX_MAX_LEN (0xffffu + NET_ETH_HLEN)

/* What is known of a frame for the frontend (from the TAP's vnet header
 * and the control ring's hashing). */
struct net_rx_meta {
    uint8_t gso_type;        /* XEN_NETIF_GSO_TYPE_* (NONE: no GSO) */
    uint16_t gso_size;
    bool csum_blank;         /* checksum left to do (partial) */
    bool data_validated;     /* checksum known good */
    bool hash;               /* hash extra (the frontend enabled hashing) */
    uint8_t hash_type;       /* _XEN_NETIF_CTRL_HASH_TYPE_* */
    uint32_t hash_value;
};

/* One RX slot's response: data (a chunk of the frame copied to the start
 * of the request's page) or an extra-info. */
struct net_rx_slot {
    bool is_extra;
    uint32_t data_off;       /* data: where the chunk starts in the frame */
    uint16_t data_len;
    struct netif_rx_response rsp;  /* data: id, offset 0, flags, status */
    struct netif_extra_info extra; /* extra: as written into the slot */
};

/* Slots a frame of len bytes takes (data pages + extra-info), or 0 if
 * it cannot be passed (empty, over NET_RX_MAX_LEN, a bad GSO). */
unsigned int net_rx_slots(uint32_t len, const struct net_rx_meta *m);

/*
 * The responses for a frame of len bytes, in slot order, as Linux netback
 * writes them: the first data slot (flags: extra_info, more_data,
 * checksum state), then the extra-info slots (GSO, then hash), then the
 * remaining data, a page per slot; each response echoes the id of the
 * request in its slot (ids[i]: the request at the i-th slot taken).
 * Returns the slot count (net_rx_slots()) or 0.
 */
unsigned int net_rx_plan(uint32_t len, const struct net_rx_meta *m,
                         const uint16_t *ids, struct net_rx_slot *out);

#endif
