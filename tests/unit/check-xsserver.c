/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for sim/simd/xs-server.c, the simulated xenstored's wire
 * protocol engine, driven with real xs_wire.h messages and checked byte
 * for byte against what Xen 4.17's C xenstored answers:
 *  - framing: messages split across input calls, several per call,
 *    oversize headers, req_id/tx_id echo;
 *  - READ/WRITE/MKDIR/RM/DIRECTORY/DIRECTORY_PART/GET_PERMS/SET_PERMS
 *    replies and errors, relative paths, malformed payloads;
 *  - watches: the initial event, matching, relative paths, permission
 *    filtering, special watches, limits, duplicate suppression;
 *  - transactions per connection and their limits;
 *  - domain messages and privilege checks;
 *  - flow control: outstanding replies and dropped events.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/xs_wire.h>

#include "xs-server.h"
#include "xs-store.h"

#define HDR sizeof(struct xsd_sockmsg)

/* The hypervisor side, as seen through xs_server_ops. */
struct hv {
    uint32_t introduced[8], released[8];
    unsigned int nintro, nrel, outputs;
};

struct msg {
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1];
};

static struct xs_server *srv;
static struct xs_store *st;
static struct xs_client *c0, *c5; /* dom0 (privileged), a guest */
static struct hv hv;
static uint32_t rid; /* req_id of the last request sent */
static int tag0, tag5;

static const struct xs_caller tool = { 0, true };

static int hv_introduce(void *arg, uint32_t domid)
{
    struct hv *h = arg;

    if (domid == 666)
        return EEXIST;
    if (h->nintro < 8)
        h->introduced[h->nintro] = domid;
    h->nintro++;
    return 0;
}

static int hv_release(void *arg, uint32_t domid)
{
    struct hv *h = arg;

    if (domid == 666)
        return ENOENT;
    if (h->nrel < 8)
        h->released[h->nrel] = domid;
    h->nrel++;
    return 0;
}

/* Domain 5 from the start; others from INTRODUCE until RELEASE. */
static bool hv_is_introduced(void *arg, uint32_t domid)
{
    struct hv *h = arg;
    bool in = domid == 5;
    unsigned int i;

    for (i = 0; i < h->nintro && i < 8; i++)
        in = in || h->introduced[i] == domid;
    for (i = 0; i < h->nrel && i < 8; i++)
        in = in && h->released[i] != domid;
    return in;
}

/* The hypervisor runs domains 0-99, but never 666. */
static bool hv_exists(void *arg, uint32_t domid)
{
    return domid < 100;
}

static void hv_output(void *arg, struct xs_client *cl)
{
    ((struct hv *)arg)->outputs++;
}

static const struct xs_server_ops hv_ops = {
    .introduce = hv_introduce,
    .release = hv_release,
    .is_introduced = hv_is_introduced,
    .exists = hv_exists,
    .output = hv_output,
};

/* A node written by the toolstack straight into the store. */
static void put(const char *path, const char *val, const char *perm)
{
    struct xs_perm p;

    ck_assert_int_eq(xs_store_write(st, &tool, NULL, path, val,
                                    (uint32_t)strlen(val)),
                     0);
    if (perm) {
        ck_assert_int_eq(xs_perm_parse(perm, &p), 0);
        ck_assert_int_eq(xs_store_set_perms(st, &tool, NULL, path, &p, 1),
                         0);
    }
}

static void setup(void)
{
    memset(&hv, 0, sizeof(hv));
    rid = 0x10000;
    ck_assert_int_eq(xs_server_new(&srv, &hv_ops, &hv), 0);
    st = xs_server_store(srv);
    put("/local/domain/0", "", NULL);
    put("/local/domain/5", "", "n5");
    c0 = xs_client_new(srv, 0, true, &tag0);
    c5 = xs_client_new(srv, 5, false, &tag5);
    ck_assert_ptr_nonnull(c0);
    ck_assert_ptr_nonnull(c5);
}

static void teardown(void)
{
    xs_server_free(srv);
    srv = NULL;
}

/* header + payload into buf; returns the length. */
static size_t build(char *buf, uint32_t type, uint32_t req_id,
                    uint32_t tx_id, const void *p, size_t len)
{
    struct xsd_sockmsg h = { type, req_id, tx_id, (uint32_t)len };

    memcpy(buf, &h, HDR);
    if (len)
        memcpy(buf + HDR, p, len);
    return HDR + len;
}

static void req(struct xs_client *cl, uint32_t type, uint32_t tx_id,
                const void *p, size_t len)
{
    static char buf[HDR + XENSTORE_PAYLOAD_MAX];

    ck_assert_uint_le(len, XENSTORE_PAYLOAD_MAX);
    rid += 0x101;
    ck_assert_int_eq(
        xs_client_input(cl, buf, build(buf, type, rid, tx_id, p, len)), 0);
}

/* lit: a literal with embedded NULs, sent without its final NUL. */
#define REQ(cl, type, tx, lit) req(cl, type, tx, lit, sizeof(lit) - 1)

static size_t pending(struct xs_client *cl)
{
    const void *b;

    return xs_client_output(cl, &b);
}

/* Takes the next queued message, if any. */
static bool pop(struct xs_client *cl, struct msg *m)
{
    const void *b;
    size_t n = xs_client_output(cl, &b);

    if (!n)
        return false;
    ck_assert_uint_ge(n, HDR);
    memcpy(&m->h, b, HDR);
    ck_assert_uint_le(m->h.len, XENSTORE_PAYLOAD_MAX);
    ck_assert_uint_ge(n, HDR + m->h.len);
    memcpy(m->body, (const char *)b + HDR, m->h.len);
    m->body[m->h.len] = '\0';
    xs_client_consume(cl, HDR + m->h.len);
    return true;
}

static void expect(int line, struct xs_client *cl, uint32_t type,
                   uint32_t req_id, uint32_t tx_id, const void *p, size_t len)
{
    struct msg m;

    ck_assert_msg(pop(cl, &m), "line %d: no message", line);
    ck_assert_msg(m.h.type == type, "line %d: type %u, want %u ('%s')", line,
                  m.h.type, type, m.body);
    ck_assert_msg(m.h.req_id == req_id, "line %d: req_id %#x, want %#x",
                  line, m.h.req_id, req_id);
    ck_assert_msg(m.h.tx_id == tx_id, "line %d: tx_id %u, want %u", line,
                  m.h.tx_id, tx_id);
    ck_assert_msg(m.h.len == len && !memcmp(m.body, p, len),
                  "line %d: payload '%s' (%u bytes), want '%s' (%zu)", line,
                  m.body, m.h.len, (const char *)p, len);
}

/* The reply to the last request. */
#define CK_REPLY(cl, type, tx, lit)                                       \
    expect(__LINE__, cl, type, rid, tx, lit, sizeof(lit) - 1)
#define CK_OK(cl, type) CK_REPLY(cl, type, 0, "OK\0")
#define CK_ERR(cl, lit) CK_REPLY(cl, XS_ERROR, 0, lit "\0")
#define CK_EVENT(cl, lit)                                                 \
    expect(__LINE__, cl, XS_WATCH_EVENT, 0, 0, lit, sizeof(lit) - 1)
#define CK_NONE(cl)                                                       \
    ck_assert_msg(pending(cl) == 0, "line %d: unexpected output",         \
                  __LINE__)

/* Registers a watch and swallows the ack and the initial event. */
static void watch(struct xs_client *cl, const char *path, const char *tok)
{
    char p[512];
    size_t len = (size_t)snprintf(p, sizeof(p), "%s%c%s", path, 0, tok) + 1;
    struct msg m;

    req(cl, XS_WATCH, 0, p, len);
    ck_assert(pop(cl, &m));
    ck_assert_msg(m.h.type == XS_WATCH, "watch %s: '%s'", path, m.body);
    ck_assert(pop(cl, &m));
    ck_assert_uint_eq(m.h.type, XS_WATCH_EVENT);
}

/* Starts a transaction; returns its id. */
static uint32_t txn_start(struct xs_client *cl)
{
    struct msg m;
    unsigned long id;

    REQ(cl, XS_TRANSACTION_START, 0, "\0");
    ck_assert(pop(cl, &m));
    ck_assert_uint_eq(m.h.type, XS_TRANSACTION_START);
    ck_assert_uint_eq(m.h.req_id, rid);
    ck_assert_uint_eq(strlen(m.body) + 1, m.h.len);
    id = strtoul(m.body, NULL, 10);
    ck_assert_uint_ne(id, 0);
    return (uint32_t)id;
}

