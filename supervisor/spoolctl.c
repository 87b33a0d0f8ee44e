/*
 * spoolctl.c: the operator's command line. It reads and changes the spool
 * directly, through the same spool module as spoold, so every verb but
 * the cancel of a running job works while spoold is stopped. A verb either
 * does all it was asked or, on a bad argument, nothing.
 *
 * This file has the command line parsed (ctl_parse of ctl_spool.c), loads
 * the config or takes the spool given with -d, and runs the verb from the
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
	int (*fn)(const struct ctl_args *);
} verbs[] = {
	{"submit", ctl_submit}, {"ls", ctl_ls}, {"show", ctl_show},
	{"log", ctl_log}, {"retry", ctl_retry}, {"cancel", ctl_cancel},
	{"purge", ctl_purge}, {"stats", ctl_stats}, {"watch", ctl_watch},
	{"events", ctl_events}, {"info", ctl_info},
};

int
main(int argc, char *argv[])
{
	struct ctl_args a;
	size_t i;

	log_init(0, "spoolctl");
	if (ctl_parse(argc, argv, &a) == -1) {
		if (a.why != NULL)
			die(EX_USAGE, "%s", a.why);
		usage();
	}
	if (a.version) {
		printf("spoolctl %s\n", SPOOLD_VERSION);
		return EX_OK;
	}
	for (i = 0; strcmp(a.verb, verbs[i].name) != 0; i++)
		;
	C.grace = 5 + 1 + 5;
	if (a.spool != NULL) {
		if ((C.spooldir = realpath(a.spool, NULL)) == NULL)
			die(EX_NOINPUT, "spool %s: %s", a.spool, strerror(errno));
	} else {
		if ((C.conf = conf_load(a.config != NULL ? a.config :
		    SPOOLD_CONF, CONF_ANY_USER)) == NULL)
			return EX_CONFIG;
		C.spooldir = C.conf->spool;
		C.grace = C.conf->kill_grace + C.conf->tick + 5;
	}
	return verbs[i].fn(&a);
}
