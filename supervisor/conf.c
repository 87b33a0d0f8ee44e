/*
 * conf.c: reads the config file with libconfuse and turns it into a plain
 * struct conf, or names the file, the line and the fault. It is the only
 * file that includes confuse.h.
 *
 * libconfuse is handed the text with its comments blanked out (newlines
 * kept), so that the lines it counts are the file's true lines, and with its
 * braces counted first, so that a section left open is an error.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <bsd/string.h>
#include <confuse.h>
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
static struct {
	const char *path;
	char err[512];
	struct keyline *keys;
	size_t nkeys;
	int *stagelines;
	size_t nstages;
	struct keyline *words; /* the keys the scan saw, by name and line */
	size_t nwords;
} P;

static void conf_fail(int, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static int conf_word_line(const char *, int);

static void
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

static void conf_errfunc(cfg_t *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	conf_fail(cfg != NULL ? cfg->line : 0, "%s", msg);
}

static int
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
static int
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
static int
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
 * after that line and before the next stage; 0 when there is none. For a key libconfuse
 * names no line for, such as an empty list.
 */
static int
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
static int
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

static char *
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

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

static char **
conf_list(cfg_t *sec, const char *key)
{
	unsigned i, n = cfg_size(sec, key);
	char **v;

	if (n == 0)
		return NULL;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		fatal("calloc");
	for (i = 0; i < n; i++)
		v[i] = xstrdup(cfg_getnstr(sec, key, i));
	return v;
}


void
stconf_free(struct stconf *sc)
{
	if (sc == NULL)
		return;
	free(sc->name);
	strv_free(sc->command);
	strv_free(sc->env);
	strv_free(sc->on_done);
	strv_free(sc->runner_args);
	strv_free(sc->on_retry);
	strv_free(sc->on_error);
	strv_free(sc->version);
	free(sc->next);
	free(sc->user);
	free(sc->groups);
	free(sc->fail_codes);
	free(sc);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nstages; i++)
		stconf_free(c->stages[i]);
	free(c->stages);
	free(c->path);
	free(c->spool);
	free(c->group);
	free(c);
}

const struct stconf *
conf_stage(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nstages; i++)
		if (c->stages[i] != NULL && strcmp(c->stages[i]->name, name) == 0)
			return c->stages[i];
	return NULL;
}

int
conf_is_fail_code(const struct stconf *sc, int code)
{
	size_t i;

	for (i = 0; i < sc->nfail; i++)
		if (sc->fail_codes[i] == code)
			return 1;
	return 0;
}

static int
conf_number(const char *section, const char *key, long v, long min, long max)
{
	if (v >= min && v <= max)
		return 0;
	conf_fail(conf_line(section, key), "%s: %ld is out of range (%ld to "
	    "%ld)", key, v, min, max);
	return -1;
}

/* A folder name that no other part of the spool uses. */
static int
conf_stage_name(const char *name, int line)
{
	static const char *reserved[] = {"work", "log", "index", "tmp", "out"};
	const char *p;
	size_t i;

	if (name[0] == '\0' || name[0] == '.' || strlen(name) > 64) {
		conf_fail(line, "stage name \"%s\" is not a folder name", name);
		return -1;
	}
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL) {
			conf_fail(line, "stage name \"%s\": only letters, digits, "
			    "'.', '_' and '-'", name);
			return -1;
		}
	for (i = 0; i < sizeof(reserved) / sizeof(*reserved); i++)
		if (strcmp(name, reserved[i]) == 0) {
			conf_fail(line, "stage name \"%s\" is taken by the spool's "
			    "own %s/ folder", name, name);
			return -1;
		}
	return 0;
}

/* The words of an argv key hold only known placeholders. */
static int
conf_placeholders(struct stconf *sc, const char *key, char **argv)
{
	char **a, *p;

	for (a = argv; a != NULL && *a != NULL; a++)
		for (p = *a; (p = strchr(p, '%')) != NULL; p += 2)
			if (p[1] == '\0' || strchr("fisw%", p[1]) == NULL) {
				conf_fail(conf_line(sc->name, key), "%s: unknown "
				    "placeholder \"%%%.1s\" (known: %%f %%i %%s "
				    "%%w %%%%)", key, p + 1);
				return -1;
			}
	return 0;
}

