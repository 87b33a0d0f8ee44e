/*
 * ctl_info.c: spoolctl info, what runs here: the version of spoolctl, the
 * config and spool it reads, whether spoold holds the spool, and each
 * stage's command with its tools' versions as its version_command says,
 * run as this user with the stage's env, no input and a time limit. A
 * version_command that fails is shown with why, and makes the exit status
 * EX_UNAVAILABLE.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "spoold.h"
#include "spoolctl.h"

#define INFO_MAX 4096	/* bytes of a version_command's output kept */
#define INFO_WAIT 10	/* seconds it may take */

/* In the child of info_run: the stage's env, then the command. */
static void __attribute__((noreturn))
info_exec(const struct stconf *sc, int out)
{
	char **e;
	int null;

	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(out, STDERR_FILENO) == -1)
		_exit(127);
	for (e = sc->env; e != NULL && *e != NULL; e++)
		putenv(*e);
	execvp(sc->version[0], sc->version);
	dprintf(STDERR_FILENO, "%s: %s\n", sc->version[0], strerror(errno));
	_exit(127);
}

/*
 * Runs a stage's version_command as this user, its output (stdout and
 * stderr) into buf; 0 when it exits 0 within INFO_WAIT seconds, else -1
 * with what happened in why.
 */
static int
info_run(const struct stconf *sc, char *buf, size_t len, char *why,
    size_t wlen)
{
	struct pollfd pfd;
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int p[2], ws, left = INFO_WAIT * 1000;
	char drop[512];

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		die(EX_OSERR, "version_command: %s", strerror(errno));
	if (pid == 0)
		info_exec(sc, p[1]);
	close(p[1]);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	while (left > 0 && poll(&pfd, 1, 100) >= 0) {
		left -= 100;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (got + 1 < len)
			n = read(p[0], buf + got, len - got - 1);
		else
			n = read(p[0], drop, sizeof(drop));
		if (n <= 0)
			break;
		if (got + 1 < len)
			got += n;
	}
	buf[got] = '\0';
	close(p[0]);
	if (left <= 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
		;
	if (left <= 0)
		snprintf(why, wlen, "no answer in %ds", INFO_WAIT);
	else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return 0;
	else if (WIFEXITED(ws))
		snprintf(why, wlen, "exit %d", WEXITSTATUS(ws));
	else
		snprintf(why, wlen, "killed by signal %d", WTERMSIG(ws));
	return -1;
}

/* The daemon's pid, 0 when none holds the spool. */
static long
info_pid(void)
{
	char *text;
	long pid;

	if (C.sp.indexfd <= 0 || !spoold_running() ||
	    (text = fileio_read(C.sp.indexfd, "spoold.pid", 32)) == NULL)
		return 0;
	pid = strtol(text, NULL, 10);
	free(text);
	return pid;
}

/* A stage's versions: its version_command's output lines, or why not. */
static json_t *
info_stage(const struct stconf *sc, int *failed)
{
	char buf[INFO_MAX], why[64], *line, *next;
	json_t *o, *lines, *cmd;
	char **a;

	cmd = json_array();
	for (a = sc->command; *a != NULL; a++)
		json_array_append_new(cmd, json_string(*a));
	o = json_pack("{s:o}", "command", cmd);
	if (sc->version == NULL) {
		json_object_set_new(o, "versions", json_null());
		return o;
	}
	lines = json_array();
	if (info_run(sc, buf, sizeof(buf), why, sizeof(why)) == -1) {
		json_object_set_new(o, "failed", json_string(why));
		*failed = 1;
	}
	for (line = buf; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		name_text(line, line, strlen(line) + 1);
		if (line[0] != '\0')
			json_array_append_new(lines, json_string(line));
	}
	json_object_set_new(o, "versions", lines);
	return o;
}

static void
info_print(json_t *o)
{
	const char *name;
	json_t *st, *v;
	size_t i;

	printf("spoolctl %s\nconfig:  %s\nspool:   %s\n", SPOOLD_VERSION,
	    json_is_string(json_object_get(o, "config")) ?
	    json_string_value(json_object_get(o, "config")) : "(none: -d)",
	    json_string_value(json_object_get(o, "spool")));
	if (json_integer_value(json_object_get(o, "pid")) > 0)
		printf("spoold:  running, pid %lld\n",
		    (long long)json_integer_value(json_object_get(o, "pid")));
	else
		printf("spoold:  not running\n");
	json_object_foreach(json_object_get(o, "stages"), name, st) {
		printf("stage %s:", name);
		json_array_foreach(json_object_get(st, "command"), i, v)
			printf(" %s", json_string_value(v));
		putchar('\n');
		if (json_is_null(json_object_get(st, "versions")))
			printf("  (no version_command)\n");
		json_array_foreach(json_object_get(st, "versions"), i, v)
			printf("  %s\n", json_string_value(v));
		if (json_is_string(json_object_get(st, "failed")))
			printf("  (version_command failed: %s)\n",
			    json_string_value(json_object_get(st, "failed")));
	}
}

/*
 * What runs here: the versions of spoolctl and spoold's config, whether
 * spoold runs, and each stage's tools as its version_command says.
 */
int
ctl_info(const struct ctl_args *a)
{
	json_t *o, *stages;
	int failed = 0;
	size_t i;

	if (access(C.spooldir, F_OK) == 0)
		ctl_open(0);
	stages = json_object();
	for (i = 0; C.conf != NULL && i < C.conf->nstages; i++)
		json_object_set_new(stages, C.conf->stages[i]->name,
		    info_stage(C.conf->stages[i], &failed));
	o = json_pack("{s:s, s:s?, s:s, s:I, s:o}", "version", SPOOLD_VERSION,
	    "config", C.conf != NULL ? C.conf->path : NULL, "spool",
	    C.spooldir, "pid", (json_int_t)info_pid(), "stages", stages);
	if (a->json) {
		json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else
		info_print(o);
	json_decref(o);
	return failed ? EX_UNAVAILABLE : EX_OK;
}
