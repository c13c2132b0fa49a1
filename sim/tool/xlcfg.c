/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xl config files and disk specifications, parsed with Xen 4.17's
 * libxlutil semantics, and the pure parts of libxl's disk defaults (see
 * xlcfg.h).  Reference: tools/libs/util/libxlu_cfg_l.l, libxlu_cfg_y.y,
 * libxlu_cfg.c, libxlu_disk_l.l, libxlu_disk.c; tools/libs/light/
 * libxl_disk.c, libxl_device.c at RELEASE-4.17.7.
 *
 * Trusts nothing it parses.  The config parser is a hand-written lexer
 * and a recursive-descent parser whose only recursion is list nesting,
 * cut off at XLCFG_MAX_DEPTH.  The disk lexer reproduces flex's rule
 * (longest match, first rule on a tie, trailing context counted in the
 * length but not consumed) over the rules of libxlu_disk_l.l, on strings
 * of at most XLCFG_DISK_SPEC_MAX bytes.
 *
 * Where xl accepts input only by accident (a lone stray character at the
 * very end of a file, which its lexer drops; numeric escapes, which it
 * mangles; NUL bytes) we refuse it: whatever parses here means the same
 * to xl.  Error lines are those of the offending token (xl is one line
 * short on errors at a newline).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"
#include "xlcfg.h"

