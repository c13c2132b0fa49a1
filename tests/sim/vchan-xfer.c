/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vchan-xfer: moves a deterministic byte stream both ways over Debian's
 * libxenvchan (a library written for real Xen) and checks every byte.
 * Run as a server in one simulated domain and a client in another:
 *
 *   vchan-xfer server CLIENT_DOMID XS_PATH BYTES
 *   vchan-xfer client SERVER_DOMID XS_PATH BYTES
 *
 * Each side sends BYTES and expects BYTES of the peer's stream; it prints
 * "OK sent=N received=N fnv=HEX" and exits 0 only if all arrived intact.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxenvchan.h>

/* The stream: byte i of direction d is a function of (d, i). */
static uint8_t stream_byte(unsigned int dir, uint64_t i)
{
    uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull + dir * 0x632be59bd9b4e019ull;

    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (uint8_t)(x >> ((i & 7) * 8));
}

int main(int argc, char **argv)
{
    struct libxenvchan *ctrl;
    uint64_t total, sent = 0, recvd = 0, fnv = 1469598103934665603ull;
    unsigned int me, peer;
    uint8_t buf[65536];
    char *end;
    int server;

    if (argc != 5 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
        fprintf(stderr, "usage: vchan-xfer server|client PEER_DOMID XS_PATH "
                        "BYTES\n");
        return 2;
    }
    server = !strcmp(argv[1], "server");
    peer = strtoul(argv[2], &end, 10);
    total = strtoull(argv[4], NULL, 10);
    me = server ? 0 : 1;
    if (server)
        ctrl = libxenvchan_server_init(NULL, peer, argv[3], 0, 0);
    else
        ctrl = libxenvchan_client_init(NULL, peer, argv[3]);
    if (!ctrl) {
        fprintf(stderr, "vchan-xfer %s: init failed: %s\n", argv[1],
                strerror(errno));
        return 1;
    }
    ctrl->blocking = 0;
    if (server) {
        /* Wait for the client to connect. */
        while (libxenvchan_is_open(ctrl) == 2)
            if (libxenvchan_wait(ctrl) < 0) {
                perror("vchan-xfer: wait");
                return 1;
            }
    }
    while (sent < total || recvd < total) {
        int progress = 0, n;

        if (sent < total) {
            int space = libxenvchan_buffer_space(ctrl);

            if (space > 0) {
                uint64_t k, want = total - sent;

                if (want > (uint64_t)space)
                    want = space;
                if (want > sizeof(buf))
                    want = sizeof(buf);
                for (k = 0; k < want; k++)
                    buf[k] = stream_byte(me, sent + k);
                n = libxenvchan_write(ctrl, buf, want);
                if (n < 0) {
                    fprintf(stderr, "vchan-xfer: write failed\n");
                    return 1;
                }
                sent += n;
                progress |= n > 0;
            }
        }
        if (recvd < total) {
            int avail = libxenvchan_data_ready(ctrl);

            if (avail > 0) {
                int k;

                if (avail > (int)sizeof(buf))
                    avail = sizeof(buf);
                n = libxenvchan_read(ctrl, buf, avail);
                if (n < 0) {
                    fprintf(stderr, "vchan-xfer: read failed\n");
                    return 1;
                }
                for (k = 0; k < n; k++) {
                    if (buf[k] != stream_byte(!me, recvd + k)) {
                        fprintf(stderr,
                                "vchan-xfer: corrupt byte at %" PRIu64 "\n",
                                recvd + k);
                        return 1;
                    }
                    fnv = (fnv ^ buf[k]) * 1099511628211ull;
                }
                recvd += n;
                progress |= n > 0;
            }
        }
        if (progress)
            continue;
        /* Nothing moved: the peer must still be there to move it. */
        if (!libxenvchan_is_open(ctrl)) {
            fprintf(stderr, "vchan-xfer: peer closed after %" PRIu64
                            " received\n", recvd);
            return 1;
        }
        if (libxenvchan_wait(ctrl) < 0) {
            perror("vchan-xfer: wait");
            return 1;
        }
    }
    printf("OK sent=%" PRIu64 " received=%" PRIu64 " fnv=%016" PRIx64 "\n",
           sent, recvd, fnv);
    libxenvchan_close(ctrl);
    return 0;
}
