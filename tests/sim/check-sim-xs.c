/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated xenstored through Debian's libxenstore, one handle per
 * simulated domain: cross-domain permissions, watch delivery and
 * filtering, transaction conflicts, special watches, domain destruction
 * (nodes the domain owned go, @releaseDomain fires, a reused domid
 * inherits nothing), node and watch quotas, the layout the toolstack
 * writes for a new domain, domain messages and permissions naming
 * domains that do not run, and UNWATCH of unknown watches.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/xs_wire.h>

#include "simtest.h"

static struct xs_handle *xs_as(uint32_t domid)
{
    struct xs_handle *h;

    simtest_enter(domid);
    h = xs_open(0);
    ck_assert_msg(h, "xs_open: %s", strerror(errno));
    return h;
}

/* Next watch event within ms (NULL on timeout); caller frees. */
static char **next_event(struct xs_handle *h, int ms)
{
    struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
    char **ev = xs_check_watch(h);

    if (ev)
        return ev;
    if (poll(&p, 1, ms) <= 0)
        return NULL;
    return xs_check_watch(h);
}

static void expect_event(struct xs_handle *h, const char *path,
                         const char *token)
{
    char **ev = next_event(h, 5000);

    ck_assert_msg(ev, "no event for %s", path);
    ck_assert_str_eq(ev[XS_WATCH_PATH], path);
    ck_assert_str_eq(ev[XS_WATCH_TOKEN], token);
    free(ev);
}

static void expect_no_event(struct xs_handle *h)
{
    char **ev;

    /* A sync round trip first: anything queued has arrived by then. */
    free(xs_read(h, XBT_NULL, "/", NULL));
    ev = next_event(h, 0);
    ck_assert_msg(!ev, "unexpected event %s", ev ? ev[0] : "");
}

