// SPDX-License-Identifier: GPL-2.0
/*
 * OOM pardon: the last resort. A pardon makes a process the OOM killer's
 * last choice, never an impossible one: when an OOM finds nobody eligible
 * but honoured pardoned processes, it kills the highest-scoring of them
 * (never a -1000 task) and says so. It never acts after a scan that was
 * aborted because an earlier victim is still exiting.
 *
 * Every scene is a real OOM in a small memory cgroup (no swap), or one
 * constrained to a cpuset's memory node; each checks the kill counters and
 * the kernel log, and keeps a control without pardons.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "oom_pardon.h"

#define READY_SECS	120	/* touching tens of MiB under TCG, host loaded */
#define OOM_SECS	180

/*
 * The kernel log of a leak's OOM: with @pardon one last-resort line that
 * names @pid, without it none; never "no killable processes".
 */
static void expect_last_resort(struct __test_metadata *_metadata,
			       struct kmsg_log *kmsg, bool pardon,
			       const char *pid)
{
	char line[512] = "";
	int lines;

	lines = kmsg_count(kmsg, LOG_PARDON, LOG_LAST_RESORT, line,
			   sizeof(line));
	if (pardon) {
		EXPECT_EQ(1, lines)
			TH_LOG("want one line with '%s' and '%s'; log:\n%s",
			       LOG_PARDON, LOG_LAST_RESORT,
			       kmsg_tail(kmsg, 2000));
		EXPECT_NE(NULL, strstr(line, pid))
			TH_LOG("the line does not name %s: %s", pid, line);
	} else {
		EXPECT_EQ(0, lines);
	}
	EXPECT_EQ(0, kmsg_count(kmsg, "no killable processes", NULL, NULL, 0));
}

/* ---------------------------------------------------------------------
 * A pardoned process alone in its memcg leaks: the last resort kills it
 * once, logs it, and the memcg goes on working.
 */
FIXTURE(alone) {
	struct oom_env env;
};

FIXTURE_VARIANT(alone) {
	bool pardon;
	bool beside_min;	/* a bigger pardoned -1000 process is there too */
};

FIXTURE_VARIANT_ADD(alone, pardoned) {
	.pardon = true,
};

/* Control: unpardoned, the leak is an ordinary victim, no last resort. */
FIXTURE_VARIANT_ADD(alone, not_pardoned) {
	.pardon = false,
};

/* A -1000 process (pardoned as well, and bigger) is never the pick. */
FIXTURE_VARIANT_ADD(alone, beside_min_adj) {
	.pardon = true, .beside_min = true,
};

/* Control: the same without pardons. */
FIXTURE_VARIANT_ADD(alone, beside_min_adj_not_pardoned) {
	.pardon = false, .beside_min = true,
};

