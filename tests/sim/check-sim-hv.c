/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated hypervisor through the real Xen client ABI: this program
 * is linked against Debian's libxengnttab, libxenevtchn and libxenctrl and
 * runs with the simulator's shims on its library path.  Covers grant
 * sharing and mapping with their refusals (wrong grantee, read-only,
 * ended or bad references, end of access while mapped, mapping again
 * while mapped), grant copy with Xen's per-segment statuses (also for a
 * grant revoked while mapped, and after the granter's domid was reused:
 * the shim's own copy path must agree with simd), fault injection,
 * event-channel binding (above the kernel's low ports), delivery,
 * masking and coalescing, peer close and rebind, restriction,
 * errors for ports the handle does not own, and libxenctrl's privilege
 * check.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "simtest.h"

#define PAGE 4096

static xengntshr_handle *shr_open(uint32_t dom)
{
    xengntshr_handle *h;

    simtest_enter(dom);
    h = xengntshr_open(NULL, 0);
    ck_assert_msg(h, "xengntshr_open: %s", strerror(errno));
    return h;
}

static xengnttab_handle *tab_open(uint32_t dom)
{
    xengnttab_handle *h;

    simtest_enter(dom);
    h = xengnttab_open(NULL, 0);
    ck_assert_msg(h, "xengnttab_open: %s", strerror(errno));
    return h;
}

static xenevtchn_handle *evt_open(uint32_t dom)
{
    xenevtchn_handle *h;

    simtest_enter(dom);
    h = xenevtchn_open(NULL, 0);
    ck_assert_msg(h, "xenevtchn_open: %s", strerror(errno));
    return h;
}

static void grant_status(uint32_t dom, uint32_t ref, char *out, size_t len)
{
    ck_assert_int_eq(simtest_sim(out, len, "ctl grant-status %u %u", dom, ref),
                     0);
}

/* ---------------------------------------------------------------- */

START_TEST(grant_share_map_rw)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), refs[2];
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    uint8_t *pa, *pb;

    pa = xengntshr_share_pages(sa, b, 2, refs, 1);
    ck_assert_ptr_nonnull(pa);
    ck_assert_uint_ge(refs[0], 8); /* refs 0-7 are reserved */
    ck_assert_uint_ne(refs[0], refs[1]);
    /* Fresh shared pages are zero. */
    ck_assert_uint_eq(pa[0] | pa[PAGE + 4095], 0);
    memset(pa, 0xa5, 2 * PAGE);

    pb = xengnttab_map_domain_grant_refs(tb, 2, a, refs,
                                         PROT_READ | PROT_WRITE);
    ck_assert_msg(pb, "map: %s", strerror(errno));
    ck_assert_uint_eq(pb[0], 0xa5);
    ck_assert_uint_eq(pb[2 * PAGE - 1], 0xa5);
    pb[PAGE + 7] = 0x3c;
    ck_assert_uint_eq(pa[PAGE + 7], 0x3c);

    ck_assert_int_eq(xengnttab_unmap(tb, pb, 2), 0);
    /* Unmapping what is not mapped is refused. */
    ck_assert_int_eq(xengnttab_unmap(tb, pb, 2), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(xengntshr_unshare(sa, pa, 2), 0);
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

START_TEST(grant_readonly_cannot_be_written)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), ref;
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    uint8_t *pa, *pb;

    pa = xengntshr_share_pages(sa, b, 1, &ref, 0);
    ck_assert_ptr_nonnull(pa);
    pa[100] = 42;
    /* Writable mapping of a read-only grant: refused. */
    ck_assert_ptr_null(xengnttab_map_grant_ref(tb, a, ref,
                                               PROT_READ | PROT_WRITE));
    ck_assert_int_eq(errno, EINVAL);
    pb = xengnttab_map_grant_ref(tb, a, ref, PROT_READ);
    ck_assert_ptr_nonnull(pb);
    ck_assert_uint_eq(pb[100], 42);
    /* And it can never be made writable. */
    ck_assert_int_eq(mprotect(pb, PAGE, PROT_READ | PROT_WRITE), -1);
    ck_assert_int_eq(errno, EACCES);
    xengnttab_unmap(tb, pb, 1);
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

