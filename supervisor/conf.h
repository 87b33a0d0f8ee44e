/*
 * conf.h: what the files of the config reader share, and only they: the
 * parse in progress with its messages and the lines of its keys
 * (conf_scan.c), the checks of a config against the system (conf_check.c).
 * conf.c, which builds the config, uses both; they alone include confuse.h.
 */
#ifndef CONF_H
#define CONF_H

#include <confuse.h>
#include <stdarg.h>

#define CONF_MAX (1024 * 1024)
#define SECONDS_MAX 315360000L /* ten years: any duration */
#define COUNT_MAX 1000000L     /* slots, attempts, children */
#define BYTES_MAX (1L << 50)   /* a PiB: any size */

struct keyline {
	char *section; /* stage title, NULL for the top level */
	const char *key;
	int line;
};

/* The parse in progress: libconfuse's callbacks take no context. */
struct confparse {
	const char *path;
	char err[512];
	struct keyline *keys;
	size_t nkeys;
	int *stagelines;
	size_t nstages;
	struct keyline *words; /* the keys the scan saw, by name and line */
	size_t nwords;
};

extern struct confparse P;

/* conf_scan.c: the text before libconfuse, and where each key is. */
void conf_fail(int, const char *, ...) __attribute__((format(printf, 2, 3)));
void conf_errfunc(cfg_t *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
int conf_keyline(cfg_t *, cfg_opt_t *);
int conf_line(const char *section, const char *key);
int conf_size(cfg_t *, cfg_opt_t *, const char *value, void *result);
int conf_stage_word(int start, const char *key);
int conf_scan(char *s, size_t len);
char *conf_read(const char *path, size_t *lenp);
char *conf_strdup(const char *);

/* conf_check.c: the config against the system. */
int conf_user(struct stconf *, uid_t euid);
char *conf_dir(const char *path);
int conf_reach(struct conf *, uid_t euid);
int conf_stages_check(const struct conf *, uid_t euid);
int conf_spool(const struct conf *, uid_t euid);
int conf_group(struct conf *, const char *name);

#endif
