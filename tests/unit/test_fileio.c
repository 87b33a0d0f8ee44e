/*
 * test_fileio.c: plain file I/O through folder descriptors: names and
 * times made into text, files replaced whole by a write in tmp/ or by a
 * swap, bounded reads that follow no link and wait on no FIFO, mtimes,
 * folder listings and removal of trees.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>

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

#include "unit_files.h"

/* A folder made in the test's folder, open. */
static int
subdir(struct tmpdir *t, const char *name)
{
	int fd;

	assert_int_equal(mkdirat(t->fd, name, 0755), 0);
	fd = openat(t->fd, name, O_RDONLY | O_DIRECTORY);
	assert_true(fd != -1);
	return fd;
}

static ino_t
inode(int dirfd, const char *name)
{
	struct stat sb;

	assert_int_equal(fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW), 0);
	return sb.st_ino;
}

static void
test_path_isotime(void **state)
{
	char buf[32], small[8];

	(void)state;
	assert_ptr_equal(fileio_path(buf, sizeof(buf), "%s/%d", "a", 7), buf);
	assert_string_equal(buf, "a/7");
	/* Cut, never overrun. */
	fileio_path(small, sizeof(small), "%s", "abcdefghij");
	assert_string_equal(small, "abcdefg");
	fileio_isotime(buf, sizeof(buf), 1795426744);
	assert_string_equal(buf, "2026-11-23T09:39:04Z");
	fileio_isotime(buf, sizeof(buf), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* UTC whatever the local time zone. */
	setenv("TZ", "Pacific/Chatham", 1);
	tzset();
	fileio_isotime(buf, sizeof(buf), 1795426744);
	unsetenv("TZ");
	tzset();
	assert_string_equal(buf, "2026-11-23T09:39:04Z");
	/* Milliseconds as seconds, three decimals always. */
	assert_string_equal(fileio_seconds(buf, sizeof(buf), 3768), "3.768s");
	assert_string_equal(fileio_seconds(buf, sizeof(buf), 7), "0.007s");
	assert_string_equal(fileio_seconds(buf, sizeof(buf), 61000),
	    "61.000s");
}

/* Written in tmp/, renamed into place: tmp/ is left empty. */
static void
test_write(void **state)
{
	struct tmpdir *t = *state;
	static const char one[] = "{\"a\": 1}\n", two[] = "second\n";
	int tmp, dir, fd;
	char buf[64];
	ssize_t n;

	tmp = subdir(t, "tmp");
	dir = subdir(t, "dir");
	assert_int_equal(fileio_write(tmp, dir, "f", one, strlen(one)), 0);
	assert_file(dir, "f", one);
	assert_int_equal(entries(tmp), 0);
	/* A reader of the old file reads it all after a rewrite. */
	fd = openat(dir, "f", O_RDONLY);
	assert_true(fd != -1);
	assert_int_equal(fileio_write(tmp, dir, "f", two, strlen(two)), 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_int_equal(n, (ssize_t)strlen(one));
	buf[n] = '\0';
	assert_string_equal(buf, one);
	close(fd);
	assert_file(dir, "f", two);
	/* An empty file is a file. */
	assert_int_equal(fileio_write(tmp, dir, "empty", "", 0), 0);
	assert_file(dir, "empty", "");
	/* A failed write leaves nothing behind. */
	errno = 0;
	assert_int_equal(fileio_write(tmp, dir, "no/such", one, strlen(one)),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(entries(tmp), 0);
	assert_int_equal(entries(dir), 2);
	close(tmp);
	close(dir);
}

/*
 * Swapped with ".NAME.new" beside it: the old file is the next one's
 * ".new", so three writes use two inodes.
 */
static void
test_swap(void **state)
{
	struct tmpdir *t = *state;
	ino_t first;
	int fd;

	assert_int_equal(fileio_swap(t->fd, "f", "one", 3, 0), 0);
	assert_file(t->fd, "f", "one");
	first = inode(t->fd, "f");
	fd = openat(t->fd, "f", O_RDONLY);
	assert_true(fd != -1);
	assert_int_equal(fileio_swap(t->fd, "f", "two", 3, 0), 0);
	assert_file(t->fd, "f", "two");
	assert_file(t->fd, ".f.new", "one");
	assert_true(inode(t->fd, ".f.new") == first);
	close(fd);
	assert_int_equal(fileio_swap(t->fd, "f", "three", 5, 0), 0);
	assert_file(t->fd, "f", "three");
	assert_true(inode(t->fd, "f") == first);
	assert_int_equal(entries(t->fd), 2);
}

/* A ".new" that is not a plain file of one link is replaced, not used. */
static void
test_swap_hostile(void **state)
{
	struct tmpdir *t = *state;
	int dir;

	dir = subdir(t, "dir");
	make_file(t->fd, "target", "outside");
	assert_int_equal(symlinkat("../target", dir, ".f.new"), 0);
	assert_int_equal(fileio_swap(dir, "f", "data", 4, 0), 0);
	assert_file(dir, "f", "data");
	assert_file(t->fd, "target", "outside");
	/* A second name for the file: written through, it would change both. */
	assert_int_equal(fileio_swap(dir, "f", "next", 4, 0), 0);
	assert_file(dir, ".f.new", "data");
	assert_int_equal(linkat(dir, ".f.new", t->fd, "hard", 0), 0);
	assert_int_equal(fileio_swap(dir, "f", "more", 4, 0), 0);
	assert_file(t->fd, "hard", "data");
	assert_file(dir, "f", "more");
	assert_int_equal(unlinkat(dir, ".f.new", 0), 0);
	assert_int_equal(mkdirat(dir, ".f.new", 0755), 0);
	make_file(dir, ".f.new/inside", "x");
	assert_int_equal(fileio_swap(dir, "f", "last", 4, 0), 0);
	assert_file(dir, "f", "last");
	close(dir);
}

static void
test_read(void **state)
{
	struct tmpdir *t = *state;
	struct stat sb;
	char *text;
	size_t len;
	int p[2];

	make_file(t->fd, "f", "0123456789");
	text = fileio_read(t->fd, "f", 4);
	assert_string_equal(text, "0123");
	free(text);
	text = fileio_read_st(t->fd, "f", 100, &sb);
	assert_string_equal(text, "0123456789");
	assert_int_equal(sb.st_size, 10);
	assert_true(S_ISREG(sb.st_mode));
	free(text);
	/* From a descriptor: all there is, up to max, and how much. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "a\0b", 3), 3);
	close(p[1]);
	text = fileio_read_fd(p[0], 100, &len);
	close(p[0]);
	assert_int_equal(len, 3);
	assert_memory_equal(text, "a\0b", 4);
	free(text);
	text = fileio_line(strdup("line"));
	assert_string_equal(text, "line\n");
	free(text);
	/* No link is followed, no FIFO waited on, no folder read. */
	assert_int_equal(symlinkat("f", t->fd, "link"), 0);
	errno = 0;
	assert_null(fileio_read(t->fd, "link", 100));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(mkfifoat(t->fd, "fifo", 0600), 0);
	errno = 0;
	assert_null(fileio_read(t->fd, "fifo", 100));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mkdirat(t->fd, "dir", 0755), 0);
	assert_null(fileio_read(t->fd, "dir", 100));
	errno = 0;
	assert_null(fileio_read(t->fd, "none", 100));
	assert_int_equal(errno, ENOENT);
}

static void
test_touch(void **state)
{
	struct tmpdir *t = *state;
	struct stat sb;

	make_file(t->fd, "j", "x");
	assert_int_equal(fileio_touch(t->fd, "j", (struct timespec){2000000000, 250000000}), 0);
	assert_int_equal(fstatat(t->fd, "j", &sb, 0), 0);
	assert_int_equal(sb.st_mtim.tv_sec, 2000000000);
	assert_int_equal(sb.st_mtim.tv_nsec, 250000000);
	assert_int_equal(fileio_touch(t->fd, "none", (struct timespec){1, 0}),
	    -1);
	/* A link's own time, not its target's. */
	assert_int_equal(symlinkat("j", t->fd, "link"), 0);
	assert_int_equal(fileio_touch(t->fd, "link",
	    (struct timespec){1000000000, 0}), 0);
	assert_int_equal(fstatat(t->fd, "j", &sb, 0), 0);
	assert_int_equal(sb.st_mtim.tv_sec, 2000000000);
}

struct seen {
	char names[8][16];
	int types[8];
	int n, stop;
};

static int
seen_one(void *arg, const char *name, int type)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	str(s->names[s->n], sizeof(s->names[s->n]), "%s", name);
	s->types[s->n++] = type;
	return s->n == s->stop ? -1 : 0;
}

static int
seen_type(const struct seen *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return s->types[i];
	fail_msg("%s not seen", name);
	return -1;
}

/* Names that start with a dot are listed apart; fn may stop a listing. */
static void
test_scan(void **state)
{
	struct tmpdir *t = *state;
	struct seen s = {.stop = -1};
	int type;

	make_file(t->fd, "a", "");
	make_file(t->fd, ".hidden", "");
	assert_int_equal(mkdirat(t->fd, "d", 0755), 0);
	assert_int_equal(fileio_scan(t->fd, seen_one, &s), 0);
	assert_int_equal(s.n, 2);
	type = seen_type(&s, "a");
	assert_true(type == DT_REG || type == DT_UNKNOWN);
	type = seen_type(&s, "d");
	assert_true(type == DT_DIR || type == DT_UNKNOWN);
	/* Listed again from the start, and cut short. */
	memset(&s, 0, sizeof(s));
	s.stop = 1;
	assert_int_equal(fileio_scan(t->fd, seen_one, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(fileio_scan(-1, seen_one, &s), -1);
	/* The hidden ones alone, "." and ".." left out. */
	memset(&s, 0, sizeof(s));
	s.stop = -1;
	assert_int_equal(fileio_scan_hidden(t->fd, seen_one, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], ".hidden");
}

/* A tree goes whole; what a link in it points to stays. */
static void
test_rmtree(void **state)
{
	struct tmpdir *t = *state;
	int dir;

	make_file(t->fd, "kept", "x");
	dir = subdir(t, "tree");
	assert_int_equal(mkdirat(dir, "a", 0755), 0);
	assert_int_equal(mkdirat(dir, "a/b", 0755), 0);
	make_file(dir, "a/b/f", "x");
	make_file(dir, ".dot", "x");
	assert_int_equal(symlinkat("../../..", dir, "a/up"), 0);
	assert_int_equal(symlinkat("../kept", dir, "l"), 0);
	close(dir);
	assert_int_equal(fileio_rmtree(t->fd, "tree"), 0);
	assert_int_equal(faccessat(t->fd, "tree", F_OK, AT_SYMLINK_NOFOLLOW),
	    -1);
	assert_file(t->fd, "kept", "x");
	/* A file, and nothing at all. */
	assert_int_equal(fileio_rmtree(t->fd, "kept"), 0);
	assert_int_equal(fileio_rmtree(t->fd, "kept"), 0);
	assert_int_equal(entries(t->fd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_isotime),
		TMPDIR_TEST(test_write),
		TMPDIR_TEST(test_swap),
		TMPDIR_TEST(test_swap_hostile),
		TMPDIR_TEST(test_read),
		TMPDIR_TEST(test_touch),
		TMPDIR_TEST(test_scan),
		TMPDIR_TEST(test_rmtree),
	};

	return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}
