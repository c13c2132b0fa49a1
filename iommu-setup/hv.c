/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What Xen says about device assignment, read through libxenctrl in dom0:
 * physinfo's directio capability (an IOMMU is on and devices can be
 * assigned), Xen's command line (iommu=required|force makes Xen refuse to
 * boot without one; no-quarantine and no-intremap turn those off), and
 * the boot messages in the console ring ("Interrupt remapping enabled").
 * The console ring is a ring: on a host up long enough the boot messages
 * may be gone, and then interrupt remapping is "unknown" unless the
 * command line turned it off.  Trusts the hypervisor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>

#include "hv.h"

#define CONSOLE_BYTES (256u * 1024u)

static bool word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && !strncmp(w, s, n);
}

static bool value_false(const char *v, size_t n)
{
    return word_is(v, n, "0") || word_is(v, n, "no") ||
           word_is(v, n, "off") || word_is(v, n, "false") ||
           word_is(v, n, "disable");
}

/*
 * One iommu= sub-option (Xen's parse_iommu_param): "required", "force",
 * "[no-]quarantine", "quarantine=BOOL", "[no-]intremap", "intremap=BOOL";
 * a bare boolean turns the IOMMU on or off.
 */
static void iommu_option(struct iommu_hv *hv, const char *o, size_t n,
                         bool *intremap_off)
{
    const char *eq = memchr(o, '=', n);
    size_t k = eq ? (size_t)(eq - o) : n;
    bool no = k > 3 && !strncmp(o, "no-", 3);
    const char *name = no ? o + 3 : o;
    size_t nk = no ? k - 3 : k;
    bool off = no || (eq && value_false(eq + 1, n - k - 1));

    if (word_is(name, nk, "required") || word_is(name, nk, "force"))
        hv->required = !off;
    else if (word_is(name, nk, "quarantine"))
        hv->quarantine = !off;
    else if (word_is(name, nk, "intremap"))
        *intremap_off = off;
}

/* Xen's command line: the last iommu= wins, as in Xen. */
static void cmdline_parse(struct iommu_hv *hv, bool *intremap_off)
{
    const char *p = hv->cmdline;

    while (*p) {
        size_t n;

        while (*p == ' ')
            p++;
        n = strcspn(p, " ");
        if (n > 6 && !strncmp(p, "iommu=", 6)) {
            const char *o = p + 6, *end = p + n;

            while (o < end) {
                size_t m = strcspn(o, ",");

                if (o + m > end)
                    m = (size_t)(end - o);
                iommu_option(hv, o, m, intremap_off);
                o += m + 1;
            }
        }
        p += n;
    }
}

int iommu_hv_probe(struct iommu_hv *hv, char *err, size_t errlen)
{
    xc_interface *xch;
    xc_physinfo_t info;
    unsigned int nr = CONSOLE_BYTES - 1;
    bool intremap_off = false;
    char *con = NULL;
    int rc = 0;

    memset(hv, 0, sizeof(*hv));
    hv->quarantine = true; /* Xen's default */
    hv->intremap = IOMMU_UNKNOWN;
    xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        rc = -errno;
        snprintf(err, errlen, "cannot reach the hypervisor (dom0 on Xen?): %s",
                 strerror(errno));
        return rc;
    }
    if (xc_physinfo(xch, &info)) {
        rc = -errno;
        snprintf(err, errlen, "physinfo: %s", strerror(errno));
        goto out;
    }
    hv->iommu = info.capabilities & XEN_SYSCTL_PHYSCAP_directio;
    if (xc_version(xch, XENVER_commandline, hv->cmdline) < 0) {
        rc = -errno;
        snprintf(err, errlen, "Xen's command line: %s", strerror(errno));
        goto out;
    }
    hv->cmdline[sizeof(hv->cmdline) - 1] = '\0';
    cmdline_parse(hv, &intremap_off);
    con = malloc(CONSOLE_BYTES);
    if (!con) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (xc_readconsolering(xch, con, &nr, 0, 0, NULL) == 0) {
        con[nr < CONSOLE_BYTES ? nr : CONSOLE_BYTES - 1] = '\0';
        if (strstr(con, "Interrupt remapping enabled"))
            hv->intremap = IOMMU_YES;
        else if (strstr(con, "Interrupt remapping disabled"))
            hv->intremap = IOMMU_NO;
    }
    if (hv->intremap == IOMMU_UNKNOWN && intremap_off)
        hv->intremap = IOMMU_NO;
    if (!hv->iommu)
        hv->intremap = IOMMU_NO;
out:
    free(con);
    xc_interface_close(xch);
    return rc;
}
