/*
 * queue.h: the waiting jobs of a stage in memory (queue.c), for the
 * loop's files. It comes after spoold.h.
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <sys/queue.h>

/* queue.c: the waiting jobs of a stage, in memory, in claim order. */
struct qent {
	struct timespec mtime; /* submitted, or due when deferred */
	char *key;            /* set once it is known to have one */
	size_t hidx;          /* place in its heap */
	int prio;
	int heap;             /* Q_READY, Q_DEFERRED or Q_HELD */
	struct qent *hnext;   /* next in its hash chain */
	TAILQ_ENTRY(qent) hold; /* in the held list */
	char id[];
};

enum { Q_READY, Q_DEFERRED, Q_HELD };

struct heap {
	struct qent **v;
	size_t n, cap;
	int (*before)(const struct qent *, const struct qent *);
};

struct queue {
	struct heap ready, deferred;
	TAILQ_HEAD(, qent) held;
	size_t nheld;
	struct qent **hash;
	size_t hsize, count;
};

void queue_init(struct queue *);
void queue_clear(struct queue *);
struct qent *queue_add(struct queue *, const char *id,
    const struct timespec *mtime, struct timespec now);
struct qent *queue_peek(struct queue *);
void queue_remove(struct queue *, struct qent *);
void queue_defer(struct queue *, struct qent *, const struct timespec *);
void queue_hold(struct queue *, struct qent *);
void queue_release(struct queue *, const char *key);
struct qent *queue_find(struct queue *, const char *id);
size_t queue_due(struct queue *, struct timespec now);
int queue_next_due(struct queue *, struct timespec *when);
size_t queue_ready(const struct queue *);
size_t queue_deferred(const struct queue *);

#endif
