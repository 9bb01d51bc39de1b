// SPDX-License-Identifier: GPL-2.0
/*
 * pardoned: the pardoned workloads of the debug soak and the "nobody
 * killable" scene, run inside a scripts/vm-run guest.
 *
 *   pardoned hog            pardon itself, oom_score_adj 0, then allocate
 *                           1 MiB at a time forever
 *   pardoned hog-min-adj    the same at oom_score_adj -1000, not pardoned
 *   pardoned swarm PIDFILE  pardon, then by turns 6 s with 4 children of
 *                           8 MiB each (each replaced when it dies) and
 *                           2 s without
 *   pardoned churn PIDFILE  forever: set and clear the pardon, fork children
 *                           that set, clear, fork, vfork and exit, with a
 *                           CLONE_VM sharer toggling beside them
 *   pardoned fork PIDFILE   pardon, then fork children that touch memory
 *                           and exit, forever
 *   pardoned exec PIDFILE   pardon, then re-exec itself forever (same pid;
 *                           checks the pardon survived each exec)
 *   pardoned threads PIDFILE  pardon, 4 threads allocating and freeing
 *   pardoned clonevm PIDFILE  pardon, plus a CLONE_VM child sharing the mm
 *   pardoned toggle PIDFILE set and clear its own pardon in a loop (not
 *                           required to survive: it is often unpardoned)
 *
 * Every pardoned process appends "PID ROLE" to PIDFILE; the soak checks at
 * the end that each one is alive and still pardoned. Exit status 2 means
 * the pardon could not be set (no feature, no CAP_SYS_RESOURCE), 3 that a
 * pardon was lost across exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The constants, as lockers get them: tools/oom-pardon's installed header */
#include "oom-pardon.h"

static const char *pidfile;

static void die(int code, const char *what)
{
	fprintf(stderr, "pardoned: %s: %s\n", what, strerror(errno));
	exit(code);
}

static void pardon(unsigned long on)
{
	if (prctl(PR_SET_OOM_PARDON, on, 0, 0, 0))
		die(2, "PR_SET_OOM_PARDON");
}

