#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `iovm-sim xl`: domains from xl config files (the examples in
# driver-domain/examples/), a disk served by a driver domain, and what
# libxl writes for it: every backend, frontend and /libxl key with its
# value and permissions, checked with Debian's xenstore tools from the
# domains that use them.  A tiny fake backend (blkback + xl devd stand-in,
# a shell loop on xenstore-watch) runs inside the driver domain.  Also:
# the InitWait timeout, ERROR_DEVICE_EXISTS, block-detach with and
# without a cooperating backend, -f, a dom0 backend, qdisk, destroy.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

EX="${IOVM_TEST_SRCDIR:-.}/driver-domain/examples"
IMG=$T/disk.img
: >"$IMG"

# node PATH: 'PATH = "VALUE" (PERMS)' as dom0 sees it, blanks squeezed.
node() {
    sim exec 0 -- xenstore-ls -f -p "${1%/*}" | tr -s ' ' |
        awk -v p="$1" '$1 == p'
}

# tree PATH: PATH and everything below it, one node a line, as node().
tree() {
    node "$1"
    sim exec 0 -- xenstore-ls -f -p "$1" | tr -s ' '
}

# exists PATH (as dom0)
exists() {
    sim exec 0 -- xenstore-exists "$1" 2>/dev/null
}

# The fake backend: acknowledges a new device (state 1 -> 2, as blkback
# at probe) and, when data/fake-close is 1, closes a device asked to
# (5 -> 6); in a driver domain ("rm") it then removes the directory a
# little later, as xl devd does after its hotplug script (libxl reads
# Closed, then waits for the removal; removed before libxl read Closed,
# libxl fails: "unable to remove device").  In dom0 libxl removes it.
# It watches its own backend/ and says data/fake-ready once watching.
cat >"$T/fakebe.sh" <<'EOF'
xenstore-watch backend | while read -r p; do
    case $p in
    backend) xenstore-write data/fake-ready 1 ;;
    */state)
        s=$(xenstore-read "$p" 2>/dev/null) || continue
        if [ "$s" = 1 ]; then
            xenstore-write "$p" 2
        elif [ "$s" = 5 ]; then
            case $(xenstore-read data/fake-close 2>/dev/null) in
            1)
                xenstore-write "$p" 6
                if [ "$1" = rm ]; then
                    (sleep 0.5; xenstore-rm "${p%/state}") &
                fi
                ;;
            # A backend that removes its directory itself, Closed or not.
            vanish) xenstore-rm "${p%/state}" ;;
            esac
        fi
        ;;
    esac
done
EOF

# ---------------------------------------------------------- driver domain
d=$(sim xl create "$EX/drvdom.cfg")
expect_eq "$(sim exec 0 -- xenstore-read "/local/domain/$d/name")" drvdom \
    "drvdom created from drvdom.cfg"
expect_eq "$(node "/local/domain/$d/libxl")" \
    "/local/domain/$d/libxl = \"\" (n$d)" "driver_domain=1: ~/libxl"
expect_eq "$(node "/local/domain/$d/device-model")" \
    "/local/domain/$d/device-model = \"\" (n$d)" \
    "driver_domain=1: ~/device-model"

sim exec drvdom -- sh "$T/fakebe.sh" rm 2>>"$T/fakebe.log" &
fakepid=$!
sim wait "/local/domain/$d/data/fake-ready" 1
sim exec drvdom -- xenstore-write data/fake-close 1

# ------------------------------------------------- a guest with its disk
sed "s|/var/lib/iovm/disk.img|$IMG|" "$EX/guest.cfg" >"$T/guest.cfg"
g=$(sim xl create "$T/guest.cfg")
expect_eq "$(sim exec 0 -- xenstore-read "/local/domain/$g/name")" guest \
    "guest created from guest.cfg"
