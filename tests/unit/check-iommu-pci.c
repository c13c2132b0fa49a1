/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for iommu-setup/pci.c: the sysfs scan (attributes, crafted
 * config spaces, the bridges above a device), dom0's uses (mountinfo,
 * consoles, default routes), and one test per refusal where only that
 * reason applies.  Every test builds a fake sysfs/procfs tree, shaped as
 * Linux's (devices as symlinks into /sys/devices/pci0000:00/...), under a
 * mkdtemp directory.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pci.h"
#include "util.h"

/* ------------------------------------------------------- fake trees */

static char root[PATH_MAX];

/* snprintf that fails the test instead of truncating. */
static void __attribute__((format(printf, 3, 4)))
fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    int r;

    va_start(ap, f);
    r = vsnprintf(buf, len, f, ap);
    va_end(ap);
    ck_assert(r >= 0 && (size_t)r < len);
}

static void mkdirs(const char *rel)
{
    char path[PATH_MAX], *p;

    fmt(path, sizeof(path), "%s/%s", root, rel);
    for (p = path + strlen(root) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
        *p = '/';
    }
    ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void parent_mkdirs(const char *rel)
{
    char dir[PATH_MAX], *slash;

    fmt(dir, sizeof(dir), "%s", rel);
    slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        mkdirs(dir);
    }
}

