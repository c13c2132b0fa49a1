/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-netfront's pure protocol core: no Xen calls, no I/O; unit-tested
 * (tests/unit/check-netfront.c).
 *
 *   - completing a partial checksum in software (where it is:
 *     lib/netcsum.h, shared with the backend);
 *   - the TX side: what a frame read from the TAP (with its virtio-net
 *     header) becomes on the ring: flags, GSO extra, slots over full pages;
 *   - the RX side: a chain of RX responses (NETRXF_more_data,
 *     NETRXF_extra_info + extras) into one frame and its virtio-net header;
 *   - ones'-complement sums over a frame split across pages; MAC parsing.
 *
 * Trust: RX responses and every byte of a received frame come from the
 * backend and are untrusted; they are read from private copies and
 * checked (a bad chain is dropped, never followed past what was given).
 * TX frames come from our own kernel (the TAP) but are still checked.
 */
#ifndef IOVM_NF_PROTO_H
#define IOVM_NF_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_net.h>

#include "netcsum.h"
#include "ring.h" /* the barriers xen/io/ring.h expects, first */
#include <xen/io/netif.h>

#define NF_PAGE 4096u
#define NF_ETH_HLEN 14u
/* Largest frame the 16-bit size of a TX slot can carry. */
#define NF_TX_MAX_FRAME XEN_NETIF_MAX_TX_SIZE
/* Data slots a TX frame takes at most: 64 KiB over full pages. */
#define NF_TX_MAX_DATA ((NF_TX_MAX_FRAME + NF_PAGE - 1) / NF_PAGE)
/* Ring slots a TX frame takes at most: data + the GSO extra. */
#define NF_TX_MAX_SLOTS (NF_TX_MAX_DATA + 1)
_Static_assert(NF_TX_MAX_DATA <= XEN_NETIF_NR_SLOTS_MIN, "TX slots");
/* Data slots of one RX frame at most (Linux netfront: 18, one more when
 * the first slot is small). */
#define NF_RX_MAX_DATA (XEN_NETIF_NR_SLOTS_MIN + 1)
/* Header bytes looked at (Ethernet + IPv6 with extension headers + TCP
 * with options); copied out of the frame before parsing. */
#define NF_HDR_MAX 384u

/* ---------------------------------------------------------------- */
/* checksums (and lib/netcsum.h) */

/*
 * Completes a partial checksum in software over a frame in iov[0..n):
 * sums from start to the end (the field holds the pseudo-header seed)
 * and stores the result at start + offset (0 becomes 0xffff).  0 or
 * -EINVAL if the field is past the frame.
 */
int nf_csum_complete(const struct iovec *iov, unsigned int n, uint32_t len,
                     uint32_t start, uint32_t offset);
/* Writes a big-endian 16-bit value at byte off of the frame in iov. */
int nf_iov_put16(const struct iovec *iov, unsigned int n, uint32_t off,
                 uint16_t v);
/* Copies up to max bytes from the start of the frame; returns how many. */
size_t nf_iov_gather(const struct iovec *iov, unsigned int n, uint8_t *out,
                     size_t max);

/* ---------------------------------------------------------------- */
/* transmit */

/* What the TX direction may use (both ends agreed). */
struct nf_tx_caps {
    bool sg;             /* more than one slot per frame */
    bool csum4, csum6;   /* NETTXF_csum_blank for IPv4 / IPv6 */
    bool gso4, gso6;     /* GSO extra for TCPv4 / TCPv6 */
};

struct nf_tx_plan {
    uint16_t flags;              /* NETTXF_csum_blank|data_validated */
    bool gso;
    struct netif_extra_info gso_extra;
    bool sw_csum;                /* complete the checksum here first */
    uint16_t csum_start, csum_offset;
    const char *why;             /* when dropped */
};

/*
 * Decides how a frame read from the TAP goes out.  vh: its virtio-net
 * header; hdr: its first caplen bytes; len: its length (without vh).
 * 0: send; -1: drop (plan->why says why).
 */
int nf_tx_plan(const struct virtio_net_hdr *vh, const uint8_t *hdr,
               size_t caplen, uint32_t len, const struct nf_tx_caps *caps,
               struct nf_tx_plan *plan);

/* A TX ring slot: a request, or an extra-info laid over one. */
union nf_tx_slot {
    struct netif_tx_request req;
    struct netif_extra_info extra;
};

/*
 * Lays a frame of len bytes (1..NF_TX_MAX_FRAME) held in consecutive full
 * pages (grefs[i], ids[i]) out as TX slots: the first with the whole size
 * and plan's flags, the GSO extra after it, then a slot per further page.
 * Returns the number of slots written to out (NF_TX_MAX_SLOTS at most).
 */
unsigned int nf_tx_layout(uint32_t len, const uint32_t *grefs,
                          const uint16_t *ids, const struct nf_tx_plan *plan,
                          union nf_tx_slot *out);

/* ---------------------------------------------------------------- */
/* receive */

struct nf_rx_frag {
    uint16_t slot;     /* response index, from the first of the frame */
    uint16_t offset;
    uint16_t len;
};

struct nf_rx_frame {
    unsigned int nslots;   /* responses the frame takes (data + extras) */
    unsigned int nfrags;
    struct nf_rx_frag frag[NF_RX_MAX_DATA];
    uint32_t len;
    uint16_t flags;        /* the first response's NETRXF_* */
    uint8_t gso_type;      /* XEN_NETIF_GSO_TYPE_* (NONE: no GSO extra) */
    uint16_t gso_size;
    bool hash;             /* a hash extra came (ignored) */
};

enum nf_rx_result {
    NF_RX_OK,          /* a whole frame: f describes it */
    NF_RX_NEED_MORE,   /* the chain goes on past avail */
    NF_RX_DROP,        /* a bad frame: drop its f->nslots responses */
};

/*
 * Parses the frame starting at rsp[0], given avail responses (private
 * copies, in ring order).  On NF_RX_DROP, why says why and f->nslots is
 * how many responses the bad frame used (its whole chain).
 */
enum nf_rx_result nf_rx_parse(const struct netif_rx_response *rsp,
                              unsigned int avail, struct nf_rx_frame *f,
                              const char **why);

/*
 * The virtio-net header for a parsed frame, as Linux netfront sets the
 * skb up: NETRXF_csum_blank (or GSO without it, whose pseudo-header is
 * then recalculated) -> NEEDS_CSUM with start/offset from the headers;
 * else NETRXF_data_validated -> DATA_VALID; GSO extra -> gso fields.
 * hdr: the frame's first caplen bytes.  *pseudo_at is set to the offset
 * at which the caller must store *pseudo (big-endian), or 0 if nothing
 * is to be written.  0, or -1 with why (the frame is dropped).
 */
int nf_rx_vnet_hdr(const struct nf_rx_frame *f, const uint8_t *hdr,
                   size_t caplen, struct virtio_net_hdr *vh,
                   uint32_t *pseudo_at, uint16_t *pseudo, const char **why);

/* ---------------------------------------------------------------- */

#endif
