/*
 * main.c: spoold's options and start-up. It reads the config, takes the
 * spool (one spoold per spool, by a lock on the spool's folder), and hands
 * over to the loop.
 * It never forks into the background: init systems and terminals alike run
 * it in the foreground.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/libutil.h>
#include <bsd/unistd.h>

#include "spoold.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: spoold [-hnVv] [-c config]\n"
	    "       spoold -m file command [arg ...]\n"
	    "  -c config      the config (default %s)\n"
	    "  -n             check the config and exit\n"
	    "  -v             also log debug messages\n"
	    "  -m file        run command, its cost written to file\n"
	    "  -h, --help     print this help\n"
	    "  -V, --version  print the version\n", SPOOLD_CONF);
}

/* Descriptors 0, 1 and 2 open, so that no file spoold opens takes them. */
static void
main_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1 && fd <= 2)
		if (fcntl(fd, F_SETFD, 0) == -1)
			break;
	if (fd > 2)
		close(fd);
}

/*
 * Opens the spool and takes it, one spoold per spool: a second one exits
 * 75, naming the first.
 */
static void
main_spool(struct spool *sp, const struct conf *conf)
{
	if (spool_open(sp, conf->spool, SPOOL_CREATE | SPOOL_MODES | SPOOL_LOCK,
	    conf->gid) == 0)
		return;
	if (errno != EWOULDBLOCK)
		exit(EX_CANTCREAT);
	if (sp->holder > 0)
		log_warnx("spool %s is in use by spoold pid %ld", conf->spool,
		    (long)sp->holder);
	else
		log_warnx("spool %s is in use by another spoold", conf->spool);
	exit(EX_TEMPFAIL);
}

int
main(int argc, char *argv[], char *envp[])
{
	static struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *path = SPOOLD_CONF;
	struct conf *conf;
	struct spool sp;
	const char *measure = NULL;
	int ch, check = 0, verbose = 0, r;

	main_stdio();
	setproctitle_init(argc, argv, envp);
	log_init(0, "spoold");
	while ((ch = getopt_long(argc, argv, "+c:hm:nVv", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'm':
			measure = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("spoold %s\n", SPOOLD_VERSION);
			return EX_OK;
		case 'v':
			verbose++;
			break;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (measure != NULL && optind < argc)
		return child_measure(measure, argv + optind);
	if (measure != NULL || optind != argc) {
		if (optind != argc)
			log_warnx("extra argument \"%s\"", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	log_init(verbose, "spoold");
	if ((conf = conf_load(path, geteuid())) == NULL)
		return EX_CONFIG;
	if (check) {
		if (verbose)
			conf_print(stdout, conf);
		fprintf(stderr, "%s: configuration OK\n", path);
		conf_free(conf);
		return EX_OK;
	}
	umask(027);
	notify_init();
	main_spool(&sp, conf);
	sp.swap = 1; /* spoold alone rewrites its records by RENAME_EXCHANGE */
	if (syncer_start(&sp) == -1)
		log_warn("sync helper; syncing in the loop");
	lock_pidfile(&sp);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl PR_SET_CHILD_SUBREAPER");
	cgroup_init(sp.dev, sp.ino);
	r = loop_run(conf, &sp);
	cgroup_close();
	if (sp.pfh != NULL)
		pidfile_remove(sp.pfh);
	sp.pfh = NULL;
	spool_close(&sp);
	notify_close();
	return r == 0 ? EX_OK : r == 1 ? EX_NOINPUT : EX_OSERR;
}
