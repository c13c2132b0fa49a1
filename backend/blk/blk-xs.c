/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The block class's part of a device's life (lib/xbdev.c drives it, from
 * whatever the store says now): probe (advertise limits; open the
 * storage, or wait for the hotplug script's physical-device), connect
 * (read the frontend's ring keys, map rings, bind event channels, start
 * the queues, publish the disk, Connected), disconnect, and the checks
 * while connected (a broken ring, a refused flush, a resize).
 *
 * Trust: the backend directory is written by the toolstack and by us
 * (the frontend can only read it); everything under the frontend
 * directory is hostile and parsed strictly, and bad values fail only this
 * device (error node, Closing).  Keys are documented in
 * xenstore-schema/vbd.schema.
 */
#include <errno.h>
#include <linux/fs.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blk-dev.h"
#include "sandbox.h"
#include "log.h"
#include "util.h"

#define MAX_EVTCHN_PORT (1u << 17) /* FIFO ABI */

/* What the block data path needs in the sandbox: io_uring and the
 * storage's own calls, and a block device's size (resize) and discard. */
static const int blk_syscalls[] = {
    SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
    SCMP_SYS(io_uring_register), SCMP_SYS(fdatasync), SCMP_SYS(fsync),
    SCMP_SYS(fallocate),
};
static const unsigned long blk_ioctls[] = {
    BLKGETSIZE64, BLKDISCARD, BLKSECDISCARD,
};
static const struct iovm_sandbox blk_sandbox = {
    blk_syscalls, IOVM_ARRAY_SIZE(blk_syscalls),
    blk_ioctls, IOVM_ARRAY_SIZE(blk_ioctls),
};

static struct xs_handle *XS(struct blk_dev *dev)
{
    return dev->bb->bed.xs;
}

/* A fatal device error: error node, disconnect, Closing. */
#define dev_fatal(dev, ...) xbdev_fatal(&(dev)->xb, __VA_ARGS__)

static int dev_switch(struct blk_dev *dev, enum xenbus_state s, bool force)
{
    return xbdev_switch(&dev->xb, s, force);
}

/* ---------------------------------------------------------------- */
/* probe */

/* Is path the block device maj:min? */
static bool is_bdev(const char *path, unsigned int maj, unsigned int min)
{
    struct stat sb;

    return !stat(path, &sb) && S_ISBLK(sb.st_mode) &&
           major(sb.st_rdev) == maj && minor(sb.st_rdev) == min;
}

/*
 * Where the storage is: what a hotplug script set up (physical-device,
 * "MAJOR:MINOR" in hex, with physical-device-path naming the node), else
 * params.  -EAGAIN while a hotplug script that runs for the device has
 * not said "connected" (a script that has nothing to set up, for a
 * phy: path say, writes only that: then params it is).
 */
static int dev_store_path(struct blk_dev *dev, char *path, size_t len)
{
    char pd[32], pdp[256], params[256];
    unsigned int maj, min;
    int rc, end = 0;

    /* The script writes hotplug-status last: until then, wait. */
    if (dev->bb->hotplug &&
        (xb_read_str(XS(dev), XBT_NULL, dev->xb.be, "hotplug-status", pd,
                     sizeof(pd)) ||
         strcmp(pd, "connected")))
        return -EAGAIN;
    rc = xb_read_str(XS(dev), XBT_NULL, dev->xb.be, "physical-device", pd,
                     sizeof(pd));
    if (rc == -ENOENT) {
        rc = xb_read_str(XS(dev), XBT_NULL, dev->xb.be, "params", params,
                         sizeof(params));
        return rc ? rc : blk_store_resolve(params, path, len);
    }
    if (rc)
        return rc;
    if (sscanf(pd, "%x:%x%n", &maj, &min, &end) != 2 || pd[end])
        return -EINVAL;
    /* The node the script named, if it is that device; else udev's. */
    if (!xb_read_str(XS(dev), XBT_NULL, dev->xb.be, "physical-device-path", pdp,
                     sizeof(pdp)) &&
        is_bdev(pdp, maj, min)) {
        snprintf(path, len, "%s", pdp);
        return 0;
    }
    snprintf(path, len, "/dev/block/%u:%u", maj, min);
    return is_bdev(path, maj, min) ? 0 : -ENODEV;
}

/*
 * Opens the storage and takes the disk's limits from it.  Returns 0,
 * -EAGAIN (a hotplug script has not provided it yet), or -errno after
 * failing the device.
 */
static int dev_open_store(struct blk_dev *dev)
{
    struct blkback *bb = dev->bb;
    char mode[8], dtype[16], path[256];
    unsigned int discard = 1, dio = 0, removable = 0;
    uint64_t t0, give_up;
    bool writable;
    int rc;

    if (dev->store_open)
        return 0;
    rc = dev_store_path(dev, path, sizeof(path));
    if (rc == -EAGAIN)
        return rc;
    if (rc) {
        dev_fatal(dev, -rc, "finding the storage: %s", strerror(-rc));
        return rc;
    }
    if (xb_read_str(XS(dev), XBT_NULL, dev->xb.be, "mode", mode, sizeof(mode)))
        strcpy(mode, "w");
    if (xb_read_str(XS(dev), XBT_NULL, dev->xb.be, "device-type", dtype,
                    sizeof(dtype)))
        strcpy(dtype, "disk");
    writable = mode[0] == 'w';
    dev->cdrom = !strcmp(dtype, "cdrom");
    xb_read_uint_default(XS(dev), XBT_NULL, dev->xb.be, "discard-enable", 1,
                         writable, &discard);
    xb_read_uint_default(XS(dev), XBT_NULL, dev->xb.be, "direct-io-safe", 1, 0,
                         &dio);
    xb_read_uint_default(XS(dev), XBT_NULL, dev->xb.be, "removable", 1, 0,
                         &removable);
    dev->removable = removable;
    /*
     * "In use" may be a process of ours that just ended: a killed one's
     * io_uring lets go of its files a moment after it is gone.  Give it
     * a second before calling the storage shared.
     */
    /* Taking over from a process that died: its I/O in the kernel may
     * take longer to finish, and it must before we start. */
    t0 = iovm_now_ns();
    give_up = t0 + (dev->xb.state == XenbusStateConnected ? 30000u : 1000u) *
                       1000000ull;
    for (;;) {
        rc = blk_store_open(&dev->store, path, writable && !dev->cdrom, dio,
                            discard);
        if (rc != -EBUSY || iovm_now_ns() >= give_up)
            break;
        usleep(5000);
    }
    if (!rc && iovm_now_ns() - t0 > 5000000u)
        LOG_INFO("%s: the storage was in use for %llu ms (a previous "
                 "process's I/O finishing)",
                 dev->xb.be,
                 (unsigned long long)((iovm_now_ns() - t0) / 1000000u));
    if (rc) {
        dev_fatal(dev, -rc, "opening %s: %s", path,
                  rc == -EBUSY ? "already attached read-write elsewhere"
                               : strerror(-rc));
        return rc;
    }
    dev->store_open = true;
    /* Everything is open: from here on, nothing more may be. */
    if (bb->sandbox && !bb->sandboxed) {
        rc = iovm_sandbox_enter(bb->user, &blk_sandbox);
        if (rc) {
            dev_fatal(dev, -rc, "cannot enter the sandbox: %s",
                      strerror(-rc));
            return rc;
        }
        bb->sandboxed = true;
    }
    dev->lim.sectors = dev->store.size >> 9;
    dev->lim.sector_size = dev->store.sector_size;
    dev->lim.readonly = dev->store.readonly;
    dev->lim.flush = dev->store.flush;
    dev->lim.barrier = dev->store.flush;
    dev->lim.discard = dev->store.discard;
    dev->lim.discard_secure = dev->store.discard_secure;
    dev->lim.max_indirect_segs = bb->indirect ? BLK_MAX_INDIRECT_SEGS : 0;
    LOG_INFO("%s: %s, %llu sectors, %s%s%s%s", dev->xb.be, dev->store.path,
             (unsigned long long)dev->lim.sectors,
             dev->lim.readonly ? "read-only" : "read-write",
             dev->store.direct ? ", O_DIRECT" : "",
             dev->lim.flush ? ", flush" : "",
             dev->lim.discard ? ", discard" : "");
    return 0;
}

/*
 * Probe: advertise the limits (lib/xbdev.c then writes InitWait, unless
 * resuming a device that is Connected already).  Without a hotplug
 * script the storage is opened first, so a disk that cannot be served
 * never reaches InitWait; with one, the script runs once we are in
 * InitWait (Debian's block script insists) and the storage opens when it
 * has said where it is (ops_prepare).
 */
static int dev_probe(struct blk_dev *dev, bool resume)
{
    struct blkback *bb = dev->bb;
    int rc;

    if (!bb->hotplug) {
        rc = dev_open_store(dev);
        if (rc)
            return rc;
    }
    /* Limits before InitWait: some frontends read them early. */
    rc = 0;
    if (bb->indirect)
        rc = xb_printf(XS(dev), XBT_NULL, dev->xb.be,
                       "feature-max-indirect-segments", "%u",
                       BLK_MAX_INDIRECT_SEGS);
    if (!rc)
        rc = xb_printf(XS(dev), XBT_NULL, dev->xb.be, "multi-queue-max-queues",
                       "%u", bb->max_queues);
    if (!rc)
        rc = xb_printf(XS(dev), XBT_NULL, dev->xb.be, "max-ring-page-order",
                       "%u", bb->max_ring_order);
    /* We open the storage ourselves: no hotplug script to wait for. */
    if (!rc && !bb->hotplug)
        rc = xb_printf(XS(dev), XBT_NULL, dev->xb.be, "hotplug-status",
                       "connected");
    if (rc) {
        dev_fatal(dev, -rc, "writing limits: %s", strerror(-rc));
        return rc;
    }
    (void)resume; /* the same limits either way */
    return 0;
}

/* ---------------------------------------------------------------- */
/* connect */

static void queue_teardown(struct blk_queue *q)
{
    bool started = q->thread_started;

    /* The thread first: its counters are final once it is gone. */
    blk_queue_stop(q);
    if (started)
        LOG_INFO("%s queue %u: %llu requests, %llu wake-ups (%llu spurious), "
                 "%llu notifications, %llu refused; grants: %llu maps in "
                 "%llu calls, %llu cache hits",
                 q->dev->xb.be, q->idx, (unsigned long long)q->st_reqs,
                 (unsigned long long)q->st_wakeups,
                 (unsigned long long)q->st_spurious,
                 (unsigned long long)q->st_notify,
                 (unsigned long long)q->st_errors,
                 (unsigned long long)q->pcache.maps,
                 (unsigned long long)q->pcache.map_calls,
                 (unsigned long long)q->pcache.hits);
    if (q->ring_addr) {
        xengnttab_unmap(q->gnt, q->ring_addr, q->ring_pages);
        q->ring_addr = NULL;
    }
    if (q->gnt || q->evtchn) /* (a queue never set up has no dev) */
        iovm_bed_handles_put(&q->dev->bb->bed, &q->gnt, &q->evtchn,
                             &q->port, 1);
    q->port = 0;
}

/* What a queue's frontend directory says: its ring pages and port. */
struct queue_keys {
    uint32_t refs[BLK_MAX_RING_PAGES];
    uint32_t port;
};

static int queue_read_keys(struct blk_dev *dev, const char *dir,
                           unsigned int order, struct queue_keys *k)
{
    unsigned int i, port, npages = 1u << order;
    char key[24];
    int rc;

    for (i = 0; i < npages; i++) {
        unsigned int ref;

        if (order == 0) {
            rc = xb_read_uint(XS(dev), XBT_NULL, dir, "ring-ref", UINT32_MAX,
                              &ref);
            if (rc == -ENOENT)
                rc = xb_read_uint(XS(dev), XBT_NULL, dir, "ring-ref0",
                                  UINT32_MAX, &ref);
        } else {
            snprintf(key, sizeof(key), "ring-ref%u", i);
            rc = xb_read_uint(XS(dev), XBT_NULL, dir, key, UINT32_MAX, &ref);
        }
        if (rc) {
            dev_fatal(dev, -rc, "%s: bad or missing ring-ref", dir);
            return rc;
        }
        k->refs[i] = ref;
    }
    rc = xb_read_uint(XS(dev), XBT_NULL, dir, "event-channel",
                      MAX_EVTCHN_PORT, &port);
    if (rc) {
        dev_fatal(dev, -rc, "%s: bad or missing event-channel", dir);
        return rc;
    }
    k->port = port;
    return 0;
}

/*
 * The queue's journal: a fresh connection starts it where the ring
 * starts; taking over, it says where to go on from and what to serve
 * again.  *replay counts the requests taken over.
 */
static int queue_journal(struct blk_dev *dev, struct blk_queue *q,
                         const char *dir)
{
    struct iovm_rj_recovery *rec;
    int rc;

    if (!dev->bb->journal)
        return 0;
    q->jq = &dev->bb->journal->q[q->idx];
    if (!dev->resuming) {
        iovm_rj_queue_init(q->jq, q->ring.req_cons, q->ring.rsp_prod_pvt);
        return 0;
    }
    rec = malloc(sizeof(*rec));
    if (!rec) {
        dev_fatal(dev, ENOMEM, "out of memory");
        return -ENOMEM;
    }
    rc = iovm_rj_recover(q->jq, q->ring.nr_ents, rec);
    /* The ring went further than the journal: a process that kept no
     * journal served it since (say, after a clean stop). */
    if (!rc && (int32_t)(q->ring.rsp_prod_pvt - rec->rsp_prod_pvt) > 0) {
        if (dev->clean_stop) {
            LOG_WARN("%s: the ring journal is older than the ring; the "
                     "previous process stopped cleanly: going on from the "
                     "ring",
                     dir);
            free(rec);
            memset(q->jq->ent, 0, sizeof(q->jq->ent));
            iovm_rj_queue_init(q->jq, q->ring.req_cons, q->ring.rsp_prod_pvt);
            return 0;
        }
        rc = -EBADMSG;
    }
    if (rc) {
        free(rec);
        dev_fatal(dev, EBADMSG, "%s: the ring journal does not add up; "
                                "cannot take the queue over",
                  dir);
        return rc;
    }
    q->ring.req_cons = rec->req_cons;
    q->ring.rsp_prod_pvt = rec->rsp_prod_pvt;
    q->rec = rec;
    q->resumed = true;
    if (dev->bb->bed.stat) {
        __atomic_add_fetch(&dev->bb->bed.stat->replay_left, rec->nreplay,
                           __ATOMIC_ACQ_REL);
        __atomic_add_fetch(&dev->bb->bed.stat->resumed_reqs, rec->nreplay,
                           __ATOMIC_RELAXED);
    }
    LOG_INFO("%s: took over from the previous process: %u request(s) to "
             "serve again%s, ring at %u/%u",
             dir, rec->nreplay,
             rec->answer >= 0 ? ", 1 response to write again" : "",
             rec->req_cons, rec->rsp_prod_pvt);
    return 0;
}

static int queue_connect(struct blk_dev *dev, struct blk_queue *q,
                         const char *dir, unsigned int order,
                         enum blk_abi abi, bool persistent,
                         const struct queue_keys *k)
{
    unsigned int npages = 1u << order;
    xenevtchn_port_or_error_t lport;
    int rc;

    q->dev = dev;
    q->stop_efd = q->uring_efd = -1;
    q->abi = abi;
    q->persistent = persistent;
    rc = iovm_bed_handles(&dev->bb->bed, q->idx, &q->gnt, &q->evtchn);
    if (rc) {
        dev_fatal(dev, -rc, "opening grant/event-channel devices: %s",
                  strerror(-rc));
        return rc;
    }
    /* Room for the ring and every segment and indirect page. */
    xengnttab_set_max_grants(q->gnt,
                             npages + iovm_ring_size((size_t)npages * 4096,
                                                     blk_abi_entry_size(abi)) *
                                          (BLK_MAX_SEGS + 8));
    q->ring_addr = xengnttab_map_domain_grant_refs(
        q->gnt, npages, dev->xb.fe_domid, (uint32_t *)k->refs,
        PROT_READ | PROT_WRITE);
    if (!q->ring_addr) {
        rc = -errno;
        dev_fatal(dev, -rc, "%s: mapping the ring failed: %s", dir,
                  strerror(-rc));
        return rc;
    }
    q->ring_pages = npages;
    rc = iovm_back_ring_attach(&q->ring, q->ring_addr, (size_t)npages * 4096,
                               blk_abi_entry_size(abi));
    if (rc) {
        dev_fatal(dev, -rc, "%s: ring too small", dir);
        return rc;
    }
    rc = queue_journal(dev, q, dir);
    if (rc)
        return rc;
    if (iovm_back_ring_begin(&q->ring) < 0) {
        dev_fatal(dev, EPROTO, "%s: ring indices are corrupt", dir);
        return -EPROTO;
    }
    /* This handle only ever talks to the frontend's domain. */
    xenevtchn_restrict(q->evtchn, dev->xb.fe_domid);
    lport = xenevtchn_bind_interdomain(q->evtchn, dev->xb.fe_domid, k->port);
    if (lport < 0) {
        rc = -errno;
        dev_fatal(dev, -rc, "%s: binding event channel %u failed: %s", dir,
                  k->port, strerror(-rc));
        return rc;
    }
    q->port = lport;
    rc = blk_queue_start(q);
    if (rc) {
        dev_fatal(dev, -rc, "%s: starting the queue failed: %s", dir,
                  strerror(-rc));
        return rc;
    }
    return 0;
}

static int write_disk_info(struct blk_dev *dev, xs_transaction_t t)
{
    struct xs_handle *xs = XS(dev);
    unsigned int info = (dev->lim.readonly ? VDISK_READONLY : 0) |
                        (dev->cdrom ? VDISK_CDROM : 0) |
                        (dev->removable ? VDISK_REMOVABLE : 0);
    int rc;

    rc = xb_printf(xs, t, dev->xb.be, "feature-flush-cache", "%d",
                   dev->lim.flush);
    if (!rc)
        rc = xb_printf(xs, t, dev->xb.be, "feature-barrier", "%d",
                       dev->lim.barrier);
    if (!rc && dev->lim.discard) {
        rc = xb_printf(xs, t, dev->xb.be, "discard-granularity", "%u",
                       dev->store.discard_granularity
                           ? dev->store.discard_granularity
                           : dev->lim.sector_size);
        if (!rc)
            rc = xb_printf(xs, t, dev->xb.be, "discard-alignment", "0");
        if (!rc)
            rc = xb_printf(xs, t, dev->xb.be, "discard-secure", "%d",
                           dev->lim.discard_secure);
    }
    if (!rc)
        rc = xb_printf(xs, t, dev->xb.be, "feature-discard", "%d",
                       dev->lim.discard);
    /* Our capability, not the negotiated value (the 2022 Linux fix). */
    if (!rc)
        rc = xb_printf(xs, t, dev->xb.be, "feature-persistent", "%d",
                       dev->bb->persistent);
    if (!rc)
        rc = xb_printf(xs, t, dev->xb.be, "sectors", "%llu",
                       (unsigned long long)dev->lim.sectors);
    if (!rc)
        rc = xb_printf(xs, t, dev->xb.be, "info", "%u", info);
    if (!rc)
        rc = xb_printf(xs, t, dev->xb.be, "sector-size", "%u",
                       dev->lim.sector_size);
    if (!rc)
        rc = xb_printf(xs, t, dev->xb.be, "physical-sector-size", "%u",
                       dev->store.phys_sector_size);
    return rc;
}

static void queue_dir(const struct blk_dev *dev, unsigned int nq,
                      unsigned int i, char *dir, size_t len)
{
    if (nq == 1)
        snprintf(dir, len, "%s", dev->xb.fe);
    else
        snprintf(dir, len, "%s/queue-%u", dev->xb.fe, i);
}

/*
 * The journal for a connection of key: a fresh connection starts an
 * empty one; taking over a Connected device needs the journal of that
 * very connection (or a clean stop, which left nothing outstanding).
 */
static int dev_journal_begin(struct blk_dev *dev, uint64_t key,
                             unsigned int nq)
{
    struct iovm_rjournal *j = dev->bb->journal;
    char path[200];

    dev->resuming = dev->clean_stop = false;
    if (!j)
        return 0;
    snprintf(path, sizeof(path), "%s/%s", dev->xb.be, BLK_CLEAN_STOP_KEY);
    dev->clean_stop = xb_exists(XS(dev), XBT_NULL, path);
    if (dev->xb.state == XenbusStateConnected && iovm_rj_matches(j, key, nq)) {
        dev->resuming = true;
        return 0;
    }
    if (dev->xb.state == XenbusStateConnected && !dev->clean_stop) {
        dev_fatal(dev, EPIPE, "the previous backend process ended and its "
                              "ring journal is not of this connection; "
                              "requests it had taken are lost");
        return -EPIPE;
    }
    iovm_rj_begin(j, key, nq);
    return 0;
}

static int dev_connect(struct blk_dev *dev)
{
    struct blkback *bb = dev->bb;
    unsigned int nq, order, fe_persistent, i, tries, v;
    struct queue_keys *keys;
    char proto[32], dir[200];
    enum blk_abi abi = BLK_ABI_NATIVE;
    uint64_t key;
    int rc;

    rc = xb_read_str(XS(dev), XBT_NULL, dev->xb.fe, "protocol", proto,
                     sizeof(proto));
    if (rc == -ENOENT)
        proto[0] = '\0';
    else if (rc || blk_abi_parse(proto, &abi)) {
        dev_fatal(dev, EINVAL, "unknown protocol");
        return -EINVAL;
    }
    blk_abi_parse(proto, &abi);
    rc = xb_read_uint_default(XS(dev), XBT_NULL, dev->xb.fe, "feature-persistent",
                              1, 0, &fe_persistent);
    if (!rc)
        rc = xb_read_uint_default(XS(dev), XBT_NULL, dev->xb.fe,
                                  "multi-queue-num-queues", bb->max_queues, 1,
                                  &nq);
    if (rc || nq == 0) {
        /* Both bounds matter: zero queues is as bad as too many. */
        dev_fatal(dev, EINVAL, "bad multi-queue-num-queues or "
                               "feature-persistent");
        return -EINVAL;
    }
    rc = xb_read_uint_default(XS(dev), XBT_NULL, dev->xb.fe, "ring-page-order",
                              bb->max_ring_order, 0, &order);
    if (rc) {
        dev_fatal(dev, EINVAL, "bad ring-page-order");
        return -EINVAL;
    }
    dev->queues = calloc(nq, sizeof(*dev->queues));
    if (!dev->queues) {
        dev_fatal(dev, ENOMEM, "out of memory");
        return -ENOMEM;
    }
    dev->nqueues = nq;
    keys = calloc(nq, sizeof(*keys));
    if (!keys) {
        dev_fatal(dev, ENOMEM, "out of memory");
        return -ENOMEM;
    }
    /* The connection, as the journal knows it: what the frontend set up. */
    key = iovm_rj_hash(IOVM_RJ_HASH_INIT, &dev->xb.fe_domid,
                       sizeof(dev->xb.fe_domid));
    key = iovm_rj_hash(key, &dev->xb.devid, sizeof(dev->xb.devid));
    key = iovm_rj_hash(key, &order, sizeof(order));
    key = iovm_rj_hash(key, &abi, sizeof(abi));
    v = bb->persistent && fe_persistent;
    key = iovm_rj_hash(key, &v, sizeof(v));
    for (i = 0; i < nq; i++) {
        queue_dir(dev, nq, i, dir, sizeof(dir));
        rc = queue_read_keys(dev, dir, order, &keys[i]);
        if (rc) {
            free(keys);
            return rc;
        }
        key = iovm_rj_hash(key, &keys[i], sizeof(keys[i]));
    }
    rc = dev_journal_begin(dev, key, nq);
    if (rc) {
        free(keys);
        return rc;
    }
    for (i = 0; i < nq; i++) {
        struct blk_queue *q = &dev->queues[i];

        q->idx = i;
        q->stop_efd = q->uring_efd = -1;
        /* The device's ceilings, shared out (each queue can always take
         * its largest request). */
        q->max_inflight_pages =
            IOVM_MAX(bb->max_inflight_bytes / 4096u / nq, BLK_MAX_SEGS);
    }
    if (bb->bed.stat) {
        for (i = 0; i < nq && i < IOVM_DEVSTAT_QUEUES; i++)
            dev->queues[i].ds = &bb->bed.stat->q[i];
        /* One for the connect itself: nothing reads 0 before it ends. */
        IOVM_DEVSTAT_SET(bb->bed.stat->serving, 0u);
        IOVM_DEVSTAT_SET(bb->bed.stat->replay_left, 1u);
    }
    for (i = 0; i < nq; i++) {
        queue_dir(dev, nq, i, dir, sizeof(dir));
        rc = queue_connect(dev, &dev->queues[i], dir, order, abi,
                           bb->persistent && fe_persistent, &keys[i]);
        if (rc) {
            free(keys);
            return rc; /* dev_fatal tore it all down */
        }
    }
    free(keys);
    dev->xb.connected = true;
    if (bb->journal)
        iovm_rj_commit(bb->journal);
    if (bb->bed.stat) {
        IOVM_DEVSTAT_SET(bb->bed.stat->nqueues, nq);
        if (!__atomic_sub_fetch(&bb->bed.stat->replay_left, 1, __ATOMIC_ACQ_REL))
            IOVM_DEVSTAT_SET(bb->bed.stat->serving, 1u);
    }
    if (dev->resuming) {
        /* Taken over: the frontend was told all of this already. */
        LOG_INFO("%s: connection taken over (%u queue(s))", dev->xb.be, nq);
        dev->resuming = false;
        return 0;
    }
    for (tries = 0; tries < 16; tries++) {
        xs_transaction_t t = xs_transaction_start(XS(dev));

        if (!t)
            break;
        rc = write_disk_info(dev, t);
        if (!xs_transaction_end(XS(dev), t, rc != 0)) {
            if (!rc && errno == EAGAIN)
                continue;
            rc = rc ? rc : -errno;
        }
        break;
    }
    if (rc) {
        dev_fatal(dev, -rc, "publishing the disk: %s", strerror(-rc));
        return rc;
    }
    LOG_INFO("%s: connected to domain %u: %u queue(s), %u-page ring, %s, "
             "%s grants",
             dev->xb.be, dev->xb.fe_domid, nq, 1u << order,
             proto[0] ? proto : "native",
             bb->persistent && fe_persistent ? "persistent" : "copied");
    return dev_switch(dev, XenbusStateConnected, false);
}

/* suspend: a maintenance stop, the journal kept for the next process. */
static void dev_disconnect_how(struct blk_dev *dev, bool suspend)
{
    unsigned int i;

    /* All queues drain and unmap at once; then each is reaped. */
    for (i = 0; i < dev->nqueues; i++)
        blk_queue_request_stop(&dev->queues[i]);
    for (i = 0; i < dev->nqueues; i++)
        queue_teardown(&dev->queues[i]);
    free(dev->queues);
    dev->queues = NULL;
    dev->nqueues = 0;
    if (dev->bb->bed.stat) {
        IOVM_DEVSTAT_SET(dev->bb->bed.stat->nqueues, 0);
        for (i = 0; i < IOVM_DEVSTAT_QUEUES; i++)
            IOVM_DEVSTAT_SET(dev->bb->bed.stat->q[i].inflight, 0);
    }
    if (dev->xb.connected)
        LOG_INFO("%s: disconnected", dev->xb.be);
    if (dev->xb.connected && dev->bb->journal && !suspend)
        iovm_rj_end(dev->bb->journal);
    dev->xb.connected = false;
}

static void dev_disconnect(struct blk_dev *dev)
{
    dev_disconnect_how(dev, false);
}

void blk_dev_suspend(struct blk_dev *dev)
{
    bool resumable = dev->xb.connected && dev->xb.state == XenbusStateConnected;

    /* Every request taken is answered and published before this
     * returns; what the frontend queues meanwhile waits in its ring. */
    dev_disconnect_how(dev, resumable);
    if (resumable &&
        !xb_printf(XS(dev), XBT_NULL, dev->xb.be, BLK_CLEAN_STOP_KEY, "1"))
        LOG_INFO("%s: stopped with the rings drained; the next backend "
                 "process resumes the device",
                 dev->xb.be);
}

void blk_dev_shutdown(struct blk_dev *dev, bool closing)
{
    dev_disconnect(dev);
    if (closing)
        dev_switch(dev, XenbusStateClosing, false);
}

void blk_dev_free(struct blk_dev *dev)
{
    dev_disconnect(dev);
    xbdev_unwatch(&dev->xb);
    if (dev->store_open)
        blk_store_close(&dev->store);
    free(dev);
}

/* ---------------------------------------------------------------- */
/* while connected */

/* Storage grew or shrank: publish it (sectors, then state again). */
static void dev_check_resize(struct blk_dev *dev)
{
    uint64_t size;

    if (!dev->store_open || blk_store_size(&dev->store, &size) ||
        (size >> 9) == dev->lim.sectors)
        return;
    LOG_INFO("%s: resized from %llu to %llu sectors", dev->xb.be,
             (unsigned long long)dev->lim.sectors,
             (unsigned long long)(size >> 9));
    __atomic_store_n(&dev->lim.sectors, size >> 9, __ATOMIC_RELEASE);
    if (dev->xb.state == XenbusStateConnected) {
        xb_printf(XS(dev), XBT_NULL, dev->xb.be, "sectors", "%llu",
                  (unsigned long long)(size >> 9));
        /* Re-writing Connected tells the frontend to look. */
        dev_switch(dev, XenbusStateConnected, true);
    }
}

/* Both flush features go at once: a frontend that reads one withdrawn
 * must not find the other still offered. */
static void withdraw_flush(struct blk_dev *dev)
{
    unsigned int tries;
    xs_transaction_t t;

    for (tries = 0; tries < 10; tries++) {
        t = xs_transaction_start(XS(dev));
        if (!t)
            break;
        if (xb_printf(XS(dev), t, dev->xb.be, "feature-flush-cache", "0") ||
            xb_printf(XS(dev), t, dev->xb.be, "feature-barrier", "0")) {
            xs_transaction_end(XS(dev), t, true);
            break;
        }
        if (xs_transaction_end(XS(dev), t, false))
            return;
        if (errno != EAGAIN)
            break;
    }
    LOG_WARN("%s: cannot withdraw the flush features in xenstore",
             dev->xb.be);
}

/* What the queue threads reported since last time. */
static bool dev_check_queues(struct blk_dev *dev)
{
    unsigned int i;

    for (i = 0; i < dev->nqueues; i++) {
        struct blk_queue *q = &dev->queues[i];

        if (__atomic_load_n(&q->broken, __ATOMIC_ACQUIRE)) {
            dev_fatal(dev, EPROTO, "queue %u: frontend sent bogus ring "
                                   "requests; halting",
                      i);
            return false;
        }
        if (__atomic_exchange_n(&q->flush_failed, false, __ATOMIC_ACQ_REL) &&
            !dev->flush_withdrawn) {
            /* The storage cannot flush: say so, as Linux blkback does. */
            dev->flush_withdrawn = true;
            dev->lim.flush = dev->lim.barrier = false;
            LOG_WARN("%s: storage refused a flush; withdrawing "
                     "feature-flush-cache",
                     dev->xb.be);
            withdraw_flush(dev);
        }
    }
    return true;
}

/* ---------------------------------------------------------------- */
/* the class's hooks (lib/xbdev.c drives them) */

static int ops_probe(struct xbdev *xd, bool resume)
{
    return dev_probe(BLK_DEV(xd), resume);
}

static int ops_prepare(struct xbdev *xd)
{
    return dev_open_store(BLK_DEV(xd));
}

static int ops_connect(struct xbdev *xd)
{
    return dev_connect(BLK_DEV(xd));
}

static void ops_disconnect(struct xbdev *xd)
{
    dev_disconnect(BLK_DEV(xd));
}

static void ops_release(struct xbdev *xd)
{
    struct blk_dev *dev = BLK_DEV(xd);

    if (dev->store_open) {
        blk_store_close(&dev->store);
        dev->store_open = false;
    }
}

/* A journal of a live connection: the next process can take it over. */
static bool ops_resumable(struct xbdev *xd)
{
    const struct iovm_rjournal *j = BLK_DEV(xd)->bb->journal;

    return j && __atomic_load_n(&j->valid, __ATOMIC_ACQUIRE) == 1 &&
           j->magic == IOVM_RJ_MAGIC;
}

static bool ops_check(struct xbdev *xd)
{
    struct blk_dev *dev = BLK_DEV(xd);

    if (!dev_check_queues(dev))
        return false;
    dev_check_resize(dev);
    return true;
}

const struct xbdev_ops blk_xbdev_ops = {
    .probe = ops_probe,
    .prepare = ops_prepare,
    .connect = ops_connect,
    .disconnect = ops_disconnect,
    .release = ops_release,
    .check = ops_check,
    .resumable = ops_resumable,
};
