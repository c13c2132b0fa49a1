#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# iovmd in a driver domain, with guests created by `iovm-sim xl` from xl
# configs and Debian's own hotplug scripts (/etc/xen/scripts/block from
# xen-utils-common):
#  - readiness node; one backend process per device, each on its own
#    loop device set up by the stock block script, data verified;
#  - the block script's sharing check refuses a second writer, and that
#    guest's device fails with the script's message; a failing script and
#    a missing one fail only their device;
#  - a crash loop (a backend that dies on start) fails only that device,
#    after restarts with backoff; kill -9 of a connected backend under
#    I/O through the block script's loop device: the next process takes
#    the device over from the ring journal, the guest's I/O goes on and
#    its data is intact (restart.sh does this 100s of times);
#  - stopping iovmd leaves the guests' devices Connected; a new iovmd
#    resumes them and I/O issued meanwhile completes; `iovmd upgrade`
#    replaces a backend under I/O;
#  - `iovmd status` and `--json`;
#  - teardown: script remove (loop devices detached), directories
#    removed, no process, node or loop device left;
#  - an acknowledged write survives destroying the driver domain.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

B=${IOVM_TEST_BUILDDIR:-.}
EX="${IOVM_TEST_SRCDIR:-.}/driver-domain/examples"
DM=$B/driver-domain/iovmd
BB=$B/backend/blk/iovm-blkback
BF=$B/frontend/iovm-blkfront
CTL=$T/iovmd.sock
[ -x /etc/xen/scripts/block ] || fail "Debian's xen-utils-common is not installed"

# On failure, the supervisor's and backends' log too.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A failed run leaves no FUSE mount, frontend or loop device behind.
iovmd_cleanup() {
    rc=$?
    set +e
    if [ $rc -ne 0 ] && [ -f "$T/iovmd.log" ]; then
        echo "---- iovmd.log (tail)"
        tail -n 60 "$T/iovmd.log"
    fi
    fusermount3 -u "$T/mnt" 2>/dev/null || umount -l "$T/mnt" 2>/dev/null
    [ -z "${FUSE_PID:-}" ] || kill "$FUSE_PID" 2>/dev/null
    "$IOVM_SIM" --dir "$SIMDIR" stop >/dev/null 2>&1
    losetup -a | grep -F "$T/" | cut -d: -f1 | xargs -r -n 1 losetup -d
    (exit $rc)
    cleanup
}
trap iovmd_cleanup EXIT INT TERM

swait() {
    sim wait "$@" || fail "waiting: $*"
}

# A backend that dies at once (SIGSEGV), once $T/crash-on exists, for a
# device whose image is named crash.img; iovm-blkback for the others.
cat >"$T/blkback-wrap" <<EOF
#!/bin/sh
dev= prev=
for a; do [ "\$prev" = --device ] && dev=\$a; prev=\$a; done
if [ -e "$T/crash-on" ]; then
    case \$(xenstore-read "\$dev/params" 2>/dev/null) in
    *crash.img) kill -SEGV \$\$ ;;
    esac
fi
exec "$BB" "\$@"
EOF
chmod +x "$T/blkback-wrap"

# A hotplug script that never ends (its children neither).
cat >"$T/hanging-script" <<'EOF'
#!/bin/sh
sleep 1000 &
wait
EOF
chmod +x "$T/hanging-script"

# A hotplug script that fails the Xen way (hotplug-error, then status).
cat >"$T/failing-script" <<'EOF'
#!/bin/sh
xenstore-write "$XENBUS_PATH/hotplug-error" "no such volume: pool/vol7" \
    "$XENBUS_PATH/hotplug-status" error
exit 1
EOF
chmod +x "$T/failing-script"

dd=$(sim xl create "$EX/drvdom.cfg")