/* How the stage runs its jobs: the runner of that name, and its options. */
static int
conf_runner(struct stconf *sc, const char *runner)
{
	char names[128];

	if ((sc->runner = runner_find(runner)) == NULL) {
		runner_names(names, sizeof(names));
		conf_fail(conf_line(sc->name, "runner"), "runner: \"%s\" is "
		    "%s", runner, names);
		return -1;
	}
	return conf_placeholders(sc, "slurm_args", sc->runner_args);
}

/*
 * An argv key (command, a hook, version_command): a program that is not
 * empty, known placeholders, and a program named by a relative path taken
 * from the config file's folder.
 */
static int
conf_argv(struct stconf *sc, const char *key, char **argv, const char *dir)
{
	int line = conf_line(sc->name, key);
	char *abs;

	if (argv[0][0] == '\0') {
		conf_fail(line ? line : sc->line, "%s: the program is empty", key);
		return -1;
	}
	if (conf_placeholders(sc, key, argv) == -1)
		return -1;
	if (strchr(argv[0], '/') != NULL && argv[0][0] != '/') {
		if (asprintf(&abs, "%s/%s", dir, argv[0]) == -1)
			fatal("asprintf");
		free(argv[0]);
		argv[0] = abs;
	}
	return 0;
}

static int
conf_command(struct stconf *sc, const char *dir)
{
	int line;

	if (sc->command == NULL) {
		if ((line = conf_stage_word(sc->line, "command")) > 0)
			conf_fail(line, "command: empty list");
		else
			conf_fail(sc->line, "stage %s: no command", sc->name);
		return -1;
	}
	return conf_argv(sc, "command", sc->command, dir);
}

/* The hooks and version_command: argv keys that may be left out. */
static int
conf_commands(struct stconf *sc, const char *dir)
{
	char **v[] = {sc->on_done, sc->on_retry, sc->on_error, sc->version};
	const char *keys[] = {"on_done", "on_retry", "on_error",
	    "version_command"};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(*v); i++)
		if (v[i] != NULL && conf_argv(sc, keys[i], v[i], dir) == -1)
			return -1;
	return 0;
}

static int
conf_env(struct stconf *sc)
{
	char **e;
	const char *p;

	for (e = sc->env; e != NULL && *e != NULL; e++) {
		p = strchr(*e, '=');
		if (p == NULL || p == *e || strncmp(*e, "SPOOL_", 6) == 0) {
			conf_fail(conf_line(sc->name, "env"), "env: \"%s\" is not "
			    "NAME=value with a NAME not starting SPOOL_", *e);
			return -1;
		}
	}
	return 0;
}

static int
conf_user(struct stconf *sc, uid_t euid)
{
	struct passwd *pw;
	int line = conf_line(sc->name, "user"), n = 16;

	if (euid == CONF_ANY_USER)
		return 0;
	if (sc->user == NULL) {
		if (euid != 0)
			return 0;
		conf_fail(sc->line, "stage %s: spoold runs as root, so the stage "
		    "needs a user", sc->name);
		return -1;
	}
	if ((pw = getpwnam(sc->user)) == NULL) {
		conf_fail(line, "user: no such user \"%s\"", sc->user);
		return -1;
	}
	if (euid != 0 && pw->pw_uid != euid) {
		/* Only root can switch users: as nginx does, say so and go on. */
		fprintf(stderr, "%s:%d: warning: user \"%s\" ignored: spoold is "
		    "not root\n", P.path, line, sc->user);
		free(sc->user);
		sc->user = NULL;
		return 0;
	}
	sc->uid = pw->pw_uid;
	sc->gid = pw->pw_gid;
	for (;;) {
		gid_t *g = reallocarray(sc->groups, n, sizeof(gid_t));
		if (g == NULL)
			fatal("reallocarray");
		sc->groups = g;
		if (getgrouplist(pw->pw_name, pw->pw_gid, sc->groups, &n) != -1)
			break;
	}
	sc->ngroups = n;
	return 0;
}

