// SPDX-License-Identifier: GPL-2.0
/*
 * OOM pardon: real whole-system OOMs. Meant for a small throwaway virtual
 * machine: these tests exhaust all of its memory on purpose.
 *
 * A cgroup without a memory limit only groups the processes, so that the
 * teardown can kill whatever is left through cgroup.kill. A killable hog is
 * always present: a global OOM with only unkillable or pardoned processes
 * left panics the kernel.
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

#define READY_SECS	60	/* touching hundreds of MiB under TCG */
#define OOM_SECS	150
#define STRESS_SECS	"20"	/* stress-ng --timeout */

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
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_stress", NULL,
				   OOM_PARDON_MAX_KB_DEFAULT, 0))
		TH_LOG("%s", self->env.error);
}

FIXTURE_TEARDOWN_PARENT(stress)
{
	/* No TH_LOG here: it would also print after a failed ASSERT. */
	oom_env_undo(&self->env);
	EXPECT_STREQ("", self->env.error);
}

/*
 * stress-ng exhausts the whole machine: its workers are OOM killed, the
 * pardoned process (oom_score_adj 1000) survives.
 */
TEST_F_TIMEOUT(stress, stress_ng_is_killed_pardoned_survives, 300)
{
	struct member locker = {
		.comm = "op_locker", .cg = self->env.cg, .adj = 1000,
		.pardon = true, .touch = MB(4),
	};
	long total_kb, kills, spare;
	char bytes[32];
	int kmsg, out, status, ret;
	FILE *log;
	pid_t pid;

	total_kb = read_key("/proc/meminfo", "MemTotal:");
	ASSERT_GT(total_kb, 0);
	/* Two workers of MemTotal each: twice what the machine has. */
	snprintf(bytes, sizeof(bytes), "%ldk", total_kb);

	kills = vmstat_read("oom_kill ");
	spare = vmstat_read("oom_pardon_spare ");
	ASSERT_GE(kills, 0);
	ASSERT_GE(spare, 0) TH_LOG("no oom_pardon_spare in /proc/vmstat");
	kmsg = kmsg_open_at_end();
	ASSERT_GE(kmsg, 0) TH_LOG("/dev/kmsg: %s", strerror(errno));
	log = tmpfile();
	ASSERT_NE(NULL, log) TH_LOG("tmpfile: %s", strerror(errno));
	out = fileno(log);

	ret = member_start(&locker, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", locker.comm, member_why(ret));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (cg_write(self->env.cg, "cgroup.procs", "0") ||
		    set_oom_score_adj(getpid(), 1000))
			_exit(126);
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		/*
		 * stress-ng wants a writable --temp-path, even for --vm.
		 * --vm-populate prefaults the whole mapping at once: the
		 * default method alone can spend the whole run under TCG
		 * without touching enough memory for an OOM.
		 */
		execlp("stress-ng", "stress-ng", "--vm", "2",
		       "--vm-bytes", bytes, "--vm-keep", "--vm-populate",
		       "--verbose",
		       "--temp-path", P_tmpdir, "--timeout", STRESS_SECS,
		       NULL);
		_exit(127);
	}
	if (wait_child(pid, OOM_SECS, &status)) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		TH_LOG("stress-ng did not end within %d s", OOM_SECS);
	}
	ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) >= 126)
		TH_LOG("could not start stress-ng (%d)", WEXITSTATUS(status));

	kills = vmstat_read("oom_kill ") - kills;
	ASSERT_GT(kills, 0) TH_LOG("no OOM kill in /proc/vmstat, stress-ng said:\n%s",
				   tail(file_text(out)));
	EXPECT_TRUE(kmsg_find(kmsg, "Killed process", "(stress-ng") ||
		    strstr(file_text(out), "OOM killer"))
		TH_LOG("no stress-ng worker was OOM killed");
	EXPECT_TRUE(member_alive(&locker))
		TH_LOG("pardoned process killed (status %#x)", locker.status);
	EXPECT_EQ(1, status_pardon(locker.pid));
	EXPECT_LT(spare, vmstat_read("oom_pardon_spare "))
		TH_LOG("oom_pardon_spare did not move: pardon never consulted");
	close(kmsg);
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
	/* No bound: the allocator grows past the default one. */
	ASSERT_EQ(0, oom_env_setup(&self->env, "oom_pardon_alloc", NULL, 0, 1))
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
TEST_F_TIMEOUT(allocating_task, allocator_is_spared_only_when_pardoned, 300)
{
	struct member bystander = {
		.comm = "op_bystander", .cg = self->env.cg, .adj = 1000,
	};
	struct member allocator = {
		.comm = "op_allocator", .cg = self->env.cg,
		.pardon = variant->pardon,
	};
	long avail_kb, kills, spare;
	char line[128];
	pid_t alloc_pid;
	int kmsg, rep, ret;

	/*
	 * Together 1.3 times what is available: one OOM. Alone, the
	 * allocator's 0.7 fits once the bystander is gone.
	 */
	/*
	 * The shortcut kills whoever allocates: make sure that is never this
	 * test process, faulting its own pages back in.
	 */
	ASSERT_EQ(0, set_oom_score_adj(getpid(), -1000));

	avail_kb = mem_available_kb();
	ASSERT_GT(avail_kb, 0);
	bystander.touch = (size_t)avail_kb * 6 / 10 * 1024;
	allocator.grow = (size_t)avail_kb * 7 / 10 * 1024;

	kills = vmstat_read("oom_kill ");
	spare = pardon_spare(&self->env);
	ASSERT_GE(spare, 0) TH_LOG("no oom_pardon_spare in /proc/vmstat");
	kmsg = kmsg_open_at_end();

	ret = member_start(&bystander, READY_SECS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", bystander.comm,
				 member_why(ret));
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
		EXPECT_TRUE(member_alive(&bystander));
		if (kmsg >= 0) {
			snprintf(line, sizeof(line),
				 "(oom_kill_allocating_task): Killed process %d ",
				 alloc_pid);
			EXPECT_TRUE(kmsg_find(kmsg, line, NULL))
				TH_LOG("no kernel line '%s'", line);
		}
	}
	if (kmsg >= 0)
		close(kmsg);
	member_stop(&allocator);
	member_stop(&bystander);
}

TEST_HARNESS_MAIN
