#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Replays the fuzz corpus of fuzz-net-tx (under the sanitizers in the
# sanitized build).
set -eu
"$IOVM_TEST_BUILDDIR/tests/fuzz/fuzz-net-tx" \
    "$IOVM_TEST_SRCDIR/tests/fuzz/corpus/net-tx"