static void put(const char *rel, const void *data, size_t len)
{
    char path[PATH_MAX];
    FILE *f;

    parent_mkdirs(rel);
    fmt(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void __attribute__((format(printf, 2, 3)))
put_text(const char *rel, const char *f, ...)
{
    char buf[4096];
    va_list ap;
    int len;

    va_start(ap, f);
    len = vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    ck_assert(len >= 0 && (size_t)len < sizeof(buf));
    put(rel, buf, (size_t)len);
}

static void link_to(const char *rel, const char *target)
{
    char path[PATH_MAX];

    parent_mkdirs(rel);
    fmt(path, sizeof(path), "%s/%s", root, rel);
    ck_assert_int_eq(symlink(target, path), 0);
}

/* "../" enough times to climb from sys/devices/<path> to sys/. */
static void ups(const char *path, char *out, size_t len)
{
    const char *p;

    fmt(out, len, "../");
    for (p = path; *p; p++)
        if (*p == '/')
            strncat(out, "../", len - strlen(out) - 1);
    strncat(out, "../", len - strlen(out) - 1);
}

struct fdev {
    const char *path; /* under sys/devices: "pci0000:00/0000:00:1c.0" */
    uint32_t class_code;
    uint16_t vendor, device;
    const char *driver;       /* NULL: unbound */
    int group;                /* -1: no iommu_group link */
    const char *reset_method; /* NULL: no file */
    bool reset_file;
    unsigned int irq;
    const char *resource; /* NULL: no file */
    int cfg_len;          /* 0: no config file */
    int port_type;        /* -1: no PCIe capability */
    bool flr, msi, acs, mf, vf;
    bool cap_loop, ext_loop; /* hostile config spaces */
};

static const char *bdf_of(const struct fdev *f)
{
    const char *s = strrchr(f->path, '/');

    return s ? s + 1 : f->path;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

/*
 * Config space: PCIe capability at 0x40 (flags: version 2, port type;
 * DevCap FLR), MSI at 0x60, ACS as the first extended capability with
 * SV/TB/RR/CR/UF offered and SV/RR/CR/UF enabled, as Xen sets it.
 */
static void build_config(const struct fdev *f, uint8_t *cfg)
{
    uint8_t *last = &cfg[0x34];

    memset(cfg, 0, 4096);
    put16(cfg, f->vendor);
    put16(cfg + 2, f->device);
    cfg[0x09] = (uint8_t)f->class_code;
    cfg[0x0a] = (uint8_t)(f->class_code >> 8);
    cfg[0x0b] = (uint8_t)(f->class_code >> 16);
    cfg[0x0e] = (uint8_t)(((f->class_code >> 8) == 0x0604 ? 1 : 0) |
                          (f->mf ? 0x80 : 0));
    if (f->port_type >= 0) {
        *last = 0x40;
        cfg[0x40] = 0x10;
        put16(cfg + 0x42, (uint16_t)(2 | f->port_type << 4));
        put32(cfg + 0x44, f->flr ? 1u << 28 : 0);
        last = &cfg[0x41];
    }
    if (f->msi) {
        *last = 0x60;
        cfg[0x60] = 0x05;
        last = &cfg[0x61];
    }
    if (f->cap_loop) {
        *last = 0x70;
        cfg[0x70] = 0x09; /* vendor-specific, pointing at itself */
        cfg[0x71] = 0x70;
    }
    if (cfg[0x34])
        cfg[0x06] = 0x10;
    if (f->acs) {
        put32(cfg + 0x100, 0x000d | 1u << 16);
        put16(cfg + 0x104, 0x1f);
        put16(cfg + 0x106, 0x1d);
    }
    if (f->ext_loop)
        put32(cfg + 0x100, 0x000b | 1u << 16 | 0x100u << 20);
}

static void fdev_add(const struct fdev *f)
{
    char dir[PATH_MAX], rel[PATH_MAX], up[256], target[PATH_MAX];
    uint8_t cfg[4096];

    fmt(dir, sizeof(dir), "sys/devices/%s", f->path);
    mkdirs(dir);
    fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf_of(f));
    fmt(target, sizeof(target), "../../../devices/%s", f->path);
    link_to(rel, target);
    ups(f->path, up, sizeof(up));

#define REL(name) (fmt(rel, sizeof(rel), "%s/%s", dir, name), rel)
    put_text(REL("class"), "0x%06x\n", f->class_code);
    put_text(REL("vendor"), "0x%04x\n", f->vendor);
    put_text(REL("device"), "0x%04x\n", f->device);
    put_text(REL("irq"), "%u\n", f->irq);
    put_text(REL("msi_bus"), "1\n");
    if (f->driver) {
        fmt(target, sizeof(target), "sys/bus/pci/drivers/%s", f->driver);
        mkdirs(target);
        fmt(target, sizeof(target), "%sbus/pci/drivers/%s", up, f->driver);
        link_to(REL("driver"), target);
    }
    if (f->group >= 0) {
        fmt(target, sizeof(target), "sys/kernel/iommu_groups/%d", f->group);
        mkdirs(target);
        fmt(target, sizeof(target), "%skernel/iommu_groups/%d", up, f->group);
        link_to(REL("iommu_group"), target);
    }
    if (f->reset_method)
        put_text(REL("reset_method"), "%s\n", f->reset_method);
    if (f->reset_file)
        put_text(REL("reset"), "%s", "");
    if (f->resource)
        put_text(REL("resource"), "%s", f->resource);
    if (f->vf)
        link_to(REL("physfn"), "../0000:02:00.0");
    if (f->cfg_len > 0) {
        build_config(f, cfg);
        put(REL("config"), cfg, (size_t)f->cfg_len);
    }
#undef REL
}

/* "START END FLAGS" lines as the kernel prints them (%016llx). */
#define RES_LINE(s, e, f) "0x" s " 0x" e " 0x" f "\n"
#define RES_NONE                                                               \
    RES_LINE("0000000000000000", "0000000000000000", "0000000000000000")

/*
 * The base machine: two root ports with ACS; the NIC to assign, bound to
 * pciback, behind the first; dom0's root NVMe behind the second.
 */
enum { HB, RPA, TGT, RPB, NVME, NBASE };
#define TGT_BDF  "0000:02:00.0"
#define NVME_BDF "0000:03:00.0"

static const struct fdev base[NBASE] = {
    [HB] = {.path = "pci0000:00/0000:00:00.0",
            .class_code = 0x060000,
            .vendor = 0x8086,
            .device = 0x3e30,
            .group = 0,
            .cfg_len = 4096,
            .port_type = -1},
    [RPA] = {.path = "pci0000:00/0000:00:1c.0",
             .class_code = 0x060400,
             .vendor = 0x8086,
             .device = 0xa338,
             .driver = "pcieport",
             .group = 1,
             .irq = 122,
             .cfg_len = 4096,
             .port_type = 4,
             .msi = true,
             .acs = true},
    [TGT] = {.path = "pci0000:00/0000:00:1c.0/" TGT_BDF,
             .class_code = 0x020000,
             .vendor = 0x8086,
             .device = 0x10d3,
             .driver = "pciback",
             .group = 5,
             .reset_method = "flr bus",
             .reset_file = true,
             .irq = 16,
             .resource = RES_LINE("00000000f7c00000", "00000000f7c1ffff",
                                  "0000000000040200")
                 RES_NONE RES_LINE("000000000000e000", "000000000000e01f",
                                   "0000000000040101")
                     RES_NONE RES_NONE RES_NONE RES_NONE,
             .cfg_len = 4096,
             .port_type = 0,
             .flr = true,
             .msi = true},
    [RPB] = {.path = "pci0000:00/0000:00:1d.0",
             .class_code = 0x060400,
             .vendor = 0x8086,
             .device = 0xa330,
             .driver = "pcieport",
             .group = 2,
             .irq = 123,
             .cfg_len = 4096,
             .port_type = 4,
             .msi = true,
             .acs = true},
    [NVME] = {.path = "pci0000:00/0000:00:1d.0/" NVME_BDF,
              .class_code = 0x010802,
              .vendor = 0x144d,
              .device = 0xa808,
              .driver = "nvme",
              .group = 6,
              .reset_method = "flr",
              .reset_file = true,
              .irq = 17,
              .resource = RES_LINE("00000000f7b00000", "00000000f7b03fff",
                                   "0000000000140204"),
              .cfg_len = 4096,
              .port_type = 0,
              .flr = true,
              .msi = true},
};

/* A second device on the target's bus (a fake topology: a root port has
 * one device; enough to put another device below the same bridge). */
static const struct fdev other = {
    .path = "pci0000:00/0000:00:1c.0/0000:02:01.0",
    .class_code = 0x020000,
    .vendor = 0x8086,
    .device = 0x10d3,
    .driver = "e1000e",
    .group = 9,
    .reset_method = "flr",
    .irq = 18,
    .cfg_len = 4096,
    .port_type = 0,
    .flr = true,
    .msi = true,
};

static void build(const struct fdev *devs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        fdev_add(&devs[i]);
}

static struct fdev devs[16];
static size_t ndevs;

static void setup(void)
{
    fmt(root, sizeof(root), "%s/check-iommu-pci.XXXXXX",
        getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(root));
    memcpy(devs, base, sizeof(base));
    ndevs = NBASE;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    return remove(path);
}

static void teardown(void)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *const assign_tgt[] = {TGT_BDF};
static const struct iommu_pci_use dom0_nvme[] = {
    {NVME_BDF, "root filesystem (nvme0n1p2)"},
};

static struct iommu_pci_host good_host(void)
{
    struct iommu_pci_host h = {
        .iommu = true,
        .intremap = IOMMU_YES,
        .assign = assign_tgt,
        .nassign = 1,
        .dom0 = dom0_nvme,
        .ndom0 = 1,
    };
    return h;
}

static struct iommu_pci_refusal why[IOMMU_PCI_MAX_REASONS];
static size_t nwhy;

/* Builds devs[], scans, and checks the target against host. */
static void check_target(const struct iommu_pci_host *host)
{
    struct iommu_pci_dev *v;
    size_t n;
    long idx;

    build(devs, ndevs);
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    ck_assert_uint_eq(n, ndevs);
    idx = iommu_pci_find(v, n, TGT_BDF);
    ck_assert_int_ge(idx, 0);
    ck_assert_int_eq(iommu_pci_check_assign(v, n, (size_t)idx, host, why,
                                            IOVM_ARRAY_SIZE(why), &nwhy),
                     0);
    iommu_pci_free(v);
}

static void check_default(void)
{
    struct iommu_pci_host h = good_host();

    check_target(&h);
}

static void dump(void)
{
    size_t i;

    for (i = 0; i < nwhy; i++)
        fprintf(stderr, "  %s%s: %s\n", why[i].note ? "note " : "",
                iommu_pci_reason_name(why[i].code), why[i].text);
}

/* Exactly the given codes (notes included), in order. */
static void expect(size_t count, ...)
{
    va_list ap;
    size_t i;

    if (nwhy != count)
        dump();
    ck_assert_uint_eq(nwhy, count);
    va_start(ap, count);
    for (i = 0; i < count; i++) {
        enum iommu_pci_reason code = va_arg(ap, enum iommu_pci_reason);

        if (why[i].code != code)
            dump();
        ck_assert_int_eq(why[i].code, code);
        ck_assert(why[i].text[0]);
    }
    va_end(ap);
}

static void add(const struct fdev *f)
{
    ck_assert_uint_lt(ndevs, IOVM_ARRAY_SIZE(devs));
    devs[ndevs++] = *f;
}

/* ------------------------------------------------------------- scan */

START_TEST(scan_reads_attributes)
{
    struct iommu_pci_dev *v;
    const struct iommu_pci_dev *d;
    size_t n;

    build(devs, ndevs);
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    ck_assert_uint_eq(n, NBASE);
    /* Sorted by BDF. */
    ck_assert_str_eq(v[0].bdf, "0000:00:00.0");
    ck_assert_str_eq(v[1].bdf, "0000:00:1c.0");
    ck_assert_str_eq(v[2].bdf, "0000:00:1d.0");
    ck_assert_str_eq(v[3].bdf, TGT_BDF);
    ck_assert_str_eq(v[4].bdf, NVME_BDF);

    d = &v[3];
    ck_assert_uint_eq(d->bus, 2);
    ck_assert_uint_eq(d->class_code, 0x020000);
    ck_assert_uint_eq(d->vendor, 0x8086);
    ck_assert_uint_eq(d->device, 0x10d3);
    ck_assert_str_eq(d->driver, "pciback");
    ck_assert_int_eq(d->group, 5);
    ck_assert_uint_eq(d->reset, IOMMU_PCI_RESET_FLR | IOMMU_PCI_RESET_BUS);
    ck_assert_str_eq(d->reset_text, "flr bus");
    ck_assert(!d->reset_inferred);
    ck_assert_uint_eq(d->irq, 16);
    ck_assert(d->msi_bus && !d->msi_irqs && d->msi_cap && !d->msix_cap);
    ck_assert(d->pcie && d->flr_cap && !d->acs && !d->multifunction);
    ck_assert_int_eq(d->port_type, 0);
    ck_assert_uint_eq(d->cfg_len, 4096);
    ck_assert_uint_eq(d->nbars, 2);
    ck_assert_uint_eq(d->bars[0].index, 0);
    ck_assert_uint_eq(d->bars[0].start, 0xf7c00000);
    ck_assert_uint_eq(d->bars[0].end, 0xf7c1ffff);
    ck_assert_uint_eq(d->bars[0].flags, 0x40200);
    ck_assert_uint_eq(d->bars[1].index, 2);
    ck_assert_uint_eq(d->bars[1].flags, 0x40101);
    ck_assert(d->path_known);
    ck_assert_uint_eq(d->npath, 1);
    ck_assert_str_eq(d->path[0].bdf, "0000:00:1c.0");
    ck_assert(d->path[0].found && d->path[0].pcie && d->path[0].acs);
    ck_assert(d->path[0].isolates && !d->path[0].conventional);
    ck_assert_int_eq(d->path[0].port_type, IOMMU_PCI_PORT_ROOT);
    ck_assert(d->acs_path);
    ck_assert_str_eq(d->acs_missing, "");

    d = &v[0];
    ck_assert_str_eq(d->driver, "");
    ck_assert(!d->pcie && d->npath == 0 && d->acs_path);
    ck_assert_uint_eq(d->reset, 0);
    ck_assert_uint_eq(d->nbars, 0);
    ck_assert_str_eq(v[1].driver, "pcieport");
    ck_assert(v[1].acs);
    iommu_pci_free(v);
}
END_TEST

START_TEST(scan_without_groups)
{
    struct iommu_pci_host h = good_host();
    size_t i;

    for (i = 0; i < ndevs; i++)
        devs[i].group = -1;
    check_target(&h);
    expect(1, IOMMU_PCI_N_NO_GROUP);
    ck_assert(iommu_pci_assignable(why, nwhy));
}
END_TEST

START_TEST(scan_infers_reset)
{
    static const struct {
        bool file, flr;
        unsigned int mask;
        const char *text;
    } cases[] = {
        {true, true, IOMMU_PCI_RESET_FLR, "flr"},
        {true, false, IOMMU_PCI_RESET_UNKNOWN, "unknown-method"},
        {false, true, 0, ""},
    };
    struct iommu_pci_dev *v;
    size_t n, i;
    long idx;

    for (i = 0; i < IOVM_ARRAY_SIZE(cases); i++) {
        teardown();
        setup();
        devs[TGT].reset_method = NULL;
        devs[TGT].reset_file = cases[i].file;
        devs[TGT].flr = cases[i].flr;
        build(devs, ndevs);
        ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
        idx = iommu_pci_find(v, n, TGT_BDF);
        ck_assert_int_ge(idx, 0);
        ck_assert(v[idx].reset_inferred);
        ck_assert_uint_eq(v[idx].reset, cases[i].mask);
        ck_assert_str_eq(v[idx].reset_text, cases[i].text);
        iommu_pci_free(v);
    }
}
END_TEST

START_TEST(scan_short_config_is_conventional)
{
    struct iommu_pci_dev *v;
    size_t n;
    long idx;

    devs[RPA].cfg_len = 64; /* what a non-root reader gets */
    build(devs, ndevs);
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    idx = iommu_pci_find(v, n, "0000:00:1c.0");
    ck_assert(!v[idx].pcie && !v[idx].acs && !v[idx].msi_cap);
    ck_assert_uint_eq(v[idx].cfg_len, 64);
    idx = iommu_pci_find(v, n, TGT_BDF);
    ck_assert(!v[idx].path[0].pcie && v[idx].path[0].conventional);
    ck_assert(!v[idx].path[0].isolates && !v[idx].acs_path);
    ck_assert_str_eq(v[idx].acs_missing, "0000:00:1c.0");
    iommu_pci_free(v);
}
END_TEST

START_TEST(scan_hostile_config)
{
    struct iommu_pci_dev *v;
    size_t n;
    long idx;

    devs[TGT].cap_loop = true;
    devs[TGT].ext_loop = true;
    build(devs, ndevs);
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    idx = iommu_pci_find(v, n, TGT_BDF);
    ck_assert(v[idx].pcie && v[idx].msi_cap && !v[idx].acs);
    ck_assert(!v[idx].msix_cap);
    iommu_pci_free(v);
}
END_TEST

START_TEST(scan_rejects_bad_trees)
{
    struct iommu_pci_dev *v;
    size_t n;

    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), -ENOENT);
    build(devs, ndevs);
    put_text("sys/devices/pci0000:00/0000:00:1c.0/class", "0x06zz00\n");
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), -EINVAL);
    put_text("sys/devices/pci0000:00/0000:00:1c.0/class", "0x060400\n");
    put_text("sys/devices/pci0000:00/0000:00:1c.0/" TGT_BDF "/resource",
             "0x1 0x2\n");
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), -EINVAL);
    put_text("sys/devices/pci0000:00/0000:00:1c.0/" TGT_BDF "/resource", "%s",
             RES_NONE);
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    iommu_pci_free(v);
    ck_assert_int_eq(iommu_pci_scan(root, NULL, &n), -EINVAL);
}
END_TEST

