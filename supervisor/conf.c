/*
 * conf.c: reads the config file with libconfuse and turns it into a plain
 * struct conf, or names the file, the line and the fault; prints it back.
 * The text is prepared and the lines found by conf_scan.c, the config
 * checked against the system by conf_check.c.
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
#include "conf.h"
#include "runner.h"

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
		v[i] = conf_strdup(cfg_getnstr(sec, key, i));
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

/*
 * How the stage runs its jobs: the runner of that name, and its arguments
 * from the key it owns; the key of another runner is a fault.
 */
static int
conf_runner(struct stconf *sc, cfg_t *sec)
{
	const struct runner *rn = NULL;
	const char *runner = cfg_getstr(sec, "runner");
	char names[128];

	if ((sc->runner = runner_find(runner)) == NULL) {
		runner_names(names, sizeof(names));
		conf_fail(conf_line(sc->name, "runner"), "runner: \"%s\" is "
		    "%s", runner, names);
		return -1;
	}
	while ((rn = runner_next(rn)) != NULL)
		if (rn != sc->runner && rn->args_key != NULL &&
		    cfg_size(sec, rn->args_key) > 0) {
			conf_fail(conf_line(sc->name, rn->args_key), "%s: only "
			    "for a stage whose runner is \"%s\"", rn->args_key,
			    rn->name);
			return -1;
		}
	if (sc->runner->args_key == NULL)
		return 0;
	sc->runner_args = conf_list(sec, sc->runner->args_key);
	return conf_placeholders(sc, sc->runner->args_key, sc->runner_args);
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
	sc->name = conf_strdup(t);
	sc->line = line;
	sc->command = conf_list(sec, "command");
	sc->env = conf_list(sec, "env");
	sc->on_done = conf_list(sec, "on_done");
	sc->on_retry = conf_list(sec, "on_retry");
	sc->on_error = conf_list(sec, "on_error");
	sc->version = conf_list(sec, "version_command");
	sc->hook_timeout = cfg_getint(sec, "hook_timeout");
	sc->dedupe = cfg_getbool(sec, "dedupe");
	sc->lost_max = cfg_getint(sec, "lost_max");
	sc->cpus = cfg_getint(sec, "cpus");
	sc->memory = cfg_getint(sec, "memory");
	if (cfg_getstr(sec, "next") != NULL)
		sc->next = conf_strdup(cfg_getstr(sec, "next"));
	if (cfg_getstr(sec, "user") != NULL)
		sc->user = conf_strdup(cfg_getstr(sec, "user"));
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
	    conf_runner(sc, sec) == -1 ||
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
	c->path = conf_strdup(path);
	spool = cfg_getstr(cfg, "spool");
	if (spool[0] == '/')
		c->spool = conf_strdup(spool);
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

/* The keys of a stage: these, then the key of each runner's arguments. */
static cfg_opt_t stage_fixed[] = {
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
	CFG_INT("lost_max", 3, CFGF_NONE),
	CFG_INT("cpus", 1, CFGF_NONE),
	CFG_INT_CB("memory", 0, CFGF_NONE, conf_size),
	CFG_END()
};

#define NFIXED (sizeof(stage_fixed) / sizeof(stage_fixed[0]))
static cfg_opt_t stage_opts[NFIXED + RUNNER_MAX];

static void
conf_stage_opts(void)
{
	const struct runner *rn = NULL;
	size_t n = NFIXED - 1;

	memcpy(stage_opts, stage_fixed, sizeof(stage_fixed));
	while ((rn = runner_next(rn)) != NULL)
		if (rn->args_key != NULL)
			stage_opts[n++] = (cfg_opt_t)CFG_STR_LIST(rn->args_key,
			    NULL, CFGF_NODEFAULT);
	stage_opts[n] = (cfg_opt_t)CFG_END();
}

static cfg_t *
conf_parse(char *text, size_t len)
{
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

	conf_stage_opts();
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
 * euid; with CONF_ANY_USER the stages' users are not checked. On error,
 * prints "FILE:LINE: fault" on stderr and returns NULL.
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
		if (s->runner->args_key != NULL)
			conf_print_list(fp, s->runner->args_key, s->runner_args);
		fprintf(fp, "    lost_max = %ld\n", s->lost_max);
		fprintf(fp, "    cpus = %ld\n    memory = %ld\n", s->cpus,
		    s->memory);
		fprintf(fp, "}\n");
	}
}
