// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target for the allowlist parser (make fuzz). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conf.h"

static int entry(const char *path, void *arg)
{
	size_t *n = arg;

	/* What the parser promises its caller: absolute, bounded, no blanks. */
	if (path[0] != '/' || strlen(path) > CONF_LINE_MAX || strpbrk(path, " \t\n"))
		__builtin_trap();
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	size_t n = 0;

	if (conf_parse((const char *)data, size, &c, entry, &n) &&
	    (!c.error || c.line > size + 1))
		__builtin_trap();
	return 0;
}
