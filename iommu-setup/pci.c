/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-iommu's PCI half: reads devices from <root>/sys/bus/pci/devices
 * (attributes, config space, the sysfs path for the bridges above), finds
 * what dom0 needs from <root>/proc and <root>/sys/class, and decides
 * whether a device can go to a driver domain, with every reason it cannot.
 *
 * Trusts the tree's contents as the truth about the machine (it is the
 * kernel's, or a test's), not its shape: numbers are parsed strictly,
 * every read and every walk (capability lists, symlink chains, stacked
 * block and network devices) is bounded.  Symlinks are only resolved,
 * relative to the root; nothing is written.  Libraries do not print.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pci.h"
#include "util.h"

/* Config space (PCI Local Bus 3.0, PCIe Base 4.0 ch. 7). */
#define CFG_STATUS          0x06
#define CFG_STATUS_CAP_LIST 0x10
#define CFG_HEADER_TYPE     0x0e
#define CFG_HEADER_MF       0x80
#define CFG_CAP_PTR         0x34
#define CFG_STD_END         0x100
#define CFG_MAX             4096
#define CAP_ID_MSI          0x05
#define CAP_ID_PCIE         0x10
#define CAP_ID_MSIX         0x11
#define PCIE_FLAGS          0x02
#define PCIE_DEVCAP         0x04
#define PCIE_DEVCAP_FLR     (1u << 28)
#define EXT_CAP_ACS         0x000d
#define ACS_CAP             0x04
#define ACS_CTRL            0x06
/* What Linux (REQ_ACS_FLAGS) and Xen require: SV, RR, CR, UF. */
#define ACS_REQUIRED (0x01 | 0x04 | 0x08 | 0x10)

#define RES_MEM           0x200 /* IORESOURCE_MEM */
#define PAGE_4K_SHIFT     12
#define CLASS_BRIDGE_PCI  0x0604
#define CLASS_BRIDGE_SEMI 0x0609

#define ATTR_MAX    4096 /* resource is ~1 KiB */
#define STACK_DEPTH 8    /* dm on md on disk, vlan on bond on nic */

/* The root prefix, and its realpath to strip from resolved links. */
struct root {
    char dir[PATH_MAX];
    char real[PATH_MAX];
    size_t reallen; /* 0 when the root is "/" */
};

static int root_init(struct root *r, const char *root)
{
    size_t len;

    if (!root)
        root = "";
    len = strlen(root);
    while (len > 0 && root[len - 1] == '/')
        len--;
    if (len >= sizeof(r->dir))
        return -ENAMETOOLONG;
    memcpy(r->dir, root, len);
    r->dir[len] = '\0';
    if (!realpath(len ? r->dir : "/", r->real))
        return -errno;
    r->reallen = strcmp(r->real, "/") ? strlen(r->real) : 0;
    return 0;
}

static int __attribute__((format(printf, 3, 4)))
path_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -EINVAL;
    return (size_t)r < len ? 0 : -ENAMETOOLONG;
}

/* A name to put in a path: no separator, not "." or "..". */
static bool name_ok(const char *s)
{
    size_t len = strlen(s);

    return len > 0 && len < IOMMU_PCI_NAME_LEN && !strchr(s, '/') &&
           strcmp(s, ".") && strcmp(s, "..");
}

/* "0x" optional, 1-16 hex digits, nothing else; 0, -EINVAL or -ERANGE. */
static int parse_hex(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    if (!s[0])
        return -EINVAL;
    for (i = 0; s[i]; i++) {
        int d = iovm_hexval(s[i]);

        if (d < 0 || i >= 16)
            return -EINVAL;
        v = v << 4 | (uint64_t)d;
    }
    if (v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* A BDF as sysfs writes it: 4-8 hex, ':', 2 hex, ':', 2 hex, '.', 0-7. */
static bool bdf_parse(const char *s, uint32_t *domain, uint8_t *bus,
                      uint8_t *slot, uint8_t *fn)
{
    uint32_t dom = 0;
    size_t nd = 0;
    int sl;

    while (nd < 9 && iovm_hexval(s[nd]) >= 0)
        dom = dom << 4 | (uint32_t)iovm_hexval(s[nd++]);
    if (nd < 4 || nd > 8 || s[nd] != ':')
        return false;
    s += nd + 1;
    /* Left to right, so a short string stops at its NUL. */
    if (iovm_hexval(s[0]) < 0 || iovm_hexval(s[1]) < 0 || s[2] != ':' ||
        iovm_hexval(s[3]) < 0 || iovm_hexval(s[4]) < 0 || s[5] != '.' || s[6] < '0' ||
        s[6] > '7' || s[7])
        return false;
    sl = iovm_hexval(s[3]) << 4 | iovm_hexval(s[4]);
    if (sl > 0x1f)
        return false;
    if (domain) {
        *domain = dom;
        *bus = (uint8_t)(iovm_hexval(s[0]) << 4 | iovm_hexval(s[1]));
        *slot = (uint8_t)sl;
        *fn = (uint8_t)(s[6] - '0');
    }
    return true;
}

/*
 * Reads a small file: at most len - 1 bytes, NUL-terminated, trailing
 * white space cut.  -EFBIG when it does not fit.
 */
static int read_text_at(int dfd, const char *name, char *buf, size_t len)
{
    size_t got = 0;
    int fd, rc = 0;

    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t r = read(fd, buf + got, len - 1 - got);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got == len - 1) {
            char c;

            if (read(fd, &c, 1) != 0) {
                rc = -EFBIG;
                goto out;
            }
            break;
        }
    }
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' ' ||
                       buf[got - 1] == '\t'))
        got--;
    buf[got] = '\0';
out:
    close(fd);
    return rc;
}

static int read_text(const char *path, char *buf, size_t len)
{
    return read_text_at(AT_FDCWD, path, buf, len);
}