/* ---------------------------------------------------------------- */
/* framing */

START_TEST(framing_byte_by_byte)
{
    char buf[256];
    size_t len, i;

    len = build(buf, XS_WRITE, 77, 0, "/f\0" "value", 8);
    len += build(buf + len, XS_READ, 78, 0, "/f", 3);
    for (i = 0; i < len; i++) {
        ck_assert_int_eq(xs_client_input(c0, buf + i, 1), 0);
        /* The write is answered as soon as its last byte arrives. */
        ck_assert_uint_eq(pending(c0) != 0, i >= HDR + 8 - 1);
    }
    expect(__LINE__, c0, XS_WRITE, 77, 0, "OK", 3);
    expect(__LINE__, c0, XS_READ, 78, 0, "value", 5);
    CK_NONE(c0);
}
END_TEST

START_TEST(framing_uneven_chunks)
{
    char buf[512];
    size_t len = 0, off = 0, step = 1;

    len += build(buf + len, XS_WRITE, 1, 0, "/a\0" "x", 4);
    len += build(buf + len, XS_MKDIR, 2, 0, "/b", 3);
    len += build(buf + len, XS_DIRECTORY, 3, 0, "/", 2);
    len += build(buf + len, XS_READ, 4, 0, "/nope", 6);
    /* Chunks of 1, 2, 3, ... bytes straddle headers and payloads. */
    while (off < len) {
        size_t n = step < len - off ? step : len - off;

        ck_assert_int_eq(xs_client_input(c0, buf + off, n), 0);
        off += n;
        step++;
    }
    expect(__LINE__, c0, XS_WRITE, 1, 0, "OK", 3);
    expect(__LINE__, c0, XS_MKDIR, 2, 0, "OK", 3);
    expect(__LINE__, c0, XS_DIRECTORY, 3, 0, "tool\0local\0a\0b", 15);
    expect(__LINE__, c0, XS_ERROR, 4, 0, "ENOENT", 7);
    CK_NONE(c0);
}
END_TEST

START_TEST(framing_many_in_one_call)
{
    char buf[512];
    size_t len = 0;

    len += build(buf + len, XS_WRITE, 10, 0, "/m\0" "1", 4);
    len += build(buf + len, XS_WRITE, 11, 0, "/m\0" "22", 5);
    len += build(buf + len, XS_READ, 12, 0, "/m", 3);
    len += build(buf + len, XS_RM, 13, 0, "/m", 3);
    len += build(buf + len, XS_READ, 14, 0, "/m", 3);
    /* ... and the first half of another one. */
    len += build(buf + len, XS_READ, 15, 0, "/tool", 6);
    ck_assert_int_eq(xs_client_input(c0, buf, len - 4), 0);
    expect(__LINE__, c0, XS_WRITE, 10, 0, "OK", 3);
    expect(__LINE__, c0, XS_WRITE, 11, 0, "OK", 3);
    expect(__LINE__, c0, XS_READ, 12, 0, "22", 2);
    expect(__LINE__, c0, XS_RM, 13, 0, "OK", 3);
    expect(__LINE__, c0, XS_ERROR, 14, 0, "ENOENT", 7);
    CK_NONE(c0);
    ck_assert_int_eq(xs_client_input(c0, buf + len - 4, 4), 0);
    expect(__LINE__, c0, XS_READ, 15, 0, "", 0);
}
END_TEST

START_TEST(framing_oversize_payload)
{
    static char buf[HDR + XENSTORE_PAYLOAD_MAX], payload[XENSTORE_PAYLOAD_MAX];
    struct xsd_sockmsg h = { XS_WRITE, 1, 0, XENSTORE_PAYLOAD_MAX + 1 };
    size_t len;

    /* The largest payload is fine ... */
    memset(payload, 'v', sizeof(payload));
    memcpy(payload, "/big", 5);
    len = build(buf, XS_WRITE, 5, 0, payload, sizeof(payload));
    ck_assert_int_eq(xs_client_input(c0, buf, len), 0);
    expect(__LINE__, c0, XS_WRITE, 5, 0, "OK", 3);
    ck_assert_uint_eq(xs_store_lookup(st, "/big")->datalen,
                      XENSTORE_PAYLOAD_MAX - 5);

    /* ... one more byte cannot be framed: the client must go. */
    ck_assert_int_eq(xs_client_input(c5, &h, HDR), -EPROTO);
    h.len = UINT32_MAX;
    ck_assert_int_eq(xs_client_input(c0, &h, HDR), -EPROTO);
    CK_NONE(c5);
}
END_TEST

START_TEST(ids_echoed)
{
    char buf[64];
    uint32_t tx;

    ck_assert_int_eq(
        xs_client_input(c0, buf,
                        build(buf, XS_READ, 0xdeadbeef, 0, "/tool", 6)),
        0);
    expect(__LINE__, c0, XS_READ, 0xdeadbeef, 0, "", 0);
    ck_assert_int_eq(
        xs_client_input(c0, buf, build(buf, XS_READ, 0, 0, "/nope", 6)),
        0);
    expect(__LINE__, c0, XS_ERROR, 0, 0, "ENOENT", 7);

    /* Inside a transaction, replies and errors carry its id. */
    tx = txn_start(c0);
    REQ(c0, XS_WRITE, tx, "/t\0" "v");
    CK_REPLY(c0, XS_WRITE, tx, "OK\0");
    REQ(c0, XS_READ, tx, "/nope\0");
    CK_REPLY(c0, XS_ERROR, tx, "ENOENT\0");
    REQ(c0, XS_TRANSACTION_END, tx, "T\0");
    CK_REPLY(c0, XS_TRANSACTION_END, tx, "OK\0");
}
END_TEST

