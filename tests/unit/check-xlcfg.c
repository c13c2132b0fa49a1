/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for sim/tool/xlcfg.c: the xl config file parser (syntax,
 * errors with their line numbers, hostile input), the xl disk-spec parser
 * against the worked examples of libxl's disk syntax (each checked with
 * Xen 4.17.7's libxlutil), libxl's disk defaults and backend selection,
 * vdev -> devid, and xl vif specs: every key xl's parse_nic_config
 * knows, each rejection, the rate parser (libxlu_vif.c, worked by hand
 * from its code), libxl's nic defaults and libxl__parse_mac.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xlcfg.h"

/* ------------------------------------------------------------ helpers */

static struct xlcfg *parse_ok(const char *text)
{
    struct xlcfg *cfg = NULL;
    struct xlcfg_err err = { "" };
    int rc = xlcfg_parse("t.cfg", text, strlen(text), &cfg, &err);

    ck_assert_msg(rc == 0, "parse failed (%d): %s", rc, err.msg);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

/* Parses len bytes that must fail with rc; returns the message. */
static const char *parse_fail_len(const char *text, size_t len, int want)
{
    static struct xlcfg_err err;
    struct xlcfg *cfg = (struct xlcfg *)1;
    int rc;

    memset(&err, 0, sizeof(err));
    rc = xlcfg_parse("t.cfg", text, len, &cfg, &err);
    ck_assert_msg(rc == want, "rc %d, wanted %d (%s)", rc, want, err.msg);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(err.msg[0], "no message");
    return err.msg;
}

static const char *parse_fail(const char *text, int want)
{
    return parse_fail_len(text, strlen(text), want);
}

static void assert_prefix(const char *msg, const char *prefix)
{
    ck_assert_msg(!strncmp(msg, prefix, strlen(prefix)),
                  "message '%s' does not start with '%s'", msg, prefix);
}

static const char *get_str(const struct xlcfg *cfg, const char *key)
{
    struct xlcfg_err err;
    const char *v = NULL;

    ck_assert_msg(!xlcfg_get_string(cfg, key, &v, &err), "%s: %s", key,
                  err.msg);
    return v;
}

/* --------------------------------------------------------- config syntax */

START_TEST(cfg_values_and_statements)
{
    static const char text[] =
        "# an xl config\n"
        "name = \"guest\"\n"
        "memory=512 ; vcpus = 0x2\n"
        "kernel = '/boot/vmlinuz' # trailing comment\n"
        "\n"
        "disk = [ 'a', \"b\",\n"
        "         # comment inside a list\n"
        "         'c', ]\n"
        "empty = []\n"
        "nested = [ [ 'x', 1 ], [] ]\n"
        "esc = 'it\\'s \\\"q\\\" \\\\ \\t\\n'\n"
        "last_no_newline = 7";
    struct xlcfg *cfg = parse_ok(text);
    const struct xlcfg_value *l;
    struct xlcfg_err err;
    long n;

    ck_assert_str_eq(get_str(cfg, "name"), "guest");
    ck_assert_str_eq(get_str(cfg, "memory"), "512");
    ck_assert_str_eq(get_str(cfg, "kernel"), "/boot/vmlinuz");
    ck_assert_str_eq(get_str(cfg, "esc"), "it's \"q\" \\ \t\n");
    ck_assert_int_eq(xlcfg_get_long(cfg, "vcpus", 0, 64, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(xlcfg_get_long(cfg, "last_no_newline", 0, 9, &n, &err),
                     0);
    ck_assert_int_eq(n, 7);
    ck_assert_int_eq(xlcfg_get_list(cfg, "disk", &l, &err), 0);
    ck_assert_uint_eq(l->nitems, 3);
    ck_assert_str_eq(l->items[0]->str, "a");
    ck_assert(l->items[0]->quoted);
    ck_assert_str_eq(l->items[2]->str, "c");
    ck_assert_uint_eq(l->items[2]->line, 8);
    ck_assert_int_eq(xlcfg_get_list(cfg, "empty", &l, &err), 0);
    ck_assert_uint_eq(l->nitems, 0);
    ck_assert_int_eq(xlcfg_get_list(cfg, "nested", &l, &err), 0);
    ck_assert_uint_eq(l->nitems, 2);
    ck_assert_int_eq(l->items[0]->type, XLCFG_LIST);
    ck_assert_str_eq(l->items[0]->items[1]->str, "1");
    ck_assert(!l->items[0]->items[1]->quoted);
    ck_assert_uint_eq(xlcfg_find(cfg, "nested")->line, 10);
    xlcfg_free(cfg);
}
END_TEST

START_TEST(cfg_last_assignment_wins_and_plus_equals)
{
    struct xlcfg *cfg = parse_ok("a = 'x'\nb = ['1']\na = 'y'\n"
                                 "b += ['2', '3']\ns = 'ab'\ns += 'cd'\n"
                                 "fresh += 'z'\nunknown_key.x = 1\n");
    const struct xlcfg_value *l;
    struct xlcfg_err err;
    long n;

    ck_assert_str_eq(get_str(cfg, "a"), "y");
    ck_assert_str_eq(get_str(cfg, "s"), "abcd");
    ck_assert_str_eq(get_str(cfg, "fresh"), "z");
    ck_assert_int_eq(xlcfg_get_list(cfg, "b", &l, &err), 0);
    ck_assert_uint_eq(l->nitems, 3);
    ck_assert_str_eq(l->items[0]->str, "1");
    ck_assert_str_eq(l->items[2]->str, "3");
    /* Unknown keys are kept (xl ignores them). */
    ck_assert_ptr_nonnull(xlcfg_find(cfg, "unknown_key.x"));
    /* xl refuses += for numbers. */
    ck_assert_int_eq(xlcfg_get_long(cfg, "fresh", 0, 1, &n, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "+="));
    xlcfg_free(cfg);

    assert_prefix(parse_fail("a = 'x'\na += ['y']\n", -EINVAL),
                  "t.cfg:2: ");
}
END_TEST

START_TEST(cfg_typed_getters)
{
    struct xlcfg *cfg = parse_ok("s = 'str'\nl = [1]\nn = '-12'\nh = 0x1f\n"
                                 "bad = '12x'\nbig = 99999999999999999999\n"
                                 "yes = 1\nno = 0\n");
    const struct xlcfg_value *l;
    struct xlcfg_err err;
    const char *s;
    bool b;
    long n;

    ck_assert_int_eq(xlcfg_get_string(cfg, "missing", &s, &err), -ENOENT);
    ck_assert_int_eq(xlcfg_get_string(cfg, "l", &s, &err), -EINVAL);
    assert_prefix(err.msg, "t.cfg:2: parameter `l' is a list");
    ck_assert_int_eq(xlcfg_get_list(cfg, "s", &l, &err), -EINVAL);
    assert_prefix(err.msg, "t.cfg:1: parameter `s' is a single value");
    ck_assert_int_eq(xlcfg_get_long(cfg, "n", -100, 100, &n, &err), 0);
    ck_assert_int_eq(n, -12);
    ck_assert_int_eq(xlcfg_get_long(cfg, "h", 0, 100, &n, &err), 0);
    ck_assert_int_eq(n, 31);
    ck_assert_int_eq(xlcfg_get_long(cfg, "h", 0, 30, &n, &err), -EINVAL);
    ck_assert_int_eq(xlcfg_get_long(cfg, "bad", 0, 100, &n, &err), -EINVAL);
    assert_prefix(err.msg, "t.cfg:5: ");
    ck_assert_int_eq(xlcfg_get_long(cfg, "big", 0, 100, &n, &err), -EINVAL);
    ck_assert_int_eq(xlcfg_get_long(cfg, "s", 0, 100, &n, &err), -EINVAL);
    ck_assert_int_eq(xlcfg_get_bool(cfg, "yes", &b, &err), 0);
    ck_assert(b);
    ck_assert_int_eq(xlcfg_get_bool(cfg, "no", &b, &err), 0);
    ck_assert(!b);
    ck_assert_int_eq(xlcfg_get_bool(cfg, "s", &b, &err), -EINVAL);
    ck_assert_int_eq(xlcfg_get_bool(cfg, "missing", &b, &err), -ENOENT);
    xlcfg_free(cfg);
}
END_TEST

START_TEST(cfg_syntax_errors_name_their_line)
{
    static const struct {
        const char *text;
        const char *prefix;
    } bad[] = {
        { "a = 1\nb = \n", "t.cfg:2: config parsing error near <newline>" },
        { "a = 1\n\nb = 'x\n", "t.cfg:3: config parsing error near `'x'" },
        { "a = \"x\\\ny\"\n", "t.cfg:1: " },
        { "a = 1\nb = bar\n", "t.cfg:2: config parsing error near `bar'" },
        { "Name = 'x'\n", "t.cfg:1: config parsing error near `Name'" },
        { "a 'x'\n", "t.cfg:1: " },
        { "a = 'x' 'y'\n", "t.cfg:1: " },
        { "a = [1 2]\n", "t.cfg:1: " },
        { "a = [,]\n", "t.cfg:1: " },
        { "a = [1,\n\n", "t.cfg:3: config parsing error at end of file" },
        { "a = 'x'\n# no newline", "t.cfg:2: " },
        { "a = '\\x41'\n", "t.cfg:1: " },
        { "a = '\\101'\n", "t.cfg:1: " },
        { "a = '\\q'\n", "t.cfg:1: " },
        { "a = 1\r\n", "t.cfg:1: " },
        { "a = 1.5\n", "t.cfg:1: " },
        { "a = 12G\n", "t.cfg:1: " },
        { "import os\n", "t.cfg:1: " },
        { "= 1\n", "t.cfg:1: " },
        { "a = 1 +\n", "t.cfg:1: " },
        { "a = \xc3\xa9\n", "t.cfg:1: config parsing error near `\\xc3\\xa9'" },
        { "a = ]\n", "t.cfg:1: " },
        { "a = [ 'x' ] ]\n", "t.cfg:1: " },
    };
    unsigned int i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg = parse_fail(bad[i].text, -EINVAL);

        ck_assert_msg(!strncmp(msg, bad[i].prefix, strlen(bad[i].prefix)),
                      "case %u: '%s' does not start with '%s'", i, msg,
                      bad[i].prefix);
    }
    /* Empty input and blank statements are fine. */
    xlcfg_free(parse_ok(""));
    xlcfg_free(parse_ok(";;\n\n ; \n"));
}
END_TEST

/* --------------------------------------------------------- hostile input */

START_TEST(cfg_hostile_nul_bytes)
{
    static const char a[] = "a = 1\nb = 'x\0y'\n";
    static const char b[] = "\0";
    static const char c[] = "a = 1\n# \0 in a comment\n";

    assert_prefix(parse_fail_len(a, sizeof(a) - 1, -EINVAL), "t.cfg:2: ");
    assert_prefix(parse_fail_len(b, 1, -EINVAL), "t.cfg:1: ");
    assert_prefix(parse_fail_len(c, sizeof(c) - 1, -EINVAL), "t.cfg:2: ");
}
END_TEST

START_TEST(cfg_hostile_unterminated)
{
    assert_prefix(parse_fail("a = '", -EINVAL), "t.cfg:1: ");
    assert_prefix(parse_fail("a = \"abc\\", -EINVAL), "t.cfg:1: ");
    assert_prefix(parse_fail("a = [", -EINVAL), "t.cfg:1: ");
    assert_prefix(parse_fail("a = [[[", -EINVAL), "t.cfg:1: ");
    assert_prefix(parse_fail("a = ['x',", -EINVAL), "t.cfg:1: ");
    assert_prefix(parse_fail("a =", -EINVAL), "t.cfg:1: ");
    assert_prefix(parse_fail("a", -EINVAL), "t.cfg:1: ");
    assert_prefix(parse_fail("a +", -EINVAL), "t.cfg:1: ");
}
END_TEST

START_TEST(cfg_hostile_nesting)
{
    char text[256];
    unsigned int depth;
    struct xlcfg *cfg;

    /* XLCFG_MAX_DEPTH levels parse; one more is refused. */
    for (depth = 1; depth <= XLCFG_MAX_DEPTH + 1; depth++) {
        size_t n = 0;
        unsigned int i;

        n += snprintf(text + n, sizeof(text) - n, "a = ");
        for (i = 0; i < depth; i++)
            text[n++] = '[';
        text[n++] = '1';
        for (i = 0; i < depth; i++)
            text[n++] = ']';
        text[n] = '\0';
        if (depth <= XLCFG_MAX_DEPTH) {
            cfg = parse_ok(text);
            xlcfg_free(cfg);
        } else {
            assert_prefix(parse_fail(text, -E2BIG), "t.cfg:1: ");
        }
    }
    /* A million brackets: refused at the limit, no deep recursion. */
    {
        size_t len = 1 << 20;
        char *big = malloc(len + 5);

        ck_assert_ptr_nonnull(big);
        memcpy(big, "a = ", 4);
        memset(big + 4, '[', len);
        big[len + 4] = '\0';
        parse_fail(big, -E2BIG);
        free(big);
    }
}
END_TEST

START_TEST(cfg_hostile_sizes)
{
    size_t len = 1 << 20, i;
    char *big = malloc(XLCFG_MAX_INPUT + 16);
    struct xlcfg *cfg;

    ck_assert_ptr_nonnull(big);
    /* A 1 MiB line: as a string (too long), a comment (fine), blanks
     * (fine), a name (too long), a number (too long). */
    memcpy(big, "a = '", 5);
    memset(big + 5, 'x', len);
    memcpy(big + 5 + len, "'\n", 3);
    assert_prefix(parse_fail(big, -E2BIG), "t.cfg:1: ");
    big[0] = '#';
    cfg = parse_ok(big);
    ck_assert_uint_eq(cfg->nsettings, 0);
    xlcfg_free(cfg);
    memset(big, ' ', len);
    memcpy(big + len, "a = 1\n", 7);
    cfg = parse_ok(big);
    xlcfg_free(cfg);
    memset(big, 'a', len);
    memcpy(big + len, " = 1\n", 6);
    parse_fail(big, -E2BIG);
    memcpy(big, "a = ", 4);
    memset(big + 4, '1', len);
    big[len + 4] = '\0';
    parse_fail(big, -E2BIG);

    /* A huge list: refused at XLCFG_MAX_LIST items. */
    memcpy(big, "a = [", 5);
    for (i = 0; i < 20000; i++)
        memcpy(big + 5 + 2 * i, "1,", 2);
    memcpy(big + 5 + 2 * i, "]\n", 3);
    assert_prefix(parse_fail(big, -E2BIG), "t.cfg:1: ");
    /* ... and a list grown past it with +=. */
    {
        size_t n = 0;

        for (i = 0; i < 3; i++) {
            unsigned int j;

            n += sprintf(big + n, "a += [");
            for (j = 0; j < XLCFG_MAX_LIST / 2; j++)
                n += sprintf(big + n, "1,");
            n += sprintf(big + n, "]\n");
        }
        assert_prefix(parse_fail(big, -E2BIG), "t.cfg:3: ");
    }
    /* Too many distinct keys. */
    {
        size_t n = 0;

        for (i = 0; i <= XLCFG_MAX_SETTINGS; i++)
            n += sprintf(big + n, "k%zu = 1\n", i);
        parse_fail(big, -E2BIG);
    }
    /* Larger than XLCFG_MAX_INPUT. */
    memset(big, '\n', XLCFG_MAX_INPUT + 1);
    parse_fail_len(big, XLCFG_MAX_INPUT + 1, -E2BIG);
    free(big);
}
END_TEST

/* A tiny deterministic fuzzer: mutated configs must parse or fail with a
 * message, never crash (the sanitized run checks memory too). */
START_TEST(cfg_hostile_mutations)
{
    static const char seed[] =
        "name = \"g\"\ndisk = [ 'vdev=xvda, target=/x', \"a\\tb\" ,\n"
        "  [ 1, [2] ] ] # c\nmemory = 0x200; vif = []\nx += 'y'\n";
    static const char alphabet[] = "[]'\",=+#;\n\\ \tax0\0\xff";
    char buf[sizeof(seed) + 64];
    unsigned int seedv = 12345, i, j;

    for (i = 0; i < 20000; i++) {
        struct xlcfg *cfg = NULL;
        struct xlcfg_err err;
        size_t len = sizeof(seed) - 1;
        int rc;

        memcpy(buf, seed, len);
        for (j = 0; j < 1 + i % 6; j++) {
            seedv = seedv * 1103515245u + 12345u;
            size_t pos = (seedv >> 8) % len;
            char c = alphabet[(seedv >> 20) % (sizeof(alphabet) - 1)];

            switch ((seedv >> 4) % 3) {
            case 0: buf[pos] = c; break;
            case 1:
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + pos + 1, buf + pos, len - pos);
                    buf[pos] = c;
                    len++;
                }
                break;
            default:
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
                break;
            }
        }
        err.msg[0] = '\0';
        rc = xlcfg_parse("m.cfg", buf, len, &cfg, &err);
        if (rc) {
            ck_assert_ptr_null(cfg);
            ck_assert_msg(!strncmp(err.msg, "m.cfg:", 6), "bad message %s",
                          err.msg);
        } else {
            const char *s;
            const struct xlcfg_value *l;
            long n;

            xlcfg_get_string(cfg, "name", &s, &err);
            xlcfg_get_list(cfg, "disk", &l, &err);
            xlcfg_get_long(cfg, "memory", 0, 1 << 20, &n, &err);
            xlcfg_free(cfg);
        }
    }
}
END_TEST

