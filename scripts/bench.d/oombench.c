// SPDX-License-Identifier: GPL-2.0
/*
 * oombench: guest side of "make bench" (scripts/bench), run as root inside
 * a scripts/vm-run guest with cgroup v2 at /sys/fs/cgroup. Prints CSV
 * lines "bench,..." on stdout; everything else goes to stderr.
 *
 *   oombench path CG N PARDON_PCT OOM_REPS SCORE_REPS HOG_MB
 *	N small sleeping processes in CG/sleepers (PARDON_PCT % of them, or
 *	K with PARDON_PCT "=K", call PR_SET_OOM_PARDON; on a kernel
 *	without it the call fails and is
 *	counted), then OOM_REPS times a hog in CG/hog touches pages until the
 *	memcg OOM kills it: time from the start of the page fault that never
 *	returned (the triggering allocation) to the hog's death (waitpid).
 *	SCORE_REPS times: read /proc/PID/oom_score of every sleeper. Each
 *	loop runs once more first, unrecorded (cold caches).
 *
 *   oombench saves CG KILLS MODE ADJ STRESS_CMD LOCKER_CMD
 *	Start LOCKER_CMD (sh -c, prints one line when it holds its memory) in
 *	CG/locker, write ADJ to its oom_score_adj unless ADJ is "-", then
 *	STRESS_CMD in CG/stress, until CG's memory.events counts KILLS OOM
 *	kills while the locker is up. A locker that dies is started again.
 *	Prints MODE, kills while the locker was up, the locker's deaths, the
 *	time from the start of the pressure to the first kill, the run's
 *	length (us) and all kills.
 *
 *   oombench scene SCENE MODE SECONDS
 *	The whole machine (global OOM), one scene: "swarm", a protected
 *	process forks SWARM_KIDS children of SWARM_MB MiB, one after the other
 *	(a child that dies is not replaced), beside a small protected locker
 *	(8 MiB) and an unprotected bystander (64 MiB); or "leak", a protected
 *	locker that grows by 16 MiB every 50 ms without bound, beside the
 *	bystander. MODE is how the protected processes are protected: "pardon"
 *	(PR_SET_OOM_PARDON), "adj" (they write -1000 to their own
 *	oom_score_adj while root, as xscreensaver and slock do), "memmax" (adj,
 *	and each in a cgroup of its own with memory.max = the default pardon
 *	budget, 256 MiB), "none". Lines "bench,event,..." as OOM kills happen
 *	(a panic cuts the run short, the host sees what came before), then one
 *	"bench,scene,..." line: bystander and locker alive, killed or stuck,
 *	OOM kills, the swarm's children that filled, were killed or stuck, and
 *	the time from the start to the moment every protected process had
 *	settled (filled, killed; -1 when one was still stuck at SECONDS).
 *	A scene that has not reported 30 s after SECONDS has its kernel dump
 *	memory and tasks on the console (SysRq m, w, t) for the host's log.
 *
 *   oombench tsc-hz
 *	Print the TSC rate (run on the host).
 *
 *   oombench locker MB
 *	Hold MB MiB of touched memory, set oom_score_adj 1000 (the OOM
 *	killer's first choice, as stress-ng makes its own workers), say
 *	"ready" on stdout, sleep.
 *
 * Every wait is bounded (BOUND_S); a bound hit is reported and fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#ifndef PR_SET_OOM_PARDON
#define PR_SET_OOM_PARDON 82
#endif
#define BOUND_S 120
#define PAGE 4096

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("oombench: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (errno)
		fprintf(stderr, ": %s", strerror(errno));
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* For bounds. The VM kernel's clock may be jiffies (4 ms steps). */
static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * For figures: the TSC, which QEMU (TCG and KVM) runs at the host's
 * constant rate, converted with the rate scripts/bench measured on the
 * host ("oombench tsc-hz") and passed as BENCH_TSC_HZ. Under QEMU's
 * -icount shift=0 (scripts/bench.d/qemu-icount) the TSC advances by one
 * per guest instruction: BENCH_ICOUNT=1 takes it raw, and the figures are
 * named *_insn instead of *_us.
 */
static double tsc_hz;
static int icount;
static const char *unit = "us";

static int64_t now_us(void)
{
	if (icount)
		return (int64_t)__rdtsc();
	if (tsc_hz > 0)
		return (int64_t)(__rdtsc() * 1e6 / tsc_hz);
	return mono_us();
}

