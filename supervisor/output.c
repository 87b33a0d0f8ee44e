/*
 * output.c: a run's output on its way to the job's log. With no log_max
 * the child writes to its log itself; with one, through a pipe that spoold
 * copies to the log up to log_max bytes, then marks the cut and drops the
 * rest, still reading so that the child never blocks on a full pipe.
 * And the log itself: opened to append, the lines spoold writes around
 * each run.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spoold.h"

/* Opens the output of a run: *wfd is what its stdout and stderr are to be. */
int
output_open(struct output *o, int logfd, long max, int *wfd)
{
	struct stat sb;
	int p[2];

	o->fd = -1;
	o->logfd = logfd;
	o->max = max;
	o->cut = 0;
	*wfd = logfd;
	if (max == 0)
		return 0;
	if (fstat(logfd, &sb) == -1 || pipe2(p, O_CLOEXEC) == -1) {
		log_warn("log pipe");
		return -1;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		log_warn("log pipe");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	o->size = sb.st_size;
	o->fd = p[0];
	*wfd = p[1];
	return 0;
}

static void
output_write(struct output *o, const char *buf, size_t n)
{
	ssize_t w;

	if (o->cut)
		return;
	if (o->max > 0 && o->size + (long long)n > o->max) {
		n = o->size < o->max ? (size_t)(o->max - o->size) : 0;
		o->cut = 1;
	}
	while (n > 0) {
		if ((w = write(o->logfd, buf, n)) == -1) {
			if (errno == EINTR)
				continue;
			return; /* a full disk: the lines are lost, not the job */
		}
		buf += w;
		n -= w;
		o->size += w;
	}
	if (o->cut)
		dprintf(o->logfd, "\nspoold: log_max (%ld bytes) reached; the rest "
		    "of this run's output is dropped\n", o->max);
}

/*
 * Copies at most chunks pipefuls from the child's pipe to its log: 1 while
 * the pipe is open, 0 at its end, when it is empty and chunks is not 0.
 */
int
output_read(struct output *o, int chunks)
{
	char buf[65536];
	ssize_t n;

	while (chunks-- > 0) {
		if ((n = read(o->fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : 0;
		}
		if (n == 0)
			return 0;
		output_write(o, buf, n);
	}
	return 1;
}

/*
 * Appends the file open at fd to logfd as a run's output, up to max bytes
 * of log (0: all of it), as the pipe of a run under log_max would.
 */
void
output_file(int fd, int logfd, long max)
{
	struct output o = {.fd = -1, .logfd = logfd, .max = max};
	char buf[65536];
	struct stat sb;
	ssize_t n;

	if (fstat(logfd, &sb) == 0)
		o.size = sb.st_size;
	while ((n = read(fd, buf, sizeof(buf))) != 0 && !o.cut) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		output_write(&o, buf, n);
	}
}

/* Copies what is left in the pipe, and closes it. */
void
output_close(struct output *o)
{
	if (o->fd == -1)
		return;
	output_read(o, 16);
	close(o->fd);
	o->fd = -1;
}

/* The job's log, open to append: a run's output and spoold's lines. */
int
output_log_open(struct spool *sp, const char *id)
{
	char name[NAME_MAX + 1];
	int fd;

	fileio_path(name, sizeof(name), "%s.log", id);
	fd = openat(sp->logfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (fd == -1)
		log_warn("open log/%s", name);
	return fd;
}

/* The line before a run's output: run is "attempt N" or "hook on_done". */
int
output_header(int fd, const char *stage, const char *run, time_t t)
{
	char when[32];

	fileio_isotime(when, sizeof(when), t);
	if (dprintf(fd, "=== spoold: %s stage %s %s started\n", when, stage,
	    run) < 0) {
		log_warn("write a job's log");
		return -1;
	}
	return 0;
}

void
output_footer(int fd, const char *stage, const char *run,
    const char *what, long long ms, const struct usage *u)
{
	char when[32], took[32], use[128], cost[132] = "";

	fileio_isotime(when, sizeof(when), time(NULL));
	if (u != NULL && u->known) {	/* a run's, not a hook's */
		status_usage_text(use, sizeof(use), u);
		snprintf(cost, sizeof(cost), " (%s)", use);
	}
	dprintf(fd, "=== spoold: %s stage %s %s %s after %s%s\n", when, stage,
	    run, what, fileio_seconds(took, sizeof(took), ms), cost);
}
