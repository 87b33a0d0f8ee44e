/*
 * test_spool.c: job names, priorities, and the spool's
 * files on disk: its layout, moves that never replace, atomic writes and
 * status records.
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

#include "unit_spool.h"


/* --- names --- */

static void
name_ok(const char *id)
{
	const char *why = NULL;

	if (spool_name_check(id, &why) != 0)
		fail_msg("\"%s\" refused: %s", id, why != NULL ? why : "?");
}

static void
name_bad(const char *id, const char *want)
{
	const char *why = NULL;

	assert_int_equal(spool_name_check(id, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
}

static void
test_name_ok(void **state)
{
	char id[ID_MAX + 1];

	(void)state;
	name_ok("job");
	name_ok("a job with spaces");
	name_ok("caf\xc3\xa9");               /* é */
	name_ok("\xe6\x97\xa5\xe6\x9c\xac");  /* 日本 */
	name_ok("\xf0\x9f\x93\x9a.cbz");      /* a 4-byte sequence */
	name_ok("\xc2\xa0nbsp");              /* U+00A0: not a control */
	name_ok("-leading-dash");
	name_ok("7.20261123T093904.x");
	name_ok("a~b!c'd\"e");
	memset(id, 'x', ID_MAX);
	id[ID_MAX] = '\0';
	assert_int_equal(strlen(id), 251);
	name_ok(id);
}

static void
text_is(const char *in, size_t len, const char *want)
{
	char buf[64];

	assert_true(len <= sizeof(buf));
	memset(buf, 'Z', sizeof(buf));
	spool_text(buf, in, len);
	assert_string_equal(buf, want);
}

/* Progress lines become valid UTF-8 and are cut between characters. */
static void
test_text(void **state)
{
	(void)state;
	text_is("page 1/3", 64, "page 1/3");
	text_is("caf\xe9 page", 64, "caf? page");
	text_is("tab\there", 64, "tab?here");
	text_is("nel\xc2\x85", 64, "nel?");
	text_is("\xc3\xa9t\xc3\xa9", 64, "\xc3\xa9t\xc3\xa9");
	text_is("ab\xc3\xa9", 4, "ab");	/* no half of the é */
	text_is("ab\xc3\xa9", 5, "ab\xc3\xa9");
	text_is("abcdef", 4, "abc");
	text_is("\xe2\x82", 64, "??");	/* cut short */
}

static void
test_name_bad(void **state)
{
	char id[ID_MAX + 2];

	(void)state;
	memset(id, 'x', ID_MAX + 1);
	id[ID_MAX + 1] = '\0';
	assert_int_equal(strlen(id), 252);
	name_bad(id, "name longer than 251 bytes");
	name_bad("a\nb", "control character in name");
	name_bad("a\tb", "control character in name");
	name_bad("\x01", "control character in name");
	name_bad("a\x1f", "control character in name");
	name_bad("del\x7f", "control character in name");
	name_bad("nel\xc2\x85", "control character in name");   /* U+0085 */
	name_bad("\xc2\x80", "control character in name");      /* U+0080 */
	name_bad("\xc2\x9f", "control character in name");      /* U+009F */
	name_bad("bad\xff", "name is not UTF-8");
	name_bad("\xfe", "name is not UTF-8");
	name_bad("rlm\xe2\x80\x8f.cbz", "bidirectional control character in name");
	name_bad("\xe2\x80\xae" "fdp.exe", "bidirectional control character in name");
	name_bad("iso\xe2\x81\xa6x", "bidirectional control character in name");
	name_bad("alm\xd8\x9c", "bidirectional control character in name");
	name_bad("\xc0\xaf", "name is not UTF-8");              /* overlong / */
	name_bad("\xc1\xbf", "name is not UTF-8");
	name_bad("\xe0\x80\xaf", "name is not UTF-8");          /* overlong */
	name_bad("\xf0\x80\x80\xaf", "name is not UTF-8");      /* overlong */
	name_bad("\xed\xa0\x80", "name is not UTF-8");          /* D800 */
	name_bad("\xed\xbf\xbf", "name is not UTF-8");          /* DFFF */
	name_bad("\xf4\x90\x80\x80", "name is not UTF-8");      /* > 10FFFF */
	name_bad("\xf5\x80\x80\x80", "name is not UTF-8");
	name_bad("\x80", "name is not UTF-8");                  /* lone tail */
	name_bad("\xe6\x97", "name is not UTF-8");              /* cut short */
	name_bad("\xe6\x97x", "name is not UTF-8");
	name_bad("\xc3", "name is not UTF-8");
}

/* 251 bytes of multibyte text is fine; one byte more is not. */
static void
test_name_length_multibyte(void **state)
{
	char id[ID_MAX + 8];
	size_t i;

	(void)state;
	for (i = 0; i + 3 <= 249; i += 3)
		memcpy(id + i, "\xe6\x97\xa5", 3);
	id[i++] = 'a';
	id[i++] = 'b';
	id[i] = '\0';
	assert_int_equal(strlen(id), 251);
	name_ok(id);
	id[i++] = 'c';
	id[i] = '\0';
	name_bad(id, "name longer than 251 bytes");
}

static void
test_priority(void **state)
{
	(void)state;
	assert_int_equal(spool_priority("7.20261123T093904.x"), 7);
	assert_int_equal(spool_priority("9.20261123T093904.job.cbz"), 9);
	assert_int_equal(spool_priority("0.20261123T093904.x"), 0);
	assert_int_equal(spool_priority("1.20261123T093904."), 1);
	assert_int_equal(spool_priority("job"), 0);
	assert_int_equal(spool_priority(""), 0);
	assert_int_equal(spool_priority("7"), 0);
	assert_int_equal(spool_priority("7."), 0);
	assert_int_equal(spool_priority("7.2026"), 0);
	assert_int_equal(spool_priority("7.20261123T093904"), 0);
	assert_int_equal(spool_priority("7.20261123T093904x"), 0);
	assert_int_equal(spool_priority("7.20261123X093904.x"), 0);
	assert_int_equal(spool_priority("7.2026112aT093904.x"), 0);
	assert_int_equal(spool_priority("7.20261123T09390a.x"), 0);
	assert_int_equal(spool_priority("77.20261123T093904.x"), 0);
	assert_int_equal(spool_priority("x.20261123T093904.x"), 0);
	assert_int_equal(spool_priority("7-20261123T093904.x"), 0);
	assert_int_equal(spool_priority("-7.20261123T093904.x"), 0);
	assert_int_equal(spool_priority("7.20261123T0939041.x"), 0);
}

static void
name_time(const char *id, int want, time_t sec, long nsec)
{
	struct timespec t = {12345, 678};

	if (spool_name_time(id, &t) != want)
		fail_msg("spool_name_time(\"%s\") is not %d", id, want);
	assert_int_equal(t.tv_sec, sec);
	assert_int_equal(t.tv_nsec, nsec);
}

/* The submission time in the names spoolctl gives, in UTC. */
static void
test_name_time(void **state)
{
	(void)state;
	/* 2026-11-23T09:39:04Z */
	name_time("7.20261123T093904.123456-4242-17.book.cbz", 1, 1795426744,
	    123456000);
	name_time("0.20261123T093904.000001-1-1.x", 1, 1795426744, 1000);
	name_time("7.20261123T093904.x", 1, 1795426744, 0);
	name_time("7.20261123T093904.", 1, 1795426744, 0);
	name_time("9.20000229T235959.999999", 1, 951868799, 999999000);
	/* Not such a name: none, and the time zeroed. */
	name_time("job", 0, 0, 0);
	name_time("", 0, 0, 0);
	name_time("7.20261123T093904", 0, 0, 0);
	name_time("77.20261123T093904.x", 0, 0, 0);
	name_time("7.20261123X093904.x", 0, 0, 0);
	name_time("7.20261323T093904.x", 0, 0, 0);   /* month 13 */
	/* The same whatever the local time zone. */
	setenv("TZ", "Pacific/Chatham", 1);
	tzset();
	name_time("7.20261123T093904.5.x", 1, 1795426744, 5000);
	unsetenv("TZ");
	tzset();
}

/* --- on disk --- */

static char logged[4096];

/* Sends fd 2 to a temporary file until logged_end() puts it in logged. */
static FILE *log_tmp;
static int log_saved = -1;

static void
logged_begin(void)
{
	log_tmp = tmpfile();
	assert_non_null(log_tmp);
	fflush(stderr);
	log_saved = dup(STDERR_FILENO);
	assert_true(log_saved != -1);
	assert_true(dup2(fileno(log_tmp), STDERR_FILENO) != -1);
}

static const char *
logged_end(void)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(log_saved, STDERR_FILENO) != -1);
	close(log_saved);
	rewind(log_tmp);
	n = fread(logged, 1, sizeof(logged) - 1, log_tmp);
	logged[n] = '\0';
	fclose(log_tmp);
	return logged;
}

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

