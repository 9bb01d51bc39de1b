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
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	if (len < 0)
		len = -errno;
	else
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
	static char buf[16384];
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

static inline long vmstat(const char *key)
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

	while (loops-- > 0) {
		pid_t ret = waitpid(pid, status, WNOHANG);

		if (ret == pid)
			return 0;
		if (ret < 0)
			return -1;
		nanosleep(&nap, NULL);
	}
	return -1;
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
	char dev[256], dir[PATH_MAX], type[64], path[PATH_MAX + 32];
	char ctrl[1024];
	bool found = false;
	FILE *mounts;

	mounts = fopen("/proc/self/mounts", "re");
	if (!mounts)
		return false;
	while (fscanf(mounts, "%255s %4095s %63s %*[^\n]\n",
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

/* True when a record read from @fd contains @needle; consumes records. */
static inline bool kmsg_find(int fd, const char *needle)
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
		if (strstr(rec, needle))
			found = true;
	}
	return found;
}

#endif /* __OOM_PARDON_H */
