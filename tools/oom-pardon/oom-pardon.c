// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * oom-pardon - run a command, typically a screen locker, pardoned by the
 * OOM killer (prctl PR_SET_OOM_PARDON), with no privilege left when it runs.
 *
 * Installed with the file capability cap_sys_resource=p, never setuid.
 * See oom-pardon(1) and SECURITY.md.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "oom-pardon.h"

#ifndef CONFIG_FILE
#define CONFIG_FILE "/etc/oom-pardon.conf"	/* a build-time setting only */
#endif
#ifndef VERSION
#define VERSION "1.0"
#endif

enum { EXIT_OWN = 125, EXIT_CANNOT_RUN = 126, EXIT_NOT_FOUND = 127 };

static void __attribute__((noreturn)) usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] [--] <command> [<argument>...]\n"
	       " %1$s -p <pid>\n\n"
	       "Run a command (a screen locker) pardoned by the OOM killer.\n\n"
	       "Options:\n"
	       " -p, --pid <pid>       show the pardon state of a process\n"
	       " -s, --strict          fail (125) when the pardon cannot be given\n"
	       " -a, --fallback-adj    on a kernel without the pardon, set oom_score_adj -1000\n\n"
	       " -h, --help            display this help\n"
	       " -V, --version         display version\n\n"
	       "Allowlist for non-root users: %2$s\n"
	       "For more details see oom-pardon(1).\n",
	       program_invocation_short_name, CONFIG_FILE);
	exit(EXIT_SUCCESS);
}

static void __attribute__((noreturn)) errtryhelp(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n",
		program_invocation_short_name);
	exit(EXIT_OWN);
}

static int read_long(const char *path, long *val)
{
	FILE *f = fopen(path, "re");
	int ok = f && fscanf(f, "%ld", val) == 1;

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

static void __attribute__((noreturn)) show_pid(pid_t pid)
{
	char path[64], line[256];
	long pardon = -1, kb = 0, bound, score, adj, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		err(EXIT_OWN, "cannot read %s", path);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "OomPardon: %ld", &v) == 1)
			pardon = v;
		else if (sscanf(line, "VmRSS: %ld", &v) == 1 ||
			 sscanf(line, "VmSwap: %ld", &v) == 1 ||
			 sscanf(line, "VmPTE: %ld", &v) == 1)
			kb += v;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/oom_score", pid);
	if (read_long(path, &score))
		err(EXIT_OWN, "cannot read %s", path);
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
	if (read_long(path, &adj))
		err(EXIT_OWN, "cannot read %s", path);
	if (pardon < 0)
		printf("pid %d's OOM pardon: unsupported (kernel without OomPardon)\n", pid);
	else
		printf("pid %d's OOM pardon: %ld\n", pid, pardon);
	printf("pid %d's pardon honoured: ", pid);
	if (pardon < 1)
		printf("no\n");
	else if (read_long("/proc/sys/vm/oom_pardon_max_kb", &bound))
		printf("unknown (cannot read vm.oom_pardon_max_kb)\n");
	else if (bound == 0)
		printf("yes (%ld kB, vm.oom_pardon_max_kb is 0: no bound)\n", kb);
	else
		printf("%s (%ld kB %s vm.oom_pardon_max_kb %ld kB)\n", kb <= bound ?
		       "yes" : "no", kb, kb <= bound ? "<=" : ">", bound);
	printf("pid %d's current OOM score: %ld\n", pid, score);
	printf("pid %d's current OOM score adjust value: %ld\n", pid, adj);
	exit(EXIT_SUCCESS);
}

