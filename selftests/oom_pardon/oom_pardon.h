/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the OOM pardon selftests.
 *
 * Kept local on purpose: the cgroup selftests' cgroup_util moved between
 * kernel releases, and these tests only need a handful of file helpers.
 */
#ifndef __OOM_PARDON_H
#define __OOM_PARDON_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"

#ifndef PR_SET_OOM_PARDON
#define PR_SET_OOM_PARDON 82
#endif
#ifndef PR_GET_OOM_PARDON
#define PR_GET_OOM_PARDON 83
#endif

#define OOM_PARDON_MAX_KB	"/proc/sys/vm/oom_pardon_max_kb"
#define OOM_PARDON_MAX_KB_DEFAULT	262144L
#define OOM_KILL_ALLOCATING_TASK "/proc/sys/vm/oom_kill_allocating_task"
#define MB(x)			((size_t)(x) << 20)

static inline int pardon_get(void)
{
	return prctl(PR_GET_OOM_PARDON, 0, 0, 0, 0);
}

static inline int pardon_set(unsigned long on)
{
	return prctl(PR_SET_OOM_PARDON, on, 0, 0, 0);
}

/* True when the running kernel implements PR_GET_OOM_PARDON. */
static inline bool pardon_supported(void)
{
	return pardon_get() >= 0 || errno != EINVAL;
}

/* Read a whole (small) file into @buf, NUL terminated; -errno on failure. */
static inline ssize_t read_text(const char *path, char *buf, size_t size)
{
	ssize_t len = 0, ret;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)len < size - 1) {
		ret = read(fd, buf + len, size - 1 - len);
		if (ret < 0) {
			len = -errno;
			break;
		}
		if (!ret)
			break;
		len += ret;
	}
	if (len >= 0)
		buf[len] = '\0';
	close(fd);
	return len;
}

/* Write @str to @path in one write(); 0 or -errno. */
static inline int write_text(const char *path, const char *str)
{
	ssize_t len = strlen(str);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, str, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

static inline int write_long(const char *path, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", val);
	return write_text(path, buf);
}

/* The number that follows @key at the start of a line of @path, or -1. */
static inline long read_key(const char *path, const char *key)
{
	static char buf[65536];
	size_t klen = strlen(key);
	char *line;

	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	for (line = buf; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, klen))
			return strtol(line + klen, NULL, 10);
	}
	return -1;
}

/* The first number in @path (a sysctl, oom_score...), or LONG_MIN. */
static inline long read_long(const char *path)
{
	char buf[64];

	if (read_text(path, buf, sizeof(buf)) < 0)
		return LONG_MIN;
	return strtol(buf, NULL, 10);
}

static inline long proc_long(pid_t pid, const char *file)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return read_long(path);
}

/* The OomPardon: value shown in /proc/PID/status, or -1. */
static inline long status_pardon(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	return read_key(path, "OomPardon:\t");
}

/* A number from /proc/PID/status, such as "VmRSS:" in kB, or -1. */
static inline long status_key(pid_t pid, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	return read_key(path, key);
}

static inline long vmstat_read(const char *key)
{
	return read_key("/proc/vmstat", key);
}

static inline int set_oom_score_adj(pid_t pid, int adj)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
	return write_long(path, adj);
}

/* Map and touch @size bytes of anonymous memory; MAP_FAILED on failure. */
static inline void *touch_anon(size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p;
	size_t i;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return MAP_FAILED;
	for (i = 0; i < size; i += page)
		p[i] = 1;
	return p;
}

/*
 * Wait up to @secs seconds for child @pid to end. Returns 0 and fills
 * @status when it did, -1 when it is still running.
 */
static inline int wait_child(pid_t pid, int secs, int *status)
{
	struct timespec nap = { .tv_nsec = 20 * 1000 * 1000 };
	long loops = secs * 50L;

	for (;;) {
		pid_t ret = waitpid(pid, status, WNOHANG);

		if (ret == pid)
			return 0;
		if (ret < 0 || loops-- <= 0)
			return -1;
		nanosleep(&nap, NULL);
	}
}

