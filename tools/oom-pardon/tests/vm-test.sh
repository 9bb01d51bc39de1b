#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# vm-test.sh: oom-pardon end to end on a kernel with the OOM pardon.
#
# Runs INSIDE a scripts/vm-run guest, as root (root filesystem read-only,
# /tmp a writable tmpfs, cgroup v2 at /sys/fs/cgroup):
#
#   scripts/vm-run -t 300 -- bash tools/oom-pardon/tests/vm-test.sh
#
# It copies the helper built by 'make -C tools/oom-pardon check'
# (allowlist path fixed at build time to /tmp/oom-pardon-vmtest.conf) to
# /tmp, gives the copy cap_sys_resource=p, writes the allowlist and checks,
# as an unprivileged user (uid 65534), that the helper pardons what is
# listed and nothing else, leaves no capability behind, cannot be fooled by
# a path swapped after it opened it, and that a real OOM in a memory cgroup
# kills the hog but not a pardoned stand-in, nor a pardoned i3lock under
# Xvfb, while their unpardoned twins are killed. Prints KTAP.
#
# Needs: setcap getcap setpriv timeout strace stress-ng python3 Xvfb i3lock
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
readonly HERE
readonly BUILT=${1:-$HERE/../oom-pardon-vmtest}
HEADER_TEST=$(dirname "$BUILT")/tests/header-test
readonly HEADER_TEST
readonly CONF=/tmp/oom-pardon-vmtest.conf
readonly NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
readonly CG=/sys/fs/cgroup/oom-pardon-vmtest
readonly PLAN=19

usage() {
	cat <<EOT
Usage: [ANY_KERNEL=1] ${0##*/} [HELPER]

Test oom-pardon inside a vm-run guest on a kernel with the OOM pardon,
as root. HELPER defaults to $HERE/../oom-pardon-vmtest (make check builds
it, and tests/header-test next to it, O= honoured). Prints KTAP.
EOT
}

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1"
	shift; local l; for l in "$@"; do echo "# $l"; done
}
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
bail() {
	echo "Bail out! $*"
	exit 1
}

pids=()
W=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || :; done
	if [ -d "$CG" ]; then
		echo 1 >"$CG/cgroup.kill" 2>/dev/null || :
		timeout 10 sh -c "while [ -s '$CG/cgroup.procs' ]; do sleep 0.1; done" || :
		rmdir "$CG" 2>/dev/null || :
	fi
	[ -z "$W" ] || rm -rf "$W"
	rm -f "$CONF"
}
trap cleanup EXIT

# run CMD...: rc, $W/out, $W/err; every run bounded.
run() {
	rc=0
	timeout 30 "$@" >"$W/out" 2>"$W/err" || rc=$?
}
# wait_for SECONDS CMD...: poll CMD until it succeeds, at most SECONDS.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
pardon_of() { sed -n 's/^OomPardon:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }
alive() { kill -0 "$1" 2>/dev/null; }
oom_kills() { sed -n 's/^oom_kill //p' "$CG/memory.events"; }

# in_cgroup CMD...: start CMD in the test cgroup, in the background; sets pid.
in_cgroup() {
	bash -c 'echo "$$" >"$0/cgroup.procs" && exec "$@"' "$CG" "$@" &
	pid=$!
	pids+=("$pid")
}

case ${1:-} in -h|--help) usage; exit 0 ;; esac

echo "KTAP version 1"
echo "1..$PLAN"
[ "$(id -u)" = 0 ] || bail "must run as root (inside the vm-run guest)"
{ [ -x "$BUILT" ] && [ -x "$HEADER_TEST" ]; } ||
	bail "no $BUILT or $HEADER_TEST: run 'make -C tools/oom-pardon check' first"
# ANY_KERNEL=1 runs on a kernel without the pardon too (to debug this script;
# the cases that need the pardon then fail, as they must).
grep -q '^OomPardon:' /proc/self/status || [ "${ANY_KERNEL:-0}" = 1 ] ||
	bail "kernel $(uname -r) has no OOM pardon"
for prog in setcap getcap setpriv timeout strace stress-ng python3; do
	command -v "$prog" >/dev/null || bail "$prog not installed"
done
echo "# kernel $(uname -r), vm.oom_pardon_max_kb $(cat /proc/sys/vm/oom_pardon_max_kb 2>/dev/null || echo none)"