START_TEST(output_hook_and_partial_consume)
{
    const void *b;
    size_t n;
    struct msg m;

    ck_assert_ptr_eq(xs_client_arg(c0), &tag0);
    ck_assert_ptr_eq(xs_client_arg(c5), &tag5);
    ck_assert_uint_eq(xs_client_domid(c5), 5);
    REQ(c0, XS_READ, 0, "/tool\0");
    REQ(c0, XS_READ, 0, "/tool/xenstored\0");
    ck_assert_uint_eq(hv.outputs, 2);

    /* Written out a few bytes at a time. */
    n = xs_client_output(c0, &b);
    ck_assert_uint_eq(n, 2 * HDR);
    xs_client_consume(c0, 3);
    n = xs_client_output(c0, &b);
    ck_assert_uint_eq(n, 2 * HDR - 3);
    xs_client_consume(c0, HDR - 3);
    ck_assert(pop(c0, &m));
    ck_assert_uint_eq(m.h.type, XS_READ);
    ck_assert_uint_eq(m.h.req_id, rid);
    CK_NONE(c0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* node operations */

START_TEST(node_ops_byte_exact)
{
    REQ(c0, XS_WRITE, 0, "/a/b\0" "hello");
    CK_OK(c0, XS_WRITE);
    /* Data comes back as written: no NUL added. */
    REQ(c0, XS_READ, 0, "/a/b\0");
    CK_REPLY(c0, XS_READ, 0, "hello");
    REQ(c0, XS_READ, 0, "/a\0");
    CK_REPLY(c0, XS_READ, 0, "");
    /* Binary data, NULs included. */
    REQ(c0, XS_WRITE, 0, "/a/bin\0" "x\0y\0");
    CK_OK(c0, XS_WRITE);
    REQ(c0, XS_READ, 0, "/a/bin\0");
    CK_REPLY(c0, XS_READ, 0, "x\0y\0");
    REQ(c0, XS_WRITE, 0, "/a/empty\0");
    CK_OK(c0, XS_WRITE);
    REQ(c0, XS_READ, 0, "/a/empty\0");
    CK_REPLY(c0, XS_READ, 0, "");

    REQ(c0, XS_MKDIR, 0, "/a/c\0");
    CK_OK(c0, XS_MKDIR);
    REQ(c0, XS_MKDIR, 0, "/a/b\0");
    CK_OK(c0, XS_MKDIR);
    REQ(c0, XS_READ, 0, "/a/b\0");
    CK_REPLY(c0, XS_READ, 0, "hello");
    REQ(c0, XS_DIRECTORY, 0, "/a\0");
    CK_REPLY(c0, XS_DIRECTORY, 0, "b\0bin\0empty\0c\0");
    REQ(c0, XS_DIRECTORY, 0, "/a/c\0");
    CK_REPLY(c0, XS_DIRECTORY, 0, "");

    REQ(c0, XS_RM, 0, "/a/b\0");
    CK_OK(c0, XS_RM);
    REQ(c0, XS_RM, 0, "/a/b\0");
    CK_OK(c0, XS_RM);
    REQ(c0, XS_RM, 0, "/a/b/c\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_RM, 0, "/\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_READ, 0, "/a/b\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_DIRECTORY, 0, "/a/b\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_READ, 0, "/a//b\0");
    CK_ERR(c0, "EINVAL");

    /* The guest: its own home, nothing else. */
    REQ(c5, XS_READ, 0, "/a\0");
    CK_ERR(c5, "EACCES");
    REQ(c5, XS_WRITE, 0, "/a/x\0" "1");
    CK_ERR(c5, "EACCES");
    REQ(c5, XS_READ, 0, "/local/domain/5/nope\0");
    CK_ERR(c5, "ENOENT");
    REQ(c5, XS_RM, 0, "/a/c\0");
    CK_ERR(c5, "EACCES");
    CK_NONE(c0);
    CK_NONE(c5);
}
END_TEST

START_TEST(perms_byte_exact)
{
    REQ(c0, XS_GET_PERMS, 0, "/local/domain/5\0");
    CK_REPLY(c0, XS_GET_PERMS, 0, "n5\0");
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5\0n5\0r6\0b7\0w65535\0");
    CK_OK(c0, XS_SET_PERMS);
    REQ(c5, XS_GET_PERMS, 0, "/local/domain/5\0");
    CK_REPLY(c5, XS_GET_PERMS, 0, "n5\0r6\0b7\0w65535\0");

    /* Inherited by a new node, with the guest as owner. */
    REQ(c5, XS_WRITE, 0, "/local/domain/5/x\0" "1");
    CK_OK(c5, XS_WRITE);
    REQ(c5, XS_GET_PERMS, 0, "/local/domain/5/x\0");
    CK_REPLY(c5, XS_GET_PERMS, 0, "n5\0r6\0b7\0w65535\0");

    /* Unprivileged owners keep their nodes. */
    REQ(c5, XS_SET_PERMS, 0, "/local/domain/5/x\0n6\0");
    CK_ERR(c5, "EPERM");
    REQ(c5, XS_SET_PERMS, 0, "/local/domain/5/x\0b5\0");
    CK_OK(c5, XS_SET_PERMS);
    REQ(c5, XS_GET_PERMS, 0, "/local/domain/5/x\0");
    CK_REPLY(c5, XS_GET_PERMS, 0, "b5\0");
    REQ(c5, XS_SET_PERMS, 0, "/local/domain/5/x\0n5\0r1\0r2\0r3\0r4\0");
    CK_OK(c5, XS_SET_PERMS);
    REQ(c5, XS_SET_PERMS, 0, "/local/domain/5/x\0n5\0r1\0r2\0r3\0r4\0r6\0");
    CK_ERR(c5, "ENOSPC");
    REQ(c5, XS_SET_PERMS, 0, "/tool\0n5\0");
    CK_ERR(c5, "EACCES");

    /* Malformed permission lists. */
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5/x\0x5\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5/x\0r\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5/x\0r5x\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5/x\0n5\0q1\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5/x\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5/x");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_SET_PERMS, 0, "");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_GET_PERMS, 0, "/local/domain/5/x\0");
    CK_REPLY(c0, XS_GET_PERMS, 0, "n5\0r1\0r2\0r3\0r4\0");
    REQ(c0, XS_GET_PERMS, 0, "/local/domain/5/nope\0");
    CK_ERR(c0, "ENOENT");
}
END_TEST

START_TEST(relative_paths)
{
    REQ(c5, XS_WRITE, 0, "dev/x\0" "1");
    CK_OK(c5, XS_WRITE);
    ck_assert_ptr_nonnull(xs_store_lookup(st, "/local/domain/5/dev/x"));
    REQ(c5, XS_READ, 0, "dev/x\0");
    CK_REPLY(c5, XS_READ, 0, "1");
    REQ(c5, XS_READ, 0, "/local/domain/5/dev/x\0");
    CK_REPLY(c5, XS_READ, 0, "1");
    REQ(c5, XS_MKDIR, 0, "dev/y\0");
    CK_OK(c5, XS_MKDIR);
    REQ(c5, XS_DIRECTORY, 0, "dev\0");
    CK_REPLY(c5, XS_DIRECTORY, 0, "x\0y\0");
    REQ(c5, XS_GET_PERMS, 0, "dev\0");
    CK_REPLY(c5, XS_GET_PERMS, 0, "n5\0");
    REQ(c5, XS_SET_PERMS, 0, "dev/y\0n5\0r0\0");
    CK_OK(c5, XS_SET_PERMS);
    REQ(c5, XS_RM, 0, "dev/x\0");
    CK_OK(c5, XS_RM);
    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5/dev/x"));

    /* dom0's home is /local/domain/0. */
    REQ(c0, XS_WRITE, 0, "name\0Domain-0");
    CK_OK(c0, XS_WRITE);
    REQ(c0, XS_READ, 0, "/local/domain/0/name\0");
    CK_REPLY(c0, XS_READ, 0, "Domain-0");

    /* An empty relative path is the home with a trailing slash. */
    REQ(c5, XS_READ, 0, "\0");
    CK_ERR(c5, "EINVAL");
    REQ(c5, XS_WRITE, 0, "a b\0" "1");
    CK_ERR(c5, "EINVAL");
}
END_TEST

START_TEST(malformed_messages)
{
    static const uint32_t types[] = { XS_WATCH_EVENT, XS_ERROR,
                                      XS_SET_TARGET + 1, XS_TYPE_COUNT,
                                      XS_INVALID, 0x7fffffff };
    unsigned int i;

    /* One string, exactly one NUL, at the end. */
    REQ(c0, XS_READ, 0, "/tool");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_READ, 0, "/tool\0\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_READ, 0, "/tool\0x\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_READ, 0, "");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_DIRECTORY, 0, "/tool");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_MKDIR, 0, "/x\0y\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_RM, 0, "/tool");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_GET_PERMS, 0, "");
    CK_ERR(c0, "EINVAL");
    /* WRITE needs the path's NUL. */
    REQ(c0, XS_WRITE, 0, "/x");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_WRITE, 0, "");
    CK_ERR(c0, "EINVAL");
    ck_assert_ptr_null(xs_store_lookup(st, "/x"));

    /* Not requests, or unknown: xenstored says ENOSYS. */
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        req(c0, types[i], 0, "/tool", 6);
        expect(__LINE__, c0, XS_ERROR, rid, 0, "ENOSYS", 7);
        req(c5, types[i], 0, "", 0);
        expect(__LINE__, c5, XS_ERROR, rid, 0, "ENOSYS", 7);
    }

    /* The connection survives all of it. */
    REQ(c0, XS_READ, 0, "/tool\0");
    CK_REPLY(c0, XS_READ, 0, "");
}
END_TEST

/* A node with a child list of more than XENSTORE_PAYLOAD_MAX bytes. */
static size_t make_big_dir(char *list, size_t cap)
{
    size_t used = 0;
    unsigned int i;
    char path[64];

    for (i = 0; i < 300; i++) {
        int n = snprintf(path, sizeof(path), "/big/child-%03u-abcdefghij", i);

        ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, path), 0);
        ck_assert_uint_lt(used + n - 4, cap);
        memcpy(list + used, path + 5, n - 5 + 1);
        used += n - 5 + 1;
    }
    return used;
}

