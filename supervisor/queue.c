/*
 * queue.c: the jobs waiting in one stage's queue/, in memory. A hash finds
 * a job by id; one heap orders the ready jobs (higher priority, then older
 * mtime, then id), another the deferred ones (mtime in the future) by the
 * time they become ready; jobs whose key is busy wait in a list. Built by
 * one scan at start-up and kept current by inotify: no work here grows
 * with the length of the queue but by its logarithm.
 */
#include <stdlib.h>
#include <string.h>

#include "spoold.h"
#include "queue.h"

static int
queue_before_ready(const struct qent *a, const struct qent *b)
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
queue_before_due(const struct qent *a, const struct qent *b)
{
	if (a->mtime.tv_sec != b->mtime.tv_sec ||
	    a->mtime.tv_nsec != b->mtime.tv_nsec)
		return ts_after(b->mtime, a->mtime);
	return strcmp(a->id, b->id) < 0;
}

static void
heap_swap(struct heap *h, size_t i, size_t j)
{
	struct qent *t = h->v[i];

	h->v[i] = h->v[j];
	h->v[j] = t;
	h->v[i]->hidx = i;
	h->v[j]->hidx = j;
}

static void
heap_up(struct heap *h, size_t i)
{
	while (i > 0 && h->before(h->v[i], h->v[(i - 1) / 2])) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct heap *h, size_t i)
{
	size_t l, m;

	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < h->n && h->before(h->v[l], h->v[m]))
			m = l;
		if (l + 1 < h->n && h->before(h->v[l + 1], h->v[m]))
			m = l + 1;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

static void
heap_push(struct heap *h, struct qent *e)
{
	struct qent **v;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		if ((v = reallocarray(h->v, h->cap, sizeof(*v))) == NULL)
			fatal("reallocarray");
		h->v = v;
	}
	e->hidx = h->n;
	h->v[h->n++] = e;
	heap_up(h, e->hidx);
}

static void
heap_del(struct heap *h, struct qent *e)
{
	size_t i = e->hidx;

	if (i != --h->n) {
		heap_swap(h, i, h->n);
		heap_down(h, i);
		heap_up(h, i);
	}
}

static uint32_t
queue_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
queue_grow(struct queue *q)
{
	struct qent **t, *e, *next;
	size_t i, n = q->hsize ? q->hsize * 2 : 256;

	if ((t = calloc(n, sizeof(*t))) == NULL)
		fatal("calloc");
	for (i = 0; i < q->hsize; i++)
		for (e = q->hash[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = t[queue_hash(e->id) & (n - 1)];
			t[queue_hash(e->id) & (n - 1)] = e;
		}
	free(q->hash);
	q->hash = t;
	q->hsize = n;
}

void
queue_init(struct queue *q)
{
	memset(q, 0, sizeof(*q));
	q->ready.before = queue_before_ready;
	q->deferred.before = queue_before_due;
	TAILQ_INIT(&q->held);
}

void
queue_clear(struct queue *q)
{
	struct qent *e, *next;
	size_t i;

	for (i = 0; i < q->hsize; i++)
		for (e = q->hash[i]; e != NULL; e = next) {
			next = e->hnext;
			free(e->key);
			free(e);
		}
	free(q->hash);
	free(q->ready.v);
	free(q->deferred.v);
	queue_init(q);
}

struct qent *
queue_find(struct queue *q, const char *id)
{
	struct qent *e;

	if (q->hsize == 0)
		return NULL;
	for (e = q->hash[queue_hash(id) & (q->hsize - 1)]; e != NULL;
	    e = e->hnext)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

/* Adds a job seen in queue/; NULL when it was known already. */
struct qent *
queue_add(struct queue *q, const char *id, const struct timespec *mtime,
    struct timespec now)
{
	struct qent *e;
	size_t b;

	if (queue_find(q, id) != NULL)
		return NULL;
	if (q->count + 1 > q->hsize)
		queue_grow(q);
	if ((e = calloc(1, sizeof(*e) + strlen(id) + 1)) == NULL)
		fatal("calloc");
	strcpy(e->id, id);
	e->mtime = *mtime;
	e->prio = name_priority(id);
	b = queue_hash(id) & (q->hsize - 1);
	e->hnext = q->hash[b];
	q->hash[b] = e;
	q->count++;
	if (ts_after(*mtime, now)) {
		e->heap = Q_DEFERRED;
		heap_push(&q->deferred, e);
	} else {
		e->heap = Q_READY;
		heap_push(&q->ready, e);
	}
	return e;
}

struct qent *
queue_peek(struct queue *q)
{
	return q->ready.n > 0 ? q->ready.v[0] : NULL;
}

static void
queue_unlink(struct queue *q, struct qent *e)
{
	switch (e->heap) {
	case Q_READY:
		heap_del(&q->ready, e);
		break;
	case Q_DEFERRED:
		heap_del(&q->deferred, e);
		break;
	case Q_HELD:
		TAILQ_REMOVE(&q->held, e, hold);
		q->nheld--;
		break;
	}
}

/* Forgets a job: claimed, or gone from queue/. */
void
queue_remove(struct queue *q, struct qent *e)
{
	struct qent **p;

	queue_unlink(q, e);
	for (p = &q->hash[queue_hash(e->id) & (q->hsize - 1)]; *p != e;
	    p = &(*p)->hnext)
		;
	*p = e->hnext;
	q->count--;
	free(e->key);
	free(e);
}

/* A ready job turned out to have an mtime in the future. */
void
queue_defer(struct queue *q, struct qent *e, const struct timespec *mtime)
{
	queue_unlink(q, e);
	e->mtime = *mtime;
	e->heap = Q_DEFERRED;
	heap_push(&q->deferred, e);
}

/* A ready job whose key is busy waits aside until the key is free. */
void
queue_hold(struct queue *q, struct qent *e)
{
	queue_unlink(q, e);
	e->heap = Q_HELD;
	TAILQ_INSERT_TAIL(&q->held, e, hold);
	q->nheld++;
}

/* The held jobs of a key that became free are ready again. */
void
queue_release(struct queue *q, const char *key)
{
	struct qent *e, *next;

	for (e = TAILQ_FIRST(&q->held); e != NULL; e = next) {
		next = TAILQ_NEXT(e, hold);
		if (e->key != NULL && strcmp(e->key, key) == 0) {
			queue_unlink(q, e);
			e->heap = Q_READY;
			heap_push(&q->ready, e);
		}
	}
}

/* Moves the deferred jobs whose time has come to the ready heap. */
size_t
queue_due(struct queue *q, struct timespec now)
{
	struct qent *e;
	size_t n = 0;

	while (q->deferred.n > 0 && !ts_after(q->deferred.v[0]->mtime, now)) {
		e = q->deferred.v[0];
		heap_del(&q->deferred, e);
		e->heap = Q_READY;
		heap_push(&q->ready, e);
		n++;
	}
	return n;
}

/* The time the next deferred job becomes ready; 0 when there is none. */
int
queue_next_due(struct queue *q, struct timespec *when)
{
	if (q->deferred.n == 0)
		return 0;
	*when = q->deferred.v[0]->mtime;
	return 1;
}

size_t
queue_ready(const struct queue *q)
{
	return q->ready.n + q->nheld;
}

size_t
queue_deferred(const struct queue *q)
{
	return q->deferred.n;
}
