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
#include <dirent.h>
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

/*
 * Older kselftest harnesses (Linux 6.1's) lack what these tests use:
 * FIXTURE_TEARDOWN_PARENT (the teardown then runs in the test's own
 * process, as FIXTURE_TEARDOWN does), and a SKIP() in FIXTURE_SETUP that
 * stops the test (theirs goes on to run its body).  Newer harnesses define
 * both and are used as they are.  (__printf, which 6.1's harness lacks
 * too, is not used: checkpatch refuses both an empty stub and the
 * attribute spelled out.)
 */
#if defined(__KSELFTEST_HARNESS_H) && !defined(FIXTURE_TEARDOWN_PARENT)
#define FIXTURE_TEARDOWN_PARENT(fixture_name) FIXTURE_TEARDOWN(fixture_name)
#undef SKIP
#define SKIP(statement, fmt, ...) do { \
	snprintf(_metadata->results->reason, \
		 sizeof(_metadata->results->reason), fmt, ##__VA_ARGS__); \
	if (TH_LOG_ENABLED) \
		fprintf(TH_LOG_STREAM, "#      SKIP      %s\n", \
			_metadata->results->reason); \
	_metadata->passed = 0; \
	_metadata->skip = 1; \
	_metadata->trigger = 0; \
	statement; \
} while (0)
#endif

#ifndef PR_SET_OOM_PARDON
#define PR_SET_OOM_PARDON 82
#endif
#ifndef PR_GET_OOM_PARDON
#define PR_GET_OOM_PARDON 83
#endif

#define OOM_PARDON_BUDGET	"/proc/sys/vm/oom_pardon_budget_kbytes"
#define OOM_PARDON_BUDGET_DEFAULT	262144L
#define OOM_PARDON_USAGE	"/proc/sys/vm/oom_pardon_usage_kbytes"
/* The per-process bound of the first version of the series, now gone. */
#define OOM_PARDON_OLD_MAX_KB	"/proc/sys/vm/oom_pardon_max_kb"
#define OOM_KILL_ALLOCATING_TASK "/proc/sys/vm/oom_kill_allocating_task"
#define MB(x)			((size_t)(x) << 20)

/*
 * What the kernel's lines about the pardon say (SPEC section 2); every one
 * of them starts with LOG_PARDON. A domain over its budget, ratelimited:
 * LOG_OVER_BUDGET. The last resort's kill: LOG_LAST_RESORT. The summary
 * after an OOM report whose selection passed over pardoned processes
 * (how many, how much, the budget): LOG_SUMMARY.
 */
#define LOG_PARDON		"oom_pardon: "
#define LOG_OVER_BUDGET		"over vm.oom_pardon_budget_kbytes"
#define LOG_LAST_RESORT		"last resort"
#define LOG_SUMMARY		"passed over"

static inline int pardon_get(void)
{
	return prctl(PR_GET_OOM_PARDON, 0, 0, 0, 0);
}

