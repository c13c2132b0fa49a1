/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * notify-listen PATH: the listening end of sd_notify(3)'s protocol, for
 * tests of a Type=notify daemon: binds a unix datagram socket at PATH,
 * prints "LISTENING" once bound, then prints each datagram it receives
 * (one line per message field) until one contains READY=1, and exits 0;
 * exits 1 after 30 s without it.  A test helper, not installed.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char buf[4096];
    int fd;

    if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "usage: notify-listen PATH\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    unlink(argv[1]);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        perror("notify-listen");
        return 1;
    }
    printf("LISTENING\n");
    fflush(stdout);
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, 30000) != 1)
            return 1;
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            return 1;
        buf[n] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
        if (strstr(buf, "READY=1"))
            return 0;
    }
}
