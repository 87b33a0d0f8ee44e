/*
 * test_conf.c: conf_load on config files written to a temporary folder:
 * every default, the paths made absolute, and each config error with the
 * exact "FILE:LINE: fault" it prints, the line being the file's true line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_log.h"
#include "runner.h"


struct fx {
	char dir[PATH_MAX];  /* the temporary folder, as made */
	char real[PATH_MAX]; /* its realpath */
	char path[PATH_MAX]; /* the config file in it */
	char err[4096];      /* what the last load wrote on stderr */
	char expect[4096];
};

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	str(f->dir, sizeof(f->dir), "/tmp/test_conf.XXXXXX");
	if (mkdtemp(f->dir) == NULL || realpath(f->dir, f->real) == NULL) {
		free(f);
		return -1;
	}
	str(f->path, sizeof(f->path), "%s/spoold.conf", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int r;

	r = fileio_rmtree(AT_FDCWD, f->dir);
	free(f);
	return r;
}

/* Writes the config text, mode 0600 unless told otherwise. */
static void
write_conf_mode(struct fx *f, const char *text, mode_t mode)
{
	FILE *fp;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(f->path, mode), 0);
}

static void
write_conf(struct fx *f, const char *text)
{
	write_conf_mode(f, text, 0600);
}

/* conf_load with what it logs caught in f->err. */
static struct conf *
load_path(struct fx *f, const char *path, uid_t euid)
{
	struct conf *c;

	logged_begin();
	c = conf_load(path, euid);
	str(f->err, sizeof(f->err), "%s", logged_end());
	return c;
}

static struct conf *
load(struct fx *f, uid_t euid)
{
	return load_path(f, f->path, euid);
}

/* The number of the first line of text holding marker, counted by hand. */
static int
line_of(const char *text, const char *marker)
{
	const char *at = strstr(text, marker), *p;
	int line = 1;

	assert_non_null(at);
	for (p = text; p < at; p++)
		if (*p == '\n')
			line++;
	return line;
}

