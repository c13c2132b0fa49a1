/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for sim/simd/xs-store.c, the simulated xenstored's database,
 * against Xen 4.17 C xenstored semantics (xenstored_core.c,
 * xenstored_transaction.c, xenstored_domain.c):
 *  - permissions: owner/privileged/per-domain/default rules, inheritance
 *    on creation, the errno a caller may see for missing nodes, SET_PERMS
 *    ownership rules and the special "@..." nodes;
 *  - write/mkdir/rm/directory semantics and path validation;
 *  - the watch hook: which paths fire, exact flags, order, old perms;
 *  - transactions: isolation, conflicts (EAGAIN), abort, deferred hooks;
 *  - quotas: nodes per domain, entry size, perms per node, nodes per
 *    transaction;
 *  - domain death (XSA-322) and generation counts.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs-store.h"

#define MAX_EV 64

/* One call of the watch hook. */
struct ev {
    char path[160];
    bool exact;
    bool existed; /* the node was in the store when the hook ran */
    uint32_t nold;
    struct xs_perm old[8];
};

static struct xs_store *st;
static struct ev evs[MAX_EV];
static unsigned int nev;

static const struct xs_caller tool = { 0, true };
static const struct xs_caller d5 = { 5, false };
static const struct xs_caller d6 = { 6, false };
static const struct xs_caller d7 = { 7, false };

static void record(void *arg, const char *path, bool exact,
                   const struct xs_perm *old, uint32_t nold)
{
    struct ev *e;

    ck_assert_ptr_eq(arg, evs);
    if (nev < MAX_EV) {
        e = &evs[nev];
        snprintf(e->path, sizeof(e->path), "%s", path);
        e->exact = exact;
        e->existed = xs_store_lookup(st, path) != NULL;
        e->nold = nold;
        ck_assert(nold == 0 || old != NULL);
        if (nold)
            memcpy(e->old, old, sizeof(*old) * (nold < 8 ? nold : 8));
    }
    nev++;
}

static void setup(void)
{
    nev = 0;
    memset(evs, 0, sizeof(evs));
    ck_assert_int_eq(xs_store_new(&st, record, evs), 0);
}

static void teardown(void)
{
    xs_store_free(st);
    st = NULL;
}

static int wr(const struct xs_caller *c, struct xs_txn *t, const char *path,
              const char *val)
{
    return xs_store_write(st, c, t, path, val, (uint32_t)strlen(val));
}

static int rd_errno(const struct xs_caller *c, struct xs_txn *t,
                    const char *path)
{
    const char *data;
    uint32_t len;

    return xs_store_read(st, c, t, path, &data, &len);
}

/* Asserts that path reads as expect (compared by length and bytes). */
#define CK_READ(c, t, path, expect)                                       \
    do {                                                                  \
        const char *d_;                                                   \
        uint32_t l_;                                                      \
        ck_assert_int_eq(xs_store_read(st, c, t, path, &d_, &l_), 0);     \
        ck_assert_uint_eq(l_, strlen(expect));                            \
        ck_assert_mem_eq(d_, expect, l_);                                 \
    } while (0)

/* Asserts the child list of path; lit is a literal with embedded NULs. */
#define CK_DIR(c, t, path, lit)                                           \
    do {                                                                  \
        const char *d_;                                                   \
        uint32_t l_;                                                      \
        ck_assert_int_eq(                                                 \
            xs_store_directory(st, c, t, path, &d_, &l_, NULL), 0);       \
        ck_assert_uint_eq(l_, sizeof(lit) - 1);                           \
        ck_assert_mem_eq(d_, lit, l_);                                    \
    } while (0)

#define CK_EV(i, p, ex)                                                   \
    do {                                                                  \
        ck_assert_str_eq(evs[i].path, p);                                 \
        ck_assert_int_eq(evs[i].exact, ex);                               \
    } while (0)

/* "n0 r5 b6" -> perms; returns the count. */
static uint32_t parse_spec(const char *spec, struct xs_perm *p, uint32_t max)
{
    char buf[256], *tok, *save = NULL;
    uint32_t n = 0;

    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        ck_assert_uint_lt(n, max);
        ck_assert_msg(xs_perm_parse(tok, &p[n]) == 0, "bad perm %s", tok);
        n++;
    }
    return n;
}

static int setp(const struct xs_caller *c, struct xs_txn *t,
                const char *path, const char *spec)
{
    struct xs_perm p[16];
    uint32_t n = parse_spec(spec, p, 16);

    return xs_store_set_perms(st, c, t, path, p, n);
}

static const char *print_perms(const struct xs_perm *p, uint32_t n)
{
    static char out[256];
    size_t used = 0;
    uint32_t i;

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        char one[16];

        ck_assert_int_eq(xs_perm_print(&p[i], one, sizeof(one)), 0);
        used += snprintf(out + used, sizeof(out) - used, "%s%s",
                         i ? " " : "", one);
    }
    return out;
}

/* The live permissions of path, as "n0 r5", or "" when it is missing. */
static const char *perms_of(const char *path)
{
    const struct xs_node *n = xs_store_lookup(st, path);

    return n ? print_perms(n->perms, n->nperms) : "";
}

static const char *special_of(const char *name)
{
    const struct xs_perm *p;
    uint32_t n;

    ck_assert_int_eq(xs_store_special_perms(st, name, &p, &n), 0);
    return print_perms(p, n);
}

static uint64_t gen_of(const char *path)
{
    const struct xs_node *n = xs_store_lookup(st, path);

    ck_assert_ptr_nonnull(n);
    return n->gen;
}

/* /local/domain/<domid>, created by the toolstack, owned by domid. */
static void make_home(uint32_t domid)
{
    char path[32], spec[16];

    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    snprintf(spec, sizeof(spec), "n%u", domid);
    ck_assert_int_eq(wr(&tool, NULL, path, ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, path, spec), 0);
}

/* prefix followed by 'x's up to a total length of len. */
static char *long_path(const char *prefix, size_t len)
{
    size_t plen = strlen(prefix);
    char *p = malloc(len + 1);

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(len, plen);
    memcpy(p, prefix, plen);
    memset(p + plen, 'x', len - plen);
    p[len] = '\0';
    return p;
}

/* prefix + a 250-character name starting with the digits of i. */
static const char *name250(const char *prefix, unsigned int i)
{
    static char path[512];
    int off = snprintf(path, sizeof(path), "%s%u", prefix, i);
    size_t end = strlen(prefix) + 250;

    memset(path + off, 'n', end - off);
    path[end] = '\0';
    return path;
}

/* ---------------------------------------------------------------- */
/* initial state, permission rules */

START_TEST(initial_tree)
{
    ck_assert_uint_eq(xs_store_count(st), 3);
    ck_assert_str_eq(perms_of("/"), "n0");
    ck_assert_str_eq(perms_of("/tool"), "n0");
    ck_assert_str_eq(perms_of("/tool/xenstored"), "n0");
    CK_DIR(&tool, NULL, "/", "tool\0");
    CK_DIR(&tool, NULL, "/tool", "xenstored\0");
    ck_assert_uint_eq(xs_store_domain_nodes(st, 0), 3);
    /* Unprivileged domains see nothing of it. */
    ck_assert_int_eq(rd_errno(&d5, NULL, "/"), EACCES);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/tool"), EACCES);
}
END_TEST

