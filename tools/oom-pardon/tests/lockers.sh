#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lockers.sh: the locker matrix (issue 14). Every screen locker people run,
# started the way its documentation or distribution starts it, by an
# ordinary user, through oom-pardon, then a real OOM in a memory cgroup
# that kills a memory hog; and the same scene unpardoned as the control, in
# which the OOM killer takes the locker.
#
# Runs INSIDE a scripts/vm-run guest on the patched kernel, as root; the
# host side is scripts/lockers (make lockers), which builds the helper and
# a kernel with virtual terminals (scripts/config/lockers.config):
#
#   scripts/vm-run -m 1G -t 1500 -- bash tools/oom-pardon/tests/lockers.sh DEB [ROW...]
#
# DEB is the helper's Debian package (make deb: build/deb/oom-pardon_*.deb),
# installed in the guest with dpkg -i as an administrator installs it: its
# postinst sets the file capability and runs oom-pardon --check; the
# allowlist is the package's conffile /etc/oom-pardon.conf. The guest's
# /usr, /etc and /var are the host's, read-only over 9p: overlays whose
# upper layers live in the guest's memory take every write of dpkg and of
# the maintainer scripts, so the host's own packages are never touched (the
# kernel needs CONFIG_OVERLAY_FS: scripts/config/lockers.config).
# ROWs: xss-lock-i3lock xsecurelock xscreensaver xautolock-xtrlock
# swayidle-swaylock physlock vlock physlock-self (default: all).
# physlock-self needs PHYSLOCK_SELF: physlock with contrib/physlock's patch
# (scripts/contrib-physlock), which pardons itself, started without the
# helper; its control is Debian's physlock.
#
# Each row runs two scenes side by side, "pardoned" and "control", each on
# its own display and in its own memory cgroup (memory.max 96M, no swap)
# that holds the launcher, the locker and the hog; the display server and
# the desktop (an xterm or foot with text on it) stay outside. Both lockers
# are made the OOM killer's first choice (oom_score_adj 1000, as if they
# were the biggest process in the session; a user may raise any of their
# own processes' scores): in the control the OOM killer must take the
# locker, in the pardoned scene it must take the hog instead. A row passes
# only if memory.events counted the OOM kills, the kernel's log names the
# victims, the pardoned locker is alive and still pardoned and the control
# locker is dead. Screenshots after the OOM go to $LOCKERS_SHOTS (the host
# side copies them out of the guest; lines "# png NAME BASE64").
#
# Prints KTAP, then a table: row, launcher, pardoned survived?, control
# died?, seconds.
#
# Needs: Xvfb xterm xwd xwdtopnm pnmtopng xss-lock i3lock xsecurelock
# xscreensaver xautolock xtrlock sway swayidle swaylock foot grim physlock
# vlock openvt dbus-daemon python3-dbus python3-gi stress-ng setcap setpriv
# dpkg (and the package's dependencies: libcap2-bin)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
readonly HERE
readonly DEB=${1:?usage: lockers.sh DEB [ROW...]}
shift
ALL_ROWS="xss-lock-i3lock xsecurelock xscreensaver xautolock-xtrlock swayidle-swaylock physlock vlock physlock-self"
ROWS=${*:-$ALL_ROWS}
readonly ALL_ROWS ROWS
readonly CONF=/etc/oom-pardon.conf
readonly OP=/usr/bin/oom-pardon
readonly W=/tmp/lockers
readonly SHOTS=${LOCKERS_SHOTS:-$W/shots}
readonly LUID=4242 LUSER=locker LPASS=locker
readonly PY=/usr/bin/python3
readonly MEMMAX=96M

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1"
	shift; local l; for l in "$@"; do printf '# %s\n' "$l"; done
}
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
bail() { echo "Bail out! $*"; exit 1; }
note() { echo "# $*"; }

pids=()
cgs=()
cleanup() {
	local p c
	for c in "${cgs[@]}"; do
		[ -d "$c" ] || continue
		echo 1 >"$c/cgroup.kill" 2>/dev/null || :
	done
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || :; done
	for c in "${cgs[@]}"; do
		timeout 10 sh -c "while [ -s '$c/cgroup.procs' ]; do sleep 0.2; done" || :
		rmdir "$c" 2>/dev/null || :
	done
}
trap cleanup EXIT

