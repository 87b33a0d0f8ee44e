/*
 * test_queue.c: the in-memory queue of a stage: claim order (priority,
 * then mtime, then id), deferred jobs, held jobs and their keys, removal,
 * and the heaps kept right over many adds, removals and pops.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "queue.h"


#define NOW 1795426744

static struct timespec
ts(time_t sec, long nsec)
{
	struct timespec t = {sec, nsec};

	return t;
}

static struct qent *
add(struct queue *q, const char *id, time_t sec, long nsec)
{
	struct timespec t = ts(sec, nsec);
	struct qent *e = queue_add(q, id, &t, ts(NOW, 0));

	assert_non_null(e);
	assert_string_equal(e->id, id);
	return e;
}

/* Pops the first ready job, which must be id. */
static void
pop(struct queue *q, const char *id)
{
	struct qent *e = queue_peek(q);

	if (e == NULL)
		fail_msg("queue empty, wanted %s", id);
	assert_string_equal(e->id, id);
	queue_remove(q, e);
	assert_null(queue_find(q, id));
}

static int
setup(void **state)
{
	struct queue *q;

	if ((q = malloc(sizeof(*q))) == NULL)
		return -1;
	queue_init(q);
	*state = q;
	return 0;
}

static int
teardown(void **state)
{
	struct queue *q = *state;

	queue_clear(q);
	free(q);
	return 0;
}

static void
test_empty(void **state)
{
	struct queue *q = *state;
	struct timespec when = {42, 0};

	assert_null(queue_peek(q));
	assert_null(queue_find(q, "x"));
	assert_int_equal(queue_ready(q), 0);
	assert_int_equal(queue_deferred(q), 0);
	assert_int_equal(queue_due(q, ts(NOW, 0)), 0);
	assert_int_equal(queue_next_due(q, &when), 0);
	assert_int_equal(when.tv_sec, 42);
	queue_release(q, "k");
	assert_null(queue_peek(q));
}

static void
test_order(void **state)
{
	struct queue *q = *state;

	/* Added out of order on purpose. */
	add(q, "c-old", NOW - 100, 0);
	add(q, "b-newer", NOW - 10, 0);
	add(q, "5.20261123T093904.low", NOW - 5, 0);
	add(q, "9.20261123T093904.top", NOW - 1, 0);
	add(q, "a-newer", NOW - 10, 0);
	add(q, "a-nsec", NOW - 10, 5);
	add(q, "5.20261123T093904.early", NOW - 50, 0);
	add(q, "d-oldest", NOW - 1000, 999999999);
	add(q, "0.20261123T093904.zero", NOW - 2000, 0);
	assert_int_equal(queue_ready(q), 9);
	assert_int_equal(queue_deferred(q), 0);

	assert_int_equal(queue_find(q, "9.20261123T093904.top")->prio, 9);
	assert_int_equal(queue_find(q, "c-old")->prio, 0);
	/* Priority first, */
	pop(q, "9.20261123T093904.top");
	/* then the older mtime, */
	pop(q, "5.20261123T093904.early");
	pop(q, "5.20261123T093904.low");
	pop(q, "0.20261123T093904.zero");  /* priority 0 as "d-oldest" */
	pop(q, "d-oldest");
	pop(q, "c-old");
	/* to the nanosecond, then the id. */
	pop(q, "a-newer");
	pop(q, "b-newer");
	pop(q, "a-nsec");
	assert_null(queue_peek(q));
	assert_int_equal(queue_ready(q), 0);
}

static void
test_add_known(void **state)
{
	struct queue *q = *state;
	struct timespec t = ts(NOW - 1, 0);
	struct qent *e;

	e = add(q, "job", NOW - 5, 0);
	assert_null(queue_add(q, "job", &t, ts(NOW, 0)));
	/* The first stays as it was, once. */
	assert_ptr_equal(queue_find(q, "job"), e);
	assert_int_equal(e->mtime.tv_sec, NOW - 5);
	assert_int_equal(queue_ready(q), 1);
	/* Known while deferred or held too. */
	t = ts(NOW + 60, 0);
	e = add(q, "later", NOW + 60, 0);
	assert_null(queue_add(q, "later", &t, ts(NOW, 0)));
	e = add(q, "held", NOW - 1, 0);
	e->key = strdup("k");
	queue_hold(q, e);
	assert_null(queue_add(q, "held", &t, ts(NOW, 0)));
	assert_int_equal(q->count, 3);
	pop(q, "job");
	/* Once gone it can come again. */
	add(q, "job", NOW, 0);
	assert_int_equal(q->count, 3);
}

