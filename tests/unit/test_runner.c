/*
 * test_runner.c: the table of runners, and what the Slurm runner and the
 * Slurm commands decide without a cluster: the runner that takes over a
 * run left running, where a run is in words, sbatch's answer, the exit
 * status a batch script left, and what the end of a run adds to its log.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/mman.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "unit_spool.h"
#include "runner.h"
#include "slurm.h"

static const struct runner *local, *slurm;

static void
test_table(void **state)
{
	char names[128];
	struct runner other = *local;

	(void)state;
	assert_string_equal(local->name, "local");
	assert_string_equal(slurm->name, "slurm");
	assert_null(runner_find("Local"));
	assert_ptr_equal(runner_next(NULL), local);
	assert_ptr_equal(runner_next(local), slurm);
	assert_null(runner_next(slurm));
	runner_names(names, sizeof(names));
	assert_string_equal(names, "neither \"local\" nor \"slurm\"");
	assert_int_equal(runner_add(&other), -1); /* its name is taken */
}

static void
test_adopter(void **state)
{
	struct status s;

	(void)state;
	status_init(&s, "a");
	assert_null(runner_adopter(&s, local));
	assert_ptr_equal(runner_adopter(&s, slurm), slurm);
	/* A run on Slurm stays Slurm's, whatever the stage says now. */
	s.remote = 42;
	assert_ptr_equal(runner_adopter(&s, local), slurm);
}

static void
test_where(void **state)
{
	struct run r = {.pid = 77};
	char buf[64];

	(void)state;
	local->where(&r, buf, sizeof(buf));
	assert_string_equal(buf, "pid 77");
	slurm->where(&r, buf, sizeof(buf));
	assert_string_equal(buf, "slurm, submitting");
	r.pid = 0;
	slurm->where(&r, buf, sizeof(buf));
	assert_string_equal(buf, "slurm, looked for");
	r.st.remote = 5678;
	r.pending = 1;
	slurm->where(&r, buf, sizeof(buf));
	assert_string_equal(buf, "slurm 5678, pending");
	r.pending = 0;
	slurm->where(&r, buf, sizeof(buf));
	assert_string_equal(buf, "slurm 5678");
}

static long long
jobid(const char *answer)
{
	int fd = memfd_create("sbatch", MFD_CLOEXEC);

	assert_true(fd != -1);
	assert_int_equal(write(fd, answer, strlen(answer)),
	    (ssize_t)strlen(answer));
	return slurm_jobid(fd); /* closes fd */
}

static void
test_jobid(void **state)
{
	(void)state;
	assert_int_equal(jobid("123\n"), 123);
	assert_int_equal(jobid("123;cluster\n"), 123);
	assert_int_equal(jobid("9007199254740993"), 9007199254740993LL);
	assert_int_equal(jobid(""), 0);
	assert_int_equal(jobid("abc\n"), 0);
	assert_int_equal(jobid("12x\n"), 0);
	assert_int_equal(jobid("-5\n"), 0);
	assert_int_equal(slurm_jobid(-1), 0);
}

/* Writes work/<id>/slurm.exit as a batch script would. */
static void
exit_file(struct fx *f, const char *id, const char *text)
{
	int dfd, fd;

	assert_true((dfd = spool_job_make(&f->sp, id, (uid_t)-1,
	    (gid_t)-1)) != -1);
	assert_true((fd = openat(dfd, "slurm.exit", O_WRONLY | O_CREAT |
	    O_TRUNC, 0644)) != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	close(dfd);
}

static void
test_exit(void **state)
{
	struct fx *f = *state;
	struct usage u;
	int code = -1;

	assert_int_equal(slurm_exit(&f->sp, "j", 42, &code, &u), 0);
	exit_file(f, "j", "3 42\n");
	memset(&u, 0xff, sizeof(u));
	assert_int_equal(slurm_exit(&f->sp, "j", 42, &code, &u), 1);
	assert_int_equal(code, 3);
	assert_int_equal(u.known, 0);	/* not measured on the node */
	assert_int_equal(slurm_exit(&f->sp, "j", 0, &code, &u), 1);
	/* Another job's status is not this run's. */
	assert_int_equal(slurm_exit(&f->sp, "j", 41, &code, &u), 0);
	exit_file(f, "j", "256 42\n");
	assert_int_equal(slurm_exit(&f->sp, "j", 42, &code, &u), 0);
	exit_file(f, "j", "0\n");
	assert_int_equal(slurm_exit(&f->sp, "j", 42, &code, &u), 1);
	assert_int_equal(code, 0);
	/* With what spoold -m measured on the node. */
	exit_file(f, "j", "0 42 2004 12 204800 3001\n");
	assert_int_equal(slurm_exit(&f->sp, "j", 42, &code, &u), 1);
	assert_int_equal(u.known, 1);
	assert_true(u.user_ms == 2004 && u.sys_ms == 12 &&
	    u.maxrss_kb == 204800 && u.wall_ms == 3001);
	/* A cost cut short or below 0 is no measure; the status stands. */
	exit_file(f, "j", "1 42 2004 12\n");
	assert_int_equal(slurm_exit(&f->sp, "j", 42, &code, &u), 1);
	assert_true(code == 1 && u.known == 0);
	exit_file(f, "j", "0 42 2004 -12 204800 3001\n");
	assert_int_equal(slurm_exit(&f->sp, "j", 42, &code, &u), 1);
	assert_int_equal(u.known, 0);
}

/* The end of a Slurm run names its job in the log's footer, unless lost. */
static void
test_end(void **state)
{
	struct fx *f = *state;
	struct stconf sc = {.name = "a"};
	struct run r = {.id = "j", .stname = "a", .logfd = -1};
	char how[128];

	slurm->init(&f->sp);
	r.st.remote = 42;
	strlcpy(how, "exit 0", sizeof(how));
	slurm->end(&r, &sc, 0, how, sizeof(how));
	assert_string_equal(how, "exit 0 (Slurm job 42)");
	strlcpy(r.lost, "slurm: lost", sizeof(r.lost));
	strlcpy(how, "exit 0", sizeof(how));
	slurm->end(&r, &sc, 0, how, sizeof(how));
	assert_string_equal(how, "exit 0");
}

/*
 * A run taken over after a restart, its sbatch's answer never read: the
 * record is not changed, the job is looked for by name.
 */
static void
test_adopt_unanswered(void **state)
{
	struct fx *f = *state;
	struct run r = {.id = "j", .stname = "a", .pid = 99};
	struct status s;

	slurm->init(&f->sp);
	status_init(&s, "a");
	r.st = s;
	r.st.pgid = 99;
	slurm->adopt(&r, &s);
	assert_non_null(r.rdata);
	assert_int_equal(slurm->reaped(&r, W_EXITCODE(1, 0)), 0);
	assert_int_equal(r.dirty, 0);
	assert_int_equal(r.st.pgid, 0);
	assert_int_equal(r.st.remote, 0);
	slurm->release(&r);
	assert_null(r.rdata);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_adopter),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_jobid),
		cmocka_unit_test_setup_teardown(test_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_unanswered, setup,
		    teardown),
	};

	log_init(0, "test_runner");
	local = runner_find("local");
	slurm = runner_find("slurm");
	if (local == NULL || slurm == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