# wait_for SECONDS CMD...: poll CMD until it succeeds, at most SECONDS.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
pardon_of() { sed -n 's/^OomPardon:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }
oom_kills() { sed -n 's/^oom_kill //p' "$1/memory.events"; }
# killed PID: the kernel's log says the OOM killer killed PID.
killed() { dmesg | grep -q "Killed process $1 "; }
# procs CG REGEX: pids in CG whose comm matches REGEX (extended), one a line.
procs() {
	local p
	while read -r p; do
		grep -Eqx -- "$2" "/proc/$p/comm" 2>/dev/null && echo "$p"
	done <"$1/cgroup.procs" 2>/dev/null
	return 0
}
has_procs() { [ -n "$(procs "$1" "$2")" ]; }

# as_user ENV... -- CMD...: run CMD as the locker user with a fresh
# environment (a session's: HOME, USER, PATH...) plus ENV.
as_user() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env -i \
		HOME="$W/home" USER=$LUSER LOGNAME=$LUSER SHELL=/bin/sh LANG=C.UTF-8 \
		PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="$W/xdg" "${envs[@]}" "$@"
}
# new_cg NAME: a memory cgroup for one scene; sets cg.
new_cg() {
	cg=/sys/fs/cgroup/lockers-$1
	[ ! -d "$cg" ] || rmdir "$cg"
	mkdir "$cg"
	cgs+=("$cg")
	echo "$MEMMAX" >"$cg/memory.max"
	[ ! -e "$cg/memory.swap.max" ] || echo 0 >"$cg/memory.swap.max"
}
# in_cg CG CMD...: CMD in CG, in the background; sets pid.
in_cg() {
	bash -c 'echo "$$" >"$0/cgroup.procs" && exec "$@"' "$@" &
	pid=$!
	pids+=("$pid")
	# no "Killed" notes from bash when the OOM or the cleanup kills it
	[ "${KEEP_JOB:-}" = 1 ] || disown "$pid"
}

# --- the system a desktop user has ---------------------------------------------
echo "KTAP version 1"
[ "$(id -u)" = 0 ] || bail "must run as root (inside the vm-run guest)"
grep -q '^OomPardon:' /proc/self/status || bail "kernel $(uname -r) has no OOM pardon"
[ -f "$DEB" ] || bail "no package at $DEB: run 'make deb' first"
for prog in dpkg setcap setpriv stress-ng dbus-daemon xwd xwdtopnm pnmtopng openssl; do
	command -v "$prog" >/dev/null || bail "$prog not installed (scripts/deps installs it)"
done
$PY -c 'import dbus, gi' 2>/dev/null || bail "python3-dbus or python3-gi not installed"
note "kernel $(uname -r), $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)," \
	"vm.oom_pardon_budget_kbytes $(cat /proc/sys/vm/oom_pardon_budget_kbytes 2>/dev/null || echo none)"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

mkdir -p "$W" "$SHOTS"
chmod 755 "$W"
# The helper from its package, as an administrator installs it: dpkg -i,
# whose postinst sets the file capability (never setuid) and runs
# oom-pardon --check. The writes go to overlays over the host's read-only
# /usr, /etc and /var, upper layers on this guest's tmpfs (not nosuid: the
# setuid lockers and unix_chkpwd run from the overlay /usr). First: the
# user below goes into files mounted over the overlay's /etc.
readonly OV=$W/overlay
for d in usr etc var; do
	mkdir -p "$OV/$d/upper" "$OV/$d/work"
	chmod 755 "$OV" "$OV/$d" "$OV/$d/upper"
	mount -t overlay "lockers-$d" -o "lowerdir=/$d,upperdir=$OV/$d/upper,workdir=$OV/$d/work" "/$d" ||
		bail "cannot mount an overlay over /$d (a kernel without CONFIG_OVERLAY_FS? scripts/lockers builds one with scripts/config/lockers.config)"
done
[ -e "$OP" ] && bail "$OP is on the host already: not the package under test"
deb_start=$SECONDS
if PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg -i "$DEB" >"$W/dpkg.log" 2>&1; then deb_rc=0; else deb_rc=$?; fi
sed 's/^/# dpkg -i: /' "$W/dpkg.log"
note "dpkg -i ${DEB##*/}: status $deb_rc, $((SECONDS - deb_start)) s; $(dpkg-query -W -f '${Package} ${Version} ${Status}' oom-pardon 2>&1)"
[ "$deb_rc" = 0 ] || bail "dpkg -i ${DEB##*/} failed"
note "after the postinst: $(getcap "$OP"), $(stat -c '%U:%G %A' "$OP")"
# The administrator's part: the lockers go into the conffile (never the
# launchers: xss-lock, swayidle, xautolock run whatever they are given).
{
	echo "# the locker matrix's allowlist: lockers only"
	for l in i3lock xsecurelock xscreensaver xtrlock swaylock physlock; do
		p=$(command -v $l) && echo "$p"
	done
	# /usr/bin/vlock is a shell script (the helper never pardons a script):
	# its ELF program is vlock-main, setuid root.
	echo /usr/sbin/vlock-main
} >>"$CONF"
if "$OP" --check >"$W/check.log" 2>&1; then check_rc=0; else check_rc=$?; fi
sed 's/^/# oom-pardon --check: /' "$W/check.log"
mkdir -p "$W/bin"
# An ordinary user with a password, as on a desktop (lockers refuse users
# without one: xtrlock exits, xscreensaver disallows "nobody"): the guest's
# /etc is the host's, read-only, so the user is added to copies mounted
# over /etc/passwd, /etc/shadow and /etc/group, in the guest only.
mkdir -p "$W/etc" "$W/home" "$W/xdg"
cp /etc/passwd /etc/group "$W/etc/"
cp /etc/shadow "$W/etc/shadow" 2>/dev/null || : >"$W/etc/shadow"
echo "$LUSER:x:$LUID:$LUID:screen locker test user:$W/home:/bin/sh" >>"$W/etc/passwd"
echo "$LUSER:x:$LUID:" >>"$W/etc/group"
echo "$LUSER:$(openssl passwd -6 "$LPASS"):20000:0:99999:7:::" >>"$W/etc/shadow"
chmod 644 "$W/etc/passwd" "$W/etc/group"
chown root:shadow "$W/etc/shadow" 2>/dev/null || :
chmod 640 "$W/etc/shadow"
for f in passwd group shadow; do mount --bind "$W/etc/$f" "/etc/$f"; done
chown $LUID:$LUID "$W/home" "$W/xdg"
chmod 700 "$W/xdg"
getent passwd $LUSER >/dev/null || bail "cannot add the user $LUSER"

