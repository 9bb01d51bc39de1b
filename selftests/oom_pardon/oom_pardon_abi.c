// SPDX-License-Identifier: GPL-2.0
/*
 * OOM pardon: the prctl ABI (PR_SET_OOM_PARDON / PR_GET_OOM_PARDON) and how
 * the flag shows in /proc, without provoking any OOM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "oom_pardon.h"

#define EXEC_PROBE_ENV "OOM_PARDON_EXEC_PROBE"

/*
 * When re-executed by is_kept_across_exec, report the flag seen after
 * execve() as the exit status (0: set, 1: clear, 2: error) and stop before
 * the harness starts.
 */
static void __attribute__((constructor)) exec_probe(void)
{
	if (!getenv(EXEC_PROBE_ENV))
		return;
	switch (pardon_get()) {
	case 1:
		_exit(status_pardon(getpid()) == 1 ? 0 : 2);
	case 0:
		_exit(1);
	default:
		_exit(2);
	}
}

static bool has_cap_sys_resource(void)
{
	cap_flag_value_t val = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (!caps)
		return false;
	cap_get_flag(caps, CAP_SYS_RESOURCE, CAP_EFFECTIVE, &val);
	cap_free(caps);
	return val == CAP_SET;
}

/* Raise or lower CAP_SYS_RESOURCE in the effective set; 0 or -1. */
static int set_cap_sys_resource(cap_flag_value_t val)
{
	cap_value_t cap = CAP_SYS_RESOURCE;
	cap_t caps = cap_get_proc();
	int ret;

	if (!caps)
		return -1;
	ret = cap_set_flag(caps, CAP_EFFECTIVE, 1, &cap, val);
	if (!ret)
		ret = cap_set_proc(caps);
	cap_free(caps);
	return ret;
}

FIXTURE(pardon) {
	int initial;
	bool privileged;
};

#define NEEDS_CAP "needs CAP_SYS_RESOURCE (run as root)"

FIXTURE_SETUP(pardon)
{
	if (!pardon_supported())
		SKIP(return, NO_PARDON);
	self->privileged = has_cap_sys_resource();
	self->initial = pardon_get();
}

FIXTURE_TEARDOWN(pardon)
{
	/* Each test runs in its own process: nothing global to undo. */
}

/* A process nobody pardoned reads 0 from the prctl and its status line. */
TEST_F(pardon, is_off_by_default)
{
	EXPECT_EQ(0, self->initial) TH_LOG("was the runner itself pardoned?");
	EXPECT_EQ(0, status_pardon(getpid()))
		TH_LOG("no 'OomPardon:\\t0' line in /proc/self/status");
}

/* PR_GET_OOM_PARDON returns what PR_SET_OOM_PARDON last stored. */
TEST_F(pardon, get_returns_what_set_stored)
{
	if (!self->privileged)
		SKIP(return, NEEDS_CAP);
	ASSERT_EQ(0, pardon_set(1)) TH_LOG("set: %s", strerror(errno));
	EXPECT_EQ(1, pardon_get());
	ASSERT_EQ(0, pardon_set(1)) TH_LOG("setting twice: %s", strerror(errno));
	EXPECT_EQ(1, pardon_get());
	ASSERT_EQ(0, pardon_set(0)) TH_LOG("clear: %s", strerror(errno));
	EXPECT_EQ(0, pardon_get());
	ASSERT_EQ(0, pardon_set(0)) TH_LOG("clearing twice: %s", strerror(errno));
	EXPECT_EQ(0, pardon_get());
}

/* /proc/PID/status carries an "OomPardon:" line that follows the flag. */
TEST_F(pardon, status_line_shows_flag)
{
	if (!self->privileged)
		SKIP(return, NEEDS_CAP);
	ASSERT_EQ(0, pardon_set(1)) TH_LOG("set: %s", strerror(errno));
	EXPECT_EQ(1, status_pardon(getpid()));
	ASSERT_EQ(0, pardon_set(0)) TH_LOG("clear: %s", strerror(errno));
	EXPECT_EQ(0, status_pardon(getpid()));
}

