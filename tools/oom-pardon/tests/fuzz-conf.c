// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the configuration rules (make fuzz): the parser, and
 * the verdicts on the files it names, fed with stat fields and file heads
 * taken from the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conf.h"

static void entry(const char *path, void *arg)
{
	size_t *n = arg;

	/* What the parser promises its caller: absolute, bounded, no blanks. */
	if (path[0] != '/' || strlen(path) > CONF_LINE_MAX || strpbrk(path, " \t\n\r"))
		__builtin_trap();
	(*n)++;
}

/* Only root's own file or directory, writable by nobody else, is trusted. */
static void rules(const uint8_t *data, size_t size)
{
	struct stat st;
	unsigned int type;
	uint32_t mode, uid;

	if (size < 9)
		return;
	memcpy(&mode, data, 4);
	memcpy(&uid, data + 4, 4);
	type = data[8] & 1 ? S_IFDIR : S_IFREG;
	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_uid = uid;
	if (!conf_unsafe(&st, type) &&
	    ((st.st_mode & S_IFMT) != type || st.st_uid != 0 || (st.st_mode & 022)))
		__builtin_trap();
	if (!conf_not_binary((const char *)data + 9, size - 9) &&
	    (size - 9 < 4 || memcmp(data + 9, "\177ELF", 4)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	size_t n = 0;

	/* A file that does not parse as a whole names no entry at all. */
	if (conf_parse((const char *)data, size, &c, entry, &n) &&
	    (!c.error || c.line > size + 1 || n))
		__builtin_trap();
	rules(data, size);
	return 0;
}
