/*
 * unit_ctl.h: the fixture of the tests of spoolctl's verbs (test_ctl_*.c).
 * setup makes, in a new folder of /tmp, a config (spoold.conf, its
 * stages prep then ocr) and its spool (data/, both stages' folders),
 * open in the test so that it can plant jobs; teardown removes it all.
 * A verb runs in a child, as spoolctl's main would run it (ctl_parse,
 * ctl_load, the verb), since the verbs end with exit() on a bad argument;
 * its stdout and stderr go to files of the test's folder and come back
 * in f->out and f->err, its exit status as ctl_run's value.
 */
#ifndef UNIT_CTL_H
#define UNIT_CTL_H

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/string.h>

#include "unit_files.h"
#include "spoolctl.h"

#define NSTAGE 2 /* prep, then ocr */
#define WORDS_MAX 16

struct cfx {
	char dir[PATH_MAX];  /* the test's folder */
	char path[PATH_MAX]; /* its spool: dir/data */
	char conf[PATH_MAX]; /* its config: dir/spoold.conf */
	int dfd;	     /* dir, open */
	struct spool sp;
	struct sdirs sd[NSTAGE];
	int in;		     /* the child's stdin; -1: /dev/null */
	char out[65536], err[4096]; /* what the last verb printed */
};

enum { PREP, OCR };

/* What the fixture's config says; a test may write another. */
#define CTL_CONF \
    "spool = \"data\"\nkill_grace = 2\ntick = 1\n" \
    "stage prep {\n\tcommand = {\"true\"}\n\tnext = \"ocr\"\n" \
    "\tversion_command = {\"echo\", \"prep 1.2\"}\n}\n" \
    "stage ocr {\n\tcommand = {\"true\", \"%f\"}\n}\n"

/* Writes the config dir/spoold.conf, mode 0644 as conf_load wants it. */
static inline void
ctl_conf(struct cfx *f, const char *text)
{
	int fd;

	fd = open(f->conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd != -1);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static inline int
ctl_setup(void **state)
{
	static const char *names[NSTAGE] = {"prep", "ocr"};
	struct cfx *f;
	int i;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	umask(022);
	f->in = -1;
	str(f->dir, sizeof(f->dir), "/tmp/test_unit.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	if ((f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	str(f->path, sizeof(f->path), "%s/data", f->dir);
	str(f->conf, sizeof(f->conf), "%s/spoold.conf", f->dir);
	ctl_conf(f, CTL_CONF);
	if (spool_open(&f->sp, f->path, SPOOL_CREATE, (gid_t)-1) == -1)
		return -1;
	for (i = 0; i < NSTAGE; i++)
		if (spool_stage_open(&f->sp, names[i], &f->sd[i], 1) == -1)
			return -1;
	*state = f;
	return 0;
}

static inline int
ctl_teardown(void **state)
{
	struct cfx *f = *state;
	int i, r;

	for (i = 0; i < NSTAGE; i++)
		spool_stage_close(&f->sd[i]);
	spool_close(&f->sp);
	if (f->in != -1)
		close(f->in);
	close(f->dfd);
	r = fileio_rmtree(AT_FDCWD, f->dir);
	free(f);
	return r;
}

/* A test run with a config and a spool of its own. */
#define CTL_TEST(t) cmocka_unit_test_setup_teardown(t, ctl_setup, ctl_teardown)

/* fd onto fd to, in the child; exits 127 when it cannot. */
static inline void
ctl_redirect(const char *path, int flags, int to)
{
	int fd;

	if ((fd = open(path, flags | O_CLOEXEC, 0644)) == -1 ||
	    dup2(fd, to) == -1)
		_exit(127);
	close(fd);
}

/*
 * Starts spoolctl with the words given (ended by NULL): with -c and the
 * fixture's config unless the first word is an option. In the child, fn
 * (when not NULL) runs instead of the verb, once the spool is known.
 */
static inline pid_t
ctl_vstart(struct cfx *f, int (*fn)(const struct ctl_args *), va_list ap)
{
	static char *argv[WORDS_MAX + 4];
	char path[PATH_MAX];
	struct ctl_args a;
	const char *w;
	int argc = 0, r;
	pid_t pid;

	argv[argc++] = "spoolctl";
	while ((w = va_arg(ap, const char *)) != NULL) {
		assert_true(argc < WORDS_MAX);
		if (argc == 1 && w[0] != '-') {
			argv[argc++] = "-c";
			argv[argc++] = f->conf;
		}
		argv[argc++] = (char *)w;
	}
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	assert_true((pid = fork()) != -1);
	if (pid != 0)
		return pid;
	ctl_redirect(str(path, sizeof(path), "%s/out", f->dir),
	    O_WRONLY | O_CREAT | O_TRUNC, STDOUT_FILENO);
	ctl_redirect(str(path, sizeof(path), "%s/err", f->dir),
	    O_WRONLY | O_CREAT | O_TRUNC, STDERR_FILENO);
	if (f->in == -1)
		ctl_redirect("/dev/null", O_RDONLY, STDIN_FILENO);
	else if (dup2(f->in, STDIN_FILENO) == -1)
		_exit(127);
	log_init(0, "spoolctl");
	if (ctl_parse(argc, argv, &a) == -1) {
		fprintf(stderr, "refused: %s\n", a.why != NULL ? a.why : "");
		exit(EX_USAGE);
	}
	if (ctl_load(&a) == -1)
		exit(EX_CONFIG);
	r = fn != NULL ? fn(&a) : a.verb->fn(&a);
	fflush(stdout);
	exit(r);
}

static inline pid_t
ctl_start(struct cfx *f, int (*fn)(const struct ctl_args *), ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, fn);
	pid = ctl_vstart(f, fn, ap);
	va_end(ap);
	return pid;
}

/* A file of the test's folder, read into buf, whole. */
static inline void
ctl_read(struct cfx *f, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], *text;

	text = fileio_read(AT_FDCWD, str(path, sizeof(path), "%s/%s", f->dir,
	    name), len);
	assert_non_null(text);
	assert_true(strlcpy(buf, text, len) < len);
	free(text);
}

