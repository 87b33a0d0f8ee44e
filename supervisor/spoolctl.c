/*
 * spoolctl.c: the operator's command line. It reads and changes the spool
 * directly, through the same spool module as spoold, so every verb but
 * the cancel of a running job works while spoold is stopped. A verb either
 * does all it was asked or, on a bad argument, nothing.
 *
 * This file reads the options that come before the verb, answers -h,
 * -V and help (the table below holds each verb's usage), loads the
 * config or takes the spool given with -d, and runs the verb from the
 * table. The verbs live in ctl_submit.c, ctl_list.c, ctl_move.c,
 * ctl_watch.c and ctl_info.c, on the helpers of ctl_spool.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "spoold.h"
#include "spoolctl.h"

/*
 * The verbs: name, function, what it does in one line, and its usage:
 * the words after CTL_USAGE, then what it does and its options. usage()
 * of ctl_spool.c prints the usage of the verb running.
 */
#define AGAIN "       spoolctl [-c config | -d spool] "
#define MORE "                "
static const struct verb {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
	const char *usage;
} verbs[] = {
	{"submit", ctl_submit, "submit files as new jobs",
	    "submit [--stage S] [--priority 0-9]\n"
	    MORE "[--key K] [--delay DURATION] [--name NAME] [--link] "
	    "FILE... | -\n"
	    "Submit each FILE (- reads standard input) as a new job and print "
	    "its id.\n"
	    "  --stage S          to the queue of stage S, not the first "
	    "stage's\n"
	    "  --priority 0-9     higher first within a stage (default 0)\n"
	    "  --key K            jobs with the same key never run at once\n"
	    "  --delay DURATION   start no sooner than DURATION from now\n"
	    "  --name NAME        name the jobs NAME, not after their file\n"
	    "  --link             hard-link each file instead of copying it\n"
	    "DURATION is 90, 90s, 15m, 2h or 7d.\n"},
	{"ls", ctl_ls, "list the jobs",
	    "ls [--stage S] [--state STATE] [--json]\n"
	    "List the jobs, in the order spoold takes them.\n"
	    "  --stage S          of stage S only\n"
	    "  --state STATE      queued, deferred, running, done or error "
	    "only\n"
	    "  --json             as a JSON array\n"},
	{"show", ctl_show, "show a job's place, status record and log's end",
	    "show [--json] ID\n"
	    "Show job ID: its place, its status record and the last lines "
	    "of its log.\n"
	    "  --json             as a JSON object\n"},
	{"log", ctl_log, "print a job's log",
	    "log [-f] ID\n"
	    "Print the log of job ID.\n"
	    "  -f                 follow it while the job is running\n"},
	{"retry", ctl_retry, "move failed jobs back to their queue",
	    "retry [--force] ID...\n"
	    AGAIN "retry [--force] --stage S --all\n"
	    "Move each job ID, or every job of stage S, from error/ back to "
	    "its queue.\n"
	    "  --force            run it even as a duplicate of another "
	    "job\n"},
	{"cancel", ctl_cancel, "cancel queued, deferred or running jobs",
	    "cancel ID...\n"
	    "Cancel each job ID, queued, deferred or running: it goes to "
	    "error/.\n"},
	{"purge", ctl_purge, "remove finished jobs older than a duration",
	    "purge [--stage S] [--state done|error]\n"
	    MORE "--older-than DURATION\n"
	    "Remove the jobs in done/ and error/ for at least DURATION (90, "
	    "90s, 15m,\n"
	    "2h or 7d; 0 for all), with their work folders and logs, and print "
	    "how\n"
	    "many were removed.\n"
	    "  --stage S          of stage S only\n"
	    "  --state STATE      done or error only\n"},
	{"stats", ctl_stats, "print the metrics and the forecast",
	    "stats [--json]\n"
	    "Print the metrics spoold writes every tick, a line per stage, "
	    "and the\n"
	    "forecast.\n"
	    "  --json             the metrics as JSON\n"},
	{"watch", ctl_watch, "show the spool live on the terminal",
	    "watch\n"
	    "Show the stages and the running jobs, redrawn every second; q "
	    "quits.\n"},
	{"events", ctl_events, "print the events of the spool",
	    "events [-f] [ID]\n"
	    "Print the events of the spool, or of job ID, a JSON object a "
	    "line.\n"
	    "  -f                 follow them as they are written\n"},
	{"info", ctl_info, "print the version, the spool and the stages' tools",
	    "info [--json]\n"
	    "Print the version, the config, the spool, spoold's pid and, for "
	    "each\n"
	    "stage, its command and the versions of its tools.\n"
	    "  --json             as a JSON object\n"},
	{"help", NULL, "print this help, or the usage of a verb",
	    "help [VERB]\n"
	    "Print the verbs, or the usage of VERB.\n"},
};
#define NVERBS (sizeof(verbs) / sizeof(*verbs))

static void
help(FILE *fp)
{
	size_t i;

	fprintf(fp, CTL_USAGE "VERB [ARG...]\n"
	    "       spoolctl -h | --help | -V | --version\n"
	    "  -c config          the config (default %s)\n"
	    "  -d spool           the spool folder, without a config\n"
	    "  -h, --help         print this help\n"
	    "  -V, --version      print the version\n"
	    "Verbs:\n", SPOOLD_CONF);
	for (i = 0; i < NVERBS; i++)
		fprintf(fp, "  %-8s %s\n", verbs[i].name, verbs[i].what);
	fprintf(fp, "\"spoolctl help VERB\" or \"spoolctl VERB --help\" "
	    "prints the usage of VERB.\n");
}

/* A wrong verb, option or argument, said by log_warnx: then the usage. */
static void __attribute__((noreturn))
usage_exit(void)
{
	help(stderr);
	exit(EX_USAGE);
}

static const struct verb *
verb_find(const char *name)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	log_warnx("unknown verb \"%s\"", name);
	usage_exit();
}

/* Whether the arguments of a verb ask for its help: -h or --help before --. */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

/* help [VERB]: the verbs, or the usage of one, on stdout. */
static int
verb_help(int argc, char **argv)
{
	if (argc > 2) {
		log_warnx("help: extra argument \"%s\"", argv[2]);
		usage_exit();
	}
	if (argc == 1 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)
		help(stdout);
	else
		printf(CTL_USAGE "%s", verb_find(argv[1])->usage);
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	static struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *config = NULL, *spool = NULL;
	const struct verb *v;
	int ch;

	log_init(0, "spoolctl");
	while ((ch = getopt_long(argc, argv, "+c:d:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'd': spool = optarg; break;
		case 'h':
			help(stdout);
			return EX_OK;
		case 'V':
			printf("spoolctl %s\n", SPOOLD_VERSION);
			return EX_OK;
		default:
			usage_exit();
		}
	}
	argc -= optind;
	argv += optind;
	if (config != NULL && spool != NULL) {
		log_warnx("-c and -d exclude each other");
		usage_exit();
	}
	if (argc == 0) {
		log_warnx("no verb");
		usage_exit();
	}
	v = verb_find(argv[0]);
	if (v->fn == NULL)
		return verb_help(argc, argv);
	if (wants_help(argc, argv)) {
		printf(CTL_USAGE "%s", v->usage);
		return EX_OK;
	}
	C.usage = v->usage;
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
	return v->fn(argc, argv);
}
