/*
 * fuzz_conf.c: libFuzzer target for the config loader of conf.c. Each
 * input is written to one temporary file (mode 0600, made once per
 * process, rewritten with ftruncate and pwrite) and loaded with
 * conf_load(path, CONF_ANY_USER). The program
 * aborts, saying why on its standard error, when:
 *
 * - a config conf_load accepts breaks what the rest of spoold takes for
 *   granted: an absolute spool, numbers in their ranges, at least one
 *   stage, stage names that are unique folder names, a non-empty
 *   NULL-terminated command with known placeholders, env entries that are
 *   NAME=value, exit codes 1 to 255 in fail_codes, every next naming
 *   another stage, no cycle of next, a stage line inside the file, a gid
 *   when and only when a group is named;
 * - a config it refuses is refused with a message naming the file, and a
 *   line, when it names one, that the file has.
 *
 * conf_load writes its messages with stdio on stderr: the target points
 * stderr at a buffer of its own (glibc lets a program assign stderr), so
 * that libFuzzer, which keeps the stream it started with, and the
 * sanitizers, which write to fd 2, still speak while conf.c is quiet.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoold.h"

#define SECONDS_MAX 315360000L /* as conf.c: ten years */
#define COUNT_MAX 1000000L
#define BYTES_MAX (1L << 50)

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char path[64];
static int fd = -1;
static FILE *quiet;       /* what conf.c sees as stderr */
static char errbuf[4096]; /* and where its messages go */
static FILE *devnull;

static void bad(const char *, ...) __attribute__((format(printf, 1, 2),
    noreturn));

/* Says what broke, on fd 2 (libFuzzer's own output), and aborts. */
static void
bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dprintf(STDERR_FILENO, "fuzz_conf: ");
	vdprintf(STDERR_FILENO, fmt, ap);
	dprintf(STDERR_FILENO, "\n");
	va_end(ap);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char name[64];

	(void)argc;
	(void)argv;
	/*
	 * The file is unlinked at once and read through /proc/self/fd, so
	 * that none is left behind: libFuzzer ends a run interrupted or
	 * timed out with _exit, past any atexit.
	 */
	snprintf(name, sizeof(name), "%s/fuzz_conf.XXXXXX",
	    tmp != NULL && tmp[0] == '/' && strlen(tmp) < 40 ? tmp : "/tmp");
	if ((fd = mkstemp(name)) == -1 || fchmod(fd, 0600) == -1 ||
	    unlink(name) == -1) {
		perror(name);
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((quiet = fmemopen(errbuf, sizeof(errbuf), "w")) == NULL ||
	    (devnull = fopen("/dev/null", "w")) == NULL) {
		perror("fmemopen");
		exit(1);
	}
	setvbuf(quiet, NULL, _IONBF, 0);
	stderr = quiet;
	return 0;
}

