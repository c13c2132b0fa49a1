/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenstore wire protocol (xen/io/xs_wire.h), as Xen 4.17's C xenstored
 * speaks it: message framing, per-operation argument checks, relative
 * paths, transactions per connection, watches with the initial event on
 * registration, permission-filtered watch events, special watches, and the
 * per-domain limits.  A guest's UNWATCH is answered as Linux's xenbus
 * device, its way to xenstored, answers it.  Client bytes are untrusted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "util.h"
#include "xs-server.h"

#define MAX_DOMID 0xffffu

struct watch {
    struct watch *next;
    char *node;  /* absolute path or "@..." */
    char *token;
    bool relative;
};

struct client_txn {
    struct client_txn *next;
    uint32_t id;
    struct xs_txn *txn;
};

struct out_msg {
    uint32_t len;
    bool reply; /* a reply (counts as outstanding), else a watch event */
};

struct xs_client {
    struct xs_server *srv;
    struct xs_client *next, *prev;
    void *arg;
    struct xs_caller caller;
    char home[32]; /* "/local/domain/<domid>" */

    /* input framing */
    struct xsd_sockmsg hdr;
    size_t hdr_used;
    char in[XENSTORE_PAYLOAD_MAX + 1];
    size_t in_used;

    /* output: bytes [out_head, out_len) of out, messages in msgs */
    char *out;
    size_t out_len, out_head, out_cap;
    struct out_msg *msgs;
    unsigned int msg_head, msg_count, msg_cap;
    size_t msg_consumed; /* bytes of msgs[msg_head] already written */
    unsigned int replies_queued, events_queued;

    struct watch *watches;
    struct client_txn *txns;
    uint32_t next_txn_id;
    unsigned int ntxns;
};

struct xs_server {
    struct xs_store *store;
    const struct xs_server_ops *ops;
    void *ops_arg;
    struct xs_client *clients;
    unsigned int *watches; /* per domain */
    struct xs_limits limits;
    uint64_t events_dropped;
};

/* ---------------------------------------------------------------- */
/* output */

static int out_reserve(struct xs_client *cl, size_t more)
{
    if (cl->out_head && cl->out_head == cl->out_len) {
        cl->out_head = cl->out_len = 0;
    }
    if (cl->out_len + more > cl->out_cap) {
        size_t cap = IOVM_MAX(cl->out_cap * 2, cl->out_len + more + 4096);
        char *o;

        /*
         * Compact first: whole messages written are no longer needed.  A
         * partly written one stays whole, as event_queued() compares it.
         */
        if (cl->out_head > cl->msg_consumed) {
            size_t drop = cl->out_head - cl->msg_consumed;

            memmove(cl->out, cl->out + drop, cl->out_len - drop);
            cl->out_len -= drop;
            cl->out_head -= drop;
            if (cl->out_len + more <= cl->out_cap)
                goto msgs;
        }
        o = realloc(cl->out, cap);
        if (!o)
            return -ENOMEM;
        cl->out = o;
        cl->out_cap = cap;
    }
msgs:
    if (cl->msg_count == cl->msg_cap) {
        unsigned int cap = cl->msg_cap ? cl->msg_cap * 2 : 16, i;
        struct out_msg *m = malloc(cap * sizeof(*m));

        if (!m)
            return -ENOMEM;
        for (i = 0; i < cl->msg_count; i++)
            m[i] = cl->msgs[(cl->msg_head + i) % cl->msg_cap];
        free(cl->msgs);
        cl->msgs = m;
        cl->msg_cap = cap;
        cl->msg_head = 0;
    }
    return 0;
}

static void send_msg(struct xs_client *cl, uint32_t type, uint32_t req_id,
                     uint32_t tx_id, const void *a, size_t alen,
                     const void *b, size_t blen, bool reply)
{
    struct xsd_sockmsg h = { type, req_id, tx_id, (uint32_t)(alen + blen) };
    size_t total = sizeof(h) + alen + blen;
    struct out_msg *m;

    if (out_reserve(cl, total))
        return; /* out of memory: the message is lost, as a dropped event */
    memcpy(cl->out + cl->out_len, &h, sizeof(h));
    if (alen)
        memcpy(cl->out + cl->out_len + sizeof(h), a, alen);
    if (blen)
        memcpy(cl->out + cl->out_len + sizeof(h) + alen, b, blen);
    cl->out_len += total;
    m = &cl->msgs[(cl->msg_head + cl->msg_count) % cl->msg_cap];
    m->len = (uint32_t)total;
    m->reply = reply;
    cl->msg_count++;
    if (reply)
        cl->replies_queued++;
    else
        cl->events_queued++;
    if (cl->srv->ops && cl->srv->ops->output)
        cl->srv->ops->output(cl->srv->ops_arg, cl);
}