START_TEST(scan_ignores_non_bdf_names)
{
    struct iommu_pci_dev *v;
    size_t n;

    build(devs, ndevs);
    mkdirs("sys/bus/pci/devices/0000:00:20.0"); /* slot > 0x1f */
    mkdirs("sys/bus/pci/devices/0000:00:1f.8");
    mkdirs("sys/bus/pci/devices/000:00:1f.0");
    mkdirs("sys/bus/pci/devices/0000:00:1f.0x");
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    ck_assert_uint_eq(n, NBASE);
    iommu_pci_free(v);
}
END_TEST

/* ---------------------------------------------------------- verdict */

START_TEST(assign_clean)
{
    check_default();
    expect(0);
    ck_assert(iommu_pci_assignable(why, nwhy));
}
END_TEST

START_TEST(refuse_iommu_off)
{
    struct iommu_pci_host h = good_host();

    h.iommu = false;
    check_target(&h);
    expect(1, IOMMU_PCI_R_IOMMU_OFF);
    ck_assert(!iommu_pci_assignable(why, nwhy));
}
END_TEST

START_TEST(refuse_intremap)
{
    struct iommu_pci_host h = good_host();

    h.intremap = IOMMU_UNKNOWN;
    check_target(&h);
    expect(1, IOMMU_PCI_R_INTREMAP);
    ck_assert_ptr_nonnull(strstr(why[0].text, "unknown"));
    h.intremap = IOMMU_NO;
    teardown();
    setup();
    check_target(&h);
    expect(1, IOMMU_PCI_R_INTREMAP);
    ck_assert_ptr_nonnull(strstr(why[0].text, "off"));
}
END_TEST