START_TEST(perm_for_rules)
{
    const struct xs_perm p[] = { { 7, XSP_READ },
                                 { 5, XSP_WRITE },
                                 { 9, XSP_NONE },
                                 { 5, XSP_READ } };
    const struct xs_caller priv3 = { 3, true }, d3 = { 3, false };
    const struct xs_caller d9 = { 9, false };

    /* The owner gets everything, whatever perms[0].perms says. */
    ck_assert_uint_eq(xs_perm_for(&d7, p, 4),
                      XSP_READ | XSP_WRITE | XSP_OWNER);
    /* perms[1..]: the first entry for the domain wins. */
    ck_assert_uint_eq(xs_perm_for(&d5, p, 4), XSP_WRITE);
    /* An explicit entry overrides the default. */
    ck_assert_uint_eq(xs_perm_for(&d9, p, 4), XSP_NONE);
    /* Anyone else: the default, perms[0].perms, never OWNER. */
    ck_assert_uint_eq(xs_perm_for(&d3, p, 4), XSP_READ);
    ck_assert_uint_eq(xs_perm_for(&d6, p, 1), XSP_READ);
    /* The toolstack gets everything. */
    ck_assert_uint_eq(xs_perm_for(&priv3, p, 4),
                      XSP_READ | XSP_WRITE | XSP_OWNER);
    ck_assert_uint_eq(xs_perm_for(&tool, p, 4),
                      XSP_READ | XSP_WRITE | XSP_OWNER);
}
END_TEST

START_TEST(perm_strings)
{
    static const char *const bad[] = { "",    "r",      "x5",  "R5",
                                       "r-1", "r1a",    "r 1", "r65536",
                                       "n",   "b99999", "rr1" };
    struct xs_perm p;
    char buf[16];
    unsigned int i;

    ck_assert_int_eq(xs_perm_parse("r5", &p), 0);
    ck_assert_uint_eq(p.id, 5);
    ck_assert_uint_eq(p.perms, XSP_READ);
    ck_assert_int_eq(xs_perm_parse("w65535", &p), 0);
    ck_assert_uint_eq(p.id, 65535);
    ck_assert_uint_eq(p.perms, XSP_WRITE);
    ck_assert_int_eq(xs_perm_parse("b12", &p), 0);
    ck_assert_uint_eq(p.perms, XSP_READ | XSP_WRITE);
    ck_assert_int_eq(xs_perm_parse("n0", &p), 0);
    ck_assert_uint_eq(p.id, 0);
    ck_assert_uint_eq(p.perms, XSP_NONE);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(xs_perm_parse(bad[i], &p) == EINVAL, "accepted '%s'",
                      bad[i]);

    p.id = 42;
    p.perms = XSP_READ | XSP_WRITE;
    ck_assert_int_eq(xs_perm_print(&p, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "b42");
    p.perms = XSP_WRITE;
    ck_assert_int_eq(xs_perm_print(&p, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "w42");
    ck_assert_int_eq(xs_perm_print(&p, buf, 3), EINVAL);
}
END_TEST

START_TEST(new_nodes_inherit_parent_perms)
{
    ck_assert_int_eq(wr(&tool, NULL, "/a", ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/a", "n0 r5 b6"), 0);

    /* The toolstack's implicit and explicit nodes keep the owner. */
    ck_assert_int_eq(wr(&tool, NULL, "/a/b/c", "x"), 0);
    ck_assert_str_eq(perms_of("/a/b"), "n0 r5 b6");
    ck_assert_str_eq(perms_of("/a/b/c"), "n0 r5 b6");

    /* An unprivileged creator becomes the owner; the rest is copied. */
    ck_assert_int_eq(wr(&d6, NULL, "/a/d/e", "y"), 0);
    ck_assert_str_eq(perms_of("/a/d"), "n6 r5 b6");
    ck_assert_str_eq(perms_of("/a/d/e"), "n6 r5 b6");
    ck_assert_uint_eq(xs_store_domain_nodes(st, 6), 2);
    ck_assert_int_eq(xs_store_mkdir(st, &d6, NULL, "/a/f"), 0);
    ck_assert_str_eq(perms_of("/a/f"), "n6 r5 b6");
    ck_assert_uint_eq(xs_store_domain_nodes(st, 6), 3);

    /* And may then do anything with it, read-only d5 may only read. */
    CK_READ(&d6, NULL, "/a/d/e", "y");
    CK_READ(&d5, NULL, "/a/d/e", "y");
    ck_assert_int_eq(wr(&d5, NULL, "/a/d/e", "z"), EACCES);
    ck_assert_int_eq(setp(&d6, NULL, "/a/d/e", "n6"), 0);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/a/d/e"), EACCES);
}
END_TEST

START_TEST(create_needs_write_on_nearest_ancestor)
{
    unsigned int count;

    make_home(6);
    count = xs_store_count(st);
    nev = 0;

    /* No access to the nearest existing ancestor. */
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/6/x", "1"), EACCES);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/6/x/y/z", "1"), EACCES);
    ck_assert_int_eq(xs_store_mkdir(st, &d5, NULL, "/local/domain/6/x"),
                     EACCES);
    ck_assert_int_eq(wr(&d5, NULL, "/local/x", "1"), EACCES);
    ck_assert_int_eq(wr(&d5, NULL, "/newtop", "1"), EACCES);
    ck_assert_uint_eq(nev, 0);

    /* Read access is not enough. */
    ck_assert_int_eq(setp(&tool, NULL, "/local/domain/6", "n6 r5"), 0);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/6/x", "1"), EACCES);
    ck_assert_uint_eq(xs_store_count(st), count);

    /* Write access to it lets the missing levels be created. */
    ck_assert_int_eq(setp(&tool, NULL, "/local/domain/6", "n6 w5"), 0);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/6/x/y", "1"), 0);
    ck_assert_uint_eq(xs_store_count(st), count + 2);
    ck_assert_str_eq(perms_of("/local/domain/6/x"), "n5 w5");
    ck_assert_str_eq(perms_of("/local/domain/6/x/y"), "n5 w5");

    /* An existing node is judged by its own permissions. */
    ck_assert_int_eq(wr(&tool, NULL, "/local/domain/6/ro", ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/local/domain/6/ro", "n6"), 0);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/6/ro", "1"), EACCES);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/6/ro/child", "1"),
                     EACCES);
}
END_TEST

START_TEST(missing_node_errno)
{
    make_home(5);

    /* Readable nearest ancestor: the caller may know it is missing. */
    ck_assert_int_eq(rd_errno(&d5, NULL, "/local/domain/5/nope"), ENOENT);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/local/domain/5/a/b/c"), ENOENT);
    ck_assert_int_eq(rd_errno(&tool, NULL, "/nope/deeper"), ENOENT);

    /* Unreadable nearest ancestor: no information leaks. */
    ck_assert_int_eq(rd_errno(&d5, NULL, "/local/domain/6/nope"), EACCES);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/nope"), EACCES);

    /* Existing but unreadable. */
    ck_assert_int_eq(wr(&tool, NULL, "/secret", "s"), 0);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/secret"), EACCES);

    /* Write-only ancestor: reading below it still says EACCES. */
    ck_assert_int_eq(wr(&tool, NULL, "/wo", ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/wo", "n0 w5"), 0);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/wo/nope"), EACCES);
    ck_assert_int_eq(wr(&d5, NULL, "/wo/mine", "m"), 0);
    CK_READ(&d5, NULL, "/wo/mine", "m");

    /* The same rule for DIRECTORY and GET_PERMS. */
    {
        const char *ch;
        const struct xs_perm *p;
        uint32_t len, n;

        ck_assert_int_eq(xs_store_directory(st, &d5, NULL, "/wo/nope", &ch,
                                            &len, NULL),
                         EACCES);
        ck_assert_int_eq(xs_store_directory(st, &d5, NULL,
                                            "/local/domain/5/nope", &ch,
                                            &len, NULL),
                         ENOENT);
        ck_assert_int_eq(xs_store_get_perms(st, &d5, NULL, "/secret", &p,
                                            &n),
                         EACCES);
        ck_assert_int_eq(xs_store_get_perms(st, &d5, NULL,
                                            "/local/domain/5/nope", &p, &n),
                         ENOENT);
        ck_assert_int_eq(xs_store_get_perms(st, &d5, NULL, "/wo/mine", &p,
                                            &n),
                         0);
        ck_assert_str_eq(print_perms(p, n), "n5 w5");
    }
}
END_TEST

START_TEST(set_perms_rules)
{
    make_home(5);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/a", ""), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 2);

    /* Others may not. */
    ck_assert_int_eq(setp(&d6, NULL, "/local/domain/5/a", "n6"), EACCES);
    ck_assert_int_eq(setp(&d6, NULL, "/local/domain/5/a", "n5 b6"), EACCES);
    /* The owner may. */
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/a", "n5 b6"), 0);
    ck_assert_str_eq(perms_of("/local/domain/5/a"), "n5 b6");
    /* Read and write access is not ownership. */
    ck_assert_int_eq(setp(&d6, NULL, "/local/domain/5/a", "n5 b6 r7"),
                     EACCES);
    /* Unprivileged owners may not give nodes away. */
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/a", "n6"), EPERM);
    ck_assert_str_eq(perms_of("/local/domain/5/a"), "n5 b6");
    /* At least the owner entry is needed. */
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/a", ""), EINVAL);
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/nope", "n5"), ENOENT);
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/6/nope", "n5"), EACCES);

    /* The toolstack may change the owner; quota accounting follows. */
    ck_assert_int_eq(setp(&tool, NULL, "/local/domain/5/a", "b6"), 0);
    ck_assert_str_eq(perms_of("/local/domain/5/a"), "b6");
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 1);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 6), 1);
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/a", "n5"), EACCES);
}
END_TEST