static void send_error(struct xs_client *cl, const struct xsd_sockmsg *req,
                       int err);

static void send_reply(struct xs_client *cl, const struct xsd_sockmsg *req,
                       const void *data, size_t len)
{
    /*
     * No client can take more (a child list can be longer, which is what
     * DIRECTORY_PART is for): xenstored's send_reply() says E2BIG.
     */
    if (len > XENSTORE_PAYLOAD_MAX) {
        send_error(cl, req, E2BIG);
        return;
    }
    send_msg(cl, req->type, req->req_id, req->tx_id, data, len, NULL, 0,
             true);
}

static void send_ack(struct xs_client *cl, const struct xsd_sockmsg *req)
{
    send_reply(cl, req, "OK", 3);
}

static void send_error(struct xs_client *cl, const struct xsd_sockmsg *req,
                       int err)
{
    const char *name = "EIO";
    unsigned int i;

    for (i = 0; i < IOVM_ARRAY_SIZE(xsd_errors); i++) {
        if (xsd_errors[i].errnum == err) {
            name = xsd_errors[i].errstring;
            break;
        }
    }
    send_msg(cl, XS_ERROR, req->req_id, req->tx_id, name, strlen(name) + 1,
             NULL, 0, true);
}

size_t xs_client_output(struct xs_client *cl, const void **buf)
{
    *buf = cl->out + cl->out_head;
    return cl->out_len - cl->out_head;
}

void xs_client_consume(struct xs_client *cl, size_t len)
{
    cl->out_head += len;
    cl->msg_consumed += len;
    while (cl->msg_count &&
           cl->msg_consumed >= cl->msgs[cl->msg_head].len) {
        struct out_msg *m = &cl->msgs[cl->msg_head];

        cl->msg_consumed -= m->len;
        if (m->reply)
            cl->replies_queued--;
        else
            cl->events_queued--;
        cl->msg_head = (cl->msg_head + 1) % cl->msg_cap;
        cl->msg_count--;
    }
    if (cl->out_head == cl->out_len)
        cl->out_head = cl->out_len = 0;
}

bool xs_client_can_read(struct xs_client *cl)
{
    return cl->caller.priv ||
           cl->replies_queued < cl->srv->limits.outstanding_per_conn;
}

/* ---------------------------------------------------------------- */
/* watches */

/* Is child equal to parent or beneath it?  "/" is everyone's parent. */
static bool is_child(const char *child, const char *parent)
{
    size_t len = strlen(parent);

    if (!strcmp(parent, "/"))
        return true;
    if (strncmp(child, parent, len))
        return false;
    return child[len] == '/' || child[len] == '\0';
}

static const char *watch_path(const struct xs_client *cl,
                              const struct watch *w, const char *name)
{
    const char *p = name;

    if (w->relative) {
        p += strlen(cl->home);
        if (*p == '/')
            p++;
    }
    return p;
}

/*
 * Is this event queued already (in full or partly written)?  xenstored's
 * send_event() drops such duplicates of non-special events.
 */
static bool event_queued(const struct xs_client *cl, const char *path,
                         size_t plen, const char *token, size_t tlen)
{
    size_t off = cl->out_head - cl->msg_consumed;
    unsigned int i;

    for (i = 0; i < cl->msg_count; i++) {
        const struct out_msg *m = &cl->msgs[(cl->msg_head + i) % cl->msg_cap];
        const char *body = cl->out + off + sizeof(struct xsd_sockmsg);

        if (!m->reply && m->len == sizeof(struct xsd_sockmsg) + plen + tlen &&
            !memcmp(body, path, plen) && !memcmp(body + plen, token, tlen))
            return true;
        off += m->len;
    }
    return false;
}

static void send_event(struct xs_client *cl, const char *path,
                       const char *token)
{
    size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;

    /* Too long for a message: xenstored does not try. */
    if (plen + tlen > XENSTORE_PAYLOAD_MAX)
        return;
    if (path[0] != '@' && event_queued(cl, path, plen, token, tlen))
        return;
    if (!cl->caller.priv &&
        cl->events_queued >= cl->srv->limits.events_per_conn) {
        cl->srv->events_dropped++;
        return;
    }
    send_msg(cl, XS_WATCH_EVENT, 0, 0, path, plen, token, tlen, false);
}