/* --------------------------------------------------------- disk specs */

static void disk_ok_n(const char *const *specs, unsigned int n,
                      struct xlcfg_disk *d)
{
    struct xlcfg_err err = { "" };
    int rc = xlcfg_disk_parse(specs, n, d, &err);

    ck_assert_msg(rc == 0, "'%s': %d %s", specs[0], rc, err.msg);
}

static void disk_ok(const char *spec, struct xlcfg_disk *d)
{
    disk_ok_n(&spec, 1, d);
}

static const char *disk_fail_n(const char *const *specs, unsigned int n,
                               int want)
{
    static struct xlcfg_err err;
    struct xlcfg_disk d;
    int rc;

    memset(&err, 0, sizeof(err));
    rc = xlcfg_disk_parse(specs, n, &d, &err);
    ck_assert_msg(rc == want, "'%s': rc %d, wanted %d (%s)", specs[0], rc,
                  want, err.msg);
    ck_assert_msg(err.msg[0], "no message");
    return err.msg;
}

static const char *disk_fail(const char *spec)
{
    return disk_fail_n(&spec, 1, -EINVAL);
}

static void assert_contains(const char *msg, const char *part)
{
    ck_assert_msg(strstr(msg, part), "'%s' lacks '%s'", msg, part);
}

START_TEST(disk_worked_examples_raw)
{
    static const char *const same[] = {
        "/dev/vg/gv,,hda",
        "/dev/vg/gv,raw,hda,rw",
        "format=raw, vdev=hda, access=rw, target=/dev/vg/gv",
        "raw:/dev/vg/gv,hda,w",
    };
    unsigned int i;

    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        struct xlcfg_disk d;

        disk_ok(same[i], &d);
        ck_assert_str_eq(d.target, "/dev/vg/gv");
        ck_assert_str_eq(d.vdev, "hda");
        ck_assert_int_eq(d.format, XLCFG_FORMAT_RAW);
        ck_assert(d.readwrite);
        ck_assert(!d.is_cdrom && !d.removable);
        ck_assert_ptr_null(d.backend_domname);
        ck_assert_ptr_null(d.script);
        ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_UNKNOWN);
        ck_assert_int_eq(d.discard, XLCFG_DEFAULT);
        ck_assert_int_eq(d.trusted, XLCFG_DEFAULT);
        xlcfg_disk_free(&d);
    }
}
END_TEST

