/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A vif queue's data path, in its own thread: TX packets from the ring
 * to the TAP, RX frames from the TAP to the ring, and (queue 0) the
 * control ring.  Per wake-up each side takes a batch: one grant-copy call
 * carries every packet of it, GSO packets cross the TAP whole with their
 * vnet header, and the frontend is notified once per batch and only when
 * it asked (the rings' event indices).
 *
 * Trust: every slot is copied once into private memory (the journal, when
 * there is one) and only the copy is parsed (net-proto.c decides what is
 * dropped and what fails the vif); lengths and offsets given to the grant
 * copy come from checked copies; a copy the hypervisor refuses (a grant
 * revoked mid-packet) drops that packet.  Frames from the TAP are the
 * driver domain's kernel's.  Memory is bounded per queue: the TX arena,
 * the RX arena, and one frame waiting for RX slots; a guest that stops
 * posting RX requests makes the kernel drop at the TAP's queue, not us
 * grow.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "net-dev.h"
#include "netcsum.h"
#include "util.h"

#define VHDR sizeof(struct virtio_net_hdr)
#define MAX_SEGS (2u * NET_RING_ENTS)
#define RX_FRAME_SPACE (VHDR + NET_RX_MAX_LEN)
#define ATOMIC_ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define RSP_NULL ((int16_t)NETIF_RSP_NULL)

/* A TX packet of the batch. */
struct tx_pkt {
    unsigned int first, nslots; /* in q->txs */
    uint32_t extra_mask;
    unsigned int seg0, nsegs;   /* its grant copies */
    uint32_t off;               /* in the arena: vnet header, frame */
    uint16_t size;
    uint16_t flags;             /* NETTXF_* */
    uint8_t gso_type;
    uint16_t gso_size;
    int16_t status;             /* for its data slots */
    bool send;
};

/* An RX frame of the batch. */
struct rx_frame {
    uint8_t *buf;               /* vnet header, then the frame */
    uint32_t len;
    unsigned int slot0, nslots; /* from the batch's first slot */
    unsigned int seg0, nsegs;
    struct net_rx_meta meta;
};

/* What a batch holds beside the queue (on the thread's stack). */
struct batch {
    struct tx_pkt tx[NET_TX_BUDGET];
    struct rx_frame rx[NET_RX_BUDGET];
    struct netif_rx_request rxs[NET_RING_ENTS];
    uint16_t ids[NET_RING_ENTS];
    struct net_rx_slot plan[NET_RING_ENTS];
};

static void poke_main(struct net_queue *q)
{
    uint64_t one = 1;

    if (write(q->dev->nb->bed.main_efd, &one, sizeof(one)) < 0) {
        /* the main loop is busy already */
    }
}

/* A fatal protocol error: the vif fails (the main thread closes it). */
static void queue_fail(struct net_queue *q, const char *fmt, ...)
{
    va_list ap;

    if (__atomic_load_n(&q->broken, __ATOMIC_ACQUIRE))
        return;
    va_start(ap, fmt);
    vsnprintf(q->broken_why, sizeof(q->broken_why), fmt, ap);
    va_end(ap);
    LOG_ERR("%s queue %u: %s", q->dev->xb.be, q->idx, q->broken_why);
    __atomic_store_n(&q->broken, true, __ATOMIC_RELEASE);
    poke_main(q);
}

static volatile uint8_t *slot_at(struct iovm_back_ring *r, RING_IDX i)
{
    return (volatile uint8_t *)(r->sring + 1) +
           (size_t)(i & (r->nr_ents - 1)) * r->ent_size;
}

/* One copy of a slot (volatile: the frontend may be writing it). */
static void slot_copy(void *dst, const volatile uint8_t *src, size_t len)
{
    uint8_t *d = dst;
    size_t i;

    for (i = 0; i < len; i++)
        d[i] = src[i];
}

static void notify(struct net_queue *q, evtchn_port_t port)
{
    xenevtchn_notify(q->evtchn, port);
    ATOMIC_ADD(q->st_notify, 1);
    if (q->ds)
        ATOMIC_ADD(q->ds->notifications, 1);
}

/* Responses are out: iovmd tells a working successor by its first. */
static void published(struct net_queue *q)
{
    struct iovm_devstat *st = q->dev->nb->bed.stat;

    if (st && !IOVM_DEVSTAT_GET(st->first_rsp_ns))
        IOVM_DEVSTAT_SET(st->first_rsp_ns, iovm_now_ns());
}

static bool grant_copy(struct net_queue *q, unsigned int n)
{
    if (!n)
        return true;
    ATOMIC_ADD(q->st_copy_calls, 1);
    if (xengnttab_grant_copy(q->gnt, n, q->segs)) {
        /* The call itself failed (not a segment): every copy failed. */
        unsigned int i;

        LOG_WARN("%s queue %u: grant copy of %u segments failed: %s",
                 q->dev->xb.be, q->idx, n, strerror(errno));
        for (i = 0; i < n; i++)
            q->segs[i].status = GNTST_general_error;
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- */
/* rate */

/* Can size bytes go now?  Refills per interval, up to a burst that
 * lets the largest packet through (as Linux netback). */
static bool credit_ok(struct net_queue *q, uint32_t size)
{
    uint64_t bytes = __atomic_load_n(&q->dev->credit_bytes, __ATOMIC_RELAXED);
    uint64_t usec = __atomic_load_n(&q->dev->credit_usec, __ATOMIC_RELAXED);
    uint64_t now, burst;

    if (!bytes || !usec)
        return true;
    now = iovm_now_ns();
    if (now >= q->credit_at) {
        burst = bytes > 131072 ? bytes : 131072;
        q->credit_left = q->credit_left + bytes < burst
                             ? q->credit_left + bytes
                             : burst;
        q->credit_at = now + usec * 1000;
    }
    if (size <= q->credit_left) {
        q->credit_left -= size;
        return true;
    }
    /* Wait for the next refill. */
    if (!q->credit_wait) {
        struct itimerspec its = { 0 };
        uint64_t ns = q->credit_at > now ? q->credit_at - now : 1;

        its.it_value.tv_sec = (time_t)(ns / 1000000000u);
        its.it_value.tv_nsec = (long)(ns % 1000000000u);
        timerfd_settime(q->timer_fd, 0, &its, NULL);
        q->credit_wait = true;
    }
    return false;
}

/* ---------------------------------------------------------------- */
/* TX: guest -> TAP */

/* The vnet header for a packet the frontend sent. */
static bool tx_vhdr(struct net_queue *q, const struct net_tx_pkt *p,
                    uint8_t *frame, struct virtio_net_hdr *h)
{
    struct iovm_csum_info ci;
    bool partial = p->flags & NETTXF_csum_blank;

    memset(h, 0, sizeof(*h));
    if (p->gso_type != XEN_NETIF_GSO_TYPE_NONE || partial) {
        if (iovm_csum_setup(frame, p->size, p->size, &ci)) {
            LOG_DEBUG("%s queue %u: cannot find the checksum of a %u-byte "
                      "packet; dropped",
                      q->dev->xb.be, q->idx, p->size);
            return false;
        }
        /* A GSO packet not marked partial gets its pseudo-header sum
         * (the segments' checksums are computed from it), as Linux
         * netback does. */
        if (!partial) {
            frame[ci.start + ci.offset] = (uint8_t)(ci.pseudo >> 8);
            frame[ci.start + ci.offset + 1] = (uint8_t)ci.pseudo;
        }
        h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h->csum_start = ci.start;
        h->csum_offset = ci.offset;
        if (p->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
            if (ci.proto != IPPROTO_TCP ||
                ci.ipv6 != (p->gso_type == XEN_NETIF_GSO_TYPE_TCPV6))
                return false;
            h->gso_type = ci.ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6
                                  : VIRTIO_NET_HDR_GSO_TCPV4;
            h->gso_size = p->gso_size;
            h->hdr_len = (uint16_t)(ci.start + ci.l4_hlen);
        }
    } else if (p->flags & NETTXF_data_validated) {
        h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
    }
    return true;
}

static void mcast_update(struct net_dev *dev, const struct net_tx_pkt *p,
                         int16_t *status)
{
    unsigned int i;

    pthread_mutex_lock(&dev->hash_lock);
    for (i = 0; i < dev->vs->nmcast; i++)
        if (!memcmp(dev->vs->mcast[i], p->mcast_addr, 6))
            break;
    *status = NETIF_RSP_OKAY;
    if (p->mcast_add && i == dev->vs->nmcast) {
        if (dev->vs->nmcast < NET_MCAST_MAX)
            memcpy(dev->vs->mcast[dev->vs->nmcast++], p->mcast_addr, 6);
        else
            *status = NETIF_RSP_ERROR;
    } else if (p->mcast_del && i < dev->vs->nmcast) {
        memmove(dev->vs->mcast[i], dev->vs->mcast[i + 1],
                (dev->vs->nmcast - i - 1) * sizeof(dev->vs->mcast[0]));
        dev->vs->nmcast--;
    }
    pthread_mutex_unlock(&dev->hash_lock);
}

/* One batch from the TX ring; true if it took anything. */
static bool tx_work(struct net_queue *q, struct batch *b)
{
    struct net_dev *dev = q->dev;
    struct net_tx_pkt pkt;
    RING_IDX cons = q->tx.req_cons;
    unsigned int avail, i, k, pos = 0, npkts = 0, nsegs = 0;
    uint32_t used = 0;
    bool notify_fe;
    int rc;

    if (q->credit_wait)
        return false;
    rc = iovm_back_ring_begin(&q->tx);
    if (rc < 0) {
        queue_fail(q, "TX ring indices out of range (req_prod %u, "
                      "req_cons %u)",
                   q->tx.req_prod, q->tx.req_cons);
        return false;
    }
    avail = (unsigned int)rc;
    if (!avail)
        return false;
    /* Only slots whose responses are owed to us: never more than the
     * ring (begin() checked req_prod against our responses). */
    for (i = 0; i < avail; i++)
        slot_copy(&q->txs[i], slot_at(&q->tx, cons + i), sizeof(q->txs[i]));

    while (pos < avail && npkts < NET_TX_BUDGET) {
        enum net_tx_reject why = net_tx_parse(&q->txs[pos], avail - pos,
                                              &dev->feat, &pkt);
        struct tx_pkt *t = &b->tx[npkts];

        if (net_tx_reject_fatal(why)) {
            queue_fail(q, "TX packet at %u: %s", cons + pos,
                       net_tx_reject_str(why));
            return false;
        }
        memset(t, 0, sizeof(*t));
        t->first = pos;
        t->nslots = pkt.nslots;
        t->extra_mask = pkt.extra_mask;
        t->status = NETIF_RSP_OKAY;
        if (why != NET_TX_OK) {
            LOG_DEBUG("%s queue %u: TX packet dropped: %s", dev->xb.be,
                      q->idx, net_tx_reject_str(why));
            t->status = NETIF_RSP_ERROR;
        } else if (pkt.mcast_add || pkt.mcast_del) {
            mcast_update(dev, &pkt, &t->status);
        } else {
            if (used + VHDR + pkt.size > NET_TX_ARENA ||
                nsegs + pkt.ndata > MAX_SEGS)
                break; /* the next batch */
            if (!credit_ok(q, pkt.size))
                break;
            t->send = true;
            t->size = pkt.size;
            t->off = used;
            t->seg0 = nsegs;
            for (k = 0; k < pkt.ndata; k++) {
                xengnttab_grant_copy_segment_t *s = &q->segs[nsegs++];
                uint16_t len = k ? pkt.frag[k].size : pkt.head_size;

                memset(s, 0, sizeof(*s));
                s->flags = GNTCOPY_source_gref;
                s->source.foreign.ref = pkt.frag[k].gref;
                s->source.foreign.offset = pkt.frag[k].offset;
                s->source.foreign.domid = (domid_t)dev->xb.fe_domid;
                s->dest.virt = q->tx_arena + used + VHDR;
                s->len = len;
                used += len;
            }
            t->nsegs = nsegs - t->seg0;
            t->flags = pkt.flags;
            t->gso_type = pkt.gso_type;
            t->gso_size = pkt.gso_size;
            /* The next one 64-byte aligned. */
            used = (t->off + (uint32_t)VHDR + pkt.size + 63) & ~63u;
        }
        pos += pkt.nslots;
        npkts++;
    }
    if (!pos)
        return false;
    /* Taken: into the journal first, then the ring's index. */
    if (q->jq) {
        for (i = 0; i < pos; i++)
            q->jq->txs[(cons + i) & (NET_RING_ENTS - 1)] = q->txs[i];
        __atomic_store_n(&q->jq->tx.req_cons, cons + pos, __ATOMIC_RELEASE);
    }
    q->tx.req_cons = cons + pos;

    grant_copy(q, nsegs);
    for (i = 0; i < npkts; i++) {
        struct tx_pkt *t = &b->tx[i];
        struct virtio_net_hdr *h;
        struct net_tx_pkt p;
        uint8_t *frame;

        if (!t->send)
            continue;
        for (k = 0; k < t->nsegs; k++)
            if (q->segs[t->seg0 + k].status != GNTST_okay)
                break;
        if (k < t->nsegs) {
            /* A grant the frontend took back, or never gave. */
            LOG_DEBUG("%s queue %u: TX copy failed (status %d); dropped",
                      dev->xb.be, q->idx, q->segs[t->seg0 + k].status);
            t->status = NETIF_RSP_ERROR;
            ATOMIC_ADD(q->st_tx_drop, 1);
            continue;
        }
        h = (struct virtio_net_hdr *)(void *)(q->tx_arena + t->off);
        frame = q->tx_arena + t->off + VHDR;
        memset(&p, 0, sizeof(p));
        p.flags = t->flags;
        p.gso_type = t->gso_type;
        p.gso_size = t->gso_size;
        p.size = t->size;
        if (!tx_vhdr(q, &p, frame, h)) {
            ATOMIC_ADD(q->st_tx_drop, 1);
            continue; /* answered OKAY, as Linux: the frontend is done */
        }
        if (write(q->tap_fd, h, VHDR + t->size) < 0) {
            ATOMIC_ADD(q->st_tx_drop, 1);
            continue;
        }
        ATOMIC_ADD(q->st_tx_pkts, 1);
        ATOMIC_ADD(q->st_tx_bytes, t->size);
    }
    /* Every slot answered, in ring order: data slots with the packet's
     * status, extra-info slots NETIF_RSP_NULL. */
    for (i = 0; i < npkts; i++) {
        const struct tx_pkt *t = &b->tx[i];

        for (k = 0; k < t->nslots; k++) {
            volatile struct netif_tx_response *r = iovm_back_ring_rsp(&q->tx);

            r->id = q->txs[t->first + k].id;
            r->status = (t->extra_mask >> k) & 1 ? RSP_NULL : t->status;
        }
    }
    if (q->jq)
        __atomic_store_n(&q->jq->tx.rsp_prod_pvt, q->tx.rsp_prod_pvt,
                         __ATOMIC_RELEASE);
    notify_fe = iovm_back_ring_push(&q->tx);
    if (notify_fe)
        notify(q, q->port_tx);
    published(q);
    if (q->ds)
        ATOMIC_ADD(q->ds->requests, npkts);
    return true;
}

/* ---------------------------------------------------------------- */
/* RX: TAP -> guest */

/* The frame at buf (vnet header first): what the frontend is told. */
static bool rx_meta(struct net_queue *q, const uint8_t *buf, uint32_t len,
                    struct net_rx_meta *m)
{
    const struct virtio_net_hdr *h = (const void *)buf;
    const uint8_t *frame = buf + VHDR;
    uint32_t flen = len - (uint32_t)VHDR;
    struct net_dev *dev = q->dev;

    memset(m, 0, sizeof(*m));
    m->gso_type = XEN_NETIF_GSO_TYPE_NONE;
    switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
    case VIRTIO_NET_HDR_GSO_NONE: break;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        m->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
        m->gso_size = h->gso_size;
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        m->gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
        m->gso_size = h->gso_size;
        break;
    default:
        return false; /* offloads we did not ask for */
    }
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
        m->csum_blank = m->data_validated = true;
    else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
        m->data_validated = true;
    if (__atomic_load_n(&dev->mcast_ctrl, __ATOMIC_RELAXED) &&
        flen >= NET_ETH_HLEN && !net_dev_mcast_pass(dev, frame))
        return false;
    pthread_mutex_lock(&dev->hash_lock);
    if (dev->vs->hash.algorithm == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ) {
        uint32_t hv, type;

        if (net_hash_frame(&dev->vs->hash, frame, flen, &hv, &type)) {
            m->hash = true;
            m->hash_value = hv;
            /* The extra carries the type's bit number. */
            m->hash_type = (uint8_t)__builtin_ctz(type);
        }
    }
    pthread_mutex_unlock(&dev->hash_lock);
    return true;
}

/* Reads a frame from the TAP into buf: its length (vnet header
 * included), 0 when there is none, or -1 for one dropped. */
static int rx_read(struct net_queue *q, uint8_t *buf)
{
    ssize_t n = read(q->tap_fd, buf, RX_FRAME_SPACE);

    if (n < 0)
        return 0; /* EAGAIN; an error shows as EPOLLERR */
    if ((size_t)n < VHDR + NET_ETH_HLEN) {
        ATOMIC_ADD(q->st_rx_drop, 1);
        return -1;
    }
    return (int)n;
}

static void rx_poll_tap(struct net_queue *q, int epfd, bool on)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 4 };

    if (on == q->tap_polled)
        return;
    epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, q->tap_fd, &ev);
    q->tap_polled = on;
}

