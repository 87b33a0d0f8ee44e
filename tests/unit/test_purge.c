/*
 * test_purge.c: a job removed with all it leaves (its file, work folder,
 * log and entry in the index of contents seen) and an event saying so;
 * what a submission cut short left, forgotten; and what writers that are
 * gone left in tmp/, removed while what the living write stays.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
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

#include "unit_files.h"
#include "unit_log.h"
#include "unit_spool.h"

#define HASH "0123456789abcdef0123456789abcdef" \
    "0123456789abcdef0123456789abcdef"

/*
 * A job as spoold leaves it: its record (with its content's hash, in the
 * index of contents seen), a file in its work folder, and its log.
 */
static void
make_job(struct fx *f, const char *id)
{
	struct status st;
	char first[ID_MAX + 1], log[NAME_MAX + 1];
	int fd;

	status_init(&st, "prep");
	st.state = JS_DONE;
	str(st.sha256, sizeof(st.sha256), "%s", HASH);
	assert_int_equal(spool_status_write(&f->sp, id, &st), 0);
	assert_true(dedupe_claim(&f->sp, HASH, id, first, sizeof(first)) != -1);
	fd = spool_job_open(&f->sp, id);
	assert_true(fd != -1);
	make_file(fd, "out.pdf", "%PDF");
	close(fd);
	fd = output_log_open(&f->sp, id);
	assert_true(fd != -1);
	close(fd);
	str(log, sizeof(log), "%s.log", id);
	assert_int_equal(faccessat(f->sp.logfd, log, F_OK, 0), 0);
}

/* Whether job id left nothing: no work folder, no log, no hash entry. */
static void
assert_gone(struct fx *f, const char *id)
{
	char log[NAME_MAX + 1], first[ID_MAX + 1];

	str(log, sizeof(log), "%s.log", id);
	assert_int_equal(faccessat(f->sp.workfd, id, F_OK,
	    AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(f->sp.logfd, log, F_OK, 0), -1);
	/* The next job with that content is the first. */
	assert_int_equal(dedupe_claim(&f->sp, HASH, "next", first,
	    sizeof(first)), 0);
}

/* The last line of index/events.jsonl. */
static char *
last_event(struct fx *f)
{
	char *text, *line, *end;

	text = fileio_read(f->sp.indexfd, "events.jsonl", 1 << 20);
	assert_non_null(text);
	end = text + strlen(text);
	assert_true(end > text && end[-1] == '\n');
	*--end = '\0';
	line = strrchr(text, '\n');
	line = strdup(line != NULL ? line + 1 : text);
	free(text);
	return line;
}

static void
test_purge_job(void **state)
{
	struct fx *f = *state;
	struct sdirs sd;
	char *ev;

	assert_int_equal(spool_stage_open(&f->sp, "prep", &sd, 1), 0);
	make_file(sd.fd[DIR_DONE], "j1", "content");
	make_job(f, "j1");
	f->sp.dirty = 0;
	assert_int_equal(purge_job(&f->sp, sd.fd[DIR_DONE], "j1"), 0);
	assert_int_equal(f->sp.dirty, 1);
	assert_int_equal(faccessat(sd.fd[DIR_DONE], "j1", F_OK, 0), -1);
	assert_gone(f, "j1");
	ev = last_event(f);
	assert_non_null(strstr(ev, "\"event\":\"purged\""));
	assert_non_null(strstr(ev, "\"id\":\"j1\""));
	assert_non_null(strstr(ev, "\"stage\":\"prep\""));
	free(ev);
	/* A job with no record and nothing left: its file alone goes. */
	make_file(sd.fd[DIR_DONE], "bare", "x");
	assert_int_equal(purge_job(&f->sp, sd.fd[DIR_DONE], "bare"), 0);
	assert_int_equal(faccessat(sd.fd[DIR_DONE], "bare", F_OK, 0), -1);
	/* A job folder (a job of several files) goes whole. */
	assert_int_equal(mkdirat(sd.fd[DIR_DONE], "dir", 0755), 0);
	make_file(sd.fd[DIR_DONE], "dir/page1", "x");
	assert_int_equal(purge_job(&f->sp, sd.fd[DIR_DONE], "dir"), 0);
	assert_int_equal(faccessat(sd.fd[DIR_DONE], "dir", F_OK, 0), -1);
	spool_stage_close(&sd);
}

/* Another job's entry in the index of contents stays. */
static void
test_forget(void **state)
{
	struct fx *f = *state;
	char first[ID_MAX + 1], *ev;

	make_job(f, "j1");
	purge_forget(&f->sp, "j1", "not submitted: testing");
	assert_gone(f, "j1");
	ev = last_event(f);
	assert_non_null(strstr(ev, "\"event\":\"purged\""));
	assert_non_null(strstr(ev, "\"reason\":\"not submitted: testing\""));
	free(ev);
	/* "next" holds the entry now; forgetting j2, a duplicate, keeps it. */
	make_job(f, "j2");
	purge_forget(&f->sp, "j2", "gone");
	assert_int_equal(dedupe_claim(&f->sp, HASH, "j3", first,
	    sizeof(first)), 1);
	assert_string_equal(first, "next");
}

/* A pid that was a process and is no longer one. */
static pid_t
dead_pid(void)
{
	pid_t pid;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static int
no_job(const char *id)
{
	(void)id;
	return 0;
}

static int
a_job(const char *id)
{
	(void)id;
	return 1;
}

static const char *named(const char *, ...)
    __attribute__((format(printf, 1, 2)));

/* The name fmt makes, kept until the next call. */
static const char *
named(const char *fmt, ...)
{
	static char name[NAME_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(name));
	return name;
}

static void
put(struct fx *f, const char *name)
{
	make_file(f->sp.tmpfd, name, "");
}

static int
has(struct fx *f, const char *name)
{
	return faccessat(f->sp.tmpfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

#define SUBMIT "7.20261123T093904.123456-%ld-1.book"

static void
test_tmp(void **state)
{
	struct fx *f = *state;
	long dead = dead_pid(), alive = getpid();
	char id[NAME_MAX + 1];

	put(f, named(".w.%ld.1", dead));
	put(f, named(".w.%ld.2", alive));
	put(f, named(".sha256.%ld.0", dead));
	put(f, named("other-%ld", dead));
	put(f, named("." SUBMIT, dead));
	make_job(f, str(id, sizeof(id), SUBMIT, dead));
	logged_begin();
	purge_tmp(&f->sp, f->sp.tmpfd, a_job);
	assert_non_null(strstr(logged_end(), "its writer"));
	assert_false(has(f, named(".w.%ld.1", dead)));
	assert_true(has(f, named(".w.%ld.2", alive)));
	assert_false(has(f, named(".sha256.%ld.0", dead)));
	assert_true(has(f, named("other-%ld", dead)));
	assert_false(has(f, named("." SUBMIT, dead)));
	/* Its job exists after all: its work folder stays. */
	assert_int_equal(faccessat(f->sp.workfd, id, F_OK, 0), 0);
	/* Not a job: the submission was cut short, and what it made goes. */
	put(f, named("." SUBMIT, dead));
	logged_begin();
	purge_tmp(&f->sp, f->sp.tmpfd, no_job);
	logged_end();
	assert_false(has(f, named("." SUBMIT, dead)));
	assert_gone(f, id);
	assert_true(has(f, named(".w.%ld.2", alive)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SPOOL_TEST(test_purge_job),
		SPOOL_TEST(test_forget),
		SPOOL_TEST(test_tmp),
	};

	return cmocka_run_group_tests_name("purge", tests, NULL, NULL);
}