/* Binary read of up to len bytes; *got is what there was. */
static int read_bin_at(int dfd, const char *name, uint8_t *buf, size_t len,
                       size_t *got)
{
    int fd, rc = 0;

    *got = 0;
    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while (*got < len) {
        ssize_t r = read(fd, buf + *got, len - *got);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    close(fd);
    return rc;
}

static bool exists_at(int dfd, const char *name)
{
    struct stat st;

    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The last component of a symlink's target; -ENOENT when no link. */
static int link_base_at(int dfd, const char *name, char *out, size_t len)
{
    char target[PATH_MAX];
    const char *base;
    ssize_t r;

    r = readlinkat(dfd, name, target, sizeof(target) - 1);
    if (r < 0)
        return -errno;
    target[r] = '\0';
    base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (!name_ok(base) || strlen(base) >= len)
        return -EINVAL;
    strcpy(out, base);
    return 0;
}

/*
 * The deepest BDF-named component of the realpath of <root-relative>
 * path: the PCI device a sysfs device hangs off.  Components before it
 * that are BDFs are the bridges above, stored in path[] when given.
 * 0, -ENODEV when no component is a BDF, -errno.
 */
static int pci_of_path(const struct root *rt, const char *path,
                       char bdf[IOMMU_PCI_BDF_LEN],
                       char (*bridges)[IOMMU_PCI_BDF_LEN],
                       unsigned int *nbridges)
{
    char real[PATH_MAX], *p, *save = NULL;
    unsigned int nb = 0;
    bool found = false;

    if (!realpath(path, real))
        return -errno;
    p = real;
    if (rt->reallen) {
        /* A link that leaves the root is not the root's. */
        if (strncmp(real, rt->real, rt->reallen) ||
            (real[rt->reallen] != '/' && real[rt->reallen] != '\0'))
            return -EXDEV;
        p += rt->reallen;
    }
    for (p = strtok_r(p, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (!bdf_parse(p, NULL, NULL, NULL, NULL))
            continue;
        if (found) {
            if (bridges && nb >= IOMMU_PCI_MAX_DEPTH)
                return -E2BIG;
            if (bridges)
                strcpy(bridges[nb], bdf);
            nb++;
        }
        strcpy(bdf, p);
        found = true;
    }
    if (nbridges)
        *nbridges = nb;
    return found ? 0 : -ENODEV;
}

/* ------------------------------------------------------- config space */

struct cfg_info {
    bool pcie, flr, msi, msix, acs, mf;
    int port_type;
};

/* Standard capability list: bounded like Linux's (48 entries). */
static int cfg_find_cap(const uint8_t *cfg, size_t len, uint8_t id)
{
    unsigned int pos, ttl = 48;

    if (len < CFG_STD_END || !(cfg[CFG_STATUS] & CFG_STATUS_CAP_LIST))
        return -1;
    pos = cfg[CFG_CAP_PTR];
    while (ttl--) {
        if (pos < 0x40)
            break;
        pos &= ~3u;
        if (cfg[pos] == 0xff)
            break;
        if (cfg[pos] == id)
            return (int)pos;
        pos = cfg[pos + 1];
    }
    return -1;
}

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return le16(p) | le16(p + 2) << 16;
}

/* Extended list from 0x100; each hop moves on or ends, 960 at most. */
static int cfg_find_ext_cap(const uint8_t *cfg, size_t len, uint16_t id)
{
    unsigned int pos = CFG_STD_END, ttl = (CFG_MAX - CFG_STD_END) / 4;

    while (ttl-- && pos + 4 <= len) {
        uint32_t hdr = le32(cfg + pos);

        if (hdr == 0 || hdr == 0xffffffff)
            break;
        if ((hdr & 0xffff) == id)
            return (int)pos;
        pos = (hdr >> 20) & 0xffc;
        if (pos < CFG_STD_END)
            break;
    }
    return -1;
}

/*
 * Less than 256 bytes (not root, or an odd tree) reads as conventional
 * PCI without ACS: the safe answer when we cannot see.
 */
static void cfg_parse(const uint8_t *cfg, size_t len, struct cfg_info *ci)
{
    int pos;

    memset(ci, 0, sizeof(*ci));
    ci->port_type = -1;
    if (len > CFG_HEADER_TYPE)
        ci->mf = cfg[CFG_HEADER_TYPE] & CFG_HEADER_MF;
    if (len < CFG_STD_END)
        return;
    ci->msi = cfg_find_cap(cfg, len, CAP_ID_MSI) >= 0;
    ci->msix = cfg_find_cap(cfg, len, CAP_ID_MSIX) >= 0;
    pos = cfg_find_cap(cfg, len, CAP_ID_PCIE);
    if (pos >= 0 && (size_t)pos + PCIE_DEVCAP + 4 <= len) {
        ci->pcie = true;
        ci->port_type = (int)(le16(cfg + pos + PCIE_FLAGS) >> 4 & 0xf);
        ci->flr = le32(cfg + pos + PCIE_DEVCAP) & PCIE_DEVCAP_FLR;
    }
    pos = cfg_find_ext_cap(cfg, len, EXT_CAP_ACS);
    if (pos >= 0 && (size_t)pos + ACS_CTRL + 2 <= len) {
        uint32_t want = le16(cfg + pos + ACS_CAP) & ACS_REQUIRED;

        ci->acs = (le16(cfg + pos + ACS_CTRL) & want) == want;
    }
}

/* ------------------------------------------------------------- scan */

static const struct {
    const char *name;
    unsigned int bit;
} reset_names[] = {
    {"flr", IOMMU_PCI_RESET_FLR},
    {"af_flr", IOMMU_PCI_RESET_AF_FLR},
    {"pm", IOMMU_PCI_RESET_PM},
    {"bus", IOMMU_PCI_RESET_BUS},
    {"cxl_bus", IOMMU_PCI_RESET_CXL_BUS},
    {"acpi", IOMMU_PCI_RESET_ACPI},
    {"device_specific", IOMMU_PCI_RESET_DEVSPEC},
    {"unknown-method", IOMMU_PCI_RESET_UNKNOWN},
};

static unsigned int reset_parse(const char text[IOMMU_PCI_NAME_LEN])
{
    char buf[IOMMU_PCI_NAME_LEN], *tok, *save = NULL;
    unsigned int mask = 0;
    size_t i;

    memcpy(buf, text, sizeof(buf));
    for (tok = strtok_r(buf, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save))
        for (i = 0; i < IOVM_ARRAY_SIZE(reset_names); i++)
            if (!strcmp(tok, reset_names[i].name))
                mask |= reset_names[i].bit;
    return mask;
}

/*
 * reset_method (Linux >= 5.15) lists what the kernel will use; it is
 * absent when there is none.  Older kernels only have `reset`, present
 * when some method works: FLR when DevCap says so, else unknown.  With
 * neither, nothing (not pciback, not libxl) can reset the device, even
 * if DevCap advertises FLR (the kernel may have quirked it off).
 */
static int scan_reset(int dfd, struct iommu_pci_dev *d)
{
    int rc;

    /* Every method Linux knows fits in 64 bytes: -EFBIG is not sysfs. */
    rc =
        read_text_at(dfd, "reset_method", d->reset_text, sizeof(d->reset_text));
    if (rc == 0) {
        d->reset = reset_parse(d->reset_text);
        return 0;
    }
    d->reset_text[0] = '\0';
    if (rc != -ENOENT)
        return rc;
    d->reset_inferred = true;
    if (!exists_at(dfd, "reset"))
        return 0;
    d->reset = d->flr_cap ? IOMMU_PCI_RESET_FLR : IOMMU_PCI_RESET_UNKNOWN;
    strcpy(d->reset_text, d->flr_cap ? "flr" : "unknown-method");
    return 0;
}

/* "0xSTART 0xEND 0xFLAGS" per line; BARs 0-5 and the ROM only. */
static int scan_resource(int dfd, struct iommu_pci_dev *d)
{
    char *buf, *line, *save = NULL;
    unsigned int i = 0;
    int rc;

    buf = malloc(ATTR_MAX);
    if (!buf)
        return -ENOMEM;
    rc = read_text_at(dfd, "resource", buf, ATTR_MAX);
    if (rc == -ENOENT) {
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;
    for (line = strtok_r(buf, "\n", &save); line && i < IOMMU_PCI_MAX_BARS;
         line = strtok_r(NULL, "\n", &save), i++) {
        char *f[3], *fsave = NULL;
        uint64_t v[3];
        unsigned int k;

        f[0] = strtok_r(line, " ", &fsave);
        f[1] = strtok_r(NULL, " ", &fsave);
        f[2] = strtok_r(NULL, " ", &fsave);
        if (!f[2] || strtok_r(NULL, " ", &fsave)) {
            rc = -EINVAL;
            goto out;
        }
        for (k = 0; k < 3; k++) {
            rc = parse_hex(f[k], UINT64_MAX, &v[k]);
            if (rc)
                goto out;
        }
        if (!v[2] || v[1] < v[0])
            continue;
        d->bars[d->nbars].index = i;
        d->bars[d->nbars].start = v[0];
        d->bars[d->nbars].end = v[1];
        d->bars[d->nbars].flags = v[2];
        d->nbars++;
    }
out:
    free(buf);
    return rc;
}

static int scan_hex_attr(int dfd, const char *name, uint64_t max, uint64_t *out)
{
    char buf[32];
    int rc = read_text_at(dfd, name, buf, sizeof(buf));

    if (rc == -EFBIG)
        return -EINVAL;
    return rc ? rc : parse_hex(buf, max, out);
}

static int scan_one(const struct root *rt, const char *name,
                    struct iommu_pci_dev *d)
{
    char path[PATH_MAX], buf[32];
    char bridges[IOMMU_PCI_MAX_DEPTH][IOMMU_PCI_BDF_LEN];
    char self[IOMMU_PCI_BDF_LEN];
    uint8_t *cfg = NULL;
    struct cfg_info ci;
    uint64_t v;
    unsigned int i, nb;
    int dfd = -1, rc;

    memset(d, 0, sizeof(*d));
    d->group = -1;
    d->port_type = -1;
    bdf_parse(name, &d->domain, &d->bus, &d->slot, &d->fn);
    snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%u", d->domain, d->bus,
             d->slot, d->fn);

    rc = path_fmt(path, sizeof(path), "%s/sys/bus/pci/devices/%s", rt->dir,
                  name);
    if (rc)
        goto out;
    dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = -errno;
        goto out;
    }

    rc = scan_hex_attr(dfd, "class", 0xffffff, &v);
    if (rc)
        goto bad;
    d->class_code = (uint32_t)v;
    rc = scan_hex_attr(dfd, "vendor", 0xffff, &v);
    if (rc)
        goto bad;
    d->vendor = (uint16_t)v;
    rc = scan_hex_attr(dfd, "device", 0xffff, &v);
    if (rc)
        goto bad;
    d->device = (uint16_t)v;

    rc = link_base_at(dfd, "driver", d->driver, sizeof(d->driver));
    if (rc && rc != -ENOENT)
        goto out;
    rc = link_base_at(dfd, "iommu_group", buf, sizeof(buf));
    if (rc == 0) {
        unsigned int g;

        rc = iovm_parse_uint(buf, INT_MAX, &g);
        if (rc)
            goto out;
        d->group = (int)g;
    } else if (rc != -ENOENT) {
        goto out;
    }

    rc = read_text_at(dfd, "irq", buf, sizeof(buf));
    if (rc == 0)
        rc = iovm_parse_uint(buf, UINT_MAX, &d->irq);
    if (rc && rc != -ENOENT)
        goto out;
    d->msi_bus = exists_at(dfd, "msi_bus");
    d->msi_irqs = exists_at(dfd, "msi_irqs");
    d->is_vf = exists_at(dfd, "physfn");

    cfg = calloc(1, CFG_MAX);
    if (!cfg) {
        rc = -ENOMEM;
        goto out;
    }
    rc = read_bin_at(dfd, "config", cfg, CFG_MAX, &d->cfg_len);
    if (rc && rc != -ENOENT && rc != -EACCES)
        goto out;
    cfg_parse(cfg, d->cfg_len, &ci);
    d->pcie = ci.pcie;
    d->port_type = ci.port_type;
    d->flr_cap = ci.flr;
    d->acs = ci.acs;
    d->multifunction = ci.mf;
    d->msi_cap = ci.msi;
    d->msix_cap = ci.msix;

    rc = scan_reset(dfd, d);
    if (rc)
        goto out;
    rc = scan_resource(dfd, d);
    if (rc)
        goto out;

    /* The path: bridges are filled in once every device is read. */
    rc = pci_of_path(rt, path, self, bridges, &nb);
    if (rc == 0 && !strcasecmp(self, d->bdf)) {
        d->path_known = true;
        d->npath = nb;
        for (i = 0; i < nb; i++)
            memcpy(d->path[i].bdf, bridges[i], sizeof(d->path[i].bdf));
    }
    rc = 0;
    goto out;
bad:
    if (rc == -ENOENT || rc == -ERANGE)
        rc = -EINVAL;
out:
    free(cfg);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

static int dev_cmp(const void *a, const void *b)
{
    const struct iommu_pci_dev *x = a, *y = b;
    uint64_t kx =
        (uint64_t)x->domain << 16 | x->bus << 8 | x->slot << 3 | x->fn;
    uint64_t ky =
        (uint64_t)y->domain << 16 | y->bus << 8 | y->slot << 3 | y->fn;

    return kx < ky ? -1 : kx > ky;
}

long iommu_pci_find(const struct iommu_pci_dev *devs, size_t n, const char *bdf)
{
    size_t i;

    for (i = 0; bdf && i < n; i++)
        if (!strcasecmp(devs[i].bdf, bdf))
            return (long)i;
    return -1;
}

/*
 * Linux's pci_acs_enabled(): downstream and root ports must have ACS,
 * an upstream port only when multi-function; anything conventional, the
 * PCIe/PCI bridges, and whatever else sits in the path (a VMD endpoint)
 * do not isolate.
 */
static void bridge_fill(struct iommu_pci_bridge *b,
                        const struct iommu_pci_dev *bd)
{
    b->found = bd != NULL;
    b->pcie = bd && bd->pcie;
    b->port_type = bd ? bd->port_type : -1;
    b->acs = bd && bd->acs;
    b->conventional = !b->pcie || b->port_type == IOMMU_PCI_PORT_PCIE_PCI;
    switch (b->port_type) {
    case IOMMU_PCI_PORT_ROOT:
    case IOMMU_PCI_PORT_DOWNSTREAM:
        b->isolates = b->acs;
        break;
    case IOMMU_PCI_PORT_UPSTREAM:
        b->isolates = !bd->multifunction || b->acs;
        break;
    default:
        b->isolates = false;
    }
}

int iommu_pci_scan(const char *root, struct iommu_pci_dev **devs, size_t *n)
{
    struct iommu_pci_dev *v = NULL, *nv;
    struct dirent *de;
    struct root rt;
    char path[PATH_MAX];
    size_t cnt = 0, cap = 0, i;
    DIR *dir = NULL;
    int rc;

    if (!devs || !n)
        return -EINVAL;
    rc = root_init(&rt, root);
    if (rc)
        return rc;
    rc = path_fmt(path, sizeof(path), "%s/sys/bus/pci/devices", rt.dir);
    if (rc)
        return rc;
    dir = opendir(path);
    if (!dir)
        return -errno;
    while ((errno = 0, de = readdir(dir))) {
        if (!bdf_parse(de->d_name, NULL, NULL, NULL, NULL))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 32;
            nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                rc = -ENOMEM;
                goto out;
            }
            v = nv;
        }
        rc = scan_one(&rt, de->d_name, &v[cnt]);
        if (rc)
            goto out;
        cnt++;
    }
    if (errno) {
        rc = -errno;
        goto out;
    }
    if (cnt)
        qsort(v, cnt, sizeof(*v), dev_cmp);

    for (i = 0; i < cnt; i++) {
        struct iommu_pci_dev *d = &v[i];
        unsigned int k;

        d->acs_path = d->path_known;
        for (k = 0; k < d->npath; k++) {
            long b = iommu_pci_find(v, cnt, d->path[k].bdf);

            bridge_fill(&d->path[k], b >= 0 ? &v[b] : NULL);
            if (!d->path[k].isolates) {
                d->acs_path = false;
                strcpy(d->acs_missing, d->path[k].bdf);
            }
        }
    }
    *devs = v;
    *n = cnt;
    v = NULL;
    rc = 0;
out:
    free(v);
    closedir(dir);
    return rc;
}