static int
conf_fail_codes(struct stconf *sc, cfg_t *sec)
{
	unsigned i;

	sc->nfail = cfg_size(sec, "fail_codes");
	if ((sc->fail_codes = calloc(sc->nfail + 1, sizeof(int))) == NULL)
		fatal("calloc");
	for (i = 0; i < sc->nfail; i++) {
		long v = cfg_getnint(sec, "fail_codes", i);
		if (v < 1 || v > 255) {
			conf_fail(conf_line(sc->name, "fail_codes"),
			    "fail_codes: %ld is not an exit code from 1 to 255", v);
			return -1;
		}
		sc->fail_codes[i] = (int)v;
	}
	return 0;
}

static struct stconf *
conf_stage_new(cfg_t *sec, int line, const char *dir, uid_t euid)
{
	struct stconf *sc;
	const char *t = cfg_title(sec);

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		fatal("calloc");
	sc->name = xstrdup(t);
	sc->line = line;
	sc->command = conf_list(sec, "command");
	sc->env = conf_list(sec, "env");
	sc->on_done = conf_list(sec, "on_done");
	sc->on_retry = conf_list(sec, "on_retry");
	sc->on_error = conf_list(sec, "on_error");
	sc->version = conf_list(sec, "version_command");
	sc->hook_timeout = cfg_getint(sec, "hook_timeout");
	sc->dedupe = cfg_getbool(sec, "dedupe");
	sc->runner_args = conf_list(sec, "slurm_args");
	sc->lost_max = cfg_getint(sec, "lost_max");
	sc->cpus = cfg_getint(sec, "cpus");
	sc->memory = cfg_getint(sec, "memory");
	if (cfg_getstr(sec, "next") != NULL)
		sc->next = xstrdup(cfg_getstr(sec, "next"));
	if (cfg_getstr(sec, "user") != NULL)
		sc->user = xstrdup(cfg_getstr(sec, "user"));
	sc->slots = cfg_getint(sec, "slots");
	sc->timeout = cfg_getint(sec, "timeout");
	sc->heartbeat = cfg_getint(sec, "heartbeat");
	sc->attempts = cfg_getint(sec, "attempts");
	sc->backoff = cfg_getint(sec, "backoff");
	sc->backoff_max = cfg_getint(sec, "backoff_max");
	sc->retain = cfg_getint(sec, "retain");
	sc->rlimit_nproc = cfg_getint(sec, "rlimit_nproc");
	sc->rlimit_as = cfg_getint(sec, "rlimit_as");
	sc->rlimit_cpu = cfg_getint(sec, "rlimit_cpu");
	sc->log_max = cfg_getint(sec, "log_max");
	if (conf_stage_name(t, line) == -1 ||
	    conf_number(t, "slots", sc->slots, 0, COUNT_MAX) == -1 ||
	    conf_number(t, "timeout", sc->timeout, 0, SECONDS_MAX) == -1 ||
	    conf_number(t, "heartbeat", sc->heartbeat, 0, SECONDS_MAX) == -1 ||
	    conf_number(t, "attempts", sc->attempts, 1, COUNT_MAX) == -1 ||
	    conf_number(t, "backoff", sc->backoff, 0, SECONDS_MAX) == -1 ||
	    conf_number(t, "backoff_max", sc->backoff_max, 0,
	    SECONDS_MAX) == -1 ||
	    conf_number(t, "retain", sc->retain, 0, SECONDS_MAX / 86400) == -1 ||
	    conf_number(t, "rlimit_nproc", sc->rlimit_nproc, 0, COUNT_MAX) == -1 ||
	    conf_number(t, "rlimit_as", sc->rlimit_as, 0, BYTES_MAX) == -1 ||
	    conf_number(t, "rlimit_cpu", sc->rlimit_cpu, 0, SECONDS_MAX) == -1 ||
	    conf_number(t, "log_max", sc->log_max, 0, BYTES_MAX) == -1 ||
	    conf_number(t, "hook_timeout", sc->hook_timeout, 0,
	    SECONDS_MAX) == -1 ||
	    conf_number(t, "lost_max", sc->lost_max, 1, COUNT_MAX) == -1 ||
	    conf_number(t, "cpus", sc->cpus, 1, COUNT_MAX) == -1 ||
	    conf_number(t, "memory", sc->memory, 0, BYTES_MAX) == -1 ||
	    conf_command(sc, dir) == -1 || conf_commands(sc, dir) == -1 ||
	    conf_env(sc) == -1 ||
	    conf_runner(sc, cfg_getstr(sec, "runner")) == -1 ||
	    conf_fail_codes(sc, sec) == -1 || conf_user(sc, euid) == -1) {
		stconf_free(sc);
		return NULL;
	}
	return sc;
}

