#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host tests for oom-pardon, on any kernel, as root or as any other user.
# Needs: the ASan/UBSan test build (BIN/oom-pardon-test, whose allowlist path
# is fixed at build time, see --help), BIN/conf-test, optionally
# BIN/fuzz-conf; setpriv, setcap and strace for the root-only cases.
#
# Prints "ok N - name" / "not ok N - name" (TAP), then "N passed, N failed"
# and exits 1 if anything failed. Run through 'make check'.
set -u

readonly BIN=${BIN:?set BIN to the directory holding oom-pardon-test}
readonly OP=$BIN/oom-pardon-test
readonly FUZZ_SECONDS=${FUZZ_SECONDS:-20}
readonly NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)

n=0 passed=0 failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
skip() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1 # SKIP $2"; }
# check NAME: ok if the previous command succeeded (details go through
# $TMP/out: an argument like "$(cat ...)" would reset $? before the call).
check() {
	if [ $? = 0 ]; then ok "$1"; else notok "$1" "stdout: $(head -c 600 "$TMP/out" 2>/dev/null)"; fi
}
notok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift; local l; for l in "$@"; do echo "#   $l"; done
	sed 's/^/#   stderr: /' "$TMP/err" 2>/dev/null | head -5
}

CONF=$("$OP" --help | sed -n 's/^Allowlist for non-root users: //p')
CONFDIR=$(dirname "$CONF")
readonly CONF CONFDIR
TMP=$(mktemp -d /tmp/oom-pardon-test.XXXXXX) || exit 1
readonly TMP
chmod 755 "$TMP"
cleanup() {
	rm -rf "$TMP"
	if [ "$(id -u)" = 0 ]; then
		rm -rf "$CONF" "$CONFDIR.real"
		if [ -L "$CONFDIR" ]; then rm -f "$CONFDIR"; else rmdir "$CONFDIR" 2>/dev/null; fi
	fi
	return 0
}
trap cleanup EXIT

