/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One queue of iovm-netfront: a TX and an RX ring (a page each), a pool
 * of pages granted once to the backend (RX buffers posted on the RX ring,
 * TX buffers a frame is read into straight from the TAP), its event
 * channel(s) and one TAP queue, all served by one thread on an epoll set:
 * the event channel fd, the TAP fd (only while a whole 64 KiB frame fits
 * in the TX ring and pool), a stop eventfd and, on queue 0, the multicast
 * kick.  Each wake-up drains both rings, refills RX, reads what the TAP
 * has, publishes once and notifies only when the backend asked; before
 * sleeping, rsp_event is armed (RING_FINAL_CHECK_FOR_RESPONSES).  A 1 s
 * timeout re-checks both rings (a notification lost to a backend restart
 * costs at most that) and kicks the backend if TX made no progress.
 *
 * Trust: the backend owns the response slots and may rewrite them and
 * the pages at any time.  The response index is checked against what is
 * outstanding, each response is copied once, TX ids must be ours and in
 * flight (else the backend is broken: the vif stops), RX chains are
 * parsed from the copies (nf-proto.c) and bad frames dropped and their
 * slots recycled.  A frame's bytes may change under us after parsing:
 * the kernel's TAP checks what it is given again, as for any packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "netfront.h"
#include "util.h"

#define TX_BATCH 64u            /* frames read from the TAP per wake-up */
#define TICK_MS 1000

static void *page_addr(const struct nf_queue *q, unsigned int i)
{
    return (char *)q->pages + (size_t)i * NF_PAGE;
}

/* Pages of the share: 0 TX ring, 1 RX ring, then RX and TX buffers. */
static unsigned int rx_page(const struct nf_queue *q, unsigned int id)
{
    (void)q;
    return 2 + id;
}

static unsigned int tx_page(const struct nf_queue *q, unsigned int id)
{
    return 2 + q->nrx + id;
}

static void queue_fatal(struct nf_queue *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void queue_fatal(struct nf_queue *q, const char *fmt, ...)
{
    struct nf_dev *d = q->dev;
    uint64_t one = 1;
    va_list ap;
    char msg[128];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&d->fatal_lock);
    if (!d->fatal_why[0])
        snprintf(d->fatal_why, sizeof(d->fatal_why), "queue %u: %s", q->idx,
                 msg);
    pthread_mutex_unlock(&d->fatal_lock);
    if (write(d->fatalfd, &one, sizeof(one)) < 0) {
        /* The counter cannot overflow with one write per queue. */
    }
}

int nf_queue_setup(struct nf_dev *d, struct nf_queue *q, unsigned int idx)
{
    xenevtchn_port_or_error_t p;
    unsigned int i;

    memset(q, 0, sizeof(*q));
    q->dev = d;
    q->idx = idx;
    q->tapfd = q->epfd = q->kickfd = -1;
    pthread_mutex_init(&q->mc_lock, NULL);
    q->nrx = IOVM_MIN(d->o->bufs, NF_RX_RING_SIZE);
    q->ntx = IOVM_MIN(d->o->bufs, NF_TX_RING_SIZE);
    q->npages = 2 + q->nrx + q->ntx;
    q->refs = calloc(q->npages, sizeof(*q->refs));
    q->tx_free = calloc(q->ntx, sizeof(*q->tx_free));
    q->tx_busy = calloc(q->ntx, sizeof(*q->tx_busy));
    q->rx_free = calloc(q->nrx, sizeof(*q->rx_free));
    q->spill = malloc(65536);
    if (!q->refs || !q->tx_free || !q->tx_busy || !q->rx_free || !q->spill)
        return -ENOMEM;
    q->pages = xengntshr_share_pages(d->gs, d->backend_id, (int)q->npages,
                                     q->refs, 1);
    if (!q->pages) {
        int rc = -errno;

        LOG_ERR("queue %u: cannot grant %u pages to domain %u: %s (real "
                "Xen: gntalloc's limit, see --bufs)",
                idx, q->npages, d->backend_id, strerror(errno));
        return rc;
    }
    SHARED_RING_INIT((netif_tx_sring_t *)page_addr(q, 0));
    FRONT_RING_INIT(&q->tx, (netif_tx_sring_t *)page_addr(q, 0), NF_PAGE);
    SHARED_RING_INIT((netif_rx_sring_t *)page_addr(q, 1));
    FRONT_RING_INIT(&q->rx, (netif_rx_sring_t *)page_addr(q, 1), NF_PAGE);
    for (i = 0; i < q->ntx; i++)
        q->tx_free[q->tx_nfree++] = (uint16_t)(q->ntx - 1 - i);
    for (i = 0; i < q->nrx; i++)
        q->rx_free[q->rx_nfree++] = (uint16_t)(q->nrx - 1 - i);

    q->xe = xenevtchn_open(NULL, 0);
    if (!q->xe)
        return -errno;
    p = xenevtchn_bind_unbound_port(q->xe, d->backend_id);
    if (p < 0)
        return -errno;
    q->port_tx = q->port_rx = (evtchn_port_t)p;
    if (d->split) {
        p = xenevtchn_bind_unbound_port(q->xe, d->backend_id);
        if (p < 0)
            return -errno;
        q->port_rx = (evtchn_port_t)p;
    }
    q->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->kickfd < 0)
        return -errno;
    return 0;
}

