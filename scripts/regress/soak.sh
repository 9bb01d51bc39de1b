#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# soak.sh BINDIR KILLS LIMIT [RUN_KSELFTEST [LAST_RESORT_TEST]]: guest side
# of scripts/soak, for the debug kernel (lockdep, KASAN, DEBUG_LIST,
# DEBUG_ATOMIC_SLEEP).
#
# Optionally runs the oom_pardon kselftest suite first, then the soak: a
# memcg (memory.max 32M) where stress-ng's vm stressors (40M each, kept
# mapped) are OOM-killed and respawned over and over, next to pardoned
# processes that fork, exec, run threads and share an mm (CLONE_VM), two
# that set and clear their pardon all the time, a pardoned swarm (by turns
# 6 s with four children of 8M, over the soak's budget: no pardon
# honoured, and 2 s without them: the pardons hold; the budget is what the
# others use, measured, plus a third of the swarm) and a
# set/clear/fork/vfork/exit churn with a CLONE_VM sharer toggling beside
# it. It stops at KILLS kills
# or after LIMIT seconds, and says every 30 s how many kills it has.
#
# Then, given the oom_pardon_last_resort program, its cpuset-constrained
# scene (fixture cpuset): it needs two memory nodes and cpusets, which the
# debug flavor has (numa=fake=2); elsewhere it skips and says why.
#
# KTAP results: enough kills, every pardoned process alive and still
# pardoned, the pardon was honoured (oom_pardon_spare grew), and the kernel
# log holds no WARNING, BUG, lockdep or KASAN report from boot to the end;
# then one result per cpuset case.
set -eu -o pipefail
readonly BINDIR=$1 TARGET=$2 LIMIT=$3 KST=${4:-} LAST_RESORT=${5:-}
readonly CG=/sys/fs/cgroup/soak W=/tmp/soak
readonly MEMCG_MAX=32M
readonly SWARM_KB=32768	# the swarm's four children of 8M
# What a debug kernel prints when something is wrong (a KASAN report
# starts with "BUG: KASAN:", lockdep's with "WARNING:").
readonly BAD='WARNING:|BUG:|Oops|Kernel panic|possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|bad unlock balance|lock held when returning|possible irq lock inversion|sleeping function called from invalid context|list_add corruption|list_del corruption|held lock freed'

mkdir -p "$W"
: >"$W/pids"
echo -1000 >/proc/self/oom_score_adj	# this script and its helpers stay
grep -q '^OomPardon:' /proc/self/status || { echo "Bail out! kernel without OOM pardon"; exit 4; }
echo 0 >/proc/sys/vm/oom_dump_tasks	# a shorter OOM report per kill
budget_file=/proc/sys/vm/oom_pardon_budget_kbytes
usage_file=/proc/sys/vm/oom_pardon_usage_kbytes
saved_budget=
[ -w "$budget_file" ] || echo "# soak: no $budget_file (a kernel without the budget)"

dmesg -w 2>/dev/null | grep -a --line-buffered -E "$BAD" >"$W/bad" &
watcher=$!

n=0
result() { # OK DESCRIPTION
	n=$((n + 1))
	if [ "$1" = true ]; then echo "ok $n soak: $2"; else echo "not ok $n soak: $2"; fi
}

if [ -n "$KST" ]; then
	echo "# the oom_pardon kselftests under the debug kernel"
	# A throwaway VM: the whole-machine and sysctl scenes too.
	OOM_PARDON_DESTRUCTIVE=1 "$KST" || true
fi

vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
memcg_kills() { awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events"; }

echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p "$CG"
echo "$MEMCG_MAX" >"$CG/memory.max"
[ ! -e "$CG/memory.swap.max" ] || echo 0 >"$CG/memory.swap.max"

# in_cg CMD...: run CMD in the soak memcg at oom_score_adj 0, in the
# background.
in_cg() {
	(
		echo 0 >/proc/self/oom_score_adj
		echo 0 >"$CG/cgroup.procs"
		exec "$@"
	) &
	disown "$!"	# no job notices when they are killed at the end
}
# wait_pids N: until the workers have written N pids (at most 30 s).
wait_pids() {
	for _ in $(seq 300); do
		[ "$(wc -l <"$W/pids")" -lt "$1" ] || break
		sleep 0.1
	done
}
# warm FILE...: read FILE... and the libraries they load into the page
# cache from here, the root cgroup, so that their pages are charged to it
# and not to the soak's memcg. Else the memcg's reclaim drops stress-ng's
# and the workers' text before every OOM and the next exec reads it again
# over 9p: the kill rate becomes the host's disk's (session 7: 100 kills in
# 1234 s beside other engineers' builds, against 220 in 367 s on a quiet
# host).
warm() {
	local f
	for f in "$@" $(ldd "$@" 2>/dev/null |
			awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\/.*[^:]$/) print $i }'); do
		cat "$f" >/dev/null 2>&1 || echo "# soak: cannot read $f"
	done
}
warm "$(command -v stress-ng)" "$BINDIR/pardoned" /bin/bash

for mode in fork exec threads clonevm toggle toggle churn; do
	in_cg "$BINDIR/pardoned" "$mode" "$W/pids"
done
wait_pids 8
# The budget: what these pardoned processes use at most over 4 s (a debug
# kernel's processes are bigger), plus a third of the swarm: all pardons
# are honoured while the swarm is away, none while it is there.
budget=
if [ -w "$budget_file" ]; then
	saved_budget=$(cat "$budget_file")
	usage=0
	for _ in $(seq 20); do
		u=$(cat "$usage_file")
		[ "$u" -le "$usage" ] || usage=$u
		sleep 0.2
	done
	budget=$((usage + SWARM_KB / 3))
	echo "$budget" >"$budget_file"
	echo "# soak: pardons without the swarm use at most $usage kB: budget $budget kB"
fi
in_cg "$BINDIR/pardoned" swarm "$W/pids"
wait_pids 9

kills0=$(vmstat oom_kill)
spare0=$(vmstat oom_pardon_spare)
start=$(date +%s)
deadline=$((start + LIMIT))
restarts=0
stress=
usage_min=999999999
usage_max=0
u=
next_progress=$start
echo "# soak: memcg $MEMCG_MAX, target $TARGET kills, at most $LIMIT s"
while :; do
	k=$(memcg_kills)
	[ "$k" -lt "$TARGET" ] || break
	now=$(date +%s)
	[ "$now" -lt "$deadline" ] || break
	if [ -z "$stress" ] || ! kill -0 "$stress" 2>/dev/null; then
		[ -z "$stress" ] || restarts=$((restarts + 1))
		# A session of its own: stress-ng may kill its whole process
		# group when it stops, which must not be this script's.
		in_cg setsid stress-ng --vm 2 --vm-bytes 40M --vm-keep --timeout $((deadline - now))s \
			--temp-path /tmp --quiet >>"$W/stress-ng.log" 2>&1
		stress=$!
	fi
	if [ -r "$usage_file" ]; then
		u=$(cat "$usage_file")
		[ "$u" -ge "$usage_min" ] || usage_min=$u
		[ "$u" -le "$usage_max" ] || usage_max=$u
	fi
	if [ "$now" -ge "$next_progress" ]; then
		echo "# soak: $((now - start)) s of at most $LIMIT, $k of $TARGET kills${u:+, pardons use $u kB}"
		next_progress=$((now + 30))
	fi
	sleep 2
done
duration=$(($(date +%s) - start))

# Stop stress-ng (bounded), leaving the pardoned processes alone.
kill -TERM "$stress" 2>/dev/null || true
for _ in $(seq 100); do
	kill -0 "$stress" 2>/dev/null || break
	sleep 0.3
done
while read -r p; do
	awk -v p="$p" '$1 == p { f = 1 } END { exit !f }' "$W/pids" ||
		kill -KILL "$p" 2>/dev/null || true
done <"$CG/cgroup.procs"

alive=0
total=0
lost=
while read -r pid role; do
	case $role in toggle|churn) continue ;; esac
	total=$((total + 1))
	if [ "$(awk '$1 == "OomPardon:" { print $2 }' "/proc/$pid/status" 2>/dev/null)" = 1 ]; then
		alive=$((alive + 1))
	else
		lost="$lost $role($pid)"
	fi
