#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# iovm-iommu check in dom0 on simulated hosts whose Xen reports the IOMMU
# on (enforced or not), off, on without interrupt remapping, and with
# quarantine off: the verdict line, the exit status by verdict, --json;
# refused outside dom0 (the sysctl is privileged).  iovm-iommu list on a
# fake sysfs tree (table and --json); assign and release there: a refused
# device changes nothing, an assigned one is unbound, in pciback, reset
# and quarantined, release waits for the domain holding it to go, a failed
# reset rolls everything back.  iovm-iommu xl-config:
# its output creates a driver domain with the simulator's xl, its
# maptrack sizing, and each bad argument.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

IOMMU=$IOVM_TEST_BUILDDIR/iommu-setup/iovm-iommu

# status CMD...: runs CMD, stdout in $T/out, stderr in $T/err, its exit
# status in $rc (set -e stays on for everything else).
status() {
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
}

# check_host WHAT STATUS VERDICT-LINE-PREFIX: runs check in dom0.
check_host() {
    status sim exec 0 -- "$IOMMU" check
    [ "$rc" = "$2" ] || fail "$1: exit status $rc, expected $2: $(cat "$T/out" "$T/err")"
    case $(head -n 1 "$T/out") in
    "$3"*) echo "ok: $1: $(head -n 1 "$T/out")" ;;
    *) fail "$1: verdict '$(head -n 1 "$T/out")', expected '$3...'" ;;
    esac
}

# The simulator's default host: VT-d with interrupt remapping, enforced.
check_host "IOMMU on, enforced" 0 "ready: the IOMMU is on"
grep -q "^  interrupt remapping: on$" "$T/out" || fail "intremap line: $(cat "$T/out")"

sim ctl host cmdline dom0_mem=1024M >/dev/null
check_host "IOMMU on, not enforced" 3 "weak: not enforced"

sim ctl host cmdline dom0_mem=1024M iommu=force,no-quarantine >/dev/null
check_host "quarantine off" 3 "weak: quarantine is off"

sim ctl host cmdline iommu=required >/dev/null
sim ctl host intremap off >/dev/null
check_host "no interrupt remapping" 1 "unsafe: interrupt remapping is off"

sim ctl host intremap on >/dev/null
sim ctl host iommu off >/dev/null
check_host "IOMMU off" 1 "unsafe: the IOMMU is off"
grep -q "^  interrupt remapping: off$" "$T/out" || fail "off implies no intremap"

status sim exec 0 -- "$IOMMU" --json check
expect_eq "$rc" 1 "--json keeps the exit status"
grep -q '"verdict":"unsafe","iommu":false,"interrupt_remapping":"off","enforced":true' "$T/out" ||
    fail "--json: $(cat "$T/out")"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" ||
    fail "--json is not JSON: $(cat "$T/out")"
echo "ok: --json parses"

sim ctl host iommu on >/dev/null
check_host "IOMMU back on" 0 "ready:"

# Not dom0: Xen refuses the sysctl.
sim domain create guest >/dev/null
status sim exec guest -- "$IOMMU" check
expect_eq "$rc" 4 "outside dom0: cannot ask"
grep -q "physinfo: Operation not permitted" "$T/err" || fail "outside dom0: $(cat "$T/err")"

