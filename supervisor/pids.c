/*
 * pids.c: every process spoold waits for, with its owner. Whoever starts
 * one (a run, a hook, a runner's helper, the sync helper) adds it with
 * what to do when it is reaped; the loop looks each reaped pid up once.
 * A pid not in the table is an orphan, a process spoold inherited.
 */
#include <stdlib.h>

#include "spoold.h"

#define PIDS_BUCKETS 256

struct pident {
	struct pident *next;
	pid_t pid;
	int kind;
	void (*reaped)(void *, int ws);
	void *arg;
};

static struct pident *table[PIDS_BUCKETS];

static struct pident **
pids_slot(pid_t pid)
{
	struct pident **p = &table[(unsigned)pid % PIDS_BUCKETS];

	while (*p != NULL && (*p)->pid != pid)
		p = &(*p)->next;
	return p;
}

/* pid, of kind (PID_*), is reaped by calling reaped(arg, wstatus). */
void
pids_add(pid_t pid, int kind, void (*reaped)(void *, int), void *arg)
{
	struct pident *e, **p = pids_slot(pid);

	if ((e = *p) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			fatal("calloc");
		*p = e;
	}
	e->pid = pid;
	e->kind = kind;
	e->reaped = reaped;
	e->arg = arg;
}

/* Forgets pid, if it is there. */
void
pids_del(pid_t pid)
{
	struct pident *e, **p = pids_slot(pid);

	if ((e = *p) == NULL)
		return;
	*p = e->next;
	free(e);
}

/* The kind of pid, or -1 when it is none of spoold's. */
int
pids_kind(pid_t pid)
{
	struct pident *e = *pids_slot(pid);

	return e != NULL ? e->kind : -1;
}

/*
 * pid was reaped with status ws: its owner is told, and it is forgotten.
 * Its kind, or -1 when it was none of spoold's.
 */
int
pids_reaped(pid_t pid, int ws)
{
	struct pident *e, **p = pids_slot(pid);
	void (*reaped)(void *, int);
	void *arg;
	int kind;

	if ((e = *p) == NULL)
		return -1;
	kind = e->kind;
	reaped = e->reaped;
	arg = e->arg;
	*p = e->next;
	free(e);
	if (reaped != NULL)
		reaped(arg, ws);
	return kind;
}

/* How many processes the table holds of kind. */
size_t
pids_count(int kind)
{
	struct pident *e;
	size_t i, n = 0;

	for (i = 0; i < PIDS_BUCKETS; i++)
		for (e = table[i]; e != NULL; e = e->next)
			n += e->kind == kind;
	return n;
}