/* One batch to the RX ring; true if it delivered anything. */
static bool rx_work(struct net_queue *q, struct batch *b, int epfd)
{
    struct net_dev *dev = q->dev;
    RING_IDX cons = q->rx.req_cons;
    unsigned int avail, i, k, nframes = 0, nslots = 0, nsegs = 0;
    uint32_t used = 0;
    int rc;

    rc = iovm_back_ring_begin(&q->rx);
    if (rc < 0) {
        queue_fail(q, "RX ring indices out of range (req_prod %u, "
                      "req_cons %u)",
                   q->rx.req_prod, q->rx.req_cons);
        return false;
    }
    avail = (unsigned int)rc;
    while (nframes < NET_RX_BUDGET) {
        struct rx_frame *f = &b->rx[nframes];
        unsigned int need;
        uint8_t *buf;
        int len;

        if (q->rx_pending) {
            buf = q->rx_pending;
            len = (int)q->rx_pending_len;
        } else {
            if (used + RX_FRAME_SPACE > NET_RX_ARENA)
                break;
            buf = q->rx_arena + used;
            len = rx_read(q, buf);
            if (len < 0)
                continue;
            if (!len)
                break;
        }
        memset(f, 0, sizeof(*f));
        if (!rx_meta(q, buf, (uint32_t)len, &f->meta)) {
            q->rx_pending = NULL;
            ATOMIC_ADD(q->st_rx_drop, 1);
            continue;
        }
        need = net_rx_slots((uint32_t)len - (uint32_t)VHDR, &f->meta);
        /* Without scatter-gather, one data slot (the extras aside). */
        if (!need ||
            (!dev->feat.sg &&
             need > 1u + (f->meta.gso_type != XEN_NETIF_GSO_TYPE_NONE) +
                        f->meta.hash)) {
            q->rx_pending = NULL;
            ATOMIC_ADD(q->st_rx_drop, 1);
            continue;
        }
        if (need > avail - nslots) {
            /* Wait for the frontend to post more: keep the frame, stop
             * reading the TAP, ask for a kick when enough are there. */
            if (!q->rx_pending) {
                q->rx_pending = q->rx_arena + NET_RX_ARENA;
                memmove(q->rx_pending, buf, (size_t)len);
                q->rx_pending_len = (uint32_t)len;
            }
            q->rx_pending_need = need;
            break;
        }
        f->buf = buf;
        f->len = (uint32_t)len - (uint32_t)VHDR;
        f->slot0 = nslots;
        f->nslots = need;
        for (k = 0; k < need; k++) {
            slot_copy(&b->rxs[nslots + k], slot_at(&q->rx, cons + nslots + k),
                      sizeof(b->rxs[0]));
            b->ids[nslots + k] = b->rxs[nslots + k].id;
        }
        net_rx_plan(f->len, &f->meta, &b->ids[nslots], &b->plan[nslots]);
        f->seg0 = nsegs;
        for (k = 0; k < need; k++) {
            const struct net_rx_slot *sl = &b->plan[nslots + k];
            xengnttab_grant_copy_segment_t *s;

            if (sl->is_extra || !sl->data_len)
                continue;
            s = &q->segs[nsegs++];
            memset(s, 0, sizeof(*s));
            s->flags = GNTCOPY_dest_gref;
            s->source.virt = buf + VHDR + sl->data_off;
            s->dest.foreign.ref = b->rxs[nslots + k].gref;
            s->dest.foreign.offset = 0;
            s->dest.foreign.domid = (domid_t)dev->xb.fe_domid;
            s->len = sl->data_len;
        }
        f->nsegs = nsegs - f->seg0;
        nslots += need;
        nframes++;
        if (buf == q->rx_pending) {
            q->rx_pending = NULL;
        } else {
            used += (uint32_t)len;
            used = (used + 63) & ~63u;
        }
    }
    /* Read the TAP only while nothing waits for slots; else be kicked
     * once the frontend has posted what the waiting frame needs. */
    rx_poll_tap(q, epfd, !q->rx_pending);
    if (q->rx_pending)
        __atomic_store_n(&q->rx.sring->req_event,
                         cons + nslots + q->rx_pending_need, __ATOMIC_RELAXED);
    if (!nframes)
        return false;
    if (q->jq) {
        for (i = 0; i < nslots; i++)
            q->jq->rxs[(cons + i) & (NET_RING_ENTS - 1)] = b->rxs[i];
        __atomic_store_n(&q->jq->rx.req_cons, cons + nslots, __ATOMIC_RELEASE);
    }
    q->rx.req_cons = cons + nslots;
    grant_copy(q, nsegs);
    for (i = 0; i < nframes; i++) {
        struct rx_frame *f = &b->rx[i];
        bool ok = true;

        for (k = 0; k < f->nsegs; k++)
            if (q->segs[f->seg0 + k].status != GNTST_okay)
                ok = false;
        for (k = 0; k < f->nslots; k++) {
            struct net_rx_slot *sl = &b->plan[f->slot0 + k];
            volatile uint8_t *r = iovm_back_ring_rsp(&q->rx);

            if (sl->is_extra) {
                slot_copy((void *)(uintptr_t)r, (const uint8_t *)&sl->extra,
                          sizeof(sl->extra));
                continue;
            }
            if (!ok)
                sl->rsp.status = NETIF_RSP_ERROR;
            slot_copy((void *)(uintptr_t)r, (const uint8_t *)&sl->rsp,
                      sizeof(sl->rsp));
        }
        if (ok) {
            ATOMIC_ADD(q->st_rx_pkts, 1);
            ATOMIC_ADD(q->st_rx_bytes, f->len);
        } else {
            ATOMIC_ADD(q->st_rx_drop, 1);
        }
    }
    if (q->jq)
        __atomic_store_n(&q->jq->rx.rsp_prod_pvt, q->rx.rsp_prod_pvt,
                         __ATOMIC_RELEASE);
    if (iovm_back_ring_push(&q->rx))
        notify(q, q->port_rx);
    published(q);
    return true;
}