# list on a fake sysfs: an NVMe holding dom0's root filesystem, and an
# unbound NIC (both with FLR, on the root bus).  Every refusal case has
# its own unit test (check-iommu-pci); this is the command around them.
R=$T/root
mkdev() { # BDF CLASS VENDOR DEVICE
    dir=$R/sys/devices/pci0000:00/$1
    mkdir -p "$dir" "$R/sys/bus/pci/devices"
    echo "$2" >"$dir/class"
    echo "$3" >"$dir/vendor"
    echo "$4" >"$dir/device"
    echo 0 >"$dir/irq"
    for i in 1 2 3 4 5 6 7; do
        echo "0x0000000000000000 0x0000000000000000 0x0000000000000000"
    done >"$dir/resource"
    echo flr >"$dir/reset_method"
    head -c 256 /dev/zero >"$dir/config"
    ln -s "../../../devices/pci0000:00/$1" "$R/sys/bus/pci/devices/$1"
}
mkdev 0000:00:05.0 0x010802 0x1b36 0x0010
mkdev 0000:00:06.0 0x020000 0x8086 0x100e
mkdir -p "$R/sys/bus/pci/drivers/nvme" "$R/sys/dev/block" "$R/proc/self" \
    "$R/sys/devices/pci0000:00/0000:00:05.0/nvme/nvme0/nvme0n1"
ln -s ../../../bus/pci/drivers/nvme "$R/sys/devices/pci0000:00/0000:00:05.0/driver"
ln -s ../../devices/pci0000:00/0000:00:05.0/nvme/nvme0/nvme0n1 "$R/sys/dev/block/259:0"
echo "21 1 259:0 / / rw,relatime shared:1 - ext4 /dev/nvme0n1 rw" >"$R/proc/self/mountinfo"

sim exec 0 -- "$IOMMU" --sysfs-root "$R" list >"$T/list" || fail "list: $(cat "$T/list")"
grep -q "^0000:00:06.0 020000 8086:100e -  .* flr  .* yes  yes$" "$T/list" ||
    fail "list: the NIC is not assignable: $(cat "$T/list")"
grep -q "^0000:00:05.0 010802 1b36:0010 nvme .* no$" "$T/list" ||
    fail "list: the root disk is assignable: $(cat "$T/list")"
grep -q "refused: holds dom0's root filesystem (/dev/nvme0n1)" "$T/list" ||
    fail "list: no reason for the root disk: $(cat "$T/list")"
echo "ok: list: root disk refused, NIC assignable"
sim exec 0 -- "$IOMMU" --json --sysfs-root "$R" list >"$T/list.json"
python3 - "$T/list.json" <<'PY' || fail "list --json: $(cat "$T/list.json")"
import json, sys
d = {x["bdf"]: x for x in json.load(open(sys.argv[1]))}
assert d["0000:00:06.0"]["assignable"] is True
assert d["0000:00:05.0"]["assignable"] is False
assert "dom0-uses" in [r["code"] for r in d["0000:00:05.0"]["reasons"]]
assert d["0000:00:05.0"]["driver"] == "nvme" and d["0000:00:06.0"]["driver"] is None
PY
echo "ok: list --json"
sim ctl host iommu off >/dev/null
sim exec 0 -- "$IOMMU" --sysfs-root "$R" list >"$T/list" || fail "list: $(cat "$T/list")"
grep -q "^0000:00:06.0 .* no$" "$T/list" || fail "list without IOMMU: $(cat "$T/list")"
grep -q "refused: .*IOMMU" "$T/list" || fail "list without IOMMU: no reason: $(cat "$T/list")"
echo "ok: list: nothing assignable without the IOMMU"
sim ctl host iommu on >/dev/null
status sim exec 0 -- "$IOMMU" --sysfs-root "$T/none" list
expect_eq "$rc" 4 "list: an unreadable tree"

# assign / release on the fake tree: the NIC is bound to e1000 there; the
# kernel's files are plain files, so what was written to them shows.
NIC=0000:00:06.0
NICD=$R/sys/devices/pci0000:00/$NIC
DRV=$R/sys/bus/pci/drivers
mkdir -p "$DRV/e1000" "$DRV/pciback"
ln -s ../../../bus/pci/drivers/e1000 "$NICD/driver"
kfiles="$DRV/e1000/bind $DRV/e1000/unbind $DRV/pciback/new_slot \
    $DRV/pciback/bind $DRV/pciback/unbind $DRV/pciback/remove_slot \
    $NICD/reset $R/sys/bus/pci/drivers/nvme/unbind"
