/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-iommu: vets PCI devices before they go to a driver domain.  Runs
 * in dom0.
 *
 *   check   is Xen's IOMMU on, with interrupt remapping, and enforced?
 *           One verdict line, the reasons, and an exit status by verdict:
 *           0 ready, 1 unsafe (no IOMMU, or no interrupt remapping),
 *           3 weak (ready, but not enforced, quarantine off, or interrupt
 *           remapping not known), 4 the hypervisor could not be asked,
 *           2 bad usage.
 *   list    every PCI device: class, ids, driver, IOMMU group, reset
 *           methods, whether its path isolates it (ACS), and whether it
 *           could go to a driver domain, with every reason it cannot.
 *   assign  vets devices as list does and, if none is refused, makes them
 *           assignable (unbind, pciback, reset, quarantine), recording
 *           what it did; release gives them back to their drivers.
 *   xl-config  prints a driver domain's xl config for the devices given,
 *           with its maptrack limit sized for the guests it will serve.
 *
 * Trusts the hypervisor and the command line's user (root in dom0), but
 * checks every argument.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "assign.h"
#include "hv.h"
#include "log.h"
#include "pci.h"
#include "util.h"

#define EXIT_READY 0
#define EXIT_UNSAFE 1
#define EXIT_USAGE 2
#define EXIT_WEAK 3
#define EXIT_NOHV 4

static const char usage_text[] =
    "usage: iovm-iommu [--json] [--log-level LEVEL] check\n"
    "       iovm-iommu [--json] [--sysfs-root DIR] list\n"
    "       iovm-iommu [--sysfs-root DIR] [--state-dir DIR] assign BDF...\n"
    "       iovm-iommu [--sysfs-root DIR] [--state-dir DIR] release BDF...\n"
    "       iovm-iommu xl-config --name NAME [--memory MIB] [--vcpus N]\n"
    "                  [--guests N] [--disks N] [--vifs N] [--kernel PATH]\n"
    "                  [--ramdisk PATH] [--extra ARGS] BDF...\n"
    "\n"
    "  check      is Xen's IOMMU on, with interrupt remapping, and enforced\n"
    "             (iommu=required)?  Exit 0 ready, 1 unsafe, 3 weak, 4 the\n"
    "             hypervisor could not be asked.\n"
    "  list       every PCI device with its class, ids, driver, IOMMU\n"
    "             group, reset methods, ACS on its path, and whether it\n"
    "             could be assigned (every reason it cannot).  Exit 4 when\n"
    "             the hypervisor or dom0's devices could not be read.\n"
    "  assign     refuses, with every reason, unless each device could go\n"
    "             to a driver domain (the devices named go together); then\n"
    "             unbinds each from its driver, binds it to pciback, resets\n"
    "             it and quarantines it, undoing all on a failure, and\n"
    "             records the driver it had in the state directory.\n"
    "  release    quarantine off, reset, out of pciback, back to the\n"
    "             driver it had; refused while a domain has it.\n"
    "  xl-config  a driver domain's xl config (type pv, driver_domain=1)\n"
    "             owning the PCI devices BDF... (DDDD:BB:DD.F), serving up\n"
    "             to --guests guests (default 16) with --disks disks\n"
    "             (default 2) and --vifs vifs (default 1) each; memory\n"
    "             default 512 MiB, vCPUs 2, kernel and initrd those of the\n"
    "             running dom0 kernel.\n"
    "\n"
    "  --json             machine-readable output\n"
    "  --sysfs-root DIR   read sysfs and procfs under DIR (tests)\n"
    "  --state-dir DIR    assign's records (default " IOMMU_STATE_DIR ")\n"
    "  --log-level LEVEL  err, warn, info (default) or debug\n"
    "  -h, --help         this text\n";

/* One line: what is wrong and with what. */
static void usage_exit(const char *what, const char *arg)
{
    fprintf(stderr, "iovm-iommu: %s%s (see --help)\n", what, arg);
    exit(EXIT_USAGE);
}