static const char *expect(struct fx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
expect(struct fx *f, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	str(f->expect, sizeof(f->expect), "%s:%s\n", f->path, msg);
	return f->expect;
}

/* Loads text, which must fail with exactly want on stderr. */
static void
load_fails(struct fx *f, const char *text, uid_t euid, const char *want)
{
	struct conf *c;

	write_conf(f, text);
	c = load(f, euid);
	if (c != NULL)
		conf_free(c);
	assert_null(c);
	assert_string_equal(f->err, want);
}

/* Loads text, which must fail naming the line of marker with msg. */
static void
fails_at(struct fx *f, const char *text, const char *marker, const char *msg)
{
	char want[4096];

	str(want, sizeof(want), "%s:%d: %s\n", f->path,
	    line_of(text, marker), msg);
	load_fails(f, text, CONF_ANY_USER, want);
}

/* Loads text, which must fail naming line with msg. */
static void
fails_on(struct fx *f, const char *text, int line, const char *msg)
{
	char want[4096];

	str(want, sizeof(want), "%s:%d: %s\n", f->path, line, msg);
	load_fails(f, text, CONF_ANY_USER, want);
}

#define STAGE_A "stage a {\n\tcommand = {\"/bin/true\", \"%f\"}\n}\n"

static void
test_defaults(void **state)
{
	struct fx *f = *state;
	const struct stconf *s;
	struct conf *c;
	char want[PATH_MAX + 8];
	static const int codes[] = {64, 65, 66, 77, 78};
	size_t i;

	write_conf(f, STAGE_A);
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	assert_string_equal(c->path, f->path);
	str(want, sizeof(want), "%s/data", f->real);
	assert_string_equal(c->spool, want);
	assert_int_equal(c->tick, 1);
	assert_int_equal(c->max_children, 0);
	assert_int_equal(c->kill_grace, 5);
	assert_int_equal(c->shutdown_grace, 30);
	assert_int_equal(c->nstages, 1);
	s = c->stages[0];
	assert_ptr_equal(conf_stage(c, "a"), s);
	assert_null(conf_stage(c, "b"));
	assert_string_equal(s->name, "a");
	assert_int_equal(s->line, 1);
	assert_non_null(s->command);
	assert_string_equal(s->command[0], "/bin/true");
	assert_string_equal(s->command[1], "%f");
	assert_null(s->command[2]);
	assert_int_equal(s->slots, 1);
	assert_null(s->next);
	assert_int_equal(s->timeout, 0);
	assert_int_equal(s->heartbeat, 0);
	assert_int_equal(s->attempts, 3);
	assert_int_equal(s->backoff, 10);
	assert_int_equal(s->backoff_max, 3600);
	assert_int_equal(s->nfail, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(s->fail_codes[i], codes[i]);
		assert_true(conf_is_fail_code(s, codes[i]));
	}
	assert_false(conf_is_fail_code(s, 75));
	assert_false(conf_is_fail_code(s, 0));
	assert_null(s->user);
	assert_null(s->env);
	assert_int_equal(s->retain, 0);
	assert_int_equal(s->rlimit_nproc, 0);
	assert_int_equal(s->rlimit_as, 0);
	assert_int_equal(s->rlimit_cpu, 0);
	assert_int_equal(s->log_max, 0);
	assert_false(s->dedupe);
	assert_null(s->on_done);
	assert_null(s->on_retry);
	assert_null(s->on_error);
	assert_int_equal(s->hook_timeout, 60);
	assert_null(s->version);
	assert_int_equal(c->events_max, 10 * 1024 * 1024);
	assert_null(c->group);
	assert_int_equal(c->gid, (gid_t)-1);
	conf_free(c);
}

static void
test_every_key(void **state)
{
	struct fx *f = *state;
	const struct stconf *s;
	struct conf *c;

	write_conf(f,
	    "spool = \"/srv/spool\"\n"
	    "tick = 2\n"
	    "max_children = 7\n"
	    "kill_grace = 3\n"
	    "shutdown_grace = 60\n"
	    "stage a {\n"
	    "\tcommand = {\"prog\", \"-x\", \"%i %s\"}\n"
	    "\tslots = 4\n"
	    "\tnext = \"b\"\n"
	    "\ttimeout = 600\n"
	    "\theartbeat = 60\n"
	    "\tattempts = 5\n"
	    "\tbackoff = 2\n"
	    "\tbackoff_max = 100\n"
	    "\tfail_codes = {1, 255}\n"
	    "\tenv = {\"LANG=C.UTF-8\", \"X=a=b\"}\n"
	    "\tretain = 30\n"
	    "}\n"
	    "stage b {\n"
	    "\tcommand = {\"prog\"}\n"
	    "}\n");
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	assert_string_equal(c->spool, "/srv/spool");
	assert_int_equal(c->tick, 2);
	assert_int_equal(c->max_children, 7);
	assert_int_equal(c->kill_grace, 3);
	assert_int_equal(c->shutdown_grace, 60);
	assert_int_equal(c->nstages, 2);
	s = conf_stage(c, "a");
	assert_non_null(s);
	assert_int_equal(s->line, 6);
	assert_string_equal(s->command[0], "prog");
	assert_string_equal(s->command[1], "-x");
	assert_string_equal(s->command[2], "%i %s");
	assert_null(s->command[3]);
	assert_int_equal(s->slots, 4);
	assert_string_equal(s->next, "b");
	assert_int_equal(s->timeout, 600);
	assert_int_equal(s->heartbeat, 60);
	assert_int_equal(s->attempts, 5);
	assert_int_equal(s->backoff, 2);
	assert_int_equal(s->backoff_max, 100);
	assert_int_equal(s->nfail, 2);
	assert_true(conf_is_fail_code(s, 1));
	assert_true(conf_is_fail_code(s, 255));
	assert_false(conf_is_fail_code(s, 64));
	assert_string_equal(s->env[0], "LANG=C.UTF-8");
	assert_string_equal(s->env[1], "X=a=b");
	assert_null(s->env[2]);
	assert_int_equal(s->retain, 30);
	s = conf_stage(c, "b");
	assert_non_null(s);
	assert_int_equal(s->line, 19);
	assert_null(s->next);
	conf_free(c);
}

static void
test_relative_paths(void **state)
{
	struct fx *f = *state;
	struct conf *c;
	char want[PATH_MAX + 32];

	write_conf(f,
	    "spool = \"var/spool\"\n"
	    "stage a {\n"
	    "\tcommand = {\"stages/prep\", \"rel/arg\", \"%f\"}\n"
	    "}\n"
	    "stage b {\n"
	    "\tcommand = {\"prep\", \"x/y\"}\n"
	    "}\n"
	    "stage c {\n"
	    "\tcommand = {\"/usr/bin/env\"}\n"
	    "}\n"
	    "stage d {\n"
	    "\tcommand = {\"../up/prog\"}\n"
	    "}\n");
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	str(want, sizeof(want), "%s/var/spool", f->real);
	assert_string_equal(c->spool, want);
	str(want, sizeof(want), "%s/stages/prep", f->real);
	assert_string_equal(conf_stage(c, "a")->command[0], want);
	/* Only command[0] is a path to resolve. */
	assert_string_equal(conf_stage(c, "a")->command[1], "rel/arg");
	assert_string_equal(conf_stage(c, "a")->command[2], "%f");
	/* Without a '/', it is looked up in PATH: left alone. */
	assert_string_equal(conf_stage(c, "b")->command[0], "prep");
	assert_string_equal(conf_stage(c, "b")->command[1], "x/y");
	assert_string_equal(conf_stage(c, "c")->command[0], "/usr/bin/env");
	str(want, sizeof(want), "%s/../up/prog", f->real);
	assert_string_equal(conf_stage(c, "d")->command[0], want);
	assert_true(conf_stage(c, "d")->command[0][0] == '/');
	conf_free(c);
}

/* libconfuse 3.3 miscounts lines after # comments: the line must be true. */
static void
test_unknown_key_after_hash_comments(void **state)
{
	static const char text[] =
	    "# spoold.conf: a config full of comments\n"
	    "# with \"quotes\" and 'apostrophes' in them\n"
	    "#\n"
	    "   # indented, and a { brace\n"
	    "spool = \"data\"  # the spool's folder\n"
	    "# more\n"
	    "# and more\n"
	    "tick = 1 # a trailing one\n"
	    "bogus = 3\n"
	    STAGE_A;

	fails_at(*state, text, "bogus", "no such option 'bogus'");
}

static void
test_unknown_key_in_stage_after_hash_comments(void **state)
{
	static const char text[] =
	    "# one\n"
	    "# two\n"
	    "stage a {\n"
	    "\t# three\n"
	    "\tcommand = {\"/bin/true\"}  # four\n"
	    "\t# five\n"
	    "\t# six\n"
	    "\tslot = 2\n"
	    "}\n";

	fails_at(*state, text, "slot =", "no such option 'slot'");
}

static void
test_unknown_key_after_slash_comments(void **state)
{
	static const char text[] =
	    "// one\n"
	    "// two, with a \" quote\n"
	    "spool = \"data\" // three\n"
	    "// four\n"
	    STAGE_A
	    "// five\n"
	    "// six\n"
	    "kill_grce = 5\n";

	fails_at(*state, text, "kill_grce", "no such option 'kill_grce'");
}

static void
test_unknown_key_after_c_comment(void **state)
{
	static const char text[] =
	    "/*\n"
	    " * a block comment\n"
	    " * over several lines, with # and // and \" in it\n"
	    " */\n"
	    "tick = 1 /* one\n"
	    "   more */\n"
	    "stage a {\n"
	    "\t/* inside\n"
	    "\t   a stage */ command = {\"/bin/true\"}\n"
	    "\ttimout = 5\n"
	    "}\n";

	fails_at(*state, text, "timout", "no such option 'timout'");
}

static void
test_missing_final_brace(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "}\n"
	    "# another\n"
	    "/* and\n"
	    "   another */\n"
	    "stage b {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tslots = 2\n";

	fails_at(*state, text, "stage b", "missing '}' for this '{'");
}

static void
test_missing_inner_brace(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\",\n"
	    "\t    \"%f\"\n"
	    "}\n";

	/* The brace on the last line closes the list: the stage is open. */
	fails_at(*state, text, "stage a", "missing '}' for this '{'");
}

static void
test_extra_brace(void **state)
{
	static const char text[] =
	    STAGE_A
	    "# a comment\n"
	    "}\n";

	/* The second brace, on the line after the comment. */
	fails_on(*state, text, line_of(text, "# a comment") + 1,
	    "unexpected '}'");
}

/*
 * A runner added to the table brings its own key of arguments and its
 * mark: a stage of that runner reads the key, one of another runner may
 * not set it, and recovery leaves the processes with the mark alone.
 */
static void
test_runner_keys(void **state)
{
	static const struct runner batch = {.name = "batch",
	    .place = "the batch system", .args_key = "batch_args",
	    .mark = "BATCH_JOB"};
	static const char mine[] =
	    "stage a {\n\tcommand = {\"/bin/true\", \"%f\"}\n"
	    "\trunner = \"batch\"\n\tbatch_args = {\"-q\", \"%i\"}\n}\n";
	static const char other[] =
	    "stage a {\n\tcommand = {\"/bin/true\", \"%f\"}\n"
	    "\t# on this host\n\tbatch_args = {\"-q\"}\n}\n";
	const char *const *m;
	struct fx *f = *state;
	struct conf *c;

	if (runner_find("batch") == NULL)
		assert_int_equal(runner_add(&batch), 0);
	write_conf(f, mine);
	assert_non_null(c = load(f, CONF_ANY_USER));
	assert_string_equal(c->stages[0]->runner->name, "batch");
	assert_string_equal(c->stages[0]->runner_args[0], "-q");
	assert_string_equal(c->stages[0]->runner_args[1], "%i");
	assert_null(c->stages[0]->runner_args[2]);
	conf_free(c);
	fails_at(f, other, "batch_args =",
	    "batch_args: only for a stage whose runner is \"batch\"");
	m = runner_marks();
	assert_string_equal(m[0], "SLURM_JOB_ID");
	assert_string_equal(m[1], "BATCH_JOB");
	assert_null(m[2]);
}

static void
test_unknown_next(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\t# the stage after\n"
	    "\tnext = \"nope\"\n"
	    "}\n";

	fails_at(*state, text, "next", "next: no stage named \"nope\"");
}

static void
test_next_cycle(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tnext = \"b\"\n"
	    "}\n"
	    "stage b {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tnext = \"a\"\n"
	    "}\n";

	fails_at(*state, text, "next = \"b\"",
	    "next: stage a leads back to itself");
}

static void
test_next_long_cycle(void **state)
{
	static const char text[] =
	    "stage s {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tnext = \"a\"\n"
	    "}\n"
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tnext = \"b\"\n"
	    "}\n"
	    "stage b {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tnext = \"c\"\n"
	    "}\n"
	    "stage c {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tnext = \"a\"\n"
	    "}\n";
	struct fx *f = *state;
	char want[3][4096];
	int i;

	/*
	 * s leads into the cycle a -> b -> c -> a but is not on it: the fault
	 * named is that of a stage on the cycle, at the line of its next.
	 */
	write_conf(f, text);
	assert_null(load(f, CONF_ANY_USER));
	for (i = 0; i < 3; i++) {
		static const char *on[] = {"a", "b", "c"}, *next[] = {
		    "next = \"b\"", "next = \"c\"", "next = \"a\"\n}\n"};
		const char *at = strstr(text, "stage a");
		int line = line_of(at, next[i]) + line_of(text, "stage a") - 1;

		str(want[i], sizeof(want[i]), "%s:%d: next: stage %s leads "
		    "back to itself\n", f->path, line, on[i]);
		if (strcmp(f->err, want[i]) == 0)
			return;
	}
	assert_string_equal(f->err, want[0]);
}

static void
test_next_self_cycle(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\n"
	    "\tnext = \"a\"\n"
	    "}\n";

	fails_at(*state, text, "next", "next: stage a leads back to itself");
}

static void
test_next_chain_ok(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf(f,
	    "stage c {\n\tcommand = {\"x\"}\n}\n"
	    "stage a {\n\tcommand = {\"x\"}\n\tnext = \"b\"\n}\n"
	    "stage b {\n\tcommand = {\"x\"}\n\tnext = \"c\"\n}\n");
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	assert_string_equal(conf_stage(c, "a")->next, "b");
	assert_string_equal(conf_stage(c, "b")->next, "c");
	assert_null(conf_stage(c, "c")->next);
	conf_free(c);
}

static void
test_no_command(void **state)
{
	static const char text[] =
	    STAGE_A
	    "# b has none\n"
	    "stage b {\n"
	    "\tslots = 2\n"
	    "}\n";

	fails_at(*state, text, "stage b", "stage b: no command");
}

static void
test_empty_command(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tslots = 2\n"
	    "\tcommand = {\"\"}\n"
	    "}\n";

	fails_at(*state, text, "command", "command: the program is empty");
}

static void
test_empty_command_list(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "stage a {\n"
	    "\tslots = 2\n"
	    "\tcommand = {}\n"
	    "}\n"
	    "stage b {\n"
	    "\tcommand = {\"x\"}\n"
	    "}\n";

	fails_at(*state, text, "command = {}", "command: empty list");
}

static void
test_negative_slots(void **state)
{
	static const char text[] =
	    "# slots\n"
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tslots = -1\n"
	    "}\n";

	fails_at(*state, text, "slots =",
	    "slots: -1 is out of range (0 to 1000000)");
}

static void
test_negative_timeout(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\t// a timeout\n"
	    "\ttimeout = -5\n"
	    "}\n";

	fails_at(*state, text, "timeout =",
	    "timeout: -5 is out of range (0 to 315360000)");
}

static void
test_negative_top_level(void **state)
{
	static const char text[] =
	    "tick = 1\n"
	    "kill_grace = -2\n"
	    STAGE_A;

	fails_at(*state, text, "kill_grace",
	    "kill_grace: -2 is out of range (0 to 315360000)");
}

static void
test_attempts_zero(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tattempts = 0\n"
	    "}\n";

	fails_at(*state, text, "attempts",
	    "attempts: 0 is out of range (1 to 1000000)");
}

static void
test_fail_code_zero(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tfail_codes = {64, 0}\n"
	    "}\n";

	fails_at(*state, text, "fail_codes",
	    "fail_codes: 0 is not an exit code from 1 to 255");
}

static void
test_fail_code_256(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tfail_codes = {256}\n"
	    "}\n";

	fails_at(*state, text, "fail_codes",
	    "fail_codes: 256 is not an exit code from 1 to 255");
}

/*
 * A list written over several lines: the fault is on the key's line or on
 * the element's, not on the line of the closing brace.
 */
static void
test_fail_code_multiline_list(void **state)
{
	struct fx *f = *state;
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tfail_codes = {\n"
	    "\t\t64,\n"
	    "\t\t300,\n"
	    "\t\t65\n"
	    "\t}\n"
	    "}\n";
	char at_key[4096], at_elem[4096];

	write_conf(f, text);
	assert_null(load(f, CONF_ANY_USER));
	str(at_key, sizeof(at_key), "%s:%d: fail_codes: 300 is not an "
	    "exit code from 1 to 255\n", f->path, line_of(text, "fail_codes"));
	str(at_elem, sizeof(at_elem), "%s:%d: fail_codes: 300 is not an "
	    "exit code from 1 to 255\n", f->path, line_of(text, "300"));
	if (strcmp(f->err, at_elem) != 0)
		assert_string_equal(f->err, at_key);
}

static void
test_duplicate_stage(void **state)
{
	static const char text[] =
	    STAGE_A
	    "stage b {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "}\n"
	    "# again\n"
	    "stage a {\n"
	    "\tcommand = {\"/bin/false\"}\n"
	    "}\n";

	/* The second stage a, on the line after the comment. */
	fails_on(*state, text, line_of(text, "# again") + 1,
	    "found duplicate title 'a'");
}

static void
test_bad_stage_names(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *title, *msg;
	} bad[] = {
		{"log", "stage name \"log\" is taken by the spool's own log/ "
		    "folder"},
		{"work", "stage name \"work\" is taken by the spool's own "
		    "work/ "
		    "folder"},
		{"tmp", "stage name \"tmp\" is taken by the spool's own tmp/ "
		    "folder"},
		{"index", "stage name \"index\" is taken by the spool's own "
		    "index/ "
		    "folder"},
		{".x", "stage name \".x\" is not a folder name"},
		{"..", "stage name \"..\" is not a folder name"},
		{"a/b", "stage name \"a/b\": only letters, digits, '.', '_' "
		    "and '-'"},
		{"a b", "stage name \"a b\": only letters, digits, '.', '_' "
		    "and '-'"},
		{"", "stage name \"\" is not a folder name"},
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		str(text, sizeof(text), "# a stage\n\nstage \"%s\" {\n"
		    "\tcommand = {\"/bin/true\"}\n}\n", bad[i].title);
		fails_at(f, text, "stage \"", bad[i].msg);
	}
}