START_TEST(refuse_no_reset)
{
    devs[TGT].reset_method = NULL;
    devs[TGT].reset_file = false;
    check_default();
    expect(1, IOMMU_PCI_R_NO_RESET);
}
END_TEST

START_TEST(refuse_bus_reset_hitting_dom0)
{
    devs[TGT].reset_method = "bus";
    add(&other); /* bound to e1000e: dom0's */
    check_default();
    expect(1, IOMMU_PCI_R_NO_RESET);
    ck_assert_ptr_nonnull(strstr(why[0].text, "0000:02:01.0"));
}
END_TEST

START_TEST(assign_bus_reset_alone)
{
    devs[TGT].reset_method = "bus";
    add(&other);
    devs[ndevs - 1].driver = NULL;
    check_default();
    expect(0);
}
END_TEST

START_TEST(refuse_group)
{
    struct iommu_pci_host h = good_host();
    static const char *const both[] = {TGT_BDF, "0000:02:01.0"};

    add(&other);
    devs[ndevs - 1].driver = NULL;
    devs[ndevs - 1].group = 5;
    check_default();
    expect(1, IOMMU_PCI_R_GROUP);
    ck_assert_ptr_nonnull(strstr(why[0].text, "0000:02:01.0"));

    teardown();
    setup();
    add(&other);
    devs[ndevs - 1].driver = NULL;
    devs[ndevs - 1].group = 5;
    h.assign = both;
    h.nassign = 2;
    check_target(&h);
    expect(0);
}
END_TEST