/* A JSON string (quotes included) of s. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *tristate_str(enum iommu_tristate t)
{
    return t == IOMMU_YES ? "on" : t == IOMMU_NO ? "off" : "unknown";
}

#define MAX_REASONS 8

static int cmd_check(bool json)
{
    const char *reasons[MAX_REASONS], *verdict;
    struct iommu_hv hv;
    unsigned int n = 0, i;
    char err[256];
    int rc, status;

    rc = iommu_hv_probe(&hv, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "iovm-iommu: %s\n", err);
        return EXIT_NOHV;
    }
    status = EXIT_READY;
    if (!hv.iommu) {
        reasons[n++] = "the IOMMU is off: a device given to a driver domain "
                       "can reach all memory (Xen: I/O virtualisation "
                       "disabled)";
        status = EXIT_UNSAFE;
    } else if (hv.intremap == IOMMU_NO) {
        reasons[n++] = "interrupt remapping is off: a device's MSIs can "
                       "take the host down (CVE-2013-3495)";
        status = EXIT_UNSAFE;
    }
    if (hv.iommu && hv.intremap == IOMMU_UNKNOWN) {
        reasons[n++] = "interrupt remapping not known: Xen's boot messages "
                       "are no longer in its console ring";
        status = EXIT_WEAK;
    }
    if (hv.iommu && !hv.required) {
        reasons[n++] = "not enforced: Xen's command line lacks "
                       "iommu=required, so a host without an IOMMU boots "
                       "anyway";
        if (status == EXIT_READY)
            status = EXIT_WEAK;
    }
    if (hv.iommu && !hv.quarantine) {
        reasons[n++] = "quarantine is off (iommu=no-quarantine): DMA in "
                       "flight at de-assignment can reach dom0 (XSA-302)";
        if (status == EXIT_READY)
            status = EXIT_WEAK;
    }
    verdict = status == EXIT_READY ? "ready" :
              status == EXIT_WEAK  ? "weak" : "unsafe";
    if (json) {
        printf("{\"verdict\":\"%s\",\"iommu\":%s,\"interrupt_remapping\":"
               "\"%s\",\"enforced\":%s,\"quarantine\":%s,\"cmdline\":",
               verdict, hv.iommu ? "true" : "false",
               tristate_str(hv.intremap), hv.required ? "true" : "false",
               hv.quarantine ? "true" : "false");
        json_str(stdout, hv.cmdline);
        printf(",\"reasons\":[");
        for (i = 0; i < n; i++) {
            if (i)
                putchar(',');
            json_str(stdout, reasons[i]);
        }
        printf("]}\n");
    } else {
        printf("%s: %s\n", verdict,
               status == EXIT_READY
                   ? "the IOMMU is on, with interrupt remapping, enforced"
                   : reasons[0]);
        for (i = status == EXIT_READY ? 0 : 1; i < n; i++)
            printf("  also: %s\n", reasons[i]);
        printf("  iommu: %s\n  interrupt remapping: %s\n  enforced: %s\n"
               "  quarantine: %s\n  xen command line: %s\n",
               hv.iommu ? "on" : "off", tristate_str(hv.intremap),
               hv.required ? "yes" : "no", hv.quarantine ? "on" : "off",
               hv.cmdline);
    }
    return status;
}

/* ---------------------------------------------------------------- */
/* list */

/* What dom0 uses and the scan, or an exit status. */
static int look(const char *root, struct iommu_hv *hv,
                struct iommu_pci_use *uses, size_t maxuses, size_t *nuses,
                struct iommu_pci_dev **devs, size_t *n)
{
    char err[256];
    int rc = iommu_hv_probe(hv, err, sizeof(err));

    if (rc) {
        fprintf(stderr, "iovm-iommu: %s\n", err);
        return EXIT_NOHV;
    }
    rc = iommu_pci_dom0_uses(root, uses, maxuses, nuses);
    if (rc) {
        fprintf(stderr, "iovm-iommu: what dom0 uses (under %s/proc, "
                        "/sys): %s\n",
                root, strerror(-rc));
        return EXIT_NOHV;
    }
    rc = iommu_pci_scan(root, devs, n);
    if (rc) {
        fprintf(stderr, "iovm-iommu: scanning %s/sys/bus/pci/devices: %s\n",
                root, strerror(-rc));
        return EXIT_NOHV;
    }
    return 0;
}

static void reset_str(const struct iommu_pci_dev *d, char *buf, size_t len)
{
    if (!d->reset)
        snprintf(buf, len, "none");
    else
        snprintf(buf, len, "%s%s", d->reset_text,
                 d->reset_inferred ? "*" : "");
}

