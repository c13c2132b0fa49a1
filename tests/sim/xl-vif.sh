#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `iovm-sim xl` and vifs: what libxl 4.17 writes for a vif served by a
# driver domain (libxl_nic.c:libxl__set_xenstore_nic and
# libxl_device.c:libxl__device_generic_add): every backend, frontend,
# read-only frontend (mtu: the backend's, the guest may only read it) and
# /libxl key with its value and permissions; the default MAC; devids;
# network-attach and network-detach (by devid and by MAC) with a fake
# backend that moves states; the InitWait timeout with libxl's message;
# libxl's forced retry (FORCE_AUTO) when a backend never closes; a vif
# served by dom0 (its script run with libxl's arguments and environment).
# And each domain's network namespace: only lo, distinct from the host's
# and the others', entered by `exec`, printed by `netns`, removed with
# the domain and when the simulator stops.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

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

exists() {
    sim exec 0 -- xenstore-exists "$1" 2>/dev/null
}

# A domain's network namespace, as the kernel names it ("net:[N]").
netns_of() {
    sim exec "$1" -- readlink /proc/self/ns/net
}

# The fake backend (as in xl.sh): acknowledges a new device (1 -> 2)
# and, when data/fake-close is 1, closes a device asked to (5 -> 6); in
# a driver domain ("rm") it then removes the directory half a second
# later, as xl devd does once its hotplug script ran (libxl reads Closed
# first, then waits for the removal).  Says data/fake-ready once
# watching.
cat >"$T/fakebe.sh" <<'EOF'
xenstore-watch backend | while read -r p; do
    case $p in
    backend) xenstore-write data/fake-ready 1 ;;
    */state)
        s=$(xenstore-read "$p" 2>/dev/null) || continue
        if [ "$s" = 1 ]; then
            xenstore-write "$p" 2
        elif [ "$s" = 5 ] &&
            [ "$(xenstore-read data/fake-close 2>/dev/null)" = 1 ]; then
            xenstore-write "$p" 6
            if [ "$1" = rm ]; then
                (sleep 0.5; xenstore-rm "${p%/state}") &
            fi
        fi
        ;;
    esac
done
EOF

# ---------------------------------------------------------- namespaces
d=$(sim domain create drvdom --driver-domain)
sim exec drvdom -- sh "$T/fakebe.sh" rm 2>>"$T/fakebe.log" &
sim wait "/local/domain/$d/data/fake-ready" 1
sim exec drvdom -- xenstore-write data/fake-close 1

host=$(readlink /proc/self/ns/net)
nd=$(netns_of drvdom)
expect_eq "$(netns_of 0)" "$host" "dom0 runs in the caller's namespace"
[ "$nd" != "$host" ] || fail "drvdom shares the host's network namespace"
echo "ok: drvdom has its own network namespace ($nd)"
expect_eq "$(sim netns drvdom)" "$SIMDIR/dom$d/netns" "netns prints the path"
expect_fail "dom0 has no netns file" sim netns 0
expect_fail "netns of no domain" sim netns nosuch
# The file is a bind mount of that namespace: nsenter gets the same one.
expect_eq "$(nsenter --net="$SIMDIR/dom$d/netns" readlink /proc/self/ns/net)" \
    "$nd" "nsenter --net=\$(iovm-sim netns drvdom) enters it"
grep -q " $SIMDIR/dom$d/netns " /proc/self/mountinfo ||
    fail "no mount on $SIMDIR/dom$d/netns"
echo "ok: the namespace is held by a mount"
expect_eq "$(sim exec drvdom -- ip -o link | awk -F': ' '{print $2}')" lo \
    "a domain's ip link shows only lo"
sim exec drvdom -- ip -o link show lo | grep -q '[<,]UP[,>]' ||
    fail "lo is not up in drvdom"
echo "ok: lo is up"
# A command's children stay inside.
expect_eq "$(sim exec drvdom -- sh -c 'readlink /proc/self/ns/net')" "$nd" \
    "exec's children run inside"

