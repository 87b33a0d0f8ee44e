/*
 * test_loop.c: the loop's logic through a fake runner, on a spool in a new
 * folder of /tmp: claims under slots, where a job ends by its outcome
 * (done/, the next stage, a retry, error/), attempts and counters, a lost
 * run, a timeout and a cancel; what each tick reports. The fake runner starts nothing: it records
 * the runs it is given, and ends them as a test scripts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "unit.h"
#include "unit_json.h"
#include "loop.h"

/* The fake runner: a table of the runs it was given, by job id. */
#define FAKE_MAX 16

static struct fake {
	struct run *r;
	char id[ID_MAX + 1];
	int stops, kills;
	int end;		/* scripted: end at the next tick */
	int ws;
	char lost[64];
} F[FAKE_MAX];
static int nstarted;

static struct fake *
fake_find(const char *id)
{
	int i;

	for (i = 0; i < FAKE_MAX; i++)
		if (F[i].r != NULL && strcmp(F[i].id, id) == 0)
			return &F[i];
	return NULL;
}

static int
fake_start(struct run *r, const struct spawn *sw)
{
	int i;

	(void)sw;
	for (i = 0; i < FAKE_MAX && F[i].r != NULL; i++)
		;
	assert_true(i < FAKE_MAX);
	memset(&F[i], 0, sizeof(F[i]));
	F[i].r = r;
	strlcpy(F[i].id, r->id, sizeof(F[i].id));
	r->rdata = &F[i];
	r->pid = 0;
	nstarted++;
	return 0;
}

static void
fake_stop(struct run *r)
{
	((struct fake *)r->rdata)->stops++;
}

static void
fake_kill(struct run *r)
{
	((struct fake *)r->rdata)->kills++;
}

static int
fake_reaped(struct run *r, int ws)
{
	(void)r;
	(void)ws;
	return 1;
}

/* The runs scripted to end, ended. */
static void
fake_tick(void)
{
	int i;

	for (i = 0; i < FAKE_MAX; i++)
		if (F[i].r != NULL && F[i].end) {
			F[i].end = 0;
			F[i].r->ended = 1;
			F[i].r->ws = F[i].ws;
			strlcpy(F[i].r->lost, F[i].lost, sizeof(F[i].r->lost));
		}
}

static void
fake_end(struct run *r, const struct stconf *sc, int ws, char *how,
    size_t len)
{
	(void)r;
	(void)sc;
	(void)ws;
	(void)how;
	(void)len;
}

static void
fake_release(struct run *r)
{
	struct fake *f = r->rdata;

	if (f != NULL)
		f->r = NULL;
	r->rdata = NULL;
}

static void
fake_where(const struct run *r, char *buf, size_t len)
{
	(void)r;
	snprintf(buf, len, "fake");
}

static const struct runner fake = {
	.name = "fake",
	.place = "nowhere",
	.start = fake_start,
	.stop = fake_stop,
	.kill = fake_kill,
	.reaped = fake_reaped,
	.tick = fake_tick,
	.end = fake_end,
	.release = fake_release,
	.where = fake_where,
};

struct fx {
	char dir[PATH_MAX];
	char spool[PATH_MAX];
	char conf[PATH_MAX];
	struct spool sp;
	struct conf *c;
	int started;
};

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	str(f->dir, sizeof(f->dir), "/tmp/test_loop.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	str(f->spool, sizeof(f->spool), "%s/data", f->dir);
	str(f->conf, sizeof(f->conf), "%s/spoold.conf", f->dir);
	memset(F, 0, sizeof(F));
	nstarted = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int r;

	if (f->started) {
		loop_end();
		spool_close(&f->sp);
	}
	r = fileio_rmtree(AT_FDCWD, f->dir);
	free(f);
	return r;
}

/*
 * Starts the loop on a config of the stages given, each of the fake runner
 * and run as the test's own user.
 */
static void
prepare(struct fx *f, const char *stages)
{
	const char *key = "\trunner = \"fake\"\n", *p;
	struct passwd *pw;
	struct conf *c;
	FILE *fp;

	assert_non_null(pw = getpwuid(geteuid()));
	assert_non_null(fp = fopen(f->conf, "w"));
	fprintf(fp, "spool = \"%s\"\ntick = 1\nkill_grace = 1\n", f->spool);
	for (; (p = strstr(stages, key)) != NULL; stages = p + strlen(key))
		fprintf(fp, "%.*s%s\tuser = \"%s\"\n", (int)(p - stages), stages,
		    key, pw->pw_name);
	fputs(stages, fp);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(c = conf_load(f->conf, geteuid()));
	assert_int_equal(spool_open(&f->sp, f->spool, SPOOL_CREATE, (gid_t)-1),
	    0);
	f->c = c;
}

