// SPDX-License-Identifier: GPL-2.0
/*
 * oom_pardon_idle: an idle process of a few pages, built with nolibc (no C
 * library mapped, nothing faulted in but its own code and stack). The
 * dilution scene of oom_pardon_budget starts hundreds of them, pardoned,
 * beside a locker: each counts against the budget with what it really
 * holds. It sleeps until it is killed.
 */
int main(void)
{
	for (;;)
		sleep(3600);
	return 0;
}
