/* SPDX-License-Identifier: MIT */
/*
 * oom-pardon.h - the OOM pardon prctl() for programs that call it themselves
 *
 * MIT-licensed so that screen lockers under any licence can include it.
 *
 * A pardoned process is treated by every OOM-killer path exactly like a
 * process whose oom_score_adj is -1000, as long as its size (rss + swap +
 * page tables) stays within the sysctl vm.oom_pardon_max_kb (0: no bound).
 * The flag belongs to the whole process, is copied by fork() and kept across
 * execve(). Setting it needs CAP_SYS_RESOURCE (lockers get it through the
 * oom-pardon helper); clearing it is always allowed.
 *
 * Typical uses in a locker:
 *   - at start-up, warn when oom_pardon_get() does not return 1;
 *   - in a child, call oom_pardon_clear() before exec'ing anything that is
 *     not the locker itself (a hook, a helper script), so the pardon does
 *     not leak to it.
 */
#ifndef OOM_PARDON_H
#define OOM_PARDON_H

#include <sys/prctl.h>

#ifndef PR_SET_OOM_PARDON
#define PR_SET_OOM_PARDON	82
#endif
#ifndef PR_GET_OOM_PARDON
#define PR_GET_OOM_PARDON	83
#endif

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