start_iovmd() {
    "$IOVM_SIM" --dir "$SIMDIR" exec drvdom -- "$DM" --control "$CTL" \
        --blkback "$T/blkback-wrap" --remove-delay-ms 300 --hotplug-timeout 8 \
        --backend-arg --test-hooks --backend-arg --max-inflight-bytes=2M \
        --backend-arg --max-persistent-grants=256 >>"$T/iovmd.log" 2>&1 &
    IOVMD_PID=$!
    swait "/local/domain/$dd/data/iovmd" ready
}

stop_iovmd() {
    kill -TERM "$IOVMD_PID"
    wait "$IOVMD_PID" || fail "iovmd exited non-zero on SIGTERM"
}

# st DEVICE COLUMN: one column of `iovmd status` for DEVICE
# (3 state, 4 frontend state, 5 pid, 6 queues, 8 restarts, 9 hotplug).
st() {
    "$DM" --control "$CTL" status | awk -v d="$1" -v c="$2" '$1 == d { print $c }'
}

bepath() {
    echo "/local/domain/$dd/backend/vbd/$1/51712"
}

# guest NAME IMAGE [DISK-EXTRA]: a guest whose xvda is IMAGE, served by
# drvdom through the default script (block); prints its domid.
guest() {
    cat >"$T/$1.cfg" <<EOF
name = "$1"
disk = [ 'backend=drvdom, vdev=xvda, access=rw, format=raw, ${3:+$3, }target=$2' ]
EOF
    sim xl create "$T/$1.cfg"
}

# The first start also tells systemd it is ready (Type=notify).
mkfifo "$T/notify.out"
"$B/tests/sim/notify-listen" "$T/notify.sock" >"$T/notify.out" &
NL_PID=$!
exec 4<"$T/notify.out"
IFS= read -r line <&4 || fail "notify-listen did not start"
export NOTIFY_SOCKET="$T/notify.sock"
start_iovmd
unset NOTIFY_SOCKET
expect_eq "$(sim exec 0 -- xenstore-read "/local/domain/$dd/data/iovmd")" \
    ready "readiness node"
wait "$NL_PID" || fail "no READY=1 from iovmd on NOTIFY_SOCKET"
grep -q '^READY=1$' <&4 || fail "sd_notify message"
exec 4<&-
echo "ok: READY=1 to NOTIFY_SOCKET (systemd Type=notify)"
nodes_before=$(sim exec 0 -- xenstore-ls -f "/local/domain/$dd" | wc -l)

# ------------------------------------------------ one process per device
truncate -s 32M "$T/a.img" "$T/b.img"
ga=$(guest ga "$T/a.img")
gb=$(guest gb "$T/b.img")
sim exec ga -- "$BF" verify xvda | grep -q "VERIFY OK" || fail "verify ga"
sim exec gb -- "$BF" verify xvda | grep -q "VERIFY OK" || fail "verify gb"
echo "ok: both guests' disks verified through iovmd"
pa=$(st "backend/vbd/$ga/51712" 5)
pb=$(st "backend/vbd/$gb/51712" 5)
[ "$pa" -gt 0 ] && [ "$pb" -gt 0 ] && [ "$pa" != "$pb" ] ||
    fail "one process per device: pids '$pa' '$pb'"
tr '\0' ' ' <"/proc/$pa/cmdline" | grep -q -- "--device $(bepath "$ga") " ||
    fail "process $pa does not serve ga's device"
echo "ok: one backend process per device ($pa, $pb)"
pdev=$(sim exec 0 -- xenstore-read "$(bepath "$ga")/physical-device-path")
case $pdev in /dev/loop*) ;; *) fail "block script: physical-device-path '$pdev'" ;; esac
losetup "$pdev" | grep -q "$T/a.img" || fail "$pdev is not a.img"
expect_eq "$(st "backend/vbd/$ga/51712" 9)" connected "hotplug-status"
echo "ok: the stock block script put a.img on $pdev"
"$DM" --control "$CTL" status --json >"$T/status.json"
grep -q "\"device\":\"backend/vbd/$ga/51712\",\"kind\":\"vbd\",\"frontend_id\":$ga" \
    "$T/status.json" || fail "status --json: $(cat "$T/status.json")"
