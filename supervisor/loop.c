/*
 * loop.c: the one poll loop of spoold. Signals arrive on a signalfd, new
 * jobs on inotify, and everything else is a deadline: the tick, a child's
 * timeout or kill, a deferred job's time, a throttled stage's hold-off, the
 * end of the shutdown grace. Each pass claims what the slots allow, then
 * asks the sync helper to make its renames durable, without waiting. A
 * reaped child is told to its owner through the pid table; SIGHUP reloads,
 * SIGTERM stops.
 */
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>

#include "spoold.h"
#include "loop.h"

#define RETAIN_EVERY 3600 /* seconds between looks at done/ for retain */
#define CLEAN_EVERY 3600 /* seconds between looks at tmp/ for leftovers */

static void loop_shutdown(int);
static int loop_ours(pid_t, const char *);

/*
 * Reaps every child that ended, each told to its owner once, with what it
 * cost in L.ru; a helper of a runner's may have ended runs. A pid of no
 * owner was an orphan's.
 */
static void
loop_reap(void)
{
	pid_t pid;
	int ws, kind;

	while ((pid = wait4(-1, &ws, WNOHANG, &L.ru)) > 0)
		if ((kind = pids_reaped(pid, ws)) == PID_HELPER)
			run_sweep();
		else if (kind == -1 || kind == PID_SYNC)
			L.orphans = 1; /* its children are ours now */
	if (pid == -1 && errno != ECHILD)
		log_warn("wait4");
}

/* Copies the output of the runs under log_max to their logs. */
static void
loop_output(void)
{
	struct epoll_event ev[32];
	struct run *r;
	int i, n;

	n = epoll_wait(L.epfd, ev, 32, 0);
	for (i = 0; i < n; i++) {
		r = ev[i].data.ptr;
		if (output_read(&r->out, 4) == 0)
			output_close(&r->out);
	}
}

/*
 * Whether the spool is still the one spoold holds: a spool folder removed
 * or replaced (by another, which another spoold may hold) stops it.
 */
static void
loop_spool(void)
{
	if (L.gone)
		return;
	if (!spool_replaced(L.sp, L.conf->spool)) {
		lock_pidfile(L.sp);
		return;
	}
	L.gone = 1;
	log_warnx("%s: the spool's folder was removed or replaced; no more "
	    "claims: stopping", L.conf->spool);
	loop_shutdown(0);
}

static void
loop_tick(void)
{
	const struct runner *rn = NULL;
	struct timespec now = mono_now();

	loop_spool();
	stage_folders();
	stage_room();
	run_stale();
	cgroup_tick();
	if (ms_between(L.nextretain, now) >= 0) {
		report_retain();
		L.nextretain = ms_after(now, RETAIN_EVERY * 1000LL);
	}
	if (ms_between(L.nextclean, now) >= 0) {
		intake_clean();
		L.nextclean = ms_after(now, CLEAN_EVERY * 1000LL);
	}
	events_tick(L.sp, L.conf->events_max);
	while ((rn = runner_next(rn)) != NULL)
		if (rn->tick != NULL)
			rn->tick();
	run_sweep(); /* the runs a tick ended */
	report_metrics();
	report_title();
}

static void
loop_reload(void)
{
	struct conf *c;

	log_info("SIGHUP: reloading %s", L.conf->path);
	notify_reloading();
	if ((c = conf_load(L.conf->path, geteuid())) == NULL)
		log_warnx("reload failed; the config in force stays");
	else if (strcmp(c->spool, L.conf->spool) != 0) {
		log_warnx("reload: the spool cannot change while running "
		    "(restart spoold); the config in force stays");
		conf_free(c);
	} else {
		recover_apply(c, 0);
		conf_free(L.conf);
		L.conf = c;
		log_info("reloaded");
	}
	notify_send("READY=1");
}

static void
loop_shutdown(int hard)
{
	struct stage *st;
	struct run *r;

	if (L.stopping == 0) {
		notify_send("STOPPING=1");
		L.stopping = 1;
		L.stopat = ms_after(mono_now(), L.conf->shutdown_grace * 1000LL);
		log_info("stopping: waiting up to %lds for %ld children",
		    L.conf->shutdown_grace, L.nrun);
	}
	if (!hard)
		return;
	L.stopping = 2;
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (!r->runner->survives)
				run_stop(r, STOP_SHUTDOWN);
	hook_stop_all(L.conf->kill_grace);
}