static void
test_deferred(void **state)
{
	struct queue *q = *state;
	struct qent *e;
	struct timespec when = {0, 0};

	add(q, "in-60", NOW + 60, 0);
	add(q, "in-10", NOW + 10, 0);
	add(q, "in-10b", NOW + 10, 0);
	add(q, "now", NOW, 0);    /* an mtime of now is not in the future */
	assert_int_equal(queue_deferred(q), 3);
	assert_int_equal(queue_ready(q), 1);
	assert_int_equal(queue_next_due(q, &when), 1);
	assert_int_equal(when.tv_sec, NOW + 10);

	pop(q, "now");
	assert_null(queue_peek(q));
	assert_int_equal(queue_due(q, ts(NOW, 0)), 0);
	assert_int_equal(queue_due(q, ts(NOW + 9, 0)), 0);
	assert_null(queue_peek(q));

	assert_int_equal(queue_due(q, ts(NOW + 10, 0)), 2);
	assert_int_equal(queue_deferred(q), 1);
	assert_int_equal(queue_ready(q), 2);
	assert_int_equal(queue_next_due(q, &when), 1);
	assert_int_equal(when.tv_sec, NOW + 60);
	pop(q, "in-10");
	pop(q, "in-10b");
	assert_null(queue_peek(q));

	assert_int_equal(queue_due(q, ts(NOW + 3600, 0)), 1);
	assert_int_equal(queue_next_due(q, &when), 0);
	e = queue_peek(q);
	assert_non_null(e);
	assert_int_equal(e->heap, Q_READY);
	pop(q, "in-60");

	/* Due to the nanosecond: not a moment before its time. */
	add(q, "in-10.5", NOW + 10, 500000000);
	assert_int_equal(queue_deferred(q), 1);
	assert_int_equal(queue_next_due(q, &when), 1);
	assert_int_equal(when.tv_nsec, 500000000);
	assert_int_equal(queue_due(q, ts(NOW + 10, 0)), 0);
	assert_int_equal(queue_due(q, ts(NOW + 10, 499999999)), 0);
	assert_null(queue_peek(q));
	assert_int_equal(queue_due(q, ts(NOW + 10, 500000000)), 1);
	pop(q, "in-10.5");
}

/* A ready job found with a future mtime waits again, and comes back. */
static void
test_defer_ready(void **state)
{
	struct queue *q = *state;
	struct timespec later = ts(NOW + 30, 0);
	struct qent *e;
	struct timespec when;

	add(q, "a", NOW - 20, 0);
	add(q, "b", NOW - 10, 0);
	e = queue_peek(q);
	assert_string_equal(e->id, "a");
	queue_defer(q, e, &later);
	assert_int_equal(e->heap, Q_DEFERRED);
	assert_int_equal(queue_deferred(q), 1);
	assert_int_equal(queue_next_due(q, &when), 1);
	assert_int_equal(when.tv_sec, NOW + 30);
	pop(q, "b");
	assert_null(queue_peek(q));
	assert_int_equal(queue_due(q, ts(NOW + 30, 0)), 1);
	/* Back with its new mtime. */
	assert_int_equal(queue_peek(q)->mtime.tv_sec, NOW + 30);
	pop(q, "a");
}

