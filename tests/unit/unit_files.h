/*
 * unit_files.h: what the cmocka tests that look at files share: a new
 * folder of /tmp for each test, removed after it, and checks of what a
 * folder holds.
 */
#ifndef UNIT_FILES_H
#define UNIT_FILES_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

/* A new folder of /tmp, open. */
struct tmpdir {
	char path[PATH_MAX];
	int fd;
};

/* A test run in a folder of its own. */
#define TMPDIR_TEST(f) \
    cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

static inline int
tmpdir_setup(void **state)
{
	struct tmpdir *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	str(t->path, sizeof(t->path), "/tmp/test_unit.XXXXXX");
	if (mkdtemp(t->path) == NULL ||
	    (t->fd = open(t->path, O_RDONLY | O_DIRECTORY)) == -1) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static inline int
tmpdir_teardown(void **state)
{
	struct tmpdir *t = *state;
	int r;

	close(t->fd);
	r = fileio_rmtree(AT_FDCWD, t->path);
	free(t);
	return r;
}

/* The number of entries of a folder, its dot files included. */
static inline int
entries(int dirfd)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
	assert_true(fd != -1);
	d = fdopendir(fd);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static inline void
make_file(int dirfd, const char *name, const char *text)
{
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static inline void
assert_file(int dirfd, const char *name, const char *text)
{
	char *got = fileio_read(dirfd, name, 65536);

	if (got == NULL)
		fail_msg("%s: %s", name, strerror(errno));
	assert_string_equal(got, text);
	free(got);
}


#endif