/*
 * May cl see an event for name?  It must be able to read the node (with
 * its old permissions, for a change of permissions or a removal), or its
 * parent (xenstored's watch_permitted()).
 */
static bool watch_permitted(struct xs_server *srv, struct xs_client *cl,
                            const char *name, const struct xs_perm *perms,
                            uint32_t nperms)
{
    const struct xs_node *n;
    char *parent, *slash;
    bool ok;

    if (cl->caller.priv)
        return true;
    if (perms && (xs_perm_for(&cl->caller, perms, nperms) & XSP_READ))
        return true;
    n = xs_store_lookup(srv->store, name);
    if (!n)
        return false;
    if (xs_perm_for(&cl->caller, n->perms, n->nperms) & XSP_READ)
        return true;
    parent = strdup(name);
    if (!parent)
        return false;
    slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else
        *slash = '\0';
    n = xs_store_lookup(srv->store, parent);
    ok = n && (xs_perm_for(&cl->caller, n->perms, n->nperms) & XSP_READ);
    free(parent);
    return ok;
}

static void fire_watches(void *arg, const char *name, bool exact,
                         const struct xs_perm *perms, uint32_t nperms)
{
    struct xs_server *srv = arg;
    struct xs_client *cl;

    for (cl = srv->clients; cl; cl = cl->next) {
        struct watch *w;

        if (name[0] == '@') {
            const struct xs_perm *sp;
            uint32_t sn;

            if (xs_store_special_perms(srv->store, name, &sp, &sn) ||
                !(xs_perm_for(&cl->caller, sp, sn) & XSP_READ))
                continue;
        } else if (!watch_permitted(srv, cl, name, perms, nperms)) {
            continue;
        }
        for (w = cl->watches; w; w = w->next) {
            if (exact ? !strcmp(name, w->node) : is_child(name, w->node))
                send_event(cl, watch_path(cl, w, name), w->token);
        }
    }
}

/*
 * Special events match only watches on exactly their name (xenstored
 * fires them with exact set): a watch on "/" does not see them.
 */
void xs_server_domain_introduced(struct xs_server *srv, uint32_t domid)
{
    fire_watches(srv, "@introduceDomain", true, NULL, 0);
}

void xs_server_domain_released(struct xs_server *srv, uint32_t domid)
{
    xs_store_domain_gone(srv->store, domid);
    fire_watches(srv, "@releaseDomain", true, NULL, 0);
}

unsigned int xs_server_watch_count(struct xs_server *srv, uint32_t domid)
{
    return domid <= MAX_DOMID ? srv->watches[domid] : 0;
}

uint64_t xs_server_events_dropped(struct xs_server *srv)
{
    return srv->events_dropped;
}

/* ---------------------------------------------------------------- */
/* argument helpers */

/* Number of NUL-terminated strings in a payload (a tail without NUL
 * counts as one more, as xs_count_strings does). */
static unsigned int count_strings(const char *p, size_t len)
{
    unsigned int n = 0;
    size_t i;

    for (i = 0; i < len; i++)
        if (!p[i])
            n++;
    return n;
}

/* The payload is exactly one string: one NUL, at the end. */
static const char *onearg(const char *p, size_t len)
{
    if (!len || memchr(p, '\0', len) != p + len - 1)
        return NULL;
    return p;
}

/* Splits a payload into n NUL-terminated strings; returns how many. */
static unsigned int get_strings(const char *p, size_t len, const char **vec,
                                unsigned int n)
{
    unsigned int i = 0;
    size_t off = 0;

    while (i < n && off < len) {
        const char *nul = memchr(p + off, '\0', len - off);

        if (!nul)
            break;
        vec[i++] = p + off;
        off = nul - p + 1;
    }
    return i;
}

/*
 * Relative paths are relative to the client's home directory.  Returns a
 * malloc'd absolute path, or NULL with *err.  Validity is checked by the
 * store.
 */
static char *canonicalize(struct xs_client *cl, const char *path, int *err)
{
    char *abs;

    *err = 0;
    if (!path) {
        *err = EINVAL;
        return NULL;
    }
    if (path[0] == '/' || path[0] == '@')
        abs = strdup(path);
    else if (asprintf(&abs, "%s/%s", cl->home, path) < 0)
        abs = NULL;
    if (!abs)
        *err = ENOMEM;
    return abs;
}

