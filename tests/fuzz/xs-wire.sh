#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Replays the fuzz corpus of the xenstore wire engine (under the
# sanitizers in the sanitized build).
set -eu
"$IOVM_TEST_BUILDDIR/tests/fuzz/fuzz-xs-wire" \
    "$IOVM_TEST_SRCDIR/tests/fuzz/corpus/xs-wire"
