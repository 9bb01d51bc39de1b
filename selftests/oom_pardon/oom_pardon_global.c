// SPDX-License-Identifier: GPL-2.0
/*
 * OOM pardon: real whole-system OOMs. Meant for a small throwaway virtual
 * machine: these tests exhaust all of its memory on purpose.
 *
 * A cgroup without a memory limit only groups the processes, so that the
 * teardown can kill whatever is left through cgroup.kill. Every scene
 * drives its memory pressure until the kill it waits for is seen (or a
 * generous bound is hit, which fails with the reason), never for a fixed
 * time, and restores every system-wide setting it changed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "oom_pardon.h"

#define READY_SECS	180	/* touching hundreds of MiB under TCG, host loaded */
#define OOM_SECS	240	/* bound of the wait for a scene's OOM kill */

static bool find_in_path(const char *name, char *path, size_t size)
{
	const char *env = getenv("PATH");
	char dirs[1024], *dir, *save;

	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/local/bin:/bin",
		 env ? env : "");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, size, "%s/%s", dir, name);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

/* The text of @fd from its start (at most 64 KiB). */
static const char *file_text(int fd)
{
	static char buf[1 << 16];
	ssize_t len;

	len = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[len > 0 ? len : 0] = '\0';
	return buf;
}

/* At most the last 2000 characters of @text, for a log. */
static const char *tail(const char *text)
{
	size_t len = strlen(text);

	return len > 2000 ? text + len - 2000 : text;
}

FIXTURE(stress) {
	struct oom_env env;
};

