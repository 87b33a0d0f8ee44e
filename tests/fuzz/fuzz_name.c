/*
 * fuzz_name.c: libFuzzer target for the job-name parsers of name.c. The
 * input, made a C string, goes to name_check, name_priority and
 * name_time; the program aborts when what they return breaks what
 * spoold relies on:
 *
 * - a name name_check accepts is at most ID_MAX bytes, has no byte
 *   below 0x20 nor 0x7f nor a C1 control (U+0080 to U+009F), and is UTF-8
 *   with no overlong form, no surrogate and nothing above U+10FFFF;
 * - a name it refuses comes with a reason;
 * - name_priority is 0 to 9, and the digit the name starts with when the
 *   name carries a time;
 * - name_time leaves tv_nsec in 0 to 999999999, and a zero
 *   timespec when it returns 0.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"
#include "fuzz.h"

static int
name_ok(const char *id)
{
	return strlen(id) <= ID_MAX && fuzz_text_bad(id) == NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct timespec ts;
	const char *why = NULL;
	char *id;
	int prio, timed;

	if ((id = malloc(size + 1)) == NULL)
		return 0;
	memcpy(id, data, size);
	id[size] = '\0';

	if (name_check(id, &why) == 0) {
		if (!name_ok(id))
			abort();
	} else if (why == NULL || why[0] == '\0')
		abort();

	prio = name_priority(id);
	if (prio < 0 || prio > 9)
		abort();

	memset(&ts, 0x5a, sizeof(ts));
	timed = name_time(id, &ts);
	if (timed != 0 && timed != 1)
		abort();
	if (ts.tv_nsec < 0 || ts.tv_nsec > 999999999)
		abort();
	if (!timed && (ts.tv_sec != 0 || ts.tv_nsec != 0))
		abort();
	/* A name that carries a time carries its priority first. */
	if (timed && prio != id[0] - '0')
		abort();

	free(id);
	return 0;
}
