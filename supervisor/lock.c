/*
 * lock.c: which spoold holds the spool. Two locks, each a descriptor held
 * until exit that nothing in the spool can remove: an exclusive flock(2)
 * on the spool's folder, and an abstract socket named for its path. Who
 * holds them is read from /proc; index/spoold.pid says it too, for
 * information only, and is made again when it is removed.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sha2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/libutil.h>

#include "spoold.h"

/*
 * The pid of the process holding an exclusive flock(2) on the folder open
 * at dfd, from /proc/locks; 0 when none does.
 */
pid_t
lock_holder(int dfd)
{
	char line[256], kind[16], mode[16];
	unsigned maj, min;
	unsigned long long ino;
	struct stat sb;
	pid_t pid = 0;
	FILE *fp;
	int p;

	if (fstat(dfd, &sb) == -1 || (fp = fopen("/proc/locks", "re")) == NULL)
		return 0;
	while (pid == 0 && fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, "->") == NULL &&
		    sscanf(line, "%*d: %15s %*s %15s %d %x:%x:%llu", kind, mode,
		    &p, &maj, &min, &ino) == 6 && strcmp(kind, "FLOCK") == 0 &&
		    strcmp(mode, "WRITE") == 0 && ino == sb.st_ino &&
		    maj == major(sb.st_dev) && min == minor(sb.st_dev))
			pid = p;
	fclose(fp);
	return pid;
}

/* The pid of a process with socket inode ino open, or 0. */
static pid_t
lock_socket_owner(unsigned long ino)
{
	char want[64], path[PATH_MAX], link[64];
	struct dirent *p, *f;
	DIR *pd, *fd;
	pid_t pid = 0;
	ssize_t n;

	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	if ((pd = opendir("/proc")) == NULL)
		return 0;
	while (pid == 0 && (p = readdir(pd)) != NULL) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		if ((fd = opendir(path)) == NULL)
			continue;
		while (pid == 0 && (f = readdir(fd)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name,
			    f->d_name);
			if ((n = readlink(path, link, sizeof(link) - 1)) > 0) {
				link[n] = '\0';
				if (strcmp(link, want) == 0)
					pid = (pid_t)strtol(p->d_name, NULL, 10);
			}
		}
		closedir(fd);
	}
	closedir(pd);
	return pid;
}

/* The pid of the process bound to abstract socket name, or 0. */
static pid_t
lock_name_owner(const char *name)
{
	char line[512], path[300];
	unsigned long ino;
	pid_t pid = 0;
	FILE *fp;

	if ((fp = fopen("/proc/net/unix", "re")) == NULL)
		return 0;
	while (pid == 0 && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %299s", &ino,
		    path) == 2 && path[0] == '@' && strcmp(path + 1, name) == 0)
			pid = lock_socket_owner(ino);
	fclose(fp);
	return pid;
}

/*
 * The lock on the spool's path: an abstract socket named for it, bound
 * until exit. A spool folder removed and made again at the same path is
 * still held, by the spoold that had the old one, until it exits.
 */
int
lock_path(struct spool *sp, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char hex[SHA256_HEX], name[80];
	socklen_t len;

	SHA256Data((const uint8_t *)path, strlen(path), hex);
	len = snprintf(name, sizeof(name), "spoold/%s", hex);
	memcpy(sa.sun_path + 1, name, len);
	if ((sp->pathfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(sp->pathfd, (struct sockaddr *)&sa,
	    offsetof(struct sockaddr_un, sun_path) + 1 + len) == 0)
		return 0;
	if (errno == EADDRINUSE) {
		sp->holder = lock_name_owner(name);
		errno = EWOULDBLOCK;
	}
	return -1;
}

/*
 * Takes the spool for this process: an exclusive flock(2) on the spool's
 * folder, by a descriptor of its own held until exit, which nothing in the
 * spool can remove. 0; or -1, with sp->holder the pid that has it (0 when
 * /proc/locks does not say).
 */
int
lock_take(struct spool *sp)
{
	if ((sp->lockfd = openat(sp->dfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		sp->holder = lock_holder(sp->dfd);
		errno = EWOULDBLOCK;
	}
	return -1;
}

/* Opens index/spoold.pid through the folder's descriptor, not its path. */
static struct pidfh *
lock_pidfile_open(struct spool *sp)
{
	char path[64];
	pid_t other;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/spoold.pid", sp->indexfd);
	return pidfile_open(path, 0644, &other);
}

/*
 * index/spoold.pid, which says which spoold holds the spool: made at
 * start, and made again each tick when it was removed. It is information
 * only; the lock is lock_take's.
 */
int
lock_pidfile(struct spool *sp)
{
	struct stat a, b;

	if (sp->pfh != NULL && fstatat(sp->indexfd, "spoold.pid", &a,
	    AT_SYMLINK_NOFOLLOW) == 0 && fstat(pidfile_fileno(sp->pfh),
	    &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	if (sp->pfh != NULL) {
		log_warnx("index/spoold.pid was removed or replaced; made again");
		pidfile_close(sp->pfh);
	}
	if ((sp->pfh = lock_pidfile_open(sp)) == NULL ||
	    pidfile_write(sp->pfh) == -1) {
		if (!sp->pidwarned++)
			log_warn("index/spoold.pid");
		return -1;
	}
	sp->pidwarned = 0;
	return 0;
}

/* Lets go of the locks and index/spoold.pid, at the spool's close. */
void
lock_release(struct spool *sp)
{
	if (sp->pfh != NULL)
		pidfile_close(sp->pfh);
	sp->pfh = NULL;
	if (sp->lockfd != -1)
		close(sp->lockfd);
	if (sp->pathfd != -1)
		close(sp->pathfd);
	sp->lockfd = sp->pathfd = -1;
}
