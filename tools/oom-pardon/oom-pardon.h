/* SPDX-License-Identifier: MIT */
/*
 * oom-pardon.h - the OOM pardon prctl() for programs that call it themselves
 *
 * MIT-licensed so that screen lockers under any licence can include it.
 *
 * A pardoned process is treated by every OOM-killer path like a process
 * whose oom_score_adj is -1000, as long as the pardons of that OOM's domain
 * together stay within the sysctl vm.oom_pardon_budget_kbytes (their rss +
 * swap + page tables; over it, nobody in the domain is pardoned for that
 * OOM). The flag belongs to the whole process, is copied by fork() and kept
 * across execve(). Setting it needs CAP_SYS_RESOURCE (lockers get it
 * through the oom-pardon helper); clearing it is always allowed.
 *
 * PR_SET_OOM_PARDON and PR_GET_OOM_PARDON (82, 83) are provisional: the
 * numbers are assigned when the series is merged. Detect the feature with
 * oom_pardon_supported() before calling the others.
 *
 * Typical uses in a locker:
 *   - at start-up, warn when oom_pardon_supported() is 1 and oom_pardon_get()
 *     does not return 1;
 *   - in a child, call oom_pardon_clear() before exec'ing anything that is
 *     not the locker itself (a hook, a helper script), so the pardon does
 *     not leak to it.
 */
#ifndef OOM_PARDON_H
#define OOM_PARDON_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#ifndef PR_SET_OOM_PARDON
#define PR_SET_OOM_PARDON	82
#endif
#ifndef PR_GET_OOM_PARDON
#define PR_GET_OOM_PARDON	83
#endif
#ifndef OOM_PARDON_STATUS
#define OOM_PARDON_STATUS	"OomPardon:"	/* its line in /proc/PID/status */
#endif

/*
 * oom_pardon_supported - does the running kernel have the OOM pardon?
 *
 * Looks for the "OomPardon:" line of /proc/self/status first, so that a
 * kernel which gave 82/83 to something else is never called with them; with
 * the line there, the prctl must answer too. Only when /proc cannot be read
 * does it ask the prctl alone. Returns 1 or 0.
 */
static inline int oom_pardon_supported(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	int found = 0;

	if (f) {
		while (!found && fgets(line, sizeof(line), f))
			found = !strncmp(line, OOM_PARDON_STATUS, strlen(OOM_PARDON_STATUS));
		fclose(f);
		if (!found)
			return 0;
	}
	return prctl(PR_GET_OOM_PARDON, 0UL, 0UL, 0UL, 0UL) >= 0 || errno != EINVAL;
}

/*
 * oom_pardon_get - is the calling process pardoned?
 *
 * Returns 1 or 0. Returns -1 with errno EINVAL on a kernel without the
 * feature.
 */
static inline int oom_pardon_get(void)
{
	return prctl(PR_GET_OOM_PARDON, 0UL, 0UL, 0UL, 0UL);
}

/*
 * oom_pardon_set - set (ON = 1) or clear (ON = 0) the calling process's pardon
 *
 * Returns 0, or -1 with errno:
 *   EINVAL  the kernel lacks the feature, or ON is neither 0 nor 1;
 *   EPERM   ON is 1 and the caller lacks CAP_SYS_RESOURCE.
 */
static inline int oom_pardon_set(int on)
{
	return prctl(PR_SET_OOM_PARDON, (unsigned long)on, 0UL, 0UL, 0UL);
}

/*
 * oom_pardon_clear - drop the calling process's pardon
 *
 * Never needs privilege. Returns 0, or -1 with errno EINVAL on a kernel
 * without the feature (where there is nothing to drop).
 */
static inline int oom_pardon_clear(void)
{
	return oom_pardon_set(0);
}

#endif /* OOM_PARDON_H */