START_TEST(domain_layout_and_perms)
{
    uint32_t g = simtest_domain("g"), d = simtest_domain("d");
    struct xs_handle *x0 = xs_as(0), *xg = xs_as(g);
    struct xs_permissions *perms;
    unsigned int n, len;
    char path[128], *v;

    /* What libxl writes: own name, domid, rw data/, ro name. */
    v = xs_read(xg, XBT_NULL, "domid", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(strtoul(v, NULL, 10), g);
    free(v);
    snprintf(path, sizeof(path), "/local/domain/%u", g);
    perms = xs_get_permissions(x0, XBT_NULL, path, &n);
    ck_assert_ptr_nonnull(perms);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(perms[0].id, 0);
    ck_assert_uint_eq(perms[0].perms, XS_PERM_NONE);
    ck_assert_uint_eq(perms[1].id, g);
    ck_assert_uint_eq(perms[1].perms, XS_PERM_READ);
    free(perms);
    ck_assert(!xs_write(xg, XBT_NULL, "name", "x", 1));
    ck_assert_int_eq(errno, EACCES);
    ck_assert(xs_write(xg, XBT_NULL, "data/k", "v", 1));
    /* Another guest sees none of it. */
    xs_close(xg);
    xg = xs_as(d);
    snprintf(path, sizeof(path), "/local/domain/%u/data/k", g);
    ck_assert_ptr_null(xs_read(xg, XBT_NULL, path, &len));
    ck_assert_int_eq(errno, EACCES);
    ck_assert(!xs_write(xg, XBT_NULL, path, "evil", 4));
    ck_assert_int_eq(errno, EACCES);
    snprintf(path, sizeof(path), "/local/domain/%u/data", g);
    ck_assert_ptr_null(xs_directory(xg, XBT_NULL, path, &n));
    ck_assert(!xs_rm(xg, XBT_NULL, path));
    /* Nor dom0's private nodes. */
    ck_assert_ptr_null(xs_read(xg, XBT_NULL, "/local/domain/0/name", &len));
    ck_assert_int_eq(errno, EACCES);
    xs_close(xg);
    xs_close(x0);
}
END_TEST

START_TEST(watch_delivery_and_filtering)
{
    uint32_t g = simtest_domain("g"), d = simtest_domain("d");
    struct xs_handle *x0 = xs_as(0), *xg = xs_as(g), *xd = xs_as(d);
    char gdata[128], path[160];

    snprintf(gdata, sizeof(gdata), "/local/domain/%u/data", g);
    ck_assert(xs_watch(xg, "data", "tok"));
    expect_event(xg, "data", "tok"); /* the initial event */
    snprintf(path, sizeof(path), "%s/a/b", gdata);
    ck_assert(xs_write(x0, XBT_NULL, path, "1", 1));
    expect_event(xg, "data/a/b", "tok"); /* relative watch, relative path */
    expect_no_event(xg);
    /* A watch on a node the watcher may not read: registered, but no
     * event ever carries the other domain's node to it. */
    ck_assert(xs_watch(xd, gdata, "spy"));
    expect_event(xd, gdata, "spy");
    ck_assert(xs_write(x0, XBT_NULL, path, "2", 1));
    expect_event(xg, "data/a/b", "tok");
    expect_no_event(xd);
    /* Removing a subtree: exact events for watched descendants. */
    ck_assert(xs_watch(x0, path, "leaf"));
    expect_event(x0, path, "leaf");
    snprintf(path, sizeof(path), "%s/a", gdata);
    ck_assert(xs_rm(x0, XBT_NULL, path));
    snprintf(path, sizeof(path), "%s/a/b", gdata);
    expect_event(x0, path, "leaf");
    expect_event(xg, "data/a", "tok");
    ck_assert(xs_unwatch(xg, "data", "tok"));
    ck_assert(xs_write(x0, XBT_NULL, gdata, "3", 1));
    expect_no_event(xg);
    xs_close(xd);
    xs_close(xg);
    xs_close(x0);
}
END_TEST

START_TEST(transaction_conflict_eagain)
{
    struct xs_handle *x1 = xs_as(0), *x2 = xs_as(0);
    xs_transaction_t t;
    unsigned int len;
    char *v;

    ck_assert(xs_write(x1, XBT_NULL, "/t-conflict/a", "0", 1));
    t = xs_transaction_start(x1);
    ck_assert(t);
    v = xs_read(x1, t, "/t-conflict/a", &len);
    ck_assert_str_eq(v, "0");
    free(v);
    ck_assert(xs_write(x1, t, "/t-conflict/b", "from-txn", 8));
    /* Invisible outside until commit. */
    ck_assert_ptr_null(xs_read(x2, XBT_NULL, "/t-conflict/b", &len));
    ck_assert(xs_write(x2, XBT_NULL, "/t-conflict/a", "1", 1));
    ck_assert(!xs_transaction_end(x1, t, false));
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_ptr_null(xs_read(x2, XBT_NULL, "/t-conflict/b", &len));
    /* Retried without interference it commits. */
    t = xs_transaction_start(x1);
    free(xs_read(x1, t, "/t-conflict/a", &len));
    ck_assert(xs_write(x1, t, "/t-conflict/b", "from-txn", 8));
    ck_assert(xs_transaction_end(x1, t, false));
    v = xs_read(x2, XBT_NULL, "/t-conflict/b", &len);
    ck_assert_str_eq(v, "from-txn");
    free(v);
    xs_close(x2);
    xs_close(x1);
}
END_TEST

START_TEST(release_domain_and_cleanup)
{
    uint32_t g = simtest_domain("g"), d = simtest_domain("d");
    struct xs_handle *x0 = xs_as(0), *xd = xs_as(d);
    struct xs_permissions owned = { g, XS_PERM_NONE };
    struct xs_permissions shared[2] = { { 0, XS_PERM_NONE },
                                        { g, XS_PERM_READ } };
    char path[128], out[64];
    unsigned int len, n;
    struct xs_permissions *p;

    ck_assert(xs_watch(x0, "@releaseDomain", "rel"));
    expect_event(x0, "@releaseDomain", "rel");
    ck_assert(xs_watch(xd, "@releaseDomain", "rel"));
    expect_event(xd, "@releaseDomain", "rel");
    /* A node the guest owns outside its home, and one it may read. */
    snprintf(path, sizeof(path), "/t-owned-%u", g);
    ck_assert(xs_write(x0, XBT_NULL, path, "", 0));
    ck_assert(xs_set_permissions(x0, XBT_NULL, path, &owned, 1));
    snprintf(path, sizeof(path), "/t-shared-%u", g);
    ck_assert(xs_write(x0, XBT_NULL, path, "", 0));
    ck_assert(xs_set_permissions(x0, XBT_NULL, path, shared, 2));

    snprintf(out, sizeof(out), "%u", g);
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl destroy %u", g), 0);
    expect_event(x0, "@releaseDomain", "rel");
    /* Unprivileged domains get no special events unless granted. */
    expect_no_event(xd);
    snprintf(path, sizeof(path), "/t-owned-%u", g);
    ck_assert_ptr_null(xs_read(x0, XBT_NULL, path, &len));
    ck_assert_int_eq(errno, ENOENT);
    /* The dead domain's access entries are gone (XSA-322). */
    snprintf(path, sizeof(path), "/t-shared-%u", g);
    p = xs_get_permissions(x0, XBT_NULL, path, &n);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(n, 1);
    free(p);
    xs_close(xd);
    xs_close(x0);
}
END_TEST

START_TEST(domid_reuse_inherits_nothing)
{
    uint32_t g = simtest_domain("g");
    struct xs_handle *x0 = xs_as(0), *xg;
    struct xs_permissions perms[2] = { { 0, XS_PERM_NONE },
                                       { g, XS_PERM_READ } };
    char out[64], path[64];
    unsigned int len;

    snprintf(path, sizeof(path), "/t-reuse-%u", g);
    ck_assert(xs_write(x0, XBT_NULL, path, "secret", 6));
    ck_assert(xs_set_permissions(x0, XBT_NULL, path, perms, 2));
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl destroy %u", g), 0);
    ck_assert_int_eq(simtest_sim(out, sizeof(out),
                                 "domain create t%d-reuse --domid %u",
                                 (int)getpid(), g),
                     0);
    ck_assert_uint_eq(strtoul(out, NULL, 10), g);
    xg = xs_as(g);
    ck_assert_ptr_null(xs_read(xg, XBT_NULL, path, &len));
    ck_assert_int_eq(errno, EACCES);
    xs_close(xg);
    xs_close(x0);
}
END_TEST

/*
 * Domains the hypervisor does not run, from dom0: an owner in SET_PERMS,
 * RELEASE, RESUME and SET_TARGET are all ENOENT, as xenstored says.  And a
 * guest's UNWATCH of a watch it never set is acknowledged, as Linux's
 * xenbus device does; dom0's, on xenstored's socket, is ENOENT.
 */
START_TEST(unknown_domains_and_watches)
{
    uint32_t g = simtest_domain("g");
    struct xs_handle *x0 = xs_as(0), *xg = xs_as(g);
    struct xs_permissions ghost = { 7777, XS_PERM_NONE };
    char path[64];

    snprintf(path, sizeof(path), "/t-ghost-%u", g);
    ck_assert(xs_write(x0, XBT_NULL, path, "", 0));
    ck_assert(!xs_set_permissions(x0, XBT_NULL, path, &ghost, 1));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert(!xs_release_domain(x0, 7777));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert(!xs_resume_domain(x0, 7777));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert(!xs_set_target(x0, 7777, g));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert(!xs_set_target(x0, g, 7777));
    ck_assert_int_eq(errno, ENOENT);
    /* A running, introduced domain is fine. */
    ck_assert(xs_resume_domain(x0, g));
    ghost.id = g;
    ck_assert(xs_set_permissions(x0, XBT_NULL, path, &ghost, 1));

    ck_assert(xs_unwatch(xg, "data", "never"));
    ck_assert(!xs_unwatch(x0, "/local", "never"));
    ck_assert_int_eq(errno, ENOENT);
    xs_close(xg);
    xs_close(x0);
}
END_TEST

START_TEST(node_and_watch_quotas)
{
    uint32_t g = simtest_domain("g");
    struct xs_handle *xg = xs_as(g);
    char path[64], big[3000];
    unsigned int i;
    bool ok = true;

    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl xs-quota nodes 40"), 0);
    for (i = 0; i < 60 && ok; i++) {
        snprintf(path, sizeof(path), "data/q%u", i);
        ok = xs_write(xg, XBT_NULL, path, "x", 1);
    }
    ck_assert(!ok);
    ck_assert_int_eq(errno, ENOSPC);
    ck_assert_uint_lt(i, 60);
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl xs-quota nodes 1000"), 0);
    /* Oversized value. */
    memset(big, 'a', sizeof(big));
    ck_assert(!xs_write(xg, XBT_NULL, "data/big", big, sizeof(big)));
    ck_assert_int_eq(errno, ENOSPC);
    /* Watches: 128 per domain (xenstored allows one past its check). */
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl xs-quota watches 4"), 0);
    ok = true;
    for (i = 0; i < 10 && ok; i++) {
        char tok[16];

        snprintf(tok, sizeof(tok), "w%u", i);
        ok = xs_watch(xg, "data", tok);
    }
    ck_assert(!ok);
    ck_assert_int_eq(errno, E2BIG);
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl xs-quota watches 128"), 0);
    xs_close(xg);
}
END_TEST

static int raw_connect(uint32_t domid)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom%u/xenstore.sock",
             getenv("IOVM_SIM_DIR"), domid);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Reads one reply; returns its type, payload in buf. */
