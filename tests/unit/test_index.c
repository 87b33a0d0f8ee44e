/*
 * test_index.c: what spoold keeps under data/index/ besides metrics: the
 * events of events.jsonl (their exact keys, one line per write, rotation)
 * and the index of contents seen of dedupe (hashes, first, own and
 * duplicate claims, forgetting on purge, names refused).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "unit_spool.h"

/* The lines of index/NAME, each parsed; NULL when there is no file. */
static json_t *
read_lines(struct fx *f, const char *name)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	json_t *a, *o;
	FILE *fp;

	str(path, sizeof(path), "%s/index/%s", f->path, name);
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	a = json_array();
	while (getline(&line, &cap, fp) > 0) {
		assert_int_equal(line[strlen(line) - 1], '\n');
		o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		if (o == NULL)
			fail_msg("not a JSON line: %s", line);
		json_array_append_new(a, o);
	}
	free(line);
	fclose(fp);
	return a;
}

/* --- events --- */

static void
test_event_keys(void **state)
{
	static const char *keys[] = {"time", "event", "id", "stage", "attempt",
		"exit", "signal", "reason"};
	struct timespec ts = {1795426744, 123456789}; /* 2026-11-23T09:39:04 */
	struct status st;
	json_t *o;
	char *line;
	size_t i;

	(void)state;
	status_init(&st, "ocr");
	st.attempt = 2;
	st.exit = 75;
	strcpy(st.reason, "exit 75 \"q\" \\ caf\xc3\xa9\n");
	line = events_encode(&ts, "1.job\tname", "deferred", &st);
	assert_non_null(line);
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_null(strchr(line, '\t'));
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
	o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), sizeof(keys) / sizeof(*keys));
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (json_object_get(o, keys[i]) == NULL)
			fail_msg("key %s missing", keys[i]);
	assert_string_equal(json_string_value(json_object_get(o, "time")),
	    "2026-11-23T09:39:04.123Z");
	assert_string_equal(json_string_value(json_object_get(o, "event")),
	    "deferred");
	assert_string_equal(json_string_value(json_object_get(o, "id")),
	    "1.job\tname");
	assert_string_equal(json_string_value(json_object_get(o, "stage")),
	    "ocr");
	assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "exit")), 75);
	assert_true(json_is_null(json_object_get(o, "signal")));
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	    st.reason);
	json_decref(o);
	free(line);
}

static void
test_events_append_and_rotate(void **state)
{
	struct fx *f = *state;
	struct status st;
	json_t *a, *b;
	struct stat sb;
	char path[PATH_MAX];
	int i;

	status_init(&st, "prep");
	assert_null(read_lines(f, "events.jsonl"));
	for (i = 0; i < 3; i++)
		events_add(&f->sp, "job", i == 2 ? "done" : "running", &st);
	a = read_lines(f, "events.jsonl");
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(a, 2), "event")), "done");
	json_decref(a);
	str(path, sizeof(path), "%s/index/events.jsonl", f->path);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);

	/* Under the limit: kept. Over it: one old file, a new one. */
	events_tick(&f->sp, 1 << 20);
	assert_null(read_lines(f, "events.jsonl.1"));
	events_tick(&f->sp, 100);
	a = read_lines(f, "events.jsonl.1");
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 3);
	json_decref(a);
	events_add(&f->sp, "job", "purged", &st);
	b = read_lines(f, "events.jsonl");
	assert_non_null(b);
	assert_int_equal(json_array_size(b), 1);
	json_decref(b);

	/* 0: never rotated. A file removed by hand is made again. */
	events_tick(&f->sp, 0);
	assert_int_equal(unlink(path), 0);
	events_tick(&f->sp, 0);
	events_add(&f->sp, "job", "queued", &st);
	b = read_lines(f, "events.jsonl");
	assert_non_null(b);
	assert_int_equal(json_array_size(b), 1);
	json_decref(b);
}

/* The events replay passes on, in order. */
struct replayed {
	char ids[8][16];
	struct counters c;
	int n;
};

static void
replayed(void *arg, const struct event *ev)
{
	struct replayed *r = arg;

	assert_true(r->n < 8);
	strlcpy(r->ids[r->n++], ev->id, sizeof(r->ids[0]));
	if (ev->counted[0] != '\0')
		metrics_add(&r->c, &ev->c);
}

/*
 * An event that counts says what it adds; the events after a mark are
 * read back, across a rotation; an "unmoved" event takes its counts back.
 */
