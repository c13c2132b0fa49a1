/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-netfront's pure protocol core (see nf-proto.h): completing a
 * partial checksum (lib/netcsum.c finds it), the TX plan and slot layout, RX chain parsing and its virtio-net
 * header.  Everything read from a received frame or an RX response is
 * the backend's and untrusted: bounds are checked against what was
 * copied, loops end at what was given.
 */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>

#include "nf-proto.h"

size_t nf_iov_gather(const struct iovec *iov, unsigned int n, uint8_t *out,
                     size_t max)
{
    size_t got = 0;
    unsigned int i;

    for (i = 0; i < n && got < max; i++) {
        size_t c = iov[i].iov_len < max - got ? iov[i].iov_len : max - got;

        memcpy(out + got, iov[i].iov_base, c);
        got += c;
    }
    return got;
}

static int iov_put8(const struct iovec *iov, unsigned int n, uint32_t off,
                    uint8_t v)
{
    unsigned int i;

    for (i = 0; i < n; i++) {
        if (off < iov[i].iov_len) {
            ((uint8_t *)iov[i].iov_base)[off] = v;
            return 0;
        }
        off -= (uint32_t)iov[i].iov_len;
    }
    return -EINVAL;
}

int nf_iov_put16(const struct iovec *iov, unsigned int n, uint32_t off,
                 uint16_t v)
{
    if (off == UINT32_MAX || iov_put8(iov, n, off + 1, (uint8_t)v))
        return -EINVAL;
    return iov_put8(iov, n, off, (uint8_t)(v >> 8));
}

int nf_csum_complete(const struct iovec *iov, unsigned int n, uint32_t len,
                     uint32_t start, uint32_t offset)
{
    struct iovm_csum_acc a = { 0 };
    uint32_t pos = 0;
    unsigned int i;
    uint16_t c;

    if (start > len || offset > len - start || len - start - offset < 2)
        return -EINVAL;
    for (i = 0; i < n && pos < len; i++) {
        uint32_t l = (uint32_t)iov[i].iov_len;

        if (l > len - pos)
            l = len - pos;
        if (pos + l > start) {
            uint32_t skip = start > pos ? start - pos : 0;

            iovm_csum_add(&a, (const uint8_t *)iov[i].iov_base + skip,
                        l - skip);
        }
        pos += l;
    }
    if (pos < len)
        return -EINVAL;
    c = (uint16_t)~iovm_csum_fold(&a);
    return nf_iov_put16(iov, n, start + offset, c ? c : 0xffff);
}

/* ---------------------------------------------------------------- */
/* transmit */

int nf_tx_plan(const struct virtio_net_hdr *vh, const uint8_t *hdr,
               size_t caplen, uint32_t len, const struct nf_tx_caps *caps,
               struct nf_tx_plan *p)
{
    struct iovm_csum_info ci;
    bool ok;

    memset(p, 0, sizeof(*p));
    if (len < NF_ETH_HLEN) {
        p->why = "shorter than an Ethernet header";
        return -1;
    }
    if (len > NF_TX_MAX_FRAME) {
        p->why = "larger than a TX slot can say (65535 bytes)";
        return -1;
    }
    if (!caps->sg && len > NF_PAGE) {
        p->why = "larger than a page, and no feature-sg";
        return -1;
    }
    if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        uint8_t t = vh->gso_type;

        if ((t == VIRTIO_NET_HDR_GSO_TCPV4 && caps->gso4) ||
            (t == VIRTIO_NET_HDR_GSO_TCPV6 && caps->gso6)) {
            p->gso = true;
        } else {
            p->why = "a GSO type not negotiated";
            return -1;
        }
        if (!vh->gso_size) {
            p->why = "GSO with size 0";
            return -1;
        }
        if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
            p->why = "GSO without a partial checksum";
            return -1;
        }
        p->gso_extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
        p->gso_extra.u.gso.size = vh->gso_size;
        p->gso_extra.u.gso.type = t == VIRTIO_NET_HDR_GSO_TCPV4
                                      ? XEN_NETIF_GSO_TYPE_TCPV4
                                      : XEN_NETIF_GSO_TYPE_TCPV6;
    }
    if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        /* The backend finds the checksum from the headers itself: it
         * must find the same one, and be able to complete it. */
        ok = !iovm_csum_setup(hdr, caplen, len, &ci) &&
             ci.start == vh->csum_start && ci.offset == vh->csum_offset &&
             (ci.ipv6 ? caps->csum6 : caps->csum4);
        if (p->gso && (!ok || ci.proto != IPPROTO_TCP ||
                       ci.ipv6 != (vh->gso_type == VIRTIO_NET_HDR_GSO_TCPV6))) {
            p->why = "GSO frame whose TCP checksum the backend cannot "
                     "complete";
            return -1;
        }
        if (ok) {
            p->flags = NETTXF_csum_blank | NETTXF_data_validated;
        } else {
            p->sw_csum = true;
            p->csum_start = vh->csum_start;
            p->csum_offset = vh->csum_offset;
            if ((uint32_t)p->csum_start + p->csum_offset + 2 > len) {
                p->why = "partial checksum past the frame";
                return -1;
            }
        }
    } else if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
        p->flags = NETTXF_data_validated;
    }
    return 0;
}

unsigned int nf_tx_layout(uint32_t len, const uint32_t *grefs,
                          const uint16_t *ids, const struct nf_tx_plan *plan,
                          union nf_tx_slot *out)
{
    unsigned int npages = (len + NF_PAGE - 1) / NF_PAGE, s = 0, i;

