/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xl configuration files and xl disk specifications, read the way Xen
 * 4.17's libxlutil reads them (libxlu_cfg_l.l + libxlu_cfg_y.y for files,
 * libxlu_disk_l.l + libxlu_disk.c for disks), plus the pure parts of
 * libxl's disk defaults: backend type selection
 * (libxl__device_disk_setdefault, libxl__device_disk_set_backend) and
 * vdev -> devid (libxl__device_disk_dev_number).
 *
 * Also xl vif specifications (xl_parse.c:parse_nic_config, the rate
 * parser libxlu_vif.c) and libxl's nic defaults
 * (libxl_nic.c:libxl__device_nic_setdefault).
 *
 * Pure code: no I/O, no xenstore, no globals.  Everything it parses is
 * untrusted (a config file is user input that may be hostile): lengths,
 * counts and nesting are bounded, errors are reported, never asserted.
 * Every function returns 0 or -errno and, on error, a one-line message
 * in the caller's struct xlcfg_err.
 */
#ifndef IOVM_XLCFG_H
#define IOVM_XLCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bounds on hostile input; real configs are far below all of them. */
#define XLCFG_MAX_INPUT (4u << 20)   /* bytes of one config file */
#define XLCFG_MAX_STRING 65536u      /* bytes of one value, after += too */
#define XLCFG_MAX_KEY 128u           /* bytes of one key */
#define XLCFG_MAX_SETTINGS 1024u     /* distinct keys */
#define XLCFG_MAX_LIST 4096u         /* items of one list, after += too */
#define XLCFG_MAX_VALUES 65536u      /* values (strings + lists) in a file */
#define XLCFG_MAX_DEPTH 8u           /* list nesting ([[...]] is 2) */
#define XLCFG_DISK_SPEC_MAX 4096u    /* bytes of one disk spec string */
#define XLCFG_DISK_SPECS_MAX 64u     /* strings of one multi-string spec */

#define XLCFG_MSG_MAX 320
struct xlcfg_err {
    char msg[XLCFG_MSG_MAX];
};

/* ------------------------------------------------------------ files */

enum xlcfg_type {
    XLCFG_STRING, /* a quoted string or a number, kept as text */
    XLCFG_LIST,
};

struct xlcfg_value {
    enum xlcfg_type type;
    unsigned int line;           /* where the value starts */
    char *str;                   /* XLCFG_STRING: NUL-free text */
    bool quoted;                 /* XLCFG_STRING: '...' or "..." */
    struct xlcfg_value **items;  /* XLCFG_LIST */
    unsigned int nitems;
};

struct xlcfg_setting {
    char *key;
    struct xlcfg_value *value;   /* after any += concatenation */
    unsigned int line;           /* of the last assignment */
    bool added;                  /* last assignment was += */
};

struct xlcfg {
    char *source;                /* file name, for messages */
    struct xlcfg_setting *settings; /* one per key, in first-seen order */
    unsigned int nsettings;
};

/*
 * Parses len bytes of buf as an xl config file named source.  Statements
 * are `key = value` or `key += value` ended by a newline or `;` (the last
 * may lack one); values are numbers, '...' or "..." strings, or [lists]
 * of values (newlines allowed inside); `#` starts a comment that runs to
 * the newline.  A key set twice keeps the last value, as xl does.
 * Unknown keys are kept.  Syntax errors give -EINVAL and
 * "SOURCE:LINE: message"; exceeding a bound gives -E2BIG.
 */
int xlcfg_parse(const char *source, const char *buf, size_t len,
                struct xlcfg **cfg, struct xlcfg_err *err);
void xlcfg_free(struct xlcfg *cfg);

/* The setting of key, or NULL. */
const struct xlcfg_setting *xlcfg_find(const struct xlcfg *cfg,
                                       const char *key);

/*
 * Typed getters (xlu_cfg_get_*): -ENOENT if key is absent, -EINVAL with
 * a message if it has the wrong type or does not parse.  Numbers are
 * read as xl does: strtol base 0, the whole value, within [min, max];
 * a bool is any such number, non-zero meaning true.  += is refused for
 * numbers, as xl does.
 */
int xlcfg_get_string(const struct xlcfg *cfg, const char *key,
                     const char **out, struct xlcfg_err *err);
int xlcfg_get_long(const struct xlcfg *cfg, const char *key, long min,
                   long max, long *out, struct xlcfg_err *err);
int xlcfg_get_bool(const struct xlcfg *cfg, const char *key, bool *out,
                   struct xlcfg_err *err);
int xlcfg_get_list(const struct xlcfg *cfg, const char *key,
                   const struct xlcfg_value **list, struct xlcfg_err *err);

/* ----------------------------------------------------- disk specs */