FIXTURE_SETUP(stress)
{
	const char *missing = oom_env_missing(&self->env, true);
	char path[512];

	if (missing)
		SKIP(return, "%s", missing);
	if (!find_in_path("stress-ng", path, sizeof(path)))
		SKIP(return, "stress-ng not installed");
	if (oom_env_refused(&self->env, NULL, OOM_PARDON_BUDGET_DEFAULT, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_stress", NULL,
				   OOM_PARDON_BUDGET_DEFAULT, 0))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(stress)
{
	/* No TH_LOG here: it would also print after a failed ASSERT. */
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/* Start stress-ng in @cg with two vm workers of @bytes each; its pid. */
static pid_t stress_ng_start(const char *cg, const char *bytes, int secs,
			     int out)
{
	char timeout[16];
	pid_t pid;

	snprintf(timeout, sizeof(timeout), "%ds", secs);
	pid = fork();
	if (pid)
		return pid;
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cg_write(cg, "cgroup.procs", "0") ||
	    set_oom_score_adj(getpid(), 1000))
		_exit(126);
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	/*
	 * stress-ng wants a writable --temp-path, even for --vm.
	 * --vm-populate prefaults the whole mapping at once: the default
	 * method alone can spend a long time under TCG without touching
	 * enough memory for an OOM. --timeout only bounds one run: the test
	 * stops it as soon as a worker was OOM killed, and starts it again
	 * when a run ended without one.
	 */
	execlp("stress-ng", "stress-ng", "--vm", "2", "--vm-bytes", bytes,
	       "--vm-keep", "--vm-populate", "--verbose", "--temp-path",
	       P_tmpdir, "--timeout", timeout, NULL);
	_exit(127);
}

/*
 * stress-ng exhausts the whole machine until one of its workers is OOM
 * killed; the pardoned process (oom_score_adj 1000) survives.
 */
TEST_F_TIMEOUT(stress, stress_ng_is_killed_pardoned_survives, 500)
{
	struct member locker = {
		.comm = "op_locker", .cg = self->env.cg, .adj = 1000,
		.pardon = true, .touch = MB(4),
	};
	long total_kb, kills, spare;
	struct kmsg_log kmsg;
	int out, status = 0, ret, runs = 0;
	bool seen = false;
	double end;
	char bytes[32];
	FILE *log;
	pid_t pid = 0;

	total_kb = mem_total_kb();
	ASSERT_GT(total_kb, 0);
	/* Two workers of MemTotal each: twice what the machine has. */
	snprintf(bytes, sizeof(bytes), "%ldk", total_kb);

	kills = vmstat_read("oom_kill ");
	spare = vmstat_read("oom_pardon_spare ");
	ASSERT_GE(kills, 0);
	ASSERT_GE(spare, 0) TH_LOG("no oom_pardon_spare in /proc/vmstat");
	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	log = tmpfile();
	ASSERT_NE(NULL, log) TH_LOG("tmpfile: %s", strerror(errno));
	out = fileno(log);

	ret = member_start(&locker, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", locker.comm, member_why(ret));

	for (end = now_secs() + OOM_SECS; !seen && now_secs() < end;
	     nap_ms(100)) {
		if (!pid) {
			pid = stress_ng_start(self->env.cg, bytes,
					      (int)(end - now_secs()) + 1, out);
			ASSERT_LT(0, pid);
			runs++;
		}
		seen = kmsg_count(&kmsg, "Killed process", "(stress-ng",
				  NULL, 0) > 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = 0;
			ASSERT_FALSE(WIFEXITED(status) &&
				     WEXITSTATUS(status) >= 126)
				TH_LOG("could not start stress-ng (%d)",
				       WEXITSTATUS(status));
		}
	}
	if (pid) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	kills = vmstat_read("oom_kill ") - kills;
	if (!seen)
		TH_LOG("stress-ng said:\n%s", tail(file_text(out)));
	ASSERT_TRUE(seen)
		TH_LOG("no stress-ng worker OOM killed in %d s (%d runs, oom_kill +%ld)",
		       OOM_SECS, runs, kills);
	EXPECT_GT(kills, 0) TH_LOG("no OOM kill in /proc/vmstat");
	EXPECT_TRUE(member_alive(&locker))
		TH_LOG("pardoned process killed (status %#x)", locker.status);
	EXPECT_EQ(1, status_pardon(locker.pid));
	EXPECT_EQ(0, kmsg_killed(&kmsg, locker.pid));
	EXPECT_LT(spare, vmstat_read("oom_pardon_spare "))
		TH_LOG("oom_pardon_spare did not move: pardon never consulted");
	TH_LOG("%d run(s) of stress-ng, %ld OOM kill(s)", runs, kills);
	kmsg_stop(&kmsg);
	fclose(log);
	member_stop(&locker);
}

FIXTURE(allocating_task) {
	struct oom_env env;
};

FIXTURE_VARIANT(allocating_task) {
	bool pardon;
};

FIXTURE_VARIANT_ADD(allocating_task, pardoned) {
	.pardon = true,
};

/* Control: the shortcut kills the allocator itself. */
FIXTURE_VARIANT_ADD(allocating_task, not_pardoned) {
	.pardon = false,
};

FIXTURE_SETUP(allocating_task)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	if (missing)
		SKIP(return, "%s", missing);
	/* A budget above the allocator's size, whatever the machine's. */
	if (oom_env_refused(&self->env, NULL, 2 * mem_total_kb(), 1))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_alloc", NULL,
				   2 * mem_total_kb(), 1))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(allocating_task)
{
	/* No TH_LOG here: it would also print after a failed ASSERT. */
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/*
 * With vm.oom_kill_allocating_task=1 a pardoned allocator that runs the
 * machine out of memory is spared and someone else is killed.
 */
TEST_F_TIMEOUT(allocating_task, allocator_is_spared_only_when_pardoned, 700)
{
	struct member bystander = {
		.comm = "op_bystander", .cg = self->env.cg, .adj = 1000,
		.lock = true,
	};
	struct member allocator = {
		.comm = "op_allocator", .cg = self->env.cg,
		.pardon = variant->pardon,
	};
	long avail_kb, kills, spare;
	struct kmsg_log kmsg;
	char line[128];
	pid_t alloc_pid;
	int rep, ret, others;

	/*
	 * The bystander takes 0.6 of what is available, the allocator then
	 * grows to 0.7 of it: one OOM. Alone, the allocator fits once the
	 * bystander is gone.
	 *
	 * The shortcut kills whoever allocates: make sure that is never this
	 * test process, faulting its own pages back in.
	 */
	ASSERT_EQ(0, set_oom_score_adj(getpid(), -1000));

	avail_kb = mem_available_kb();
	ASSERT_GT(avail_kb, 0);
	bystander.touch = (size_t)avail_kb * 6 / 10 * 1024;

	kills = vmstat_read("oom_kill ");
	spare = pardon_spare(&self->env);
	ASSERT_GE(spare, 0) TH_LOG("no oom_pardon_spare in /proc/vmstat");
	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));

	ret = member_start(&bystander, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", bystander.comm,
				 member_why(ret));
	/*
	 * Half the bystander more than what is left now: sized after the
	 * bystander, so that memory freed late by an earlier scene cannot
	 * make room for both. In the control the allocator wants more than
	 * there is even without the bystander, so that the shortcut meets
	 * it when another task's OOM (see kmsg_ooms_of_others()) killed the
	 * bystander first.
	 */
	avail_kb = mem_available_kb();
	allocator.grow = ((size_t)avail_kb * 1024) + bystander.touch / 2;
	if (!variant->pardon)
		allocator.grow += bystander.touch;
	ret = member_start(&allocator, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", allocator.comm,
				 member_why(ret));
	alloc_pid = allocator.pid;
	ASSERT_EQ(0, member_go(&allocator));

	rep = member_report(&allocator, OOM_SECS);
	ASSERT_NE(-1, rep)
		TH_LOG("allocator neither done nor dead in %d s (%s %ld of %zu kB, %s %ld kB)",
		       OOM_SECS, "VmRSS", status_key(alloc_pid, "VmRSS:"),
		       allocator.grow >> 10, "MemAvailable", mem_available_kb());
	kills = vmstat_read("oom_kill ") - kills;
	if (kills <= 0)
		TH_LOG("allocator %s at %zu kB, bystander %zu kB, MemAvailable %ld then %ld kB",
		       rep == 'd' ? "done" : "dead", allocator.grow >> 10,
		       bystander.touch >> 10, avail_kb, mem_available_kb());
	ASSERT_GT(kills, 0) TH_LOG("no OOM kill in /proc/vmstat: no global OOM");

	if (variant->pardon) {
		EXPECT_EQ('d', rep) TH_LOG("pardoned allocator did not finish");
		EXPECT_TRUE(member_alive(&allocator))
			TH_LOG("pardoned allocator killed (status %#x)",
			       allocator.status);
		ASSERT_EQ(0, member_wait_exit(&bystander, OOM_SECS));
		EXPECT_TRUE(member_oom_killed(&bystander));
		EXPECT_LT(spare, pardon_spare(&self->env));
	} else {
		ASSERT_EQ(0, member_wait_exit(&allocator, OOM_SECS));
		EXPECT_TRUE(member_oom_killed(&allocator))
			TH_LOG("allocator ended with status %#x",
			       allocator.status);
		others = kmsg_ooms_of_others(&kmsg, allocator.comm);
		if (others) {
			TH_LOG("%d OOMs invoked by other tasks: the bystander may die",
			       others);
		} else {
			EXPECT_TRUE(member_alive(&bystander));
		}
		snprintf(line, sizeof(line),
			 "(oom_kill_allocating_task): Killed process %d ",
			 alloc_pid);
		EXPECT_LT(0, kmsg_count(&kmsg, line, NULL, NULL, 0))
			TH_LOG("no kernel line '%s'", line);
	}
	kmsg_stop(&kmsg);
	member_stop(&allocator);
	member_stop(&bystander);
}

