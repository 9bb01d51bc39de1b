// SPDX-License-Identifier: GPL-2.0
/*
 * victims: scripted OOM scenes with nobody pardoned; prints which roles the
 * OOM killer took, by role name, so that a stock and a patched kernel can
 * be compared line by line (scripts/victims does that on the host).
 *
 * Runs as root inside a scripts/vm-run guest. Output is KTAP: one case per
 * scene, "ok" when the scene's kill happened and took the roles the upstream
 * OOM killer is documented to take; a "# victims: SCENE: ROLES" line gives
 * the roles actually killed, which is what the host compares.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CGROOT	"/sys/fs/cgroup"
#define MAXROLES 6

struct role {
	const char *name;
	long mb;	/* held for the whole scene; <0: percent of MemAvailable */
	int adj;	/* oom_score_adj */
};

struct scene {
	const char *name;
	long memcg_max_mb;	/* 0: global OOM */
	bool oom_group;
	bool allocating_task;
	struct role roles[MAXROLES];
	int trigger_adj;
	const char *expect;	/* comma separated, in role order, trigger last */
};

static const struct scene scenes[] = {
	{ "memcg_biggest", 64, false, false,
	  { { "small", 4, 0 }, { "mid", 10, 0 }, { "big", 28, 0 } }, 0, "big" },
	{ "memcg_score_adj", 64, false, false,
	  { { "small", 4, 800 }, { "mid", 10, 0 }, { "big", 28, -300 } }, 0,
	  "small" },
	{ "memcg_adj_min_immune", 64, false, false,
	  { { "small", 4, 0 }, { "mid", 8, 0 }, { "big", 28, -1000 } }, 0,
	  "trigger" },
	{ "memcg_oom_group", 64, true, false,
	  { { "immune", 4, -1000 }, { "mid", 10, 0 }, { "big", 28, 0 } }, 0,
	  "mid,big,trigger" },
	{ "global_biggest", 0, false, false,
	  { { "small", -4, 0 }, { "mid", -12, 0 }, { "big", -50, 0 } }, 0,
	  "big" },
	{ "global_allocating_task", 0, false, true,
	  { { "small", -4, 0 }, { "mid", -12, 0 }, { "big", -50, 0 } }, 0,
	  "trigger" },
};

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

static long read_key(const char *path, const char *key)
{
	char buf[16384], *p;
	size_t klen = strlen(key);
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, key, klen))
			return strtol(p + klen, NULL, 10);
	}
	return -1;
}

static void set_adj(int adj)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", adj);
	if (write_str("/proc/self/oom_score_adj", buf))
		_exit(90);
}

/*
 * Locked in memory: with no swap, a global OOM is otherwise preceded by a
 * long thrash of the programs' own text over 9p, which under TCG can take
 * minutes. Locks are not inherited, so every child calls this too.
 */
static void lock_memory(const char *cg)
{
	/*
	 * Global scenes only: in a memcg scene a locked victim is slow to
	 * reap, and the trigger could meet a second OOM before the first
	 * victim's memory is uncharged, on either kernel.
	 */
	if (cg)
		return;
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		_exit(95);
}

/* A child joins the scene: its memcg (if any), its oom_score_adj, locks. */
static void enter_scene(const char *cg, int adj)
{
	char path[512];

	if (cg) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		if (write_str(path, "0"))
			_exit(91);
	}
	set_adj(adj);
	lock_memory(cg);
}

static void touch(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
}

static long kills(const char *cg)
{
	char path[512];

	if (!cg)
		return read_key("/proc/vmstat", "oom_kill ");
	snprintf(path, sizeof(path), "%s/memory.events", cg);
	return read_key(path, "oom_kill ");
}

/* A child that joins @cg, takes @adj, holds @mb and tells @fd it is ready. */
static pid_t spawn_role(const char *cg, int adj, long mb, int *ready_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		char *mem;

		close(p[0]);
		enter_scene(cg, adj);
		mem = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			_exit(92);
		touch(mem, mb << 20);
		if (write(p[1], "r", 1) != 1)
			_exit(93);
		for (;;)
			pause();
	}
	close(p[1]);
	*ready_fd = p[0];
	return pid;
}

/* Grow 1 MiB at a time until an OOM kill is counted (or the cap). */
static pid_t spawn_trigger(const char *cg, int adj, long cap_mb)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	long before;

	enter_scene(cg, adj);
	before = kills(cg);
	for (long i = 0; i < cap_mb; i++) {
		char *mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mem == MAP_FAILED)
			_exit(92);
		touch(mem, 1 << 20);
		if (kills(cg) != before)
			_exit(0);
	}
	_exit(94);	/* no OOM kill within the cap */
}