START_TEST(special_node_perms)
{
    const struct xs_perm *p;
    uint32_t n;

    ck_assert_str_eq(special_of("@releaseDomain"), "n0");
    ck_assert_str_eq(special_of("@introduceDomain"), "n0");
    ck_assert_int_eq(xs_store_special_perms(st, "@other", &p, &n), ENOENT);
    ck_assert_int_eq(xs_store_special_perms(st, "/", &p, &n), ENOENT);

    /* Only the owner (by default the toolstack) may change them. */
    ck_assert_int_eq(setp(&d5, NULL, "@releaseDomain", "n5"), EACCES);
    ck_assert_int_eq(setp(&tool, NULL, "@releaseDomain", "n0 r5"), 0);
    ck_assert_str_eq(special_of("@releaseDomain"), "n0 r5");
    ck_assert_str_eq(special_of("@introduceDomain"), "n0");
    ck_assert_int_eq(setp(&tool, NULL, "@other", "n0"), EINVAL);
    /* Read access granted is not ownership. */
    ck_assert_int_eq(setp(&d5, NULL, "@releaseDomain", "n0 b5"), EACCES);

    /* Read access decides who learns about the event. */
    xs_store_special_perms(st, "@releaseDomain", &p, &n);
    ck_assert(xs_perm_for(&d5, p, n) & XSP_READ);
    ck_assert(!(xs_perm_for(&d6, p, n) & XSP_READ));

    /* A domain that owns a special node may change it. */
    ck_assert_int_eq(setp(&tool, NULL, "@introduceDomain", "n7"), 0);
    ck_assert_int_eq(setp(&d7, NULL, "@introduceDomain", "n7 r6"), 0);
    ck_assert_str_eq(special_of("@introduceDomain"), "n7 r6");

    /*
     * They are not nodes: no watch fires for them, and 4.17's GET_PERMS
     * refuses the name like any malformed path.
     */
    ck_assert_uint_eq(nev, 0);
    ck_assert_uint_eq(xs_store_count(st), 3);
    ck_assert_int_eq(
        xs_store_get_perms(st, &tool, NULL, "@releaseDomain", &p, &n),
        EINVAL);
    ck_assert_int_eq(
        xs_store_get_perms(st, &d5, NULL, "@releaseDomain", &p, &n), EACCES);
    ck_assert_int_eq(rd_errno(&tool, NULL, "@releaseDomain"), EINVAL);
    ck_assert_int_eq(wr(&tool, NULL, "@releaseDomain", "x"), EINVAL);
    ck_assert_int_eq(rd_errno(&d6, NULL, "@introduceDomain"), EACCES);
}
END_TEST

/* ---------------------------------------------------------------- */
/* write, mkdir, rm, directory */

START_TEST(write_read_directory)
{
    static const char bin[] = { 'a', '\0', 'b', '\xff' };
    const char *d;
    uint32_t len;

    ck_assert_int_eq(wr(&tool, NULL, "/w/x", "1"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/w/y", ""), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/w/x", "22"), 0);
    CK_READ(&tool, NULL, "/w/x", "22");
    CK_READ(&tool, NULL, "/w/y", "");
    CK_READ(&tool, NULL, "/w", "");
    CK_DIR(&tool, NULL, "/w", "x\0y\0");
    CK_DIR(&tool, NULL, "/", "tool\0w\0");
    CK_DIR(&tool, NULL, "/w/x", "");

    /* Values are binary. */
    ck_assert_int_eq(xs_store_write(st, &tool, NULL, "/w/b", bin,
                                    sizeof(bin)),
                     0);
    ck_assert_int_eq(xs_store_read(st, &tool, NULL, "/w/b", &d, &len), 0);
    ck_assert_uint_eq(len, sizeof(bin));
    ck_assert_mem_eq(d, bin, sizeof(bin));

    /* mkdir keeps an existing node's data. */
    ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, "/w/x"), 0);
    CK_READ(&tool, NULL, "/w/x", "22");
    ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, "/m/n"), 0);
    CK_READ(&tool, NULL, "/m/n", "");
    ck_assert_uint_eq(xs_store_count(st), 3 + 6);
}
END_TEST

