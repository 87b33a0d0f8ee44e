/*
 * test_pids.c: the table of the processes spoold reaps: each pid told to
 * its owner once, with its status, then forgotten; a pid of no owner is
 * none of spoold's; the kinds counted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

static int told, told_ws;
static void *told_arg;

static void
reaped(void *arg, int ws)
{
	told++;
	told_ws = ws;
	told_arg = arg;
}

static void
test_reaped_once(void **state)
{
	int x;

	(void)state;
	told = 0;
	pids_add(1234, PID_RUN, reaped, &x);
	assert_int_equal(pids_kind(1234), PID_RUN);
	assert_int_equal(pids_reaped(1234, W_EXITCODE(3, 0)), PID_RUN);
	assert_int_equal(told, 1);
	assert_int_equal(WEXITSTATUS(told_ws), 3);
	assert_ptr_equal(told_arg, &x);
	assert_int_equal(pids_kind(1234), -1);
	assert_int_equal(pids_reaped(1234, 0), -1);
	assert_int_equal(told, 1);
}

static void
test_orphan(void **state)
{
	(void)state;
	assert_int_equal(pids_kind(777), -1);
	assert_int_equal(pids_reaped(777, 0), -1);
}

/* Pids in one bucket each keep their owner; a deleted one is not told. */
static void
test_same_bucket(void **state)
{
	(void)state;
	told = 0;
	pids_add(5, PID_HOOK, reaped, NULL);
	pids_add(5 + 256, PID_HELPER, reaped, NULL);
	pids_add(5 + 512, PID_SYNC, NULL, NULL);
	assert_int_equal(pids_count(PID_HOOK), 1);
	assert_int_equal(pids_count(PID_HELPER), 1);
	pids_del(5 + 256);
	assert_int_equal(pids_kind(5 + 256), -1);
	assert_int_equal(pids_reaped(5 + 512, 0), PID_SYNC);
	assert_int_equal(told, 0);
	assert_int_equal(pids_reaped(5, 0), PID_HOOK);
	assert_int_equal(told, 1);
	assert_int_equal(pids_count(PID_HOOK), 0);
	pids_del(99); /* not there: nothing */
}

/* A pid added again takes its new owner. */
static void
test_readd(void **state)
{
	int a, b;

	(void)state;
	pids_add(42, PID_RUN, reaped, &a);
	pids_add(42, PID_HOOK, reaped, &b);
	assert_int_equal(pids_count(PID_RUN), 0);
	assert_int_equal(pids_reaped(42, 0), PID_HOOK);
	assert_ptr_equal(told_arg, &b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reaped_once),
		cmocka_unit_test(test_orphan),
		cmocka_unit_test(test_same_bucket),
		cmocka_unit_test(test_readd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