static void note_pid(pid_t pid, const char *role)
{
	char line[64];
	int fd, len;

	if (!pidfile)
		return;
	fd = open(pidfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die(1, pidfile);
	len = snprintf(line, sizeof(line), "%d %s\n", pid, role);
	if (write(fd, line, len) != len)
		die(1, pidfile);
	close(fd);
}

static void touch(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	munmap(p, len);
}

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void *thread_fn(void *arg)
{
	(void)arg;
	for (;;) {
		touch(256 << 10);
		nap(5);
	}
	return NULL;
}

static char clone_stack[64 << 10] __attribute__((aligned(16)));
static volatile char shared[1 << 20];

static int clone_fn(void *arg)
{
	(void)arg;
	for (;;) {
		for (size_t i = 0; i < sizeof(shared); i += 4096)
			shared[i]++;
		nap(10);
	}
	return 0;
}

/* Touch @len bytes and keep them until killed. */
static void hold(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(1);
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	for (;;)
		pause();
}

/* CLONE_VM sharer of the churn: sets and clears the shared pardon. */
static int toggle_fn(void *arg)
{
	(void)arg;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (unsigned long i = 0;; i++) {
		prctl(PR_SET_OOM_PARDON, i & 1, 0, 0, 0);
		nap(1);
	}
	return 0;
}

/* A churn child: set, clear, fork a grandchild that sets and exits. */
static void churn_child(void)
{
	pid_t pid;

	pardon(1);
	touch(256 << 10);
	pardon(0);
	pardon(1);
	pid = fork();
	if (!pid) {
		pardon(0);
		pardon(1);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	pidfile = argc > 2 ? argv[2] : NULL;
	if (!strcmp(mode, "hog") || !strcmp(mode, "hog-min-adj")) {
		bool min = !strcmp(mode, "hog-min-adj");
		FILE *f = fopen("/proc/self/oom_score_adj", "w");

		if (!f || fprintf(f, min ? "-1000\n" : "0\n") < 0 || fclose(f))
			die(1, "oom_score_adj");
		if (!min)
			pardon(1);
		/* Locked: no slow thrash of its own text before the OOM. */
		if (mlockall(MCL_CURRENT | MCL_FUTURE))
			die(1, "mlockall");
		for (;;) {
			char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				nap(10);
			else
				memset(p, 1, 1 << 20);
		}
	}
	if (!strcmp(mode, "fork")) {
		pardon(1);
		note_pid(getpid(), "fork");
		for (;;) {
			pid_t pid = fork();

			if (!pid) {
				touch(512 << 10);
				_exit(prctl(PR_GET_OOM_PARDON, 0, 0, 0, 0) == 1 ? 0 : 3);
			}
			if (pid > 0)
				waitpid(pid, NULL, 0);
			nap(10);
		}
	}
	if (!strcmp(mode, "exec")) {
		/* argv[3] is set on re-exec: the pardon must have come along. */
		if (argc > 3) {
			if (prctl(PR_GET_OOM_PARDON, 0, 0, 0, 0) != 1)
				die(3, "pardon lost across exec");
		} else {
			pardon(1);
			note_pid(getpid(), "exec");
		}
		touch(1 << 20);
		nap(50);
		execl("/proc/self/exe", argv[0], "exec", pidfile, "again",
		      (char *)NULL);
		die(1, "exec");
	}
	if (!strcmp(mode, "threads")) {
		pthread_t t;

		pardon(1);
		note_pid(getpid(), "threads");
		for (int i = 0; i < 4; i++)
			if (pthread_create(&t, NULL, thread_fn, NULL))
				die(1, "pthread_create");
		thread_fn(NULL);
	}
	if (!strcmp(mode, "clonevm")) {
		pid_t pid;

		pardon(1);
		note_pid(getpid(), "clonevm");
		pid = clone(clone_fn, clone_stack + sizeof(clone_stack),
			    CLONE_VM | SIGCHLD, NULL);
		if (pid < 0)
			die(1, "clone");
		note_pid(pid, "clonevm-child");
		clone_fn(NULL);
	}
	if (!strcmp(mode, "swarm")) {
		pid_t kids[4] = { 0 };

		pardon(1);
		note_pid(getpid(), "swarm");
		/*
		 * By turns 6 s with four children of 8 MiB, each replaced as
		 * soon as it dies (over the soak's budget: no pardon
		 * honoured), and 2 s without them (within it).
		 */
		for (;;) {
			for (int t = 0; t < 60; t++) {
				for (int i = 0; i < 4; i++) {
					if (kids[i] > 0 &&
					    waitpid(kids[i], NULL, WNOHANG) == 0)
						continue;
					kids[i] = fork();
					if (!kids[i])
						hold(8 << 20);
				}
				nap(100);
			}
			for (int i = 0; i < 4; i++) {
				if (kids[i] <= 0)
					continue;
				kill(kids[i], SIGKILL);
				waitpid(kids[i], NULL, 0);
				kids[i] = 0;
			}
			nap(2000);
		}
	}
	if (!strcmp(mode, "churn")) {
		note_pid(getpid(), "churn");
		if (clone(toggle_fn, clone_stack + sizeof(clone_stack),
			  CLONE_VM | SIGCHLD, NULL) < 0)
			die(1, "clone");
		for (unsigned long i = 0;; i++) {
			pid_t pid;

			pardon(i & 1);
			pid = fork();
			if (!pid) {
				churn_child();
				_exit(0);
			}
			if (pid > 0)
				waitpid(pid, NULL, 0);
			pid = vfork();
			if (!pid)
				_exit(0);
			if (pid > 0)
				waitpid(pid, NULL, 0);
			nap(10);
		}
	}
	if (!strcmp(mode, "toggle")) {
		note_pid(getpid(), "toggle");
		for (unsigned long i = 0;; i++) {
			pardon(i & 1);
			touch(128 << 10);
		}
	}
	fprintf(stderr, "usage: pardoned hog|hog-min-adj|fork|exec|threads|clonevm|toggle|swarm|churn [PIDFILE]\n");
	return 1;
}