void iommu_pci_free(struct iommu_pci_dev *devs)
{
    free(devs);
}

/* ------------------------------------------------------- dom0's uses */

struct uses {
    const struct root *rt;
    struct iommu_pci_use *v;
    size_t max, n;
    bool full;
};

static void __attribute__((format(printf, 3, 4)))
use_add(struct uses *u, const char *bdf, const char *fmt, ...)
{
    va_list ap;
    size_t i;

    for (i = 0; i < u->n; i++)
        if (!strcasecmp(u->v[i].bdf, bdf))
            return;
    if (u->n == u->max) {
        u->full = true;
        return;
    }
    snprintf(u->v[u->n].bdf, sizeof(u->v[u->n].bdf), "%s", bdf);
    va_start(ap, fmt);
    vsnprintf(u->v[u->n].what, sizeof(u->v[u->n].what), fmt, ap);
    va_end(ap);
    u->n++;
}

/*
 * A block device's sysfs directory: the PCI device above it, or for a
 * device-mapper / md device, those of its slaves (a partition's are its
 * disk's).
 */
static void block_add(struct uses *u, const char *dir, const char *what,
                      unsigned int depth)
{
    char bdf[IOMMU_PCI_BDF_LEN], path[PATH_MAX];
    const char *sub[] = {"slaves", "../slaves"};
    struct dirent *de;
    unsigned int i;
    DIR *d;

    if (depth > STACK_DEPTH)
        return;
    if (pci_of_path(u->rt, dir, bdf, NULL, NULL) == 0) {
        use_add(u, bdf, "%s", what);
        return;
    }
    for (i = 0; i < IOVM_ARRAY_SIZE(sub); i++) {
        if (path_fmt(path, sizeof(path), "%s/%s", dir, sub[i]))
            return;
        d = opendir(path);
        if (!d)
            continue;
        while ((de = readdir(d))) {
            char slave[PATH_MAX];

            if (!name_ok(de->d_name) ||
                path_fmt(slave, sizeof(slave), "%s/sys/class/block/%s",
                         u->rt->dir, de->d_name))
                continue;
            block_add(u, slave, what, depth + 1);
        }
        closedir(d);
        return;
    }
}

