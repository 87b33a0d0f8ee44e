/*
 * test_ctl_submit.c: spoolctl submit (ctl_submit.c) on a spool in a new
 * folder of /tmp: a file copied into its stage's queue/ under an id as
 * spoolctl(1) names it, mode 0640, with its record; --stage, --priority,
 * --key, --name and --delay as the man page says; standard input; a name
 * refused (64), a file missing (66) or unreadable (74), each with its
 * message, and no job made nor copy left in tmp/ by what failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>

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
#include <sysexits.h>
#include <unistd.h>

#include "unit_ctl.h"

/* A file of the test's folder, to submit: its path in path. */
static char *
source(struct cfx *f, const char *name, const char *text, char *path,
    size_t len)
{
	make_file(f->dfd, name, text);
	return str(path, len, "%s/%s", f->dir, name);
}

/*
 * An id as submit makes it: D.YYYYmmddTHHMMSS.uuuuuu-PID-N.NAME, of
 * priority prio, rank n and name.
 */
static void
assert_id(const char *id, int prio, int n, const char *name)
{
	char tail[NAME_MAX + 1];
	const char *why;
	size_t i;

	assert_int_equal(name_check(id, &why), 0);
	assert_int_equal(id[0], '0' + prio);
	assert_int_equal(id[1], '.');
	for (i = 2; i < 2 + 8; i++)
		assert_true(id[i] >= '0' && id[i] <= '9');
	assert_int_equal(id[10], 'T');
	assert_int_equal(id[17], '.');
	assert_int_equal(id[24], '-');
	str(tail, sizeof(tail), "-%d.%s", n, name);
	assert_true(strlen(id) > strlen(tail));
	assert_string_equal(id + strlen(id) - strlen(tail), tail);
	assert_int_equal(name_priority(id), prio);
}

/* The ids printed, one a line: the n-th in id. */
static void
printed(struct cfx *f, int n, char *id, size_t len)
{
	const char *p = f->out;
	size_t k;

	while (n-- > 0) {
		assert_non_null(p = strchr(p, '\n'));
		p++;
	}
	k = strcspn(p, "\n");
	assert_true(k > 0 && k < len && p[k] == '\n');
	memcpy(id, p, k);
	id[k] = '\0';
}

static void
test_submit_copies(void **state)
{
	struct cfx *f = *state;
	char a[PATH_MAX], b[PATH_MAX], id[NAME_MAX + 1], id2[NAME_MAX + 1];
	struct timespec before = real_now();
	struct status st;
	struct stat sb;

	source(f, "a.cbz", "comic a", a, sizeof(a));
	source(f, "b.cbz", "comic b", b, sizeof(b));
	assert_int_equal(ctl_run(f, "submit", a, b), EX_OK);
	assert_string_equal(f->err, "");
	printed(f, 0, id, sizeof(id));
	printed(f, 1, id2, sizeof(id2));
	assert_id(id, 0, 0, "a.cbz");
	assert_id(id2, 0, 1, "b.cbz");
	/* In the first stage's queue/, a copy, mode 0640; ready now. */
	assert_file(f->sd[PREP].fd[DIR_QUEUE], id, "comic a");
	assert_file(f->sd[PREP].fd[DIR_QUEUE], id2, "comic b");
	assert_int_equal(fstatat(f->sd[PREP].fd[DIR_QUEUE], id, &sb, 0), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_nlink, 1);
	assert_false(ts_after(sb.st_mtim, real_now()));
	assert_false(ts_after(before, sb.st_mtim));
	assert_file(f->dfd, "a.cbz", "comic a");
	assert_int_equal(entries(f->sd[OCR].fd[DIR_QUEUE]), 0);
	assert_int_equal(entries(f->sp.tmpfd), 0);
	/* Its record: queued in prep, of priority 0, when it was. */
	record(f, id, &st);
	assert_string_equal(st.stage, "prep");
	assert_int_equal(st.state, JS_QUEUED);
	assert_int_equal(st.priority, 0);
	assert_int_equal(st.attempt, 0);
	assert_string_equal(st.key, "");
	assert_true(st.submitted >= before.tv_sec &&
	    st.submitted <= sb.st_mtim.tv_sec);
}

/* --stage, --priority, --key, --name and --delay, as spoolctl(1) says. */
static void
test_submit_options(void **state)
{
	struct cfx *f = *state;
	char a[PATH_MAX], id[NAME_MAX + 1];
	struct status st;
	struct stat sb;

	source(f, "a.cbz", "comic a", a, sizeof(a));
	assert_int_equal(ctl_run(f, "submit", "--stage", "ocr", "--priority",
	    "7", "--key", "customer-42", "--name", "order-42.cbz", "--delay",
	    "1h", a), EX_OK);
	printed(f, 0, id, sizeof(id));
	assert_id(id, 7, 0, "order-42.cbz");
	assert_false(is_in(f, PREP, DIR_QUEUE, id));
	assert_file(f->sd[OCR].fd[DIR_QUEUE], id, "comic a");
	record(f, id, &st);
	assert_string_equal(st.stage, "ocr");
	assert_int_equal(st.state, JS_DEFERRED);
	assert_int_equal(st.priority, 7);
	assert_string_equal(st.key, "customer-42");
	/* Not to start before an hour from its submission. */
	assert_int_equal(fstatat(f->sd[OCR].fd[DIR_QUEUE], id, &sb, 0), 0);
	assert_int_equal(sb.st_mtim.tv_sec, st.submitted + 3600);
}