# Scripts executed from a descriptor are read by their interpreter through
# /dev/fd/N; udev provides /dev/fd on real systems, the bare guest does not.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

W=$(mktemp -d /tmp/oom-pardon-vm.XXXXXX)
chmod 755 "$W"
readonly OP=$W/oom-pardon
cp "$BUILT" "$OP"
chmod 755 "$OP"
setcap cap_sys_resource=p "$OP" || :
if getcap "$OP" | grep -q 'cap_sys_resource=p'; then
	ok "the helper copy has the file capability cap_sys_resource=p"
else
	notok "the helper copy has the file capability cap_sys_resource=p"
	bail "no file capability: nothing below would mean anything"
fi

mkdir "$W/bin"
# What ran prints its name and its pardon; exec'ed from the helper, $$ is it.
for prog in listed evil; do
	# shellcheck disable=SC2016 # expanded by the script, not here
	printf '#!/bin/sh\necho "%s ran, pardon $(grep OomPardon /proc/$$/status | cut -f2)"\n' \
		"$prog" >"$W/bin/$prog"
	chmod 755 "$W/bin/$prog"
done
PY=$(realpath "$(command -v python3)")
I3LOCK=$(command -v i3lock || echo /usr/bin/i3lock)
printf '%s\n' "# vm-test allowlist" /usr/bin/grep "$W/bin/listed" "$PY" "$I3LOCK" >"$CONF"
chmod 644 "$CONF"

# --- who gets pardoned, and what is left ------------------------------------
out() { cat "$W/out" "$W/err" | head -n 8; }
run "${NOBODY[@]}" "$OP" grep -E '^(Cap(Inh|Prm|Eff|Amb)|OomPardon):' /proc/self/status
if grep -qx "OomPardon:	1" "$W/out"; then
	ok "a listed command started by a user is pardoned"
else
	notok "a listed command started by a user is pardoned" "exit $rc: $(out)"
fi
if [ "$(grep -c "^Cap...:	0000000000000000$" "$W/out")" = 4 ]; then
	ok "it runs with CapInh, CapPrm, CapEff and CapAmb empty"
else
	notok "it runs with CapInh, CapPrm, CapEff and CapAmb empty" "$(out)"
fi
if [ "$rc" = 0 ] && [ ! -s "$W/err" ]; then
	ok "no warning when the pardon was given"
else
	notok "no warning when the pardon was given" "$(out)"
fi

run "${NOBODY[@]}" "$OP" cat /proc/self/status
if [ "$rc" = 125 ] && grep -q "cat: not listed in" "$W/err" && [ ! -s "$W/out" ]; then
	ok "an unlisted command is refused (125) and not run"
else
	notok "an unlisted command is refused (125) and not run" "exit $rc: $(out)"
fi

run "$OP" cat /proc/self/status
if [ "$rc" = 0 ] && grep -qx "OomPardon:	1" "$W/out"; then
	ok "root may pardon an unlisted command"
else
	notok "root may pardon an unlisted command" "exit $rc: $(out)"
fi

run "${NOBODY[@]}" "$BUILT" grep OomPardon /proc/self/status
if [ "$rc" = 0 ] && grep -qx "OomPardon:	0" "$W/out" && grep -q "not installed with" "$W/err"; then
	ok "without the file capability: one warning, runs unpardoned"
else
	notok "without the file capability: one warning, runs unpardoned" "exit $rc: $(out)"
fi
run "${NOBODY[@]}" "$BUILT" --strict grep OomPardon /proc/self/status
if [ "$rc" = 125 ] && [ ! -s "$W/out" ]; then
	ok "without the file capability, --strict: 125, not run"
else
	notok "without the file capability, --strict: 125, not run" "exit $rc: $(out)"
fi

run "${NOBODY[@]}" "$HEADER_TEST"
if [ "$rc" = 0 ] && ! grep -q '^not ok' "$W/out" && grep -q 'EPERM' "$W/out"; then
	ok "oom-pardon.h: get, clear, set(1) EPERM, set(2) EINVAL on this kernel"
else
	notok "oom-pardon.h: get, clear, set(1) EPERM, set(2) EINVAL on this kernel" "exit $rc: $(out)"
fi

