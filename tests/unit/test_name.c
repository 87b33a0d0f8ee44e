/*
 * test_name.c: the grammar of job names: what may name a job, text made
 * fit to show, names as shown, and what a name spoolctl gave carries (a
 * priority, a time, the pid of a writer that left it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static void
accepted(const char *id)
{
	const char *why = NULL;

	if (name_check(id, &why) != 0)
		fail_msg("\"%s\" refused: %s", id, why != NULL ? why : "?");
}

static void
refused(const char *id, const char *want)
{
	const char *why = NULL;

	assert_int_equal(name_check(id, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
}

static void
test_name_ok(void **state)
{
	char id[ID_MAX + 1];

	(void)state;
	accepted("job");
	accepted("a job with spaces");
	accepted("caf\xc3\xa9");                /* é */
	accepted("\xe6\x97\xa5\xe6\x9c\xac");   /* 日本 */
	accepted("\xf0\x9f\x93\x9a.cbz");       /* a 4-byte sequence */
	accepted("\xc2\xa0nbsp");               /* U+00A0: not a control */
	accepted("-leading-dash");
	accepted("7.20261123T093904.x");
	accepted("a~b!c'd\"e");
	memset(id, 'x', ID_MAX);
	id[ID_MAX] = '\0';
	assert_int_equal(strlen(id), 251);
	accepted(id);
}

static void
text_is(const char *in, size_t len, const char *want)
{
	char buf[64];

	assert_true(len <= sizeof(buf));
	memset(buf, 'Z', sizeof(buf));
	name_text(buf, in, len);
	assert_string_equal(buf, want);
}

/* Progress lines become valid UTF-8 and are cut between characters. */
static void
test_text(void **state)
{
	(void)state;
	text_is("page 1/3", 64, "page 1/3");
	text_is("caf\xe9 page", 64, "caf? page");
	text_is("tab\there", 64, "tab?here");
	text_is("nel\xc2\x85", 64, "nel?");
	text_is("\xc3\xa9t\xc3\xa9", 64, "\xc3\xa9t\xc3\xa9");
	text_is("ab\xc3\xa9", 4, "ab");	/* no half of the é */
	text_is("ab\xc3\xa9", 5, "ab\xc3\xa9");
	text_is("abcdef", 4, "abc");
	text_is("\xe2\x82", 64, "??");	/* cut short */
}

static void
test_name_bad(void **state)
{
	char id[ID_MAX + 2];

	(void)state;
	memset(id, 'x', ID_MAX + 1);
	id[ID_MAX + 1] = '\0';
	assert_int_equal(strlen(id), 252);
	refused(id, "name longer than 251 bytes");
	refused("a\nb", "control character in name");
	refused("a\tb", "control character in name");
	refused("\x01", "control character in name");
	refused("a\x1f", "control character in name");
	refused("del\x7f", "control character in name");
	refused("nel\xc2\x85", "control character in name");  /* U+0085 */
	refused("\xc2\x80", "control character in name");     /* U+0080 */
	refused("\xc2\x9f", "control character in name");     /* U+009F */
	refused("bad\xff", "name is not UTF-8");
	refused("\xfe", "name is not UTF-8");
	refused("rlm\xe2\x80\x8f.cbz", "bidirectional control character in name");
	refused("\xe2\x80\xae" "fdp.exe", "bidirectional control character in name");
	refused("iso\xe2\x81\xa6x", "bidirectional control character in name");
	refused("alm\xd8\x9c", "bidirectional control character in name");
	refused("\xc0\xaf", "name is not UTF-8");             /* overlong / */
	refused("\xc1\xbf", "name is not UTF-8");
	refused("\xe0\x80\xaf", "name is not UTF-8");         /* overlong */
	refused("\xf0\x80\x80\xaf", "name is not UTF-8");     /* overlong */
	refused("\xed\xa0\x80", "name is not UTF-8");         /* D800 */
	refused("\xed\xbf\xbf", "name is not UTF-8");         /* DFFF */
	refused("\xf4\x90\x80\x80", "name is not UTF-8");     /* > 10FFFF */
	refused("\xf5\x80\x80\x80", "name is not UTF-8");
	refused("\x80", "name is not UTF-8");                 /* lone tail */
	refused("\xe6\x97", "name is not UTF-8");             /* cut short */
	refused("\xe6\x97x", "name is not UTF-8");
	refused("\xc3", "name is not UTF-8");
}

/* 251 bytes of multibyte text is fine; one byte more is not. */
static void
test_name_length_multibyte(void **state)
{
	char id[ID_MAX + 8];
	size_t i;

	(void)state;
	for (i = 0; i + 3 <= 249; i += 3)
		memcpy(id + i, "\xe6\x97\xa5", 3);
	id[i++] = 'a';
	id[i++] = 'b';
	id[i] = '\0';
	assert_int_equal(strlen(id), 251);
	accepted(id);
	id[i++] = 'c';
	id[i] = '\0';
	refused(id, "name longer than 251 bytes");
}

