/*
 * test_spool.c: the spool's files on disk: its layout, moves that never
 * replace, atomic writes and status records.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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


/* --- on disk --- */

static void
assert_dir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
assert_dir(const char *fmt, ...)
{
	char path[PATH_MAX];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (lstat(path, &st) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	assert_true(S_ISDIR(st.st_mode));
}

static void
test_open_layout(void **state)
{
	struct fx *f = *state;
	struct sdirs sd;
	struct spool again;
	int i;

	assert_true(f->sp.dfd >= 0 && f->sp.tmpfd >= 0 && f->sp.workfd >= 0 &&
	    f->sp.logfd >= 0 && f->sp.indexfd >= 0 && f->sp.cancelfd >= 0);
	assert_dir("%s", f->path);
	assert_dir("%s/tmp", f->path);
	assert_dir("%s/work", f->path);
	assert_dir("%s/log", f->path);
	assert_dir("%s/index", f->path);
	assert_dir("%s/index/cancel", f->path);

	assert_int_equal(spool_stage_open(&f->sp, "prep", &sd, 1), 0);
	for (i = 0; i < NDIRS; i++) {
		assert_true(sd.fd[i] >= 0);
		assert_dir("%s/prep/%s", f->path, spool_dir_name(i));
	}
	assert_string_equal(spool_dir_name(DIR_QUEUE), "queue");
	assert_string_equal(spool_dir_name(DIR_RUNNING), "running");
	assert_string_equal(spool_dir_name(DIR_DONE), "done");
	assert_string_equal(spool_dir_name(DIR_ERROR), "error");
	/* The fds are the folders: a file made through one shows up there. */
	make_file(sd.fd[DIR_DONE], "j", "x");
	{
		char p[PATH_MAX];
		str(p, sizeof(p), "%s/prep/done/j", f->path);
		assert_int_equal(access(p, F_OK), 0);
	}
	spool_stage_close(&sd);
	for (i = 0; i < NDIRS; i++)
		assert_int_equal(sd.fd[i], -1);

	/* Opening again, with or without create, finds the same layout. */
	assert_int_equal(spool_stage_open(&f->sp, "prep", &sd, 0), 0);
	assert_file(sd.fd[DIR_DONE], "j", "x");
	spool_stage_close(&sd);
	assert_int_equal(spool_open(&again, f->path, 0, (gid_t)-1), 0);
	spool_close(&again);
	assert_int_equal(spool_open(&again, f->path, 1, (gid_t)-1), 0);
	spool_close(&again);
	assert_int_equal(again.dfd, -1);
}

static void
test_open_missing(void **state)
{
	struct fx *f = *state;
	struct sdirs sd;
	struct spool sp;
	char path[PATH_MAX];
	int i;

	/* Without create, nothing is made, and the failure is logged. */
	logged_begin();
	assert_int_equal(spool_stage_open(&f->sp, "nope", &sd, 0), -1);
	assert_string_equal(logged_end(),
	    "spoold: open nope: No such file or directory\n");
	for (i = 0; i < NDIRS; i++)
		assert_int_equal(sd.fd[i], -1);
	str(path, sizeof(path), "%s/nope", f->path);
	assert_int_equal(access(path, F_OK), -1);
	str(path, sizeof(path), "%s/other", f->dir);
	logged_begin();
	assert_int_equal(spool_open(&sp, path, 0, (gid_t)-1), -1);
	assert_non_null(strstr(logged_end(),
	    "other: No such file or directory"));
	assert_int_equal(access(path, F_OK), -1);
	/* A spool missing part of its layout is not opened without create. */
	str(path, sizeof(path), "%s/half", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	logged_begin();
	assert_int_equal(spool_open(&sp, path, 0, (gid_t)-1), -1);
	assert_string_equal(logged_end(),
	    "spoold: open tmp: No such file or directory\n");
	assert_int_equal(sp.dfd, -1);
}

static void
test_move(void **state)
{
	struct fx *f = *state;
	struct sdirs sd;

	assert_int_equal(spool_stage_open(&f->sp, "s", &sd, 1), 0);
	make_file(sd.fd[DIR_QUEUE], "job", "new");
	f->sp.dirty = 0;
	assert_int_equal(spool_move(&f->sp, sd.fd[DIR_QUEUE],
	    sd.fd[DIR_RUNNING], "job"), 0);
	assert_int_equal(f->sp.dirty, 1);
	assert_int_equal(faccessat(sd.fd[DIR_QUEUE], "job", F_OK, 0), -1);
	assert_file(sd.fd[DIR_RUNNING], "job", "new");

	/* Moving onto a job of the same name fails, and both stay. */
	make_file(sd.fd[DIR_QUEUE], "job", "second");
	f->sp.dirty = 0;
	errno = 0;
	assert_int_equal(spool_move(&f->sp, sd.fd[DIR_QUEUE],
	    sd.fd[DIR_RUNNING], "job"), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(f->sp.dirty, 0);
	assert_file(sd.fd[DIR_QUEUE], "job", "second");
	assert_file(sd.fd[DIR_RUNNING], "job", "new");

	/* Also onto a folder of that name. */
	assert_int_equal(mkdirat(sd.fd[DIR_ERROR], "job", 0755), 0);
	errno = 0;
	assert_int_equal(spool_move(&f->sp, sd.fd[DIR_QUEUE], sd.fd[DIR_ERROR],
	    "job"), -1);
	assert_int_equal(errno, EEXIST);
	assert_file(sd.fd[DIR_QUEUE], "job", "second");

	/* A job that is not there. */
	errno = 0;
	assert_int_equal(spool_move(&f->sp, sd.fd[DIR_DONE], sd.fd[DIR_ERROR],
	    "ghost"), -1);
	assert_int_equal(errno, ENOENT);
	spool_stage_close(&sd);
}

static void
test_write_atomic(void **state)
{
	struct fx *f = *state;
	static const char one[] = "{\"a\": 1}\n", two[] = "second\n";
	char big[100000];
	struct stat st;
	size_t i;

	assert_int_equal(entries(f->sp.tmpfd), 0);
	f->sp.dirty = 0;
	assert_int_equal(spool_write(&f->sp, f->sp.indexfd, "m.json", one,
	    strlen(one), 1), 0);
	assert_int_equal(f->sp.dirty, 1);
	assert_file(f->sp.indexfd, "m.json", one);
	assert_int_equal(entries(f->sp.tmpfd), 0);

	/* A rewrite replaces the file whole: never a write into it. */
	assert_int_equal(fstatat(f->sp.indexfd, "m.json", &st, 0), 0);
	{
		int fd = openat(f->sp.indexfd, "m.json", O_RDONLY);
		char buf[64];
		ssize_t n;

		assert_true(fd != -1);
		assert_int_equal(spool_write(&f->sp, f->sp.indexfd, "m.json",
		    two, strlen(two), 0), 0);
		/* The reader that opened the old file still reads it all. */
		n = read(fd, buf, sizeof(buf) - 1);
		assert_int_equal(n, (ssize_t)strlen(one));
		buf[n] = '\0';
		assert_string_equal(buf, one);
		close(fd);
	}
	assert_file(f->sp.indexfd, "m.json", two);
	assert_int_equal(entries(f->sp.tmpfd), 0);

	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = 'a' + i % 26;
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(spool_write(&f->sp, f->sp.workfd, "big", big,
	    strlen(big), 1), 0);
	{
		char *got = fileio_read(f->sp.workfd, "big", sizeof(big));
		assert_non_null(got);
		assert_int_equal(strlen(got), strlen(big));
		assert_memory_equal(got, big, strlen(big));
		free(got);
	}
	assert_int_equal(fstatat(f->sp.workfd, "big", &st, 0), 0);
	assert_int_equal(st.st_size, (off_t)strlen(big));
	assert_int_equal(entries(f->sp.tmpfd), 0);

	/* A failed write leaves nothing behind either. */
	assert_int_equal(spool_write(&f->sp, f->sp.workfd, "no/such/dir", one,
	    strlen(one), 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(entries(f->sp.tmpfd), 0);
}

static void
fill_status(struct status *st)
{
	status_init(st, "prep");
	st->state = JS_DEFERRED;
	st->attempt = 2;
	st->exit = 75;
	st->signal = 9;
	strcpy(st->reason, "exit 75 \"quoted\" \\ and \xc3\xa9");
	st->submitted = 1795426744;  /* 2026-11-23T09:39:04Z */
	st->started = 1795426800;
	st->finished = 1795426860;
	st->updated = 1795426861;
	strcpy(st->progress, "page 3/40");
	st->priority = 7;
	strcpy(st->key, "user-42");
	st->pgid = 31337;
	st->pstart = 123456789012ULL;
}

static void
test_status_round_trip(void **state)
{
	struct fx *f = *state;
	struct status st, got;
	static const char id[] = "7.20261123T093904.x";
	char path[PATH_MAX], *text;

	fill_status(&st);
	/* work/<id>/ does not exist yet: the write makes it. */
	assert_int_equal(spool_status_read(&f->sp, id, &got), -1);
	assert_int_equal(spool_status_write(&f->sp, id, &st), 0);
	str(path, sizeof(path), "%s/work/%s", f->path, id);
	assert_dir("%s", path);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(spool_status_read(&f->sp, id, &got), 0);
	assert_status_equal(&got, &st);
	assert_int_equal(entries(f->sp.tmpfd), 0);

	/* The file is one line of JSON. */
	str(path, sizeof(path), "%s/status.json", id);
	text = fileio_read(f->sp.workfd, path, 65536);
	assert_non_null(text);
	assert_true(text[0] == '{');
	assert_non_null(strchr(text, '\n'));
	assert_true(strchr(text, '\n') == text + strlen(text) - 1);
	free(text);

	/* A second write replaces the first. */
	st.state = JS_DONE;
	st.exit = 0;
	st.signal = 0;
	st.reason[0] = '\0';
	assert_int_equal(spool_status_write(&f->sp, id, &st), 0);
	assert_int_equal(spool_status_read(&f->sp, id, &got), 0);
	assert_status_equal(&got, &st);

	/* A record that is not one reads as none. */
	spool_write(&f->sp, f->sp.workfd, path, "garbage", 7, 0);
	assert_int_equal(spool_status_read(&f->sp, id, &got), -1);
}

static void
test_status_minimal_round_trip(void **state)
{
	struct fx *f = *state;
	struct status st, got;

	status_init(&st, "ocr");
	assert_int_equal(spool_status_write(&f->sp, "plain", &st), 0);
	assert_int_equal(spool_status_read(&f->sp, "plain", &got), 0);
	assert_status_equal(&got, &st);
	assert_int_equal(got.exit, -1);
	assert_int_equal(got.state, JS_QUEUED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_layout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_status_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_status_minimal_round_trip,
		    setup, teardown),
	};

	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
