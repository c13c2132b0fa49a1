/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenstore database with Xen 4.17 xenstored semantics:
 *  - a node is readable/writable by its owner (perms[0].id), by the
 *    privileged toolstack, and by others as perms[1..] or the default
 *    perms[0].perms say;
 *  - a new node inherits its parent's permissions, but an unprivileged
 *    creator becomes its owner;
 *  - creating a node needs write access to the nearest existing ancestor;
 *    a missing node the caller may not know about reads as EACCES;
 *  - transactions see a private copy of every node they touch and fail
 *    with EAGAIN at commit if any of those nodes changed meanwhile
 *    (generation counts, as xenstored_transaction.c);
 *  - quotas for unprivileged domains: nodes owned, entry size, perms per
 *    node, nodes touched per transaction.
 * Everything passed in is untrusted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "xs-store.h"

/*
 * Accounted per entry against max_entry_size, as xenstored's
 * write_node_raw(): sizeof(struct xs_tdb_record_hdr) (generation, three
 * counts, padded to 24 bytes), 8 bytes per permission, data, children.
 */
#define NODE_HEADER_SIZE 24u
#define MAX_DOMID 0xffffu

struct txn_entry {
    char *path;
    struct xs_node *node; /* private copy, NULL when absent/deleted */
    uint64_t gen;         /* global generation at first access */
    bool modified;
    /*
     * Watch to fire at commit, as xenstored's queue_watches(): one event
     * per node, not exact if any change asked for that, with the
     * permissions the node had when first accessed.
     */
    bool fire, fire_exact;
    struct xs_perm *perms;
    uint32_t nperms;
    struct txn_entry *hnext;
    struct txn_entry *lnext; /* first-access order */
};

struct node_table {
    void **buckets;
    unsigned int nbuckets;
    unsigned int count;
};

struct xs_txn {
    struct xs_caller caller;
    struct node_table entries; /* of struct txn_entry, by path */
    struct txn_entry *first, *last;
    unsigned int nentries;
    bool failed; /* out of memory inside the transaction */
    int *delta;  /* per-domain change in owned nodes, MAX_DOMID + 1 */
};

struct xs_store {
    struct node_table nodes; /* of struct xs_node, by name */
    uint64_t gen;
    unsigned int *owned; /* nodes owned per domain */
    struct xs_quota quota;
    xs_fire_fn *fire;
    void *fire_arg;
    struct xs_perm special_intro[1];
    struct xs_perm *special_perms[2];
    uint32_t special_n[2];
};

static const char *const special_names[2] = { "@introduceDomain",
                                              "@releaseDomain" };

/* ---------------------------------------------------------------- */
/* hash table (chained, keyed by path) */

static uint64_t path_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/*
 * Both xs_node and txn_entry start their chain link at a known offset;
 * the table stores them through these accessors.
 */
#define NODE_NEXT(p) (((struct xs_node *)(p))->hnext)
#define NODE_NAME(p) (((struct xs_node *)(p))->name)
#define ENTRY_NEXT(p) (((struct txn_entry *)(p))->hnext)
#define ENTRY_NAME(p) (((struct txn_entry *)(p))->path)

static int table_init(struct node_table *t)
{
    t->nbuckets = 256;
    t->count = 0;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    return t->buckets ? 0 : ENOMEM;
}

static struct xs_node *nodes_find(struct node_table *t, const char *path)
{
    struct xs_node *n = t->buckets[path_hash(path) & (t->nbuckets - 1)];

    for (; n; n = n->hnext)
        if (!strcmp(n->name, path))
            return n;
    return NULL;
}

