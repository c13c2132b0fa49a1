#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# iovm-netfront's command line and handshake against a fake backend (a
# backend directory written by hand, its state moved by the test): it
# waits for InitWait, writes the rings, event channels and features in
# one go and goes Connected (multi-queue with split channels and the
# control ring; one flat queue with every feature switched off), creates
# the TAP with the vif's MAC in the guest, says it is up once the backend
# is Connected, closes on SIGTERM and on the backend closing, and refuses
# a backend without feature-rx-copy.  No data moves (no real backend).
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

B=${IOVM_TEST_BUILDDIR:-.}
NF=$B/frontend/iovm-netfront

# --help, and bad usage: status 2, one line naming the problem.
"$NF" --help | grep -q '^Usage: iovm-netfront' || fail "--help"
echo "ok: --help"
bad_usage DEVID "$NF"
bad_usage DEVID "$NF" eth0
bad_usage "one DEVID" "$NF" 0 1
bad_usage queues "$NF" --queues 0 0
bad_usage queues "$NF" --queues 17 0
bad_usage bufs "$NF" --bufs 8 0
bad_usage ifname "$NF" --ifname a/b 0
bad_usage ifname "$NF" --ifname 0123456789abcdef 0
bad_usage "log level" "$NF" --log-level loud 0
bad_usage frob "$NF" --frob 0