/* True when child @pid has neither exited nor been killed. */
static inline bool child_alive(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

static inline bool killed_by_sigkill(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/*
 * cgroup v2 mount point with the memory controller available, copied into
 * @root; false if there is none.
 */
static inline bool cg2_memory_root(char *root, size_t size)
{
	char dev[256], dir[256], type[64], path[512], ctrl[1024];
	bool found = false;
	FILE *mounts;

	mounts = fopen("/proc/self/mounts", "re");
	if (!mounts)
		return false;
	while (fscanf(mounts, "%255s %255s %63s %*[^\n]\n",
		      dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2"))
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
		if (read_text(path, ctrl, sizeof(ctrl)) < 0)
			continue;
		if (!strstr(ctrl, "memory"))
			continue;
		snprintf(root, size, "%s", dir);
		found = true;
		break;
	}
	fclose(mounts);
	return found;
}

static inline int cg_write(const char *cg, const char *file, const char *str)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return write_text(path, str);
}

static inline long cg_read_key(const char *cg, const char *file,
			       const char *key)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return read_key(path, key);
}

static inline ssize_t cg_read_text(const char *cg, const char *file,
				   char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return read_text(path, buf, size);
}

static inline bool cg_has_file(const char *cg, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return access(path, F_OK) == 0;
}

/* Kill everything in @cg through cgroup.kill and remove it; 0 or -errno. */
static inline int cg_destroy(const char *cg)
{
	struct timespec nap = { .tv_nsec = 50 * 1000 * 1000 };
	int i;

	for (i = 0; i < 200; i++) {
		if (!rmdir(cg) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		cg_write(cg, "cgroup.kill", "1");
		nanosleep(&nap, NULL);
	}
	return -EBUSY;
}

/*
 * Kernel log: remember the end of /dev/kmsg, later look for a message
 * logged after that point.
 */
static inline int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * True when a record read from @fd contains @needle, and @also unless it is
 * NULL. Consumes the records it reads.
 */
static inline bool kmsg_find(int fd, const char *needle, const char *also)
{
	char rec[8192];
	bool found = false;
	ssize_t len;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records, go on */
		if (len <= 0)
			break;
		rec[len] = '\0';
		if (strstr(rec, needle) && (!also || strstr(rec, also)))
			found = true;
	}
	return found;
}

/*
 * Test environment for the OOM tests: a cgroup v2 child of the root with the
 * memory controller, and the OOM sysctls, each undone only if changed. On a
 * kernel without the pardon (@pardon false) vm.oom_pardon_max_kb does not
 * exist and is left alone.
 */
struct oom_env {
	char root[256];
	char cg[512];
	bool pardon;			/* the kernel has the OOM pardon */
	bool cg_made;
	bool memory_enabled;
	long saved_max_kb;		/* LONG_MIN: not changed */
	long saved_alloc_task;		/* LONG_MIN: not changed */
	char error[1024];
};

/*
 * NULL when an OOM test can run here, else why it cannot. A test that
 * @needs_pardon cannot run on a kernel without the pardon; a control scene
 * (nobody pardoned) can, and then sees the stock kernel's outcome.
 */
static inline const char *oom_env_missing(struct oom_env *env,
					  bool needs_pardon)
{
	env->pardon = pardon_supported();
	if (needs_pardon && !env->pardon)
		return "kernel without PR_GET_OOM_PARDON (prctl 83)";
	if (geteuid() != 0)
		return "needs root";
	if (!cg2_memory_root(env->root, sizeof(env->root)))
		return "no cgroup v2 mount with the memory controller";
	if (env->pardon && access(OOM_PARDON_MAX_KB, W_OK))
		return "no writable " OOM_PARDON_MAX_KB;
	if (access(OOM_KILL_ALLOCATING_TASK, W_OK))
		return "no writable " OOM_KILL_ALLOCATING_TASK;
	return NULL;
}

/*
 * oom_pardon_spare from /proc/vmstat (-1 if it is missing there), or 0 on a
 * kernel without the pardon, which has no such counter: a control scene's
 * checks of it then hold trivially.
 */
static inline long pardon_spare(const struct oom_env *env)
{
	return env->pardon ? vmstat_read("oom_pardon_spare ") : 0;
}

/*
 * Undo what oom_env_setup() did; env->error says what could not be undone,
 * or is empty.
 */
static inline void oom_env_undo(struct oom_env *env)
{
	char procs[256] = "";
	int err = 0;

	env->error[0] = '\0';
	if (env->cg_made) {
		err = cg_destroy(env->cg);
		if (!err)
			env->cg_made = false;
	}
	if (env->memory_enabled &&
	    !cg_write(env->root, "cgroup.subtree_control", "-memory"))
		env->memory_enabled = false;
	if (env->saved_max_kb != LONG_MIN &&
	    !write_long(OOM_PARDON_MAX_KB, env->saved_max_kb))
		env->saved_max_kb = LONG_MIN;
	if (env->saved_alloc_task != LONG_MIN &&
	    !write_long(OOM_KILL_ALLOCATING_TASK, env->saved_alloc_task))
		env->saved_alloc_task = LONG_MIN;

	if (env->cg_made) {
		cg_read_text(env->cg, "cgroup.procs", procs, sizeof(procs));
		snprintf(env->error, sizeof(env->error),
			 "could not remove %s (%s), cgroup.procs: %s", env->cg,
			 strerror(-err), procs);
	} else if (env->saved_max_kb != LONG_MIN ||
		   env->saved_alloc_task != LONG_MIN) {
		snprintf(env->error, sizeof(env->error),
			 "could not restore the vm.oom_* sysctls");
	}
}

/* Say what failed in env->error, undo the setup so far and return -1. */
static inline int __printf(2, 3)
oom_env_fail(struct oom_env *env, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	size_t len;

	oom_env_undo(env);
	va_start(ap, fmt);
	vsnprintf(env->error, sizeof(env->error), fmt, ap);
	va_end(ap);
	len = strlen(env->error);
	snprintf(env->error + len, sizeof(env->error) - len, " (%s)",
		 strerror(err));
	return -1;
}

/*
 * Set the sysctls and create cgroup @name with memory.max @max (NULL: no
 * limit) and no swap; @max_kb only applies to a kernel with the pardon. On
 * failure everything done so far is undone and env->error says what failed.
 * Call oom_env_missing() first.
 */
static inline int oom_env_setup(struct oom_env *env, const char *name,
				const char *max, long max_kb, long alloc_task)
{
	char path[512], ctl[512];

	env->cg_made = false;
	env->memory_enabled = false;
	env->saved_max_kb = LONG_MIN;
	env->saved_alloc_task = LONG_MIN;

	if (env->pardon) {
		env->saved_max_kb = read_long(OOM_PARDON_MAX_KB);
		if (write_long(OOM_PARDON_MAX_KB, max_kb))
			return oom_env_fail(env, "writing %ld to %s", max_kb,
					    OOM_PARDON_MAX_KB);
	}
	env->saved_alloc_task = read_long(OOM_KILL_ALLOCATING_TASK);
	if (write_long(OOM_KILL_ALLOCATING_TASK, alloc_task))
		return oom_env_fail(env, "writing %ld to %s", alloc_task,
				    OOM_KILL_ALLOCATING_TASK);

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", env->root);
	if (read_text(path, ctl, sizeof(ctl)) < 0)
		return oom_env_fail(env, "reading %s", path);
	if (!strstr(ctl, "memory")) {
		if (write_text(path, "+memory"))
			return oom_env_fail(env, "writing +memory to %s", path);
		env->memory_enabled = true;
	}

	snprintf(env->cg, sizeof(env->cg), "%s/%s.%d", env->root, name,
		 getpid());
	if (mkdir(env->cg, 0755))
		return oom_env_fail(env, "mkdir %s", env->cg);
	env->cg_made = true;
	if (max && cg_write(env->cg, "memory.max", max))
		return oom_env_fail(env, "writing %s to %s/memory.max", max,
				    env->cg);
	if (cg_has_file(env->cg, "memory.swap.max") &&
	    cg_write(env->cg, "memory.swap.max", "0"))
		return oom_env_fail(env, "writing 0 to %s/memory.swap.max",
				    env->cg);
	return 0;
}

/*
 * A child process with a part in an OOM scene. It joins the cgroup, sets
 * its own oom_score_adj, pardons itself (the prctl acts on current only),
 * touches @touch bytes and reports 'r' (ready). On 'g' (go) it allocates
 * up to @grow more bytes, 1 MiB at a time, and reports 'd' (done). It
 * exits when the parent closes its end of the control pipe or dies.
 */
struct member {
	const char *comm;
	const char *cg;
	int adj;
	bool pardon;
	size_t touch;
	size_t grow;
	pid_t pid;	/* 0 once reaped */
	int status;	/* wait status once reaped */
	int ctl;	/* parent writes */
	int rep;	/* parent reads */
};

static inline void member_fail(int rep, char why)
{
	if (write(rep, &why, 1) != 1)
		_exit(2);
	_exit(1);
}

static inline void member_main(struct member *m, pid_t parent, int ctl,
			       int rep)
{
	size_t done;
	char c;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	prctl(PR_SET_NAME, m->comm, 0, 0, 0);
	if (m->cg && cg_write(m->cg, "cgroup.procs", "0"))
		member_fail(rep, 'c');
	if (set_oom_score_adj(getpid(), m->adj))
		member_fail(rep, 'a');
	if (m->pardon && pardon_set(1))
		member_fail(rep, 'p');
	if (m->touch && touch_anon(m->touch) == MAP_FAILED)
		member_fail(rep, 'm');
	if (write(rep, "r", 1) != 1)
		_exit(1);
	if (read(ctl, &c, 1) != 1)
		_exit(0);
	/*
	 * Pin the code that allocates: otherwise, without swap, reclaim can
	 * thrash on it (evict, refault, evict) for minutes, under emulation,
	 * before the OOM killer is called at all.
	 */
	if (m->grow)
		mlockall(MCL_CURRENT);
	for (done = 0; done < m->grow; done += MB(1))
		if (touch_anon(MB(1)) == MAP_FAILED)
			member_fail(rep, 'm');
	if (write(rep, "d", 1) != 1)
		_exit(1);
	while (read(ctl, &c, 1) > 0)
		;
	_exit(0);
}

/*
 * Wait up to @secs for one byte from @m: returns it, 0 on EOF (the member
 * died) or -1 on timeout.
 */
static inline int member_report(struct member *m, int secs)
{
	struct pollfd pfd = { .fd = m->rep, .events = POLLIN };
	char c;
	int ret;

	do {
		ret = poll(&pfd, 1, secs * 1000);
	} while (ret < 0 && errno == EINTR);
	if (ret <= 0)
		return -1;
	return read(m->rep, &c, 1) == 1 ? c : 0;
}

/*
 * Fork @m and wait until it is ready: 0, or what member_report() read
 * instead of 'r' (see member_why()).
 */
static inline int member_start(struct member *m, int secs)
{
	pid_t parent = getpid();
	int ctl[2], rep[2], ret;

	m->pid = -1;
	m->ctl = -1;
	m->rep = -1;
	if (pipe(ctl))
		return -1;
	if (pipe(rep)) {
		close(ctl[0]);
		close(ctl[1]);
		return -1;
	}
	m->pid = fork();
	if (m->pid == 0) {
		close(ctl[1]);
		close(rep[0]);
		member_main(m, parent, ctl[0], rep[1]);
	}
	close(ctl[0]);
	close(rep[1]);
	m->ctl = ctl[1];
	m->rep = rep[0];
	if (m->pid < 0)
		return -1;
	ret = member_report(m, secs);
	return ret == 'r' ? 0 : ret;
}

/* Why member_start() failed, from its return value. */
static inline const char *member_why(int ret)
{
	switch (ret) {
	case 'c':
		return "cannot join the cgroup";
	case 'a':
		return "cannot set oom_score_adj";
	case 'p':
		return "cannot pardon itself";
	case 'm':
		return "cannot map memory";
	case 0:
		return "died before it was ready";
	case -1:
		return "not ready in time";
	default:
		return "unexpected report";
	}
}

static inline int member_go(struct member *m)
{
	return write(m->ctl, "g", 1) == 1 ? 0 : -1;
}

/* Wait up to @secs for @m to end and reap it; 0, or -1 if still alive. */
static inline int member_wait_exit(struct member *m, int secs)
{
	if (m->pid <= 0)
		return m->pid ? -1 : 0;
	if (wait_child(m->pid, secs, &m->status))
		return -1;
	m->pid = 0;
	return 0;
}

/* True while @m has neither exited nor been killed. */
static inline bool member_alive(struct member *m)
{
	return member_wait_exit(m, 0) != 0;
}

/* True when @m ended by SIGKILL, as an OOM victim does. */
static inline bool member_oom_killed(struct member *m)
{
	return !m->pid && killed_by_sigkill(m->status);
}

/* Let @m exit (if still alive) and reap it. */
static inline void member_stop(struct member *m)
{
	if (m->ctl >= 0)
		close(m->ctl);
	if (m->rep >= 0)
		close(m->rep);
	m->ctl = -1;
	m->rep = -1;
	if (m->pid > 0 && member_wait_exit(m, 10)) {
		kill(m->pid, SIGKILL);
		member_wait_exit(m, 10);
	}
}

/* MemAvailable from /proc/meminfo in KiB, or -1. */
static inline long mem_available_kb(void)
{
	return read_key("/proc/meminfo", "MemAvailable:");
}

#endif /* __OOM_PARDON_H */
