/*
 * mkjobs: creates N empty job files DIR/PREFIX0000001 ... in name order
 * (so also in mtime order), as fast as a program can.
 *
 *   mkjobs DIR N [PREFIX]
 *
 * Prints "mkjobs: N files in S s" on standard error.
 */
#define _XOPEN_SOURCE 700
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec a, b;
	const char *prefix;
	char name[256];
	long i, n;
	int dfd, fd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: mkjobs DIR N [PREFIX]\n");
		return 64;
	}
	n = strtol(argv[2], NULL, 10);
	prefix = argc == 4 ? argv[3] : "j";
	if ((dfd = open(argv[1], O_RDONLY | O_DIRECTORY)) == -1) {
		perror(argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "%s%07ld", prefix, i);
		/* mknod(2) of a regular file: no descriptor to open and close. */
		if (mknodat(dfd, name, S_IFREG | 0644, 0) == 0)
			continue;
		if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644)) ==
		    -1) {
			perror(name);
			return 1;
		}
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "mkjobs: %ld files in %.3f s\n", n,
	    (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
