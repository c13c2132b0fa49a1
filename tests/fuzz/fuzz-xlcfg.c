/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the xl config and disk-spec parsers of iovm-sim, which
 * read operator-supplied files.  The input is parsed as a config file;
 * every string element of its disk list, and the input itself cut at its
 * first newline, go through the disk-spec parser and libxl's defaults.
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
        xlcfg_free(cfg);
    }
    line = strndup((const char *)data, size);
    if (line) {
        line[strcspn(line, "\n")] = '\0';
        disk(line);
        free(line);
    }
    return 0;
}
