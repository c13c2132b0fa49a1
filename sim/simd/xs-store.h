/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated xenstored's database: nodes, permissions, transactions and
 * node quotas, with Xen 4.17 xenstored semantics.  Pure: no I/O; watch
 * firing is reported through a callback.
 *
 * Callers pass absolute paths (or "@..." special names); every path and
 * value is untrusted and checked here.  Errors are positive errno values,
 * as on the xenstore wire.
 */
#ifndef IOVM_XS_STORE_H
#define IOVM_XS_STORE_H

#include <stdbool.h>
#include <stdint.h>

/* Permission bits, as in xenstore_lib.h. */
#define XSP_NONE 0u
#define XSP_READ 1u
#define XSP_WRITE 2u
#define XSP_OWNER 8u

#define XS_NO_GENERATION UINT64_MAX

struct xs_perm {
    uint32_t id;
    uint32_t perms; /* XSP_READ | XSP_WRITE */
};

/* Who is asking. */
struct xs_caller {
    uint32_t domid;
    bool priv; /* dom0 / the toolstack: all permissions, no quotas */
};

struct xs_node {
    char *name;
    char *data;
    uint32_t datalen;
    char *children; /* NUL-separated names, in creation order */
    uint32_t childlen;
    struct xs_perm *perms; /* perms[0] is owner + default access */
    uint32_t nperms;
    uint64_t gen;
    struct xs_node *hnext;
};

struct xs_quota {
    unsigned int nodes_per_domain;   /* 1000 */
    unsigned int max_entry_size;     /* 2048 */
    unsigned int perms_per_node;     /* 5 */
    unsigned int nodes_per_txn;      /* 1024 */
    unsigned int max_path_len;       /* 2048, relative to the home dir */
};

struct xs_store;
struct xs_txn;

/*
 * Watch hook: called for every change, after the change for writes and
 * before it for removals (so the node and its permissions are still there),
 * and at commit time for changes made in a transaction.  exact: only
 * watches on exactly this path fire (descendants of a removed node).
 * old_perms: the node's permissions before the change where they matter
 * (SET_PERMS, a removal, and every change committed by a transaction,
 * whose nodes may be gone when the hook runs), else NULL.
 */
typedef void xs_fire_fn(void *arg, const char *path, bool exact,
                        const struct xs_perm *old_perms, uint32_t n_old);

int xs_store_new(struct xs_store **stp, xs_fire_fn *fire, void *fire_arg);
void xs_store_free(struct xs_store *st);
struct xs_quota *xs_store_quota(struct xs_store *st);

/* Operations; txn may be NULL. */
int xs_store_read(struct xs_store *st, const struct xs_caller *c,
                  struct xs_txn *txn, const char *path, const char **data,
                  uint32_t *len);
int xs_store_write(struct xs_store *st, const struct xs_caller *c,
                   struct xs_txn *txn, const char *path, const char *data,
                   uint32_t len);
int xs_store_mkdir(struct xs_store *st, const struct xs_caller *c,
                   struct xs_txn *txn, const char *path);
int xs_store_rm(struct xs_store *st, const struct xs_caller *c,
                struct xs_txn *txn, const char *path);
int xs_store_directory(struct xs_store *st, const struct xs_caller *c,
                       struct xs_txn *txn, const char *path,
                       const char **children, uint32_t *len, uint64_t *gen);
int xs_store_get_perms(struct xs_store *st, const struct xs_caller *c,
                       struct xs_txn *txn, const char *path,
                       const struct xs_perm **perms, uint32_t *n);
int xs_store_set_perms(struct xs_store *st, const struct xs_caller *c,
                       struct xs_txn *txn, const char *path,
                       const struct xs_perm *perms, uint32_t n);

/* Transactions. */
int xs_txn_start(struct xs_store *st, const struct xs_caller *c,
                 struct xs_txn **txnp);
/* Ends and frees txn.  Returns 0, EAGAIN on conflict, or another error. */
int xs_txn_end(struct xs_store *st, struct xs_txn *txn, bool commit);

/* Permission helpers for the watch layer. */
unsigned int xs_perm_for(const struct xs_caller *c, const struct xs_perm *p,
                         uint32_t n);
/* The live node at path (no permission check), or NULL. */
const struct xs_node *xs_store_lookup(struct xs_store *st, const char *path);
/* Special node ("@introduceDomain", "@releaseDomain") permissions. */
int xs_store_special_perms(struct xs_store *st, const char *name,
                           const struct xs_perm **perms, uint32_t *n);

/*
 * A domain is gone: remove the nodes it owns (firing watches), then drop
 * it from every remaining node's permissions (XSA-322).
 */
void xs_store_domain_gone(struct xs_store *st, uint32_t domid);
/* Nodes owned by domid (quota accounting). */
unsigned int xs_store_domain_nodes(struct xs_store *st, uint32_t domid);
/* Total number of nodes. */
unsigned int xs_store_count(struct xs_store *st);

/* Parsing and printing of permission strings ("r5", "n0", "b3", "w2"). */
int xs_perm_parse(const char *s, struct xs_perm *p);
int xs_perm_print(const struct xs_perm *p, char *buf, unsigned int len);

/* Path syntax check (characters, "//", trailing "/", lengths). */
bool xs_path_valid(const struct xs_store *st, const char *path);

#endif