static void
loop_signals(void)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(L.sigfd, &si, sizeof(si))) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			loop_reload();
			break;
		case SIGTERM:
		case SIGINT:
			loop_shutdown(L.stopping != 0);
			break;
		case SIGCHLD:
			break;
		}
	}
	loop_reap();
}

static void
deadline(long long *ms, struct timespec now, struct timespec at)
{
	long long d = ms_between(now, at);

	if (d < 0)
		d = 0;
	if (*ms < 0 || d < *ms)
		*ms = d;
}

/* Milliseconds until the next deadline; -1 for none. */
static int
loop_timeout(void)
{
	struct timespec now = mono_now(), at;
	long long ms = -1;
	struct stage *st;
	struct run *r;
	struct timespec due, wall = real_now();

	deadline(&ms, now, L.nexttick);
	if (hook_next(&at))
		deadline(&ms, now, at);
	if (recover_next(&at))
		deadline(&ms, now, at);
	if (L.stopping == 1)
		deadline(&ms, now, L.stopat);
	TAILQ_FOREACH(st, &L.stages, entry) {
		if (!L.stopping && queue_next_due(&st->q, &due))
			deadline(&ms, now, ms_after(now,
			    ms_between(wall, due) + 1)); /* not a ms early */
		if (!L.stopping && queue_peek(&st->q) != NULL &&
		    st->nrun < st->sc->slots && ms_between(now, st->holdoff) > 0)
			deadline(&ms, now, st->holdoff);
		TAILQ_FOREACH(r, &st->runs, entry) {
			if (r->stop != STOP_NONE && !r->killed)
				deadline(&ms, now, r->killat);
			else if (r->stop == STOP_NONE && st->sc->timeout > 0 &&
			    !r->pending)
				deadline(&ms, now, ms_after(r->t0,
				    st->sc->timeout * 1000LL));
		}
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int
loop_setup(void)
{
	const struct runner *rn = NULL;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (L.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		return -1;
	}
	launch_ignore(SIGPIPE);
	while ((rn = runner_next(rn)) != NULL)
		if (rn->init != NULL)
			rn->init(L.sp);
	if ((L.infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("inotify_init1");
		return -1;
	}
	if ((L.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("epoll_create1");
		return -1;
	}
	return stage_watch_cancel();
}

/* The config in force of a stage, for its hooks; NULL once it is gone. */
static const struct stconf *
loop_stage_conf(const char *name)
{
	struct stage *st = stage_find(name);

	return st != NULL && !st->retired ? st->sc : NULL;
}

/*
 * One pass: deferred jobs due, claims, hooks, and one sync asked for all
 * of it.
 */
static void
loop_pass(void)
{
	struct stage *st;
	struct timespec now = real_now();

	recover_tick();
	if (L.rescan)
		intake_rescan();
	if (L.orphans) {
		L.orphans = 0;
		child_orphans(loop_ours);
	}
	if (!L.stopping) {
		TAILQ_FOREACH(st, &L.stages, entry)
			queue_due(&st->q, now);
		claim_all();
	}
	hook_start(L.sp, L.conf->spool, loop_stage_conf);
	syncer_sync(L.sp);
}

/* Helpers the runners still have running. */
static size_t
runners_busy(void)
{
	const struct runner *rn = NULL;
	size_t n = 0;

	while ((rn = runner_next(rn)) != NULL)
		if (rn->busy != NULL)
			n += rn->busy();
	return n;
}

/*
 * Whether a child of spoold is its own: the sync helper, a run's or a
 * hook's leader (job NULL), or a process of a run or a hook still going
 * (its SPOOL_JOB).
 */
static int
loop_ours(pid_t pid, const char *job)
{
	char path[PATH_MAX];
	struct stage *st;
	struct run *r;

	if (job == NULL)
		return pids_kind(pid) != -1;
	if (hook_ours(job))
		return 1;
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry) {
			fileio_path(path, sizeof(path), "%s/%s/running/%s",
			    L.conf->spool, st->name, r->id);
			if (strcmp(path, job) == 0)
				return 1;
		}
	return 0;
}

static void
loop_free(void)
{
	struct stage *st;
	struct run *r;
	const char *last = NULL;
	size_t n = 0;

	while ((st = TAILQ_FIRST(&L.stages)) != NULL) {
		TAILQ_REMOVE(&L.stages, st, entry);
		while ((r = TAILQ_FIRST(&st->runs)) != NULL) {
			TAILQ_REMOVE(&st->runs, r, entry);
			close(r->logfd);
			last = r->runner->place;
			run_free(r);
			n++;
		}
		queue_clear(&st->q);
		spool_stage_close(&st->sd);
		stconf_free(st->sc);
		free(st->name);
		free(st);
	}
	if (n > 0)
		log_info("%zu jobs left running on %s, taken over at the "
		    "next start", n, last);
	recover_clear();
	conf_free(L.conf);
	close(L.sigfd);
	close(L.infd);
	close(L.epfd);
}

/*
 * Starts the loop on conf and the spool: the stages, their recovery, the
 * counters and the cancels left; takes conf. 0, or -1 when it cannot.
 */
int
loop_start(struct conf *conf, struct spool *sp)
{
	memset(&L, 0, sizeof(L));
	TAILQ_INIT(&L.leftovers);
	L.conf = conf;
	L.sp = sp;
	L.started = mono_now();
	TAILQ_INIT(&L.stages);
	if (loop_setup() == -1 || recover_apply(conf, 1) == -1)
		return -1;
	if (sp->syncpid > 0)
		pids_add(sp->syncpid, PID_SYNC, NULL, NULL);
	recover_counters();
	fileio_scan(sp->cancelfd, intake_cancel_one, NULL);
	syncer_sync(sp);
	log_info("started, pid %ld, spool %s", (long)getpid(), conf->spool);
	notify_send("READY=1");
	L.pfd[0] = (struct pollfd){.fd = L.sigfd, .events = POLLIN};
	L.pfd[1] = (struct pollfd){.fd = L.infd, .events = POLLIN};
	L.pfd[2] = (struct pollfd){.fd = -1, .events = POLLIN};
	L.pfd[3] = (struct pollfd){.fd = L.epfd, .events = POLLIN};
	L.nexttick = L.nextretain = L.nextclean = mono_now();
	return 0;
}

/*
 * One turn of the loop: a pass, the tick when due, and one poll of at most
 * maxms (-1: until the next deadline). 1 once spoold is to stop, else 0.
 */
int
loop_once(int maxms)
{
	struct timespec now;
	int timeout, n;

	loop_pass();
	now = mono_now();
	if (ms_between(L.nexttick, now) >= 0) {
		loop_tick();
		L.nexttick = ms_after(now, L.conf->tick * 1000LL);
	}
	if (L.stopping == 1 && ms_between(L.stopat, now) >= 0)
		loop_shutdown(1);
	if (L.stopping && L.nrun == 0 && hook_count() == 0 &&
	    runners_busy() == 0 && TAILQ_EMPTY(&L.leftovers))
		return 1;
	timeout = loop_timeout();
	if (maxms >= 0 && (timeout < 0 || timeout > maxms))
		timeout = maxms;
	L.pfd[2].fd = L.sp->syncack;
	if ((n = poll(L.pfd, 4, timeout)) == -1 && errno != EINTR)
		fatal("poll");
	if (L.pfd[2].revents & (POLLIN | POLLHUP))
		syncer_done(L.sp);
	if (L.pfd[3].revents & POLLIN)
		loop_output();
	if (L.pfd[0].revents & POLLIN)
		loop_signals();
	if (L.pfd[1].revents & POLLIN)
		intake_read();
	if (n == 0)
		run_stale();
	return 0;
}

/* The end of the loop: the last counters, the last sync, all freed. */
int
loop_end(void)
{
	L.down = 1;
	report_metrics();
	syncer_wait(L.sp);
	loop_free();
	log_info("stopped");
	return L.gone ? 1 : 0;
}

/*
 * Runs spoold until it is told to stop, or its spool is taken away; takes
 * conf and frees it. 0, 1 when the spool's folder was removed or
 * replaced, -1 when it could not start.
 */
int
loop_run(struct conf *conf, struct spool *sp)
{
	if (loop_start(conf, sp) == -1)
		return -1;
	while (!loop_once(-1))
		;
	return loop_end();
}