n=51712 # xvda
BE=/local/domain/$d/backend/vbd/$g/$n
FE=/local/domain/$g/device/vbd/$n
LX=/libxl/$g/device/vbd/$n

expect_eq "$(tree "$BE")" "$BE = \"\" (n$d,r$g)
$BE/frontend = \"$FE\" (n$d,r$g)
$BE/params = \"$IMG\" (n$d,r$g)
$BE/script = \"/etc/xen/scripts/block\" (n$d,r$g)
$BE/frontend-id = \"$g\" (n$d,r$g)
$BE/online = \"1\" (n$d,r$g)
$BE/removable = \"0\" (n$d,r$g)
$BE/bootable = \"1\" (n$d,r$g)
$BE/state = \"2\" (n$d,r$g)
$BE/dev = \"xvda\" (n$d,r$g)
$BE/type = \"phy\" (n$d,r$g)
$BE/mode = \"w\" (n$d,r$g)
$BE/device-type = \"disk\" (n$d,r$g)
$BE/discard-enable = \"1\" (n$d,r$g)
$BE/specification = \"xen\" (n$d,r$g)" "backend keys, values, perms"
for p in "/local/domain/$d/backend" "/local/domain/$d/backend/vbd" \
    "/local/domain/$d/backend/vbd/$g"; do
    expect_eq "$(node "$p")" "$p = \"\" (n0,r$d)" "backend parent $p"
done

expect_eq "$(tree "$FE")" "$FE = \"\" (n$g,r$d)
$FE/backend = \"$BE\" (n$g,r$d)
$FE/backend-id = \"$d\" (n$g,r$d)
$FE/state = \"1\" (n$g,r$d)
$FE/virtual-device = \"$n\" (n$g,r$d)
$FE/device-type = \"disk\" (n$g,r$d)
$FE/trusted = \"1\" (n$g,r$d)
$FE/protocol = \"x86_64-abi\" (n$g,r$d)" "frontend keys, values, perms"
expect_eq "$(node "/local/domain/$g/device/vbd")" \
    "/local/domain/$g/device/vbd = \"\" (n0,r$g)" "frontend parent"

expect_eq "$(tree "$LX")" "$LX = \"\" (n0)
$LX/frontend = \"$FE\" (n0)
$LX/backend = \"$BE\" (n0)
$LX/params = \"$IMG\" (n0)
$LX/script = \"/etc/xen/scripts/block\" (n0)
$LX/frontend-id = \"$g\" (n0)
$LX/online = \"1\" (n0)
$LX/removable = \"0\" (n0)
$LX/bootable = \"1\" (n0)
$LX/state = \"1\" (n0)
$LX/dev = \"xvda\" (n0)
$LX/type = \"phy\" (n0)
$LX/mode = \"w\" (n0)
$LX/device-type = \"disk\" (n0)
$LX/discard-enable = \"1\" (n0)
$LX/specification = \"xen\" (n0)" "/libxl copy"

# Who may do what, from inside the domains.
expect_eq "$(sim exec guest -- xenstore-read "device/vbd/$n/backend")" "$BE" \
    "guest reads its frontend"
expect_eq "$(sim exec guest -- xenstore-read "$BE/mode")" w \
    "guest reads the backend"
sim exec guest -- xenstore-write "device/vbd/$n/ring-ref" 8
echo "ok: guest writes its frontend"
expect_fail "guest writes the backend" \
    sim exec guest -- xenstore-write "$BE/state" 4
expect_fail "guest writes a backend parent" \
    sim exec guest -- xenstore-write "/local/domain/$d/backend/vbd/x" 1
expect_eq "$(sim exec drvdom -- xenstore-read "$FE/ring-ref")" 8 \
    "drvdom reads the frontend"
expect_fail "drvdom writes the frontend" \
    sim exec drvdom -- xenstore-write "$FE/state" 4