START_TEST(grant_only_grantee_may_map)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"),
             c = simtest_domain("c"), ref, bogus[2] = { 5, 30000 };
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tc = tab_open(c), *tb;
    void *pa = xengntshr_share_pages(sa, b, 1, &ref, 1);

    ck_assert_ptr_nonnull(pa);
    ck_assert_ptr_null(xengnttab_map_grant_ref(tc, a, ref, PROT_READ));
    ck_assert_int_eq(errno, EINVAL);
    tb = tab_open(b);
    /* Reserved and never-granted references. */
    ck_assert_ptr_null(xengnttab_map_grant_ref(tb, a, bogus[0], PROT_READ));
    ck_assert_ptr_null(xengnttab_map_grant_ref(tb, a, bogus[1], PROT_READ));
    /* A batch with one bad reference maps nothing. */
    bogus[0] = ref;
    ck_assert_ptr_null(
        xengnttab_map_domain_grant_refs(tb, 2, a, bogus, PROT_READ));
    {
        char st[256];

        grant_status(a, ref, st, sizeof(st));
        ck_assert_int_eq(simtest_field(st, "maps"), 0);
    }
    /* A domain that does not exist. */
    ck_assert_ptr_null(xengnttab_map_grant_ref(tb, 7777, ref, PROT_READ));
    xengnttab_close(tb);
    xengnttab_close(tc);
    xengntshr_close(sa);
}
END_TEST

START_TEST(grant_end_access_refused_while_mapped)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), ref;
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    char out[256];
    void *pa = xengntshr_share_pages(sa, b, 1, &ref, 1), *pb;

    ck_assert_ptr_nonnull(pa);
    pb = xengnttab_map_grant_ref(tb, a, ref, PROT_READ);
    ck_assert_ptr_nonnull(pb);
    grant_status(a, ref, out, sizeof(out));
    ck_assert_int_eq(simtest_field(out, "maps"), 1);
    ck_assert_int_ne(simtest_sim(out, sizeof(out), "ctl grant-end %u %u", a,
                                 ref),
                     0);
    ck_assert_msg(strstr(out, "ERR 16"), "expected EBUSY, got '%s'", out);
    ck_assert_int_eq(xengnttab_unmap(tb, pb, 1), 0);
    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl grant-end %u %u", a,
                                 ref),
                     0);
    /* Access has ended: the grantee can no longer map it. */
    ck_assert_ptr_null(xengnttab_map_grant_ref(tb, a, ref, PROT_READ));
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

/*
 * Xen checks a grant entry's flags only when nothing has it pinned: while
 * the grantee still maps it, it may map it again, even though the granter
 * has tried to end access (end-access refused, or the sharer let go).
 */
START_TEST(grant_map_again_while_mapped_after_end)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), ref, ref2;
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    uint8_t *pa = xengntshr_share_pages(sa, b, 1, &ref, 1), *p1, *p2, *p3;
    char out[256];

    ck_assert_ptr_nonnull(pa);
    memset(pa, 0x5a, PAGE);
    p1 = xengnttab_map_grant_ref(tb, a, ref, PROT_READ | PROT_WRITE);
    ck_assert_ptr_nonnull(p1);
    /* The sharer lets go while b maps it: b can map it again. */
    ck_assert_int_eq(xengntshr_unshare(sa, pa, 1), 0);
    p2 = xengnttab_map_grant_ref(tb, a, ref, PROT_READ | PROT_WRITE);
    ck_assert_msg(p2, "map again: %s", strerror(errno));
    ck_assert_uint_eq(p2[17], 0x5a);
    p2[18] = 0xc3;
    ck_assert_uint_eq(p1[18], 0xc3);
    grant_status(a, ref, out, sizeof(out));
    ck_assert_int_eq(simtest_field(out, "maps"), 2);
    /* Still mapped through p2: a third map works too. */
    ck_assert_int_eq(xengnttab_unmap(tb, p1, 1), 0);
    p3 = xengnttab_map_grant_ref(tb, a, ref, PROT_READ);
    ck_assert_ptr_nonnull(p3);
    ck_assert_int_eq(xengnttab_unmap(tb, p2, 1), 0);
    ck_assert_int_eq(xengnttab_unmap(tb, p3, 1), 0);
    /* The last mapping gone, so is the grant: no more maps. */
    grant_status(a, ref, out, sizeof(out));
    ck_assert_str_eq(out, "OK free");
    ck_assert_ptr_null(xengnttab_map_grant_ref(tb, a, ref, PROT_READ));

    /* End of access refused while mapped: the grant stays, maps too. */
    pa = xengntshr_share_pages(sa, b, 1, &ref2, 1);
    ck_assert_ptr_nonnull(pa);
    p1 = xengnttab_map_grant_ref(tb, a, ref2, PROT_READ);
    ck_assert_ptr_nonnull(p1);
    ck_assert_int_ne(simtest_sim(out, sizeof(out), "ctl grant-end %u %u", a,
                                 ref2),
                     0);
    p2 = xengnttab_map_grant_ref(tb, a, ref2, PROT_READ);
    ck_assert_ptr_nonnull(p2);
    ck_assert_int_eq(xengnttab_unmap(tb, p1, 1), 0);
    ck_assert_int_eq(xengnttab_unmap(tb, p2, 1), 0);
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

