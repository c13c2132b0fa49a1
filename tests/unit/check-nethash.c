/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for backend/net/net-hash.c: the control ring's hashing
 * requests (each refusal, and that a refused request changes nothing),
 * the Toeplitz hash of frames against the RSS verification suite's
 * published vectors (Intel 82599 datasheet / Microsoft's RSS docs), and
 * queue steering.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net-hash.h"

/* The verification suite's key. */
static const uint8_t ms_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static struct net_hash H;

/* The "frontend's pages": gref 1 holds page1; others are not granted. */
static uint8_t page1[4096];
static unsigned int fetches;

static int fetch(void *arg, uint32_t gref, uint32_t off, void *dst,
                 size_t len)
{
    (void)arg;
    fetches++;
    if (gref != 1 || off + len > sizeof(page1))
        return -EPERM;
    memcpy(dst, page1 + off, len);
    return 0;
}

static uint32_t ctrl(uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2,
                     uint32_t *data)
{
    struct xen_netif_ctrl_request r = { .id = 1, .type = type,
                                        .data = { d0, d1, d2 } };
    uint32_t dummy;

    return net_hash_ctrl(&H, &r, fetch, NULL, data ? data : &dummy);
}

static void setup(void)
{
    net_hash_init(&H, 4);
    memset(page1, 0, sizeof(page1));
    fetches = 0;
}

static void toeplitz_on(uint32_t types)
{
    memcpy(page1, ms_key, sizeof(ms_key));
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
                           XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 40, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, types, 0, 0,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
}

/* An Ethernet + IPv4 + TCP frame (54 bytes). */
static size_t ipv4_tcp(uint8_t *f, const uint8_t src[4], const uint8_t dst[4],
                       uint16_t sport, uint16_t dport, uint16_t frag)
{
    memset(f, 0, 54);
    f[12] = 0x08;
    f[14] = 0x45;
    f[20] = (uint8_t)(frag >> 8);
    f[21] = (uint8_t)frag;
    f[23] = 6;
    memcpy(f + 26, src, 4);
    memcpy(f + 30, dst, 4);
    f[34] = (uint8_t)(sport >> 8);
    f[35] = (uint8_t)sport;
    f[36] = (uint8_t)(dport >> 8);
    f[37] = (uint8_t)dport;
    return 54;
}

START_TEST(verification_suite_ipv4)
{
    static const struct {
        uint8_t dst[4], src[4];
        uint16_t dport, sport;
        uint32_t l3, l4;
    } v[] = {
        { { 161, 142, 100, 80 }, { 66, 9, 149, 187 }, 1766, 2794,
          0x323e8fc2, 0x51ccc178 },
        { { 65, 69, 140, 83 }, { 199, 92, 111, 2 }, 4739, 14230,
          0xd718262a, 0xc626b0ea },
        { { 12, 22, 207, 184 }, { 24, 19, 198, 95 }, 38024, 12898,
          0xd2d0a5de, 0x5c2b394a },
        { { 209, 142, 163, 6 }, { 38, 27, 205, 30 }, 2217, 48228,
          0x82989176, 0xafc7327f },
    };
    uint8_t f[64];
    uint32_t hash, type;
    unsigned int i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = ipv4_tcp(f, v[i].src, v[i].dst, v[i].sport, v[i].dport, 0);

        setup();
        toeplitz_on(XEN_NETIF_CTRL_HASH_TYPE_IPV4 |
                    XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
        ck_assert(net_hash_frame(&H, f, n, &hash, &type));
        ck_assert_uint_eq(type, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
        ck_assert_uint_eq(hash, v[i].l4);
        /* Addresses only, when TCP hashing is not asked for. */
        ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
                               XEN_NETIF_CTRL_HASH_TYPE_IPV4, 0, 0, NULL),
                          XEN_NETIF_CTRL_STATUS_SUCCESS);
        ck_assert(net_hash_frame(&H, f, n, &hash, &type));
        ck_assert_uint_eq(type, XEN_NETIF_CTRL_HASH_TYPE_IPV4);
        ck_assert_uint_eq(hash, v[i].l3);
    }
}
END_TEST