START_TEST(rm_semantics)
{
    ck_assert_int_eq(wr(&tool, NULL, "/a/b/c", "1"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/a/b/d", "2"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/a/e", "3"), 0);
    ck_assert_uint_eq(xs_store_count(st), 3 + 5);
    nev = 0;

    /* Missing node: fine if the parent exists. */
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/a/nope"), 0);
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/nope"), 0);
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/a/nope/deeper"), ENOENT);
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/"), EINVAL);
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/a//b"), EINVAL);
    ck_assert_uint_eq(nev, 0);

    /* A subtree goes at once; the parent forgets it. */
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/a/b"), 0);
    ck_assert_uint_eq(xs_store_count(st), 3 + 2);
    ck_assert_ptr_null(xs_store_lookup(st, "/a/b"));
    ck_assert_ptr_null(xs_store_lookup(st, "/a/b/c"));
    ck_assert_ptr_null(xs_store_lookup(st, "/a/b/d"));
    ck_assert_int_eq(rd_errno(&tool, NULL, "/a/b/c"), ENOENT);
    CK_DIR(&tool, NULL, "/a", "e\0");
    CK_READ(&tool, NULL, "/a/e", "3");

    /* Recreating works and appends to the child list. */
    ck_assert_int_eq(wr(&tool, NULL, "/a/b", "new"), 0);
    CK_DIR(&tool, NULL, "/a", "e\0b\0");
    CK_DIR(&tool, NULL, "/a/b", "");
}
END_TEST

START_TEST(rm_permissions)
{
    ck_assert_int_eq(wr(&tool, NULL, "/ro/child", "1"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/ro/other", "1"), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/ro/child", "n0 b5"), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/ro/other", "n0 r5"), 0);

    ck_assert_int_eq(xs_store_rm(st, &d5, NULL, "/ro"), EACCES);
    ck_assert_int_eq(xs_store_rm(st, &d5, NULL, "/ro/other"), EACCES);
    /* Missing below an inaccessible ancestor: EACCES, not success. */
    ck_assert_int_eq(xs_store_rm(st, &d5, NULL, "/ro/nope"), EACCES);
    ck_assert_int_eq(xs_store_rm(st, &d5, NULL, "/"), EACCES);
    /* Write access to the node itself is what counts, not the parent. */
    ck_assert_int_eq(xs_store_rm(st, &d5, NULL, "/ro/child"), 0);
    CK_DIR(&tool, NULL, "/ro", "other\0");
    ck_assert_uint_eq(xs_store_domain_nodes(st, 0), 3 + 2);
}
END_TEST

START_TEST(path_validation)
{
    static const char *const bad[] = {
        "",       "a",     "a/b",   "/a/",   "/a//b",  "//",
        "/a b",   "/a.b",  "/a\n",  "/a\tb", "/a:b",   "/\xc3\xa4",
        "/a/b/.", "/a/..", "/a%20", "/a\\b", "/local/", "/*",
    };
    static const char *const good[] = { "/", "/a", "/a-b_c@D9/Z",
                                         "/local/domain/5/device/vif/0" };
    unsigned int i;
    char *p;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!xs_path_valid(st, bad[i]), "accepted '%s'", bad[i]);
        if (bad[i][0] == '/') {
            ck_assert_int_eq(wr(&tool, NULL, bad[i], "v"), EINVAL);
            ck_assert_int_eq(rd_errno(&tool, NULL, bad[i]), EINVAL);
            ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, bad[i]),
                             EINVAL);
        }
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(xs_path_valid(st, good[i]), "refused '%s'", good[i]);
    ck_assert_uint_eq(xs_store_count(st), 3);

    /* 2048 characters beyond "/local/domain/<id>/", else in total. */
    p = long_path("/local/domain/5/", 16 + 2048);
    ck_assert(xs_path_valid(st, p));
    ck_assert_int_eq(wr(&tool, NULL, p, "v"), 0);
    free(p);
    p = long_path("/local/domain/5/", 16 + 2049);
    ck_assert(!xs_path_valid(st, p));
    ck_assert_int_eq(wr(&tool, NULL, p, "v"), EINVAL);
    free(p);
    p = long_path("/local/domain/12345/", 20 + 2048);
    ck_assert(xs_path_valid(st, p));
    free(p);
    p = long_path("/", 2048);
    ck_assert(xs_path_valid(st, p));
    free(p);
    p = long_path("/", 2049);
    ck_assert(!xs_path_valid(st, p));
    free(p);
    p = long_path("/local/domain/x", 2049);
    ck_assert(!xs_path_valid(st, p));
    free(p);

    /* The limit is the max_path_len quota. */
    xs_store_quota(st)->max_path_len = 10;
    ck_assert(xs_path_valid(st, "/local/domain/5/0123456789"));
    ck_assert(!xs_path_valid(st, "/local/domain/5/0123456789a"));
    ck_assert(xs_path_valid(st, "/123456789"));
    ck_assert(!xs_path_valid(st, "/1234567890"));
}
END_TEST

START_TEST(invalid_path_errno_from_parents)
{
    make_home(5);

    /*
     * xenstored's get_node() passes EINVAL through errno_from_parents()
     * too: a caller that may not access the nearest existing ancestor
     * learns nothing, not even that the name is malformed.
     */
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/a b", "v"), EINVAL);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/local/domain/5/x/"), EINVAL);
    ck_assert_int_eq(wr(&d5, NULL, "/a b", "v"), EACCES);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/local/domain/6/x/"), EACCES);
    ck_assert_int_eq(xs_store_rm(st, &d5, NULL, "/x//y"), EACCES);
    ck_assert_int_eq(wr(&tool, NULL, "/a b", "v"), EINVAL);
    ck_assert_int_eq(rd_errno(&tool, NULL, "/local/domain/6/x/"), EINVAL);
}
END_TEST

/* ---------------------------------------------------------------- */
/* the watch hook */

START_TEST(hook_on_write_and_mkdir)
{
    ck_assert_int_eq(wr(&tool, NULL, "/x/y/z", "1"), 0);
    /* Once, for the written path, not the implicit parents. */
    ck_assert_uint_eq(nev, 1);
    CK_EV(0, "/x/y/z", false);
    ck_assert_uint_eq(evs[0].nold, 0);
    /* After the change. */
    ck_assert(evs[0].existed);

    /* Every write fires, even with the same value. */
    ck_assert_int_eq(wr(&tool, NULL, "/x/y/z", "1"), 0);
    ck_assert_uint_eq(nev, 2);
    CK_EV(1, "/x/y/z", false);

    /* mkdir of an existing node: nothing. */
    ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, "/x/y"), 0);
    ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, "/x/y/z"), 0);
    ck_assert_uint_eq(nev, 2);
    /* mkdir of a new one: once. */
    ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, "/x/q/r"), 0);
    ck_assert_uint_eq(nev, 3);
    CK_EV(2, "/x/q/r", false);

    /* Failures fire nothing. */
    ck_assert_int_eq(wr(&d5, NULL, "/x/y/z", "2"), EACCES);
    ck_assert_int_eq(xs_store_mkdir(st, &d5, NULL, "/x/n"), EACCES);
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/x/nope"), 0);
    ck_assert_uint_eq(nev, 3);
}
END_TEST