/* ---------------------------------------------------------------- */
/* control ring (queue 0) */

static int ctrl_fetch(void *arg, uint32_t gref, uint32_t off, void *dst,
                      size_t len)
{
    struct net_queue *q = arg;
    xengnttab_grant_copy_segment_t s;

    if (off + len > NET_PAGE)
        return -EINVAL;
    memset(&s, 0, sizeof(s));
    s.flags = GNTCOPY_source_gref;
    s.source.foreign.ref = gref;
    s.source.foreign.offset = (uint16_t)off;
    s.source.foreign.domid = (domid_t)q->dev->xb.fe_domid;
    s.dest.virt = dst;
    s.len = (uint16_t)len;
    if (xengnttab_grant_copy(q->gnt, 1, &s) || s.status != GNTST_okay)
        return -EFAULT;
    return 0;
}

static bool ctrl_work(struct net_queue *q)
{
    struct net_dev *dev = q->dev;
    const volatile void *slot;
    bool any = false;
    int rc;

    if (!dev->ctrl_addr)
        return false;
    rc = iovm_back_ring_begin(&dev->ctrl);
    if (rc < 0) {
        queue_fail(q, "control ring indices out of range");
        return false;
    }
    while ((slot = iovm_back_ring_next(&dev->ctrl))) {
        struct xen_netif_ctrl_request req;
        struct xen_netif_ctrl_response rsp;
        volatile uint8_t *r;
        uint32_t data = 0;

        slot_copy(&req, slot, sizeof(req));
        pthread_mutex_lock(&dev->hash_lock);
        rsp.status = net_hash_ctrl(&dev->vs->hash, &req, ctrl_fetch, q, &data);
        pthread_mutex_unlock(&dev->hash_lock);
        rsp.id = req.id;
        rsp.type = req.type;
        rsp.data = data;
        LOG_DEBUG("%s: control request %u: status %u", dev->xb.be, req.type,
                  rsp.status);
        r = iovm_back_ring_rsp(&dev->ctrl);
        slot_copy((void *)(uintptr_t)r, (const uint8_t *)&rsp, sizeof(rsp));
        any = true;
    }
    if (any && iovm_back_ring_push(&dev->ctrl))
        notify(q, dev->port_ctrl);
    return any;
}

