/*
 * ctl_verbs.c: spoolctl's verbs and its command line. The table below
 * holds each verb's function, the options and operands it takes, what it
 * does in one line and its usage. ctl_parse reads the whole command line
 * against it into a struct ctl_args before anything is read or changed:
 * the options before the verb, the requests for help, the verb, its
 * options and its operands (tests/fuzz/fuzz_ctl.c fuzzes it). ctl_help
 * prints the help of spoolctl or the usage of a verb.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"
#include "spoolctl.h"

#define DURATION_MAX 315360000L /* ten years */

/*
 * The verbs: name, function (none for help), the letters of the long
 * options below it takes (NULL: none, every word is an operand), its short
 * options, how many operands (-1: any), what it does in one line, and its
 * usage: the words after CTL_USAGE, then what it does and its options.
 */
#define AGAIN "       spoolctl [-c config | -d spool] "
#define MORE "                "
static const struct ctl_verb verbs[] = {
	{"submit", ctl_submit, "spkDnl", "", 1, -1,
	    "submit files as new jobs",
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
	{"ls", ctl_ls, "stj", "", 0, 0,
	    "list the jobs",
	    "ls [--stage S] [--state STATE] [--json]\n"
	    "List the jobs, in the order spoold takes them.\n"
	    "  --stage S          of stage S only\n"
	    "  --state STATE      queued, deferred, running, done or error "
	    "only\n"
	    "  --json             as a JSON array\n"},
	{"show", ctl_show, "j", "", 1, 1,
	    "show a job's place, status record and log's end",
	    "show [--json] ID\n"
	    "Show job ID: its place, its status record and the last lines "
	    "of its log.\n"
	    "  --json             as a JSON object\n"},
	{"log", ctl_log, "", "f", 1, 1,
	    "print a job's log",
	    "log [-f] ID\n"
	    "Print the log of job ID.\n"
	    "  -f                 follow it while the job is running\n"},
	{"retry", ctl_retry, "saF", "", 0, -1,
	    "move failed jobs back to their queue",
	    "retry [--force] ID...\n"
	    AGAIN "retry [--force] --stage S --all\n"
	    "Move each job ID, or every job of stage S, from error/ back to "
	    "its queue.\n"
	    "  --force            run it even as a duplicate of another "
	    "job\n"},
	{"cancel", ctl_cancel, NULL, NULL, 1, -1,
	    "cancel queued, deferred or running jobs",
	    "cancel ID...\n"
	    "Cancel each job ID, queued, deferred or running: it goes to "
	    "error/.\n"},
	{"purge", ctl_purge, "sto", "", 0, 0,
	    "remove finished jobs older than a duration",
	    "purge [--stage S] [--state done|error]\n"
	    MORE "--older-than DURATION\n"
	    "Remove the jobs in done/ and error/ for at least DURATION (90, "
	    "90s, 15m,\n"
	    "2h or 7d; 0 for all), with their work folders and logs, and print "
	    "how\n"
	    "many were removed.\n"
	    "  --stage S          of stage S only\n"
	    "  --state STATE      done or error only\n"},
	{"stats", ctl_stats, "j", "", 0, 0,
	    "print the metrics and the forecast",
	    "stats [--json]\n"
	    "Print the metrics spoold writes every tick, a line per stage, "
	    "and the\n"
	    "forecast.\n"
	    "  --json             the metrics as JSON\n"},
	{"watch", ctl_watch, "", "", 0, 0,
	    "show the spool live on the terminal",
	    "watch\n"
	    "Show the stages and the running jobs, redrawn every second; q "
	    "quits.\n"},
	{"events", ctl_events, "", "f", 0, 1,
	    "print the events of the spool",
	    "events [-f] [ID]\n"
	    "Print the events of the spool, or of job ID, a JSON object a "
	    "line.\n"
	    "  -f                 follow them as they are written\n"},
	{"info", ctl_info, "j", "", 0, 0,
	    "print the version, the spool and the stages' tools",
	    "info [--json]\n"
	    "Print the version, the config, the spool, spoold's pid and, for "
	    "each\n"
	    "stage, its command and the versions of its tools.\n"
	    "  --json             as a JSON object\n"},
	{"help", NULL, NULL, NULL, 0, 1,
	    "print this help, or the usage of a verb",
	    "help [VERB]\n"
	    "Print the verbs, or the usage of VERB.\n"},
};
#define NVERBS (sizeof(verbs) / sizeof(*verbs))

static const struct option longopts[] = {
	{"stage", required_argument, NULL, 's'},
	{"priority", required_argument, NULL, 'p'},
	{"key", required_argument, NULL, 'k'},
	{"delay", required_argument, NULL, 'D'},
	{"name", required_argument, NULL, 'n'},
	{"link", no_argument, NULL, 'l'},
	{"state", required_argument, NULL, 't'},
	{"json", no_argument, NULL, 'j'},
	{"all", no_argument, NULL, 'a'},
	{"force", no_argument, NULL, 'F'},
	{"older-than", required_argument, NULL, 'o'},
};

/* The options before the verb. */
static const struct option globalopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0}
};

