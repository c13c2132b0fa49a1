#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Writes seed inputs for fuzz-blk-req into DIR (default
# tests/fuzz/corpus/blk-req): valid and borderline requests of every
# operation in the three ring ABIs.  Layout: abi byte, limit flags byte,
# device sectors (u64 LE), ring slot, indirect pages.
import hashlib
import os
import struct
import sys

READ, WRITE, BARRIER, FLUSH, DISCARD, INDIRECT = 0, 1, 2, 3, 5, 6
NATIVE, X32, X64 = 0, 1, 2
ALL = 2 | 8 | 16 | 32 | 64


def segs(lst):
    return b"".join(struct.pack("<IBBxx", g, f, l) for g, f, l in lst)


def rw(abi, op, sector, sl, rid=7):
    if abi == X32:
        hdr = struct.pack("<BBHQQ", op, len(sl), 51712, rid, sector)
    else:
        hdr = struct.pack("<BBHxxxxQQ", op, len(sl), 51712, rid, sector)
    return hdr + segs(sl)


def discard(abi, sector, n, flag=0):
    if abi == X32:
        return struct.pack("<BBHQQQ", DISCARD, flag, 51712, 9, sector, n)
    return struct.pack("<BBHxxxxQQQ", DISCARD, flag, 51712, 9, sector, n)


def indirect(abi, op, nseg, sector, grefs):
    g = list(grefs) + [0] * (8 - len(grefs))
    if abi == X32:
        hdr = struct.pack("<BBHQQHH", INDIRECT, op, nseg, 11, sector, 51712, 0)
    else:
        hdr = struct.pack("<BBHxxxxQQHH", INDIRECT, op, nseg, 11, sector,
                          51712, 0)
    return hdr + struct.pack("<8I", *g)


def seed(abi, flags, sectors, slot, pages=b""):
    return bytes([abi, flags]) + struct.pack("<Q", sectors) + slot + pages


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "corpus", "blk-req")
    os.makedirs(out, exist_ok=True)
    seeds = []
    for abi in (NATIVE, X32, X64):
        for op in (READ, WRITE, BARRIER, FLUSH):
            seeds.append(seed(abi, ALL, 1 << 20, rw(abi, op, 8, [(5, 0, 7)])))
        seeds.append(seed(abi, ALL, 1 << 20, rw(abi, FLUSH, 0, [])))
        seeds.append(seed(abi, ALL | 1, 1 << 20, rw(abi, READ, 16,
                                                   [(5, 0, 7)] * 11)))
        seeds.append(seed(abi, ALL, 64, rw(abi, READ, 60, [(5, 0, 7)])))
        seeds.append(seed(abi, ALL | 4, 64, rw(abi, WRITE, 0, [(5, 3, 2)])))
        seeds.append(seed(abi, ALL, 1 << 20, discard(abi, 100, 50)))
        seeds.append(seed(abi, ALL, 1 << 20, discard(abi, 100, 50, 1)))
        page = segs([(100 + i, 0, 7) for i in range(256)])
        page = page + bytes(4096 - len(page) % 4096 if len(page) % 4096 else 0)
        seeds.append(seed(abi, ALL | 2, 1 << 20,
                          indirect(abi, READ, 256, 0, [1]), page))
        seeds.append(seed(abi, ALL | 2, 1 << 20,
                          indirect(abi, WRITE, 513, 0, [1, 2]), page * 2))
        seeds.append(seed(abi, ALL | 2, 1 << 20,
                          indirect(abi, FLUSH, 1, 0, [1]), page))
    for s in seeds:
        name = hashlib.sha1(s).hexdigest()
        with open(os.path.join(out, name), "wb") as f:
            f.write(s)
    print("%d seeds in %s" % (len(seeds), out))


main()