START_TEST(refuse_bridge_without_acs)
{
    devs[RPA].acs = false;
    add(&other);
    check_default();
    expect(1, IOMMU_PCI_R_BRIDGE);
    ck_assert_ptr_nonnull(strstr(why[0].text, "0000:00:1c.0"));
    ck_assert_ptr_nonnull(strstr(why[0].text, "0000:02:01.0"));
    ck_assert_ptr_nonnull(strstr(why[0].text, "root port without ACS"));
}
END_TEST

START_TEST(refuse_conventional_bridge)
{
    static const struct {
        int port_type, cfg_len;
        const char *says;
    } cases[] = {
        {-1, 4096, "conventional PCI bridge"},
        {4, 64, "conventional PCI bridge"},
        {IOMMU_PCI_PORT_PCIE_PCI, 4096, "PCIe-to-PCI bridge"},
    };
    size_t i;

    for (i = 0; i < IOVM_ARRAY_SIZE(cases); i++) {
        teardown();
        setup();
        devs[RPA].port_type = cases[i].port_type;
        devs[RPA].cfg_len = cases[i].cfg_len;
        devs[RPA].acs = cases[i].port_type >= 0;
        add(&other);
        check_default();
        expect(1, IOMMU_PCI_R_BRIDGE);
        ck_assert_ptr_nonnull(strstr(why[0].text, cases[i].says));
    }
}
END_TEST

START_TEST(assign_no_acs_but_alone_below)
{
    /* No ACS above the target, but dom0's devices are elsewhere. */
    devs[RPA].acs = false;
    add(&other);
    devs[ndevs - 1].driver = "pciback";
    check_default();
    expect(0);
}
END_TEST

START_TEST(assign_upstream_port_without_acs)
{
    /* A switch: upstream port without ACS (not needed), downstream
     * ports with; dom0's NIC on the other downstream port. */
    static const struct fdev sw[] = {
        {.path = "pci0000:00/0000:00:1c.0/0000:02:00.0",
         .class_code = 0x060400,
         .vendor = 0x10b5,
         .device = 0x8747,
         .driver = "pcieport",
         .group = 10,
         .cfg_len = 4096,
         .port_type = IOMMU_PCI_PORT_UPSTREAM},
        {.path = "pci0000:00/0000:00:1c.0/0000:02:00.0/0000:03:08.0",
         .class_code = 0x060400,
         .vendor = 0x10b5,
         .device = 0x8747,
         .driver = "pcieport",
         .group = 11,
         .cfg_len = 4096,
         .port_type = IOMMU_PCI_PORT_DOWNSTREAM,
         .acs = true},
        {.path = "pci0000:00/0000:00:1c.0/0000:02:00.0/0000:03:10.0",
         .class_code = 0x060400,
         .vendor = 0x10b5,
         .device = 0x8747,
         .driver = "pcieport",
         .group = 12,
         .cfg_len = 4096,
         .port_type = IOMMU_PCI_PORT_DOWNSTREAM,
         .acs = true},
        {.path = "pci0000:00/0000:00:1c.0/0000:02:00.0/0000:03:08.0/"
                 "0000:04:00.0",
         .class_code = 0x020000,
         .vendor = 0x8086,
         .device = 0x1533,
         .driver = "pciback",
         .group = 13,
         .reset_method = "flr",
         .cfg_len = 4096,
         .port_type = 0,
         .flr = true,
         .msi = true},
        {.path = "pci0000:00/0000:00:1c.0/0000:02:00.0/0000:03:10.0/"
                 "0000:05:00.0",
         .class_code = 0x020000,
         .vendor = 0x8086,
         .device = 0x1533,
         .driver = "igb",
         .group = 14,
         .reset_method = "flr",
         .cfg_len = 4096,
         .port_type = 0,
         .flr = true,
         .msi = true},
    };
    static const char *const nic[] = {"0000:04:00.0"};
    struct iommu_pci_host h = good_host();
    struct iommu_pci_dev *v;
    size_t n;
    long idx;

    build(&base[HB], 2);
    build(sw, IOVM_ARRAY_SIZE(sw));
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    idx = iommu_pci_find(v, n, "0000:04:00.0");
    ck_assert_int_ge(idx, 0);
    ck_assert_uint_eq(v[idx].npath, 3);
    ck_assert(v[idx].acs_path);
    h.assign = nic;
    h.ndom0 = 0;
    ck_assert_int_eq(iommu_pci_check_assign(v, n, (size_t)idx, &h, why,
                                            IOVM_ARRAY_SIZE(why), &nwhy),
                     0);
    expect(0);
    /* Its downstream port losing ACS does not matter: igb is not below. */
    ck_assert_str_eq(v[idx].path[2].bdf, "0000:03:08.0");
    v[idx].path[2].isolates = false;
    ck_assert_int_eq(iommu_pci_check_assign(v, n, (size_t)idx, &h, why,
                                            IOVM_ARRAY_SIZE(why), &nwhy),
                     0);
    expect(0);
    /* The root port losing it does: igb is below that. */
    v[idx].path[0].isolates = false;
    ck_assert_int_eq(iommu_pci_check_assign(v, n, (size_t)idx, &h, why,
                                            IOVM_ARRAY_SIZE(why), &nwhy),
                     0);
    expect(1, IOMMU_PCI_R_BRIDGE);
    ck_assert_ptr_nonnull(strstr(why[0].text, "0000:05:00.0"));
    iommu_pci_free(v);
}
END_TEST