/* Refuse setups we were not built for (bwrap does the same at start-up). */
static void check_setup(void)
{
	cap_flag_value_t f;
	cap_value_t v;
	cap_t caps;

	if (getuid() != geteuid() || getgid() != getegid())
		errx(EXIT_OWN, "refusing to run setuid or setgid; install with 'setcap cap_sys_resource=p' instead");
	if (getuid() == 0)
		return;		/* root holds every capability anyway */
	caps = cap_get_proc();
	if (!caps)
		err(EXIT_OWN, "cannot read capabilities");
	for (v = 0; v < cap_max_bits(); v++)
		if (v != CAP_SYS_RESOURCE && !cap_get_flag(caps, v, CAP_PERMITTED, &f) && f)
			errx(EXIT_OWN, "refusing to run with %s permitted; only cap_sys_resource=p is expected",
			     cap_to_name(v));
	cap_free(caps);
}

static int try_open(const char *path, struct stat *st)
{
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (!fstat(fd, st) && S_ISREG(st->st_mode) &&
	    !faccessat(fd, "", X_OK, AT_EMPTY_PATH))
		return fd;
	close(fd);
	errno = EACCES;
	return -1;
}

/* Open the command once, found the way execvp() finds it; 126/127 if not. */
static int open_command(const char *cmd, struct stat *st)
{
	const char *dir = getenv("PATH"), *end;
	char path[PATH_MAX];
	int fd, denied = 0;

	if (strchr(cmd, '/')) {
		fd = try_open(cmd, st);
		if (fd < 0)
			err(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "%s", cmd);
		return fd;
	}
	for (dir = dir && *dir ? dir : "/usr/local/bin:/usr/bin:/bin"; ; dir = end + 1) {
		end = strchrnul(dir, ':');
		if (snprintf(path, sizeof(path), "%.*s%s%s", (int)(end - dir), dir,
			     end > dir ? "/" : "", cmd) < (int)sizeof(path)) {
			fd = try_open(path, st);
			if (fd >= 0)
				return fd;
			denied |= errno == EACCES;
		}
		if (!*end)
			break;
	}
	if (denied)
		errx(EXIT_CANNOT_RUN, "%s: %s", cmd, strerror(EACCES));
	errx(EXIT_NOT_FOUND, "%s: command not found", cmd);
}

struct command {
	struct stat st;		/* of the opened executable */
	int listed;		/* an allowlist entry is the same inode */
};

static int match(const char *path, void *arg)
{
	struct command *cmd = arg;
	struct stat st;

	if (!stat(path, &st) && st.st_dev == cmd->st.st_dev && st.st_ino == cmd->st.st_ino)
		cmd->listed = 1;
	return 0;
}

/* Read the allowlist; only root may run without one. Returns the fallback. */
static int load_config(struct command *cmd, int required)
{
	static char buf[CONF_SIZE_MAX + 1];
	struct stat st;
	struct conf c;
	ssize_t n, len = 0;
	int fd = open(CONFIG_FILE, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 && errno == ENOENT && !required)
		return 0;
	if (fd < 0 || fstat(fd, &st))
		err(EXIT_OWN, "%s", CONFIG_FILE);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		errx(EXIT_OWN, "%s: unsafe: must be a regular file owned by root, writable by nobody else",
		     CONFIG_FILE);
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += n;
	if (n < 0)
		err(EXIT_OWN, "%s", CONFIG_FILE);
	close(fd);
	if (conf_parse(buf, len, &c, match, cmd)) {
		if (c.line)
			errx(EXIT_OWN, "%s:%u: %s", CONFIG_FILE, c.line, c.error);
		errx(EXIT_OWN, "%s: %s", CONFIG_FILE, c.error);
	}
	return c.fallback_adj;
}

