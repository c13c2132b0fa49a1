/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-netback on the simulator, driven by a raw netif frontend written
 * here (rings, grants and slots by hand, so it can send what no good
 * frontend sends), with the vif's TAP seen through a packet socket in the
 * driver domain's network namespace: the handshake and its gating on the
 * hotplug script, TX and RX byte for byte (one slot, several, GSO), every
 * rejection class of net-proto.h (dropped: the vif goes on; fatal: the
 * vif fails and the process serves its other vifs), a grant revoked
 * mid-packet, a guest that stops reading RX (bounded memory, the other
 * vif unaffected), a notification flood, and a live rate limit.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xen/io/netif.h>

#include "ring.h" /* the barriers the ring macros use */
#include "simblk.h"
#include "simtest.h"

#define NPAGES 64u
#define PAGE 4096u

static uint32_t dd, fe;
static pid_t nb_pid;
static char logpath[256];

/* ---------------------------------------------------------------- */
/* the toolstack's part */

static struct xs_handle *xs_as(uint32_t dom)
{
    struct xs_handle *h;

    simtest_enter(dom);
    h = xs_open(0);
    ck_assert_msg(h, "xs_open: %s", strerror(errno));
    return h;
}

/* What libxl 4.17 writes for a vif served by the driver domain. */
static void vif_add(uint32_t devid, const char *rate)
{
    struct xs_handle *h = xs_as(0);
    struct xs_permissions fep[2] = { { fe, XS_PERM_NONE },
                                     { dd, XS_PERM_READ } };
    struct xs_permissions bep[2] = { { dd, XS_PERM_NONE },
                                     { fe, XS_PERM_READ } };
    char bed[160], fed[160], num[16], mac[32];
    xs_transaction_t t;

    snprintf(bed, sizeof(bed), "/local/domain/%u/backend/vif/%u/%u", dd, fe,
             devid);
    snprintf(fed, sizeof(fed), "/local/domain/%u/device/vif/%u", fe, devid);
    snprintf(mac, sizeof(mac), "00:16:3e:00:%02x:%02x", fe & 0xff,
             devid & 0xff);
    do {
        t = xs_transaction_start(h);
        ck_assert(t);
        ck_assert(xs_mkdir(h, t, fed));
        ck_assert(xs_set_permissions(h, t, fed, fep, 2));
        simblk_xs_write(h, t, fed, "backend", bed);
        snprintf(num, sizeof(num), "%u", dd);
        simblk_xs_write(h, t, fed, "backend-id", num);
        simblk_xs_write(h, t, fed, "state", "1");
        snprintf(num, sizeof(num), "%u", devid);
        simblk_xs_write(h, t, fed, "handle", num);
        simblk_xs_write(h, t, fed, "mac", mac);
        ck_assert(xs_mkdir(h, t, bed));
        ck_assert(xs_set_permissions(h, t, bed, bep, 2));
        simblk_xs_write(h, t, bed, "frontend", fed);
        snprintf(num, sizeof(num), "%u", fe);
        simblk_xs_write(h, t, bed, "frontend-id", num);
        simblk_xs_write(h, t, bed, "online", "1");
        simblk_xs_write(h, t, bed, "state", "1");
        simblk_xs_write(h, t, bed, "script", "/etc/xen/scripts/vif-bridge");
        simblk_xs_write(h, t, bed, "mac", mac);
        simblk_xs_write(h, t, bed, "bridge", "xenbr0");
        snprintf(num, sizeof(num), "%u", devid);
        simblk_xs_write(h, t, bed, "handle", num);
        simblk_xs_write(h, t, bed, "type", "vif");
        if (rate)
            simblk_xs_write(h, t, bed, "rate", rate);
        simblk_xs_write(h, t, bed, "hotplug-status", "");
    } while (!xs_transaction_end(h, t, false) && errno == EAGAIN);
    xs_close(h);
}

static void be_path(uint32_t devid, const char *key, char *out, size_t len)
{
    snprintf(out, len, "/local/domain/%u/backend/vif/%u/%u/%s", dd, fe, devid,
             key);
}

static void be_write(uint32_t devid, const char *key, const char *val)
{
    struct xs_handle *h = xs_as(0);
    char p[200];

    be_path(devid, key, p, sizeof(p));
    ck_assert(xs_write(h, XBT_NULL, p, val, strlen(val)));
    xs_close(h);
}

static int be_wait_ms(uint32_t devid, const char *key, const char *val,
                      unsigned int ms)
{
    char p[200];

    be_path(devid, key, p, sizeof(p));
    return simblk_wait(p, val, ms);
}

static int be_wait(uint32_t devid, const char *key, const char *val)
{
    return be_wait_ms(devid, key, val, 10000);
}

static bool be_is(uint32_t devid, const char *key, const char *val)
{
    char p[200], buf[256];

    be_path(devid, key, p, sizeof(p));
    return !simblk_read(p, buf, sizeof(buf)) && !strcmp(buf, val);
}

/* ---------------------------------------------------------------- */
/* the raw frontend */

struct nf {
    uint32_t devid;
    char fed[160];
    xengntshr_handle *gs;
    xenevtchn_handle *xe;
    struct xs_handle *xs;
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    void *rings;
    uint32_t ring_refs[2];
    evtchn_port_t port;
    uint8_t *pages;
    uint32_t refs[NPAGES];
    void *extra_page;         /* the control ring's, or NULL */
    int pfd;                  /* packet socket on the vif's TAP */
    char ifname[IFNAMSIZ];
};