/* Every next names a stage, and following them never comes back. */
static int
conf_chain(struct conf *c)
{
	size_t i, steps;
	const struct stconf *s;

	for (i = 0; i < c->nstages; i++) {
		s = c->stages[i];
		if (s->next == NULL)
			continue;
		if (conf_stage(c, s->next) == NULL) {
			conf_fail(conf_line(s->name, "next"), "next: no stage "
			    "named \"%s\"", s->next);
			return -1;
		}
		for (steps = 0; s != NULL && s->next != NULL &&
		    steps < c->nstages; steps++) {
			s = conf_stage(c, s->next);
			if (s == c->stages[i]) {
				conf_fail(conf_line(s->name, "next"), "next: "
				    "stage %s leads back to itself", s->name);
				return -1;
			}
		}
	}
	return 0;
}

static char *
conf_dir(const char *path)
{
	char *copy = xstrdup(path), *slash, *dir;

	slash = strrchr(copy, '/');
	if (slash == NULL)
		strlcpy(copy, ".", strlen(copy) + 1);
	else if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	dir = realpath(copy, NULL);
	free(copy);
	return dir;
}

/*
 * The spool is its owner's and its group's (0750): a stage's user other
 * than root reaches its job through the group, so there must be one, and
 * it joins the groups the stage's children get.
 */
static int
conf_reach(struct conf *c, uid_t euid)
{
	size_t i;
	int j;
	struct stconf *s;

	if (euid != 0)
		return 0;
	for (i = 0; i < c->nstages; i++) {
		s = c->stages[i];
		if (s->user == NULL || s->uid == 0)
			continue;
		if (c->group == NULL) {
			conf_fail(conf_line(s->name, "user"), "user: %s cannot "
			    "reach the spool, which only root and its group may "
			    "enter: name that group with group", s->user);
			return -1;
		}
		for (j = 0; j < s->ngroups && s->groups[j] != c->gid; j++)
			;
		if (j < s->ngroups)
			continue;
		if (s->runner->remote) {
			/* Slurm gives a job its user's groups, no others. */
			conf_fail(conf_line(s->name, "user"), "user: %s is not a "
			    "member of group %s, which a Slurm job needs to write "
			    "the spool", s->user, c->group);
			return -1;
		}
		if ((s->groups = reallocarray(s->groups, s->ngroups + 1,
		    sizeof(gid_t))) == NULL)
			fatal("reallocarray");
		s->groups[s->ngroups++] = c->gid;
	}
	return 0;
}

/* Who a stage's children are, for the checks of what they may reach. */
struct who {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int ngroups;
};

/* Whether w may do want (an or of R_OK, W_OK and X_OK) to a file like sb. */
static int
conf_allows(const struct who *w, const struct stat *sb, int want)
{
	int i, bits = sb->st_mode;

	if (w->uid == 0)
		return !(want & X_OK) || S_ISDIR(sb->st_mode) ||
		    (sb->st_mode & 0111);
	if (sb->st_uid == w->uid)
		bits >>= 6;
	else {
		for (i = 0; i < w->ngroups && w->groups[i] != sb->st_gid; i++)
			;
		if (sb->st_gid == w->gid || i < w->ngroups)
			bits >>= 3;
	}
	return (bits & want) == want;
}

/* Whether w may do want to path itself; errno EACCES when not. */
static int
conf_may_one(const struct who *w, const char *path, int want)
{
	struct stat sb;

	if (stat(path, &sb) == -1)
		return 0;
	if (conf_allows(w, &sb, want))
		return 1;
	errno = EACCES;
	return 0;
}

/*
 * Whether w may search every folder on the way to path and do want to it
 * (want 0: reach it). When not, the first folder or file in the way goes
 * to where, and errno is EACCES, or why it could not be looked at.
 */
