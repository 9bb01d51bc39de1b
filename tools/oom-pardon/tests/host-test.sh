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
# check NAME [DETAIL...]: ok if the previous command succeeded.
check() {
	if [ $? = 0 ]; then ok "$1"; else notok "$@"; fi
}
notok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift; local l; for l in "$@"; do echo "#   $l"; done
	sed 's/^/#   stderr: /' "$TMP/err" 2>/dev/null | head -5
}

CONF=$("$OP" --help | sed -n 's/^Allowlist for non-root users: //p')
readonly CONF
TMP=$(mktemp -d /tmp/oom-pardon-test.XXXXXX) || exit 1
readonly TMP
chmod 755 "$TMP"
cleanup() { rm -rf "$TMP"; [ "$(id -u)" = 0 ] && rm -f "$CONF"; }
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

# Fixtures: two copies of true (same content, different inodes), a
# non-executable file, a script, a program that prints its state.
mkdir -p "$TMP/bin"
cp /bin/true "$TMP/bin/listed"
cp /bin/true "$TMP/bin/other"
ln -s listed "$TMP/bin/link"
printf 'not a program\n' >"$TMP/bin/noexec"
printf '#!/bin/sh\necho "script ran: $*"\n' >"$TMP/bin/script"
printf '#!/bin/sh\necho evil ran\n' >"$TMP/bin/evil"
chmod 755 "$TMP/bin/script" "$TMP/bin/evil"
chmod 644 "$TMP/bin/noexec"

# --- the parser, as a function -------------------------------------------
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
t "-p with a command: 125" 125 2 '' 'takes no command' -- "$OP" -p 1 true
t "--pid without argument: 125" 125 2 '' 'Try' -- "$OP" --pid

# --- -p --------------------------------------------------------------------
sleep 30 & sleeper=$!
if [ "$kernel_has_pardon" = 1 ]; then pre='OOM pardon: [01]$'; else pre='OOM pardon: unsupported'; fi
t "-p shows pardon, bound, score and adj" 0 0 "^pid $sleeper's $pre" '' -- "$OP" -p "$sleeper"
if [ "$(wc -l <"$TMP/out")" = 4 ] &&
	grep -q "^pid $sleeper's pardon honoured: " "$TMP/out" &&
	grep -q "^pid $sleeper's current OOM score: [0-9]" "$TMP/out" &&
	grep -q "^pid $sleeper's current OOM score adjust value: $(cat /proc/$sleeper/oom_score_adj)$" "$TMP/out"
then ok "-p prints four lines with oom_score and oom_score_adj"
else notok "-p prints four lines with oom_score and oom_score_adj" "$(cat "$TMP/out")"; fi
kill "$sleeper"; wait "$sleeper" 2>/dev/null
nopid=$(( $(cat /proc/sys/kernel/pid_max) + 1 ))
t "-p of a missing process: 125" 125 1 '' "cannot read /proc/$nopid/status" -- "$OP" -p "$nopid"

# --- finding the command: 126/127, status and arguments ----------------------
t "command not found: 127" 127 1 '' 'no-such-command-xyz: command not found' -- \
	env PATH=/usr/bin:/bin "$OP" no-such-command-xyz
t "missing path: 127" 127 1 '' 'No such file' -- "$OP" "$TMP/none"
t "not executable: 126" 126 1 '' 'Permission denied' -- "$OP" "$TMP/bin/noexec"
t "directory: 126" 126 1 '' 'Permission denied' -- "$OP" "$TMP"
t "not executable, found in PATH: 126" 126 1 '' 'noexec: Permission denied' -- \
	env PATH="$TMP/bin" "$OP" noexec
if [ "$is_root" = 0 ]; then
	if [ ! -e "$CONF" ]; then
		t "missing allowlist, non-root: 125 naming the file" 125 1 '' "$CONF: No such file" -- \
			"$OP" "$TMP/bin/listed"
	fi
	skip "command's exit status, arguments, PATH lookup" "needs root (allowlist owned by root)"
	skip "stock kernel path" "needs root"
