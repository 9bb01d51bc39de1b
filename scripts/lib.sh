# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared helpers for the host-side scripts; sourced, never run.

# Repository root and build directory (override with BUILD=...).
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
# Kernel versions this repository carries a series for.
KVERS="6.1 6.12 7.2"

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

note() {
	echo "${0##*/}: $*" >&2
}

# vmrun_console LOG: the console log that scripts/vm-run named in LOG (its
# stderr), kept after a panic or a timeout; nothing when it named none.
vmrun_console() {
	sed -n 's/.*console log: \([^ )]*console\.log\).*/\1/p' "$1" | tail -n 1
}

# disk_free_mib: the MiB free on the file system of $BUILD (or its parent).
disk_free_mib() {
	local d=$BUILD
	while [ ! -d "$d" ]; do d=$(dirname "$d"); done
	df -Pm "$d" | awk 'NR == 2 { print $4 }'
}

# disk_full_note: a line naming a full disk as the likely cause of a
# failure, when less than 512 MiB are left; nothing otherwise.
disk_full_note() {
	local free
	free=$(disk_free_mib)
	[ "$free" -ge 512 ] || echo "disk full: only $free MiB free in $BUILD, the likely cause"
}

# debian_archive: "URI SUITE" of the main Debian archive this machine's apt
# uses (no mirror host is written anywhere).
debian_archive() {
	local line
	# shellcheck disable=SC2016 # apt's own placeholders
	line=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' |
		awk '$3 == "deb" && $2 !~ /-/ { print $1, $2; exit }')
	[ -n "$line" ] || die "no Debian archive found in this machine's apt configuration"
	echo "$line"
}

# apt_private DIR TYPES [SUITE]: private apt lists in DIR of SUITE (default:
# this machine's own), TYPES "deb", "deb-src" or both, from the archive of
# debian_archive; the system's apt state is not touched. Sets APT_PRIVATE to
# the apt-get options that read them.
apt_private() {
	local dir=$1 types=$2 archive uri suite t keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	archive=$(debian_archive) || exit 1
	uri=${archive% *}
	suite=${3:-${archive#* }}
	mkdir -p "$dir/lists/partial"
	: >"$dir/sources.list"
	for t in $types; do
		printf '%s [signed-by=%s] %s %s main\n' "$t" "$keyring" "$uri" "$suite" >>"$dir/sources.list"
	done
	APT_PRIVATE=(-o "Dir::Etc::sourcelist=$dir/sources.list"
		-o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$dir/lists"
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
		-o APT::Sandbox::User=root)
	note "fetching Debian $suite's package lists ($types) from $uri"
	apt-get "${APT_PRIVATE[@]}" -qq update ||
		die "apt-get update of the private $suite list failed"
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

# series_patches VERSION: the patch files of patches/VERSION/series, in
# order, one a line (blank lines and # comments left out).
series_patches() {
	[ -f "$TOP/patches/$1/series" ] || die "no $TOP/patches/$1/series"
	awk '!/^#/ && NF { print $1 }' "$TOP/patches/$1/series"
}

# series_patch_files VERSION: the files the patches of patches/VERSION
# change or add, relative to the tree, once each.
series_patch_files() {
	local patch
	while read -r patch; do
		sed -n 's|^+++ b/||p; s|^--- a/||p' "$TOP/patches/$1/$patch"
	done < <(series_patches "$1") | sort -u
}

# series_paths VERSION: the kernel tree paths patches/VERSION touches: the
# files its patches change or add, and where its overlay's new files go.
series_paths() {
	series_patch_files "$1"
	awk '!/^#/ { for (i = 2; i <= NF; i++) print $i }' "$TOP/patches/$1/overlay" 2>/dev/null |
		sed 's|^selftests/|tools/testing/selftests/|'
}

# apply_series VERSION git|patch: apply patches/VERSION to the kernel tree
# in the current directory, with git am (each patch one commit, the new
# files it adds amended in) or patch -p1, adding the new files this
# repository keeps once (patches/VERSION/overlay says which patch adds
# which: selftests/X goes to tools/testing/selftests/X).
apply_series() {
	local pdir=$TOP/patches/$1 how=$2 patch overlay path dst
	while read -r patch; do
		if [ "$how" = git ]; then
			git am -q --whitespace=nowarn "$pdir/$patch" ||
				die "patch failed to apply: patches/$1/$patch"
		else
			patch -s -p1 --forward <"$pdir/$patch" ||
				die "patch failed to apply: patches/$1/$patch"
		fi
		overlay=$(awk -v p="$patch" '$1 == p { $1 = ""; print }' \
			"$pdir/overlay" 2>/dev/null)
		for path in $overlay; do
			case $path in
			selftests/*) dst=tools/testing/$path ;;
			Documentation/*) dst=$path ;;
			*) die "overlay path outside selftests/ and Documentation/: $path" ;;
			esac
			mkdir -p "$(dirname "$dst")"
			rm -rf "$dst"
			cp -R "$TOP/$path" "$dst"
			[ "$how" != git ] || git add -A -f "$dst"
		done
		if [ "$how" = git ] && [ -n "$overlay" ]; then
			git commit -q --amend --no-edit
		fi
	done < <(series_patches "$1")
}

# fmt_secs SECONDS: "4m07s" (or "52s").
fmt_secs() {
	if [ "$1" -ge 60 ]; then
		printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
	else
		printf '%ds' "$1"
	fi
}

# kbuild_progress LABEL COUNTFILE: read kbuild's quiet output ("  CC  x.o")
# on stdin and show on stderr how far the build is: the steps done, of the
# count the last cold build recorded in COUNTFILE when there is one, and the
# time elapsed. On a terminal one line is redrawn every second; otherwise
# (CI logs) a plain line comes every 30 s. Other lines pass through.
kbuild_progress() {
	local label=$1 countfile=$2 total=0 n=0 line rc last=$SECONDS start=$SECONDS
	local every=30 tty=false of=
	if [ -t 2 ]; then tty=true; every=1; fi
	[ ! -s "$countfile" ] || total=$(cat "$countfile")
	show() {
		of=
		[ "$total" -eq 0 ] || [ "$n" -gt "$total" ] || of=" of ~$total"
		if $tty; then
			printf '\r\033[K%s: %s: %d steps%s, %s' "${0##*/}" "$label" "$n" "$of" \
				"$(fmt_secs $((SECONDS - start)))" >&2
		else
			printf '%s: %s: %d steps%s, %s\n' "${0##*/}" "$label" "$n" "$of" \
				"$(fmt_secs $((SECONDS - start)))" >&2
		fi
	}
	while :; do
		rc=0
		IFS= read -r -t 1 line || rc=$?
		if [ "$rc" -eq 0 ] || { [ "$rc" -le 128 ] && [ -n "$line" ]; }; then
			if [[ $line =~ ^\ +[A-Z0-9_]+\ +[^\ ] ]]; then
				n=$((n + 1))
			elif [[ $line != make*:*directory* ]]; then
				! $tty || printf '\r\033[K' >&2
				printf '%s\n' "$line" >&2
			fi
		fi
		[ "$rc" -eq 0 ] || [ "$rc" -gt 128 ] || break
		if [ $((SECONDS - last)) -ge "$every" ]; then
			show
			last=$SECONDS
		fi
	done
	show
	! $tty || echo >&2
	# A cold build does the most steps: remember that count.
	[ "$n" -le "$total" ] || echo "$n" >"$countfile"
}
