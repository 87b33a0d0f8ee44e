/*
 * test_output.c: a run's output on its way to its log: without log_max the
 * child has the log itself; with it, spoold copies the pipe up to log_max,
 * says where it cut, and drains the rest so that the child never blocks;
 * a file of output (a Slurm run's) is appended the same way; the lines
 * spoold writes around a run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/mman.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

/* A log already holding text, as a job's log holds the lines before. */
static int
log_with(const char *text)
{
	int fd = memfd_create("log", MFD_CLOEXEC);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

/* The whole log, NUL-terminated, in buf. */
static const char *
log_text(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void
test_no_max_gives_the_log(void **state)
{
	struct output o;
	int logfd = log_with(""), wfd = -1;

	(void)state;
	assert_int_equal(output_open(&o, logfd, 0, &wfd), 0);
	assert_int_equal(wfd, logfd);
	assert_int_equal(o.fd, -1);
	output_close(&o); /* nothing to close */
	close(logfd);
}

static void
test_pipe_copied_under_max(void **state)
{
	struct output o;
	char buf[256];
	int logfd = log_with("=== start\n"), wfd;

	(void)state;
	assert_int_equal(output_open(&o, logfd, 100, &wfd), 0);
	assert_true(wfd != logfd && o.fd != -1);
	assert_int_equal(o.size, 10);
	assert_int_equal(write(wfd, "hello\n", 6), 6);
	assert_int_equal(output_read(&o, 4), 1); /* open, now empty */
	assert_string_equal(log_text(logfd, buf, sizeof(buf)),
	    "=== start\nhello\n");
	assert_int_equal(write(wfd, "bye\n", 4), 4);
	close(wfd);
	output_close(&o);
	assert_int_equal(o.fd, -1);
	assert_false(o.cut);
	assert_string_equal(log_text(logfd, buf, sizeof(buf)),
	    "=== start\nhello\nbye\n");
	close(logfd);
}

static void
test_cut_at_max_and_drained(void **state)
{
	static const char said[] = "\nspoold: log_max (16 bytes) reached; "
	    "the rest of this run's output is dropped\n";
	char buf[512], want[512], big[100000];
	struct output o;
	int logfd = log_with("0123456789"), wfd;

	(void)state;
	assert_int_equal(output_open(&o, logfd, 16, &wfd), 0);
	assert_int_equal(write(wfd, "abcdefghij", 10), 10);
	assert_int_equal(output_read(&o, 1), 1);
	assert_true(o.cut);
	snprintf(want, sizeof(want), "0123456789abcdef%s", said);
	assert_string_equal(log_text(logfd, buf, sizeof(buf)), want);
	/* More than a pipe holds: read and dropped, the log unchanged. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(write(wfd, big, 60000), 60000);
	assert_int_equal(output_read(&o, 1), 1);
	assert_int_equal(write(wfd, big, 60000), 60000);
	close(wfd);
	assert_int_equal(output_read(&o, 8), 0); /* its end */
	output_close(&o);
	assert_string_equal(log_text(logfd, buf, sizeof(buf)), want);
	close(logfd);
}

static void
test_file_appended(void **state)
{
	char buf[512];
	int logfd = log_with("=== a\n"), fd = log_with("out of the node\n");

	(void)state;
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	output_file(fd, logfd, 0);
	assert_string_equal(log_text(logfd, buf, sizeof(buf)),
	    "=== a\nout of the node\n");
	/* Under a max the log already nearly reaches: cut, and said. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	output_file(fd, logfd, 30);
	log_text(logfd, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "=== a\nout of the node\nout of t\n"
	    "spoold: log_max (30 bytes) reached", 64), 0);
	close(fd);
	close(logfd);
}

/* The date of a line, "2026-12-03T14:00:00Z", replaced by "T". */
static void
undated(char *line)
{
	char *t = strstr(line, "spoold: ");

	assert_non_null(t);
	t += 8;
	assert_int_equal(strlen(t) > 20 && t[4] == '-' && t[19] == 'Z', 1);
	memmove(t + 1, t + 20, strlen(t + 20) + 1);
	t[0] = 'T';
}

static void
test_header_footer(void **state)
{
	struct usage u = {.wall_ms = 3768, .user_ms = 2004, .sys_ms = 12,
	    .maxrss_kb = 8544, .known = 1};
	char buf[512];
	int fd = log_with("");

	(void)state;
	assert_int_equal(output_header(fd, "ocr", "attempt 2", 0), 0);
	output_footer(fd, "ocr", "attempt 2", "exit 0", 3768, &u);
	output_footer(fd, "ocr", "hook on_done", "exit 1", 5, NULL);
	log_text(fd, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "=== spoold: 1970-01-01T00:00:00Z stage "
	    "ocr attempt 2 started\n", 55), 0);
	undated(strchr(buf, '\n') + 1);
	undated(strchr(strchr(buf, '\n') + 1, '\n') + 1);
	assert_string_equal(strchr(buf, '\n') + 1,
	    "=== spoold: T stage ocr attempt 2 exit 0 after 3.768s "
	    "(user 2.004s, sys 0.012s, maxrss 8544 KiB)\n"
	    "=== spoold: T stage ocr hook on_done exit 1 after 0.005s\n");
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_max_gives_the_log),
		cmocka_unit_test(test_pipe_copied_under_max),
		cmocka_unit_test(test_cut_at_max_and_drained),
		cmocka_unit_test(test_file_appended),
		cmocka_unit_test(test_header_footer),
	};

	log_init(0, "test_output");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