START_TEST(grant_unshare_while_mapped_keeps_page)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), ref;
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    uint8_t *pa = xengntshr_share_pages(sa, b, 1, &ref, 1), *pb;
    char out[256];

    ck_assert_ptr_nonnull(pa);
    memset(pa, 0x77, PAGE);
    pb = xengnttab_map_grant_ref(tb, a, ref, PROT_READ);
    ck_assert_ptr_nonnull(pb);
    ck_assert_int_eq(xengntshr_unshare(sa, pa, 1), 0);
    /* Like gntalloc: the grant lives on while mapped, page intact. */
    grant_status(a, ref, out, sizeof(out));
    ck_assert_int_eq(simtest_field(out, "revoked"), 1);
    ck_assert_int_eq(simtest_field(out, "maps"), 1);
    ck_assert_uint_eq(pb[4095], 0x77);
    ck_assert_int_eq(xengnttab_unmap(tb, pb, 1), 0);
    grant_status(a, ref, out, sizeof(out));
    ck_assert_str_eq(out, "OK free");
    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl stats %u", a), 0);
    ck_assert_int_eq(simtest_field(out, "pages"), 0);
    ck_assert_int_eq(simtest_field(out, "grants"), 0);
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

START_TEST(grant_copy_segments)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), refs[2];
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    xengnttab_grant_copy_segment_t seg[4];
    uint8_t *pa, local[PAGE], back[64];
    char out[256];
    unsigned int i;

    pa = xengntshr_share_pages(sa, b, 1, &refs[0], 1);
    ck_assert_ptr_nonnull(pa);
    ck_assert_ptr_nonnull(xengntshr_share_pages(sa, b, 1, &refs[1], 0));
    for (i = 0; i < PAGE; i++)
        pa[i] = (uint8_t)(i * 7);
    memset(local, 0, sizeof(local));
    memset(seg, 0, sizeof(seg));
    /* 0: gref -> local, whole page */
    seg[0].flags = GNTCOPY_source_gref;
    seg[0].source.foreign.domid = a;
    seg[0].source.foreign.ref = refs[0];
    seg[0].dest.virt = local;
    seg[0].len = PAGE;
    /* 1: local -> gref at an offset */
    seg[1].flags = GNTCOPY_dest_gref;
    seg[1].source.virt = "hello, grant";
    seg[1].dest.foreign.domid = a;
    seg[1].dest.foreign.ref = refs[0];
    seg[1].dest.foreign.offset = 1000;
    seg[1].len = 12;
    /* 2: bad reference */
    seg[2].flags = GNTCOPY_source_gref;
    seg[2].source.foreign.domid = a;
    seg[2].source.foreign.ref = 31000;
    seg[2].dest.virt = back;
    seg[2].len = 8;
    /* 3: write into a read-only grant (Xen: "Attempt to write-pin a r/o
     * grant entry", a general error) */
    seg[3].flags = GNTCOPY_dest_gref;
    seg[3].source.virt = back;
    seg[3].dest.foreign.domid = a;
    seg[3].dest.foreign.ref = refs[1];
    seg[3].len = 8;
    ck_assert_int_eq(xengnttab_grant_copy(tb, 4, seg), 0);
    ck_assert_int_eq(seg[0].status, GNTST_okay);
    ck_assert_int_eq(seg[1].status, GNTST_okay);
    ck_assert_int_eq(seg[2].status, GNTST_bad_gntref);
    ck_assert_int_eq(seg[3].status, GNTST_general_error);
    for (i = 0; i < PAGE; i++)
        ck_assert_uint_eq(local[i], (uint8_t)(i * 7));
    ck_assert_int_eq(memcmp(pa + 1000, "hello, grant", 12), 0);
    /* The copy released its hold on the grants. */
    grant_status(a, refs[0], out, sizeof(out));
    ck_assert_int_eq(simtest_field(out, "pins"), 0);

    /* Crossing the page end fails the whole call, as gntdev does. */
    seg[0].source.foreign.offset = 1;
    ck_assert_int_eq(xengnttab_grant_copy(tb, 1, seg), -1);
    ck_assert_int_eq(errno, EINVAL);
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

/*
 * Grant copy statuses as Xen's acquire_grant_for_copy() gives them: a
 * reference beyond the granter's table is GNTST_bad_gntref, but an entry
 * of the table that does not let us in (ended, never granted to us, or
 * read-only for a write) is GNTST_general_error.
 */
