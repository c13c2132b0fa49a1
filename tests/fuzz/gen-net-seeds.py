#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Writes seed inputs for fuzz-net-tx into tests/fuzz/corpus/net-tx: one
# byte of features, then TX slots (gref u32, offset u16, flags u16, id
# u16, size u16; little-endian).  libFuzzer grows the corpus from these.
import os
import struct
import sys

CSUM, VALID, MORE, EXTRA = 1, 2, 4, 8
out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/net-tx"
os.makedirs(out, exist_ok=True)


def slot(off, flags, pid, size, gref=1):
    return struct.pack("<IHHHH", gref, off, flags, pid, size)


def extra(etype, more, body=b"\0" * 6):
    return struct.pack("<BB", etype, 1 if more else 0) + body + b"\0" * 4


def gso(gtype, gsize, more=False):
    return extra(1, more, struct.pack("<HBBH", gsize, gtype, 0, 0))


def chain(n, each=1000):
    s = slot(0, MORE if n > 1 else 0, 0, each * n)
    for i in range(1, n):
        s += slot(0, MORE if i + 1 < n else 0, i, each)
    return s


seeds = {
    "one": slot(0, CSUM, 1, 1514),
    "frags": slot(0, MORE, 1, 3000) + slot(0, MORE, 2, 1500) + slot(2000, 0, 3, 1000),
    "gso4": slot(0, EXTRA | MORE, 1, 9000) + gso(1, 1448) + chain(2, 4000)[12:],
    "gso6-hash": slot(0, EXTRA, 1, 1000) + gso(2, 1428, True) + extra(4, False, b"\3\1\1\2\3\4"),
    "mcast": slot(0, EXTRA, 1, 0) + extra(2, False, b"\1\0\x5e\0\0\1"),
    "slots18": chain(18),
    "slots19": chain(19),
    "slots21": chain(21),
    "cross": slot(0, MORE, 1, 3000) + slot(4000, 0, 2, 200),
    "short": slot(0, 0, 1, 13),
    "overrun": slot(0, MORE, 1, 1000) + slot(0, 0, 2, 4000),
    "badextra": slot(0, EXTRA, 1, 100) + extra(0, False),
}
for name, body in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"\x3f" + body)