START_TEST(directory_part_chunks)
{
    char list[8192], all[8192], gen[32], p[64];
    size_t len = make_big_dir(list, sizeof(list)), got = 0;
    unsigned int chunks = 0;
    struct msg m;
    bool done = false;

    ck_assert_uint_gt(len, XENSTORE_PAYLOAD_MAX);
    snprintf(gen, sizeof(gen), "%llu",
             (unsigned long long)xs_store_lookup(st, "/big")->gen);

    /* Too big for one reply. */
    REQ(c0, XS_DIRECTORY, 0, "/big\0");
    CK_ERR(c0, "E2BIG");

    while (!done) {
        size_t plen = (size_t)snprintf(p, sizeof(p), "/big%c%zu", 0, got);
        size_t glen, n;

        req(c0, XS_DIRECTORY_PART, 0, p, plen + 1);
        ck_assert(pop(c0, &m));
        ck_assert_uint_eq(m.h.type, XS_DIRECTORY_PART);
        ck_assert_uint_eq(m.h.req_id, rid);
        /* The node's generation, then whole names. */
        ck_assert_str_eq(m.body, gen);
        glen = strlen(gen) + 1;
        ck_assert_uint_ge(m.h.len, glen + 1);
        n = m.h.len - glen;
        ck_assert_int_eq(m.body[m.h.len - 1], '\0');
        /* The last chunk ends with an empty string. */
        if (n >= 2 && m.body[m.h.len - 2] == '\0') {
            done = true;
            n--;
        }
        ck_assert_uint_le(got + n, sizeof(all));
        memcpy(all + got, m.body + glen, n);
        got += n;
        chunks++;
        ck_assert_uint_lt(chunks, 10);
    }
    ck_assert_uint_eq(chunks, 2);
    ck_assert_uint_eq(got, len);
    ck_assert_mem_eq(all, list, len);

    /* At or past the end: the generation and the empty string. */
    snprintf(p, sizeof(p), "/big%c%zu", 0, len);
    req(c0, XS_DIRECTORY_PART, 0, p, strlen("/big") + 1 + strlen(p + 5) + 1);
    ck_assert(pop(c0, &m));
    ck_assert_uint_eq(m.h.type, XS_DIRECTORY_PART);
    ck_assert_uint_eq(m.h.len, strlen(gen) + 2);
    ck_assert_str_eq(m.body, gen);
    ck_assert_int_eq(m.body[strlen(gen) + 1], '\0');
    REQ(c0, XS_DIRECTORY_PART, 0, "/big\0" "999999\0");
    ck_assert(pop(c0, &m));
    ck_assert_uint_eq(m.h.len, strlen(gen) + 2);

    /* A small directory fits in one go. */
    REQ(c0, XS_DIRECTORY_PART, 0, "/tool\0" "0\0");
    ck_assert(pop(c0, &m));
    ck_assert_uint_eq(m.h.type, XS_DIRECTORY_PART);
    ck_assert_uint_eq(m.h.len, strlen(m.body) + 1 + sizeof("xenstored") + 1);
    ck_assert_mem_eq(m.body + strlen(m.body) + 1, "xenstored\0", 11);

    /* Two strings, no more, no less; the node is checked as usual. */
    REQ(c0, XS_DIRECTORY_PART, 0, "/big\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_DIRECTORY_PART, 0, "/big\0" "0\0x\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_DIRECTORY_PART, 0, "/nope\0" "0\0");
    CK_ERR(c0, "ENOENT");
    REQ(c5, XS_DIRECTORY_PART, 0, "/big\0" "0\0");
    CK_ERR(c5, "EACCES");
}
END_TEST

START_TEST(get_domain_path)
{
    REQ(c5, XS_GET_DOMAIN_PATH, 0, "7\0");
    CK_REPLY(c5, XS_GET_DOMAIN_PATH, 0, "/local/domain/7\0");
    REQ(c0, XS_GET_DOMAIN_PATH, 0, "0\0");
    CK_REPLY(c0, XS_GET_DOMAIN_PATH, 0, "/local/domain/0\0");
    REQ(c0, XS_GET_DOMAIN_PATH, 0, "32752\0");
    CK_REPLY(c0, XS_GET_DOMAIN_PATH, 0, "/local/domain/32752\0");
    REQ(c0, XS_GET_DOMAIN_PATH, 0, "7");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_GET_DOMAIN_PATH, 0, "");
    CK_ERR(c0, "EINVAL");
}
END_TEST

START_TEST(domain_messages_need_privilege)
{
    static const uint32_t types[] = { XS_INTRODUCE, XS_RELEASE,
                                      XS_IS_DOMAIN_INTRODUCED, XS_RESUME,
                                      XS_SET_TARGET, XS_CONTROL };
    unsigned int i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        req(c5, types[i], 0, "5\0" "1\0" "2\0", 6);
        expect(__LINE__, c5, XS_ERROR, rid, 0, "EACCES", 7);
        /* Whatever the transaction id (checked first in xenstored). */
        req(c5, types[i], 99, "5\0", 2);
        expect(__LINE__, c5, XS_ERROR, rid, 99, "EACCES", 7);
    }
    ck_assert_uint_eq(hv.nintro + hv.nrel, 0);

    REQ(c0, XS_INTRODUCE, 0, "7\0" "1234\0" "3\0");
    CK_OK(c0, XS_INTRODUCE);
    ck_assert_uint_eq(hv.nintro, 1);
    ck_assert_uint_eq(hv.introduced[0], 7);
    REQ(c0, XS_INTRODUCE, 0, "666\0" "1\0" "3\0");
    CK_ERR(c0, "EEXIST");
    REQ(c0, XS_INTRODUCE, 0, "7\0" "1234\0");
    CK_ERR(c0, "EINVAL");

    REQ(c0, XS_IS_DOMAIN_INTRODUCED, 0, "5\0");
    CK_REPLY(c0, XS_IS_DOMAIN_INTRODUCED, 0, "T\0");
    REQ(c0, XS_IS_DOMAIN_INTRODUCED, 0, "6\0");
    CK_REPLY(c0, XS_IS_DOMAIN_INTRODUCED, 0, "F\0");

    REQ(c0, XS_RELEASE, 0, "7\0");
    CK_OK(c0, XS_RELEASE);
    ck_assert_uint_eq(hv.nrel, 1);
    ck_assert_uint_eq(hv.released[0], 7);
    REQ(c0, XS_RELEASE, 0, "666\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_RELEASE, 0, "7");
    CK_ERR(c0, "EINVAL");
}
END_TEST

/*
 * Domains the hypervisor does not run: an owner in SET_PERMS is ENOENT
 * (xenstored's domain_alloc_permrefs() marks it ignored, checked before
 * the node is looked up); RELEASE, RESUME and SET_TARGET are ENOENT
 * (find_connected_domain()).  A domain that runs but was never
 * introduced is EINVAL there, and so is domid 0 for RELEASE and RESUME.
 */