#define SWARM		8	/* children of the swarm */

FIXTURE(swarm) {
	struct oom_env env;
};

FIXTURE_VARIANT(swarm) {
	bool pardon;		/* the swarm and the locker are pardoned */
};

FIXTURE_VARIANT_ADD(swarm, pardoned) {
	.pardon = true,
};

/* Control: the same scene with every pardon cleared. */
FIXTURE_VARIANT_ADD(swarm, not_pardoned) {
	.pardon = false,
};

FIXTURE_SETUP(swarm)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	if (missing)
		SKIP(return, "%s", missing);
	/* A budget of a quarter of the machine, each child under it. */
	if (oom_env_refused(&self->env, NULL, mem_total_kb() / 4, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_swarm", NULL,
				   mem_total_kb() / 4, 0))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(swarm)
{
	/* No TH_LOG here: it would also print after a failed ASSERT. */
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/*
 * A pardoned process forks SWARM children of a fifth of the machine each,
 * every one under the budget, all of them far over it, beside a small
 * pardoned locker and an unpardoned bystander: no panic, swarm members are
 * the victims, the bystander and the locker survive.
 */
TEST_F_TIMEOUT(swarm, members_die_bystander_and_locker_survive, 700)
{
	struct member locker = {
		.comm = "op_locker", .cg = self->env.cg, .lock = true,
		.pardon = variant->pardon, .touch = MB(4),
	};
	struct member bystander = {
		.comm = "op_bystander", .cg = self->env.cg, .lock = true,
		.touch = MB(8),
	};
	struct kmsg_log kmsg;
	struct swarm sw;
	int killed, ret;
	long kills;

	/* This process and its pipes are never the victim. */
	ASSERT_EQ(0, set_oom_score_adj(getpid(), -1000));
	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	kills = vmstat_read("oom_kill ");
	ASSERT_GE(kills, 0);

	ret = member_start(&locker, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", locker.comm, member_why(ret));
	ret = member_start(&bystander, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", bystander.comm, member_why(ret));

	ASSERT_EQ(0, swarm_start(&sw, self->env.cg, variant->pardon, SWARM,
				 (size_t)mem_total_kb() / 5 * 1024))
		TH_LOG("could not start the swarm");
	/* Until every child is done or dead: OOM kills on the way. */
	ASSERT_TRUE(swarm_settle(&sw, OOM_SECS))
		TH_LOG("after %d s: %d children done, %d dead, oom_kill +%ld",
		       OOM_SECS, sw.finished, swarm_dead(&sw),
		       vmstat_read("oom_kill ") - kills);
	killed = swarm_victims(&sw, &kmsg);
	kills = vmstat_read("oom_kill ") - kills;
	ASSERT_LT(0, kills) TH_LOG("no OOM kill in /proc/vmstat");
	EXPECT_LT(0, killed) TH_LOG("no swarm child was the OOM victim");
	EXPECT_TRUE(member_alive(&bystander))
		TH_LOG("bystander killed (status %#x)", bystander.status);
	EXPECT_EQ(0, kmsg_killed(&kmsg, bystander.pid));
	EXPECT_TRUE(member_alive(&locker))
		TH_LOG("locker killed (status %#x)", locker.status);
	TH_LOG("swarm: %d children done, %d dead (%d OOM victims), oom_kill +%ld",
	       sw.finished, swarm_dead(&sw), killed, kills);

	swarm_stop(&sw);
	kmsg_stop(&kmsg);
	member_stop(&bystander);
	member_stop(&locker);
}

#define SYSRQ_TRIGGER	"/proc/sysrq-trigger"
#define MAX_ADJ		4096

FIXTURE(sysrq) {
	struct oom_env env;
	int n;			/* processes whose oom_score_adj was changed */
	pid_t pid[MAX_ADJ];
	short adj[MAX_ADJ];
};

FIXTURE_VARIANT(sysrq) {
	bool pardon;
	long budget_kb;
	bool survives;
};

FIXTURE_VARIANT_ADD(sysrq, pardoned) {
	.pardon = true, .budget_kb = OOM_PARDON_BUDGET_DEFAULT,
	.survives = true,
};

/* A pardon that is not honoured (budget 0) does not hide from SysRq-f. */
FIXTURE_VARIANT_ADD(sysrq, budget_zero) {
	.pardon = true, .budget_kb = 0, .survives = false,
};

/* Control: SysRq-f kills the unpardoned locker. */
FIXTURE_VARIANT_ADD(sysrq, not_pardoned) {
	.pardon = false, .budget_kb = OOM_PARDON_BUDGET_DEFAULT,
	.survives = false,
};

FIXTURE_SETUP(sysrq)
{
	const char *missing = oom_env_missing(&self->env, variant->pardon);

	self->n = 0;
	if (missing)
		SKIP(return, "%s", missing);
	if (access(SYSRQ_TRIGGER, W_OK))
		SKIP(return, "no writable %s (CONFIG_MAGIC_SYSRQ)",
		     SYSRQ_TRIGGER);
	if (oom_env_refused(&self->env, NULL, variant->budget_kb, 0))
		SKIP(return, "%s", self->env.error);
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_sysrq", NULL,
				   variant->budget_kb, 0))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(sysrq)
{
	int i, failed = 0;

	/* No TH_LOG here: it would also print after a failed ASSERT. */
	for (i = 0; i < self->n; i++)
		if (set_oom_score_adj(self->pid[i], self->adj[i]) &&
		    kill(self->pid[i], 0) == 0)
			failed++;
	EXPECT_EQ(0, failed);
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/*
 * Everybody but @keep to oom_score_adj -1000, remembering the old values
 * in @pids and @adjs (@n of them, at most MAX_ADJ) for the teardown; the
 * number of processes changed.
 */
static int everybody_unkillable(pid_t *pids, short *adjs, int *n, pid_t keep)
{
	struct dirent *d;
	DIR *proc;
	long adj;
	pid_t pid;

	proc = opendir("/proc");
	if (!proc)
		return -1;
	while ((d = readdir(proc)) && *n < MAX_ADJ) {
		pid = strtol(d->d_name, NULL, 10);
		if (pid <= 1 || pid == keep)
			continue;
		adj = proc_long(pid, "oom_score_adj");
		if (adj == LONG_MIN || adj == -1000)
			continue;
		pids[*n] = pid;
		adjs[*n] = adj;
		if (!set_oom_score_adj(pid, -1000))
			(*n)++;
	}
	closedir(proc);
	return *n;
}

/*
 * SysRq-f with nobody but a pardoned locker left to kill kills nobody: the
 * last resort never acts for a key press at a locked console. A pardon
 * that is not honoured hides nothing from it.
 */
TEST_F_TIMEOUT(sysrq, f_spares_the_only_pardoned, 300)
{
	struct member locker = {
		.comm = "op_locker", .cg = self->env.cg, .adj = 1000,
		.pardon = variant->pardon, .touch = MB(4),
	};
	struct kmsg_log kmsg;
	long kills, spare;
	pid_t locker_pid;
	double end;
	int ret;

	ASSERT_EQ(0, kmsg_start(&kmsg)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	kills = vmstat_read("oom_kill ");
	spare = pardon_spare(&self->env);
	ret = member_start(&locker, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", locker.comm, member_why(ret));
	locker_pid = locker.pid;
	ASSERT_LT(0, everybody_unkillable(self->pid, self->adj, &self->n,
					  locker.pid));

	ASSERT_EQ(0, write_text(SYSRQ_TRIGGER, "f"));
	for (end = now_secs() + 30; now_secs() < end; nap_ms(100))
		if (kmsg_count(&kmsg, "Manual OOM execution", NULL, NULL, 0) &&
		    (!member_alive(&locker) ||
		     kmsg_count(&kmsg, "OOM request ignored", NULL, NULL, 0) ||
		     vmstat_read("oom_kill ") != kills))
			break;
	ASSERT_LT(0, kmsg_count(&kmsg, "Manual OOM execution", NULL, NULL, 0))
		TH_LOG("SysRq-f did not run the OOM killer; log:\n%s",
		       kmsg_tail(&kmsg, 1500));
	if (variant->survives) {
		EXPECT_TRUE(member_alive(&locker))
			TH_LOG("SysRq-f killed the pardoned locker");
		EXPECT_EQ(kills, vmstat_read("oom_kill "));
		EXPECT_EQ(0, kmsg_count(&kmsg, LOG_PARDON, LOG_LAST_RESORT,
					NULL, 0));
		EXPECT_LT(0, kmsg_count(&kmsg, "OOM request ignored", NULL,
					NULL, 0));
		/* Counted per OOM that kills: this one killed nobody. */
		EXPECT_EQ(spare, pardon_spare(&self->env));
	} else {
		EXPECT_EQ(0, member_wait_exit(&locker, 30))
			TH_LOG("SysRq-f spared the locker; log:\n%s",
			       kmsg_tail(&kmsg, 1500));
		EXPECT_TRUE(member_oom_killed(&locker));
		EXPECT_EQ(1, kmsg_wait_killed(&kmsg, locker_pid, 5))
			TH_LOG("log:\n%s", kmsg_tail(&kmsg, 1500));
	}
	kmsg_stop(&kmsg);
	member_stop(&locker);
}

TEST_HARNESS_MAIN