enum xlcfg_disk_format {
    XLCFG_FORMAT_UNKNOWN,
    XLCFG_FORMAT_QCOW,
    XLCFG_FORMAT_QCOW2,
    XLCFG_FORMAT_VHD,
    XLCFG_FORMAT_RAW,
    XLCFG_FORMAT_EMPTY,
    XLCFG_FORMAT_QED,
};

enum xlcfg_disk_backend {
    XLCFG_BACKEND_UNKNOWN,
    XLCFG_BACKEND_PHY,
    XLCFG_BACKEND_TAP,
    XLCFG_BACKEND_QDISK,
    XLCFG_BACKEND_STANDALONE,
};

enum xlcfg_disk_spec {
    XLCFG_SPEC_UNKNOWN,
    XLCFG_SPEC_XEN,
    XLCFG_SPEC_VIRTIO,
};

/* libxl_defbool: not given, or given false/true. */
enum xlcfg_defbool {
    XLCFG_DEFAULT = -1,
    XLCFG_FALSE = 0,
    XLCFG_TRUE = 1,
};

struct xlcfg_disk {
    char *target;          /* target= / first positional; NULL: none */
    char *vdev;
    char *backend_domname; /* backend=; NULL: the toolstack domain */
    char *script;          /* script= or a deprecated iscsi:/nbd: prefix */
    char *colo_host;
    char *colo_export;
    char *active_disk;
    char *hidden_disk;
    int colo_port;
    enum xlcfg_disk_format format;
    enum xlcfg_disk_backend backendtype;
    enum xlcfg_disk_spec specification;
    bool readwrite;        /* access=rw (true) or ro */
    bool is_cdrom;         /* devtype=cdrom */
    bool removable;        /* cdroms are */
    bool direct_io_safe;
    enum xlcfg_defbool discard;
    enum xlcfg_defbool colo;
    enum xlcfg_defbool trusted;
};

/*
 * Parses a disk given as n strings (xl block-attach passes each argument
 * separately; a config file's disk=[...] element is one string), sharing
 * the parse state as xlu_disk_parse does, then finalises it: format
 * defaults to raw; a cdrom is removable and read-only, and without a
 * target its format is empty; vdev is required, and a target unless the
 * disk is removable.  The `trusted`/`untrusted` keywords follow
 * libxlu_disk_l.l (the lexer committed in 4.17.7 predates them).
 * -EINVAL with xl's message on a bad spec.  free() with xlcfg_disk_free.
 */
int xlcfg_disk_parse(const char *const *specs, unsigned int n,
                     struct xlcfg_disk *disk, struct xlcfg_err *err);
void xlcfg_disk_free(struct xlcfg_disk *disk);

/*
 * Whether libxl stat()s the target before choosing a backend: only for a
 * non-empty disk served by the toolstack domain (backend_domid 0) without
 * a script and with backendtype unknown, phy or standalone.
 */
bool xlcfg_disk_needs_stat(const struct xlcfg_disk *disk,
                           uint32_t backend_domid);

/*
 * libxl__device_disk_setdefault for a PV guest, after the backend domain
 * was resolved to backend_domid: discard defaults to readwrite, trusted
 * to true, colo to off, specification to xen; then the backend type is
 * checked or chosen (phy, qdisk, tap, standalone: first that fits).
 * target_mode is the st_mode of the target when xlcfg_disk_needs_stat()
 * said so (else ignored).  -EINVAL with a message if nothing fits.
 */
int xlcfg_disk_setdefault(struct xlcfg_disk *disk, uint32_t backend_domid,
                          mode_t target_mode, struct xlcfg_err *err);

/* Xen's names: "raw", "qcow2"...; xenstore `type` ("phy", "qdisk"...);
 * the qdisk `params` prefix ("aio", "qcow2"...); "xen"/"virtio". */
const char *xlcfg_disk_format_name(enum xlcfg_disk_format format);
const char *xlcfg_disk_backend_name(enum xlcfg_disk_backend backend);
const char *xlcfg_disk_qdisk_format(enum xlcfg_disk_format format);
const char *xlcfg_disk_spec_name(enum xlcfg_disk_spec spec);

/*
 * vdev -> devid exactly as libxl__device_disk_dev_number: d<D>p<P>,
 * xvd<letters>[<part>], a plain number, hd<l>[<p>], sd<l>[<p>].  Results
 * libxl would compute as negative (xvd, d-1p0, ...) and the empty vdev
 * (which strtoul turns into 0) are refused: -EINVAL with a message.
 */
int xlcfg_vdev_to_devid(const char *vdev, uint32_t *devid,
                        struct xlcfg_err *err);


/* ------------------------------------------------------ vif specs */

#define XLCFG_VIF_SPEC_MAX 4096u     /* bytes of one vif spec string */
#define XLCFG_VIF_MTU_DEFAULT 1500   /* LIBXL_DEVICE_NIC_MTU_DEFAULT */