if [ ! -c /dev/net/tun ] || [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root and /dev/net/tun for the TAP"
    exit 77
fi

g=$(sim domain create guest)
MAC=00:16:3e:5a:01:02

# vif DEVID KEY=VALUE...: a backend directory in dom0 (state 1, and the
# given keys) and the guest's frontend directory, with libxl's owners.
vif() {
    n=$1
    shift
    BE=/local/domain/0/backend/vif/$g/$n
    FE=/local/domain/$g/device/vif/$n
    set -- "$BE/frontend" "$FE" "$BE/frontend-id" "$g" "$BE/online" 1 \
        "$BE/handle" "$n" "$BE/mac" "$MAC" "$BE/state" 1 \
        $(for kv in "$@"; do echo "$BE/${kv%%=*}" "${kv#*=}"; done)
    sim exec 0 -- xenstore-write "$@"
    sim exec 0 -- xenstore-chmod -r "$BE" n0 "r$g"
    sim exec 0 -- xenstore-write "$FE/backend" "$BE" "$FE/backend-id" 0 \
        "$FE/handle" "$n" "$FE/mac" "$MAC" "$FE/mtu" 1500 "$FE/state" 1
    sim exec 0 -- xenstore-chmod -r "$FE" "n$g" r0
}

fe() {
    sim exec 0 -- xenstore-read "$FE/$1" 2>/dev/null || echo "(absent)"
}

# start ARGS...: iovm-netfront in the guest, in the background; its pid
# (in $T/pid), stdout ($T/out) and stderr ($T/log).
start() {
    rm -f "$T/pid" "$T/out"
    sim exec guest -- sh -c 'echo $$ >"$0/pid"; exec "$@"' "$T" "$NF" \
        "$@" >"$T/out" 2>"$T/log" &
    NFPID=$!
    i=0
    while [ ! -s "$T/pid" ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "netfront did not start"
        sleep 0.1
    done
}

# finish STATUS WHAT: waits for netfront to exit with STATUS.
finish() {
    set +e
    wait "$NFPID"
    rc=$?
    set -e
    if [ "$rc" != "$1" ]; then
        cat "$T/log"
        fail "$2: exit status $rc, expected $1"
    fi
    echo "ok: $2 (exit $1)"
}

wait_up() {
    i=0
    while ! grep -q "up (" "$T/out"; do
        i=$((i + 1))
        [ $i -lt 150 ] || { cat "$T/log"; fail "no 'up' line"; }
        sleep 0.1
    done
}

num() {
    case $1 in
    '' | *[!0-9]*) fail "$2: '$1' is not a number" ;;
    esac
    echo "ok: $2 = $1"
}

# ------------------------------------------------ two queues, split channels
vif 0 feature-rx-copy=1 multi-queue-max-queues=2 \
    feature-split-event-channels=1 feature-sg=1 feature-gso-tcpv4=1 \
    feature-gso-tcpv6=1 feature-ipv6-csum-offload=1 feature-ctrl-ring=1
start --queues 4 --ctrl-ring --log-level info 0
i=0
while ! grep -q "to reach InitWait" "$T/log"; do
    i=$((i + 1))
    [ $i -lt 100 ] || { cat "$T/log"; fail "not waiting for InitWait"; }
    sleep 0.1
done
expect_eq "$(fe state)" 1 "Initialising while the backend is not ready"
expect_eq "$(fe queue-0/tx-ring-ref)" "(absent)" "no rings before InitWait"
sim exec 0 -- xenstore-write "$BE/state" 2
sim wait "$FE/state" 4
expect_eq "$(fe multi-queue-num-queues)" 2 "two queues (--queues 4, backend 2)"
for q in 0 1; do
    for k in tx-ring-ref rx-ring-ref event-channel-tx event-channel-rx; do
        num "$(fe "queue-$q/$k")" "queue-$q/$k"
    done
    expect_eq "$(fe "queue-$q/event-channel")" "(absent)" \
        "queue-$q: no shared event-channel"
done
[ "$(fe queue-0/event-channel-tx)" != "$(fe queue-0/event-channel-rx)" ] ||
    fail "split channels are one port"
[ "$(fe queue-0/tx-ring-ref)" != "$(fe queue-1/tx-ring-ref)" ] ||
    fail "queues share a ring"
expect_eq "$(fe tx-ring-ref)" "(absent)" "no flat tx-ring-ref"
expect_eq "$(fe event-channel)" "(absent)" "no flat event-channel"
num "$(fe ctrl-ring-ref)" ctrl-ring-ref
num "$(fe event-channel-ctrl)" event-channel-ctrl
expect_eq "$(fe request-rx-copy)" 1 request-rx-copy
expect_eq "$(fe feature-rx-notify)" 1 feature-rx-notify
expect_eq "$(fe feature-sg)" 1 feature-sg
expect_eq "$(fe feature-gso-tcpv4)" 1 feature-gso-tcpv4
expect_eq "$(fe feature-gso-tcpv6)" 1 feature-gso-tcpv6
expect_eq "$(fe feature-no-csum-offload)" 0 feature-no-csum-offload
expect_eq "$(fe feature-ipv6-csum-offload)" 1 feature-ipv6-csum-offload
expect_eq "$(fe request-multicast-control)" 0 request-multicast-control
# The backend may read all of it (the frontend's own permissions).
sim exec 0 -- xenstore-ls -p "$FE" | grep -q "queue-1" || fail "keys"
if sim exec guest -- ip link show eth0 >"$T/link" 2>&1; then
    grep -qi "link/ether $MAC" "$T/link" || fail "TAP MAC: $(cat "$T/link")"
    echo "ok: TAP eth0 in the guest with the vif's MAC"
else
    fail "no TAP eth0 in the guest: $(cat "$T/link")"
fi
[ ! -s "$T/out" ] || fail "up before the backend is Connected"
sim exec 0 -- xenstore-write "$BE/state" 4
wait_up   # after the control ring's calls time out (no real backend)
UP="iovm-netfront: eth0 up (2 queues, sg, gso-tcpv4, gso-tcpv6, ipv4-csum,"
UP="$UP ipv6-csum, split-event-channels, ctrl-ring, mtu 1500)"
expect_eq "$(cat "$T/out")" "$UP" "the up line"
echo "ok: $(cat "$T/out")"
grep -q "control ring: SET_HASH_ALGORITHM toeplitz" "$T/log" ||
    fail "no control ring call logged"
echo "ok: control ring call made (and logged)"

# SIGTERM: Closing, then (backend Closed) Closed, exit 0, TAP gone.
kill -TERM "$(cat "$T/pid")"
sim wait "$FE/state" 5
sim exec 0 -- xenstore-write "$BE/state" 6
sim wait "$FE/state" 6
finish 0 "SIGTERM: Closing, Closed"
expect_fail "TAP removed" sim exec guest -- ip link show eth0

# ------------------------------------- one queue, every feature switched off
vif 1 feature-rx-copy=1 feature-sg=1
start --no-sg --no-gso --no-csum-offload --no-ipv6-csum-offload \
    --no-rx-notify --no-split-event-channels --ifname nf1 --exit-on-close 1
sim exec 0 -- xenstore-write "$BE/state" 2
sim wait "$FE/state" 4
num "$(fe tx-ring-ref)" "flat tx-ring-ref"
num "$(fe rx-ring-ref)" "flat rx-ring-ref"
num "$(fe event-channel)" "flat event-channel"
expect_eq "$(fe multi-queue-num-queues)" "(absent)" \
    "no multi-queue-num-queues (not offered)"
expect_eq "$(fe queue-0/tx-ring-ref)" "(absent)" "no queue-0"
expect_eq "$(fe event-channel-tx)" "(absent)" "no split channels"
expect_eq "$(fe feature-sg)" 0 "--no-sg"
expect_eq "$(fe feature-gso-tcpv4)" 0 "--no-gso (v4)"
expect_eq "$(fe feature-gso-tcpv6)" 0 "--no-gso (v6)"
expect_eq "$(fe feature-no-csum-offload)" 1 "--no-csum-offload"
expect_eq "$(fe feature-ipv6-csum-offload)" 0 "--no-ipv6-csum-offload"
expect_eq "$(fe feature-rx-notify)" 0 "--no-rx-notify"
expect_eq "$(fe request-rx-copy)" 1 "request-rx-copy"
sim exec guest -- ip link show nf1 >/dev/null 2>&1 || fail "no TAP nf1"
sim exec 0 -- xenstore-write "$BE/state" 4
wait_up
grep -q "^iovm-netfront: nf1 up (1 queue, no-rx-notify, mtu 1500)$" \
    "$T/out" || fail "up line: $(cat "$T/out")"
echo "ok: $(cat "$T/out")"
# The backend fails the vif: Closed, and (device still there) exit 1.
sim exec 0 -- xenstore-write "$BE/error" "22 testing" "$BE/state" 5
sim wait "$FE/state" 6
sim exec 0 -- xenstore-write "$BE/state" 6
finish 1 "backend closed, --exit-on-close"
grep -q "closed the vif (its error node: 22 testing)" "$T/log" ||
    fail "reason not logged: $(cat "$T/log")"
echo "ok: the backend's error is logged"

# ------------------------------------------------ no feature-rx-copy: refused
vif 2 multi-queue-max-queues=2
start --exit-on-close --ifname nf2 2
sim exec 0 -- xenstore-write "$BE/state" 2
finish 1 "backend without feature-rx-copy refused"
grep -q "error: backend .* does not offer feature-rx-copy" "$T/log" ||
    fail "no clear error: $(cat "$T/log")"
echo "ok: $(grep -o 'backend .* does not offer feature-rx-copy.*' "$T/log")"
expect_eq "$(fe state)" 6 "frontend Closed"
expect_eq "$(fe tx-ring-ref)$(fe queue-0/tx-ring-ref)" "(absent)(absent)" \
    "no rings written"

# --------------------------------------- default: the device removed -> exit 0
vif 3 feature-rx-copy=1
start --ifname nf3 3
sim exec 0 -- xenstore-write "$BE/state" 2
sim wait "$FE/state" 4
sim exec 0 -- xenstore-write "$BE/state" 5
sim wait "$FE/state" 6
sim exec 0 -- xenstore-write "$BE/state" 6
sim exec 0 -- xenstore-rm "$FE"
finish 0 "device removed after the backend closed"

# A device that does not exist: a clear error.
set +e
sim exec guest -- "$NF" 9 2>"$T/err" >/dev/null
rc=$?
set -e
expect_eq "$rc" 1 "no such vif: exit 1"
grep -q "device/vif/9: no such vif" "$T/err" || fail "$(cat "$T/err")"
echo "ok: $(cat "$T/err" | sed 's/^[^:]*: //')"
