/*
 * test_child.c: the child's argv with its placeholders, how a wait status
 * is told, and one real child started by child_spawn.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "unit_stconf.h"


#define JOB "/srv/data/prep/running/7.20261123T093904.a b"
#define ID "7.20261123T093904.a b"
#define WORK "/srv/data/work/7.20261123T093904.a b"

static char **
expand(char **command)
{
	char **argv = child_argv(command, JOB, ID, "prep", WORK);

	assert_non_null(argv);
	return argv;
}

static void
test_argv_each_placeholder(void **state)
{
	char *command[] = {"/usr/bin/prog", "%f", "%i", "%s", "%w", "%%", NULL};
	char **argv;

	(void)state;
	argv = expand(command);
	assert_string_equal(argv[0], "/usr/bin/prog");
	assert_string_equal(argv[1], JOB);
	assert_string_equal(argv[2], ID);
	assert_string_equal(argv[3], "prep");
	assert_string_equal(argv[4], WORK);
	assert_string_equal(argv[5], "%");
	assert_null(argv[6]);
	/* A copy: the command is left as it was. */
	assert_string_equal(command[1], "%f");
	assert_true(argv[0] != command[0]);
	strv_free(argv);
}

static void
test_argv_several_and_text(void **state)
{
	char *command[] = {
		"prog",
		"--in=%f",
		"%i-%s-%i",
		"%w/out.pdf",
		"<%s>",
		"100%%",
		"%%f",
		"%%%f",
		"%%%%",
		"a%sb%wc",
		"plain",
		"",
		NULL
	};
	char **argv;

	(void)state;
	argv = expand(command);
	assert_string_equal(argv[0], "prog");
	assert_string_equal(argv[1], "--in=" JOB);
	assert_string_equal(argv[2], ID "-prep-" ID);
	assert_string_equal(argv[3], WORK "/out.pdf");
	assert_string_equal(argv[4], "<prep>");
	assert_string_equal(argv[5], "100%");
	assert_string_equal(argv[6], "%f");      /* not expanded twice */
	assert_string_equal(argv[7], "%" JOB);
	assert_string_equal(argv[8], "%%");
	assert_string_equal(argv[9], "aprepb" WORK "c");
	assert_string_equal(argv[10], "plain");
	assert_string_equal(argv[11], "");
	assert_null(argv[12]);
	strv_free(argv);
}

static void
test_argv_lone_percent(void **state)
{
	char *command[] = {"prog", "%", "100%", "%f%", "50%%%", NULL};
	char **argv;

	(void)state;
	argv = expand(command);
	assert_string_equal(argv[1], "%");
	assert_string_equal(argv[2], "100%");
	assert_string_equal(argv[3], JOB "%");
	assert_string_equal(argv[4], "50%%");
	assert_null(argv[5]);
	strv_free(argv);
}

/* conf.c refuses other placeholders; if one got here it stays as written. */
static void
test_argv_unknown_placeholder(void **state)
{
	char *command[] = {"prog", "%x", "a%Fb", NULL};
	char **argv;

	(void)state;
	argv = expand(command);
	assert_string_equal(argv[1], "%x");
	assert_string_equal(argv[2], "a%Fb");
	strv_free(argv);
}

static void
test_argv_values_not_reexpanded(void **state)
{
	char *command[] = {"prog", "%f|%i", NULL};
	char **argv;

	(void)state;
	/* A job whose name holds a placeholder is passed as it is. */
	argv = child_argv(command, "/d/q/%i%%", "%i%%", "s", "/w");
	assert_string_equal(argv[1], "/d/q/%i%%|%i%%");
	strv_free(argv);
}

static void
test_argv_long_values(void **state)
{
	char *command[] = {"prog", "%f%f%f%f", NULL};
	char job[PATH_MAX], want[4 * PATH_MAX];
	char **argv;

	(void)state;
	memset(job, 'j', sizeof(job) - 1);
	job[sizeof(job) - 1] = '\0';
	str(want, sizeof(want), "%s%s%s%s", job, job, job, job);
	argv = child_argv(command, job, "i", "s", "w");
	assert_string_equal(argv[1], want);
	strv_free(argv);
}

/* --- wait statuses in words --- */