static void
start(struct fx *f, const char *stages)
{
	prepare(f, stages);
	assert_int_equal(loop_start(f->c, &f->sp), 0);
	f->started = 1;
}

/* Turns of the loop, each with its tick. */
static void
spin(int n)
{
	while (n-- > 0) {
		L.nexttick = mono_now();
		assert_int_equal(loop_once(5), 0);
	}
}

/* Puts job id in the queue/ of stage, as a submitter would. */
static void
submit(struct fx *f, const char *stage, const char *id)
{
	char path[PATH_MAX];
	int fd;

	str(path, sizeof(path), "%s/%s/queue/%s", f->spool, stage, id);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) != -1);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(close(fd), 0);
}

/* Whether job id is in folder dir of stage. */
static int
is_in(struct fx *f, const char *stage, const char *dir, const char *id)
{
	char path[PATH_MAX];

	str(path, sizeof(path), "%s/%s/%s/%s", f->spool, stage, dir, id);
	return access(path, F_OK) == 0;
}

/* Scripts the end of the run of job id at the next tick. */
static void
script(const char *id, int ws, const char *lost)
{
	struct fake *k = fake_find(id);

	assert_non_null(k);
	k->end = 1;
	k->ws = ws;
	strlcpy(k->lost, lost != NULL ? lost : "", sizeof(k->lost));
}

static void
record(struct fx *f, const char *id, struct status *s)
{
	assert_int_equal(spool_status_read(&f->sp, id, s), 0);
}

static void
test_done(void **state)
{
	struct fx *f = *state;
	struct status s;

	start(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n}\n");
	submit(f, "a", "j1");
	spin(3);
	assert_int_equal(nstarted, 1);
	assert_true(is_in(f, "a", "running", "j1"));
	assert_int_equal(L.nrun, 1);
	script("j1", W_EXITCODE(0, 0), NULL);
	spin(2);
	assert_true(is_in(f, "a", "done", "j1"));
	assert_int_equal(L.nrun, 0);
	assert_int_equal(L.total.done, 1);
	assert_int_equal(L.total.runs, 1);
	record(f, "j1", &s);
	assert_int_equal(s.state, JS_DONE);
	assert_int_equal(s.attempt, 1);
	assert_int_equal(s.exit, 0);
	assert_null(fake_find("j1"));
}

static void
test_chain(void **state)
{
	struct fx *f = *state;
	struct status s;

	start(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n"
	    "\tnext = \"b\"\n}\nstage b {\n\tcommand = {\"true\"}\n"
	    "\trunner = \"fake\"\n}\n");
	submit(f, "a", "j1");
	spin(3);
	script("j1", W_EXITCODE(0, 0), NULL);
	spin(1);
	assert_false(is_in(f, "a", "done", "j1"));
	spin(3);
	assert_true(is_in(f, "b", "running", "j1"));
	record(f, "j1", &s);
	assert_string_equal(s.stage, "b");
	assert_int_equal(s.attempt, 1);
	script("j1", W_EXITCODE(0, 0), NULL);
	spin(2);
	assert_true(is_in(f, "b", "done", "j1"));
	assert_int_equal(L.total.done, 1);
	assert_int_equal(L.total.runs, 2);
}

static void
test_retry_then_error(void **state)
{
	struct fx *f = *state;
	struct status s;

	start(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n"
	    "\tattempts = 2\n\tbackoff = 0\n}\n");
	submit(f, "a", "j1");
	spin(3);
	script("j1", W_EXITCODE(1, 0), NULL);
	spin(4);
	assert_int_equal(nstarted, 2);
	assert_int_equal(L.total.retries, 1);
	record(f, "j1", &s);
	assert_int_equal(s.attempt, 2);
	assert_int_equal(s.state, JS_RUNNING);
	script("j1", W_EXITCODE(1, 0), NULL);
	spin(2);
	assert_true(is_in(f, "a", "error", "j1"));
	assert_int_equal(L.total.error, 1);
	assert_int_equal(L.total.runs, 2);
	record(f, "j1", &s);
	assert_int_equal(s.state, JS_ERROR);
	assert_int_equal(s.exit, 1);
}

static void
test_lost(void **state)
{
	struct fx *f = *state;
	struct status s;

	start(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n"
	    "\tbackoff = 0\n\tlost_max = 2\n}\n");
	submit(f, "a", "j1");
	spin(3);
	script("j1", 0, "the node went away");
	spin(4);
	/* Lost once: queued again, no attempt spent, and run again. */
	assert_int_equal(nstarted, 2);
	record(f, "j1", &s);
	assert_int_equal(s.attempt, 1);
	assert_int_equal(s.lost, 1);
	script("j1", 0, "the node went away");
	spin(2);
	assert_true(is_in(f, "a", "error", "j1"));
	record(f, "j1", &s);
	assert_int_equal(s.lost, 2);
	assert_non_null(strstr(s.reason, "lost 2 times in a row"));
}