/*
 * A mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...]
 * - FSTYPE SOURCE SUPEROPTS".  0 with the fields we need, or -EINVAL.
 */
static int mountinfo_split(char *line, char **majmin, char **mnt, char **source)
{
    char *f[64], *save = NULL;
    unsigned int i, nf = 0;

    for (f[0] = strtok_r(line, " \n", &save); f[nf] && nf < 63;
         f[++nf] = strtok_r(NULL, " \n", &save))
        ;
    for (i = 6; i + 2 < nf; i++) {
        if (strcmp(f[i], "-"))
            continue;
        *majmin = f[2];
        *mnt = f[4];
        *source = f[i + 2];
        return 0;
    }
    return -EINVAL;
}

static void mount_add(struct uses *u, char *majmin, const char *mnt,
                      const char *source, bool is_root)
{
    char path[PATH_MAX], what[96];
    unsigned int maj, min;
    char *colon = strchr(majmin, ':');

    if (!colon)
        return;
    *colon = '\0';
    if (iovm_parse_uint(majmin, UINT_MAX, &maj) ||
        iovm_parse_uint(colon + 1, UINT_MAX, &min))
        return;
    if (is_root)
        snprintf(what, sizeof(what), "root filesystem (%s)", source);
    else
        snprintf(what, sizeof(what), "filesystem on %.60s (%s)", mnt, source);
    if (maj != 0) {
        if (path_fmt(path, sizeof(path), "%s/sys/dev/block/%u:%u", u->rt->dir,
                     maj, min))
            return;
    } else if (!strncmp(source, "/dev/", 5) && name_ok(source + 5)) {
        /* btrfs and friends report an anonymous 0:N; trust the source. */
        if (path_fmt(path, sizeof(path), "%s/sys/class/block/%s", u->rt->dir,
                     source + 5))
            return;
    } else {
        return;
    }
    block_add(u, path, what, 0);
}