else
	rm -f "$CONF"
	t "root without an allowlist: command's exit status passes through" 42 - '' '' -- \
		"$OP" sh -c 'exit 42'
	t "options after the command belong to it" 0 - '^-p --strict -- x$' '' -- \
		"$OP" -- echo -p --strict -- x
	t "PATH lookup" 0 - '^script ran: a b$' '' -- env PATH="/nonexistent:$TMP/bin" "$OP" script a b
	t "scripts run from the descriptor" 0 - '^script ran: $' '' -- "$OP" "$TMP/bin/script"
	# shellcheck disable=SC2012 # fd numbers only
	want=$(ls /proc/self/fd | tr '\n' ' ')
	t "no descriptor leaks into the command" 0 - "^$want\$" '' -- \
		sh -c "\"$OP\" ls /proc/self/fd | tr '\n' ' '"

	# --- stock kernel: warn and run; --strict fails ---------------------
	if [ "$kernel_has_pardon" = 1 ]; then
		skip "stock kernel: warning, command still runs" "this kernel has the pardon prctl"
		skip "stock kernel: --strict fails with 125" "this kernel has the pardon prctl"
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
		if [ "$have_sysres" = 1 ]; then
			t "--fallback-adj sets oom_score_adj -1000" 0 0 '^-1000$' '' -- \
				"$OP" --fallback-adj cat /proc/self/oom_score_adj
			conf "fallback oom_score_adj"
			t "'fallback oom_score_adj' in the allowlist" 0 0 '^-1000$' '' -- \
				"$OP" cat /proc/self/oom_score_adj
		else
			t "--fallback-adj without CAP_SYS_RESOURCE: warning, runs" 0 1 '^0$' \
				'CAP_SYS_RESOURCE not permitted' -- "$OP" --fallback-adj cat /proc/self/oom_score_adj
			t "--fallback-adj --strict without CAP_SYS_RESOURCE: 125" 125 1 '' \
				'CAP_SYS_RESOURCE not permitted' -- "$OP" -a -s cat /proc/self/oom_score_adj
		fi
		rm -f "$CONF"
		t "no fallback by default" 0 1 '^0$' '' -- "$OP" cat /proc/self/oom_score_adj
	fi
fi

# --- the allowlist, read by the binary (root-owned file needed) -------------
if [ "$is_root" = 0 ] || ! command -v setpriv >/dev/null; then
	skip "allowlist checks" "needs root and setpriv"