static void
test_slots(void **state)
{
	struct fx *f = *state;

	start(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n"
	    "\tslots = 1\n}\n");
	submit(f, "a", "j1");
	submit(f, "a", "j2");
	spin(4);
	assert_int_equal(nstarted, 1);
	assert_int_equal(L.nrun, 1);
	script(fake_find("j1") != NULL ? "j1" : "j2", W_EXITCODE(0, 0), NULL);
	spin(4);
	assert_int_equal(nstarted, 2);
	assert_int_equal(L.total.done, 1);
}

static void
test_timeout(void **state)
{
	struct fx *f = *state;
	struct fake *k;

	start(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n"
	    "\ttimeout = 5\n\tattempts = 1\n}\n");
	submit(f, "a", "j1");
	spin(3);
	assert_non_null(k = fake_find("j1"));
	spin(1);
	assert_int_equal(k->stops, 0);
	k->r->t0.tv_sec -= 10;
	spin(1);
	assert_int_equal(k->stops, 1);
	/* Not stopped by SIGTERM: killed after kill_grace. */
	k->r->killat.tv_sec -= 10;
	spin(1);
	assert_int_equal(k->kills, 1);
	assert_int_equal(L.total.timeouts, 0); /* counted as the run ends */
	script("j1", W_EXITCODE(0, SIGKILL), NULL);
	spin(2);
	assert_true(is_in(f, "a", "error", "j1"));
	assert_int_equal(L.total.timeouts, 1);
}

static void
test_cancel(void **state)
{
	struct fx *f = *state;
	struct fake *k;
	struct status s;
	char path[PATH_MAX];
	int fd;

	start(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n}\n");
	submit(f, "a", "j1");
	spin(3);
	assert_non_null(k = fake_find("j1"));
	str(path, sizeof(path), "%s/index/cancel/j1", f->spool);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0644)) != -1);
	assert_int_equal(close(fd), 0);
	spin(2);
	assert_int_equal(k->stops, 1);
	script("j1", W_EXITCODE(0, SIGTERM), NULL);
	spin(2);
	assert_true(is_in(f, "a", "error", "j1"));
	record(f, "j1", &s);
	assert_int_equal(s.state, JS_ERROR);
	assert_int_equal(access(path, F_OK), -1);
}

/*
 * Leaves job j1 in a/running/ as a killed spoold would, its record naming
 * the group of a process that ignores SIGTERM: that process's pid.
 */
static pid_t
leave_run(struct fx *f, struct status *s)
{
	struct sdirs sd;
	char path[PATH_MAX];
	pid_t pid;
	int fd, i;

	if ((pid = fork()) == 0) {
		setpgid(0, 0);
		signal(SIGTERM, SIG_IGN);
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	setpgid(pid, pid);
	for (i = 0; i < 200 && child_starttime(pid) == 0; i++)
		usleep(5000);
	assert_int_equal(spool_stage_open(&f->sp, "a", &sd, 1), 0);
	spool_stage_close(&sd);
	status_init(s, "a");
	s->state = JS_RUNNING;
	s->attempt = 1;
	s->pgid = pid;
	s->pstart = child_starttime(pid);
	assert_true((fd = spool_job_make(&f->sp, "j1", (uid_t)-1,
	    (gid_t)-1)) != -1);
	close(fd);
	assert_int_equal(spool_status_write(&f->sp, "j1", s), 0);
	str(path, sizeof(path), "%s/a/running/j1", f->spool);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0644)) != -1);
	close(fd);
	return pid;
}

/*
 * A run a previous spoold left, whose group ignores SIGTERM: recovery does
 * not wait for it. The loop turns, the group is killed kill_grace seconds
 * later, and only then does the job go back to its queue/, its attempt
 * given back, and run again.
 */
static void
test_recover_stops_group(void **state)
{
	struct fx *f = *state;
	struct timespec t0;
	struct status s;
	pid_t pid;
	int i;

	prepare(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n}\n");
	pid = leave_run(f, &s);
	t0 = mono_now();
	assert_int_equal(loop_start(f->c, &f->sp), 0);
	f->started = 1;
	spin(2);
	assert_true(ms_between(t0, mono_now()) < 500);
	assert_true(is_in(f, "a", "running", "j1"));
	assert_int_equal(nstarted, 0);
	for (i = 0; i < 400 && nstarted == 0; i++)
		spin(1);
	assert_int_equal(nstarted, 1);
	assert_true(ms_between(t0, mono_now()) >= 900);
	assert_false(child_group_alive(pid, s.pstart));
	record(f, "j1", &s);
	assert_int_equal(s.attempt, 1);
	assert_int_equal(s.state, JS_RUNNING);
}

