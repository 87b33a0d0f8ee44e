/*
 * replay.c: runs a fuzz target on the files named, as libFuzzer does with
 * files for arguments, but built with cc, ASan and UBSan and no libFuzzer:
 * how make fuzz-replay (part of make check-all) runs the seeds and the
 * inputs faults were found with, where clang may be missing. Each file is
 * read into a buffer of its exact size, so that a read past its end is
 * caught. Exits 0 when the target returned for each; a fault aborts.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

/* The content of path in a buffer of its size; NULL when it is unreadable. */
static uint8_t *
replay_read(const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		perror(path);
		return NULL;
	}
	if ((buf = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1)) == NULL) {
		perror("malloc");
		exit(1);
	}
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*len = got;
	return buf;
}

int
main(int argc, char **argv)
{
	uint8_t *buf;
	size_t len;
	int i;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if ((buf = replay_read(argv[i], &len)) == NULL)
			return 1;
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
	}
	return 0;
}