/* The number of entries of a folder, its dot files included. */
static int
entries(int dirfd)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
	assert_true(fd != -1);
	d = fdopendir(fd);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
make_file(int dirfd, const char *name, const char *text)
{
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void
assert_file(int dirfd, const char *name, const char *text)
{
	char *got = spool_read(dirfd, name, 65536);

	if (got == NULL)
		fail_msg("%s: %s", name, strerror(errno));
	assert_string_equal(got, text);
	free(got);
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
		char *got = spool_read(f->sp.workfd, "big", sizeof(big));
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
	text = spool_read(f->sp.workfd, path, 65536);
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

static void
test_touch(void **state)
{
	struct fx *f = *state;
	struct sdirs sd;
	struct stat st;

	assert_int_equal(spool_stage_open(&f->sp, "s", &sd, 1), 0);
	make_file(sd.fd[DIR_QUEUE], "j", "x");
	assert_int_equal(spool_touch(sd.fd[DIR_QUEUE], "j", 2000000000), 0);
	assert_int_equal(fstatat(sd.fd[DIR_QUEUE], "j", &st, 0), 0);
	assert_int_equal(st.st_mtim.tv_sec, 2000000000);
	assert_int_equal(spool_touch(sd.fd[DIR_QUEUE], "none", 1), -1);
	spool_stage_close(&sd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_name_bad),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_name_length_multibyte),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_name_time),
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
		cmocka_unit_test_setup_teardown(test_touch, setup, teardown),
	};

	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
