#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Writes the hand-made seed inputs of fuzz-xs-wire into the corpus
# directory given as argument.  Records: [client][len LE16][bytes].
import struct, sys, os

XS = dict(CONTROL=0, DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5,
          TXN_START=6, TXN_END=7, INTRODUCE=8, RELEASE=9, GET_DOMAIN_PATH=10,
          WRITE=11, MKDIR=12, RM=13, SET_PERMS=14, WATCH_EVENT=15, ERROR=16,
          IS_INTRODUCED=17, RESUME=18, SET_TARGET=19, RESET_WATCHES=21,
          DIRECTORY_PART=22)

def msg(t, payload, req=1, tx=0, length=None):
    return struct.pack('<IIII', XS[t] if isinstance(t, str) else t, req, tx,
                       len(payload) if length is None else length) + payload

def rec(client, data):
    return bytes([client]) + struct.pack('<H', len(data)) + data

seeds = {
    'write-read': [rec(0, msg('WRITE', b'/a/b\0hello')), rec(0, msg('READ', b'/a/b\0')),
                   rec(1, msg('READ', b'/a/b\0')), rec(1, msg('WRITE', b'data/x\0v'))],
    'perms': [rec(0, msg('WRITE', b'/p\0')), rec(0, msg('SET_PERMS', b'/p\0n3\0r5\0')),
              rec(1, msg('WRITE', b'/p/c\0x')), rec(1, msg('SET_PERMS', b'/p/c\0n5\0')),
              rec(2, msg('GET_PERMS', b'/p/c\0')), rec(1, msg('SET_PERMS', b'/p\0zz\0'))],
    'watch': [rec(1, msg('WATCH', b'data\0tok\0')), rec(0, msg('WRITE', b'/local/domain/3/data/k\0v')),
              rec(0, msg('RM', b'/local/domain/3/data\0')), rec(1, msg('UNWATCH', b'data\0tok\0')),
              rec(2, msg('WATCH', b'@releaseDomain\0r\0')), rec(0, msg('WATCH', b'/\0all\0'))],
    'txn': [rec(0, msg('TXN_START', b'\0')), rec(0, msg('WRITE', b'/t/a\0x', tx=1)),
            rec(2, msg('WRITE', b'/t/a\0y')), rec(0, msg('READ', b'/t/a\0', tx=1)),
            rec(0, msg('TXN_END', b'T\0', tx=1)), rec(0, msg('TXN_END', b'F\0', tx=9))],
    'dirpart': [rec(0, msg('WRITE', b'/d/' + (b'n%04d' % i) + b'\0')) for i in range(40)] +
               [rec(0, msg('DIRECTORY_PART', b'/d\0' + b'0\0')), rec(0, msg('DIRECTORY', b'/d\0'))],
    'domain': [rec(0, msg('INTRODUCE', b'3\x00123\x004\x00')), rec(1, msg('INTRODUCE', b'3\0 1\0 2\0')),
               rec(0, msg('IS_INTRODUCED', b'3\0')), rec(0, msg('GET_DOMAIN_PATH', b'7\0')),
               rec(0, msg('RELEASE', b'3\0')), rec(1, msg('RESET_WATCHES', b''))],
    'malformed': [rec(0, msg('READ', b'abc')), rec(0, msg('READ', b'a\0b\0')),
                  rec(0, msg('WRITE', b'nonul')), rec(1, msg(999, b'')),
                  rec(2, msg('WATCH_EVENT', b'x\0y\0')), rec(0, msg('MKDIR', b'/a//b\0')),
                  rec(0, msg('MKDIR', b'/a/\0')), rec(0, msg('MKDIR', b'/a b\0')),
                  rec(1, msg('READ', b'', length=5000))],
    'split': [rec(0, msg('WRITE', b'/s\0abc')[:5]), rec(0, msg('WRITE', b'/s\0abc')[5:])],
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, recs in seeds.items():
    with open(os.path.join(sys.argv[1], 'seed-' + name), 'wb') as f:
        f.write(b''.join(recs))