clear_kfiles() { for f in $kfiles; do : >"$f"; done; }
clear_kfiles
ST=$T/state
iommu() { sim exec 0 -- "$IOMMU" --sysfs-root "$R" --state-dir "$ST" "$@"; }
# has FILE VALUE: FILE holds exactly VALUE
has() { [ "$(cat "$1")" = "$2" ] || fail "${1#"$R"/}: '$(cat "$1")', expected '$2'"; }
owner() { sim ctl pci-owner "$1" | sed -n 's/.*owner=//p'; }

status iommu assign 0000:00:05.0 $NIC
expect_eq "$rc" 1 "assign: the root disk with the NIC is refused"
grep -q "refused 0000:00:05.0: holds dom0's root filesystem" "$T/err" ||
    fail "assign refusal: $(cat "$T/err")"
for f in $kfiles; do has "$f" ""; done
[ ! -e "$ST/$NIC" ] || fail "a refused assign left a record"
expect_eq "$(owner $NIC)" 0 "refused: nothing quarantined, nothing written"

iommu assign $NIC >"$T/out" || fail "assign $NIC: $(cat "$T/out")"
has "$DRV/e1000/unbind" $NIC
has "$DRV/pciback/new_slot" $NIC
has "$DRV/pciback/bind" $NIC
has "$NICD/reset" 1
grep -qx "driver=e1000" "$ST/$NIC" || fail "record: $(cat "$ST/$NIC")"
expect_eq "$(owner $NIC)" 32753 "assign: unbound, pciback, reset, quarantined (DOMID_IO)"
expect_eq "$(iommu assign $NIC)" "$NIC: already assigned" "assign again"

# A driver domain has it: release refuses; once that domain dies Xen
# quarantines it again and release gives it back to e1000.
dd=$(sim domain create ddx)
sim ctl pci-owner $NIC "$dd" >/dev/null
clear_kfiles
status iommu release $NIC
expect_eq "$rc" 1 "release while a domain has it"
grep -q "a domain has it" "$T/err" || fail "release refusal: $(cat "$T/err")"
[ -e "$ST/$NIC" ] || fail "a refused release dropped the record"
has "$DRV/e1000/bind" ""
sim ctl destroy "$dd" >/dev/null
expect_eq "$(owner $NIC)" 32753 "a dead domain's device is quarantined"
iommu release $NIC >/dev/null || fail "release"
has "$NICD/reset" 1
has "$DRV/pciback/unbind" $NIC
has "$DRV/pciback/remove_slot" $NIC
has "$DRV/e1000/bind" $NIC
[ ! -e "$ST/$NIC" ] || fail "release left the record"
expect_eq "$(owner $NIC)" 0 "release: reset, out of pciback, back to e1000, dom0 owns it"
status iommu release $NIC
expect_eq "$rc" 1 "release of a device not assigned by us"

# A reset that fails: nothing is left half done (R-PCI-3, R-PCI-9).
clear_kfiles
rm "$NICD/reset"
mkdir "$NICD/reset"
status iommu assign $NIC
expect_eq "$rc" 1 "assign with a failing reset"
grep -q "reset failed" "$T/err" || fail "reset failure: $(cat "$T/err")"
has "$DRV/pciback/unbind" $NIC
has "$DRV/e1000/bind" $NIC
[ ! -e "$ST/$NIC" ] || fail "a failed assign left a record"
expect_eq "$(owner $NIC)" 0 "failed assign: rolled back (back to e1000, not quarantined)"
rmdir "$NICD/reset"
: >"$NICD/reset"