/* Every block-backed mount, "/" first (the last "/" line is on top). */
static int mounts_find(struct uses *u)
{
    char path[PATH_MAX], *line = NULL, *mm, *mnt, *src;
    char *root_line = NULL;
    size_t cap = 0;
    unsigned int pass;
    FILE *f;
    int rc;

    rc = path_fmt(path, sizeof(path), "%s/proc/self/mountinfo", u->rt->dir);
    if (rc)
        return rc;
    f = fopen(path, "re");
    if (!f)
        return -errno;
    for (pass = 0; pass < 2; pass++) {
        rewind(f);
        while (getline(&line, &cap, f) > 0) {
            char *copy = strdup(line);

            if (!copy) {
                rc = -ENOMEM;
                goto out;
            }
            if (mountinfo_split(copy, &mm, &mnt, &src) == 0) {
                if (pass == 0 && !strcmp(mnt, "/")) {
                    free(root_line);
                    root_line = strdup(line);
                    if (!root_line) {
                        free(copy);
                        rc = -ENOMEM;
                        goto out;
                    }
                } else if (pass == 1 && strcmp(mnt, "/")) {
                    mount_add(u, mm, mnt, src, false);
                }
            }
            free(copy);
        }
        if (pass == 0 && root_line &&
            mountinfo_split(root_line, &mm, &mnt, &src) == 0)
            mount_add(u, mm, mnt, src, true);
    }
out:
    free(root_line);
    free(line);
    fclose(f);
    return rc;
}

/* The boot VGA device (the kernel's console on tty0..63). */
static void vga_add(struct uses *u, const char *tty)
{
    char path[PATH_MAX], val[8];
    struct dirent *de;
    DIR *d;

    if (path_fmt(path, sizeof(path), "%s/sys/bus/pci/devices", u->rt->dir))
        return;
    d = opendir(path);
    if (!d)
        return;
    while ((de = readdir(d))) {
        char file[PATH_MAX];

        if (!bdf_parse(de->d_name, NULL, NULL, NULL, NULL) ||
            path_fmt(file, sizeof(file), "%s/%s/boot_vga", path, de->d_name))
            continue;
        if (read_text(file, val, sizeof(val)) == 0 && !strcmp(val, "1"))
            use_add(u, de->d_name, "console %s (boot VGA)", tty);
    }
    closedir(d);
}

