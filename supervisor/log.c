/*
 * log.c: messages to stderr, one line each, prefixed with the program's
 * name. log_warn adds the errno text; fatal and fatalx exit 70 (EX_SOFTWARE)
 * and are kept for impossible states and exhausted memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "spoold.h"

static int log_verbose;
static const char *log_name = "spoold";

static void log_vline(const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

void
log_init(int verbose, const char *name)
{
	log_verbose = verbose;
	log_name = name;
}

static void
log_vline(const char *errtext, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errtext != NULL)
		fprintf(stderr, "%s: %s: %s\n", log_name, msg, errtext);
	else
		fprintf(stderr, "%s: %s\n", log_name, msg);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vline(strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vline(NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vline(strerror(saved), fmt, ap);
	va_end(ap);
	exit(EX_SOFTWARE);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(NULL, fmt, ap);
	va_end(ap);
	exit(EX_SOFTWARE);
}

#ifdef SPOOLD_CRASHPOINTS
/* Aborts at crash point n when SPOOLD_CRASH names it. */
void
crash_point(int n)
{
	static int point = -1;
	static long at, hits;
	const char *s;
	char *end;

	if (point == -1) {
		point = 0;
		at = 1;
		if ((s = getenv("SPOOLD_CRASH")) != NULL) {
			point = (int)strtol(s, &end, 10);
			if (*end == ':')
				at = strtol(end + 1, NULL, 10);
		}
	}
	if (n == point && ++hits == at) {
		log_warnx("crash point %d", n);
		abort();
	}
}
#endif
