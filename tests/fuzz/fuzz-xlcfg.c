/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the xl config, disk-spec and vif-spec parsers of
 * iovm-sim, which read operator-supplied files.  The input is parsed as
 * a config file; every string element of its disk and vif lists, and the
 * input itself cut at its first newline, go through the disk-spec and
 * vif-spec parsers and libxl's defaults (the line also as one vif item,
 * as network-attach passes them, and as a MAC for network-detach).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void disk(const char *spec)
{
    struct xlcfg_disk d;
    struct xlcfg_err err;
    uint32_t devid;

    if (xlcfg_disk_parse(&spec, 1, &d, &err))
        return;
    if (d.vdev)
        xlcfg_vdev_to_devid(d.vdev, &devid, &err);
    xlcfg_disk_setdefault(&d, xlcfg_disk_needs_stat(&d, 0) ? 0 : 1,
                          S_IFREG | 0600, &err);
    xlcfg_disk_free(&d);
}

static void vif(const char *spec, bool item)
{
    static const uint8_t rnd[3] = { 1, 2, 3 };
    struct xlcfg_vif v;
    struct xlcfg_err err;
    uint8_t mac[6];

    xlcfg_vif_init(&v, item ? -1 : 0);
    if (item)
        xlcfg_vif_parse_item(&v, spec, &err);
    else
        xlcfg_vif_parse(spec, &v, NULL, NULL, &err);
    xlcfg_vif_setdefault(&v, rnd, &err);
    xlcfg_vif_free(&v);
    xlcfg_mac_parse(spec, mac);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct xlcfg_value *list;
    unsigned int i;
    struct xlcfg *cfg = NULL;
    struct xlcfg_err err;
    const char *s;
    char *line;
    long l;
    bool b;

    if (!xlcfg_parse("fuzz.cfg", (const char *)data, size, &cfg, &err)) {
        xlcfg_get_string(cfg, "name", &s, &err);
        xlcfg_get_long(cfg, "memory", 0, 1 << 20, &l, &err);
        xlcfg_get_bool(cfg, "driver_domain", &b, &err);
        if (!xlcfg_get_list(cfg, "disk", &list, &err))
            for (i = 0; i < list->nitems; i++)
                if (list->items[i]->type == XLCFG_STRING)
                    disk(list->items[i]->str);
        if (!xlcfg_get_list(cfg, "vif", &list, &err))
            for (i = 0; i < list->nitems; i++)
                if (list->items[i]->type == XLCFG_STRING)
                    vif(list->items[i]->str, false);
        xlcfg_free(cfg);
    }
    line = strndup((const char *)data, size);
    if (line) {
        line[strcspn(line, "\n")] = '\0';
        disk(line);
        vif(line, false);
        vif(line, true);
        free(line);
    }
    return 0;
}
