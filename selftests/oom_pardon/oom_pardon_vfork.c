// SPDX-License-Identifier: GPL-2.0
/*
 * OOM pardon: one verdict for everything that shares a pardoned process's
 * mm. A vfork or posix_spawn child of a pardoned process (glibc spawns
 * with CLONE_VFORK) gets its parent's answer: a memory.oom.group kill or
 * the vm.oom_kill_allocating_task shortcut never kills it, and with it the
 * pardoned parent, where a -1000 parent and its child would survive.
 * CLONE_VM sharers are each counted against the budget and share one fate.
 *
 * Each scene has a -1000 reference (also run on a stock kernel) and an
 * unpardoned control, and checks that its OOM kill really happened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "oom_pardon.h"

#define READY_SECS	120	/* touching tens of MiB under TCG, host loaded */
#define OOM_SECS	240
#define CHILD_STACK	(256 * 1024)

/* ---------------------------------------------------------------------
 * A spawner: a thread of the member starts a child that stays in the
 * vfork window (CLONE_VFORK, before its exec) until the FIFO at m->arg
 * gets a writer: posix_spawn blocks in its open file action, a raw vfork
 * child in open(). The member's main thread goes on as usual.
 */
enum spawn_how { SPAWN_POSIX, SPAWN_VFORK };

struct spawner {
	char fifo[64];
	enum spawn_how how;
};

static int vfork_child_waits(void *arg)
{
	struct spawner *sp = arg;

	/* In the vfork window until somebody opens the FIFO for writing. */
	_exit(open(sp->fifo, O_RDONLY) < 0 ? 1 : 0);
}

static void *spawn_thread(void *arg)
{
	struct spawner *sp = arg;
	posix_spawn_file_actions_t fa;
	char *const argv[] = { "true", NULL };
	char *stack;
	pid_t pid;

	if (sp->how == SPAWN_POSIX) {
		if (posix_spawn_file_actions_init(&fa) ||
		    posix_spawn_file_actions_addopen(&fa, 3, sp->fifo,
						     O_RDONLY, 0) ||
		    posix_spawnp(&pid, "true", &fa, NULL, argv, environ))
			return (void *)1L;
	} else {
		stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED)
			return (void *)1L;
		pid = clone(vfork_child_waits, stack + CHILD_STACK,
			    CLONE_VM | CLONE_VFORK | SIGCHLD, sp);
		if (pid < 0)
			return (void *)1L;
	}
	waitpid(pid, NULL, 0);
	return NULL;
}

static int start_spawner(struct member *m)
{
	pthread_t t;

	return pthread_create(&t, NULL, spawn_thread, m->arg) ? -1 : 0;
}

/* The spawned child of @parent, waited for up to @secs; 0 if none. */
static pid_t spawned_child(pid_t parent, int secs)
{
	double end = now_secs() + secs;
	pid_t child;

	while (!(child = child_of(parent)) && now_secs() < end)
		nap_ms(50);
	return child;
}

/* Let the child out of the vfork window: open the FIFO for writing. */
static void release_child(const char *fifo)
{
	int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
}

FIXTURE(group) {
	struct oom_env env;
	struct spawner sp;
};

FIXTURE_VARIANT(group) {
	enum spawn_how how;
	bool pardon;
	int adj;
	bool survive;
};

FIXTURE_VARIANT_ADD(group, posix_spawn_pardoned) {
	.how = SPAWN_POSIX, .pardon = true, .survive = true,
};

FIXTURE_VARIANT_ADD(group, vfork_pardoned) {
	.how = SPAWN_VFORK, .pardon = true, .survive = true,
};

/* Reference: a -1000 parent and its posix_spawn child survive. */
FIXTURE_VARIANT_ADD(group, posix_spawn_min_adj) {
	.how = SPAWN_POSIX, .adj = -1000, .survive = true,
};

/* Control: unpardoned, the group kill takes both. */
FIXTURE_VARIANT_ADD(group, posix_spawn_not_pardoned) {
	.how = SPAWN_POSIX, .survive = false,
};

