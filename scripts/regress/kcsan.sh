#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kcsan.sh BINDIR RUN_KSELFTEST KILLS LIMIT: guest side of scripts/matrix's
# KCSAN check. Runs the oom_pardon kselftests once (as a CI farm does:
# without OOM_PARDON_DESTRUCTIVE), then the OOM soak of soak.sh (its
# set/clear/fork/vfork/exit churn, the toggling CLONE_VM sharer, the
# pardoned swarm over and under the budget) for at most KILLS kills or
# LIMIT seconds, then prints the kernel log between two markers: the host
# reads the KCSAN reports from it and tells those in the series' code from
# the rest.
set -eu -o pipefail
readonly BINDIR=$1 KST=$2 KILLS=$3 LIMIT=$4

echo "# the oom_pardon kselftests under KCSAN"
"$KST" || true
echo "# the soak's churn under KCSAN"
bash "$(dirname "$0")/soak.sh" "$BINDIR" "$KILLS" "$LIMIT" || true
echo "# kcsan: dmesg begin"
dmesg
echo "# kcsan: dmesg end"
