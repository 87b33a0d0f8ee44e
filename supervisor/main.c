/*
 * main.c: spoold's options and start-up. It reads the config, takes the
 * spool (one spoold per spool, by its pidfile), and hands over to the loop.
 * It never forks into the background: init systems and terminals alike run
 * it in the foreground.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/libutil.h>
#include <bsd/unistd.h>

#include "spoold.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: spoold [-nVv] [-c config]\n");
	exit(EX_USAGE);
}

static struct pidfh *
main_pidfile(const struct conf *conf)
{
	char path[PATH_MAX];
	struct pidfh *pfh;
	pid_t other = 0;

	spool_path(path, sizeof(path), "%s/index/spoold.pid", conf->spool);
	if ((pfh = pidfile_open(path, 0644, &other)) != NULL)
		return pfh;
	if (errno == EEXIST)
		log_warnx("spool %s is in use by spoold pid %ld", conf->spool,
		    (long)other);
	else
		log_warn("pidfile %s", path);
	exit(errno == EEXIST ? EX_UNAVAILABLE : EX_CANTCREAT);
}

int
main(int argc, char *argv[], char *envp[])
{
	const char *path = SPOOLD_CONF;
	struct pidfh *pfh;
	struct conf *conf;
	struct spool sp;
	int ch, check = 0, verbose = 0, r;

	setproctitle_init(argc, argv, envp);
	log_init(0, "spoold");
	while ((ch = getopt(argc, argv, "c:nVv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
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
			usage();
		}
	}
	if (optind != argc)
		usage();
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
	if (spool_open(&sp, conf->spool, 1, conf->gid) == -1)
		return EX_CANTCREAT;
	sp.swap = 1; /* spoold alone rewrites its records by RENAME_EXCHANGE */
	if (spool_syncer(&sp) == -1)
		log_warn("sync helper; syncing in the loop");
	pfh = main_pidfile(conf);
	if (pidfile_write(pfh) == -1)
		log_warn("pidfile");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl PR_SET_CHILD_SUBREAPER");
	r = loop_run(conf, &sp);
	pidfile_remove(pfh);
	spool_close(&sp);
	notify_close();
	return r == 0 ? EX_OK : EX_OSERR;
}