# The system bus with a stand-in for systemd-logind (xss-lock's sleep
# inhibitor and PrepareForSleep signal; no systemd in the guest).
mkdir -p /run/dbus
cat >"$W/bus.conf" <<'EOT'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOT
dbus-daemon --config-file="$W/bus.conf" --nofork >"$W/dbus.log" 2>&1 &
pids+=($!)
disown $!
wait_for 60 test -S /run/dbus/system_bus_socket || bail "dbus-daemon did not start: $(cat "$W/dbus.log")"
: >"$W/logind.log"
$PY "$HERE/fake-logind.py" "$W/logind.log" >"$W/logind.err" 2>&1 &
logind=$!
pids+=("$logind")
disown "$logind"
wait_for 60 grep -q ready "$W/logind.log" || bail "fake logind did not start: $(cat "$W/logind.err")"
chmod 1777 /tmp
echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :

# --- the desktop ------------------------------------------------------------------
declare -A xvfb xterm
# x_desktop DISPLAY TEXT: an Xvfb (outside any scene's cgroup: the X server
# is not the locker) with a blue root and an xterm saying TEXT.
x_desktop() {
	Xvfb ":$1" -screen 0 640x400x24 -nolisten tcp -ac >"$W/xvfb$1.log" 2>&1 &
	xvfb[$1]=$!
	pids+=($!)
	disown $!
	wait_for 120 test -S "/tmp/.X11-unix/X$1" ||
		bail "Xvfb :$1 did not start within 120 s: $(tail -n 3 "$W/xvfb$1.log" | tr '\n' ' ')"
	as_user DISPLAY=":$1" -- xsetroot -solid '#3465a4' 2>/dev/null || :
	as_user DISPLAY=":$1" -- xterm -fa 'DejaVu Sans Mono' -fs 13 -geometry 44x8+30+30 \
		-bg '#fce94f' -fg black -T "$LUSER's session" \
		-e sh -c "printf '%s\n' \"$2\" 'user $LUSER, display :$1' 'private: mail, documents...'; exec sleep 3600" \
		>"$W/xterm$1.log" 2>&1 &
	xterm[$1]=$!
	pids+=($!)
	disown $!
	wait_for 60 sh -c "xwininfo -display :$1 -root -tree 2>/dev/null | grep -q \"$LUSER's session\"" ||
		bail "xterm on :$1 did not appear: $(tail -n 3 "$W/xterm$1.log" | tr '\n' ' ')"
}
x_shot() { # DISPLAY NAME
	xwd -display ":$1" -root -silent 2>/dev/null | xwdtopnm 2>/dev/null | pnmtopng >"$SHOTS/$2.png" 2>/dev/null ||
		note "screenshot $2 of :$1 failed"
}
x_stop() { # DISPLAY
	kill "${xvfb[$1]}" "${xterm[$1]}" 2>/dev/null || :
	wait_for 20 sh -c "[ ! -e /tmp/.X11-unix/X$1 ]" || :
}

# --- one row ------------------------------------------------------------------------
# Each row defines start_SCENE V DISPLAY CG (V is p or c, pardon is "$OP"
# or empty) and LOCKER_RE (the locker's comm); the launcher runs in CG.
table=()
hog() { # CG: the memory hog, as the user, in CG; sets hogpid
	KEEP_JOB=1 in_cg "$1" setpriv --reuid=$LUID --regid=$LUID --clear-groups -- timeout 90 \
		stress-ng --vm 1 --vm-bytes 300M --vm-keep --oomable --no-oom-adjust \
		--temp-path /tmp --timeout 30s >>"$W/hog.log" 2>&1
	hogpid=$pid
}

