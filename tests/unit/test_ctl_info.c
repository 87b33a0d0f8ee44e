/*
 * test_ctl_info.c: spoolctl info (ctl_info.c) on a config and spool in a
 * new folder of /tmp: the config and spool read, whether a spoold holds
 * the spool and its pid, each stage's command and the lines of its
 * version_command, or that it has none; one that fails said, with 69;
 * the same as JSON; with -d, no config and no stage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <fcntl.h>
#include <jansson.h>
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
#include "unit_json.h"

static void
test_info(void **state)
{
	struct cfx *f = *state;
	char want[2 * PATH_MAX + 256];

	assert_int_equal(ctl_run(f, "info"), EX_OK);
	str(want, sizeof(want), "spoolctl %s\nconfig:  %s\nspool:   %s\n"
	    "spoold:  not running\nstage prep: true\n  prep 1.2\n"
	    "stage ocr: true %%f\n  (no version_command)\n", SPOOLD_VERSION,
	    f->conf, f->path);
	assert_string_equal(f->out, want);
	assert_string_equal(f->err, "");
}

/* A spoold holds the spool: its pid, from index/spoold.pid. */
static void
test_info_running(void **state)
{
	struct cfx *f = *state;
	char pid[32], line[64];
	int lock;

	lock = hold_spool(f);
	index_file(f, "spoold.pid", str(pid, sizeof(pid), "%ld\n",
	    (long)getpid()));
	assert_int_equal(ctl_run(f, "info"), EX_OK);
	str(pid, sizeof(pid), "spoold:  running, pid %ld", (long)getpid());
	assert_string_equal(line_of(f->out, "spoold:", line, sizeof(line)),
	    pid);
	close(lock);
}

/* A version_command that fails: what it said, why, and 69. */
static void
test_info_failed(void **state)
{
	struct cfx *f = *state;

	ctl_conf(f, "spool = \"data\"\nstage prep {\n\tcommand = {\"true\"}\n"
	    "\tversion_command = {\"sh\", \"-c\", \"echo half; exit 3\"}\n}\n"
	    "stage ocr {\n\tcommand = {\"true\"}\n"
	    "\tversion_command = {\"" "/nonexistent/tool" "\"}\n}\n");
	assert_int_equal(ctl_run(f, "info"), EX_UNAVAILABLE);
	assert_non_null(strstr(f->out, "stage prep: true\n  half\n"
	    "  (version_command failed: exit 3)\n"));
	assert_non_null(strstr(f->out, "stage ocr: true\n  /nonexistent/tool: "
	    "No such file or directory\n  (version_command failed: exit "
	    "127)\n"));
}

static void
test_info_json(void **state)
{
	struct cfx *f = *state;
	json_t *o, *st;

	assert_int_equal(ctl_run(f, "info", "--json"), EX_OK);
	assert_non_null(o = json_loads(f->out, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(o, "version")),
	    SPOOLD_VERSION);
	assert_string_equal(json_string_value(json_object_get(o, "config")),
	    f->conf);
	assert_string_equal(json_string_value(json_object_get(o, "spool")),
	    f->path);
	assert_int_equal(num(o, "pid"), 0);
	st = json_object_get(json_object_get(o, "stages"), "prep");
	assert_int_equal(json_array_size(json_object_get(st, "command")), 1);
	assert_int_equal(json_array_size(json_object_get(st, "versions")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(st,
	    "versions"), 0)), "prep 1.2");
	assert_null(json_object_get(st, "failed"));
	st = json_object_get(json_object_get(o, "stages"), "ocr");
	assert_true(json_is_null(json_object_get(st, "versions")));
	assert_int_equal(json_object_size(json_object_get(o, "stages")), 2);
	json_decref(o);
}

/* -d: no config, so no stage to ask. */
static void
test_info_dir(void **state)
{
	struct cfx *f = *state;
	char want[2 * PATH_MAX + 256];
	json_t *o;

	assert_int_equal(ctl_run(f, "-d", f->path, "info"), EX_OK);
	str(want, sizeof(want), "spoolctl %s\nconfig:  (none: -d)\n"
	    "spool:   %s\nspoold:  not running\n", SPOOLD_VERSION, f->path);
	assert_string_equal(f->out, want);
	assert_int_equal(ctl_run(f, "-d", f->path, "info", "--json"), EX_OK);
	assert_non_null(o = json_loads(f->out, 0, NULL));
	assert_true(json_is_null(json_object_get(o, "config")));
	assert_int_equal(json_object_size(json_object_get(o, "stages")), 0);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_info),
		CTL_TEST(test_info_running),
		CTL_TEST(test_info_failed),
		CTL_TEST(test_info_json),
		CTL_TEST(test_info_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
