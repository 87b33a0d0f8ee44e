/*
 * dedupe.c: the jobs seen, by the SHA-256 of their content (libmd), for
 * stages with dedupe. The index is plain files: index/sha256/ab/abcd...
 * (ab, the hash's first two digits) holds the id of the first job seen
 * with that content. An entry is made by link(2) of a file written in
 * index/ (where members of the spool's group write nothing), so that of two jobs hashed at once exactly one is first, and an
 * entry is never half written. Purging a job forgets its entry.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <sha2.h>

#include "spoold.h"

/* Hashes the job file id of folder dirfd into hex; 0, or -1 with errno. */
int
dedupe_hash(int dirfd, const char *id, char hex[SHA256_HEX])
{
	unsigned char buf[64 * 1024];
	SHA2_CTX ctx;
	ssize_t n;
	int fd;

	if ((fd = openat(dirfd, id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	SHA256Init(&ctx);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		SHA256Update(&ctx, buf, (size_t)n);
	if (n == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	SHA256End(&ctx, hex);
	return 0;
}

/* Whether hex is a SHA-256 in hex digits, fit to name a file. */
int
dedupe_valid(const char *hex)
{
	return strlen(hex) == SHA256_HEX - 1 &&
	    strspn(hex, "0123456789abcdef") == SHA256_HEX - 1;
}

static void
dedupe_path(char *buf, size_t len, const char *hex)
{
	fileio_path(buf, len, "sha256/%.2s/%s", hex, hex);
}

/*
 * Writes the entry of job id for hash hex as index/name, and makes
 * index/sha256/ab/ as needed.
 */
static int
dedupe_write(struct spool *sp, const char *hex, const char *name,
    const char *id)
{
	char dir[16];
	int fd, r;

	fileio_path(dir, sizeof(dir), "sha256/%.2s", hex);
	if ((mkdirat(sp->indexfd, "sha256", 0750) == -1 && errno != EEXIST) ||
	    (mkdirat(sp->indexfd, dir, 0750) == -1 && errno != EEXIST))
		return -1;
	if ((fd = openat(sp->indexfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0640)) == -1)
		return -1;
	r = dprintf(fd, "%s\n", id) < 0 ? -1 : 0;
	if (close(fd) == -1)
		r = -1;
	if (r == -1)
		unlinkat(sp->indexfd, name, 0);
	return r;
}

/* The id in the entry of hex, in first; -1 when there is none. */
static int
dedupe_read(struct spool *sp, const char *hex, char *first, size_t len)
{
	char path[PATH_MAX], *text;

	dedupe_path(path, sizeof(path), hex);
	if ((text = fileio_read(sp->indexfd, path, ID_MAX + 2)) == NULL)
		return -1;
	text[strcspn(text, "\n")] = '\0';
	strlcpy(first, text, len);
	free(text);
	return first[0] != '\0' ? 0 : -1;
}

/*
 * Records job id as seen with content hex: 0 when it is the first (or
 * was already recorded as the first), 1 when another job was, whose id is
 * put in first, -1 on an error of the spool.
 */
int
dedupe_claim(struct spool *sp, const char *hex, const char *id, char *first,
    size_t len)
{
	static unsigned seq;
	char tmp[64], path[PATH_MAX];
	int r;

	if (!dedupe_valid(hex)) {
		errno = EINVAL;
		return -1;
	}
	if (dedupe_read(sp, hex, first, len) == 0)
		return strcmp(first, id) == 0 ? 0 : 1;
	snprintf(tmp, sizeof(tmp), ".sha256.%ld.%u", (long)getpid(), seq++);
	if (dedupe_write(sp, hex, tmp, id) == -1)
		return -1;
	dedupe_path(path, sizeof(path), hex);
	if ((r = linkat(sp->indexfd, tmp, sp->indexfd, path, 0)) == -1 &&
	    errno == EEXIST && dedupe_read(sp, hex, first, len) == 0)
		r = strcmp(first, id) == 0 ? 0 : 1;
	else if (r == -1 && errno == EEXIST)
		/* An entry without an id: this job's takes its place. */
		r = renameat(sp->indexfd, tmp, sp->indexfd, path);
	unlinkat(sp->indexfd, tmp, 0);
	sp->dirty = 1;
	return r;
}

/* Forgets the entry of hex when it names job id. */
void
dedupe_forget(struct spool *sp, const char *hex, const char *id)
{
	char path[PATH_MAX], first[ID_MAX + 1];

	if (!dedupe_valid(hex) ||
	    dedupe_read(sp, hex, first, sizeof(first)) == -1 ||
	    strcmp(first, id) != 0)
		return;
	dedupe_path(path, sizeof(path), hex);
	if (unlinkat(sp->indexfd, path, 0) == -1 && errno != ENOENT)
		log_warn("unlink index/%s", path);
	sp->dirty = 1;
}