static void
test_describe(void **state)
{
	char buf[128], want[128];

	(void)state;
	child_describe(EXITED(0), buf, sizeof(buf));
	assert_string_equal(buf, "exit 0");
	child_describe(EXITED(3), buf, sizeof(buf));
	assert_string_equal(buf, "exit 3");
	child_describe(EXITED(255), buf, sizeof(buf));
	assert_string_equal(buf, "exit 255");
	child_describe(KILLED(SIGKILL), buf, sizeof(buf));
	str(want, sizeof(want), "killed by signal 9 (%s)",
	    strsignal(SIGKILL));
	assert_string_equal(buf, want);
	child_describe(KILLED(SIGSEGV) | WCOREFLAG, buf, sizeof(buf));
	str(want, sizeof(want), "killed by signal %d (%s)", SIGSEGV,
	    strsignal(SIGSEGV));
	assert_string_equal(buf, want);
	child_describe(W_STOPCODE(SIGSTOP), buf, sizeof(buf));
	str(want, sizeof(want), "status %#x", W_STOPCODE(SIGSTOP));
	assert_string_equal(buf, want);
	child_describe(EXITED(3), buf, 5);
	assert_string_equal(buf, "exit");
}

/* --- a real spawn --- */

static const char script[] =
    /* No percent sign here: the script is an argument, expanded too. */
    "echo \"args:$0|$1|$2|$3\"\n"
    "env | grep -E '^(SPOOL_|MY_|PATH=)' | sort\n"
    "echo pwd:$(pwd)\n"
    "if read line; then echo stdin:$line; else echo stdin:eof; fi\n"
    "[ -e /proc/$$/fd/77 ] && echo fd77:leaked || echo fd77:closed\n"
    "set -- $(cat /proc/$$/stat)\n"
    "[ \"$1\" = \"$5\" ] && echo pgid-is-pid:1 || echo pgid-is-pid:0\n"
    "echo to-stderr >&2\n"
    "exit 75\n";

static int
spawn_setup(void **state)
{
	char *dir = strdup("/tmp/test_child.XXXXXX");

	if (dir == NULL || mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
spawn_teardown(void **state)
{
	char *dir = *state;
	int r;

	close(77);
	r = fileio_rmtree(AT_FDCWD, dir);
	free(dir);
	return r;
}

static void
test_spawn(void **state)
{
	const char *dir = *state;
	char logpath[PATH_MAX], work[PATH_MAX], job[PATH_MAX];
	char *command[] = {"/bin/sh", "-c", (char *)script, "%s", "%f", "%i",
		"x%%y", NULL};
	char *env[] = {"MY_VAR=a b", NULL};
	char buf[8192], want[PATH_MAX * 2];
	struct stconf *sc = stage();
	struct spawn sp;
	ssize_t n;
	pid_t pid;
	int logfd, ws, in[2], saved_in;

	if (access("/bin/sh", X_OK) == -1 || access("/proc/self/stat", R_OK))
		skip();
	assert_non_null(realpath(dir, work));
	str(job, sizeof(job), "%s/prep/running/j1", work);
	str(logpath, sizeof(logpath), "%s/j1.log", dir);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(logfd != -1);
	/* A descriptor without close-on-exec must not reach the child. */
	assert_int_equal(dup2(logfd, 77), 77);

	sc->command = command;
	sc->env = env;
	memset(&sp, 0, sizeof(sp));
	sp.sc = sc;
	sp.spooldir = "/srv/spool";
	sp.id = "j1";
	sp.job = job;
	sp.workdir = work;
	sp.heartbeat = "/srv/spool/work/j1/heartbeat";
	sp.attempt = 2;
	sp.logfd = logfd;
	/* Give this process a stdin with a line in it: not the child's. */
	assert_int_equal(pipe(in), 0);
	assert_int_equal(write(in[1], "inherited\n", 10), 10);
	close(in[1]);
	saved_in = dup(STDIN_FILENO);
	assert_true(saved_in != -1);
	assert_int_equal(dup2(in[0], STDIN_FILENO), STDIN_FILENO);
	close(in[0]);
	pid = child_spawn(&sp);
	assert_int_equal(dup2(saved_in, STDIN_FILENO), STDIN_FILENO);
	close(saved_in);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	close(77);
	close(logfd);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 75);

	logfd = open(logpath, O_RDONLY);
	assert_true(logfd != -1);
	n = read(logfd, buf, sizeof(buf) - 1);
	close(logfd);
	assert_true(n > 0);
	buf[n] = '\0';
	str(want, sizeof(want), "args:prep|%s|j1|x%%y\n", job);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "\nMY_VAR=a b\n"));
	assert_non_null(strstr(buf, "\nPATH=/usr/local/bin:/usr/bin:/bin\n"));
	assert_non_null(strstr(buf, "\nSPOOL_ATTEMPT=2\n"));
	assert_non_null(strstr(buf, "\nSPOOL_DIR=/srv/spool\n"));
	assert_non_null(strstr(buf,
	    "\nSPOOL_HEARTBEAT=/srv/spool/work/j1/heartbeat\n"));
	str(want, sizeof(want), "\nSPOOL_JOB=%s\n", job);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "\nSPOOL_JOB_ID=j1\n"));
	assert_non_null(strstr(buf, "\nSPOOL_STAGE=prep\n"));
	str(want, sizeof(want), "\nSPOOL_WORKDIR=%s\n", work);
	assert_non_null(strstr(buf, want));
	str(want, sizeof(want), "\npwd:%s\n", work);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "\nstdin:eof\n"));
	assert_non_null(strstr(buf, "\nfd77:closed\n"));
	assert_non_null(strstr(buf, "\npgid-is-pid:1\n"));
	assert_non_null(strstr(buf, "\nto-stderr\n"));
	/* Nothing of the test's own environment. */
	assert_null(strstr(buf, "\nHOME="));
}

