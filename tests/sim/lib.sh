# SPDX-License-Identifier: GPL-2.0-only
# Shared by the simulator shell tests: a private simulator per test script,
# stopped on exit, and small assertion helpers.  POSIX sh; sourced.
set -eu

: "${IOVM_SIM:=iovm-sim}"
T=$(mktemp -d /tmp/iovm-t.XXXXXX)
SIMDIR=$T/sim
export IOVM_SIM_DIR="$SIMDIR"

cleanup() {
    rc=$?
    "$IOVM_SIM" --dir "$SIMDIR" stop >/dev/null 2>&1 || true
    if [ $rc -ne 0 ] && [ -f "$SIMDIR/simd.log" ]; then
        echo "---- simd.log (tail)"
        tail -n 30 "$SIMDIR/simd.log"
    fi
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT INT TERM

sim() {
    "$IOVM_SIM" --dir "$SIMDIR" "$@"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
    echo "ok: $3"
}

# expect_fail WHAT CMD...: CMD must exit non-zero.
expect_fail() {
    what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        fail "$what: succeeded but must fail"
    fi
    echo "ok: $what (refused)"
}

# bad_usage WORD CMD...: exit status 2, one line on stderr containing WORD.
bad_usage() {
    word=$1
    shift
    set +e
    "$@" >/dev/null 2>"$T/err" </dev/null
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "$*: exit status $rc, expected 2"
    [ "$(wc -l <"$T/err")" = 1 ] || fail "$*: not one line: $(cat "$T/err")"
    grep -q -- "$word" "$T/err" || fail "$*: '$word' not in: $(cat "$T/err")"
    echo "ok: $*"
}

sim start

# watch_start DOM PATH COUNT: runs xenstore-watch -n COUNT PATH inside DOM
# and returns once its first (registration) event has arrived, so changes
# made after this are seen.  watch_end waits for the COUNT-th event and
# leaves all of them, space-separated, in $WATCH_EVENTS.  Call it in the
# main shell (not in $(...)): it waits for the watcher.  One at a time.
watch_start() {
    rm -f "$T/watch.fifo"
    mkfifo "$T/watch.fifo"
    sim exec "$1" -- xenstore-watch -n "$3" "$2" >"$T/watch.fifo" &
    WATCH_PID=$!
    exec 3<"$T/watch.fifo"
    IFS= read -r WATCH_FIRST <&3 || fail "xenstore-watch $2 did not start"
}

watch_end() {
    WATCH_EVENTS="$WATCH_FIRST $(tr '\n' ' ' <&3)"
    exec 3<&-
    wait "$WATCH_PID" || fail "xenstore-watch failed"
}
