#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# oom-pardon-kselftest.sh: the run step of lava/oom-pardon-kselftest.yaml
# (a LAVA test shell runs it from the root of this repository, on the
# device under test). Runs run_kselftest.sh -c oom_pardon from the
# installed kselftest tarball, keeps its KTAP and reports every case with
# lava-test-case NAME --result pass|fail|skip (lava/ktap-cases names them).
# Outside LAVA (no lava-test-case in PATH) it prints "NAME RESULT" lines.
# POSIX sh: it runs inside the device under test.
set -eu

usage() {
	cat <<EOT
Usage: ${0##*/} [-d DIR] [-D 0|1] [-o FILE]

  -d DIR   where the kselftest tarball is unpacked (default: /opt/kselftest)
  -D 0|1   OOM_PARDON_DESTRUCTIVE for the tests (default: unset, a farm's
           safe run: the whole-machine and sysctl scenes skip with the reason)
  -o FILE  keep the KTAP there (default: ./output/oom_pardon.ktap)
EOT
}

here=$(cd "$(dirname "$0")" && pwd)
dir=/opt/kselftest
destructive=
out=./output/oom_pardon.ktap
while getopts "d:D:o:h" opt; do
	case $opt in
	d) dir=$OPTARG ;;
	D) destructive=$OPTARG ;;
	o) out=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
mkdir -p "$(dirname "$out")"
case $destructive in
1) export OOM_PARDON_DESTRUCTIVE=1 ;;
'' | 0) unset OOM_PARDON_DESTRUCTIVE ;;
*) echo "${0##*/}: -D takes 0 or 1" >&2; exit 2 ;;
esac

echo "# oom-pardon-kselftest: $dir/run_kselftest.sh -c oom_pardon, OOM_PARDON_DESTRUCTIVE=${OOM_PARDON_DESTRUCTIVE:-unset}, $(uname -r)"
if [ -x "$dir/run_kselftest.sh" ]; then
	# The KTAP streams to the console as it comes; the status after it.
	{
		(cd "$dir" && ./run_kselftest.sh -c oom_pardon) 2>&1
		echo $? >"$out.rc"
	} | tee "$out"
	echo "# oom-pardon-kselftest: run_kselftest.sh exited $(cat "$out.rc")"
else
	echo "# oom-pardon-kselftest: no $dir/run_kselftest.sh (unpack kselftest.tar.gz there)" | tee "$out"
fi

if command -v lava-test-case >/dev/null; then
	report() { lava-test-case "$1" --result "$2"; }
else
	report() { echo "$1 $2"; }
fi
"$here/ktap-cases" <"$out" >"$out.cases"
while read -r name result; do
	report "$name" "$result"
done <"$out.cases"