static int
conf_may(const struct who *w, const char *path, int want, char *where,
    size_t len)
{
	char *real, *p;
	int ok = 1;

	if ((real = realpath(path, NULL)) == NULL) {
		strlcpy(where, path, len);
		return 0;
	}
	for (p = real; ok && p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		strlcpy(where, p == real ? "/" : real, len);
		ok = conf_may_one(w, where, X_OK);
		*p = '/';
	}
	if (ok) {
		strlcpy(where, real, len);
		ok = conf_may_one(w, real, want);
	}
	free(real);
	return ok;
}

/*
 * The program of a stage's command: it exists and its user may run it,
 * where it would be found with the children's PATH. A Slurm stage's runs
 * on the cluster's nodes: only a warning here.
 */
static int
conf_program(const struct stconf *sc, uid_t euid)
{
	struct who w = {sc->uid, sc->gid, sc->groups, sc->ngroups};
	const char *name = sc->command[0], *path = CHILD_PATH, *p, *end;
	char buf[PATH_MAX], where[PATH_MAX], why[2 * PATH_MAX + 64];
	char **e;
	int line = conf_line(sc->name, "command");

	for (e = sc->env; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	snprintf(why, sizeof(why), "%s: not found in PATH (%s)", name, path);
	for (p = path; strchr(name, '/') == NULL; p = end + 1) {
		end = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - p), p,
		    end > p ? "/" : "", name);
		if (access(buf, F_OK) == 0)
			break;
		if (*end == '\0')
			goto fail;
	}
	if (strchr(name, '/') != NULL)
		strlcpy(buf, name, sizeof(buf));
	if (sc->user == NULL || sc->uid == euid) {
		/* spoold's own user: the kernel says, groups and ACLs included. */
		if (faccessat(AT_FDCWD, buf, X_OK, AT_EACCESS) == 0)
			return 0;
		snprintf(why, sizeof(why), "%s: %s", buf, strerror(errno));
	} else if (conf_may(&w, buf, X_OK, where, sizeof(where)))
		return 0;
	else if (errno != EACCES)
		snprintf(why, sizeof(why), "%s: %s", where, strerror(errno));
	else if (strcmp(where, buf) == 0)
		snprintf(why, sizeof(why), "%s is not executable by %s", buf,
		    sc->user);
	else
		snprintf(why, sizeof(why), "%s cannot reach %s (no search "
		    "permission in %s)", sc->user, buf, where);
fail:
	if (!sc->runner->remote) {
		conf_fail(line ? line : sc->line, "command: %s", why);
		return -1;
	}
	fprintf(stderr, "%s:%d: warning: command: %s here; the Slurm nodes "
	    "must have it\n", P.path, line ? line : sc->line, why);
	return 0;
}

/*
 * A stage's user other than root must reach the spool, whose folders
 * spoold makes open to its group: its children name their job by path,
 * and a Slurm run writes its output and exit status in the work folder.
 */
static int
conf_spool_reach(const struct conf *c, const struct stconf *sc)
{
	struct who w = {sc->uid, sc->gid, sc->groups, sc->ngroups};
	char *parent = xstrdup(c->spool), where[PATH_MAX];
	int ok;

	*strrchr(parent, '/') = '\0';
	ok = conf_may(&w, parent[0] != '\0' ? parent : "/", X_OK, where,
	    sizeof(where));
	free(parent);
	if (ok || errno != EACCES)
		return 0;
	conf_fail(conf_line(sc->name, "user"), "user: %s cannot reach the "
	    "spool %s: no search permission in %s", sc->user, c->spool, where);
	return -1;
}

/* What starting the stages needs of their programs and users. */
static int
conf_stages_check(const struct conf *c, uid_t euid)
{
	size_t i;
	const struct stconf *sc;

	if (euid == CONF_ANY_USER)
		return 0;
	for (i = 0; i < c->nstages; i++) {
		sc = c->stages[i];
		if (euid == 0 && sc->user != NULL && sc->uid != 0 &&
		    conf_spool_reach(c, sc) == -1)
			return -1;
		if (conf_program(sc, euid) == -1)
			return -1;
	}
	return 0;
}

/*
 * The spool spoold would open: a folder, or a name it can make in an
 * existing folder, on a filesystem that can be written.
 */