# row NAME LAUNCHER LOCKER_RE SHOT(x|wl|none) DISP_P DISP_C [seq]: the two
# scenes side by side, or one after the other with "seq" (the VT lockers:
# each locks console switching for the whole machine).
row() {
	local name=$1 launcher=$2 re=$3 shot=$4 dp=$5 dc=$6 seq=${7:-}
	local start=$SECONDS
	ps=no cs=no rownote=
	echo "lockers.sh: row $name" >/dev/kmsg
	if [ "$seq" = seq ]; then
		phase "$name" "$launcher" "$re" "$shot" p "$dp"
		phase "$name" "$launcher" "$re" "$shot" c "$dc"
	else
		phase "$name" "$launcher" "$re" "$shot" "p c" "$dp $dc"
	fi
	table+=("$name|$launcher|$ps|$cs|$((SECONDS - start))${rownote:+|$rownote}")
}
# phase NAME LAUNCHER RE SHOT VARIANTS DISPLAYS: start the scenes, the
# hogs, and judge each scene.
phase() {
	local name=$1 launcher=$2 re=$3 shot=$4 vs=$5 ds=$6 v d p why
	local -A cgv disp lockers before hogs
	local dl
	read -r -a dl <<<"$ds"
	for v in $vs; do
		disp[$v]=${dl[0]}; dl=("${dl[@]:1}")
		new_cg "$name-$v"; cgv[$v]=$cg
	done
	for v in $vs; do
		if ! "start_$name" "$v" "${disp[$v]}" "${cgv[$v]}"; then
			notok "$name: $(vname "$v")" "the scene did not start: $(tail -n 4 "$W/$name-$v.log" 2>/dev/null | tr '\n' ' ')"
			[ "$v" = p ] && ps="scene did not start" || cs="scene did not start"
			return 0
		fi
	done
	! declare -F "trigger_$name" >/dev/null || "trigger_$name"
	for v in $vs; do
		if ! wait_for 120 has_procs "${cgv[$v]}" "$re"; then
			notok "$name: $(vname "$v")" "no locker ($re) in the scene after 120 s" \
				"$(tail -n 6 "$W/$name-$v.log" 2>/dev/null)" \
				"$(ps -eo pid,ppid,user,comm,args --no-headers | tail -n 12)"
			[ "$v" = p ] && ps="locker did not start" || cs="locker did not start"
			return 0
		fi
	done
	# let the locker finish locking (and, for -f, daemonizing)
	sleep "${SETTLE:-5}"
	for v in $vs; do
		lockers[$v]=$(procs "${cgv[$v]}" "$re" | tr '\n' ' ')
		for p in ${lockers[$v]}; do
			note "$v: pid $p ($(cat "/proc/$p/comm")) OomPardon $(pardon_of "$p") uid $(awk '/^Uid/ { print $2 "/" $3 }' "/proc/$p/status") oom_score_adj $(cat "/proc/$p/oom_score_adj")"
		done
	done
	! declare -F "extra_$name" >/dev/null || "extra_$name"
	for v in $vs; do
		for p in ${lockers[$v]}; do echo 1000 >"/proc/$p/oom_score_adj" 2>/dev/null || :; done
		before[$v]=$(oom_kills "${cgv[$v]}")
		echo "lockers.sh: $name-$v hog" >/dev/kmsg
		hog "${cgv[$v]}"; hogs[$v]=$hogpid
	done
	for v in $vs; do { wait "${hogs[$v]}"; } 2>/dev/null || :; done
	sleep 3
	for v in $vs; do
		note "$v: memory.events oom_kill ${before[$v]} -> $(oom_kills "${cgv[$v]}")"
		# the kernel's lines for this scene's OOMs
		dmesg | sed -n "/lockers.sh: $name-$v hog\$/,\$p" |
			awk -v cg="oom_memcg=/lockers-$name-$v," 'index($0, cg) { k = 3 } k-- > 0 && /oom-kill:|Killed process|oom_pardon/' |
			sed 's/^/# /' | tail -n 9
		why=
		[ "$(oom_kills "${cgv[$v]}")" -gt "${before[$v]}" ] || why+="no OOM kill in its cgroup; "
		if [ "$v" = p ]; then
			dmesg | grep -q "oom_memcg=/lockers-$name-$v,task_memcg=/lockers-$name-$v,task=stress-ng" ||
				why+="no hog killed in its cgroup; "
			for p in ${lockers[$v]}; do
				alive "$p" || why+="locker $p died; "
				! killed "$p" || why+="locker $p OOM-killed; "
				[ "$(pardon_of "$p")" = 1 ] || why+="locker $p not pardoned; "
			done
			if [ -z "$why" ]; then ok "$name: $(vname p) ($launcher)"; ps=yes
			else notok "$name: $(vname p) ($launcher)" "$why"; ps="no: $why"; fi
		else
			local anykilled=no
			for p in ${lockers[$v]}; do
				! killed "$p" || anykilled=yes
				! alive "$p" || why+="locker $p alive; "
			done
			[ "$anykilled" = yes ] || why+="the kernel's log names no locker pid (${lockers[$v]}) as OOM-killed; "
			if [ -z "$why" ]; then ok "$name: $(vname c)"; cs=yes
			else notok "$name: $(vname c)" "$why"; cs="no: $why"; fi
		fi
	done
	sleep 2
	for v in $vs; do
		local label=pardoned
		[ "$v" = p ] || label=control
		case $shot in
		x) x_shot "${disp[$v]}" "$name-$label" ;;
		wl) wl_shot "$v" "$name-$label" ;;
		esac
	done
	! declare -F "after_$name" >/dev/null || "after_$name"
	for v in $vs; do
		echo 1 >"${cgv[$v]}/cgroup.kill"
		wait_for 20 sh -c "[ ! -s ${cgv[$v]}/cgroup.procs ]" || :
		rmdir "${cgv[$v]}" 2>/dev/null || :
		! declare -F "stop_$name" >/dev/null || "stop_$name" "$v" "${disp[$v]}"
	done
}
vname() {
	if [ "$1" = p ]; then echo "pardoned locker survives the OOM, the hog is killed"
	else echo "control (unpardoned) locker is killed by the OOM"; fi
}