static int parse_domid(const char *s, uint32_t *domid)
{
    unsigned int v;

    if (!s || iovm_parse_uint(s, MAX_DOMID, &v))
        return EINVAL;
    *domid = v;
    return 0;
}

/* Does the hypervisor run domid?  Without one to ask, assume it does. */
static bool domain_exists(struct xs_server *srv, uint32_t domid)
{
    return !srv->ops || !srv->ops->exists ||
           srv->ops->exists(srv->ops_arg, domid);
}

/*
 * xenstored's find_connected_domain(): ENOENT for a domain that does not
 * run, EINVAL for one that was never introduced, else 0.
 */
static int domain_connected(struct xs_server *srv, uint32_t domid)
{
    if (!domain_exists(srv, domid))
        return ENOENT;
    if (!srv->ops || !srv->ops->is_introduced(srv->ops_arg, domid))
        return EINVAL;
    return 0;
}

static struct client_txn *find_txn(struct xs_client *cl, uint32_t id)
{
    struct client_txn *t;

    for (t = cl->txns; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

static void drop_txn(struct xs_client *cl, struct client_txn *t,
                     bool commit, int *err)
{
    struct client_txn **pp;
    int rc;

    for (pp = &cl->txns; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    cl->ntxns--;
    rc = xs_txn_end(cl->srv->store, t->txn, commit);
    if (err)
        *err = rc;
    free(t);
}

/* ---------------------------------------------------------------- */
/* operations: each returns 0 after replying, or an errno to send */

static int op_read(struct xs_client *cl, const struct xsd_sockmsg *h,
                   const char *p, struct xs_txn *txn)
{
    const char *data;
    uint32_t len;
    char *path;
    int err;

    path = canonicalize(cl, onearg(p, h->len), &err);
    if (!path)
        return err;
    err = xs_store_read(cl->srv->store, &cl->caller, txn, path, &data, &len);
    free(path);
    if (!err)
        send_reply(cl, h, data, len);
    return err;
}

static int op_directory(struct xs_client *cl, const struct xsd_sockmsg *h,
                        const char *p, struct xs_txn *txn)
{
    const char *ch;
    uint32_t len;
    char *path;
    int err;

    path = canonicalize(cl, onearg(p, h->len), &err);
    if (!path)
        return err;
    err = xs_store_directory(cl->srv->store, &cl->caller, txn, path, &ch,
                             &len, NULL);
    free(path);
    if (!err)
        send_reply(cl, h, ch, len);
    return err;
}

static int op_directory_part(struct xs_client *cl,
                             const struct xsd_sockmsg *h, const char *p,
                             struct xs_txn *txn)
{
    const char *vec[2], *ch;
    char gen[24], *path, *data;
    uint32_t len, off, n = 0, maxlen, genlen;
    uint64_t g;
    int err;

    if (count_strings(p, h->len) != 2 || get_strings(p, h->len, vec, 2) != 2)
        return EINVAL;
    path = canonicalize(cl, vec[0], &err);
    if (!path)
        return err;
    err = xs_store_directory(cl->srv->store, &cl->caller, txn, path, &ch,
                             &len, &g);
    free(path);
    if (err)
        return err;
    if (iovm_parse_uint(vec[1], UINT32_MAX, &off))
        return EINVAL;
    genlen = snprintf(gen, sizeof(gen), "%llu", (unsigned long long)g) + 1;
    if (off >= len) {
        /* Past the end: the generation and an empty string. */
        char tail[sizeof(gen) + 1];

        memcpy(tail, gen, genlen);
        tail[genlen] = '\0';
        send_reply(cl, h, tail, genlen + 1);
        return 0;
    }
    /* Only whole names, as many as fit. */
    maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
    while (off + n < len) {
        uint32_t clen = strlen(ch + off + n) + 1;

        if (n + clen > maxlen)
            break;
        n += clen;
    }
    data = malloc(genlen + n + 1);
    if (!data)
        return ENOMEM;
    memcpy(data, gen, genlen);
    memcpy(data + genlen, ch + off, n);
    if (off + n == len)
        data[genlen + n++] = '\0'; /* end of list marker */
    send_reply(cl, h, data, genlen + n);
    free(data);
    return 0;
}

static int op_write(struct xs_client *cl, const struct xsd_sockmsg *h,
                    const char *p, struct xs_txn *txn)
{
    const char *nul = memchr(p, '\0', h->len);
    char *path;
    size_t off;
    int err;

    if (!nul)
        return EINVAL;
    off = nul - p + 1;
    path = canonicalize(cl, p, &err);
    if (!path)
        return err;
    err = xs_store_write(cl->srv->store, &cl->caller, txn, path, p + off,
                         (uint32_t)(h->len - off));
    free(path);
    if (!err)
        send_ack(cl, h);
    return err;
}

static int op_mkdir_rm(struct xs_client *cl, const struct xsd_sockmsg *h,
                       const char *p, struct xs_txn *txn)
{
    char *path;
    int err;

    path = canonicalize(cl, onearg(p, h->len), &err);
    if (!path)
        return err;
    if (h->type == XS_MKDIR)
        err = xs_store_mkdir(cl->srv->store, &cl->caller, txn, path);
    else
        err = xs_store_rm(cl->srv->store, &cl->caller, txn, path);
    free(path);
    if (!err)
        send_ack(cl, h);
    return err;
}

static int op_get_perms(struct xs_client *cl, const struct xsd_sockmsg *h,
                        const char *p, struct xs_txn *txn)
{
    const struct xs_perm *perms;
    char *path, *buf;
    uint32_t n, i;
    size_t used = 0;
    int err;

    path = canonicalize(cl, onearg(p, h->len), &err);
    if (!path)
        return err;
    err = xs_store_get_perms(cl->srv->store, &cl->caller, txn, path, &perms,
                             &n);
    free(path);
    if (err)
        return err;
    buf = malloc((size_t)n * 16 + 1);
    if (!buf)
        return ENOMEM;
    for (i = 0; i < n; i++) {
        xs_perm_print(&perms[i], buf + used, 16);
        used += strlen(buf + used) + 1;
    }
    send_reply(cl, h, buf, used);
    free(buf);
    return 0;
}

static int op_set_perms(struct xs_client *cl, const struct xsd_sockmsg *h,
                        const char *p, struct xs_txn *txn)
{
    unsigned int n = count_strings(p, h->len), i;
    struct xs_perm *perms;
    const char **vec;
    char *path = NULL;
    int err;

    if (n < 2 || p[h->len - 1] != '\0')
        return EINVAL;
    n--;
    if (!cl->caller.priv &&
        n > xs_store_quota(cl->srv->store)->perms_per_node)
        return ENOSPC;
    vec = calloc(n + 1, sizeof(*vec));
    perms = calloc(n, sizeof(*perms));
    if (!vec || !perms) {
        err = ENOMEM;
        goto out;
    }
    get_strings(p, h->len, vec, n + 1);
    for (i = 0; i < n; i++) {
        err = xs_perm_parse(vec[i + 1], &perms[i]);
        if (err)
            goto out;
    }
    /* An owner that does not run: ENOENT, before the node is looked at
     * (domain_alloc_permrefs() in do_set_perms()). */
    if (!domain_exists(cl->srv, perms[0].id)) {
        err = ENOENT;
        goto out;
    }
    path = canonicalize(cl, vec[0], &err);
    if (!path)
        goto out;
    err = xs_store_set_perms(cl->srv->store, &cl->caller, txn, path, perms,
                             n);
    if (!err)
        send_ack(cl, h);
out:
    free(path);
    free(vec);
    free(perms);
    return err;
}

static int op_watch(struct xs_client *cl, const struct xsd_sockmsg *h,
                    const char *p)
{
    const char *vec[2];
    struct watch *w, **tail;
    char *path;
    int err;

    if (get_strings(p, h->len, vec, 2) != 2)
        return EINVAL;
    if (vec[0][0] == '@') {
        if (strlen(vec[0]) > XENSTORE_REL_PATH_MAX)
            return EINVAL;
    }
    path = canonicalize(cl, vec[0], &err);
    if (!path)
        return err;
    if (path[0] != '@' && !xs_path_valid(cl->srv->store, path)) {
        free(path);
        return EINVAL;
    }
    for (tail = &cl->watches; (w = *tail); tail = &w->next) {
        if (!strcmp(w->node, path) && !strcmp(w->token, vec[1])) {
            free(path);
            return EEXIST;
        }
    }
    if (!cl->caller.priv && cl->caller.domid <= MAX_DOMID &&
        cl->srv->watches[cl->caller.domid] >
            cl->srv->limits.watches_per_domain) {
        free(path);
        return E2BIG;
    }
    w = calloc(1, sizeof(*w));
    if (!w || !(w->token = strdup(vec[1]))) {
        free(w);
        free(path);
        return ENOMEM;
    }
    w->node = path;
    w->relative = vec[0][0] != '/' && vec[0][0] != '@';
    /* At the end: events go out in registration order, as xenstored's. */
    *tail = w;
    if (cl->caller.domid <= MAX_DOMID)
        cl->srv->watches[cl->caller.domid]++;
    send_ack(cl, h);
    /* Fire once up front, as xenstored does. */
    send_event(cl, watch_path(cl, w, w->node), w->token);
    return 0;
}

/*
 * As xenstored's do_unwatch(): the name is only canonicalized.  A watch
 * that is not there is ENOENT for dom0, whose tools use xenstored's
 * socket; a guest talks through Linux's xenbus device, which keeps its
 * watches itself and acknowledges every well-formed UNWATCH.
 */
static int op_unwatch(struct xs_client *cl, const struct xsd_sockmsg *h,
                      const char *p)
{
    const char *vec[2];
    struct watch *w, **pp;
    char *path;
    int err;

    if (get_strings(p, h->len, vec, 2) != 2)
        return EINVAL;
    path = canonicalize(cl, vec[0], &err);
    if (!path)
        return err;
    for (pp = &cl->watches; (w = *pp); pp = &w->next) {
        if (!strcmp(w->node, path) && !strcmp(w->token, vec[1])) {
            *pp = w->next;
            free(w->node);
            free(w->token);
            free(w);
            if (cl->caller.domid <= MAX_DOMID)
                cl->srv->watches[cl->caller.domid]--;
            free(path);
            send_ack(cl, h);
            return 0;
        }
    }
    free(path);
    if (cl->caller.priv)
        return ENOENT;
    send_ack(cl, h);
    return 0;
}

static int op_txn_start(struct xs_client *cl, const struct xsd_sockmsg *h)
{
    struct client_txn *t;
    char buf[16];
    int err;

    if (h->tx_id)
        return EBUSY;
    if (!cl->caller.priv && cl->ntxns > cl->srv->limits.txns_per_conn)
        return ENOSPC;
    t = calloc(1, sizeof(*t));
    if (!t)
        return ENOMEM;
    err = xs_txn_start(cl->srv->store, &cl->caller, &t->txn);
    if (err) {
        free(t);
        return err;
    }
    do {
        t->id = cl->next_txn_id++;
    } while (!t->id || find_txn(cl, t->id));
    t->next = cl->txns;
    cl->txns = t;
    cl->ntxns++;
    snprintf(buf, sizeof(buf), "%u", t->id);
    send_reply(cl, h, buf, strlen(buf) + 1);
    return 0;
}

static int op_txn_end(struct xs_client *cl, const struct xsd_sockmsg *h,
                      const char *p)
{
    const char *arg = onearg(p, h->len);
    struct client_txn *t;
    int err;

    if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
        return EINVAL;
    t = h->tx_id ? find_txn(cl, h->tx_id) : NULL;
    if (!t)
        return ENOENT;
    drop_txn(cl, t, arg[0] == 'T', &err);
    if (!err)
        send_ack(cl, h);
    return err;
}

static int op_domain(struct xs_client *cl, const struct xsd_sockmsg *h,
                     const char *p)
{
    struct xs_server *srv = cl->srv;
    const char *vec[3];
    uint32_t domid;
    char buf[32];
    int err;

    switch (h->type) {
    case XS_GET_DOMAIN_PATH:
        if (parse_domid(onearg(p, h->len), &domid))
            return EINVAL;
        snprintf(buf, sizeof(buf), "/local/domain/%u", domid);
        send_reply(cl, h, buf, strlen(buf) + 1);
        return 0;
    case XS_IS_DOMAIN_INTRODUCED:
        if (!cl->caller.priv)
            return EACCES;
        if (parse_domid(onearg(p, h->len), &domid))
            return EINVAL;
        send_reply(cl, h,
                   srv->ops && srv->ops->is_introduced(srv->ops_arg, domid)
                       ? "T"
                       : "F",
                   2);
        return 0;
    case XS_INTRODUCE:
        if (!cl->caller.priv)
            return EACCES;
        /* domid, ring mfn, event channel: only the domid matters here. */
        if (get_strings(p, h->len, vec, 3) < 3 || parse_domid(vec[0], &domid))
            return EINVAL;
        err = srv->ops ? srv->ops->introduce(srv->ops_arg, domid) : EINVAL;
        if (!err)
            send_ack(cl, h);
        return err;
    case XS_RELEASE:
    case XS_RESUME:
        if (!cl->caller.priv)
            return EACCES;
        /* onearg_domain(): dom0 is never released nor resumed. */
        if (parse_domid(onearg(p, h->len), &domid) || !domid)
            return EINVAL;
        err = domain_connected(srv, domid);
        if (!err && h->type == XS_RELEASE)
            err = srv->ops->release(srv->ops_arg, domid);
        if (!err)
            send_ack(cl, h);
        return err;
    case XS_SET_TARGET: {
        uint32_t tdomid;

        if (!cl->caller.priv)
            return EACCES;
        if (get_strings(p, h->len, vec, 2) < 2 ||
            parse_domid(vec[0], &domid) || parse_domid(vec[1], &tdomid))
            return EINVAL;
        err = domain_connected(srv, domid);
        if (!err)
            err = domain_connected(srv, tdomid);
        if (!err)
            send_ack(cl, h);
        return err;
    }
    }
    return EINVAL;
}

static void reset_watches(struct xs_client *cl)
{
    struct watch *w, *next;

    for (w = cl->watches; w; w = next) {
        next = w->next;
        free(w->node);
        free(w->token);
        free(w);
        if (cl->caller.domid <= MAX_DOMID)
            cl->srv->watches[cl->caller.domid]--;
    }
    cl->watches = NULL;
    while (cl->txns)
        drop_txn(cl, cl->txns, false, NULL);
}

#define MSG_NOTID 1u /* the transaction id is ignored */
#define MSG_PRIV 2u  /* privileged clients only */

/*
 * What xenstored's wire_funcs[] table says of a message type; -1 for
 * types that are no requests (WATCH_EVENT, ERROR) or unknown.
 */
static int msg_flags(uint32_t type)
{
    switch (type) {
    case XS_WATCH:
    case XS_UNWATCH:
        return MSG_NOTID;
    case XS_CONTROL:
    case XS_INTRODUCE:
    case XS_RELEASE:
    case XS_IS_DOMAIN_INTRODUCED:
    case XS_RESUME:
    case XS_SET_TARGET:
        return MSG_PRIV;
    case XS_DIRECTORY:
    case XS_READ:
    case XS_GET_PERMS:
    case XS_TRANSACTION_START:
    case XS_TRANSACTION_END:
    case XS_GET_DOMAIN_PATH:
    case XS_WRITE:
    case XS_MKDIR:
    case XS_RM:
    case XS_SET_PERMS:
    case XS_RESET_WATCHES:
    case XS_DIRECTORY_PART:
        return 0;
    }
    return -1;
}

static void handle_msg(struct xs_client *cl)
{
    struct xsd_sockmsg *h = &cl->hdr;
    const char *p = cl->in;
    struct client_txn *t = NULL;
    struct xs_txn *txn = NULL;
    int err, flags = msg_flags(h->type);

    cl->in[h->len] = '\0'; /* a guard: payloads are checked by length */
    /* The order of checks is process_message()'s. */
    if (flags < 0) {
        send_error(cl, h, ENOSYS);
        return;
    }
    if ((flags & MSG_PRIV) && !cl->caller.priv) {
        send_error(cl, h, EACCES);
        return;
    }
    /* TRANSACTION_START too: an unknown id is ENOENT, a known one EBUSY. */
    if (h->tx_id && !(flags & MSG_NOTID)) {
        t = find_txn(cl, h->tx_id);
        if (!t) {
            send_error(cl, h, ENOENT);
            return;
        }
        txn = t->txn;
    }
    switch (h->type) {
    case XS_READ: err = op_read(cl, h, p, txn); break;
    case XS_DIRECTORY: err = op_directory(cl, h, p, txn); break;
    case XS_DIRECTORY_PART: err = op_directory_part(cl, h, p, txn); break;
    case XS_WRITE: err = op_write(cl, h, p, txn); break;
    case XS_MKDIR:
    case XS_RM: err = op_mkdir_rm(cl, h, p, txn); break;
    case XS_GET_PERMS: err = op_get_perms(cl, h, p, txn); break;
    case XS_SET_PERMS: err = op_set_perms(cl, h, p, txn); break;
    case XS_WATCH: err = op_watch(cl, h, p); break;
    case XS_UNWATCH: err = op_unwatch(cl, h, p); break;
    case XS_TRANSACTION_START: err = op_txn_start(cl, h); break;
    case XS_TRANSACTION_END: err = op_txn_end(cl, h, p); break;
    case XS_GET_DOMAIN_PATH:
    case XS_IS_DOMAIN_INTRODUCED:
    case XS_INTRODUCE:
    case XS_RELEASE:
    case XS_RESUME:
    case XS_SET_TARGET: err = op_domain(cl, h, p); break;
    case XS_RESET_WATCHES:
        reset_watches(cl);
        send_ack(cl, h);
        err = 0;
        break;
    case XS_CONTROL:
        err = EINVAL; /* no control commands here */
        break;
    default:
        err = ENOSYS; /* not reached: msg_flags() knows the types */
        break;
    }
    if (err)
        send_error(cl, h, err);
}

int xs_client_input(struct xs_client *cl, const void *buf, size_t len)
{
    const char *b = buf;

    while (len) {
        size_t n;

        if (cl->hdr_used < sizeof(cl->hdr)) {
            n = IOVM_MIN(len, sizeof(cl->hdr) - cl->hdr_used);
            memcpy((char *)&cl->hdr + cl->hdr_used, b, n);
            cl->hdr_used += n;
            b += n;
            len -= n;
            if (cl->hdr_used < sizeof(cl->hdr))
                break;
            /* An oversize payload cannot be framed: drop the client. */
            if (cl->hdr.len > XENSTORE_PAYLOAD_MAX)
                return -EPROTO;
            cl->in_used = 0;
        }
        n = IOVM_MIN(len, cl->hdr.len - cl->in_used);
        memcpy(cl->in + cl->in_used, b, n);
        cl->in_used += n;
        b += n;
        len -= n;
        if (cl->in_used == cl->hdr.len) {
            handle_msg(cl);
            cl->hdr_used = 0;
            cl->in_used = 0;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- */

int xs_server_new(struct xs_server **srvp, const struct xs_server_ops *ops,
                  void *ops_arg)
{
    struct xs_server *srv = calloc(1, sizeof(*srv));
    int err;

    if (!srv)
        return ENOMEM;
    srv->ops = ops;
    srv->ops_arg = ops_arg;
    srv->limits.watches_per_domain = 128;
    srv->limits.txns_per_conn = 10;
    srv->limits.outstanding_per_conn = 20;
    srv->limits.events_per_conn = 1024;
    srv->watches = calloc(MAX_DOMID + 1, sizeof(*srv->watches));
    if (!srv->watches) {
        free(srv);
        return ENOMEM;
    }
    err = xs_store_new(&srv->store, fire_watches, srv);
    if (err) {
        free(srv->watches);
        free(srv);
        return err;
    }
    *srvp = srv;
    return 0;
}

void xs_server_free(struct xs_server *srv)
{
    if (!srv)
        return;
    while (srv->clients)
        xs_client_free(srv->clients);
    xs_store_free(srv->store);
    free(srv->watches);
    free(srv);
}

struct xs_store *xs_server_store(struct xs_server *srv)
{
    return srv->store;
}

struct xs_limits *xs_server_limits(struct xs_server *srv)
{
    return &srv->limits;
}

struct xs_client *xs_client_new(struct xs_server *srv, uint32_t domid,
                                bool priv, void *arg)
{
    struct xs_client *cl = calloc(1, sizeof(*cl));

    if (!cl)
        return NULL;
    cl->srv = srv;
    cl->arg = arg;
    cl->caller.domid = domid;
    cl->caller.priv = priv;
    cl->next_txn_id = 1;
    snprintf(cl->home, sizeof(cl->home), "/local/domain/%u", domid);
    cl->next = srv->clients;
    if (srv->clients)
        srv->clients->prev = cl;
    srv->clients = cl;
    return cl;
}

void xs_client_free(struct xs_client *cl)
{
    if (!cl)
        return;
    reset_watches(cl);
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        cl->srv->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    free(cl->out);
    free(cl->msgs);
    free(cl);
}

void *xs_client_arg(struct xs_client *cl)
{
    return cl->arg;
}

uint32_t xs_client_domid(struct xs_client *cl)
{
    return cl->caller.domid;
}
