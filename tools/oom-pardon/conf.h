/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parser for oom-pardon's allowlist, kept apart from the helper so the unit
 * tests and the fuzz target exercise exactly the code the helper runs.
 */
#ifndef OOM_PARDON_CONF_H
#define OOM_PARDON_CONF_H

#include <stddef.h>

#define CONF_LINE_MAX	4095		/* bytes a line may hold, newline excluded */
#define CONF_SIZE_MAX	(64 * 1024)	/* bytes the whole file may hold */

struct conf {
	int fallback_adj;	/* "fallback oom_score_adj" was given */
	unsigned int line;	/* on error: 1-based line number, 0 for the file */
	const char *error;	/* on error: what is wrong, one short phrase */
};

/* Called with each listed absolute path; non-zero stops the parse. */
typedef int (*conf_entry_fn)(const char *path, void *arg);

/* Parse LEN bytes at BUF. Returns 0, or -1 with c->line and c->error set. */
int conf_parse(const char *buf, size_t len, struct conf *c,
	       conf_entry_fn fn, void *arg);

#endif /* OOM_PARDON_CONF_H */
