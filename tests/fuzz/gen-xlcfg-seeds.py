#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Writes hand-made seed inputs for fuzz-xlcfg's vif parsing into
# tests/fuzz/corpus/xlcfg (or the directory given), each named by the
# SHA-1 of its content as libFuzzer names what it adds.  A seed is a
# config file with a vif list, or a first line that is one vif spec or
# item (fuzz-xlcfg also reads the first line alone).
import hashlib
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/xlcfg"
os.makedirs(out, exist_ok=True)

seeds = [
    # every key xl's parse_nic_config knows, in one config
    "name = 'g'\n"
    "vif = [ 'mac=00:16:3e:01:02:03, bridge=xenbr1, backend=drvdom, "
    "rate=10Mb/s@20ms, mtu=9000, vifname=g0, ip=10.0.0.2, script=vif-route, "
    "gatewaydev=eth0, model=e1000, type=vif, devid=4, untrusted', "
    "'', 'trusted, accel=x, netdev=eth1, frob=1',,\n"
    "        'forwarddev=eth2, colo_sock_mirror_id=m, "
    "colo_checkpoint_port=9' ]\n",
    # rates: units, octal, defaults, overflows
    "vif = [ 'rate=1MB/s', 'rate=100Kb/s@1s', 'rate=1GB/s@100us', "
    "'rate=8b/s@5', 'rate=010Mb/s@020ms', 'rate=018Mb/s', "
    "'rate=4294967295GB/s', 'rate=10Mb/s@4295s', 'rate=@20ms', "
    "'rate=10Mb/s@', 'rate=10Mb/s@0ms', 'rate=10mb/s' ]\n",
    # MACs: good, one digit, bad separators, short, long, all zero
    "vif = [ 'mac=0:1:2:a:b:ff', 'mac=00-16-3e-00-00-01', 'mac=00:16:3e', "
    "'mac=00:16:3e:00:00:01:02', 'mac=00:00:00:00:00:00', 'mac=0x1:2:3:4:5:6' ]\n",
    # numbers and types xl refuses or wraps
    "vif = [ 'devid=2147483648', 'devid=-1', 'mtu=1500 ', 'mtu=0', "
    "'type=ioemu', 'type=vif_ioemu', [ 'nested' ] ]\n",
    # first-line forms
    "mac=00:16:3E:0a:bc:01\n",
    "rate=10Mb/s@20ms, mtu=9000,  bridge=br0 ,\ttrusted\n",
    "00:16:3e:ab:0c:ff\n",
]
for s in seeds:
    data = s.encode()
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
