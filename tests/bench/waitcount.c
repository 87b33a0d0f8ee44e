/*
 * waitcount: waits until DIR holds at least N entries (names starting with
 * '.' not counted), counting it every INTERVAL ms (default 20), and prints
 * the CLOCK_REALTIME ns at which it saw the count reach N.
 *
 *   waitcount [-i MS] [-t SECONDS] [-p PID] DIR N
 *
 * -t gives up after that long (default 600) and -p as soon as PID is gone;
 * either way it prints "waitcount: DIR: COUNT of N" on standard error and
 * exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long
ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether pid is gone or a zombie (its parent has not reaped it yet). */
static int
gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 0;
	return p[2] == 'Z' || p[2] == 'X';
}

static long
count(const char *dir)
{
	struct dirent *de;
	long n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	long interval = 20, timeout = 600, n, c = 0;
	long long until;
	pid_t pid = 0;
	struct timespec nap;
	int ch;

	while ((ch = getopt(argc, argv, "i:t:p:")) != -1) {
		switch (ch) {
		case 'i': interval = strtol(optarg, NULL, 10); break;
		case 't': timeout = strtol(optarg, NULL, 10); break;
		case 'p': pid = (pid_t)strtol(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	n = strtol(argv[optind + 1], NULL, 10);
	nap.tv_sec = interval / 1000;
	nap.tv_nsec = (interval % 1000) * 1000000L;
	until = ns(CLOCK_MONOTONIC) + timeout * 1000000000LL;
	for (;;) {
		if ((c = count(argv[optind])) >= n) {
			printf("%lld\n", ns(CLOCK_REALTIME));
			return 0;
		}
		if (ns(CLOCK_MONOTONIC) > until ||
		    (pid > 0 && gone(pid)))
			break;
		nanosleep(&nap, NULL);
	}
	fprintf(stderr, "waitcount: %s: %ld of %ld%s\n", argv[optind], c, n,
	    pid > 0 && gone(pid) ? " (its daemon is gone)" :
	    " (timed out)");
	return 1;
usage:
	fprintf(stderr, "usage: waitcount [-i MS] [-t SECONDS] [-p PID] DIR N\n");
	return 64;
}
