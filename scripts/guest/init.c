// SPDX-License-Identifier: GPL-2.0
/*
 * PID 1 of a scripts/vm-run guest, built static by vm-run into
 * $BUILD/guest/init.
 *
 * The root filesystem is the host's, read-only over virtio 9p; the run
 * directory (tag "vmrun") is the host's writable scratch directory holding
 * the command to run. Mount what a small system needs, run
 * /run/vmrun/cmd with bash (output to /run/vmrun/out; the script writes its
 * own status to /run/vmrun/status), then reboot, which ends QEMU (it runs
 * with -no-reboot). /run/vmrun/shares, when vm-run writes it, lists
 * further 9p shares ("TAG PATH" a line): the repository and the build
 * directory when they live under /tmp, /run or /dev/shm, which get tmpfs
 * mounts here; each is mounted back at its own path.
 *
 * A shell script did this before; every mount(8) and ln(1) it ran was a
 * dynamically linked program loaded over 9p, about 1.2 s of a TCG boot.
 * Here they are system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void kmsg(const char *fmt, const char *arg)
{
	char line[256];
	int fd, n;

	n = snprintf(line, sizeof(line), fmt, arg);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fputs(line, stderr);
		return;
	}
	if (write(fd, line, n) < 0)
		fputs(line, stderr);
	close(fd);
}

/* A mount that fails is reported on the console; the command still runs. */
static void mnt(const char *src, const char *dst, const char *type,
		unsigned long flags, const char *opts)
{
	if (mount(src, dst, type, flags, opts) && errno != EBUSY)
		kmsg("vm-run init: mount %s failed\n", dst);
}

static void link_to(const char *target, const char *path)
{
	unlink(path);
	if (symlink(target, path))
		kmsg("vm-run init: cannot link %s\n", path);
}

/* mkdir -p PATH (mode 0755); the caller reports a failure by the mount. */
static void mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void mount_shares(void)
{
	char tag[32], path[4096];
	FILE *f = fopen("/run/vmrun/shares", "r");

	if (!f)
		return;
	while (fscanf(f, "%31s %4095s", tag, path) == 2) {
		mkdirs(path);
		if (mount(tag, path, "9p", MS_RDONLY,
			  "trans=virtio,version=9p2000.L,msize=262144,cache=loose"))
			kmsg("vm-run init: mount %s failed\n", path);
	}
	fclose(f);
}

static void end(void)
{
	int fd;

	sync();
	/* What "echo b > /proc/sysrq-trigger" did, without the sysrq. */
	reboot(RB_AUTOBOOT);
	/* Not reached unless reboot failed: try the sysrq way. */
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd >= 0 && write(fd, "b", 1) < 0)
		kmsg("vm-run init: %s\n", "cannot reboot");
	for (;;)
		pause();
}

int main(void)
{
	const unsigned long nosuid = MS_NOSUID | MS_NODEV;
	char uptime[64] = "?";
	pid_t pid, w;
	FILE *f;

	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	mnt("proc", "/proc", "proc", nosuid | MS_NOEXEC, NULL);
	mnt("sysfs", "/sys", "sysfs", nosuid | MS_NOEXEC, NULL);
	mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
	mkdir("/dev/pts", 0755);
	mkdir("/dev/shm", 01777);
	/* What udev would make: programs write to /dev/stdout, read /dev/fd/N. */
	link_to("/proc/self/fd", "/dev/fd");
	link_to("/proc/self/fd/0", "/dev/stdin");
	link_to("/proc/self/fd/1", "/dev/stdout");
	link_to("/proc/self/fd/2", "/dev/stderr");
	mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "gid=5,mode=620,ptmxmode=666");
	/* Not nosuid: the tests install file-capability programs in /tmp. */
	mnt("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
	mnt("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
	/* What tmpfiles.d/x11.conf makes: X servers started together race to. */
	if (mkdir("/tmp/.X11-unix", 01777) || chmod("/tmp/.X11-unix", 01777))
		kmsg("vm-run init: cannot make %s\n", "/tmp/.X11-unix");
	mnt("tmpfs", "/run", "tmpfs", nosuid, "mode=755");
	mnt("cgroup2", "/sys/fs/cgroup", "cgroup2", nosuid | MS_NOEXEC, NULL);
	mkdir("/run/vmrun", 0755);
	mnt("vmrun", "/run/vmrun", "9p", 0,
	    "trans=virtio,version=9p2000.L,msize=262144,cache=none");
	mount_shares();
	if (sethostname("vm", 2))
		kmsg("vm-run init: %s\n", "sethostname failed");
	f = fopen("/proc/uptime", "r");
	if (f) {
		if (fscanf(f, "%63s", uptime) != 1)
			strcpy(uptime, "?");
		fclose(f);
	}
	kmsg("vm-run: guest up after %s s\n", uptime);

	pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open("/run/vmrun/out", O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0 || chdir("/tmp"))
			_exit(127);
		close(in);
		close(out);
		execl("/bin/bash", "bash", "/run/vmrun/cmd", (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		kmsg("vm-run init: %s\n", "fork failed");
		end();
	}
	/* PID 1 reaps every orphan until the command's bash is done. */
	do {
		w = wait(NULL);
	} while (w != pid && !(w < 0 && errno == ECHILD));
	end();
	return 0;
}