static void rx_fill(struct nf_queue *q);

void nf_queue_prime(struct nf_queue *q)
{
    /* Before the backend is told about the rings: no notification. */
    rx_fill(q);
    RING_PUSH_REQUESTS(&q->rx);
}

/* ---------------------------------------------------------------- */
/* RX */

/* Queues a request for every free page; how many. */
static RING_IDX rx_fill_n(struct nf_queue *q)
{
    RING_IDX added = 0;

    while (q->rx_nfree && RING_FREE_REQUESTS(&q->rx)) {
        RING_IDX i = q->rx.req_prod_pvt;
        uint16_t id = q->rx_free[--q->rx_nfree];
        netif_rx_request_t *req = RING_GET_REQUEST(&q->rx, i);

        q->rx_posted[i & (NF_RX_RING_SIZE - 1)] = id;
        req->id = (uint16_t)(i & (NF_RX_RING_SIZE - 1));
        req->pad = 0;
        req->gref = q->refs[rx_page(q, id)];
        q->rx.req_prod_pvt++;
        added++;
    }
    return added;
}

static void rx_fill(struct nf_queue *q)
{
    rx_fill_n(q);
}

/* Posts every free page, notifying if the backend asked (and may). */
static void rx_refill(struct nf_queue *q)
{
    int notify;

    if (!rx_fill_n(q))
        return;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->rx, notify);
    if (notify && q->dev->o->rx_notify)
        xenevtchn_notify(q->xe, q->port_rx);
}

/* The pages of n response slots from ring index i go back to the pool. */
static void rx_recycle(struct nf_queue *q, RING_IDX i, unsigned int n)
{
    while (n--) {
        q->rx_free[q->rx_nfree++] = q->rx_posted[i & (NF_RX_RING_SIZE - 1)];
        i++;
    }
}

static void rx_drop(struct nf_queue *q, const char *why)
{
    q->rx_drops++;
    if (!q->rx_warned) {
        q->rx_warned = true;
        LOG_WARN("queue %u: dropped a received frame: %s (further drops "
                 "at debug level)",
                 q->idx, why);
    } else {
        LOG_DEBUG("queue %u: dropped a received frame: %s", q->idx, why);
    }
}