static int cmd_list(const char *root, bool json)
{
    struct iommu_pci_use uses[64];
    struct iommu_pci_refusal why[IOMMU_PCI_MAX_REASONS];
    struct iommu_pci_dev *devs = NULL;
    struct iommu_pci_host host;
    struct iommu_hv hv;
    size_t n = 0, nuses = 0, nwhy, i, k;
    char reset[80];
    int rc;

    rc = look(root, &hv, uses, IOVM_ARRAY_SIZE(uses), &nuses, &devs, &n);
    if (rc)
        return rc;
    if (json)
        printf("[");
    else
        printf("%-12s %-6s %-9s %-12s %-5s %-16s %-4s %s\n", "BDF", "CLASS",
               "ID", "DRIVER", "GROUP", "RESET", "ACS", "ASSIGNABLE");
    for (i = 0; i < n; i++) {
        const struct iommu_pci_dev *d = &devs[i];
        const char *self = d->bdf;
        bool ok;

        host = (struct iommu_pci_host){
            .iommu = hv.iommu, .intremap = hv.intremap,
            .assign = &self, .nassign = 1,
            .dom0 = uses, .ndom0 = nuses,
        };
        rc = iommu_pci_check_assign(devs, n, i, &host, why,
                                    IOVM_ARRAY_SIZE(why), &nwhy);
        if (rc && rc != -ENOSPC) {
            fprintf(stderr, "iovm-iommu: %s: %s\n", d->bdf, strerror(-rc));
            iommu_pci_free(devs);
            return EXIT_NOHV;
        }
        ok = iommu_pci_assignable(why, nwhy);
        reset_str(d, reset, sizeof(reset));
        if (json) {
            printf("%s{\"bdf\":\"%s\",\"class\":\"%06x\",\"vendor\":"
                   "\"%04x\",\"device\":\"%04x\",\"driver\":",
                   i ? "," : "", d->bdf, d->class_code, d->vendor, d->device);
            if (d->driver[0])
                json_str(stdout, d->driver);
            else
                printf("null");
            printf(",\"iommu_group\":");
            if (d->group >= 0)
                printf("%d", d->group);
            else
                printf("null");
            printf(",\"reset\":");
            json_str(stdout, d->reset ? d->reset_text : "");
            printf(",\"reset_inferred\":%s,\"acs_path\":%s,"
                   "\"acs_missing\":",
                   d->reset_inferred ? "true" : "false",
                   d->acs_path ? "true" : "false");
            if (d->acs_missing[0])
                json_str(stdout, d->acs_missing);
            else
                printf("null");
            printf(",\"assignable\":%s,\"reasons\":[", ok ? "true" : "false");
            for (k = 0; k < nwhy; k++) {
                printf("%s{\"code\":\"%s\",\"note\":%s,\"text\":",
                       k ? "," : "", iommu_pci_reason_name(why[k].code),
                       why[k].note ? "true" : "false");
                json_str(stdout, why[k].text);
                printf("}");
            }
            printf("]}");
        } else {
            char id[16];

            snprintf(id, sizeof(id), "%04x:%04x", d->vendor, d->device);
            printf("%-12s %06x %-9s %-12s ", d->bdf, d->class_code, id,
                   d->driver[0] ? d->driver : "-");
            if (d->group >= 0)
                printf("%-5d ", d->group);
            else
                printf("%-5s ", "-");
            printf("%-16s %-4s %s\n", reset, d->acs_path ? "yes" : "no",
                   ok ? "yes" : "no");
            for (k = 0; k < nwhy; k++)
                printf("    %s: %s\n", why[k].note ? "note" : "refused",
                       why[k].text);
        }
    }
    if (json)
        printf("]\n");
    else
        printf("(reset*: inferred; the kernel has no reset_method file)\n");
    iommu_pci_free(devs);
    return 0;
}

/* ---------------------------------------------------------------- */
/* assign, release */