START_TEST(refuse_multifunction)
{
    struct fdev fn1 = devs[TGT];

    fn1.path = "pci0000:00/0000:00:1c.0/0000:02:00.1";
    fn1.driver = NULL;
    fn1.group = 7;
    fn1.resource = NULL;
    add(&fn1);
    check_default();
    expect(1, IOMMU_PCI_R_MULTIFUNCTION);
    ck_assert_ptr_nonnull(strstr(why[0].text, "0000:02:00.1"));
}
END_TEST

START_TEST(assign_multifunction_together)
{
    static const char *const both[] = {TGT_BDF, "0000:02:00.1"};
    struct iommu_pci_host h = good_host();
    struct fdev fn1 = devs[TGT];

    fn1.path = "pci0000:00/0000:00:1c.0/0000:02:00.1";
    fn1.group = 7;
    fn1.resource = NULL;
    add(&fn1);
    h.assign = both;
    h.nassign = 2;
    check_target(&h);
    expect(0);
}
END_TEST

START_TEST(assign_virtual_function)
{
    struct fdev vf = devs[TGT];

    vf.path = "pci0000:00/0000:00:1c.0/0000:02:00.1";
    vf.driver = NULL;
    vf.group = 7;
    vf.resource = NULL;
    vf.vf = true;
    add(&vf);
    check_default();
    expect(0);
}
END_TEST

START_TEST(refuse_shared_irq)
{
    devs[TGT].msi = false;
    devs[NVME].irq = 16;
    check_default();
    expect(1, IOMMU_PCI_R_SHARED_IRQ);
    ck_assert_ptr_nonnull(strstr(why[0].text, NVME_BDF));
}
END_TEST

START_TEST(assign_shared_irq_with_msi)
{
    devs[NVME].irq = 16; /* the target has MSI */
    check_default();
    expect(0);
}
END_TEST

START_TEST(refuse_shared_page)
{
    devs[TGT].resource =
        RES_LINE("00000000f7c00000", "00000000f7c007ff", "0000000000040200");
    devs[NVME].resource =
        RES_LINE("00000000f7c00800", "00000000f7c00fff", "0000000000040200");
    check_default();
    expect(1, IOMMU_PCI_R_SHARED_PAGE);
    ck_assert_ptr_nonnull(strstr(why[0].text, NVME_BDF));
}
END_TEST

START_TEST(assign_adjacent_pages)
{
    devs[TGT].resource =
        RES_LINE("00000000f7c00000", "00000000f7c00fff", "0000000000040200");
    devs[NVME].resource =
        RES_LINE("00000000f7c01000", "00000000f7c01fff", "0000000000040200");
    check_default();
    expect(0);
}
END_TEST

START_TEST(refuse_dom0_device)
{
    static const struct iommu_pci_use uses[] = {
        {TGT_BDF, "default route (eth0)"},
    };
    struct iommu_pci_host h = good_host();

    h.dom0 = uses;
    check_target(&h);
    expect(1, IOMMU_PCI_R_DOM0);
    ck_assert_ptr_nonnull(strstr(why[0].text, "default route"));
}
END_TEST

START_TEST(refuse_driver_busy)
{
    static const struct iommu_pci_use uses[] = {
        {TGT_BDF, "console ttyS0"},
    };
    struct iommu_pci_host h = good_host();

    devs[TGT].driver = "e1000e";
    h.dom0 = uses;
    check_target(&h);
    /* Busy is a refusal only for a device dom0 uses: both are said. */
    expect(2, IOMMU_PCI_R_DOM0, IOMMU_PCI_R_DRIVER_BUSY);
    ck_assert_ptr_nonnull(strstr(why[1].text, "e1000e"));
}
END_TEST

