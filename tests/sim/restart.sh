#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Transparent restart: a guest runs a checked stream of writes, reads and
# flushes (iovm-blkfront stress: every byte checked, both xenstore states
# watched) while its backend process is killed at random moments; the
# stream must see no error, no lost or wrong data, no lost or unknown
# completion, and neither state may leave Connected.
#  - $KILLS SIGKILLs with persistent grants, multi-queue, 16-page rings
#    and indirect requests; again with grant copy;
#  - sandbox violations (a forbidden system call) instead of SIGKILL;
#  - live upgrades to another binary under the same stream, and through
#    a backend that keeps no journal;
#  - a journal that does not add up (as a compromised predecessor could
#    leave it) fails the device with a reason, the successor alive;
#  - restart latency (kill -> the new process's first response) printed.
# The crash loop (a backend that dies before serving) is in iovmd.sh.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

B=${IOVM_TEST_BUILDDIR:-.}
EX="${IOVM_TEST_SRCDIR:-.}/driver-domain/examples"
DM=$B/driver-domain/iovmd
BF=$B/frontend/iovm-blkfront
RK=$B/tests/sim/restart-kill
CTL=$T/iovmd.sock
KILLS=${IOVM_RESTART_KILLS:-100}
SEED=${IOVM_RESTART_SEED:-$(date +%s)}
echo "seed $SEED (IOVM_RESTART_SEED reproduces the kill moments)"

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$T/iovmd.log" ]; then
        echo "---- iovmd.log (tail)"
        tail -n 40 "$T/iovmd.log"
    fi
    exit 1
}

# The backend iovmd starts is whatever $T/blkback points to: an upgrade
# points it at another binary.
cp "$B/backend/blk/iovm-blkback" "$T/iovm-blkback.v1"
cp "$B/backend/blk/iovm-blkback" "$T/iovm-blkback.v2"
ln -s "$T/iovm-blkback.v1" "$T/blkback"

dd=$(sim xl create "$EX/drvdom.cfg")
"$IOVM_SIM" --dir "$SIMDIR" exec drvdom -- "$DM" --control "$CTL" \
    --blkback "$T/blkback" --no-hotplug-scripts --remove-delay-ms 100 \
    --backend-arg --test-hooks --backend-arg --max-queues=4 \
    >"$T/iovmd.log" 2>&1 &
IOVMD_PID=$!
sim wait "/local/domain/$dd/data/iovmd" ready || fail "iovmd not ready"

# field DEVICE KEY: a number or boolean of `iovmd status --json`.
field() {
    "$DM" --control "$CTL" status --json |
        sed -n "s/.*\"device\":\"$(echo "$1" | sed 's|/|\\/|g')\"[^}]*\"$2\":\([a-z0-9]*\).*/\1/p"
}

# new_guest NAME SIZE: a guest whose xvda is a fresh image of SIZE, served
# by drvdom; sets g (its domid) and dev (its backend device).
new_guest() {
    truncate -s "$2" "$T/$1.img"
    cat >"$T/$1.cfg" <<EOF
name = "$1"
disk = [ 'backend=drvdom, vdev=xvda, access=rw, format=raw, target=$T/$1.img' ]
EOF
    g=$(sim xl create "$T/$1.cfg") || fail "$1: xl create"
    dev=backend/vbd/$g/51712
}

# rk SIGNAL COUNT: restart-kill on the current stream's device.
rk() {
    if ! "$RK" "$CTL" "$dev" "$2" "$1" 300 "$SEED" >>"$T/$name.kills"; then
        touch "$T/stop"
        wait "$spid" || true
        cat "$T/$name.kills" "$T/$name.err"
        fail "$name: restart-kill"
    fi
}

# stream NAME FRONTEND-OPTIONS CMD...: a guest NAME on a fresh 64 MiB
# disk; its stream runs while CMD (rk ..., say) kills or upgrades.
stream() {
    name=$1 opts=$2
    shift 2
    new_guest "$name" 64M
    rm -f "$T/stop"
    # shellcheck disable=SC2086
    sim exec "$name" -- "$BF" $opts stress xvda --stop-file "$T/stop" \
        --qd 48 --seed "$SEED" >"$T/$name.out" 2>"$T/$name.err" &
    spid=$!
    : >"$T/$name.kills"
    "$@"
    [ "$(sim exec 0 -- xenstore-read "/local/domain/$dd/$dev/state")" = 4 ] ||
        fail "$name: backend not Connected after the kills"
    if sim exec 0 -- xenstore-exists "/local/domain/$dd/$dev/error"; then
        fail "$name: error node: $(sim exec 0 -- xenstore-read "/local/domain/$dd/$dev/error")"
    fi
    touch "$T/stop"
    wait "$spid" || fail "$name: $(cat "$T/$name.out" "$T/$name.err")"
    line=$(grep '^STRESS' "$T/$name.out")
    case $line in
    "STRESS ok "*" errors=0 bad=0 lost=0 bogus=0 state_changes=0 "*) ;;
    *) fail "$name: $line" ;;
    esac
    for k in writes reads flushes barriers verified_blocks; do
        n=$(echo "$line" | sed -n "s/.* $k=\([0-9]*\).*/\1/p")
        [ "${n:-0}" -gt 0 ] || fail "$name: no $k in '$line'"
    done
    echo "ok: $name: $(tail -n 1 "$T/$name.kills"); $line"
}

# ------------------------------------------------ SIGKILL, persistent grants
stream gp "" rk 9 "$KILLS"
grep -q "backend/vbd/[0-9]*/51712: connected to domain [0-9]*: 4 queue(s), 16-page ring, [a-z0-9_-]*, persistent grants" \
    "$T/iovmd.log" || fail "gp did not get 4 queues, 16-page rings and persistent grants"