START_TEST(disk_worked_examples_cdrom)
{
    static const char *const same[] = {
        "/root/i.iso,,hdc,cdrom",
        "/root/i.iso,,hdc,,cdrom",
        "raw:/root/i.iso,hdc:cdrom,ro",
    };
    struct xlcfg_disk d;
    unsigned int i;

    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        disk_ok(same[i], &d);
        ck_assert_str_eq(d.target, "/root/i.iso");
        ck_assert_str_eq(d.vdev, "hdc");
        ck_assert(d.is_cdrom && d.removable && !d.readwrite);
        ck_assert_int_eq(d.format, XLCFG_FORMAT_RAW);
        xlcfg_disk_free(&d);
    }
    /* The xend empty-cdrom form, and an empty target= */
    disk_ok(",hdc:cdrom,r", &d);
    ck_assert_str_eq(d.target, "");
    ck_assert_str_eq(d.vdev, "hdc");
    ck_assert(d.is_cdrom && !d.readwrite);
    ck_assert_int_eq(d.format, XLCFG_FORMAT_EMPTY);
    xlcfg_disk_free(&d);
    disk_ok("vdev=xvda,devtype=cdrom,target=", &d);
    ck_assert_str_eq(d.target, "");
    ck_assert_int_eq(d.format, XLCFG_FORMAT_EMPTY);
    xlcfg_disk_free(&d);
    /* cdrom forces read-only even over access=rw */
    disk_ok("access=rw,devtype=cdrom,vdev=xvdc,target=/i.iso", &d);
    ck_assert(!d.readwrite);
    xlcfg_disk_free(&d);
    /* A removable disk needs no target at all. */
    disk_ok("vdev=hdc,cdrom", &d);
    ck_assert_ptr_null(d.target);
    ck_assert_int_eq(d.format, XLCFG_FORMAT_EMPTY);
    xlcfg_disk_free(&d);
}
END_TEST

START_TEST(disk_worked_examples_target)
{
    struct xlcfg_disk d;

    /* target= eats the rest; one trailing comma is stripped. */
    disk_ok("vdev=xvda,target=/a,b=c,d, ", &d);
    ck_assert_str_eq(d.target, "/a,b=c,d, ");
    xlcfg_disk_free(&d);
    disk_ok("vdev=xvda,target=/x,,", &d);
    ck_assert_str_eq(d.target, "/x,");
    xlcfg_disk_free(&d);
    assert_contains(disk_fail("target=/x,vdev=xvda"), "no vdev specified");

    disk_ok("tap:qcow2:/x.img,xvda,w", &d);
    ck_assert_int_eq(d.format, XLCFG_FORMAT_QCOW2);
    ck_assert_str_eq(d.target, "/x.img");
    xlcfg_disk_free(&d);
    disk_ok("nbd:host:1234,xvda,w", &d);
    ck_assert_str_eq(d.target, "host:1234");
    ck_assert_str_eq(d.script, "block-nbd");
    xlcfg_disk_free(&d);
    disk_ok("iscsi:iqn.x,xvda,w", &d);
    ck_assert_str_eq(d.script, "block-iscsi");
    xlcfg_disk_free(&d);
    disk_ok("vdev=xvda,backend=dd1,backendtype=phy,target=/dev/loop0", &d);
    ck_assert_str_eq(d.backend_domname, "dd1");
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_PHY);
    ck_assert_str_eq(d.target, "/dev/loop0");
    xlcfg_disk_free(&d);
    assert_contains(disk_fail("/x,qcow2,xvda,r,extra"),
                    "too many positional parameters: near `extra'");

    /* The driver-domain form of the examples. */
    disk_ok("backend=drvdom, vdev=xvda, access=rw, format=raw, "
            "target=/var/lib/iovm/disk.img", &d);
    ck_assert_str_eq(d.backend_domname, "drvdom");
    ck_assert_str_eq(d.vdev, "xvda");
    ck_assert_str_eq(d.target, "/var/lib/iovm/disk.img");
    ck_assert(d.readwrite);
    xlcfg_disk_free(&d);
}
END_TEST

