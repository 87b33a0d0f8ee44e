/*
 * runner.c: the table of runners, by name. A stage's runner key names one;
 * nothing else in spoold picks a runner, and nothing outside a runner's own
 * file knows what it does.
 */
#include <stdio.h>
#include <string.h>

#include "spoold.h"
#include "runner.h"

extern const struct runner runner_local, runner_slurm;

static const struct runner *runners[RUNNER_MAX] = {
	&runner_local,
	&runner_slurm,
};

/* The runner named name, or NULL. */
const struct runner *
runner_find(const char *name)
{
	size_t i;

	for (i = 0; i < RUNNER_MAX && runners[i] != NULL; i++)
		if (strcmp(runners[i]->name, name) == 0)
			return runners[i];
	return NULL;
}

/* The runner after rn in the table (the first for NULL), or NULL. */
const struct runner *
runner_next(const struct runner *rn)
{
	size_t i = 0;

	if (rn != NULL)
		while (i < RUNNER_MAX && runners[i] != NULL &&
		    runners[i++] != rn)
			;
	return i < RUNNER_MAX ? runners[i] : NULL;
}

/* Adds a runner to the table: 0, or -1 when it is full or has the name. */
int
runner_add(const struct runner *rn)
{
	size_t i;

	for (i = 0; i < RUNNER_MAX && runners[i] != NULL; i++)
		if (strcmp(runners[i]->name, rn->name) == 0)
			return -1;
	if (i == RUNNER_MAX)
		return -1;
	runners[i] = rn;
	return 0;
}

/*
 * The variables that mark, in a process's environment, the processes a
 * runner stops itself: NULL-terminated.
 */
const char *const *
runner_marks(void)
{
	static const char *marks[RUNNER_MAX + 1];
	size_t i, n = 0;

	for (i = 0; i < RUNNER_MAX && runners[i] != NULL; i++)
		if (runners[i]->mark != NULL)
			marks[n++] = runners[i]->mark;
	marks[n] = NULL;
	return marks;
}

/* The names a runner key may give, in words: "neither "a" nor "b"". */
void
runner_names(char *buf, size_t len)
{
	size_t i, n, used;

	for (n = 0; n < RUNNER_MAX && runners[n] != NULL; n++)
		;
	snprintf(buf, len, n == 2 ? "neither" : "none of");
	for (i = 0; i < n; i++) {
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s \"%s\"", i == 0 ? "" :
		    n == 2 ? " nor" : ",", runners[i]->name);
	}
}

/*
 * The runner that takes over a run a previous spoold left running, by its
 * record, in a stage of runner of_stage; NULL when none does (the run is
 * stopped and its job queued again).
 */
const struct runner *
runner_adopter(const struct status *s, const struct runner *of_stage)
{
	const struct runner *rn = NULL;

	while ((rn = runner_next(rn)) != NULL)
		if (rn->claims != NULL && rn->claims(s))
			return rn;
	return of_stage->survives ? of_stage : NULL;
}