/* A locker must never fail to lock: without --strict, warn and go on. */
static void degrade(int strict, const char *cmd, const char *why, int errnum)
{
	if (strict)
		errx(EXIT_OWN, "%s%s%s", why, errnum ? ": " : "", errnum ? strerror(errnum) : "");
	warnx("warning: %s%s%s; running %s without the OOM pardon",
	      why, errnum ? ": " : "", errnum ? strerror(errnum) : "", cmd);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid",          required_argument, NULL, 'p' },
		{ "strict",       no_argument,       NULL, 's' },
		{ "fallback-adj", no_argument,       NULL, 'a' },
		{ "help",         no_argument,       NULL, 'h' },
		{ "version",      no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, fd, strict = 0, fallback = 0, supported, adjfd = -1, raised = 0,
	    ret = 0, saved = 0;
	cap_value_t sys_resource = CAP_SYS_RESOURCE;
	struct command cmd = { .listed = 0 };
	char *end;
	long pid = 0;
	cap_t caps, none;

	check_setup();
	while ((c = getopt_long(argc, argv, "+p:sahV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || pid <= 0 || pid > INT_MAX)
				errx(EXIT_OWN, "invalid PID argument: '%s'", optarg);
			break;
		case 's': strict = 1; break;
		case 'a': fallback = 1; break;
		case 'h': usage();
		case 'V': printf("%s %s\n", program_invocation_short_name, VERSION);
			  return EXIT_SUCCESS;
		default: errtryhelp();
		}
	}
	if (pid && optind < argc)
		warnx("--pid takes no command");
	else if (pid)
		show_pid(pid);
	else if (optind == argc)
		warnx("no command specified");
	if (pid || optind == argc)
		errtryhelp();

	fd = open_command(argv[optind], &cmd.st);
	fallback |= load_config(&cmd, getuid() != 0);
	if (getuid() != 0 && !cmd.listed)
		errx(EXIT_OWN, "%s: not listed in %s", argv[optind], CONFIG_FILE);
	supported = oom_pardon_get() >= 0 || errno != EINVAL;
	if (!supported && fallback) {
		adjfd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (adjfd < 0)
			err(EXIT_OWN, "/proc/self/oom_score_adj");
	}

	/*
	 * ---- Privileged window: CAP_SYS_RESOURCE is effective for one call ----
	 * No NO_NEW_PRIVS here and no CAP_MODE_NOPRIV (which sets it too):
	 * lockers authenticate through PAM's setuid unix_chkpwd, and with NNP
	 * the kernel ignores setuid bits, so the screen would never unlock.
	 */
	caps = cap_get_proc();
	if (!caps)
		err(EXIT_OWN, "cannot read capabilities");
	if ((supported || adjfd >= 0) &&
	    !cap_set_flag(caps, CAP_EFFECTIVE, 1, &sys_resource, CAP_SET) &&
	    !cap_set_proc(caps)) {
		raised = 1;
		ret = supported ? oom_pardon_set(1) :
		      write(adjfd, "-1000", 5) == 5 ? 0 : -1;
		saved = errno;
	}
	if (cap_clear(caps) || cap_set_proc(caps) || cap_reset_ambient())
		err(EXIT_OWN, "cannot drop capabilities");
	cap_free(caps);
	/* ---- End of privileged window: every capability set is cleared ---- */

	caps = cap_get_proc();
	none = cap_init();
	c = !caps || !none || cap_compare(caps, none);
	for (cap_value_t v = 0; !c && v < cap_max_bits(); v++)
		c = cap_get_ambient(v) != 0;
	if (c)
		errx(EXIT_OWN, "capabilities still held after dropping them");
	cap_free(caps);
	cap_free(none);

	if (!supported && !fallback)
		degrade(strict, argv[optind], "kernel without PR_SET_OOM_PARDON", 0);
	else if (!raised)
		degrade(strict, argv[optind], getuid() ? "CAP_SYS_RESOURCE not permitted: not installed with 'setcap cap_sys_resource=p'"
			: "CAP_SYS_RESOURCE not permitted (bounding set?)", 0);
	else if (ret < 0)
		degrade(strict, argv[optind], supported ? "PR_SET_OOM_PARDON" :
			"cannot set oom_score_adj to -1000", saved);
	if (adjfd >= 0)
		close(adjfd);

	fexecve(fd, argv + optind, environ);
	if (errno == ENOENT) {	/* a script: its interpreter needs /dev/fd/N */
		fcntl(fd, F_SETFD, 0);
		fexecve(fd, argv + optind, environ);
	}
	err(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "%s", argv[optind]);
}
