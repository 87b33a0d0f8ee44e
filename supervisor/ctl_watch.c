/*
 * ctl_watch.c: the verbs that follow the spool as it changes. watch takes
 * the terminal and redraws, each second, every stage's jobs in each state
 * with a bar and the jobs running, all from one reading of the folders,
 * until q or a signal (its handler only sets a
 * flag); the terminal is given back as it was. events prints the lines
 * of index/events.jsonl.1 and then index/events.jsonl, of one job or all,
 * and with -f the new ones as they come, across rotations; a line still
 * being written waits for its end.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "spoold.h"
#include "spoolctl.h"

static volatile sig_atomic_t watch_quit, watch_resize;

static void
watch_signal(int sig)
{
	if (sig == SIGWINCH)
		watch_resize = 1;
	else
		watch_quit = 1;
}

static void
watch_bar(long long n[5], long long total, int width)
{
	static const char mark[5] = {'#', 'x', '>', '.', ':'};
	int i, k, used = 0;

	putchar('[');
	for (i = 0; i < 5 && total > 0; i++)
		for (k = 0; k < (int)(n[i] * width / total) && used < width;
		    k++, used++)
			putchar(mark[i]);
	for (; used < width; used++)
		putchar(' ');
	putchar(']');
}

/* The ID column: 40 wide, wider as the terminal leaves room, up to 120. */
static int
watch_id_width(void)
{
	struct winsize ws;
	int w = 40;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 83 + 40)
		w = ws.ws_col - 83 > 120 ? 120 : ws.ws_col - 83;
	return w;
}

/*
 * The forecast of schedule.json: of the pipeline (stage NULL), a line; of
 * a stage, its DRAINS column.
 */
static void
watch_forecast(json_t *sched, const char *stage)
{
	json_t *v = json_object_get(json_object_get(sched, "stages"), stage);
	char t[32];

	if (stage != NULL) {
		printf("%7s  ", ctl_forecast_words(v, "drain_s", "-", t,
		    sizeof(t)));
		return;
	}
	printf("pipeline empty in about %s   %lld of %lld CPUs taken\r\n",
	    ctl_forecast_words(sched, "eta_s", "-", t, sizeof(t)),
	    ctl_jint(sched, "cpus_used"), ctl_jint(sched, "cpus"));
}

/*
 * One screen: the table and the running jobs from one reading of the
 * folders, and when it was made; of the spool open as C.sp.
 */
void
ctl_watch_draw(void)
{
	char name[4 * NAME_MAX + 1], age[32], prog[PROGRESS_MAX], asof[32];
	time_t now = time(NULL);
	json_t *sched;
	long long n[5], *c, total;
	size_t i;
	int idw;

	for (i = 0; i < nents; i++)
		free(ents[i].id);
	nents = 0;
	ls_collect(-1, -1, LS_RUNNING);
	c = ls_count();
	sched = ctl_index_read("schedule.json");
	printf("\033[H\033[2J");
	printf("spoold %s   %s   q: quit\r\n\r\n", C.spooldir,
	    ctl_asof(asof, sizeof(asof), now));
	watch_forecast(sched, NULL);
	printf("\r\n%-12s %7s %8s %7s %8s %8s %7s  %s\r\n", "STAGE", "QUEUED",
	    "DEFERRED", "RUNNING", "DONE", "ERROR", "DRAINS",
	    "[# done  x error  > running  . queued  : deferred]");
	for (i = 0; i < C.nstages; i++) {
		n[0] = c[i * NSTATES + JS_DONE];
		n[1] = c[i * NSTATES + JS_ERROR];
		n[2] = c[i * NSTATES + JS_RUNNING];
		n[3] = c[i * NSTATES + JS_QUEUED];
		n[4] = c[i * NSTATES + JS_DEFERRED];
		total = n[0] + n[1] + n[2] + n[3] + n[4];
		printf("%-12s %7lld %8lld %7lld %8lld %8lld ", C.stages[i],
		    n[3], n[4], n[2], n[0], n[1]);
		watch_forecast(sched, C.stages[i]);
		watch_bar(n, total, 40);
		printf("\r\n");
	}
	free(c);
	json_decref(sched);
	idw = watch_id_width();
	printf("\r\nRUNNING\r\n%-10s %-*s %8s  %s\r\n", "STAGE", idw, "ID",
	    "ELAPSED", "PROGRESS");
	for (i = 0; i < nents; i++) {
		if (ents[i].state != JS_RUNNING)
			continue;
		name_shown(name, ents[i].id, sizeof(name));
		ctl_fmt_age(ents[i].st.started ? now - ents[i].st.started : 0,
		    age, sizeof(age));
		printf("%-10s %-*.*s %8s  %.60s\r\n", C.stages[ents[i].stage],
		    idw, idw, name, age, ctl_progress_of(&ents[i], prog,
		    sizeof(prog)));
	}
	fflush(stdout);
}

