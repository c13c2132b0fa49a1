#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Replays the fuzz corpus of fuzz-xlcfg (under the sanitizers in the
# sanitized build).
set -eu
"$IOVM_TEST_BUILDDIR/tests/fuzz/fuzz-xlcfg" \
    "$IOVM_TEST_SRCDIR/tests/fuzz/corpus/xlcfg"