START_TEST(disk_positional_needs_format_slot)
{
    struct xlcfg_disk d;

    assert_contains(disk_fail("/dev/x,xvda,w"),
                    "unknown value for format: near `xvda' in `/dev/x,xvda,w'");
    disk_ok("/dev/x,,xvda,w", &d);
    ck_assert_str_eq(d.vdev, "xvda");
    xlcfg_disk_free(&d);
    disk_ok("phy:/dev/x,xvda,w", &d);
    ck_assert_str_eq(d.target, "/dev/x");
    ck_assert_str_eq(d.vdev, "xvda");
    xlcfg_disk_free(&d);
    disk_ok("format=raw,/dev/x,xvda,w", &d);
    ck_assert_str_eq(d.vdev, "xvda");
    xlcfg_disk_free(&d);
    disk_ok("/dev/x,qcow2,xvda,ro", &d);
    ck_assert_int_eq(d.format, XLCFG_FORMAT_QCOW2);
    ck_assert(!d.readwrite);
    xlcfg_disk_free(&d);
    /* Prefixes chain; the rest is rescanned. */
    disk_ok("tap:aio:/x,xvda,r", &d);
    ck_assert_str_eq(d.target, "/x");
    ck_assert_int_eq(d.format, XLCFG_FORMAT_RAW);
    xlcfg_disk_free(&d);
    /* Whitespace is skipped only before a token. */
    disk_ok("/x,, xvda ,w", &d);
    ck_assert_str_eq(d.vdev, "xvda ");
    xlcfg_disk_free(&d);
    assert_contains(disk_fail("format=raw ,vdev=xvda,target=/x"),
                    "unknown value for format");
}
END_TEST

START_TEST(disk_keywords_and_flags)
{
    struct xlcfg_disk d;

    disk_ok("vdev=xvda,direct-io-safe,discard,no-discard,untrusted,"
            "access=ro,script=foo,specification=xen,target=/x", &d);
    ck_assert(d.direct_io_safe);
    ck_assert_int_eq(d.discard, XLCFG_FALSE); /* the last one wins */
    ck_assert_int_eq(d.trusted, XLCFG_FALSE);
    ck_assert(!d.readwrite);
    ck_assert_str_eq(d.script, "foo");
    ck_assert_int_eq(d.specification, XLCFG_SPEC_XEN);
    ck_assert_str_eq(d.target, "/x");
    xlcfg_disk_free(&d);
    /* target= eats the rest of the string: keywords after it are text. */
    disk_ok("vdev=xvda,target=/x,direct-io-safe", &d);
    ck_assert_str_eq(d.target, "/x,direct-io-safe");
    ck_assert(!d.direct_io_safe);
    xlcfg_disk_free(&d);
    disk_ok("trusted,untrusted,trusted,vdev=xvda,target=/x", &d);
    ck_assert_int_eq(d.trusted, XLCFG_TRUE);
    xlcfg_disk_free(&d);
    /* .l semantics for trusted/untrusted, not the stale 4.17 lexer's. */
    disk_ok("vdev=xvda,untrusted,target=/x", &d);
    ck_assert_int_eq(d.trusted, XLCFG_FALSE);
    ck_assert_str_eq(d.target, "/x");
    xlcfg_disk_free(&d);
    disk_ok("vdev=a=b,target=/x", &d); /* values may hold '=' */
    ck_assert_str_eq(d.vdev, "a=b");
    xlcfg_disk_free(&d);
    disk_ok("colo,colo-host=h,colo-port=7,colo-export=e,active-disk=a,"
            "hidden-disk=h2,vdev=xvda,target=/x", &d);
    ck_assert_int_eq(d.colo, XLCFG_TRUE);
    ck_assert_int_eq(d.colo_port, 7);
    ck_assert_str_eq(d.colo_export, "e");
    xlcfg_disk_free(&d);
    disk_ok("devtype=disk,backendtype=qdisk,vdev=xvda,target=/x", &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_QDISK);
    ck_assert(!d.is_cdrom);
    xlcfg_disk_free(&d);
}
END_TEST

START_TEST(disk_set_once_rules)
{
    struct xlcfg_disk d;

    assert_contains(disk_fail("vdev=xvda,vdev=xvdb,target=/x"),
                    "vdev respecified: near `xvdb'");
    assert_contains(disk_fail("backend=a,backend=b,vdev=xvda,target=/x"),
                    "backend respecified");
    assert_contains(disk_fail("script=a,nbd:h,vdev=xvda"),
                    "script respecified");
    /* An empty string may be overwritten. */
    disk_ok(",vdev=xvda,target=/x", &d);
    ck_assert_str_eq(d.target, "/x");
    xlcfg_disk_free(&d);
    disk_ok("vdev=,vdev=xvda,target=/x", &d);
    ck_assert_str_eq(d.vdev, "xvda");
    xlcfg_disk_free(&d);
    assert_contains(disk_fail("trustedx,vdev=xvda,target=/x"),
                    "target respecified");
    /* Enums: the same value again is fine, another is not. */
    disk_ok("format=raw,format=raw,vdev=xvda,target=/x", &d);
    xlcfg_disk_free(&d);
    assert_contains(disk_fail("format=raw,format=qcow2,vdev=xvda,target=/x"),
                    "format respecified");
    assert_contains(disk_fail("backendtype=phy,backendtype=qdisk,vdev=xvda,"
                              "target=/x"),
                    "backend respecified");
    assert_contains(disk_fail("format=qcow2,raw:/x,xvda"),
                    "format respecified");
}
END_TEST

START_TEST(disk_errors)
{
    static const struct {
        const char *spec;
        const char *msg;
    } bad[] = {
        { "/x,,xvda,w!", "unknown value for access: near `w!'" },
        { "devtype=floppy,vdev=xvda,target=/x", "unknown value for type" },
        { "backendtype=foo,vdev=xvda,target=/x",
          "unknown value for backendtype" },
        { "specification=foo,vdev=xvda,target=/x",
          "unknown value for specification" },
        { "foo=bar,vdev=xvda,target=/x", "unknown parameter: near `foo=b'" },
        { "transport=mmio,vdev=xvda,target=/x", "unknown parameter" },
        { "VDEV=xvda,target=/x", "bad disk syntax: near `=xvda,target=/x'" },
        { "foo:/x,xvda", "unknown deprecated disk prefix: near `foo:'" },
        { "c:\\x,,xvda", "unknown deprecated disk prefix" },
        { "/x,,xvda:floppy", "unknown deprecated type" },
        { "colo-port=0,vdev=xvda,target=/x", "unknown value for colo_port" },
        { "format=vmdk,vdev=xvda,target=/x", "unknown value for format" },
        { "vdev=xvda", "no target specified (and device not removable)" },
        { "/x", "no vdev specified" },
        { "", "no vdev specified" },
    };
    unsigned int i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg = disk_fail(bad[i].spec);

        assert_prefix(msg, "config parsing error in disk specification: ");
        assert_contains(msg, bad[i].msg);
    }
}
END_TEST

