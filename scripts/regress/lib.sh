# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Helpers for the stock-versus-patched scripts (scripts/compare,
# scripts/regress-*); sourced after scripts/lib.sh, never run.

# Images of one kernel version, from scripts/build-kernel -p.
stock_image() { "$TOP/scripts/build-kernel" -k "$1" -f stock -p; }
patched_image() { "$TOP/scripts/build-kernel" -k "$1" -f patched -p; }

# kselftest_results < OUTPUT: "kind<TAB>name" per case of a kselftest
# program's own output, in order: scripts/ktap-results -c without a label,
# so nothing at all when there is no case ("Bail out!" is none).
kselftest_results() { "$TOP/scripts/ktap-results" -c ""; }

# side_by_side TITLE HEAD_A FILE_A HEAD_B FILE_B: print "name | a | b" for
# two "kind<TAB>name" files (union of the names, first file's order), as
# KTAP comment lines; differing rows are marked "<>".
side_by_side() {
	local title=$1 ha=$2 fa=$3 hb=$4 fb=$5
	echo "# $title"
	awk -F'\t' -v ha="$ha" -v hb="$hb" '
	{ f = FILENAME == ARGV[1] ? 1 : 2 }
	{ k = $2; sub(/^[^:]*: /, "", k) }
	f == 1 && !(k in a) { a[k] = $1; order[n++] = k; w = length(k) > w ? length(k) : w }
	f == 2 && !(k in b) { b[k] = $1; if (!(k in a)) { order[n++] = k; w = length(k) > w ? length(k) : w } }
	END {
		if (w < 4) w = 4
		printf "# %-" w "s | %-8s | %-8s\n", "test", ha, hb
		line = ""; for (i = 0; i < w + 24; i++) line = line "-"
		printf "# %s\n", line
		for (i = 0; i < n; i++) {
			k = order[i]; x = k in a ? a[k] : "-"; y = k in b ? b[k] : "-"
			printf "# %-" w "s | %-8s | %-8s%s\n", k, x, y, x == y ? "" : "  <>"
		}
	}' "$fa" "$fb"
}
