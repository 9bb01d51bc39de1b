// SPDX-License-Identifier: GPL-2.0
/*
 * OOM pardon: real OOM kills inside a small cgroup v2 memory cgroup
 * (memory.max 64M, no swap). Every test first proves that the OOM killer
 * really ran before it counts anybody's survival.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "oom_pardon.h"

#define MEMCG_MAX	"64M"
#define READY_SECS	120	/* touching 40M under TCG, host loaded */
#define OOM_SECS	120

static long oom_kills(struct oom_env *env)
{
	return cg_read_key(env->cg, "memory.events", "oom_kill ");
}

FIXTURE(memcg) {
	struct oom_env env;
};

FIXTURE_VARIANT(memcg) {
	bool pardon;		/* does the big process pardon itself? */
	long budget_kb;		/* vm.oom_pardon_budget_kbytes */
	bool survives;		/* expected fate of the big process */
	bool logged;		/* expect the "not honoured" kernel line */
};

/* The big process is pardoned and within the default budget. */
FIXTURE_VARIANT_ADD(memcg, pardoned) {
	.pardon = true, .budget_kb = OOM_PARDON_BUDGET_DEFAULT,
	.survives = true,
};

/* Control: the same scene without the pardon kills the big process. */
FIXTURE_VARIANT_ADD(memcg, not_pardoned) {
	.pardon = false, .budget_kb = OOM_PARDON_BUDGET_DEFAULT,
	.survives = false,
};

/* 40M is over a budget of 8M: the pardon is not honoured, and said so. */
FIXTURE_VARIANT_ADD(memcg, over_budget) {
	.pardon = true, .budget_kb = 8192, .survives = false, .logged = true,
};

/* A budget of 0 honours no pardon (the flag still reads 1). */
FIXTURE_VARIANT_ADD(memcg, budget_zero) {
	.pardon = true, .budget_kb = 0, .survives = false,
};

