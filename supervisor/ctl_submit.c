/*
 * ctl_submit.c: spoolctl submit. Each file (or stdin) is copied, holes
 * kept, or with --link hard-linked, to a dot-name in the spool's tmp/,
 * synced, and only then put in its stage's queue/ with its status, under
 * an id that orders it by priority and time. All names are checked before
 * the first job is made; a copy that fails leaves nothing behind.
 */
#include <sys/param.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"
#include "spoolctl.h"

static unsigned submit_seq;

/* The id of a new job: priority, time, a unique part, then the name. */
static void
submit_id(char *id, size_t len, int prio, const char *name)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(id, len, "%d.%s.%06ld-%ld-%u.%s", prio, stamp,
	    ts.tv_nsec / 1000, (long)getpid(), submit_seq++, name);
}

static int
copy_all(int from, int to)
{
	char buf[65536];
	ssize_t n, w, off;

	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		for (off = 0; off < n; off += w)
			if ((w = write(to, buf + off, n - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				return -1;
			}
	}
	return 0;
}

/* Copies bytes [off, end) of a regular file, at the same offsets. */
static int
copy_range(int from, int to, off_t off, off_t end)
{
	char buf[65536];
	off_t in = off, out = off;
	ssize_t n;

	while (in < end) {
		n = copy_file_range(from, &in, to, &out, end - in, 0);
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EXDEV && errno != EINVAL &&
		    errno != ENOSYS && errno != EOPNOTSUPP))
			return -1;
		/* A filesystem that cannot: by hand. */
		n = pread(from, buf, MIN((off_t)sizeof(buf), end - in), in);
		if (n <= 0 || pwrite(to, buf, n, out) != n)
			return -1;
		in += n;
		out += n;
	}
	return 0;
}

/*
 * Copies from to to. A regular file's holes stay holes: only its data is
 * copied, so a sparse file takes no more room in the spool than it did.
 */
static int
copy_fd(int from, int to)
{
	struct stat sb;
	off_t data, hole = 0;

	if (fstat(from, &sb) == -1 || !S_ISREG(sb.st_mode))
		return copy_all(from, to);
	while ((data = lseek(from, hole, SEEK_DATA)) != -1)
		if ((hole = lseek(from, data, SEEK_HOLE)) == -1 ||
		    copy_range(from, to, data, hole) == -1)
			return -1;
	if (errno != ENXIO) /* ENXIO: no data past hole */
		return copy_all(from, to);
	return ftruncate(to, sb.st_size);
}

/* Puts the content of file (or stdin for "-") at tmp/<tmp>. */
static int
submit_content(const char *file, const char *tmp, int link)
{
	int in, out, r;

	if (link && strcmp(file, "-") != 0 &&
	    linkat(AT_FDCWD, file, C.sp.tmpfd, tmp, 0) == 0)
		return 0;
	in = strcmp(file, "-") == 0 ? STDIN_FILENO :
	    open(file, O_RDONLY | O_CLOEXEC);
	if (in == -1)
		return -1;
	out = openat(C.sp.tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640);
	if (out == -1) {
		if (in != STDIN_FILENO)
			close(in);
		return -1;
	}
	r = copy_fd(in, out);
	if (r == 0 && fsync(out) == -1)
		r = -1;
	if (close(out) == -1)
		r = -1;
	if (in != STDIN_FILENO)
		close(in);
	if (r == -1)
		unlinkat(C.sp.tmpfd, tmp, 0);
	return r;
}

int
ctl_submit(const struct ctl_args *a)
{
	static char (*ids)[NAME_MAX + 1]; /* static: reachable on exit */
	int argc = a->argc;
	char **argv = a->argv;
	const char *why;
	char *id, tmp[NAME_MAX + 2], *base;
	struct status st;
	struct stat sb;
	size_t s = 0;
	int i;
	struct timespec now, when;

	ctl_stages();
	if (C.nstages == 0)
		die(EX_USAGE, "%s has no stage", C.spooldir);
	if (a->stage != NULL)
		s = stage_arg(a->stage);
	if ((ids = calloc(argc, sizeof(*ids))) == NULL)
		fatal("calloc");
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") != 0 && stat(argv[i], &sb) == -1)
			die(EX_NOINPUT, "%s: %s", argv[i], strerror(errno));
		if (strcmp(argv[i], "-") != 0 && !S_ISREG(sb.st_mode))
			die(EX_NOINPUT, "%s: not a regular file", argv[i]);
		base = strrchr(argv[i], '/');
		submit_id(ids[i], sizeof(ids[i]), a->priority, a->name != NULL ?
		    a->name : strcmp(argv[i], "-") == 0 ? "stdin" : base != NULL ?
		    base + 1 : argv[i]);
		if (name_check(ids[i], &why) == -1 ||
		    strchr(ids[i], '/') != NULL)
			die(EX_USAGE, "%s: cannot be a job name: %s", argv[i],
			    strchr(ids[i], '/') != NULL ? "it has a '/'" : why);
	}
	ctl_open(1);
	ctl_writable(s, DIR_QUEUE);
	for (i = 0; i < argc; i++) {
		id = ids[i];
		snprintf(tmp, sizeof(tmp), ".%s", id);
		if (submit_content(argv[i], tmp, a->link) == -1)
			die(errno == EACCES ? EX_NOPERM : EX_IOERR, "%s: %s",
			    argv[i], strerror(errno));
		/* Its time, to the nanosecond: never a moment early. */
		clock_gettime(CLOCK_REALTIME, &now);
		when = now;
		when.tv_sec += a->delay;
		status_init(&st, C.stages[s]);
		st.state = a->delay > 0 ? JS_DEFERRED : JS_QUEUED;
		st.submitted = st.updated = now.tv_sec;
		st.priority = a->priority;
		strlcpy(st.key, a->key, sizeof(st.key));
		if (spool_submit(&C.sp, C.sd[s].fd[DIR_QUEUE], tmp, id, &st,
		    when) == -1) {
			int saved = errno;
			unlinkat(C.sp.tmpfd, tmp, 0);
			die(saved == EACCES ? EX_NOPERM : EX_IOERR, "submit %s: "
			    "%s", argv[i], strerror(saved));
		}
		printf("%s\n", id);
	}
	free(ids);
	return EX_OK;
}