/* A cancel that comes while the job waits for its recovery is kept. */
static void
test_recover_keeps_cancel(void **state)
{
	struct fx *f = *state;
	struct status s;
	char path[PATH_MAX];
	int fd, i;

	prepare(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n}\n");
	leave_run(f, &s);
	assert_int_equal(loop_start(f->c, &f->sp), 0);
	f->started = 1;
	spin(2);
	assert_true(is_in(f, "a", "running", "j1"));
	str(path, sizeof(path), "%s/index/cancel/j1", f->spool);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0644)) != -1);
	assert_int_equal(close(fd), 0);
	for (i = 0; i < 400 && !is_in(f, "a", "error", "j1"); i++)
		spin(1);
	assert_true(is_in(f, "a", "error", "j1"));
	assert_int_equal(nstarted, 0);
	record(f, "j1", &s);
	assert_string_equal(s.reason, "cancelled");
	assert_int_equal(access(path, F_OK), -1);
}

/* index/<name> of the spool, whole, to be freed. */
static char *
index_text(struct fx *f, const char *name)
{
	char *text = fileio_read(f->sp.indexfd, name, 65536);

	assert_non_null(text);
	return text;
}

/* metrics.json, and its stage a in *a. */
static json_t *
metrics(struct fx *f, json_t **a)
{
	char *text = index_text(f, "metrics.json");
	json_t *o;

	assert_non_null(o = json_loads(text, 0, NULL));
	free(text);
	assert_non_null(*a = json_object_get(json_object_get(o, "stages"),
	    "a"));
	return o;
}

/*
 * Each tick writes what the spool holds: metrics.json and metrics.prom
 * with the counts of the folders and the counters of the runs, and
 * status.html with the running jobs and the last errors.
 */
static void
test_report(void **state)
{
	struct fx *f = *state;
	json_t *o, *a;
	char *buf;

	start(f, "stage a {\n\tcommand = {\"true\"}\n\trunner = \"fake\"\n"
	    "\tslots = 1\n\tattempts = 1\n}\n");
	submit(f, "a", "j1");
	submit(f, "a", "j2");
	spin(3);
	o = metrics(f, &a);
	assert_int_equal(num(a, "running"), 1);
	assert_int_equal(num(a, "queued"), 1);
	assert_int_equal(num(o, "running"), 1);
	assert_int_equal(num(o, "done"), 0);
	json_decref(o);
	buf = index_text(f, "status.html");
	assert_non_null(strstr(buf, "<h2>Running (1)</h2>"));
	assert_non_null(strstr(buf, "<tr><td>a</td><td class=\"t\">j1</td>"
	    "<td class=\"n\">1</td><td>fake</td>"));
	free(buf);
	script("j1", W_EXITCODE(0, 0), NULL);
	spin(3);
	script("j2", W_EXITCODE(3, 0), NULL);
	spin(3);
	o = metrics(f, &a);
	assert_int_equal(num(a, "running"), 0);
	assert_int_equal(num(a, "queued"), 0);
	assert_int_equal(num(a, "runs"), 2);
	assert_int_equal(num(a, "done"), 1);
	assert_int_equal(num(a, "error"), 1);
	assert_int_equal(num(o, "done"), 1);
	assert_int_equal(num(o, "error"), 1);
	json_decref(o);
	buf = index_text(f, "metrics.prom");
	assert_non_null(strstr(buf, "\nspoold_spool_done_total 1\n"));
	assert_non_null(strstr(buf, "\nspoold_spool_error_total 1\n"));
	assert_non_null(strstr(buf,
	    "\nspoold_run_seconds_count{stage=\"a\"} 2\n"));
	free(buf);
	/* Nothing runs; j2 is among the last errors, with its reason. */
	buf = index_text(f, "status.html");
	assert_non_null(strstr(buf, "<h2>Running (0)</h2>"));
	assert_non_null(strstr(buf,
	    ">j2</td><td class=\"t\">exit 3 (attempt 1 of 1)</td>"));
	free(buf);
}

int
main(int argc, char *argv[], char *envp[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_then_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_stops_group, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover_keeps_cancel, setup,
		    teardown),
	};

	setproctitle_init(argc, argv, envp);
	log_init(0, "test_loop");
	if (runner_add(&fake) == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