static int consoles_find(struct uses *u)
{
    char path[PATH_MAX], buf[256], *tok, *save = NULL;
    int rc;

    rc = path_fmt(path, sizeof(path), "%s/sys/class/tty/console/active",
                  u->rt->dir);
    if (rc)
        return rc;
    rc = read_text(path, buf, sizeof(buf));
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    for (tok = strtok_r(buf, " \n", &save); tok;
         tok = strtok_r(NULL, " \n", &save)) {
        char bdf[IOMMU_PCI_BDF_LEN];

        if (!name_ok(tok) ||
            path_fmt(path, sizeof(path), "%s/sys/class/tty/%s/device",
                     u->rt->dir, tok))
            continue;
        if (pci_of_path(u->rt, path, bdf, NULL, NULL) == 0)
            use_add(u, bdf, "console %s", tok);
        else if (!strncmp(tok, "tty", 3) && tok[3] >= '0' && tok[3] <= '9')
            vga_add(u, tok);
    }
    return 0;
}

/*
 * A network interface: its device, or for a bridge, bond or vlan (no
 * device of their own, as xenbr0) the devices of its lower interfaces.
 */
static void netdev_add(struct uses *u, const char *top, const char *ifname,
                       unsigned int depth)
{
    char path[PATH_MAX], bdf[IOMMU_PCI_BDF_LEN];
    const char *sub[] = {"", "/brif"};
    struct dirent *de;
    unsigned int i;
    DIR *d;

    if (depth > STACK_DEPTH || !name_ok(ifname) ||
        path_fmt(path, sizeof(path), "%s/sys/class/net/%s/device", u->rt->dir,
                 ifname))
        return;
    if (pci_of_path(u->rt, path, bdf, NULL, NULL) == 0) {
        if (strcmp(top, ifname))
            use_add(u, bdf, "default route (%s via %s)", top, ifname);
        else
            use_add(u, bdf, "default route (%s)", ifname);
        return;
    }
    for (i = 0; i < IOVM_ARRAY_SIZE(sub); i++) {
        bool any = false;

        if (path_fmt(path, sizeof(path), "%s/sys/class/net/%s%s", u->rt->dir,
                     ifname, sub[i]))
            return;
        d = opendir(path);
        if (!d)
            continue;
        while ((de = readdir(d))) {
            const char *lower = de->d_name;

            if (i == 0) {
                if (strncmp(lower, "lower_", 6))
                    continue;
                lower += 6;
            } else if (!name_ok(lower)) {
                continue;
            }
            any = true;
            netdev_add(u, top, lower, depth + 1);
        }
        closedir(d);
        if (any)
            return;
    }
}

static int routes_find(struct uses *u)
{
    char path[PATH_MAX], *line = NULL;
    size_t cap = 0;
    FILE *f;
    int rc;

    /* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
    rc = path_fmt(path, sizeof(path), "%s/proc/net/route", u->rt->dir);
    if (rc)
        return rc;
    f = fopen(path, "re");
    if (f) {
        while (getline(&line, &cap, f) > 0) {
            char *fl[8], *save = NULL;
            unsigned int i;
            uint64_t flags;

            for (i = 0; i < 8; i++)
                fl[i] = strtok_r(i ? NULL : line, " \t\n", &save);
            if (!fl[7] || strcmp(fl[1], "00000000") ||
                strcmp(fl[7], "00000000") || parse_hex(fl[3], 0xffff, &flags) ||
                !(flags & 1))
                continue;
            netdev_add(u, fl[0], fl[0], 0);
        }
        fclose(f);
    } else if (errno != ENOENT) {
        rc = -errno;
        goto out;
    }

    /* dest plen src splen nexthop metric refcnt use flags iface */
    rc = path_fmt(path, sizeof(path), "%s/proc/net/ipv6_route", u->rt->dir);
    if (rc)
        goto out;
    f = fopen(path, "re");
    if (f) {
        while (getline(&line, &cap, f) > 0) {
            char *fl[10], *save = NULL;
            unsigned int i;

            for (i = 0; i < 10; i++)
                fl[i] = strtok_r(i ? NULL : line, " \t\n", &save);
            if (!fl[9] || strcmp(fl[1], "00") || strspn(fl[0], "0") != 32 ||
                fl[0][32] || !strcmp(fl[9], "lo"))
                continue;
            netdev_add(u, fl[9], fl[9], 0);
        }
        fclose(f);
    } else if (errno != ENOENT) {
        rc = -errno;
    }
out:
    free(line);
    return rc;
}

int iommu_pci_dom0_uses(const char *root, struct iommu_pci_use *uses,
                        size_t max, size_t *n)
{
    struct root rt;
    struct uses u = {.rt = &rt, .v = uses, .max = max};
    int rc;

    if (!n || (max && !uses))
        return -EINVAL;
    *n = 0;
    rc = root_init(&rt, root);
    if (rc)
        return rc;
    rc = mounts_find(&u);
    if (!rc)
        rc = consoles_find(&u);
    if (!rc)
        rc = routes_find(&u);
    *n = u.n;
    if (rc)
        return rc;
    return u.full ? -ENOSPC : 0;
}

/* ------------------------------------------------------------ verdict */

static const char *const reason_names[] = {
    [IOMMU_PCI_R_IOMMU_OFF] = "iommu-off",
    [IOMMU_PCI_R_INTREMAP] = "no-intremap",
    [IOMMU_PCI_R_NO_RESET] = "no-reset",
    [IOMMU_PCI_R_GROUP] = "iommu-group",
    [IOMMU_PCI_R_BRIDGE] = "no-isolation",
    [IOMMU_PCI_R_MULTIFUNCTION] = "multifunction",
    [IOMMU_PCI_R_SHARED_IRQ] = "shared-irq",
    [IOMMU_PCI_R_SHARED_PAGE] = "shared-page",
    [IOMMU_PCI_R_DOM0] = "dom0-uses",
    [IOMMU_PCI_R_DRIVER_BUSY] = "driver-busy",
    [IOMMU_PCI_N_UNBIND] = "will-unbind",
    [IOMMU_PCI_N_NO_GROUP] = "no-iommu-group",
};

const char *iommu_pci_reason_name(enum iommu_pci_reason code)
{
    if ((size_t)code >= IOVM_ARRAY_SIZE(reason_names) || !reason_names[code])
        return "unknown";
    return reason_names[code];
}

