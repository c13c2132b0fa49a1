#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The backends' and iovmd's command lines: --help prints the usage and
# exits 0;
# every bad option or value exits 2 with exactly one line on stderr that
# names the problem, before touching Xen (no simulator is running here).
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

B=${IOVM_TEST_BUILDDIR:-.}
BB=$B/backend/blk/iovm-blkback
NB=$B/backend/net/iovm-netback
BF=$B/frontend/iovm-blkfront
DM=$B/driver-domain/iovmd

"$BB" --help | grep -q '^Usage: iovm-blkback' || fail "iovm-blkback --help"
"$NB" --help | grep -q '^Usage: iovm-netback' || fail "iovm-netback --help"
"$BF" --help | grep -q '^Usage: iovm-blkfront' || fail "iovm-blkfront --help"
"$DM" --help | grep -q '^Usage: iovmd' || fail "iovmd --help"
echo "ok: --help"

bad_usage max-queues "$BB" --max-queues 0
bad_usage max-queues "$BB" --max-queues lots
bad_usage max-ring-order "$BB" --max-ring-order 5
bad_usage poll-us "$BB" --poll-us 10001
bad_usage remove-delay-ms "$BB" --remove-delay-ms -1
bad_usage max-persistent-grants "$BB" --max-persistent-grants 0
bad_usage max-persistent-grants "$BB" --max-persistent-grants 99999
bad_usage "log level" "$BB" --log-level loud
bad_usage iovm-blkback "$BB" --frobnicate
bad_usage "needs --device" "$BB" --supervised
bad_usage "needs --supervised" "$BB" --poke-fd 5 5</dev/null
bad_usage poke-fd "$BB" --supervised --device x --poke-fd 2
bad_usage stats-fd "$BB" --stats-fd 999

bad_usage max-queues "$NB" --max-queues 0
bad_usage max-queues "$NB" --max-queues 17
bad_usage remove-delay-ms "$NB" --remove-delay-ms 9001
bad_usage "log level" "$NB" --log-level loud
bad_usage iovm-netback "$NB" --frobnicate
bad_usage "unexpected argument" "$NB" extra
bad_usage "needs --device" "$NB" --supervised
bad_usage "needs --supervised" "$NB" --sandbox
bad_usage "needs --supervised" "$NB" --journal-fd 5 5</dev/null
bad_usage journal-fd "$NB" --supervised --device x --journal-fd 1
bad_usage stats-fd "$NB" --stats-fd 999

bad_usage iovmd "$DM" --frobnicate
bad_usage remove-delay-ms "$DM" --remove-delay-ms 10000
bad_usage "log level" "$DM" --log-level loud
bad_usage hotplug-timeout "$DM" --hotplug-timeout 0
bad_usage "unknown command" "$DM" frob
bad_usage "upgrade takes" "$DM" upgrade
bad_usage "upgrade takes" "$DM" upgrade --all backend/vbd/1/2
bad_usage "status takes" "$DM" status extra
bad_usage "go with status" "$DM" --json
# No iovmd to talk to: a one-line reason and status 1.
set +e
"$DM" --control "$T/none.sock" status >/dev/null 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "cannot reach iovmd" "$T/err" ||
    fail "status without iovmd: $rc $(cat "$T/err")"
echo "ok: status without iovmd"

bad_usage queues "$BF" --queues 0 info xvda
bad_usage ring-order "$BF" --ring-order 9 info xvda
bad_usage indirect "$BF" --indirect 300 info xvda
bad_usage protocol "$BF" --protocol x86_16-abi info xvda
bad_usage poll-us "$BF" --poll-us 20000 info xvda
bad_usage "log level" "$BF" --log-level loud info xvda
bad_usage rw "$BF" bench xvda --rw sideways
bad_usage bs "$BF" bench xvda --bs 1000
bad_usage qd "$BF" bench xvda --qd 0
bad_usage seed "$BF" bench xvda --seed -3
bad_usage "unknown command" "$BF" frob xvda
bad_usage "usage: fuse" "$BF" fuse xvda