START_TEST(hook_on_rm)
{
    unsigned int i;

    ck_assert_int_eq(wr(&tool, NULL, "/r/a/1", ""), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/r/a/2", ""), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/r/b", ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/r/a/2", "n0 r5"), 0);
    nev = 0;

    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/r"), 0);
    /* Descendants exact, children first; the root of the removal last. */
    ck_assert_uint_eq(nev, 5);
    CK_EV(0, "/r/a/1", true);
    CK_EV(1, "/r/a/2", true);
    CK_EV(2, "/r/a", true);
    CK_EV(3, "/r/b", true);
    CK_EV(4, "/r", false);
    for (i = 0; i < 5; i++) {
        /* Before the node goes, with its permissions. */
        ck_assert(evs[i].existed);
        ck_assert_uint_eq(evs[i].nold, i == 1 ? 2 : 1);
    }
    ck_assert_str_eq(print_perms(evs[1].old, evs[1].nold), "n0 r5");
    ck_assert_str_eq(print_perms(evs[4].old, evs[4].nold), "n0");
    ck_assert_uint_eq(xs_store_count(st), 3);
}
END_TEST

START_TEST(hook_on_set_perms)
{
    ck_assert_int_eq(wr(&tool, NULL, "/p", ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/p", "n0 r5"), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/p", "n0"), 0);
    ck_assert_uint_eq(nev, 3);
    CK_EV(1, "/p", false);
    ck_assert_str_eq(print_perms(evs[1].old, evs[1].nold), "n0");
    CK_EV(2, "/p", false);
    ck_assert_str_eq(print_perms(evs[2].old, evs[2].nold), "n0 r5");
    ck_assert_str_eq(perms_of("/p"), "n0");

    /* Refused changes fire nothing. */
    ck_assert_int_eq(setp(&d5, NULL, "/p", "n5"), EACCES);
    ck_assert_uint_eq(nev, 3);
}
END_TEST

/* ---------------------------------------------------------------- */
/* generations */

START_TEST(generation_changes_on_write)
{
    uint64_t g, gx, gen;
    const char *ch;
    uint32_t len;

    ck_assert_int_eq(wr(&tool, NULL, "/g", "v"), 0);
    g = gen_of("/g");
    ck_assert_int_eq(xs_store_directory(st, &tool, NULL, "/g", &ch, &len,
                                        &gen),
                     0);
    ck_assert_uint_eq(gen, g);

    /* Reading changes nothing. */
    CK_READ(&tool, NULL, "/g", "v");
    ck_assert_uint_eq(gen_of("/g"), g);

    /* A new child rewrites the parent. */
    ck_assert_int_eq(wr(&tool, NULL, "/g/x", "1"), 0);
    ck_assert_uint_gt(gen_of("/g"), g);
    g = gen_of("/g");
    gx = gen_of("/g/x");

    /* Rewriting a child does not touch the parent. */
    ck_assert_int_eq(wr(&tool, NULL, "/g/x", "2"), 0);
    ck_assert_uint_eq(gen_of("/g"), g);
    ck_assert_uint_gt(gen_of("/g/x"), gx);

    /* Writing the node, its permissions, removing a child: all count. */
    ck_assert_int_eq(wr(&tool, NULL, "/g", "w"), 0);
    ck_assert_uint_gt(gen_of("/g"), g);
    g = gen_of("/g");
    ck_assert_int_eq(setp(&tool, NULL, "/g", "n0 r1"), 0);
    ck_assert_uint_gt(gen_of("/g"), g);
    g = gen_of("/g");
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/g/x"), 0);
    ck_assert_uint_gt(gen_of("/g"), g);
    g = gen_of("/g");
    ck_assert_int_eq(xs_store_mkdir(st, &tool, NULL, "/g"), 0);
    ck_assert_uint_eq(gen_of("/g"), g);
}
END_TEST

/* ---------------------------------------------------------------- */
/* transactions */

START_TEST(txn_isolation_and_commit)
{
    struct xs_txn *t;

    ck_assert_int_eq(wr(&tool, NULL, "/t", "old"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/t/gone", "g"), 0);
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    ck_assert_int_eq(wr(&tool, t, "/t", "new"), 0);
    ck_assert_int_eq(wr(&tool, t, "/t/n/m", "x"), 0);
    ck_assert_int_eq(xs_store_rm(st, &tool, t, "/t/gone"), 0);

    /* Inside: the transaction's view. */
    CK_READ(&tool, t, "/t", "new");
    CK_READ(&tool, t, "/t/n/m", "x");
    ck_assert_int_eq(rd_errno(&tool, t, "/t/gone"), ENOENT);
    CK_DIR(&tool, t, "/t", "n\0");

    /* Outside: nothing yet. */
    CK_READ(&tool, NULL, "/t", "old");
    ck_assert_int_eq(rd_errno(&tool, NULL, "/t/n"), ENOENT);
    CK_READ(&tool, NULL, "/t/gone", "g");
    CK_DIR(&tool, NULL, "/t", "gone\0");
    ck_assert_uint_eq(xs_store_count(st), 3 + 2);

    ck_assert_int_eq(xs_txn_end(st, t, true), 0);
    CK_READ(&tool, NULL, "/t", "new");
    CK_READ(&tool, NULL, "/t/n/m", "x");
    ck_assert_int_eq(rd_errno(&tool, NULL, "/t/gone"), ENOENT);
    CK_DIR(&tool, NULL, "/t", "n\0");
    ck_assert_uint_eq(xs_store_count(st), 3 + 3);
}
END_TEST

START_TEST(txn_abort_discards)
{
    struct xs_txn *t;

    make_home(5);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/a", "1"), 0);
    nev = 0;
    ck_assert_int_eq(xs_txn_start(st, &d5, &t), 0);
    ck_assert_int_eq(wr(&d5, t, "/local/domain/5/a", "2"), 0);
    ck_assert_int_eq(wr(&d5, t, "/local/domain/5/b/c", "3"), 0);
    ck_assert_int_eq(setp(&d5, t, "/local/domain/5/a", "n5 r6"), 0);
    ck_assert_int_eq(xs_store_rm(st, &d5, t, "/local/domain/5"), 0);
    ck_assert_int_eq(xs_txn_end(st, t, false), 0);

    ck_assert_uint_eq(nev, 0);
    CK_READ(&d5, NULL, "/local/domain/5/a", "1");
    ck_assert_str_eq(perms_of("/local/domain/5/a"), "n5");
    ck_assert_int_eq(rd_errno(&d5, NULL, "/local/domain/5/b"), ENOENT);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 2);
}
END_TEST

START_TEST(txn_conflict_on_changed_node)
{
    struct xs_txn *t;

    ck_assert_int_eq(wr(&tool, NULL, "/c", "1"), 0);
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    CK_READ(&tool, t, "/c", "1");
    ck_assert_int_eq(wr(&tool, NULL, "/c", "2"), 0);
    /* The transaction keeps its snapshot. */
    CK_READ(&tool, t, "/c", "1");
    ck_assert_int_eq(wr(&tool, t, "/c/x", "x"), 0);
    nev = 0;
    ck_assert_int_eq(xs_txn_end(st, t, true), EAGAIN);
    ck_assert_uint_eq(nev, 0);
    CK_READ(&tool, NULL, "/c", "2");
    ck_assert_int_eq(rd_errno(&tool, NULL, "/c/x"), ENOENT);
}
END_TEST

START_TEST(txn_conflict_on_created_node)
{
    struct xs_txn *t;

    ck_assert_int_eq(wr(&tool, NULL, "/c", "1"), 0);
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    ck_assert_int_eq(rd_errno(&tool, t, "/c/m"), ENOENT);
    ck_assert_int_eq(wr(&tool, NULL, "/c/m", "new"), 0);
    ck_assert_int_eq(wr(&tool, t, "/other", "x"), 0);
    ck_assert_int_eq(xs_txn_end(st, t, true), EAGAIN);
    ck_assert_int_eq(rd_errno(&tool, NULL, "/other"), ENOENT);
}
END_TEST

START_TEST(txn_conflict_on_deleted_node)
{
    struct xs_txn *t;

    ck_assert_int_eq(wr(&tool, NULL, "/c/d", "1"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/u", "1"), 0);
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    CK_READ(&tool, t, "/c/d", "1");
    ck_assert_int_eq(wr(&tool, t, "/u", "2"), 0);
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/c/d"), 0);
    CK_READ(&tool, t, "/c/d", "1");
    ck_assert_int_eq(xs_txn_end(st, t, true), EAGAIN);
    CK_READ(&tool, NULL, "/u", "1");
}
END_TEST

START_TEST(txn_no_conflict_for_unrelated_nodes)
{
    struct xs_txn *t, *t2;

    ck_assert_int_eq(wr(&tool, NULL, "/c", "1"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/u", "1"), 0);
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    CK_READ(&tool, t, "/c", "1");
    ck_assert_int_eq(wr(&tool, t, "/c", "2"), 0);
    /* Changes to nodes the transaction never looked at. */
    ck_assert_int_eq(wr(&tool, NULL, "/u", "2"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/u/new", "n"), 0);
    ck_assert_int_eq(xs_store_rm(st, &tool, NULL, "/tool/xenstored"), 0);
    ck_assert_int_eq(xs_txn_end(st, t, true), 0);
    CK_READ(&tool, NULL, "/c", "2");
    CK_READ(&tool, NULL, "/u", "2");

    /* Two transactions on one node: the first to commit wins. */
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    ck_assert_int_eq(xs_txn_start(st, &tool, &t2), 0);
    ck_assert_int_eq(wr(&tool, t, "/c", "t1"), 0);
    ck_assert_int_eq(rd_errno(&tool, t2, "/c"), 0);
    ck_assert_int_eq(wr(&tool, t2, "/c", "t2"), 0);
    ck_assert_int_eq(xs_txn_end(st, t, true), 0);
    ck_assert_int_eq(xs_txn_end(st, t2, true), EAGAIN);
    CK_READ(&tool, NULL, "/c", "t1");

    /* An empty transaction commits. */
    ck_assert_int_eq(xs_txn_start(st, &d5, &t), 0);
    ck_assert_int_eq(xs_txn_end(st, t, true), 0);
}
END_TEST

START_TEST(txn_hook_fires_on_commit_in_order)
{
    struct xs_txn *t;

    ck_assert_int_eq(wr(&tool, NULL, "/h/0/c", ""), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/h/3", ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/h/0", "n0 r5"), 0);
    nev = 0;
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    ck_assert_int_eq(wr(&tool, t, "/h/1", "a"), 0);
    ck_assert_int_eq(xs_store_mkdir(st, &tool, t, "/h/2"), 0);
    ck_assert_int_eq(setp(&tool, t, "/h/3", "n0 b6"), 0);
    ck_assert_int_eq(xs_store_rm(st, &tool, t, "/h/0"), 0);
    /* mkdir of an existing node fires nothing in a transaction either. */
    ck_assert_int_eq(xs_store_mkdir(st, &tool, t, "/h"), 0);
    ck_assert_uint_eq(nev, 0);

    ck_assert_int_eq(xs_txn_end(st, t, true), 0);
    /*
     * One event per changed node, in the order the transaction first
     * touched them (xenstored walks its accessed-node list): the root of
     * a removal comes before its descendants.
     */
    ck_assert_uint_eq(nev, 5);
    CK_EV(0, "/h/1", false);
    CK_EV(1, "/h/2", false);
    CK_EV(2, "/h/3", false);
    CK_EV(3, "/h/0", false);
    CK_EV(4, "/h/0/c", true);
    /* With the permissions from before the transaction, if any. */
    ck_assert_uint_eq(evs[0].nold, 0);
    ck_assert_str_eq(print_perms(evs[2].old, evs[2].nold), "n0");
    ck_assert_str_eq(print_perms(evs[3].old, evs[3].nold), "n0 r5");
    /* Fired after the commit is applied. */
    ck_assert(evs[0].existed);
    ck_assert(!evs[3].existed);
    ck_assert_str_eq(perms_of("/h/3"), "n0 b6");

    /* A failed commit fires nothing. */
    nev = 0;
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    ck_assert_int_eq(rd_errno(&tool, t, "/h/1"), 0);
    ck_assert_int_eq(wr(&tool, t, "/h/1", "b"), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/h/1", "c"), 0);
    ck_assert_uint_eq(nev, 1);
    ck_assert_int_eq(xs_txn_end(st, t, true), EAGAIN);
    ck_assert_uint_eq(nev, 1);
}
END_TEST

START_TEST(txn_hook_one_event_per_node)
{
    struct xs_txn *t;

    ck_assert_int_eq(wr(&tool, NULL, "/h/a", ""), 0);
    ck_assert_int_eq(wr(&tool, NULL, "/h/r/c", ""), 0);
    nev = 0;
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    /* Touched first by a read: its event comes first. */
    CK_READ(&tool, t, "/h/a", "");
    ck_assert_int_eq(wr(&tool, t, "/h/b", "1"), 0);
    ck_assert_int_eq(wr(&tool, t, "/h/b", "2"), 0);
    ck_assert_int_eq(setp(&tool, t, "/h/b", "n0 r5"), 0);
    ck_assert_int_eq(wr(&tool, t, "/h/a", "x"), 0);
    /* Removed (exact) then written again (not exact): not exact wins. */
    ck_assert_int_eq(xs_store_rm(st, &tool, t, "/h/r"), 0);
    ck_assert_int_eq(wr(&tool, t, "/h/r/c", "again"), 0);
    ck_assert_int_eq(xs_txn_end(st, t, true), 0);

    ck_assert_uint_eq(nev, 4);
    CK_EV(0, "/h/a", false);
    CK_EV(1, "/h/b", false);
    CK_EV(2, "/h/r", false);
    CK_EV(3, "/h/r/c", false);
    CK_READ(&tool, NULL, "/h/r/c", "again");
    CK_READ(&tool, NULL, "/h/b", "2");
}
END_TEST

START_TEST(txn_owned_nodes_follow_commit)
{
    struct xs_txn *t;

    make_home(5);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/a", ""), 0);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/b", ""), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 3);
    ck_assert_int_eq(xs_txn_start(st, &d5, &t), 0);
    ck_assert_int_eq(xs_store_rm(st, &d5, t, "/local/domain/5/a"), 0);
    ck_assert_int_eq(wr(&d5, t, "/local/domain/5/c/d", ""), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 3);
    ck_assert_int_eq(xs_txn_end(st, t, true), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 4);

    ck_assert_int_eq(xs_txn_start(st, &d5, &t), 0);
    ck_assert_int_eq(xs_store_rm(st, &d5, t, "/local/domain/5/c"), 0);
    ck_assert_int_eq(xs_txn_end(st, t, false), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 4);
}
END_TEST

START_TEST(txn_node_quota)
{
    struct xs_txn *t;
    char path[64];
    unsigned int i;
    int err = 0;

    make_home(5);
    xs_store_quota(st)->nodes_per_txn = 4;
    nev = 0;

    /*
     * Each new node touches itself; the first also its parent: nodes 5
     * (home), k0, k1, k2 fill the quota, k3 is refused.
     */
    ck_assert_int_eq(xs_txn_start(st, &d5, &t), 0);
    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "/local/domain/5/k%u", i);
        err = wr(&d5, t, path, "v");
        if (err)
            break;
    }
    ck_assert_int_eq(err, ENOSPC);
    ck_assert_uint_eq(i, 3);
    /* Already-touched nodes stay usable. */
    ck_assert_int_eq(wr(&d5, t, "/local/domain/5/k0", "w"), 0);
    ck_assert_int_eq(rd_errno(&d5, t, "/local/domain/5/other"), ENOSPC);
    /* The transaction has failed: it cannot commit (ENOMEM in 4.17). */
    ck_assert_int_eq(xs_txn_end(st, t, true), ENOMEM);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/local/domain/5/k0"), ENOENT);
    ck_assert_uint_eq(nev, 0);

    /* The toolstack is not limited. */
    ck_assert_int_eq(xs_txn_start(st, &tool, &t), 0);
    for (i = 0; i < 10; i++) {
        snprintf(path, sizeof(path), "/local/domain/5/k%u", i);
        ck_assert_int_eq(wr(&tool, t, path, "v"), 0);
    }
    ck_assert_int_eq(xs_txn_end(st, t, true), 0);
    CK_READ(&d5, NULL, "/local/domain/5/k9", "v");
}
END_TEST

/* ---------------------------------------------------------------- */
/* quotas */

START_TEST(quota_nodes_per_domain)
{
    char path[64];
    unsigned int i, count;

    make_home(5);
    xs_store_quota(st)->nodes_per_domain = 5;
    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "/local/domain/5/k%u", i);
        ck_assert_int_eq(wr(&d5, NULL, path, "v"), 0);
    }
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 5);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/k4", "v"), ENOSPC);
    ck_assert_int_eq(xs_store_mkdir(st, &d5, NULL, "/local/domain/5/k4"),
                     ENOSPC);
    /* Existing nodes can still be written. */
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/k0", "w"), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 5);

    /* Removing frees room. */
    ck_assert_int_eq(xs_store_rm(st, &d5, NULL, "/local/domain/5/k0"), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 4);

    /* A creation that does not fit leaves nothing behind. */
    count = xs_store_count(st);
    nev = 0;
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/x/y/z", "v"), ENOSPC);
    ck_assert_uint_eq(xs_store_count(st), count);
    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5/x"));
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 4);
    CK_DIR(&d5, NULL, "/local/domain/5", "k1\0k2\0k3\0");
    ck_assert_uint_eq(nev, 0);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/x", "v"), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 5);

    /* The toolstack is not limited (and its nodes here are d5's). */
    ck_assert_int_eq(wr(&tool, NULL, "/local/domain/5/t/u", "v"), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 7);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/y", "v"), ENOSPC);
}
END_TEST

