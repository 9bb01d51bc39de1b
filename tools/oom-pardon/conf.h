/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oom-pardon's configuration rules, kept apart from the helper so that the
 * unit tests and the fuzz target exercise exactly the code the helper runs:
 * the parser, and the verdicts on the files it names (the configuration, the
 * directories above it, each listed executable).
 */
#ifndef OOM_PARDON_CONF_H
#define OOM_PARDON_CONF_H

#include <stddef.h>
#include <sys/stat.h>

#define CONF_LINE_MAX	4095		/* bytes a line may hold, newline excluded */
#define CONF_SIZE_MAX	(64 * 1024)	/* bytes the whole file may hold */

struct conf {
	int fallback_adj;	/* "fallback oom_score_adj" was given */
	unsigned int line;	/* on error: 1-based line number, 0 for the file */
	const char *error;	/* on error: what is wrong, one short phrase */
};

/* Called with each listed absolute path. */
typedef void (*conf_entry_fn)(const char *path, void *arg);

/*
 * Parse LEN bytes at BUF. Returns 0, or -1 with c->line and c->error set.
 * FN (may be NULL) sees the paths only of a file that parses as a whole.
 */
int conf_parse(const char *buf, size_t len, struct conf *c, conf_entry_fn fn, void *arg);

/*
 * Why a file of type TYPE (S_IFREG or S_IFDIR), seen through lstat() or an
 * O_NOFOLLOW descriptor, cannot be trusted, or NULL: it must be root's alone.
 */
const char *conf_unsafe(const struct stat *st, unsigned int type);

/* Why a listed file starting with the N bytes at HEAD is refused, or NULL. */
const char *conf_not_binary(const char *head, size_t n);

#endif /* OOM_PARDON_CONF_H */