grep -q '"hotplug_status":"connected","last_error":null' "$T/status.json" ||
    fail "status --json hotplug: $(cat "$T/status.json")"
echo "ok: status --json"

# ------------------------------------------------ sandbox
st_field() { grep "^$2:" "/proc/$1/status" | awk '{ print $2 }'; }
expect_eq "$(st_field "$pa" Uid)" "$(id -u nobody)" "backend runs as nobody"
expect_eq "$(st_field "$pa" CapEff)" 0000000000000000 "backend has no capabilities"
expect_eq "$(st_field "$pa" NoNewPrivs)" 1 "backend: no new privileges"
expect_eq "$(st_field "$pa" Seccomp)" 2 "backend: seccomp filter"
# A forbidden call (a network socket) kills only that backend: gb's,
# idle in Closed after its verify; ga's is untouched; gb's is restarted
# and serves again.
# Its successor probes (InitWait) and, the frontend being Closed,
# closes again: two writes of state.
watch_start 0 "$(bepath "$gb")/state" 3
kill -USR1 "$pb"
watch_end
grep -q "backend/vbd/$gb/51712: backend (pid $pb) killed by signal 31 (Bad system call)" \
    "$T/iovmd.log" || fail "no SIGSYS kill of $pb in the log"
grep -q "iovm-blkback: sandbox: forbidden system call 41" "$T/iovmd.log" ||
    fail "the backend did not name the forbidden call"
expect_eq "$(st "backend/vbd/$gb/51712" 8)" 1 "the sandbox kill counted as a restart"
[ "$(st "backend/vbd/$ga/51712" 5)" = "$pa" ] || fail "ga's backend changed"
sim exec gb -- "$BF" verify xvda | grep -q "VERIFY OK" || fail "verify gb after restart"
pb=$(st "backend/vbd/$gb/51712" 5)
echo "ok: a forbidden system call killed only gb's backend; restarted, it serves"
# Grant copy and large requests under the sandbox (bounce buffers come
# and go in the queue threads: glibc then reads a /proc file once).
sim exec ga -- "$BF" --no-persistent bench xvda --rw randwrite --bs 1M \
    --qd 16 --seconds 1 >"$T/bench" || fail "copy-mode bench"
sim exec ga -- "$BF" --no-persistent verify xvda | grep -q "VERIFY OK" ||
    fail "copy-mode verify under the sandbox"
[ "$(st "backend/vbd/$ga/51712" 5)" = "$pa" ] ||
    fail "ga's backend died in copy mode: $(grep -a 'forbidden' "$T/iovmd.log")"
echo "ok: grant copy and 1 MiB requests under the sandbox"

# ------------------------------------------------ ceilings
# The backends here hold at most 2 MiB of guest data in flight per
# device (1 MiB per queue, plus one request each) and 256 persistent
# grants per queue.  A frontend pushing 64 x 1 MiB writes gets no more:
# not in flight, not in mappings.
sim exec ga -- "$BF" bench xvda --rw randwrite --bs 1M --qd 64 --seconds 2 \
    >"$T/bench" &
benchpid=$!
n=0
while kill -0 "$benchpid" 2>/dev/null && [ $n -lt 400 ]; do
    m=$(sim ctl stats drvdom | sed -n 's/.* maps_active=\([0-9]*\) .*/\1/p')
    [ -n "$m" ] && [ "$m" -le 1664 ] || fail "driver domain maps $m pages (ceiling 1664)"
    n=$((n + 1))
done
wait "$benchpid" || fail "bench at the ceiling failed"
grep -q ' errors=0$' "$T/bench" || fail "bench errors: $(cat "$T/bench")"
peak=$("$DM" --control "$CTL" status --json |
    sed -n "s/.*\"device\":\"backend\/vbd\/$ga\/51712\"[^}]*\"peak_inflight_bytes\":\([0-9]*\).*/\1/p")