# No pciback, no IOMMU.
mv "$DRV/pciback" "$DRV/pciback.off"
status iommu assign $NIC
expect_eq "$rc" 1 "assign without xen-pciback"
grep -q "xen-pciback is not loaded" "$T/err" || fail "no pciback: $(cat "$T/err")"
mv "$DRV/pciback.off" "$DRV/pciback"
sim ctl host iommu off >/dev/null
status iommu assign $NIC
expect_eq "$rc" 1 "assign without the IOMMU"
grep -q "refused $NIC: .*IOMMU" "$T/err" || fail "no IOMMU: $(cat "$T/err")"
sim ctl host iommu on >/dev/null
expect_eq "$(owner $NIC)" 0 "refusals changed nothing"

# xl-config: what the simulator's xl (libxl 4.17's parsing) takes as is.
"$IOMMU" xl-config --name dd2 --vcpus 2 --guests 4 --disks 1 --vifs 2 \
    --kernel /boot/vmlinuz --ramdisk /boot/initrd.img \
    0000:00:06.0 0000:00:05.0 >"$T/dd2.cfg"
grep -q "^pci = \[ '0000:00:06.0,permissive=0', '0000:00:05.0,permissive=0' \]$" \
    "$T/dd2.cfg" || fail "xl-config pci: $(cat "$T/dd2.cfg")"
# 4 x 1 x 2 x (4096 + 16) + 4 x 2 x (2 x 2 + 1) = 32936 maps, +1/4, 512 a frame
grep -q "^max_maptrack_frames = 81$" "$T/dd2.cfg" ||
    fail "xl-config maptrack: $(grep maptrack "$T/dd2.cfg")"
dd2=$(sim xl create "$T/dd2.cfg") || fail "xl create of xl-config's output"
expect_eq "$(sim exec 0 -- xenstore-read "/local/domain/$dd2/name")" dd2 \
    "xl-config's config creates the domain"
sim exec 0 -- xenstore-exists "/local/domain/$dd2/libxl" ||
    fail "xl-config: not a driver domain (no ~/libxl)"
echo "ok: xl-config gives a driver domain"
"$IOMMU" xl-config --name dd3 0000:00:06.0 | grep -q '^kernel = "/boot/vmlinuz-' ||
    fail "xl-config: default kernel is not the running one's"
echo "ok: xl-config: the running kernel by default"

bad_usage "name is required" "$IOMMU" xl-config 0000:00:06.0
bad_usage "not a domain name" "$IOMMU" xl-config --name 'a b' 0000:00:06.0
bad_usage "no PCI device" "$IOMMU" xl-config --name dd
bad_usage "not a PCI address" "$IOMMU" xl-config --name dd 00:06.0
bad_usage "not a PCI address" "$IOMMU" xl-config --name dd 0000:00:20.0
bad_usage "not a PCI address" "$IOMMU" xl-config --name dd 0000:00:06.8
bad_usage "not a number" "$IOMMU" xl-config --name dd --vcpus 0 0000:00:06.0
bad_usage "not a number" "$IOMMU" xl-config --name dd --memory lots 0000:00:06.0
bad_usage "a quote" "$IOMMU" xl-config --name dd --extra 'x"y' 0000:00:06.0
bad_usage "unknown option" "$IOMMU" xl-config --name dd --seize 0000:00:06.0

bad_usage "no command" "$IOMMU"
bad_usage "unknown command frob" "$IOMMU" frob
bad_usage "unexpected argument" "$IOMMU" check extra
bad_usage "unexpected argument" "$IOMMU" list extra
bad_usage "empty" "$IOMMU" --sysfs-root "" list
bad_usage "no PCI device" "$IOMMU" assign
bad_usage "not a PCI address" "$IOMMU" assign 0000:00:6.0
bad_usage "not a PCI address" "$IOMMU" release 0000:00:06.0x
bad_usage "empty" "$IOMMU" --state-dir "" assign 0000:00:06.0
bad_usage "unknown option" "$IOMMU" --frob check
bad_usage "not a level" "$IOMMU" --log-level loud check
"$IOMMU" --help | grep -q "^usage: iovm-iommu" || fail "--help"
echo "ok: --help"