# ---------------------------------------- a guest with two vifs (create)
IMG=$T/disk.img
: >"$IMG"
cat >"$T/guest.cfg" <<EOF
name = "guest"
disk = [ 'backend=drvdom, vdev=xvda, target=$IMG' ]
vif = [ 'backend=drvdom, bridge=xenbr1, mac=00:16:3e:12:34:56, rate=10Mb/s@20ms, mtu=9000, vifname=g0.0, ip=10.0.0.2',
        'backend=drvdom' ]
EOF
g=$(sim xl create "$T/guest.cfg" 2>"$T/err")
expect_eq "$(cat "$T/err")" "" "create: no warnings"
ng=$(netns_of guest)
[ "$ng" != "$host" ] && [ "$ng" != "$nd" ] ||
    fail "guest's namespace $ng is not its own (host $host, drvdom $nd)"
echo "ok: two domains, two namespaces, neither the host's"

BE=/local/domain/$d/backend/vif/$g/0
FE=/local/domain/$g/device/vif/0
LX=/libxl/$g/device/vif/0
# libxl__set_xenstore_nic's order: script, vifname, mac, ip, rate, mtu
# (not the default 1500), bridge, handle, type, hotplug-status; rate is
# bytes per interval (10 Mbit/s = 1250000 B/s, * 20 ms) and interval.
expect_eq "$(tree "$BE")" "$BE = \"\" (n$d,r$g)
$BE/frontend = \"$FE\" (n$d,r$g)
$BE/frontend-id = \"$g\" (n$d,r$g)
$BE/online = \"1\" (n$d,r$g)
$BE/state = \"2\" (n$d,r$g)
$BE/script = \"/etc/xen/scripts/vif-bridge\" (n$d,r$g)
$BE/vifname = \"g0.0\" (n$d,r$g)
$BE/mac = \"00:16:3e:12:34:56\" (n$d,r$g)
$BE/ip = \"10.0.0.2\" (n$d,r$g)
$BE/rate = \"25000,20000\" (n$d,r$g)
$BE/mtu = \"9000\" (n$d,r$g)
$BE/bridge = \"xenbr1\" (n$d,r$g)
$BE/handle = \"0\" (n$d,r$g)
$BE/type = \"vif\" (n$d,r$g)
$BE/hotplug-status = \"\" (n$d,r$g)" "vif backend keys, values, perms"
expect_eq "$(node "/local/domain/$d/backend/vif")" \
    "/local/domain/$d/backend/vif = \"\" (n0,r$d)" "backend parent"

# Frontend keys are the guest's; mtu (libxl's ro_front) is the backend
# domain's, readable by the guest, written after the others.
expect_eq "$(tree "$FE")" "$FE = \"\" (n$g,r$d)
$FE/backend = \"$BE\" (n$g,r$d)
$FE/backend-id = \"$d\" (n$g,r$d)
$FE/state = \"1\" (n$g,r$d)
$FE/handle = \"0\" (n$g,r$d)
$FE/mac = \"00:16:3e:12:34:56\" (n$g,r$d)
$FE/trusted = \"1\" (n$g,r$d)
$FE/mtu = \"9000\" (n$d,r$g)" "vif frontend keys, values, perms"

expect_eq "$(tree "$LX")" "$LX = \"\" (n0)
$LX/frontend = \"$FE\" (n0)
$LX/backend = \"$BE\" (n0)
$LX/frontend-id = \"$g\" (n0)
$LX/online = \"1\" (n0)
$LX/state = \"1\" (n0)
$LX/script = \"/etc/xen/scripts/vif-bridge\" (n0)
$LX/vifname = \"g0.0\" (n0)
$LX/mac = \"00:16:3e:12:34:56\" (n0)
$LX/ip = \"10.0.0.2\" (n0)
$LX/rate = \"25000,20000\" (n0)
$LX/mtu = \"9000\" (n0)
$LX/bridge = \"xenbr1\" (n0)
$LX/handle = \"0\" (n0)
$LX/type = \"vif\" (n0)
$LX/hotplug-status = \"\" (n0)" "vif /libxl copy"

# The disk came first (libxl attaches nics after disks); both are there.
expect_eq "$(sim exec 0 -- xenstore-read "/local/domain/$d/backend/vbd/$g/51712/state")" \
    2 "the disk is attached too"

# Who may write the mtu: the backend domain (vif-bridge does), not the
# guest, which reads it.
expect_eq "$(sim exec guest -- xenstore-read device/vif/0/mtu)" 9000 \
    "guest reads its mtu"