# --- xss-lock and i3lock -----------------------------------------------------------
# xss-lock(1): "xss-lock -l -- i3lock -n": -l passes logind's sleep delay
# lock to the locker as XSS_SLEEP_LOCK_FD; i3lock closes it once the screen
# is locked (so the machine suspends only after). The lock is taken here
# on logind's PrepareForSleep(true), as before a suspend.
inhibits() { grep -c 'Inhibit sleep xss-lock' "$W/logind.log" || :; }
# xss_lock V DISPLAY CG [xss-lock options] -- LOCKER...: xss-lock in CG as
# the user, the locker through the helper in the pardoned scene.
xss_lock() {
	local v=$1 d=$2 c=$3 opts=() pardon=() before
	shift 3
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	[ "$v" = c ] || pardon=("$OP")
	before=$(inhibits)
	in_cg "$c" setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env -i HOME="$W/home" \
		USER=$LUSER LOGNAME=$LUSER PATH=/usr/bin:/bin DISPLAY=":$d" XSECURELOCK_SAVER=saver_blank \
		xss-lock "${opts[@]}" -- "${pardon[@]}" "$@"
	wait_for 60 sh -c "[ \$(grep -c 'Inhibit sleep xss-lock' '$W/logind.log') -gt $before ]"
}
desk_text() { if [ "$1" = p ]; then echo "PARDONED scene: $2"; else echo "CONTROL scene: $2"; fi; }
start_xss-lock-i3lock() { # V DISPLAY CG
	x_desktop "$2" "$(desk_text "$1" "i3lock via xss-lock")"
	xss_lock "$1" "$2" "$3" -l -- i3lock -n >"$W/xss-lock-i3lock-$1.log" 2>&1
}
trigger_xss-lock-i3lock() { kill -USR1 "$logind"; }
extra_xss-lock-i3lock() {
	local p env_fd
	for p in $(procs /sys/fs/cgroup/lockers-xss-lock-i3lock-p i3lock); do
		env_fd=$(tr '\0' '\n' <"/proc/$p/environ" | sed -n 's/^XSS_SLEEP_LOCK_FD=//p')
		note "pardoned i3lock $p: XSS_SLEEP_LOCK_FD=${env_fd:-unset} in its environment"
	done
}
stop_xss-lock-i3lock() { x_stop "$2"; }

# The sleep lock reaches i3lock through the helper: under strace (a
# separate run, before the OOM scenes), the i3lock that the helper executes
# has XSS_SLEEP_LOCK_FD=N in its environment and its close(N) succeeds,
# after which logind sees the delay lock released.
sleep_fd_check() {
	local log=$W/strace.log line p fd before rel
	local name="xss-lock-i3lock: XSS_SLEEP_LOCK_FD reaches i3lock through the helper"
	x_desktop 19 "strace run: xss-lock -l -- oom-pardon i3lock -n"
	before=$(inhibits)
	timeout 180 strace -f -qq -o "$log" -e trace=execve,execveat,close -e signal=none -v -s 80 \
		setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env -i HOME="$W/home" \
		USER=$LUSER PATH=/usr/bin:/bin DISPLAY=:19 xss-lock -l -- "$OP" i3lock -n >"$W/strace-xss.log" 2>&1 &
	p=$!
	pids+=("$p")
	if ! wait_for 90 sh -c "[ \$(grep -c 'Inhibit sleep xss-lock' '$W/logind.log') -gt $before ]"; then
		notok "$name" "xss-lock took no sleep lock: $(tail -n 3 "$W/strace-xss.log" | tr '\n' ' ')"
		kill "$p" 2>/dev/null || :; x_stop 19; return 0
	fi
	rel=$(grep -c 'released xss-lock' "$W/logind.log" || :)
	kill -USR1 "$logind"
	wait_for 120 sh -c "[ \$(grep -c 'released xss-lock' '$W/logind.log') -gt $rel ]" || :
	sleep 1
	kill "$p" 2>/dev/null || :
	wait "$p" 2>/dev/null || :
	# the pid that executed i3lock with XSS_SLEEP_LOCK_FD=N, then its close(N)
	line=$(grep -E '^[0-9]+ +execve(at)?\(.*XSS_SLEEP_LOCK_FD=[0-9]+' "$log" | grep -E 'i3lock' | grep -E '= 0$' | tail -n 1)
	p=$(echo "$line" | awk '{ print $1 }')
	fd=$(echo "$line" | sed -n 's/.*"XSS_SLEEP_LOCK_FD=\([0-9]*\)".*/\1/p')
	if [ -n "$p" ] && [ -n "$fd" ] && grep -Eq "^$p +close\($fd\) += 0" "$log" &&
		[ "$(grep -c 'released xss-lock' "$W/logind.log")" -gt "$rel" ]; then
		ok "$name (i3lock, pid $p, closed fd $fd once locked; logind saw the delay lock released)"
	else
		notok "$name" "exec line: ${line:-none}" "$(grep -E 'exec|close\(' "$log" | tail -n 8)"
	fi
	x_stop 19
}