/* ---------------------------------------------------------------- */

static void *queue_thread(void *arg)
{
    struct net_queue *q = arg;
    struct net_dev *dev = q->dev;
    struct epoll_event ev[5];
    struct batch *b = malloc(sizeof(*b));
    int epfd = epoll_create1(EPOLL_CLOEXEC), n, i;
    bool stop = false;

    if (epfd < 0 || !b) {
        queue_fail(q, "out of memory");
        free(b);
        if (epfd >= 0)
            close(epfd);
        return NULL;
    }
    fcntl(xenevtchn_fd(q->evtchn), F_SETFL,
          fcntl(xenevtchn_fd(q->evtchn), F_GETFL) | O_NONBLOCK);
    ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 1 };
    epoll_ctl(epfd, EPOLL_CTL_ADD, xenevtchn_fd(q->evtchn), &ev[0]);
    ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 2 };
    epoll_ctl(epfd, EPOLL_CTL_ADD, q->stop_efd, &ev[0]);
    ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 3 };
    epoll_ctl(epfd, EPOLL_CTL_ADD, q->timer_fd, &ev[0]);
    rx_poll_tap(q, epfd, true);

    /* What a predecessor answered and did not publish goes out now, and
     * it may have died before notifying. */
    if (iovm_back_ring_push(&q->tx) || q->resumed)
        notify(q, q->port_tx);
    if ((iovm_back_ring_push(&q->rx) || q->resumed) && q->port_rx != q->port_tx)
        notify(q, q->port_rx);
    while (!stop && !__atomic_load_n(&q->broken, __ATOMIC_ACQUIRE)) {
        bool more;

        /* Everything there is, a batch of each side at a time. */
        do {
            more = tx_work(q, b);
            more |= rx_work(q, b, epfd);
            if (q->idx == 0)
                more |= ctrl_work(q);
        } while (more && !__atomic_load_n(&q->broken, __ATOMIC_ACQUIRE));
        /* Ask to be kicked, then look once more. */
        if (!q->credit_wait && iovm_back_ring_final_check(&q->tx))
            continue;
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* req_event, then look */
        if (q->rx_pending &&
            iovm_back_ring_begin(&q->rx) >= (int)q->rx_pending_need)
            continue;
        if (q->idx == 0 && dev->ctrl_addr &&
            iovm_back_ring_final_check(&dev->ctrl))
            continue;
        n = epoll_wait(epfd, ev, 5, q->rx_pending && !dev->rx_notify ? 10
                                                                      : 1000);
        if (n < 0 && errno != EINTR)
            break;
        ATOMIC_ADD(q->st_wakeups, 1);
        if (q->ds)
            ATOMIC_ADD(q->ds->wakeups, 1);
        for (i = 0; i < n; i++) {
            uint64_t v;
            int port;

            switch (ev[i].data.u32) {
            case 1:
                while ((port = xenevtchn_pending(q->evtchn)) >= 0)
                    xenevtchn_unmask(q->evtchn, (evtchn_port_t)port);
                break;
            case 2:
                stop = true;
                break;
            case 3:
                if (read(q->timer_fd, &v, sizeof(v)) > 0)
                    q->credit_wait = false;
                break;
            default:
                break; /* the TAP: rx_work reads it */
            }
        }
    }
    free(b);
    close(epfd);
    return NULL;
}