static uint32_t raw_reply(int fd, char *buf, size_t len)
{
    struct xsd_sockmsg h;

    ck_assert_int_eq(read(fd, &h, sizeof(h)), sizeof(h));
    ck_assert_uint_le(h.len, len);
    ck_assert_int_eq(read(fd, buf, h.len), (ssize_t)h.len);
    return h.type;
}

START_TEST(malformed_messages_do_not_kill_simd)
{
    uint32_t g = simtest_domain("g");
    struct xsd_sockmsg h = { XS_READ, 7, 0, 3 };
    char buf[4200];
    unsigned int i, len;
    struct xs_handle *x;
    int fd;

    fd = raw_connect(g);
    /* READ without a terminating NUL. */
    ck_assert_int_eq(write(fd, &h, sizeof(h)), sizeof(h));
    ck_assert_int_eq(write(fd, "abc", 3), 3);
    ck_assert_uint_eq(raw_reply(fd, buf, sizeof(buf)), XS_ERROR);
    ck_assert_str_eq(buf, "EINVAL");
    /* Unknown type, and a type that is not a request. */
    h.type = 999;
    h.len = 0;
    ck_assert_int_eq(write(fd, &h, sizeof(h)), sizeof(h));
    ck_assert_uint_eq(raw_reply(fd, buf, sizeof(buf)), XS_ERROR);
    h.type = XS_WATCH_EVENT;
    ck_assert_int_eq(write(fd, &h, sizeof(h)), sizeof(h));
    ck_assert_uint_eq(raw_reply(fd, buf, sizeof(buf)), XS_ERROR);
    /* Bad permission strings. */
    h.type = XS_SET_PERMS;
    memcpy(buf, "data\0q9\0", 8);
    h.len = 8;
    ck_assert_int_eq(write(fd, &h, sizeof(h)), sizeof(h));
    ck_assert_int_eq(write(fd, buf, 8), 8);
    ck_assert_uint_eq(raw_reply(fd, buf, sizeof(buf)), XS_ERROR);
    ck_assert_str_eq(buf, "EINVAL");
    /* An oversize payload ends the connection, nothing else. */
    h.type = XS_WRITE;
    h.len = 5000;
    ck_assert_int_eq(write(fd, &h, sizeof(h)), sizeof(h));
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    /* Random garbage on a fresh connection. */
    fd = raw_connect(g);
    srand(1);
    for (i = 0; i < sizeof(buf); i++)
        buf[i] = (char)rand();
    if (write(fd, buf, sizeof(buf)) < 0) {
        /* the server may have hung up already */
    }
    close(fd);
    /* The daemon still serves everybody. */
    x = xs_as(g);
    free(xs_read(x, XBT_NULL, "domid", &len));
    ck_assert(xs_write(x, XBT_NULL, "data/alive", "1", 1));
    xs_close(x);
}
END_TEST

static void setup(void)
{
    simtest_start();
}

static void teardown(void)
{
    simtest_stop();
}

int main(void)
{
    Suite *s = suite_create("sim-xs");
    TCase *tc = tcase_create("libxenstore");

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_checked_fixture(tc, simtest_cloexec_all, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, domain_layout_and_perms);
    tcase_add_test(tc, watch_delivery_and_filtering);
    tcase_add_test(tc, transaction_conflict_eagain);
    tcase_add_test(tc, release_domain_and_cleanup);
    tcase_add_test(tc, domid_reuse_inherits_nothing);
    tcase_add_test(tc, unknown_domains_and_watches);
    tcase_add_test(tc, node_and_watch_quotas);
    tcase_add_test(tc, malformed_messages_do_not_kill_simd);
    suite_add_tcase(s, tc);
    return simtest_run(s);
}
