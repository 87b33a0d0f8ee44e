/*
 * stamp: the "first instruction" of a child, for latency measurements.
 *
 *   stamp [FILE]         append "<CLOCK_REALTIME ns> <tag>\n" to FILE (else
 *                        to $STAMP_FILE, else to standard output) with one
 *                        write(2), then exit 0. The tag is $SPOOL_JOB_ID, or
 *                        "-" when it is not set.
 *   stamp -e FILE CMD... write "<ns>\n" to FILE (truncating it), then
 *                        execvp CMD: the time just before the exec of CMD.
 *
 * A job whose id ($SPOOL_JOB_ID) starts with "busy" writes nothing and waits
 * until it is killed: it holds a slot of a stage for the latency-while-busy
 * measurement.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
put(const char *file, int flags, const char *buf, size_t len)
{
	int fd = file != NULL ? open(file, O_WRONLY | O_CREAT | flags, 0644) :
	    STDOUT_FILENO;

	if (fd == -1 || write(fd, buf, len) != (ssize_t)len) {
		perror(file != NULL ? file : "stdout");
		return -1;
	}
	if (file != NULL)
		close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct timespec ts;
	const char *file, *tag;
	char buf[512];
	int len;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (argc >= 2 && strcmp(argv[1], "-e") == 0) {
		if (argc < 4) {
			fprintf(stderr, "usage: stamp -e FILE CMD...\n");
			return 64;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		len = snprintf(buf, sizeof(buf), "%lld\n",
		    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
		if (put(argv[2], O_TRUNC, buf, (size_t)len) == -1)
			return 1;
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		return 127;
	}
	tag = getenv("SPOOL_JOB_ID");
	if (tag != NULL && strncmp(tag, "busy", 4) == 0) {
		for (;;)
			pause();
	}
	file = argc >= 2 ? argv[1] : getenv("STAMP_FILE");
	len = snprintf(buf, sizeof(buf), "%lld %s\n",
	    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec,
	    tag != NULL ? tag : "-");
	if (len < 0 || (size_t)len >= sizeof(buf))
		len = sizeof(buf) - 1;
	return put(file, O_APPEND, buf, (size_t)len) == -1;
}
