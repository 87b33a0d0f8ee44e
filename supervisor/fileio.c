/*
 * fileio.c: plain file I/O relative to folder descriptors, with no
 * knowledge of the spool's layout. Nothing is followed through a link at
 * the last component of a name; a file is replaced whole by a rename,
 * never written in place, so that a reader sees the old one or the new
 * one; a read is bounded and never waits on a FIFO.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoold.h"

/* snprintf that returns buf: a name under a folder, from its parts. */
char *
fileio_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

/* t as UTC in ISO 8601, "2026-11-23T09:39:04Z". */
void
fileio_isotime(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Milliseconds as seconds, the way logs and spoolctl say them: "3.768s". */
const char *
fileio_seconds(char *buf, size_t len, long long ms)
{
	snprintf(buf, len, "%lld.%03llds", ms / 1000, ms % 1000);
	return buf;
}

/*
 * Sets the mtime of name in folder dirfd, never through a link: of a job,
 * the time before which it is not claimed.
 */
int
fileio_touch(int dirfd, const char *name, struct timespec when)
{
	struct timespec ts[2] = {{0, UTIME_OMIT}, when};

	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	return 0;
}

static int
fileio_write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= n;
	}
	return 0;
}

/* Writes all of data to fd and closes it: 0, or -1 with errno set. */
static int
fileio_put(int fd, const char *data, size_t len)
{
	int saved;

	if (fileio_write_all(fd, data, len) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/*
 * Opens name in folder dirfd to be written from its start: a file of
 * this process's user that only this name links to, reused, or else a new
 * one in place of whatever was there (a link, a FIFO, a folder, a file of
 * another user's), which is never followed, opened for long or written
 * through.
 */
static int
fileio_reuse(int dirfd, const char *name)
{
	struct stat sb;
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd != -1) {
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_nlink == 1 && sb.st_uid == geteuid() &&
		    ftruncate(fd, 0) == 0)
			return fd;
		close(fd);
	}
	if ((fd != -1 || errno != ENOENT) && unlinkat(dirfd, name, 0) == -1 &&
	    errno != ENOENT && fileio_rmtree(dirfd, name) == -1)
		return -1;
	return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
}

/*
 * Replaces name in folder dirfd with data by a swap: ".NAME.new" is
 * written beside it, then the two names are exchanged in one rename. The
 * old file becomes the next one's ".new", so a file rewritten often costs
 * no new inode each time (the filesystem's search for free inodes was the
 * largest cost of a run). point is the crash point between the write and
 * the rename, or 0.
 */
int
fileio_swap(int dirfd, const char *name, const char *data, size_t len,
    int point)
{
	char tmp[NAME_MAX + 1];
	int fd;

	fileio_path(tmp, sizeof(tmp), ".%s.new", name);
	if ((fd = fileio_reuse(dirfd, tmp)) == -1)
		return -1;
	if (fileio_put(fd, data, len) == -1)
		return -1;
	if (point != 0)
		CRASHPOINT(point);
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == -1 &&
	    renameat(dirfd, tmp, dirfd, name) == -1)
		return -1;
	return 0;
}

/*
 * Replaces name in folder dirfd with data written under a new name,
 * ".w.PID.N", in folder tmpfd and renamed into place; nothing is left in
 * tmpfd when it fails.
 */
int
fileio_write(int tmpfd, int dirfd, const char *name, const char *data,
    size_t len)
{
	static unsigned long seq;
	static pid_t pid;
	char tmp[64];
	int fd, saved;

	if (pid == 0)
		pid = getpid();
	snprintf(tmp, sizeof(tmp), ".w.%ld.%lu", (long)pid, seq++);
	fd = openat(tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	if (fileio_put(fd, data, len) == -1 ||
	    renameat(tmpfd, tmp, dirfd, name) == -1) {
		saved = errno;
		unlinkat(tmpfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * Up to max bytes read from fd, NUL-terminated, with their number in
 * *lenp unless lenp is NULL; or NULL with errno set when a read fails.
 */
char *
fileio_read_fd(int fd, size_t max, size_t *lenp)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int saved;

	if ((buf = malloc(max + 1)) == NULL)
		fatal("malloc");
	while (len < max && (n = read(fd, buf + len, max - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			free(buf);
			errno = saved;
			return NULL;
		}
		len += n;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/*
 * The whole of a small regular file, NUL-terminated, or NULL: never
 * through a link at its last component, never waiting on a FIFO. With sb,
 * the file's stat.
 */
char *
fileio_read_st(int dirfd, const char *name, size_t max, struct stat *sb)
{
	struct stat st;
	char *buf;
	int fd, saved;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if (sb != NULL)
		*sb = st;
	buf = fileio_read_fd(fd, max, NULL);
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

/* The whole of a small regular file, as fileio_read_st. */
char *
fileio_read(int dirfd, const char *name, size_t max)
{
	return fileio_read_st(dirfd, name, max, NULL);
}

/* The text with a newline added; the old text is freed. */
char *
fileio_line(char *text)
{
	char *line;

	if (asprintf(&line, "%s\n", text) == -1)
		fatal("asprintf");
	free(text);
	return line;
}

/*
 * Calls fn with the name of each entry of a folder whose name starts with
 * a dot (hidden set) or does not, and its type from the directory entry
 * (DT_UNKNOWN when the filesystem does not say), until fn returns -1.
 */
static int
fileio_list(int dirfd, int hidden, int (*fn)(void *, const char *, int),
    void *arg)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if ((de->d_name[0] == '.') != hidden ||
		    strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fn(arg, de->d_name, de->d_type) == -1)
			break;
	}
	closedir(d);
	return 0;
}

/* Lists the entries of a folder but those whose name starts with a dot. */
int
fileio_scan(int dirfd, int (*fn)(void *, const char *, int), void *arg)
{
	return fileio_list(dirfd, 0, fn, arg);
}

/* Lists the entries whose name starts with a dot, but "." and "..". */
int
fileio_scan_hidden(int dirfd, int (*fn)(void *, const char *, int),
    void *arg)
{
	return fileio_list(dirfd, 1, fn, arg);
}

/*
 * Removes name under dirfd and, if it is a folder, all it holds, depth
 * levels deep at most; never following a link.
 */
static int
fileio_rmtree_depth(int at, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if ((errno != EISDIR && errno != EPERM) || depth == 0)
		return -1;
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    fileio_rmtree_depth(dirfd(d), de->d_name, depth - 1) == -1)
			r = -1;
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) == -1)
		r = -1;
	return r;
}

/* Removes name under at and all it holds, as rm -rf would. */
int
fileio_rmtree(int at, const char *name)
{
	return fileio_rmtree_depth(at, name, 64);
}