[ -n "$peak" ] && [ "$peak" -gt 0 ] && [ "$peak" -le $((4 << 20)) ] ||
    fail "peak in flight '$peak' bytes (ceiling 4 MiB)"
echo "ok: at the ceiling: $peak bytes in flight at most, mappings within bounds ($n samples), no error"

# ------------------------------------------------ sharing check
# gc wants a.img too.  The block script's own file check misses on
# Debian 12 (it compares losetup's decimal device numbers with stat's
# hex ones) and gives gc a second loop device over a.img; iovm-blkback
# locks a loop device's backing file and refuses it.
gc=$(guest gc "$T/a.img")
swait "$(bepath "$gc")/state" 5
err=$(sim exec 0 -- xenstore-read "$(bepath "$gc")/error")
case $err in
*"/dev/loop"*": already attached read-write elsewhere") ;;
*) fail "file shared read-write: error node '$err'" ;;
esac
echo "ok: a second writer of a.img refused: $err"
if sim exec gc -- "$BF" --timeout-ms 2000 info xvda >/dev/null 2>"$T/err"; then
    fail "gc connected to a refused disk"
fi
echo "ok: gc's frontend gets no disk ($(head -n 1 "$T/err"))"
# gh names ga's loop device itself: the block script's device check
# finds it in use (physical-device of ga's backend) and refuses.
gh=$(guest gh "$pdev")
swait "$(bepath "$gh")/state" 5
err=$(sim exec 0 -- xenstore-read "$(bepath "$gh")/error")
case $err in
"iovmd: hotplug script failed: Device $pdev is mounted in a guest domain,"*) ;;
*"already attached read-write elsewhere") ;;
*) fail "device shared read-write: error node '$err'" ;;
esac
echo "ok: a second writer of $pdev refused: $err"
sim exec ga -- "$BF" verify xvda | grep -q "VERIFY OK" || fail "verify ga after"
echo "ok: ga unaffected"

# ------------------------------------------------ failing / missing scripts
truncate -s 8M "$T/d.img"
gd=$(guest gd "$T/d.img" "script=$T/failing-script")
swait "$(bepath "$gd")/state" 5
expect_eq "$(sim exec 0 -- xenstore-read "$(bepath "$gd")/error")" \
    "iovmd: hotplug script failed: no such volume: pool/vol7" "failing script"
ge=$(guest ge "$T/d.img" "script=$T/no-such-script")
swait "$(bepath "$ge")/state" 5
case $(sim exec 0 -- xenstore-read "$(bepath "$ge")/error") in
*"no-such-script' is not an executable file") echo "ok: missing script" ;;
*) fail "missing script: $(sim exec 0 -- xenstore-read "$(bepath "$ge")/error")" ;;
esac
gi=$(guest gi "$T/d.img" "script=$T/hanging-script")
swait "$(bepath "$gi")/state" 5
expect_eq "$(sim exec 0 -- xenstore-read "$(bepath "$gi")/error")" \
    "iovmd: hotplug script killed by signal 9 (it timed out)" "hanging script"
for g in gc gh gd ge gi; do
    sim xl destroy "$g"
done
echo "ok: failed devices torn down"

# ------------------------------------------------ crash loop
# gf's backend is killed; from then on it dies as it starts.
truncate -s 8M "$T/crash.img"
gf=$(guest gf "$T/crash.img")
swait "$(bepath "$gf")/hotplug-status" connected
touch "$T/crash-on"
kill -KILL "$(st "backend/vbd/$gf/51712" 5)"
swait --timeout 20 "$(bepath "$gf")/state" 5
case $(sim exec 0 -- xenstore-read "$(bepath "$gf")/error") in
"iovmd: backend crashed 5 times in 30 s (last: killed by signal 11 (Segmentation fault))") ;;
*) fail "crash loop: $(sim exec 0 -- xenstore-read "$(bepath "$gf")/error")" ;;
esac
# No frontend ever connected: not serving, so every death counts.
expect_eq "$(st "backend/vbd/$gf/51712" 8)" 4 "restarted 4 times before giving up"
grep "backend/vbd/$gf/51712: started" "$T/iovmd.log" | awk '{ print $1 }' >"$T/starts"
# 100, 200, 400, 800 ms between the restarts (the first start is ours).
awk 'NR > 2 { if ($1 - p < 0.09 * 2 ^ (NR - 2)) bad = 1 } { p = $1 }
     END { exit bad || NR != 5 }' "$T/starts" ||
    fail "backoff between restarts: $(tr '\n' ' ' <"$T/starts")"