static void
put(const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	if (ftruncate(fd, 0) == -1)
		bad("ftruncate %s: %s", path, strerror(errno));
	while (off < size) {
		n = pwrite(fd, data + off, size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			bad("pwrite %s: %s", path, strerror(errno));
		off += (size_t)n;
	}
}

static int
stage_name_ok(const char *name)
{
	static const char *reserved[] = {"work", "log", "index", "tmp", "out"};
	const char *p;
	size_t i;

	if (name[0] == '\0' || name[0] == '.' || strlen(name) > 64)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return 0;
	for (i = 0; i < sizeof(reserved) / sizeof(*reserved); i++)
		if (strcmp(name, reserved[i]) == 0)
			return 0;
	return 1;
}

static void
check_range(const char *stage, const char *key, long v, long min, long max)
{
	if (v < min || v > max)
		bad("stage %s: %s = %ld, outside %ld to %ld", stage ? stage : "-",
		    key, v, min, max);
}

static void
check_stage(const struct conf *c, size_t i, int nlines)
{
	const struct stconf *s = c->stages[i], *t;
	char **a;
	const char *p;
	size_t j, steps;

	if (s == NULL)
		bad("stage %zu of %zu is NULL", i, c->nstages);
	if (s->name == NULL || !stage_name_ok(s->name))
		bad("stage %zu: name \"%s\" is not a folder name", i,
		    s->name ? s->name : "(null)");
	for (j = 0; j < i; j++)
		if (strcmp(c->stages[j]->name, s->name) == 0)
			bad("stage %s declared twice", s->name);
	if (s->line < 1 || s->line > nlines)
		bad("stage %s: line %d in a file of %d lines", s->name, s->line,
		    nlines);
	if (s->command == NULL || s->command[0] == NULL ||
	    s->command[0][0] == '\0')
		bad("stage %s: no command", s->name);
	for (a = s->command; *a != NULL; a++)
		for (p = *a; (p = strchr(p, '%')) != NULL; p += 2)
			if (p[1] == '\0' || strchr("fisw%", p[1]) == NULL)
				bad("stage %s: placeholder %%%.1s in \"%s\"",
				    s->name, p + 1, *a);
	if (strchr(s->command[0], '/') != NULL && s->command[0][0] != '/')
		bad("stage %s: relative program %s", s->name, s->command[0]);
	for (a = s->env; a != NULL && *a != NULL; a++)
		if ((p = strchr(*a, '=')) == NULL || p == *a ||
		    strncmp(*a, "SPOOL_", 6) == 0)
			bad("stage %s: env \"%s\"", s->name, *a);
	check_range(s->name, "slots", s->slots, 0, COUNT_MAX);
	check_range(s->name, "timeout", s->timeout, 0, SECONDS_MAX);
	check_range(s->name, "heartbeat", s->heartbeat, 0, SECONDS_MAX);
	check_range(s->name, "attempts", s->attempts, 1, COUNT_MAX);
	check_range(s->name, "backoff", s->backoff, 0, SECONDS_MAX);
	check_range(s->name, "backoff_max", s->backoff_max, 0, SECONDS_MAX);
	check_range(s->name, "retain", s->retain, 0, SECONDS_MAX / 86400);
	check_range(s->name, "rlimit_nproc", s->rlimit_nproc, 0, COUNT_MAX);
	check_range(s->name, "rlimit_as", s->rlimit_as, 0, BYTES_MAX);
	check_range(s->name, "rlimit_cpu", s->rlimit_cpu, 0, SECONDS_MAX);
	check_range(s->name, "log_max", s->log_max, 0, BYTES_MAX);
	if (s->fail_codes == NULL)
		bad("stage %s: fail_codes is NULL", s->name);
	for (j = 0; j < s->nfail; j++)
		check_range(s->name, "fail_codes", s->fail_codes[j], 1, 255);
	if (s->groups != NULL || s->ngroups != 0)
		bad("stage %s: groups looked up for any user", s->name);
	if (s->next != NULL) {
		if (conf_stage(c, s->next) == NULL)
			bad("stage %s: next \"%s\" is no stage", s->name, s->next);
		/* From any stage, the chain of next ends within nstages. */
		for (t = s, steps = 0; t->next != NULL; steps++) {
			if (steps == c->nstages)
				bad("stage %s: next leads round in a cycle",
				    s->name);
			if ((t = conf_stage(c, t->next)) == NULL)
				bad("stage %s: next leads to no stage", s->name);
		}
	}
}

static void
check_conf(const struct conf *c, int nlines)
{
	size_t i;

	if (c->path == NULL || strcmp(c->path, path) != 0)
		bad("path is \"%s\", not %s", c->path ? c->path : "(null)", path);
	if (c->spool == NULL || c->spool[0] != '/')
		bad("spool \"%s\" is not absolute", c->spool ? c->spool : "(null)");
	check_range(NULL, "tick", c->tick, 1, SECONDS_MAX);
	check_range(NULL, "max_children", c->max_children, 0, COUNT_MAX);
	check_range(NULL, "kill_grace", c->kill_grace, 0, SECONDS_MAX);
	check_range(NULL, "shutdown_grace", c->shutdown_grace, 0, SECONDS_MAX);
	if ((c->group == NULL) != (c->gid == (gid_t)-1))
		bad("group \"%s\" with gid %ld", c->group ? c->group : "(null)",
		    (long)c->gid);
	if (c->nstages == 0 || c->stages == NULL)
		bad("no stage");
	if (c->stages[c->nstages] != NULL)
		bad("stages[%zu] is not NULL", c->nstages);
	for (i = 0; i < c->nstages; i++)
		check_stage(c, i, nlines);
}

/* A refusal: "PATH: what" or "PATH:LINE: what", LINE one of the file's. */
static void
check_refusal(int nlines)
{
	size_t len = strlen(path);
	const char *p;
	char *end;
	long line;

	if (strncmp(errbuf, path, len) != 0 ||
	    (errbuf[len] != ':' && errbuf[len] != '\0'))
		bad("refused without naming the file: \"%s\"", errbuf);
	p = errbuf + len + 1;
	if (!isdigit((unsigned char)*p))
		return;
	line = strtol(p, &end, 10);
	if (*end != ':')
		return;
	if (line < 1 || line > nlines)
		bad("refused at line %ld of a file of %d lines: \"%s\"", line,
		    nlines, errbuf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	int nlines = 1;
	size_t i;

	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			nlines++;
	put(data, size);
	memset(errbuf, 0, sizeof(errbuf));
	rewind(quiet);
	c = conf_load(path, CONF_ANY_USER);
	fflush(quiet);
	if (c == NULL) {
		errbuf[sizeof(errbuf) - 1] = '\0';
		check_refusal(nlines);
		return 0;
	}
	check_conf(c, nlines);
	conf_print(devnull, c);
	conf_free(c);
	return 0;
}