static void nf_write(struct nf *f, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void nf_write(struct nf *f, const char *key, const char *fmt, ...)
{
    char val[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    simblk_xs_write(f->xs, XBT_NULL, f->fed, key, val);
}

/* Opens the TAP's packet socket (in the driver domain's namespace, which
 * this process entered) and brings the link up. */
static void tap_open(struct nf *f)
{
    struct sockaddr_ll sll = { 0 };
    struct ifreq ifr = { 0 };
    int s;

    snprintf(f->ifname, sizeof(f->ifname), "vif%u.%u", fe, f->devid);
    /* No IPv6 on it: the kernel's own frames (MLD, router solicitation)
     * would land among the test's. */
    {
        char p[128];
        FILE *sf;

        snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
                 f->ifname);
        sf = fopen(p, "w");
        if (sf) {
            fputs("1", sf);
            fclose(sf);
        }
    }
    s = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(s, 0);
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", f->ifname);
    ck_assert_msg(!ioctl(s, SIOCGIFFLAGS, &ifr), "no TAP %s: %s", f->ifname,
                  strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    ck_assert(!ioctl(s, SIOCSIFFLAGS, &ifr));
    close(s);
    f->pfd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    ck_assert_int_ge(f->pfd, 0);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)if_nametoindex(f->ifname);
    ck_assert(sll.sll_ifindex > 0);
    ck_assert(!bind(f->pfd, (struct sockaddr *)&sll, sizeof(sll)));
}

/*
 * Frontend of devid: shares its rings and NPAGES data pages, writes its
 * keys (extra: NULL-terminated key, value pairs, or defaults) and goes
 * Connected, as Linux netfront does.
 */
static void nf_connect(struct nf *f, uint32_t devid, const char *const *extra)
{
    unsigned int i;
    bool custom = extra && extra[0];

    memset(f, 0, sizeof(*f));
    f->devid = devid;
    f->pfd = -1;
    snprintf(f->fed, sizeof(f->fed), "/local/domain/%u/device/vif/%u", fe,
             devid);
    f->xs = xs_as(fe);
    f->gs = xengntshr_open(NULL, 0);
    f->xe = xenevtchn_open(NULL, 0);
    ck_assert(f->gs && f->xe);
    f->rings = xengntshr_share_pages(f->gs, dd, 2, f->ring_refs, 1);
    ck_assert(f->rings);
    SHARED_RING_INIT((netif_tx_sring_t *)f->rings);
    SHARED_RING_INIT((netif_rx_sring_t *)((uint8_t *)f->rings + PAGE));
    FRONT_RING_INIT(&f->tx, (netif_tx_sring_t *)f->rings, PAGE);
    FRONT_RING_INIT(&f->rx, (netif_rx_sring_t *)((uint8_t *)f->rings + PAGE),
                    PAGE);
    f->pages = xengntshr_share_pages(f->gs, dd, NPAGES, f->refs, 1);
    ck_assert(f->pages);
    i = (unsigned int)xenevtchn_bind_unbound_port(f->xe, dd);
    ck_assert_int_gt((int)i, 0);
    f->port = i;
    ck_assert_int_eq(be_wait(devid, "state", "2"), 0);
    nf_write(f, "tx-ring-ref", "%u", f->ring_refs[0]);
    nf_write(f, "rx-ring-ref", "%u", f->ring_refs[1]);
    nf_write(f, "event-channel", "%u", f->port);
    nf_write(f, "request-rx-copy", "1");
    nf_write(f, "feature-rx-notify", "1");
    if (!custom) {
        nf_write(f, "feature-sg", "1");
        nf_write(f, "feature-gso-tcpv4", "1");
        nf_write(f, "feature-gso-tcpv6", "1");
        nf_write(f, "feature-ipv6-csum-offload", "1");
    }
    for (i = 0; custom && extra[i]; i += 2)
        simblk_xs_write(f->xs, XBT_NULL, f->fed, extra[i], extra[i + 1]);
    nf_write(f, "state", "4");
}

/* Waits for the backend to be Connected (after the script said so). */
static void nf_connected(struct nf *f)
{
    ck_assert_int_eq(be_wait(f->devid, "state", "4"), 0);
    tap_open(f);
}

static void nf_close(struct nf *f)
{
    if (f->pfd >= 0)
        close(f->pfd);
    nf_write(f, "state", "6");
    /* Closed means the backend let go of our pages: take them back. */
    ck_assert_int_eq(be_wait(f->devid, "state", "6"), 0);
    ck_assert_int_eq(xengntshr_unshare(f->gs, f->pages, NPAGES), 0);
    ck_assert_int_eq(xengntshr_unshare(f->gs, f->rings, 2), 0);
    if (f->extra_page)
        ck_assert_int_eq(xengntshr_unshare(f->gs, f->extra_page, 1), 0);
    xengntshr_close(f->gs);
    xs_close(f->xs);
    xenevtchn_close(f->xe);
}

static void kick(struct nf *f)
{
    xenevtchn_notify(f->xe, f->port);
}

/* Waits until fn(f) holds, on our event channel, up to ms. */
static bool nf_wait(struct nf *f, bool (*fn)(struct nf *), unsigned int ms)
{
    struct timespec t0, t;
    struct pollfd p = { .fd = xenevtchn_fd(f->xe), .events = POLLIN };

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long el;
        int port;

        if (fn(f))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &t);
        el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (el >= (long)ms)
            return fn(f);
        /* Responses are re-checked at least every 100 ms (an event can
         * come before we arm rsp_event). */
        if (poll(&p, 1, 100) > 0 && (port = xenevtchn_pending(f->xe)) >= 0)
            xenevtchn_unmask(f->xe, (evtchn_port_t)port);
    }
}

static bool tx_answered(struct nf *f)
{
    f->tx.sring->rsp_event = f->tx.rsp_cons + 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return f->tx.sring->rsp_prod == f->tx.req_prod_pvt;
}

static bool rx_has(struct nf *f)
{
    f->rx.sring->rsp_event = f->rx.rsp_cons + 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return RING_HAS_UNCONSUMED_RESPONSES(&f->rx);
}

static bool vif_failed(struct nf *f)
{
    return be_is(f->devid, "state", "5");
}

/* ---------------------------------------------------------------- */
/* packets */

/* A UDP/IPv4 frame of len bytes, payload bytes from seed. */
static size_t make_udp(uint8_t *buf, size_t len, uint8_t seed)
{
    static const uint8_t dst[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe };
    static const uint8_t src[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
    size_t i;

    memset(buf, 0, 42);
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = 0x08;
    buf[14] = 0x45;
    buf[16] = (uint8_t)((len - 14) >> 8);
    buf[17] = (uint8_t)(len - 14);
    buf[22] = 64;
    buf[23] = 17;
    buf[26] = 10, buf[29] = 2;
    buf[30] = 10, buf[33] = 1;
    buf[34] = 0x30, buf[35] = 0x39;
    buf[36] = 0x30, buf[37] = 0x3a;
    buf[38] = (uint8_t)((len - 34) >> 8);
    buf[39] = (uint8_t)(len - 34);
    for (i = 42; i < len; i++)
        buf[i] = (uint8_t)(seed + i * 7);
    return len;
}

/* Puts a request in the next TX slot. */
static netif_tx_request_t *tx_slot(struct nf *f)
{
    netif_tx_request_t *r = RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt);

    f->tx.req_prod_pvt++;
    memset(r, 0, sizeof(*r));
    return r;
}

static void tx_push(struct nf *f)
{
    int notify;

    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->tx, notify);
    if (notify)
        kick(f);
}