START_TEST(frames_without_a_hash)
{
    static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
    uint8_t f[64];
    uint32_t hash, type;
    size_t n = ipv4_tcp(f, a, b, 1000, 80, 0);

    /* Hashing off (the default). */
    ck_assert(!net_hash_frame(&H, f, n, &hash, &type));
    toeplitz_on(XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
    ck_assert(net_hash_frame(&H, f, n, &hash, &type));
    /* A fragment has no ports: with only TCP hashing on, no hash. */
    n = ipv4_tcp(f, a, b, 1000, 80, 0x2000);
    ck_assert(!net_hash_frame(&H, f, n, &hash, &type));
    /* Not IP; too short. */
    n = ipv4_tcp(f, a, b, 1000, 80, 0);
    f[12] = 0x08;
    f[13] = 0x06;
    ck_assert(!net_hash_frame(&H, f, n, &hash, &type));
    f[13] = 0;
    ck_assert(!net_hash_frame(&H, f, 20, &hash, &type));
    /* A bad header length. */
    f[14] = 0x43;
    ck_assert(!net_hash_frame(&H, f, n, &hash, &type));
}
END_TEST

START_TEST(ipv6_tcp)
{
    uint8_t f[80] = { 0 };
    uint32_t h6, h6t, type;

    toeplitz_on(XEN_NETIF_CTRL_HASH_TYPE_IPV6 |
                XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
    f[12] = 0x86;
    f[13] = 0xdd;
    f[14] = 0x60;
    f[20] = 6;
    f[22 + 15] = 7;  /* src ...::7 */
    f[38 + 15] = 1;  /* dst ...::1 */
    f[54] = 0x0a;    /* sport 2794 */
    f[55] = 0xea;
    f[56] = 0x06;    /* dport 1766 */
    f[57] = 0xe6;
    ck_assert(net_hash_frame(&H, f, 74, &h6t, &type));
    ck_assert_uint_eq(type, XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
    /* The same as hashing the tuple by hand. */
    ck_assert_uint_eq(h6t, net_hash_toeplitz(&H, f + 22, 36));
    f[20] = 17; /* UDP: the addresses only */
    ck_assert(net_hash_frame(&H, f, 74, &h6, &type));
    ck_assert_uint_eq(type, XEN_NETIF_CTRL_HASH_TYPE_IPV6);
    ck_assert_uint_eq(h6, net_hash_toeplitz(&H, f + 22, 32));
    ck_assert_uint_ne(h6, h6t);
}
END_TEST

START_TEST(algorithm_and_flags)
{
    uint32_t data = 77;

    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 2, 0, 0,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    /* Flags need an algorithm first. */
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data),
                      XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
                           XEN_NETIF_CTRL_HASH_TYPE_IPV4, 0, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
                           XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(data, NET_HASH_TYPES);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 1u << 4, 0, 0,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(H.types, 0);
    /* What iovm does not do, and what no one knows. */
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 1, 1, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_INVALID, 0, 0, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    ck_assert_uint_eq(ctrl(999, 0, 0, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
}
END_TEST

START_TEST(keys)
{
    toeplitz_on(XEN_NETIF_CTRL_HASH_TYPE_IPV4);
    ck_assert_int_eq(memcmp(H.key, ms_key, 40), 0);
    /* Too long; not granted: refused, the key unchanged. */
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 41, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 2, 40, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    ck_assert_int_eq(memcmp(H.key, ms_key, 40), 0);
    /* A short key: the rest is zero.  Size 0 clears it, reading nothing. */
    memset(page1, 0xab, 4);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 4, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(H.key[3], 0xab);
    ck_assert_uint_eq(H.key[4], 0);
    fetches = 0;
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 77, 0, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(fetches, 0);
    ck_assert_uint_eq(H.key[0], 0);
}
END_TEST

START_TEST(mapping_table)
{
    uint32_t data, tab[4] = { 3, 2, 1, 0 }, bad[2] = { 1, 4 };

    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0,
                           &data),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(data, NET_HASH_MAPPING_MAX);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE,
                           NET_HASH_MAPPING_MAX + 1, 0, 0, NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    /* No table: modulo the queues. */
    ck_assert_uint_eq(net_hash_queue(&H, 7), 3);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    /* A new table is all zero. */
    ck_assert_uint_eq(net_hash_queue(&H, 7), 0);
    memcpy(page1, tab, sizeof(tab));
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 1, 4, 4,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_SUCCESS);
    ck_assert_uint_eq(net_hash_queue(&H, 4), 3);
    ck_assert_uint_eq(net_hash_queue(&H, 7 + 8), 0);
    ck_assert_uint_eq(net_hash_queue(&H, 5), 2);
    /* Past the table, wrapping around, larger than a page: refused. */
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 1, 4, 5,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 1, 2,
                           0xffffffffu, NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 1, 2048, 0,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    /* A queue the vif does not have, or a page not granted: refused, and
     * the table is as it was. */
    memcpy(page1, bad, sizeof(bad));
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 1, 2, 4,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(ctrl(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 9, 2, 4,
                           NULL),
                      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(net_hash_queue(&H, 4), 3);
    ck_assert_uint_eq(net_hash_queue(&H, 5), 2);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("nethash");
    TCase *tc = tcase_create("hash");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, verification_suite_ipv4);
    tcase_add_test(tc, frames_without_a_hash);
    tcase_add_test(tc, ipv6_tcp);
    tcase_add_test(tc, algorithm_and_flags);
    tcase_add_test(tc, keys);
    tcase_add_test(tc, mapping_table);
    suite_add_tcase(su, tc);
    sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