    memset(out, 0, sizeof(*out) * (npages + (plan->gso ? 1 : 0)));
    out[0].req.gref = grefs[0];
    out[0].req.offset = 0;
    out[0].req.id = ids[0];
    out[0].req.size = (uint16_t)len;
    out[0].req.flags = plan->flags | (npages > 1 ? NETTXF_more_data : 0) |
                       (plan->gso ? NETTXF_extra_info : 0);
    s = 1;
    if (plan->gso)
        out[s++].extra = plan->gso_extra;
    for (i = 1; i < npages; i++, s++) {
        uint32_t left = len - i * NF_PAGE;

        out[s].req.gref = grefs[i];
        out[s].req.offset = 0;
        out[s].req.id = ids[i];
        out[s].req.size = (uint16_t)(left < NF_PAGE ? left : NF_PAGE);
        out[s].req.flags = i + 1 < npages ? NETTXF_more_data : 0;
    }
    return s;
}

/* ---------------------------------------------------------------- */
/* receive */

enum nf_rx_result nf_rx_parse(const struct netif_rx_response *rsp,
                              unsigned int avail, struct nf_rx_frame *f,
                              const char **why)
{
    const struct netif_rx_response *r;
    unsigned int i = 0, slot = 0, max;
    const char *err = NULL;

    memset(f, 0, sizeof(*f));
    *why = NULL;
    if (!avail)
        return NF_RX_NEED_MORE;
    r = &rsp[0];
    f->flags = r->flags;
    if (r->flags & NETRXF_extra_info) {
        struct netif_extra_info x;

        do {
            if (++i >= avail)
                return NF_RX_NEED_MORE;
            memcpy(&x, &rsp[i], sizeof(x));
            if (x.type == XEN_NETIF_EXTRA_TYPE_NONE ||
                x.type >= XEN_NETIF_EXTRA_TYPE_MAX) {
                if (!err)
                    err = "an extra-info of an unknown type";
            } else if (x.type == XEN_NETIF_EXTRA_TYPE_GSO) {
                if (!x.u.gso.size && !err)
                    err = "GSO with size 0";
                else if (x.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
                         x.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6 && !err)
                    err = "a GSO type other than TCPv4/TCPv6";
                f->gso_type = x.u.gso.type;
                f->gso_size = x.u.gso.size;
            } else if (x.type == XEN_NETIF_EXTRA_TYPE_HASH) {
                f->hash = true;
            }
        } while (x.flags & XEN_NETIF_EXTRA_FLAG_MORE);
    }
    /* Data: the first response, then those after the extras. */
    max = XEN_NETIF_NR_SLOTS_MIN + (r->status > 0 && r->status <= 256);
    for (;;) {
        if (r->status < 0) {
            if (!err)
                err = "an error status";
        } else if (r->offset + (uint32_t)r->status > NF_PAGE) {
            if (!err)
                err = "data past its page";
        } else if (f->nfrags < max) {
            struct nf_rx_frag *fr = &f->frag[f->nfrags++];

            fr->slot = (uint16_t)slot;
            fr->offset = r->offset;
            fr->len = (uint16_t)r->status;
            f->len += (uint32_t)r->status;
        } else if (!err) {
            err = "too many slots";
        }
        if (!(r->flags & NETRXF_more_data))
            break;
        if (++i >= avail)
            return NF_RX_NEED_MORE;
        slot = i;
        r = &rsp[i];
    }
    f->nslots = i + 1;
    if (!err && f->len < NF_ETH_HLEN)
        err = "shorter than an Ethernet header";
    if (err) {
        *why = err;
        return NF_RX_DROP;
    }
    return NF_RX_OK;
}

int nf_rx_vnet_hdr(const struct nf_rx_frame *f, const uint8_t *hdr,
                   size_t caplen, struct virtio_net_hdr *vh,
                   uint32_t *pseudo_at, uint16_t *pseudo, const char **why)
{
    bool partial = f->flags & NETRXF_csum_blank;
    bool gso = f->gso_type != XEN_NETIF_GSO_TYPE_NONE;
    struct iovm_csum_info ci;

    memset(vh, 0, sizeof(*vh));
    *pseudo_at = 0;
    *why = NULL;
    if (!partial && !gso) {
        if (f->flags & NETRXF_data_validated)
            vh->flags = VIRTIO_NET_HDR_F_DATA_VALID;
        return 0;
    }
    /* A GSO frame without a partial checksum gets one (its pseudo-header
     * recalculated), as Linux netfront's checksum_setup does. */
    if (iovm_csum_setup(hdr, caplen, f->len, &ci)) {
        *why = "cannot set up its checksum (not TCP/UDP over IPv4/IPv6)";
        return -1;
    }
    vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh->csum_start = ci.start;
    vh->csum_offset = ci.offset;
    if (!partial) {
        *pseudo_at = (uint32_t)ci.start + ci.offset;
        *pseudo = ci.pseudo;
    }
    if (gso) {
        if (ci.proto != IPPROTO_TCP ||
            ci.ipv6 != (f->gso_type == XEN_NETIF_GSO_TYPE_TCPV6)) {
            *why = "a GSO type that does not match the packet";
            return -1;
        }
        vh->gso_type = ci.ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6
                               : VIRTIO_NET_HDR_GSO_TCPV4;
        vh->gso_size = f->gso_size;
        vh->hdr_len = (uint16_t)(ci.start + ci.l4_hlen);
    }
    return 0;
}