int net_queue_start(struct net_queue *q)
{
    q->stop_efd = eventfd(0, EFD_CLOEXEC);
    q->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    q->segs = calloc(MAX_SEGS, sizeof(*q->segs));
    q->tx_arena = malloc(NET_TX_ARENA);
    /* The RX arena, then room for one frame waiting for slots. */
    q->rx_arena = malloc(NET_RX_ARENA + RX_FRAME_SPACE);
    if (q->stop_efd < 0 || q->timer_fd < 0 || !q->segs || !q->tx_arena ||
        !q->rx_arena)
        return -ENOMEM;
    q->credit_at = 0;
    q->credit_left = 0;
    if (pthread_create(&q->thread, NULL, queue_thread, q))
        return -EAGAIN;
    q->thread_started = q->ran = true;
    return 0;
}

void net_queue_request_stop(struct net_queue *q)
{
    uint64_t one = 1;

    if (q->thread_started && write(q->stop_efd, &one, sizeof(one)) < 0) {
        /* cannot fail: the counter is far from full */
    }
}

void net_queue_stop(struct net_queue *q)
{
    net_queue_request_stop(q);
    if (q->thread_started)
        pthread_join(q->thread, NULL);
    q->thread_started = false;
    if (q->stop_efd >= 0)
        close(q->stop_efd);
    if (q->timer_fd >= 0)
        close(q->timer_fd);
    q->stop_efd = q->timer_fd = -1;
    free(q->segs);
    free(q->tx_arena);
    free(q->rx_arena);
    q->segs = NULL;
    q->tx_arena = q->rx_arena = NULL;
    q->rx_pending = NULL;
}

