# SPDX-License-Identifier: GPL-2.0-only
# Shared by scripts/run-tests and scripts/run-demo: make sure the Debian
# packages are there, then configure and build out of tree, incrementally.
# POSIX sh; sourced, not run.

IOVM_TOP=$(cd "$(dirname "$0")/.." && pwd)

# Build and test dependencies, as Debian 12 package names (xen-utils-common:
# the distribution's hotplug scripts, which iovmd runs in the tests).
IOVM_DEPS="build-essential autoconf automake libtool pkg-config \
libxen-dev xenstore-utils xen-utils-common liburing-dev libfuse3-dev fuse3 \
check libseccomp-dev e2fsprogs util-linux iproute2 iputils-ping iperf3"

iovm_msg() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}

iovm_die() {
    iovm_msg "$*"
    exit 1
}

# Installs whatever of IOVM_DEPS (plus "$@") is missing.
iovm_install_deps() {
    missing=
    for p in $IOVM_DEPS "$@"; do
        s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case $s in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
        esac
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        iovm_die "missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)"
    fi
    iovm_msg "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || iovm_die "apt-get update failed"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        iovm_die "apt-get install failed:$missing"
}

# iovm_build DIR [configure options...]: configure once, then make.
iovm_build() {
    dir=$1
    shift
    cd "$IOVM_TOP" || exit 1
    if [ ! -x configure ] || [ configure.ac -nt configure ] ||
        [ Makefile.am -nt Makefile.in ]; then
        iovm_msg "autoreconf"
        autoreconf -fi >/dev/null 2>&1 || {
            autoreconf -fi
            iovm_die "autoreconf failed"
        }
    fi
    mkdir -p "$IOVM_TOP/$dir"
    cd "$IOVM_TOP/$dir" || exit 1
    want="$*"
    if [ ! -f Makefile ] || [ ! -f .iovm-configure ] ||
        [ "$(cat .iovm-configure)" != "$want" ] ||
        [ ../configure -nt config.status ]; then
        iovm_msg "configure $want (in $dir/)"
        # shellcheck disable=SC2068
        ../configure $@ >configure.log 2>&1 || {
            tail -n 30 configure.log >&2
            iovm_die "configure failed, see $dir/configure.log"
        }
        printf '%s' "$want" >.iovm-configure
    fi
    iovm_msg "make (in $dir/)"
    make -j"$(nproc)" >make.log 2>&1 || {
        grep -E 'error|Error' make.log | head -n 40 >&2
        iovm_die "build failed, see $dir/make.log"
    }
}
