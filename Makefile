# SPDX-License-Identifier: GPL-2.0
#
# OOM pardon: kernel series, helper and VM kselftests.
#
#   make demo     build the patched kernel and the helper, boot it in QEMU
#                 and show a pardoned locker surviving an OOM
#   make check    every test; ends with "N passed, N failed"
#   make soak     the kselftests and an OOM soak on the debug kernel
#                 (lockdep, KASAN), KVER=6.12; SOAK_ARGS=-S: the soak only
#   make series   the upstream-ready series into build/series/KVER
#   make kernel   the patched VM kernel and kselftests (KVER=6.12)
#   make stock    the same kernel configuration without the series
#   make helper   tools/oom-pardon
#   make lockers  the locker matrix: each screen locker started through
#                 oom-pardon as its documentation starts it, a real OOM,
#                 the unpardoned control; KTAP and screenshots into
#                 build/lockers (KVER; LOCKERS_ARGS: rows, -i IMAGE)
#   make deb      the helper's Debian package (debhelper) into build/deb,
#                 lintian clean
#   make bench    stock vs patched KVER benchmarks into build/bench
#                 (BENCH_QUICK=1: instruction counts and scenes only)
#   make matrix   the checks a maintainer's bots run, per series: a build
#                 at every patch, i386/arm64/riscv64-nommu, SYSCTL/PROC_FS/
#                 MEMCG off, W=1, sparse, coccicheck, docs, KCSAN
#                 (MATRIX_KVERS, MATRIX_ARGS; not part of make check)
#   make kselftest-tar  the standard kselftest tarball of KVER's patched
#                 tree (gen_tar), checked as a CI farm uses it
#   make ci-image the kselftests as a CI farm runs them: a Debian image
#                 (mmdebstrap), the kernel installed from its .deb, systemd
#                 as PID 1, run_kselftest.sh -c oom_pardon (KVER; CI_IMAGE_ARGS),
#                 then the same kernel and image as a LAVA job (lava-run)
#
# KVER picks the kernel (6.1, 6.12 or 7.2); CHECK_KVERS the kernels make
# check covers fully (default: 6.12 7.2); CHECK_LIGHT_KVERS the kernels it
# covers with the light pass, the patched kernel only (default: 6.1; see
# README "Linux 6.1" for why); ACCEL the QEMU accelerator: auto (default:
# KVM only where it is fast, see scripts/vm-accel), kvm or tcg.

KVER ?= 6.12
CHECK_KVERS ?= 6.12 7.2
CHECK_LIGHT_KVERS ?= 6.1
# make series and make checkpatch: every series.
SERIES_KVERS ?= 6.1 6.12 7.2
MATRIX_KVERS ?= 6.1 6.12 7.2
BUILD ?= $(CURDIR)/build
export BUILD
ACCEL ?= auto
VMRUN_ACCEL ?= $(ACCEL)
export VMRUN_ACCEL

.PHONY: all deps kernel stock helper series checkpatch demo check soak clean help

all: kernel helper

help:
	@sed -n '3,37p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@scripts/deps

kernel: deps
	@scripts/build-kernel -k $(KVER) -f patched -s

stock: deps
	@scripts/build-kernel -k $(KVER) -f stock

helper: deps
	@$(MAKE) -s -C tools/oom-pardon

series: deps
	@for v in $(SERIES_KVERS); do scripts/make-series $$v || exit 1; done

checkpatch: deps
	@for v in $(SERIES_KVERS); do scripts/make-series -c $$v || exit 1; done

demo:
	@scripts/deps --lockers
	@scripts/demo -k $(KVER)

check: deps
	@CHECK_KVERS="$(CHECK_KVERS)" CHECK_LIGHT_KVERS="$(CHECK_LIGHT_KVERS)" scripts/check

soak: deps
	@scripts/soak -k $(KVER) $(SOAK_ARGS)

.PHONY: matrix
matrix:
	@scripts/deps --matrix
	@scripts/matrix -k "$(MATRIX_KVERS)" $(MATRIX_ARGS)

.PHONY: kselftest-tar
kselftest-tar: deps
	@scripts/kselftest-tar -k $(KVER)

.PHONY: ci-image
ci-image: deps
	@scripts/ci-image -k $(KVER) $(CI_IMAGE_ARGS)
	@scripts/ci-lava -k $(KVER)

.PHONY: deb
deb:
	@scripts/deb

.PHONY: lockers
lockers:
	@scripts/deps --lockers
	@scripts/lockers -k $(KVER) $(LOCKERS_ARGS)

.PHONY: bench
bench: deps
	@KVER=$(KVER) BENCH_QUICK=$(BENCH_QUICK) scripts/bench

clean:
	rm -rf $(BUILD)/kbuild-* $(BUILD)/stock/kbuild-* $(BUILD)/kselftest* $(BUILD)/series \
		$(BUILD)/check $(BUILD)/vm-run $(BUILD)/ci-image/run-* $(BUILD)/ci-image/stage \
		$(BUILD)/ci-lava-*
	-$(MAKE) -s -C tools/oom-pardon clean
