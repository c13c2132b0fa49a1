/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TAP devices, for both ends of a vif: multi-queue, with a vnet header
 * (offloads: checksums left to do, GSO frames whole), no packet info.
 * The network backend's vif in the driver domain is one (named as Linux
 * netback names its vifs, so the distribution's vif scripts attach it);
 * iovm-netfront's eth0 in a guest is another.  Link settings go through
 * a socket, so they are for before a sandbox.  Names and ifindexes are
 * those of the caller's network namespace.
 */
#ifndef IOVM_TAP_H
#define IOVM_TAP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Opens n queues of the TAP device name (multi-queue, vnet header, no
 * packet info, non-blocking), creating it if it does not exist; fds[]
 * get them.  0 or -errno.
 */
int iovm_tap_open(const char *name, unsigned int n, int *fds);
/* Survives its last fd (a restart), or goes with it. */
int iovm_tap_persist(int fd, bool on);
/* Lets uid attach and detach queues (a sandbox's user). */
int iovm_tap_owner(int fd, unsigned int uid);
/* Offloads the kernel may hand us (TUN_F_*). */
int iovm_tap_offload(int fd, unsigned int flags);
/* A queue joins or leaves the device's set (0 if it already had). */
int iovm_tap_queue(int fd, bool attach);

int iovm_link_set_mac(const char *name, const uint8_t mac[6]);
int iovm_link_set_mtu(const char *name, unsigned int mtu);
int iovm_link_up(const char *name);

#endif