sim exec drvdom -- xenstore-write "backend/vbd/$g/$n/hotplug-status" connected
echo "ok: drvdom writes its backend"
expect_fail "drvdom deletes backend/vbd/$g" \
    sim exec drvdom -- xenstore-rm "backend/vbd/$g"
exists "/local/domain/$d/backend/vbd/$g" || fail "backend/vbd/$g deleted"
expect_fail "guest reads /libxl" sim exec guest -- xenstore-read "$LX/dev"

# ------------------------------------------------------- block-attach
expect_fail "block-attach of an existing vdev (ERROR_DEVICE_EXISTS)" \
    sim xl block-attach guest "backend=drvdom,vdev=xvda,target=$IMG"
sim xl block-attach guest "backend=drvdom,vdev=xvda,target=$IMG" \
    2>"$T/err" || true
grep -q 'already exists' "$T/err" || fail "no ERROR_DEVICE_EXISTS message"
expect_eq "$(sim exec 0 -- xenstore-read "$BE/state")" 2 \
    "existing device untouched"

# A read-only, untrusted disk, given as several arguments like xl's.
sim xl block-attach "$g" "backend=drvdom" "vdev=xvdb, access=ro, untrusted" \
    "target=$IMG"
nb=51728
BEB=/local/domain/$d/backend/vbd/$g/$nb
FEB=/local/domain/$g/device/vbd/$nb
expect_eq "$(node "$BEB/mode")" "$BEB/mode = \"r\" (n$d,r$g)" "xvdb mode r"
expect_eq "$(node "$BEB/discard-enable")" \
    "$BEB/discard-enable = \"0\" (n$d,r$g)" "read-only: discard off"
expect_eq "$(node "$FEB/trusted")" "$FEB/trusted = \"0\" (n$g,r$d)" \
    "untrusted in the frontend"
expect_eq "$(sim exec 0 -- xenstore-read "$BEB/state")" 2 "xvdb InitWait"

# ------------------------------------------------------- block-detach
# With a cooperating backend: Closed, it removes its directory, dom0
# removes the rest.
sim xl block-detach guest xvdb
expect_fail "xvdb backend gone" exists "$BEB"
expect_fail "xvdb frontend gone" exists "$FEB"
expect_fail "xvdb /libxl gone" exists "/libxl/$g/device/vbd/$nb"
expect_eq "$(sim exec 0 -- xenstore-read "$BE/state")" 2 "xvda still there"
expect_fail "detach of a detached disk" sim xl block-detach guest xvdb
expect_fail "detach of a bad vdev" sim xl block-detach guest xvd

# Without: it fails after the timeout and removes nothing.
sim xl block-attach guest "backend=drvdom,vdev=xvdc,target=$IMG"
nc=51744
BEC=/local/domain/$d/backend/vbd/$g/$nc
sim exec drvdom -- xenstore-write data/fake-close 0
if IOVM_SIM_XL_TIMEOUT_MS=300 sim xl block-detach guest xvdc 2>"$T/err"; then
    fail "block-detach succeeded without a backend closing"
fi
expect_eq "$(wc -l <"$T/err")" 1 "one error line"
grep -q '^iovm-sim: .*state 6' "$T/err" || fail "bad message: $(cat "$T/err")"
expect_eq "$(sim exec 0 -- xenstore-read "$BEC/state")" 5 "left Closing"
expect_eq "$(sim exec 0 -- xenstore-read "$BEC/online")" 0 "left offline"
exists "/local/domain/$g/device/vbd/$nc" || fail "frontend removed"
exists "/libxl/$g/device/vbd/$nc" || fail "/libxl entry removed"
echo "ok: failed block-detach removes nothing"
# -f removes it all anyway (and reports the timeout, as xl does).
if IOVM_SIM_XL_TIMEOUT_MS=300 sim xl block-detach guest xvdc -f 2>"$T/err"
then
    fail "forced detach of a stuck backend reported success"