/* One ring of a journaled connection: publish what was answered, put
 * back what was taken and not answered, and take it again. */
static int takeover_ring(struct iovm_back_ring *r,
                         struct net_journal_ring *j, const void *copies,
                         size_t ent)
{
    RING_IDX pub = __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_RELAXED);
    RING_IDX prod = __atomic_load_n(&r->sring->req_prod, __ATOMIC_RELAXED);
    RING_IDX jc = j->req_cons, jr = j->rsp_prod_pvt, i;

    if (jr - pub > r->nr_ents || jc - jr > r->nr_ents ||
        prod - jc > r->nr_ents)
        return -EBADMSG;
    for (i = jr; i != jc; i++)
        slot_copy((void *)(uintptr_t)slot_at(r, i),
                  (const uint8_t *)copies + (i & (NET_RING_ENTS - 1)) * ent,
                  ent);
    r->rsp_prod_pvt = r->req_cons = jr;
    j->req_cons = jr;
    return (int)(jc - jr);
}

int net_queue_takeover(struct net_queue *q)
{
    int tx, rx;

    tx = takeover_ring(&q->tx, &q->jq->tx, q->jq->txs, sizeof(q->jq->txs[0]));
    rx = takeover_ring(&q->rx, &q->jq->rx, q->jq->rxs, sizeof(q->jq->rxs[0]));
    if (tx < 0 || rx < 0)
        return -EBADMSG;
    q->resumed = true;
    if (q->dev->nb->bed.stat)
        __atomic_add_fetch(&q->dev->nb->bed.stat->resumed_reqs,
                           (uint32_t)(tx + rx), __ATOMIC_RELAXED);
    LOG_INFO("%s queue %u: took over: %d TX and %d RX slot(s) taken again, "
             "TX at %u, RX at %u",
             q->dev->xb.be, q->idx, tx, rx, q->tx.req_cons, q->rx.req_cons);
    return 0;
}