static void rx_deliver(struct nf_queue *q, RING_IDX first,
                       const struct nf_rx_frame *f)
{
    struct iovec iov[1 + NF_RX_MAX_DATA];
    struct virtio_net_hdr vh;
    uint8_t hdr[NF_HDR_MAX];
    uint32_t pseudo_at;
    uint16_t pseudo;
    const char *why;
    size_t caplen;
    unsigned int i;

    for (i = 0; i < f->nfrags; i++) {
        const struct nf_rx_frag *fr = &f->frag[i];
        uint16_t id = q->rx_posted[(first + fr->slot) & (NF_RX_RING_SIZE - 1)];

        iov[1 + i].iov_base = (char *)page_addr(q, rx_page(q, id)) +
                              fr->offset;
        iov[1 + i].iov_len = fr->len;
    }
    caplen = nf_iov_gather(iov + 1, f->nfrags, hdr, sizeof(hdr));
    if (nf_rx_vnet_hdr(f, hdr, caplen, &vh, &pseudo_at, &pseudo, &why)) {
        rx_drop(q, why);
        return;
    }
    if (pseudo_at && nf_iov_put16(iov + 1, f->nfrags, pseudo_at, pseudo)) {
        rx_drop(q, "checksum field past the frame");
        return;
    }
    iov[0].iov_base = &vh;
    iov[0].iov_len = sizeof(vh);
    if (writev(q->tapfd, iov, (int)f->nfrags + 1) < 0) {
        q->rx_drops++;
        LOG_DEBUG("queue %u: TAP refused a %u-byte frame: %s", q->idx,
                  f->len, strerror(errno));
        return;
    }
    q->rx_frames++;
}

/* Consumes every RX response there is.  -1: the backend is broken. */
static int rx_reap(struct nf_queue *q)
{
    netif_rx_response_t rsp[NF_RX_RING_SIZE];
    RING_IDX cons = q->rx.rsp_cons, rp, avail, outstanding, pos = 0, i;

    rp = __atomic_load_n(&q->rx.sring->rsp_prod, __ATOMIC_RELAXED);
    rmb(); /* the index before the responses */
    avail = rp - cons;
    outstanding = q->rx.req_prod_pvt - cons;
    if (avail > outstanding) {
        queue_fatal(q, "RX response index %u past the %u requests posted",
                    rp, q->rx.req_prod_pvt);
        return -1;
    }
    if (!avail)
        return 0;
    for (i = 0; i < avail; i++)
        memcpy(&rsp[i], RING_GET_RESPONSE(&q->rx, cons + i), sizeof(rsp[i]));
    while (pos < avail) {
        struct nf_rx_frame f;
        const char *why;

        switch (nf_rx_parse(rsp + pos, avail - pos, &f, &why)) {
        case NF_RX_NEED_MORE:
            if (avail < outstanding)
                goto out; /* the rest of the chain is still to come */
            /* Every buffer posted is answered, the chain still open. */
            rx_drop(q, "a frame longer than every buffer posted");
            f.nslots = avail - pos;
            break;
        case NF_RX_DROP:
            rx_drop(q, why);
            break;
        case NF_RX_OK:
            rx_deliver(q, cons + pos, &f);
            break;
        }
        rx_recycle(q, cons + pos, f.nslots);
        pos += f.nslots;
    }
out:
    q->rx.rsp_cons = cons + pos;
    return 0;
}

/* ---------------------------------------------------------------- */
/* TX */

static void tx_free_id(struct nf_queue *q, uint16_t id)
{
    q->tx_busy[id] = false;
    q->tx_free[q->tx_nfree++] = id;
}

/* Consumes every TX response there is.  -1: the backend is broken. */
static int tx_reap(struct nf_queue *q)
{
    RING_IDX cons = q->tx.rsp_cons, rp, i;

    rp = __atomic_load_n(&q->tx.sring->rsp_prod, __ATOMIC_RELAXED);
    rmb();
    if (rp - cons > q->tx.req_prod_pvt - cons) {
        queue_fatal(q, "TX response index %u past the %u requests made", rp,
                    q->tx.req_prod_pvt);
        return -1;
    }
    for (i = cons; i != rp; i++) {
        netif_tx_response_t r;

        memcpy(&r, RING_GET_RESPONSE(&q->tx, i), sizeof(r));
        if (r.status == NETIF_RSP_NULL)
            continue; /* an extra-info slot's */
        if (r.id >= q->ntx || !q->tx_busy[r.id]) {
            q->tx.rsp_cons = i;
            queue_fatal(q, "TX response for id %u, not in flight", r.id);
            return -1;
        }
        tx_free_id(q, r.id);
        if (r.status != NETIF_RSP_OKAY) {
            q->tx_errors++;
            LOG_DEBUG("queue %u: backend answered TX id %u with %d", q->idx,
                      r.id, r.status);
        }
    }
    q->tx.rsp_cons = rp;
    return 0;
}