# --- xsecurelock ----------------------------------------------------------------------
# xsecurelock's README: "xss-lock -n /usr/lib/xsecurelock/dimmer -l --
# xsecurelock" (Debian: /usr/libexec/xsecurelock). The saver and the auth
# dialog are its children: they inherit the pardon (SECURITY.md).
start_xsecurelock() {
	x_desktop "$2" "$(desk_text "$1" "xsecurelock via xss-lock")"
	xss_lock "$1" "$2" "$3" -n /usr/libexec/xsecurelock/dimmer -l -- xsecurelock >"$W/xsecurelock-$1.log" 2>&1
}
trigger_xsecurelock() { kill -USR1 "$logind"; }
extra_xsecurelock() {
	local v p
	for v in p c; do
		for p in $(procs "/sys/fs/cgroup/lockers-xsecurelock-$v" '.*'); do
			note "$v scene: pid $p ($(cat "/proc/$p/comm")) OomPardon $(pardon_of "$p")"
		done
	done
}
stop_xsecurelock() { x_stop "$2"; }

# --- xscreensaver 6 ---------------------------------------------------------------------
# Debian starts "xscreensaver --no-splash" with the session (XDG autostart);
# "xscreensaver-command -lock" locks. Its setuid-root xscreensaver-auth
# writes -1000 into its parent's oom_score_adj when it can.
start_xscreensaver() {
	x_desktop "$2" "$(desk_text "$1" "xscreensaver 6")"
	local pardon=()
	[ "$1" = c ] || pardon=("$OP")
	printf 'mode: blank\nlock: True\nlockTimeout: 0:00:00\nsplash: False\n' >"$W/home/.xscreensaver"
	chown $LUID "$W/home/.xscreensaver"
	in_cg "$3" setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env -i HOME="$W/home" \
		USER=$LUSER LOGNAME=$LUSER PATH=/usr/bin:/bin DISPLAY=":$2" "${pardon[@]}" xscreensaver --no-splash \
		>"$W/xscreensaver-$1.log" 2>&1
	wait_for 90 sh -c "DISPLAY=:$2 timeout 10 setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env HOME=$W/home xscreensaver-command -time >/dev/null 2>&1" || return 1
	DISPLAY=":$2" timeout 30 setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env HOME="$W/home" \
		xscreensaver-command -lock >>"$W/xscreensaver-$1.log" 2>&1
}
extra_xscreensaver() {
	local v p
	for v in p c; do
		for p in $(procs "/sys/fs/cgroup/lockers-xscreensaver-$v" '.*'); do
			note "$v scene: pid $p ($(cat "/proc/$p/comm")) OomPardon $(pardon_of "$p") oom_score_adj $(cat "/proc/$p/oom_score_adj")"
		done
		grep -h 'OOM' "$W/xscreensaver-$v.log" | sed "s/^/# $v: /" | head -n 3
	done
	p=$(procs /sys/fs/cgroup/lockers-xscreensaver-c xscreensaver)
	if [ "$(cat "/proc/$p/oom_score_adj")" = -1000 ]; then
		ok "xscreensaver: as shipped, its setuid xscreensaver-auth gave the unpardoned daemon oom_score_adj -1000 itself"
		rownote="control died only because the test overrode the -1000 that xscreensaver-auth (setuid root) writes; as shipped it is unkillable either way"
	else
		ok "xscreensaver: xscreensaver-auth did not set -1000 (oom_score_adj $(cat "/proc/$p/oom_score_adj")): the pardon is its only protection"
	fi
}
after_xscreensaver() {
	local p
	for p in $(procs /sys/fs/cgroup/lockers-xscreensaver-c '.*'); do
		note "control after the OOM: pid $p ($(cat "/proc/$p/comm")) still alive"
	done
}
stop_xscreensaver() { x_stop "$2"; }

# --- xautolock and xtrlock ------------------------------------------------------------------
# xtrlock(1) with xautolock(1): "xautolock -locker 'xtrlock -b'"; locked
# now with "xautolock -locknow". xtrlock -b blanks the screen. A -locknow
# sent before xautolock has its window up is lost (session 7, on a loaded
# host: the control's xtrlock never started), so it is sent again until
# xtrlock runs, at most 8 times 10 s.
start_xautolock-xtrlock() {
	x_desktop "$2" "$(desk_text "$1" "xtrlock -b via xautolock")"
	local locker="xtrlock -b" try
	[ "$1" = c ] || locker="$OP xtrlock -b"
	in_cg "$3" setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env -i HOME="$W/home" \
		USER=$LUSER LOGNAME=$LUSER PATH=/usr/bin:/bin DISPLAY=":$2" xautolock -time 10 -locker "$locker" \
		>"$W/xautolock-xtrlock-$1.log" 2>&1
	for try in 1 2 3 4 5 6 7 8; do
		wait_for 10 has_procs "$3" xautolock || continue
		DISPLAY=":$2" timeout 30 setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env HOME="$W/home" \
			xautolock -locknow >>"$W/xautolock-xtrlock-$1.log" 2>&1 || true
		wait_for 10 has_procs "$3" xtrlock && return 0
		note "xautolock-xtrlock $1: no xtrlock 10 s after -locknow (try $try), sending it again"
	done
}
stop_xautolock-xtrlock() { x_stop "$2"; }