/* Sends frame (len bytes) in slots of at most chunk bytes each, page i
 * of our pool for slot i. */
static unsigned int tx_frame(struct nf *f, const uint8_t *frame, size_t len,
                             size_t chunk, uint16_t flags)
{
    size_t off = 0;
    unsigned int n = 0;

    while (off < len) {
        size_t c = len - off < chunk ? len - off : chunk;
        netif_tx_request_t *r = tx_slot(f);

        memcpy(f->pages + (size_t)n * PAGE, frame + off, c);
        r->gref = f->refs[n];
        r->offset = 0;
        r->id = (uint16_t)n;
        r->size = (uint16_t)(n ? c : len);
        r->flags = (uint16_t)((n ? 0 : flags) |
                              (off + c < len ? NETTXF_more_data : 0));
        off += c;
        n++;
    }
    return n;
}

/* The next frame on the TAP that the kernel received (not one we sent);
 * its length, or -1 after ms. */
static ssize_t tap_recv(struct nf *f, uint8_t *buf, size_t len,
                        unsigned int ms)
{
    struct pollfd p = { .fd = f->pfd, .events = POLLIN };

    for (;;) {
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(f->pfd, buf, len, 0, (struct sockaddr *)&from,
                             &fl);

        if (n >= 0 && from.sll_pkttype == PACKET_OUTGOING)
            continue;
        if (n >= 0)
            return n;
        if (poll(&p, 1, (int)ms) <= 0)
            return -1;
    }
}

static int16_t tx_status(struct nf *f, unsigned int i)
{
    return RING_GET_RESPONSE(&f->tx, f->tx.rsp_cons + i)->status;
}

static void tx_consume(struct nf *f)
{
    f->tx.rsp_cons = f->tx.sring->rsp_prod;
}

/* Posts n RX requests on pages [first, first + n). */
static void rx_post(struct nf *f, unsigned int first, unsigned int n)
{
    unsigned int i;
    int notify;

    for (i = 0; i < n; i++) {
        netif_rx_request_t *r = RING_GET_REQUEST(&f->rx, f->rx.req_prod_pvt);

        r->id = (uint16_t)(first + i);
        r->gref = f->refs[first + i];
        f->rx.req_prod_pvt++;
    }
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->rx, notify);
    if (notify)
        kick(f);
}

/* ---------------------------------------------------------------- */

static void setup_common(bool standalone);

static void setup(void)
{
    setup_common(true);
}

/* No standalone backend: the tests run supervised ones. */
static void setup_supervised(void)
{
    setup_common(false);
}

static void setup_common(bool standalone)
{
    char nspath[256];
    int fd;

    simtest_start();
    dd = simtest_domain("dd");
    fe = simtest_domain("guest");
    snprintf(logpath, sizeof(logpath), "%s/netback.log", simtest_start());
    /* The TAPs are in the driver domain's network namespace. */
    snprintf(nspath, sizeof(nspath), "%s/dom%u/netns", simtest_start(), dd);
    fd = open(nspath, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ck_assert_msg(!setns(fd, CLONE_NEWNET), "setns: %s", strerror(errno));
        close(fd);
    }
    nb_pid = 0;
    if (standalone) {
        char cmd[1024], bin[512];
        const char *b = getenv("IOVM_TEST_BUILDDIR");

        snprintf(bin, sizeof(bin), "%s/backend/net/iovm-netback",
                 b ? b : ".");
        snprintf(cmd, sizeof(cmd),
                 "exec \"%s\" --dir \"%s\" exec %u -- %s --hotplug "
                 "--max-queues 2 --log-level debug --remove-delay-ms 100 "
                 ">>%s 2>&1",
                 getenv("IOVM_SIM") ? getenv("IOVM_SIM") : "iovm-sim",
                 simtest_start(), dd, bin, logpath);
        nb_pid = fork();
        if (!nb_pid) {
            closefrom(3);
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
            _exit(127);
        }
    }
}

static void teardown(void)
{
    int status;

    if (nb_pid > 0) {
        kill(nb_pid, SIGTERM);
        waitpid(nb_pid, &status, 0);
    }
    if (getenv("IOVM_TEST_KEEP_LOG"))
        simtest_sh(NULL, 0, "cat %s >>%s", logpath,
                   getenv("IOVM_TEST_KEEP_LOG"));
    simtest_stop();
}

static bool nb_alive(void)
{
    return kill(nb_pid, 0) == 0;
}

/* The handshake: features before InitWait, Connected only once the
 * hotplug script has said "connected". */
START_TEST(t_handshake)
{
    struct nf f;
    static const char *const keys[] = {
        "feature-rx-copy", "feature-sg", "feature-gso-tcpv4",
        "feature-gso-tcpv6", "feature-ipv6-csum-offload",
        "feature-split-event-channels", "feature-ctrl-ring",
        "feature-multicast-control",
    };
    unsigned int i;

    vif_add(0, NULL);
    ck_assert_int_eq(be_wait(0, "state", "2"), 0);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_msg(be_is(0, keys[i], "1"), "%s not 1", keys[i]);
    ck_assert(be_is(0, "feature-rx-flip", "0"));
    ck_assert(be_is(0, "multi-queue-max-queues", "2"));
    nf_connect(&f, 0, NULL);
    /* The script has not run: InitWait it stays. */
    ck_assert_int_ne(be_wait_ms(0, "state", "4", 500), 0);
    ck_assert(be_is(0, "state", "2"));
    be_write(0, "hotplug-status", "connected");
    nf_connected(&f);
    nf_close(&f);
}
END_TEST