START_TEST(quota_nodes_checked_at_commit)
{
    struct xs_txn *t;

    make_home(5);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/a", ""), 0);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/b", ""), 0);
    xs_store_quota(st)->nodes_per_domain = 4;

    /* Room for one more when the transaction creates it ... */
    ck_assert_int_eq(xs_txn_start(st, &d5, &t), 0);
    ck_assert_int_eq(wr(&d5, t, "/local/domain/5/a/k", "v"), 0);
    /* ... but the domain takes it meanwhile, without a conflict. */
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/b/k", "v"), 0);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 4);
    ck_assert_int_eq(xs_txn_end(st, t, true), ENOSPC);
    ck_assert_int_eq(rd_errno(&d5, NULL, "/local/domain/5/a/k"), ENOENT);
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 4);
}
END_TEST

START_TEST(quota_entry_size)
{
    /* xenstored: 24 bytes of header + 8 per perm + data + children. */
    const uint32_t max = 2048;
    char *big = malloc(4096);
    unsigned int i;

    ck_assert_ptr_nonnull(big);
    memset(big, 'v', 4096);
    make_home(5);

    /* One perm: up to 2047 - 32 bytes of data. */
    ck_assert_int_eq(xs_store_write(st, &d5, NULL, "/local/domain/5/a", big,
                                    max - 1 - 32),
                     0);
    ck_assert_int_eq(xs_store_write(st, &d5, NULL, "/local/domain/5/a", big,
                                    max - 1 - 32),
                     0);
    ck_assert_int_eq(xs_store_write(st, &d5, NULL, "/local/domain/5/a", big,
                                    max - 32),
                     ENOSPC);
    ck_assert_int_eq(xs_store_write(st, &d5, NULL, "/local/domain/5/b", big,
                                    max - 32),
                     ENOSPC);
    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5/b"));
    /* A full node takes no children: it would be rewritten bigger. */
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/a/x", ""), ENOSPC);
    ck_assert_int_eq(xs_store_mkdir(st, &d5, NULL, "/local/domain/5/a/x/y"),
                     ENOSPC);
    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5/a/x"));
    CK_DIR(&d5, NULL, "/local/domain/5/a", "");

    /* More perms, less room. */
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/c", ""), 0);
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/c", "n5 r1 r2 r3"),
                     0);
    ck_assert_int_eq(xs_store_write(st, &d5, NULL, "/local/domain/5/c", big,
                                    max - 1 - 24 - 32),
                     0);
    ck_assert_int_eq(xs_store_write(st, &d5, NULL, "/local/domain/5/c", big,
                                    max - 24 - 32),
                     ENOSPC);
    /* ... which counts for permission changes too. */
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/c", "n5 r1 r2 r3 r4"),
                     ENOSPC);
    ck_assert_str_eq(perms_of("/local/domain/5/c"), "n5 r1 r2 r3");

    /* A new child grows its parent's entry, which must still fit. */
    for (i = 0; i < 8; i++) {
        ck_assert_int_eq(wr(&d5, NULL, name250("/local/domain/5/d/", i), ""),
                         0);
    }
    /* "d": 32 + 8 * 251 = 2040 bytes; one more name does not fit. */
    ck_assert_int_eq(wr(&d5, NULL, name250("/local/domain/5/d/", 8), ""),
                     ENOSPC);
    ck_assert_ptr_null(
        xs_store_lookup(st, name250("/local/domain/5/d/", 8)));
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/d/short", ""), 0);

    /* None of it applies to the toolstack. */
    ck_assert_int_eq(xs_store_write(st, &tool, NULL, "/local/domain/5/a",
                                    big, 4000),
                     0);
    ck_assert_int_eq(wr(&tool, NULL, name250("/local/domain/5/d/", 8), ""),
                     0);
    free(big);
}
END_TEST

