/*
 * notify.c: tells the service manager how spoold is, by the datagrams of
 * sd_notify(3) on the socket named in NOTIFY_SOCKET: READY=1 once the
 * spool is recovered and watched, STATUS= with the counts, RELOADING=1 and
 * READY=1 around a reload, STOPPING=1 when told to stop. Without
 * NOTIFY_SOCKET it does nothing. The variable is removed from spoold's
 * environment, and children never see it.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"

static struct {
	int fd;
	struct sockaddr_un sun;
	socklen_t len;
	char status[256];
	int failing;	/* sends failed since the last that went through */
} N = {.fd = -1};

/* Opens the socket of NOTIFY_SOCKET: a path, or @ for an abstract name. */
void
notify_init(void)
{
	const char *name = getenv("NOTIFY_SOCKET");
	size_t n;

	if (name == NULL || name[0] == '\0')
		return;
	n = strlen(name);
	/* A path needs room for its NUL; an abstract name does not. */
	if ((name[0] != '/' && name[0] != '@') ||
	    n > sizeof(N.sun.sun_path) - (name[0] == '/')) {
		log_warnx("NOTIFY_SOCKET: not a socket path: %s", name);
		unsetenv("NOTIFY_SOCKET");
		return;
	}
	N.sun.sun_family = AF_UNIX;
	memcpy(N.sun.sun_path, name, n);
	if (name[0] == '@')
		N.sun.sun_path[0] = '\0';
	N.len = offsetof(struct sockaddr_un, sun_path) + n;
	unsetenv("NOTIFY_SOCKET");
	if ((N.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		log_warn("notify socket");
}

/*
 * Sends one message. A manager that cannot be reached costs one line in
 * the log, and another only after a message got through.
 */
void
notify_send(const char *msg)
{
	if (N.fd == -1)
		return;
	if (sendto(N.fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&N.sun, N.len) != -1)
		N.failing = 0;
	else if (!N.failing++)
		log_warn("notify socket %s%s", N.sun.sun_path[0] == '\0' ? "@" :
		    "", N.sun.sun_path + (N.sun.sun_path[0] == '\0'));
}

/* STATUS=, when the text changed since the last one sent. */
void
notify_status(const char *fmt, ...)
{
	char status[sizeof(N.status)], msg[sizeof(N.status) + 8];
	va_list ap;

	if (N.fd == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	if (strcmp(status, N.status) == 0)
		return;
	strlcpy(N.status, status, sizeof(N.status));
	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	notify_send(msg);
}

/*
 * A reload begins: RELOADING=1 with the monotonic time, as a manager that
 * waits for the READY=1 that ends it wants it.
 */
void
notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	if (N.fd == -1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	notify_send(msg);
}

void
notify_close(void)
{
	if (N.fd != -1)
		close(N.fd);
	N.fd = -1;
}
