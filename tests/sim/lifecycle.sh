#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Domain life cycle: create writes libxl's nodes and fires
# @introduceDomain; destroy kills the domain's processes, removes its
# nodes and fires @releaseDomain; domids are not reused immediately; the
# simulator stops cleanly with domains still running.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

watch_start 0 @introduceDomain 2
a=$(sim domain create alpha)
watch_end
expect_eq "$WATCH_EVENTS" "@introduceDomain @introduceDomain " \
    "@introduceDomain on create"
expect_eq "$(sim exec 0 -- xenstore-read "/local/domain/$a/name")" alpha "name node"
vm=$(sim exec 0 -- xenstore-read "/local/domain/$a/vm")
expect_eq "$(sim exec 0 -- xenstore-read "$vm/name")" alpha "vm node"
expect_fail "duplicate name" sim domain create alpha
expect_fail "bad name" sim domain create 'a b'

# A process inside the domain dies with it.
sim exec alpha -- sh -c 'xenstore-write data/up 1 && exec sleep 300' &
spid=$!
sim wait "/local/domain/$a/data/up" 1
watch_start 0 @releaseDomain 2
sim domain destroy alpha
watch_end
rel=$WATCH_EVENTS
set +e
wait $spid
status=$?
set -e
expect_eq "$status" 137 "domain process killed (SIGKILL)"
expect_eq "$rel" "@releaseDomain @releaseDomain " "@releaseDomain on destroy"
expect_fail "domain gone from xenstore" sim exec 0 -- xenstore-exists "/local/domain/$a"
expect_fail "vm gone" sim exec 0 -- xenstore-exists "$vm"
expect_fail "libxl gone" sim exec 0 -- xenstore-exists "/libxl/$a"
expect_fail "exec in a dead domain" sim exec alpha -- true

b=$(sim domain create beta)
[ "$b" -gt "$a" ] || fail "domid reused at once ($a then $b)"
echo "ok: domids are not reused at once"
expect_eq "$(sim list | grep -c '^DOM')" 2 "list shows dom0 and beta"

# Bad usage gets a one-line reason and a non-zero exit.
expect_fail "unknown command" sim frobnicate
expect_fail "exec without --" sim exec beta true
if "$IOVM_SIM" list >/dev/null 2>"$T/err" </dev/null && [ -z "${IOVM_SIM_DIR:-}" ]; then
    fail "list without a directory"
fi
expect_fail "simd without --dir" iovm-simd
expect_fail "simd bad option" iovm-simd --frob
iovm-simd --help | grep -q Usage || fail "iovm-simd --help"
sim --help | grep -q Usage || fail "iovm-sim --help"

# Stop with a domain still running: its process dies, sockets go.
sim exec beta -- sh -c 'xenstore-write data/up 1 && exec sleep 300' &
bpid=$!
sim wait "/local/domain/$b/data/up" 1
sim stop
set +e
wait $bpid
status=$?
set -e
expect_eq "$status" 137 "process killed at stop"
[ ! -e "$SIMDIR/control.sock" ] || fail "control socket left behind"
echo "ok: clean stop"
