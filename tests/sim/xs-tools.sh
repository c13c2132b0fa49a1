#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The simulated xenstored through the distribution's xenstore-* tools run
# inside simulated domains: permissions across domains, relative paths,
# chmod rules, watches (xenstore-watch), removal.
. "${IOVM_TEST_SRCDIR:-.}/tests/sim/lib.sh"

g=$(sim domain create guest)
d=$(sim domain create drv --driver-domain)

expect_eq "$(sim exec guest -- xenstore-read name)" guest "guest reads own name"
expect_eq "$(sim exec guest -- xenstore-read domid)" "$g" "relative domid"
expect_fail "guest reads dom0 name" sim exec guest -- xenstore-read /local/domain/0/name
expect_fail "guest reads drv name" sim exec guest -- xenstore-read "/local/domain/$d/name"
expect_fail "guest writes its ro name" sim exec guest -- xenstore-write name x
expect_fail "guest lists /local/domain" sim exec guest -- xenstore-list /local/domain

sim exec guest -- xenstore-write data/secret s3cret
expect_fail "drv reads guest data" sim exec drv -- xenstore-read "/local/domain/$g/data/secret"
perms=$(sim exec guest -- xenstore-ls -p data | tr -s ' .' ' ')
expect_eq "$perms" 'secret = "s3cret" (n'"$g"')' "guest owns what it creates"
sim exec guest -- xenstore-chmod data/secret "n$g" "r$d"
expect_eq "$(sim exec drv -- xenstore-read "/local/domain/$g/data/secret")" \
    s3cret "drv reads after chmod"
expect_fail "drv writes read-only grant" sim exec drv -- \
    xenstore-write "/local/domain/$g/data/secret" x
expect_fail "guest gives node away" sim exec guest -- \
    xenstore-chmod data/secret "n$d"

# dom0 (the toolstack) sees and may do everything.
expect_eq "$(sim exec 0 -- xenstore-read "/local/domain/$g/data/secret")" \
    s3cret "dom0 reads guest data"
expect_eq "$(sim exec 0 -- xenstore-ls "/local/domain/$d" | grep -c '^libxl')" \
    1 "driver_domain=1 gives ~/libxl"

# Watches: initial event, then one per change below the path.
watch_start guest data 3
sim exec guest -- xenstore-write data/w1 1
sim exec 0 -- xenstore-write "/local/domain/$g/data/w2" 2
watch_end
expect_eq "$WATCH_EVENTS" "data data/w1 data/w2 " "xenstore-watch events"

# rm of a missing node is fine if its parent exists.
sim exec guest -- xenstore-rm data/nope
expect_fail "rm below a missing parent" sim exec guest -- xenstore-rm data/no/pe
sim exec guest -- xenstore-rm data/secret
expect_fail "removed node" sim exec guest -- xenstore-exists data/secret

# Malformed paths are refused, not crashes.
expect_fail "double slash" sim exec 0 -- xenstore-write /local//x 1
expect_fail "bad character" sim exec 0 -- xenstore-write '/local/x y' 1
expect_eq "$(sim exec 0 -- xenstore-read /local/domain/0/name)" Domain-0 \
    "simd still serving"