/* TX and RX, byte for byte. */
START_TEST(t_tx_rx)
{
    uint8_t frame[9000], got[70000];
    struct nf f;
    unsigned int n;
    ssize_t len;

    vif_add(1, NULL);
    be_write(1, "hotplug-status", "connected");
    nf_connect(&f, 1, NULL);
    nf_connected(&f);

    /* One slot. */
    make_udp(frame, 200, 1);
    n = tx_frame(&f, frame, 200, PAGE, NETTXF_data_validated);
    ck_assert_uint_eq(n, 1);
    tx_push(&f);
    ck_assert(nf_wait(&f, tx_answered, 5000));
    ck_assert_int_eq(tx_status(&f, 0), NETIF_RSP_OKAY);
    tx_consume(&f);
    len = tap_recv(&f, got, sizeof(got), 5000);
    ck_assert_int_eq(len, 200);
    ck_assert(!memcmp(got, frame, 200));

    /* Three slots (scatter-gather). */
    make_udp(frame, 9000, 2);
    n = tx_frame(&f, frame, 9000, PAGE, 0);
    ck_assert_uint_eq(n, 3);
    tx_push(&f);
    ck_assert(nf_wait(&f, tx_answered, 5000));
    ck_assert_int_eq(tx_status(&f, 0), NETIF_RSP_OKAY);
    ck_assert_int_eq(tx_status(&f, 2), NETIF_RSP_OKAY);
    tx_consume(&f);
    len = tap_recv(&f, got, sizeof(got), 5000);
    ck_assert_int_eq(len, 9000);
    ck_assert(!memcmp(got, frame, 9000));

    /* RX: a frame sent on the TAP lands in a posted page. */
    rx_post(&f, 10, 8);
    make_udp(frame, 1000, 3);
    ck_assert_int_eq(send(f.pfd, frame, 1000, 0), 1000);
    ck_assert(nf_wait(&f, rx_has, 5000));
    {
        netif_rx_response_t *r = RING_GET_RESPONSE(&f.rx, f.rx.rsp_cons);

        ck_assert_int_eq(r->status, 1000);
        ck_assert_uint_eq(r->id, 10);
        ck_assert(!(r->flags & NETRXF_more_data));
        ck_assert(!memcmp(f.pages + 10 * PAGE + r->offset, frame, 1000));
        f.rx.rsp_cons++;
    }
    nf_close(&f);
}
END_TEST

static void round_trip(struct nf *f, uint8_t seed);

/* The drop classes: answered with errors; the vif goes on. */
START_TEST(t_reject_drop)
{
    uint8_t frame[2000], got[4096];
    struct nf f;
    netif_tx_request_t *r;
    unsigned int i;

    vif_add(2, NULL);
    be_write(2, "hotplug-status", "connected");
    nf_connect(&f, 2, NULL);
    nf_connected(&f);

    /* Shorter than an Ethernet header. */
    r = tx_slot(&f);
    r->gref = f.refs[0], r->size = 10, r->id = 1;
    /* Fragments larger than the packet. */
    r = tx_slot(&f);
    r->gref = f.refs[1], r->size = 100, r->id = 2,
    r->flags = NETTXF_more_data;
    r = tx_slot(&f);
    r->gref = f.refs[2], r->size = 200, r->id = 3;
    /* 19 data slots. */
    for (i = 0; i < 19; i++) {
        r = tx_slot(&f);
        r->gref = f.refs[i], r->size = (uint16_t)(i ? 100 : 1900);
        r->id = (uint16_t)(10 + i);
        r->flags = i < 18 ? NETTXF_more_data : 0;
    }
    tx_push(&f);
    ck_assert(nf_wait(&f, tx_answered, 5000));
    for (i = 0; i < 22; i++)
        ck_assert_int_eq(tx_status(&f, i), NETIF_RSP_ERROR);
    tx_consume(&f);
    ck_assert(be_is(2, "state", "4"));
    /* And a good one still goes. */
    make_udp(frame, 100, 9);
    tx_frame(&f, frame, 100, PAGE, 0);
    tx_push(&f);
    ck_assert(nf_wait(&f, tx_answered, 5000));
    ck_assert_int_eq(tx_status(&f, 0), NETIF_RSP_OKAY);
    ck_assert_int_eq(tap_recv(&f, got, sizeof(got), 5000), 100);
    nf_close(&f);
}
END_TEST

/* A grant the frontend never gave (or took back): that packet fails. */
START_TEST(t_bad_grant)
{
    uint8_t frame[200], got[4096];
    struct nf f;
    netif_tx_request_t *r;

    vif_add(3, NULL);
    be_write(3, "hotplug-status", "connected");
    nf_connect(&f, 3, NULL);
    nf_connected(&f);
    make_udp(frame, 200, 4);
    memcpy(f.pages, frame, 200);
    r = tx_slot(&f);
    r->gref = 0x7fffff, r->size = 200, r->id = 5;
    tx_push(&f);
    ck_assert(nf_wait(&f, tx_answered, 5000));
    ck_assert_int_eq(tx_status(&f, 0), NETIF_RSP_ERROR);
    tx_consume(&f);
    ck_assert_int_eq(tap_recv(&f, got, sizeof(got), 300), -1);
    ck_assert(be_is(3, "state", "4"));
    /* A grant taken back in the middle of a packet: its second slot's
     * page was shared, used, and unshared before the packet went. */
    {
        uint32_t ref;
        void *pg = xengntshr_share_pages(f.gs, dd, 1, &ref, 1);
        uint8_t big[6000];
        netif_tx_request_t *r2;

        ck_assert(pg);
        make_udp(big, sizeof(big), 5);
        memcpy(f.pages, big, PAGE);
        ck_assert_int_eq(xengntshr_unshare(f.gs, pg, 1), 0);
        r = tx_slot(&f);
        r->gref = f.refs[0], r->size = sizeof(big), r->id = 6;
        r->flags = NETTXF_more_data;
        r2 = tx_slot(&f);
        r2->gref = ref, r2->size = sizeof(big) - PAGE, r2->id = 7;
        tx_push(&f);
        ck_assert(nf_wait(&f, tx_answered, 5000));
        ck_assert_int_eq(tx_status(&f, 0), NETIF_RSP_ERROR);
        ck_assert_int_eq(tx_status(&f, 1), NETIF_RSP_ERROR);
        tx_consume(&f);
        ck_assert_int_eq(tap_recv(&f, got, sizeof(got), 300), -1);
    }
    /* And the vif goes on. */
    round_trip(&f, 12);
    ck_assert(be_is(3, "state", "4"));
    nf_close(&f);
}
END_TEST

/* Fatal classes: each fails its vif, never the process. */
static void fatal_case(uint32_t devid, void (*fill)(struct nf *f))
{
    struct nf f;

    vif_add(devid, NULL);
    be_write(devid, "hotplug-status", "connected");
    nf_connect(&f, devid, NULL);
    nf_connected(&f);
    fill(&f);
    tx_push(&f);
    ck_assert_msg(nf_wait(&f, vif_failed, 5000), "vif %u did not fail",
                  devid);
    ck_assert(nb_alive());
    {
        char p[200], err[256];

        be_path(devid, "error", p, sizeof(p));
        ck_assert_int_eq(simblk_read(p, err, sizeof(err)), 0);
    }
    nf_close(&f);
}

static void fill_cross_page(struct nf *f)
{
    netif_tx_request_t *r = tx_slot(f);

    r->gref = f->refs[0], r->offset = 4000, r->size = 200;
}