static bool wait_ready(int fd, int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, secs * 1000) != 1)
		return false;
	return read(fd, &c, 1) == 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool run_scene(int num, const struct scene *s, long avail_mb)
{
	char cgbuf[128], path[512], victims[256] = "", why[256] = "";
	const char *cg = NULL;
	pid_t pids[MAXROLES + 1] = { 0 };
	bool dead[MAXROLES + 1] = { false };
	int nroles = 0, fd = -1, status = 0;
	long k0, k1;
	double t;
	bool ok = true;

	if (s->memcg_max_mb) {
		snprintf(cgbuf, sizeof(cgbuf), CGROOT "/victims_%s", s->name);
		cg = cgbuf;
		if (mkdir(cg, 0755) && errno != EEXIST) {
			snprintf(why, sizeof(why), "mkdir %s: %m", cg);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/memory.max", cg);
		snprintf(victims, sizeof(victims), "%ldM", s->memcg_max_mb);
		if (write_str(path, victims)) {
			snprintf(why, sizeof(why), "cannot set memory.max");
			goto out;
		}
		victims[0] = '\0';
		snprintf(path, sizeof(path), "%s/memory.swap.max", cg);
		write_str(path, "0");	/* absent without CONFIG_SWAP */
		snprintf(path, sizeof(path), "%s/memory.oom.group", cg);
		if (write_str(path, s->oom_group ? "1" : "0")) {
			snprintf(why, sizeof(why), "cannot set memory.oom.group");
			goto out;
		}
	}
	for (; nroles < MAXROLES && s->roles[nroles].name; nroles++) {
		const struct role *r = &s->roles[nroles];
		long mb = r->mb < 0 ? avail_mb * -r->mb / 100 : r->mb;

		pids[nroles] = spawn_role(cg, r->adj, mb, &fd);
		if (pids[nroles] < 0 || !wait_ready(fd, 120)) {
			snprintf(why, sizeof(why), "role %s not ready", r->name);
			close(fd);
			nroles++;
			goto out;
		}
		close(fd);
	}
	if (s->allocating_task &&
	    write_str("/proc/sys/vm/oom_kill_allocating_task", "1")) {
		snprintf(why, sizeof(why), "cannot set oom_kill_allocating_task");
		goto out;
	}
	k0 = kills(cg);
	pids[nroles] = spawn_trigger(cg, s->trigger_adj, 4 * avail_mb);
	/* The trigger ends (killed or done) within 180 s. */
	for (t = now(); now() - t < 180; usleep(50000))
		if (waitpid(pids[nroles], &status, WNOHANG) == pids[nroles])
			break;
	if (s->allocating_task)
		write_str("/proc/sys/vm/oom_kill_allocating_task", "0");
	if (now() - t >= 180) {
		snprintf(why, sizeof(why), "the trigger did not end in 180 s");
		goto out;
	}
	dead[nroles] = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	if (WIFEXITED(status) && WEXITSTATUS(status))
		snprintf(why, sizeof(why), "trigger exited %d",
			 WEXITSTATUS(status));
	/* Reap the killed roles; settle when nothing changed for 1 s. */
	for (double last = now(); now() - last < 1.0; usleep(20000)) {
		for (int i = 0; i < nroles; i++) {
			if (dead[i] || waitpid(pids[i], &status, WNOHANG) != pids[i])
				continue;
			dead[i] = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
			pids[i] = 0;
			last = now();
		}
	}
	k1 = kills(cg);
	/*
	 * The scene compares the OOM killer's choice, not what follows it. When
	 * a role was chosen, the trigger is still inside its page fault; if
	 * the victim's memory is not uncharged in time, a second OOM may take
	 * the trigger too, on either kernel, by timing alone. That later kill
	 * is left out; an oom.group kill takes the trigger in the same event
	 * and keeps it.
	 */
	for (int i = 0; i < nroles && !s->oom_group; i++)
		if (dead[i])
			dead[nroles] = false;
	for (int i = 0; i <= nroles; i++) {
		if (!dead[i])
			continue;
		if (victims[0])
			strcat(victims, ",");
		strcat(victims, i < nroles ? s->roles[i].name : "trigger");
	}
	if (k1 <= k0 && !why[0])
		snprintf(why, sizeof(why), "no OOM kill counted");
out:
	for (int i = 0; i < nroles; i++) {
		if (pids[i] > 0 && !dead[i]) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
	if (cg) {
		for (t = now(); rmdir(cg) && now() - t < 10; usleep(50000))
			;
	}
	printf("# victims: %s: %s\n", s->name, victims[0] ? victims : "none");
	if (!why[0] && strcmp(victims, s->expect))
		snprintf(why, sizeof(why), "expected %s", s->expect);
	ok = !why[0];
	printf("%sok %d %s%s%s\n", ok ? "" : "not ", num, s->name,
	       ok ? "" : " # ", why);
	fflush(stdout);
	return ok;
}

int main(int argc, char **argv)
{
	int n = sizeof(scenes) / sizeof(scenes[0]), failed = 0;
	long avail_mb;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%d\n", n);
	if (geteuid()) {
		printf("# not root\n");
		return 4;
	}
	/* This process and its helpers are never the victim. */
	set_adj(-1000);
	lock_memory(NULL);
	write_str(CGROOT "/cgroup.subtree_control", "+memory");
	write_str("/proc/sys/vm/oom_dump_tasks", "0");
	for (int i = 0; i < n; i++) {
		if (argc > 1 && !strstr(scenes[i].name, argv[1]))
			continue;
		/* Settle memory before sizing a global scene. */
		avail_mb = read_key("/proc/meminfo", "MemAvailable:") >> 10;
		failed += !run_scene(i + 1, &scenes[i], avail_mb);
	}
	printf("# %d scenes, %d failed\n", n, failed);
	return failed ? 1 : 0;
}
