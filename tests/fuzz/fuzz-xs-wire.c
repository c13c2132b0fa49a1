/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the simulated xenstored's wire engine
 * (xs_client_input and everything behind it: framing, argument parsing,
 * paths, permissions, transactions, watches).  The input is a list of
 * records [client:1][len:2 LE][bytes:len] fed to three clients (dom0,
 * a guest, a driver domain) that share one store; output is drained a
 * little at a time so queues and back-pressure are exercised too.  A
 * client whose framing breaks is reconnected, as the socket layer does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xs-server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_introduce(void *arg, uint32_t domid)
{
    return domid < 8 ? 0 : 22;
}

static int fz_release(void *arg, uint32_t domid)
{
    return 0;
}

static bool fz_is_introduced(void *arg, uint32_t domid)
{
    return domid < 4;
}

static const struct xs_server_ops fz_ops = {
    .introduce = fz_introduce,
    .release = fz_release,
    .is_introduced = fz_is_introduced,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t domids[3] = { 0, 3, 5 };
    struct xs_client *cl[3];
    struct xs_server *srv;
    unsigned int i, round = 0;

    if (xs_server_new(&srv, &fz_ops, NULL))
        return 0;
    for (i = 0; i < 3; i++)
        cl[i] = xs_client_new(srv, domids[i], i == 0, NULL);
    while (size >= 3) {
        unsigned int c = data[0] % 3, len = data[1] | (data[2] << 8);
        const void *out;
        size_t n;

        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        if (xs_client_input(cl[c], data, len)) {
            xs_client_free(cl[c]);
            cl[c] = xs_client_new(srv, domids[c], c == 0, NULL);
        }
        data += len;
        size -= len;
        /* Drain some output: all of it every other round. */
        for (i = 0; i < 3; i++) {
            n = xs_client_output(cl[i], &out);
            if (n)
                xs_client_consume(cl[i], (round & 1) ? n : (n + 1) / 2);
        }
        if ((round++ & 7) == 7)
            xs_server_domain_released(srv, domids[1 + (round & 1)]);
    }
    xs_server_free(srv);
    return 0;
}