static void fill_too_many(struct nf *f)
{
    unsigned int i;

    for (i = 0; i < 21; i++) {
        netif_tx_request_t *r = tx_slot(f);

        r->gref = f->refs[i], r->size = (uint16_t)(i ? 60 : 2000);
        r->flags = i < 20 ? NETTXF_more_data : 0;
    }
}

static void fill_truncated(struct nf *f)
{
    netif_tx_request_t *r = tx_slot(f);

    r->gref = f->refs[0], r->size = 2000, r->flags = NETTXF_more_data;
}

static void fill_extra_type(struct nf *f)
{
    netif_tx_request_t *r = tx_slot(f);
    struct netif_extra_info *x;

    r->gref = f->refs[0], r->size = 100, r->flags = NETTXF_extra_info;
    x = (struct netif_extra_info *)tx_slot(f);
    x->type = 0;
}

static void fill_gso_size(struct nf *f)
{
    netif_tx_request_t *r = tx_slot(f);
    struct netif_extra_info *x;

    r->gref = f->refs[0], r->size = 100, r->flags = NETTXF_extra_info;
    x = (struct netif_extra_info *)tx_slot(f);
    x->type = XEN_NETIF_EXTRA_TYPE_GSO;
    x->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    x->u.gso.size = 0;
}

static void fill_indices(struct nf *f)
{
    /* req_prod far past what the ring holds. */
    f->tx.req_prod_pvt += 1000;
}

START_TEST(t_reject_fatal)
{
    fatal_case(10, fill_cross_page);
    fatal_case(11, fill_too_many);
    fatal_case(12, fill_truncated);
    fatal_case(13, fill_extra_type);
    fatal_case(14, fill_gso_size);
    fatal_case(15, fill_indices);
}
END_TEST

/* A frontend without request-rx-copy is refused. */
START_TEST(t_no_rx_copy)
{
    struct nf f;
    static const char *const ex[] = { "request-rx-copy", "0", NULL };

    vif_add(20, NULL);
    be_write(20, "hotplug-status", "connected");
    nf_connect(&f, 20, ex);
    ck_assert(nf_wait(&f, vif_failed, 5000));
    nf_close(&f);
}
END_TEST

/* Bad ring keys (a queue's keys missing, a ring never granted, more
 * queues than offered): each fails its vif, never the process. */
START_TEST(t_bad_keys)
{
    static const char *const two_queues[] = {
        "feature-sg", "1", "multi-queue-num-queues", "2", NULL
    };
    static const char *const too_many[] = {
        "feature-sg", "1", "multi-queue-num-queues", "3", NULL
    };
    static const char *const no_ring[] = {
        "feature-sg", "1", "rx-ring-ref", "8388607", NULL
    };
    const char *const *cases[] = { two_queues, too_many, no_ring };
    unsigned int i;

    for (i = 0; i < 3; i++) {
        struct nf f;

        vif_add(21 + i, NULL);
        be_write(21 + i, "hotplug-status", "connected");
        nf_connect(&f, 21 + i, cases[i]);
        ck_assert_msg(nf_wait(&f, vif_failed, 5000), "case %u", i);
        ck_assert(nb_alive());
        nf_close(&f);
    }
}
END_TEST

/* ---------------------------------------------------------------- */

static long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    ck_assert(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* CPU time (ms) the process has used. */
static long proc_cpu_ms(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut, st;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    ck_assert(f);
    ck_assert(fgets(buf, sizeof(buf), f));
    fclose(f);
    p = strrchr(buf, ')');
    ck_assert(p);
    ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                   "%*u %lu %lu",
                            &ut, &st),
                     2);
    return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* One frame each way through f: the vif works. */
static void round_trip(struct nf *f, uint8_t seed)
{
    uint8_t frame[1500], got[4096];
    netif_rx_response_t *r;
    ssize_t n;

    /* What the socket holds from before (it drops what overflows). */
    while (recv(f->pfd, got, sizeof(got), MSG_DONTWAIT) >= 0)
        ;
    make_udp(frame, 600, seed);
    tx_frame(f, frame, 600, PAGE, 0);
    tx_push(f);
    ck_assert(nf_wait(f, tx_answered, 5000));
    ck_assert_int_eq(tx_status(f, 0), NETIF_RSP_OKAY);
    tx_consume(f);
    do {
        n = tap_recv(f, got, sizeof(got), 5000);
        ck_assert_int_ge(n, 0);
    } while (n != 600 || memcmp(got, frame, 600));
    rx_post(f, 40, 1);
    make_udp(frame, 700, (uint8_t)(seed + 1));
    ck_assert_int_eq(send(f->pfd, frame, 700, 0), 700);
    for (;;) {
        ck_assert(nf_wait(f, rx_has, 5000));
        r = RING_GET_RESPONSE(&f->rx, f->rx.rsp_cons);
        f->rx.rsp_cons++;
        if (r->status == 700 &&
            !memcmp(f->pages + (size_t)r->id * PAGE + r->offset, frame, 700))
            break;
        rx_post(f, r->id, 1); /* something else the kernel sent: again */
    }
}

/* A guest that never posts RX requests: the backend holds one frame for
 * it, the kernel drops the rest; another vif is not held up. */
START_TEST(t_rx_stop)
{
    struct nf stuck, good;
    uint8_t frame[1500];
    long rss0, rss1;
    unsigned int i, sent = 0;

    vif_add(30, NULL);
    be_write(30, "hotplug-status", "connected");
    vif_add(31, NULL);
    be_write(31, "hotplug-status", "connected");
    nf_connect(&stuck, 30, NULL);
    nf_connected(&stuck);
    nf_connect(&good, 31, NULL);
    nf_connected(&good);
    rss0 = proc_rss_kb(nb_pid);
    make_udp(frame, 1400, 5);
    for (i = 0; i < 20000; i++)
        sent += send(stuck.pfd, frame, 1400, 0) == 1400;
    ck_assert_uint_gt(sent, 1000);
    round_trip(&good, 10);
    rss1 = proc_rss_kb(nb_pid);
    ck_assert_msg(rss1 - rss0 < 4096, "backend grew %ld KiB for a stuck "
                                      "guest",
                  rss1 - rss0);
    ck_assert(be_is(30, "state", "4"));
    /* Once it posts, frames flow again. */
    rx_post(&stuck, 0, 32);
    for (;;) {
        int16_t st;

        ck_assert(nf_wait(&stuck, rx_has, 5000));
        st = RING_GET_RESPONSE(&stuck.rx, stuck.rx.rsp_cons)->status;
        stuck.rx.rsp_cons++;
        if (st == 1400)
            break; /* (the kernel's own frames come first) */
    }
    nf_close(&stuck);
    nf_close(&good);
}
END_TEST