/* Without CAP_SYS_RESOURCE setting fails with EPERM; clearing still works. */
TEST_F(pardon, set_needs_cap_sys_resource_clear_does_not)
{
	cap_t none;

	if (!self->privileged) {
		/* Run unprivileged: only the plain EPERM can be checked. */
		EXPECT_EQ(-1, pardon_set(1));
		EXPECT_EQ(EPERM, errno);
		EXPECT_EQ(0, pardon_set(0)) TH_LOG("clear: %s", strerror(errno));
		return;
	}
	ASSERT_EQ(0, set_cap_sys_resource(CAP_CLEAR))
		TH_LOG("cannot drop CAP_SYS_RESOURCE");
	EXPECT_EQ(-1, pardon_set(1));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(0, pardon_get());

	ASSERT_EQ(0, set_cap_sys_resource(CAP_SET))
		TH_LOG("cannot raise CAP_SYS_RESOURCE again");
	ASSERT_EQ(0, pardon_set(1)) TH_LOG("set: %s", strerror(errno));

	/* Drop every capability for good: clearing must still succeed. */
	none = cap_init();
	ASSERT_NE(NULL, none);
	ASSERT_EQ(0, cap_set_proc(none)) TH_LOG("cannot drop all capabilities");
	cap_free(none);
	ASSERT_FALSE(has_cap_sys_resource());
	EXPECT_EQ(0, pardon_set(0)) TH_LOG("clear: %s", strerror(errno));
	EXPECT_EQ(0, pardon_get());
}