START_TEST(domain_messages_unknown_domain)
{
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5\0n777\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_SET_PERMS, 0, "/nope\0n777\0r5\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_SET_PERMS, 0, "@releaseDomain\0n777\0");
    CK_ERR(c0, "ENOENT");
    REQ(c5, XS_SET_PERMS, 0, "/local/domain/5\0n666\0");
    CK_ERR(c5, "ENOENT");
    REQ(c0, XS_GET_PERMS, 0, "/local/domain/5\0");
    CK_REPLY(c0, XS_GET_PERMS, 0, "n5\0");
    /* Any running domain may own it. */
    REQ(c0, XS_SET_PERMS, 0, "/local/domain/5\0n6\0r5\0");
    CK_OK(c0, XS_SET_PERMS);

    REQ(c0, XS_RELEASE, 0, "666\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_RELEASE, 0, "0\0");
    CK_ERR(c0, "EINVAL");
    ck_assert_uint_eq(hv.nrel, 0);

    REQ(c0, XS_RESUME, 0, "777\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_RESUME, 0, "6\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_RESUME, 0, "0\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_RESUME, 0, "5\0");
    CK_OK(c0, XS_RESUME);

    REQ(c0, XS_SET_TARGET, 0, "777\0" "5\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_SET_TARGET, 0, "5\0" "777\0");
    CK_ERR(c0, "ENOENT");
    REQ(c0, XS_SET_TARGET, 0, "6\0" "5\0");
    CK_ERR(c0, "EINVAL");
    REQ(c0, XS_SET_TARGET, 0, "5\0" "5\0");
    CK_OK(c0, XS_SET_TARGET);
    CK_NONE(c0);
    CK_NONE(c5);
}
END_TEST

/* ---------------------------------------------------------------- */
/* watches */

START_TEST(watch_initial_event_and_matching)
{
    REQ(c0, XS_WATCH, 0, "/w\0tok\0");
    CK_OK(c0, XS_WATCH);
    /* Fired once up front, even for a missing node. */
    CK_EVENT(c0, "/w\0tok\0");
    CK_NONE(c0);
    ck_assert_uint_eq(xs_server_watch_count(srv, 0), 1);

    /* The path itself and anything below it. */
    put("/w", "1", NULL);
    CK_EVENT(c0, "/w\0tok\0");
    put("/w/a/b", "1", NULL);
    CK_EVENT(c0, "/w/a/b\0tok\0");
    /* Not a sibling with the same prefix, nor a parent. */
    put("/wx", "1", NULL);
    put("/other", "1", NULL);
    CK_NONE(c0);
    /* Not an implicitly created parent, not mkdir of an existing node. */
    ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, "/w/a"), 0);
    CK_NONE(c0);

    /* Through the wire, from another client: SET_PERMS and RM too. */
    REQ(c5, XS_WRITE, 0, "/local/domain/5/x\0" "1");
    CK_OK(c5, XS_WRITE);
    CK_NONE(c0);
    /*
     * The requester's own events are queued before its reply, as
     * xenstored's fire_watches() runs before send_ack().
     */
    REQ(c0, XS_SET_PERMS, 0, "/w/a\0n0\0r5\0");
    CK_EVENT(c0, "/w/a\0tok\0");
    CK_OK(c0, XS_SET_PERMS);
    /* Removal: descendants only fire watches set exactly on them. */
    REQ(c0, XS_RM, 0, "/w/a\0");
    CK_EVENT(c0, "/w/a\0tok\0");
    CK_OK(c0, XS_RM);
    CK_NONE(c0);
}
END_TEST

START_TEST(watch_rm_exact_for_descendants)
{
    put("/r/a/b", "", NULL);
    watch(c0, "/r/a/b", "leaf");
    watch(c0, "/r", "top");
    REQ(c0, XS_RM, 0, "/r/a\0");
    /* The leaf's own watch fires (exact); "/r" sees the root only. */
    CK_EVENT(c0, "/r/a/b\0leaf\0");
    CK_EVENT(c0, "/r/a\0top\0");
    CK_OK(c0, XS_RM);
    CK_NONE(c0);
}
END_TEST

START_TEST(watch_order_is_registration_order)
{
    watch(c0, "/o", "first");
    watch(c0, "/o/p", "second");
    watch(c0, "/", "third");
    put("/o/p", "1", NULL);
    CK_EVENT(c0, "/o/p\0first\0");
    CK_EVENT(c0, "/o/p\0second\0");
    CK_EVENT(c0, "/o/p\0third\0");
    CK_NONE(c0);
}
END_TEST

START_TEST(watch_relative)
{
    REQ(c5, XS_WATCH, 0, "dev\0rel\0");
    CK_OK(c5, XS_WATCH);
    CK_EVENT(c5, "dev\0rel\0");
    REQ(c5, XS_WATCH, 0, "/local/domain/5/dev\0abs\0");
    CK_OK(c5, XS_WATCH);
    CK_EVENT(c5, "/local/domain/5/dev\0abs\0");

    put("/local/domain/5/dev/vif/0", "x", NULL);
    CK_EVENT(c5, "dev/vif/0\0rel\0");
    CK_EVENT(c5, "/local/domain/5/dev/vif/0\0abs\0");
    CK_NONE(c5);

    /* Unwatching takes the same relative name. */
    REQ(c5, XS_UNWATCH, 0, "dev\0rel\0");
    CK_OK(c5, XS_UNWATCH);
    put("/local/domain/5/dev", "y", NULL);
    CK_EVENT(c5, "/local/domain/5/dev\0abs\0");
    CK_NONE(c5);
}
END_TEST

START_TEST(watch_needs_read_access)
{
    watch(c5, "/", "all");
    put("/pub", "", NULL);
    put("/pub/secret", "", NULL);
    CK_NONE(c5);

    /* Readable node: event. */
    REQ(c0, XS_SET_PERMS, 0, "/pub\0n0\0r5\0");
    CK_OK(c0, XS_SET_PERMS);
    CK_EVENT(c5, "/pub\0all\0");
    /* Unreadable node, readable parent: event (watch_permitted()). */
    put("/pub/secret", "s", NULL);
    CK_EVENT(c5, "/pub/secret\0all\0");
    /* Neither: nothing. */
    put("/pub/secret/deeper", "s", NULL);
    put("/tool/xenstored", "s", NULL);
    CK_NONE(c5);

    /* Losing access: told about it through the old permissions. */
    REQ(c0, XS_SET_PERMS, 0, "/pub\0n0\0");
    CK_OK(c0, XS_SET_PERMS);
    CK_EVENT(c5, "/pub\0all\0");
    put("/pub", "x", NULL);
    CK_NONE(c5);

    /* Removal: judged by the permissions before it. */
    REQ(c0, XS_SET_PERMS, 0, "/pub/secret\0n0\0r5\0");
    CK_OK(c0, XS_SET_PERMS);
    CK_EVENT(c5, "/pub/secret\0all\0");
    watch(c5, "/pub/secret", "sec");
    REQ(c0, XS_RM, 0, "/pub\0");
    CK_OK(c0, XS_RM);
    CK_EVENT(c5, "/pub/secret\0sec\0");
    CK_NONE(c5);

    /* The privileged client sees everything. */
    watch(c0, "/", "all");
    put("/tool/xenstored", "t", NULL);
    CK_EVENT(c0, "/tool/xenstored\0all\0");
}
END_TEST

START_TEST(watch_duplicate_and_unwatch)
{
    watch(c5, "/local/domain/5/a", "t1");
    REQ(c5, XS_WATCH, 0, "/local/domain/5/a\0t1\0");
    CK_ERR(c5, "EEXIST");
    /* Relative or absolute, the same watch. */
    REQ(c5, XS_WATCH, 0, "a\0t1\0");
    CK_ERR(c5, "EEXIST");
    /* Another token is another watch. */
    watch(c5, "/local/domain/5/a", "t2");
    ck_assert_uint_eq(xs_server_watch_count(srv, 5), 2);
    CK_NONE(c5);

    REQ(c5, XS_UNWATCH, 0, "/local/domain/5/a\0t1\0");
    CK_OK(c5, XS_UNWATCH);
    ck_assert_uint_eq(xs_server_watch_count(srv, 5), 1);
    put("/local/domain/5/a", "1", NULL);
    CK_EVENT(c5, "/local/domain/5/a\0t2\0");
    CK_NONE(c5);

    /* (Unwatching what is not watched: see unwatch_unknown_watch.) */
    REQ(c5, XS_UNWATCH, 0, "/local/domain/5/a\0");
    CK_ERR(c5, "EINVAL");
    /* A watch that went can be set again. */
    REQ(c5, XS_WATCH, 0, "/local/domain/5/a\0t1\0");
    CK_OK(c5, XS_WATCH);
    CK_EVENT(c5, "/local/domain/5/a\0t1\0");

    /* Malformed watches. */
    REQ(c5, XS_WATCH, 0, "/local/domain/5/a\0");
    CK_ERR(c5, "EINVAL");
    REQ(c5, XS_WATCH, 0, "/local/domain/5/a b\0t\0");
    CK_ERR(c5, "EINVAL");
    REQ(c5, XS_WATCH, 0, "/local/domain/5/\0t\0");
    CK_ERR(c5, "EINVAL");
    ck_assert_uint_eq(xs_server_watch_count(srv, 5), 2);
}
END_TEST

/*
 * A guest talks to xenstored through Linux's xenbus device, which keeps
 * the guest's watches itself and acknowledges any well-formed UNWATCH,
 * whether it found the watch or not.  dom0's tools talk to xenstored's
 * socket, where do_unwatch() says ENOENT.
 */
START_TEST(unwatch_unknown_watch)
{
    watch(c5, "/local/domain/5/a", "t1");
    REQ(c5, XS_UNWATCH, 0, "/local/domain/5/a\0t2\0");
    CK_OK(c5, XS_UNWATCH);
    REQ(c5, XS_UNWATCH, 0, "/local/domain/5/b\0t1\0");
    CK_OK(c5, XS_UNWATCH);
    ck_assert_uint_eq(xs_server_watch_count(srv, 5), 1);
    REQ(c5, XS_UNWATCH, 0, "/local/domain/5/a\0t1\0");
    CK_OK(c5, XS_UNWATCH);
    ck_assert_uint_eq(xs_server_watch_count(srv, 5), 0);
    /* Gone now; unwatching it again is still fine. */
    REQ(c5, XS_UNWATCH, 0, "/local/domain/5/a\0t1\0");
    CK_OK(c5, XS_UNWATCH);
    put("/local/domain/5/a", "1", NULL);
    CK_NONE(c5);

    REQ(c0, XS_UNWATCH, 0, "/local/domain/5/a\0t1\0");
    CK_ERR(c0, "ENOENT");
    CK_NONE(c0);
}
END_TEST

START_TEST(watch_ignores_tx_id)
{
    uint32_t tx = txn_start(c5);

    /* WATCH and UNWATCH ignore the transaction, known or not. */
    REQ(c5, XS_WATCH, 4711, "/local/domain/5\0t\0");
    CK_REPLY(c5, XS_WATCH, 4711, "OK\0");
    CK_EVENT(c5, "/local/domain/5\0t\0");
    REQ(c5, XS_UNWATCH, tx, "/local/domain/5\0t\0");
    CK_REPLY(c5, XS_UNWATCH, tx, "OK\0");
    /* Other messages need a known one. */
    REQ(c5, XS_READ, 4711, "/local/domain/5\0");
    CK_REPLY(c5, XS_ERROR, 4711, "ENOENT\0");
    REQ(c5, XS_TRANSACTION_START, 4711, "\0");
    CK_REPLY(c5, XS_ERROR, 4711, "ENOENT\0");
    REQ(c5, XS_TRANSACTION_START, tx, "\0");
    CK_REPLY(c5, XS_ERROR, tx, "EBUSY\0");
}
END_TEST

START_TEST(watch_limit)
{
    xs_server_limits(srv)->watches_per_domain = 2;
    /* xenstored refuses once more than the limit are set. */
    watch(c5, "/local/domain/5/a", "t");
    watch(c5, "/local/domain/5/b", "t");
    watch(c5, "/local/domain/5/c", "t");
    REQ(c5, XS_WATCH, 0, "/local/domain/5/d\0t\0");
    CK_ERR(c5, "E2BIG");
    CK_NONE(c5);
    ck_assert_uint_eq(xs_server_watch_count(srv, 5), 3);

    /* Per domain, not per connection. */
    {
        struct xs_client *c5b = xs_client_new(srv, 5, false, NULL);

        REQ(c5b, XS_WATCH, 0, "/local/domain/5/d\0t\0");
        CK_ERR(c5b, "E2BIG");
        xs_client_free(c5b);
    }

    /* Room again after an UNWATCH. */
    REQ(c5, XS_UNWATCH, 0, "/local/domain/5/a\0t\0");
    CK_OK(c5, XS_UNWATCH);
    watch(c5, "/local/domain/5/d", "t");

    /* RESET_WATCHES drops them all. */
    REQ(c5, XS_RESET_WATCHES, 0, "");
    CK_OK(c5, XS_RESET_WATCHES);
    ck_assert_uint_eq(xs_server_watch_count(srv, 5), 0);
    put("/local/domain/5/b", "1", NULL);
    CK_NONE(c5);

    /* The toolstack has no limit. */
    watch(c0, "/a", "t");
    watch(c0, "/b", "t");
    watch(c0, "/c", "t");
    watch(c0, "/d", "t");
    ck_assert_uint_eq(xs_server_watch_count(srv, 0), 4);

    /* A closing client gives its watches back. */
    xs_client_free(c0);
    c0 = NULL;
    ck_assert_uint_eq(xs_server_watch_count(srv, 0), 0);
}
END_TEST

START_TEST(watch_special_release)
{
    watch(c0, "@releaseDomain", "rel");
    watch(c0, "/", "root");
    /* Registration fires for anyone ... */
    watch(c5, "@releaseDomain", "rel");
    watch(c5, "@introduceDomain", "intro");

    put("/local/domain/5/x", "", NULL);
    CK_EVENT(c0, "/local/domain/5/x\0root\0");
    xs_server_domain_released(srv, 5);
    /* ... the event only for those who may read the special node. */
    CK_EVENT(c0, "/local/domain/5\0root\0");
    /* A watch on "/" is no watch on "@releaseDomain". */
    CK_EVENT(c0, "@releaseDomain\0rel\0");
    CK_NONE(c0);
    CK_NONE(c5);
    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5"));

    /* Granted read access, the guest hears about it. */
    REQ(c0, XS_SET_PERMS, 0, "@releaseDomain\0n0\0r5\0");
    CK_OK(c0, XS_SET_PERMS);
    CK_NONE(c0);
    xs_server_domain_released(srv, 9);
    CK_EVENT(c0, "@releaseDomain\0rel\0");
    CK_EVENT(c5, "@releaseDomain\0rel\0");
    CK_NONE(c5);

    /* Special watches are never suppressed as duplicates. */
    xs_server_domain_released(srv, 9);
    xs_server_domain_released(srv, 9);
    CK_EVENT(c5, "@releaseDomain\0rel\0");
    CK_EVENT(c5, "@releaseDomain\0rel\0");
    CK_NONE(c5);
    CK_EVENT(c0, "@releaseDomain\0rel\0");
    CK_EVENT(c0, "@releaseDomain\0rel\0");

    /* Read access is no ownership: the guest may not change them. */
    REQ(c5, XS_SET_PERMS, 0, "@releaseDomain\0n5\0");
    CK_ERR(c5, "EACCES");
    REQ(c0, XS_SET_PERMS, 0, "@nonsense\0n5\0");
    CK_ERR(c0, "EINVAL");
    /* 4.17 cannot read them back: no nodes, malformed paths. */
    REQ(c0, XS_GET_PERMS, 0, "@releaseDomain\0");
    CK_ERR(c0, "EINVAL");
    REQ(c5, XS_GET_PERMS, 0, "@releaseDomain\0");
    CK_ERR(c5, "EACCES");
}
END_TEST

START_TEST(watch_special_introduce)
{
    watch(c0, "@introduceDomain", "intro");
    watch(c0, "@releaseDomain", "rel");
    watch(c5, "@introduceDomain", "intro");
    xs_server_domain_introduced(srv, 7);
    CK_EVENT(c0, "@introduceDomain\0intro\0");
    CK_NONE(c0);
    CK_NONE(c5);
    REQ(c0, XS_SET_PERMS, 0, "@introduceDomain\0n0\0r5\0");
    CK_OK(c0, XS_SET_PERMS);
    xs_server_domain_introduced(srv, 8);
    CK_EVENT(c0, "@introduceDomain\0intro\0");
    CK_EVENT(c5, "@introduceDomain\0intro\0");
    /* Special watch names are not paths: no prefix matching. */
    watch(c0, "@intro", "prefix");
    xs_server_domain_introduced(srv, 9);
    CK_EVENT(c0, "@introduceDomain\0intro\0");
    CK_NONE(c0);
}
END_TEST

START_TEST(watch_duplicate_events_suppressed)
{
    struct msg m;

    watch(c5, "/local/domain/5", "t");
    /* Two changes while the first event is still queued: one event. */
    put("/local/domain/5/a", "1", NULL);
    put("/local/domain/5/a", "2", NULL);
    put("/local/domain/5/b", "1", NULL);
    put("/local/domain/5/a", "3", NULL);
    CK_EVENT(c5, "/local/domain/5/a\0t\0");
    CK_EVENT(c5, "/local/domain/5/b\0t\0");
    CK_NONE(c5);
    /* Once it is out, the next change is news again. */
    put("/local/domain/5/a", "4", NULL);
    CK_EVENT(c5, "/local/domain/5/a\0t\0");

    /* A partly written event still counts as queued. */
    put("/local/domain/5/a", "5", NULL);
    xs_client_consume(c5, 5);
    put("/local/domain/5/a", "6", NULL);
    ck_assert_uint_eq(pending(c5), HDR - 5 + 20);
    xs_client_consume(c5, HDR - 5 + 20);
    CK_NONE(c5);
    /* Replies are not events. */
    REQ(c5, XS_READ, 0, "/local/domain/5/a\0");
    put("/local/domain/5/a", "7", NULL);
    ck_assert(pop(c5, &m));
    ck_assert_uint_eq(m.h.type, XS_READ);
    CK_EVENT(c5, "/local/domain/5/a\0t\0");
}
END_TEST

START_TEST(watch_duplicates_across_buffer_compaction)
{
    static char big[3000];
    struct msg m;

    memset(big, 'b', sizeof(big));
    ck_assert_int_eq(xs_store_write(st, &tool, NULL, "/big", big,
                                    sizeof(big)),
                     0);
    watch(c0, "/d", "t");
    put("/d/a", "1", NULL);
    /* The event is partly written, into its payload ... */
    xs_client_consume(c0, HDR + 2);
    /* ... when replies make the output buffer grow and move. */
    REQ(c0, XS_READ, 0, "/big\0");
    REQ(c0, XS_READ, 0, "/big\0");
    REQ(c0, XS_READ, 0, "/big\0");
    /* It is still recognised as queued. */
    put("/d/a", "2", NULL);
    ck_assert_uint_eq(pending(c0), 7 - 2 + 3 * (HDR + 3000));
    xs_client_consume(c0, 7 - 2);
    ck_assert(pop(c0, &m));
    ck_assert_uint_eq(m.h.type, XS_READ);
    ck_assert_uint_eq(m.h.len, 3000);
    ck_assert_mem_eq(m.body, big, 3000);
    ck_assert(pop(c0, &m));
    ck_assert(pop(c0, &m));
    ck_assert_uint_eq(m.h.type, XS_READ);
    CK_NONE(c0);
    put("/d/a", "3", NULL);
    CK_EVENT(c0, "/d/a\0t\0");
}
END_TEST

START_TEST(watch_oversize_event_dropped)
{
    char p[XENSTORE_PAYLOAD_MAX], *tok;
    size_t len, i;

    /* Watch "/" with a 3000-byte token. */
    memcpy(p, "/\0", 2);
    tok = p + 2;
    memset(tok, 't', 3000);
    tok[3000] = '\0';
    req(c0, XS_WATCH, 0, p, 2 + 3001);
    CK_OK(c0, XS_WATCH);
    ck_assert(pending(c0) == HDR + 2 + 3001);
    xs_client_consume(c0, HDR + 2 + 3001);

    /* A 1100-byte path: the event would not fit in a message. */
    len = 1100;
    p[0] = '/';
    for (i = 1; i < len; i++)
        p[i] = (i % 100) ? 'p' : '/';
    p[len] = '\0';
    ck_assert_int_eq(xs_store_write(st, &tool, NULL, p, "", 0), 0);
    CK_NONE(c0);
    /* A short one does. */
    ck_assert_int_eq(xs_store_write(st, &tool, NULL, "/s", "", 0), 0);
    ck_assert_uint_eq(pending(c0), HDR + 3 + 3001);
}
END_TEST

/* ---------------------------------------------------------------- */
/* transactions */

START_TEST(txn_basic)
{
    uint32_t tx;

    watch(c0, "/t", "tok");
    tx = txn_start(c5);
    ck_assert_uint_ne(tx, 0);
    REQ(c5, XS_WRITE, tx, "/local/domain/5/a\0" "1");
    CK_REPLY(c5, XS_WRITE, tx, "OK\0");
    REQ(c5, XS_READ, tx, "/local/domain/5/a\0");
    CK_REPLY(c5, XS_READ, tx, "1");
    REQ(c5, XS_READ, 0, "/local/domain/5/a\0");
    CK_ERR(c5, "ENOENT");
    REQ(c5, XS_DIRECTORY, tx, "/local/domain/5\0");
    CK_REPLY(c5, XS_DIRECTORY, tx, "a\0");
    REQ(c5, XS_TRANSACTION_END, tx, "T\0");
    CK_REPLY(c5, XS_TRANSACTION_END, tx, "OK\0");
    REQ(c5, XS_READ, 0, "/local/domain/5/a\0");
    CK_REPLY(c5, XS_READ, 0, "1");

    /* The id is gone. */
    REQ(c5, XS_READ, tx, "/local/domain/5/a\0");
    CK_REPLY(c5, XS_ERROR, tx, "ENOENT\0");
    REQ(c5, XS_TRANSACTION_END, tx, "T\0");
    CK_REPLY(c5, XS_ERROR, tx, "ENOENT\0");
    REQ(c5, XS_TRANSACTION_END, 0, "T\0");
    CK_ERR(c5, "ENOENT");
    /* Ids are per connection. */
    tx = txn_start(c5);
    REQ(c0, XS_READ, tx, "/\0");
    CK_REPLY(c0, XS_ERROR, tx, "ENOENT\0");

    /* Abort: nothing happens, no events. */
    REQ(c5, XS_WRITE, tx, "/local/domain/5/a\0" "2");
    CK_REPLY(c5, XS_WRITE, tx, "OK\0");
    REQ(c5, XS_TRANSACTION_END, tx, "F\0");
    CK_REPLY(c5, XS_TRANSACTION_END, tx, "OK\0");
    REQ(c5, XS_READ, 0, "/local/domain/5/a\0");
    CK_REPLY(c5, XS_READ, 0, "1");

    /* Events only at commit. */
    tx = txn_start(c0);
    REQ(c0, XS_WRITE, tx, "/t/x\0" "1");
    CK_REPLY(c0, XS_WRITE, tx, "OK\0");
    CK_NONE(c0);
    REQ(c0, XS_TRANSACTION_END, tx, "T\0");
    CK_EVENT(c0, "/t/x\0tok\0");
    CK_REPLY(c0, XS_TRANSACTION_END, tx, "OK\0");
    CK_NONE(c0);
}
END_TEST

START_TEST(txn_errors)
{
    uint32_t tx = txn_start(c5), tx2;

    /* Bad end arguments. */
    REQ(c5, XS_TRANSACTION_END, tx, "X\0");
    CK_REPLY(c5, XS_ERROR, tx, "EINVAL\0");
    REQ(c5, XS_TRANSACTION_END, tx, "T");
    CK_REPLY(c5, XS_ERROR, tx, "EINVAL\0");
    REQ(c5, XS_TRANSACTION_END, tx, "TT\0");
    CK_REPLY(c5, XS_ERROR, tx, "EINVAL\0");
    /* Still open. */
    REQ(c5, XS_READ, tx, "/local/domain/5\0");
    CK_REPLY(c5, XS_READ, tx, "");

    /* Conflict. */
    REQ(c5, XS_WRITE, tx, "/local/domain/5\0" "t");
    CK_REPLY(c5, XS_WRITE, tx, "OK\0");
    REQ(c5, XS_WRITE, 0, "/local/domain/5\0" "direct");
    CK_OK(c5, XS_WRITE);
    REQ(c5, XS_TRANSACTION_END, tx, "T\0");
    CK_REPLY(c5, XS_ERROR, tx, "EAGAIN\0");
    REQ(c5, XS_READ, 0, "/local/domain/5\0");
    CK_REPLY(c5, XS_READ, 0, "direct");
    /* A failed commit ends the transaction too. */
    REQ(c5, XS_TRANSACTION_END, tx, "F\0");
    CK_REPLY(c5, XS_ERROR, tx, "ENOENT\0");

    /* Two transactions at once, ids differ. */
    tx = txn_start(c5);
    tx2 = txn_start(c5);
    ck_assert_uint_ne(tx, tx2);
    REQ(c5, XS_WRITE, tx2, "/local/domain/5/b\0" "2");
    CK_REPLY(c5, XS_WRITE, tx2, "OK\0");
    REQ(c5, XS_READ, tx, "/local/domain/5/b\0");
    CK_REPLY(c5, XS_ERROR, tx, "ENOENT\0");
    REQ(c5, XS_TRANSACTION_END, tx2, "T\0");
    CK_REPLY(c5, XS_TRANSACTION_END, tx2, "OK\0");
    REQ(c5, XS_TRANSACTION_END, tx, "T\0");
    CK_REPLY(c5, XS_ERROR, tx, "EAGAIN\0");
}
END_TEST

START_TEST(txn_limit)
{
    unsigned int i;

    /* xenstored refuses once more than the limit are open. */
    xs_server_limits(srv)->txns_per_conn = 2;
    for (i = 0; i < 3; i++)
        txn_start(c5);
    REQ(c5, XS_TRANSACTION_START, 0, "\0");
    CK_ERR(c5, "ENOSPC");
    CK_NONE(c5);

    /* Per connection. */
    {
        struct xs_client *c5b = xs_client_new(srv, 5, false, NULL);

        txn_start(c5b);
        xs_client_free(c5b);
    }

    /* RESET_WATCHES ends them. */
    REQ(c5, XS_RESET_WATCHES, 0, "");
    CK_OK(c5, XS_RESET_WATCHES);
    REQ(c5, XS_READ, 1, "/local/domain/5\0");
    CK_REPLY(c5, XS_ERROR, 1, "ENOENT\0");
    for (i = 0; i < 3; i++)
        txn_start(c5);

    /* The toolstack has no limit. */
    for (i = 0; i < 5; i++)
        txn_start(c0);
}
END_TEST

START_TEST(txn_guest_node_quota)
{
    uint32_t tx;
    char p[64];
    unsigned int i;
    struct msg m;

    xs_store_quota(st)->nodes_per_txn = 4;
    tx = txn_start(c5);
    for (i = 0; i < 3; i++) {
        size_t len = (size_t)snprintf(p, sizeof(p), "/local/domain/5/k%u", i);

        req(c5, XS_WRITE, tx, p, len + 1);
        CK_REPLY(c5, XS_WRITE, tx, "OK\0");
    }
    REQ(c5, XS_WRITE, tx, "/local/domain/5/k3\0");
    CK_REPLY(c5, XS_ERROR, tx, "ENOSPC\0");
    REQ(c5, XS_TRANSACTION_END, tx, "T\0");
    ck_assert(pop(c5, &m));
    ck_assert_uint_eq(m.h.type, XS_ERROR);
    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5/k0"));
}
END_TEST

/* ---------------------------------------------------------------- */
/* flow control */

START_TEST(outstanding_limit)
{
    unsigned int i;

    xs_server_limits(srv)->outstanding_per_conn = 3;
    watch(c5, "/local/domain/5", "t");
    for (i = 0; i < 3; i++) {
        ck_assert(xs_client_can_read(c5));
        REQ(c5, XS_READ, 0, "/local/domain/5\0");
    }
    /* Three unread replies: stop reading. */
    ck_assert(!xs_client_can_read(c5));
    /* Watch events do not count. */
    put("/local/domain/5/x", "", NULL);
    ck_assert(!xs_client_can_read(c5));
    {
        struct msg m;

        ck_assert(pop(c5, &m));
        ck_assert_uint_eq(m.h.type, XS_READ);
    }
    ck_assert(xs_client_can_read(c5));
    REQ(c5, XS_READ, 0, "/local/domain/5\0");
    ck_assert(!xs_client_can_read(c5));

    /* Only whole messages count as written. */
    xs_client_consume(c5, HDR - 1);
    ck_assert(!xs_client_can_read(c5));
    xs_client_consume(c5, pending(c5));
    ck_assert(xs_client_can_read(c5));

    /* The toolstack is never throttled. */
    for (i = 0; i < 10; i++)
        REQ(c0, XS_READ, 0, "/\0");
    ck_assert(xs_client_can_read(c0));
}
END_TEST

START_TEST(events_dropped_beyond_limit)
{
    unsigned int i;

    xs_server_limits(srv)->events_per_conn = 3;
    watch(c5, "/local/domain/5", "t");
    ck_assert_uint_eq(xs_server_events_dropped(srv), 0);
    for (i = 0; i < 5; i++) {
        char p[32];

        snprintf(p, sizeof(p), "/local/domain/5/k%u", i);
        put(p, "", NULL);
    }
    CK_EVENT(c5, "/local/domain/5/k0\0t\0");
    CK_EVENT(c5, "/local/domain/5/k1\0t\0");
    CK_EVENT(c5, "/local/domain/5/k2\0t\0");
    CK_NONE(c5);
    ck_assert_uint_eq(xs_server_events_dropped(srv), 2);

    /* Replies are never dropped; room for events again once read. */
    for (i = 0; i < 5; i++) {
        REQ(c5, XS_READ, 0, "/local/domain/5\0");
        CK_REPLY(c5, XS_READ, 0, "");
    }
    put("/local/domain/5/k9", "", NULL);
    CK_EVENT(c5, "/local/domain/5/k9\0t\0");
    ck_assert_uint_eq(xs_server_events_dropped(srv), 2);

    /* The toolstack's events are not limited. */
    watch(c0, "/x", "t");
    for (i = 0; i < 5; i++) {
        char p[32];

        snprintf(p, sizeof(p), "/x/k%u", i);
        put(p, "", NULL);
    }
    for (i = 0; i < 5; i++) {
        struct msg m;

        ck_assert(pop(c0, &m));
        ck_assert_uint_eq(m.h.type, XS_WATCH_EVENT);
    }
    ck_assert_uint_eq(xs_server_events_dropped(srv), 2);
}
END_TEST

START_TEST(domain_released_cleans_store)
{
    watch(c0, "/local/domain/5", "home");
    REQ(c5, XS_WRITE, 0, "data/x\0" "1");
    CK_OK(c5, XS_WRITE);
    CK_EVENT(c0, "/local/domain/5/data/x\0home\0");
    REQ(c0, XS_WRITE, 0, "/shared\0" "s");
    CK_OK(c0, XS_WRITE);
    REQ(c0, XS_SET_PERMS, 0, "/shared\0n0\0r5\0");
    CK_OK(c0, XS_SET_PERMS);
    REQ(c5, XS_READ, 0, "/shared\0");
    CK_REPLY(c5, XS_READ, 0, "s");
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 3);

    xs_server_domain_released(srv, 5);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 0);
    CK_EVENT(c0, "/local/domain/5\0home\0");
    CK_NONE(c0);
    REQ(c0, XS_GET_PERMS, 0, "/shared\0");
    CK_REPLY(c0, XS_GET_PERMS, 0, "n0\0");
    REQ(c5, XS_READ, 0, "/shared\0");
    CK_ERR(c5, "EACCES");
}
END_TEST