# --- a path swapped after the helper opened it -------------------------------
# strace (a tracer, not a hook in the helper) holds the helper for 3 s right
# after its open of the path; meanwhile the path is re-pointed.
swap() { # NAME FIRST SECOND WANT-RC WANT-OUT-RE|WANT-ERR-RE
	local p held=0
	ln -sfn "$2" "$W/bin/swap"
	rm -f "$W/strace.log"
	timeout 30 strace -f -qq -o "$W/strace.log" -P "$W/bin/swap" -e trace=openat \
		-e inject=openat:delay_exit=3000000 \
		"${NOBODY[@]}" "$OP" "$W/bin/swap" >"$W/out" 2>"$W/err" &
	p=$!
	wait_for 10 grep -qs 'O_PATH.*(DELAYED)' "$W/strace.log" && held=1
	ln -sfn "$3" "$W/bin/swap"
	{ [ ! -s "$W/out" ] && alive "$p"; } || held=0
	rc=0
	wait "$p" || rc=$?
	if [ "$held" = 1 ] && [ "$rc" = "$4" ] && ! grep -q "evil ran" "$W/out" &&
		{ grep -Eq "$5" "$W/out" || grep -q "$6" "$W/err"; }; then
		ok "$1"
	else
		notok "$1" "held after open: $held, exit $rc (want $4): $(out)"
	fi
}
swap "listed file swapped for another after open: the checked one runs, pardoned" \
	listed evil 0 '^listed ran, pardon 1$' '^$'
swap "unlisted file swapped for a listed one after open: refused, nothing runs" \
	evil listed 125 '^$' 'swap: not listed in'

# --- a real OOM in a memory cgroup --------------------------------------------
mkdir "$CG" || bail "cannot create $CG (cgroup v2 with the memory controller?)"
echo "+memory" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
echo 64M >"$CG/memory.max" || bail "no memory controller in $CG"
[ ! -e "$CG/memory.swap.max" ] || echo 0 >"$CG/memory.swap.max"
killed() { dmesg | grep -c "Killed process $1 " || :; }
hog_kills() { dmesg | grep -c 'Killed process [0-9]* (stress-ng' || :; }

# A locker stand-in: asks to be the OOM killer's first choice (adj 1000),
# holds 8 MiB. Started twice: through the helper, and directly as a control.
STANDIN='import time
open("/proc/self/oom_score_adj", "w").write("1000")
b = b"x" * (8 << 20)
print("ready", flush=True)
time.sleep(600)'
in_cgroup "${NOBODY[@]}" "$OP" "$PY" -c "$STANDIN" >"$W/pardoned.out" 2>&1
pardoned=$pid
in_cgroup "${NOBODY[@]}" "$PY" -c "$STANDIN" >"$W/control.out" 2>&1
control=$pid
wait_for 20 grep -q ready "$W/pardoned.out" ||
	bail "pardoned stand-in not ready: $(cat "$W/pardoned.out")"
wait_for 20 grep -q ready "$W/control.out" ||
	bail "control stand-in not ready: $(cat "$W/control.out")"

run "$OP" -p "$pardoned"
if grep -q "OOM pardon: 1$" "$W/out" && grep -q "pardon honoured: yes" "$W/out"; then
	ok "-p shows the stand-in pardoned and honoured"
else
	notok "-p shows the stand-in pardoned and honoured" "$(out)"
fi
bound=$(cat /proc/sys/vm/oom_pardon_max_kb 2>/dev/null || echo 262144)
echo 1024 2>/dev/null >/proc/sys/vm/oom_pardon_max_kb || :
run "$OP" -p "$pardoned"
echo "$bound" 2>/dev/null >/proc/sys/vm/oom_pardon_max_kb || :
if grep -q "pardon honoured: no (.* > vm.oom_pardon_max_kb 1024 kB)" "$W/out"; then
	ok "-p shows the pardon not honoured above vm.oom_pardon_max_kb"
else
	notok "-p shows the pardon not honoured above vm.oom_pardon_max_kb" "$(out)"
fi

before=$(oom_kills) hogs=$(hog_kills)
in_cgroup "${NOBODY[@]}" stress-ng --vm 1 --vm-bytes 200M --vm-keep --oomable \
	--no-oom-adjust --temp-path /tmp --timeout 20s >"$W/hog.out" 2>&1