/* A forked child starts with its parent's flag, as its own copy. */
TEST_F(pardon, is_inherited_across_fork)
{
	int status;
	pid_t pid;

	if (!self->privileged)
		SKIP(return, NEEDS_CAP);
	ASSERT_EQ(0, pardon_set(1)) TH_LOG("set: %s", strerror(errno));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (pardon_get() != 1 || status_pardon(getpid()) != 1)
			_exit(1);
		/* Clearing in the child must not reach the parent. */
		_exit(pardon_set(0) ? 2 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: 1 = flag not inherited, 2 = could not clear");
	EXPECT_EQ(1, pardon_get()) TH_LOG("child's clear leaked to the parent");
}

/* execve() keeps the flag: the re-executed test binary still reads 1. */
TEST_F(pardon, is_kept_across_exec)
{
	char *const argv[] = { "oom_pardon_abi", NULL };
	char *const envp[] = { EXEC_PROBE_ENV "=1", NULL };
	int status;
	pid_t pid;

	if (!self->privileged)
		SKIP(return, NEEDS_CAP);
	ASSERT_EQ(0, pardon_set(1)) TH_LOG("set: %s", strerror(errno));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		execve("/proc/self/exe", argv, envp);
		_exit(3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("after exec: 1 = flag lost, 2 = prctl or status error, 3 = exec failed");
}

static void *set_in_thread(void *arg)
{
	return (void *)(long)pardon_set((long)arg);
}

static void *get_in_thread(void *arg)
{
	return (void *)(long)pardon_get();
}

/* The flag belongs to the process: all its threads see the same value. */
TEST_F(pardon, is_shared_by_threads)
{
	pthread_t thread;
	void *ret;

	if (!self->privileged)
		SKIP(return, NEEDS_CAP);
	ASSERT_EQ(0, pthread_create(&thread, NULL, set_in_thread, (void *)1L));
	ASSERT_EQ(0, pthread_join(thread, &ret));
	ASSERT_EQ(0, (long)ret) TH_LOG("set in a thread failed");
	EXPECT_EQ(1, pardon_get()) TH_LOG("thread's set not seen by main");

	ASSERT_EQ(0, pthread_create(&thread, NULL, get_in_thread, NULL));
	ASSERT_EQ(0, pthread_join(thread, &ret));
	EXPECT_EQ(1, (long)ret) TH_LOG("a new thread does not see the flag");

	ASSERT_EQ(0, pardon_set(0)) TH_LOG("clear: %s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&thread, NULL, get_in_thread, NULL));
	ASSERT_EQ(0, pthread_join(thread, &ret));
	EXPECT_EQ(0, (long)ret) TH_LOG("main's clear not seen by a thread");
}

#define SHARER_STACK (256 * 1024)

/*
 * CLONE_VM child that waits until the parent closes its pipe. Without
 * CLONE_FILES it has its own copy of the write end: close that first.
 */
static int sharer_wait(void *arg)
{
	int *fds = arg;
	char c;

	close(fds[1]);
	while (read(fds[0], &c, 1) > 0)
		;
	return 0;
}

/* CLONE_VM child that pardons itself and exits. */
static int sharer_set(void *arg)
{
	return pardon_set(1) ? 1 : 0;
}

/* Processes sharing an mm (CLONE_VM, not threads) set and clear together. */
TEST_F(pardon, is_equal_across_clone_vm_sharers)
{
	char *stack;
	int status, fds[2];
	pid_t pid;

	if (!self->privileged)
		SKIP(return, NEEDS_CAP);
	stack = mmap(NULL, SHARER_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	ASSERT_NE(MAP_FAILED, stack);
	ASSERT_EQ(0, pipe(fds));

	/* Parent to child. */
	pid = clone(sharer_wait, stack + SHARER_STACK, CLONE_VM | SIGCHLD,
		    fds);
	ASSERT_GE(pid, 0) TH_LOG("clone(CLONE_VM): %s", strerror(errno));
	EXPECT_EQ(0, status_pardon(pid));
	EXPECT_EQ(0, pardon_set(1)) TH_LOG("set: %s", strerror(errno));
	EXPECT_EQ(1, status_pardon(pid)) TH_LOG("set did not reach the sharer");
	EXPECT_EQ(0, pardon_set(0)) TH_LOG("clear: %s", strerror(errno));
	EXPECT_EQ(0, status_pardon(pid)) TH_LOG("clear did not reach the sharer");
	close(fds[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(fds[0]);

	/* Child to parent. */
	pid = clone(sharer_set, stack + SHARER_STACK, CLONE_VM | SIGCHLD, NULL);
	ASSERT_GE(pid, 0) TH_LOG("clone(CLONE_VM): %s", strerror(errno));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("set in the sharer failed");
	EXPECT_EQ(1, pardon_get()) TH_LOG("sharer's set did not reach the parent");
	munmap(stack, SHARER_STACK);
}

FIXTURE(malformed) {
};

FIXTURE_VARIANT(malformed) {
	int option;
	unsigned long arg2, arg3, arg4, arg5;
};

FIXTURE_VARIANT_ADD(malformed, set_on_2) {
	.option = PR_SET_OOM_PARDON, .arg2 = 2,
};

FIXTURE_VARIANT_ADD(malformed, set_on_minus_1) {
	.option = PR_SET_OOM_PARDON, .arg2 = -1UL,
};

FIXTURE_VARIANT_ADD(malformed, set_arg3) {
	.option = PR_SET_OOM_PARDON, .arg2 = 1, .arg3 = 1,
};

FIXTURE_VARIANT_ADD(malformed, set_arg4) {
	.option = PR_SET_OOM_PARDON, .arg2 = 1, .arg4 = 1,
};

FIXTURE_VARIANT_ADD(malformed, set_arg5) {
	.option = PR_SET_OOM_PARDON, .arg2 = 1, .arg5 = 1,
};

FIXTURE_VARIANT_ADD(malformed, get_arg2) {
	.option = PR_GET_OOM_PARDON, .arg2 = 1,
};

FIXTURE_VARIANT_ADD(malformed, get_arg3) {
	.option = PR_GET_OOM_PARDON, .arg3 = 1,
};

FIXTURE_VARIANT_ADD(malformed, get_arg4) {
	.option = PR_GET_OOM_PARDON, .arg4 = 1,
};

FIXTURE_VARIANT_ADD(malformed, get_arg5) {
	.option = PR_GET_OOM_PARDON, .arg5 = 1,
};

FIXTURE_SETUP(malformed)
{
	if (!pardon_supported())
		SKIP(return, NO_PARDON);
	/* A set with on=1 could fail with EPERM first when unprivileged. */
	if (variant->option == PR_SET_OOM_PARDON && !has_cap_sys_resource())
		SKIP(return, NEEDS_CAP);
}

FIXTURE_TEARDOWN(malformed)
{
}

/* A malformed call fails with EINVAL and leaves the flag alone. */
TEST_F(malformed, fails_with_einval)
{
	int before = pardon_get();

	ASSERT_EQ(0, before);
	errno = 0;
	EXPECT_EQ(-1, prctl(variant->option, variant->arg2, variant->arg3,
			    variant->arg4, variant->arg5));
	EXPECT_EQ(EINVAL, errno) TH_LOG("errno %d (%s)", errno, strerror(errno));
	EXPECT_EQ(before, pardon_get()) TH_LOG("a rejected call changed the flag");
}

FIXTURE(budget) {
	long saved_budget;	/* LONG_MIN: sysctl not touched */
	void *mem;
};

FIXTURE_VARIANT(budget) {
	long budget_kb;		/* -1: what is pardoned now, plus 64 MiB */
	bool honoured;
};

/* 8 MiB touched by the test stays well within the budget. */
FIXTURE_VARIANT_ADD(budget, within) {
	.budget_kb = -1, .honoured = true,
};

/* 0 honours no pardon; the flag can still be set and read. */
FIXTURE_VARIANT_ADD(budget, zero) {
	.budget_kb = 0, .honoured = false,
};

/* The process alone is over a budget of 1 MiB. */
FIXTURE_VARIANT_ADD(budget, exceeded) {
	.budget_kb = 1024, .honoured = false,
};

FIXTURE_SETUP(budget)
{
	long budget = variant->budget_kb, now;
	char what[128], why[256];

	self->saved_budget = LONG_MIN;
	self->mem = MAP_FAILED;
	if (!pardon_supported())
		SKIP(return, NO_PARDON);
	if (!budget_supported())
		SKIP(return, NO_BUDGET);
	if (!has_cap_sys_resource() || geteuid() != 0)
		SKIP(return, "needs root to write %s", OOM_PARDON_BUDGET);

	now = read_long(OOM_PARDON_BUDGET);
	ASSERT_LE(0, now) TH_LOG("cannot read %s", OOM_PARDON_BUDGET);
	if (budget < 0) {
		budget = read_long(OOM_PARDON_USAGE);
		ASSERT_LE(0, budget) TH_LOG("cannot read %s", OOM_PARDON_USAGE);
		budget += 65536;
		/* Within a budget already big enough: nothing to change. */
		if (now >= budget)
			return;
	}
	if (now == budget)
		return;
	snprintf(what, sizeof(what), "sets %s to %ld", OOM_PARDON_BUDGET,
		 budget);
	if (intrusive_refused(what, why, sizeof(why)))
		SKIP(return, "%s", why);
	self->saved_budget = now;
	ASSERT_EQ(0, write_long(OOM_PARDON_BUDGET, budget));
}

FIXTURE_TEARDOWN(budget)
{
	if (self->mem != MAP_FAILED)
		munmap(self->mem, MB(8));
	if (self->saved_budget != LONG_MIN) {
		EXPECT_EQ(0, write_long(OOM_PARDON_BUDGET, self->saved_budget))
			TH_LOG("could not restore %s", OOM_PARDON_BUDGET);
	}
}

/*
 * oom_score reads 0 exactly while the global verdict honours the pardon,
 * oom_score_adj never changes, and reading /proc counts no spare.
 */
TEST_F(budget, oom_score_is_zero_only_while_honoured)
{
	pid_t me = getpid();
	long spare, score;
	int i;

	self->mem = touch_anon(MB(8));
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_EQ(0, set_oom_score_adj(me, 500));
	ASSERT_GT(proc_long(me, "oom_score"), 0);
	spare = vmstat_read("oom_pardon_spare ");
	ASSERT_GE(spare, 0) TH_LOG("no oom_pardon_spare in /proc/vmstat");

	ASSERT_EQ(0, pardon_set(1)) TH_LOG("set: %s", strerror(errno));
	score = oom_score_settles(me, variant->honoured);
	if (variant->honoured) {
		EXPECT_EQ(0, score) TH_LOG("budget %ld, usage %ld",
					   read_long(OOM_PARDON_BUDGET),
					   read_long(OOM_PARDON_USAGE));
	} else {
		EXPECT_GT(score, 0)
			TH_LOG("over the budget the pardon must not be honoured");
	}
	/* Sweep: reading the score many times changes no counter. */
	for (i = 0; i < 100; i++)
		proc_long(me, "oom_score");
	EXPECT_EQ(500, proc_long(me, "oom_score_adj"));
	EXPECT_EQ(1, pardon_get()) TH_LOG("the budget must not clear the flag");
	EXPECT_EQ(1, status_pardon(me));

	ASSERT_EQ(0, pardon_set(0)) TH_LOG("clear: %s", strerror(errno));
	EXPECT_GT(oom_score_settles(me, false), 0);
	EXPECT_EQ(500, proc_long(me, "oom_score_adj"));
	EXPECT_EQ(spare, vmstat_read("oom_pardon_spare "))
		TH_LOG("reading /proc counted an oom_pardon_spare");
}

/*
 * vm.oom_pardon_usage_kbytes follows the pardoned memory of the system:
 * it grows by this process's baseline when it pardons itself and falls
 * back when it clears the pardon; nobody can write it.
 */
FIXTURE(usage) {
	void *mem;
};

FIXTURE_SETUP(usage)
{
	self->mem = MAP_FAILED;
	if (!pardon_supported())
		SKIP(return, NO_PARDON);
	if (!budget_supported())
		SKIP(return, NO_BUDGET);
	if (!has_cap_sys_resource() || geteuid() != 0)
		SKIP(return, NEEDS_CAP);
	/*
	 * The usage leaves out a process at -1000, which its pardon keeps
	 * nothing from; a runner may start us there (make soak's does).
	 */
	ASSERT_EQ(0, set_oom_score_adj(getpid(), 0));
}

FIXTURE_TEARDOWN(usage)
{
	if (self->mem != MAP_FAILED)
		munmap(self->mem, MB(8));
}

TEST_F(usage, follows_the_pardoned)
{
	long before, base, usage = -1;
	double end;

	EXPECT_NE(0, write_long(OOM_PARDON_USAGE, 0))
		TH_LOG("%s is writable", OOM_PARDON_USAGE);
	EXPECT_NE(0, access(OOM_PARDON_OLD_MAX_KB, F_OK))
		TH_LOG("%s is still there", OOM_PARDON_OLD_MAX_KB);

	self->mem = touch_anon(MB(8));
	ASSERT_NE(MAP_FAILED, self->mem);
	before = read_long(OOM_PARDON_USAGE);
	ASSERT_LE(0, before);
	base = baseline_kb(getpid());
	ASSERT_LT(8192, base);

	ASSERT_EQ(0, pardon_set(1)) TH_LOG("set: %s", strerror(errno));
	/* Others may come and go: allow 2 MiB either way. */
	for (end = now_secs() + 5; now_secs() < end; nap_ms(50)) {
		usage = read_long(OOM_PARDON_USAGE);
		if (labs(usage - before - base) <= 2048)
			break;
	}
	EXPECT_GE(2048, labs(usage - before - base))
		TH_LOG("usage %ld kB before, %ld kB pardoned (baseline %ld kB)",
		       before, usage, base);

	ASSERT_EQ(0, pardon_set(0)) TH_LOG("clear: %s", strerror(errno));
	for (end = now_secs() + 5; now_secs() < end; nap_ms(50)) {
		usage = read_long(OOM_PARDON_USAGE);
		if (labs(usage - before) <= 2048)
			break;
	}
	EXPECT_GE(2048, labs(usage - before))
		TH_LOG("usage %ld kB before, %ld kB after clearing",
		       before, usage);
}

TEST_HARNESS_MAIN
