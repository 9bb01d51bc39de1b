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

static void collect(const char *path, void *arg)
{
	(void)arg;
	if (strlen(seen) + strlen(path) + 2 < sizeof(seen)) {
		strcat(seen, path);
		strcat(seen, ";");
	}
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
	} else if (line != 0 && ret == -1 && c.error && !seen[0] &&	/* no entry from a bad file */
		   c.line == (line < 0 ? 0U : (unsigned int)line)) {
		printf("ok - conf: %s (line %u: %s)\n", name, c.line, c.error);
	} else {
		failed = 1;
		printf("not ok - conf: %s: ret %d line %u error '%s' paths '%s' fallback %d\n",
		       name, ret, c.line, c.error ? c.error : "", seen, c.fallback_adj);
	}
}

#define CHECK(name, s, line, paths, fb) check(name, s, sizeof(s) - 1, line, paths, fb)

/* A file rule: conf_unsafe() or conf_not_binary() says WANT (NULL: accepted). */
static void rule(const char *name, const char *got, const char *want)
{
	int good = want ? got && strstr(got, want) : !got;

	failed |= !good;
	printf("%s - rule: %s%s%s\n", good ? "ok" : "not ok", name, got ? ": " : "", got ? got : "");
}

static const char *unsafe(unsigned int mode, uid_t uid, unsigned int type)
{
	struct stat st = { .st_mode = mode, .st_uid = uid };

	return conf_unsafe(&st, type);
}

#define BIN(s) conf_not_binary(s, sizeof(s) - 1)

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

	CHECK("a stray CR inside a line", "/usr/bin/i3\rlock\n", 1, "", 0);
	CHECK("fallback is only ever the file's word", "/x\nfallback oom_score_adj\n", 0, "/x;", 1);

	rule("root's 0644 file", unsafe(S_IFREG | 0644, 0, S_IFREG), NULL);
	rule("root's 0755 directory", unsafe(S_IFDIR | 0755, 0, S_IFDIR), NULL);
	rule("root's 0700 directory", unsafe(S_IFDIR | 0700, 0, S_IFDIR), NULL);
	rule("a user's file", unsafe(S_IFREG | 0644, 1000, S_IFREG), "not owned by root");
	rule("group-writable file", unsafe(S_IFREG | 0664, 0, S_IFREG), "writable by group or others");
	rule("world-writable file", unsafe(S_IFREG | 0646, 0, S_IFREG), "writable by group or others");
	rule("sticky /tmp is no place for it", unsafe(S_IFDIR | 01777, 0, S_IFDIR), "writable by group or others");
	rule("a symlink is never followed", unsafe(S_IFLNK | 0777, 0, S_IFREG), "symbolic link");
	rule("a FIFO", unsafe(S_IFIFO | 0644, 0, S_IFREG), "not a regular file");
	rule("a directory where a file is wanted", unsafe(S_IFDIR | 0755, 0, S_IFREG), "not a regular file");
	rule("a file where a directory is wanted", unsafe(S_IFREG | 0755, 0, S_IFDIR), "not a directory");
	rule("an ELF executable", BIN("\177ELF"), NULL);
	rule("a script", BIN("#!/bin/sh"), "a script (#!)");
	rule("a script with a blank", BIN("#! /usr/bin/env bash"), "a script (#!)");
	rule("an empty file", BIN(""), "not an ELF");
	rule("a short file", BIN("\177EL"), "not an ELF");
	rule("text", BIN("echo hi"), "not an ELF");

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
