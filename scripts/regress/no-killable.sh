#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# no-killable.sh BINDIR MODE: guest side of scripts/regress-no-killable.
# Leaves only unkillable processes behind (every process at oom_score_adj
# -1000) plus one memory hog, and lets the hog run the machine out of
# memory (SPEC section 2, "Last resort"):
#
#   min-adj   the hog is at -1000 too: the kernel prints "Out of memory and
#             no killable processes..." and panics ("System is deadlocked on
#             memory"), as it always did; if this script gets past the hog,
#             that did not happen (exit 1).
#   pardoned  the hog is pardoned and its pardon honoured (a budget above
#             the machine's memory): the last resort kills it, no panic.
#             Exit 0 when the hog was killed with one last-resort line and
#             no "no killable processes" line, 1 otherwise.
#   over      the hog is pardoned with the default budget: once it is over
#             it, its pardon is not honoured and it is an ordinary victim;
#             no panic either. Exit as for pardoned, without the line.
#
# Exit 4 (pardoned, over): the kernel lacks the pardon or its budget.
set -eu -o pipefail
readonly BINDIR=$1 MODE=$2
readonly LIMIT=300	# seconds the hog may take to meet its end

case $MODE in min-adj|pardoned|over) ;; *) echo "unknown mode $MODE"; exit 2 ;; esac
budget=/proc/sys/vm/oom_pardon_budget_kbytes
if [ "$MODE" != min-adj ]; then
	grep -q '^OomPardon:' /proc/self/status || { echo "no OOM pardon in this kernel"; exit 4; }
	[ -w "$budget" ] || { echo "no writable $budget in this kernel"; exit 4; }
fi
for p in /proc/[0-9]*; do
	echo -1000 >"$p/oom_score_adj" 2>/dev/null || true
done
echo 0 >/proc/sys/vm/panic_on_oom
echo 0 >/proc/sys/vm/oom_kill_allocating_task
case $MODE in
pardoned) awk '$1 == "MemTotal:" { print 4 * $2 }' /proc/meminfo >"$budget" ;;
over) echo 262144 >"$budget" ;;
esac
echo "no-killable: budget $(cat "$budget" 2>/dev/null || echo none), all processes at -1000, starting the $MODE hog" | tee /dev/kmsg
hog=hog
[ "$MODE" != min-adj ] || hog="hog-min-adj"
rc=0
timeout -s KILL "$LIMIT" "$BINDIR/pardoned" "$hog" || rc=$?
if [ "$MODE" = min-adj ]; then
	echo "the hog returned ($rc): no panic within $LIMIT s"
	exit 1
fi
sleep 1
log=$(dmesg)
killed=$(grep -c 'Killed process [0-9]* (pardoned)' <<<"$log" || true)
last=$(grep -c 'oom_pardon.*last resort' <<<"$log" || true)
none=$(grep -c 'no killable processes' <<<"$log" || true)
grep -E 'Killed process|oom_pardon|no killable' <<<"$log" | tail -n 5 | sed 's/^/kernel: /'
echo "no-killable: hog status $rc, killed $killed, last-resort lines $last, 'no killable' lines $none"
[ "$rc" -eq 137 ] && [ "$killed" -ge 1 ] && [ "$none" -eq 0 ] || exit 1
if [ "$MODE" = pardoned ]; then
	[ "$last" -ge 1 ] || { echo "no last-resort line"; exit 1; }
else
	[ "$last" -eq 0 ] || { echo "a last-resort kill though the pardon was over the budget"; exit 1; }
fi
exit 0