START_TEST(disk_lexer_corners)
{
    struct xlcfg_disk d;

    /* xvda:cdrom is a positional, not a prefix (the longer match). */
    disk_ok("/x,,xvda:cdrom", &d);
    ck_assert_str_eq(d.vdev, "xvda");
    ck_assert(d.is_cdrom);
    xlcfg_disk_free(&d);
    /* A bad last character ends the string silently in flex... */
    disk_ok("/x,,xvda,=", &d);
    ck_assert_str_eq(d.vdev, "xvda");
    xlcfg_disk_free(&d);
    /* ... but one before a newline jams xl's scanner: an error here. */
    assert_contains(disk_fail("/x,,xvda,=\n,w"), "bad disk syntax");
    /* Newlines are blanks before a token; `.` stops at them. */
    disk_ok("vdev=xvda,target=/x\n,w", &d);
    ck_assert_str_eq(d.target, "/x");
    ck_assert(d.readwrite);
    xlcfg_disk_free(&d);
    /* Non-ASCII bytes are positional text. */
    disk_ok("/\xc3\xa9,,xvda", &d);
    ck_assert_str_eq(d.target, "/\xc3\xa9");
    xlcfg_disk_free(&d);
}
END_TEST

START_TEST(disk_multi_string)
{
    static const char *const a[] = { "phy:/dev/x", "xvda", "w" };
    static const char *const b[] = { "target=/x,y", "vdev=xvda" };
    static const char *const c[] = { "", "/x,,xvda", "" };
    static const char *const e[] = { "/x", ",xvda" };
    struct xlcfg_disk d;

    disk_ok_n(a, 3, &d);
    ck_assert_str_eq(d.target, "/dev/x");
    ck_assert_str_eq(d.vdev, "xvda");
    ck_assert(d.readwrite);
    xlcfg_disk_free(&d);
    /* target= eats only the rest of its own string. */
    disk_ok_n(b, 2, &d);
    ck_assert_str_eq(d.target, "/x,y");
    ck_assert_str_eq(d.vdev, "xvda");
    xlcfg_disk_free(&d);
    disk_ok_n(c, 3, &d);
    ck_assert_str_eq(d.vdev, "xvda");
    xlcfg_disk_free(&d);
    /* ",xvda" is an empty format, then xvda; state carries over. */
    disk_ok_n(e, 2, &d);
    ck_assert_str_eq(d.vdev, "xvda");
    xlcfg_disk_free(&d);
}
END_TEST

START_TEST(disk_hostile)
{
    char *big = malloc(1 << 20);
    const char *specs[XLCFG_DISK_SPECS_MAX + 1];
    struct xlcfg_disk d;
    unsigned int i;

    ck_assert_ptr_nonnull(big);
    /* The longest accepted spec, and one byte more. */
    memcpy(big, "vdev=xvda,target=", 17);
    memset(big + 17, 'x', XLCFG_DISK_SPEC_MAX - 17);
    big[XLCFG_DISK_SPEC_MAX] = '\0';
    disk_ok(big, &d);
    ck_assert_uint_eq(strlen(d.target), XLCFG_DISK_SPEC_MAX - 17);
    xlcfg_disk_free(&d);
    big[XLCFG_DISK_SPEC_MAX] = 'x';
    big[XLCFG_DISK_SPEC_MAX + 1] = '\0';
    disk_fail_n((const char *const *)&big, 1, -E2BIG);
    /* 1 MiB of commas. */
    memset(big, ',', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    disk_fail_n((const char *const *)&big, 1, -E2BIG);
    /* Too many strings. */
    for (i = 0; i <= XLCFG_DISK_SPECS_MAX; i++)
        specs[i] = "";
    disk_fail_n(specs, XLCFG_DISK_SPECS_MAX + 1, -E2BIG);
    /* Worst cases for the longest-match scan within the limit. */
    memset(big, ' ', XLCFG_DISK_SPEC_MAX);
    big[XLCFG_DISK_SPEC_MAX] = '\0';
    disk_fail(big);
    for (i = 0; i + 1 < XLCFG_DISK_SPEC_MAX; i += 2)
        memcpy(big + i, " ,", 2);
    disk_fail(big);
    free(big);
}
END_TEST

/* ------------------------------------------------- libxl disk defaults */

static void disk_defaults(const char *spec, uint32_t be_domid, mode_t mode,
                          struct xlcfg_disk *d)
{
    struct xlcfg_err err = { "" };

    disk_ok(spec, d);
    ck_assert_msg(xlcfg_disk_setdefault(d, be_domid, mode, &err) == 0,
                  "%s: %s", spec, err.msg);
}

static void disk_defaults_fail(const char *spec, uint32_t be_domid,
                               mode_t mode, const char *msg)
{
    struct xlcfg_err err = { "" };
    struct xlcfg_disk d;

    disk_ok(spec, &d);
    ck_assert_int_eq(xlcfg_disk_setdefault(&d, be_domid, mode, &err),
                     -EINVAL);
    assert_contains(err.msg, msg);
    xlcfg_disk_free(&d);
}

START_TEST(disk_backend_selection)
{
    struct xlcfg_disk d;

    /* A driver domain: raw -> phy without looking at the target. */
    disk_ok("backend=dd,vdev=xvda,target=/nonexistent", &d);
    ck_assert(!xlcfg_disk_needs_stat(&d, 1));
    ck_assert(xlcfg_disk_needs_stat(&d, 0));
    xlcfg_disk_free(&d);
    disk_defaults("backend=dd,vdev=xvda,target=/nonexistent", 1, 0, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_PHY);
    ck_assert_str_eq(xlcfg_disk_backend_name(d.backendtype), "phy");
    ck_assert_int_eq(d.discard, XLCFG_TRUE);
    ck_assert_int_eq(d.trusted, XLCFG_TRUE);
    ck_assert_int_eq(d.colo, XLCFG_FALSE);
    ck_assert_int_eq(d.specification, XLCFG_SPEC_XEN);
    xlcfg_disk_free(&d);
    /* Other formats -> qdisk, params "<fmt>:" */
    disk_defaults("backend=dd,vdev=xvda,format=qcow2,target=/q", 1, 0, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_QDISK);
    ck_assert_str_eq(xlcfg_disk_qdisk_format(d.format), "qcow2");
    xlcfg_disk_free(&d);
    /* dom0: a regular file or block device is phy; anything else qdisk. */
    disk_defaults("vdev=xvda,target=/f", 0, S_IFREG | 0644, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_PHY);
    xlcfg_disk_free(&d);
    disk_defaults("vdev=xvda,target=/b", 0, S_IFBLK | 0644, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_PHY);
    xlcfg_disk_free(&d);
    disk_defaults("vdev=xvda,target=/d", 0, S_IFDIR | 0755, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_QDISK);
    ck_assert_str_eq(xlcfg_disk_qdisk_format(d.format), "aio");
    xlcfg_disk_free(&d);
    /* A script means phy, without stat. */
    disk_ok("script=foo,vdev=xvda,target=/x", &d);
    ck_assert(!xlcfg_disk_needs_stat(&d, 0));
    xlcfg_disk_free(&d);
    disk_defaults("script=foo,vdev=xvda,target=/x", 0, 0, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_PHY);
    xlcfg_disk_free(&d);
    /* Read-only: discard off by default; explicit discard stays. */
    disk_defaults("backend=dd,vdev=xvda,access=ro,target=/x", 1, 0, &d);
    ck_assert_int_eq(d.discard, XLCFG_FALSE);
    xlcfg_disk_free(&d);
    disk_defaults("backend=dd,vdev=xvda,access=ro,discard,target=/x", 1, 0,
                  &d);
    ck_assert_int_eq(d.discard, XLCFG_TRUE);
    xlcfg_disk_free(&d);
    /* An empty cdrom is qdisk, never stat()ed. */
    disk_ok(",hdc:cdrom,r", &d);
    ck_assert(!xlcfg_disk_needs_stat(&d, 0));
    xlcfg_disk_free(&d);
    disk_defaults(",hdc:cdrom,r", 0, 0, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_QDISK);
    xlcfg_disk_free(&d);
    /* colo rules phy out; virtio means standalone. */
    disk_defaults("colo,backend=dd,vdev=xvda,target=/x", 1, 0, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_QDISK);
    xlcfg_disk_free(&d);
    disk_defaults("specification=virtio,backend=dd,vdev=xvda,target=/x", 1,
                  0, &d);
    ck_assert_int_eq(d.backendtype, XLCFG_BACKEND_STANDALONE);
    xlcfg_disk_free(&d);

    disk_defaults_fail("format=empty,vdev=xvda,target=", 0, 0,
                       "is empty but not cdrom");
    disk_defaults_fail("format=empty,devtype=cdrom,vdev=xvda,target=/i", 0,
                       0, "an image has been provided");
    disk_defaults_fail("backendtype=tap,vdev=xvda,target=/x", 1, 0,
                       "no suitable backend");
    disk_defaults_fail("backendtype=qdisk,script=s,vdev=xvda,target=/x", 1, 0,
                       "no suitable backend");
    disk_defaults_fail("backendtype=phy,format=qcow2,vdev=xvda,target=/x", 1,
                       0, "no suitable backend");
    disk_defaults_fail("format=qcow2,script=s,vdev=xvda,target=/x", 1, 0,
                       "no suitable backend");
    ck_assert_str_eq(xlcfg_disk_backend_name(XLCFG_BACKEND_TAP), "phy");
    ck_assert_str_eq(xlcfg_disk_format_name(XLCFG_FORMAT_QED), "qed");
    ck_assert_str_eq(xlcfg_disk_spec_name(XLCFG_SPEC_VIRTIO), "virtio");
}
END_TEST

/* ---------------------------------------------------------------- devids */

START_TEST(devid_table)
{
    static const struct {
        const char *vdev;
        uint32_t devid;
    } ok[] = {
        { "xvda", 51712 },       { "xvdb", 51728 },
        { "xvdp", 51952 },       { "xvdq", 268439552 },
        { "xvdaa", 268442112 },  { "xvda1", 51713 },
        { "xvda15", 51727 },     { "xvda16", 268435472 },
        { "xvda255", 268435711 }, { "d1p2", 51730 },
        { "d16p0", 268439552 },  { "d0p0", 51712 },
        { "0xca00", 51712 },     { "51712", 51712 },
        { "012", 10 },           { "0", 0 },
        { "hda", 768 },          { "hdb", 832 },
        { "hdc", 5632 },         { "hdd", 5696 },
        { "hda1", 769 },         { "hdb63", 895 },
        { "sda", 2048 },         { "sdb", 2064 },
        { "sdp", 2288 },         { "sda15", 2063 },
        { "2147483647", 2147483647u },
        /* libxl's quirks that still give a valid devid */
        { "xvda 1", 51713 },     { "xvda+1", 51713 },
        { "hd", 832 },
        /* the largest xvd index, 2^20 - 1 */
        { "xvdbgqcv", (1u << 28) | (1048575u << 8) },
    };
    static const char *const bad[] = {
        "", "xvd", "xvd1", "d-1p0", "d1p-1", "xvda0", "xvda256", "xvda-2",
        "d1048576p0", "d0p256", "hde", "hda64", "sdq", "sda16", "sd",
        "2147483648", "-1", "foo", "xvdA", "xvda1x", "xvdbgqcw",
        "d2147483648p0",
    };
    struct xlcfg_err err;
    unsigned int i;
    uint32_t devid;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(!xlcfg_vdev_to_devid(ok[i].vdev, &devid, &err),
                      "%s: %s", ok[i].vdev, err.msg);
        ck_assert_msg(devid == ok[i].devid, "%s: %u, wanted %u", ok[i].vdev,
                      devid, ok[i].devid);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        ck_assert_msg(xlcfg_vdev_to_devid(bad[i], &devid, &err) == -EINVAL,
                      "accepted '%s'", bad[i]);
        assert_prefix(err.msg, "Invalid or unsupported virtual disk");
    }
}
END_TEST

