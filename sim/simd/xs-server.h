/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated xenstored's protocol engine: frames and executes the
 * xs_wire.h messages of each client, fires watches and queues replies.
 * Pure: bytes in, bytes out; sockets live in xs-sock.c, so the engine can
 * be fuzzed and unit-tested without any.
 *
 * Client input is hostile.  A malformed message gets an XS_ERROR reply; a
 * message the framing cannot survive (oversize payload) makes
 * xs_client_input() return -EPROTO and the caller drops the connection.
 */
#ifndef IOVM_XS_SERVER_H
#define IOVM_XS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xs-store.h"

struct xs_server;
struct xs_client;

/* Hooks into the hypervisor for the domain-management messages. */
struct xs_server_ops {
    /* INTRODUCE / RELEASE by the toolstack; return 0 or an errno. */
    int (*introduce)(void *arg, uint32_t domid);
    int (*release)(void *arg, uint32_t domid);
    bool (*is_introduced)(void *arg, uint32_t domid);
    /* Does the hypervisor run this domain?  (A SET_PERMS owner, the
     * domain of RELEASE/RESUME/SET_TARGET.)  NULL: assume it does. */
    bool (*exists)(void *arg, uint32_t domid);
    /* A client has output queued (or had it drained). */
    void (*output)(void *arg, struct xs_client *cl);
};

struct xs_limits {
    unsigned int watches_per_domain;   /* 128 */
    unsigned int txns_per_conn;        /* 10 */
    unsigned int outstanding_per_conn; /* 20 */
    unsigned int events_per_conn;      /* queued watch events, 1024 */
};

int xs_server_new(struct xs_server **srvp, const struct xs_server_ops *ops,
                  void *ops_arg);
void xs_server_free(struct xs_server *srv);
struct xs_store *xs_server_store(struct xs_server *srv);
struct xs_limits *xs_server_limits(struct xs_server *srv);

/* Fires @introduceDomain / @releaseDomain; release also drops the
 * domain's permissions (XSA-322) and closes nothing: the caller does. */
void xs_server_domain_introduced(struct xs_server *srv, uint32_t domid);
void xs_server_domain_released(struct xs_server *srv, uint32_t domid);

struct xs_client *xs_client_new(struct xs_server *srv, uint32_t domid,
                                bool priv, void *arg);
void xs_client_free(struct xs_client *cl);
void *xs_client_arg(struct xs_client *cl);
uint32_t xs_client_domid(struct xs_client *cl);

/* Feeds bytes read from the client.  Returns 0 or -EPROTO (drop it). */
int xs_client_input(struct xs_client *cl, const void *buf, size_t len);
/* May more input be processed? (false: too many unread replies). */
bool xs_client_can_read(struct xs_client *cl);
/* Queued output: pointer and length; consume after writing. */
size_t xs_client_output(struct xs_client *cl, const void **buf);
void xs_client_consume(struct xs_client *cl, size_t len);

/* Counters for tests and the control socket. */
unsigned int xs_server_watch_count(struct xs_server *srv, uint32_t domid);
uint64_t xs_server_events_dropped(struct xs_server *srv);

#endif
