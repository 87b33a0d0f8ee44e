/*
 * test_admit.c: admission by resources. A run fits while the CPU budget has
 * room for its share and, with a memory need, while the memory budget and
 * MemAvailable do; what it says when it does not; what is taken is given
 * back; the CPUs of this process and MemAvailable as the system tells them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#define GIB (1024LL * 1024 * 1024)
#define FITS(sc, avail) admit_fits(&b, (sc), (avail), why, sizeof(why))

static struct stconf *
stage(long cpus, long memory)
{
	static struct stconf sc;

	memset(&sc, 0, sizeof(sc));
	sc.name = "ocr";
	sc.cpus = cpus;
	sc.memory = memory;
	return &sc;
}

static void
test_cpus(void **state)
{
	struct budget b = {0};
	char why[64];

	(void)state;
	admit_init(&b, 2, 0);
	assert_int_equal(b.cpus, 2);
	assert_int_equal(FITS(stage(1, 0), -1), ADMIT_YES);
	assert_string_equal(why, "");
	admit_take(&b, 1, 0);
	assert_int_equal(FITS(stage(1, 0), -1), ADMIT_YES);
	assert_int_equal(FITS(stage(2, 0), -1), ADMIT_CPUS);
	assert_string_equal(why, "waiting for 2 CPUs");
	admit_take(&b, 1, 0);
	assert_int_equal(FITS(stage(1, 0), -1), ADMIT_CPUS);
	assert_string_equal(why, "waiting for 1 CPU");
	admit_give(&b, 2, 0);
	assert_int_equal(b.cpus_used, 0);
	assert_int_equal(FITS(stage(2, 0), -1), ADMIT_YES);
}

/* A stage that asks for more than the budget takes all of it, no more. */
static void
test_share_capped(void **state)
{
	struct budget b = {0};
	char why[64];

	(void)state;
	admit_init(&b, 2, 0);
	assert_int_equal(admit_share(&b, stage(8, 0)), 2);
	assert_int_equal(admit_share(&b, stage(1, 0)), 1);
	assert_int_equal(FITS(stage(8, 0), -1), ADMIT_YES);
	admit_take(&b, admit_share(&b, stage(8, 0)), 0);
	assert_int_equal(FITS(stage(1, 0), -1), ADMIT_CPUS);
	assert_int_equal(FITS(stage(8, 0), -1), ADMIT_CPUS);
	assert_string_equal(why, "waiting for 2 CPUs");
}

static void
test_memory(void **state)
{
	struct budget b = {0};
	char why[64];

	(void)state;
	admit_init(&b, 4, 0);
	/* No need: MemAvailable does not matter. */
	assert_int_equal(FITS(stage(1, 0), 1), ADMIT_YES);
	/* A need: MemAvailable below it holds the run back. */
	assert_int_equal(FITS(stage(1, 2 * GIB), GIB), ADMIT_MEMORY);
	assert_string_equal(why, "waiting for memory");
	assert_int_equal(FITS(stage(1, 2 * GIB), 2 * GIB), ADMIT_YES);
	/* MemAvailable unknown holds nothing back. */
	assert_int_equal(FITS(stage(1, 2 * GIB), -1), ADMIT_YES);
	/* A budget: what runs have taken counts. */
	admit_init(&b, 4, 3 * GIB);
	admit_take(&b, 1, 2 * GIB);
	assert_int_equal(FITS(stage(1, 2 * GIB), 64 * GIB), ADMIT_MEMORY);
	assert_string_equal(why, "waiting for memory");
	assert_int_equal(FITS(stage(1, GIB), 64 * GIB), ADMIT_YES);
	admit_give(&b, 1, 2 * GIB);
	assert_int_equal(FITS(stage(1, 2 * GIB), 64 * GIB), ADMIT_YES);
	/* CPUs are told first. */
	admit_take(&b, 4, 0);
	assert_int_equal(FITS(stage(1, 2 * GIB), 0), ADMIT_CPUS);
	assert_string_equal(why, "waiting for 1 CPU");
}

/* Given back more than was taken (a reload between): never below 0. */
static void
test_give_floor(void **state)
{
	struct budget b = {0};

	(void)state;
	admit_init(&b, 2, GIB);
	admit_take(&b, 1, 100);
	admit_give(&b, 3, 1000);
	assert_int_equal(b.cpus_used, 0);
	assert_int_equal(b.memory_used, 0);
}

static void
test_system(void **state)
{
	cpu_set_t set;
	struct budget b = {0};
	long long avail;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_int_equal(admit_cpus(), CPU_COUNT(&set));
	admit_init(&b, 0, 0);
	assert_int_equal(b.cpus, CPU_COUNT(&set));
	avail = admit_memavailable();
	if (access("/proc/meminfo", R_OK) == 0) {
		assert_true(avail > 0);
		assert_true(avail % 1024 == 0);
	} else
		assert_int_equal(avail, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_share_capped),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_give_floor),
		cmocka_unit_test(test_system),
	};

	return cmocka_run_group_tests_name("admit", tests, NULL, NULL);
}