/* ------------------------------------------------------------- vifs */

static void vif_item_ok(struct xlcfg_vif *v, const char *item)
{
    struct xlcfg_err err = { "" };
    int rc = xlcfg_vif_parse_item(v, item, &err);

    ck_assert_msg(rc == 0, "%s: rc %d (%s)", item, rc, err.msg);
}

/* An item that must fail with rc; returns the message. */
static const char *vif_item_fail(const char *item, int want)
{
    static struct xlcfg_err err;
    struct xlcfg_vif v;
    int rc;

    memset(&err, 0, sizeof(err));
    xlcfg_vif_init(&v, 0);
    rc = xlcfg_vif_parse_item(&v, item, &err);
    ck_assert_msg(rc == want, "%s: rc %d, wanted %d (%s)", item, rc, want,
                  err.msg);
    ck_assert_msg(err.msg[0] && !strchr(err.msg, '\n'), "%s: message '%s'",
                  item, err.msg);
    xlcfg_vif_free(&v);
    return err.msg;
}

START_TEST(vif_items)
{
    static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x0a, 0xbc, 0x01 };
    static const uint8_t mac2[6] = { 0x0, 0x1, 0x2, 0xa, 0xb, 0xff };
    struct xlcfg_err err;
    struct xlcfg_vif v;

    xlcfg_vif_init(&v, 3);
    ck_assert_int_eq(v.devid, 3);
    ck_assert_int_eq(v.trusted, XLCFG_DEFAULT);
    vif_item_ok(&v, "mac=00:16:3E:0a:bc:01");
    ck_assert_mem_eq(v.mac, mac, 6);
    vif_item_ok(&v, "bridge=xenbr0");
    vif_item_ok(&v, "bridge=br-lan "); /* last wins, verbatim */
    ck_assert_str_eq(v.bridge, "br-lan ");
    vif_item_ok(&v, "backend=drvdom");
    ck_assert_str_eq(v.backend_domname, "drvdom");
    vif_item_ok(&v, "script=vif-route");
    ck_assert_str_eq(v.script, "vif-route");
    vif_item_ok(&v, "vifname=guest0");
    ck_assert_str_eq(v.ifname, "guest0");
    vif_item_ok(&v, "ip=10.0.0.2 10.0.0.3");
    ck_assert_str_eq(v.ip, "10.0.0.2 10.0.0.3");
    vif_item_ok(&v, "gatewaydev=eth0");
    ck_assert_str_eq(v.gatewaydev, "eth0");
    vif_item_ok(&v, "model=e1000");
    ck_assert_str_eq(v.model, "e1000");
    vif_item_ok(&v, "type=ioemu");
    ck_assert_int_eq(v.nictype, XLCFG_NIC_VIF_IOEMU);
    vif_item_ok(&v, "type=vif");
    ck_assert_int_eq(v.nictype, XLCFG_NIC_VIF);
    vif_item_ok(&v, "devid=7");
    ck_assert_int_eq(v.devid, 7);
    vif_item_ok(&v, "devid=2147483647");
    ck_assert_int_eq(v.devid, 2147483647);
    vif_item_ok(&v, "mtu=9000");
    ck_assert_int_eq(v.mtu, 9000);
    vif_item_ok(&v, "mtu=0"); /* libxl's "not given" */
    ck_assert_int_eq(v.mtu, 0);
    vif_item_ok(&v, "untrusted");
    ck_assert_int_eq(v.trusted, XLCFG_FALSE);
    vif_item_ok(&v, "trusted");
    ck_assert_int_eq(v.trusted, XLCFG_TRUE);
    vif_item_ok(&v, "rate=10Mb/s@20ms");
    ck_assert_uint_eq(v.rate_bytes_per_interval, 25000);
    ck_assert_uint_eq(v.rate_interval_usecs, 20000);
    vif_item_ok(&v, "forwarddev=eth1");
    ck_assert_str_eq(v.forwarddev, "eth1");
    vif_item_ok(&v, "colo_sock_mirror_id=m1");
    vif_item_ok(&v, "colo_checkpoint_port=9000");
    ck_assert_str_eq(v.colo[0], "m1");
    ck_assert_str_eq(v.colo[XLCFG_VIF_NCOLO - 1], "9000");
    ck_assert_str_eq(xlcfg_vif_colo_name(0), "sock_mirror_id");
    ck_assert_str_eq(xlcfg_vif_colo_name(XLCFG_VIF_NCOLO - 1),
                     "checkpoint_port");
    ck_assert_ptr_null(xlcfg_vif_colo_name(XLCFG_VIF_NCOLO));
    vif_item_ok(&v, "mac=0:1:2:a:b:ff"); /* one digit a byte, as xl */
    ck_assert_mem_eq(v.mac, mac2, 6);
    vif_item_ok(&v, "bridge="); /* empty, as xl */
    ck_assert_str_eq(v.bridge, "");

    /* xl's warnings: accepted, with its message. */
    ck_assert_int_eq(xlcfg_vif_parse_item(&v, "netdev=eth2", &err),
                     XLCFG_VIF_WARNING);
    ck_assert_str_eq(v.gatewaydev, "eth2");
    ck_assert_ptr_nonnull(strstr(err.msg, "deprecated"));
    ck_assert_int_eq(xlcfg_vif_parse_item(&v, "accel=x", &err),
                     XLCFG_VIF_WARNING);
    ck_assert_ptr_nonnull(strstr(err.msg, "not supported"));
    xlcfg_vif_free(&v);
}
END_TEST