static int xlcfg_err_set(struct xlcfg_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int xlcfg_err_set(struct xlcfg_err *err, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return rc;
}

/*
 * Copies at most 48 bytes of untrusted text into out for a message:
 * printable ASCII as is, anything else as \xNN, "..." if cut.
 */
static void xlcfg_quote(char *out, size_t outlen, const char *s, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < len && i < 48 && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += snprintf(out + o, outlen - o, "\\x%02x", c);
    }
    if (i < len && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

/* ============================================================ files */

enum cfg_tok_kind {
    TOK_EOF,
    TOK_IDENT,
    TOK_NUMBER,
    TOK_STRING,
    TOK_NEWLINE, /* also a comment, which runs to and eats its newline */
    TOK_COMMA,
    TOK_LBRACK,
    TOK_RBRACK,
    TOK_ASSIGN,
    TOK_ADD,
    TOK_SEMI,
};

struct cfg_tok {
    enum cfg_tok_kind kind;
    unsigned int line;
    size_t start, len; /* raw bytes in the buffer */
};

struct cfg_parser {
    const char *src;   /* file name */
    const char *buf;
    size_t len, pos;
    unsigned int line;
    struct cfg_tok peek;
    bool have_peek;
    unsigned int nvalues;
    struct xlcfg *cfg;
    struct xlcfg_err *err;
};

static int cfg_error(struct cfg_parser *p, const struct cfg_tok *t, int rc,
                     const char *msg)
{
    char near[256];

    if (t->kind == TOK_EOF)
        return xlcfg_err_set(p->err, rc,
                             "%s:%u: config parsing error at end of file: %s",
                             p->src, t->line, msg);
    if (t->kind == TOK_NEWLINE && p->buf[t->start] == '\n')
        return xlcfg_err_set(p->err, rc,
                             "%s:%u: config parsing error near <newline>: %s",
                             p->src, t->line, msg);
    xlcfg_quote(near, sizeof(near), p->buf + t->start, t->len);
    return xlcfg_err_set(p->err, rc,
                         "%s:%u: config parsing error near `%s': %s", p->src,
                         t->line, near, msg);
}

/* A lexical error at pos: shows the bad text up to the next blank. */
static int cfg_lex_error(struct cfg_parser *p, size_t pos, const char *msg)
{
    struct cfg_tok t = { .kind = TOK_IDENT, .line = p->line, .start = pos };

    while (pos + t.len < p->len && !strchr(" \t\n", p->buf[pos + t.len]))
        t.len++;
    if (!t.len)
        t.len = 1;
    return cfg_error(p, &t, -EINVAL, msg);
}

static bool cfg_is_ident(char c, bool first)
{
    return (c >= 'a' && c <= 'z') ||
           (!first && ((c >= '0' && c <= '9') || c == '.' || c == '_'));
}

static bool cfg_is_number(char c, bool first)
{
    return (c >= '0' && c <= '9') ||
           (!first && ((c >= 'a' && c <= 'f') || c == 'x'));
}

static int cfg_lex(struct cfg_parser *p, struct cfg_tok *t)
{
    const char *b = p->buf;
    size_t i;
    char c;

    if (p->have_peek) {
        *t = p->peek;
        p->have_peek = false;
        return 0;
    }
    while (p->pos < p->len && (b[p->pos] == ' ' || b[p->pos] == '\t'))
        p->pos++;
    t->line = p->line;
    t->start = p->pos;
    t->len = 1;
    if (p->pos >= p->len) {
        t->kind = TOK_EOF;
        t->len = 0;
        return 0;
    }
    c = b[p->pos];
    if (cfg_is_ident(c, true) || cfg_is_number(c, true)) {
        bool ident = cfg_is_ident(c, true);

        for (i = p->pos + 1; i < p->len; i++)
            if (ident ? !cfg_is_ident(b[i], false)
                      : !cfg_is_number(b[i], false))
                break;
        t->kind = ident ? TOK_IDENT : TOK_NUMBER;
        t->len = i - p->pos;
        if (t->len > (ident ? XLCFG_MAX_KEY : XLCFG_MAX_STRING))
            return cfg_error(p, t, -E2BIG,
                             ident ? "name too long" : "number too long");
    } else if (c == '\'' || c == '"') {
        /* '([^'\\\n]|\\.)*' : a newline ends the line, not the string. */
        for (i = p->pos + 1; i < p->len && b[i] != c; i++) {
            if (b[i] == '\n' || (b[i] == '\\' && i + 1 < p->len &&
                                 b[i + 1] == '\n'))
                break;
            if (b[i] == '\\')
                i++;
        }
        if (i >= p->len || b[i] != c)
            return cfg_lex_error(p, p->pos,
                                 "lexical error (unterminated string)");
        t->kind = TOK_STRING;
        t->len = i + 1 - p->pos;
    } else if (c == '#') {
        const char *nl = memchr(b + p->pos, '\n', p->len - p->pos);

        /* xl's `\#.*\n` needs the newline: a last-line comment without
         * one is a lexical error there, so it is here too. */
        if (!nl)
            return cfg_lex_error(p, p->pos,
                                 "lexical error (comment without a "
                                 "newline at end of file)");
        t->kind = TOK_NEWLINE;
        t->len = (size_t)(nl - (b + p->pos)) + 1;
        p->line++;
    } else if (c == '\n') {
        t->kind = TOK_NEWLINE;
        p->line++;
    } else if (c == ',') {
        t->kind = TOK_COMMA;
    } else if (c == '[') {
        t->kind = TOK_LBRACK;
    } else if (c == ']') {
        t->kind = TOK_RBRACK;
    } else if (c == '=') {
        t->kind = TOK_ASSIGN;
    } else if (c == ';') {
        t->kind = TOK_SEMI;
    } else if (c == '+' && p->pos + 1 < p->len && b[p->pos + 1] == '=') {
        t->kind = TOK_ADD;
        t->len = 2;
    } else {
        return cfg_lex_error(p, p->pos, "lexical error");
    }
    p->pos += t->len;
    return 0;
}

static int cfg_peek(struct cfg_parser *p, struct cfg_tok *t)
{
    int rc = 0;

    if (!p->have_peek) {
        rc = cfg_lex(p, &p->peek);
        p->have_peek = !rc;
    }
    *t = p->peek;
    return rc;
}

/* nlok: any number of newlines (and comments). */
static int cfg_skip_newlines(struct cfg_parser *p)
{
    struct cfg_tok t;
    int rc;

    while (!(rc = cfg_peek(p, &t)) && t.kind == TOK_NEWLINE)
        p->have_peek = false;
    return rc;
}

static void cfg_value_free(struct xlcfg_value *v)
{
    unsigned int i;

    if (!v)
        return;
    if (v->type == XLCFG_LIST) {
        /* Depth is at most XLCFG_MAX_DEPTH: the parser refuses more. */
        for (i = 0; i < v->nitems; i++)
            cfg_value_free(v->items[i]);
        free(v->items);
    }
    free(v->str);
    free(v);
}

/* xlu__cfgl_dequote: the text between the quotes, escapes resolved. */
static int cfg_dequote(struct cfg_parser *p, const struct cfg_tok *t,
                       char **out)
{
    const char *s = p->buf + t->start + 1, *end = p->buf + t->start +
                                                  t->len - 1;
    char *res = malloc(t->len), *q = res;

    if (!res)
        return cfg_error(p, t, -ENOMEM, "out of memory");
    while (s < end) {
        char c = *s++;

        if (c != '\\') {
            *q++ = c;
            continue;
        }
        c = *s++; /* the lexer guarantees a character after '\' */
        switch (c) {
        case '"': case '\'': case '\\': *q++ = c; break;
        case 'a': *q++ = '\a'; break;
        case 'b': *q++ = '\b'; break;
        case 'f': *q++ = '\f'; break;
        case 'n': *q++ = '\n'; break;
        case 'r': *q++ = '\r'; break;
        case 't': *q++ = '\t'; break;
        case 'v': *q++ = '\v'; break;
        case 'x':
        case '0': case '1': case '2': case '3':
        case '4': case '5': case '6': case '7':
            /*
             * xl 4.17 always rejects \x (its digit check can never
             * pass) and silently drops octal escapes; accepting neither
             * keeps every file we accept valid for xl with the same
             * meaning.
             */
            free(res);
            return cfg_error(p, t, -EINVAL,
                             "numeric character escapes in quoted strings "
                             "are not supported (xl mishandles them)");
        default:
            free(res);
            return cfg_error(p, t, -EINVAL,
                             "invalid character after backslash in quoted "
                             "string");
        }
    }
    *q = '\0';
    if ((size_t)(q - res) > XLCFG_MAX_STRING) {
        free(res);
        return cfg_error(p, t, -E2BIG, "string too long");
    }
    *out = res;
    return 0;
}

static int cfg_value_new(struct cfg_parser *p, const struct cfg_tok *t,
                         enum xlcfg_type type, struct xlcfg_value **out)
{
    struct xlcfg_value *v;

    if (++p->nvalues > XLCFG_MAX_VALUES)
        return cfg_error(p, t, -E2BIG, "too many values in the file");
    v = calloc(1, sizeof(*v));
    if (!v)
        return cfg_error(p, t, -ENOMEM, "out of memory");
    v->type = type;
    v->line = t->line;
    *out = v;
    return 0;
}

/* value: atom | '[' nlok valuelist ']'; depth counts enclosing lists. */
static int cfg_parse_value(struct cfg_parser *p, unsigned int depth,
                           struct xlcfg_value **out)
{
    struct xlcfg_value *v = NULL, *item, **items;
    struct cfg_tok t;
    int rc;

    rc = cfg_lex(p, &t);
    if (rc)
        return rc;
    if (t.kind == TOK_STRING || t.kind == TOK_NUMBER) {
        rc = cfg_value_new(p, &t, XLCFG_STRING, &v);
        if (rc)
            return rc;
        v->quoted = t.kind == TOK_STRING;
        if (v->quoted) {
            rc = cfg_dequote(p, &t, &v->str);
        } else {
            v->str = strndup(p->buf + t.start, t.len);
            if (!v->str)
                rc = cfg_error(p, &t, -ENOMEM, "out of memory");
        }
        if (rc) {
            cfg_value_free(v);
            return rc;
        }
        *out = v;
        return 0;
    }
    if (t.kind != TOK_LBRACK)
        return cfg_error(p, &t, -EINVAL,
                         "syntax error, expecting a number, a string or [");
    if (depth >= XLCFG_MAX_DEPTH)
        return cfg_error(p, &t, -E2BIG, "lists nested too deeply");
    rc = cfg_value_new(p, &t, XLCFG_LIST, &v);
    if (rc)
        return rc;
    rc = cfg_skip_newlines(p);
    if (!rc)
        rc = cfg_peek(p, &t);
    if (!rc && t.kind == TOK_RBRACK) {
        p->have_peek = false;
        *out = v;
        return 0;
    }
    /* values: value nlok (',' nlok value nlok)*, then [','  nlok] ']' */
    while (!rc) {
        rc = cfg_parse_value(p, depth + 1, &item);
        if (rc)
            break;
        if (v->nitems >= XLCFG_MAX_LIST) {
            cfg_value_free(item);
            rc = cfg_error(p, &t, -E2BIG, "too many items in a list");
            break;
        }
        items = realloc(v->items, (v->nitems + 1) * sizeof(*items));
        if (!items) {
            cfg_value_free(item);
            rc = cfg_error(p, &t, -ENOMEM, "out of memory");
            break;
        }
        v->items = items;
        v->items[v->nitems++] = item;
        rc = cfg_skip_newlines(p);
        if (!rc)
            rc = cfg_lex(p, &t);
        if (rc)
            break;
        if (t.kind == TOK_RBRACK)
            break;
        if (t.kind != TOK_COMMA) {
            rc = cfg_error(p, &t, -EINVAL, "syntax error, expecting , or ]");
            break;
        }
        rc = cfg_skip_newlines(p);
        if (!rc)
            rc = cfg_peek(p, &t);
        if (!rc && t.kind == TOK_RBRACK) {
            p->have_peek = false;
            break;
        }
    }
    if (rc) {
        cfg_value_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* xlu__cfg_concat_vals: prev += add, into add; prev is consumed. */
static int cfg_concat(struct cfg_parser *p, const struct cfg_tok *t,
                      struct xlcfg_value *prev, struct xlcfg_value *add)
{
    if (prev->type != add->type)
        return cfg_error(p, t, -EINVAL,
                         "can't add [list] to \"string\" or vice versa");
    if (add->type == XLCFG_STRING) {
        size_t a = strlen(prev->str), b = strlen(add->str);
        char *s;

        if (a + b > XLCFG_MAX_STRING)
            return cfg_error(p, t, -E2BIG, "string too long");
        s = malloc(a + b + 1);
        if (!s)
            return cfg_error(p, t, -ENOMEM, "out of memory");
        memcpy(s, prev->str, a);
        memcpy(s + a, add->str, b + 1);
        free(add->str);
        add->str = s;
    } else {
        struct xlcfg_value **items;
        unsigned int n = prev->nitems + add->nitems;

        if (n > XLCFG_MAX_LIST)
            return cfg_error(p, t, -E2BIG, "too many items in a list");
        items = malloc((n ? n : 1) * sizeof(*items));
        if (!items)
            return cfg_error(p, t, -ENOMEM, "out of memory");
        if (prev->nitems)
            memcpy(items, prev->items, prev->nitems * sizeof(*items));
        if (add->nitems)
            memcpy(items + prev->nitems, add->items,
                   add->nitems * sizeof(*items));
        free(add->items);
        add->items = items;
        add->nitems = n;
        prev->nitems = 0; /* its items now belong to add */
    }
    cfg_value_free(prev);
    return 0;
}

static int cfg_store(struct cfg_parser *p, const struct cfg_tok *keytok,
                     bool added, struct xlcfg_value *v)
{
    struct xlcfg *cfg = p->cfg;
    struct xlcfg_setting *s = NULL, *ns;
    unsigned int i;
    int rc;

    for (i = 0; i < cfg->nsettings; i++) {
        if (strlen(cfg->settings[i].key) == keytok->len &&
            !memcmp(cfg->settings[i].key, p->buf + keytok->start,
                    keytok->len)) {
            s = &cfg->settings[i];
            break;
        }
    }
    if (s) {
        if (added) {
            rc = cfg_concat(p, keytok, s->value, v);
            if (rc) {
                cfg_value_free(v);
                return rc;
            }
        } else {
            cfg_value_free(s->value);
        }
        s->value = v;
        s->line = keytok->line;
        s->added = added;
        return 0;
    }
    if (cfg->nsettings >= XLCFG_MAX_SETTINGS) {
        cfg_value_free(v);
        return cfg_error(p, keytok, -E2BIG, "too many settings");
    }
    ns = realloc(cfg->settings, (cfg->nsettings + 1) * sizeof(*ns));
    if (!ns) {
        cfg_value_free(v);
        return cfg_error(p, keytok, -ENOMEM, "out of memory");
    }
    cfg->settings = ns;
    s = &ns[cfg->nsettings];
    s->key = strndup(p->buf + keytok->start, keytok->len);
    if (!s->key) {
        cfg_value_free(v);
        return cfg_error(p, keytok, -ENOMEM, "out of memory");
    }
    s->value = v;
    s->line = keytok->line;
    s->added = added;
    cfg->nsettings++;
    return 0;
}

void xlcfg_free(struct xlcfg *cfg)
{
    unsigned int i;

    if (!cfg)
        return;
    for (i = 0; i < cfg->nsettings; i++) {
        free(cfg->settings[i].key);
        cfg_value_free(cfg->settings[i].value);
    }
    free(cfg->settings);
    free(cfg->source);
    free(cfg);
}

int xlcfg_parse(const char *source, const char *buf, size_t len,
                struct xlcfg **cfgp, struct xlcfg_err *err)
{
    struct cfg_parser p = { .buf = buf, .len = len, .line = 1, .err = err };
    struct xlcfg_value *v;
    struct cfg_tok t, key;
    const char *nul;
    int rc = 0;

    *cfgp = NULL;
    p.src = source ? source : "(config)";
    if (len > XLCFG_MAX_INPUT)
        return xlcfg_err_set(err, -E2BIG, "%s: larger than %u bytes",
                             p.src, XLCFG_MAX_INPUT);
    /* A NUL cannot be part of any token xl accepts sanely; refuse it
     * up front so that every string below is a C string. */
    nul = len ? memchr(buf, '\0', len) : NULL;
    if (nul) {
        const char *s;
        unsigned int line = 1;

        for (s = buf; s < nul; s++)
            line += *s == '\n';
        return xlcfg_err_set(err, -EINVAL,
                             "%s:%u: config parsing error: NUL byte",
                             p.src, line);
    }
    p.cfg = calloc(1, sizeof(*p.cfg));
    if (!p.cfg || !(p.cfg->source = strdup(p.src))) {
        free(p.cfg);
        return xlcfg_err_set(err, -ENOMEM, "out of memory");
    }

    /* file: (stmt)* [assignment]; stmt: assignment endstmt | endstmt */
    for (;;) {
        rc = cfg_lex(&p, &t);
        if (rc || t.kind == TOK_EOF)
            break;
        if (t.kind == TOK_NEWLINE || t.kind == TOK_SEMI)
            continue;
        if (t.kind != TOK_IDENT) {
            rc = cfg_error(&p, &t, -EINVAL,
                           "syntax error, expecting a setting name");
            break;
        }
        key = t;
        rc = cfg_lex(&p, &t);
        if (rc)
            break;
        if (t.kind != TOK_ASSIGN && t.kind != TOK_ADD) {
            rc = cfg_error(&p, &t, -EINVAL, "syntax error, expecting = or +=");
            break;
        }
        rc = cfg_parse_value(&p, 0, &v);
        if (rc)
            break;
        rc = cfg_store(&p, &key, t.kind == TOK_ADD, v);
        if (rc)
            break;
        rc = cfg_lex(&p, &t);
        if (rc || t.kind == TOK_EOF)
            break;
        if (t.kind != TOK_NEWLINE && t.kind != TOK_SEMI) {
            rc = cfg_error(&p, &t, -EINVAL,
                           "syntax error, expecting a newline or ;");
            break;
        }
    }
    if (rc) {
        xlcfg_free(p.cfg);
        return rc;
    }
    *cfgp = p.cfg;
    return 0;
}

const struct xlcfg_setting *xlcfg_find(const struct xlcfg *cfg,
                                       const char *key)
{
    unsigned int i;

    for (i = 0; cfg && i < cfg->nsettings; i++)
        if (!strcmp(cfg->settings[i].key, key))
            return &cfg->settings[i];
    return NULL;
}

static int cfg_find_atom(const struct xlcfg *cfg, const char *key,
                         const struct xlcfg_setting **out,
                         struct xlcfg_err *err)
{
    const struct xlcfg_setting *s = xlcfg_find(cfg, key);

    if (!s)
        return xlcfg_err_set(err, -ENOENT, "%s: no `%s' setting",
                             cfg->source, key);
    if (s->value->type != XLCFG_STRING)
        return xlcfg_err_set(err, -EINVAL,
                             "%s:%u: parameter `%s' is a list but should "
                             "be a single value",
                             cfg->source, s->line, key);
    *out = s;
    return 0;
}

int xlcfg_get_string(const struct xlcfg *cfg, const char *key,
                     const char **out, struct xlcfg_err *err)
{
    const struct xlcfg_setting *s = NULL;
    int rc = cfg_find_atom(cfg, key, &s, err);

    if (!rc)
        *out = s->value->str;
    return rc;
}

int xlcfg_get_long(const struct xlcfg *cfg, const char *key, long min,
                   long max, long *out, struct xlcfg_err *err)
{
    const struct xlcfg_setting *s = NULL;
    char *ep;
    long l;
    int rc = cfg_find_atom(cfg, key, &s, err);

    if (rc)
        return rc;
    if (s->added)
        return xlcfg_err_set(err, -EINVAL,
                             "%s:%u: can't use += with numbers for "
                             "parameter `%s'",
                             cfg->source, s->line, key);
    errno = 0;
    l = strtol(s->value->str, &ep, 0);
    if (errno || *ep || ep == s->value->str)
        return xlcfg_err_set(err, -EINVAL,
                             "%s:%u: parameter `%s' is not a valid number",
                             cfg->source, s->line, key);
    if (l < min || l > max)
        return xlcfg_err_set(err, -EINVAL,
                             "%s:%u: parameter `%s' is out of range "
                             "[%ld, %ld]",
                             cfg->source, s->line, key, min, max);
    *out = l;
    return 0;
}

int xlcfg_get_bool(const struct xlcfg *cfg, const char *key, bool *out,
                   struct xlcfg_err *err)
{
    long l;
    int rc = xlcfg_get_long(cfg, key, LONG_MIN, LONG_MAX, &l, err);

    if (!rc)
        *out = l != 0;
    return rc;
}

int xlcfg_get_list(const struct xlcfg *cfg, const char *key,
                   const struct xlcfg_value **list, struct xlcfg_err *err)
{
    const struct xlcfg_setting *s = xlcfg_find(cfg, key);

    if (!s)
        return xlcfg_err_set(err, -ENOENT, "%s: no `%s' setting",
                             cfg->source, key);
    if (s->value->type != XLCFG_LIST)
        return xlcfg_err_set(err, -EINVAL,
                             "%s:%u: parameter `%s' is a single value but "
                             "should be a list",
                             cfg->source, s->line, key);
    *list = s->value;
    return 0;
}

/* ====================================================== disk specs */

/*
 * The rules of libxlu_disk_l.l, in order.  Rules with trailing context
 * (r/s in flex) match head + context but consume only the head.
 */
enum disk_rule {
    DR_BLANK,        /* [ \t\n]+/([^ \t\n].*)? */
    DR_FORMAT,       /* format=[^,]*,? */
    DR_CDROM,        /* cdrom,? */
    DR_DEVTYPE_CDROM,
    DR_DEVTYPE_DISK,
    DR_DEVTYPE_BAD,  /* devtype=[^,]*,? */
    DR_ACCESS,
    DR_BACKEND,
    DR_BACKENDTYPE,
    DR_SPECIFICATION,
    DR_VDEV,
    DR_SCRIPT,
    DR_DIRECT_IO_SAFE,
    DR_DISCARD,
    DR_NO_DISCARD,
    DR_COLO,
    DR_NO_COLO,
    DR_COLO_HOST,
    DR_COLO_PORT,
    DR_COLO_EXPORT,
    DR_ACTIVE_DISK,
    DR_HIDDEN_DISK,
    DR_TRUSTED,
    DR_UNTRUSTED,
    DR_TARGET,       /* target=.* */
    DR_UNKNOWN_KEY,  /* [a-z][-a-z0-9]*=[^,],? */
    DR_FORMAT_PREFIX, /* (raw|qcow2?|vhd):/.* */
    DR_SCRIPT_PREFIX, /* (iscsi|e?nbd|drbd):/.* */
    DR_TAPDISK,      /* tapdisk:/.* */
    DR_TAP,          /* tap2?:/.* */
    DR_AIO,
    DR_IOEMU,
    DR_FILE,
    DR_PHY,
    DR_BAD_PREFIX,   /* [a-z][a-z0-9]*:/([^a-z0-9].*)? */
    DR_POSITIONAL,   /* [^=,]*,|[^=,]+,? */
    DR_ANY,          /* . (then <LEXERR>.*) */
    DR_COUNT,
};

/* "keyword" or "keyword=" rules: the text, and whether a value follows. */
static const struct {
    enum disk_rule rule;
    const char *kw;
    bool value; /* kw ends in '=' and takes [^,]* */
} disk_kw[] = {
    { DR_FORMAT, "format=", true },
    { DR_CDROM, "cdrom", false },
    { DR_DEVTYPE_CDROM, "devtype=cdrom", false },
    { DR_DEVTYPE_DISK, "devtype=disk", false },
    { DR_DEVTYPE_BAD, "devtype=", true },
    { DR_ACCESS, "access=", true },
    { DR_BACKEND, "backend=", true },
    { DR_BACKENDTYPE, "backendtype=", true },
    { DR_SPECIFICATION, "specification=", true },
    { DR_VDEV, "vdev=", true },
    { DR_SCRIPT, "script=", true },
    { DR_DIRECT_IO_SAFE, "direct-io-safe", false },
    { DR_DISCARD, "discard", false },
    { DR_NO_DISCARD, "no-discard", false },
    { DR_COLO, "colo", false },
    { DR_NO_COLO, "no-colo", false },
    { DR_COLO_HOST, "colo-host=", true },
    { DR_COLO_PORT, "colo-port=", true },
    { DR_COLO_EXPORT, "colo-export=", true },
    { DR_ACTIVE_DISK, "active-disk=", true },
    { DR_HIDDEN_DISK, "hidden-disk=", true },
    { DR_TRUSTED, "trusted", false },
    { DR_UNTRUSTED, "untrusted", false },
};

/* Deprecated "prefix:" rules, whose trailing context is the whole line. */
static const struct {
    enum disk_rule rule;
    const char *prefix;
} disk_prefix[] = {
    { DR_FORMAT_PREFIX, "raw:" },   { DR_FORMAT_PREFIX, "qcow:" },
    { DR_FORMAT_PREFIX, "qcow2:" }, { DR_FORMAT_PREFIX, "vhd:" },
    { DR_SCRIPT_PREFIX, "iscsi:" }, { DR_SCRIPT_PREFIX, "nbd:" },
    { DR_SCRIPT_PREFIX, "enbd:" },  { DR_SCRIPT_PREFIX, "drbd:" },
    { DR_TAPDISK, "tapdisk:" },     { DR_TAP, "tap:" },
    { DR_TAP, "tap2:" },            { DR_AIO, "aio:" },
    { DR_IOEMU, "ioemu:" },         { DR_FILE, "file:" },
    { DR_PHY, "phy:" },
};

struct disk_ctx {
    struct xlcfg_disk *disk;
    bool had_depr_prefix; /* both persist across the strings of a spec */
    bool access_set;
    bool failed;
    const char *spec;     /* the string being lexed, for messages */
    struct xlcfg_err *err;
};

/* xlu__disk_err; only the first error is kept (xl prints them all, but
 * the first already decides the outcome). */
static void disk_err(struct disk_ctx *dc, const char *near,
                     const char *message)
{
    char n[256], s[256];

    if (dc->failed)
        return;
    dc->failed = true;
    xlcfg_quote(s, sizeof(s), dc->spec, strlen(dc->spec));
    if (near) {
        xlcfg_quote(n, sizeof(n), near, strlen(near));
        xlcfg_err_set(dc->err, -EINVAL,
                      "config parsing error in disk specification: %s: "
                      "near `%s' in `%s'",
                      message, n, s);
    } else {
        xlcfg_err_set(dc->err, -EINVAL,
                      "config parsing error in disk specification: %s in "
                      "`%s'",
                      message, s);
    }
}

static bool disk_is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool disk_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Bytes up to (not including) the next newline: flex's `.*`. */
static size_t disk_line(const char *s)
{
    return strcspn(s, "\n");
}

/*
 * Length of rule's match at s (0: no match) and, through head, how much
 * of it is consumed.
 */
static size_t disk_rule_match(enum disk_rule rule, const char *s,
                              size_t *head)
{
    size_t i, n = 0;

    *head = 0;
    switch (rule) {
    case DR_BLANK:
        i = strspn(s, " \t\n");
        if (!i)
            return 0;
        *head = i;
        /* The context is empty or [^ \t\n] then the rest of its line. */
        return s[i] ? i + 1 + disk_line(s + i + 1) : i;
    case DR_TARGET:
        if (strncmp(s, "target=", 7))
            return 0;
        n = 7 + disk_line(s + 7);
        break;
    case DR_UNKNOWN_KEY:
        if (!disk_is_lower(s[0]))
            return 0;
        for (i = 1; disk_is_lower(s[i]) || disk_is_digit(s[i]) ||
                    s[i] == '-';
             i++)
            ;
        if (s[i] != '=' || !s[i + 1] || s[i + 1] == ',')
            return 0;
        n = i + 2 + (s[i + 2] == ',');
        break;
    case DR_BAD_PREFIX:
        if (!disk_is_lower(s[0]))
            return 0;
        for (i = 1; disk_is_lower(s[i]) || disk_is_digit(s[i]); i++)
            ;
        if (s[i] != ':')
            return 0;
        *head = i + 1;
        if (!s[i + 1] || disk_is_lower(s[i + 1]) || disk_is_digit(s[i + 1]))
            return i + 1;
        return i + 2 + disk_line(s + i + 2);
    case DR_POSITIONAL:
        i = strcspn(s, "=,");
        if (s[i] == ',')
            n = i + 1;
        else
            n = i;
        break;
    case DR_ANY:
        n = s[0] && s[0] != '\n';
        break;
    default:
        for (i = 0; i < sizeof(disk_kw) / sizeof(disk_kw[0]); i++) {
            size_t kl;

            if (disk_kw[i].rule != rule)
                continue;
            kl = strlen(disk_kw[i].kw);
            if (strncmp(s, disk_kw[i].kw, kl))
                return 0;
            n = kl;
            if (disk_kw[i].value)
                n += strcspn(s + n, ",");
            n += s[n] == ',';
            *head = n;
            return n;
        }
        for (i = 0; i < sizeof(disk_prefix) / sizeof(disk_prefix[0]); i++) {
            size_t pl = strlen(disk_prefix[i].prefix);

            if (disk_prefix[i].rule != rule ||
                strncmp(s, disk_prefix[i].prefix, pl))
                continue;
            *head = pl;
            return pl + disk_line(s + pl);
        }
        return 0;
    }
    *head = n;
    return n;
}

/* flex: the longest match wins, the earliest rule on a tie. */
static enum disk_rule disk_next(const char *s, size_t *consumed)
{
    enum disk_rule best = DR_COUNT, r;
    size_t best_len = 0, len, head;

    *consumed = 0;
    for (r = 0; r < DR_COUNT; r++) {
        len = disk_rule_match(r, s, &head);
        if (len > best_len) {
            best = r;
            best_len = len;
            *consumed = head;
        }
    }
    return best;
}

/* savestring: a string may be set once, except over an empty one. */
static void disk_savestring(struct disk_ctx *dc, const char *respecified,
                            char **update, const char *value)
{
    char *v;

    if (*update && **update) {
        disk_err(dc, value, respecified);
        return;
    }
    v = strdup(value);
    if (!v) {
        disk_err(dc, NULL, "out of memory");
        return;
    }
    free(*update);
    *update = v;
}

static void disk_setaccess(struct disk_ctx *dc, const char *s)
{
    if (!strcmp(s, "r") || !strcmp(s, "ro"))
        dc->disk->readwrite = false;
    else if (!strcmp(s, "rw") || !strcmp(s, "w") || !strcmp(s, ""))
        dc->disk->readwrite = true;
    else
        disk_err(dc, s, "unknown value for access");
}

/* DSET: an enum may be re-set only to the same value. */
#define DISK_DSET(dc, member, val, str, name)                              \
    do {                                                                   \
        if ((dc)->disk->member != 0 && (dc)->disk->member != (val))        \
            disk_err((dc), (str), name " respecified");                    \
        else                                                               \
            (dc)->disk->member = (val);                                    \
    } while (0)

static void disk_setformat(struct disk_ctx *dc, const char *s)
{
    static const struct {
        const char *name;
        enum xlcfg_disk_format fmt;
    } f[] = {
        { "", XLCFG_FORMAT_RAW },       { "raw", XLCFG_FORMAT_RAW },
        { "qcow", XLCFG_FORMAT_QCOW },  { "qcow2", XLCFG_FORMAT_QCOW2 },
        { "vhd", XLCFG_FORMAT_VHD },    { "empty", XLCFG_FORMAT_EMPTY },
        { "qed", XLCFG_FORMAT_QED },
    };
    size_t i;

    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (!strcmp(s, f[i].name)) {
            DISK_DSET(dc, format, f[i].fmt, s, "format");
            return;
        }
    }
    disk_err(dc, s, "unknown value for format");
}

static void disk_setbackendtype(struct disk_ctx *dc, const char *s)
{
    if (!strcmp(s, "phy"))
        DISK_DSET(dc, backendtype, XLCFG_BACKEND_PHY, s, "backend");
    else if (!strcmp(s, "tap"))
        DISK_DSET(dc, backendtype, XLCFG_BACKEND_TAP, s, "backend");
    else if (!strcmp(s, "qdisk"))
        DISK_DSET(dc, backendtype, XLCFG_BACKEND_QDISK, s, "backend");
    else if (!strcmp(s, "standalone"))
        DISK_DSET(dc, backendtype, XLCFG_BACKEND_STANDALONE, s, "backend");
    else
        disk_err(dc, s, "unknown value for backendtype");
}

static void disk_setspecification(struct disk_ctx *dc, const char *s)
{
    if (!strcmp(s, "xen"))
        DISK_DSET(dc, specification, XLCFG_SPEC_XEN, s, "specification");
    else if (!strcmp(s, "virtio"))
        DISK_DSET(dc, specification, XLCFG_SPEC_VIRTIO, s, "specification");
    else
        disk_err(dc, s, "unknown value for specification");
}

/* vdev_and_devtype: "<vdev>:<devtype>" (split at the last ':'). */
static bool disk_vdev_and_devtype(struct disk_ctx *dc, char *s)
{
    char *colon = strrchr(s, ':');

    if (!colon)
        return false;
    *colon++ = '\0';
    disk_savestring(dc, "vdev respecified", &dc->disk->vdev, s);
    if (!strcmp(colon, "cdrom"))
        dc->disk->is_cdrom = true;
    else if (!strcmp(colon, "disk"))
        dc->disk->is_cdrom = false;
    else
        disk_err(dc, colon, "unknown deprecated type");
    return true;
}

static void disk_positional(struct disk_ctx *dc, char *tok)
{
    struct xlcfg_disk *d = dc->disk;

    if (!d->target) {
        disk_savestring(dc, "target respecified", &d->target, tok);
    } else if (!dc->had_depr_prefix && d->format == XLCFG_FORMAT_UNKNOWN) {
        if (!*d->target && disk_vdev_and_devtype(dc, tok))
            d->format = XLCFG_FORMAT_EMPTY;
        else
            disk_setformat(dc, tok);
    } else if (!d->vdev) {
        if (!disk_vdev_and_devtype(dc, tok))
            disk_savestring(dc, "vdev respecified", &d->vdev, tok);
    } else if (!dc->access_set) {
        dc->access_set = true;
        disk_setaccess(dc, tok);
    } else {
        disk_err(dc, tok, "too many positional parameters");
    }
}

/* Runs one rule's action on tok (its consumed text, NUL-terminated). */
static void disk_action(struct disk_ctx *dc, enum disk_rule rule, char *tok,
                        size_t len, const char *rest)
{
    struct xlcfg_disk *d = dc->disk;
    char *val = strchr(tok, '=');
    char script[32];
    long port;

    /* STRIP(','), as every action that looks at its text does first. */
    if (rule != DR_DEVTYPE_BAD && rule != DR_UNKNOWN_KEY && len &&
        tok[len - 1] == ',')
        tok[--len] = '\0';
    val = val ? val + 1 : NULL;
    switch (rule) {
    case DR_BLANK: break;
    case DR_FORMAT: disk_setformat(dc, val); break;
    case DR_CDROM:
    case DR_DEVTYPE_CDROM: d->is_cdrom = true; break;
    case DR_DEVTYPE_DISK: d->is_cdrom = false; break;
    case DR_DEVTYPE_BAD: disk_err(dc, tok, "unknown value for type"); break;
    case DR_ACCESS: disk_setaccess(dc, val); break;
    case DR_BACKEND:
        disk_savestring(dc, "backend respecified", &d->backend_domname, val);
        break;
    case DR_BACKENDTYPE: disk_setbackendtype(dc, val); break;
    case DR_SPECIFICATION: disk_setspecification(dc, val); break;
    case DR_VDEV:
        disk_savestring(dc, "vdev respecified", &d->vdev, val);
        break;
    case DR_SCRIPT:
        disk_savestring(dc, "script respecified", &d->script, val);
        break;
    case DR_DIRECT_IO_SAFE: d->direct_io_safe = true; break;
    case DR_DISCARD: d->discard = XLCFG_TRUE; break;
    case DR_NO_DISCARD: d->discard = XLCFG_FALSE; break;
    case DR_COLO: d->colo = XLCFG_TRUE; break;
    case DR_NO_COLO: d->colo = XLCFG_FALSE; break;
    case DR_COLO_HOST:
        disk_savestring(dc, "colo-host respecified", &d->colo_host, val);
        break;
    case DR_COLO_PORT:
        /* atoi(), which is (int)strtol(s, NULL, 10) in glibc. */
        port = strtol(val, NULL, 10);
        if ((int)port)
            d->colo_port = (int)port;
        else
            disk_err(dc, val, "unknown value for colo_port");
        break;
    case DR_COLO_EXPORT:
        disk_savestring(dc, "colo-export respecified", &d->colo_export, val);
        break;
    case DR_ACTIVE_DISK:
        disk_savestring(dc, "active-disk respecified", &d->active_disk, val);
        break;
    case DR_HIDDEN_DISK:
        disk_savestring(dc, "hidden-disk respecified", &d->hidden_disk, val);
        break;
    case DR_TRUSTED: d->trusted = XLCFG_TRUE; break;
    case DR_UNTRUSTED: d->trusted = XLCFG_FALSE; break;
    case DR_TARGET:
        disk_savestring(dc, "target respecified", &d->target, val);
        break;
    case DR_UNKNOWN_KEY: disk_err(dc, tok, "unknown parameter"); break;
    case DR_FORMAT_PREFIX:
        dc->had_depr_prefix = true;
        tok[len - 1] = '\0'; /* STRIP(':') */
        disk_setformat(dc, tok);
        break;
    case DR_SCRIPT_PREFIX:
        dc->had_depr_prefix = true;
        tok[len - 1] = '\0'; /* iscsi, nbd, enbd or drbd */
        snprintf(script, sizeof(script), "block-%.8s", tok);
        disk_savestring(dc, "script respecified", &d->script, script);
        break;
    case DR_TAPDISK:
    case DR_TAP:
    case DR_AIO:
    case DR_IOEMU:
    case DR_FILE:
    case DR_PHY: dc->had_depr_prefix = true; break;
    case DR_BAD_PREFIX:
        disk_err(dc, tok, "unknown deprecated disk prefix");
        break;
    case DR_POSITIONAL: disk_positional(dc, tok); break;
    case DR_ANY:
    case DR_COUNT: {
        /*
         * `.` then <LEXERR>.*: the bad character and the rest of its line
         * make the message.  flex never runs that action at the end of
         * the string, so a bad last character ends the string silently
         * in xl; before a newline xl's scanner jams (exits), which is an
         * error here.
         */
        char bad[XLCFG_DISK_SPEC_MAX + 1];
        size_t n = 1 + disk_line(rest);

        if (!*rest)
            break;
        memcpy(bad, tok, 1);
        memcpy(bad + 1, rest, n - 1);
        bad[n] = '\0';
        disk_err(dc, bad, "bad disk syntax");
        break;
    }
    }
}

static void disk_lex_string(struct disk_ctx *dc, const char *spec)
{
    char tok[XLCFG_DISK_SPEC_MAX + 1];
    const char *s = spec;
    size_t n;

    dc->spec = spec;
    while (*s && !dc->failed) {
        enum disk_rule rule = disk_next(s, &n);

        if (rule == DR_COUNT || !n) { /* cannot happen: `.`/blank match */
            rule = DR_ANY;
            n = 1;
        }
        memcpy(tok, s, n);
        tok[n] = '\0';
        s += n;
        disk_action(dc, rule, tok, n, s);
        /* These rules `return 0` from yylex in xl: lexing stops. */
        if (rule == DR_BAD_PREFIX || rule == DR_ANY)
            break;
    }
}

void xlcfg_disk_free(struct xlcfg_disk *d)
{
    if (!d)
        return;
    free(d->target);
    free(d->vdev);
    free(d->backend_domname);
    free(d->script);
    free(d->colo_host);
    free(d->colo_export);
    free(d->active_disk);
    free(d->hidden_disk);
    memset(d, 0, sizeof(*d));
}

int xlcfg_disk_parse(const char *const *specs, unsigned int n,
                     struct xlcfg_disk *d, struct xlcfg_err *err)
{
    struct disk_ctx dc = { .disk = d, .err = err, .spec = "" };
    unsigned int i;

    memset(d, 0, sizeof(*d));
    d->discard = d->colo = d->trusted = XLCFG_DEFAULT;
    d->readwrite = true;
    if (n > XLCFG_DISK_SPECS_MAX)
        return xlcfg_err_set(err, -E2BIG,
                             "disk specification: more than %u strings",
                             XLCFG_DISK_SPECS_MAX);
    for (i = 0; i < n && !dc.failed; i++) {
        if (!specs[i])
            continue;
        if (strlen(specs[i]) > XLCFG_DISK_SPEC_MAX) {
            xlcfg_disk_free(d);
            return xlcfg_err_set(err, -E2BIG,
                                 "disk specification longer than %u bytes",
                                 XLCFG_DISK_SPEC_MAX);
        }
        disk_lex_string(&dc, specs[i]);
    }
    if (!dc.failed) {
        if (d->format == XLCFG_FORMAT_UNKNOWN)
            d->format = XLCFG_FORMAT_RAW;
        if (d->is_cdrom) {
            d->removable = true;
            d->readwrite = false;
            if (!d->target || !*d->target)
                d->format = XLCFG_FORMAT_EMPTY;
        }
        if (!d->vdev)
            disk_err(&dc, NULL, "no vdev specified");
        else if (!d->target && !d->removable)
            disk_err(&dc, NULL,
                     "no target specified (and device not removable)");
    }
    if (dc.failed) {
        xlcfg_disk_free(d);
        return -EINVAL;
    }
    return 0;
}

bool xlcfg_disk_needs_stat(const struct xlcfg_disk *d, uint32_t be_domid)
{
    return d->format != XLCFG_FORMAT_EMPTY &&
           (d->backendtype == XLCFG_BACKEND_UNKNOWN ||
            d->backendtype == XLCFG_BACKEND_PHY ||
            d->backendtype == XLCFG_BACKEND_STANDALONE) &&
           be_domid == 0 && !d->script;
}

/* disk_try_backend: backend if it fits d, else XLCFG_BACKEND_UNKNOWN. */
static enum xlcfg_disk_backend disk_try_backend(const struct xlcfg_disk *d,
                                                uint32_t be_domid,
                                                mode_t mode,
                                                enum xlcfg_disk_backend b)
{
    bool virtio = d->specification == XLCFG_SPEC_VIRTIO;
    bool phy_ok = S_ISBLK(mode) || S_ISREG(mode); /* libxl__try_phy_backend */

    if (virtio != (b == XLCFG_BACKEND_STANDALONE))
        return XLCFG_BACKEND_UNKNOWN;
    switch (b) {
    case XLCFG_BACKEND_PHY:
        if (d->format != XLCFG_FORMAT_RAW || d->colo == XLCFG_TRUE)
            return XLCFG_BACKEND_UNKNOWN;
        /* A storage driver domain or a script: no local check. */
        if (be_domid != 0 || d->script || phy_ok)
            return b;
        return XLCFG_BACKEND_UNKNOWN;
    case XLCFG_BACKEND_QDISK:
        return d->script ? XLCFG_BACKEND_UNKNOWN : b;
    case XLCFG_BACKEND_STANDALONE:
        if (d->format != XLCFG_FORMAT_RAW || d->script ||
            d->colo == XLCFG_TRUE)
            return XLCFG_BACKEND_UNKNOWN;
        return be_domid != 0 || phy_ok ? b : XLCFG_BACKEND_UNKNOWN;
    default: /* tap: blktap is never available */
        return XLCFG_BACKEND_UNKNOWN;
    }
}

int xlcfg_disk_setdefault(struct xlcfg_disk *d, uint32_t be_domid,
                          mode_t mode, struct xlcfg_err *err)
{
    static const enum xlcfg_disk_backend order[] = {
        XLCFG_BACKEND_PHY, XLCFG_BACKEND_QDISK, XLCFG_BACKEND_TAP,
        XLCFG_BACKEND_STANDALONE,
    };
    enum xlcfg_disk_backend ok = XLCFG_BACKEND_UNKNOWN;
    const char *vdev = d->vdev ? d->vdev : "";
    unsigned int i;

    if (d->discard == XLCFG_DEFAULT)
        d->discard = d->readwrite ? XLCFG_TRUE : XLCFG_FALSE;
    if (d->colo == XLCFG_DEFAULT)
        d->colo = XLCFG_FALSE;
    if (d->trusted == XLCFG_DEFAULT)
        d->trusted = XLCFG_TRUE;
    if (d->specification == XLCFG_SPEC_UNKNOWN)
        d->specification = XLCFG_SPEC_XEN;

    if (d->format == XLCFG_FORMAT_EMPTY) {
        if (!d->is_cdrom)
            return xlcfg_err_set(err, -EINVAL,
                                 "Disk vdev=%.64s is empty but not cdrom",
                                 vdev);
        if (d->target && *d->target)
            return xlcfg_err_set(err, -EINVAL,
                                 "Disk vdev=%.64s is empty but an image has "
                                 "been provided: %.200s",
                                 vdev, d->target);
        mode = 0;
    } else if (!xlcfg_disk_needs_stat(d, be_domid)) {
        mode = 0; /* libxl did not stat: nothing may depend on it */
    }
    if (d->backendtype != XLCFG_BACKEND_UNKNOWN) {
        ok = disk_try_backend(d, be_domid, mode, d->backendtype);
    } else {
        for (i = 0; i < sizeof(order) / sizeof(order[0]) && !ok; i++)
            ok = disk_try_backend(d, be_domid, mode, order[i]);
    }
    if (!ok)
        return xlcfg_err_set(err, -EINVAL,
                             "no suitable backend for disk %.64s", vdev);
    d->backendtype = ok;
    return 0;
}

const char *xlcfg_disk_format_name(enum xlcfg_disk_format f)
{
    switch (f) {
    case XLCFG_FORMAT_QCOW: return "qcow";
    case XLCFG_FORMAT_QCOW2: return "qcow2";
    case XLCFG_FORMAT_VHD: return "vhd";
    case XLCFG_FORMAT_RAW: return "raw";
    case XLCFG_FORMAT_EMPTY: return "empty";
    case XLCFG_FORMAT_QED: return "qed";
    default: return "unknown";
    }
}

const char *xlcfg_disk_qdisk_format(enum xlcfg_disk_format f)
{
    switch (f) {
    case XLCFG_FORMAT_QCOW: return "qcow";
    case XLCFG_FORMAT_QCOW2: return "qcow2";
    case XLCFG_FORMAT_VHD: return "vhd";
    case XLCFG_FORMAT_RAW:
    case XLCFG_FORMAT_EMPTY: return "aio";
    case XLCFG_FORMAT_QED: return "qed";
    default: return NULL;
    }
}

const char *xlcfg_disk_backend_name(enum xlcfg_disk_backend b)
{
    switch (b) {
    case XLCFG_BACKEND_QDISK: return "qdisk";
    case XLCFG_BACKEND_TAP: /* tap is written as phy */
    case XLCFG_BACKEND_PHY: return "phy";
    case XLCFG_BACKEND_STANDALONE: return "standalone";
    default: return NULL;
    }
}

const char *xlcfg_disk_spec_name(enum xlcfg_disk_spec spec)
{
    switch (spec) {
    case XLCFG_SPEC_XEN: return "xen";
    case XLCFG_SPEC_VIRTIO: return "virtio";
    default: return NULL;
    }
}

/* ========================================================== devids */

/*
 * device_virtdisk_matches: prefix, then letters as bijective base 26
 * (a=0, z=25, aa=26), then an optional partition without a leading zero,
 * read with strtoul as libxl does (so its sign and blank quirks apply).
 */
static bool devid_virtdisk_matches(const char *vdev, const char *prefix,
                                   int max_index, int max_part, int *index,
                                   int *part)
{
    size_t tl = strlen(prefix);
    const char *p = vdev + tl;
    char *ep;
    long pl;
    int idx = -1;

    if (strncmp(vdev, prefix, tl))
        return false;
    while (*p >= 'a' && *p <= 'z') {
        idx = (idx + 1) * 26 + (*p++ - 'a');
        if (idx > max_index)
            return false;
    }
    if (!*p) {
        *index = idx;
        *part = 0;
        return true;
    }
    if (*p == '0')
        return false;
    /* libxl stores strtoul's result in a long; keep its wrap-around. */
    pl = (long)strtoul(p, &ep, 10);
    if (pl > max_part || *ep)
        return false;
    *index = idx;
    *part = (int)pl;
    return true;
}

int xlcfg_vdev_to_devid(const char *vdev, uint32_t *devid,
                        struct xlcfg_err *err)
{
    int disk = -1, part = -1, used = -1;
    unsigned long ul;
    char *ep;
    long v = -1;

    if (!vdev || !*vdev)
        return xlcfg_err_set(err, -EINVAL,
                             "Invalid or unsupported virtual disk "
                             "identifier (empty)");
    if (strlen(vdev) > XLCFG_DISK_SPEC_MAX)
        return xlcfg_err_set(err, -EINVAL,
                             "Invalid or unsupported virtual disk "
                             "identifier (too long)");
    if ((sscanf(vdev, "d%ip%i%n", &disk, &part, &used) >= 2 &&
         used >= 0 && (size_t)used == strlen(vdev) && disk < (1 << 20) &&
         part < 256) ||
        devid_virtdisk_matches(vdev, "xvd", (1 << 20) - 1, 255, &disk,
                               &part)) {
        /* libxl would compute a negative devid from these. */
        if (disk >= 0 && part >= 0) {
            if (disk <= 15 && part <= 15)
                v = (202L << 8) | ((long)disk << 4) | part;
            else
                v = (1L << 28) | ((long)disk << 8) | part;
        }
    } else {
        errno = 0;
        ul = strtoul(vdev, &ep, 0);
        if (!errno && !*ep && ul <= INT_MAX) {
            v = (long)ul;
        } else if (devid_virtdisk_matches(vdev, "hd", 3, 63, &disk, &part)) {
            /* "hd" alone has disk -1, which libxl maps (well-defined,
             * positive) to hdb's 832; keep that. */
            if (part >= 0)
                v = ((long)(disk < 2 ? 3 : 22) << 8) |
                    ((long)(disk & 1) << 6) | part;
        } else if (devid_virtdisk_matches(vdev, "sd", 15, 15, &disk, &part)) {
            if (disk >= 0 && part >= 0)
                v = (8L << 8) | ((long)disk << 4) | part;
        }
    }
    if (v < 0) {
        char q[256];

        xlcfg_quote(q, sizeof(q), vdev, strlen(vdev));
        return xlcfg_err_set(err, -EINVAL,
                             "Invalid or unsupported virtual disk identifier "
                             "%s",
                             q);
    }
    *devid = (uint32_t)v;
    return 0;
}

/* ============================================================ vifs */

/* The COLO keys in libxl__set_xenstore_nic's order (xl takes them as
 * colo_<name>=). */
static const char *const vif_colo_names[XLCFG_VIF_NCOLO] = {
    "sock_mirror_id", "sock_mirror_ip", "sock_mirror_port",
    "sock_compare_pri_in_id", "sock_compare_pri_in_ip",
    "sock_compare_pri_in_port", "sock_compare_sec_in_id",
    "sock_compare_sec_in_ip", "sock_compare_sec_in_port",
    "sock_compare_notify_id", "sock_compare_notify_ip",
    "sock_compare_notify_port", "sock_redirector0_id", "sock_redirector0_ip",
    "sock_redirector0_port", "sock_redirector1_id", "sock_redirector1_ip",
    "sock_redirector1_port", "sock_redirector2_id", "sock_redirector2_ip",
    "sock_redirector2_port", "filter_mirror_queue", "filter_mirror_outdev",
    "filter_redirector0_queue", "filter_redirector0_indev",
    "filter_redirector0_outdev", "filter_redirector1_queue",
    "filter_redirector1_indev", "filter_redirector1_outdev",
    "compare_pri_in", "compare_sec_in", "compare_out", "compare_notify_dev",
    "sock_sec_redirector0_id", "sock_sec_redirector0_ip",
    "sock_sec_redirector0_port", "sock_sec_redirector1_id",
    "sock_sec_redirector1_ip", "sock_sec_redirector1_port",
    "filter_sec_redirector0_queue", "filter_sec_redirector0_indev",
    "filter_sec_redirector0_outdev", "filter_sec_redirector1_queue",
    "filter_sec_redirector1_indev", "filter_sec_redirector1_outdev",
    "filter_sec_rewriter0_queue", "checkpoint_host", "checkpoint_port",
};

const char *xlcfg_vif_colo_name(unsigned int i)
{
    return i < XLCFG_VIF_NCOLO ? vif_colo_names[i] : NULL;
}

void xlcfg_vif_init(struct xlcfg_vif *v, int devid)
{
    memset(v, 0, sizeof(*v));
    v->devid = devid;
    v->trusted = XLCFG_DEFAULT;
}

void xlcfg_vif_free(struct xlcfg_vif *v)
{
    unsigned int i;

    if (!v)
        return;
    free(v->backend_domname);
    free(v->model);
    free(v->ip);
    free(v->bridge);
    free(v->ifname);
    free(v->script);
    free(v->gatewaydev);
    free(v->forwarddev);
    for (i = 0; i < XLCFG_VIF_NCOLO; i++)
        free(v->colo[i]);
    memset(v, 0, sizeof(*v));
}

/* A bad item: "invalid vif item `ITEM': why". */
static int vif_bad(struct xlcfg_err *err, int rc, const char *item,
                   const char *why)
{
    char q[256];

    xlcfg_quote(q, sizeof(q), item, strlen(item));
    return xlcfg_err_set(err, rc, "invalid vif item `%s': %s", q, why);
}

/* replace_string(): the last value given wins. */
static int vif_set(char **field, const char *val)
{
    char *s = strdup(val);

    if (!s)
        return -ENOMEM;
    free(*field);
    *field = s;
    return 0;
}

/* What xl's parse_ulong reads, within [0, INT_MAX], digits only. */
static bool vif_uint(const char *s, int *out)
{
    unsigned long v = 0;

    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > INT_MAX)
            return false;
    }
    *out = (int)v;
    return true;
}

/*
 * xl's mac=: six strtoul(16) numbers <= 255, each followed by one
 * separator.  We take 1 or 2 hex digits per byte, ':' between, nothing
 * after: the well-formed part of what xl takes.
 */
static bool vif_mac(const char *s, uint8_t mac[6])
{
    unsigned int i;

    for (i = 0; i < 6; i++) {
        int hi = iovm_hexval(s[0]), lo;

        if (hi < 0)
            return false;
        lo = iovm_hexval(s[1]);
        if (lo >= 0) {
            mac[i] = (uint8_t)(hi << 4 | lo);
            s += 2;
        } else {
            mac[i] = (uint8_t)hi;
            s++;
        }
        if (*s != (i < 5 ? ':' : '\0'))
            return false;
        s++;
    }
    return true;
}

int xlcfg_mac_parse(const char *s, uint8_t mac[6])
{
    /* Six two-digit groups, colons between, nothing after. */
    return iovm_parse_mac(s, mac);
}

/* "^[0-9]+[GMK]?[Bb]/s$" */
static bool rate_bytes_form(const char *s)
{
    size_t n = strspn(s, "0123456789");

    if (!n)
        return false;
    s += n;
    if (*s == 'G' || *s == 'M' || *s == 'K')
        s++;
    return (*s == 'B' || *s == 'b') && !strcmp(s + 1, "/s");
}

/* "^[0-9]+[mu]?s?$" */
static bool rate_interval_form(const char *s)
{
    size_t n = strspn(s, "0123456789");

    if (!n)
        return false;
    s += n;
    if (*s == 'm' || *s == 'u')
        s++;
    if (*s == 's')
        s++;
    return !*s;
}

/* libxlu_vif.c's xlu__vif_err, without the source (the caller adds it). */
static int rate_err(struct xlcfg_err *err, int rc, const char *msg,
                    const char *what)
{
    char q[256];

    xlcfg_quote(q, sizeof(q), what, strlen(what));
    return xlcfg_err_set(err, rc, "config parsing error in vif: %s in `%s'",
                         msg, q);
}

int xlcfg_vif_parse_rate(const char *rate, uint64_t *bytes_per_interval,
                         uint32_t *interval_usecs, struct xlcfg_err *err)
{
    char buf[XLCFG_VIF_SPEC_MAX + 1], *at, *p;
    unsigned long long tmp;
    uint64_t bps;
    uint32_t usecs = 50000; /* 50 ms */

    if (strlen(rate) > XLCFG_VIF_SPEC_MAX)
        return rate_err(err, -EINVAL, "invalid rate", rate);
    strcpy(buf, rate);
    at = strchr(buf, '@');
    if (at)
        *at++ = '\0';
    if (!*buf)
        return rate_err(err, -EINVAL, "no rate specified", rate);

    if (!rate_bytes_form(buf))
        return rate_err(err, -EINVAL, "invalid rate", buf);
    errno = 0;
    tmp = strtoull(buf, &p, 0); /* base 0, as xl: 010 is 8 */
    if (tmp == 0 || tmp > UINT32_MAX || errno == ERANGE)
        return rate_err(err, -EOVERFLOW, "rate overflow", buf);
    if (*p == 'G')
        tmp *= 1000 * 1000 * 1000;
    else if (*p == 'M')
        tmp *= 1000 * 1000;
    else if (*p == 'K')
        tmp *= 1000;
    /* p[1] exists: the form ends in "/s" */
    if (*p == 'b' || p[1] == 'b')
        tmp /= 8;
    bps = tmp;

    if (at) {
        if (!rate_interval_form(at))
            return rate_err(err, -EINVAL, "invalid replenishment interval",
                            at);
        errno = 0;
        tmp = strtoull(at, &p, 0);
        if (tmp == 0 || tmp > UINT32_MAX || errno == ERANGE)
            return rate_err(err, -EOVERFLOW,
                            "replenishment interval overflow", at);
        if (*p == 's' || *p == '\0')
            tmp *= 1000 * 1000;
        else if (*p == 'm')
            tmp *= 1000;
        if (tmp > UINT32_MAX)
            return rate_err(err, -EOVERFLOW,
                            "replenishment interval overflow", at);
        usecs = (uint32_t)tmp;
    }
    if (bps > UINT64_MAX / usecs)
        return rate_err(err, -EOVERFLOW, "rate overflow", rate);
    *bytes_per_interval = bps * usecs / 1000000u;
    *interval_usecs = usecs;
    return 0;
}

/* MATCH_OPTION: item starts with "key="; the value is what follows. */
static const char *vif_match(const char *item, const char *key)
{
    size_t n = strlen(key);

    if (strncmp(item, key, n) || item[n] != '=')
        return NULL;
    return item + n + 1;
}

int xlcfg_vif_parse_item(struct xlcfg_vif *v, const char *item,
                         struct xlcfg_err *err)
{
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {
        { "bridge", offsetof(struct xlcfg_vif, bridge) },
        { "gatewaydev", offsetof(struct xlcfg_vif, gatewaydev) },
        { "ip", offsetof(struct xlcfg_vif, ip) },
        { "script", offsetof(struct xlcfg_vif, script) },
        { "backend", offsetof(struct xlcfg_vif, backend_domname) },
        { "vifname", offsetof(struct xlcfg_vif, ifname) },
        { "model", offsetof(struct xlcfg_vif, model) },
        { "forwarddev", offsetof(struct xlcfg_vif, forwarddev) },
    };
    const char *val;
    unsigned int i;
    char q[256];

    if (strlen(item) > XLCFG_VIF_SPEC_MAX)
        return xlcfg_err_set(err, -E2BIG, "vif item longer than %u bytes",
                             XLCFG_VIF_SPEC_MAX);
    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        val = vif_match(item, strs[i].key);
        if (val) {
            if (vif_set((char **)((char *)v + strs[i].off), val))
                return xlcfg_err_set(err, -ENOMEM, "out of memory");
            return 0;
        }
    }
    if (!strncmp(item, "colo_", 5)) {
        for (i = 0; i < XLCFG_VIF_NCOLO; i++) {
            val = vif_match(item + 5, vif_colo_names[i]);
            if (val) {
                if (vif_set(&v->colo[i], val))
                    return xlcfg_err_set(err, -ENOMEM, "out of memory");
                return 0;
            }
        }
    }
    if ((val = vif_match(item, "type"))) {
        if (!strcmp(val, "vif"))
            v->nictype = XLCFG_NIC_VIF;
        else if (!strcmp(val, "ioemu"))
            v->nictype = XLCFG_NIC_VIF_IOEMU;
        else
            return vif_bad(err, -EINVAL, item, "type is vif or ioemu");
        return 0;
    }
    if ((val = vif_match(item, "mac"))) {
        uint8_t mac[6];

        if (!vif_mac(val, mac))
            return vif_bad(err, -EINVAL, item,
                           "not a MAC address (xx:xx:xx:xx:xx:xx)");
        memcpy(v->mac, mac, sizeof(mac));
        return 0;
    }
    if ((val = vif_match(item, "netdev"))) {
        if (vif_set(&v->gatewaydev, val))
            return xlcfg_err_set(err, -ENOMEM, "out of memory");
        return xlcfg_err_set(err, XLCFG_VIF_WARNING,
                             "the netdev parameter is deprecated, please "
                             "use gatewaydev instead");
    }
    if ((val = vif_match(item, "rate")))
        return xlcfg_vif_parse_rate(val, &v->rate_bytes_per_interval,
                                    &v->rate_interval_usecs, err);
    if (vif_match(item, "accel"))
        return xlcfg_err_set(err, XLCFG_VIF_WARNING,
                             "the accel parameter for vifs is currently not "
                             "supported");
    if ((val = vif_match(item, "devid"))) {
        if (!vif_uint(val, &v->devid))
            return vif_bad(err, -EINVAL, item,
                           "not a number 0..2147483647");
        return 0;
    }
    if ((val = vif_match(item, "mtu"))) {
        if (!vif_uint(val, &v->mtu))
            return vif_bad(err, -EINVAL, item,
                           "not a number 0..2147483647");
        return 0;
    }
    if (!strcmp(item, "trusted")) {
        v->trusted = XLCFG_TRUE;
        return 0;
    }
    if (!strcmp(item, "untrusted")) {
        v->trusted = XLCFG_FALSE;
        return 0;
    }
    xlcfg_quote(q, sizeof(q), item, strlen(item));
    return xlcfg_err_set(err, -ENOENT, "unrecognized argument `%s'", q);
}

