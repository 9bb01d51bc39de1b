// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * oom-pardon.h, compiled as a locker would (-std=c99 -pedantic), checked
 * against the running kernel: feature detection and the errno semantics the
 * header documents.
 * Run without CAP_SYS_RESOURCE. Prints "ok - ..." lines; exits 1 on failure.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "oom-pardon.h"

static int failed;

static void expect(const char *name, int ret, int want, int err, int want_err)
{
	int good = ret == want && (want != -1 || err == want_err);

	failed |= !good;
	printf("%s - header: %s", good ? "ok" : "not ok", name);
	if (!good)
		printf(": got %d (%s), want %d (%s)", ret, strerror(err), want, strerror(want_err));
	printf("\n");
}

int main(void)
{
	int ret = oom_pardon_get(), err = errno;

	expect("oom_pardon_supported() agrees with the prctl", oom_pardon_supported(),
	       ret < 0 && err == EINVAL ? 0 : 1, 0, 0);
	if (ret < 0 && err == EINVAL) {
		printf("# kernel without the OOM pardon\n");
		ret = oom_pardon_clear(), err = errno;
		expect("stock kernel: oom_pardon_clear() fails with EINVAL", ret, -1, err, EINVAL);
		ret = oom_pardon_set(1), err = errno;
		expect("stock kernel: oom_pardon_set(1) fails with EINVAL", ret, -1, err, EINVAL);
		return failed;
	}
	expect("oom_pardon_get() returns 0 or 1", ret == 0 || ret == 1, 1, err, 0);
	ret = oom_pardon_clear(), err = errno;
	expect("oom_pardon_clear() needs no privilege", ret, 0, err, 0);
	ret = oom_pardon_get(), err = errno;
	expect("oom_pardon_get() is 0 after clearing", ret, 0, err, 0);
	ret = oom_pardon_set(1), err = errno;
	expect("oom_pardon_set(1) without CAP_SYS_RESOURCE: EPERM", ret, -1, err, EPERM);
	ret = oom_pardon_set(2), err = errno;
	expect("oom_pardon_set(2): EINVAL", ret, -1, err, EINVAL);
	return failed;
}