echo "ok: restarts backed off ($(tr '\n' ' ' <"$T/starts"))"
sim exec gb -- "$BF" verify xvda | grep -q "VERIFY OK" || fail "verify gb after"
echo "ok: the crash loop failed only gf's device"
rm -f "$T/crash-on"
sim xl destroy gf

# ------------------------------------------------ stop and resume, upgrade
MNT=$T/mnt
mkdir -p "$MNT"
mkfifo "$T/ready"
sim exec ga -- "$BF" fuse xvda "$MNT" >"$T/ready" 2>"$T/fuse.log" &
FUSE_PID=$!
read -r _ <"$T/ready" || fail "fuse did not come up"
head -c 4194304 /dev/urandom >"$T/pat1"
head -c 4194304 /dev/urandom >"$T/pat2"
dd if="$T/pat1" of="$MNT/disk" bs=64k conv=notrunc,fsync status=none
stop_iovmd
pgrep -f "iovm-blkback --supervised --device /local/domain/$dd/.* --poke-fd" |
    while read -r p; do
        # Ours are children of the iovmd we stopped: none may be left.
        [ "$(ps -o ppid= -p "$p" | tr -d ' ')" != "$IOVMD_PID" ] ||
            fail "backend $p left running after iovmd stopped"
    done
expect_eq "$(sim exec 0 -- xenstore-read "$(bepath "$ga")/state")" 4 \
    "backend still Connected with iovmd stopped"
expect_eq "$(sim exec 0 -- xenstore-read "$(bepath "$ga")/iovm-clean-stop")" 1 \
    "rings drained before the stop"
expect_fail "readiness node gone" sim exec 0 -- xenstore-exists \
    "/local/domain/$dd/data/iovmd"
# I/O while no backend runs waits in the ring for the next one.
dd if="$T/pat2" of="$MNT/disk" bs=64k seek=64 conv=notrunc,fsync status=none &
writer=$!
start_iovmd
wait "$writer" || fail "write across the restart failed"
cmp -n 4194304 "$T/pat1" "$MNT/disk" || fail "data before the stop"
cmp -n 4194304 "$T/pat2" "$MNT/disk" 0 4194304 || fail "data written across the stop"
grep -q "$(bepath "$ga"): resumed where the previous process stopped" \
    "$T/iovmd.log" || fail "no resume in the log"
expect_eq "$(st "backend/vbd/$ga/51712" 3)" Connected "ga Connected after resume"
echo "ok: iovmd stopped and started: ga's disk went on, data intact"

old=$(st "backend/vbd/$ga/51712" 5)
# The old process marks its clean stop, the new one takes it: 2 events.
watch_start 0 "$(bepath "$ga")/iovm-clean-stop" 3
dd if="$T/pat1" of="$MNT/disk" bs=64k seek=128 conv=notrunc,fsync status=none &
writer=$!
"$DM" --control "$CTL" upgrade "backend/vbd/$ga/51712" | grep -q '^ok$' ||
    fail "upgrade"
watch_end
wait "$writer" || fail "write across the upgrade failed"
new=$(st "backend/vbd/$ga/51712" 5)
[ "$new" -gt 0 ] && [ "$new" != "$old" ] || fail "upgrade: pid $old -> '$new'"
cmp -n 4194304 "$T/pat1" "$MNT/disk" 0 8388608 || fail "data across the upgrade"
expect_eq "$(st "backend/vbd/$ga/51712" 8)" 0 "an upgrade is not a restart"
echo "ok: upgrade replaced pid $old with $new under I/O"
set +e
"$DM" --control "$CTL" upgrade backend/vbd/999/1 >/dev/null 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "no running backend" "$T/err" || fail "upgrade unknown: $rc"
echo "ok: upgrade of an unknown device refused"
fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT"
wait "$FUSE_PID" || true

