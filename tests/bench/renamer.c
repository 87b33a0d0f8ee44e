/*
 * renamer: submits every file of SRC (a spool's tmp/, say) by rename(2)
 * into DST (a stage's queue/), in name order, as fast as it can.
 *
 *   renamer SRC DST
 *
 * The names are read and sorted first; then it prints on standard output
 * "T0 T1 COUNT": CLOCK_REALTIME ns just before the first rename and just
 * after the last one.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long
ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	size_t n = 0, cap = 0, i;
	char **names = NULL;
	struct dirent *de;
	long long t0, t1;
	int sfd, dfd;
	DIR *d;

	if (argc != 3) {
		fprintf(stderr, "usage: renamer SRC DST\n");
		return 64;
	}
	if ((d = opendir(argv[1])) == NULL ||
	    (sfd = open(argv[1], O_RDONLY | O_DIRECTORY)) == -1 ||
	    (dfd = open(argv[2], O_RDONLY | O_DIRECTORY)) == -1) {
		perror("open");
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((names = realloc(names, cap * sizeof(*names))) ==
			    NULL)
				return 1;
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			return 1;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	t0 = ns();
	for (i = 0; i < n; i++)
		if (renameat(sfd, names[i], dfd, names[i]) == -1) {
			perror(names[i]);
			return 1;
		}
	t1 = ns();
	printf("%lld %lld %zu\n", t0, t1, n);
	return 0;
}