else
	conf "$TMP/bin/listed"
	chown 65534 "$CONF"
	t "allowlist not owned by root: 125" 125 1 '' "^oom-pardon-test: $CONF: unsafe: " -- \
		"${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	t "root too refuses an unsafe allowlist" 125 1 '' "$CONF: unsafe" -- "$OP" true
	for mode in 0664 0646 0666; do
		conf "$TMP/bin/listed"; chmod "$mode" "$CONF"
		t "allowlist mode $mode: 125" 125 1 '' "$CONF: unsafe" -- "${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	done
	rm -f "$CONF"; mkdir "$CONF"
	t "allowlist is a directory: 125" 125 1 '' "$CONF: unsafe" -- "${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	rmdir "$CONF"
	t "missing allowlist, non-root: 125 naming the file" 125 1 '' "^oom-pardon-test: $CONF: No such file" -- \
		"${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	conf "# lockers" "" "$TMP/bin/listed" "bin/relative"
	t "relative path: 125 naming file and line" 125 1 '' "^oom-pardon-test: $CONF:4: not an absolute path$" -- \
		"${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	conf "/$(head -c 5000 /dev/zero | tr '\0' x)"
	t "overlong line: 125" 125 1 '' "$CONF:1: line too long$" -- "${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	head -c 200 /bin/true >"$CONF"
	t "garbage: 125" 125 1 '' "$CONF:1: (control character|NUL byte)$" -- "${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	conf "$TMP/bin/listed" "fallback sometimes"
	t "unknown setting: 125" 125 1 '' "$CONF:2: unknown setting" -- "${NOBODY[@]}" "$OP" "$TMP/bin/listed"

	# --- who may run what ------------------------------------------------
	if [ "$kernel_has_pardon" = 1 ]; then warn=0; else warn=1; fi
	conf "# test allowlist" "" "  $TMP/bin/listed  " "$TMP/bin/script" "/nonexistent/locker"
	t "listed command runs for a user" 0 "$warn" '' '' -- "${NOBODY[@]}" "$OP" "$TMP/bin/listed"
	t "listed command found through PATH" 0 "$warn" '' '' -- \
		"${NOBODY[@]}" env PATH="$TMP/bin" "$OP" listed
	t "symlink to a listed file: same inode, runs" 0 "$warn" '' '' -- "${NOBODY[@]}" "$OP" "$TMP/bin/link"
	t "listed script runs" 0 "$warn" '^script ran: x$' '' -- "${NOBODY[@]}" "$OP" "$TMP/bin/script" x
	t "unlisted command (same content, other inode): 125" 125 1 '' \
		"^oom-pardon-test: $TMP/bin/other: not listed in $CONF$" -- "${NOBODY[@]}" "$OP" "$TMP/bin/other"
	t "unlisted command found through PATH: 125" 125 1 '' 'true: not listed in' -- "${NOBODY[@]}" "$OP" true
	t "root may run an unlisted command" 0 - '' '' -- "$OP" "$TMP/bin/other"
	t "a user still gets 126/127 first" 127 1 '' 'command not found' -- \
		"${NOBODY[@]}" env PATH=/usr/bin:/bin "$OP" no-such-xyz

	# --- a path swapped between open and exec ----------------------------
	# strace (tracing, not a hook in the helper) holds the helper for a few
	# seconds right after it opened the command; meanwhile the path is
	# swapped. The helper must run what it checked, never the new file.
	swap_test() { # NAME FIRST-TARGET SECOND-TARGET WANT-RC WANT-RE out|err
		ln -sfn "$2" "$TMP/bin/swap"
		rm -f "$TMP/strace.log"
		timeout 30 strace -f -qq -o "$TMP/strace.log" -P "$TMP/bin/swap" -e trace=openat \
			-e inject=openat:delay_exit=3000000 \
			"${NOBODY[@]}" "$OP" "$TMP/bin/swap" >"$TMP/out" 2>"$TMP/err" &
		local pid=$! held=0 _
		for _ in $(seq 100); do
			grep -q 'O_PATH.*(DELAYED)' "$TMP/strace.log" 2>/dev/null && held=1 && break
			sleep 0.1
		done
		ln -sfn "$3" "$TMP/bin/swap"
		# The premise: the helper had opened the path and was still held.
		[ -s "$TMP/out" ] || ! kill -0 "$pid" 2>/dev/null && held=0
		wait "$pid"; rc=$?
		if [ "$held" = 1 ] && [ "$rc" = "$4" ] && grep -q "$5" "$TMP/$6" &&
			! grep -q 'evil ran' "$TMP/out"; then ok "$1"
		else notok "$1" "held after open: $held, exit $rc (want $4), $(cat "$TMP/out")"; fi
	}
	if ! command -v strace >/dev/null; then
		skip "path swapped after open" "no strace"
	else
		conf "$TMP/bin/script"
		swap_test "listed file swapped for another after open: the checked file runs" \
			script evil 0 'script ran' out
		swap_test "unlisted file swapped for a listed one after open: refused" \
			evil script 125 'not listed in' err
	fi

	# --- capabilities: file caps, setuid, the drop -----------------------
	cp "$OP" "$TMP/capped"
	if ! setcap cap_sys_resource=p "$TMP/capped" 2>/dev/null; then
		skip "file capability cases" "setcap failed here"
	else
		conf "/usr/bin/grep" "/usr/bin/cat" "/bin/cat"
		t "capabilities are all empty in the command" 0 - '^CapAmb:	0+$' '' -- \
			"${NOBODY[@]}" "$TMP/capped" grep -E '^Cap(Inh|Prm|Eff|Amb):' /proc/self/status
		[ "$(grep -c ':	0000000000000000$' "$TMP/out")" = 4 ]
		check "CapInh, CapPrm, CapEff, CapAmb all zero" "$(cat "$TMP/out")"
		if [ "$have_sysres" = 1 ] && [ "$kernel_has_pardon" = 0 ]; then
			t "file capability lets a user fall back to -1000" 0 0 '^-1000$' '' -- \
				"${NOBODY[@]}" "$TMP/capped" --fallback-adj cat /proc/self/oom_score_adj
		elif [ "$have_sysres" = 1 ]; then
			t "file capability lets a user be pardoned" 0 0 '^OomPardon:	1$' '' -- \
				"${NOBODY[@]}" "$TMP/capped" grep OomPardon /proc/self/status
		else
			t "no CAP_SYS_RESOURCE to be had: warning, runs" 0 1 '^0$' 'not installed with' -- \
				"${NOBODY[@]}" "$TMP/capped" --fallback-adj cat /proc/self/oom_score_adj
		fi
		t "uncapped binary, user, --fallback-adj: says setcap is missing" 0 1 '^0$' \
			"CAP_SYS_RESOURCE not permitted: not installed with 'setcap cap_sys_resource=p'" -- \
			"${NOBODY[@]}" "$OP" --fallback-adj cat /proc/self/oom_score_adj
		setcap cap_sys_resource,cap_net_raw=p "$TMP/capped"
		t "another permitted capability: refused" 125 1 '' 'refusing to run with cap_net_raw permitted' -- \
			"${NOBODY[@]}" "$TMP/capped" cat /dev/null
	fi
	cp "$OP" "$TMP/setuid"; chmod 4755 "$TMP/setuid"
	t "setuid: refused" 125 1 '' 'refusing to run setuid or setgid' -- "${NOBODY[@]}" "$TMP/setuid" cat /dev/null
	chmod 2755 "$TMP/setuid"; chgrp 0 "$TMP/setuid"; chmod 2755 "$TMP/setuid"
	t "setgid: refused" 125 1 '' 'refusing to run setuid or setgid' -- "${NOBODY[@]}" "$TMP/setuid" cat /dev/null
fi

# --- fuzzing (bounded) ------------------------------------------------------
if [ "$FUZZ_SECONDS" = 0 ]; then
	skip "fuzz the allowlist parser" "FUZZ_SECONDS=0"
elif [ ! -x "$BIN/fuzz-conf" ]; then
	skip "fuzz the allowlist parser" "fuzz target not built (needs clang with libFuzzer)"
else
	mkdir -p "$TMP/corpus"
	timeout $((FUZZ_SECONDS + 60)) "$BIN/fuzz-conf" -max_total_time="$FUZZ_SECONDS" -max_len=8192 \
		"$TMP/corpus" "$(dirname "$0")/seeds" >"$TMP/fuzz.log" 2>&1
	rc=$?
	done_line=$(grep '^Done ' "$TMP/fuzz.log")
	if [ "$rc" = 0 ] && [ -n "$done_line" ]; then ok "fuzz the allowlist parser: $done_line"
	else notok "fuzz the allowlist parser" "exit $rc" "$(tail -5 "$TMP/fuzz.log")"; fi
fi

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