int
ctl_watch(const struct ctl_args *a)
{
	struct termios saved, raw;
	struct sigaction sa;
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	char c;

	(void)a;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		die(EX_USAGE, "watch needs a terminal");
	ctl_open(0);
	if (tcgetattr(STDIN_FILENO, &saved) == -1)
		die(EX_OSERR, "tcgetattr: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	raw = saved;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	printf("\033[?1049h\033[?25l");
	while (!watch_quit) {
		ctl_watch_draw();
		if (poll(&pfd, 1, 1000) > 0 && read(STDIN_FILENO, &c, 1) == 1 &&
		    (c == 'q' || c == 'Q' || c == 3))
			break;
	}
	printf("\033[?25h\033[?1049l");
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	return EX_OK;
}

/* Prints an event line, when it is of job id (or id is NULL). */
static void
tail_print(const char *line, const char *id)
{
	json_t *o;
	int match;

	if (id != NULL) {
		o = json_loads(line, 0, NULL);
		match = o != NULL && json_is_string(json_object_get(o, "id")) &&
		    strcmp(json_string_value(json_object_get(o, "id")), id) == 0;
		json_decref(o);
		if (!match)
			return;
	}
	fputs(line, stdout);
}

/*
 * Prints the whole lines of fp from where it is, of job id (or all when id
 * is NULL); a line still being written is left for the next call.
 */
void
ctl_events_read(FILE *fp, const char *id)
{
	static char *line;
	static size_t cap;
	ssize_t n;

	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] != '\n') {
			fseeko(fp, -(off_t)n, SEEK_CUR);
			break;
		}
		tail_print(line, id);
	}
	clearerr(fp);
	fflush(stdout);
}

/* Whether events.jsonl is no longer the file open as fp (rotated). */
static int
tail_rotated(FILE *fp)
{
	struct stat a, b;

	if (fstatat(C.sp.indexfd, "events.jsonl", &a, 0) == -1)
		return errno == ENOENT;
	return fstat(fileno(fp), &b) == 0 && (a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev);
}

/* index/name open to read, or NULL when there is none yet. */
static FILE *
tail_open(const char *name)
{
	FILE *fp;
	int fd;

	if ((fd = openat(C.sp.indexfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			die(EX_NOINPUT, "index/%s: %s", name, strerror(errno));
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL)
		fatal("fdopen");
	return fp;
}

/*
 * The events the spool keeps (events.jsonl.1, then events.jsonl), of one
 * job or all; with -f, then the new ones as they come, across rotations.
 */
int
ctl_events(const struct ctl_args *a)
{
	const char *id = a->argc == 1 ? a->argv[0] : NULL;
	FILE *fp;

	ctl_open(0);
	if ((fp = tail_open("events.jsonl.1")) != NULL) {
		ctl_events_read(fp, id);
		fclose(fp);
	}
	fp = tail_open("events.jsonl");
	for (;;) {
		if (fp != NULL)
			ctl_events_read(fp, id);
		if (!a->follow)
			break;
		if (fp != NULL && tail_rotated(fp)) {
			ctl_events_read(fp, id); /* what came before the rotation */
			fclose(fp);
			fp = NULL;
		}
		if (fp == NULL && (fp = tail_open("events.jsonl")) != NULL)
			continue;
		if (ferror(stdout))
			return EX_IOERR;
		poll(NULL, 0, 200);
	}
	if (fp != NULL)
		fclose(fp);
	return ferror(stdout) ? EX_IOERR : EX_OK;
}