static void
test_good_stage_names(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf(f,
	    "stage a.b_c-9 {\n\tcommand = {\"x\"}\n}\n"
	    "stage \"Logs\" {\n\tcommand = {\"x\"}\n}\n");
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_non_null(conf_stage(c, "a.b_c-9"));
	assert_non_null(conf_stage(c, "Logs"));
	conf_free(c);
}

static void
test_unknown_placeholder(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\t# %x here is a comment, not a placeholder\n"
	    "\tcommand = {\"/bin/true\", \"%f\", \"100%%\", \"%x\"}\n"
	    "}\n";

	fails_at(*state, text, "command",
	    "command: unknown placeholder \"%x\" (known: %f %i %s %w %%)");
}

static void
test_known_placeholders(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf(f, "stage a {\n\tcommand = {\"p\", \"%f\", \"%i\", \"%s\", "
	    "\"%w\", \"%%\", \"a%%b%f\"}\n}\n");
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_string_equal(conf_stage(c, "a")->command[6], "a%%b%f");
	conf_free(c);
}

static void
test_env_without_equals(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tenv = {\"LANG=C\", \"NOVALUE\"}\n"
	    "}\n";

	fails_at(*state, text, "env", "env: \"NOVALUE\" is not NAME=value "
	    "with a NAME not starting SPOOL_");
}

static void
test_env_empty_name(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tenv = {\"=x\"}\n"
	    "}\n";

	fails_at(*state, text, "env", "env: \"=x\" is not NAME=value "
	    "with a NAME not starting SPOOL_");
}

static void
test_env_spool_name(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tenv = {\"SPOOL_JOB=x\"}\n"
	    "}\n";

	fails_at(*state, text, "env", "env: \"SPOOL_JOB=x\" is not NAME=value "
	    "with a NAME not starting SPOOL_");
}

static void
test_writable_by_group(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf_mode(f, STAGE_A, 0664);
	c = load(f, CONF_ANY_USER);
	assert_null(c);
	assert_string_equal(f->err,
	    expect(f, " writable by group or others (mode 0664)"));

	write_conf_mode(f, STAGE_A, 0602);
	c = load(f, CONF_ANY_USER);
	assert_null(c);
	assert_string_equal(f->err,
	    expect(f, " writable by group or others (mode 0602)"));

	/* Readable by all is fine. */
	write_conf_mode(f, STAGE_A, 0644);
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	conf_free(c);
}

static void
test_missing_file(void **state)
{
	struct fx *f = *state;

	assert_null(load(f, CONF_ANY_USER));
	assert_string_equal(f->err, expect(f, " No such file or directory"));
}

static void
test_not_a_file(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_null(load(f, CONF_ANY_USER));
	assert_string_equal(f->err, expect(f, " not a regular file of at most "
	    "1048576 bytes"));
}

/* A config named relative to the working folder, as "-c spoold.conf". */
static void
test_relative_config_path(void **state)
{
	static const char bad[] = "\n" STAGE_A "bogus = 1\n";
	struct fx *f = *state;
	char cwd[PATH_MAX], want[PATH_MAX + 16];
	struct conf *c;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	write_conf(f, bad);
	assert_int_equal(chdir(f->dir), 0);
	c = load_path(f, "spoold.conf", CONF_ANY_USER);
	assert_int_equal(chdir(cwd), 0);
	conf_free(c);
	assert_null(c);
	/* The file as it was named. */
	str(want, sizeof(want), "spoold.conf:%d: no such option 'bogus'\n",
	    line_of(bad, "bogus"));
	assert_string_equal(f->err, want);

	write_conf(f, "\n" STAGE_A);
	assert_int_equal(chdir(f->dir), 0);
	c = load_path(f, "spoold.conf", CONF_ANY_USER);
	assert_int_equal(chdir(cwd), 0);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	str(want, sizeof(want), "%s/data", f->real);
	assert_string_equal(c->spool, want);
	assert_string_equal(c->path, "spoold.conf");
	assert_int_equal(c->stages[0]->line, 2);
	conf_free(c);
}

static void
test_no_user_as_root(void **state)
{
	static const char text[] =
	    "# runs as root\n"
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "}\n";
	struct fx *f = *state;

	load_fails(f, text, 0, expect(f, "%d: stage a: spoold runs as root, "
	    "so the stage needs a user", line_of(text, "stage a")));
}

static void
test_no_user_not_root(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf(f, STAGE_A);
	c = load(f, 1000);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	assert_null(c->stages[0]->user);
	conf_free(c);
}

/* The user spoold runs as (root when the tests do) is accepted. */
static void
test_own_user(void **state)
{
	struct fx *f = *state;
	struct passwd *pw = getpwuid(geteuid());
	const struct stconf *s;
	char text[512];
	struct conf *c;
	int i, primary = 0;

	assert_non_null(pw);
	str(text, sizeof(text), "stage a {\n\tcommand = {\"true\"}\n"
	    "\tuser = \"%s\"\n}\n", pw->pw_name);
	write_conf(f, text);
	c = load(f, geteuid());
	assert_non_null(c);
	assert_string_equal(f->err, "");
	s = c->stages[0];
	assert_non_null(s->user);
	assert_string_equal(s->user, pw->pw_name);
	assert_int_equal(s->uid, pw->pw_uid);
	assert_int_equal(s->gid, pw->pw_gid);
	assert_true(s->ngroups >= 1);
	for (i = 0; i < s->ngroups; i++)
		if (s->groups[i] == pw->pw_gid)
			primary = 1;
	assert_true(primary);
	conf_free(c);
}

/*
 * Not root, spoold cannot switch to another user. spoold.conf.5 and the
 * README (commit ef2c436) say: the user is ignored with a warning naming the
 * line, as nginx does, and the children run as spoold's user.
 */
static void
test_other_user_not_root(void **state)
{
	struct fx *f = *state;
	struct passwd *pw = getpwuid(geteuid());
	char text[512];
	struct conf *c;
	uid_t other;

	assert_non_null(pw);
	other = pw->pw_uid == 4242 ? 4243 : 4242;
	str(text, sizeof(text), "stage a {\n\tcommand = {\"true\"}\n"
	    "\t# theirs\n\tuser = \"%s\"\n}\n", pw->pw_name);
	write_conf(f, text);
	c = load(f, other);
	assert_non_null(c);
	assert_string_equal(f->err, expect(f, "%d: warning: user \"%s\" "
	    "ignored: spoold is not root", line_of(text, "user"), pw->pw_name));
	assert_null(c->stages[0]->user);
	conf_free(c);
}

static void
test_no_such_user(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\n"
	    "\tuser = \"no-such-user-spoold-test\"\n"
	    "}\n";
	struct fx *f = *state;

	load_fails(f, text, 0, expect(f, "%d: user: no such user "
	    "\"no-such-user-spoold-test\"", line_of(text, "user")));
	load_fails(f, text, 1000, expect(f, "%d: user: no such user "
	    "\"no-such-user-spoold-test\"", line_of(text, "user")));
}

/* A '#' or a '//' inside a quoted string is text, not a comment. */
static void
test_hash_in_string(void **state)
{
	struct fx *f = *state;
	static const char text[] =
	    "spool = \"sp#ool\" # a real comment\n"
	    "stage a {\n"
	    "\tcommand = {\"/bin/echo\", \"#1\", \"http://x/#y\", "
	    "\"a\\\"#b\"}\n"
	    "\tenv = {\"TAG=#x\"}\n"
	    "}\n";
	struct conf *c;
	char want[PATH_MAX + 16];
	const struct stconf *s;

	write_conf(f, text);
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	str(want, sizeof(want), "%s/sp#ool", f->real);
	assert_string_equal(c->spool, want);
	s = c->stages[0];
	assert_string_equal(s->command[1], "#1");
	assert_string_equal(s->command[2], "http://x/#y");
	assert_string_equal(s->command[3], "a\"#b");
	assert_string_equal(s->env[0], "TAG=#x");
	conf_free(c);

	/* And the lines after it still count true. */
	fails_at(f, "spool = \"#\\\"#\"\n# c\nspool = \"x#\n#y\"\nbogus = 1\n"
	    STAGE_A, "bogus", "no such option 'bogus'");
}

/* libconfuse reads \' inside a single-quoted string as a quote. */
static void
test_escaped_quote_in_single_quotes(void **state)
{
	struct fx *f = *state;
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {'/bin/echo', 'it\\'s # not a comment'}\n"
	    "}\n";
	struct conf *c;

	write_conf(f, text);
	c = load(f, CONF_ANY_USER);
	assert_string_equal(f->err, "");
	assert_non_null(c);
	assert_string_equal(c->stages[0]->command[1], "it's # not a comment");
	conf_free(c);
}

/* A stage's line is true however its "stage" word is placed. */
static void
test_stage_line_after_brace(void **state)
{
	static const char text[] =
	    "stage a {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tuser = \"root\"\n"
	    "}stage b {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "}\n"
	    "stage c {\n"
	    "\tcommand = {\"/bin/true\"}\n"
	    "\tuser = \"root\"\n"
	    "}\n";
	struct fx *f = *state;

	if (getpwnam("root") == NULL)
		skip();
	load_fails(f, text, 0, expect(f, "%d: stage b: spoold runs as root, "
	    "so the stage needs a user", line_of(text, "stage b")));
}

static void
test_no_stage(void **state)
{
	struct fx *f = *state;

	load_fails(f, "# nothing\ntick = 1\n", CONF_ANY_USER,
	    expect(f, " no stage declared"));
}

/* Named at the line where the string opens, as a comment or a brace is. */
static void
test_unterminated_string(void **state)
{
	static const char text[] =
	    STAGE_A
	    "tick = 1\n"
	    "spool = \"data\n"
	    "\n"
	    "# more\n";

	fails_at(*state, text, "spool", "unterminated string");
}

static void
test_unterminated_comment(void **state)
{
	static const char text[] =
	    STAGE_A
	    "/* never\n"
	    "   closed\n";

	fails_at(*state, text, "/*", "unterminated comment");
}

/* After a failed load, the next one starts clean. */
static void
test_reload_after_error(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	fails_at(f, "bogus = 1\n" STAGE_A, "bogus", "no such option 'bogus'");
	write_conf(f, "\n\n" STAGE_A);
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	assert_int_equal(c->stages[0]->line, 3);
	conf_free(c);
}

static void
test_limits(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf(f, "group = \"root\"\n"
	    "stage a {\n\tcommand = {\"/bin/true\"}\n"
	    "\trlimit_nproc = 64\n\trlimit_as = 512M\n\trlimit_cpu = 30\n"
	    "\tlog_max = 10k\n}\n");
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	assert_string_equal(c->group, "root");
	assert_int_equal(c->gid, 0);
	assert_int_equal(c->stages[0]->rlimit_nproc, 64);
	assert_int_equal(c->stages[0]->rlimit_as, 512L << 20);
	assert_int_equal(c->stages[0]->rlimit_cpu, 30);
	assert_int_equal(c->stages[0]->log_max, 10240);
	conf_free(c);
	write_conf(f, "stage a {\n\tcommand = {\"/bin/true\"}\n"
	    "\tlog_max = 3T\n\trlimit_as = 4096\n}\n");
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_int_equal(c->stages[0]->log_max, 3L << 40);
	assert_int_equal(c->stages[0]->rlimit_as, 4096);
	conf_free(c);
}

/* dedupe, the hooks, version_command and events_max. */
static void
test_hooks(void **state)
{
	struct fx *f = *state;
	const struct stconf *s;
	struct conf *c;
	char want[PATH_MAX];

	write_conf(f, "events_max = 1M\n"
	    "stage a {\n\tcommand = {\"/bin/true\"}\n\tdedupe = true\n"
	    "\ton_done = {\"hooks/done\", \"%i\", \"%s\"}\n"
	    "\ton_retry = {\"/bin/echo\", \"%f %w %%\"}\n"
	    "\ton_error = {\"logger\", \"%i\"}\n\thook_timeout = 0\n"
	    "\tversion_command = {\"./prep\", \"--version\"}\n}\n");
	c = load(f, CONF_ANY_USER);
	assert_non_null(c);
	assert_string_equal(f->err, "");
	assert_int_equal(c->events_max, 1024 * 1024);
	s = c->stages[0];
	assert_true(s->dedupe);
	/* A program named by a relative path is taken from the config's folder. */
	assert_string_equal(s->on_done[0], str(want, sizeof(want),
	    "%s/hooks/done", f->dir));
	assert_string_equal(s->on_done[1], "%i");
	assert_string_equal(s->on_done[2], "%s");
	assert_null(s->on_done[3]);
	assert_string_equal(s->on_retry[0], "/bin/echo");
	assert_string_equal(s->on_retry[1], "%f %w %%");
	assert_string_equal(s->on_error[0], "logger");
	assert_int_equal(s->hook_timeout, 0);
	assert_string_equal(s->version[0], str(want, sizeof(want),
	    "%s/./prep", f->dir));
	assert_string_equal(s->version[1], "--version");
	conf_free(c);
	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\ton_retry = {\"x\", \"%q\"}\n}\n", 6, "on_retry: unknown "
	    "placeholder \"%q\" (known: %f %i %s %w %%)");
	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\tversion_command = {\"\"}\n}\n", 6, "version_command: the "
	    "program is empty");
	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\thook_timeout = -1\n}\n", 6, "hook_timeout: -1 is out of range "
	    "(0 to 315360000)");
	fails_on(f, "events_max = -1\n" STAGE_A, 1, "events_max: -1 is out of "
	    "range (0 to 1125899906842624)");
}

static void
test_bad_sizes(void **state)
{
	struct fx *f = *state;

	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\tlog_max = 10X\n}\n", 6, "log_max: \"10X\" is not a size "
	    "(bytes, or a number with K, M, G or T)");
	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\trlimit_as = 1MB\n}\n", 6, "rlimit_as: \"1MB\" is not a size "
	    "(bytes, or a number with K, M, G or T)");
	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\trlimit_as = 99999999999T\n}\n", 6, "rlimit_as: "
	    "\"99999999999T\" is not a size (bytes, or a number with K, M, G "
	    "or T)");
	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\tlog_max = -1\n}\n", 6, "log_max: -1 is out of range (0 to "
	    "1125899906842624)");
	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\trlimit_nproc = -5\n}\n", 6, "rlimit_nproc: -5 is out of range "
	    "(0 to 1000000)");
	fails_on(f, STAGE_A "stage b {\n\tcommand = {\"x\"}\n"
	    "\trlimit_cpu = 2k\n}\n", 6, "invalid integer value for option 'rlimit_cpu'");
}