START_TEST(note_driver_unbind)
{
    devs[TGT].driver = "e1000e";
    check_default();
    expect(1, IOMMU_PCI_N_UNBIND);
    ck_assert(why[0].note);
    ck_assert(iommu_pci_assignable(why, nwhy));
}
END_TEST

START_TEST(check_bounds)
{
    struct iommu_pci_host h = good_host();
    struct iommu_pci_dev *v;
    size_t n;
    long idx;

    h.iommu = false;
    h.intremap = IOMMU_NO;
    build(devs, ndevs);
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    idx = iommu_pci_find(v, n, TGT_BDF);
    ck_assert_int_eq(
        iommu_pci_check_assign(v, n, (size_t)idx, &h, why, 1, &nwhy), -ENOSPC);
    ck_assert_uint_eq(nwhy, 1);
    ck_assert_int_eq(why[0].code, IOMMU_PCI_R_IOMMU_OFF);
    ck_assert_int_eq(iommu_pci_check_assign(v, n, n, &h, why, 1, &nwhy),
                     -EINVAL);
    ck_assert_int_eq(iommu_pci_check_assign(v, n, 0, NULL, why, 1, &nwhy),
                     -EINVAL);
    iommu_pci_free(v);
    ck_assert_str_eq(iommu_pci_reason_name(IOMMU_PCI_R_SHARED_PAGE),
                     "shared-page");
    ck_assert_str_eq(iommu_pci_reason_name(0), "unknown");
}
END_TEST

/* ------------------------------------------------------ dom0's uses */

static void build_dom0_tree(void)
{
    static const char *const pcidevs[] = {
        "pci0000:00/0000:00:02.0",
        "pci0000:00/0000:00:16.3",
        "pci0000:00/0000:00:17.0",
        "pci0000:00/0000:00:19.0",
        "pci0000:00/0000:00:1c.0/0000:04:00.0",
    };
    size_t i;

    build(devs, ndevs);
    for (i = 0; i < IOVM_ARRAY_SIZE(pcidevs); i++) {
        struct fdev f = {.path = pcidevs[i],
                         .class_code = 0x020000,
                         .vendor = 0x8086,
                         .device = 1,
                         .group = -1,
                         .port_type = -1};

        fdev_add(&f);
    }
    put_text("sys/devices/pci0000:00/0000:00:02.0/boot_vga", "1\n");
    put_text("sys/devices/pci0000:00/0000:00:17.0/boot_vga", "0\n");

    put_text("proc/self/mountinfo",
             "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 "
             "rw\n"
             "23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
             "24 22 253:0 / /home rw,relatime shared:2 - ext4 "
             "/dev/mapper/vg-home rw\n"
             "25 22 0:30 / /srv rw - btrfs /dev/sdb1 rw\n"
             "garbage\n");
    mkdirs("sys/devices/pci0000:00/0000:00:1d.0/" NVME_BDF
           "/nvme/nvme0/nvme0n1/nvme0n1p2");
    link_to("sys/dev/block/259:2",
            "../../devices/pci0000:00/0000:00:1d.0/" NVME_BDF
            "/nvme/nvme0/nvme0n1/nvme0n1p2");
    /* /home: dm-0 on sda3 behind the SATA controller 00:17.0. */
    mkdirs("sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/"
           "0:0:0:0/block/sda/sda3");
    mkdirs("sys/devices/virtual/block/dm-0/slaves");
    link_to("sys/devices/virtual/block/dm-0/slaves/sda3",
            "../../../../pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/"
            "0:0:0:0/block/sda/sda3");
    link_to("sys/class/block/sda3",
            "../../devices/pci0000:00/0000:00:17.0/ata1/host0/"
            "target0:0:0/0:0:0:0/block/sda/sda3");
    link_to("sys/dev/block/253:0", "../../devices/virtual/block/dm-0");
    /* /srv: btrfs's anonymous device, found by its source (same disk
     * controller as /home: one entry per device). */
    mkdirs("sys/devices/pci0000:00/0000:00:17.0/ata2/block/sdb/sdb1");
    link_to("sys/class/block/sdb1",
            "../../devices/pci0000:00/0000:00:17.0/ata2/block/sdb/sdb1");

    put_text("sys/class/tty/console/active", "tty0 ttyS4 hvc0\n");
    link_to("sys/class/tty/ttyS4/device",
            "../../../devices/pci0000:00/0000:00:16.3");
    mkdirs("sys/class/tty/hvc0");

    put_text("proc/net/route",
             "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
             "Mask\t\tMTU\tWindow\tIRTT\n"
             "xenbr0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
             "xenbr0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
             "vif9.0\t00000000\t0102A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n");
    mkdirs("sys/class/net/xenbr0");
    link_to("sys/class/net/xenbr0/lower_eth0", "../eth0");
    link_to("sys/class/net/xenbr0/lower_vif1.0", "../vif1.0");
    mkdirs("sys/class/net/vif1.0");
    link_to("sys/class/net/eth0/device",
            "../../../devices/pci0000:00/0000:00:19.0");
    put_text("proc/net/ipv6_route",
             "00000000000000000000000000000000 00 "
             "00000000000000000000000000000000 00 "
             "fe800000000000000000000000000001 00000400 00000001 "
             "00000000 00000003     eth1\n"
             "00000000000000000000000000000000 00 "
             "00000000000000000000000000000000 00 "
             "00000000000000000000000000000000 ffffffff 00000001 "
             "00000000 00200200       lo\n");
    link_to("sys/class/net/eth1/device",
            "../../../devices/pci0000:00/0000:00:1c.0/0000:04:00.0");
}