struct verdict {
    const struct iommu_pci_dev *devs;
    size_t n, idx;
    const struct iommu_pci_host *host;
    struct iommu_pci_refusal *why;
    size_t max, nwhy;
    bool full;
};

static void __attribute__((format(printf, 3, 4)))
why_add(struct verdict *vd, enum iommu_pci_reason code, const char *fmt, ...)
{
    struct iommu_pci_refusal *r;
    va_list ap;

    if (vd->nwhy == vd->max) {
        vd->full = true;
        return;
    }
    r = &vd->why[vd->nwhy++];
    r->code = code;
    r->note = code >= IOMMU_PCI_N_UNBIND;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
}

static bool is_pciback(const char *driver)
{
    return !strcmp(driver, "pciback") || !strcmp(driver, "xen-pciback");
}

static bool is_bridge(const struct iommu_pci_dev *d)
{
    unsigned int c = d->class_code >> 8;

    return c == CLASS_BRIDGE_PCI || c == CLASS_BRIDGE_SEMI;
}

static bool assigned(const struct verdict *vd, size_t i)
{
    size_t k;

    if (i == vd->idx)
        return true;
    for (k = 0; k < vd->host->nassign; k++)
        if (vd->host->assign[k] &&
            !strcasecmp(vd->host->assign[k], vd->devs[i].bdf))
            return true;
    return false;
}

static const struct iommu_pci_use *dom0_use(const struct verdict *vd, size_t i)
{
    size_t k;

    for (k = 0; k < vd->host->ndom0; k++)
        if (!strcasecmp(vd->host->dom0[k].bdf, vd->devs[i].bdf))
            return &vd->host->dom0[k];
    return NULL;
}

/*
 * Still dom0's after the assignment: not going with it, and either named
 * as dom0's or driven by a dom0 driver.  Bridges are the fabric, not
 * users (pcieport drives them).
 */
static bool dom0_keeps(const struct verdict *vd, size_t i, char *how,
                       size_t len)
{
    const struct iommu_pci_dev *d = &vd->devs[i];
    const struct iommu_pci_use *use;

    if (assigned(vd, i) || is_bridge(d))
        return false;
    use = dom0_use(vd, i);
    if (use) {
        snprintf(how, len, "dom0's %s", use->what);
        return true;
    }
    if (d->driver[0] && !is_pciback(d->driver)) {
        snprintf(how, len, "bound to %s in dom0", d->driver);
        return true;
    }
    return false;
}

static bool downstream_of(const struct iommu_pci_dev *d, const char *bridge)
{
    unsigned int k;

    for (k = 0; k < d->npath; k++)
        if (!strcmp(d->path[k].bdf, bridge))
            return true;
    return false;
}

static bool same_slot(const struct iommu_pci_dev *a,
                      const struct iommu_pci_dev *b)
{
    return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot;
}

/*
 * Working methods reset the function alone.  A bus reset resets every
 * device below the parent bridge (on the root bus, every device on it):
 * usable only when none of those is dom0's.
 */
static void check_reset(struct verdict *vd)
{
    const unsigned int alone = IOMMU_PCI_RESET_FLR | IOMMU_PCI_RESET_AF_FLR |
                               IOMMU_PCI_RESET_PM | IOMMU_PCI_RESET_ACPI |
                               IOMMU_PCI_RESET_DEVSPEC |
                               IOMMU_PCI_RESET_UNKNOWN;
    const unsigned int bus = IOMMU_PCI_RESET_BUS | IOMMU_PCI_RESET_CXL_BUS;
    const struct iommu_pci_dev *d = &vd->devs[vd->idx];
    const char *parent = d->npath ? d->path[d->npath - 1].bdf : NULL;
    char how[128];
    size_t i;

    if (d->reset & alone)
        return;
    if (!(d->reset & bus)) {
        why_add(vd, IOMMU_PCI_R_NO_RESET, "no reset method%s",
                d->reset_inferred ? " (no reset_method or reset file)" : "");
        return;
    }
    for (i = 0; i < vd->n; i++) {
        const struct iommu_pci_dev *o = &vd->devs[i];
        bool hit = parent ? downstream_of(o, parent)
                          : o->domain == d->domain && o->bus == d->bus;

        if (hit && dom0_keeps(vd, i, how, sizeof(how))) {
            why_add(vd, IOMMU_PCI_R_NO_RESET,
                    "only a bus reset, which also resets %s (%s)", o->bdf, how);
            return;
        }
    }
}

static void check_group(struct verdict *vd)
{
    const struct iommu_pci_dev *d = &vd->devs[vd->idx];
    size_t i;

    if (d->group < 0) {
        why_add(vd, IOMMU_PCI_N_NO_GROUP,
                "no IOMMU group (as on Xen dom0): isolation is judged from "
                "the bridges' ACS");
        return;
    }
    for (i = 0; i < vd->n; i++)
        if (vd->devs[i].group == d->group && !assigned(vd, i) &&
            !is_bridge(&vd->devs[i]))
            why_add(vd, IOMMU_PCI_R_GROUP,
                    "IOMMU group %d also holds %s, not being assigned",
                    d->group, vd->devs[i].bdf);
}

static const char *port_name(const struct iommu_pci_bridge *b)
{
    if (!b->found)
        return "bridge not in sysfs";
    if (!b->pcie)
        return "conventional PCI bridge";
    switch (b->port_type) {
    case IOMMU_PCI_PORT_ROOT:
        return "root port without ACS";
    case IOMMU_PCI_PORT_DOWNSTREAM:
        return "switch downstream port without ACS";
    case IOMMU_PCI_PORT_UPSTREAM:
        return "multi-function switch upstream port without ACS";
    case IOMMU_PCI_PORT_PCIE_PCI:
        return "PCIe-to-PCI bridge";
    case IOMMU_PCI_PORT_PCI_PCIE:
        return "PCI-to-PCIe bridge";
    default:
        return "not a bridge";
    }
}