static void
test_no_such_group(void **state)
{
	struct fx *f = *state;

	fails_on(f, "tick = 1\ngroup = \"no-such-group-here\"\n" STAGE_A, 2,
	    "group: no such group \"no-such-group-here\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_defaults),
		T(test_every_key),
		T(test_hooks),
		T(test_relative_paths),
		T(test_unknown_key_after_hash_comments),
		T(test_unknown_key_in_stage_after_hash_comments),
		T(test_unknown_key_after_slash_comments),
		T(test_unknown_key_after_c_comment),
		T(test_missing_final_brace),
		T(test_missing_inner_brace),
		T(test_extra_brace),
		T(test_unknown_next),
		T(test_runner_keys),
		T(test_next_cycle),
		T(test_next_long_cycle),
		T(test_next_self_cycle),
		T(test_next_chain_ok),
		T(test_no_command),
		T(test_empty_command),
		T(test_empty_command_list),
		T(test_negative_slots),
		T(test_negative_timeout),
		T(test_negative_top_level),
		T(test_attempts_zero),
		T(test_fail_code_zero),
		T(test_fail_code_256),
		T(test_fail_code_multiline_list),
		T(test_duplicate_stage),
		T(test_bad_stage_names),
		T(test_good_stage_names),
		T(test_unknown_placeholder),
		T(test_known_placeholders),
		T(test_env_without_equals),
		T(test_env_empty_name),
		T(test_env_spool_name),
		T(test_writable_by_group),
		T(test_missing_file),
		T(test_not_a_file),
		T(test_relative_config_path),
		T(test_no_user_as_root),
		T(test_no_user_not_root),
		T(test_own_user),
		T(test_other_user_not_root),
		T(test_no_such_user),
		T(test_hash_in_string),
		T(test_escaped_quote_in_single_quotes),
		T(test_stage_line_after_brace),
		T(test_no_stage),
		T(test_unterminated_string),
		T(test_unterminated_comment),
		T(test_reload_after_error),
		T(test_limits),
		T(test_bad_sizes),
		T(test_no_such_group),
#undef T
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