static int tsc_rate(void)
{
	int64_t m0 = mono_us(), m1;
	uint64_t c0 = __rdtsc(), c1;

	sleep_us(500000);
	c1 = __rdtsc();
	m1 = mono_us();
	printf("%.0f\n", (c1 - c0) * 1e6 / (m1 - m0));
	return 0;
}

static void put(const char *dir, const char *file, const char *val)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_WRONLY);
	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		die("write '%s' to %s", val, p);
	close(fd);
}

static long long get(const char *dir, const char *file, const char *key)
{
	char p[512], buf[4096], *s;
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		die("open %s", p);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		die("read %s", p);
	buf[n] = 0;
	if (!key)
		return atoll(buf);
	for (s = buf; s; s = strchr(s, '\n'), s = s ? s + 1 : s)
		if (!strncmp(s, key, strlen(key)) && s[strlen(key)] == ' ')
			return atoll(s + strlen(key) + 1);
	errno = 0;
	die("no '%s' in %s", key, p);
	return 0;
}

static void join(const char *dir)
{
	put(dir, "cgroup.procs", "0");
}

/* Kill everything in DIR, wait until it is empty (bounded), remove it. */
static void empty(const char *dir)
{
	int64_t end = mono_us() + BOUND_S * 1000000LL;
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/cgroup.kill", dir);
	if (stat(p, &st))
		return;
	put(dir, "cgroup.kill", "1");
	while (get(dir, "cgroup.events", "populated")) {
		if (mono_us() > end) {
			errno = 0;
			die("%s still populated after %d s", dir, BOUND_S);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sleep_us(2000);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	rmdir(dir);
}

static void mkcg(const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		die("mkdir %s", dir);
}

/* The parent memcg CG with memory.max, children sub (leaves). */
static void setup_cg(const char *cg, const char *a, const char *b)
{
	char p[512];

	put("/sys/fs/cgroup", "cgroup.subtree_control", "+memory");
	mkcg(cg);
	/* No swap in the VM kernel; where there is, keep it out. */
	snprintf(p, sizeof(p), "%s/memory.swap.max", cg);
	if (!access(p, F_OK))
		put(cg, "memory.swap.max", "0");
	put(cg, "cgroup.subtree_control", "+memory");
	snprintf(p, sizeof(p), "%s/%s", cg, a);
	mkcg(p);
	snprintf(p, sizeof(p), "%s/%s", cg, b);
	mkcg(p);
}

/* Read /proc/PID/oom_score of every pid; the time it took (us). */
static int64_t score_sweep(const long *pids, long npids)
{
	int64_t t0 = now_us();
	char buf[64], line[32];
	long i;

	for (i = 0; i < npids; i++) {
		ssize_t k;
		int fd;

		snprintf(buf, sizeof(buf), "/proc/%ld/oom_score", pids[i]);
		fd = open(buf, O_RDONLY);
		if (fd < 0)
			die("open %s", buf);
		k = read(fd, line, sizeof(line) - 1);
		close(fd);
		if (k <= 0)
			die("read %s", buf);
	}
	return now_us() - t0;
}

/*
 * A hog in HG touches pages until the memcg OOM of CG kills it; the time
 * from the start of the page fault that never returned to its death (us).
 */
static int64_t memcg_oom(const char *cg, const char *hg, long hog, long r)
{
	volatile int64_t *shared;
	long long kills = get(cg, "memory.events", "oom_kill");
	int64_t t1, t0;
	int st;
	pid_t h;

	shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap");
	shared[0] = 0;
	h = fork();
	if (h < 0)
		die("fork hog");
	if (!h) {
		char *m;
		long off;

		join(hg);
		m = mmap(NULL, 4 * hog, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(2);
		/* The time before each fault; the last one is the
		 * allocation the OOM killer ended.
		 */
		for (off = 0; off < 4 * hog; off += PAGE) {
			shared[0] = now_us();
			m[off] = 1;
		}
		_exit(3);
	}
	if (waitpid(h, &st, 0) != h)
		die("waitpid hog");
	t1 = now_us();
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL ||
	    get(cg, "memory.events", "oom_kill") != kills + 1) {
		errno = 0;
		die("rep %ld: the hog was not the one OOM victim (status %#x)",
		    r, st);
	}
	t0 = shared[0];
	munmap((void *)shared, PAGE);
	return t1 - t0;
}

static int path_bench(char **av)
{
	const char *cg = av[0];
	long n = atol(av[1]), pct = atol(av[2]);
	long oom_reps = atol(av[3]), score_reps = atol(av[4]);
	long hog = atol(av[5]) << 20;
	char sl[512], hg[512], buf[600], line[32];
	/* "=K": K of them, whatever N (a locker or two among many). */
	long pardoned = av[2][0] == '=' ? atol(av[2] + 1) : n * pct / 100;
	long i, r, npids = 0, *pids;
	int ready[2];
	long long base;
	pid_t sp;
	FILE *f;

	if (n < 1 || oom_reps < 0 || score_reps < 0 || hog < PAGE ||
	    pardoned < 0 || pardoned >= n)
		die("bad arguments");
	snprintf(sl, sizeof(sl), "%s/sleepers", cg);
	snprintf(hg, sizeof(hg), "%s/hog", cg);
	setup_cg(cg, "sleepers", "hog");
	if (pipe(ready))
		die("pipe");

	/* The spawner is sleeper 0; it forks the other N - 1. */
	sp = fork();
	if (sp < 0)
		die("fork");
	if (!sp) {
		long ok = 0;

		close(ready[0]);
		join(sl);
		for (i = 1; i < n; i++) {
			pid_t c = fork();

			if (c < 0)
				die("fork sleeper %ld", i);
			if (!c) {
				close(ready[1]);
				if (i <= pardoned)
					prctl(PR_SET_OOM_PARDON, 1, 0, 0, 0);
				for (;;)
					pause();
			}
		}
		ok = pardoned == 0 ||
		     !prctl(PR_SET_OOM_PARDON, 0, 0, 0, 0) ? 1 : 0;
		snprintf(buf, sizeof(buf), "%ld\n", ok);
		if (write(ready[1], buf, strlen(buf)) < 0)
			_exit(1);
		close(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	f = fdopen(ready[0], "r");
	if (!f || !fgets(line, sizeof(line), f))
		die("the spawner of %ld sleepers did not finish", n);
	fclose(f);
	/* One line per figure; the pardon is real only where the prctl exists. */
	printf("bench,path,%ld,info,%ld,%s\n", n,
	       atoi(line) ? pardoned : 0, atoi(line) ? "pardon" : "no-pardon");
	/* Whether the pardons are within the budget (patched kernels). */
	if (!access("/proc/sys/vm/oom_pardon_usage_kbytes", F_OK))
		printf("bench,path,%ld,info_usage_kb,%lld,%lld\n", n,
		       get("/proc/sys/vm", "oom_pardon_usage_kbytes", NULL),
		       get("/proc/sys/vm", "oom_pardon_budget_kbytes", NULL));

	pids = calloc(n + 16, sizeof(*pids));
	snprintf(buf, sizeof(buf), "%s/cgroup.procs", sl);
	f = fopen(buf, "r");
	if (!f || !pids)
		die("list sleepers");
	while (npids < n + 16 && fscanf(f, "%ld", &pids[npids]) == 1)
		npids++;
	fclose(f);
	if (npids != n) {
		errno = 0;
		die("%ld sleepers in %s, wanted %ld", npids, sl, n);
	}

	/* One sweep unrecorded: the first one faults in procfs dentries. */
	for (r = -1; r < score_reps; r++) {
		int64_t t = score_sweep(pids, npids);

		if (r >= 0)
			printf("bench,path,%ld,score_%s,%ld,%lld\n", n, unit,
			       r, (long long)t);
	}
	fflush(stdout);

	/* The hog may use HOG_MB above what the sleepers hold now. */
	base = get(cg, "memory.current", NULL);
	snprintf(buf, sizeof(buf), "%lld", base + hog);
	put(cg, "memory.max", buf);
	/* One OOM unrecorded: the first one pays for cold caches. */
	for (r = -1; r < oom_reps; r++) {
		int64_t t = memcg_oom(cg, hg, hog, r);

		if (r >= 0)
			printf("bench,path,%ld,oom_%s,%ld,%lld\n", n, unit,
			       r, (long long)t);
		fflush(stdout);
	}
	printf("bench,path,%ld,info_max_kb,%lld,-\n", n, (base + hog) >> 10);
	empty(sl);
	empty(hg);
	kill(sp, SIGKILL);
	waitpid(sp, NULL, 0);
	rmdir(cg);
	return 0;
}

static pid_t start_in(const char *dir, const char *cmd, int out)
{
	pid_t p = fork();

	if (p < 0)
		die("fork");
	if (!p) {
		join(dir);
		if (out >= 0 && dup2(out, 1) < 0)
			_exit(126);
		if (out >= 0)
			close(out);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return p;
}

/*
 * Start the locker; wait (bounded) until it holds its memory. Under
 * pressure (a restart) it may be killed before that: the caller sees it.
 */
static pid_t start_locker(const char *dir, const char *cmd, const char *adj,
			  int restart, int *up)
{
	int64_t end = mono_us() + BOUND_S * 1000000LL;
	char buf[64];
	int pfd[2];
	pid_t p;
	ssize_t k;

	if (pipe2(pfd, O_CLOEXEC))
		die("pipe");
	p = start_in(dir, cmd, pfd[1]);
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		k = read(pfd[0], buf, sizeof(buf));
		if (k > 0)
			break;
		if (k == 0 && restart) {
			close(pfd[0]);
			*up = 0;
			return p;
		}
		if (k == 0 || mono_us() > end) {
			errno = 0;
			die("locker '%s' did not get ready", cmd);
		}
		sleep_us(1000);
	}
	close(pfd[0]);
	if (strcmp(adj, "-")) {
		int fd;

		snprintf(buf, sizeof(buf), "/proc/%d/oom_score_adj", p);
		fd = open(buf, O_WRONLY);
		if (fd < 0 || write(fd, adj, strlen(adj)) < 0) {
			if (restart && errno == ESRCH) {
				*up = 0;	/* killed meanwhile */
				return p;
			}
			die("write %s to %s", adj, buf);
		}
		close(fd);
	}
	*up = 1;
	return p;
}

/*
 * Kills are counted while the locker is up (it holds its memory); kills
 * while a killed locker restarts are counted apart, they cannot hit it.
 */
static int saves_bench(char **av)
{
	const char *cg = av[0], *mode = av[2], *adj = av[3];
	const char *stress = av[4], *lcmd = av[5];
	long want = atol(av[1]), up_kills = 0, deaths = 0;
	char lk[512], ss[512];
	int64_t t0, first = -1, end;
	long long k0, k, seen = 0;
	pid_t locker, sng;
	int st, up;

	snprintf(lk, sizeof(lk), "%s/locker", cg);
	snprintf(ss, sizeof(ss), "%s/stress", cg);
	setup_cg(cg, "locker", "stress");
	put(cg, "memory.max", getenv("BENCH_MEMCG_MAX") ?: "96M");
	locker = start_locker(lk, lcmd, adj, 0, &up);
	k0 = get(cg, "memory.events", "oom_kill");
	t0 = now_us();
	end = mono_us() + BOUND_S * 1000000LL;
	sng = start_in(ss, stress, -1);
	while (up_kills < want && mono_us() < end) {
		k = get(cg, "memory.events", "oom_kill") - k0;
		if (k > seen && first < 0)
			first = now_us() - t0;
		if (waitpid(locker, &st, WNOHANG) == locker) {
			/* The kill that ended it is counted before it dies. */
			k = get(cg, "memory.events", "oom_kill") - k0;
			if (up) {
				up_kills += k - seen;
				deaths++;
			}
			/* Only an OOM kill is expected; say if not. */
			if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
				fprintf(stderr, "oombench: locker ended with %#x\n", st);
			locker = start_locker(lk, lcmd, adj, 1, &up);
			k = get(cg, "memory.events", "oom_kill") - k0;
		} else if (up) {
			up_kills += k - seen;
		}
		seen = k;
		if (waitpid(sng, &st, WNOHANG) == sng) {
			fprintf(stderr, "oombench: '%s' ended (%#x)\n", stress, st);
			break;
		}
		sleep_us(1000);
	}
	printf("bench,saves,%s,%ld,%ld,%lld,%lld,%lld\n", mode, up_kills, deaths,
	       (long long)first, (long long)(now_us() - t0), seen);
	fflush(stdout);
	empty(ss);
	empty(lk);
	rmdir(cg);
	if (up_kills < want)
		fprintf(stderr, "oombench: only %ld of %ld kills within %d s\n",
			up_kills, want, BOUND_S);
	return up_kills < want;
}

static __attribute__((noreturn)) void locker(long mb)
{
	size_t len = (size_t)mb << 20, off;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd;

	if (m == MAP_FAILED)
		die("mmap %ld MiB", mb);
	for (off = 0; off < len; off += PAGE)
		m[off] = 1;
	fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0 || write(fd, "1000", 4) != 4)
		die("oom_score_adj");
	close(fd);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* ------------------------------------------------------------ scenes */
#define SCENE_CG "/sys/fs/cgroup/scene"
#define SCENE_MAX "256M"	/* memmax: the default pardon budget */
#define BYSTANDER_MB 64
#define LOCKER_MB 8
#define LEAK_STEP_MB 16

/* Resident KiB of P (statm), 0 once it is gone. */
static long long rss_kb(pid_t p)
{
	char f[64];
	long long size = 0, res = 0;
	FILE *s;

	snprintf(f, sizeof(f), "/proc/%d/statm", p);
	s = fopen(f, "r");
	if (!s)
		return 0;
	if (fscanf(s, "%lld %lld", &size, &res) != 2)
		res = 0;
	fclose(s);
	return res * (PAGE / 1024);
}

/* The parent of P. */
static pid_t ppid(pid_t p)
{
	char f[64];
	int pp = 0;
	FILE *s;

	snprintf(f, sizeof(f), "/proc/%d/stat", p);
	s = fopen(f, "r");
	/* pid (comm) state ppid: comm has no ") " in these shells */
	if (!s || fscanf(s, "%*d (%*[^)]) %*c %d", &pp) != 1)
		pp = 0;
	if (s)
		fclose(s);
	return pp;
}

/*
 * The scene's processes write nothing: a stuck one must not hold the
 * output pipe open, or vm-run waits for it to the end of its time.
 */
static void quiet(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(1);
	close(fd);
}

/* Protect the calling process as MODE says (its children inherit it). */
static void protect(const char *mode, const char *name)
{
	char dir[512];

	/* Not the reporter's -1000: a fresh start. */
	put("/proc/self", "oom_score_adj", "0");

	if (!strcmp(mode, "pardon")) {
		if (prctl(PR_SET_OOM_PARDON, 1, 0, 0, 0))
			die("PR_SET_OOM_PARDON (a kernel without the pardon?)");
		return;
	}
	if (!strcmp(mode, "memmax")) {
		snprintf(dir, sizeof(dir), "%s/%s", SCENE_CG, name);
		join(dir);
	}
	if (!strcmp(mode, "adj") || !strcmp(mode, "memmax"))
		put("/proc/self", "oom_score_adj", "-1000");
}

/*
 * Touch MB MiB, PAUSE_MS after each STEP_MB; MB < 0: STEP_MB at a time
 * without end (one mapping per step: the heuristic overcommit refuses one
 * mapping bigger than the machine).
 */
static void fill(long mb, long step_mb, long pause_ms)
{
	size_t len = (size_t)(mb < 0 ? step_mb : mb) << 20, off;
	char *m;

	do {
		m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			die("mmap %zu MiB", len >> 20);
		for (off = 0; off < len; off += PAGE)
			m[off] = 1;
		if (pause_ms)
			sleep_us(pause_ms * 1000);
	} while (mb < 0);
}

/* A child: protected as MODE says, fills MB MiB, says so on READY, sleeps. */
static pid_t holder(const char *mode, const char *name, long mb, int ready)
{
	pid_t p = fork();

	if (p < 0)
		die("fork %s", name);
	if (!p) {
		quiet();
		protect(mode ? mode : "none", name);
		fill(mb, 0, 0);
		if (write(ready, "R", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	return p;
}

/*
 * The swarm: protected, forks KIDS children of MB MiB one after the
 * other; tells the caller on OUT: S a child started, F it filled, K it was
 * killed before, k after it filled, D every child filled or was killed.
 */
static __attribute__((noreturn)) void swarm(const char *mode, long kids,
					   long mb, int out)
{
	int p[2];
	long i;

	protect(mode, "swarm");
	if (pipe(p))
		die("pipe");
	for (i = 0; i < kids; i++) {
		char c;
		pid_t k = fork();
		int st;

		if (k < 0)
			die("fork swarm child");
		if (!k) {
			fill(mb, 0, 0);
			if (write(p[1], "F", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		if (write(out, "S", 1) != 1)
			_exit(1);
		for (;;) {
			struct timespec ts = { 0, 5000000 };

			if (waitpid(k, &st, WNOHANG) == k) {
				if (write(out, WIFSIGNALED(st) ? "K" : "E", 1) != 1)
					_exit(1);
				break;
			}
			fcntl(p[0], F_SETFL, O_NONBLOCK);
			if (read(p[0], &c, 1) == 1) {
				if (write(out, "F", 1) != 1)
					_exit(1);
				break;
			}
			nanosleep(&ts, NULL);
		}
	}
	if (write(out, "D", 1) != 1)
		_exit(1);
	/* Children killed after they filled. */
	for (;;) {
		int st;
		pid_t k = waitpid(-1, &st, 0);

		if (k > 0 && write(out, WIFSIGNALED(st) ? "k" : "E", 1) != 1)
			_exit(1);
		if (k < 0)
			for (;;)
				pause();
	}
}

/*
 * The scene's watchdog: a locked-in-memory child at -1000 that, if the
 * scene has not reported AFTER_S seconds from now, asks the kernel for its
 * memory state and every task's stack on the console (SysRq 8: the log
 * level that shows them, m, w, t). Everything it needs is in place
 * before: a hung guest (no OOM kill, nothing runs) leaves a reason in
 * vm-run's console log instead of silence. The reporter kills it.
 */
static pid_t watchdog(long after_s)
{
	const char keys[] = "8mwt";
	pid_t p = fork();
	size_t i;
	int fd;

	if (p < 0)
		die("fork watchdog");
	if (p)
		return p;
	fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || mlockall(MCL_CURRENT | MCL_FUTURE))
		_exit(1);
	sleep_us(after_s * 1000000LL);
	for (i = 0; i < sizeof(keys) - 1; i++)
		if (write(fd, &keys[i], 1) != 1)
			_exit(1);
	for (;;)
		pause();
}

/*
 * "alive" or "killed" (by SIGKILL; any other end is a failure). The caller
 * calls a leaking locker that did not grow for 5 s "stuck".
 */
static const char *fate(pid_t p, int *dead)
{
	int st;

	if (!*dead && waitpid(p, &st, WNOHANG) == p) {
		*dead = 1;
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
			errno = 0;
			die("pid %d ended with status %#x, not SIGKILL", p, st);
		}
	}
	return *dead ? "killed" : "alive";
}

static int scene(const char *what, const char *mode, long seconds)
{
	long kids = getenv("SWARM_KIDS") ? atol(getenv("SWARM_KIDS")) : 6;
	long mb = getenv("SWARM_MB") ? atol(getenv("SWARM_MB")) : 200;
	int leak = !strcmp(what, "leak"), rd[2], sw[2], bdead = 0, ldead = 0;
	long started = 0, full = 0, killed = 0, unfilled = 0, done = 0;
	int64_t t0, end, settled = -1, grew;
	long long k0, k, seen = 0, rss = 0;
	pid_t by, lk, sp = -1, p, wd;
	char c, dir[512];

	if ((strcmp(what, "swarm") && !leak) ||
	    (strcmp(mode, "pardon") && strcmp(mode, "adj") &&
	     strcmp(mode, "memmax") && strcmp(mode, "none")))
		die("scene swarm|leak pardon|adj|memmax|none SECONDS");
	put("/sys/fs/cgroup", "cgroup.subtree_control", "+memory");
	mkcg(SCENE_CG);
	put(SCENE_CG, "cgroup.subtree_control", "+memory");
	if (!strcmp(mode, "memmax")) {
		const char *names[] = { "swarm", "locker" };
		int i;

		for (i = 0; i < 2; i++) {
			snprintf(dir, sizeof(dir), "%s/%s", SCENE_CG, names[i]);
			mkcg(dir);
			put(dir, "memory.max", SCENE_MAX);
		}
	}
	/* The pardon's own bound as shipped, whatever the kernel's default. */
	if (!access("/proc/sys/vm/oom_pardon_budget_kbytes", F_OK))
		put("/proc/sys/vm", "oom_pardon_budget_kbytes", "262144");
	/*
	 * This process and the guest's shell above it report; they are never
	 * the victim (vm-run's output pipe is at -1000 already).
	 */
	put("/proc/self", "oom_score_adj", "-1000");
	for (p = getppid(); p > 1; p = ppid(p)) {
		snprintf(dir, sizeof(dir), "/proc/%d", p);
		put(dir, "oom_score_adj", "-1000");
	}
	if (pipe(rd) || pipe(sw))
		die("pipe");
	/* Inherits -1000. The scene reports within SECONDS and a few more. */
	wd = watchdog(seconds + 30);
	by = holder(NULL, "bystander", BYSTANDER_MB, rd[1]);
	if (read(rd[0], &c, 1) != 1)
		die("bystander not ready");
	k0 = get("/proc", "vmstat", "oom_kill");
	t0 = mono_us();
	end = t0 + seconds * 1000000LL;
	if (leak) {
		lk = fork();
		if (lk < 0)
			die("fork locker");
		if (!lk) {
			quiet();
			protect(mode, "locker");
			fill(-1, LEAK_STEP_MB, 50);
			_exit(0);
		}
	} else {
		lk = holder(mode, "locker", LOCKER_MB, rd[1]);
		if (read(rd[0], &c, 1) != 1)
			die("locker not ready");
		sp = fork();
		if (sp < 0)
			die("fork swarm");
		if (!sp) {
			quiet();
			swarm(mode, kids, mb, sw[1]);
		}
		fcntl(sw[0], F_SETFL, O_NONBLOCK);
	}
	grew = mono_us();
	while (mono_us() < end) {
		int64_t now = mono_us();

		k = get("/proc", "vmstat", "oom_kill") - k0;
		if (k > seen) {
			printf("bench,event,%s,%s,kill,%.3f,%lld\n", what, mode,
			       (now - t0) / 1e6, k);
			/* A killed locker gets 5 s to exit before "stuck". */
			grew = now;
		}
		seen = k;
		fate(by, &bdead);
		fate(lk, &ldead);
		while (!leak && read(sw[0], &c, 1) == 1) {
			started += c == 'S';
			full += c == 'F';
			killed += c == 'K' || c == 'k';
			unfilled += c == 'K';
			done |= c == 'D';
			if (c == 'E') {
				errno = 0;
				die("a swarm child ended without SIGKILL");
			}
		}
		if (leak && !ldead) {
			long long r = rss_kb(lk);

			if (r > rss) {
				rss = r;
				grew = now;
			}
		}
		/* Settled: every protected process killed or filled. */
		if (settled < 0 && (leak ? ldead : done))
			settled = now - t0;
		/* Then two more seconds, for late kills. */
		if (settled >= 0 && now - t0 > settled + 2000000)
			break;
		/*
		 * A leaking locker that did not grow for 5 s, with no OOM kill
		 * in them, is stuck.
		 */
		if (leak && !ldead && now - grew > 5000000)
			break;
		sleep_us(10000);
	}
	printf("bench,scene,%s,%s,%s,%s,%lld,%ld,%ld,%ld,%ld,%.3f,%lld\n",
	       what, mode, fate(by, &bdead),
	       leak && !ldead && mono_us() - grew > 5000000 ? "stuck" :
	       fate(lk, &ldead), seen, started, full, killed,
	       started - full - unfilled, settled < 0 ? -1 : settled / 1e6,
	       leak ? rss : 0LL);
	fflush(stdout);
	/* The swarm's children go with the VM; the others go now. */
	kill(wd, SIGKILL);
	kill(by, SIGKILL);
	kill(lk, SIGKILL);
	if (sp > 0)
		kill(sp, SIGKILL);
	return 0;
}

int main(int ac, char **av)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("BENCH_TSC_HZ"))
		tsc_hz = atof(getenv("BENCH_TSC_HZ"));
	if (getenv("BENCH_ICOUNT") && atoi(getenv("BENCH_ICOUNT"))) {
		icount = 1;
		unit = "insn";
	}
	if (ac == 2 && !strcmp(av[1], "tsc-hz"))
		return tsc_rate();
	if (ac == 8 && !strcmp(av[1], "path"))
		return path_bench(av + 2);
	if (ac == 8 && !strcmp(av[1], "saves"))
		return saves_bench(av + 2);
	if (ac == 3 && !strcmp(av[1], "locker"))
		locker(atol(av[2]));
	if (ac == 5 && !strcmp(av[1], "scene"))
		return scene(av[2], av[3], atol(av[4]));
	fprintf(stderr, "usage: oombench path CG N PARDON_PCT OOM_REPS SCORE_REPS HOG_MB\n"
		"       oombench saves CG KILLS MODE ADJ STRESS_CMD LOCKER_CMD\n"
		"       oombench scene swarm|leak pardon|adj|memmax|none SECONDS\n"
		"       oombench locker MB\n");
	return 2;
}
