/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TAP devices for both ends of a vif (see tap.h), and the link settings
 * they need.  Talks only to our own kernel; trusts its caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"

int iovm_tap_open(const char *name, unsigned int n, int *fds)
{
    struct ifreq ifr;
    unsigned int i;
    int fd, hdr = sizeof(struct virtio_net_hdr), rc;

    if (strlen(name) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    for (i = 0; i < n; i++) {
        fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            rc = -errno;
            goto fail;
        }
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
        if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
            rc = -errno;
            close(fd);
            goto fail;
        }
        fds[i] = fd;
    }
    return 0;
fail:
    while (i--)
        close(fds[i]);
    return rc;
}

int iovm_tap_persist(int fd, bool on)
{
    return ioctl(fd, TUNSETPERSIST, (unsigned long)on) ? -errno : 0;
}

int iovm_tap_owner(int fd, unsigned int uid)
{
    return ioctl(fd, TUNSETOWNER, (unsigned long)uid) ? -errno : 0;
}

int iovm_tap_offload(int fd, unsigned int flags)
{
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) ? -errno : 0;
}

int iovm_tap_queue(int fd, bool attach)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
    if (!ioctl(fd, TUNSETQUEUE, &ifr))
        return 0;
    /* Already so. */
    return errno == EINVAL ? 0 : -errno;
}

static int link_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

    if (s < 0)
        return -errno;
    snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
    if (ioctl(s, req, ifr))
        rc = -errno;
    close(s);
    return rc;
}

int iovm_link_set_mac(const char *name, const uint8_t mac[6])
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
    return link_ioctl(name, SIOCSIFHWADDR, &ifr);
}

int iovm_link_set_mtu(const char *name, unsigned int mtu)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_mtu = (int)mtu;
    return link_ioctl(name, SIOCSIFMTU, &ifr);
}

int iovm_link_up(const char *name)
{
    struct ifreq ifr;
    int rc;

    memset(&ifr, 0, sizeof(ifr));
    rc = link_ioctl(name, SIOCGIFFLAGS, &ifr);
    if (rc)
        return rc;
    ifr.ifr_flags |= IFF_UP;
    return link_ioctl(name, SIOCSIFFLAGS, &ifr);
}