expect_eq "$(field "$dev" takeovers)" "$KILLS" \
    "gp: every kill was a takeover (no crash counted)"
# Where a restart's time goes: the wait for the dead process's io_uring to
# let go of the storage (its teardown, after the I/O it had finished).
sed -n 's/.*the storage was in use for \([0-9]*\) ms.*/\1/p' "$T/iovmd.log" |
    sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "info: storage lock waited for in %d of the restarts: median %d ms, max %d ms\n", NR, v[int((NR + 1) / 2)], v[NR] }'
sim xl destroy gp

# ------------------------------------------------ SIGKILL, grant copy
stream gc --no-persistent rk 9 "$KILLS"
sim xl destroy gc

# ------------------------------------------------ sandbox violations
# --test-hooks: SIGUSR1 makes the backend call socket(), which its
# seccomp filter answers with SIGSYS.
stream gs "" rk 10 20
grep -q "iovm-blkback: sandbox: forbidden system call 41" "$T/iovmd.log" ||
    fail "no sandbox violation in the log"
grep -q "killed by signal 31 (Bad system call); taking over at once" \
    "$T/iovmd.log" || fail "sandbox kills were not taken over"
sim xl destroy gs

# ------------------------------------------------ live upgrade
# Under the stream: point iovmd at another binary, upgrade, 5 times back
# and forth; each new process runs the binary it was meant to.
# use BINARY: what iovmd starts from now on.
use() {
    rm -f "$T/blkback"
    ln -s "$1" "$T/blkback"
}
upgrades() {
    use "$T/iovm-blkback.v2"
    rk 0 5
}
stream gu "" upgrades
pid=$(grep -o 'pid [0-9]* -> [0-9]*' "$T/gu.kills" | tail -n 1 | awk '{ print $4 }')
case $(readlink "/proc/$pid/exe") in
*iovm-blkback.v2) ;;
*) fail "upgraded backend $pid runs $(readlink "/proc/$pid/exe")" ;;
esac
echo "ok: live upgrade: pid $pid runs iovm-blkback.v2"
sim xl destroy gu

# ------------------------------------------------ through a binary without a journal
# An upgrade to a backend that keeps no journal (an older one, say: here
# the same binary without --journal-fd): it takes over after the clean
# stop; the ring then goes further than iovmd's journal.  Upgraded back,
# the journal is known to be stale and dropped, and a kill -9 after that
# is taken over from the fresh one.
cat >"$T/nojournal-wrap" <<EOF
#!/bin/bash
args=()
while [ \$# -gt 0 ]; do
    if [ "\$1" = --journal-fd ]; then shift 2; continue; fi
    args+=("\$1")
    shift
done
exec "$T/iovm-blkback.v1" "\${args[@]}"
EOF
chmod +x "$T/nojournal-wrap"
through_nojournal() {
    use "$T/nojournal-wrap"
    rk 0 1
    use "$T/iovm-blkback.v1"
    rk 0 1
    rk 9 3
}
stream gn "" through_nojournal
grep -q "the ring journal is older than the ring; the previous process stopped cleanly" \
    "$T/iovmd.log" || fail "gn: the stale journal was not noticed"
echo "ok: an upgrade through a backend without a journal: the stale journal dropped"
sim xl destroy gn

# ------------------------------------------------ a journal that does not add up
# What a compromised (or buggy) predecessor could leave: req_cons of
# queue 0 far past what any ring holds.  The successor fails the device
# with a reason; it does not crash or guess.
cat >"$T/corrupt-wrap" <<EOF
#!/bin/sh
jfd= prev=
for a; do [ "\$prev" = --journal-fd ] && jfd=\$a; prev=\$a; done
if [ -e "$T/corrupt" ] && [ -n "\$jfd" ]; then
    rm -f "$T/corrupt"
    # struct iovm_rjournal: a 64-byte header, then queue 0's req_cons.
    printf '\377\377\377\177' |
        dd of=/proc/self/fd/\$jfd bs=1 seek=64 conv=notrunc status=none
fi
exec "$T/iovm-blkback.v1" "\$@"
EOF
chmod +x "$T/corrupt-wrap"
rm -f "$T/blkback"
ln -s "$T/corrupt-wrap" "$T/blkback"
new_guest gj 16M
sim exec gj -- "$BF" stress xvda --seconds 600 >"$T/gj.out" 2>&1 &
spid=$!
while [ "$(field "$dev" serving)" != true ] ||
    [ "$(field "$dev" first_response_ns)" = 0 ]; do
    kill -0 "$spid" 2>/dev/null || fail "gj: stress ended: $(cat "$T/gj.out")"
done
touch "$T/corrupt"
kill -KILL "$(field "$dev" pid)"
sim wait --timeout 20 "/local/domain/$dd/$dev/state" 5 ||
    fail "gj: the device did not fail"
case $(sim exec 0 -- xenstore-read "/local/domain/$dd/$dev/error") in
*"the ring journal does not add up; cannot take the queue over") ;;
*) fail "gj: error node '$(sim exec 0 -- xenstore-read "/local/domain/$dd/$dev/error")'" ;;
esac
[ ! -e "$T/corrupt" ] || fail "gj: the wrapper did not corrupt the journal"
[ "$(field "$dev" pid)" -gt 0 ] || fail "gj: the successor died"
echo "ok: a journal that does not add up fails the device: $(sim exec 0 -- xenstore-read "/local/domain/$dd/$dev/error")"
kill "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
sim xl destroy gj

[ -z "$(ps -o pid= --ppid "$IOVMD_PID")" ] ||
    fail "processes left under iovmd: $(ps -o pid=,args= --ppid "$IOVMD_PID")"
echo "ok: no backend process left"
