/*
 * latency: submit-to-exec latency, one job after another on an idle queue.
 * For each of N jobs it takes CLOCK_REALTIME just before the submission,
 * waits (with inotify, no polling) for the line that the job's `stamp`
 * appends to STAMPFILE, takes the difference, then waits until the job has
 * settled (DONEDIR holds it, with -d) and GAP ms more, so that every
 * submission finds the queue idle.
 *
 *   latency -n N -s STAMPFILE [-d DONEDIR] [-g GAP_MS] [-t SECONDS]
 *           [-o OUTFILE] [-P PREPDIR] [-S] MODE ...
 *
 * Modes:
 *   rename SRC DST   create SRC/latNNNNNN (not timed), then rename(2) it to
 *                    DST/latNNNNNN: the time is taken just before rename.
 *   exec ARGV...     fork and execvp ARGV, and wait for it: the time is
 *                    taken just before fork. In ARGV, "%n" is replaced by the
 *                    job's name latNNNNNN and "%p" by PREPDIR/latNNNNNN, an
 *                    empty file made (not timed) before each job with -P.
 *                    Its standard output goes to /dev/null. With -S it is
 *                    started with posix_spawnp(3) instead of fork and exec.
 *
 * Prints "N P50 P90 P99 MIN MAX MEAN" (ms) on standard output, and with -o
 * every latency in ns, one a line.
 */
#define _GNU_SOURCE
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long
ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
nap_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&t, &t) == -1 && errno == EINTR)
		;
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

static int
cmpll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double
pct(const long long *v, size_t n, double p)
{
	size_t r = (size_t)(p * n + 0.999999);

	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1] / 1e6;
}