static int cmd_assign(const char *root, const char *state_dir, int nb,
                      char **bdfs)
{
    struct iommu_pci_refusal why[IOMMU_PCI_MAX_REASONS];
    struct iommu_pci_use uses[64];
    struct iommu_pci_dev *devs = NULL;
    struct iommu_pci_host host;
    struct iommu_hv hv;
    size_t n = 0, nuses = 0, nwhy, k;
    long *idx = NULL;
    xc_interface *xch = NULL;
    int rc, i, j, refused = 0, status = EXIT_READY;
    char err[320];

    rc = look(root, &hv, uses, IOVM_ARRAY_SIZE(uses), &nuses, &devs, &n);
    if (rc)
        return rc;
    idx = calloc((size_t)nb, sizeof(*idx));
    if (!idx) {
        fprintf(stderr, "iovm-iommu: out of memory\n");
        iommu_pci_free(devs);
        return EXIT_UNSAFE;
    }
    host = (struct iommu_pci_host){
        .iommu = hv.iommu, .intremap = hv.intremap,
        .assign = (const char *const *)bdfs, .nassign = (size_t)nb,
        .dom0 = uses, .ndom0 = nuses,
    };
    /* Every device vetted before anything changes. */
    for (i = 0; i < nb; i++) {
        idx[i] = iommu_pci_find(devs, n, bdfs[i]);
        if (idx[i] < 0) {
            fprintf(stderr, "iovm-iommu: refused %s: no such PCI device\n",
                    bdfs[i]);
            refused++;
            continue;
        }
        rc = iommu_pci_check_assign(devs, n, (size_t)idx[i], &host, why,
                                    IOVM_ARRAY_SIZE(why), &nwhy);
        if (rc && rc != -ENOSPC) {
            fprintf(stderr, "iovm-iommu: %s: %s\n", bdfs[i],
                    strerror(-rc));
            refused++;
            continue;
        }
        for (k = 0; k < nwhy; k++) {
            if (why[k].note)
                continue;
            fprintf(stderr, "iovm-iommu: refused %s: %s\n", bdfs[i],
                    why[k].text);
            refused++;
        }
    }
    if (refused) {
        status = EXIT_UNSAFE;
        goto out;
    }
    xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        fprintf(stderr, "iovm-iommu: cannot reach the hypervisor: %s\n",
                strerror(errno));
        status = EXIT_NOHV;
        goto out;
    }
    for (i = 0; i < nb; i++) {
        const struct iommu_pci_dev *d = &devs[idx[i]];
        bool already;

        rc = iommu_dev_assign(root, state_dir, xch, hv.quarantine, d->bdf,
                              d->driver, &already, err, sizeof(err));
        if (rc) {
            fprintf(stderr, "iovm-iommu: %s\n", err);
            /* All or nothing: give back what this run assigned. */
            for (j = i - 1; j >= 0; j--)
                if (iommu_dev_release(root, state_dir, xch,
                                      devs[idx[j]].bdf, err, sizeof(err)))
                    fprintf(stderr, "iovm-iommu: undoing: %s\n", err);
            status = EXIT_UNSAFE;
            goto out;
        }
        if (already)
            printf("%s: already assigned\n", d->bdf);
        else
            printf("%s: assigned (was %s; pciback, reset%s)\n", d->bdf,
                   d->driver[0] ? d->driver : "unbound",
                   hv.quarantine ? ", quarantined" : "");
    }
out:
    if (xch)
        xc_interface_close(xch);
    free(idx);
    iommu_pci_free(devs);
    return status;
}

static int cmd_release(const char *root, const char *state_dir, int nb,
                       char **bdfs)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    int i, status = EXIT_READY;
    char err[320];

    if (!xch) {
        fprintf(stderr, "iovm-iommu: cannot reach the hypervisor: %s\n",
                strerror(errno));
        return EXIT_NOHV;
    }
    for (i = 0; i < nb; i++) {
        if (iommu_dev_release(root, state_dir, xch, bdfs[i], err,
                              sizeof(err))) {
            fprintf(stderr, "iovm-iommu: %s\n", err);
            status = EXIT_UNSAFE;
        } else {
            printf("%s: released\n", bdfs[i]);
        }
    }
    xc_interface_close(xch);
    return status;
}

/* ---------------------------------------------------------------- */
/* xl-config */

/* Grant mappings per maptrack frame (8-byte entries in a 4 KiB page). */
#define MAPTRACK_PER_FRAME 512u
/* iovm-blkback's defaults: persistent grants per queue, ring pages. */
#define BLK_PGRANTS 4096u
#define BLK_RING_PAGES 16u
#define BLK_QUEUES_MAX 16u
/* Xen's default bound on any domain's max_maptrack_frames. */
#define XEN_MAPTRACK_FRAMES_MAX 1024u

/* A PCI address as xl takes it: DDDD:BB:DD.F, lower-case hex. */
static bool bdf_ok(const char *s)
{
    static const char shape[] = "xxxx:xx:xx.x";
    unsigned int dev, fn;
    size_t i;

    if (strlen(s) != sizeof(shape) - 1)
        return false;
    for (i = 0; shape[i]; i++) {
        if (shape[i] == 'x' ? !isxdigit((unsigned char)s[i]) ||
                                  isupper((unsigned char)s[i])
                            : s[i] != shape[i])
            return false;
    }
    dev = (unsigned int)strtoul(s + 8, NULL, 16);
    fn = (unsigned int)strtoul(s + 11, NULL, 16);
    return dev < 32 && fn < 8;
}

