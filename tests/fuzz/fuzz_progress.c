/*
 * fuzz_progress.c: libFuzzer target for the progress line of a running
 * job, the last line a stage's child writes to its heartbeat file, as
 * spoold (run.c) and spoolctl (show, ls, watch) read it with
 * spool_progress_at. The input is written as the file heartbeat in a
 * folder of the target's own; the program aborts unless the line read:
 *
 * - ends with a NUL inside the PROGRESS_MAX bytes it is given, and writes
 *   nothing past them;
 * - is UTF-8 with no control character (below 0x20, 0x7f, U+0080 to
 *   U+009F), no overlong form, surrogate or code point past U+10FFFF;
 * - and is the same when read into a buffer one byte shorter, cut at a
 *   whole character, never in the middle of one.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spoold.h"
#include "fuzz.h"

static void
check_line(const char *buf, size_t len)
{
	const char *at;

	if (memchr(buf, '\0', len) == NULL)
		fuzz_bad("fuzz_progress: no NUL in %zu bytes", len);
	if ((at = fuzz_text_bad(buf)) != NULL)
		fuzz_bad("fuzz_progress: byte 0x%02x at %td of \"%s\"",
		    (unsigned char)*at, at - buf, buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[PROGRESS_MAX], shorter[PROGRESS_MAX - 1];
	size_t n;
	int dfd = fuzz_dir(NULL, 0);

	fuzz_put(dfd, "heartbeat", data, size);
	memset(line, 0x5a, sizeof(line));
	memset(shorter, 0x5a, sizeof(shorter));
	if (spool_progress_at(dfd, line, sizeof(line)) == -1)
		fuzz_bad("fuzz_progress: heartbeat unread: %s",
		    strerror(errno));
	check_line(line, sizeof(line));
	if (spool_progress_at(dfd, shorter, sizeof(shorter)) == -1)
		fuzz_bad("fuzz_progress: heartbeat unread: %s",
		    strerror(errno));
	check_line(shorter, sizeof(shorter));
	n = strlen(shorter);
	if (strncmp(line, shorter, n) != 0)
		fuzz_bad("fuzz_progress: \"%s\" read shorter as \"%s\"", line,
		    shorter);
	if (line[n] != '\0' && n + fuzz_utf8_len((unsigned char *)line + n) <
	    sizeof(shorter))
		fuzz_bad("fuzz_progress: \"%s\" cut at %zu bytes, not %zu",
		    line, n, sizeof(shorter) - 1);
	unlinkat(dfd, "heartbeat", 0);
	return 0;
}
