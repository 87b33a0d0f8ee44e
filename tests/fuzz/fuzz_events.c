/*
 * fuzz_events.c: libFuzzer target for index/events.jsonl as spoolctl
 * events reads it (ctl_events_read of ctl_watch.c): the whole lines from
 * where the file is, of one job or all, a line still being written left
 * for the next read. The input is read as the file, once for all jobs and
 * once for the job of "id" on its first line; the program aborts unless:
 *
 * - each read leaves the file where the input's last newline ends (just
 *   past it; at the start when there is none);
 * - for all jobs, what is printed is the input up to that point, but for
 *   what follows a NUL in a line;
 * - for one job, in an input with no NUL, each line printed is a JSON
 *   object whose "id" is that job's.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"
#include "spoolctl.h"
#include "fuzz.h"

/* The input up to its last newline, as fputs prints each of its lines. */
static size_t
expected(const char *data, size_t whole, char *out)
{
	size_t i = 0, o = 0, end, n;

	while (i < whole) {
		end = (const char *)memchr(data + i, '\n', whole - i) - data + 1;
		n = strnlen(data + i, end - i);
		memcpy(out + o, data + i, n);
		o += n;
		i = end;
	}
	return o;
}

/* What ctl_events_read prints of the input, for id; fp is left at *off. */
static char *
read_all(char *text, size_t size, const char *id, size_t *len, off_t *off)
{
	FILE *in, *saved = stdout;
	char *out = NULL;

	if ((in = fmemopen(text, size, "r")) == NULL ||
	    (stdout = open_memstream(&out, len)) == NULL)
		fuzz_bad("fuzz_events: fmemopen: %s", strerror(errno));
	ctl_events_read(in, id);
	*off = ftello(in);
	fclose(stdout);
	stdout = saved;
	fclose(in);
	return out;
}

/* The "id" of the input's first line, or NULL. */
static char *
first_id(const char *text)
{
	json_t *o;
	char *line, *id = NULL;

	line = strndup(text, strcspn(text, "\n"));
	if ((o = json_loads(line, 0, NULL)) != NULL &&
	    json_is_string(json_object_get(o, "id")))
		id = strdup(json_string_value(json_object_get(o, "id")));
	json_decref(o);
	free(line);
	return id;
}

static void
check_lines(char *out, const char *id)
{
	char *p = out, *line;
	json_t *o, *v;

	while ((line = strsep(&p, "\n")) != NULL) {
		if (p == NULL && line[0] == '\0')
			break;
		o = json_loads(line, 0, NULL);
		v = json_object_get(o, "id");
		if (!json_is_string(v) || strcmp(json_string_value(v), id) != 0)
			fuzz_bad("fuzz_events: line \"%s\" printed for %s",
			    line, id);
		json_decref(o);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *out, *want, *id;
	const char *nl;
	size_t len, whole, n;
	off_t off;

	if (size == 0)
		return 0;
	text = fuzz_str(data, size);
	for (nl = NULL, n = size; n > 0 && nl == NULL; n--)
		if (text[n - 1] == '\n')
			nl = text + n - 1;
	whole = nl != NULL ? (size_t)(nl - text) + 1 : 0;

	out = read_all(text, size, NULL, &len, &off);
	if (off != (off_t)whole)
		fuzz_bad("fuzz_events: left at %lld, not %zu", (long long)off,
		    whole);
	if ((want = malloc(whole + 1)) == NULL)
		fuzz_bad("fuzz_events: malloc");
	n = expected(text, whole, want);
	if (len != n || memcmp(out, want, n) != 0)
		fuzz_bad("fuzz_events: printed %zu bytes, not %zu", len, n);
	free(want);
	free(out);

	if (memchr(data, '\0', size) == NULL &&
	    (id = first_id(text)) != NULL) {
		out = read_all(text, size, id, &len, &off);
		if (off != (off_t)whole)
			fuzz_bad("fuzz_events: left at %lld for %s, not %zu",
			    (long long)off, id, whole);
		check_lines(out, id);
		free(out);
		free(id);
	}
	free(text);
	return 0;
}