static Suite *xsserver_suite(void)
{
    Suite *s = suite_create("xs-server");
    TCase *tc;

    tc = tcase_create("framing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, framing_byte_by_byte);
    tcase_add_test(tc, framing_uneven_chunks);
    tcase_add_test(tc, framing_many_in_one_call);
    tcase_add_test(tc, framing_oversize_payload);
    tcase_add_test(tc, ids_echoed);
    tcase_add_test(tc, output_hook_and_partial_consume);
    suite_add_tcase(s, tc);

    tc = tcase_create("ops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, node_ops_byte_exact);
    tcase_add_test(tc, perms_byte_exact);
    tcase_add_test(tc, relative_paths);
    tcase_add_test(tc, malformed_messages);
    tcase_add_test(tc, directory_part_chunks);
    tcase_add_test(tc, get_domain_path);
    tcase_add_test(tc, domain_messages_need_privilege);
    tcase_add_test(tc, domain_messages_unknown_domain);
    suite_add_tcase(s, tc);

    tc = tcase_create("watch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, watch_initial_event_and_matching);
    tcase_add_test(tc, watch_rm_exact_for_descendants);
    tcase_add_test(tc, watch_order_is_registration_order);
    tcase_add_test(tc, watch_relative);
    tcase_add_test(tc, watch_needs_read_access);
    tcase_add_test(tc, watch_duplicate_and_unwatch);
    tcase_add_test(tc, unwatch_unknown_watch);
    tcase_add_test(tc, watch_ignores_tx_id);
    tcase_add_test(tc, watch_limit);
    tcase_add_test(tc, watch_special_release);
    tcase_add_test(tc, watch_special_introduce);
    tcase_add_test(tc, watch_duplicate_events_suppressed);
    tcase_add_test(tc, watch_duplicates_across_buffer_compaction);
    tcase_add_test(tc, watch_oversize_event_dropped);
    suite_add_tcase(s, tc);

    tc = tcase_create("txn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, txn_basic);
    tcase_add_test(tc, txn_errors);
    tcase_add_test(tc, txn_limit);
    tcase_add_test(tc, txn_guest_node_quota);
    suite_add_tcase(s, tc);

    tc = tcase_create("flow");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, outstanding_limit);
    tcase_add_test(tc, events_dropped_beyond_limit);
    tcase_add_test(tc, domain_released_cleans_store);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xsserver_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