FIXTURE_SETUP(group)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	self->sp.fifo[0] = '\0';
	if (missing)
		SKIP(return, "%s", missing);
	if (oom_env_refused(&self->env, "64M", OOM_PARDON_BUDGET_DEFAULT, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_vfork_group", "64M",
				   OOM_PARDON_BUDGET_DEFAULT, 0))
		TH_LOG("%s", self->env.error);
	if (cg_write(self->env.cg, "memory.oom.group", "1")) {
		oom_env_undo(&self->env);
		ASSERT_TRUE(false) TH_LOG("cannot set memory.oom.group");
	}
	snprintf(self->sp.fifo, sizeof(self->sp.fifo),
		 "/tmp/oom_pardon_fifo.%d", getpid());
	self->sp.how = variant->how;
	ASSERT_EQ(0, mkfifo(self->sp.fifo, 0600))
		TH_LOG("mkfifo %s: %s", self->sp.fifo, strerror(errno));
}

FIXTURE_TEARDOWN_PARENT(group)
{
	if (self->sp.fifo[0])
		unlink(self->sp.fifo);
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/*
 * A memory.oom.group kill while a pardoned process has a child in the
 * vfork window spares both, as it spares a -1000 parent and its child.
 */
TEST_F_TIMEOUT(group, spawning_parent_survives_group_kill, 300)
{
	struct member parent = {
		.comm = "op_spawner", .cg = self->env.cg, .adj = variant->adj,
		.pardon = variant->pardon, .touch = MB(4),
		.setup = start_spawner, .arg = &self->sp,
	};
	struct member hog = {
		.comm = "op_hog", .cg = self->env.cg, .grow = MB(1024),
	};
	struct kmsg_log kmsg;
	pid_t child;
	int ret;

	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	ret = member_start(&parent, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", parent.comm, member_why(ret));
	child = spawned_child(parent.pid, 30);
	ASSERT_LT(0, child) TH_LOG("no spawned child of %d", parent.pid);
	ret = member_start(&hog, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", hog.comm, member_why(ret));
	ASSERT_EQ(0, member_go(&hog));

	ASSERT_EQ(0, member_wait_exit(&hog, OOM_SECS))
		TH_LOG("hog alive after %d s: no OOM kill", OOM_SECS);
	ASSERT_TRUE(member_oom_killed(&hog));
	ASSERT_LT(0, cg_oom_kills(self->env.cg));
	if (variant->survive) {
		EXPECT_TRUE(member_alive(&parent))
			TH_LOG("the spawning parent was killed; log:\n%s",
			       kmsg_tail(&kmsg, 2000));
		EXPECT_TRUE(pid_alive(child))
			TH_LOG("the child in the vfork window was killed");
		EXPECT_EQ(0, kmsg_killed(&kmsg, child));
		EXPECT_EQ(0, kmsg_killed(&kmsg, parent.pid));
	} else {
		EXPECT_EQ(0, member_wait_exit(&parent, 30));
		EXPECT_TRUE(member_oom_killed(&parent));
		EXPECT_TRUE(pid_gone(child, 10));
	}
	release_child(self->sp.fifo);
	kmsg_stop(&kmsg);
	member_stop(&hog);
	member_stop(&parent);
}

/* ---------------------------------------------------------------------
 * vm.oom_kill_allocating_task: the allocating task is a vfork child of a
 * pardoned process, allocating in its parent's mm. The shortcut passes it
 * over, as it passes over a -1000 one: the next victim is a bystander.
 */
struct vfork_alloc {
	size_t size;
};

static int vfork_child_allocates(void *arg)
{
	struct vfork_alloc *va = arg;
	size_t done;

	for (done = 0; done < va->size; done += MB(1))
		if (touch_anon(MB(1)) == MAP_FAILED)
			_exit(1);
	_exit(0);
}

/* On 'g': a vfork child allocates m->grow bytes; 'd' once it is done. */
static void allocate_in_vfork_child(struct member *m, int rep)
{
	struct vfork_alloc va = { .size = m->grow };
	int status = 0;
	char *stack;
	pid_t pid;

	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		member_fail(rep, 'm');
	pid = clone(vfork_child_allocates, stack + CHILD_STACK,
		    CLONE_VM | CLONE_VFORK | SIGCHLD, &va);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
		member_fail(rep, 'm');
	if (write(rep, "d", 1) != 1)
		_exit(1);
}

FIXTURE(allocating) {
	struct oom_env env;
};

FIXTURE_VARIANT(allocating) {
	bool pardon;
	int adj;
	bool survive;
};

FIXTURE_VARIANT_ADD(allocating, vfork_pardoned) {
	.pardon = true, .survive = true,
};

/* Reference: a -1000 parent and its vfork child survive. */
FIXTURE_VARIANT_ADD(allocating, vfork_min_adj) {
	.adj = -1000, .survive = true,
};

/* Control: unpardoned, the shortcut kills the child and its parent. */
FIXTURE_VARIANT_ADD(allocating, vfork_not_pardoned) {
	.survive = false,
};

FIXTURE_SETUP(allocating)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	if (missing)
		SKIP(return, "%s", missing);
	/* Parent and child each count the shared mm: a budget above both. */
	if (oom_env_refused(&self->env, NULL, 4 * mem_total_kb(), 1))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_vfork_alloc", NULL,
				   4 * mem_total_kb(), 1))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(allocating)
{
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/*
 * A whole-machine OOM with the shortcut on, caused by the vfork child of
 * a pardoned process: the bystander dies, parent and child live.
 */
TEST_F_TIMEOUT(allocating, vfork_child_is_passed_over, 600)
{
	struct member bystander = {
		.comm = "op_bystander", .cg = self->env.cg, .adj = 1000,
		.lock = true,
	};
	struct member parent = {
		.comm = "op_vforker", .cg = self->env.cg, .adj = variant->adj,
		.pardon = variant->pardon, .lock = true,
		.go = allocate_in_vfork_child,
	};
	struct kmsg_log kmsg;
	long avail_kb, kills;
	int rep, ret, others;
	/*
	 * The shortcut's kills of the parent or its vfork child (which keeps
	 * the parent's comm): on a real system others allocate too (here,
	 * systemd-journald writing the OOM report), and may be its victims.
	 */
	char who[32];

	snprintf(who, sizeof(who), "(%s)", parent.comm);
	/* The shortcut kills whoever allocates: never this test process. */
	ASSERT_EQ(0, set_oom_score_adj(getpid(), -1000));
	avail_kb = mem_available_kb();
	ASSERT_GT(avail_kb, 0);
	/*
	 * Together 1.3 times what is available: one OOM at least. In the
	 * control the vfork child alone wants more than there is, so that
	 * the shortcut meets it even when another task's OOM (on a real
	 * system: an allocator at -1000, which the shortcut passes by)
	 * killed the bystander first.
	 */
	bystander.touch = (size_t)avail_kb * 6 / 10 * 1024;
	parent.grow = (size_t)avail_kb * (variant->survive ? 7 : 13) / 10 *
		      1024;
	kills = vmstat_read("oom_kill ");
	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));

	ret = member_start(&bystander, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", bystander.comm, member_why(ret));
	ret = member_start(&parent, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", parent.comm, member_why(ret));
	ASSERT_EQ(0, member_go(&parent));

	rep = member_report(&parent, OOM_SECS);
	ASSERT_NE(-1, rep)
		TH_LOG("the vfork child neither done nor dead after %d s",
		       OOM_SECS);
	ASSERT_LT(kills, vmstat_read("oom_kill "))
		TH_LOG("no OOM kill in /proc/vmstat: no global OOM");
	if (variant->survive) {
		EXPECT_EQ('d', rep) TH_LOG("the vfork child did not finish");
		EXPECT_TRUE(member_alive(&parent))
			TH_LOG("the parent was killed (status %#x); log:\n%s",
			       parent.status, kmsg_tail(&kmsg, 2000));
		EXPECT_EQ(0, member_wait_exit(&bystander, OOM_SECS));
		EXPECT_TRUE(member_oom_killed(&bystander));
		EXPECT_EQ(0, kmsg_count(&kmsg, "(oom_kill_allocating_task)",
					who, NULL, 0));
	} else {
		EXPECT_EQ(0, member_wait_exit(&parent, 30));
		EXPECT_TRUE(member_oom_killed(&parent));
		EXPECT_LT(0, kmsg_count(&kmsg, "(oom_kill_allocating_task)",
					who, NULL, 0));
		/*
		 * The bystander dies only in an OOM that another task
		 * invoked (one the shortcut could not take: -1000, PID 1).
		 */
		others = kmsg_ooms_of_others(&kmsg, parent.comm);
		if (others) {
			TH_LOG("%d OOMs invoked by other tasks: the bystander may die",
			       others);
		} else {
			EXPECT_TRUE(member_alive(&bystander));
		}
	}
	kmsg_stop(&kmsg);
	member_stop(&parent);
	member_stop(&bystander);
}

/* ---------------------------------------------------------------------
 * CLONE_VM sharers: a pardoned process and a CLONE_VM child (not a
 * thread) that shares its 20 MiB mm. Each is counted against the budget,
 * so together they are over a 32 MiB budget though the mm is not; both
 * get the same verdict and the same fate.
 */
static int sharer_pauses(void *arg)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
	return 0;
}

static int start_sharer(struct member *m)
{
	char *stack;

	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -1;
	return clone(sharer_pauses, stack + CHILD_STACK, CLONE_VM | SIGCHLD,
		     NULL) < 0 ? -1 : 0;
}

FIXTURE(sharers) {
	struct oom_env env;
};

FIXTURE_VARIANT(sharers) {
	bool pardon;
	long budget_kb;
	bool survive;
};

FIXTURE_VARIANT_ADD(sharers, within_budget) {
	.pardon = true, .budget_kb = 65536, .survive = true,
};

/* 2 x 20 MiB counted: over 32 MiB, though one mm of 20 MiB is not. */
FIXTURE_VARIANT_ADD(sharers, each_counted_over_budget) {
	.pardon = true, .budget_kb = 32768, .survive = false,
};

/* Control: not pardoned, both die. */
FIXTURE_VARIANT_ADD(sharers, not_pardoned) {
	.pardon = false, .budget_kb = 65536, .survive = false,
};

FIXTURE_SETUP(sharers)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	if (missing)
		SKIP(return, "%s", missing);
	if (oom_env_refused(&self->env, "64M", variant->budget_kb, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_sharers", "64M",
				   variant->budget_kb, 0))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(sharers)
{
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/* Processes sharing one mm get one verdict: both live or both die. */
TEST_F_TIMEOUT(sharers, one_verdict_for_all_sharers, 300)
{
	struct member p = {
		.comm = "op_sharer", .cg = self->env.cg, .adj = 1000,
		.pardon = variant->pardon, .touch = MB(20),
		.setup = start_sharer,
	};
	struct member hog = {
		.comm = "op_hog", .cg = self->env.cg, .grow = MB(1024),
	};
	struct kmsg_log kmsg;
	long s1, s2;
	pid_t c;
	int ret;

	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	ret = member_start(&p, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", p.comm, member_why(ret));
	c = spawned_child(p.pid, 10);
	ASSERT_LT(0, c) TH_LOG("no CLONE_VM child of %d", p.pid);
	EXPECT_EQ(status_pardon(p.pid), status_pardon(c));
	s1 = oom_score_settles(p.pid, variant->survive);
	s2 = proc_long(c, "oom_score");
	EXPECT_EQ(s1 == 0, s2 == 0) TH_LOG("oom_score %ld and %ld", s1, s2);
	if (variant->pardon) {
		EXPECT_EQ(variant->survive, s1 == 0)
			TH_LOG("oom_score %ld, usage %ld kB, budget %ld kB", s1,
			       read_long(OOM_PARDON_USAGE),
			       read_long(OOM_PARDON_BUDGET));
	}
	ret = member_start(&hog, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", hog.comm, member_why(ret));
	ASSERT_EQ(0, member_go(&hog));

	if (variant->survive) {
		ASSERT_EQ(0, member_wait_exit(&hog, OOM_SECS))
			TH_LOG("hog alive after %d s: no OOM kill", OOM_SECS);
		ASSERT_TRUE(member_oom_killed(&hog));
		EXPECT_TRUE(member_alive(&p));
		EXPECT_TRUE(pid_alive(c));
	} else {
		ASSERT_EQ(0, member_wait_exit(&p, OOM_SECS))
			TH_LOG("sharer alive after %d s: no OOM kill", OOM_SECS);
		ASSERT_TRUE(member_oom_killed(&p));
		EXPECT_TRUE(pid_gone(c, 10)) TH_LOG("one sharer survived the other");
	}
	EXPECT_LT(0, cg_oom_kills(self->env.cg));
	kmsg_stop(&kmsg);
	member_stop(&hog);
	member_stop(&p);
}

TEST_HARNESS_MAIN