expect_fail "guest writes its mtu" \
    sim exec guest -- xenstore-write device/vif/0/mtu 1
sim exec drvdom -- xenstore-write "$FE/mtu" 9000
echo "ok: drvdom writes the guest's mtu (as vif-bridge does)"
expect_fail "drvdom writes the guest's mac" \
    sim exec drvdom -- xenstore-write "$FE/mac" 00:16:3e:00:00:01
expect_fail "guest writes the backend's rate" \
    sim exec guest -- xenstore-write "$BE/rate" 1,1

# The second vif: devid 1, every default, a random MAC in Xen's OUI.
BE1=/local/domain/$d/backend/vif/$g/1
FE1=/local/domain/$g/device/vif/1
mac1=$(sim exec 0 -- xenstore-read "$BE1/mac")
echo "$mac1" | grep -Eq '^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$' ||
    fail "default MAC '$mac1' is not 00:16:3e plus 3 random bytes"
echo "ok: default MAC $mac1"
expect_eq "$(sim exec 0 -- xenstore-list "$BE1" | tr '\n' ' ')" \
    "frontend frontend-id online state script mac bridge handle type hotplug-status " \
    "defaults: no vifname, ip, rate; no mtu for 1500"
expect_eq "$(sim exec 0 -- xenstore-read "$BE1/bridge")" xenbr0 \
    "default bridge"
expect_eq "$(sim exec 0 -- xenstore-read "$BE1/handle")" 1 "second devid 1"
expect_eq "$(node "$FE1/mtu")" "$FE1/mtu = \"1500\" (n$d,r$g)" \
    "frontend mtu always written"
expect_eq "$(sim exec 0 -- xenstore-read "$FE1/mac")" "$mac1" \
    "frontend mac = backend mac"

# ------------------------------------------- network-attach and -detach
sim xl network-attach guest backend=drvdom mac=00:16:3e:aa:bb:cc \
    untrusted 2>"$T/err"
expect_eq "$(cat "$T/err")" "" "network-attach: quiet"
BE2=/local/domain/$d/backend/vif/$g/2
expect_eq "$(sim exec 0 -- xenstore-read "$BE2/state")" 2 \
    "attached vif: next devid (2), backend in InitWait"
expect_eq "$(node "/local/domain/$g/device/vif/2/trusted")" \
    "/local/domain/$g/device/vif/2/trusted = \"0\" (n$g,r$d)" \
    "untrusted in the frontend"
expect_fail "attach of an existing devid (ERROR_DEVICE_EXISTS)" \
    sim xl network-attach guest backend=drvdom devid=2
expect_fail "attach with an unknown key" \
    sim xl network-attach guest backend=drvdom frob=1
sim xl network-attach guest backend=drvdom mac=00:16:3e:zz 2>"$T/err" &&
    fail "bad mac accepted"
expect_eq "$(cat "$T/err")" \
    "iovm-sim: command line: invalid vif item \`mac=00:16:3e:zz': not a MAC address (xx:xx:xx:xx:xx:xx)" \
    "bad value: one line naming the item"
sim xl network-attach guest backend=drvdom rate=10Mb/s@0ms 2>"$T/err" &&
    fail "bad rate accepted"
expect_eq "$(cat "$T/err")" \
    "iovm-sim: command line: config parsing error in vif: replenishment interval overflow in \`0ms'" \
    "bad rate: xl's message"
expect_fail "no such backend domain" \
    sim xl network-attach guest backend=nosuch
expect_fail "nothing left behind by refused attaches" \
    exists "/libxl/$g/device/vif/3"

# Detach by devid: the backend closes, removes its directory, dom0 the
# rest.
sim xl network-detach guest 2
expect_fail "vif 2 backend gone" exists "$BE2"
expect_fail "vif 2 frontend gone" exists "/local/domain/$g/device/vif/2"
expect_fail "vif 2 /libxl gone" exists "/libxl/$g/device/vif/2"
# By MAC (as xl: an argument with a colon is a MAC).
sim xl network-detach guest "$mac1"
expect_fail "vif 1 gone (by MAC)" exists "$BE1"
expect_fail "vif 1 frontend gone" exists "$FE1"
expect_eq "$(sim exec 0 -- xenstore-read "$BE/state")" 2 "vif 0 untouched"
expect_fail "detach of a detached vif" sim xl network-detach guest 2
expect_fail "detach of an unknown MAC" \
    sim xl network-detach guest 00:16:3e:00:00:99
