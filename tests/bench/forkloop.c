/*
 * forkloop: the limit of a fork-and-exec supervisor. Runs CMD N times,
 * at most K at once, with fork(2) and execvp(3), or with posix_spawnp(3)
 * when -s is given, and waitpid(2), and nothing
 * else: no files, no logs, no state.
 *
 *   forkloop [-s] [-k K] [-n N] CMD [ARG...]
 *
 * Prints "forkloop: N runs, K slots, S s, R runs/s, F failed" on standard
 * error; exits 1 when a run failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <spawn.h>
#include <string.h>

extern char **environ;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long k = 2, n = 1000, started = 0, ended = 0, running = 0, failed = 0;
	double t0, t;
	pid_t pid;
	int ch, ws, spawn = 0;

	while ((ch = getopt(argc, argv, "+k:n:s")) != -1) {
		switch (ch) {
		case 's': spawn = 1; break;
		case 'k': k = strtol(optarg, NULL, 10); break;
		case 'n': n = strtol(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	argv += optind;
	if (argv[0] == NULL || k < 1 || n < 0)
		goto usage;
	t0 = now();
	while (ended < n) {
		while (running < k && started < n) {
			if (spawn) {
				if ((ch = posix_spawnp(&pid, argv[0], NULL, NULL,
				    argv, environ)) != 0) {
					fprintf(stderr, "posix_spawnp %s: %s\n",
					    argv[0], strerror(ch));
					return 1;
				}
			} else if ((pid = fork()) == -1) {
				perror("fork");
				if (running == 0)
					return 1;
				break;
			} else if (pid == 0) {
				execvp(argv[0], argv);
				_exit(127);
			}
			started++;
			running++;
		}
		if ((pid = waitpid(-1, &ws, 0)) == -1) {
			perror("waitpid");
			return 1;
		}
		running--;
		ended++;
		if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
			failed++;
	}
	t = now() - t0;
	fprintf(stderr, "%s: %ld runs, %ld slots, %.3f s, %.1f runs/s, "
	    "%ld failed\n", spawn ? "spawnloop" : "forkloop", n, k, t,
	    t > 0 ? n / t : 0.0, failed);
	return failed != 0;
usage:
	fprintf(stderr, "usage: forkloop [-s] [-k K] [-n N] CMD [ARG...]\n");
	return 64;
}
