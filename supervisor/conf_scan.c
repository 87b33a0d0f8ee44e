/*
 * conf_scan.c: the config's text before libconfuse reads it, and the
 * messages of a parse: comments blanked out with their newlines kept, so
 * that the lines libconfuse counts are the file's true lines; braces
 * counted first, so that a section left open is an error; the line of
 * each key, for a message that names the file, the line and the fault.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <bsd/string.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoold.h"
#include "conf.h"

struct confparse P;

static int conf_word_line(const char *, int);

char *
conf_strdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

void
conf_fail(int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (P.err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(P.err, sizeof(P.err), "%s:%d: %s", P.path, line, msg);
	else
		snprintf(P.err, sizeof(P.err), "%s: %s", P.path, msg);
}

void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	conf_fail(cfg != NULL ? cfg->line : 0, "%s", msg);
}

int
conf_keyline(cfg_t *cfg, cfg_opt_t *opt)
{
	struct keyline *k;
	const char *title = cfg_title(cfg);

	k = reallocarray(P.keys, P.nkeys + 1, sizeof(*P.keys));
	if (k == NULL)
		fatal("reallocarray");
	P.keys = k;
	k = &P.keys[P.nkeys++];
	k->section = title != NULL ? strdup(title) : NULL;
	k->key = opt->name;
	k->line = conf_word_line(opt->name, cfg->line);
	return 0;
}

/* The line a key was set on, or the line of its stage, or 0. */
int
conf_line(const char *section, const char *key)
{
	size_t i;

	for (i = P.nkeys; i-- > 0;) {
		const struct keyline *k = &P.keys[i];
		if (strcmp(k->key, key) != 0)
			continue;
		if ((section == NULL) != (k->section == NULL))
			continue;
		if (section == NULL || strcmp(section, k->section) == 0)
			return k->line;
	}
	return 0;
}

/*
 * Parses a size for libconfuse: a count of bytes with an optional suffix
 * K, M, G or T (powers of 1024). The range is checked later.
 */
int
conf_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	static const char units[] = "KMGT";
	const char *u;
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (end == value || errno == ERANGE)
		goto bad;
	if (*end != '\0') {
		if ((u = strchr(units, toupper((unsigned char)*end))) == NULL ||
		    end[1] != '\0')
			goto bad;
		for (; u >= units; u--) {
			if (v > LONG_MAX / 1024 || v < LONG_MIN / 1024)
				goto bad;
			v *= 1024;
		}
	}
	*(long *)result = v;
	return 0;
bad:
	cfg_error(cfg, "%s: \"%s\" is not a size (bytes, or a number with K, "
	    "M, G or T)", opt->name, value);
	return -1;
}

/*
 * The line of a key the scan saw in the stage that starts on line start,
 * after that line and before the next stage; 0 when there is none. For a
 * key libconfuse names no line for, such as an empty list.
 */
int
conf_stage_word(int start, const char *key)
{
	size_t i;
	int end = INT_MAX;

	for (i = 0; i < P.nstages; i++)
		if (P.stagelines[i] > start && P.stagelines[i] < end)
			end = P.stagelines[i];
	/* Not on the stage's own line, which may hold another stage's. */
	for (i = 0; i < P.nwords; i++)
		if (P.words[i].line > start && P.words[i].line < end &&
		    strcmp(P.words[i].section, key) == 0)
			return P.words[i].line;
	return 0;
}

static int
conf_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * A word of the config outside strings and comments: a top-level "stage"
 * opens a section, and a word followed by '=' or "+=" is a key, whose line
 * is kept for the messages about it.
 */
static void
conf_scan_word(const char *w, size_t n, size_t left, int depth, int line)
{
	const char *p = w + n, *end = w + left;
	struct keyline *k;
	int *v;

	if (depth == 0 && n == 5 && strncmp(w, "stage", 5) == 0) {
		if ((v = reallocarray(P.stagelines, P.nstages + 1,
		    sizeof(int))) == NULL)
			fatal("reallocarray");
		P.stagelines = v;
		P.stagelines[P.nstages++] = line;
		return;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || !(*p == '=' || (*p == '+' && p + 1 < end &&
	    p[1] == '=')))
		return;
	if ((k = reallocarray(P.words, P.nwords + 1, sizeof(*k))) == NULL)
		fatal("reallocarray");
	P.words = k;
	k = &P.words[P.nwords++];
	if ((k->section = strndup(w, n)) == NULL)
		fatal("strndup");
	k->key = NULL;
	k->line = line;
}

/*
 * The line a key was written on: the last word of that name the scan saw
 * at or before the line libconfuse is at (which, for a list over several
 * lines, is the line of each element).
 */
static int
conf_word_line(const char *key, int upto)
{
	size_t i;

	for (i = P.nwords; i-- > 0;)
		if (P.words[i].line <= upto &&
		    strcmp(P.words[i].section, key) == 0)
			return P.words[i].line;
	return upto;
}

/*
 * Blanks out # and // comments to the end of the line and C comments,
 * keeping newlines and quoted strings; records the line of each top-level
 * "stage" word; checks that braces balance.
 */
int
conf_scan(char *s, size_t len)
{
	size_t i = 0;
	int line = 1, depth = 0, openline[64];
	char q;

	while (i < len) {
		if (s[i] == '\n') {
			line++;
			i++;
		} else if (s[i] == '"' || s[i] == '\'') {
			int start = line;
			for (q = s[i++]; i < len && s[i] != q; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				if (s[i] == '\n')
					line++;
			}
			if (i >= len) {
				conf_fail(start, "unterminated string");
				return -1;
			}
			i++;
		} else if (s[i] == '#' ||
		    (s[i] == '/' && i + 1 < len && s[i + 1] == '/')) {
			while (i < len && s[i] != '\n')
				s[i++] = ' ';
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			int start = line;
			while (i < len &&
			    !(s[i] == '*' && i + 1 < len && s[i + 1] == '/')) {
				if (s[i] == '\n')
					line++;
				else
					s[i] = ' ';
				i++;
			}
			if (i >= len) {
				conf_fail(start, "unterminated comment");
				return -1;
			}
			s[i] = s[i + 1] = ' ';
			i += 2;
		} else if (s[i] == '{') {
			if (depth == (int)(sizeof(openline) / sizeof(*openline))) {
				conf_fail(line, "too deeply nested");
				return -1;
			}
			openline[depth++] = line;
			i++;
		} else if (s[i] == '}') {
			if (depth == 0) {
				conf_fail(line, "unexpected '}'");
				return -1;
			}
			depth--;
			i++;
		} else if (conf_word(s[i]) && (i == 0 || !conf_word(s[i - 1]))) {
			size_t n = 0;
			while (i + n < len && conf_word(s[i + n]))
				n++;
			conf_scan_word(s + i, n, len - i, depth, line);
			i += n;
		} else
			i++;
	}
	if (depth > 0) {
		conf_fail(openline[depth - 1], "missing '}' for this '{'");
		return -1;
	}
	return 0;
}

char *
conf_read(const char *path, size_t *lenp)
{
	struct stat st;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_fail(0, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONF_MAX) {
		conf_fail(0, "not a regular file of at most %d bytes",
		    CONF_MAX);
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		conf_fail(0, "writable by group or others (mode %04o)",
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if ((buf = fileio_read_fd(fd, st.st_size, lenp)) == NULL)
		conf_fail(0, "read: %s", strerror(errno));
	close(fd);
	return buf;
}
