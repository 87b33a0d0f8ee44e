/*
 * spoolctl.c: the operator's command line. It reads and changes the spool
 * directly, through the same spool module as spoold, so every verb but
 * the cancel of a running job works while spoold is stopped. A verb either
 * does all it was asked or, on a bad argument, nothing.
 *
 * This file has the command line parsed (ctl_parse of ctl_verbs.c, which
 * holds the verbs' table), and then answers -V or a request for help,
 * refuses a wrong command line (exit 64, with the usage of the verb or
 * spoolctl's help when it is of the kind that needs it), or has
 * ctl_spool.c load the config or take the spool given with -d, and runs
 * the verb. The verbs
 * live in ctl_submit.c, ctl_list.c, ctl_move.c, ctl_watch.c and
 * ctl_info.c, on the helpers of ctl_spool.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "spoold.h"
#include "spoolctl.h"

/* A wrong command line: why, then the usage when it needs it; exit 64. */
static void __attribute__((noreturn))
refused(struct ctl_args *a)
{
	if (a->why != NULL)
		log_warnx("%s", a->why);
	if (a->usage)
		ctl_help(stderr, a->verb);
	free(a->why);
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	struct ctl_args a;

	log_init(0, "spoolctl");
	if (ctl_parse(argc, argv, &a) == -1)
		refused(&a);
	if (a.version) {
		printf("spoolctl %s\n", SPOOLD_VERSION);
		return EX_OK;
	}
	if (a.help) {
		ctl_help(stdout, a.verb);
		return EX_OK;
	}
	if (ctl_load(&a) == -1)
		return EX_CONFIG;
	return a.verb->fn(&a);
}