/* 100000 notifications with nothing to do: the vif goes on, another is
 * served meanwhile, and the backend is idle once they stop. */
START_TEST(t_notify_flood)
{
    struct nf bad, good;
    long c0, c1, c2;
    unsigned int i;

    vif_add(32, NULL);
    be_write(32, "hotplug-status", "connected");
    vif_add(33, NULL);
    be_write(33, "hotplug-status", "connected");
    nf_connect(&bad, 32, NULL);
    nf_connected(&bad);
    nf_connect(&good, 33, NULL);
    nf_connected(&good);
    c0 = proc_cpu_ms(nb_pid);
    for (i = 0; i < 100000; i++) {
        kick(&bad);
        if (i == 50000)
            round_trip(&good, 20);
    }
    round_trip(&bad, 30);
    c1 = proc_cpu_ms(nb_pid);
    /* Idle afterwards: a quiet 300 ms costs (next to) nothing. */
    {
        struct timespec ts = { 0, 300000000 };

        nanosleep(&ts, NULL);
    }
    c2 = proc_cpu_ms(nb_pid);
    ck_assert_msg(c2 - c1 <= 20, "backend busy after the flood: %ld ms",
                  c2 - c1);
    fprintf(stderr, "notification flood: %ld ms of backend CPU\n", c1 - c0);
    ck_assert(be_is(32, "state", "4"));
    nf_close(&bad);
    nf_close(&good);
}
END_TEST