/* Spawns command with its output to a fresh log; the log's text in buf. */
static pid_t
spawn_logged(char **command, char *buf, size_t len, int *err)
{
	char path[] = "/tmp/test_child.log.XXXXXX";
	struct stconf *sc = stage();
	struct spawn sp;
	ssize_t n;
	pid_t pid;
	int fd;

	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	sc->command = command;
	memset(&sp, 0, sizeof(sp));
	sp.sc = sc;
	sp.spooldir = sp.id = sp.job = sp.heartbeat = "/";
	sp.workdir = "/";
	sp.attempt = 1;
	sp.logfd = fd;
	errno = 0;
	pid = child_spawn(&sp);
	*err = errno;
	if (pid > 0) {
		int ws;
		assert_int_equal(waitpid(pid, &ws, 0), pid);
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return pid;
}

/* A program that cannot be run: no child, and the reason in the log. */
static void
test_spawn_not_found(void **state)
{
	char *in_path[] = {"no-such-program-spoold-test", "%f", NULL};
	char *absent[] = {"/nonexistent/spoold-test/prog", NULL};
	char *not_exec[] = {"/etc/passwd", NULL};
	char buf[1024];
	int err;

	(void)state;
	assert_int_equal(spawn_logged(in_path, buf, sizeof(buf), &err), -1);
	assert_int_equal(err, ENOENT);
	assert_string_equal(buf, "spoold: no-such-program-spoold-test: not "
	    "found in PATH\n");

	assert_int_equal(spawn_logged(absent, buf, sizeof(buf), &err), -1);
	assert_int_equal(err, ENOENT);
	assert_string_equal(buf, "spoold: exec /nonexistent/spoold-test/prog: "
	    "No such file or directory\n");

	/* Without an x bit, not even root may run it. */
	assert_int_equal(spawn_logged(not_exec, buf, sizeof(buf), &err), -1);
	assert_int_equal(err, EACCES);
	assert_string_equal(buf, "spoold: exec /etc/passwd: Permission "
	    "denied\n");
}

/* A bare program name is looked up in the PATH of the stage's env. */
static void
test_spawn_path_lookup(void **state)
{
	char *command[] = {"sh", "-c", "echo ran; exit 3", NULL};
	char buf[1024];
	int err;

	(void)state;
	if (access("/bin/sh", X_OK) == -1)
		skip();
	assert_true(spawn_logged(command, buf, sizeof(buf), &err) > 0);
	assert_string_equal(buf, "ran\n");
}

/*
 * The signals a child starts with ignored, from its SigIgn line, but for
 * glibc's own 32 and 33: its sigaction refuses them, and make starts its
 * commands with them ignored.
 */
static unsigned long long
ignored_of(char **command)
{
	char buf[1024];
	int err;

	assert_true(spawn_logged(command, buf, sizeof(buf), &err) > 0);
	assert_true(strncmp(buf, "SigIgn:\t", 8) == 0);
	return strtoull(buf + 8, NULL, 16) & ~(3ULL << 31);
}

/*
 * A signal spoold ignores, even one it comes to ignore after it started
 * children, is not ignored by the next child.
 */
static void
test_spawn_signals_default(void **state)
{
	char *command[] = {"sh", "-c", "grep SigIgn: /proc/self/status", NULL};

	(void)state;
	if (access("/bin/sh", X_OK) == -1)
		skip();
	assert_int_equal(ignored_of(command), 0);
	launch_ignore(SIGUSR2);
	assert_int_equal(ignored_of(command), 0);
	signal(SIGUSR2, SIG_DFL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_each_placeholder),
		cmocka_unit_test(test_argv_several_and_text),
		cmocka_unit_test(test_argv_lone_percent),
		cmocka_unit_test(test_argv_unknown_placeholder),
		cmocka_unit_test(test_argv_values_not_reexpanded),
		cmocka_unit_test(test_argv_long_values),
		cmocka_unit_test(test_describe),
		cmocka_unit_test_setup_teardown(test_spawn, spawn_setup,
		    spawn_teardown),
		cmocka_unit_test(test_spawn_not_found),
		cmocka_unit_test(test_spawn_path_lookup),
		cmocka_unit_test(test_spawn_signals_default),
	};

	return cmocka_run_group_tests_name("child", tests, NULL, NULL);
}