static void nodes_grow(struct node_table *t)
{
    unsigned int i, nb = t->nbuckets * 2;
    void **b = calloc(nb, sizeof(*b));

    if (!b)
        return; /* keep the smaller table; still correct */
    for (i = 0; i < t->nbuckets; i++) {
        struct xs_node *n = t->buckets[i], *next;

        for (; n; n = next) {
            next = n->hnext;
            n->hnext = b[path_hash(n->name) & (nb - 1)];
            b[path_hash(n->name) & (nb - 1)] = n;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

static void nodes_insert(struct node_table *t, struct xs_node *n)
{
    void **b;

    if (t->count >= t->nbuckets * 2)
        nodes_grow(t);
    b = &t->buckets[path_hash(n->name) & (t->nbuckets - 1)];
    n->hnext = *b;
    *b = n;
    t->count++;
}

static void nodes_remove(struct node_table *t, struct xs_node *n)
{
    struct xs_node **pp =
        (struct xs_node **)&t->buckets[path_hash(n->name) & (t->nbuckets - 1)];

    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == n) {
            *pp = n->hnext;
            t->count--;
            return;
        }
    }
}

static struct txn_entry *entries_find(struct node_table *t, const char *path)
{
    struct txn_entry *e = t->buckets[path_hash(path) & (t->nbuckets - 1)];

    for (; e; e = e->hnext)
        if (!strcmp(e->path, path))
            return e;
    return NULL;
}

static void entries_insert(struct node_table *t, struct txn_entry *e)
{
    void **b = &t->buckets[path_hash(e->path) & (t->nbuckets - 1)];

    /* Transactions are bounded by the per-transaction node quota. */
    e->hnext = *b;
    *b = e;
    t->count++;
}

/* ---------------------------------------------------------------- */
/* nodes */

static void node_free(struct xs_node *n)
{
    if (!n)
        return;
    free(n->name);
    free(n->data);
    free(n->children);
    free(n->perms);
    free(n);
}

static struct xs_node *node_dup(const struct xs_node *src)
{
    struct xs_node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->name = strdup(src->name);
    n->datalen = src->datalen;
    n->childlen = src->childlen;
    n->nperms = src->nperms;
    n->gen = src->gen;
    n->data = malloc(src->datalen + 1);
    n->children = malloc(src->childlen + 1);
    n->perms = malloc(sizeof(*n->perms) * (src->nperms ? src->nperms : 1));
    if (!n->name || !n->data || !n->children || !n->perms) {
        node_free(n);
        return NULL;
    }
    memcpy(n->data, src->data, src->datalen);
    n->data[src->datalen] = '\0';
    memcpy(n->children, src->children, src->childlen);
    n->children[src->childlen] = '\0';
    memcpy(n->perms, src->perms, sizeof(*n->perms) * src->nperms);
    return n;
}

static struct xs_node *node_new(const char *name, const struct xs_perm *perms,
                                uint32_t nperms)
{
    struct xs_node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->name = strdup(name);
    n->data = calloc(1, 1);
    n->children = calloc(1, 1);
    n->perms = malloc(sizeof(*perms) * nperms);
    if (!n->name || !n->data || !n->children || !n->perms) {
        node_free(n);
        return NULL;
    }
    memcpy(n->perms, perms, sizeof(*perms) * nperms);
    n->nperms = nperms;
    return n;
}

static int children_add(struct xs_node *n, const char *child)
{
    size_t len = strlen(child) + 1;
    char *c = realloc(n->children, n->childlen + len + 1);

    if (!c)
        return ENOMEM;
    memcpy(c + n->childlen, child, len);
    n->childlen += len;
    c[n->childlen] = '\0';
    n->children = c;
    return 0;
}

static void children_del(struct xs_node *n, const char *child)
{
    uint32_t i;

    for (i = 0; i < n->childlen; i += strlen(n->children + i) + 1) {
        if (!strcmp(n->children + i, child)) {
            size_t len = strlen(child) + 1;

            memmove(n->children + i, n->children + i + len,
                    n->childlen - i - len);
            n->childlen -= len;
            n->children[n->childlen] = '\0';
            return;
        }
    }
}

/* "/a/b/c" -> "/a/b"; "/a" -> "/".  Returns NULL for "/" or no memory. */
static char *path_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *p;

    if (!slash || !strcmp(path, "/"))
        return NULL;
    if (slash == path)
        return strdup("/");
    p = strndup(path, slash - path);
    return p;
}

/*
 * xenstored's get_parent(), which also copes with malformed names:
 * "/a/b/" -> "/a/b", "@x" -> "/".  NULL only without memory.
 */
static char *any_parent(const char *path)
{
    const char *slash = path[0] ? strrchr(path + 1, '/') : NULL;

    return slash ? strndup(path, slash - path) : strdup("/");
}

static const char *path_base(const char *path)
{
    return strrchr(path, '/') + 1;
}

bool xs_path_valid(const struct xs_store *st, const char *path)
{
    unsigned int domid;
    int off = 0;
    size_t len;
    const char *p;

    if (!path || path[0] != '/')
        return false;
    len = strlen(path);
    if (len > XENSTORE_ABS_PATH_MAX)
        return false;
    if (len > 1 && path[len - 1] == '/')
        return false;
    if (strstr(path, "//"))
        return false;
    for (p = path; *p; p++) {
        char ch = *p;

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' ||
              ch == '_' || ch == '@'))
            return false;
    }
    if (sscanf(path, "/local/domain/%5u/%n", &domid, &off) != 1)
        off = 0;
    if (len > (size_t)off + st->quota.max_path_len)
        return false;
    return true;
}