FIXTURE_SETUP(memcg)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	if (missing)
		SKIP(return, "%s", missing);
	if (oom_env_refused(&self->env, MEMCG_MAX, variant->budget_kb, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_memcg", MEMCG_MAX,
				   variant->budget_kb, 0))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(memcg)
{
	/* No TH_LOG here: it would also print after a failed ASSERT. */
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/*
 * The biggest process in the cgroup (40M, oom_score_adj 1000) survives the
 * OOM while the hog is killed exactly when its pardon is honoured.
 */
TEST_F_TIMEOUT(memcg, biggest_survives_only_with_honoured_pardon, 300)
{
	struct member big = {
		.comm = "op_big", .cg = self->env.cg, .adj = 1000,
		.pardon = variant->pardon, .touch = MB(40),
	};
	/* Grows until it is killed: 16 times the limit bounds it. */
	struct member hog = {
		.comm = "op_hog", .cg = self->env.cg, .grow = MB(1024),
	};
	struct kmsg_log kmsg;
	long kills, spare;
	pid_t big_pid;
	int ret;

	ASSERT_EQ(0, oom_kills(&self->env));
	spare = pardon_spare(&self->env);
	ASSERT_GE(spare, 0) TH_LOG("no oom_pardon_spare in /proc/vmstat");
	ASSERT_TRUE(!kmsg_start(&kmsg) || !variant->logged)
		TH_LOG("/dev/kmsg: %s", strerror(errno));

	ret = member_start(&big, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", big.comm, member_why(ret));
	big_pid = big.pid;
	if (self->env.pardon) {
		ASSERT_EQ((long)variant->pardon, status_pardon(big_pid))
			TH_LOG("OomPardon: of %d", big_pid);
	}
	ret = member_start(&hog, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", hog.comm, member_why(ret));
	ASSERT_EQ(0, member_go(&hog));

	if (variant->survives) {
		ASSERT_EQ(0, member_wait_exit(&hog, OOM_SECS))
			TH_LOG("hog alive after %d s: no OOM kill", OOM_SECS);
		ASSERT_TRUE(member_oom_killed(&hog))
			TH_LOG("hog ended with status %#x, not SIGKILL",
			       hog.status);
		kills = oom_kills(&self->env);
		ASSERT_GT(kills, 0) TH_LOG("memory.events shows no oom_kill");
		EXPECT_TRUE(member_alive(&big))
			TH_LOG("pardoned process killed (status %#x)",
			       big.status);
		EXPECT_EQ(1, status_pardon(big.pid));
		EXPECT_LT(spare, pardon_spare(&self->env))
			TH_LOG("oom_pardon_spare did not move");
	} else {
		ASSERT_EQ(0, member_wait_exit(&big, OOM_SECS))
			TH_LOG("big process alive after %d s", OOM_SECS);
		ASSERT_TRUE(member_oom_killed(&big))
			TH_LOG("big process ended with status %#x, not SIGKILL",
			       big.status);
		kills = oom_kills(&self->env);
		ASSERT_GT(kills, 0) TH_LOG("memory.events shows no oom_kill");
		/* Alone in the cgroup the hog is the next victim. */
		EXPECT_EQ(0, member_wait_exit(&hog, OOM_SECS));
		EXPECT_TRUE(member_oom_killed(&hog));
		EXPECT_EQ(spare, pardon_spare(&self->env))
			TH_LOG("a pardon that was not honoured counted a spare");
	}

	if (variant->logged) {
		EXPECT_LT(0, kmsg_count(&kmsg, LOG_PARDON, LOG_OVER_BUDGET,
					NULL, 0))
			TH_LOG("no kernel line with '%s' and '%s'; log:\n%s",
			       LOG_PARDON, LOG_OVER_BUDGET,
			       kmsg_tail(&kmsg, 1500));
	}
	kmsg_stop(&kmsg);
	member_stop(&hog);
	member_stop(&big);
}

FIXTURE(oom_group) {
	struct oom_env env;
};

FIXTURE_VARIANT(oom_group) {
	bool pardon;
};

FIXTURE_VARIANT_ADD(oom_group, pardoned) {
	.pardon = true,
};

/* Control: without the pardon the group kill takes everybody. */
FIXTURE_VARIANT_ADD(oom_group, not_pardoned) {
	.pardon = false,
};

FIXTURE_SETUP(oom_group)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	if (missing)
		SKIP(return, "%s", missing);
	if (oom_env_refused(&self->env, MEMCG_MAX, OOM_PARDON_BUDGET_DEFAULT, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_group", MEMCG_MAX,
				   OOM_PARDON_BUDGET_DEFAULT, 0))
		TH_LOG("%s", self->env.error);
	if (cg_write(self->env.cg, "memory.oom.group", "1")) {
		oom_env_undo(&self->env);
		ASSERT_TRUE(false) TH_LOG("cannot set memory.oom.group");
	}
}

FIXTURE_TEARDOWN_PARENT(oom_group)
{
	/* No TH_LOG here: it would also print after a failed ASSERT. */
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/* With memory.oom.group=1 the OOM kills everybody but the pardoned. */
TEST_F_TIMEOUT(oom_group, kills_everyone_but_the_pardoned, 300)
{
	struct member locker = {
		.comm = "op_locker", .cg = self->env.cg, .adj = 1000,
		.pardon = variant->pardon, .touch = MB(16),
	};
	struct member by[2] = {
		{ .comm = "op_by0", .cg = self->env.cg, .touch = MB(1) },
		{ .comm = "op_by1", .cg = self->env.cg, .touch = MB(1) },
	};
	struct member hog = {
		.comm = "op_hog", .cg = self->env.cg, .grow = MB(1024),
	};
	long kills, spare;
	int i, ret;

	ASSERT_EQ(0, oom_kills(&self->env));
	spare = pardon_spare(&self->env);
	ASSERT_GE(spare, 0) TH_LOG("no oom_pardon_spare in /proc/vmstat");

	ret = member_start(&locker, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", locker.comm, member_why(ret));
	for (i = 0; i < 2; i++) {
		ret = member_start(&by[i], READY_SECS);
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", by[i].comm,
					 member_why(ret));
	}
	ret = member_start(&hog, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", hog.comm, member_why(ret));
	ASSERT_EQ(0, member_go(&hog));

	ASSERT_EQ(0, member_wait_exit(&hog, OOM_SECS))
		TH_LOG("hog alive after %d s: no OOM kill", OOM_SECS);
	ASSERT_TRUE(member_oom_killed(&hog))
		TH_LOG("hog ended with status %#x, not SIGKILL", hog.status);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, member_wait_exit(&by[i], OOM_SECS))
			TH_LOG("%s survived the group kill", by[i].comm);
		EXPECT_TRUE(member_oom_killed(&by[i]));
	}
	kills = oom_kills(&self->env);

	if (variant->pardon) {
		/* hog (twice: victim, then group scan) and two bystanders */
		EXPECT_GE(kills, 3);
		EXPECT_TRUE(member_alive(&locker))
			TH_LOG("pardoned process killed (status %#x)",
			       locker.status);
		/* Counted once per OOM, not again by the group kill. */
		EXPECT_EQ(spare + 1, pardon_spare(&self->env));
	} else {
		ASSERT_EQ(0, member_wait_exit(&locker, OOM_SECS));
		EXPECT_TRUE(member_oom_killed(&locker));
		EXPECT_GE(kills, 4);
		EXPECT_EQ(spare, pardon_spare(&self->env));
	}
	member_stop(&hog);
	for (i = 0; i < 2; i++)
		member_stop(&by[i]);
	member_stop(&locker);
}

TEST_HARNESS_MAIN
