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
 *
 * Trusts the hypervisor and the command line's user (root in dom0), but
 * checks every argument.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "log.h"

#define EXIT_READY 0
#define EXIT_UNSAFE 1
#define EXIT_USAGE 2
#define EXIT_WEAK 3
#define EXIT_NOHV 4

static const char usage_text[] =
    "usage: iovm-iommu [--json] [--log-level LEVEL] check\n"
    "\n"
    "  check   is Xen's IOMMU on, with interrupt remapping, and enforced\n"
    "          (iommu=required)?  Exit 0 ready, 1 unsafe, 3 weak, 4 the\n"
    "          hypervisor could not be asked.\n"
    "\n"
    "  --json             machine-readable output\n"
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

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum iovm_log_level level = IOVM_LOG_INFO;
    bool json = false;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
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
    if (!strcmp(argv[optind], "check")) {
        if (optind + 1 != argc)
            usage_exit("check: unexpected argument ", argv[optind + 1]);
        return cmd_check(json);
    }
    usage_exit("unknown command ", argv[optind]);
    return EXIT_USAGE;
}