done <"$W/pids"
toggles=0
while read -r pid role; do
	case $role in toggle|churn) ;; *) continue ;; esac
	! kill -0 "$pid" 2>/dev/null || toggles=$((toggles + 1))
done <"$W/pids"
kills=$(memcg_kills)
vkills=$(($(vmstat oom_kill) - kills0))
spare=$(($(vmstat oom_pardon_spare) - spare0))

echo 1 >"$CG/cgroup.kill"
for _ in $(seq 100); do
	rmdir "$CG" 2>/dev/null && break
	sleep 0.2
done
[ -z "$saved_budget" ] || echo "$saved_budget" >"$budget_file"

# The cpuset scene, while the watcher still reads the kernel log.
cpuset_out=
cpuset_rc=0
if [ -n "$LAST_RESORT" ]; then
	echo "# the cpuset-constrained last resort (memory nodes: $(cat /sys/devices/system/node/has_memory 2>/dev/null || echo none))"
	cpuset_out=$(OOM_PARDON_DESTRUCTIVE=1 timeout 900 "$LAST_RESORT" -f cpuset 2>&1) ||
		cpuset_rc=$?
	# Shown, not counted here: its results are said again below.
	awk '{ print "# | " $0 }' <<<"$cpuset_out"
fi

sleep 1	# let the watcher catch up with the last messages
kill "$watcher" 2>/dev/null || true
dmesg | grep -a -E "$BAD" >>"$W/bad" || true
bad=$(sort -u "$W/bad" | grep -c . || true)

echo "# soak figures: $kills OOM kills in the memcg ($vkills in /proc/vmstat) in $duration s," \
	"pardoned alive $alive/$total, togglers and churn alive $toggles/3," \
	"oom_pardon_spare +$spare, stress-ng restarts $restarts"
[ -z "$budget" ] || echo "# pardons used $usage_min to $usage_max kB (vm.oom_pardon_usage_kbytes, every 2 s), budget $budget kB"
[ -z "$lost" ] || echo "# pardoned processes dead or unpardoned:$lost"
for role in $lost; do
	pid=${role##*(}
	pid=${pid%)}
	dmesg | grep -a -E "Killed process $pid |killing $pid " | sed 's/^/#   kernel: /' | head -n 3 || true
done
echo "# OOM victims by name: $(dmesg | grep -a -o 'Killed process [0-9]* ([^)]*)' |
	awk '{ n[$4]++ } END { for (c in n) printf "%s %d, ", c, n[c] }')"
echo "# last-resort kills: $(dmesg | grep -a -c 'oom_pardon: .*last resort' || true)"
if [ "$bad" -gt 0 ]; then
	echo "# kernel log lines that fail the soak:"
	sort -u "$W/bad" | head -n 40 | sed 's/^/#   /'
fi
tail -n 5 "$W/stress-ng.log" | sed 's/^/# stress-ng: /'
result "$([ "$kills" -ge "$TARGET" ] && echo true || echo false)" \
	"at least $TARGET OOM kills ($kills in $duration s)"
result "$([ "$total" -ge 5 ] && [ "$alive" -eq "$total" ] && echo true || echo false)" \
	"every pardoned process alive and still pardoned ($alive/$total)"
result "$([ "$spare" -gt 0 ] && echo true || echo false)" \
	"kill paths passed over the pardoned (oom_pardon_spare +$spare)"
result "$([ "$bad" -eq 0 ] && echo true || echo false)" \
	"kernel log has no WARNING, BUG, lockdep or KASAN report ($bad lines)"
if [ -n "$LAST_RESORT" ]; then
	cases=0
	while IFS= read -r l; do
		case $l in
		"ok "[0-9]*|"not ok "[0-9]*) ;;
		*) continue ;;
		esac
		name=${l#not }
		name=${name#ok }
		name=${name#* }
		cases=$((cases + 1))
		n=$((n + 1))
		case $l in
		"not ok "*) echo "not ok $n $name" ;;
		*) echo "ok $n $name" ;;
		esac
	done <<<"$cpuset_out"
	[ "$cases" -gt 0 ] || result false "cpuset scene: no results (status $cpuset_rc)"
fi