/* Waits for the child of ctl_start: its exit status; f->out, f->err. */
static inline int
ctl_wait(struct cfx *f, pid_t pid)
{
	int ws;

	assert_int_equal(waitpid(pid, &ws, 0), pid);
	ctl_read(f, "out", f->out, sizeof(f->out));
	ctl_read(f, "err", f->err, sizeof(f->err));
	if (!WIFEXITED(ws))
		fail_msg("spoolctl killed by signal %d: %s", WTERMSIG(ws),
		    f->err);
	return WEXITSTATUS(ws);
}

/* Runs spoolctl with the words given (ended by NULL): its exit status. */
#define ctl_call(f, fn, ...) ctl_wait((f), ctl_start((f), (fn), __VA_ARGS__))
#define ctl_run(f, ...) ctl_call((f), NULL, __VA_ARGS__, (char *)NULL)

static inline void assert_err(struct cfx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* What the last verb said on stderr, which must be this. */
static inline void
assert_err(struct cfx *f, const char *fmt, ...)
{
	char want[sizeof(f->err)];
	va_list ap;

	va_start(ap, fmt);
	vstr(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_string_equal(f->err, want);
}

/*
 * A job put by hand in a folder of a stage, its file's modification time
 * age seconds ago (negative: in the future); with st, its record too.
 */
static inline void
plant(struct cfx *f, int stage, int dir, const char *id, time_t age,
    const struct status *st)
{
	struct timespec t = real_now();

	make_file(f->sd[stage].fd[dir], id, "job");
	t.tv_sec -= age;
	assert_int_equal(fileio_touch(f->sd[stage].fd[dir], id, t), 0);
	if (st != NULL)
		assert_int_equal(spool_status_write(&f->sp, id, st), 0);
}

/* A job's record, which must be there. */
static inline void
record(struct cfx *f, const char *id, struct status *st)
{
	assert_int_equal(spool_status_read(&f->sp, id, st), 0);
}

/* Whether a job's file is in a folder of a stage. */
static inline int
is_in(struct cfx *f, int stage, int dir, const char *id)
{
	return faccessat(f->sd[stage].fd[dir], id, F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0;
}

/* The line of text that starts with prefix, without its end; or fails. */
static inline char *
line_of(const char *text, const char *prefix, char *buf, size_t len)
{
	const char *p = text;
	size_t n;

	while (p != NULL && strncmp(p, prefix, strlen(prefix)) != 0)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p == NULL)
		fail_msg("no line \"%s\" in:\n%s", prefix, text);
	n = strcspn(p, "\n");
	assert_true(n < len);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/*
 * A spool of every state, for ls, stats and watch: in prep, one job
 * running (its key k1, its heartbeat "page 3/10"), three queued (one of
 * priority 9), one deferred an hour, one done, one in error after 3
 * attempts (exit 2, submitted two hours ago, a log of 12 lines); in ocr,
 * one queued. LISTED is how ls lists them.
 */
/* A job's id as submit makes it, of priority p. */
#define JOB(p, name) #p ".20261123T101024.000000-1-0." name
#define RUNNING JOB(0, "run.cbz")
#define FAILED JOB(0, "failed.cbz")
#define URGENT JOB(9, "urgent.cbz")
#define OLD JOB(0, "old.cbz")
#define NEW JOB(0, "new.cbz")
#define LATER JOB(0, "later.cbz")
#define DONE JOB(0, "done.cbz")
#define OCRJOB JOB(0, "ocr.cbz")
static const char *const listed[][3] = {
	{RUNNING, "prep", "running"},
	{URGENT, "prep", "queued"},
	{OLD, "prep", "queued"},
	{NEW, "prep", "queued"},
	{LATER, "prep", "deferred"},
	{DONE, "prep", "done"},
	{FAILED, "prep", "error"},
	{OCRJOB, "ocr", "queued"},
};
#define NLISTED (sizeof(listed) / sizeof(*listed))

static inline void
populate(struct cfx *f)
{
	struct status st;
	char line[64];
	int fd, i;

	status_init(&st, "prep");
	st.state = JS_RUNNING;
	st.attempt = 1;
	st.started = time(NULL) - 30;
	str(st.key, sizeof(st.key), "k1");
	str(st.progress, sizeof(st.progress), "recorded");
	plant(f, PREP, DIR_RUNNING, RUNNING, 30, &st);
	assert_true((fd = spool_job_open(&f->sp, RUNNING)) != -1);
	make_file(fd, "heartbeat", "page 1\npage 3/10\n");
	close(fd);
	plant(f, PREP, DIR_QUEUE, NEW, 5, NULL);
	plant(f, PREP, DIR_QUEUE, OLD, 100, NULL);
	plant(f, PREP, DIR_QUEUE, URGENT, 10, NULL);
	plant(f, PREP, DIR_QUEUE, LATER, -3600, NULL);
	plant(f, PREP, DIR_DONE, DONE, 50, NULL);
	status_init(&st, "prep");
	st.state = JS_ERROR;
	st.attempt = 3;
	st.exit = 2;
	st.lost = 1;
	st.submitted = time(NULL) - 7200;
	str(st.reason, sizeof(st.reason), "exit 2");
	plant(f, PREP, DIR_ERROR, FAILED, 60, &st);
	assert_true((fd = output_log_open(&f->sp, FAILED)) != -1);
	for (i = 1; i <= 12; i++) {
		str(line, sizeof(line), "line %d\n", i);
		assert_int_equal(write(fd, line, strlen(line)),
		    (ssize_t)strlen(line));
	}
	close(fd);
	plant(f, OCR, DIR_QUEUE, OCRJOB, 1, NULL);
}

/* index/name as spoold would leave it. */
static inline void
index_file(struct cfx *f, const char *name, const char *text)
{
	assert_int_equal(spool_write(&f->sp, f->sp.indexfd, name, text,
	    strlen(text), 0), 0);
}

/* The spool locked as spoold locks it, as if a spoold held it. */
static inline int
hold_spool(struct cfx *f)
{
	int fd = openat(f->sp.dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd != -1);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	return fd;
}

#endif