START_TEST(dom0_uses_found)
{
    struct iommu_pci_use uses[16];
    size_t n;

    build_dom0_tree();
    ck_assert_int_eq(iommu_pci_dom0_uses(root, uses, 16, &n), 0);
    ck_assert_uint_eq(n, 6);
    ck_assert_str_eq(uses[0].bdf, NVME_BDF);
    ck_assert_str_eq(uses[0].what, "root filesystem (/dev/nvme0n1p2)");
    ck_assert_str_eq(uses[1].bdf, "0000:00:17.0");
    ck_assert_str_eq(uses[1].what, "filesystem on /home (/dev/mapper/vg-home)");
    ck_assert_str_eq(uses[2].bdf, "0000:00:02.0");
    ck_assert_str_eq(uses[2].what, "console tty0 (boot VGA)");
    ck_assert_str_eq(uses[3].bdf, "0000:00:16.3");
    ck_assert_str_eq(uses[3].what, "console ttyS4");
    ck_assert_str_eq(uses[4].bdf, "0000:00:19.0");
    ck_assert_str_eq(uses[4].what, "default route (xenbr0 via eth0)");
    ck_assert_str_eq(uses[5].bdf, "0000:04:00.0");
    ck_assert_str_eq(uses[5].what, "default route (eth1)");

    ck_assert_int_eq(iommu_pci_dom0_uses(root, uses, 2, &n), -ENOSPC);
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(dom0_uses_feed_the_verdict)
{
    struct iommu_pci_use uses[16];
    struct iommu_pci_host h = good_host();
    struct iommu_pci_dev *v;
    size_t n, nu;
    long idx;

    build_dom0_tree();
    ck_assert_int_eq(iommu_pci_dom0_uses(root, uses, 16, &nu), 0);
    ck_assert_int_eq(iommu_pci_scan(root, &v, &n), 0);
    idx = iommu_pci_find(v, n, NVME_BDF);
    h.dom0 = uses;
    h.ndom0 = nu;
    h.assign = NULL;
    h.nassign = 0;
    ck_assert_int_eq(iommu_pci_check_assign(v, n, (size_t)idx, &h, why,
                                            IOVM_ARRAY_SIZE(why), &nwhy),
                     0);
    expect(2, IOMMU_PCI_R_DOM0, IOMMU_PCI_R_DRIVER_BUSY);
    ck_assert_ptr_nonnull(strstr(why[0].text, "root filesystem"));
    iommu_pci_free(v);
}
END_TEST

START_TEST(dom0_uses_needs_mountinfo)
{
    struct iommu_pci_use uses[4];
    size_t n;

    ck_assert_int_eq(iommu_pci_dom0_uses(root, uses, 4, &n), -ENOENT);
    /* Only pseudo filesystems, no console, no route: nothing, fine. */
    put_text("proc/self/mountinfo", "1 0 0:2 / / rw - tmpfs none rw\n");
    ck_assert_int_eq(iommu_pci_dom0_uses(root, uses, 4, &n), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iommu-pci");
    TCase *tc;
    SRunner *sr;
    int failed;

    tc = tcase_create("scan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, scan_reads_attributes);
    tcase_add_test(tc, scan_without_groups);
    tcase_add_test(tc, scan_infers_reset);
    tcase_add_test(tc, scan_short_config_is_conventional);
    tcase_add_test(tc, scan_hostile_config);
    tcase_add_test(tc, scan_rejects_bad_trees);
    tcase_add_test(tc, scan_ignores_non_bdf_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("verdict");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, assign_clean);
    tcase_add_test(tc, refuse_iommu_off);
    tcase_add_test(tc, refuse_intremap);
    tcase_add_test(tc, refuse_no_reset);
    tcase_add_test(tc, refuse_bus_reset_hitting_dom0);
    tcase_add_test(tc, assign_bus_reset_alone);
    tcase_add_test(tc, refuse_group);
    tcase_add_test(tc, refuse_bridge_without_acs);
    tcase_add_test(tc, refuse_conventional_bridge);
    tcase_add_test(tc, assign_no_acs_but_alone_below);
    tcase_add_test(tc, assign_upstream_port_without_acs);
    tcase_add_test(tc, refuse_multifunction);
    tcase_add_test(tc, assign_multifunction_together);
    tcase_add_test(tc, assign_virtual_function);
    tcase_add_test(tc, refuse_shared_irq);
    tcase_add_test(tc, assign_shared_irq_with_msi);
    tcase_add_test(tc, refuse_shared_page);
    tcase_add_test(tc, assign_adjacent_pages);
    tcase_add_test(tc, refuse_dom0_device);
    tcase_add_test(tc, refuse_driver_busy);
    tcase_add_test(tc, note_driver_unbind);
    tcase_add_test(tc, check_bounds);
    suite_add_tcase(s, tc);

    tc = tcase_create("dom0");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dom0_uses_found);
    tcase_add_test(tc, dom0_uses_feed_the_verdict);
    tcase_add_test(tc, dom0_uses_needs_mountinfo);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
