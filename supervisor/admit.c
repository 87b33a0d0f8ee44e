/*
 * admit.c: admission by resources. spoold holds a budget of CPUs (by
 * default those it may run on) and of memory (none unless the operator
 * sets one); a stage says what one of its runs uses (cpus, memory). A run
 * starts only when the budget has room for it and, for a stage with a
 * memory need, while the system's MemAvailable is at least that need.
 * What a run took is given back when it ends, whatever the config says
 * by then.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "spoold.h"

/* The CPUs this process may run on (sched_setaffinity, taskset), or 1. */
long
admit_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == -1 ||
	    (n = CPU_COUNT(&set)) < 1)
		return 1;
	return n;
}

/* MemAvailable of /proc/meminfo in bytes, or -1 when it cannot be read. */
long long
admit_memavailable(void)
{
	char line[128];
	long long kb = -1;
	FILE *fp;

	if ((fp = fopen("/proc/meminfo", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb < 0 ? -1 : kb * 1024;
}

/*
 * The size of a budget: cpus (0: admit_cpus) and memory bytes (0: none).
 * What runs have taken stays, for a reload.
 */
void
admit_init(struct budget *b, long cpus, long long memory)
{
	b->cpus = cpus > 0 ? cpus : admit_cpus();
	b->memory = memory;
}

/* The CPUs one run of the stage takes: its cpus, at most the budget. */
long
admit_share(const struct budget *b, const struct stconf *sc)
{
	return sc->cpus < b->cpus ? sc->cpus : b->cpus;
}

/* The runs of the stage the budget lets run at once, at most its slots. */
long
admit_parallel(const struct budget *b, const struct stconf *sc)
{
	long n = b->cpus / admit_share(b, sc);

	return n < sc->slots ? n : sc->slots;
}

/*
 * Whether a run of the stage may start now (ADMIT_YES), avail being
 * MemAvailable (-1: unknown, which holds nothing back), or what it waits
 * for (ADMIT_CPUS, ADMIT_MEMORY), said in why: "waiting for 2 CPUs",
 * "waiting for memory".
 */
int
admit_fits(const struct budget *b, const struct stconf *sc, long long avail,
    char *why, size_t len)
{
	long cpus = admit_share(b, sc);

	if (b->cpus_used + cpus > b->cpus) {
		snprintf(why, len, "waiting for %ld CPU%s", cpus,
		    cpus == 1 ? "" : "s");
		return ADMIT_CPUS;
	}
	if (sc->memory > 0 && ((b->memory > 0 && b->memory_used + sc->memory >
	    b->memory) || (avail >= 0 && avail < sc->memory))) {
		snprintf(why, len, "waiting for memory");
		return ADMIT_MEMORY;
	}
	why[0] = '\0';
	return ADMIT_YES;
}

void
admit_take(struct budget *b, long cpus, long long memory)
{
	b->cpus_used += cpus;
	b->memory_used += memory;
}

void
admit_give(struct budget *b, long cpus, long long memory)
{
	b->cpus_used -= cpus;
	b->memory_used -= memory;
	if (b->cpus_used < 0)
		b->cpus_used = 0;
	if (b->memory_used < 0)
		b->memory_used = 0;
}