static inline int pardon_set(unsigned long on)
{
	return prctl(PR_SET_OOM_PARDON, on, 0, 0, 0);
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

/*
 * True when the running kernel has the OOM pardon: the OomPardon: line of
 * /proc/self/status first (the prctl numbers are provisional and could
 * mean something else on another kernel), then PR_GET_OOM_PARDON.
 */
static inline bool pardon_supported(void)
{
	char buf[8192];

	if (read_text("/proc/self/status", buf, sizeof(buf)) < 0 ||
	    !strstr(buf, "\nOomPardon:\t"))
		return false;
	return pardon_get() >= 0 || errno != EINVAL;
}

/* Why pardon_supported() is false, for a SKIP. */
#define NO_PARDON \
	"kernel without the OOM pardon (no OomPardon: line in /proc/self/status, or no prctl 83)"

/* True when the pardon is bounded by the budget of SPEC section 2. */
static inline bool budget_supported(void)
{
	return !access(OOM_PARDON_BUDGET, F_OK);
}

#define NO_BUDGET \
	"kernel with the pardon but without " OOM_PARDON_BUDGET \
	" (the per-process bound of the first series)"

static inline int write_long(const char *path, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", val);
	return write_text(path, buf);
}

/*
 * Safe by default on a shared machine or a CI farm. A scene that reaches
 * beyond the cgroup it makes runs only when asked, the way other kselftests
 * gate what a farm may not want run by default: with OOM_PARDON_DESTRUCTIVE=1
 * in the environment. That is a whole-machine OOM (the OOM killer may pick
 * any process of the machine: the test runner, a farm's shell or its
 * network), SysRq-f, and any change to a system-wide sysctl
 * (vm.oom_pardon_budget_kbytes, vm.oom_kill_allocating_task) that every
 * other OOM of the machine sees while the scene runs. Such a scene also
 * needs a kernel with the pardon: on one without it, it proves nothing. The
 * scenes confined to their own small memcg, with the sysctls as they are,
 * run everywhere.
 */
#define OOM_PARDON_DESTRUCTIVE	"OOM_PARDON_DESTRUCTIVE"

static inline bool destructive_allowed(void)
{
	const char *val = getenv(OOM_PARDON_DESTRUCTIVE);

	return val && !strcmp(val, "1");
}

/*
 * NULL when a scene that does @what (for the skip reason) may run here,
 * else why not, written into @buf.
 */
static inline const char *intrusive_refused(const char *what, char *buf,
					    size_t size)
{
	if (!pardon_supported())
		snprintf(buf, size, "%s: runs only on a kernel with the OOM pardon",
			 what);
	else if (!destructive_allowed())
		snprintf(buf, size,
			 "%s: runs only with " OOM_PARDON_DESTRUCTIVE
			 "=1 in the environment (see README)", what);
	else
		return NULL;
	return buf;
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

	/*
	 * At most 60 s: a killed process with a large mm took over 10 s to
	 * leave on a TCG guest sharing two host cores with two other guests.
	 */
	for (i = 0; i < 1200; i++) {
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
 * The safety net: the program's first process notes the two sysctls before
 * any test and, when it exits, is killed by SIGTERM (run_kselftest.sh's
 * timeout) or SIGINT, puts back what it found and removes the cgroups a
 * scene left (their processes killed with cgroup.kill). A scene the
 * harness kills on its own timeout never gets its teardown; this covers it
 * too. The cgroups are noted on a page shared with the tests' processes.
 */
#define GUARD_CGROUPS	4
static const char *const sysctl_guarded[] = {
	OOM_PARDON_BUDGET, OOM_KILL_ALLOCATING_TASK,
};

static char sysctl_saved[2][32];
static pid_t guard_pid;
static char (*guard_cg)[512];	/* shared: GUARD_CGROUPS paths */

/* Note cgroup @cg (made by a scene) for the safety net, or forget it. */
static inline void guard_cgroup(const char *cg, bool made)
{
	int i;

	for (i = 0; guard_cg && i < GUARD_CGROUPS; i++) {
		if (made && !guard_cg[i][0]) {
			snprintf(guard_cg[i], sizeof(guard_cg[i]), "%s", cg);
			return;
		}
		if (!made && !strcmp(guard_cg[i], cg))
			guard_cg[i][0] = '\0';
	}
}

static inline void guard_put_back(void)
{
	char now[32];
	size_t i;
	int fd;

	if (getpid() != guard_pid)
		return;
	for (i = 0; guard_cg && i < GUARD_CGROUPS; i++) {
		if (guard_cg[i][0] && !cg_destroy(guard_cg[i]))
			guard_cg[i][0] = '\0';
	}
	for (i = 0; i < 2; i++) {
		if (!sysctl_saved[i][0] ||
		    (read_text(sysctl_guarded[i], now, sizeof(now)) >= 0 &&
		     !strcmp(now, sysctl_saved[i])))
			continue;
		fd = open(sysctl_guarded[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, sysctl_saved[i], strlen(sysctl_saved[i])) < 0)
			sysctl_saved[i][0] = '\0';
		close(fd);
	}
}

static void guard_signal(int sig)
{
	guard_put_back();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void __attribute__((destructor)) guard_exit(void)
{
	guard_put_back();
}

static void __attribute__((constructor)) guard_init(void)
{
	void *page;
	size_t i;

	guard_pid = getpid();
	page = mmap(NULL, GUARD_CGROUPS * sizeof(*guard_cg),
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	guard_cg = page == MAP_FAILED ? NULL : page;
	for (i = 0; i < 2; i++)
		if (read_text(sysctl_guarded[i], sysctl_saved[i],
			      sizeof(sysctl_saved[i])) < 0)
			sysctl_saved[i][0] = '\0';
	signal(SIGTERM, guard_signal);
	signal(SIGINT, guard_signal);
}

/* Seconds since an arbitrary start, for deadlines. */
static inline double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Create cgroup @name.PID under @parent into @cg; 0 or -errno. */
static inline int cg_create(const char *parent, const char *name, char *cg,
			    size_t size)
{
	snprintf(cg, size, "%s/%s.%d", parent, name, getpid());
	return mkdir(cg, 0755) ? -errno : 0;
}

static inline long cg_oom_kills(const char *cg)
{
	return cg_read_key(cg, "memory.events", "oom_kill ");
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
 * The kernel log since kmsg_start(): the message text of every record, one
 * a line, kept so that a scene can ask several questions about it.
 */
struct kmsg_log {
	int fd;
	char *text;
	size_t len, size;
};

static inline int kmsg_start(struct kmsg_log *log)
{
	log->text = NULL;
	log->len = 0;
	log->size = 0;
	log->fd = kmsg_open_at_end();
	return log->fd < 0 ? -1 : 0;
}

/* Read what the kernel logged since the last call. */
static inline void kmsg_update(struct kmsg_log *log)
{
	char rec[8192], *msg, *grown;
	ssize_t len;
	size_t mlen;

	if (log->fd < 0)
		return;
	for (;;) {
		len = read(log->fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;
		if (len <= 0)
			break;
		rec[len] = '\0';
		/* "prio,seq,time,flags;message\n continuation lines" */
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		mlen = strcspn(msg, "\n");
		if (log->len + mlen + 2 > log->size) {
			size_t size = log->size ? log->size * 2 : 1 << 16;

			while (size < log->len + mlen + 2)
				size *= 2;
			grown = realloc(log->text, size);
			if (!grown)
				break;
			log->text = grown;
			log->size = size;
		}
		memcpy(log->text + log->len, msg, mlen);
		log->len += mlen;
		log->text[log->len++] = '\n';
		log->text[log->len] = '\0';
	}
}

/*
 * How many lines logged since kmsg_start() contain @needle, and @also unless
 * it is NULL; with @line non-NULL, the first of them is copied there.
 */
static inline int kmsg_count(struct kmsg_log *log, const char *needle,
			     const char *also, char *line, size_t size)
{
	const char *p, *end;
	int n = 0;

	kmsg_update(log);
	for (p = log->text; p && *p; p = end + 1) {
		char buf[1024];
		size_t l;

		end = strchr(p, '\n');
		if (!end)
			break;
		l = end - p < (long)sizeof(buf) - 1 ? (size_t)(end - p) :
			sizeof(buf) - 1;
		memcpy(buf, p, l);
		buf[l] = '\0';
		if (!strstr(buf, needle) || (also && !strstr(buf, also)))
			continue;
		if (!n && line && size) {
			l = l < size ? l : size - 1;
			memcpy(line, buf, l);
			line[l] = '\0';
		}
		n++;
	}
	return n;
}

/* How many times the kernel logged "Killed process PID (" since the start. */
static inline int kmsg_killed(struct kmsg_log *log, pid_t pid)
{
	char needle[48];

	snprintf(needle, sizeof(needle), "Killed process %d (", pid);
	return kmsg_count(log, needle, NULL, NULL, 0);
}

/*
 * kmsg_killed() once the line is there, waiting up to @secs for it: the
 * kernel logs a kill after sending the signal, so the victim can be gone
 * before its line is.
 */
static inline int kmsg_wait_killed(struct kmsg_log *log, pid_t pid, int secs)
{
	double end = now_secs() + secs;
	int n;

	while (!(n = kmsg_killed(log, pid)) && now_secs() < end)
		nap_ms(50);
	return n;
}

/*
 * How many OOMs in the log a task other than @comm invoked. On a real
 * system an allocator that the oom_kill_allocating_task shortcut passes by
 * (at -1000, or PID 1) invokes OOMs too, which then pick their victim the
 * usual way: a scene's bystander may die in one.
 */
static inline int kmsg_ooms_of_others(struct kmsg_log *log, const char *comm)
{
	return kmsg_count(log, "invoked oom-killer", NULL, NULL, 0) -
	       kmsg_count(log, "invoked oom-killer", comm, NULL, 0);
}

/*
 * The OOM that killed @pid, from its report: 1 if it passed over pardoned
 * processes within the budget (their KiB in @kb), 0 if it passed over
 * none, -1 if the log holds no report of that kill (not killed, or the
 * report was ratelimited).
 */
static inline int kmsg_kill_spared(struct kmsg_log *log, pid_t pid, long *kb)
{
	const char *p, *end, *q;
	bool report = false, spared = false;
	char killed[48];

	snprintf(killed, sizeof(killed), "Killed process %d (", pid);
	kmsg_update(log);
	for (p = log->text; p && *p; p = end + 1) {
		end = strchr(p, '\n');
		if (!end)
			break;
		q = memmem(p, end - p, "invoked oom-killer", 18);
		if (q) {
			report = true;
			spared = false;
		}
		q = memmem(p, end - p, LOG_PARDON LOG_SUMMARY " ",
			   strlen(LOG_PARDON LOG_SUMMARY " "));
		if (q && report) {
			q = memmem(q, end - q, " using ", 7);
			spared = q && sscanf(q, " using %ldkB", kb) == 1;
		}
		if (memmem(p, end - p, killed, strlen(killed)))
			return report ? spared : -1;
	}
	return -1;
}

static inline void kmsg_stop(struct kmsg_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	free(log->text);
	log->fd = -1;
	log->text = NULL;
}

/* At most the last @max characters of the log, for a TH_LOG. */
static inline const char *kmsg_tail(struct kmsg_log *log, size_t max)
{
	kmsg_update(log);
	if (!log->text)
		return "(nothing logged)";
	return log->len > max ? log->text + log->len - max : log->text;
}

/*
 * Test environment for the OOM tests: a cgroup v2 child of the root with the
 * memory controller, and the OOM sysctls, each restored only if changed. On
 * a kernel without the budget sysctl it is left alone (control scenes only).
 */
struct oom_env {
	char root[256];
	char cg[512];
	bool pardon;			/* the kernel has the OOM pardon */
	bool budget;			/* ... bounded by the budget */
	bool cg_made;
	bool memory_enabled;
	long saved_budget;		/* LONG_MIN: not changed */
	long saved_alloc_task;		/* LONG_MIN: not changed */
	char error[1024];
};

/*
 * NULL when an OOM test can run here, else why it cannot. A test that
 * @needs_pardon cannot run on a kernel without the pardon and its budget; a
 * control scene (nobody pardoned) can, and then sees the stock kernel's
 * outcome.
 */
static inline const char *oom_env_missing(struct oom_env *env,
					  bool needs_pardon)
{
	env->pardon = pardon_supported();
	env->budget = env->pardon && budget_supported();
	env->cg_made = false;
	env->memory_enabled = false;
	env->saved_budget = LONG_MIN;
	env->saved_alloc_task = LONG_MIN;
	env->error[0] = '\0';
	if (needs_pardon && !env->pardon)
		return NO_PARDON;
	if (needs_pardon && !env->budget)
		return NO_BUDGET;
	if (geteuid() != 0)
		return "needs root";
	if (!cg2_memory_root(env->root, sizeof(env->root)))
		return "no cgroup v2 mount with the memory controller";
	if (env->budget && access(OOM_PARDON_BUDGET, W_OK))
		return "no writable " OOM_PARDON_BUDGET;
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

/* Set the budget (kernels with it only), remembering the old value once. */
static inline int oom_env_budget(struct oom_env *env, long kbytes)
{
	if (!env->budget)
		return 0;
	if (env->saved_budget == LONG_MIN)
		env->saved_budget = read_long(OOM_PARDON_BUDGET);
	return write_long(OOM_PARDON_BUDGET, kbytes);
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
		if (!err) {
			env->cg_made = false;
			guard_cgroup(env->cg, false);
		}
	}
	if (env->memory_enabled &&
	    !cg_write(env->root, "cgroup.subtree_control", "-memory"))
		env->memory_enabled = false;
	if (env->saved_budget != LONG_MIN &&
	    !write_long(OOM_PARDON_BUDGET, env->saved_budget))
		env->saved_budget = LONG_MIN;
	if (env->saved_alloc_task != LONG_MIN &&
	    !write_long(OOM_KILL_ALLOCATING_TASK, env->saved_alloc_task))
		env->saved_alloc_task = LONG_MIN;

	if (env->cg_made) {
		cg_read_text(env->cg, "cgroup.procs", procs, sizeof(procs));
		snprintf(env->error, sizeof(env->error),
			 "could not remove %s (%s), cgroup.procs: %s", env->cg,
			 strerror(-err), procs);
	} else if (env->saved_budget != LONG_MIN ||
		   env->saved_alloc_task != LONG_MIN) {
		snprintf(env->error, sizeof(env->error),
			 "could not restore the vm.oom_* sysctls");
	}
}

/* Say what failed in env->error, undo the setup so far and return -1. */
static inline int
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

/* Turn the memory controller on for the children of env->root. */
static inline int oom_env_memory(struct oom_env *env)
{
	char path[512], ctl[512];

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", env->root);
	if (read_text(path, ctl, sizeof(ctl)) < 0)
		return oom_env_fail(env, "reading %s", path);
	if (!strstr(ctl, "memory")) {
		if (write_text(path, "+memory"))
			return oom_env_fail(env, "writing +memory to %s", path);
		env->memory_enabled = true;
	}
	return 0;
}

/* memory.max @max (NULL: no limit) and no swap for cgroup @cg. */
static inline int cg_limit(const char *cg, const char *max)
{
	if (max && cg_write(cg, "memory.max", max))
		return -1;
	if (cg_has_file(cg, "memory.swap.max") &&
	    cg_write(cg, "memory.swap.max", "0"))
		return -1;
	return 0;
}

/* MemAvailable from /proc/meminfo in KiB, or -1. */
static inline long mem_available_kb(void)
{
	return read_key("/proc/meminfo", "MemAvailable:");
}

static inline long mem_total_kb(void)
{
	return read_key("/proc/meminfo", "MemTotal:");
}

/*
 * Wait up to @secs for MemAvailable to stop growing: true once it grew by
 * less than 1 MiB over 300 ms. Since Linux 7.x the memory of processes
 * just killed (an earlier scene's cgroup.kill) may come back some hundred
 * milliseconds after their cgroup could be removed; a scene that sizes
 * itself by MemAvailable must not count it as used.
 */
static inline bool mem_settle(int secs)
{
	double end = now_secs() + secs;
	long last = mem_available_kb(), avail;
	int calm = 0;

	while (calm < 3) {
		if (now_secs() > end)
			return false;
		nap_ms(100);
		avail = mem_available_kb();
		calm = avail - last < 1024 ? calm + 1 : 0;
		if (avail - last >= 1024)
			last = avail;
	}
	return true;
}

/* oom_env_setup()'s @budget_kb when the test body sets the budget itself. */
#define BUDGET_SET_LATER	(-1L)

/*
 * NULL when the scene oom_env_setup() would set up with the same arguments
 * may run here, else why not (see OOM_PARDON_DESTRUCTIVE), in env->error.
 */
static inline const char *oom_env_refused(struct oom_env *env,
					  const char *max, long budget_kb,
					  long alloc_task)
{
	char what[128];

	if (!max)
		snprintf(what, sizeof(what), "a whole-machine OOM");
	else if (env->budget && budget_kb == BUDGET_SET_LATER)
		snprintf(what, sizeof(what), "sets %s", OOM_PARDON_BUDGET);
	else if (env->budget && read_long(OOM_PARDON_BUDGET) != budget_kb)
		snprintf(what, sizeof(what), "sets %s to %ld", OOM_PARDON_BUDGET,
			 budget_kb);
	else if (read_long(OOM_KILL_ALLOCATING_TASK) != alloc_task)
		snprintf(what, sizeof(what), "sets %s to %ld",
			 OOM_KILL_ALLOCATING_TASK, alloc_task);
	else
		return NULL;
	return intrusive_refused(what, env->error, sizeof(env->error));
}

/*
 * Set the sysctls that differ from what the scene needs and create cgroup
 * @name with memory.max @max (NULL: no limit) and no swap; @budget_kb
 * (vm.oom_pardon_budget_kbytes, or BUDGET_SET_LATER) only applies to a
 * kernel with the budget. On failure everything done so far is undone and
 * env->error says what failed. Call oom_env_missing() first, and
 * oom_env_refused(): a scene it refuses skips with env->error.
 */
static inline int oom_env_setup(struct oom_env *env, const char *name,
				const char *max, long budget_kb,
				long alloc_task)
{
	if (budget_kb != BUDGET_SET_LATER && env->budget &&
	    read_long(OOM_PARDON_BUDGET) != budget_kb &&
	    oom_env_budget(env, budget_kb))
		return oom_env_fail(env, "writing %ld to %s", budget_kb,
				    OOM_PARDON_BUDGET);
	if (read_long(OOM_KILL_ALLOCATING_TASK) != alloc_task) {
		env->saved_alloc_task = read_long(OOM_KILL_ALLOCATING_TASK);
		if (write_long(OOM_KILL_ALLOCATING_TASK, alloc_task))
			return oom_env_fail(env, "writing %ld to %s", alloc_task,
					    OOM_KILL_ALLOCATING_TASK);
	}
	if (oom_env_memory(env))
		return -1;
	if (cg_create(env->root, name, env->cg, sizeof(env->cg)))
		return oom_env_fail(env, "mkdir %s", env->cg);
	env->cg_made = true;
	guard_cgroup(env->cg, true);
	if (cg_limit(env->cg, max))
		return oom_env_fail(env, "limiting %s to %s without swap",
				    env->cg, max ? max : "max");
	/* A whole-machine scene: the memory of the last one back first. */
	if (!max && !mem_settle(15)) {
		errno = EBUSY;
		return oom_env_fail(env, "MemAvailable still growing after 15 s");
	}
	return 0;
}

/*
 * A child process with a part in an OOM scene. It joins the cgroup, sets
 * its own oom_score_adj, pardons itself (the prctl acts on current only),
 * touches @touch bytes (locked first with @lock), runs @setup and reports
 * 'r' (ready). On 'g' (go)
 * it allocates up to @grow more bytes, 1 MiB at a time, and reports 'd'
 * (done); with @kills set it stops as soon as that counter (memory.events
 * or /proc/vmstat "oom_kill ") moved and reports 'k' instead. It exits when
 * the parent closes its end of the control pipe or dies.
 */
struct member {
	const char *comm;
	const char *cg;
	int adj;
	bool pardon;
	bool lock;	/* mlockall before touching: no thrash of its text */
	size_t touch;
	size_t grow;
	const char *kills;	/* file with an "oom_kill " line, or NULL */
	/* Run by the member before it is ready (0: fine); @arg is theirs. */
	int (*setup)(struct member *m);
	/* Run by the member on 'g' instead of growing; reports itself. */
	void (*go)(struct member *m, int rep);
	void *arg;
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
	long kills0 = 0;
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
	if (m->lock && mlockall(MCL_CURRENT | MCL_FUTURE))
		member_fail(rep, 'l');
	if (m->touch && touch_anon(m->touch) == MAP_FAILED)
		member_fail(rep, 'm');
	if (m->setup && m->setup(m))
		member_fail(rep, 's');
	if (write(rep, "r", 1) != 1)
		_exit(1);
	if (read(ctl, &c, 1) != 1)
		_exit(0);
	if (m->go) {
		m->go(m, rep);
		while (read(ctl, &c, 1) > 0)
			;
		_exit(0);
	}
	/*
	 * Pin the code that allocates: otherwise, without swap, reclaim can
	 * thrash on it (evict, refault, evict) for minutes, under emulation,
	 * before the OOM killer is called at all.
	 */
	if (m->grow && !m->lock)
		mlockall(MCL_CURRENT);
	if (m->kills)
		kills0 = read_key(m->kills, "oom_kill ");
	for (done = 0; done < m->grow; done += MB(1)) {
		if (m->kills && read_key(m->kills, "oom_kill ") != kills0)
			break;
		if (touch_anon(MB(1)) == MAP_FAILED)
			member_fail(rep, 'm');
	}
	if (write(rep, done < m->grow ? "k" : "d", 1) != 1)
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
	if (pipe2(ctl, O_CLOEXEC))
		return -1;
	if (pipe2(rep, O_CLOEXEC)) {
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
	case 'l':
		return "cannot lock its memory";
	case 'm':
		return "cannot map memory";
	case 's':
		return "its setup failed";
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

/* True while process @pid exists and is not a zombie. */
static inline bool pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return false;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Wait up to @secs for process @pid to be gone; true when it is. */
static inline bool pid_gone(pid_t pid, int secs)
{
	double end = now_secs() + secs;

	while (pid_alive(pid)) {
		if (now_secs() > end)
			return false;
		nap_ms(50);
	}
	return true;
}

/*
 * Wait up to 5 s (the documented staleness bound of the global sum is
 * shorter) for /proc/@pid/oom_score to be 0 (@zero) or not; its last value.
 */
static inline long oom_score_settles(pid_t pid, bool zero)
{
	double end = now_secs() + 5;
	long score;

	for (;;) {
		score = proc_long(pid, "oom_score");
		if (!score == zero || now_secs() > end)
			return score;
		nap_ms(50);
	}
}

/* Wait up to 5 s for vm.oom_pardon_usage_kbytes above @kb; its value. */
static inline long usage_above(long kb)
{
	double end = now_secs() + 5;
	long usage;

	for (;;) {
		usage = read_long(OOM_PARDON_USAGE);
		if (usage > kb || now_secs() > end)
			return usage;
		nap_ms(50);
	}
}

/*
 * The badness baseline of @pid the way SPEC section 2 counts it (rss, swap
 * entries and page tables) in KiB, computed from the page tables
 * (smaps_rollup) rather than from the per-CPU approximations of the rss
 * counters; -1 on error.
 */
static inline long baseline_kb(pid_t pid)
{
	char path[64];
	long rss, swap, pte;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	rss = read_key(path, "Rss:");
	swap = read_key(path, "Swap:");
	pte = status_key(pid, "VmPTE:");
	if (rss < 0 || pte < 0)
		return -1;
	return rss + (swap > 0 ? swap : 0) + pte;
}

/* The pid of the first "Killed process PID" since kmsg_start(), or 0. */
static inline pid_t kmsg_first_victim(struct kmsg_log *log)
{
	const char *p;

	kmsg_update(log);
	p = log->text ? strstr(log->text, "Killed process ") : NULL;
	return p ? strtol(p + strlen("Killed process "), NULL, 10) : 0;
}

/* A child of @parent (PPid: in /proc/PID/status), or 0 if none. */
static inline pid_t child_of(pid_t parent)
{
	struct dirent *d;
	pid_t pid, found = 0;
	DIR *proc;

	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!found && (d = readdir(proc))) {
		pid = strtol(d->d_name, NULL, 10);
		if (pid > 0 && status_key(pid, "PPid:") == parent)
			found = pid;
	}
	closedir(proc);
	return found;
}

/*
 * A swarm: a process that pardons itself (or not) in @cg and forks @n
 * children that inherit it. Each child locks and touches @size bytes,
 * 1 MiB at a time, writes 'd' on the done pipe and waits to be killed.
 */
#define SWARM_MAX	16

struct swarm {
	pid_t pid;		/* the swarm's parent */
	int n;
	pid_t child[SWARM_MAX];
	int done;		/* read end: one 'd' per child done */
	int finished;		/* children done so far */
};

static inline void swarm_main(const char *cg, bool pardon, int n,
			      size_t size, int pids, int done)
{
	pid_t parent = getppid(), child;
	size_t touched;
	int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "op_swarm", 0, 0, 0);
	signal(SIGCHLD, SIG_IGN);	/* no zombies: a dead child is gone */
	/* Not the -1000 of a test process that protects itself. */
	if (cg_write(cg, "cgroup.procs", "0") ||
	    set_oom_score_adj(getpid(), 0) || (pardon && pardon_set(1)))
		_exit(1);
	for (i = 0; i < n; i++) {
		child = fork();
		if (child < 0)
			_exit(1);
		if (child) {
			if (write(pids, &child, sizeof(child)) != sizeof(child))
				_exit(1);
			continue;
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "op_swarm_child", 0, 0, 0);
		close(pids);
		if (mlockall(MCL_CURRENT))
			_exit(1);
		for (touched = 0; touched < size; touched += MB(1))
			if (touch_anon(MB(1)) == MAP_FAILED)
				_exit(1);
		if (write(done, "d", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pids);
	while (getppid() == parent)
		pause();
	_exit(0);
}

/* Start a swarm of @n children of @size bytes; 0 or -1. */
static inline int swarm_start(struct swarm *sw, const char *cg, bool pardon,
			      int n, size_t size)
{
	int pids[2], done[2], i;

	sw->pid = 0;
	sw->n = 0;
	sw->finished = 0;
	sw->done = -1;
	if (n > SWARM_MAX || pipe2(pids, O_CLOEXEC))
		return -1;
	if (pipe2(done, O_CLOEXEC | O_NONBLOCK)) {
		close(pids[0]);
		close(pids[1]);
		return -1;
	}
	sw->pid = fork();
	if (!sw->pid) {
		close(pids[0]);
		close(done[0]);
		swarm_main(cg, pardon, n, size, pids[1], done[1]);
	}
	close(pids[1]);
	close(done[1]);
	sw->done = done[0];
	for (i = 0; sw->pid > 0 && i < n; i++) {
		if (read(pids[0], &sw->child[i], sizeof(pid_t)) !=
		    sizeof(pid_t))
			break;
		sw->n++;
	}
	close(pids[0]);
	return sw->n == n ? 0 : -1;
}

/* Children of the swarm dead so far (after reading the done pipe). */
static inline int swarm_dead(struct swarm *sw)
{
	int i, dead = 0;
	char c;

	while (read(sw->done, &c, 1) == 1)
		sw->finished++;
	for (i = 0; i < sw->n; i++)
		dead += !pid_alive(sw->child[i]);
	return dead;
}

/*
 * Wait up to @secs until every child of the swarm is done or dead; true
 * when they are.
 */
static inline bool swarm_settle(struct swarm *sw, int secs)
{
	double end = now_secs() + secs;

	for (;;) {
		if (sw->finished + swarm_dead(sw) >= sw->n)
			return true;
		if (now_secs() > end)
			return false;
		nap_ms(100);
	}
}

/* Children of the swarm that the kernel log names as OOM victims. */
static inline int swarm_victims(struct swarm *sw, struct kmsg_log *log)
{
	int i, n = 0;

	nap_ms(500);	/* the last kill's line may follow its death */
	for (i = 0; i < sw->n; i++)
		n += kmsg_killed(log, sw->child[i]) > 0;
	return n;
}

static inline void swarm_stop(struct swarm *sw)
{
	if (sw->pid > 0) {
		kill(sw->pid, SIGKILL);
		waitpid(sw->pid, NULL, 0);
	}
	if (sw->done >= 0)
		close(sw->done);
	sw->pid = 0;
	sw->done = -1;
}

#endif /* __OOM_PARDON_H */
