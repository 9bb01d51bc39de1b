// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The allowlist format, one item a line:
 *
 *	# comment (only at the start of a line)
 *	/absolute/path/to/an/executable
 *	fallback oom_score_adj		(or: fallback none, the default)
 *
 * Leading and trailing blanks (a CR included) are ignored; blank lines are
 * fine. Anything else (relative paths, blanks inside a path, unknown
 * settings, control characters, NUL bytes, lines longer than CONF_LINE_MAX,
 * files larger than CONF_SIZE_MAX) is an error: an allowlist that cannot be
 * read exactly is not trusted at all, and nobody but root is pardoned.
 */
#include <string.h>

#include "conf.h"

const char *conf_unsafe(const struct stat *st, unsigned int type)
{
	if (S_ISLNK(st->st_mode))
		return "a symbolic link (never followed)";
	if ((st->st_mode & S_IFMT) != type)
		return type == S_IFDIR ? "not a directory" : "not a regular file";
	if (st->st_uid != 0)
		return "not owned by root";
	if (st->st_mode & 022)
		return "writable by group or others";
	return NULL;
}

/* An interpreter runs whatever its user hands it (BASH_ENV, PATH, -c...). */
const char *conf_not_binary(const char *head, size_t n)
{
	if (n >= 2 && !memcmp(head, "#!", 2))
		return "a script (#!): its interpreter runs what the user hands it";
	if (n < 4 || memcmp(head, "\177ELF", 4))
		return "not an ELF executable";
	return NULL;
}

int conf_parse(const char *buf, size_t len, struct conf *c, conf_entry_fn fn, void *arg)
{
	char line[CONF_LINE_MAX + 1], *s, *e, *p;
	const char *nl;
	size_t pos, n;

	/* Entries are reported only from a file that parses as a whole. */
	if (fn && conf_parse(buf, len, c, NULL, NULL))
		return -1;
	*c = (struct conf){ .error = len > CONF_SIZE_MAX ? "file too large" : NULL };
	for (pos = 0; !c->error && pos < len; pos += n + 1) {
		nl = memchr(buf + pos, '\n', len - pos);
		n = nl ? (size_t)(nl - buf) - pos : len - pos;
		c->line++;
		if (n > CONF_LINE_MAX) {
			c->error = "line too long";
			break;
		}
		memcpy(line, buf + pos, n);
		for (e = line + n; e > line && memchr(" \t\r", e[-1], 3); e--)
			;
		*e = '\0';
		s = line + strspn(line, " \t\r");
		if (*s == '#' || s == e)
			continue;
		for (p = s; p < e && (unsigned char)*p >= 0x20 && *p != 0x7f; p++)
			;
		if (p < e)
			c->error = *p ? "control character" : "NUL byte";
		else if (*s == '/' && strpbrk(s, " \t"))
			c->error = "blank inside path (comments must start a line)";
		else if (!strcmp(s, "fallback oom_score_adj") || !strcmp(s, "fallback none"))
			c->fallback_adj = !strcmp(s, "fallback oom_score_adj");
		else if (*s != '/')
			c->error = strchr(s, '/') ? "not an absolute path" :
				   "unknown setting (want /absolute/path or 'fallback oom_score_adj')";
		else if (fn)
			fn(s, arg);
	}
	return c->error ? -1 : 0;
}
