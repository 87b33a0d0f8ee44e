/*
 * spoolctl.c: the operator's command line. It reads and changes the spool
 * directly, through the same spool module as spoold, so every verb but
 * the cancel of a running job works while spoold is stopped. A verb either
 * does all it was asked or, on a bad argument, nothing.
 *
 * This file reads the options that come before the verb, loads the
 * config or takes the spool given with -d, and runs the verb from the
 * table below. The verbs live in ctl_submit.c, ctl_list.c, ctl_move.c,
 * ctl_watch.c and ctl_info.c, on the helpers of ctl_spool.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "spoold.h"
#include "spoolctl.h"

static const struct verb {
	const char *name;
	int (*fn)(int, char **);
} verbs[] = {
	{"submit", ctl_submit}, {"ls", ctl_ls}, {"show", ctl_show},
	{"log", ctl_log}, {"retry", ctl_retry}, {"cancel", ctl_cancel},
	{"purge", ctl_purge}, {"stats", ctl_stats}, {"watch", ctl_watch},
	{"events", ctl_events}, {"info", ctl_info},
};

int
main(int argc, char *argv[])
{
	const char *config = NULL, *spool = NULL;
	size_t i;
	int ch;

	log_init(0, "spoolctl");
	while ((ch = getopt(argc, argv, "+c:d:hV")) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'd': spool = optarg; break;
		case 'V':
			printf("spoolctl %s\n", SPOOLD_VERSION);
			return EX_OK;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (config != NULL && spool != NULL))
		usage();
	for (i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
		if (strcmp(argv[0], verbs[i].name) == 0)
			break;
	if (i == sizeof(verbs) / sizeof(*verbs))
		die(EX_USAGE, "unknown verb \"%s\"", argv[0]);
	C.grace = 5 + 1 + 5;
	if (spool != NULL) {
		if ((C.spooldir = realpath(spool, NULL)) == NULL)
			die(EX_NOINPUT, "spool %s: %s", spool, strerror(errno));
	} else {
		if ((C.conf = conf_load(config != NULL ? config : SPOOLD_CONF,
		    CONF_ANY_USER)) == NULL)
			return EX_CONFIG;
		C.spooldir = C.conf->spool;
		C.grace = C.conf->kill_grace + C.conf->tick + 5;
	}
	optind = 0; /* a new scan, without the "+" of the one above */
	return verbs[i].fn(argc, argv);
}
