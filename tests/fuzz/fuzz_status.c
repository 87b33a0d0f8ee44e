/*
 * fuzz_status.c: libFuzzer target for the status record parser of
 * status.c. The input, made a C string, goes to status_decode; a record it
 * accepts is encoded again with status_encode and decoded once more. The
 * program aborts unless:
 *
 * - every string field of a decoded record ends with a NUL inside its
 *   array;
 * - the state is one of enum jstate, priority 0 to 9, attempt and pgid not
 *   negative (what status_decode promises to clamp);
 * - status_encode takes every record status_decode gives, and writes JSON
 *   in ASCII, with no raw control character, that status_decode takes back;
 * - that second decode gives the same record, field by field: once read, a
 *   record survives being written and read again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoold.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void bad(const char *, ...) __attribute__((format(printf, 1, 2),
    noreturn));

/* Says what broke, on fd 2, and aborts. */
static void
bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dprintf(STDERR_FILENO, "fuzz_status: ");
	vdprintf(STDERR_FILENO, fmt, ap);
	dprintf(STDERR_FILENO, "\n");
	va_end(ap);
	abort();
}

#define TERMINATED(st, f) do {						\
	if (memchr((st)->f, '\0', sizeof((st)->f)) == NULL)		\
		bad(#f " is not NUL-terminated");			\
} while (0)

static void
check_record(const struct status *st)
{
	TERMINATED(st, stage);
	TERMINATED(st, reason);
	TERMINATED(st, progress);
	TERMINATED(st, key);
	if (st->state < JS_QUEUED || st->state > JS_ERROR)
		bad("state %d", (int)st->state);
	if (st->priority < 0 || st->priority > 9)
		bad("priority %d", st->priority);
	if (st->attempt < 0)
		bad("attempt %d", st->attempt);
	if (st->pgid < 0)
		bad("pgid %d", (int)st->pgid);
}

#define SAME_STR(a, b, f) do {						\
	if (strcmp((a)->f, (b)->f) != 0)				\
		bad(#f ": \"%s\" read back as \"%s\"", (a)->f, (b)->f);	\
} while (0)
#define SAME_INT(a, b, f) do {						\
	if ((a)->f != (b)->f)						\
		bad(#f ": %lld read back as %lld", (long long)(a)->f,	\
		    (long long)(b)->f);					\
} while (0)

static void
check_equal(const struct status *a, const struct status *b)
{
	SAME_STR(a, b, stage);
	SAME_INT(a, b, state);
	SAME_INT(a, b, attempt);
	SAME_INT(a, b, exit);
	SAME_INT(a, b, signal);
	SAME_STR(a, b, reason);
	SAME_INT(a, b, submitted);
	SAME_INT(a, b, started);
	SAME_INT(a, b, finished);
	SAME_INT(a, b, updated);
	SAME_STR(a, b, progress);
	SAME_INT(a, b, priority);
	SAME_STR(a, b, key);
	SAME_INT(a, b, pgid);
	SAME_INT(a, b, pstart);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct status first, second;
	const unsigned char *p;
	char *text, *again;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&first, 0x5a, sizeof(first));
	if (status_decode(text, &first) == -1) {
		free(text);
		return 0;
	}
	check_record(&first);

	if ((again = status_encode(&first)) == NULL)
		bad("status_encode refused a record status_decode gave");
	for (p = (const unsigned char *)again; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7f)
			bad("byte 0x%02x in the encoded record: %s", *p, again);
	memset(&second, 0xa5, sizeof(second));
	if (status_decode(again, &second) == -1)
		bad("status_decode refused its own record: %s", again);
	check_record(&second);
	check_equal(&first, &second);

	free(again);
	free(text);
	return 0;
}