START_TEST(grant_copy_refused_entries)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"),
             c = simtest_domain("c"), ro, gone, ended, other;
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    xengnttab_grant_copy_segment_t seg[5];
    uint8_t buf[16] = "0123456789abcde", back[16];
    uint8_t *pg;
    char out[256];
    unsigned int i;

    ck_assert_ptr_nonnull(xengntshr_share_pages(sa, b, 1, &ro, 0));
    pg = xengntshr_share_pages(sa, b, 1, &gone, 1);
    ck_assert_ptr_nonnull(pg);
    ck_assert_int_eq(xengntshr_unshare(sa, pg, 1), 0);
    grant_status(a, gone, out, sizeof(out));
    ck_assert_str_eq(out, "OK free");
    ck_assert_ptr_nonnull(xengntshr_share_pages(sa, b, 1, &ended, 1));
    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl grant-end %u %u", a,
                                 ended),
                     0);
    ck_assert_ptr_nonnull(xengntshr_share_pages(sa, c, 1, &other, 1));

    memset(seg, 0, sizeof(seg));
    /* 0: into the read-only grant */
    seg[0].flags = GNTCOPY_dest_gref;
    seg[0].source.virt = buf;
    seg[0].dest.foreign.domid = a;
    seg[0].dest.foreign.ref = ro;
    /* 1: from a grant its sharer revoked */
    seg[1].flags = GNTCOPY_source_gref;
    seg[1].source.foreign.domid = a;
    seg[1].source.foreign.ref = gone;
    seg[1].dest.virt = back;
    /* 2: from a grant whose access was ended */
    seg[2] = seg[1];
    seg[2].source.foreign.ref = ended;
    /* 3: from a grant to another domain */
    seg[3] = seg[1];
    seg[3].source.foreign.ref = other;
    /* 4: beyond the granter's (one-frame) table */
    seg[4] = seg[1];
    seg[4].source.foreign.ref = 31000;
    for (i = 0; i < 5; i++)
        seg[i].len = sizeof(buf);
    ck_assert_int_eq(xengnttab_grant_copy(tb, 5, seg), 0);
    ck_assert_int_eq(seg[0].status, GNTST_general_error);
    ck_assert_int_eq(seg[1].status, GNTST_general_error);
    ck_assert_int_eq(seg[2].status, GNTST_general_error);
    ck_assert_int_eq(seg[3].status, GNTST_general_error);
    ck_assert_int_eq(seg[4].status, GNTST_bad_gntref);
    /* Nothing was held by the failed segments. */
    grant_status(a, ro, out, sizeof(out));
    ck_assert_int_eq(simtest_field(out, "pins"), 0);
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

/*
 * A grant the sharer revoked while the grantee maps it may still be used
 * by that grantee (Xen pins it again); once unmapped it is gone.  The
 * shim's own copy path cannot pin a revoked entry and must hand such a
 * segment to simd, not refuse it.
 */
START_TEST(grant_copy_revoked_while_mapped)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), ref;
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    uint8_t *pa = xengntshr_share_pages(sa, b, 1, &ref, 1), *pb;
    xengnttab_grant_copy_segment_t seg;
    uint8_t back[32];
    char out[256];

    ck_assert_ptr_nonnull(pa);
    memset(pa, 0x5a, PAGE);
    pb = xengnttab_map_grant_ref(tb, a, ref, PROT_READ);
    ck_assert_ptr_nonnull(pb);
    ck_assert_int_eq(xengntshr_unshare(sa, pa, 1), 0);
    memset(&seg, 0, sizeof(seg));
    seg.flags = GNTCOPY_source_gref;
    seg.source.foreign.domid = a;
    seg.source.foreign.ref = ref;
    seg.dest.virt = back;
    seg.len = sizeof(back);
    memset(back, 0, sizeof(back));
    ck_assert_int_eq(xengnttab_grant_copy(tb, 1, &seg), 0);
    ck_assert_int_eq(seg.status, GNTST_okay);
    ck_assert_uint_eq(back[31], 0x5a);
    grant_status(a, ref, out, sizeof(out));
    ck_assert_int_eq(simtest_field(out, "pins"), 0);
    ck_assert_int_eq(xengnttab_unmap(tb, pb, 1), 0);
    grant_status(a, ref, out, sizeof(out));
    ck_assert_str_eq(out, "OK free");
    ck_assert_int_eq(xengnttab_grant_copy(tb, 1, &seg), 0);
    ck_assert_int_eq(seg.status, GNTST_general_error);
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

static uint32_t domain_with_id(const char *name, uint32_t domid)
{
    char out[128];

    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl create t%d-%s %u",
                                 (int)getpid(), name, domid),
                     0);
    ck_assert_uint_eq(strtoul(out + (strncmp(out, "OK ", 3) ? 0 : 3), NULL,
                              10),
                      domid);
    return domid;
}

/*
 * A grantee that copied with a domain's grants, after that domain died
 * and another took its domid: its copies reach the new domain's grants,
 * never the dead one's pages.
 */
