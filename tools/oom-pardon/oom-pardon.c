// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * oom-pardon - run a command, typically a screen locker, pardoned by the
 * OOM killer (prctl PR_SET_OOM_PARDON), with no privilege left when it runs.
 *
 * Installed with the file capability cap_sys_resource=p, never setuid. A
 * locker must always start: whatever withholds the pardon gives one warning
 * and the command runs unpardoned (--strict: exit 125 instead). It execs or
 * exits soon after each libcap call, so what libcap allocates is not freed.
 * See oom-pardon(1) and SECURITY.md.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "conf.h"
#include "oom-pardon.h"

#ifndef CONFIG_FILE
#define CONFIG_FILE "/etc/oom-pardon.conf"	/* a build-time setting only */
#endif
#ifndef VERSION
#define VERSION "2.0"
#endif
#define SYSCTL_BUDGET "vm.oom_pardon_budget_kbytes"
#define SYSCTL_USAGE "vm.oom_pardon_usage_kbytes"

enum { EXIT_OWN = 125, EXIT_CANNOT_RUN = 126, EXIT_NOT_FOUND = 127 };

static void __attribute__((noreturn)) usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] [--] <command> [<argument>...]\n"
	       " %1$s -p <pid>\n"
	       " %1$s --check\n\n"
	       "Run a command (a screen locker) pardoned by the OOM killer.\n\n"
	       "Options:\n"
	       " -p, --pid <pid>       show the pardon state of a process\n"
	       " -c, --check           check this system's setup (exit 1 naming each problem)\n"
	       " -s, --strict          fail (125) when the pardon cannot be given\n"
	       " -a, --fallback-adj    root only: without the pardon, set oom_score_adj -1000\n\n"
	       " -h, --help            display this help\n"
	       " -V, --version         display version\n\n"
	       "Allowlist for non-root users: %2$s\n"
	       "For more details see oom-pardon(1).\n",
	       program_invocation_short_name, CONFIG_FILE);
	exit(EXIT_SUCCESS);
}

static void __attribute__((noreturn)) errtryhelp(const char *why)
{
	if (why)
		warnx("%s", why);
	fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
	exit(EXIT_OWN);
}