# --- swayidle and swaylock under a headless sway ----------------------------------------------
# swaylock(1)/swayidle(1): "swayidle -w timeout 300 'swaylock -f'"; here
# timeout 1 (the headless seat has no input: idle at once).
declare -A swaypid
wl_socket() { # XDG_RUNTIME_DIR: the compositor's socket name
	local f
	for f in "$1"/wayland-[0-9]; do
		[ -S "$f" ] && { echo "${f##*/}"; return 0; }
	done
	return 1
}
start_swayidle-swaylock() {
	local xdg=$W/xdg-$1 text wl pcmd=
	text=$(desk_text "$1" "swaylock -f via swayidle")
	mkdir -p "$xdg"; chown $LUID "$xdg"; chmod 700 "$xdg"
	cat >"$W/sway-$1.conf" <<EOT
output HEADLESS-1 resolution 640x400 background #3465a4 solid_color
exec foot -o font="DejaVu Sans Mono:size=13" -o colors.background=fce94f -o colors.foreground=000000 sh -c "printf '%s\\\\n' '$text' 'user $LUSER, sway (headless)' 'private: mail, documents...'; exec sleep 3600"
EOT
	as_user XDG_RUNTIME_DIR="$xdg" WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 -- \
		sway -c "$W/sway-$1.conf" >"$W/sway-$1.log" 2>&1 &
	swaypid[$1]=$!
	pids+=($!)
	disown $!
	wait_for 120 wl_socket "$xdg" >/dev/null || { note "sway ($1) did not start: $(tail -n 3 "$W/sway-$1.log")"; return 1; }
	wl=$(wl_socket "$xdg")
	wait_for 60 grep -q 'cell width' "$W/sway-$1.log" || :
	sleep 3
	[ "$1" = c ] || pcmd="$OP "
	in_cg "$3" setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env -i HOME="$W/home" \
		USER=$LUSER LOGNAME=$LUSER PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$xdg" WAYLAND_DISPLAY="$wl" \
		swayidle -w timeout 1 "${pcmd}swaylock -f -c 204a87" >"$W/swayidle-swaylock-$1.log" 2>&1
}
extra_swayidle-swaylock() {
	local p
	for p in $(procs /sys/fs/cgroup/lockers-swayidle-swaylock-p swaylock); do
		note "pardoned swaylock $p: parent $(awk '/^PPid/ { print $2 }' "/proc/$p/status") (daemonized by -f), OomPardon $(pardon_of "$p")"
	done
}
wl_shot() { # V NAME
	local xdg=$W/xdg-$1 wl
	wl=$(wl_socket "$xdg") || { note "no sway for $2"; return 0; }
	if as_user XDG_RUNTIME_DIR="$xdg" WAYLAND_DISPLAY="$wl" -- timeout 60 grim "$xdg/shot.png" >/dev/null 2>&1; then
		cp "$xdg/shot.png" "$SHOTS/$2.png"
	else
		note "grim failed for $2"
	fi
}
stop_swayidle-swaylock() { kill "${swaypid[$1]}" 2>/dev/null || :; }

# --- physlock and vlock on a virtual terminal ------------------------------------------------------
vt_ok() { [ -c /dev/tty0 ] && [ -c /dev/tty2 ] && [ -r /sys/class/tty/tty0/active ]; }
start_physlock() { start_vt physlock "$@"; }
# physlock-self: the patched physlock, setuid root as Debian installs
# physlock, started by the user without the helper; the control is
# Debian's physlock, also without the helper.
start_physlock-self() {
	install -m 4755 -o root "$PHYSLOCK_SELF" "$W/bin/physlock-self"
	if [ "$1" = p ]; then
		NO_HELPER=1 start_vt "$W/bin/physlock-self" "$@"
	else
		start_vt physlock "$@"
	fi
}
after_physlock-self() { after_vt; }
start_vlock() { start_vt vlock "$@"; }
# start_vt LOCKER V VT CG: the user's login on VT (a utmp entry names the
# owner of the console, as login(1) writes it), then the locker started on
# that VT by the user, through the helper in the pardoned scene, the way
# its man page says ("physlock", "vlock -a"); both are setuid root.
start_vt() {
	local locker=$1 v=$2 vt=$3 c=$4 tty=tty$3 pardon=()
	[ "$v" = c ] || [ "${NO_HELPER:-}" = 1 ] || pardon=("$OP")
	chown $LUID "/dev/$tty"
	$PY - "$tty" "$LUSER" <<'EOT'
import os, struct, sys, time
tty, user = sys.argv[1], sys.argv[2]
# struct utmp, x86_64 glibc: type, pid, line[32], id[4], user[32],
# host[256], exit (2 shorts), session, tv_sec, tv_usec, addr_v6[4], unused
rec = struct.pack("<hxxi32s4s32s256shhiii4i20s", 7, os.getpid(), tty.encode(),
                  tty[3:].encode(), user.encode(), b"", 0, 0, 0,
                  int(time.time()), 0, 0, 0, 0, 0, b"")
with open("/run/utmp", "ab") as f:
    f.write(rec)
EOT
	case $locker in
	vlock) set -- /usr/sbin/vlock-main all ;;
	*) set -- "$locker" ;;
	esac
	# openvt -s: the VT becomes the active console and the command's
	# controlling terminal, as a login there would be.
	in_cg "$c" openvt -f -c "$vt" -s -w -- setpriv --reuid=$LUID --regid=$LUID --clear-groups -- env -i \
		HOME="$W/home" USER=$LUSER LOGNAME=$LUSER PATH=/usr/bin:/bin:/usr/sbin TERM=linux \
		"${pardon[@]}" "$@" >"$W/${locker##*/}-$v.log" 2>&1
}
after_vt() {
	local active
	active=$(cat /sys/class/tty/tty0/active 2>/dev/null)
	# Can the console be switched away from the lock now? (A live VT
	# locker refuses; its death gives the console to whoever sits down.)
	if timeout 10 chvt 7 2>/dev/null && [ "$(cat /sys/class/tty/tty0/active)" = tty7 ]; then
		note "after the OOM: active console was $active; chvt 7: switched (console switching unlocked)"
	else
		note "after the OOM: active console $active; chvt 7: refused (console switching locked)"
	fi
	# undo a lock left behind, for the next scene
	timeout 10 physlock -L 2>/dev/null || :
}
after_physlock() { after_vt; }
after_vlock() { after_vt; }