START_TEST(grant_copy_after_domid_reuse)
{
    uint32_t b = simtest_domain("b"), a, ref1, ref2;
    xengnttab_handle *tb = tab_open(b);
    xengntshr_handle *sa;
    xengnttab_grant_copy_segment_t seg;
    uint8_t *pa, back[16];
    char out[256];

    a = domain_with_id("old", 700);
    sa = shr_open(a);
    pa = xengntshr_share_pages(sa, b, 1, &ref1, 1);
    ck_assert_ptr_nonnull(pa);
    memset(pa, 0x11, PAGE);
    memset(&seg, 0, sizeof(seg));
    seg.flags = GNTCOPY_source_gref;
    seg.source.foreign.domid = a;
    seg.source.foreign.ref = ref1;
    seg.dest.virt = back;
    seg.len = sizeof(back);
    ck_assert_int_eq(xengnttab_grant_copy(tb, 1, &seg), 0);
    ck_assert_int_eq(seg.status, GNTST_okay);
    ck_assert_uint_eq(back[0], 0x11);
    /* Destroyed with the grant still in its table. */
    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl destroy %u", a), 0);
    xengntshr_close(sa);

    /* Gone: nothing to copy from. */
    ck_assert_int_eq(xengnttab_grant_copy(tb, 1, &seg), 0);
    ck_assert_int_eq(seg.status, GNTST_bad_domain);

    a = domain_with_id("new", 700);
    sa = shr_open(a);
    pa = xengntshr_share_pages(sa, b, 1, &ref2, 1);
    ck_assert_ptr_nonnull(pa);
    ck_assert_uint_eq(ref2, ref1); /* a fresh table hands out the same */
    memset(pa, 0x22, PAGE);
    memset(back, 0, sizeof(back));
    ck_assert_int_eq(xengnttab_grant_copy(tb, 1, &seg), 0);
    ck_assert_int_eq(seg.status, GNTST_okay);
    ck_assert_uint_eq(back[0], 0x22);
    xengntshr_close(sa);
    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl destroy %u", a), 0);
    xengnttab_close(tb);
}
END_TEST

START_TEST(grant_fault_injection)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), ref;
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);
    xengnttab_grant_copy_segment_t seg[2];
    uint8_t buf[16];
    void *p;

    ck_assert_ptr_nonnull(xengntshr_share_pages(sa, b, 1, &ref, 1));
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl fault map %u 1 EIO", b), 0);
    ck_assert_ptr_null(xengnttab_map_grant_ref(tb, a, ref, PROT_READ));
    ck_assert_int_eq(errno, EIO);
    p = xengnttab_map_grant_ref(tb, a, ref, PROT_READ); /* once only */
    ck_assert_ptr_nonnull(p);
    xengnttab_unmap(tb, p, 1);

    memset(seg, 0, sizeof(seg));
    seg[0].flags = seg[1].flags = GNTCOPY_source_gref;
    seg[0].source.foreign.domid = seg[1].source.foreign.domid = a;
    seg[0].source.foreign.ref = seg[1].source.foreign.ref = ref;
    seg[0].dest.virt = seg[1].dest.virt = buf;
    seg[0].len = seg[1].len = sizeof(buf);
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl fault copy %u 1 ENOMEM", b),
                     0);
    ck_assert_int_eq(xengnttab_grant_copy(tb, 2, seg), -1);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl fault copy-seg %u 1", b), 0);
    ck_assert_int_eq(xengnttab_grant_copy(tb, 2, seg), 0);
    ck_assert_int_eq(seg[0].status, GNTST_general_error);
    ck_assert_int_eq(seg[1].status, GNTST_okay);
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

START_TEST(grant_set_max_grants)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), refs[2];
    xengntshr_handle *sa = shr_open(a);
    xengnttab_handle *tb = tab_open(b);

    ck_assert_ptr_nonnull(xengntshr_share_pages(sa, b, 2, refs, 1));
    ck_assert_int_eq(xengnttab_set_max_grants(tb, 1), 0);
    ck_assert_ptr_null(
        xengnttab_map_domain_grant_refs(tb, 2, a, refs, PROT_READ));
    ck_assert_ptr_nonnull(xengnttab_map_grant_ref(tb, a, refs[0], PROT_READ));
    xengnttab_close(tb);
    xengntshr_close(sa);
}
END_TEST

START_TEST(grant_process_exit_releases_maps)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"), ref;
    xengntshr_handle *sa = shr_open(a);
    char out[256];
    int status;
    pid_t pid;

    ck_assert_ptr_nonnull(xengntshr_share_pages(sa, b, 1, &ref, 1));
    /* The child must not reach a ck_assert: each one records its
     * location in Check's message file, which the child shares. */
    pid = fork();
    if (!pid) {
        xengnttab_handle *tb;

        simtest_enter(b);
        tb = xengnttab_open(NULL, 0);

        /* Map and die without unmapping. */
        _exit(tb && xengnttab_map_grant_ref(tb, a, ref, PROT_READ) ? 0 : 1);
    }
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    grant_status(a, ref, out, sizeof(out));
    ck_assert_int_eq(simtest_field(out, "maps"), 0);
    xengntshr_close(sa);
}
END_TEST

/* ---------------------------------------------------------------- */

static int readable(xenevtchn_handle *h, int ms)
{
    struct pollfd p = { .fd = xenevtchn_fd(h), .events = POLLIN };

    return poll(&p, 1, ms);
}