fi
grep -q 'removed anyway' "$T/err" || fail "bad message: $(cat "$T/err")"
expect_fail "forced: backend gone" exists "$BEC"
expect_fail "forced: frontend gone" exists "/local/domain/$g/device/vbd/$nc"
expect_fail "forced: /libxl gone" exists "/libxl/$g/device/vbd/$nc"

# A backend that removes its own directory before libxl has read Closed:
# libxl's wait for state 6 fails ("unable to remove device"; found on real
# Xen), and the rest is removed only when forced.
sim xl block-attach guest "backend=drvdom,vdev=xvdd,target=$IMG"
sim exec drvdom -- xenstore-write data/fake-close vanish
if sim xl block-detach guest xvdd 2>"$T/err"; then
    fail "block-detach succeeded though the state node vanished"
fi
grep -q 'vanished before state 6' "$T/err" || fail "bad message: $(cat "$T/err")"
exists "/local/domain/$g/device/vbd/51760" || fail "frontend removed"
sim xl block-detach guest xvdd -f 2>/dev/null || true
expect_fail "forced: xvdd frontend gone" exists "/local/domain/$g/device/vbd/51760"
echo "ok: a backend removing its own directory fails the detach, as in libxl"
sim exec drvdom -- xenstore-write data/fake-close 1

# ---------------------------------------------------- qdisk, dom0 backend
sim xl block-attach guest \
    "backend=drvdom,vdev=xvdg,format=qcow2,target=$T/q.qcow2"
BEQ=/local/domain/$d/backend/qdisk/$g/51808
expect_eq "$(sim exec 0 -- xenstore-read "$BEQ/params")" "qcow2:$T/q.qcow2" \
    "qdisk params"
expect_eq "$(sim exec 0 -- xenstore-read "$BEQ/type")" qdisk "qdisk type"
expect_fail "qdisk has no script" exists "$BEQ/script"

sim exec 0 -- sh "$T/fakebe.sh" 2>>"$T/fakebe.log" &
sim wait /local/domain/0/data/fake-ready 1
sim exec 0 -- xenstore-write data/fake-close 1
expect_fail "dom0 target must exist" \
    sim xl block-attach guest "vdev=xvdf,target=$T/nope"
sim xl block-attach guest "vdev=xvde,target=$IMG"
BEE=/local/domain/0/backend/vbd/$g/51776
expect_eq "$(node "$BEE")" "$BEE = \"\" (n0,r$g)" "dom0 backend perms"
expect_eq "$(node "/local/domain/$g/device/vbd/51776/backend-id")" \
    "/local/domain/$g/device/vbd/51776/backend-id = \"0\" (n$g,r0)" \
    "dom0 frontend perms"
# libxl ran the block script (Debian's) in dom0: a loop device.
expect_eq "$(sim exec 0 -- xenstore-read "$BEE/hotplug-status")" connected \
    "dom0 hotplug script ran"
loopdev=$(sim exec 0 -- xenstore-read "$BEE/physical-device-path")
losetup "$loopdev" | grep -qF "$IMG" || fail "no loop device on the image"
sim xl block-detach guest xvde
expect_fail "dom0 backend cleaned up" exists /local/domain/0/backend
[ -z "$(losetup -j "$IMG")" ] || fail "the block script's remove did not run"
echo "ok: the block script's remove detached $loopdev"
# A script that fails: the attach fails with its message, as libxl's.
printf '#!/bin/sh\nxenstore-write "$XENBUS_PATH/hotplug-error" "no volume here" "$XENBUS_PATH/hotplug-status" error\nexit 1\n' \
    >"$T/bad-script"
chmod +x "$T/bad-script"
if sim xl block-attach guest "vdev=xvdh,script=$T/bad-script,target=$IMG" \
    2>"$T/err"; then
    fail "attach with a failing script succeeded"
fi
grep -q "bad-script add failed; error detected: no volume here" "$T/err" ||
    fail "failing script: $(cat "$T/err")"