# run CMD...: rc, $TMP/out, $TMP/err; every run bounded.
run() {
	timeout 20 "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# t NAME RC ERRLINES OUT_RE ERR_RE -- CMD...: one test case. ERRLINES is the
# exact number of stderr lines ("-": any); empty regexes are not checked.
t() {
	local name=$1 want=$2 lines=$3 out_re=$4 err_re=$5 why=()
	shift 6
	run "$@"
	[ "$rc" = "$want" ] || why+=("exit status $rc, want $want")
	[ "$lines" = - ] || [ "$(wc -l <"$TMP/err")" = "$lines" ] ||
		why+=("$(wc -l <"$TMP/err") stderr lines, want $lines")
	[ -z "$out_re" ] || grep -Eq -- "$out_re" "$TMP/out" ||
		why+=("stdout does not match '$out_re': $(head -c 300 "$TMP/out")")
	[ -z "$err_re" ] || grep -Eq -- "$err_re" "$TMP/err" ||
		why+=("stderr does not match '$err_re'")
	if [ ${#why[@]} = 0 ]; then ok "$name"; else notok "$name" "${why[@]}"; fi
}

# conf LINE...: write the test build's allowlist, root-owned, mode 0644.
conf() {
	rm -rf "$CONF"
	printf '%s\n' "$@" >"$CONF" && chown 0:0 "$CONF" && chmod 0644 "$CONF"
}

is_root=0; [ "$(id -u)" = 0 ] && is_root=1
NOBODY_IF_ROOT=()
if [ "$is_root" = 1 ] && command -v setpriv >/dev/null; then NOBODY_IF_ROOT=("${NOBODY[@]}"); fi
kernel_has_pardon=0; grep -q '^OomPardon:' /proc/self/status && kernel_has_pardon=1
# Bit 24 of CapBnd: can CAP_SYS_RESOURCE be had at all on this host?
bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
have_sysres=$(( (0x$bnd >> 24) & 1 ))
echo "# oom-pardon host tests: uid $(id -u), kernel $(uname -r)," \
	"pardon prctl: $kernel_has_pardon, CAP_SYS_RESOURCE in bounding set: $have_sysres"

# Fixtures: ELF executables (copies, so each has its own inode), a script,
# a listed file owned by a user and one writable by its group.
mkdir -p "$TMP/bin" "$TMP/user"
cp /bin/true "$TMP/bin/listed"
cp /bin/true "$TMP/bin/other"
cp /bin/echo "$TMP/bin/say"
cp /bin/cat "$TMP/bin/cat"
cp "$(command -v readlink)" "$TMP/bin/readlink"
ln -s listed "$TMP/bin/link"
printf 'not a program\n' >"$TMP/bin/noexec"
printf '#!/bin/sh\necho "script ran: $*"\n' >"$TMP/bin/script"
printf '#!/bin/sh\necho evil ran\n' >"$TMP/bin/evil"
cp /bin/true "$TMP/bin/usertrue"
cp /bin/true "$TMP/bin/grouptrue"
cp /bin/true "$TMP/bin/xonly"
chmod 755 "$TMP/bin/script" "$TMP/bin/evil"
chmod 775 "$TMP/bin/grouptrue"
chmod 644 "$TMP/bin/noexec"
chmod 711 "$TMP/bin/xonly"
if [ "$is_root" = 1 ]; then
	chown 65534 "$TMP/bin/usertrue" "$TMP/user"
	# The $ORIGIN case: a hard link, in a directory of the user's, to a listed file.
	ln "$TMP/bin/readlink" "$TMP/user/readlink"
fi
# What every run of the test build as a user warns about on this host,
# when the allowlist is fine: the kernel, or the missing file capability.
if [ "$kernel_has_pardon" = 1 ]; then nopardon='no file capability'; else nopardon='kernel without PR_SET_OOM_PARDON'; fi

# --- the parser and the file rules, as functions ----------------------------
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	*) TMP_ERR=$line; notok "${line#not ok - }" "$TMP_ERR" ;;
	esac
done < <(timeout 60 "$BIN/conf-test"; echo "exit $?" >"$TMP/conf-rc")
grep -qx 'exit 0' "$TMP/conf-rc" || notok "conf-test exits 0" "$(cat "$TMP/conf-rc")"

# --- the installable header, against this kernel -------------------------
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) notok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done < <("${NOBODY_IF_ROOT[@]}" timeout 20 "$BIN/header-test"; echo "exit $?" >"$TMP/header-rc")
grep -qx 'exit 0' "$TMP/header-rc" || notok "header-test exits 0" "$(cat "$TMP/header-rc")"

# --- options ---------------------------------------------------------------
t "--help prints usage, -h/-V listed last" 0 0 '^ -V, --version' '' -- "$OP" --help
run "$OP" --help
tail -n 4 "$TMP/out" | head -n 1 | grep -q -- '--version' &&
	grep -B1 -- '-V, --version' "$TMP/out" | grep -q -- '-h, --help'
check "-h and -V are the last options"
t "--version" 0 0 '^oom-pardon-test [0-9]' '' -- "$OP" -V
t "unknown option: 125, one line plus the --help hint" 125 2 '' \
	"^Try 'oom-pardon-test --help' for more information.$" -- "$OP" --bogus true
t "missing command: 125" 125 2 '' 'no command specified' -- "$OP"
t "missing command after --: 125" 125 2 '' 'no command specified' -- "$OP" --strict --
for bad in abc 0 -5 12x 99999999999 ''; do
	t "bad PID '$bad': 125" 125 1 '' "invalid PID argument: '$bad'" -- "$OP" -p "$bad"
done
t "-p with a command: 125" 125 2 '' 'take nothing else' -- "$OP" -p 1 true
t "--check with a command: 125" 125 2 '' 'take nothing else' -- "$OP" --check true
t "--pid and --check together: 125" 125 2 '' 'take nothing else' -- "$OP" --check -p 1
t "--pid without argument: 125" 125 2 '' 'Try' -- "$OP" --pid

# --- -p --------------------------------------------------------------------
sleep 30 & sleeper=$!
if [ "$kernel_has_pardon" = 1 ]; then pre='OOM pardon: [01]$'; else pre='OOM pardon: unsupported'; fi
t "-p shows pardon, verdict, score and adj" 0 0 "^pid $sleeper's $pre" '' -- "$OP" -p "$sleeper"
if [ "$(wc -l <"$TMP/out")" = 4 ] &&
	grep -q "^pid $sleeper's pardon honoured: no (not pardoned)$" "$TMP/out" &&
	grep -q "^pid $sleeper's current OOM score: [0-9]" "$TMP/out" &&
	grep -q "^pid $sleeper's current OOM score adjust value: $(cat /proc/$sleeper/oom_score_adj)$" "$TMP/out"
then ok "-p prints four lines: pardon, not honoured when unpardoned, oom_score, oom_score_adj"
else notok "-p prints four lines: pardon, not honoured when unpardoned, oom_score, oom_score_adj" "$(cat "$TMP/out")"; fi
kill "$sleeper"; wait "$sleeper" 2>/dev/null
nopid=$(( $(cat /proc/sys/kernel/pid_max) + 1 ))
t "-p of a missing process: 125" 125 1 '' "cannot read /proc/$nopid/" -- "$OP" -p "$nopid"

# --- finding the command: 126/127 ------------------------------------------
t "command not found: 127" 127 1 '' 'no-such-command-xyz: No such file' -- \
	env PATH=/usr/bin:/bin "$OP" no-such-command-xyz
t "missing path: 127" 127 1 '' 'No such file' -- "$OP" "$TMP/none"
t "not executable: 126" 126 1 '' 'Permission denied' -- "$OP" "$TMP/bin/noexec"
t "directory: 126" 126 1 '' 'Permission denied' -- "$OP" "$TMP"
t "not executable, found in PATH: 126" 126 1 '' 'noexec: Permission denied' -- \
	env PATH="$TMP/bin" "$OP" noexec

if [ "$is_root" = 0 ]; then
	skip "root and allowlist cases" "need root (the allowlist must be root's)"
	skip "--check" "needs root"
else
	rm -rf "$CONF"; mkdir -p "$CONFDIR"; chown 0:0 "$CONFDIR"; chmod 755 "$CONFDIR"
	# Every directory above the test allowlist must be root's alone, as
	# the helper demands: not so for a build below /tmp or a user's home.
	unsafe_dir=
	d=$CONFDIR
	while :; do
		read -r u m < <(stat -c '%u %a' "$d")
		{ [ "$u" = 0 ] && [ $((8#$m & 8#022)) = 0 ] && [ ! -L "$d" ]; } || unsafe_dir=$d
		[ "$d" = / ] && break
		d=$(dirname "$d")
	done

	t "root without an allowlist: command's exit status passes through" 42 - '' '' -- \
		"$OP" sh -c 'exit 42'
	t "options after the command belong to it" 0 - '^-p --strict -- x$' '' -- \
		"$OP" -- echo -p --strict -- x
	t "PATH lookup" 0 - '^script ran: a b$' '' -- env PATH="/nonexistent:$TMP/bin" "$OP" script a b
	t "root runs a script, pardon and all" 0 - '^script ran: $' '' -- "$OP" "$TMP/bin/script"
	# shellcheck disable=SC2012 # fd numbers only
	want=$(ls /proc/self/fd | tr '\n' ' ')
	t "no descriptor leaks into the command" 0 - "^$want\$" '' -- \
		sh -c "\"$OP\" ls /proc/self/fd | tr '\n' ' '"

	# --- a kernel without the pardon: warn and run; --strict fails ----------
	if [ "$kernel_has_pardon" = 1 ]; then
		skip "stock kernel: warning, command still runs" "this kernel has the pardon prctl"
		t "root is pardoned" 0 - '^OomPardon:	1$' '' -- "$OP" grep OomPardon /proc/self/status
	else
		rm -f "$TMP/ran"
		t "stock kernel: one warning line, command still runs" 0 1 '' \
			'warning: kernel without PR_SET_OOM_PARDON; running touch without the OOM pardon' -- \
			"$OP" touch "$TMP/ran"
		[ -e "$TMP/ran" ]
		check "stock kernel: the command ran"
		rm -f "$TMP/ran"
		t "stock kernel: --strict fails with 125" 125 1 '' 'kernel without PR_SET_OOM_PARDON$' -- \
			"$OP" --strict touch "$TMP/ran"
		[ ! -e "$TMP/ran" ]
		check "stock kernel: --strict did not run the command"
		if [ "$have_sysres" = 0 ]; then
			# issue 11, finding 5: the cause, not "not installed with setcap"
			t "root's --fallback-adj without CAP_SYS_RESOURCE: warning names the bounding set, runs" \
				0 1 '^0$' 'CAP_SYS_RESOURCE is not in the bounding set' -- \
				"$OP" --fallback-adj cat /proc/self/oom_score_adj
		else
			t "root's --fallback-adj sets oom_score_adj -1000" 0 0 '^-1000$' '' -- \
				"$OP" --fallback-adj cat /proc/self/oom_score_adj
		fi
		t "no fallback by default" 0 1 '^0$' '' -- "$OP" cat /proc/self/oom_score_adj
	fi
fi

# --- the allowlist, read by the binary ----------------------------------------
if [ "$is_root" = 0 ] || ! command -v setpriv >/dev/null; then
	skip "allowlist checks" "needs root and setpriv"
elif [ -n "$unsafe_dir" ]; then
	skip "allowlist checks" "$unsafe_dir is not root's alone: build elsewhere (O=) to run them"
else
	# unpardoned NAME RE -- CMD...: a user's run that warns once naming RE and
	# still runs the command (it creates $TMP/ran); with --strict, 125, not run.
	unpardoned() {
		local name=$1 re=$2
		shift 3
		rm -f "$TMP/user/ran"
		t "$name: one warning, still runs" 0 1 '' "warning: .*$re.*; running .* without the OOM pardon$" -- \
			"${NOBODY[@]}" "$OP" "$@" "$TMP/user/ran"
		[ -e "$TMP/user/ran" ]
		check "$name: the command ran"
		rm -f "$TMP/user/ran"
		t "$name: --strict fails with 125" 125 1 '' "$re" -- "${NOBODY[@]}" "$OP" --strict "$@" "$TMP/user/ran"
		[ ! -e "$TMP/user/ran" ]
		check "$name: --strict did not run the command"
	}
	chmod 1777 "$TMP/user"
	# issue 11, finding 2: a broken or incomplete configuration never stops the locker
	conf "$TMP/bin/listed" "/usr/bin/touch"
	chown 65534 "$CONF"
	unpardoned "allowlist owned by a user" "$CONF: not owned by root" -- touch
	for mode in 0664 0646 0666; do
		conf "$TMP/bin/listed" "/usr/bin/touch"; chmod "$mode" "$CONF"
		unpardoned "allowlist mode $mode" "$CONF: writable by group or others" -- touch
	done
	rm -f "$CONF"; mkdir "$CONF"
	unpardoned "allowlist is a directory" "$CONF: not a regular file" -- touch
	rmdir "$CONF"
	unpardoned "missing allowlist" "$CONF: No such file or directory" -- touch
	conf "/usr/bin/touch" "/usr/bin/i3lock$(printf '\r')x"
	unpardoned "a stray CR inside a line" "$CONF:2: control character" -- touch
	conf "# lockers" "" "/usr/bin/touch" "bin/relative"
	unpardoned "relative path" "$CONF:4: not an absolute path" -- touch
	conf "/$(head -c 5000 /dev/zero | tr '\0' x)"
	unpardoned "overlong line" "$CONF:1: line too long" -- touch
	head -c 200 /bin/true >"$CONF"
	unpardoned "garbage" "$CONF:1: (control character|NUL byte)" -- touch
	conf "/usr/bin/touch" "fallback sometimes"
	unpardoned "unknown setting" "$CONF:2: unknown setting" -- touch
	conf "/usr/bin/cat"
	unpardoned "unlisted command" "touch: not listed in $CONF" -- touch
	# issue 11, finding 6: FIFO, symlink, the directories above it
	rm -f "$CONF"; mkfifo -m 644 "$CONF"
	unpardoned "allowlist is a FIFO: no hang" "$CONF: not a regular file" -- touch
	rm -f "$CONF"; ln -s /etc/shells "$CONF"
	t "allowlist is a symlink to /etc/shells: not followed, warning, runs" 3 1 '' \
		"$CONF: a symbolic link \(never followed\); running sh without" -- \
		"${NOBODY[@]}" "$OP" sh -c 'exit 3'
	conf "/usr/bin/touch"
	chmod 0777 "$CONFDIR"
	unpardoned "a directory above the allowlist writable by others" \
		"$CONF: directory $CONFDIR: writable by group or others" -- touch
	chmod 0755 "$CONFDIR"; chown 65534 "$CONFDIR"
	unpardoned "a directory above the allowlist owned by a user" \
		"$CONF: directory $CONFDIR: not owned by root" -- touch
	chown 0 "$CONFDIR"
	mv "$CONFDIR" "$CONFDIR.real"; ln -s "$(basename "$CONFDIR").real" "$CONFDIR"
	unpardoned "a directory above the allowlist is a symlink" \
		"$CONF: directory $CONFDIR: a symbolic link" -- touch
	rm "$CONFDIR"; mv "$CONFDIR.real" "$CONFDIR"

	# --- who may run what (the cause is then the kernel or the capability) ---
	conf "# test allowlist" "" "  $TMP/bin/listed  " "$TMP/bin/say" "$TMP/bin/script" \
		"$TMP/bin/usertrue" "$TMP/bin/grouptrue" "$TMP/bin/readlink" "$TMP/bin/xonly" "/nonexistent/locker"
	t "listed command runs for a user" 0 1 '' "$nopardon" -- "${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	t "listed command found through PATH" 0 1 '' "$nopardon" -- \
		"${NOBODY[@]}" env PATH="$TMP/bin" "$OP" listed
	t "symlink to a listed file: same inode, runs" 0 1 '' "$nopardon" -- "${NOBODY[@]}" "$OP" "$TMP/bin/link"
	t "unlisted command (same content, other inode): warning names it, runs" 0 1 '' \
		"^oom-pardon-test: warning: $TMP/bin/other: not listed in $CONF; running" -- \
		"${NOBODY[@]}" "$OP" "$TMP/bin/other"
	t "root may run an unlisted command" 0 - '' '' -- "$OP" "$TMP/bin/other"
	t "a user still gets 127 when nothing is found, no warning" 127 1 '' 'No such file' -- \
		"${NOBODY[@]}" env PATH=/usr/bin:/bin "$OP" no-such-xyz
	# issue 11, finding 3: what a listed file must be
	t "listed script: not pardoned, warning names it, runs" 0 1 '^script ran: x$' \
		"$TMP/bin/script is listed, but a script \(#!\)" -- "${NOBODY[@]}" "$OP" "$TMP/bin/script" x
	t "listed script, --strict: 125" 125 1 '' 'a script' -- "${NOBODY[@]}" "$OP" -s "$TMP/bin/script" x
	t "listed file owned by a user: not pardoned, warning, runs" 0 1 '' \
		"$TMP/bin/usertrue is listed, but not owned by root" -- "${NOBODY[@]}" "$OP" "$TMP/bin/usertrue"
	t "listed file writable by its group: not pardoned, warning, runs" 0 1 '' \
		"$TMP/bin/grouptrue is listed, but writable by group or others" -- \
		"${NOBODY[@]}" "$OP" "$TMP/bin/grouptrue"
	t "listed file a user cannot read (0711): warning names the cause, not 'not listed', runs" 0 1 '' \
		"$TMP/bin/xonly is listed, but Permission denied" -- "${NOBODY[@]}" "$OP" "$TMP/bin/xonly"
	t "a hard link to a listed file runs from the listed path (\$ORIGIN is root's)" 0 1 \
		"^$TMP/bin/readlink\$" "$nopardon" -- "${NOBODY[@]}" "$OP" "$TMP/user/readlink" /proc/self/exe
	# issue 11, finding 1: the fallback is root's decision, never a user's option
	if [ "$kernel_has_pardon" = 0 ]; then
		conf "/usr/bin/cat"
		t "a user's --fallback-adj is ignored: warning says so, oom_score_adj stays" 0 1 '^0$' \
			"kernel without PR_SET_OOM_PARDON \(--fallback-adj is root's" -- \
			"${NOBODY[@]}" "$OP" --fallback-adj cat /proc/self/oom_score_adj
	fi

	# --- --check, for administrators and packagers --------------------------
	conf "$TMP/bin/listed" "$TMP/bin/script" "$TMP/bin/usertrue" "/nonexistent/locker" "fallback oom_score_adj"
	t "--check: exit 1, one line a check" 1 0 "^ok - $TMP/bin/listed: root's alone" '' -- "$OP" --check
	for want in "a listed script|^not ok - $TMP/bin/script: a script" \
		"a listed file of a user's|^not ok - $TMP/bin/usertrue: not owned by root" \
		"a missing listed path|^not ok - /nonexistent/locker: No such file" \
		"the allowlist safe, the fallback unbounded|^ok - allowlist: $CONF is safe; fallback oom_score_adj \(unbounded" \
		"the kernel|^(ok - kernel: OOM pardon|not ok - kernel: no OOM pardon)" \
		"the capability|^(not )?ok - capability: "; do
		grep -Eq -- "${want#*|}" "$TMP/out"
		check "--check names ${want%%|*}"
	done
	if [ "$have_sysres" = 0 ]; then
		grep -q '^not ok - capability: CAP_SYS_RESOURCE is not in the bounding set$' "$TMP/out"
		check "--check names the bounding set"
	fi
	t "--check under no_new_privs names it" 1 0 '^not ok - capability: no_new_privs is set' '' -- \
		setpriv --no-new-privs "$OP" --check
	if unshare -U -r true 2>/dev/null; then
		t "--check in a user namespace names it" 1 0 '^not ok - capability: running in a user namespace' '' -- \
			unshare -U -r "$OP" --check
		# issue 11, finding 5: root of a user namespace is not told the allowlist is not root's
		t "root of a user namespace: warning names the namespace, runs" 0 1 '' \
			'warning: running in a user namespace, whose capabilities do not reach the OOM killer' -- \
			unshare -U -r "$OP" true
	else
		skip "user namespace cases" "unshare -U -r does not work here"
	fi
	conf "$TMP/bin/listed"
	chmod 0666 "$CONF"
	t "--check names an unsafe allowlist" 1 0 "^not ok - allowlist: $CONF: writable by group or others" '' -- \
		"$OP" --check

	# --- a path swapped between the check and the exec ---------------------
	# strace (tracing, not a hook in the helper) holds the helper for a few
	# seconds right after it looked the command up; meanwhile the path is
	# swapped. A listed file runs from the descriptor of its listed path.
	swap_test() { # NAME FIRST-TARGET SECOND-TARGET WANT-OUT-RE WANT-ERR-RE
		ln -sfn "$2" "$TMP/bin/swap"
		rm -f "$TMP/strace.log"
		timeout 30 strace -f -qq -o "$TMP/strace.log" -P "$TMP/bin/swap" -e trace=newfstatat \
			-e inject=newfstatat:delay_exit=3000000 \
			"${NOBODY[@]}" "$OP" "$TMP/bin/swap" hello >"$TMP/out" 2>"$TMP/err" &
		local pid=$! held=0 _
		for _ in $(seq 100); do
			grep -q 'swap.*(DELAYED)' "$TMP/strace.log" 2>/dev/null && held=1 && break
			sleep 0.1
		done
		ln -sfn "$3" "$TMP/bin/swap"
		[ -s "$TMP/out" ] || ! kill -0 "$pid" 2>/dev/null && held=0
		wait "$pid"; rc=$?
		if [ "$held" = 1 ] && [ "$rc" = 0 ] && grep -Eq "$4" "$TMP/out" && grep -Eq "$5" "$TMP/err" &&
			! grep -q 'evil ran' "$TMP/out"; then ok "$1"
		else notok "$1" "held after lookup: $held, exit $rc, $(cat "$TMP/out")" "$(head -3 "$TMP/strace.log")"; fi
	}
	if ! command -v strace >/dev/null; then
		skip "path swapped after lookup" "no strace"
	else
		conf "$TMP/bin/say"
		swap_test "listed file swapped for another after the lookup: the listed file runs" \
			say evil '^hello$' "$nopardon"
		swap_test "unlisted file swapped for a listed one after the lookup: warned, unpardoned" \
			evil say '^hello$' 'swap: not listed in'
	fi

	# --- capabilities: file caps, setuid, the drop -----------------------
	cp "$OP" "$TMP/capped"
	if ! setcap cap_sys_resource=p "$TMP/capped" 2>/dev/null; then
		skip "file capability cases" "setcap failed here"
	else
		conf "$TMP/bin/cat" "/usr/bin/grep"
		t "capabilities are all empty in the command" 0 - '^CapAmb:	0+$' '' -- \
			"${NOBODY[@]}" "$TMP/capped" grep -E '^Cap(Inh|Prm|Eff|Amb):' /proc/self/status
		[ "$(grep -c ':	0000000000000000$' "$TMP/out")" = 4 ]
		check "CapInh, CapPrm, CapEff, CapAmb all zero"
		setcap cap_sys_resource,cap_net_raw=p "$TMP/capped"
		t "another permitted capability: refused" 125 1 '' "refusing to run with capabilities '.*cap_net_raw" -- \
			"${NOBODY[@]}" "$TMP/capped" cat /dev/null
		setcap cap_sys_resource=ep "$TMP/capped"
		if [ "$have_sysres" = 1 ]; then
			t "cap_sys_resource effective from the start (=ep): refused" 125 1 '' \
				'only cap_sys_resource=p is expected' -- "${NOBODY[@]}" "$TMP/capped" cat /dev/null
		else
			skip "cap_sys_resource effective from the start (=ep): refused" \
				"no CAP_SYS_RESOURCE in the bounding set: the kernel refuses to exec it"
		fi
	fi
	cp "$OP" "$TMP/setuid"; chmod 4755 "$TMP/setuid"
	t "setuid: refused" 125 1 '' 'refusing to run setuid or setgid' -- "${NOBODY[@]}" "$TMP/setuid" cat /dev/null
	chmod 2755 "$TMP/setuid"; chgrp 0 "$TMP/setuid"; chmod 2755 "$TMP/setuid"
	t "setgid: refused" 125 1 '' 'refusing to run setuid or setgid' -- "${NOBODY[@]}" "$TMP/setuid" cat /dev/null
fi

# --- fuzzing (bounded) ------------------------------------------------------
if [ "$FUZZ_SECONDS" = 0 ]; then
	skip "fuzz the configuration parser and file rules" "FUZZ_SECONDS=0"
elif [ ! -x "$BIN/fuzz-conf" ]; then
	skip "fuzz the configuration parser and file rules" "fuzz target not built (needs clang with libFuzzer)"
else
	mkdir -p "$TMP/corpus"
	timeout $((FUZZ_SECONDS + 60)) "$BIN/fuzz-conf" -max_total_time="$FUZZ_SECONDS" -max_len=8192 \
		"$TMP/corpus" "$(dirname "$0")/seeds" >"$TMP/fuzz.log" 2>&1
	rc=$?
	done_line=$(grep '^Done ' "$TMP/fuzz.log")
	if [ "$rc" = 0 ] && [ -n "$done_line" ]; then ok "fuzz the configuration parser and file rules: $done_line"
	else notok "fuzz the configuration parser and file rules" "exit $rc" "$(tail -5 "$TMP/fuzz.log")"; fi
fi

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