static int
conf_spool(const struct conf *c, uid_t euid)
{
	char *parent, *what = c->spool;
	struct statvfs vfs;
	struct stat sb;
	int line = conf_line(NULL, "spool"), r = -1;

	if (euid == CONF_ANY_USER)
		return 0;
	parent = xstrdup(c->spool);
	*strrchr(parent, '/') = '\0';
	if (stat(c->spool, &sb) == -1) {
		if (errno == ENOENT) {
			what = parent[0] != '\0' ? parent : "/";
			if (stat(what, &sb) == -1 && errno == ENOENT) {
				conf_fail(line, "spool: %s: its parent folder %s "
				    "does not exist (spoold makes the spool, not "
				    "its parents)", c->spool, what);
				goto out;
			}
		}
		if (errno != ENOENT) {
			conf_fail(line, "spool: %s: %s", what, strerror(errno));
			goto out;
		}
	}
	if (!S_ISDIR(sb.st_mode))
		conf_fail(line, "spool: %s is not a folder", what);
	else if (statvfs(what, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		conf_fail(line, "spool: %s is on a read-only filesystem",
		    c->spool);
	else
		r = 0;
out:
	free(parent);
	return r;
}

/* The group of the submitters, who may reach the spool. */
static int
conf_group(struct conf *c, const char *name)
{
	struct group *gr;

	if (name == NULL)
		return 0;
	if ((gr = getgrnam(name)) == NULL) {
		conf_fail(conf_line(NULL, "group"), "group: no such group \"%s\"",
		    name);
		return -1;
	}
	c->group = xstrdup(name);
	c->gid = gr->gr_gid;
	return 0;
}

static struct conf *
conf_build(cfg_t *cfg, const char *path, uid_t euid)
{
	struct conf *c;
	char *dir;
	const char *spool;
	size_t i, n = cfg_size(cfg, "stage");

	if ((dir = conf_dir(path)) == NULL) {
		conf_fail(0, "folder: %s", strerror(errno));
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->stages = calloc(n + 1, sizeof(*c->stages))) == NULL)
		fatal("calloc");
	c->path = xstrdup(path);
	spool = cfg_getstr(cfg, "spool");
	if (spool[0] == '/')
		c->spool = xstrdup(spool);
	else if (asprintf(&c->spool, "%s/%s", dir, spool) == -1)
		fatal("asprintf");
	c->tick = cfg_getint(cfg, "tick");
	c->max_children = cfg_getint(cfg, "max_children");
	c->kill_grace = cfg_getint(cfg, "kill_grace");
	c->shutdown_grace = cfg_getint(cfg, "shutdown_grace");
	c->events_max = cfg_getint(cfg, "events_max");
	c->cpus = cfg_getint(cfg, "cpus");
	c->memory = cfg_getint(cfg, "memory");
	c->gid = (gid_t)-1;
	if (spool[0] == '\0')
		conf_fail(conf_line(NULL, "spool"), "spool: empty path");
	else if (conf_number(NULL, "tick", c->tick, 1, SECONDS_MAX) == -1 ||
	    conf_number(NULL, "max_children", c->max_children, 0,
	    COUNT_MAX) == -1 ||
	    conf_number(NULL, "kill_grace", c->kill_grace, 0, SECONDS_MAX) == -1 ||
	    conf_number(NULL, "shutdown_grace", c->shutdown_grace, 0,
	    SECONDS_MAX) == -1 ||
	    conf_number(NULL, "events_max", c->events_max, 0, BYTES_MAX) == -1 ||
	    conf_number(NULL, "cpus", c->cpus, 0, COUNT_MAX) == -1 ||
	    conf_number(NULL, "memory", c->memory, 0, BYTES_MAX) == -1 ||
	    conf_group(c, cfg_getstr(cfg, "group")) == -1)
		;
	else if (n == 0)
		conf_fail(0, "no stage declared");
	for (i = 0; i < n && P.err[0] == '\0'; i++) {
		c->stages[i] = conf_stage_new(cfg_getnsec(cfg, "stage", i),
		    i < P.nstages ? P.stagelines[i] : 0, dir, euid);
		if (c->stages[i] != NULL)
			c->nstages++;
	}
	free(dir);
	if (P.err[0] == '\0')
		conf_chain(c);
	if (P.err[0] == '\0')
		conf_reach(c, euid);
	if (P.err[0] == '\0' && conf_spool(c, euid) == 0)
		conf_stages_check(c, euid);
	if (P.err[0] != '\0') {
		conf_free(c);
		return NULL;
	}
	return c;
}

static cfg_t *
conf_parse(char *text, size_t len)
{
	static cfg_opt_t stage_opts[] = {
		CFG_STR_LIST("command", NULL, CFGF_NODEFAULT),
		CFG_INT("slots", 1, CFGF_NONE),
		CFG_STR("next", NULL, CFGF_NODEFAULT),
		CFG_INT("timeout", 0, CFGF_NONE),
		CFG_INT("heartbeat", 0, CFGF_NONE),
		CFG_INT("attempts", 3, CFGF_NONE),
		CFG_INT("backoff", 10, CFGF_NONE),
		CFG_INT("backoff_max", 3600, CFGF_NONE),
		CFG_INT_LIST("fail_codes", "{64, 65, 66, 77, 78}", CFGF_NONE),
		CFG_STR("user", NULL, CFGF_NODEFAULT),
		CFG_STR_LIST("env", NULL, CFGF_NODEFAULT),
		CFG_INT("retain", 0, CFGF_NONE),
		CFG_INT("rlimit_nproc", 0, CFGF_NONE),
		CFG_INT_CB("rlimit_as", 0, CFGF_NONE, conf_size),
		CFG_INT("rlimit_cpu", 0, CFGF_NONE),
		CFG_INT_CB("log_max", 0, CFGF_NONE, conf_size),
		CFG_BOOL("dedupe", cfg_false, CFGF_NONE),
		CFG_STR_LIST("on_done", NULL, CFGF_NODEFAULT),
		CFG_STR_LIST("on_retry", NULL, CFGF_NODEFAULT),
		CFG_STR_LIST("on_error", NULL, CFGF_NODEFAULT),
		CFG_INT("hook_timeout", 60, CFGF_NONE),
		CFG_STR_LIST("version_command", NULL, CFGF_NODEFAULT),
		CFG_STR("runner", "local", CFGF_NONE),
		CFG_STR_LIST("slurm_args", NULL, CFGF_NODEFAULT),
		CFG_INT("lost_max", 3, CFGF_NONE),
		CFG_INT("cpus", 1, CFGF_NONE),
		CFG_INT_CB("memory", 0, CFGF_NONE, conf_size),
		CFG_END()
	};
	static cfg_opt_t opts[] = {
		CFG_STR("spool", "data", CFGF_NONE),
		CFG_INT("tick", 1, CFGF_NONE),
		CFG_INT("max_children", 0, CFGF_NONE),
		CFG_INT("kill_grace", 5, CFGF_NONE),
		CFG_INT("shutdown_grace", 30, CFGF_NONE),
		CFG_STR("group", NULL, CFGF_NODEFAULT),
		CFG_INT_CB("events_max", 10 * 1024 * 1024, CFGF_NONE, conf_size),
		CFG_INT("cpus", 0, CFGF_NONE),
		CFG_INT_CB("memory", 0, CFGF_NONE, conf_size),
		CFG_SEC("stage", stage_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END()
	};
	cfg_opt_t *o;
	cfg_t *cfg;
	FILE *fp;
	char name[64];
	int r;

	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL)
		fatal("cfg_init");
	cfg_set_error_function(cfg, conf_errfunc);
	for (o = opts; o->type != CFGT_NONE; o++)
		if (o->type != CFGT_SEC)
			cfg_set_validate_func(cfg, o->name, conf_keyline);
	for (o = stage_opts; o->type != CFGT_NONE; o++) {
		snprintf(name, sizeof(name), "stage|%s", o->name);
		cfg_set_validate_func(cfg, name, conf_keyline);
	}
	if ((fp = fmemopen(text, len, "r")) == NULL)
		fatal("fmemopen");
	r = cfg_parse_fp(cfg, fp);
	fclose(fp);
	if (r != CFG_SUCCESS) {
		conf_fail(0, "cannot parse");
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

static void
conf_reset(const char *path)
{
	size_t i;

	for (i = 0; i < P.nkeys; i++)
		free(P.keys[i].section);
	free(P.keys);
	for (i = 0; i < P.nwords; i++)
		free(P.words[i].section);
	free(P.words);
	free(P.stagelines);
	memset(&P, 0, sizeof(P));
	P.path = path;
}

/*
 * Loads the config at path for a spoold running with the effective uid
 * euid; with CONF_ANY_USER the stages' users are not checked. On error, prints "FILE:LINE: fault" on stderr and returns NULL.
 */
struct conf *
conf_load(const char *path, uid_t euid)
{
	struct conf *c = NULL;
	cfg_t *cfg;
	char *text;
	size_t len;

	conf_reset(path);
	if ((text = conf_read(path, &len)) != NULL &&
	    conf_scan(text, len) == 0 &&
	    (cfg = conf_parse(text, len)) != NULL) {
		c = conf_build(cfg, path, euid);
		cfg_free(cfg);
	}
	free(text);
	if (c == NULL)
		fprintf(stderr, "%s\n", P.err);
	conf_reset(NULL);
	return c;
}

static void
conf_print_list(FILE *fp, const char *key, char **v)
{
	const char *p;

	if (v == NULL)
		return;
	fprintf(fp, "    %s = {", key);
	for (; *v != NULL; v++) {
		fputc('"', fp);
		for (p = *v; *p != '\0'; p++)
			fprintf(fp, "%s%c", *p == '"' || *p == '\\' ? "\\" : "",
			    *p);
		fprintf(fp, "\"%s", v[1] != NULL ? ", " : "");
	}
	fprintf(fp, "}\n");
}

/* The config as spoold understood it, every default filled in. */
void
conf_print(FILE *fp, const struct conf *c)
{
	const struct stconf *s;
	size_t i, j;

	fprintf(fp, "spool = \"%s\"\ntick = %ld\nmax_children = %ld\n"
	    "kill_grace = %ld\nshutdown_grace = %ld\nevents_max = %ld\n",
	    c->spool, c->tick, c->max_children, c->kill_grace,
	    c->shutdown_grace, c->events_max);
	fprintf(fp, "cpus = %ld\nmemory = %ld\n", c->cpus, c->memory);
	if (c->group != NULL)
		fprintf(fp, "group = \"%s\"\n", c->group);
	for (i = 0; i < c->nstages; i++) {
		s = c->stages[i];
		fprintf(fp, "\nstage %s {\n", s->name);
		conf_print_list(fp, "command", s->command);
		fprintf(fp, "    slots = %ld\n", s->slots);
		if (s->next != NULL)
			fprintf(fp, "    next = \"%s\"\n", s->next);
		fprintf(fp, "    timeout = %ld\n    heartbeat = %ld\n"
		    "    attempts = %ld\n    backoff = %ld\n"
		    "    backoff_max = %ld\n    fail_codes = {", s->timeout,
		    s->heartbeat, s->attempts, s->backoff, s->backoff_max);
		for (j = 0; j < s->nfail; j++)
			fprintf(fp, "%d%s", s->fail_codes[j],
			    j + 1 < s->nfail ? ", " : "");
		fprintf(fp, "}\n");
		if (s->user != NULL)
			fprintf(fp, "    user = \"%s\"\n", s->user);
		conf_print_list(fp, "env", s->env);
		fprintf(fp, "    retain = %ld\n    rlimit_nproc = %ld\n"
		    "    rlimit_as = %ld\n    rlimit_cpu = %ld\n"
		    "    log_max = %ld\n    dedupe = %s\n", s->retain,
		    s->rlimit_nproc, s->rlimit_as, s->rlimit_cpu, s->log_max,
		    s->dedupe ? "true" : "false");
		conf_print_list(fp, "on_done", s->on_done);
		conf_print_list(fp, "on_retry", s->on_retry);
		conf_print_list(fp, "on_error", s->on_error);
		fprintf(fp, "    hook_timeout = %ld\n", s->hook_timeout);
		conf_print_list(fp, "version_command", s->version);
		fprintf(fp, "    runner = \"%s\"\n", s->runner->name);
		conf_print_list(fp, "slurm_args", s->runner_args);
		fprintf(fp, "    lost_max = %ld\n", s->lost_max);
		fprintf(fp, "    cpus = %ld\n    memory = %ld\n", s->cpus,
		    s->memory);
		fprintf(fp, "}\n");
	}
}