/* ---------------------------------------------------------------- */
/* permissions */

unsigned int xs_perm_for(const struct xs_caller *c, const struct xs_perm *p,
                         uint32_t n)
{
    uint32_t i;

    if (c->priv || (n && p[0].id == c->domid))
        return XSP_READ | XSP_WRITE | XSP_OWNER;
    for (i = 1; i < n; i++)
        if (p[i].id == c->domid)
            return p[i].perms & (XSP_READ | XSP_WRITE);
    return n ? p[0].perms & (XSP_READ | XSP_WRITE) : 0;
}

int xs_perm_parse(const char *s, struct xs_perm *p)
{
    unsigned long id = 0;
    const char *d;

    switch (s[0]) {
    case 'n': p->perms = XSP_NONE; break;
    case 'r': p->perms = XSP_READ; break;
    case 'w': p->perms = XSP_WRITE; break;
    case 'b': p->perms = XSP_READ | XSP_WRITE; break;
    default: return EINVAL;
    }
    d = s + 1;
    if (!*d)
        return EINVAL;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return EINVAL;
        id = id * 10 + (*d - '0');
        if (id > MAX_DOMID)
            return EINVAL;
    }
    p->id = (uint32_t)id;
    return 0;
}

int xs_perm_print(const struct xs_perm *p, char *buf, unsigned int len)
{
    static const char letters[] = { 'n', 'r', 'w', 'b' };
    int r = snprintf(buf, len, "%c%u", letters[p->perms & 3], p->id);

    return (r < 0 || (unsigned int)r >= len) ? EINVAL : 0;
}

/* ---------------------------------------------------------------- */
/* store */

int xs_store_new(struct xs_store **stp, xs_fire_fn *fire, void *fire_arg)
{
    static const struct xs_perm root_perm = { 0, XSP_NONE };
    struct xs_store *st = calloc(1, sizeof(*st));
    struct xs_node *root = NULL, *tool = NULL, *xsd = NULL;
    unsigned int i;

    if (!st)
        return ENOMEM;
    st->fire = fire;
    st->fire_arg = fire_arg;
    st->quota.nodes_per_domain = 1000;
    st->quota.max_entry_size = 2048;
    st->quota.perms_per_node = 5;
    st->quota.nodes_per_txn = 1024;
    st->quota.max_path_len = XENSTORE_REL_PATH_MAX;
    st->owned = calloc(MAX_DOMID + 1, sizeof(*st->owned));
    if (!st->owned || table_init(&st->nodes))
        goto fail;
    for (i = 0; i < 2; i++) {
        st->special_perms[i] = malloc(sizeof(struct xs_perm));
        if (!st->special_perms[i])
            goto fail;
        st->special_perms[i][0] = root_perm;
        st->special_n[i] = 1;
    }
    /* The tree xenstored starts with: "/", "/tool", "/tool/xenstored". */
    root = node_new("/", &root_perm, 1);
    tool = node_new("/tool", &root_perm, 1);
    xsd = node_new("/tool/xenstored", &root_perm, 1);
    if (!root || !tool || !xsd || children_add(root, "tool") ||
        children_add(tool, "xenstored"))
        goto fail;
    root->gen = ++st->gen;
    tool->gen = ++st->gen;
    xsd->gen = ++st->gen;
    nodes_insert(&st->nodes, root);
    nodes_insert(&st->nodes, tool);
    nodes_insert(&st->nodes, xsd);
    st->owned[0] = 3;
    *stp = st;
    return 0;
fail:
    node_free(root);
    node_free(tool);
    node_free(xsd);
    xs_store_free(st);
    return ENOMEM;
}

void xs_store_free(struct xs_store *st)
{
    unsigned int i;

    if (!st)
        return;
    if (st->nodes.buckets) {
        for (i = 0; i < st->nodes.nbuckets; i++) {
            struct xs_node *n = st->nodes.buckets[i], *next;

            for (; n; n = next) {
                next = n->hnext;
                node_free(n);
            }
        }
    }
    free(st->nodes.buckets);
    free(st->owned);
    free(st->special_perms[0]);
    free(st->special_perms[1]);
    free(st);
}

struct xs_quota *xs_store_quota(struct xs_store *st)
{
    return &st->quota;
}

unsigned int xs_store_count(struct xs_store *st)
{
    return st->nodes.count;
}

unsigned int xs_store_domain_nodes(struct xs_store *st, uint32_t domid)
{
    return domid <= MAX_DOMID ? st->owned[domid] : 0;
}

