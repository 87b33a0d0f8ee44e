/*
 * unit.h: what the cmocka tests of spoold's modules share.
 */
#ifndef UNIT_H
#define UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "spoold.h"

static inline char *vstr(char *, size_t, const char *, va_list)
    __attribute__((format(printf, 3, 0)));
static inline char *str(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* vsnprintf that must not cut. */
static inline char *
vstr(char *buf, size_t len, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, len, fmt, ap);

	assert_true(n >= 0 && (size_t)n < len);
	return buf;
}

/* snprintf that must not cut. */
static inline char *
str(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vstr(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

static inline void
assert_status_equal(const struct status *a, const struct status *b)
{
	assert_string_equal(a->stage, b->stage);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->attempt, b->attempt);
	assert_int_equal(a->exit, b->exit);
	assert_int_equal(a->signal, b->signal);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->submitted, b->submitted);
	assert_int_equal(a->started, b->started);
	assert_int_equal(a->finished, b->finished);
	assert_int_equal(a->updated, b->updated);
	assert_string_equal(a->progress, b->progress);
	assert_int_equal(a->priority, b->priority);
	assert_string_equal(a->key, b->key);
	assert_int_equal(a->pgid, b->pgid);
	assert_true(a->pstart == b->pstart);
	assert_string_equal(a->sha256, b->sha256);
	assert_int_equal(a->forced, b->forced);
	assert_int_equal(a->remote, b->remote);
	assert_int_equal(a->unlogged, b->unlogged);
	assert_int_equal(a->lost, b->lost);
	assert_int_equal(a->use.known, b->use.known);
	assert_true(a->use.wall_ms == b->use.wall_ms);
	assert_true(a->use.user_ms == b->use.user_ms);
	assert_true(a->use.sys_ms == b->use.sys_ms);
	assert_true(a->use.maxrss_kb == b->use.maxrss_kb);
}

#endif
