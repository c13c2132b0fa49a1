/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iovm-netfront's TAP device: one multi-queue TAP with virtio-net headers
 * (one fd per ring queue), its offloads, MAC, MTU and link state.  Talks
 * only to our own kernel; trusts it.  Non-persistent: the device goes
 * away when its last queue fd is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <net/if_arp.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>

#include "netfront.h"

int nf_tap_open(const char *name, int *fdp)
{
    struct ifreq ifr;
    int fd, rc;

    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *fdp = fd;
    return 0;
}

int nf_tap_offload(int fd, unsigned int offload)
{
    int sz = sizeof(struct virtio_net_hdr);

    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 ||
        ioctl(fd, TUNSETOFFLOAD, offload) < 0)
        return -errno;
    return 0;
}

static int link_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

    if (s < 0)
        return -errno;
    snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
    if (ioctl(s, req, ifr) < 0)
        rc = -errno;
    close(s);
    return rc;
}

int nf_link_config(const char *name, const uint8_t mac[6], unsigned int mtu)
{
    struct ifreq ifr;
    int rc;

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
    rc = link_ioctl(name, SIOCSIFHWADDR, &ifr);
    if (rc)
        return rc;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_mtu = (int)mtu;
    return link_ioctl(name, SIOCSIFMTU, &ifr);
}

int nf_link_up(const char *name)
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

int nf_link_ifindex(const char *name)
{
    unsigned int i = if_nametoindex(name);

    return i ? (int)i : -errno;
}