START_TEST(vif_rejections)
{
    static const char *const bad_macs[] = {
        "mac=", "mac=00:16:3e:00:00", "mac=00:16:3e:00:00:01:02",
        "mac=00-16-3e-00-00-01", "mac=00:16:3e:00:00:01 ",
        "mac=000:16:3e:00:00:01", "mac=0x1:16:3e:00:00:01",
        "mac=00:16:3e:00:00:zz", "mac=00:16:3e::00:01", "mac= 0:16:3e:0:0:1",
    };
    static const char *const bad_nums[] = {
        "devid=", "devid=-1", "devid=+1", "devid=1x", "devid= 1",
        "devid=2147483648", "devid=0x10", "mtu=", "mtu=-1", "mtu=1500 ",
        "mtu=99999999999",
    };
    static const char *const unknown[] = {
        "frob=1", "mac", "trusted ", "Trusted", "untrusted=1", "MAC=1",
        "colo_nope=1", "colo_=1", "=x", "",
    };
    char big[XLCFG_VIF_SPEC_MAX + 16];
    const char *m;
    size_t i;

    for (i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++) {
        m = vif_item_fail(bad_macs[i], -EINVAL);
        assert_prefix(m, "invalid vif item `mac=");
    }
    for (i = 0; i < sizeof(bad_nums) / sizeof(bad_nums[0]); i++) {
        m = vif_item_fail(bad_nums[i], -EINVAL);
        assert_prefix(m, "invalid vif item `");
        assert_contains(m, "0..2147483647");
    }
    m = vif_item_fail("type=vif_ioemu", -EINVAL); /* not xl's word */
    ck_assert_str_eq(m, "invalid vif item `type=vif_ioemu': type is vif or "
                        "ioemu");
    vif_item_fail("type=", -EINVAL);
    vif_item_fail("type=VIF", -EINVAL);
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        m = vif_item_fail(unknown[i], -ENOENT);
        assert_prefix(m, "unrecognized argument `");
    }
    ck_assert_str_eq(vif_item_fail("frob=1", -ENOENT),
                     "unrecognized argument `frob=1'");
    /* A hostile item is quoted, bounded, on one line. */
    m = vif_item_fail("mac=\n\x01zz", -EINVAL);
    assert_contains(m, "\\x0a\\x01zz");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "ip=", 3);
    vif_item_fail(big, -E2BIG);
    vif_item_fail("rate=1x", -EINVAL);
}
END_TEST

static void rate_ok(const char *rate, uint64_t bytes, uint32_t usecs)
{
    struct xlcfg_err err = { "" };
    uint64_t b = 1;
    uint32_t u = 1;
    int rc = xlcfg_vif_parse_rate(rate, &b, &u, &err);

    ck_assert_msg(rc == 0, "%s: rc %d (%s)", rate, rc, err.msg);
    ck_assert_msg(b == bytes && u == usecs, "%s: %llu,%u wanted %llu,%u",
                  rate, (unsigned long long)b, u,
                  (unsigned long long)bytes, usecs);
}

static void rate_fail(const char *rate, int want, const char *msg)
{
    struct xlcfg_err err = { "" };
    uint64_t b = 1;
    uint32_t u = 1;
    int rc = xlcfg_vif_parse_rate(rate, &b, &u, &err);

    ck_assert_msg(rc == want, "%s: rc %d, wanted %d (%s)", rate, rc, want,
                  err.msg);
    ck_assert_str_eq(err.msg, msg);
    ck_assert_msg(b == 1 && u == 1, "%s: outputs written on failure", rate);
}

START_TEST(vif_rate)
{
    rate_ok("10Mb/s@20ms", 25000, 20000);
    rate_ok("1MB/s", 50000, 50000);      /* 50 ms by default */
    rate_ok("100Kb/s@1s", 12500, 1000000);
    rate_ok("1GB/s@100us", 100000, 100);
    rate_ok("1GB/s@100u", 100000, 100);
    rate_ok("8b/s@5", 5, 5000000);       /* no unit: seconds */
    rate_ok("1000B/s@250u", 0, 250);     /* rounds down to nothing */
    rate_ok("5Gb/s@1m", 625000, 1000);
    rate_ok("10Mb/s@4294s", 5367500000ull, 4294000000u);
    /* strtoull base 0, as xl: a leading 0 is octal, and octal stops at
     * 8 or 9 (which then count as the unit). */
    rate_ok("010Mb/s@020ms", 16000, 16000);
    rate_ok("018Mb/s", 0, 50000);
    rate_ok("4294967295B/s", 214748364, 50000);

    rate_fail("", -EINVAL, "config parsing error in vif: no rate specified "
                           "in `'");
    rate_fail("@20ms", -EINVAL, "config parsing error in vif: no rate "
                                "specified in `@20ms'");
    rate_fail("10Mb", -EINVAL, "config parsing error in vif: invalid rate "
                               "in `10Mb'");
    rate_fail("10mb/s", -EINVAL, "config parsing error in vif: invalid rate "
                                 "in `10mb/s'");
    rate_fail("10 Mb/s", -EINVAL, "config parsing error in vif: invalid "
                                  "rate in `10 Mb/s'");
    rate_fail("0x10Mb/s", -EINVAL, "config parsing error in vif: invalid "
                                   "rate in `0x10Mb/s'");
    rate_fail("0Mb/s", -EOVERFLOW, "config parsing error in vif: rate "
                                   "overflow in `0Mb/s'");
    rate_fail("4294967296B/s", -EOVERFLOW, "config parsing error in vif: "
                                           "rate overflow in "
                                           "`4294967296B/s'");
    rate_fail("4294967295GB/s", -EOVERFLOW, "config parsing error in vif: "
                                            "rate overflow in "
                                            "`4294967295GB/s'");
    rate_fail("10Mb/s@", -EINVAL, "config parsing error in vif: invalid "
                                  "replenishment interval in `'");
    rate_fail("10Mb/s@20ks", -EINVAL, "config parsing error in vif: "
                                      "invalid replenishment interval in "
                                      "`20ks'");
    rate_fail("10Mb/s@20ms@1", -EINVAL, "config parsing error in vif: "
                                        "invalid replenishment interval "
                                        "in `20ms@1'");
    rate_fail("10Mb/s@0ms", -EOVERFLOW, "config parsing error in vif: "
                                        "replenishment interval overflow "
                                        "in `0ms'");
    rate_fail("10Mb/s@4295s", -EOVERFLOW, "config parsing error in vif: "
                                          "replenishment interval "
                                          "overflow in `4295s'");
}
END_TEST

struct warns {
    unsigned int n;
    char last[XLCFG_MSG_MAX];
};