/* "-": the job read from standard input, named stdin. */
static void
test_submit_stdin(void **state)
{
	struct cfx *f = *state;
	char id[NAME_MAX + 1];

	make_file(f->dfd, "in", "from a pipe");
	assert_true((f->in = openat(f->dfd, "in", O_RDONLY | O_CLOEXEC)) != -1);
	assert_int_equal(ctl_run(f, "submit", "-"), EX_OK);
	printed(f, 0, id, sizeof(id));
	assert_id(id, 0, 0, "stdin");
	assert_file(f->sd[PREP].fd[DIR_QUEUE], id, "from a pipe");
}

/* Nothing of the spool changed: no job, no record, no copy. */
static void
assert_untouched(struct cfx *f)
{
	assert_int_equal(entries(f->sd[PREP].fd[DIR_QUEUE]), 0);
	assert_int_equal(entries(f->sd[OCR].fd[DIR_QUEUE]), 0);
	assert_int_equal(entries(f->sp.tmpfd), 0);
	assert_int_equal(entries(f->sp.workfd), 0);
	assert_string_equal(f->out, "");
}

/* A name that cannot be a job's: 64, why, and no file submitted. */
static void
test_submit_bad_name(void **state)
{
	struct cfx *f = *state;
	char a[PATH_MAX], bad[PATH_MAX];
	char longname[ID_MAX + 2];

	source(f, "a.cbz", "comic a", a, sizeof(a));
	assert_int_equal(ctl_run(f, "submit", "--name", "x/y.cbz", a),
	    EX_USAGE);
	assert_err(f, "spoolctl: %s: cannot be a job name: "
	    "it has a '/'\n", a);
	assert_untouched(f);
	/* A file of a bad name after a good one: neither is submitted. */
	source(f, "tab\tname.cbz", "comic b", bad, sizeof(bad));
	assert_int_equal(ctl_run(f, "submit", a, bad), EX_USAGE);
	assert_err(f, "spoolctl: %s: cannot be a job name: "
	    "control character in name\n", bad);
	assert_untouched(f);
	/* A name that leaves the id longer than ID_MAX. */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ctl_run(f, "submit", "--name", longname, a),
	    EX_USAGE);
	assert_non_null(strstr(f->err, "name longer than 251 bytes"));
	assert_untouched(f);
}

/* A file missing or not a regular file: 66, naming it; none submitted. */
static void
test_submit_missing(void **state)
{
	struct cfx *f = *state;
	char a[PATH_MAX], gone[PATH_MAX];

	source(f, "a.cbz", "comic a", a, sizeof(a));
	str(gone, sizeof(gone), "%s/gone.cbz", f->dir);
	assert_int_equal(ctl_run(f, "submit", a, gone), EX_NOINPUT);
	assert_err(f, "spoolctl: %s: No such file or directory\n",
	    gone);
	assert_untouched(f);
	assert_int_equal(ctl_run(f, "submit", a, f->path), EX_NOINPUT);
	assert_err(f, "spoolctl: %s: not a regular file\n",
	    f->path);
	assert_untouched(f);
}

/*
 * A source that cannot be read (standard input open for writing only):
 * 74 naming it; the job before it, whose id was printed, submitted; no
 * copy of it left in tmp/, no record.
 */
static void
test_submit_unreadable(void **state)
{
	struct cfx *f = *state;
	char a[PATH_MAX], id[NAME_MAX + 1];

	source(f, "a.cbz", "comic a", a, sizeof(a));
	make_file(f->dfd, "in", "comic b");
	assert_true((f->in = openat(f->dfd, "in", O_WRONLY | O_CLOEXEC)) !=
	    -1);
	assert_int_equal(ctl_run(f, "submit", a, "-"), EX_IOERR);
	assert_string_equal(f->err, "spoolctl: -: Bad file descriptor\n");
	printed(f, 0, id, sizeof(id));
	assert_int_equal(strlen(f->out), strlen(id) + 1);
	assert_int_equal(entries(f->sd[PREP].fd[DIR_QUEUE]), 1);
	assert_file(f->sd[PREP].fd[DIR_QUEUE], id, "comic a");
	assert_int_equal(entries(f->sp.tmpfd), 0);
	assert_int_equal(entries(f->sp.workfd), 1);
	assert_int_equal(faccessat(f->sp.workfd, id, F_OK, 0), 0);
}

/* A stage the config does not have: 64, naming it and the spool. */
static void
test_submit_unknown_stage(void **state)
{
	struct cfx *f = *state;
	char a[PATH_MAX];

	source(f, "a.cbz", "comic a", a, sizeof(a));
	assert_int_equal(ctl_run(f, "submit", "--stage", "nope", a), EX_USAGE);
	assert_err(f, "spoolctl: no stage named \"nope\" in %s\n",
	    f->path);
	assert_untouched(f);
}

/* A spool that is not there yet is made, as spoold would make it. */
static void
test_submit_makes_spool(void **state)
{
	struct cfx *f = *state;
	char a[PATH_MAX], id[NAME_MAX + 1], queue[PATH_MAX];
	int fd;

	ctl_conf(f, "spool = \"fresh\"\nstage prep {\n\tcommand = {\"true\"}"
	    "\n}\n");
	source(f, "a.cbz", "comic a", a, sizeof(a));
	assert_int_equal(ctl_run(f, "submit", a), EX_OK);
	printed(f, 0, id, sizeof(id));
	fd = open(str(queue, sizeof(queue), "%s/fresh/prep/queue", f->dir),
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_file(fd, id, "comic a");
	close(fd);
	assert_int_equal(entries(f->sd[PREP].fd[DIR_QUEUE]), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_submit_copies),
		CTL_TEST(test_submit_options),
		CTL_TEST(test_submit_stdin),
		CTL_TEST(test_submit_bad_name),
		CTL_TEST(test_submit_missing),
		CTL_TEST(test_submit_unreadable),
		CTL_TEST(test_submit_unknown_stage),
		CTL_TEST(test_submit_makes_spool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