static void
test_priority(void **state)
{
	(void)state;
	assert_int_equal(name_priority("7.20261123T093904.x"), 7);
	assert_int_equal(name_priority("9.20261123T093904.job.cbz"), 9);
	assert_int_equal(name_priority("0.20261123T093904.x"), 0);
	assert_int_equal(name_priority("1.20261123T093904."), 1);
	assert_int_equal(name_priority("job"), 0);
	assert_int_equal(name_priority(""), 0);
	assert_int_equal(name_priority("7"), 0);
	assert_int_equal(name_priority("7."), 0);
	assert_int_equal(name_priority("7.2026"), 0);
	assert_int_equal(name_priority("7.20261123T093904"), 0);
	assert_int_equal(name_priority("7.20261123T093904x"), 0);
	assert_int_equal(name_priority("7.20261123X093904.x"), 0);
	assert_int_equal(name_priority("7.2026112aT093904.x"), 0);
	assert_int_equal(name_priority("7.20261123T09390a.x"), 0);
	assert_int_equal(name_priority("77.20261123T093904.x"), 0);
	assert_int_equal(name_priority("x.20261123T093904.x"), 0);
	assert_int_equal(name_priority("7-20261123T093904.x"), 0);
	assert_int_equal(name_priority("-7.20261123T093904.x"), 0);
	assert_int_equal(name_priority("7.20261123T0939041.x"), 0);
}

static void
time_is(const char *id, int want, time_t sec, long nsec)
{
	struct timespec t = {12345, 678};

	if (name_time(id, &t) != want)
		fail_msg("name_time(\"%s\") is not %d", id, want);
	assert_int_equal(t.tv_sec, sec);
	assert_int_equal(t.tv_nsec, nsec);
}

/* The submission time in the names spoolctl gives, in UTC. */
static void
test_name_time(void **state)
{
	(void)state;
	/* 2026-11-23T09:39:04Z */
	time_is("7.20261123T093904.123456-4242-17.book.cbz", 1, 1795426744,
	    123456000);
	time_is("0.20261123T093904.000001-1-1.x", 1, 1795426744, 1000);
	time_is("7.20261123T093904.x", 1, 1795426744, 0);
	time_is("7.20261123T093904.", 1, 1795426744, 0);
	time_is("9.20000229T235959.999999", 1, 951868799, 999999000);
	/* Not such a name: none, and the time zeroed. */
	time_is("job", 0, 0, 0);
	time_is("", 0, 0, 0);
	time_is("7.20261123T093904", 0, 0, 0);
	time_is("77.20261123T093904.x", 0, 0, 0);
	time_is("7.20261123X093904.x", 0, 0, 0);
	time_is("7.20261323T093904.x", 0, 0, 0);   /* month 13 */
	/* The same whatever the local time zone. */
	setenv("TZ", "Pacific/Chatham", 1);
	tzset();
	time_is("7.20261123T093904.5.x", 1, 1795426744, 5000);
	unsetenv("TZ");
	tzset();
}


static void
shown_is(const char *id, size_t len, const char *want)
{
	char buf[64];

	assert_true(len <= sizeof(buf));
	memset(buf, 'Z', sizeof(buf));
	name_shown(buf, id, len);
	assert_string_equal(buf, want);
}

/*
 * A name fit for a job is shown as it is; any other with its bytes that
 * are not printable ASCII escaped, so that a log line stays one line.
 */
static void
test_shown(void **state)
{
	(void)state;
	shown_is("job.cbz", 64, "job.cbz");
	shown_is("caf\xc3\xa9", 64, "caf\xc3\xa9");
	shown_is("a\nb", 64, "a\\012b");
	shown_is("del\x7f", 64, "del\\177");
	shown_is("bad\xff", 64, "bad\\377");
	/* Not a name: its valid UTF-8 is escaped too. */
	shown_is("caf\xc3\xa9\x01", 64, "caf\\303\\251\\001");
	shown_is("rlm\xe2\x80\x8f", 64, "rlm\\342\\200\\217");
	/* Cut before an escape that does not fit, never in one. */
	shown_is("ab\x01", 7, "ab");
	shown_is("ab\x01", 8, "ab\\001");
	shown_is("abcdefgh", 5, "");
}

static void
leftover_is(const char *name, pid_t want, const char *wantid)
{
	const char *id = "unset";

	if (name_leftover(name, &id) != want)
		fail_msg("name_leftover(\"%s\") is not %ld", name, (long)want);
	if (wantid == NULL)
		assert_null(id);
	else
		assert_string_equal(id, wantid);
}

/* Who left a file in tmp/ or index/: the pid its name carries. */
static void
test_leftover(void **state)
{
	(void)state;
	leftover_is(".w.4242.17", 4242, NULL);
	leftover_is(".sha256.1.0", 1, NULL);
	leftover_is(".7.20261123T093904.123456-4242-17.book.cbz", 4242,
	    "7.20261123T093904.123456-4242-17.book.cbz");
	/* Not a writer's file. */
	leftover_is("job", 0, NULL);
	leftover_is(".w.", 0, NULL);
	leftover_is(".w.x.1", 0, NULL);
	leftover_is(".w.0.1", 0, NULL);
	leftover_is(".w.-5.1", 0, NULL);
	leftover_is(".w.4242", 0, NULL);
	leftover_is(".w.99999999999.1", 0, NULL);
	leftover_is(".status.json.new", 0, NULL);
	leftover_is(".7.20261123T093904.123456.book", 0, NULL);
	leftover_is("7.20261123T093904.123456-4242-17.x", 0, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_name_bad),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_name_length_multibyte),
		cmocka_unit_test(test_shown),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_name_time),
		cmocka_unit_test(test_leftover),
	};

	return cmocka_run_group_tests_name("name", tests, NULL, NULL);
}
