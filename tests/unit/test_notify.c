/*
 * test_notify.c: the sd_notify(3) messages, received on a datagram socket
 * bound in a new folder of /tmp: none without NOTIFY_SOCKET, none for a
 * name that is not a socket path, and READY=1, STATUS= (once a text),
 * RELOADING=1 with the monotonic time, and the variable gone from the
 * environment once read.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/socket.h>
#include <sys/un.h>

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

#include "unit.h"

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	int fd;	/* the manager's end */
};

static int
setup(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	str(f->dir, sizeof(f->dir), "/tmp/test_notify.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	str(f->path, sizeof(f->path), "%s/notify", f->dir);
	str(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	if ((f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(f->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int r;

	notify_close();
	unsetenv("NOTIFY_SOCKET");
	close(f->fd);
	r = fileio_rmtree(AT_FDCWD, f->dir);
	free(f);
	return r;
}

/* The next message, or "" when none waits. */
static char *
next(struct fx *f, char *buf, size_t len)
{
	ssize_t n = recv(f->fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_no_socket(void **state)
{
	struct fx *f = *state;
	char buf[256];

	unsetenv("NOTIFY_SOCKET");
	notify_init();
	notify_send("READY=1");
	notify_status("%d running", 1);
	notify_reloading();
	assert_string_equal(next(f, buf, sizeof(buf)), "");
}

static void
test_not_a_path(void **state)
{
	struct fx *f = *state;
	char buf[256];

	setenv("NOTIFY_SOCKET", "notify", 1);
	notify_init();
	assert_null(getenv("NOTIFY_SOCKET"));
	notify_send("READY=1");
	assert_string_equal(next(f, buf, sizeof(buf)), "");
}

static void
test_messages(void **state)
{
	struct fx *f = *state;
	char buf[256];

	setenv("NOTIFY_SOCKET", f->path, 1);
	notify_init();
	assert_null(getenv("NOTIFY_SOCKET"));
	notify_send("READY=1");
	assert_string_equal(next(f, buf, sizeof(buf)), "READY=1");
	notify_status("%d running, %d queued", 2, 5);
	assert_string_equal(next(f, buf, sizeof(buf)),
	    "STATUS=2 running, 5 queued");
	notify_status("%d running, %d queued", 2, 5);
	assert_string_equal(next(f, buf, sizeof(buf)), "");
	notify_status("%d running, %d queued", 1, 5);
	assert_string_equal(next(f, buf, sizeof(buf)),
	    "STATUS=1 running, 5 queued");
	notify_reloading();
	next(f, buf, sizeof(buf));
	assert_memory_equal(buf, "RELOADING=1\nMONOTONIC_USEC=", 27);
	assert_true(strtoll(buf + 27, NULL, 10) > 0);
	notify_close();
	notify_send("STOPPING=1");
	assert_string_equal(next(f, buf, sizeof(buf)), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
	};

	log_init(0, "test_notify");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
