/*
 * unit_spool.h: the fixture of the cmocka tests that need a spool on disk:
 * setup makes one in a new folder of /tmp, teardown removes it all.
 */
#ifndef UNIT_SPOOL_H
#define UNIT_SPOOL_H

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>

#include "unit.h"

/* A spool made in a new folder of /tmp, for the tests that need one. */
struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX]; /* the spool: dir/data */
	struct spool sp;
};

/* A test run in a spool of its own. */
#define SPOOL_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static inline int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	str(f->dir, sizeof(f->dir), "/tmp/test_unit.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	str(f->path, sizeof(f->path), "%s/data", f->dir);
	if (spool_open(&f->sp, f->path, 1, (gid_t)-1) == -1) {
		fileio_rmtree(AT_FDCWD, f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int
teardown(void **state)
{
	struct fx *f = *state;
	int r;

	spool_close(&f->sp);
	r = fileio_rmtree(AT_FDCWD, f->dir);
	free(f);
	return r;
}

#endif
