#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The network driver domain on the simulator, end to end, with the
# distribution's own parts: iovmd in the driver domain runs one
# iovm-netback per vif and Debian's vif-bridge (xen-utils-common) puts
# each vif's TAP on a bridge; guests come from xl configs (vif=[...]) and
# run iovm-netfront in their own network namespaces.
#  - ping (iputils) guest -> driver domain and guest <-> guest;
#  - iperf3 guest -> driver domain and back (it moves data);
#  - 1 GiB over TCP guest -> guest, every byte checked, with the sending
#    guest's backend killed (SIGKILL) once in the middle: the transfer
#    completes unchanged, both vifs stay Connected, iovmd counts one
#    takeover;
#  - teardown: xl destroy leaves no vif, no node, no process.
# IOVM_NET_BYTES overrides the transfer's size.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

B=${IOVM_TEST_BUILDDIR:-.}
DM=$B/driver-domain/iovmd
NF=$B/frontend/iovm-netfront
XFER=$B/tests/sim/tcp-xfer
KILL=$B/tests/sim/restart-kill
CTL=$T/iovmd.sock
BYTES=${IOVM_NET_BYTES:-1073741824}
[ -x /etc/xen/scripts/vif-bridge ] ||
    fail "Debian's xen-utils-common is not installed"
command -v ping >/dev/null || fail "ping (iputils-ping) is not installed"
command -v iperf3 >/dev/null || fail "iperf3 is not installed"

net_cleanup() {
    rc=$?
    set +e
    if [ $rc -ne 0 ]; then
        for f in iovmd.log nf1.log nf2.log; do
            [ -f "$T/$f" ] && { echo "---- $f (tail)"; tail -n 40 "$T/$f"; }
        done
    fi
    for p in ${NF1_PID:-} ${NF2_PID:-}; do kill "$p" 2>/dev/null; done
    "$IOVM_SIM" --dir "$SIMDIR" stop >/dev/null 2>&1
    (exit $rc)
    cleanup
}
trap net_cleanup EXIT INT TERM

swait() {
    sim wait "$@" || fail "waiting: $*"
}

# in DOM CMD...: CMD in DOM's network namespace (as root, not as the
# domain: for ip, ping, iperf3).
in_ns() {
    ns=$(sim netns "$1")
    shift
    nsenter --net="$ns" "$@"
}

# The driver domain: a bridge with an address, and iovmd.
DD=$(sim domain create drv --driver-domain)
in_ns drv ip link add xenbr0 type bridge
in_ns drv ip addr add 10.0.0.1/24 dev xenbr0
in_ns drv ip link set xenbr0 up
sim exec drv -- "$DM" --control "$CTL" --log-level debug \
    >"$T/iovmd.log" 2>&1 &
swait --timeout 10 "/local/domain/$DD/data/iovmd" ready
echo "ok: iovmd ready in the driver domain ($DD)"

# Guests from xl configs; each runs iovm-netfront, whose first line says
# the link is up (read through a FIFO: no polling).
for g in 1 2; do
    cat >"$T/g$g.cfg" <<EOF
name = "g$g"
vif = [ 'backend=drv,bridge=xenbr0,mac=00:16:3e:00:00:0$g' ]
EOF
    sim xl create "$T/g$g.cfg" >"$T/g$g.id" || fail "xl create g$g"
done
G1=$(cat "$T/g1.id")
G2=$(cat "$T/g2.id")
swait --timeout 20 "/local/domain/$DD/backend/vif/$G1/0/hotplug-status" \
    connected
echo "ok: vif-bridge put the vifs on the bridge"
for g in 1 2; do
    mkfifo "$T/nf$g.fifo"
    sim exec "g$g" -- "$NF" --log-level debug 0 >"$T/nf$g.fifo" \
        2>"$T/nf$g.log" &
    eval "NF${g}_PID=\$!"
    exec 4<"$T/nf$g.fifo"
    IFS= read -r line <&4 || fail "iovm-netfront in g$g did not come up"
    exec 4<&-
    case $line in
    *"eth0 up"*) echo "ok: g$g: $line" ;;
    *) fail "g$g: $line" ;;
    esac
    in_ns "g$g" ip addr add "10.0.0.1$g/24" dev eth0
done
expect_eq "$(in_ns drv ip -o link show master xenbr0 | grep -c ' vif')" 2 \
    "both vifs on the bridge"

# ping: guest -> driver domain, guest <-> guest.
in_ns g1 ping -c 3 -W 5 10.0.0.1 >"$T/ping" || fail "ping g1 -> drv"
echo "ok: ping g1 -> driver domain"
in_ns g1 ping -c 3 -W 5 10.0.0.12 >"$T/ping" || fail "ping g1 -> g2"
in_ns g2 ping -c 3 -W 5 10.0.0.11 >"$T/ping" || fail "ping g2 -> g1"
echo "ok: ping g1 <-> g2 across the bridge"

# iperf3, both ways, guest <-> driver domain: it moves data.
in_ns drv iperf3 -s -1 -D -p 5201 --pidfile "$T/iperf.pid"
for dir in "" -R; do
    in_ns g1 iperf3 -c 10.0.0.1 -p 5201 -t 2 -J $dir >"$T/iperf.json" ||
        fail "iperf3 $dir"
    bytes=$(sed -n 's/.*"bytes":[[:space:]]*\([0-9]*\).*/\1/p' \
        "$T/iperf.json" | tail -n 1)
    [ "${bytes:-0}" -gt 1000000 ] || fail "iperf3 $dir moved $bytes bytes"
    echo "ok: iperf3 ${dir:-(guest -> driver domain)} moved $bytes bytes"
    [ -n "$dir" ] || in_ns drv iperf3 -s -1 -D -p 5201
done

# 1 GiB g1 -> g2, checked; g1's backend killed once during it.
in_ns g2 "$XFER" recv 7000 >"$T/xfer.out" &
RECV=$!
in_ns g1 "$XFER" send 10.0.0.12 7000 "$BYTES" 42 &
SEND=$!
"$KILL" "$CTL" "backend/vif/$G1/0" 1 9 500 7 20 >"$T/kill.out" ||
    { cat "$T/kill.out"; fail "restart-kill"; }
wait "$SEND" || fail "the sender failed"
wait "$RECV" || fail "$(cat "$T/xfer.out")"
echo "ok: $(cat "$T/xfer.out") (g1's backend killed once: $(tail -n 1 \
    "$T/kill.out"))"
for g in 1 2; do
    eval "id=\$G$g"
    expect_eq "$(sim exec drv -- xenstore-read \
        "/local/domain/$id/device/vif/0/state")" 4 "g$g's vif Connected"
done
kill -0 "$NF1_PID" || fail "g1's netfront ended"
sim exec drv -- "$DM" --control "$CTL" status --json >"$T/status.json"
grep -q '"takeovers":1' "$T/status.json" ||
    fail "iovmd did not count one takeover: $(cat "$T/status.json")"
echo "ok: iovmd counted the takeover"

# Teardown.
kill "$NF1_PID" "$NF2_PID"
wait "$NF1_PID" "$NF2_PID" 2>/dev/null || true
NF1_PID= NF2_PID=
for g in g1 g2; do
    sim xl destroy "$g" || fail "xl destroy $g"
done
expect_eq "$(in_ns drv ip -o link show | grep -c 'vif')" 0 "no vif left"
expect_eq "$(sim exec drv -- xenstore-ls "/local/domain/$DD/backend" \
    2>/dev/null | grep -c vif)" 0 "no backend node left"
pgrep -f "iovm-netback.*backend/vif" >/dev/null && fail "a netback is left"
echo "ok: teardown clean"
