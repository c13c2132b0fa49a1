/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internet checksums of Ethernet frames, for both ends of a vif: where
 * an IPv4/IPv6 frame's TCP or UDP checksum starts and sits (what Linux's
 * skb_checksum_setup finds; netfront's RX and netback's TX need it to
 * hand partial checksums to a TAP), and ones' complement sums.  Pure.
 */
#ifndef IOVM_NETCSUM_H
#define IOVM_NETCSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOVM_ETH_HLEN 14u

struct iovm_csum_acc {
    uint64_t sum;
    bool odd;      /* an odd number of bytes added so far */
};
void iovm_csum_add(struct iovm_csum_acc *a, const void *p, size_t len);
/* Folds to 16 bits (not complemented). */
uint16_t iovm_csum_fold(const struct iovm_csum_acc *a);

/* What checksum_setup found. */
struct iovm_csum_info {
    uint16_t start;     /* L4 header offset in the frame */
    uint16_t offset;    /* checksum field, from start (TCP 16, UDP 6) */
    uint16_t l4_hlen;   /* TCP header with options, or 8 for UDP */
    uint8_t proto;      /* IPPROTO_TCP / IPPROTO_UDP */
    bool ipv6;
    uint16_t pseudo;    /* folded pseudo-header sum (host order), what a
                           partial checksum field holds */
};

/*
 * hdr: the first caplen bytes of a frame of len bytes.  0, or -EPROTO
 * for what skb_checksum_setup refuses: not IPv4/IPv6, fragments, not
 * TCP/UDP, headers past caplen or past the frame.
 */
int iovm_csum_setup(const uint8_t *hdr, size_t caplen, uint32_t len,
                      struct iovm_csum_info *ci);

#endif