/* Format a message; the helper never needs two at a time. */
static const char * __attribute__((format(printf, 1, 2))) msg(const char *fmt, ...)
{
	static char why[PATH_MAX + 160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return why;
}

/* The number after KEY at the start of a line of /proc file FMT (of PID), or LONG_MIN. */
static long proc_long(const char *fmt, long pid, const char *key)
{
	char path[64], line[256];
	long val = LONG_MIN;
	FILE *f;

	snprintf(path, sizeof(path), fmt, pid);
	f = fopen(path, "re");
	while (f && val == LONG_MIN && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			sscanf(line + strlen(key), "%ld", &val);
	if (f)
		fclose(f);
	return val;
}

static void __attribute__((noreturn)) show_pid(long pid)
{
	long pardon = proc_long("/proc/%ld/status", pid, "OomPardon:"),
	     usage = proc_long("/proc/sys/vm/oom_pardon_usage_kbytes", 0, ""),
	     budget = proc_long("/proc/sys/vm/oom_pardon_budget_kbytes", 0, ""),
	     score = proc_long("/proc/%ld/oom_score", pid, ""), adj = proc_long("/proc/%ld/oom_score_adj", pid, "");
	const char *verdict = "no (not pardoned)";

	if (score == LONG_MIN || adj == LONG_MIN)	/* errno: of the last file, if not of both */
		err(EXIT_OWN, "cannot read /proc/%ld/%s", pid, adj == LONG_MIN ? "oom_score_adj" : "oom_score");
	if (pardon == 1 && (usage == LONG_MIN || budget == LONG_MIN))
		verdict = "unknown (no " SYSCTL_USAGE ", " SYSCTL_BUDGET ")";
	else if (pardon == 1)
		verdict = msg("%s in a global OOM now (oom_score %ld; pardons hold %ld kB of " SYSCTL_BUDGET " %ld kB)",
			      score ? "no" : "yes", score, usage, budget);
	printf("pid %1$ld's OOM pardon: %2$s\npid %1$ld's pardon honoured: %3$s\n"
	       "pid %1$ld's current OOM score: %4$ld\npid %1$ld's current OOM score adjust value: %5$ld\n",
	       pid, pardon == LONG_MIN ? "unsupported (kernel without OomPardon)" : pardon ? "1" : "0",
	       verdict, score, adj);
	exit(EXIT_SUCCESS);
}

/* CAPS holds nothing at all. */
static int caps_empty(cap_t caps)
{
	cap_t none = cap_init();

	return caps && none && !cap_compare(caps, none);
}

/* Refuse setups we were not built for (bwrap does the same at start-up). */
static void check_setup(void)
{
	cap_value_t sys_resource = CAP_SYS_RESOURCE;
	cap_t caps = cap_get_proc();
	char *text = caps ? cap_to_text(caps, NULL) : NULL;

	if (getuid() != geteuid() || getgid() != getegid())
		errx(EXIT_OWN, "refusing to run setuid or setgid; install with 'setcap cap_sys_resource=p' instead");
	if (!text || cap_clear_flag(caps, CAP_INHERITABLE) ||
	    cap_set_flag(caps, CAP_PERMITTED, 1, &sys_resource, CAP_CLEAR))
		err(EXIT_OWN, "cannot read capabilities");
	if (getuid() != 0 && !caps_empty(caps))	/* root holds every capability anyway */
		errx(EXIT_OWN, "refusing to run with capabilities '%s'; only cap_sys_resource=p is expected", text);
}

/*
 * Root of a user namespace is not root: its capabilities stop at the
 * namespace. The initial one is PROC_USER_INIT_INO in /proc (since 3.8).
 */
static int in_userns(void)
{
	struct stat ns;

	return !stat("/proc/self/ns/user", &ns) && ns.st_ino != 0xEFFFFFFDU;
}

/* Why CAP_SYS_RESOURCE is, or for a user (AS_USER) would be, out of reach. */
static const char *cap_cause(int as_user)
{
	cap_t file = cap_get_file("/proc/self/exe");
	char *text = file ? cap_to_text(file, NULL) : NULL;
	struct statvfs fs;

	if (in_userns())
		return "running in a user namespace, whose capabilities do not reach the OOM killer";
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return "no_new_privs is set: the kernel ignores file capabilities under it";
	if (cap_get_bound(CAP_SYS_RESOURCE) != 1)
		return "CAP_SYS_RESOURCE is not in the bounding set";
	if (as_user && (!text || strcmp(text, "cap_sys_resource=p")))
		return "no file capability cap_sys_resource=p on this binary: not installed with setcap, "
		       "or lost by a copy, an upgrade or a filesystem without them";
	if (as_user && !statvfs("/proc/self/exe", &fs) && (fs.f_flag & ST_NOSUID))
		return "the filesystem holding this binary is mounted nosuid: file capabilities are ignored";
	return NULL;
}

/* The file COMMAND names, found as execvp() finds it: 0, or -1. */
static int find_command(const char *cmd, struct stat *st)
{
	const char *dir = strchr(cmd, '/') ? "" : getenv("PATH"), *end;
	char path[PATH_MAX];

	for (dir = dir ? dir : "/bin:/usr/bin"; ; dir = end + 1) {
		end = strchrnul(dir, ':');
		snprintf(path, sizeof(path), "%.*s%s%s", (int)(end - dir), dir, end > dir ? "/" : "", cmd);
		if (!stat(path, st) && S_ISREG(st->st_mode) && !access(path, X_OK))
			return 0;
		if (!*end)
			return -1;
	}
}

struct command {
	struct stat st;		/* of the file the user named */
	int fd;			/* the listed file of that inode, opened by its listed path */
	int adjfd;		/* /proc/self/oom_score_adj, to write -1000 (the fallback) */
	int fallback;		/* set oom_score_adj -1000 on a kernel without the pardon */
	int check;		/* --check: judge every entry; 1 + the problems found */
	const char *why;	/* why the listed file of that inode is refused */
};

static void report(struct command *cmd, const char *what, const char *bad, const char *good)
{
	cmd->check += !!bad;
	printf("%s - %s: %s\n", bad ? "not ok" : "ok", what, bad ? bad : good);
}

/* An allowlist entry: the one that is the command's inode, or all with --check. */
static void entry(const char *path, void *arg)
{
	struct command *cmd = arg;
	struct stat st = { 0 };
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	const char *bad = fd < 0 || fstat(fd, &st) ? strerror(errno) : conf_unsafe(&st, S_IFREG);
	char head[4];
	ssize_t n;

	/* An entry the user cannot open (execute-only) is still matched: it says why. */
	if (!cmd->check && ((fd < 0 && stat(path, &st)) || cmd->fd >= 0 ||
			    st.st_dev != cmd->st.st_dev || st.st_ino != cmd->st.st_ino)) {
		close(fd);	/* not the command, or missing (-1: EBADF, harmless): ignored */
		return;
	}
	if (!bad)
		bad = (n = pread(fd, head, sizeof(head), 0)) < 0 ? strerror(errno) : conf_not_binary(head, (size_t)n);
	if (cmd->check)
		report(cmd, path, bad, "root's alone, an ELF executable");
	else if (bad)
		cmd->why = msg("%s is listed, but %s", path, bad);
	if (cmd->check || bad)
		close(fd);
	else
		cmd->fd = fd;
}

/*
 * Read the allowlist: every directory above it and the file itself root's
 * alone, no symlink followed, no FIFO waited for. Why it is not to be
 * trusted, or why the command's entry is refused; else NULL.
 */
static const char *load_config(struct command *cmd)
{
	static char buf[CONF_SIZE_MAX + 1];
	static const char file[] = CONFIG_FILE;
	char dir[sizeof(file)];
	const char *s, *bad = NULL;
	ssize_t n = 0, len = 0;
	struct conf c = { 0 };
	struct stat st;
	int fd;

	for (s = file; !bad && s; s = strchr(s + 1, '/')) {
		snprintf(dir, sizeof(dir), "%.*s", s > file ? (int)(s - file) : 1, file);
		bad = lstat(dir, &st) ? strerror(errno) : conf_unsafe(&st, S_IFDIR);
	}
	if (bad)
		return msg("%s: directory %s: %s", CONFIG_FILE, dir, bad);
	fd = open(CONFIG_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	bad = fd < 0 ? (errno == ELOOP ? "a symbolic link (never followed)" : strerror(errno)) :
	      fstat(fd, &st) ? strerror(errno) : conf_unsafe(&st, S_IFREG);
	while (!bad && (n = read(fd, buf + len, sizeof(buf) - (size_t)len)) > 0)
		len += n;
	if (n < 0)
		bad = strerror(errno);
	close(fd);
	if (!bad && conf_parse(buf, (size_t)len, &c, entry, cmd) && c.line)
		return msg("%s:%u: %s", CONFIG_FILE, c.line, c.error);
	if (bad || c.error)
		return msg("%s: %s", CONFIG_FILE, bad ? bad : c.error);
	cmd->fallback = c.fallback_adj;
	return cmd->why;
}

/* --check: is this system ready to pardon a user's locker? */
static int check_system(void)
{
	struct command cmd = { .fd = -1, .check = 1 };
	long budget = proc_long("/proc/sys/vm/oom_pardon_budget_kbytes", 0, "");
	const char *bad;

	report(&cmd, "kernel", oom_pardon_supported() ? NULL : "no OOM pardon (PR_SET_OOM_PARDON)", "OOM pardon");
	report(&cmd, "budget", budget ? NULL : SYSCTL_BUDGET " is 0: no pardon is honoured",
	       budget == LONG_MIN ? "unknown (no " SYSCTL_BUDGET ")" : msg(SYSCTL_BUDGET " %ld", budget));
	report(&cmd, "capability", cap_cause(1), "cap_sys_resource=p on this binary, users get it");
	bad = load_config(&cmd);
	report(&cmd, "allowlist", bad, cmd.fallback ?
	       CONFIG_FILE " is safe; fallback oom_score_adj (unbounded, inherited)" : CONFIG_FILE " is safe");
	return cmd.check > 1;
}

/* Why the pardon is withheld from the command NAME found at CMD->st, or NULL. */
static const char *withheld(struct command *cmd, const char *name, int asked_adj)
{
	const char *why;

	if (in_userns())
		return cap_cause(0);
	if (getuid() == 0)
		cmd->fallback = asked_adj;	/* root's own decision; a user's is in the allowlist */
	else if ((why = load_config(cmd)) || cmd->fd < 0)
		return why ? why : msg("%s: not listed in %s", name, CONFIG_FILE);
	if (oom_pardon_supported())
		return NULL;
	if (!cmd->fallback)
		return msg("kernel without PR_SET_OOM_PARDON%s", asked_adj && getuid() ?
			       " (--fallback-adj is root's; others get it from the configuration only)" : "");
	cmd->adjfd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	return cmd->adjfd < 0 ? msg("/proc/self/oom_score_adj: %s", strerror(errno)) : NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid",          required_argument, NULL, 'p' },
		{ "check",        no_argument,       NULL, 'c' },
		{ "strict",       no_argument,       NULL, 's' },
		{ "fallback-adj", no_argument,       NULL, 'a' },
		{ "help",         no_argument,       NULL, 'h' },
		{ "version",      no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, strict = 0, check = 0, asked_adj = 0, found, raised, ret = -1, saved_errno;
	cap_value_t sys_resource = CAP_SYS_RESOURCE;
	struct command cmd = { .fd = -1, .adjfd = -1 };
	const char *why;
	char *end, **args;
	long pid = 0;
	cap_t caps;

	check_setup();
	while ((c = getopt_long(argc, argv, "+p:csahV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || pid <= 0 || pid > INT_MAX)
				errx(EXIT_OWN, "invalid PID argument: '%s'", optarg);
			break;
		case 'c': check = 1; break;
		case 's': strict = 1; break;
		case 'a': asked_adj = 1; break;
		case 'h': usage();
		case 'V': printf("%s %s\n", program_invocation_short_name, VERSION);
			  return EXIT_SUCCESS;
		default: errtryhelp(NULL);
		}
	}
	if ((pid || check) && (optind < argc || (pid && check)))
		errtryhelp("--pid and --check take nothing else");
	if (check)
		return check_system();
	if (pid)
		show_pid(pid);
	if (optind == argc)
		errtryhelp("no command specified");
	args = argv + optind;
	found = !find_command(args[0], &cmd.st);	/* if not, execvp() says why (126, 127) */
	why = found ? withheld(&cmd, args[0], asked_adj) : "not found";

	/*
	 * ---- Privileged window: CAP_SYS_RESOURCE is effective for one call ----
	 * No NO_NEW_PRIVS here and no CAP_MODE_NOPRIV (which sets it too):
	 * lockers authenticate through PAM's setuid unix_chkpwd, and with NNP
	 * the kernel ignores setuid bits, so the screen would never unlock.
	 * cap_set_proc() fails when the capability is not permitted.
	 */
	caps = cap_get_proc();
	raised = !why && caps && !cap_set_flag(caps, CAP_EFFECTIVE, 1, &sys_resource, CAP_SET) &&
		 !cap_set_proc(caps);
	if (raised)
		ret = cmd.adjfd < 0 ? oom_pardon_set(1) : write(cmd.adjfd, "-1000", 5) == 5 ? 0 : -1;
	saved_errno = errno;
	if (!caps || cap_clear(caps) || cap_set_proc(caps) || cap_reset_ambient())
		err(EXIT_OWN, "cannot drop capabilities");
	cap_free(caps);
	/* ---- End of privileged window: every capability set is cleared ---- */

	/* The ambient set is a subset of permitted and inheritable: empty too. */
	if (!caps_empty(cap_get_proc()))
		errx(EXIT_OWN, "capabilities still held after dropping them");
	if (!why && !raised)
		why = cap_cause(getuid() != 0) ?: "CAP_SYS_RESOURCE not granted by the kernel (is the helper being traced?)";
	else if (!why && ret < 0)
		why = msg("%s: %s", cmd.adjfd < 0 ? "PR_SET_OOM_PARDON" : "cannot set oom_score_adj to -1000",
			      strerror(saved_errno));
	if (found && why && strict)
		errx(EXIT_OWN, "%s", why);
	if (found && why)
		warnx("warning: %s; running %s without the OOM pardon", why, args[0]);
	if (cmd.fd >= 0)	/* a listed file runs from its listed path: the file checked */
		fexecve(cmd.fd, args, environ);
	else
		execvp(args[0], args);
	err(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "%s", args[0]);
}