enum xlcfg_nic_type {
    XLCFG_NIC_UNKNOWN,
    XLCFG_NIC_VIF_IOEMU,
    XLCFG_NIC_VIF,
};

/* xl's COLO keys (colo_<name>=), in the order libxl writes them. */
#define XLCFG_VIF_NCOLO 48u
const char *xlcfg_vif_colo_name(unsigned int i);

struct xlcfg_vif {
    char *backend_domname; /* backend=; NULL: the toolstack domain */
    int devid;             /* -1: the next free one (libxl picks) */
    int mtu;               /* 0: the default, 1500 */
    char *model;
    uint8_t mac[6];        /* all zero: a random one (libxl picks) */
    char *ip;
    char *bridge;
    char *ifname;          /* vifname= */
    char *script;
    char *gatewaydev;      /* gatewaydev= or the deprecated netdev= */
    char *forwarddev;      /* forwarddev= (COLO) */
    char *colo[XLCFG_VIF_NCOLO];
    enum xlcfg_nic_type nictype;
    uint64_t rate_bytes_per_interval;
    uint32_t rate_interval_usecs; /* 0: no rate= */
    enum xlcfg_defbool trusted;
};

/*
 * A vif as xl starts one: devid is the element's index in a config
 * file's vif=[...] (xl's ARRAY_EXTEND_INIT), -1 for network-attach.
 */
void xlcfg_vif_init(struct xlcfg_vif *vif, int devid);
void xlcfg_vif_free(struct xlcfg_vif *vif);

/* xlcfg_vif_parse_item's "accepted, with this warning in err". */
#define XLCFG_VIF_WARNING 1

/*
 * One `key=value` item (or `trusted`/`untrusted`) exactly as xl's
 * parse_nic_config matches it: the key is a prefix match of "key=", the
 * value is the rest verbatim (trailing blanks included); a key given
 * twice keeps the last value.  Returns 0; XLCFG_VIF_WARNING for netdev=
 * (deprecated) and accel= (ignored), with xl's warning in err; -ENOENT
 * for an unknown key ("unrecognized argument `...'", xl's message);
 * -EINVAL, -EOVERFLOW or -E2BIG with a one-line message naming the item
 * for a bad value.  Stricter than xl where xl reads garbage (a mac with
 * other separators or trailing text, numbers with signs, blanks or
 * trailing text, devid or mtu past INT_MAX, which libxl's int wraps):
 * refused.  rate= follows libxlu_vif.c exactly, messages included.
 */
int xlcfg_vif_parse_item(struct xlcfg_vif *vif, const char *item,
                         struct xlcfg_err *err);

/*
 * One element of a config file's vif=[...]: split at commas (empty
 * items skipped) and leading spaces dropped, as xl's strtok loop does.
 * As xl, an unknown key is a warning, given to warn() (may be NULL) and
 * skipped, and so are XLCFG_VIF_WARNING items; a bad value fails the
 * spec (xl ignores most of them, sometimes half-applied: we refuse).
 */
typedef void xlcfg_warn_fn(void *arg, const char *msg);
int xlcfg_vif_parse(const char *spec, struct xlcfg_vif *vif,
                    xlcfg_warn_fn *warn, void *arg, struct xlcfg_err *err);

/*
 * xlu_vif_parse_rate: "N[GMK]{B|b}/s[@N[m|u][s]]", interval 50 ms by
 * default; numbers read by strtoull base 0 as xl does (so a leading 0 is
 * octal).  bytes = bytes/s * usecs / 1000000.  -EINVAL or -EOVERFLOW
 * with xl's message.
 */
int xlcfg_vif_parse_rate(const char *rate, uint64_t *bytes_per_interval,
                         uint32_t *interval_usecs, struct xlcfg_err *err);

/*
 * libxl__parse_mac (what network-detach reads a MAC with): six groups of
 * exactly two hex digits separated by ':'.  0 or -EINVAL.
 */
int xlcfg_mac_parse(const char *s, uint8_t mac[6]);

/*
 * libxl__device_nic_setdefault for a PV guest, the backend domain aside
 * (the caller resolves backend_domname): mtu 1500, model rtl8139, a MAC
 * of Xen's OUI 00:16:3e and random[0] & 0x7f, random[1], random[2] when
 * none (or all zero) was given, bridge xenbr0, script
 * /etc/xen/scripts/vif-bridge, type vif (ioemu is refused for PV, with
 * libxl's message), trusted.  -ENOMEM or -EINVAL with a message.
 */
int xlcfg_vif_setdefault(struct xlcfg_vif *vif, const uint8_t random[3],
                         struct xlcfg_err *err);

/* "vif", "vif_ioemu" (libxl_nic_type_to_string, lower case). */
const char *xlcfg_nic_type_name(enum xlcfg_nic_type type);

#endif