echo "ok: a failing dom0 hotplug script fails the attach: $(cat "$T/err")"
sim xl block-detach guest xvdh -f 2>/dev/null || true

# ------------------------------------------------------------- failures
printf 'name = "lonely"\ndisk = [ "backend=idle, vdev=xvda, target=%s" ]\n' \
    "$IMG" >"$T/lonely.cfg"
printf 'name = "idle"\ndriver_domain = 1\n' >"$T/idle.cfg"
i=$(sim xl create "$T/idle.cfg")
t0=$(date +%s%N)
if IOVM_SIM_XL_TIMEOUT_MS=300 sim xl create "$T/lonely.cfg" >"$T/out" \
    2>"$T/err"; then
    fail "create succeeded with no backend"
fi
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 300 ] || fail "gave up before the timeout"
echo "ok: no backend: create fails after the timeout"
expect_eq "$(cat "$T/out")" "" "no domid printed"
expect_eq "$(wc -l <"$T/err")" 1 "one error line"
grep -q '^iovm-sim: .*did not reach state 2' "$T/err" ||
    fail "bad message: $(cat "$T/err")"
expect_fail "lonely destroyed" sim exec lonely -- true
expect_fail "no backend left in idle" exists "/local/domain/$i/backend"
expect_eq "$(sim exec 0 -- xenstore-list /libxl | sort -n | tr '\n' ' ')" \
    "$(printf '%s\n' "$d" "$g" "$i" | sort -n | tr '\n' ' ')" \
    "no /libxl entry left"
expect_eq "$(sim exec 0 -- xenstore-list /vm | wc -l)" 3 "no /vm left"

printf 'name = "nob"\ndisk = [ "backend=nosuch, vdev=xvda, target=/x" ]\n' \
    >"$T/nob.cfg"
expect_fail "unknown backend domain" sim xl create "$T/nob.cfg"
expect_fail "nob destroyed" sim exec nob -- true
printf 'name = "bad"\n\ndisk = [ "vdev=xvda" ]\n' >"$T/bad.cfg"
expect_fail "disk without target" sim xl create "$T/bad.cfg"
printf 'name = "bad"\nmemory = \n' >"$T/bad.cfg"
sim xl create "$T/bad.cfg" 2>"$T/err" && fail "bad syntax accepted"
expect_eq "$(sed 's/ near.*//' "$T/err")" \
    "iovm-sim: $T/bad.cfg:2: config parsing error" "syntax error line"
printf 'memory = 512\n' >"$T/bad.cfg"
expect_fail "no name" sim xl create "$T/bad.cfg"
expect_fail "missing file" sim xl create "$T/nope.cfg"
expect_fail "xl without a command" sim xl
expect_fail "xl bad command" sim xl frob
expect_eq "$(sim list | grep -c '^DOM')" 4 "only dom0, drvdom, guest, idle"

# -------------------------------------------------------------- destroy
vm=$(sim exec 0 -- xenstore-read "/local/domain/$g/vm")
sim xl destroy guest 2>"$T/err"
expect_eq "$(cat "$T/err")" "" "quiet destroy"
expect_fail "guest gone" exists "/local/domain/$g"
expect_fail "guest /libxl gone" exists "/libxl/$g"
expect_fail "guest /vm gone" exists "$vm"
expect_fail "no backend/vbd/$g" exists "/local/domain/$d/backend/vbd/$g"
expect_fail "no backend/qdisk/$g" exists "/local/domain/$d/backend/qdisk/$g"
expect_fail "empty backend dir removed" exists "/local/domain/$d/backend"
sim xl destroy "$i"
sim xl destroy drvdom
wait "$fakepid" 2>/dev/null || true # killed with its domain
expect_eq "$(sim list | grep -c '^DOM')" 1 "only dom0 left"
expect_fail "destroy of a dead domain" sim xl destroy drvdom
