#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# no-killable.sh BINDIR: guest side of scripts/regress-no-killable. Leaves
# only unkillable processes behind (every process at oom_score_adj -1000,
# plus one pardoned memory hog with the bound off) and lets the hog run the
# machine out of memory. Per SPEC section 2 the kernel then prints "Out of
# memory and no killable processes..." and panics ("System is deadlocked on
# memory"); if this script gets past the hog, that did not happen.
set -eu -o pipefail
readonly BINDIR=$1

grep -q '^OomPardon:' /proc/self/status || { echo "no OOM pardon in this kernel"; exit 4; }
for p in /proc/[0-9]*; do
	echo -1000 >"$p/oom_score_adj" 2>/dev/null || true
done
echo 0 >/proc/sys/vm/oom_pardon_max_kb
echo 0 >/proc/sys/vm/panic_on_oom
echo 0 >/proc/sys/vm/oom_kill_allocating_task
echo "vm-run: all processes at -1000, starting the pardoned hog" >/dev/kmsg
timeout 300 "$BINDIR/pardoned" hog || true
echo "the hog returned: no panic within 300 s"
exit 1