static bool tx_room(const struct nf_queue *q)
{
    unsigned int need = q->dev->txc.sg ? NF_TX_MAX_DATA : 1;

    return RING_FREE_REQUESTS(&q->tx) >= NF_TX_MAX_SLOTS &&
           q->tx_nfree >= need;
}

static void tx_put_slots(struct nf_queue *q, const union nf_tx_slot *s,
                         unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++)
        memcpy(RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++), &s[i],
               sizeof(s[i]));
}

/* Sends queued multicast filter changes (queue 0); true if any. */
static bool tx_mcast(struct nf_queue *q)
{
    bool sent = false;

    pthread_mutex_lock(&q->mc_lock);
    while (q->mc_n && RING_FREE_REQUESTS(&q->tx) >= 2 && q->tx_nfree) {
        struct nf_mcast_op op = q->mc_ops[0];
        union nf_tx_slot s[2];
        uint16_t id = q->tx_free[--q->tx_nfree];

        memmove(q->mc_ops, q->mc_ops + 1, --q->mc_n * sizeof(op));
        memset(s, 0, sizeof(s));
        /* A request with no data, carrying the extra (as Windows PV
         * drivers send it); answered with its id and a NULL. */
        q->tx_busy[id] = true;
        s[0].req.gref = q->refs[tx_page(q, id)];
        s[0].req.id = id;
        s[0].req.flags = NETTXF_extra_info;
        s[1].extra.type = op.add ? XEN_NETIF_EXTRA_TYPE_MCAST_ADD
                                 : XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
        memcpy(s[1].extra.u.mcast.addr, op.addr, 6);
        tx_put_slots(q, s, 2);
        sent = true;
        LOG_INFO("queue %u: multicast %s %02x:%02x:%02x:%02x:%02x:%02x",
                 q->idx, op.add ? "add" : "del", op.addr[0], op.addr[1],
                 op.addr[2], op.addr[3], op.addr[4], op.addr[5]);
    }
    pthread_mutex_unlock(&q->mc_lock);
    return sent;
}

/*
 * Reads frames from the TAP straight into free TX pages (the top of the
 * free stack, in order), up to a batch; each becomes its slots.  Returns
 * true if any slot was queued; *drained when the TAP had nothing more.
 */
