#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# iovm-iommu check in dom0 on simulated hosts whose Xen reports the IOMMU
# on (enforced or not), off, on without interrupt remapping, and with
# quarantine off: the verdict line, the exit status by verdict, --json;
# refused outside dom0 (the sysctl is privileged) and on bad usage.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

IOMMU=$IOVM_TEST_BUILDDIR/iommu-setup/iovm-iommu

# check_host WHAT STATUS VERDICT-LINE-PREFIX: runs check in dom0.
check_host() {
    set +e
    sim exec 0 -- "$IOMMU" check >"$T/out" 2>"$T/err"
    rc=$?
    set -e
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

set +e
sim exec 0 -- "$IOMMU" --json check >"$T/json"
rc=$?
set -e
expect_eq "$rc" 1 "--json keeps the exit status"
grep -q '"verdict":"unsafe","iommu":false,"interrupt_remapping":"off","enforced":true' "$T/json" ||
    fail "--json: $(cat "$T/json")"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/json" ||
    fail "--json is not JSON: $(cat "$T/json")"
echo "ok: --json parses"

sim ctl host iommu on >/dev/null
check_host "IOMMU back on" 0 "ready:"

# Not dom0: Xen refuses the sysctl.
sim domain create guest >/dev/null
set +e
sim exec guest -- "$IOMMU" check >"$T/out" 2>"$T/err"
rc=$?
set -e
expect_eq "$rc" 4 "outside dom0: cannot ask"
grep -q "physinfo: Operation not permitted" "$T/err" || fail "outside dom0: $(cat "$T/err")"

bad_usage "no command" "$IOMMU"
bad_usage "unknown command frob" "$IOMMU" frob
bad_usage "unexpected argument" "$IOMMU" check extra
bad_usage "unknown option" "$IOMMU" --frob check
bad_usage "not a level" "$IOMMU" --log-level loud check
"$IOMMU" --help | grep -q "^usage: iovm-iommu" || fail "--help"
echo "ok: --help"