START_TEST(quota_entry_size_fails_txn)
{
    static char big[2048];
    struct xs_txn *t;

    make_home(5);
    memset(big, 'v', sizeof(big));
    ck_assert_int_eq(xs_txn_start(st, &d5, &t), 0);
    ck_assert_int_eq(wr(&d5, t, "/local/domain/5/a", "1"), 0);
    ck_assert_int_eq(xs_store_write(st, &d5, t, "/local/domain/5/a", big,
                                    sizeof(big)),
                     ENOSPC);
    /* As xenstored's write_node(): the transaction cannot commit. */
    ck_assert_int_eq(xs_txn_end(st, t, true), ENOMEM);
    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5/a"));
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 1);
}
END_TEST

START_TEST(quota_perms_per_node)
{
    make_home(5);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/p", ""), 0);
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/p", "n5 r1 r2 r3 r4"),
                     0);
    ck_assert_int_eq(
        setp(&d5, NULL, "/local/domain/5/p", "n5 r1 r2 r3 r4 r6"), ENOSPC);
    ck_assert_str_eq(perms_of("/local/domain/5/p"), "n5 r1 r2 r3 r4");
    ck_assert_int_eq(
        setp(&tool, NULL, "/local/domain/5/p", "n5 r1 r2 r3 r4 r6 r7"), 0);

    xs_store_quota(st)->perms_per_node = 2;
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/p", "n5 r1"), 0);
    ck_assert_int_eq(setp(&d5, NULL, "/local/domain/5/p", "n5 r1 r2"),
                     ENOSPC);
    ck_assert_int_eq(setp(&tool, NULL, "@releaseDomain", "n0 r1 r2"), 0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* domain death */

START_TEST(domain_gone_removes_and_forgets)
{
    unsigned int i;
    bool seen_home = false, seen_vm = false;

    make_home(5);
    ck_assert_int_eq(wr(&d5, NULL, "/local/domain/5/a/b", "1"), 0);
    /* Owned by 0, but beneath d5's home: goes with it. */
    ck_assert_int_eq(wr(&tool, NULL, "/local/domain/5/zero", ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/local/domain/5/zero", "n0"), 0);
    /* Owned by 5 beneath a node owned by 0. */
    ck_assert_int_eq(wr(&tool, NULL, "/vm/5/owned/x", ""), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/vm/5/owned", "n5"), 0);
    /* Permissions for 5 on nodes it does not own. */
    ck_assert_int_eq(wr(&tool, NULL, "/shared", "s"), 0);
    ck_assert_int_eq(setp(&tool, NULL, "/shared", "n0 r5 b7 w5"), 0);
    ck_assert_int_eq(setp(&tool, NULL, "@releaseDomain", "n0 r5 r7"), 0);
    ck_assert_int_eq(setp(&tool, NULL, "@introduceDomain", "n5 r7"), 0);
    CK_READ(&d5, NULL, "/shared", "s");
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 4);
    nev = 0;

    xs_store_domain_gone(st, 5);

    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5"));
    ck_assert_ptr_null(xs_store_lookup(st, "/local/domain/5/zero"));
    ck_assert_ptr_null(xs_store_lookup(st, "/vm/5/owned"));
    ck_assert_ptr_null(xs_store_lookup(st, "/vm/5/owned/x"));
    ck_assert_ptr_nonnull(xs_store_lookup(st, "/vm/5"));
    CK_DIR(&tool, NULL, "/vm/5", "");
    CK_DIR(&tool, NULL, "/local/domain", "");
    ck_assert_uint_eq(xs_store_domain_nodes(st, 5), 0);

    /* Watches fired for every removed node. */
    ck_assert_uint_eq(nev, 6);
    for (i = 0; i < nev; i++) {
        if (!strcmp(evs[i].path, "/local/domain/5")) {
            ck_assert(!evs[i].exact);
            seen_home = true;
        } else if (!strcmp(evs[i].path, "/vm/5/owned")) {
            ck_assert(!evs[i].exact);
            seen_vm = true;
        } else {
            ck_assert_msg(evs[i].exact, "%s not exact", evs[i].path);
        }
    }
    ck_assert(seen_home && seen_vm);

    /* What remains no longer mentions 5 (XSA-322). */
    ck_assert_str_eq(perms_of("/shared"), "n0 b7");
    ck_assert_str_eq(special_of("@releaseDomain"), "n0 r7");
    ck_assert_str_eq(special_of("@introduceDomain"), "n0 r7");
    /* A new domain 5 inherits nothing. */
    ck_assert_int_eq(rd_errno(&d5, NULL, "/shared"), EACCES);
    CK_READ(&d7, NULL, "/shared", "s");
    ck_assert_int_eq(wr(&d5, NULL, "/vm/5/x", ""), EACCES);

    /* Nothing left to do a second time. */
    nev = 0;
    xs_store_domain_gone(st, 5);
    ck_assert_uint_eq(nev, 0);
}
END_TEST

static Suite *xsstore_suite(void)
{
    Suite *s = suite_create("xs-store");
    TCase *tc;

    tc = tcase_create("perms");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, initial_tree);
    tcase_add_test(tc, perm_for_rules);
    tcase_add_test(tc, perm_strings);
    tcase_add_test(tc, new_nodes_inherit_parent_perms);
    tcase_add_test(tc, create_needs_write_on_nearest_ancestor);
    tcase_add_test(tc, missing_node_errno);
    tcase_add_test(tc, set_perms_rules);
    tcase_add_test(tc, special_node_perms);
    suite_add_tcase(s, tc);

    tc = tcase_create("nodes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, write_read_directory);
    tcase_add_test(tc, rm_semantics);
    tcase_add_test(tc, rm_permissions);
    tcase_add_test(tc, path_validation);
    tcase_add_test(tc, invalid_path_errno_from_parents);
    tcase_add_test(tc, generation_changes_on_write);
    suite_add_tcase(s, tc);

    tc = tcase_create("hook");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, hook_on_write_and_mkdir);
    tcase_add_test(tc, hook_on_rm);
    tcase_add_test(tc, hook_on_set_perms);
    suite_add_tcase(s, tc);

    tc = tcase_create("txn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, txn_isolation_and_commit);
    tcase_add_test(tc, txn_abort_discards);
    tcase_add_test(tc, txn_conflict_on_changed_node);
    tcase_add_test(tc, txn_conflict_on_created_node);
    tcase_add_test(tc, txn_conflict_on_deleted_node);
    tcase_add_test(tc, txn_no_conflict_for_unrelated_nodes);
    tcase_add_test(tc, txn_hook_fires_on_commit_in_order);
    tcase_add_test(tc, txn_hook_one_event_per_node);
    tcase_add_test(tc, txn_owned_nodes_follow_commit);
    tcase_add_test(tc, txn_node_quota);
    suite_add_tcase(s, tc);

    tc = tcase_create("quota");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, quota_nodes_per_domain);
    tcase_add_test(tc, quota_nodes_checked_at_commit);
    tcase_add_test(tc, quota_entry_size);
    tcase_add_test(tc, quota_entry_size_fails_txn);
    tcase_add_test(tc, quota_perms_per_node);
    suite_add_tcase(s, tc);

    tc = tcase_create("domain");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, domain_gone_removes_and_forgets);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xsstore_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