int xlcfg_vif_parse(const char *spec, struct xlcfg_vif *v,
                    xlcfg_warn_fn *warn, void *arg, struct xlcfg_err *err)
{
    char buf[XLCFG_VIF_SPEC_MAX + 1], *p, *save = NULL;
    int rc;

    if (strlen(spec) > XLCFG_VIF_SPEC_MAX)
        return xlcfg_err_set(err, -E2BIG, "vif specification longer than "
                             "%u bytes", XLCFG_VIF_SPEC_MAX);
    strcpy(buf, spec);
    for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        rc = xlcfg_vif_parse_item(v, p, err);
        if (rc == XLCFG_VIF_WARNING || rc == -ENOENT) {
            if (warn)
                warn(arg, err->msg);
            continue;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int xlcfg_vif_setdefault(struct xlcfg_vif *v, const uint8_t random[3],
                         struct xlcfg_err *err)
{
    static const uint8_t zero[6];

    if (!v->mtu)
        v->mtu = XLCFG_VIF_MTU_DEFAULT;
    if ((!v->model && vif_set(&v->model, "rtl8139")) ||
        (!v->bridge && vif_set(&v->bridge, "xenbr0")) ||
        (!v->script && vif_set(&v->script, "/etc/xen/scripts/vif-bridge")))
        return xlcfg_err_set(err, -ENOMEM, "out of memory");
    if (!memcmp(v->mac, zero, sizeof(zero))) {
        /* Xen's OUI, locally random: libxl's r[0] & 0x7f. */
        v->mac[0] = 0x00;
        v->mac[1] = 0x16;
        v->mac[2] = 0x3e;
        v->mac[3] = random[0] & 0x7f;
        v->mac[4] = random[1];
        v->mac[5] = random[2];
    }
    if (v->nictype == XLCFG_NIC_VIF_IOEMU)
        return xlcfg_err_set(err, -EINVAL, "trying to create PV or PVH "
                             "guest with an emulated interface");
    v->nictype = XLCFG_NIC_VIF;
    if (v->trusted == XLCFG_DEFAULT)
        v->trusted = XLCFG_TRUE;
    return 0;
}

const char *xlcfg_nic_type_name(enum xlcfg_nic_type type)
{
    switch (type) {
    case XLCFG_NIC_VIF: return "vif";
    case XLCFG_NIC_VIF_IOEMU: return "vif_ioemu";
    default: return NULL;
    }
}