static void
test_events_counts_and_replay(void **state)
{
	struct fx *f = *state;
	struct counters c = {.done = 1, .runs = 1, .run_ms_total = 812};
	struct timespec ts = {1795426744, 0};
	struct replayed r;
	struct evmark m, none = {0, 0};
	struct status st;
	json_t *o, *v;
	char *line;

	status_init(&st, "b");
	line = events_encode_counted(&ts, "j", "done", &st, "a", &c);
	o = json_loads(line, 0, NULL);
	assert_non_null(o);
	v = json_object_get(o, "counts");
	assert_string_equal(json_string_value(json_object_get(v, "stage")),
	    "a");
	assert_int_equal(json_integer_value(json_object_get(v, "done")), 1);
	assert_int_equal(json_integer_value(json_object_get(v,
	    "run_ms_total")), 812);
	assert_null(json_object_get(v, "error"));	/* 0: left out */
	json_decref(o);
	free(line);

	events_add(&f->sp, "j0", "queued", &st);
	events_mark(&f->sp, &m);
	assert_true(m.ino != 0 && m.off > 0);
	events_add_counted(&f->sp, "j1", "done", &st, "a", &c);
	events_tick(&f->sp, 10);	/* rotated: j0 and j1 in .1 */
	events_add_counted(&f->sp, "j2", "done", &st, "a", &c);
	events_undo(&f->sp, "j2", &st, "a", &c);
	events_add(&f->sp, "j3", "purged", &st);
	memset(&r, 0, sizeof(r));
	events_replay(&f->sp, &m, replayed, &r);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.ids[0], "j1");
	assert_string_equal(r.ids[1], "j2");
	assert_string_equal(r.ids[3], "j3");
	assert_int_equal(r.c.done, 1);
	assert_int_equal(r.c.runs, 1);
	assert_int_equal(r.c.run_ms_total, 812);
	/* No mark: nothing is read again. */
	memset(&r, 0, sizeof(r));
	events_replay(&f->sp, &none, replayed, &r);
	assert_int_equal(r.n, 0);
}

/* --- dedupe --- */

static void
put(struct fx *f, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	str(path, sizeof(path), "%s/tmp/%s", f->path, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void
test_hash(void **state)
{
	struct fx *f = *state;
	char hex[SHA256_HEX];

	put(f, "a", "abc");
	assert_int_equal(dedupe_hash(f->sp.tmpfd, "a", hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a"
	    "9cb410ff61f20015ad");
	put(f, "empty", "");
	assert_int_equal(dedupe_hash(f->sp.tmpfd, "empty", hex), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b93"
	    "4ca495991b7852b855");
	assert_int_equal(dedupe_hash(f->sp.tmpfd, "none", hex), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(symlinkat("a", f->sp.tmpfd, "link"), 0);
	assert_int_equal(dedupe_hash(f->sp.tmpfd, "link", hex), -1);
}

static void
test_claim(void **state)
{
	struct fx *f = *state;
	const char *h = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
	    "61f20015ad";
	char first[ID_MAX + 1], path[PATH_MAX], full[PATH_MAX], *text;
	struct status st;
	int fd;

	assert_int_equal(dedupe_claim(&f->sp, h, "one", first, sizeof(first)),
	    0);
	str(path, sizeof(path), "sha256/ba/%s", h);
	text = fileio_read(f->sp.indexfd, path, 512);
	assert_non_null(text);
	assert_string_equal(text, "one\n");
	free(text);
	/* The same job again (a retry, a restart): not a duplicate. */
	assert_int_equal(dedupe_claim(&f->sp, h, "one", first, sizeof(first)),
	    0);
	first[0] = '\0';
	assert_int_equal(dedupe_claim(&f->sp, h, "two", first, sizeof(first)),
	    1);
	assert_string_equal(first, "one");

	/* Forgetting is by the job named, and purge forgets. */
	dedupe_forget(&f->sp, h, "two");
	assert_int_equal(dedupe_claim(&f->sp, h, "two", first, sizeof(first)),
	    1);
	put(f, "one", "abc");
	fd = spool_job_make(&f->sp, "one", (uid_t)-1, (gid_t)-1);
	assert_true(fd != -1);
	close(fd);
	status_init(&st, "prep");
	strcpy(st.sha256, h);
	assert_int_equal(spool_status_write(&f->sp, "one", &st), 0);
	assert_int_equal(purge_job(&f->sp, f->sp.tmpfd, "one"), 0);
	assert_int_equal(faccessat(f->sp.indexfd, path, F_OK, 0), -1);
	assert_int_equal(dedupe_claim(&f->sp, h, "two", first, sizeof(first)),
	    0);

	/* An entry left empty is taken by the next job. */
	assert_int_equal(truncate(str(full, sizeof(full), "%s/index/%s",
	    f->path, path), 0), 0);
	assert_int_equal(dedupe_claim(&f->sp, h, "three", first,
	    sizeof(first)), 0);
	assert_int_equal(dedupe_claim(&f->sp, h, "four", first, sizeof(first)),
	    1);
	assert_string_equal(first, "three");
}

static void
test_bad_hashes(void **state)
{
	struct fx *f = *state;
	char first[ID_MAX + 1];
	char h[SHA256_HEX];

	assert_false(dedupe_valid(""));
	assert_false(dedupe_valid("../../etc/passwd"));
	memset(h, 'a', sizeof(h) - 1);
	h[sizeof(h) - 1] = '\0';
	assert_true(dedupe_valid(h));
	h[10] = 'A';
	assert_false(dedupe_valid(h));
	h[10] = '/';
	assert_false(dedupe_valid(h));
	assert_int_equal(dedupe_claim(&f->sp, h, "x", first, sizeof(first)),
	    -1);
	assert_int_equal(errno, EINVAL);
	h[63] = '\0';
	h[10] = 'a';
	assert_false(dedupe_valid(h));
	dedupe_forget(&f->sp, "../cancel", "x"); /* refused, nothing to see */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_keys),
		cmocka_unit_test_setup_teardown(test_events_counts_and_replay,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_append_and_rotate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_hashes, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("index", tests, NULL, NULL);
}