/* A name xl and xenstore take: letters, digits, '-', '_', '.'. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (!n || n > 64 || s[0] == '.' || s[0] == '-')
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
            return false;
    return true;
}

/* A value for a double-quoted xl string: no quote, backslash or newline. */
static bool xl_str_ok(const char *s)
{
    return !strpbrk(s, "\"\\\n\r");
}

static unsigned int uint_arg(const char *opt, const char *v, unsigned int min,
                             unsigned int max)
{
    unsigned int n;

    if (iovm_parse_uint(v, max, &n) || n < min) {
        fprintf(stderr, "iovm-iommu: %s: not a number in %u..%u: %s (see "
                        "--help)\n", opt, min, max, v);
        exit(EXIT_USAGE);
    }
    return n;
}

static int cmd_xl_config(int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "memory", required_argument, NULL, 'm' },
        { "vcpus", required_argument, NULL, 'c' },
        { "guests", required_argument, NULL, 'g' },
        { "disks", required_argument, NULL, 'd' },
        { "vifs", required_argument, NULL, 'v' },
        { "kernel", required_argument, NULL, 'k' },
        { "ramdisk", required_argument, NULL, 'r' },
        { "extra", required_argument, NULL, 'e' },
        { NULL, 0, NULL, 0 },
    };
    const char *name = NULL, *kernel = NULL, *ramdisk = NULL;
    const char *extra = "console=hvc0";
    unsigned int memory = 512, vcpus = 2, guests = 16, disks = 2, vifs = 1;
    unsigned long long maps, blk_maps, net_maps, frames;
    char kbuf[PATH_MAX], rbuf[PATH_MAX];
    unsigned int queues;
    struct utsname u;
    int c, i;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'm': memory = uint_arg("--memory", optarg, 128, 1u << 20); break;
        case 'c': vcpus = uint_arg("--vcpus", optarg, 1, 128); break;
        case 'g': guests = uint_arg("--guests", optarg, 1, 4096); break;
        case 'd': disks = uint_arg("--disks", optarg, 0, 64); break;
        case 'v': vifs = uint_arg("--vifs", optarg, 0, 64); break;
        case 'k': kernel = optarg; break;
        case 'r': ramdisk = optarg; break;
        case 'e': extra = optarg; break;
        default: usage_exit("xl-config: unknown option ", argv[optind - 1]);
        }
    }
    if (!name)
        usage_exit("xl-config: --name is required", "");
    if (!name_ok(name))
        usage_exit("xl-config: not a domain name: ", name);
    if (optind >= argc)
        usage_exit("xl-config: no PCI device given", "");
    for (i = optind; i < argc; i++)
        if (!bdf_ok(argv[i]))
            usage_exit("xl-config: not a PCI address (DDDD:BB:DD.F): ",
                       argv[i]);
    if (!kernel || !ramdisk) {
        if (uname(&u) < 0) {
            fprintf(stderr, "iovm-iommu: uname: %s\n", strerror(errno));
            return EXIT_UNSAFE;
        }
        snprintf(kbuf, sizeof(kbuf), "/boot/vmlinuz-%s", u.release);
        snprintf(rbuf, sizeof(rbuf), "/boot/initrd.img-%s", u.release);
        if (!kernel)
            kernel = kbuf;
        if (!ramdisk)
            ramdisk = rbuf;
    }
    if (!xl_str_ok(kernel) || !xl_str_ok(ramdisk) || !xl_str_ok(extra))
        usage_exit("xl-config: a quote, backslash or newline in --kernel, "
                   "--ramdisk or --extra", "");

    /* Every grant the driver domain maps takes a maptrack entry.  A disk
     * maps its ring pages and, with persistent grants, up to BLK_PGRANTS
     * guest pages per queue (iovm-blkback's default cap), one queue per
     * vCPU; a vif maps only its rings (data moves by grant copy). */
    queues = vcpus < BLK_QUEUES_MAX ? vcpus : BLK_QUEUES_MAX;
    blk_maps = (unsigned long long)guests * disks * queues *
               (BLK_PGRANTS + BLK_RING_PAGES);
    net_maps = (unsigned long long)guests * vifs * (queues * 2ull + 1);
    maps = blk_maps + net_maps;
    /* A quarter more for devices being replaced while the old ones'
     * mappings are still held (a backend restart, a re-attach). */
    frames = (maps + maps / 4 + MAPTRACK_PER_FRAME - 1) / MAPTRACK_PER_FRAME;
    if (frames < 32)
        frames = 32;

    printf("# A driver domain owning %d PCI device%s, from iovm-iommu "
           "xl-config.\n", argc - optind, argc - optind == 1 ? "" : "s");
    printf("# Make the devices assignable first (xl pci-assignable-add), "
           "after iovm-iommu check.\n");
    printf("name = \"%s\"\n", name);
    printf("type = \"pv\"\n");
    printf("driver_domain = 1\n");
    printf("memory = %u\n", memory);
    printf("vcpus = %u\n", vcpus);
    printf("kernel = \"%s\"\n", kernel);
    printf("ramdisk = \"%s\"\n", ramdisk);
    printf("extra = \"%s\"\n", extra);
    printf("# permissive=0: the domain may not write arbitrary config space "
           "(XSA-120); no seize.\n");
    printf("pci = [ ");
    for (i = optind; i < argc; i++)
        printf("%s'%s,permissive=0'", i > optind ? ", " : "", argv[i]);
    printf(" ]\n");
    printf("# Grant mappings: %u guests x %u disks x %u queues x (%u "
           "persistent grants + %u ring pages) = %llu,\n",
           guests, disks, queues, BLK_PGRANTS, BLK_RING_PAGES, blk_maps);
    printf("#   + %u guests x %u vifs x (2 x %u queue rings + 1 control "
           "ring) = %llu; %llu in all,\n",
           guests, vifs, queues, net_maps, maps);
    printf("#   a quarter more for restarts, %u per frame, at least 32.\n",
           MAPTRACK_PER_FRAME);
    if (frames > XEN_MAPTRACK_FRAMES_MAX)
        printf("# Above Xen's default limit (gnttab_max_maptrack_frames="
               "%u): raise it on Xen's command line, or xl create fails.\n",
               XEN_MAPTRACK_FRAMES_MAX);
    printf("max_maptrack_frames = %llu\n", frames);
    printf("# Its own grant table: it grants pages only as a frontend "
           "itself (none here).\n");
    printf("max_grant_frames = 32\n");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "sysfs-root", required_argument, NULL, 'r' },
        { "state-dir", required_argument, NULL, 's' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum iovm_log_level level = IOVM_LOG_INFO;
    const char *root = "", *state_dir = IOMMU_STATE_DIR;
    bool json = false;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 's':
            state_dir = optarg;
            if (!*state_dir)
                usage_exit("--state-dir: empty", "");
            break;
        case 'r':
            root = optarg;
            if (!*root)
                usage_exit("--sysfs-root: empty", "");
            break;
        case 'l':
            if (iovm_log_level_parse(optarg, &level))
                usage_exit("--log-level: not a level: ", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            usage_exit("unknown option ", argv[optind - 1]);
        }
    }
    iovm_log_init("iovm-iommu", level);
    if (optind >= argc)
        usage_exit("no command given", "");
    if (!strcmp(argv[optind], "list")) {
        if (optind + 1 != argc)
            usage_exit("list: unexpected argument ", argv[optind + 1]);
        return cmd_list(root, json);
    }
    if (!strcmp(argv[optind], "assign") ||
        !strcmp(argv[optind], "release")) {
        int i;

        if (optind + 1 == argc)
            usage_exit(argv[optind], ": no PCI device given");
        for (i = optind + 1; i < argc; i++)
            if (!bdf_ok(argv[i]))
                usage_exit("not a PCI address (DDDD:BB:DD.F): ", argv[i]);
        return argv[optind][0] == 'a'
                   ? cmd_assign(root, state_dir, argc - optind - 1,
                                argv + optind + 1)
                   : cmd_release(root, state_dir, argc - optind - 1,
                                 argv + optind + 1);
    }
    if (!strcmp(argv[optind], "xl-config"))
        return cmd_xl_config(argc - optind, argv + optind);
    if (!strcmp(argv[optind], "check")) {
        if (optind + 1 != argc)
            usage_exit("check: unexpected argument ", argv[optind + 1]);
        return cmd_check(json);
    }
    usage_exit("unknown command ", argv[optind]);
    return EXIT_USAGE;
}