expect_fail "detach of a devid that is not a number" \
    sim xl network-detach guest x
# libxl__device_nextid: the last entry of /libxl/D/device/vif plus one.
sim xl network-attach guest backend=drvdom
expect_eq "$(sim exec 0 -- xenstore-list "/libxl/$g/device/vif" | tr '\n' ' ')" \
    "0 1 " "next devid after detaching 1 and 2: 1"

# ---------------------------------------------------- nothing serves it
i=$(sim domain create idle --driver-domain)
if IOVM_SIM_XL_TIMEOUT_MS=300 sim xl network-attach guest backend=idle \
    2>"$T/err"; then
    fail "attach succeeded with nothing serving the backend"
fi
expect_eq "$(wc -l <"$T/err")" 1 "one error line"
expect_eq "$(cat "$T/err")" \
    "iovm-sim: network-attach guest: unable to add device with path /local/domain/$i/backend/vif/$g/2: backend did not reach state 2 (InitWait) within 300 ms" \
    "libxl's message"
exists "/local/domain/$i/backend/vif/$g/2" || fail "failed attach: nodes gone"
echo "ok: a failed attach leaves its nodes, as libxl"
# network-detach is libxl's FORCE_AUTO: after the timeout it starts over
# forced (frontend removed first), and after a second timeout removes
# the rest anyway; xl reports the failure.
t0=$(date +%s%N)
if IOVM_SIM_XL_TIMEOUT_MS=300 sim xl network-detach guest 2 2>"$T/err"; then
    fail "detach of a vif whose backend never closes reported success"
fi
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 600 ] || fail "did not wait twice"
expect_eq "$(wc -l <"$T/err")" 1 "one error line"
grep -q 'state 6 (Closed) within 300 ms; removed anyway$' "$T/err" ||
    fail "bad message: $(cat "$T/err")"
expect_fail "FORCE_AUTO: backend gone" exists "/local/domain/$i/backend/vif"
expect_fail "FORCE_AUTO: frontend gone" exists "/local/domain/$g/device/vif/2"
expect_fail "FORCE_AUTO: /libxl gone" exists "/libxl/$g/device/vif/2"
# create with a vif nobody serves: destroyed, libxl's message.
printf 'name = "lonely"\nvif = [ "backend=idle" ]\n' >"$T/lonely.cfg"
if IOVM_SIM_XL_TIMEOUT_MS=300 sim xl create "$T/lonely.cfg" >"$T/out" \
    2>"$T/err"; then
    fail "create succeeded with nothing serving the vif"
fi
grep -q "^iovm-sim: $T/lonely.cfg: vif 0: unable to add device with path /local/domain/$i/backend/vif/[0-9]*/0: backend did not reach state 2 (InitWait) within 300 ms; domain lonely destroyed\$" \
    "$T/err" || fail "bad message: $(cat "$T/err")"
echo "ok: create fails on a vif's InitWait timeout"
expect_fail "lonely destroyed" sim exec lonely -- true

# --------------------------------------------------------- dom0 backend
# A vif without backend= is dom0's: libxl waits for InitWait (the fake
# backend, in dom0 now), then runs the script itself, as
# libxl__hotplug_nic does: "online type_if=vif", env vif and netdev.
sim exec 0 -- sh "$T/fakebe.sh" 2>>"$T/fakebe.log" &
sim wait /local/domain/0/data/fake-ready 1
sim exec 0 -- xenstore-write data/fake-close 1
cat >"$T/vifscript" <<'EOF'
#!/bin/sh
echo "$* vif=$vif netdev=$netdev path=$XENBUS_PATH type=$XENBUS_TYPE" \
    >>"$VIFLOG"