static bool tx_from_tap(struct nf_queue *q, bool *drained)
{
    const struct nf_tx_caps *caps = &q->dev->txc;
    unsigned int need = caps->sg ? NF_TX_MAX_DATA : 1, n, i, used;
    struct iovec iov[NF_TX_MAX_DATA + 2];
    union nf_tx_slot slots[NF_TX_MAX_SLOTS];
    uint32_t grefs[NF_TX_MAX_DATA];
    uint16_t ids[NF_TX_MAX_DATA];
    uint8_t hdr[NF_HDR_MAX];
    struct virtio_net_hdr vh;
    struct nf_tx_plan plan;
    bool queued = false;
    uint32_t len;
    ssize_t r;

    *drained = false;
    for (n = 0; n < TX_BATCH && tx_room(q); n++) {
        iov[0].iov_base = &vh;
        iov[0].iov_len = sizeof(vh);
        for (i = 0; i < need; i++) {
            ids[i] = q->tx_free[q->tx_nfree - 1 - i];
            grefs[i] = q->refs[tx_page(q, ids[i])];
            iov[1 + i].iov_base = page_addr(q, tx_page(q, ids[i]));
            iov[1 + i].iov_len = NF_PAGE;
        }
        iov[1 + need].iov_base = q->spill;
        iov[1 + need].iov_len = 65536;
        r = readv(q->tapfd, iov, (int)need + 2);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                LOG_WARN("queue %u: reading the TAP: %s", q->idx,
                         strerror(errno));
            *drained = true;
            break;
        }
        if ((size_t)r < sizeof(vh))
            continue;
        len = (uint32_t)((size_t)r - sizeof(vh));
        if (len > need * NF_PAGE) {
            q->tx_drops++;
            LOG_DEBUG("queue %u: dropped a %u-byte frame: larger than %s",
                      q->idx, len,
                      caps->sg ? "65535 bytes" : "a page (no feature-sg)");
            continue;
        }
        nf_iov_gather(iov + 1, need, hdr, IOVM_MIN(len, NF_HDR_MAX));
        if (nf_tx_plan(&vh, hdr, IOVM_MIN(len, NF_HDR_MAX), len, caps,
                       &plan)) {
            q->tx_drops++;
            LOG_DEBUG("queue %u: dropped a %u-byte frame: %s", q->idx, len,
                      plan.why);
            continue;
        }
        used = (len + NF_PAGE - 1) / NF_PAGE;
        if (plan.sw_csum) {
            iov[used].iov_len = len - (used - 1) * NF_PAGE;
            if (nf_csum_complete(iov + 1, used, len, plan.csum_start,
                                 plan.csum_offset)) {
                q->tx_drops++;
                continue;
            }
        }
        for (i = 0; i < used; i++)
            q->tx_busy[ids[i]] = true;
        q->tx_nfree -= used;
        tx_put_slots(q, slots, nf_tx_layout(len, grefs, ids, &plan, slots));
        q->tx_frames++;
        queued = true;
    }
    return queued;
}

static void tx_push(struct nf_queue *q)
{
    int notify;

    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, notify);
    if (notify)
        xenevtchn_notify(q->xe, q->port_tx);
}

/* ---------------------------------------------------------------- */
/* the thread */

static void drain_events(struct nf_queue *q)
{
    xenevtchn_port_or_error_t p;

    while ((p = xenevtchn_pending(q->xe)) >= 0) {
        q->events++;
        /* Unmask before looking at the rings: a later event re-fires. */
        xenevtchn_unmask(q->xe, (evtchn_port_t)p);
    }
}

static void *queue_main(void *arg)
{
    struct nf_queue *q = arg;
    struct nf_dev *d = q->dev;
    bool tap_on = false, tap_ready = false, first = true;
    uint64_t v, next_tick = iovm_now_ns() + TICK_MS * 1000000ull;
    struct epoll_event ev;

    for (;;) {
        struct epoll_event evs[8];
        bool more;
        uint64_t now;
        int n, i;

        /* The first round at once: the rings and the TAP from the
         * start. */
        n = epoll_wait(q->epfd, evs, IOVM_ARRAY_SIZE(evs),
                       first ? 0 : TICK_MS);
        first = false;
        if (n < 0 && errno != EINTR) {
            queue_fatal(q, "epoll: %s", strerror(errno));
            break;
        }
        for (i = 0; i < n; i++) {
            int fd = evs[i].data.fd;

            if (fd == d->stopfd)
                return NULL;
            if (fd == xenevtchn_fd(q->xe))
                drain_events(q);
            else if (fd == q->kickfd)
                while (read(q->kickfd, &v, sizeof(v)) > 0)
                    ;
            else if (fd == q->tapfd)
                tap_ready = true;
        }
        do {
            bool queued = false, drained;

            if (tx_reap(q) || rx_reap(q))
                return NULL;
            rx_refill(q);
            if (q->idx == 0 && d->mcast)
                queued = tx_mcast(q);
            if (tap_ready && tx_room(q)) {
                queued |= tx_from_tap(q, &drained);
                if (drained)
                    tap_ready = false;
            }
            if (queued)
                tx_push(q);
            /* Anything more to reap, or a TAP with more for us?  TX
             * answers only give pages back: be woken for them only when
             * a frame no longer fits (they are reaped on every round). */
            if (tx_room(q))
                n = RING_HAS_UNCONSUMED_RESPONSES(&q->tx);
            else
                RING_FINAL_CHECK_FOR_RESPONSES(&q->tx, n);
            more = n;
            RING_FINAL_CHECK_FOR_RESPONSES(&q->rx, n);
            more |= n;
            more |= tap_ready && tx_room(q);
        } while (more);
        /* Wait on the TAP only while a whole frame fits. */
        if (tx_room(q) != tap_on) {
            tap_on = !tap_on;
            ev.events = tap_on ? EPOLLIN : 0;
            ev.data.fd = q->tapfd;
            epoll_ctl(q->epfd, EPOLL_CTL_MOD, q->tapfd, &ev);
        }
        now = iovm_now_ns();
        if (now >= next_tick) {
            next_tick = now + TICK_MS * 1000000ull;
            /* TX stuck since the last tick: the backend may have missed
             * our notification (restarted); a spare one is harmless. */
            if (q->tx.req_prod_pvt != q->tx.rsp_cons &&
                q->tx.rsp_cons == q->tick_cons)
                xenevtchn_notify(q->xe, q->port_tx);
            q->tick_cons = q->tx.rsp_cons;
        }
    }
    return NULL;
}