/* The help of spoolctl with verb NULL, else the usage of verb. */
void
ctl_help(FILE *fp, const struct ctl_verb *verb)
{
	size_t i;

	if (verb != NULL) {
		fprintf(fp, CTL_USAGE "%s", verb->usage);
		return;
	}
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

static const struct ctl_verb *
verb_find(const char *name)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

/* DURATION: 90, 90s, 15m, 2h or 7d, in seconds; -1 when malformed. */
static long
ctl_duration(const char *s)
{
	char *end;
	long v, unit = 1;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0')
			return -1;
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -1;
		}
	}
	if (v > DURATION_MAX / unit)
		return -1;
	return v * unit;
}

/*
 * Says why the command line is refused, in a->why, and whether the usage
 * follows (usage: an unknown verb or option, a missing or extra
 * argument); -1.
 */
static int __attribute__((format(printf, 3, 4)))
ctl_refuse(struct ctl_args *a, int usage, const char *fmt, ...)
{
	va_list ap;

	a->usage = usage;
	va_start(ap, fmt);
	if (vasprintf(&a->why, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	return -1;
}

/* A refusal that getopt has said, or the usage alone says; -1. */
static int
ctl_misused(struct ctl_args *a)
{
	a->usage = 1;
	return -1;
}

/* The value of one option of a verb, into a; 0 or -1. */
static int
ctl_option(struct ctl_args *a, const struct ctl_verb *v, int ch,
    const char *arg)
{
	switch (ch) {
	case 's': a->stage = arg; break;
	case 'p':
		if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '9')
			return ctl_refuse(a, 0, "--priority: \"%s\" is not a "
			    "digit from 0 to 9", arg);
		a->priority = arg[0] - '0';
		break;
	case 'k': a->key = arg; break;
	case 'D':
		if ((a->delay = ctl_duration(arg)) < 0)
			return ctl_refuse(a, 0, "--delay: bad duration \"%s\" "
			    "(use 90, 90s, 15m, 2h or 7d, up to ten years)", arg);
		break;
	case 'o':
		if ((a->older = ctl_duration(arg)) < 0)
			return ctl_refuse(a, 0, "--older-than: bad duration \"%s\" "
			    "(use 90, 90s, 15m, 2h or 7d, up to ten years)", arg);
		break;
	case 'n': a->name = arg; break;
	case 'l': a->link = 1; break;
	case 't':
		a->state = status_state_parse(arg);
		if (strcmp(v->name, "purge") == 0 && a->state != JS_DONE &&
		    a->state != JS_ERROR)
			return ctl_refuse(a, 0, "--state: \"%s\" is not done or "
			    "error", arg);
		if (a->state == -1)
			return ctl_refuse(a, 0, "--state: \"%s\" is not one of "
			    "queued, deferred, running, done, error", arg);
		break;
	case 'j': a->json = 1; break;
	case 'a': a->all = 1; break;
	case 'F': a->force = 1; break;
	case 'f': a->follow = 1; break;
	default: return ctl_misused(a);
	}
	return 0;
}

/* The options and operands of a verb, argv[0], as v takes them. */
static int
ctl_verb_args(struct ctl_args *a, const struct ctl_verb *v, int argc,
    char **argv)
{
	struct option opts[sizeof(longopts) / sizeof(*longopts) + 1];
	const char *why;
	size_t i, n = 0;
	int ch;

	for (i = 0; v->longs != NULL && i < sizeof(longopts) /
	    sizeof(*longopts); i++)
		if (strchr(v->longs, longopts[i].val) != NULL)
			opts[n++] = longopts[i];
	memset(&opts[n], 0, sizeof(opts[n]));
	optind = 0; /* a new scan, without the "+" of spoolctl's own */
	if (v->longs == NULL)
		optind = 1; /* cancel: every word is an id */
	else
		while ((ch = getopt_long(argc, argv, v->shorts, opts, NULL)) !=
		    -1)
			if (ctl_option(a, v, ch, optarg) == -1)
				return -1;
	a->argc = argc - optind;
	a->argv = argv + optind;
	if (a->argc < v->min || (v->max >= 0 && a->argc > v->max))
		return ctl_misused(a);
	if (strcmp(v->name, "retry") == 0 && (a->all != (a->stage != NULL) ||
	    (a->all && a->argc > 0) || (!a->all && a->argc == 0)))
		return ctl_misused(a);
	if (strcmp(v->name, "purge") == 0 && a->older < 0)
		return ctl_misused(a);
	if (strlen(a->key) >= sizeof(((struct status *)0)->key) ||
	    name_check(a->key, &why) == -1)
		return ctl_refuse(a, 0, "--key: at most %zu bytes of UTF-8, with no "
		    "control or bidirectional character",
		    sizeof(((struct status *)0)->key) - 1);
	return 0;
}

/* Whether the words of a verb ask for its usage: -h or --help before --. */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

/* help [VERB]: the help of spoolctl, or the usage of VERB. */
static int
ctl_help_args(struct ctl_args *a, int argc, char **argv)
{
	const struct ctl_verb *v = NULL;

	if (argc > 2)
		return ctl_refuse(a, 1, "help: extra argument \"%s\"", argv[2]);
	if (argc == 2 && strcmp(argv[1], "-h") != 0 &&
	    strcmp(argv[1], "--help") != 0 && (v = verb_find(argv[1])) == NULL)
		return ctl_refuse(a, 1, "unknown verb \"%s\"", argv[1]);
	a->help = 1;
	a->verb = v;
	return 0;
}

/*
 * Parses spoolctl's command line into a, acting on nothing: 0, or -1 with
 * why it is refused in a->why (NULL when getopt said it, or the usage
 * does), to be freed, and in a->usage whether the usage follows: that of
 * a->verb, or spoolctl's help when it is NULL. Taken, it is -V (version),
 * a request for help (help, with a->verb NULL for spoolctl's), or a verb
 * with its options and operands.
 */
int
ctl_parse(int argc, char **argv, struct ctl_args *a)
{
	const struct ctl_verb *v;
	int ch;

	memset(a, 0, sizeof(*a));
	a->state = -1;
	a->older = -1;
	a->key = "";
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+c:d:hV", globalopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c': a->config = optarg; break;
		case 'd': a->spool = optarg; break;
		case 'h': a->help = 1; return 0;
		case 'V': a->version = 1; return 0;
		default: return ctl_misused(a);
		}
	}
	argc -= optind;
	argv += optind;
	if (a->config != NULL && a->spool != NULL)
		return ctl_refuse(a, 1, "-c and -d exclude each other");
	if (argc == 0)
		return ctl_refuse(a, 1, "no verb");
	if ((v = verb_find(argv[0])) == NULL)
		return ctl_refuse(a, 1, "unknown verb \"%s\"", argv[0]);
	if (v->fn == NULL)
		return ctl_help_args(a, argc, argv);
	a->verb = v;
	if (wants_help(argc, argv)) {
		a->help = 1;
		return 0;
	}
	return ctl_verb_args(a, v, argc, argv);
}