/*
 * Peer-to-peer DMA (and, behind a conventional bridge, requester IDs
 * aliased to the bridge's) reaches every device below a bridge that does
 * not isolate.  One reason per dom0 device, naming the nearest such
 * bridge above both.
 */
static void check_bridges(struct verdict *vd)
{
    const struct iommu_pci_dev *d = &vd->devs[vd->idx];
    char how[128];
    size_t i;

    if (!d->path_known) {
        why_add(vd, IOMMU_PCI_R_BRIDGE, "its sysfs path cannot be read");
        return;
    }
    for (i = 0; i < vd->n; i++) {
        unsigned int k;

        if (!dom0_keeps(vd, i, how, sizeof(how)))
            continue;
        for (k = d->npath; k-- > 0;) {
            const struct iommu_pci_bridge *b = &d->path[k];

            if (b->isolates || !downstream_of(&vd->devs[i], b->bdf))
                continue;
            why_add(vd, IOMMU_PCI_R_BRIDGE, "behind %s (%s) with %s (%s)",
                    b->bdf, port_name(b), vd->devs[i].bdf, how);
            break;
        }
    }
}

/* R-PCI-5: a multi-function device goes whole.  VFs are meant to split. */
static void check_functions(struct verdict *vd)
{
    const struct iommu_pci_dev *d = &vd->devs[vd->idx];
    size_t i;

    for (i = 0; i < vd->n; i++) {
        const struct iommu_pci_dev *o = &vd->devs[i];

        if (same_slot(d, o) && !assigned(vd, i) && !d->is_vf && !o->is_vf)
            why_add(vd, IOMMU_PCI_R_MULTIFUNCTION,
                    "function %s of the same slot is not being assigned",
                    o->bdf);
    }
}

/*
 * XSA-461: a legacy line the guest would share with dom0 (only when the
 * device has neither MSI nor MSI-X; unreadable config falls back to
 * msi_irqs), and a BAR in a 4 KiB page another device also decodes.
 */
static void check_shared(struct verdict *vd)
{
    const struct iommu_pci_dev *d = &vd->devs[vd->idx];
    bool msi =
        d->cfg_len >= CFG_STD_END ? d->msi_cap || d->msix_cap : d->msi_irqs;
    char how[128];
    size_t i;
    unsigned int a, b;

    for (i = 0; i < vd->n; i++) {
        const struct iommu_pci_dev *o = &vd->devs[i];

        if (i == vd->idx)
            continue;
        if (!msi && d->irq && o->irq == d->irq &&
            dom0_keeps(vd, i, how, sizeof(how)))
            why_add(vd, IOMMU_PCI_R_SHARED_IRQ,
                    "no MSI, and INTx IRQ %u is shared with %s (%s)", d->irq,
                    o->bdf, how);
        if (assigned(vd, i))
            continue;
        for (a = 0; a < d->nbars; a++) {
            const struct iommu_pci_bar *x = &d->bars[a];

            if (!(x->flags & RES_MEM))
                continue;
            for (b = 0; b < o->nbars; b++) {
                const struct iommu_pci_bar *y = &o->bars[b];

                if (!(y->flags & RES_MEM) ||
                    x->start >> PAGE_4K_SHIFT > y->end >> PAGE_4K_SHIFT ||
                    y->start >> PAGE_4K_SHIFT > x->end >> PAGE_4K_SHIFT)
                    continue;
                why_add(vd, IOMMU_PCI_R_SHARED_PAGE,
                        "BAR %u (0x%llx) shares a 4 KiB page with %s BAR %u "
                        "(0x%llx)",
                        x->index, (unsigned long long)x->start, o->bdf,
                        y->index, (unsigned long long)y->start);
                goto next;
            }
        }
    next:;
    }
}

static void check_dom0(struct verdict *vd)
{
    const struct iommu_pci_dev *d = &vd->devs[vd->idx];
    bool used = false;
    size_t k;

    for (k = 0; k < vd->host->ndom0; k++)
        if (!strcasecmp(vd->host->dom0[k].bdf, d->bdf)) {
            why_add(vd, IOMMU_PCI_R_DOM0, "holds dom0's %s",
                    vd->host->dom0[k].what);
            used = true;
        }
    if (!d->driver[0] || is_pciback(d->driver))
        return;
    if (used)
        why_add(vd, IOMMU_PCI_R_DRIVER_BUSY, "bound to %s, and dom0 uses it",
                d->driver);
    else
        why_add(vd, IOMMU_PCI_N_UNBIND,
                "bound to %s in dom0: assign will unbind it", d->driver);
}

int iommu_pci_check_assign(const struct iommu_pci_dev *devs, size_t n,
                           size_t idx, const struct iommu_pci_host *host,
                           struct iommu_pci_refusal *why, size_t max,
                           size_t *nwhy)
{
    struct verdict vd = {
        .devs = devs, .n = n, .idx = idx, .host = host, .why = why, .max = max};

    if (!devs || idx >= n || !host || !nwhy || (max && !why) ||
        (host->nassign && !host->assign) || (host->ndom0 && !host->dom0))
        return -EINVAL;
    if (!host->iommu)
        why_add(&vd, IOMMU_PCI_R_IOMMU_OFF,
                "Xen's IOMMU is off: nothing confines the device's DMA");
    if (host->intremap != IOMMU_YES)
        why_add(&vd, IOMMU_PCI_R_INTREMAP,
                "interrupt remapping is %s: the device's MSIs are not "
                "confined",
                host->intremap == IOMMU_NO ? "off" : "unknown");
    check_reset(&vd);
    check_group(&vd);
    check_bridges(&vd);
    check_functions(&vd);
    check_shared(&vd);
    check_dom0(&vd);
    *nwhy = vd.nwhy;
    return vd.full ? -ENOSPC : 0;
}

bool iommu_pci_assignable(const struct iommu_pci_refusal *why, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!why[i].note)
            return false;
    return true;
}
