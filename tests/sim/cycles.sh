#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# One iovmd, many guests in turn (IOVM_CYCLES, default 1000): each is
# created from an xl config (its disk served by the driver domain, through
# the backend opening the image itself), its frontend connects, reads and
# writes, and it is destroyed.  The hotplug scripts are off here (the
# block script's cost would dominate; iovmd.sh runs it).  Afterwards the driver domain holds what it
# held before: grant mappings, event-channel ports and handles, xenstore
# nodes and watches, iovmd's file descriptors and children, loop devices;
# and iovmd's memory has not grown with the count.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

B=${IOVM_TEST_BUILDDIR:-.}
EX="${IOVM_TEST_SRCDIR:-.}/driver-domain/examples"
DM=$B/driver-domain/iovmd
BF=$B/frontend/iovm-blkfront
N=${IOVM_CYCLES:-1000}

dd=$(sim xl create "$EX/drvdom.cfg")
"$IOVM_SIM" --dir "$SIMDIR" exec drvdom -- "$DM" --control "$T/iovmd.sock" \
    --remove-delay-ms 100 --no-hotplug-scripts --log-level warn \
    >"$T/iovmd.log" 2>&1 &
IOVMD_PID=$!
sim wait "/local/domain/$dd/data/iovmd" ready

truncate -s 256K "$T/disk.img"
sed "s|target=[^']*|target=$T/disk.img|" "$EX/guest.cfg" >"$T/guest.cfg"

# counts: what the driver domain and iovmd hold, one line.
counts() {
    s=$(sim ctl stats drvdom)
    for k in maps_active ports handles xs_nodes xs_watches grants; do
        printf '%s=%s ' "$k" "$(echo "$s" | sed -n "s/.* $k=\([0-9]*\).*/\1/p")"
    done
    printf 'fds=%s children=%s loops=%s\n' \
        "$(ls "/proc/$IOVMD_PID/fd" | wc -l)" \
        "$(ps -o pid= --ppid "$IOVMD_PID" | wc -l)" \
        "$(losetup -a | grep -cF "$T/" || true)"
}
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$IOVMD_PID/status"; }

# One warm-up cycle first: allocations that happen once are not leaks.
cycle() {
    g=$(sim xl create "$T/guest.cfg") || fail "cycle $1: xl create"
    sim exec guest -- "$BF" verify xvda >/dev/null || fail "cycle $1: verify"
    sim xl destroy guest || fail "cycle $1: xl destroy"
}
cycle 0
before=$(counts)
rss0=$(rss)
t0=$(date +%s)
i=1
while [ $i -le "$N" ]; do
    cycle $i
    i=$((i + 1))
done
t1=$(date +%s)
after=$(counts)
rss1=$(rss)
echo "before: $before"
echo "after:  $after"
expect_eq "$after" "$before" "$N create/destroy cycles leave nothing behind"
if ldd "$DM" 2>/dev/null | grep -q libasan; then
    # AddressSanitizer holds freed memory back (its quarantine): RSS says
    # nothing here.  LeakSanitizer checks iovmd's exit below instead.
    echo "ok: iovmd's memory $rss0 -> $rss1 KiB (LeakSanitizer checks at exit)"
else
    [ "$rss1" -le $((rss0 + 1024)) ] || fail "iovmd grew from $rss0 to $rss1 KiB"
    echo "ok: iovmd's memory $rss0 -> $rss1 KiB"
fi
echo "ok: $N cycles in $((t1 - t0)) s"
grep -vE 'warn: .*(backend directory removed|frontend)' "$T/iovmd.log" | head -n 20
kill -TERM "$IOVMD_PID"
wait "$IOVMD_PID" || fail "iovmd exited non-zero (a leak, under LeakSanitizer?)"