FIXTURE_SETUP(alone)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	if (missing)
		SKIP(return, "%s", missing);
	if (oom_env_refused(&self->env, "48M", OOM_PARDON_BUDGET_DEFAULT, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_alone", "48M",
				   OOM_PARDON_BUDGET_DEFAULT, 0))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(alone)
{
	/* No TH_LOG here: it would also print after a failed ASSERT. */
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/* Killed exactly once, one log line, and the memcg is not wedged. */
TEST_F_TIMEOUT(alone, leaking_pardoned_is_killed_once, 300)
{
	struct member leak = {
		.comm = "op_leak", .cg = self->env.cg,
		.pardon = variant->pardon, .grow = MB(1024),
	};
	struct member min = {
		.comm = "op_min_adj", .cg = self->env.cg, .adj = -1000,
		.pardon = variant->pardon, .touch = MB(20),
	};
	struct member after = {
		.comm = "op_after", .cg = self->env.cg, .touch = MB(16),
	};
	char pid[16];
	struct kmsg_log kmsg;
	int ret;

	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	if (variant->beside_min) {
		ret = member_start(&min, READY_SECS);
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", min.comm, member_why(ret));
	}
	ret = member_start(&leak, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", leak.comm, member_why(ret));
	snprintf(pid, sizeof(pid), "%d", leak.pid);
	ASSERT_EQ(0, member_go(&leak));

	ASSERT_EQ(0, member_wait_exit(&leak, OOM_SECS))
		TH_LOG("wedged? the leak is alive after %d s, oom_kill %ld; log:\n%s",
		       OOM_SECS, cg_oom_kills(self->env.cg),
		       kmsg_tail(&kmsg, 1500));
	ASSERT_TRUE(member_oom_killed(&leak))
		TH_LOG("the leak ended with status %#x: it grew 1 GiB in a 48M memcg?",
		       leak.status);
	EXPECT_EQ(1, cg_oom_kills(self->env.cg));
	EXPECT_EQ(1, kmsg_wait_killed(&kmsg, atoi(pid), 5));
	expect_last_resort(_metadata, &kmsg, variant->pardon, pid);
	if (variant->beside_min) {
		EXPECT_TRUE(member_alive(&min))
			TH_LOG("the -1000 process was killed");
		EXPECT_EQ(0, kmsg_killed(&kmsg, min.pid));
	}
	/* Not wedged: a newcomer gets its memory. */
	ret = member_start(&after, READY_SECS);
	EXPECT_EQ(0, ret) TH_LOG("%s: %s", after.comm, member_why(ret));
	EXPECT_EQ(1, cg_oom_kills(self->env.cg));
	kmsg_stop(&kmsg);
	member_stop(&after);
	member_stop(&min);
	member_stop(&leak);
}

/* ---------------------------------------------------------------------
 * No last resort while an earlier victim is still exiting: the victim
 * holds most of the memcg, -1000 allocators press on while it exits, the
 * pardoned locker is the only other candidate.
 */
#define ALLOCATORS	4

FIXTURE(exiting) {
	struct oom_env env;
};

FIXTURE_VARIANT(exiting) {
	bool pardon;
};

FIXTURE_VARIANT_ADD(exiting, pardoned) {
	.pardon = true,
};

/* Control: the unpardoned locker (oom_score_adj 1000) is the victim. */
FIXTURE_VARIANT_ADD(exiting, not_pardoned) {
	.pardon = false,
};

FIXTURE_SETUP(exiting)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	if (missing)
		SKIP(return, "%s", missing);
	if (oom_env_refused(&self->env, "64M", OOM_PARDON_BUDGET_DEFAULT, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_exiting", "64M",
				   OOM_PARDON_BUDGET_DEFAULT, 0))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(exiting)
{
	/* No TH_LOG here: it would also print after a failed ASSERT. */
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

static void *allocate_8m(void *arg)
{
	int i;

	for (i = 0; i < 8; i++)
		if (touch_anon(MB(1)) == MAP_FAILED)
			return (void *)1L;
	return NULL;
}

/* ALLOCATORS threads allocate 8 MiB each at once, then report. */
static void allocate_together(struct member *m, int rep)
{
	pthread_t t[ALLOCATORS];
	void *ret;
	int i, failed = 0;

	for (i = 0; i < ALLOCATORS; i++)
		if (pthread_create(&t[i], NULL, allocate_8m, NULL))
			member_fail(rep, 'm');
	for (i = 0; i < ALLOCATORS; i++)
		failed |= pthread_join(t[i], &ret) || ret;
	if (write(rep, failed ? "m" : "d", 1) != 1)
		_exit(1);
}

/*
 * The pardoned locker survives the OOMs that meet an earlier victim
 * still exiting; only that victim dies.
 */
TEST_F_TIMEOUT(exiting, no_last_resort_while_victim_exits, 300)
{
	struct member locker = {
		.comm = "op_locker", .cg = self->env.cg, .adj = 1000,
		.pardon = variant->pardon, .touch = MB(4),
	};
	struct member victim = {
		.comm = "op_victim", .cg = self->env.cg, .touch = MB(30),
	};
	struct member alloc = {
		.comm = "op_alloc", .cg = self->env.cg, .adj = -1000,
		.go = allocate_together,
	};
	struct kmsg_log kmsg;
	int ret;

	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	ret = member_start(&locker, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", locker.comm, member_why(ret));
	ret = member_start(&victim, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", victim.comm, member_why(ret));
	ret = member_start(&alloc, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", alloc.comm, member_why(ret));
	ASSERT_EQ(0, member_go(&alloc));

	ret = member_report(&alloc, OOM_SECS);
	ASSERT_EQ('d', ret)
		TH_LOG("the -1000 allocators did not finish (%d), oom_kill %ld; log:\n%s",
		       ret, cg_oom_kills(self->env.cg), kmsg_tail(&kmsg, 1500));
	ASSERT_LT(0, cg_oom_kills(self->env.cg));
	if (variant->pardon) {
		EXPECT_EQ(0, member_wait_exit(&victim, 30));
		EXPECT_TRUE(member_oom_killed(&victim));
		EXPECT_TRUE(member_alive(&locker))
			TH_LOG("the pardoned locker was killed; log:\n%s",
			       kmsg_tail(&kmsg, 2500));
		EXPECT_EQ(1, cg_oom_kills(self->env.cg));
		EXPECT_EQ(0, kmsg_count(&kmsg, LOG_PARDON, LOG_LAST_RESORT,
					NULL, 0));
	} else {
		EXPECT_EQ(0, member_wait_exit(&locker, 30));
		EXPECT_TRUE(member_oom_killed(&locker));
	}
	kmsg_stop(&kmsg);
	member_stop(&alloc);
	member_stop(&victim);
	member_stop(&locker);
}

/* ---------------------------------------------------------------------
 * A cpuset-constrained OOM (opt-in, two memory nodes, the cpuset
 * controller): a process in a cpuset whose cpuset.mems is the last node
 * leaks until that node is full. In a CONSTRAINT_CPUSET OOM every process
 * whose nodes intersect the cpuset's is a candidate, so the scene gives
 * every other process oom_score_adj -1000 while it runs, and its own value
 * back afterwards: the leak is the only candidate. Pardoned, the last
 * resort kills it; a kernel without one panics ("no killable processes").
 */
#define OTHERS_MAX	4096
/* Above what one node holds: the leak's pardon is honoured to the end */
#define CPUSET_BUDGET_KB	(4L << 20)

struct saved_adj {
	pid_t pid;
	int adj;
};

FIXTURE(cpuset) {
	struct oom_env env;
	char node[16];			/* the cpuset's node */
	bool cpuset_enabled;		/* +cpuset written by the scene */
	int saved;
	struct saved_adj others[OTHERS_MAX];
};

FIXTURE_VARIANT(cpuset) {
	bool pardon;
};

FIXTURE_VARIANT_ADD(cpuset, pardoned) {
	.pardon = true,
};

/* Control: unpardoned, the leak is an ordinary victim, no last resort. */
FIXTURE_VARIANT_ADD(cpuset, not_pardoned) {
	.pardon = false,
};

/* The highest memory node into @node, or false with one node only. */
static bool last_memory_node(char *node, size_t size)
{
	char buf[256], *p;
	size_t len;

	if (read_text("/sys/devices/system/node/has_memory", buf,
		      sizeof(buf)) <= 0)
		return false;
	len = strcspn(buf, "\n");
	buf[len] = '\0';
	p = strrchr(buf, ',');
	if (!p)
		p = strrchr(buf, '-');
	if (!p)
		return false;
	snprintf(node, size, "%s", p + 1);
	return true;
}

/* True for a user process (not a kernel thread) other than a zombie. */
static bool user_process(pid_t pid)
{
	char path[64], buf[512], state, *p;
	unsigned int flags;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return false;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
		return false;
	return !(flags & 0x00200000) && state != 'Z';	/* PF_KTHREAD */
}

/* oom_score_adj -1000 for every user process, the old values kept. */
static int others_protect(struct saved_adj *others, int *saved)
{
	struct dirent *d;
	DIR *dir;
	long adj;
	pid_t pid;

	dir = opendir("/proc");
	if (!dir)
		return -1;
	while ((d = readdir(dir)) && *saved < OTHERS_MAX) {
		pid = atoi(d->d_name);
		if (pid <= 1 || !user_process(pid))
			continue;
		adj = proc_long(pid, "oom_score_adj");
		if (adj <= -1000)	/* already, or gone (LONG_MIN) */
			continue;
		others[*saved] = (struct saved_adj){ pid, adj };
		if (!set_oom_score_adj(pid, -1000))
			(*saved)++;
	}
	closedir(dir);
	return *saved < OTHERS_MAX ? 0 : -1;
}

static void others_restore(struct saved_adj *others, int *saved)
{
	while (*saved > 0) {
		(*saved)--;
		set_oom_score_adj(others[*saved].pid, others[*saved].adj);
	}
}

FIXTURE_SETUP(cpuset)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);
	char ctl[512];

	self->saved = 0;
	self->cpuset_enabled = false;
	if (missing)
		SKIP(return, "%s", missing);
	if (!last_memory_node(self->node, sizeof(self->node)))
		SKIP(return, "needs two memory nodes (a NUMA guest, or numa=fake=2)");
	if (cg_read_text(self->env.root, "cgroup.controllers", ctl,
			 sizeof(ctl)) < 0 || !strstr(ctl, "cpuset"))
		SKIP(return, "no cpuset controller (CONFIG_CPUSETS)");
	/* Whole-machine rules: every other process is touched. */
	if (oom_env_refused(&self->env, NULL, CPUSET_BUDGET_KB, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_cpuset", NULL,
				   CPUSET_BUDGET_KB, 0))
		TH_LOG("%s", self->env.error);
	if (cg_read_text(self->env.root, "cgroup.subtree_control", ctl,
			 sizeof(ctl)) >= 0 && !strstr(ctl, "cpuset")) {
		ASSERT_EQ(0, cg_write(self->env.root, "cgroup.subtree_control",
				      "+cpuset"));
		self->cpuset_enabled = true;
	}
	ASSERT_EQ(0, cg_write(self->env.cg, "cpuset.mems", self->node))
		TH_LOG("cpuset.mems %s: %s", self->node, strerror(errno));
	ASSERT_EQ(0, others_protect(self->others, &self->saved))
		TH_LOG("could not protect the other processes");
}

FIXTURE_TEARDOWN_PARENT(cpuset)
{
	others_restore(self->others, &self->saved);
	oom_env_undo(&self->env);
	if (self->cpuset_enabled &&
	    cg_write(self->env.root, "cgroup.subtree_control", "-cpuset"))
		snprintf(self->env.error, sizeof(self->env.error),
			 "could not write -cpuset");
	EXPECT_STREQ("", self->env.error);
}

/* The leak in the cpuset dies once; pardoned, by the last resort. */
TEST_F_TIMEOUT(cpuset, leaking_pardoned_is_last_resort, 400)
{
	struct member leak = {
		.comm = "op_cs_leak", .cg = self->env.cg,
		.pardon = variant->pardon, .grow = MB(4096),
	};
	char pid[16];
	struct kmsg_log kmsg;
	long kills;
	int ret;

	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	kills = vmstat_read("oom_kill ");
	ret = member_start(&leak, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", leak.comm, member_why(ret));
	snprintf(pid, sizeof(pid), "%d", leak.pid);
	ASSERT_EQ(0, member_go(&leak));

	ASSERT_EQ(0, member_wait_exit(&leak, 2 * OOM_SECS))
		TH_LOG("the leak is alive after %d s; log:\n%s", 2 * OOM_SECS,
		       kmsg_tail(&kmsg, 1500));
	ASSERT_TRUE(member_oom_killed(&leak))
		TH_LOG("the leak ended with status %#x: node %s held 4 GiB?",
		       leak.status, self->node);
	EXPECT_EQ(1, kmsg_wait_killed(&kmsg, atoi(pid), 5));
	EXPECT_EQ(kills + 1, vmstat_read("oom_kill "));
	EXPECT_LT(0, kmsg_count(&kmsg, "CONSTRAINT_CPUSET", NULL, NULL, 0))
		TH_LOG("not a cpuset-constrained OOM; log:\n%s",
		       kmsg_tail(&kmsg, 2000));
	expect_last_resort(_metadata, &kmsg, variant->pardon, pid);
	kmsg_stop(&kmsg);
	member_stop(&leak);
}

TEST_HARNESS_MAIN