/* Binds a: unbound for b; b: interdomain to it.  Drains b's bind event. */
static void evt_pair(uint32_t a, uint32_t b, xenevtchn_handle **ha,
                     xenevtchn_handle **hb, int *pa, int *pb)
{
    *ha = evt_open(a);
    *hb = evt_open(b);
    *pa = xenevtchn_bind_unbound_port(*ha, b);
    ck_assert_int_gt(*pa, 0);
    *pb = xenevtchn_bind_interdomain(*hb, a, *pa);
    ck_assert_int_gt(*pb, 0);
    /* Xen raises an event on a newly bound interdomain port. */
    ck_assert_int_eq(readable(*hb, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(*hb), *pb);
    ck_assert_int_eq(xenevtchn_unmask(*hb, *pb), 0);
    ck_assert_int_eq(readable(*hb, 0), 0);
}

START_TEST(evtchn_notify_mask_coalesce)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b");
    xenevtchn_handle *ha, *hb;
    int pa, pb;

    evt_pair(a, b, &ha, &hb, &pa, &pb);
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    ck_assert_int_eq(readable(hb, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(hb), pb);
    /* Masked now: two more notifications are remembered as one. */
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    ck_assert_int_eq(readable(hb, 0), 0);
    ck_assert_int_eq(xenevtchn_unmask(hb, pb), 0);
    ck_assert_int_eq(readable(hb, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(hb), pb);
    ck_assert_int_eq(xenevtchn_unmask(hb, pb), 0);
    ck_assert_int_eq(readable(hb, 0), 0);
    /* And the other way. */
    ck_assert_int_eq(xenevtchn_notify(hb, pb), 0);
    ck_assert_int_eq(readable(ha, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(ha), pa);
    xenevtchn_close(ha);
    xenevtchn_close(hb);
}
END_TEST

/*
 * One handle, several ports (a frontend with a queue per port): while
 * any port is pending and unmasked the fd stays readable, whichever
 * port xenevtchn_pending() hands out first (a lost wake-up otherwise).
 */
START_TEST(evtchn_many_ports_one_handle)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b");
    xenevtchn_handle *ha = evt_open(a), *hb = evt_open(b);
    int pa[3], pb[3], round, k, j, got;

    for (k = 0; k < 3; k++) {
        pa[k] = xenevtchn_bind_unbound_port(ha, b);
        ck_assert_int_gt(pa[k], 0);
        pb[k] = xenevtchn_bind_interdomain(hb, a, pa[k]);
        ck_assert_int_gt(pb[k], 0);
    }
    /* The bind events, one per port. */
    for (k = 0; k < 3; k++) {
        ck_assert_int_eq(readable(hb, 5000), 1);
        got = xenevtchn_pending(hb);
        ck_assert_int_gt(got, 0);
        ck_assert_int_eq(xenevtchn_unmask(hb, got), 0);
    }
    ck_assert_int_eq(readable(hb, 0), 0);
    /* Two ports, then three, from every starting point of the scan. */
    for (round = 0; round < 6; round++) {
        int n = round < 3 ? 2 : 3, seen = 0;

        for (k = 0; k < n; k++)
            ck_assert_int_eq(xenevtchn_notify(ha, pa[k]), 0);
        for (k = 0; k < n; k++) {
            ck_assert_msg(readable(hb, 0) == 1,
                          "round %d: %d of %d ports pending but the fd is "
                          "not readable",
                          round, n - k, n);
            got = xenevtchn_pending(hb);
            for (j = 0; j < n && pb[j] != got; j++)
                ;
            ck_assert_msg(j < n, "round %d: pending gave %d", round, got);
            ck_assert_msg(!(seen & (1 << j)), "port %d given twice", got);
            seen |= 1 << j;
        }
        for (k = 0; k < n; k++)
            ck_assert_int_eq(xenevtchn_unmask(hb, pb[k]), 0);
        ck_assert_int_eq(readable(hb, 0), 0);
    }
    xenevtchn_close(ha);
    xenevtchn_close(hb);
}
END_TEST

START_TEST(evtchn_peer_close_then_rebind)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b");
    xenevtchn_handle *ha, *hb;
    int pa, pb, pb2;

    evt_pair(a, b, &ha, &hb, &pa, &pb);
    ck_assert_int_eq(xenevtchn_unbind(hb, pb), 0);
    /* Notifying an unbound port is silently dropped, as on Xen. */
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    ck_assert_int_eq(readable(hb, 0), 0);
    /* The port stays reserved for b: b may bind to it again. */
    pb2 = xenevtchn_bind_interdomain(hb, a, pa);
    ck_assert_int_gt(pb2, 0);
    ck_assert_int_eq(readable(hb, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(hb), pb2);
    xenevtchn_unmask(hb, pb2);
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    ck_assert_int_eq(readable(hb, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(hb), pb2);
    /* Closing the whole handle unbinds too. */
    xenevtchn_close(hb);
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    xenevtchn_close(ha);
}
END_TEST

START_TEST(evtchn_refusals)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b"),
             c = simtest_domain("c");
    xenevtchn_handle *ha = evt_open(a), *hc = evt_open(c), *hr;
    int pa = xenevtchn_bind_unbound_port(ha, b);

    ck_assert_int_gt(pa, 0);
    /* The port is reserved for b, not c. */
    ck_assert_int_eq(xenevtchn_bind_interdomain(hc, a, pa), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* No such port / domain. */
    ck_assert_int_eq(xenevtchn_bind_interdomain(hc, a, 4000), -1);
    ck_assert_int_eq(xenevtchn_bind_interdomain(hc, 7777, 1), -1);
    ck_assert_int_eq(errno, ESRCH);
    /* Not our port. */
    ck_assert_int_eq(xenevtchn_notify(hc, pa), -1);
    ck_assert_int_eq(errno, ENOTCONN);
    ck_assert_int_eq(xenevtchn_unbind(hc, pa), -1);
    /* A restricted handle binds only to its domain. */
    hr = evt_open(b);
    ck_assert_int_eq(xenevtchn_restrict(hr, c), 0);
    ck_assert_int_eq(xenevtchn_bind_unbound_port(hr, c), -1);
    ck_assert_int_eq(errno, EACCES);
    ck_assert_int_eq(xenevtchn_bind_interdomain(hr, a, pa), -1);
    ck_assert_int_eq(errno, EACCES);
    xenevtchn_close(hr);
    xenevtchn_close(hc);
    xenevtchn_close(ha);
}
END_TEST

/*
 * A guest's kernel holds its domain's low ports (xenstore, console, the
 * per-vCPU timer and IPIs), so the first port a program gets is never 1,
 * whichever way it is allocated; later ones are the lowest free, as Xen's
 * get_free_port() hands them out.
 */
START_TEST(evtchn_low_ports_held_by_kernel)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b");
    xenevtchn_handle *ha = evt_open(a), *hb = evt_open(b);
    int pa, pa2, pb;

    pa = xenevtchn_bind_unbound_port(ha, b);
    ck_assert_int_ge(pa, 8);
    pb = xenevtchn_bind_interdomain(hb, a, pa);
    ck_assert_int_ge(pb, 8);
    /* The kernel's ports are not for programs to bind to. */
    ck_assert_int_eq(xenevtchn_bind_interdomain(hb, a, 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    pa2 = xenevtchn_bind_unbound_port(ha, b);
    ck_assert_int_eq(pa2, pa + 1);
    ck_assert_int_eq(xenevtchn_unbind(ha, pa), 0);
    ck_assert_int_eq(xenevtchn_bind_unbound_port(ha, b), pa);
    xenevtchn_close(hb);
    xenevtchn_close(ha);
}
END_TEST

/*
 * As Linux's evtchn device: a port this handle did not bind is ENOTCONN
 * for notify and unbind (even if another handle of the domain has it);
 * unbind of a port number beyond the table is EINVAL.
 */
START_TEST(evtchn_foreign_and_bad_ports)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b");
    xenevtchn_handle *ha, *hb, *ha2;
    int pa, pb;

    evt_pair(a, b, &ha, &hb, &pa, &pb);
    ha2 = evt_open(a);
    ck_assert_int_eq(xenevtchn_notify(ha2, pa), -1);
    ck_assert_int_eq(errno, ENOTCONN);
    ck_assert_int_eq(xenevtchn_unbind(ha2, pa), -1);
    ck_assert_int_eq(errno, ENOTCONN);
    ck_assert_int_eq(xenevtchn_unbind(ha2, 0), -1);
    ck_assert_int_eq(errno, ENOTCONN);
    ck_assert_int_eq(xenevtchn_unbind(ha2, 1), -1);
    ck_assert_int_eq(errno, ENOTCONN);
    ck_assert_int_eq(xenevtchn_notify(ha, 4096), -1);
    ck_assert_int_eq(errno, ENOTCONN);
    ck_assert_int_eq(xenevtchn_unbind(ha, 4096), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(xenevtchn_unbind(ha, 0xffffffffu), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* None of it disturbed the real binding. */
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    ck_assert_int_eq(readable(hb, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(hb), pb);
    xenevtchn_close(ha2);
    xenevtchn_close(ha);
    xenevtchn_close(hb);
}
END_TEST

START_TEST(evtchn_drop_and_delay_faults)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b");
    xenevtchn_handle *ha, *hb;
    char out[512];
    int pa, pb;

    evt_pair(a, b, &ha, &hb, &pa, &pb);
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl fault notify-drop %u 1", a), 0);
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    ck_assert_int_eq(readable(hb, 0), 0);
    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl stats %u", a), 0);
    ck_assert_int_eq(simtest_field(out, "notify_dropped"), 1);
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0); /* only one dropped */
    ck_assert_int_eq(readable(hb, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(hb), pb);
    xenevtchn_unmask(hb, pb);
    /* Delayed notifications still arrive (through simd). */
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl fault notify-delay %u 20", a),
                     0);
    ck_assert_int_eq(xenevtchn_notify(ha, pa), 0);
    ck_assert_int_eq(readable(hb, 5000), 1);
    ck_assert_int_eq(xenevtchn_pending(hb), pb);
    xenevtchn_close(ha);
    xenevtchn_close(hb);
}
END_TEST

START_TEST(evtchn_domain_destroy_unbinds_peer)
{
    uint32_t a = simtest_domain("a"), b = simtest_domain("b");
    xenevtchn_handle *ha, *hb;
    char out[512];
    int pa, pb;

    evt_pair(a, b, &ha, &hb, &pa, &pb);
    ck_assert_int_eq(simtest_sim(NULL, 0, "ctl destroy %u", a), 0);
    /* b's port is now unbound: notifying it is harmless. */
    ck_assert_int_eq(xenevtchn_notify(hb, pb), 0);
    ck_assert_int_eq(simtest_sim(out, sizeof(out), "ctl stats %u", b), 0);
    ck_assert_int_eq(simtest_field(out, "ports"), 1);
    xenevtchn_close(hb);
    xenevtchn_close(ha);
}
END_TEST

START_TEST(xenctrl_dominfo_privileged_only)
{
    uint32_t a = simtest_domain("a");
    xc_domaininfo_t info[64];
    xc_interface *xch;
    int n, i, found = 0;

    simtest_enter(0);
    xch = xc_interface_open(NULL, NULL, 0);
    ck_assert_ptr_nonnull(xch);
    n = xc_domain_getinfolist(xch, 0, 64, info);
    ck_assert_int_ge(n, 2);
    for (i = 0; i < n; i++)
        found += info[i].domain == a;
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(info[0].domain, 0);
    xc_interface_close(xch);

    simtest_enter(a);
    xch = xc_interface_open(NULL, NULL, 0);
    ck_assert_ptr_nonnull(xch);
    ck_assert_int_eq(xc_domain_getinfolist(xch, 0, 64, info), -1);
    ck_assert_int_eq(errno, EPERM);
    xc_interface_close(xch);
}
END_TEST

START_TEST(handles_fail_outside_simulator)
{
    unsetenv("IOVM_SIM_HV");
    ck_assert_ptr_null(xengnttab_open(NULL, 0));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_null(xenevtchn_open(NULL, 0));
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
    Suite *s = suite_create("sim-hv");
    TCase *tg = tcase_create("grant"), *te = tcase_create("evtchn");

    tcase_add_unchecked_fixture(tg, setup, NULL);
    tcase_add_checked_fixture(tg, simtest_cloexec_all, NULL);
    tcase_set_timeout(tg, 60);
    tcase_add_test(tg, grant_share_map_rw);
    tcase_add_test(tg, grant_readonly_cannot_be_written);
    tcase_add_test(tg, grant_only_grantee_may_map);
    tcase_add_test(tg, grant_end_access_refused_while_mapped);
    tcase_add_test(tg, grant_map_again_while_mapped_after_end);
    tcase_add_test(tg, grant_unshare_while_mapped_keeps_page);
    tcase_add_test(tg, grant_copy_segments);
    tcase_add_test(tg, grant_copy_refused_entries);
    tcase_add_test(tg, grant_copy_revoked_while_mapped);
    tcase_add_test(tg, grant_copy_after_domid_reuse);
    tcase_add_test(tg, grant_fault_injection);
    tcase_add_test(tg, grant_set_max_grants);
    tcase_add_test(tg, grant_process_exit_releases_maps);
    suite_add_tcase(s, tg);
    tcase_add_unchecked_fixture(te, NULL, teardown);
    tcase_add_checked_fixture(te, simtest_cloexec_all, NULL);
    tcase_set_timeout(te, 60);
    tcase_add_test(te, evtchn_notify_mask_coalesce);
    tcase_add_test(te, evtchn_many_ports_one_handle);
    tcase_add_test(te, evtchn_peer_close_then_rebind);
    tcase_add_test(te, evtchn_refusals);
    tcase_add_test(te, evtchn_low_ports_held_by_kernel);
    tcase_add_test(te, evtchn_foreign_and_bad_ports);
    tcase_add_test(te, evtchn_drop_and_delay_faults);
    tcase_add_test(te, evtchn_domain_destroy_unbinds_peer);
    tcase_add_test(te, xenctrl_dominfo_privileged_only);
    tcase_add_test(te, handles_fail_outside_simulator);
    suite_add_tcase(s, te);
    return simtest_run(s);
}