const struct xs_node *xs_store_lookup(struct xs_store *st, const char *path)
{
    return nodes_find(&st->nodes, path);
}

static int special_index(const char *name)
{
    int i;

    for (i = 0; i < 2; i++)
        if (!strcmp(name, special_names[i]))
            return i;
    return -1;
}

int xs_store_special_perms(struct xs_store *st, const char *name,
                           const struct xs_perm **perms, uint32_t *n)
{
    int i = special_index(name);

    if (i < 0)
        return ENOENT;
    *perms = st->special_perms[i];
    *n = st->special_n[i];
    return 0;
}

static void owned_add(struct xs_store *st, struct xs_txn *txn,
                      const struct xs_node *n, int d)
{
    uint32_t id = n->perms[0].id;

    if (id > MAX_DOMID)
        return;
    if (txn)
        txn->delta[id] += d;
    else
        st->owned[id] += d;
}

/* Would more nodes owned by c->domid exceed its quota? */
static bool over_node_quota(struct xs_store *st, struct xs_txn *txn,
                            const struct xs_caller *c, unsigned int more)
{
    long have;

    if (c->priv || c->domid > MAX_DOMID)
        return false;
    have = (long)st->owned[c->domid] + (txn ? txn->delta[c->domid] : 0);
    return have + more > (long)st->quota.nodes_per_domain;
}

/*
 * Is an entry of this size over the quota for c (write_node_raw())?  In
 * a transaction that fails it, as xenstored's write_node() does.
 */
static bool over_entry_size(const struct xs_store *st, struct xs_txn *txn,
                            const struct xs_caller *c, uint32_t nperms,
                            uint32_t datalen, uint32_t childlen)
{
    uint64_t size = NODE_HEADER_SIZE + (uint64_t)nperms * 8u + datalen +
                    childlen;

    if (c->priv || size < st->quota.max_entry_size)
        return false;
    if (txn)
        txn->failed = true;
    return true;
}

/* ---------------------------------------------------------------- */
/* the view: global store, or a transaction's private copies over it */

/*
 * Returns the node at path as the caller's view sees it (NULL: absent).
 * Inside a transaction the first access records the global generation and
 * takes a private copy.  *err is set on failure (ENOMEM, ENOSPC).
 */
