/*
 * test_log.c: the lines of log.c on stderr: the program's name, then the
 * message, then for log_warn and fatal the errno text, errno kept; debug
 * lines only when verbose; one line even when the message is too long;
 * fatal and fatalx exit 70 (EX_SOFTWARE) after their line; crash points
 * do nothing in a build without SPOOLD_CRASHPOINTS.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "unit_log.h"

/* Defined only by a build with SPOOLD_CRASHPOINTS. */
extern void crash_point(int) __attribute__((weak));

/*
 * Runs fn in a child whose stderr is caught: its wait status, its lines
 * in logged.
 */
static int
in_child(void (*fn)(void))
{
	pid_t pid;
	int ws;

	logged_begin();
	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	logged_end();
	return ws;
}

static void
test_levels(void **state)
{
	(void)state;
	log_init(0, "tname");
	logged_begin();
	log_debug("debug %d", 1);
	log_info("info %d", 2);
	assert_string_equal(logged_end(), "tname: info 2\n");
	log_init(1, "other");
	logged_begin();
	log_debug("debug %d", 3);
	log_info("info %s", "x");
	assert_string_equal(logged_end(), "other: debug 3\nother: info x\n");
}

/* log_warn adds the errno text and leaves errno as it was. */
static void
test_warn(void **state)
{
	(void)state;
	log_init(0, "tname");
	logged_begin();
	errno = ENOENT;
	log_warn("open %s", "a/b");
	assert_int_equal(errno, ENOENT);
	errno = EACCES;
	log_warnx("plain %s", "line");
	assert_string_equal(logged_end(), "tname: open a/b: No such file or "
	    "directory\ntname: plain line\n");
}

/* errno is kept even when the line cannot be written. */
static void
test_warn_errno(void **state)
{
	int fd, e;

	(void)state;
	fflush(stderr);
	fd = dup(STDERR_FILENO);
	assert_true(fd != -1);
	close(STDERR_FILENO);
	errno = ENOENT;
	log_warn("open %s", "a/b");
	e = errno;
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	close(fd);
	clearerr(stderr);
	assert_int_equal(e, ENOENT);
}

/* A message too long for a line is cut, and still ends its line. */
static void
test_long(void **state)
{
	char big[3000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_init(0, "t");
	logged_begin();
	log_warnx("%s", big);
	log_warnx("next");
	logged_end();
	assert_int_equal(strncmp(logged, "t: aaa", 6), 0);
	assert_int_equal(strcspn(logged, "\n"), strlen("t: ") + 2047);
	assert_string_equal(logged + strlen("t: ") + 2047, "\nt: next\n");
}

static void
call_fatal(void)
{
	log_init(0, "tname");
	errno = EACCES;
	fatal("cannot %s", "go on");
}

static void
call_fatalx(void)
{
	log_init(0, "tname");
	errno = EACCES;
	fatalx("impossible state %d", 7);
}

/* fn's child exits 70 after the one line given. */
static void
assert_fatal(void (*fn)(void), const char *line)
{
	int ws;

	ws = in_child(fn);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), EX_SOFTWARE);
	assert_string_equal(logged, line);
}

static void
test_fatal(void **state)
{
	(void)state;
	assert_fatal(call_fatal, "tname: cannot go on: Permission denied\n");
}

static void
test_fatalx(void **state)
{
	(void)state;
	assert_fatal(call_fatalx, "tname: impossible state 7\n");
}

static void
pass_crash_points(void)
{
	if (setenv("SPOOLD_CRASH", "1", 1) == -1)
		_exit(2);
	CRASHPOINT(CP_CLAIM);
	if (setenv("SPOOLD_CRASH", "3:1", 1) == -1)
		_exit(2);
	CRASHPOINT(CP_FINISH);
}

/* Without SPOOLD_CRASHPOINTS, SPOOLD_CRASH has no point to abort at. */
static void
test_no_crash_points(void **state)
{
	int ws;

	(void)state;
	assert_null(crash_point);
	ws = in_child(pass_crash_points);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	assert_string_equal(logged, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_warn),
		cmocka_unit_test(test_warn_errno),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_fatal),
		cmocka_unit_test(test_fatalx),
		cmocka_unit_test(test_no_crash_points),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