static void
test_hold_release(void **state)
{
	struct queue *q = *state;
	struct qent *e;

	add(q, "k1-a", NOW - 30, 0);
	add(q, "k1-b", NOW - 20, 0);
	add(q, "k2-a", NOW - 25, 0);
	add(q, "free", NOW - 10, 0);

	/* Held one at a time as they reach the front with a busy key. */
	e = queue_peek(q);
	assert_string_equal(e->id, "k1-a");
	e->key = strdup("k1");
	queue_hold(q, e);
	assert_int_equal(e->heap, Q_HELD);
	e = queue_peek(q);
	assert_string_equal(e->id, "k2-a");
	e->key = strdup("k2");
	queue_hold(q, e);
	e = queue_peek(q);
	assert_string_equal(e->id, "k1-b");
	e->key = strdup("k1");
	queue_hold(q, e);
	assert_int_equal(q->nheld, 3);
	/* Held jobs still count as waiting, but are not offered. */
	assert_int_equal(queue_ready(q), 4);
	e = queue_peek(q);
	assert_string_equal(e->id, "free");

	/* A key nobody holds, and a key that is a prefix: nothing moves. */
	queue_release(q, "k3");
	queue_release(q, "k");
	assert_int_equal(q->nheld, 3);
	assert_string_equal(queue_peek(q)->id, "free");

	/* Releasing k1 brings both of its jobs back, in claim order. */
	queue_release(q, "k1");
	assert_int_equal(q->nheld, 1);
	assert_int_equal(queue_ready(q), 4);
	pop(q, "k1-a");
	pop(q, "k1-b");
	pop(q, "free");
	assert_null(queue_peek(q));
	assert_int_equal(queue_ready(q), 1);
	queue_release(q, "k2");
	assert_int_equal(q->nheld, 0);
	pop(q, "k2-a");
	assert_int_equal(queue_ready(q), 0);
}

/* A held job can be removed (it left queue/) without its key's release. */
static void
test_remove_held_and_deferred(void **state)
{
	struct queue *q = *state;
	struct qent *e;

	e = add(q, "h", NOW - 5, 0);
	e->key = strdup("k");
	queue_hold(q, e);
	add(q, "d", NOW + 100, 0);
	add(q, "r", NOW - 1, 0);
	queue_remove(q, queue_find(q, "h"));
	assert_int_equal(q->nheld, 0);
	assert_true(TAILQ_EMPTY(&q->held));
	queue_remove(q, queue_find(q, "d"));
	assert_int_equal(queue_deferred(q), 0);
	assert_int_equal(queue_due(q, ts(NOW + 1000, 0)), 0);
	assert_int_equal(q->count, 1);
	queue_release(q, "k");
	pop(q, "r");
	assert_null(queue_peek(q));
	assert_int_equal(q->count, 0);
}

static void
test_remove_middle(void **state)
{
	struct queue *q = *state;
	char id[32];
	int i;

	for (i = 0; i < 50; i++) {
		str(id, sizeof(id), "j%02d", i);
		add(q, id, NOW - 1000 + i, 0);
	}
	for (i = 0; i < 50; i += 3) {
		str(id, sizeof(id), "j%02d", i);
		queue_remove(q, queue_find(q, id));
		assert_null(queue_find(q, id));
	}
	for (i = 0; i < 50; i++) {
		if (i % 3 == 0)
			continue;
		str(id, sizeof(id), "j%02d", i);
		pop(q, id);
	}
	assert_null(queue_peek(q));
	assert_int_equal(q->count, 0);
}

/* --- many --- */

#define MANY 100000

static int
ready_before(const struct qent *a, const struct qent *b)
{
	if (a->prio != b->prio)
		return a->prio > b->prio;
	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec;
	return strcmp(a->id, b->id) < 0;
}

static int
due_before(const struct qent *a, const struct qent *b)
{
	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec;
	return strcmp(a->id, b->id) < 0;
}

/* Every parent comes before its children, and knows its place. */
static void
check_heap(const struct heap *h, int (*before)(const struct qent *,
    const struct qent *))
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (h->v[i]->hidx != i)
			fail_msg("entry %zu says it is at %zu", i,
			    h->v[i]->hidx);
		if (i > 0 && before(h->v[i], h->v[(i - 1) / 2]))
			fail_msg("entry %zu before its parent", i);
	}
}

static uint64_t rng = 88172645463325252ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void
many_id(char *id, size_t len, int i)
{
	int prio = rnd() % 12;

	/* Some with a priority (0 to 9), some plain. */
	if (prio < 10)
		str(id, len, "%d.20261123T093904.%06d", prio, i);
	else
		str(id, len, "plain-%06d", i);
}

/* What orders a popped job, kept after it is freed. */
struct popped {
	int prio;
	struct timespec mtime;
	char id[64];
};