# ------------------------------------------------ kill -9 while connected
# gb's backend serves the block script's loop device; it is killed while
# 4 MiB are being written through the guest's disk.  Its successor takes
# the device over: the write completes, the data is intact, the device
# never left Connected.
sim exec gb -- "$BF" fuse xvda "$MNT" >"$T/ready" 2>"$T/fuse.log" &
FUSE_PID=$!
read -r _ <"$T/ready" || fail "fuse did not come up"
old=$(st "backend/vbd/$gb/51712" 5)
restarts=$(st "backend/vbd/$gb/51712" 8)
dd if="$T/pat1" of="$MNT/disk" bs=64k seek=64 conv=notrunc,fsync status=none &
writer=$!
kill -KILL "$old"
wait "$writer" || fail "write across the kill failed"
cmp -n 4194304 "$T/pat1" "$MNT/disk" 0 4194304 || fail "data across the kill"
new=$(st "backend/vbd/$gb/51712" 5)
[ "$new" -gt 0 ] && [ "$new" != "$old" ] || fail "kill -9: pid $old -> '$new'"
expect_eq "$(st "backend/vbd/$gb/51712" 3)" Connected "gb Connected after the kill"
expect_eq "$(st "backend/vbd/$gb/51712" 8)" $((restarts + 1)) "killed backend restarted once"
if sim exec 0 -- xenstore-exists "$(bepath "$gb")/error"; then
    fail "kill -9: error node $(sim exec 0 -- xenstore-read "$(bepath "$gb")/error")"
fi
echo "ok: kill -9 under a write: pid $old taken over by $new, data intact"
fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || true
wait "$FUSE_PID" || true

# ------------------------------------------------ teardown
sim xl destroy ga
sim xl destroy gb
"$DM" --control "$CTL" status >"$T/status"
expect_eq "$(wc -l <"$T/status")" 1 "status lists no device"
expect_eq "$(sim exec 0 -- xenstore-ls -f "/local/domain/$dd" | wc -l)" \
    "$nodes_before" "driver domain's nodes back to where they were"
if losetup -a | grep -q "$T/"; then
    fail "loop devices left: $(losetup -a | grep "$T/")"
fi
echo "ok: the block script's remove detached every loop device"
[ -z "$(ps -o pid= --ppid "$IOVMD_PID")" ] ||
    fail "processes left under iovmd: $(ps -o pid=,args= --ppid "$IOVMD_PID")"
echo "ok: no backend process left"

# ------------------------------------------------ acknowledged = durable
# gz writes 1 MiB and is told it is done; it never flushes.  The driver
# domain is destroyed at once.  The data must be in z.img: iovm-blkback
# writes a block device (here the block script's loop device) directly,
# not into the driver domain's page cache.  (The test holds the loop
# device open so its last close, which would sync a page cache, does not
# happen.)
truncate -s 8M "$T/z.img"
gz=$(guest gz "$T/z.img")
head -c 1048576 /dev/urandom >"$T/zpat"
sim exec gz -- "$BF" write xvda 1M 1M <"$T/zpat" || fail "write on gz"
loopdev=$(sim exec 0 -- xenstore-read "$(bepath "$gz")/physical-device-path")
exec 7<"$loopdev"
sim ctl destroy drvdom
set +e
wait "$IOVMD_PID"
set -e
dd if="$T/z.img" iflag=direct bs=1M skip=1 count=1 status=none | cmp - "$T/zpat" ||
    fail "an acknowledged write did not survive the driver domain"
exec 7<&-
echo "ok: an acknowledged, unflushed write survived destroying the driver domain"
