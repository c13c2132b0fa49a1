/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libiovmfront's blkif frontend: connects to a virtual block device from
 * inside a guest (xenstore handshake, shared rings via gntshr, event
 * channels) and moves I/O over it.  Single-threaded: one caller submits,
 * kicks and polls; completions run from blkfront_poll().
 *
 * The backend is not trusted: response ids are range-checked, a backend
 * that misbehaves makes the device fail (errors), never the caller crash.
 */
#ifndef IOVM_BLKFRONT_H
#define IOVM_BLKFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blkfront;

struct blkfront_opts {
    unsigned int max_queues;      /* 0: as many as the backend offers */
    unsigned int max_ring_order;  /* upper bound on ring pages (log2) */
    unsigned int max_indirect;    /* segments; 0: no indirect requests */
    bool persistent;              /* offer persistent grants */
    unsigned int timeout_ms;      /* for each handshake step */
    unsigned int poll_us;         /* busy-poll for responses up to this
                                     long before sleeping, while they
                                     come that fast (hybrid polling) */
    bool force;                   /* take the disk over from a frontend
                                     that died connected */
    const char *protocol;         /* ring ABI: NULL or "native",
                                     XEN_IO_PROTO_ABI_X86_32 or _X86_64
                                     (what a 32-bit guest's driver uses) */
};
/* Everything on: 16-page rings, up to 4 queues, 256 indirect segments;
 * hybrid polling of 20 us. */
void blkfront_opts_default(struct blkfront_opts *o);

struct blkfront_info {
    uint64_t sectors;             /* 512-byte units */
    uint32_t sector_size;
    uint32_t phys_sector_size;
    uint32_t info;                /* VDISK_* */
    bool flush, barrier, discard, persistent;
    unsigned int queues, ring_pages, max_segs;
    uint32_t devid, backend_id;
};

/* What the caller submits.  buf may be NULL (bench: data not needed). */
struct blkfront_io {
    uint8_t op;                   /* BLKIF_OP_READ/WRITE/FLUSH_DISKCACHE/
                                     WRITE_BARRIER/DISCARD; FLUSH and
                                     BARRIER may carry data (len > 0) */
    uint64_t sector;              /* 512-byte units */
    void *buf;                    /* read/write data */
    size_t len;                   /* bytes (multiple of 512); discard:
                                     bytes to discard */
    int16_t status;               /* BLKIF_RSP_* when done */
    void (*done)(struct blkfront_io *io, void *arg);
    void *arg;
    /* private */
    uint64_t t_submit;
};

/* vdev: "xvda"-style name or a device number.  Returns 0 or -errno. */
int blkfront_open(struct blkfront **bfp, const char *vdev,
                  const struct blkfront_opts *opts);
/* Closes the device (Closing/Closed handshake) and frees everything. */
void blkfront_close(struct blkfront *bf);
const struct blkfront_info *blkfront_info(const struct blkfront *bf);
/* Largest read/write one request can carry, in bytes. */
size_t blkfront_max_io(const struct blkfront *bf);

/*
 * Queues io on queue q (0..queues-1).  -EAGAIN: ring or page pool full
 * (poll and retry); -EINVAL: bad op/size; -EIO: the device failed.
 */
int blkfront_submit(struct blkfront *bf, unsigned int q,
                    struct blkfront_io *io);
/* Publishes queued requests, notifying the backend if it asked to be. */
void blkfront_kick(struct blkfront *bf);
/*
 * Waits up to timeout_ms (-1: forever, 0: no wait) for completions and
 * runs their callbacks.  Returns how many completed, or -errno.
 */
int blkfront_poll(struct blkfront *bf, int timeout_ms);
unsigned int blkfront_inflight(const struct blkfront *bf);
/* Synchronous helper: one request, waits for it.  Returns the status. */
int blkfront_rw_sync(struct blkfront *bf, uint8_t op, uint64_t sector,
                     void *buf, size_t len);

/* Counters: notifications sent/received, requests, bogus responses. */
struct blkfront_stats {
    uint64_t reqs, notify_sent, events, responses, bogus;
};
void blkfront_stats(const struct blkfront *bf, struct blkfront_stats *st);

/* Devid of a vdev name ("xvda", "xvdb3", "51712"); -EINVAL if bad. */
int blkfront_vdev_devid(const char *vdev, uint32_t *devid);

/* ---------------------------------------------------------------- */
/*
 * Raw ring access, for conformance and hostile-frontend tests.
 *
 * These let a test act as a broken or malicious frontend: put any bytes
 * in a request slot, keep rewriting a slot the backend owns, move the
 * shared request index, notify at will.  They skip every check the calls
 * above make; a real frontend has no use for them.  Normal I/O may be
 * mixed with them on the same device.
 */
struct blkif_request;

/* The shared ring (a blkif_sring_t) of queue q and its number of
 * entries; NULL if there is no queue q. */
void *blkfront_raw_sring(struct blkfront *bf, unsigned int q,
                         unsigned int *nr_ents);
/*
 * Takes one page granted to the backend out of the data pool, for the
 * caller's own segments or indirect descriptor pages.  It stays granted
 * (and never returns to the pool) until blkfront_close().  0 or -errno.
 */
int blkfront_raw_page(struct blkfront *bf, uint32_t *ref, void **addr);
/*
 * Copies req (a slot's worth of bytes: any request layout, cast) into the
 * next request slot of queue q, replacing its id with a free one of ours
 * so that the answer is accepted: io->status is set and io->done called
 * from blkfront_poll() (io's other fields are not used).  Publishes the
 * request (its slot is the one just below the shared req_prod; the
 * caller may go on rewriting it) but does not notify: the caller does,
 * with blkfront_raw_notify(), when it wants to.  id (if not NULL)
 * receives the id used.  Returns 0, -EAGAIN (ring full), -EINVAL (no
 * queue q) or -EIO (the device failed).
 */
int blkfront_raw_push(struct blkfront *bf, unsigned int q,
                      const struct blkif_request *req,
                      struct blkfront_io *io, uint64_t *id);
/* Writes queue q's shared req_prod (our private index is untouched). */
void blkfront_raw_set_req_prod(struct blkfront *bf, unsigned int q,
                               uint32_t prod);
/* Notifies the backend on queue q's event channel, unconditionally. */
void blkfront_raw_notify(struct blkfront *bf, unsigned int q);

#endif
