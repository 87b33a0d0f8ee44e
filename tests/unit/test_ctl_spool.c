/*
 * test_ctl_spool.c: what every verb of spoolctl stands on (ctl_spool.c),
 * in a new folder of /tmp: the spool and stages of the config, or of the
 * folder given with -d, and how long a cancel may wait; a spool, config
 * or stage that is not there, each refused with its exit status and a
 * message that names it; a job found by its id in any stage and folder,
 * never by a path; a folder this user may not write (77), named.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>

#include <fcntl.h>
#include <grp.h>
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

/* What ctl_load and ctl_stages found, printed. */
static int
where(const struct ctl_args *a)
{
	size_t i;

	(void)a;
	ctl_stages();
	printf("spool %s\ngrace %ld\nstages", C.spooldir, C.grace);
	for (i = 0; i < C.nstages; i++)
		printf(" %s", C.stages[i]);
	printf("\n");
	return EX_OK;
}

/* The config's spool, relative to its folder; its stages, in its order. */
static void
test_load_config(void **state)
{
	struct cfx *f = *state;
	char want[PATH_MAX + 64];

	assert_int_equal(ctl_call(f, where, "ls", (char *)NULL), EX_OK);
	/* kill_grace 2 + tick 1 + 5. */
	str(want, sizeof(want), "spool %s\ngrace 8\nstages prep ocr\n",
	    f->path);
	assert_string_equal(f->out, want);
	assert_string_equal(f->err, "");
}

/* -d: the folder, its real path; stages, its folders with a queue/. */
static void
test_load_dir(void **state)
{
	struct cfx *f = *state;
	char via[PATH_MAX], want[PATH_MAX + 64];

	assert_int_equal(mkdirat(f->sp.dfd, "notastage", 0755), 0);
	assert_int_equal(mkdirat(f->sp.dfd, ".hidden", 0755), 0);
	assert_int_equal(mkdirat(f->sp.dfd, ".hidden/queue", 0755), 0);
	assert_int_equal(symlinkat("data", f->dfd, "link"), 0);
	str(via, sizeof(via), "%s/link/../data", f->dir);
	assert_int_equal(ctl_call(f, where, "-d", via, "ls", (char *)NULL),
	    EX_OK);
	str(want, sizeof(want), "spool %s\ngrace 11\nstages ocr prep\n",
	    f->path);
	assert_string_equal(f->out, want);
}

/* A spool, config or stage that is not there: named. */
static void
test_load_missing(void **state)
{
	struct cfx *f = *state;
	char path[PATH_MAX];

	str(path, sizeof(path), "%s/nope", f->dir);
	assert_int_equal(ctl_run(f, "-d", path, "ls"), EX_NOINPUT);
	assert_err(f, "spoolctl: spool %s: No such file or "
	    "directory\n", path);
	assert_int_equal(ctl_run(f, "-c", path, "ls"), EX_CONFIG);
	assert_err(f, "%s: No such file or directory\n", path);
	assert_string_equal(f->out, "");
	/* A config whose spool is not made yet: only submit makes it. */
	ctl_conf(f, "spool = \"gone\"\nstage prep {\n\tcommand = {\"true\"}"
	    "\n}\n");
	assert_int_equal(ctl_run(f, "ls"), EX_NOINPUT);
	assert_err(f, "spoolctl: spool %s/gone: No such file or "
	    "directory\n", f->dir);
	assert_int_equal(faccessat(f->dfd, "gone", F_OK, 0), -1);
}

/* A config others may write is refused, naming it and its mode. */
static void
test_load_writable(void **state)
{
	struct cfx *f = *state;

	assert_int_equal(chmod(f->conf, 0664), 0);
	assert_int_equal(ctl_run(f, "ls"), EX_CONFIG);
	assert_err(f, "%s: writable by group or others "
	    "(mode 0664)\n", f->conf);
}

/* ctl_find: any stage and folder; never a path, nor a dot-name. */
static void
test_find(void **state)
{
	struct cfx *f = *state;
	char line[256];

	plant(f, OCR, DIR_DONE, DONE, 1, NULL);
	plant(f, PREP, DIR_QUEUE, ".hidden", 1, NULL);
	assert_int_equal(ctl_run(f, "show", DONE), EX_OK);
	assert_string_equal(line_of(f->out, "place:", line, sizeof(line)),
	    "place:     ocr/done");
	assert_int_equal(ctl_run(f, "show", ".hidden"), EX_NOINPUT);
	assert_string_equal(f->err, "spoolctl: unknown job id \".hidden\"\n");
	assert_int_equal(ctl_run(f, "show", "../ocr/done/" DONE), EX_NOINPUT);
	assert_int_equal(ctl_run(f, "show", "/tmp/x"), EX_NOINPUT);
	assert_string_equal(f->err, "spoolctl: unknown job id \"/tmp/x\"\n");
}

/* submit as a user who may read the spool but not write it. */
static int
submit_unprivileged(const struct ctl_args *a)
{
	if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
	    setgid(65534) == -1 || setuid(65534) == -1))
		return 126;
	return ctl_submit(a);
}

/* The spool's folders readable by all, written by their owner only. */
static void
readable_by_all(struct cfx *f)
{
	int fds[] = {f->dfd, f->sp.dfd, f->sp.tmpfd, f->sp.workfd,
	    f->sp.logfd, f->sp.indexfd, f->sp.cancelfd};
	const char *stages[] = {"prep", "ocr"};
	size_t i;
	int d, fd;

	for (i = 0; i < sizeof(fds) / sizeof(*fds); i++)
		assert_int_equal(fchmod(fds[i], 0755), 0);
	for (i = 0; i < NSTAGE; i++) {
		fd = openat(f->sp.dfd, stages[i], O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		assert_true(fd != -1);
		assert_int_equal(fchmod(fd, 0755), 0);
		close(fd);
		for (d = 0; d < NDIRS; d++)
			assert_int_equal(fchmod(f->sd[i].fd[d], 0755), 0);
	}
}

/* A folder this user may not write: 77, naming it; nothing submitted. */
static void
test_not_writable(void **state)
{
	struct cfx *f = *state;
	char a[PATH_MAX];

	make_file(f->dfd, "a.cbz", "comic a");
	str(a, sizeof(a), "%s/a.cbz", f->dir);
	readable_by_all(f);
	if (geteuid() != 0)
		assert_int_equal(fchmod(f->sp.tmpfd, 0555), 0);
	assert_int_equal(ctl_call(f, submit_unprivileged, "submit", a,
	    (char *)NULL), EX_NOPERM);
	assert_err(f, "spoolctl: cannot write %s/tmp: Permission "
	    "denied\n", f->path);
	assert_int_equal(entries(f->sd[PREP].fd[DIR_QUEUE]), 0);
	assert_int_equal(entries(f->sp.tmpfd), 0);
	if (geteuid() != 0)
		assert_int_equal(fchmod(f->sp.tmpfd, 0755), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_load_config),
		CTL_TEST(test_load_dir),
		CTL_TEST(test_load_missing),
		CTL_TEST(test_load_writable),
		CTL_TEST(test_find),
		CTL_TEST(test_not_writable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
