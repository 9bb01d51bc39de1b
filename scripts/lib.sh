# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the host-side scripts; sourced, never run.

# Repository root and build directory (override with BUILD=...).
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
# Kernel versions this repository carries a series for.
KVERS="6.12 7.2"

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

note() {
	echo "${0##*/}: $*" >&2
}

# check_kver VERSION: fail clearly on a version we carry no series for.
check_kver() {
	local v
	for v in $KVERS; do
		[ "$1" = "$v" ] && return 0
	done
	die "unsupported kernel version '$1' (supported: $KVERS)"
}

# series_stamp VERSION: a hash of everything the patched tree is made from.
series_stamp() {
	(cd "$TOP" && find "patches/$1" selftests Documentation -type f \
		-print0 | sort -z | xargs -0 sha256sum) | sha256sum
}