static char *
subst(const char *arg, const char *name, const char *path)
{
	char *out = malloc(strlen(arg) + strlen(path) * 4 + 64), *o = out;
	const char *p;

	if (out == NULL)
		exit(1);
	for (p = arg; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'n') {
			o = stpcpy(o, name);
			p++;
		} else if (p[0] == '%' && p[1] == 'p') {
			o = stpcpy(o, path);
			p++;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

int
main(int argc, char **argv)
{
	const char *stampfile = NULL, *donedir = NULL, *outfile = NULL;
	const char *prep = NULL, *mode;
	long n = 200, gap = 20, timeout = 30, i, j;
	long long *lat, t0, stamp, sum = 0;
	off_t off = 0;
	char buf[8192], name[64], path[4096];
	int ch, in, sfd, fd, spawn = 0;
	FILE *out = NULL;
	size_t k;

	while ((ch = getopt(argc, argv, "+n:s:d:g:t:o:P:S")) != -1) {
		switch (ch) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 's': stampfile = optarg; break;
		case 'd': donedir = optarg; break;
		case 'g': gap = strtol(optarg, NULL, 10); break;
		case 't': timeout = strtol(optarg, NULL, 10); break;
		case 'o': outfile = optarg; break;
		case 'P': prep = optarg; break;
		case 'S': spawn = 1; break;
		default: goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (stampfile == NULL || argc < 1 || n < 1)
		goto usage;
	mode = argv[0];
	if (strcmp(mode, "rename") == 0 ? argc != 3 :
	    strcmp(mode, "exec") == 0 ? argc < 2 : 1)
		goto usage;
	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		return 1;
	if ((sfd = open(stampfile, O_RDONLY | O_CREAT, 0644)) == -1) {
		perror(stampfile);
		return 1;
	}
	off = lseek(sfd, 0, SEEK_END);
	if ((in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1 ||
	    inotify_add_watch(in, stampfile, IN_MODIFY) == -1) {
		perror("inotify");
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "lat%06ld", i + 1);
		if (strcmp(mode, "rename") == 0) {
			char from[4096], to[4096];
			snprintf(from, sizeof(from), "%s/%s", argv[1], name);
			snprintf(to, sizeof(to), "%s/%s", argv[2], name);
			if ((fd = open(from, O_WRONLY | O_CREAT | O_EXCL,
			    0644)) == -1) {
				perror(from);
				return 1;
			}
			close(fd);
			t0 = ns();
			if (rename(from, to) == -1) {
				perror(to);
				return 1;
			}
		} else {
			char **av = calloc(argc, sizeof(*av));
			pid_t pid;
			int ws;

			snprintf(path, sizeof(path), "%s/%s", prep ? prep : ".",
			    name);
			if (prep != NULL) {
				if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL,
				    0644)) == -1) {
					perror(path);
					return 1;
				}
				close(fd);
			}
			for (j = 1; j < argc; j++)
				av[j - 1] = subst(argv[j], name, path);
			if (spawn) {
				posix_spawn_file_actions_t fa;
				posix_spawn_file_actions_init(&fa);
				posix_spawn_file_actions_addopen(&fa,
				    STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
				t0 = ns();
				if ((errno = posix_spawnp(&pid, av[0], &fa,
				    NULL, av, environ)) != 0) {
					perror(av[0]);
					return 1;
				}
				posix_spawn_file_actions_destroy(&fa);
			} else if ((t0 = ns()), (pid = fork()) == -1) {
				perror("fork");
				return 1;
			}
			if (pid == 0) {
				int null = open("/dev/null", O_WRONLY);
				if (null != -1)
					dup2(null, STDOUT_FILENO);
				execvp(av[0], av);
				perror(av[0]);
				_exit(127);
			}
			while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
				;
			if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
				fprintf(stderr, "latency: %s failed\n", av[0]);
				return 1;
			}
			for (j = 0; av[j] != NULL; j++)
				free(av[j]);
			free(av);
		}
		/* Wait for the stamp line of this job. */
		{
			long long until = ns() + timeout * 1000000000LL;
			struct stat sb;
			ssize_t r;

			for (;;) {
				if (fstat(sfd, &sb) == 0 && sb.st_size > off &&
				    (r = pread(sfd, buf, sizeof(buf) - 1,
				    off)) > 0 && buf[r - 1] == '\n') {
					buf[r] = '\0';
					off += r;
					if (strchr(buf, '\n') != buf + r - 1)
						fprintf(stderr, "latency: more "
						    "than one stamp for %s\n",
						    name);
					stamp = strtoll(buf, NULL, 10);
					break;
				}
				if (ns() > until) {
					fprintf(stderr, "latency: no stamp for "
					    "%s after %lds\n", name, timeout);
					return 1;
				}
				struct pollfd pfd = {in, POLLIN, 0};
				if (poll(&pfd, 1, 100) > 0)
					while (read(in, buf, sizeof(buf)) > 0)
						;
			}
		}
		lat[i] = stamp - t0;
		if (donedir != NULL) {
			long long until = ns() + timeout * 1000000000LL;
			while (count(donedir) < i + 1) {
				if (ns() > until) {
					fprintf(stderr, "latency: %s not in %s "
					    "after %lds\n", name, donedir,
					    timeout);
					return 1;
				}
				nap_ms(1);
			}
		}
		if (gap > 0)
			nap_ms(gap);
	}
	if (outfile != NULL && (out = fopen(outfile, "w")) == NULL) {
		perror(outfile);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (out != NULL)
			fprintf(out, "%lld\n", lat[i]);
		sum += lat[i];
	}
	if (out != NULL)
		fclose(out);
	qsort(lat, n, sizeof(*lat), cmpll);
	k = (size_t)n;
	printf("%ld %.3f %.3f %.3f %.3f %.3f %.3f\n", n, pct(lat, k, 0.50),
	    pct(lat, k, 0.90), pct(lat, k, 0.99), lat[0] / 1e6,
	    lat[n - 1] / 1e6, (double)sum / n / 1e6);
	return 0;
usage:
	fprintf(stderr, "usage: latency -n N -s STAMPFILE [-d DONEDIR] [-g GAP_MS] "
	    "[-t SECONDS] [-o OUTFILE] [-P PREPDIR] [-S] rename SRC DST | exec "
	    "ARGV...\n");
	return 64;
}