rc=0
wait "$pid" || rc=$?
sleep 1
after=$(oom_kills)
echo "# memcg oom_kill $before -> $after; stress-ng exit $rc; hog kills $hogs -> $(hog_kills)"
if [ $((after - before)) -ge 2 ]; then
	ok "memcg OOM happened (oom_kill went up by at least 2)"
else
	notok "memcg OOM happened (oom_kill went up by at least 2)" "$(tail -3 "$W/hog.out")"
fi
if ! alive "$control" && [ "$(killed "$control")" -ge 1 ]; then
	ok "the unpardoned control stand-in was killed"
else
	notok "the unpardoned control stand-in was killed" "$(dmesg | grep Killed | tail -3)"
fi
if alive "$pardoned" && [ "$(pardon_of "$pardoned")" = 1 ] && [ "$(killed "$pardoned")" = 0 ]; then
	ok "the pardoned stand-in survived the OOM, still pardoned"
else
	notok "the pardoned stand-in survived the OOM, still pardoned"
fi
if [ "$(hog_kills)" -gt "$hogs" ]; then
	ok "the hog was killed by the OOM killer"
else
	notok "the hog was killed by the OOM killer" "$(dmesg | grep Killed | tail -3)"
fi
kill "$pardoned" 2>/dev/null || :

# --- a real locker: i3lock under Xvfb ------------------------------------------
if ! command -v Xvfb >/dev/null || ! command -v i3lock >/dev/null; then
	skip "i3lock started through the helper survives a memcg OOM" "Xvfb or i3lock not installed"
	skip "its unpardoned twin was killed" "Xvfb or i3lock not installed"
else
	Xvfb :5 -ac -nolisten tcp >"$W/xvfb5.log" 2>&1 &
	pids+=("$!")
	Xvfb :6 -ac -nolisten tcp >"$W/xvfb6.log" 2>&1 &
	pids+=("$!")
	# Xvfb starts in seconds, but under TCG on a loaded host it has been
	# seen to need more than 20.
	wait_for 120 test -S /tmp/.X11-unix/X5 -a -S /tmp/.X11-unix/X6 ||
		bail "Xvfb did not start within 120 s: $(tail -n 3 "$W/xvfb5.log" "$W/xvfb6.log" | tr '\n' ' ')"
	in_cgroup "${NOBODY[@]}" env DISPLAY=:5 HOME=/tmp "$OP" i3lock -n >"$W/i3lock5.log" 2>&1
	locker=$pid
	in_cgroup "${NOBODY[@]}" env DISPLAY=:6 HOME=/tmp i3lock -n >"$W/i3lock6.log" 2>&1
	twin=$pid
	sleep 2
	{ alive "$locker" && alive "$twin"; } || bail "i3lock did not start: $(cat "$W"/i3lock?.log)"
	# Both ask to be the first victim, as the stand-ins did.
	echo 1000 >"/proc/$locker/oom_score_adj"
	echo 1000 >"/proc/$twin/oom_score_adj"
	before=$(oom_kills)
	in_cgroup "${NOBODY[@]}" stress-ng --vm 1 --vm-bytes 200M --vm-keep --oomable \
		--no-oom-adjust --temp-path /tmp --timeout 20s >"$W/hog2.out" 2>&1
	wait "$pid" || :
	sleep 2
	after=$(oom_kills)
	echo "# memcg oom_kill $before -> $after"
	if [ $((after - before)) -ge 2 ] && alive "$locker" && [ "$(pardon_of "$locker")" = 1 ]; then
		ok "i3lock started through the helper survives a memcg OOM, still pardoned"
	else
		notok "i3lock started through the helper survives a memcg OOM, still pardoned" \
			"oom_kill $before -> $after, i3lock: $(cat "$W/i3lock5.log")"
	fi
	if ! alive "$twin" && [ "$(killed "$twin")" -ge 1 ]; then
		ok "its unpardoned twin was killed by the OOM killer"
	else
		notok "its unpardoned twin was killed by the OOM killer" "$(dmesg | grep Killed | tail -3)"
	fi
fi

if [ "$n" != "$PLAN" ]; then
	echo "# ran $n tests, planned $PLAN"
	failed=$((failed + 1))
fi
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