/* Sends n 1000-byte packets, 40 at a time; the milliseconds it took. */
static long send_burst(struct nf *f, unsigned int n)
{
    uint8_t frame[1500];
    struct timespec t0, t1;
    unsigned int i, k;

    make_udp(frame, 1000, 7);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (k = 0; k < n; k += 40) {
        for (i = 0; i < 40 && k + i < n; i++) {
            netif_tx_request_t *r = tx_slot(f);

            memcpy(f->pages + (size_t)i * PAGE, frame, 1000);
            r->gref = f->refs[i], r->size = 1000, r->id = (uint16_t)i;
        }
        tx_push(f);
        ck_assert(nf_wait(f, tx_answered, 20000));
        tx_consume(f);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

/* The rate, live: a vif without one gets it while connected, and 800000
 * bytes then take well over the first interval's credit (lower bounds
 * only: a slow machine makes them longer, never shorter). */
START_TEST(t_rate_live)
{
    struct nf f;
    unsigned int tries;
    long ms = 0;

    vif_add(38, NULL);
    be_write(38, "hotplug-status", "connected");
    nf_connect(&f, 38, NULL);
    nf_connected(&f);
    send_burst(&f, 100);
    be_write(38, "rate", "200000,1000000");
    /* The backend applies it when its watch fires, which may be after a
     * burst or two went out unlimited: one of the next 20 is limited. */
    for (tries = 0; tries < 20; tries++) {
        ms = send_burst(&f, 800);
        if (ms >= 1500)
            break;
    }
    ck_assert_msg(ms >= 1500, "800000 bytes at 200000/s took %ld ms", ms);
    nf_close(&f);
}
END_TEST

/* The rate limit (BE/rate): 400000 bytes at 200000 bytes/s take more
 * than the first interval. */
START_TEST(t_rate)
{
    uint8_t frame[1500];
    struct nf f;
    struct timespec t0, t1;
    unsigned int i, k;
    long ms;

    vif_add(34, "200000,1000000");
    be_write(34, "hotplug-status", "connected");
    nf_connect(&f, 34, NULL);
    nf_connected(&f);
    make_udp(frame, 1000, 7);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* 400 packets of 1000 bytes, 40 at a time (one page each). */
    for (k = 0; k < 10; k++) {
        for (i = 0; i < 40; i++) {
            netif_tx_request_t *r = tx_slot(&f);

            memcpy(f.pages + (size_t)i * PAGE, frame, 1000);
            r->gref = f.refs[i], r->size = 1000, r->id = (uint16_t)i;
        }
        tx_push(&f);
        ck_assert(nf_wait(&f, tx_answered, 10000));
        tx_consume(&f);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    /* The first 200000 bytes are the first interval's credit. */
    ck_assert_msg(ms >= 900, "400000 bytes at 200000/s took %ld ms", ms);
    nf_close(&f);
}
END_TEST

/* The control ring, as Windows PV drivers drive it: Toeplitz hashing,
 * then an RX frame carries its hash in an extra-info slot. */
static bool ctrl_answered(struct nf *f);
static xen_netif_ctrl_front_ring_t ctrl;

static bool ctrl_answered(struct nf *f)
{
    (void)f;
    ctrl.sring->rsp_event = ctrl.rsp_cons + 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return ctrl.sring->rsp_prod == ctrl.req_prod_pvt;
}

static uint32_t ctrl_call(struct nf *f, evtchn_port_t port, uint16_t type,
                          uint32_t d0, uint32_t d1, uint32_t *data)
{
    struct xen_netif_ctrl_request *q =
        RING_GET_REQUEST(&ctrl, ctrl.req_prod_pvt);
    struct xen_netif_ctrl_response *r;
    int notify;

    memset(q, 0, sizeof(*q));
    q->id = (uint16_t)ctrl.req_prod_pvt;
    q->type = type;
    q->data[0] = d0;
    q->data[1] = d1;
    ctrl.req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ctrl, notify);
    if (notify)
        xenevtchn_notify(f->xe, port);
    ck_assert(nf_wait(f, ctrl_answered, 5000));
    r = RING_GET_RESPONSE(&ctrl, ctrl.rsp_cons);
    ctrl.rsp_cons++;
    ck_assert_uint_eq(r->type, type);
    if (data)
        *data = r->data;
    return r->status;
}

START_TEST(t_ctrl_hash)
{
    uint8_t frame[1500];
    struct nf f;
    void *page;
    uint32_t ref, data;
    evtchn_port_t port;
    netif_rx_response_t *r;
    struct netif_extra_info *x;

    vif_add(36, NULL);
    be_write(36, "hotplug-status", "connected");
    memset(&f, 0, sizeof(f));
    {
        /* As nf_connect, with the control ring before Connected. */
        struct nf *g = &f;

        g->devid = 36;
        g->pfd = -1;
        snprintf(g->fed, sizeof(g->fed), "/local/domain/%u/device/vif/36",
                 fe);
        g->xs = xs_as(fe);
        g->gs = xengntshr_open(NULL, 0);
        g->xe = xenevtchn_open(NULL, 0);
        g->rings = xengntshr_share_pages(g->gs, dd, 2, g->ring_refs, 1);
        SHARED_RING_INIT((netif_tx_sring_t *)g->rings);
        SHARED_RING_INIT((netif_rx_sring_t *)((uint8_t *)g->rings + PAGE));
        FRONT_RING_INIT(&g->tx, (netif_tx_sring_t *)g->rings, PAGE);
        FRONT_RING_INIT(&g->rx,
                        (netif_rx_sring_t *)((uint8_t *)g->rings + PAGE),
                        PAGE);
        g->pages = xengntshr_share_pages(g->gs, dd, NPAGES, g->refs, 1);
        g->port = (evtchn_port_t)xenevtchn_bind_unbound_port(g->xe, dd);
        page = xengntshr_share_pages(g->gs, dd, 1, &ref, 1);
        ck_assert(page);
        g->extra_page = page;
        SHARED_RING_INIT((xen_netif_ctrl_sring_t *)page);
        FRONT_RING_INIT(&ctrl, (xen_netif_ctrl_sring_t *)page, PAGE);
        port = (evtchn_port_t)xenevtchn_bind_unbound_port(g->xe, dd);
        ck_assert_int_eq(be_wait(36, "state", "2"), 0);
        nf_write(g, "tx-ring-ref", "%u", g->ring_refs[0]);
        nf_write(g, "rx-ring-ref", "%u", g->ring_refs[1]);
        nf_write(g, "event-channel", "%u", g->port);
        nf_write(g, "request-rx-copy", "1");
        nf_write(g, "feature-rx-notify", "1");
        nf_write(g, "feature-sg", "1");
        nf_write(g, "ctrl-ring-ref", "%u", ref);
        nf_write(g, "event-channel-ctrl", "%u", port);
        nf_write(g, "state", "4");
        nf_connected(g);
    }
    /* Linux netback's answers: no flags before an algorithm. */
    ck_assert_uint_eq(ctrl_call(&f, port, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS,
                                0, 0, &data),
                      XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    ck_assert_uint_eq(ctrl_call(&f, port, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY,
                                f.refs[50], 41, NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    memset(f.pages + 50 * PAGE, 0x6d, 40);
    ck_assert_uint_eq(ctrl_call(&f, port, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY,
                                f.refs[50], 40, NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(ctrl_call(&f, port,
                                XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
                                XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0,
                                NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(ctrl_call(&f, port, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS,
                                0, 0, &data),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert(data & XEN_NETIF_CTRL_HASH_TYPE_IPV4);
    ck_assert_uint_eq(ctrl_call(&f, port, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
                                XEN_NETIF_CTRL_HASH_TYPE_IPV4, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(ctrl_call(&f, port, 999, 0, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    /* An IPv4 frame now carries its hash. */
    rx_post(&f, 0, 4);
    make_udp(frame, 300, 8);
    ck_assert_int_eq(send(f.pfd, frame, 300, 0), 300);
    for (;;) {
        ck_assert(nf_wait(&f, rx_has, 5000));
        r = RING_GET_RESPONSE(&f.rx, f.rx.rsp_cons);
        if (r->status == 300)
            break;
        /* the kernel's own (IPv6) frames: skip them and their extras */
        f.rx.rsp_cons += (r->flags & NETRXF_extra_info) ? 2 : 1;
        rx_post(&f, 0, (r->flags & NETRXF_extra_info) ? 2 : 1);
    }
    ck_assert(r->flags & NETRXF_extra_info);
    ck_assert(nf_wait(&f, rx_has, 5000));
    x = (struct netif_extra_info *)RING_GET_RESPONSE(&f.rx, f.rx.rsp_cons + 1);
    ck_assert_uint_eq(x->type, XEN_NETIF_EXTRA_TYPE_HASH);
    ck_assert_uint_eq(x->u.hash.type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4);
    ck_assert_uint_eq(x->u.hash.algorithm,
                      XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
    nf_close(&f);
}
END_TEST

/* Multicast control: with request-multicast-control, a multicast frame
 * reaches the guest only once it asked for the address. */
START_TEST(t_mcast)
{
    static const char *const ex[] = {
        "feature-sg", "1", "request-multicast-control", "1", NULL
    };
    static const uint8_t group[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
    uint8_t frame[1500];
    struct nf f;
    netif_tx_request_t *r;
    struct netif_extra_info *x;
    unsigned int k;

    vif_add(37, NULL);
    be_write(37, "hotplug-status", "connected");
    nf_connect(&f, 37, ex);
    nf_connected(&f);
    rx_post(&f, 0, 16);
    make_udp(frame, 200, 9);
    memcpy(frame, group, 6);
    ck_assert_int_eq(send(f.pfd, frame, 200, 0), 200);
    /* Not joined: a unicast frame sent after it is the first to come. */
    make_udp(frame + 0, 250, 10);
    ck_assert_int_eq(send(f.pfd, frame, 250, 0), 250);
    for (k = 0;; k++) {
        int16_t st;

        ck_assert(nf_wait(&f, rx_has, 5000));
        st = RING_GET_RESPONSE(&f.rx, f.rx.rsp_cons)->status;
        f.rx.rsp_cons++;
        ck_assert_int_ne(st, 200);
        if (st == 250)
            break;
    }
    /* Join: a request whose extra-info asks for the address. */
    r = tx_slot(&f);
    r->gref = f.refs[60], r->size = 0, r->flags = NETTXF_extra_info;
    x = (struct netif_extra_info *)tx_slot(&f);
    x->type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
    memcpy(x->u.mcast.addr, group, 6);
    tx_push(&f);
    ck_assert(nf_wait(&f, tx_answered, 5000));
    ck_assert_int_eq(tx_status(&f, 0), NETIF_RSP_OKAY);
    ck_assert_int_eq(tx_status(&f, 1), NETIF_RSP_NULL);
    tx_consume(&f);
    make_udp(frame, 200, 9);
    memcpy(frame, group, 6);
    ck_assert_int_eq(send(f.pfd, frame, 200, 0), 200);
    for (;;) {
        int16_t st;

        ck_assert(nf_wait(&f, rx_has, 5000));
        st = RING_GET_RESPONSE(&f.rx, f.rx.rsp_cons)->status;
        f.rx.rsp_cons++;
        if (st == 200)
            break;
    }
    nf_close(&f);
}
END_TEST

static const char *const mcast_keys[] = {
    "feature-sg", "1", "request-multicast-control", "1", NULL
};
static const uint8_t group[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };

/* Asks for the multicast address (a request with an MCAST_ADD extra). */
static void mcast_join(struct nf *f, const uint8_t *addr)
{
    netif_tx_request_t *r = tx_slot(f);
    struct netif_extra_info *x;

    r->gref = f->refs[60], r->size = 0, r->flags = NETTXF_extra_info;
    x = (struct netif_extra_info *)tx_slot(f);
    x->type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
    memcpy(x->u.mcast.addr, addr, 6);
    tx_push(f);
    ck_assert(nf_wait(f, tx_answered, 5000));
    ck_assert_int_eq(tx_status(f, 0), NETIF_RSP_OKAY);
    ck_assert_int_eq(tx_status(f, 1), NETIF_RSP_NULL);
    tx_consume(f);
}

/* A frame of len bytes to addr, sent on the TAP, reaches the guest. */
static void expect_mcast(struct nf *f, const uint8_t *addr, size_t len)
{
    uint8_t frame[1500];

    rx_post(f, 0, 16);
    make_udp(frame, len, 11);
    memcpy(frame, addr, 6);
    ck_assert_int_eq(send(f->pfd, frame, len, 0), (ssize_t)len);
    for (;;) {
        int16_t st;

        ck_assert(nf_wait(f, rx_has, 5000));
        st = RING_GET_RESPONSE(&f->rx, f->rx.rsp_cons)->status;
        f->rx.rsp_cons++;
        if (st == (int16_t)len)
            break;
    }
}

/* A supervised iovm-netback for vif devid, with the journal memfd jfd
 * (as iovmd runs it). */
static int poke_fd = -1;

/* What iovmd does when something of the device changed in xenstore. */
static void poke(void)
{
    uint64_t one = 1;

    ck_assert_int_eq(write(poke_fd, &one, sizeof(one)), sizeof(one));
}

static pid_t supervised_start(uint32_t devid, int jfd)
{
    char cmd[2048], bin[512], be[160];
    const char *b = getenv("IOVM_TEST_BUILDDIR");
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/backend/net/iovm-netback", b ? b : ".");
    snprintf(be, sizeof(be), "/local/domain/%u/backend/vif/%u/%u", dd, fe,
             devid);
    snprintf(cmd, sizeof(cmd),
             "exec \"%s\" --dir \"%s\" exec %u -- %s --supervised --device "
             "%s --journal-fd 5 --poke-fd 6 --hotplug --log-level debug "
             ">>%s 2>&1",
             getenv("IOVM_SIM") ? getenv("IOVM_SIM") : "iovm-sim",
             simtest_start(), dd, bin, be, logpath);
    pid = fork();
    if (!pid) {
        /* Out of the way first: either may be 5 or 6 already. */
        int j = fcntl(jfd, F_DUPFD, 100), k = fcntl(poke_fd, F_DUPFD, 100);

        dup2(j, 5);
        dup2(k, 6);
        closefrom(7);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    ck_assert_int_gt(pid, 0);
    return pid;
}

/*
 * kill -9 with packets in flight, 30 times: each successor takes the
 * rings over from the journal; every TX slot is answered exactly once,
 * the vif never leaves Connected, and it carries traffic after each.
 */
START_TEST(t_takeover)
{
    uint8_t frame[1500];
    struct nf f;
    unsigned int round, i;
    int jfd = memfd_create("journal", 0), status;
    pid_t pid;
    unsigned int seed = 12345;

    ck_assert_int_ge(jfd, 0);
    poke_fd = eventfd(0, EFD_CLOEXEC);
    ck_assert_int_ge(poke_fd, 0);
    vif_add(40, NULL);
    be_write(40, "hotplug-status", "connected");
    pid = supervised_start(40, jfd);
    nf_connect(&f, 40, mcast_keys);
    poke();
    nf_connected(&f);
    round_trip(&f, 40);
    mcast_join(&f, group);
    make_udp(frame, 1200, 41);
    for (round = 0; round < 30; round++) {
        struct timespec ts;

        /* A burst of TX packets, then the kill somewhere in it. */
        for (i = 0; i < 60; i++) {
            netif_tx_request_t *r = tx_slot(&f);

            memcpy(f.pages + (size_t)i * PAGE, frame, 1200);
            r->gref = f.refs[i], r->size = 1200, r->id = (uint16_t)i;
        }
        tx_push(&f);
        seed = seed * 1103515245u + 12345u;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(seed >> 8) % 3000000;
        nanosleep(&ts, NULL); /* a random moment, not synchronisation */
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ck_assert(be_is(40, "state", "4"));
        pid = supervised_start(40, jfd);
        ck_assert_msg(nf_wait(&f, tx_answered, 10000),
                      "round %u: TX not all answered", round);
        for (i = 0; i < 60; i++)
            ck_assert_int_eq(tx_status(&f, i), NETIF_RSP_OKAY);
        tx_consume(&f);
        /* Served by the successor (the next kill is for it). */
        round_trip(&f, (uint8_t)round);
        ck_assert(be_is(40, "state", "4"));
        {
            char p[200], err[256];

            be_path(40, "error", p, sizeof(p));
            ck_assert_msg(simblk_read(p, err, sizeof(err)) == -ENOENT,
                          "error: %s", err);
        }
    }
    round_trip(&f, 42);
    /* The multicast list outlived every process. */
    expect_mcast(&f, group, 300);
    /* Taken offline (as libxl): the TAP goes with the vif. */
    be_write(40, "online", "0");
    be_write(40, "state", "5");
    nf_write(&f, "state", "6");
    poke();
    ck_assert_int_eq(be_wait(40, "state", "6"), 0);
    ck_assert_uint_eq(if_nametoindex(f.ifname), 0);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    nf_close(&f);
    close(jfd);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("netback");
    TCase *tc = tcase_create("sim");

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_handshake);
    tcase_add_test(tc, t_tx_rx);
    tcase_add_test(tc, t_reject_drop);
    tcase_add_test(tc, t_bad_grant);
    tcase_add_test(tc, t_reject_fatal);
    tcase_add_test(tc, t_no_rx_copy);
    tcase_add_test(tc, t_bad_keys);
    tcase_add_test(tc, t_rx_stop);
    tcase_add_test(tc, t_notify_flood);
    tcase_add_test(tc, t_rate);
    tcase_add_test(tc, t_rate_live);
    tcase_add_test(tc, t_ctrl_hash);
    tcase_add_test(tc, t_mcast);
    suite_add_tcase(s, tc);
    tc = tcase_create("supervised");
    tcase_add_unchecked_fixture(tc, setup_supervised, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_takeover);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return simtest_run(net_suite());
}