int nf_queue_start(struct nf_queue *q)
{
    struct nf_dev *d = q->dev;
    struct epoll_event ev = { .events = EPOLLIN };
    int fds[3], i, rc;

    q->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (q->epfd < 0)
        return -errno;
    fcntl(xenevtchn_fd(q->xe), F_SETFL,
          fcntl(xenevtchn_fd(q->xe), F_GETFL) | O_NONBLOCK);
    fds[0] = xenevtchn_fd(q->xe);
    fds[1] = d->stopfd;
    fds[2] = q->kickfd;
    for (i = 0; i < 3; i++) {
        ev.data.fd = fds[i];
        if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            return -errno;
    }
    ev.events = 0; /* enabled by the thread once it sees room */
    ev.data.fd = q->tapfd;
    if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->tapfd, &ev) < 0)
        return -errno;
    rc = pthread_create(&q->thread, NULL, queue_main, q);
    if (rc)
        return -rc;
    q->started = true;
    return 0;
}

bool nf_queue_mcast(struct nf_queue *q, const struct nf_mcast_op *op)
{
    uint64_t one = 1;
    bool ok;

    pthread_mutex_lock(&q->mc_lock);
    ok = q->mc_n < NF_MCAST_OPS;
    if (ok)
        q->mc_ops[q->mc_n++] = *op;
    pthread_mutex_unlock(&q->mc_lock);
    if (ok && write(q->kickfd, &one, sizeof(one)) < 0) {
        /* Saturated: the thread wakes anyway. */
    }
    return ok;
}

void nf_queue_stop(struct nf_queue *q)
{
    if (q->started)
        pthread_join(q->thread, NULL);
    q->started = false;
}

void nf_queue_teardown(struct nf_dev *d, struct nf_queue *q)
{
    nf_queue_stop(q);
    if (q->tx_frames || q->rx_frames || q->tx_drops || q->rx_drops)
        LOG_INFO("queue %u: tx %llu frames (%llu dropped, %llu errors), rx "
                 "%llu frames (%llu dropped), %llu events",
                 q->idx, (unsigned long long)q->tx_frames,
                 (unsigned long long)q->tx_drops,
                 (unsigned long long)q->tx_errors,
                 (unsigned long long)q->rx_frames,
                 (unsigned long long)q->rx_drops,
                 (unsigned long long)q->events);
    if (q->epfd >= 0)
        close(q->epfd);
    if (q->tapfd >= 0)
        close(q->tapfd);
    if (q->kickfd >= 0)
        close(q->kickfd);
    if (q->xe)
        xenevtchn_close(q->xe); /* unbinds our ports */
    if (q->pages)
        xengntshr_unshare(d->gs, q->pages, q->npages);
    free(q->refs);
    free(q->tx_free);
    free(q->tx_busy);
    free(q->rx_free);
    free(q->spill);
    pthread_mutex_destroy(&q->mc_lock);
    q->epfd = q->tapfd = q->kickfd = -1;
    q->xe = NULL;
    q->pages = NULL;
}