static void
popped_set(struct popped *p, const struct qent *e)
{
	p->prio = e->prio;
	p->mtime = e->mtime;
	str(p->id, sizeof(p->id), "%s", e->id);
}

/* Whether e comes before the job p was. */
static int
popped_after(const struct qent *e, const struct popped *p)
{
	if (e->prio != p->prio)
		return e->prio > p->prio;
	if (e->mtime.tv_sec != p->mtime.tv_sec)
		return e->mtime.tv_sec < p->mtime.tv_sec;
	if (e->mtime.tv_nsec != p->mtime.tv_nsec)
		return e->mtime.tv_nsec < p->mtime.tv_nsec;
	return strcmp(e->id, p->id) < 0;
}

static void
test_many(void **state)
{
	struct queue *q = *state;
	struct qent *e;
	struct popped last;
	char id[64];
	size_t popped = 0, removed = 0, deferred = 0, early, j;
	int i;

	for (i = 0; i < MANY; i++) {
		struct timespec t = ts(NOW - 5000 + (time_t)(rnd() % 5000),
		    (long)(rnd() % 4) * 250000000L);

		many_id(id, sizeof(id), i);
		/* One in ten in the future. */
		if (rnd() % 10 == 0) {
			t.tv_sec = NOW + 1 + rnd() % 1000;
			deferred++;
		}
		assert_non_null(queue_add(q, id, &t, ts(NOW, 0)));
		/* Now and then, forget one that is there. */
		if (i % 7 == 3) {
			many_id(id, sizeof(id), i - (int)(rnd() % 3));
			if ((e = queue_find(q, id)) != NULL) {
				if (e->heap == Q_DEFERRED)
					deferred--;
				queue_remove(q, e);
				removed++;
			}
		}
		if (i % 10007 == 0) {
			check_heap(&q->ready, ready_before);
			assert_int_equal(queue_deferred(q), deferred);
		}
	}
	check_heap(&q->ready, ready_before);
	assert_int_equal(q->count, MANY - removed);
	assert_int_equal(queue_deferred(q), deferred);
	assert_int_equal(queue_ready(q), MANY - removed - deferred);

	/* The ready ones come out in claim order. */
	memset(&last, 0, sizeof(last));
	while ((e = queue_peek(q)) != NULL) {
		if (popped > 0 && popped_after(e, &last))
			fail_msg("%s popped after %s", e->id, last.id);
		popped_set(&last, e);
		queue_remove(q, e);
		popped++;
		if (popped % 9973 == 0)
			check_heap(&q->ready, ready_before);
	}
	assert_int_equal(popped, MANY - removed - deferred);
	assert_int_equal(q->count, deferred);

	/* Then the deferred ones, as their time comes. */
	check_heap(&q->deferred, due_before);
	early = queue_due(q, ts(NOW + 500, 0));
	for (j = 0; j < q->ready.n; j++)
		assert_false(ts_after(q->ready.v[j]->mtime, ts(NOW + 500, 0)));
	for (j = 0; j < q->deferred.n; j++)
		assert_true(ts_after(q->deferred.v[j]->mtime, ts(NOW + 500, 0)));
	check_heap(&q->deferred, due_before);
	assert_int_equal(queue_ready(q), early);
	assert_int_equal(queue_due(q, ts(NOW + 1001, 0)) + early, deferred);
	assert_int_equal(queue_deferred(q), 0);
	assert_int_equal(queue_ready(q), deferred);
	popped = 0;
	check_heap(&q->ready, ready_before);
	while ((e = queue_peek(q)) != NULL) {
		assert_true(e->mtime.tv_sec > NOW);
		if (popped > 0 && popped_after(e, &last))
			fail_msg("%s popped after %s", e->id, last.id);
		popped_set(&last, e);
		queue_remove(q, e);
		popped++;
	}
	assert_int_equal(popped, deferred);
	assert_int_equal(q->count, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_empty),
		T(test_order),
		T(test_add_known),
		T(test_deferred),
		T(test_defer_ready),
		T(test_hold_release),
		T(test_remove_held_and_deferred),
		T(test_remove_middle),
		T(test_many),
#undef T
	};

	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
