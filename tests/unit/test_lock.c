/*
 * test_lock.c: which spoold holds the spool: the lock on its folder and
 * the one on its path, each refused to a second taker with the pid that
 * holds it, let go at the close; and index/spoold.pid, made again when it
 * is removed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_log.h"
#include "unit_spool.h"

/* A second spool struct on the same folder, locking nothing yet. */
static void
other(struct fx *f, struct spool *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->lockfd = sp->pathfd = -1;
	sp->dfd = open(f->path, O_RDONLY | O_DIRECTORY);
	assert_true(sp->dfd != -1);
}

static void
test_folder_lock(void **state)
{
	struct fx *f = *state;
	struct spool b;

	assert_int_equal(lock_holder(f->sp.dfd), 0);
	assert_int_equal(lock_take(&f->sp), 0);
	assert_int_equal(lock_holder(f->sp.dfd), getpid());
	other(f, &b);
	errno = 0;
	assert_int_equal(lock_take(&b), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(b.holder, getpid());
	lock_release(&b);
	/* Let go, it is the next taker's. */
	lock_release(&f->sp);
	assert_int_equal(f->sp.lockfd, -1);
	assert_int_equal(lock_holder(f->sp.dfd), 0);
	assert_int_equal(lock_take(&b), 0);
	lock_release(&b);
	close(b.dfd);
}

static void
test_path_lock(void **state)
{
	struct fx *f = *state;
	struct spool b;

	assert_int_equal(lock_path(&f->sp, f->path), 0);
	other(f, &b);
	errno = 0;
	assert_int_equal(lock_path(&b, f->path), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(b.holder, getpid());
	lock_release(&b);
	/* Another path is another lock. */
	assert_int_equal(lock_path(&b, f->dir), 0);
	lock_release(&b);
	lock_release(&f->sp);
	assert_int_equal(lock_path(&b, f->path), 0);
	lock_release(&b);
	close(b.dfd);
}

/* Opened with SPOOL_LOCK, a spool already held is refused. */
static void
test_open_locked(void **state)
{
	struct fx *f = *state;
	struct spool a, b;

	assert_int_equal(spool_open(&a, f->path, SPOOL_LOCK, (gid_t)-1), 0);
	logged_begin();
	errno = 0;
	assert_int_equal(spool_open(&b, f->path, SPOOL_LOCK, (gid_t)-1), -1);
	logged_end();
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(b.holder, getpid());
	spool_close(&a);
	assert_int_equal(spool_open(&b, f->path, SPOOL_LOCK, (gid_t)-1), 0);
	spool_close(&b);
}

static void
test_pidfile(void **state)
{
	struct fx *f = *state;
	char want[32], *text;

	str(want, sizeof(want), "%ld", (long)getpid());
	assert_int_equal(lock_pidfile(&f->sp), 0);
	text = fileio_read(f->sp.indexfd, "spoold.pid", 64);
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	/* As it is: nothing to do. */
	assert_int_equal(lock_pidfile(&f->sp), 0);
	/* Removed: made again, and said. */
	assert_int_equal(unlinkat(f->sp.indexfd, "spoold.pid", 0), 0);
	logged_begin();
	assert_int_equal(lock_pidfile(&f->sp), 0);
	assert_non_null(strstr(logged_end(), "made again"));
	text = fileio_read(f->sp.indexfd, "spoold.pid", 64);
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	lock_release(&f->sp);
	assert_null(f->sp.pfh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SPOOL_TEST(test_folder_lock),
		SPOOL_TEST(test_path_lock),
		SPOOL_TEST(test_open_locked),
		SPOOL_TEST(test_pidfile),
	};

	return cmocka_run_group_tests_name("lock", tests, NULL, NULL);
}