# --- run ----------------------------------------------------------------------------------
nrows=0
for r in $ROWS; do
	case " $ALL_ROWS " in *" $r "*) ;; *) bail "unknown row $r (rows: $ALL_ROWS)" ;; esac
	nrows=$((nrows + 1))
done
plan=$((nrows * 2 + 1))
case " $ROWS " in *" xss-lock-i3lock "*) plan=$((plan + 1)) ;; esac
case " $ROWS " in *" xscreensaver "*) plan=$((plan + 1)) ;; esac
echo "1..$plan"

# the package: installed by dpkg -i, the capability set by its postinst,
# which ran oom-pardon --check; with the lockers listed, --check passes
why=
case $(getcap "$OP") in *cap_sys_resource=p*) ;; *) why+="no cap_sys_resource=p on $OP after the postinst; " ;; esac
[ ! -u "$OP" ] || why+="$OP is setuid; "
grep -q '^ok - kernel' "$W/dpkg.log" || why+="the postinst's oom-pardon --check printed no report; "
[ "$check_rc" = 0 ] || why+="oom-pardon --check with the lockers listed: status $check_rc; "
if [ -z "$why" ]; then
	ok "dpkg -i ${DEB##*/}: the postinst set cap_sys_resource=p and ran oom-pardon --check; with the lockers listed in the conffile, --check passes"
else
	notok "dpkg -i ${DEB##*/}" "$why"
fi

for r in $ROWS; do
	case $r in
	xss-lock-i3lock)
		sleep_fd_check
		row xss-lock-i3lock "xss-lock -l (PrepareForSleep)" 'i3lock' x 11 21 ;;
	xsecurelock)
		row xsecurelock "xss-lock -n dimmer -l" 'xsecurelock' x 12 22 ;;
	xscreensaver)
		row xscreensaver "xscreensaver --no-splash; -lock" 'xscreensaver' x 13 23 ;;
	xautolock-xtrlock)
		row xautolock-xtrlock "xautolock -locknow" 'xtrlock' x 14 24 ;;
	swayidle-swaylock)
		row swayidle-swaylock "swayidle timeout (sway headless)" 'swaylock' wl 1 2 ;;
	physlock|vlock|physlock-self)
		if [ "$r" = physlock-self ] && [ ! -x "${PHYSLOCK_SELF:-}" ]; then
			why="no patched physlock (PHYSLOCK_SELF): scripts/contrib-physlock builds it"
			skip "$r: pardoned locker survives the OOM" "$why"
			skip "$r: control locker is killed by the OOM killer" "$why"
			table+=("$r|VT|skipped: not built|skipped|0")
			continue
		fi
		if ! vt_ok; then
			why="no virtual terminals in this kernel (CONFIG_VT): scripts/lockers boots one built with scripts/config/lockers.config"
			skip "$r: pardoned locker survives the OOM" "$why"
			skip "$r: control locker is killed by the OOM killer" "$why"
			table+=("$r|VT|skipped: no VT|skipped|0")
			continue
		fi
		if [ "$r" = physlock ]; then
			row physlock "physlock (setuid root) on a VT" 'physlock' none 2 3 seq
		elif [ "$r" = physlock-self ]; then
			row physlock-self "patched physlock, no helper, on a VT" 'physlock(-self)?' none 5 6 seq
		else
			row vlock "vlock-main all (setuid root) on a VT" 'vlock-main' none 4 5 seq
		fi ;;
	esac
done

# the pictures, for the host side
if [ -z "${LOCKERS_SHOTS:-}" ]; then
	for f in "$SHOTS"/*.png; do
		[ -s "$f" ] || continue
		echo "# png ${f##*/} $(base64 -w0 "$f")"
	done
fi

echo "# row | launcher | pardoned: survived? | control: died? | seconds | note"
for t in "${table[@]}"; do echo "# $t"; done
[ "$n" = "$plan" ] || { echo "# ran $n tests, planned $plan"; failed=$((failed + 1)); }
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