static void count_warn(void *arg, const char *msg)
{
    struct warns *w = arg;

    w->n++;
    snprintf(w->last, sizeof(w->last), "%s", msg);
}

START_TEST(vif_spec)
{
    struct warns w = { 0, "" };
    struct xlcfg_err err = { "" };
    struct xlcfg_vif v;

    /* xl's strtok loop: commas, leading spaces only, empty items gone. */
    xlcfg_vif_init(&v, 1);
    ck_assert_int_eq(xlcfg_vif_parse(",, mac=00:16:3e:00:00:01,,  bridge="
                                     "xenbr1 ,frob, accel=1,\ttrusted",
                                     &v, count_warn, &w, &err),
                     0);
    ck_assert_str_eq(v.bridge, "xenbr1 ");
    ck_assert_int_eq(v.mac[5], 1);
    ck_assert_int_eq(v.devid, 1);
    /* frob and accel warned; "\ttrusted" is not `trusted' (a tab). */
    ck_assert_uint_eq(w.n, 3);
    ck_assert_str_eq(w.last, "unrecognized argument `\\x09trusted'");
    ck_assert_int_eq(v.trusted, XLCFG_DEFAULT);
    xlcfg_vif_free(&v);

    /* Empty spec: a vif with every default. */
    xlcfg_vif_init(&v, 0);
    ck_assert_int_eq(xlcfg_vif_parse("", &v, NULL, NULL, &err), 0);
    ck_assert_ptr_null(v.bridge);
    xlcfg_vif_free(&v);

    /* A bad value fails the spec, naming the item. */
    xlcfg_vif_init(&v, 0);
    ck_assert_int_eq(xlcfg_vif_parse("bridge=x, mtu=big", &v, NULL, NULL,
                                     &err),
                     -EINVAL);
    assert_prefix(err.msg, "invalid vif item `mtu=big'");
    xlcfg_vif_free(&v);
    xlcfg_vif_init(&v, 0);
    ck_assert_int_eq(xlcfg_vif_parse("rate=1Mb/s@0", &v, NULL, NULL, &err),
                     -EOVERFLOW);
    xlcfg_vif_free(&v);
}
END_TEST

START_TEST(vif_defaults)
{
    static const uint8_t rnd[3] = { 0xff, 0x12, 0x34 };
    static const uint8_t want[6] = { 0x00, 0x16, 0x3e, 0x7f, 0x12, 0x34 };
    struct xlcfg_err err = { "" };
    struct xlcfg_vif v;

    xlcfg_vif_init(&v, -1);
    ck_assert_int_eq(xlcfg_vif_setdefault(&v, rnd, &err), 0);
    ck_assert_int_eq(v.mtu, 1500);
    ck_assert_str_eq(v.model, "rtl8139");
    ck_assert_str_eq(v.bridge, "xenbr0");
    ck_assert_str_eq(v.script, "/etc/xen/scripts/vif-bridge");
    ck_assert_mem_eq(v.mac, want, 6); /* Xen's OUI, bit 7 of byte 3 off */
    ck_assert_int_eq(v.nictype, XLCFG_NIC_VIF);
    ck_assert_str_eq(xlcfg_nic_type_name(v.nictype), "vif");
    ck_assert_int_eq(v.trusted, XLCFG_TRUE);
    ck_assert_int_eq(v.devid, -1); /* the toolstack picks it */
    ck_assert_uint_eq(v.rate_interval_usecs, 0);
    /* Idempotent, as libxl calls it twice at creation. */
    ck_assert_int_eq(xlcfg_vif_setdefault(&v, rnd, &err), 0);
    ck_assert_mem_eq(v.mac, want, 6);
    xlcfg_vif_free(&v);

    /* Given values stay; an all-zero MAC is libxl's "none". */
    xlcfg_vif_init(&v, 0);
    vif_item_ok(&v, "mac=02:00:00:00:00:09");
    vif_item_ok(&v, "mtu=9000");
    vif_item_ok(&v, "script=/x/y");
    vif_item_ok(&v, "untrusted");
    ck_assert_int_eq(xlcfg_vif_setdefault(&v, rnd, &err), 0);
    ck_assert_int_eq(v.mac[0], 2);
    ck_assert_int_eq(v.mtu, 9000);
    ck_assert_str_eq(v.script, "/x/y");
    ck_assert_int_eq(v.trusted, XLCFG_FALSE);
    xlcfg_vif_free(&v);
    xlcfg_vif_init(&v, 0);
    vif_item_ok(&v, "mac=00:00:00:00:00:00");
    ck_assert_int_eq(xlcfg_vif_setdefault(&v, rnd, &err), 0);
    ck_assert_mem_eq(v.mac, want, 6);
    xlcfg_vif_free(&v);

    /* An emulated nic on a PV guest: libxl's refusal. */
    xlcfg_vif_init(&v, 0);
    vif_item_ok(&v, "type=ioemu");
    ck_assert_int_eq(xlcfg_vif_setdefault(&v, rnd, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "trying to create PV or PVH guest with an "
                              "emulated interface");
    xlcfg_vif_free(&v);
}
END_TEST

START_TEST(vif_mac_parse)
{
    uint8_t m[6];

    ck_assert_int_eq(xlcfg_mac_parse("00:16:3e:aB:0c:ff", m), 0);
    ck_assert_int_eq(m[3], 0xab);
    ck_assert_int_eq(m[5], 0xff);
    /* libxl__parse_mac: exactly two digits a byte. */
    ck_assert_int_eq(xlcfg_mac_parse("0:16:3e:ab:0c:ff", m), -EINVAL);
    ck_assert_int_eq(xlcfg_mac_parse("00:16:3e:ab:0c", m), -EINVAL);
    ck_assert_int_eq(xlcfg_mac_parse("00:16:3e:ab:0c:ff:", m), -EINVAL);
    ck_assert_int_eq(xlcfg_mac_parse("00:16:3e:ab:0c:ff:00", m), -EINVAL);
    ck_assert_int_eq(xlcfg_mac_parse("00-16-3e-ab-0c-ff", m), -EINVAL);
    ck_assert_int_eq(xlcfg_mac_parse("", m), -EINVAL);
    ck_assert_int_eq(xlcfg_mac_parse("zz:16:3e:ab:0c:ff", m), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xlcfg");
    TCase *tc = tcase_create("config");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, cfg_values_and_statements);
    tcase_add_test(tc, cfg_last_assignment_wins_and_plus_equals);
    tcase_add_test(tc, cfg_typed_getters);
    tcase_add_test(tc, cfg_syntax_errors_name_their_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cfg_hostile_nul_bytes);
    tcase_add_test(tc, cfg_hostile_unterminated);
    tcase_add_test(tc, cfg_hostile_nesting);
    tcase_add_test(tc, cfg_hostile_sizes);
    tcase_add_test(tc, cfg_hostile_mutations);
    tcase_add_test(tc, disk_hostile);
    suite_add_tcase(s, tc);
    tc = tcase_create("disk");
    tcase_add_test(tc, disk_worked_examples_raw);
    tcase_add_test(tc, disk_worked_examples_cdrom);
    tcase_add_test(tc, disk_worked_examples_target);
    tcase_add_test(tc, disk_positional_needs_format_slot);
    tcase_add_test(tc, disk_keywords_and_flags);
    tcase_add_test(tc, disk_set_once_rules);
    tcase_add_test(tc, disk_errors);
    tcase_add_test(tc, disk_lexer_corners);
    tcase_add_test(tc, disk_multi_string);
    tcase_add_test(tc, disk_backend_selection);
    tcase_add_test(tc, devid_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("vif");
    tcase_add_test(tc, vif_items);
    tcase_add_test(tc, vif_rejections);
    tcase_add_test(tc, vif_rate);
    tcase_add_test(tc, vif_spec);
    tcase_add_test(tc, vif_defaults);
    tcase_add_test(tc, vif_mac_parse);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