static struct xs_node *view_get(struct xs_store *st, struct xs_txn *txn,
                                const char *path, int *err)
{
    struct xs_node *g = nodes_find(&st->nodes, path);
    struct txn_entry *e;

    *err = 0;
    if (!txn)
        return g;
    e = entries_find(&txn->entries, path);
    if (e)
        return e->node;
    if (!txn->caller.priv && txn->nentries >= st->quota.nodes_per_txn) {
        /* xenstored's access_node() fails the transaction as well. */
        txn->failed = true;
        *err = ENOSPC;
        return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        goto nomem;
    e->path = strdup(path);
    if (!e->path)
        goto nomem;
    e->gen = g ? g->gen : XS_NO_GENERATION;
    if (g) {
        e->node = node_dup(g);
        e->perms = malloc(sizeof(*e->perms) * g->nperms);
        if (!e->node || !e->perms)
            goto nomem;
        memcpy(e->perms, g->perms, sizeof(*e->perms) * g->nperms);
        e->nperms = g->nperms;
    }
    entries_insert(&txn->entries, e);
    if (txn->last)
        txn->last->lnext = e;
    else
        txn->first = e;
    txn->last = e;
    txn->nentries++;
    return e->node;
nomem:
    if (e) {
        node_free(e->node);
        free(e->perms);
        free(e->path);
    }
    free(e);
    txn->failed = true;
    *err = ENOMEM;
    return NULL;
}

/* Marks a node the view returned as changed. */
static void view_touch(struct xs_store *st, struct xs_txn *txn,
                       struct xs_node *n)
{
    if (txn) {
        struct txn_entry *e = entries_find(&txn->entries, n->name);

        e->modified = true;
    }
    n->gen = ++st->gen;
}

/* Puts a new node into the view (the path has been accessed before). */
static void view_insert(struct xs_store *st, struct xs_txn *txn,
                        struct xs_node *n)
{
    n->gen = ++st->gen;
    if (txn) {
        struct txn_entry *e = entries_find(&txn->entries, n->name);

        e->node = n;
        e->modified = true;
    } else {
        nodes_insert(&st->nodes, n);
    }
    owned_add(st, txn, n, 1);
}

/* Removes a node from the view and frees it (globally) or drops the copy. */
static void view_remove(struct xs_store *st, struct xs_txn *txn,
                        struct xs_node *n)
{
    owned_add(st, txn, n, -1);
    if (txn) {
        struct txn_entry *e = entries_find(&txn->entries, n->name);

        e->node = NULL;
        e->modified = true;
        node_free(n);
    } else {
        nodes_remove(&st->nodes, n);
        node_free(n);
    }
}

static void fire(struct xs_store *st, struct xs_txn *txn, const char *path,
                 bool exact, const struct xs_perm *old, uint32_t nold)
{
    struct txn_entry *e;

    if (!txn) {
        if (st->fire)
            st->fire(st->fire_arg, path, exact, old, nold);
        return;
    }
    /*
     * Deferred to the commit, once per node (xenstored's queue_watches());
     * a non-exact event replaces an exact one, not the other way round.
     * Every fired path went through view_get(), so its entry exists.
     */
    e = entries_find(&txn->entries, path);
    if (!e) {
        txn->failed = true;
        return;
    }
    if (!e->fire) {
        e->fire = true;
        e->fire_exact = exact;
    } else if (!exact) {
        e->fire_exact = false;
    }
}

/*
 * Looks up path for an operation needing perm.  On failure returns NULL
 * with *err: ENOENT if the node is missing and the caller could know it
 * (the nearest existing ancestor grants perm), else EACCES.
 */
static struct xs_node *get_node(struct xs_store *st, const struct xs_caller *c,
                                struct xs_txn *txn, const char *path,
                                unsigned int perm, int *err)
{
    struct xs_node *n;
    char *anc, *next;
    bool valid = xs_path_valid(st, path);

    if (valid) {
        n = view_get(st, txn, path, err);
        if (*err)
            return NULL;
        if (n) {
            if ((xs_perm_for(c, n->perms, n->nperms) & perm) != perm) {
                *err = EACCES;
                return NULL;
            }
            return n;
        }
    }
    /*
     * Missing or malformed: may the caller know?  Ask the nearest
     * existing ancestor; xenstored's get_node() runs EINVAL through
     * errno_from_parents() as well.
     */
    *err = valid ? ENOENT : EINVAL;
    anc = any_parent(path);
    while (anc) {
        struct xs_node *a = nodes_find(&st->nodes, anc);
        struct txn_entry *e = txn ? entries_find(&txn->entries, anc) : NULL;

        if (e)
            a = e->node;
        if (a) {
            if (!(xs_perm_for(c, a->perms, a->nperms) & perm))
                *err = EACCES;
            break;
        }
        next = strcmp(anc, "/") ? any_parent(anc) : NULL;
        free(anc);
        anc = next;
    }
    free(anc);
    return NULL;
}

int xs_store_read(struct xs_store *st, const struct xs_caller *c,
                  struct xs_txn *txn, const char *path, const char **data,
                  uint32_t *len)
{
    int err;
    struct xs_node *n = get_node(st, c, txn, path, XSP_READ, &err);

    if (!n)
        return err;
    *data = n->data;
    *len = n->datalen;
    return 0;
}

int xs_store_directory(struct xs_store *st, const struct xs_caller *c,
                       struct xs_txn *txn, const char *path,
                       const char **children, uint32_t *len, uint64_t *gen)
{
    int err;
    struct xs_node *n = get_node(st, c, txn, path, XSP_READ, &err);

    if (!n)
        return err;
    *children = n->children;
    *len = n->childlen;
    if (gen)
        *gen = n->gen;
    return 0;
}

int xs_store_get_perms(struct xs_store *st, const struct xs_caller *c,
                       struct xs_txn *txn, const char *path,
                       const struct xs_perm **perms, uint32_t *n)
{
    int err;
    struct xs_node *node;

    /*
     * In 4.17 the special "@..." names are no nodes: xenstored's
     * do_get_perms() refuses them as malformed (get_node()), so EINVAL,
     * or EACCES for those who may not read "/".
     */
    node = get_node(st, c, txn, path, XSP_READ, &err);
    if (!node)
        return err;
    *perms = node->perms;
    *n = node->nperms;
    return 0;
}

/*
 * Creates path and any missing ancestors (which the caller may write,
 * checked by get_node already), the new node with datalen bytes to come.
 * All or nothing, as xenstored's create_node(): every new node counts
 * against the node quota and every written entry, the existing parent
 * with its longer child list included, against the entry size quota.
 * Returns the new node.
 */
static struct xs_node *create_node(struct xs_store *st,
                                   const struct xs_caller *c,
                                   struct xs_txn *txn, const char *path,
                                   uint32_t datalen, int *err)
{
    char **names = NULL, *cur = strdup(path);
    struct xs_node *parent = NULL, **nodes = NULL, *n = NULL;
    unsigned int levels = 0;
    int i;

    *err = 0;
    if (!cur) {
        *err = ENOMEM;
        return NULL;
    }
    /* Walk up until an existing node is found ("/" always exists). */
    for (;;) {
        char **nn = realloc(names, (levels + 1) * sizeof(*names));
        char *up;

        if (!nn) {
            free(cur);
            *err = ENOMEM;
            goto out;
        }
        names = nn;
        names[levels++] = cur;
        up = path_parent(cur);
        if (!up) {
            *err = strcmp(cur, "/") ? ENOMEM : EINVAL;
            goto out;
        }
        parent = view_get(st, txn, up, err);
        if (*err || parent) {
            free(up);
            if (*err)
                goto out;
            break;
        }
        cur = up;
    }

    /* Check before changing anything: a refusal leaves no trace. */
    if (over_node_quota(st, txn, c, levels) ||
        over_entry_size(st, txn, c, parent->nperms, parent->datalen,
                        parent->childlen +
                            strlen(path_base(names[levels - 1])) + 1) ||
        over_entry_size(st, txn, c, parent->nperms, datalen, 0)) {
        *err = ENOSPC;
        goto out;
    }
    for (i = 1; i < (int)levels; i++) {
        if (over_entry_size(st, txn, c, parent->nperms, 0,
                            strlen(path_base(names[i - 1])) + 1)) {
            *err = ENOSPC;
            goto out;
        }
    }

    /* Build the missing nodes, each with its one child. */
    nodes = calloc(levels, sizeof(*nodes));
    if (!nodes) {
        *err = ENOMEM;
        goto out;
    }
    for (i = 0; i < (int)levels; i++) {
        nodes[i] = node_new(names[i], parent->perms, parent->nperms);
        if (!nodes[i] ||
            (i && children_add(nodes[i], path_base(names[i - 1])))) {
            *err = ENOMEM;
            goto out;
        }
        /* Unprivileged domains own what they create. */
        if (!c->priv)
            nodes[i]->perms[0].id = c->domid;
    }
    if (children_add(parent, path_base(names[levels - 1]))) {
        *err = ENOMEM;
        goto out;
    }

    /* Link them in. */
    n = nodes[0];
    view_touch(st, txn, parent);
    for (i = levels - 1; i >= 0; i--) {
        view_insert(st, txn, nodes[i]);
        nodes[i] = NULL;
    }
out:
    for (i = 0; i < (int)levels; i++) {
        if (nodes && nodes[i])
            node_free(nodes[i]);
        free(names[i]);
    }
    free(nodes);
    free(names);
    return *err ? NULL : n;
}

static int write_node(struct xs_store *st, const struct xs_caller *c,
                      struct xs_txn *txn, const char *path, const char *data,
                      uint32_t len, bool mkdir)
{
    int err;
    struct xs_node *n = get_node(st, c, txn, path, XSP_WRITE, &err);
    char *copy;

    if (!n) {
        if (err != ENOENT)
            return err;
        n = create_node(st, c, txn, path, len, &err);
        if (!n)
            return err;
    } else if (mkdir) {
        return 0; /* existing node: nothing to do, no watch */
    } else if (over_entry_size(st, txn, c, n->nperms, len, n->childlen)) {
        return ENOSPC;
    }
    if (!mkdir) {
        copy = malloc(len + 1);
        if (!copy)
            return ENOMEM;
        memcpy(copy, data, len);
        copy[len] = '\0';
        free(n->data);
        n->data = copy;
        n->datalen = len;
        view_touch(st, txn, n);
    }
    fire(st, txn, path, false, NULL, 0);
    return 0;
}

int xs_store_write(struct xs_store *st, const struct xs_caller *c,
                   struct xs_txn *txn, const char *path, const char *data,
                   uint32_t len)
{
    return write_node(st, c, txn, path, data, len, false);
}

int xs_store_mkdir(struct xs_store *st, const struct xs_caller *c,
                   struct xs_txn *txn, const char *path)
{
    return write_node(st, c, txn, path, "", 0, true);
}

/*
 * Removes n and its subtree, children first, firing exact watches on each
 * descendant and a normal watch on the root of the removal.  Depth is
 * bounded by the path length limit, not by the peer.
 */
static int rm_subtree(struct xs_store *st, struct xs_txn *txn,
                      struct xs_node *n, bool root)
{
    int err = 0;

    while (n->childlen && !err) {
        /* Always remove the first child; the list shrinks each time. */
        size_t plen = strlen(n->name), clen = strlen(n->children);
        char *cpath = malloc(plen + clen + 2);
        struct xs_node *child;

        if (!cpath)
            return ENOMEM;
        sprintf(cpath, "%s/%s", strcmp(n->name, "/") ? n->name : "",
                n->children);
        child = view_get(st, txn, cpath, &err);
        free(cpath);
        if (!err && child)
            err = rm_subtree(st, txn, child, false);
        if (!err)
            children_del(n, n->children);
    }
    if (err)
        return err;
    fire(st, txn, n->name, !root, n->perms, n->nperms);
    view_remove(st, txn, n);
    return 0;
}

int xs_store_rm(struct xs_store *st, const struct xs_caller *c,
                struct xs_txn *txn, const char *path)
{
    int err;
    struct xs_node *n = get_node(st, c, txn, path, XSP_WRITE, &err), *parent;
    char *pname;

    if (!n) {
        /* Removing a missing node is fine if its parent exists. */
        if (err == ENOENT) {
            pname = path_parent(path);
            if (!pname)
                return EINVAL;
            parent = view_get(st, txn, pname, &err);
            free(pname);
            if (err)
                return err;
            return parent ? 0 : ENOENT;
        }
        return err;
    }
    if (!strcmp(path, "/"))
        return EINVAL;
    pname = path_parent(path);
    if (!pname)
        return ENOMEM;
    parent = view_get(st, txn, pname, &err);
    free(pname);
    if (err)
        return err;
    err = rm_subtree(st, txn, n, true);
    if (err)
        return err;
    if (parent) {
        children_del(parent, path_base(path));
        view_touch(st, txn, parent);
    }
    return 0;
}

int xs_store_set_perms(struct xs_store *st, const struct xs_caller *c,
                       struct xs_txn *txn, const char *path,
                       const struct xs_perm *perms, uint32_t np)
{
    struct xs_perm *copy, *old;
    struct xs_node *n;
    uint32_t nold;
    int err, si;

    if (np < 1)
        return EINVAL;
    if (!c->priv && np > st->quota.perms_per_node)
        return ENOSPC;
    copy = malloc(sizeof(*perms) * np);
    if (!copy)
        return ENOMEM;
    memcpy(copy, perms, sizeof(*perms) * np);

    if (path[0] == '@') {
        si = special_index(path);
        if (si < 0) {
            free(copy);
            return EINVAL;
        }
        if ((xs_perm_for(c, st->special_perms[si], st->special_n[si]) &
             (XSP_WRITE | XSP_OWNER)) != (XSP_WRITE | XSP_OWNER)) {
            free(copy);
            return EACCES;
        }
        free(st->special_perms[si]);
        st->special_perms[si] = copy;
        st->special_n[si] = np;
        return 0;
    }
    n = get_node(st, c, txn, path, XSP_WRITE | XSP_OWNER, &err);
    if (!n) {
        free(copy);
        return err;
    }
    /* Unprivileged domains may not give their nodes away. */
    if (!c->priv && perms[0].id != n->perms[0].id) {
        free(copy);
        return EPERM;
    }
    /* The node is rewritten with its new permissions: it must fit. */
    if (over_entry_size(st, txn, c, np, n->datalen, n->childlen)) {
        free(copy);
        return ENOSPC;
    }
    old = n->perms;
    nold = n->nperms;
    owned_add(st, txn, n, -1);
    n->perms = copy;
    n->nperms = np;
    owned_add(st, txn, n, 1);
    view_touch(st, txn, n);
    fire(st, txn, path, false, old, nold);
    free(old);
    return 0;
}

/* ---------------------------------------------------------------- */
/* transactions */

int xs_txn_start(struct xs_store *st, const struct xs_caller *c,
                 struct xs_txn **txnp)
{
    struct xs_txn *txn = calloc(1, sizeof(*txn));

    if (!txn)
        return ENOMEM;
    txn->caller = *c;
    txn->delta = calloc(MAX_DOMID + 1, sizeof(*txn->delta));
    if (!txn->delta || table_init(&txn->entries)) {
        free(txn->delta);
        free(txn->entries.buckets);
        free(txn);
        return ENOMEM;
    }
    *txnp = txn;
    return 0;
}

static void txn_free(struct xs_txn *txn)
{
    struct txn_entry *e, *en;

    for (e = txn->first; e; e = en) {
        en = e->lnext;
        node_free(e->node);
        free(e->perms);
        free(e->path);
        free(e);
    }
    free(txn->entries.buckets);
    free(txn->delta);
    free(txn);
}

static int txn_check(struct xs_store *st, struct xs_txn *txn)
{
    struct txn_entry *e;
    unsigned int id;

    for (e = txn->first; e; e = e->lnext) {
        struct xs_node *g = nodes_find(&st->nodes, e->path);
        uint64_t gen = g ? g->gen : XS_NO_GENERATION;

        if (gen != e->gen)
            return EAGAIN;
    }
    if (txn->caller.priv)
        return 0;
    /* Node quota for what the transaction created. */
    for (id = 0; id <= MAX_DOMID; id++)
        if (txn->delta[id] > 0 &&
            st->owned[id] + txn->delta[id] > st->quota.nodes_per_domain)
            return ENOSPC;
    return 0;
}

int xs_txn_end(struct xs_store *st, struct xs_txn *txn, bool commit)
{
    struct txn_entry *e;
    unsigned int id;
    int err = 0;

    if (!commit)
        goto out;
    if (txn->failed) {
        err = ENOMEM;
        goto out;
    }
    err = txn_check(st, txn);
    if (err)
        goto out;
    /* Apply: every modified entry replaces (or removes) the global node. */
    for (e = txn->first; e; e = e->lnext) {
        struct xs_node *g;

        if (!e->modified)
            continue;
        g = nodes_find(&st->nodes, e->path);
        if (g) {
            nodes_remove(&st->nodes, g);
            node_free(g);
        }
        if (e->node) {
            e->node->gen = ++st->gen;
            nodes_insert(&st->nodes, e->node);
            e->node = NULL;
        }
    }
    for (id = 0; id <= MAX_DOMID; id++)
        st->owned[id] += txn->delta[id];
    /* As finalize_transaction(): in first-access order. */
    for (e = txn->first; e; e = e->lnext)
        if (e->fire && st->fire)
            st->fire(st->fire_arg, e->path, e->fire_exact, e->perms,
                     e->nperms);
out:
    txn_free(txn);
    return err;
}

/* ---------------------------------------------------------------- */

void xs_store_domain_gone(struct xs_store *st, uint32_t domid)
{
    static const struct xs_caller tool = { 0, true };
    char **doomed = NULL;
    unsigned int i, n = 0, cap = 0;

    /*
     * As xenstored's domain_tree_remove(): every node the dead domain
     * still owns is removed (with its subtree, firing watches).  Collect
     * the top-most such nodes first; removal changes the table.
     */
    for (i = 0; i < st->nodes.nbuckets; i++) {
        struct xs_node *nd = st->nodes.buckets[i];

        for (; nd; nd = nd->hnext) {
            char *parent;
            const struct xs_node *pn;

            if (nd->perms[0].id != domid || !strcmp(nd->name, "/"))
                continue;
            parent = path_parent(nd->name);
            pn = parent ? nodes_find(&st->nodes, parent) : NULL;
            free(parent);
            if (pn && pn->perms[0].id == domid)
                continue; /* goes with its parent */
            if (n == cap) {
                char **d = realloc(doomed, (cap ? cap * 2 : 16) * sizeof(*d));

                if (!d)
                    break;
                doomed = d;
                cap = cap ? cap * 2 : 16;
            }
            doomed[n] = strdup(nd->name);
            if (doomed[n])
                n++;
        }
    }
    for (i = 0; i < n; i++) {
        xs_store_rm(st, &tool, NULL, doomed[i]);
        free(doomed[i]);
    }
    free(doomed);

    /* What remains forgets the domain, so a new domain reusing the id
     * inherits no access (XSA-322). */
    for (i = 0; i < st->nodes.nbuckets; i++) {
        struct xs_node *nd = st->nodes.buckets[i];

        for (; nd; nd = nd->hnext) {
            uint32_t j, k;

            if (nd->perms[0].id == domid) {
                nd->perms[0].id = 0;
                if (domid <= MAX_DOMID) {
                    st->owned[domid]--;
                    st->owned[0]++;
                }
            }
            for (j = k = 1; j < nd->nperms; j++)
                if (nd->perms[j].id != domid)
                    nd->perms[k++] = nd->perms[j];
            nd->nperms = k;
        }
    }
    for (i = 0; i < 2; i++) {
        uint32_t j, k;
        struct xs_perm *p = st->special_perms[i];

        if (p[0].id == domid)
            p[0].id = 0;
        for (j = k = 1; j < st->special_n[i]; j++)
            if (p[j].id != domid)
                p[k++] = p[j];
        st->special_n[i] = k;
    }
}
