// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Linked into the sanitizer test build only. The helper ends in exec or
 * err(), never freeing what it would free at a normal exit, and LeakSanitizer
 * cannot work in setuid, setgid or file-capability processes (they are not
 * dumpable), which ignore ASAN_OPTIONS; so leak checking is off here.
 */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