xenstore-write "$XENBUS_PATH/hotplug-status" connected
EOF
chmod +x "$T/vifscript"
export VIFLOG="$T/vif.log"
sim xl network-attach guest "script=$T/vifscript" gatewaydev=eth7
BE0=/local/domain/0/backend/vif/$g/2
expect_eq "$(node "$BE0")" "$BE0 = \"\" (n0,r$g)" "dom0 backend perms"
expect_eq "$(sim exec 0 -- xenstore-read "$BE0/script")" "$T/vifscript" \
    "an absolute script stays as is"
expect_eq "$(cat "$VIFLOG")" \
    "online type_if=vif vif=vif$g.2 netdev=eth7 path=backend/vif/$g/2 type=vif" \
    "dom0 vif script: libxl's arguments and environment"
sim xl network-detach guest 2
expect_eq "$(tail -n 1 "$VIFLOG")" \
    "offline type_if=vif vif=vif$g.2 netdev=eth7 path=backend/vif/$g/2 type=vif" \
    "dom0 vif script: offline after Closed"
expect_fail "dom0 backend cleaned up" exists "$BE0"
# A failing script fails the attach with its hotplug-error, as libxl.
printf '#!/bin/sh\nxenstore-write "$XENBUS_PATH/hotplug-error" "no bridge here" "$XENBUS_PATH/hotplug-status" error\nexit 1\n' \
    >"$T/bad-script"
chmod +x "$T/bad-script"
sim xl network-attach guest "script=$T/bad-script" 2>"$T/err" &&
    fail "attach with a failing script succeeded"
grep -q "bad-script online failed; error detected: no bridge here" \
    "$T/err" || fail "failing script: $(cat "$T/err")"
echo "ok: a failing dom0 vif script fails the attach"
sim xl network-detach guest 2 -f 2>/dev/null || true

# Config files: unknown keys warn (as xl) and the rest applies; bad
# values fail in one line.
printf 'name = "w"\nvif = [ "frob=1, bridge=br9, script=%s" ]\n' \
    "$T/vifscript" >"$T/w.cfg"
printf 'name = "bad"\nvif = [ "mtu=big" ]\n' >"$T/bad.cfg"
w=$(sim xl create "$T/w.cfg" 2>"$T/err")
expect_eq "$(cat "$T/err")" \
    "iovm-sim: warning: $T/w.cfg: unrecognized argument \`frob=1'" \
    "unknown vif key: xl's warning"
expect_eq "$(sim exec 0 -- xenstore-read "/local/domain/0/backend/vif/$w/0/bridge")" \
    br9 "the rest of the spec applies"
sim xl destroy w
sim xl create "$T/bad.cfg" 2>"$T/err" && fail "mtu=big accepted"
expect_eq "$(cat "$T/err")" \
    "iovm-sim: $T/bad.cfg:2: invalid vif item \`mtu=big': not a number 0..2147483647" \
    "bad vif value in a config: one line"
expect_fail "bad: not created" sim exec bad -- true

# ------------------------------------------------------------- destroy
nsfile=$SIMDIR/dom$g/netns
[ -e "$nsfile" ] || fail "no $nsfile"
sim xl destroy guest 2>"$T/err"
expect_eq "$(cat "$T/err")" "" "quiet destroy"
expect_fail "no vif backend left" exists "/local/domain/$d/backend/vif/$g"
expect_fail "guest's namespace unmounted" \
    grep -q " $nsfile " /proc/self/mountinfo
[ ! -e "$nsfile" ] || fail "$nsfile left behind"
echo "ok: destroy removes the namespace file"
# An abrupt destroy (no toolstack) too.
c=$(sim domain create crash)
grep -q " $SIMDIR/dom$c/netns " /proc/self/mountinfo || fail "crash: no mount"
sim ctl destroy crash >/dev/null
expect_fail "ctl destroy unmounts" \
    grep -q " $SIMDIR/dom$c/netns " /proc/self/mountinfo
[ ! -e "$SIMDIR/dom$c/netns" ] || fail "ctl destroy left the netns file"
# Stopping the simulator removes every one left.
grep -q " $SIMDIR/dom$d/netns " /proc/self/mountinfo || fail "drvdom: no mount"
sim stop
expect_fail "stop unmounts every namespace" \
    grep -q " $SIMDIR/" /proc/self/mountinfo
[ ! -e "$SIMDIR/dom$d" ] || fail "stop left $SIMDIR/dom$d"
echo "ok: stop removes every namespace"
