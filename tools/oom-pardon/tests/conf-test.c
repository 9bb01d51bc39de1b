// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the allowlist parser, runnable as any user.
 * Prints one "ok - name" / "not ok - name: detail" line per case;
 * tests/host-test.sh numbers them. Exits 1 if any case failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static char seen[1024];

static int collect(const char *path, void *arg)
{
	(void)arg;
	if (strlen(seen) + strlen(path) + 2 < sizeof(seen)) {
		strcat(seen, path);
		strcat(seen, ";");
	}
	return 0;
}

static int failed;

/* Expect LINE == 0 for success, else an error on that line (-1: file level). */
static void check(const char *name, const char *buf, size_t len, int line,
		  const char *paths, int fallback)
{
	struct conf c;
	int ret;

	seen[0] = '\0';
	ret = conf_parse(buf, len, &c, collect, NULL);
	if (line == 0 && ret == 0 && !strcmp(seen, paths) && c.fallback_adj == fallback) {
		printf("ok - conf: %s\n", name);
	} else if (line != 0 && ret == -1 && c.error &&
		   c.line == (line < 0 ? 0U : (unsigned int)line)) {
		printf("ok - conf: %s (line %u: %s)\n", name, c.line, c.error);
	} else {
		failed = 1;
		printf("not ok - conf: %s: ret %d line %u error '%s' paths '%s' fallback %d\n",
		       name, ret, c.line, c.error ? c.error : "", seen, c.fallback_adj);
	}
}

#define CHECK(name, s, line, paths, fb) check(name, s, sizeof(s) - 1, line, paths, fb)

int main(void)
{
	char *big;

	CHECK("empty file", "", 0, "", 0);
	CHECK("one path", "/usr/bin/i3lock\n", 0, "/usr/bin/i3lock;", 0);
	CHECK("no final newline", "/a\n/b", 0, "/a;/b;", 0);
	CHECK("comments and blank lines",
	      "# locker list\n\n   \n\t# indented comment\n/usr/bin/vlock\n", 0,
	      "/usr/bin/vlock;", 0);
	CHECK("blanks around a path, CRLF", "  /usr/bin/slock \t\r\n", 0, "/usr/bin/slock;", 0);
	CHECK("fallback setting", "fallback oom_score_adj\n/x\n", 0, "/x;", 1);
	CHECK("fallback none wins when last", "fallback oom_score_adj\nfallback none\n", 0, "", 0);
	CHECK("relative path", "/ok\nusr/bin/i3lock\n", 2, "", 0);
	CHECK("dot-relative path", "./i3lock\n", 1, "", 0);
	CHECK("bare word", "/ok\n\ni3lock\n", 3, "", 0);
	CHECK("unknown setting", "fallback oom_score_adj=1\n", 1, "", 0);
	CHECK("trailing comment after a path", "/usr/bin/i3lock # locker\n", 1, "", 0);
	CHECK("control character", "/usr/bin/\033lock\n", 1, "", 0);
	CHECK("NUL byte", "/usr/bin/i3lock\n/bin/\0x\n", 2, "", 0);
	CHECK("garbage", "\x7f" "ELF\x02\x01\x01", 1, "", 0);

	big = malloc(CONF_SIZE_MAX + 2);
	if (!big)
		return 2;
	memset(big, 'a', CONF_SIZE_MAX + 1);
	big[0] = '/';
	check("line of CONF_LINE_MAX bytes", big, CONF_LINE_MAX, 0, "", 0);
	seen[0] = '\0';
	check("overlong line", big, CONF_LINE_MAX + 1, 1, "", 0);
	memset(big, '\n', CONF_SIZE_MAX + 1);
	check("file of CONF_SIZE_MAX blank lines", big, CONF_SIZE_MAX, 0, "", 0);
	check("file too large", big, CONF_SIZE_MAX + 1, -1, "", 0);
	free(big);
	return failed;
}
