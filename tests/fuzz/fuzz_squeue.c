/*
 * fuzz_squeue.c: libFuzzer target for squeue's answer as the Slurm runner
 * reads it (slurm.c): lines "job|state|reason|name", kept by slurm_answer
 * as a table that slurm_state looks jobs up in. The program aborts unless,
 * for each line whose job is a positive number and that has its three
 * '|', slurm_state finds a job of that number, and a job of that name,
 * with a state and a reason; and a job number no line gives is not found.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"
#include "slurm.h"
#include "fuzz.h"

/* The job of a line of the input, or 0; its name at *name. */
static long long
line_job(char *line, const char **name)
{
	char *state, *why, *end;
	long long job;

	if ((state = strchr(line, '|')) == NULL ||
	    (why = strchr(state + 1, '|')) == NULL ||
	    (*name = strchr(why + 1, '|')) == NULL)
		return 0;
	(*name)++;
	*state = '\0';
	job = strtoll(line, &end, 10);
	return *end == '\0' && job > 0 ? job : 0;
}

static void
check_found(long long want, const char *name)
{
	const char *state, *why = NULL;
	long long job = want;

	if ((state = slurm_state(&job, "", &why)) == NULL || why == NULL)
		fuzz_bad("fuzz_squeue: job %lld listed, not found", want);
	job = 0;
	if ((state = slurm_state(&job, name, &why)) == NULL || why == NULL ||
	    job <= 0)
		fuzz_bad("fuzz_squeue: a job named \"%s\" listed, not found",
		    name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), *copy, *p, *line;
	const char *name, *why;
	long long job, none = LLONG_MAX;

	copy = fuzz_str(data, size);
	slurm_answer(text);
	for (p = copy; (line = strsep(&p, "\n")) != NULL;)
		if ((job = line_job(line, &name)) > 0) {
			check_found(job, name);
			if (job == none)
				none = 0;
		}
	if (none == LLONG_MAX && slurm_state(&none, "", &why) != NULL)
		fuzz_bad("fuzz_squeue: job %lld found, never listed", none);
	free(copy);
	return 0;
}
