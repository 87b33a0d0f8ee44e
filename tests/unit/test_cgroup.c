/*
 * test_cgroup.c: the control groups of runs, against a fake hierarchy of
 * plain folders and files in a folder of /tmp, described by fake cgroup
 * and mountinfo files: cgroup v2 chosen over v1, v1's pids controller
 * found among the others, a namespace's root taken off; without a
 * hierarchy nothing done; the spool's group spoold.<dev>.<ino>; what runs
 * left in it killed and removed at start-up; the processes of a run's
 * group killed, by cgroup.kill where there is one; a group slow to empty
 * removed at a tick; the spool's group removed at the close. A run's
 * group that works needs a real hierarchy, whose kernel makes its
 * cgroup.procs: here, cgroup_enter shows only its names and its refusal.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/prctl.h>
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

#include "unit_files.h"
#include "unit_log.h"

#define DEV 0xfd01
#define INO 1234
#define GROUP "spoold.fd01.1234"

/* A line of mountinfo for a mount of root at dir, a folder of the test's. */
#define MOUNT(root, dir, type, super) \
    "36 25 0:30 " root " %1$s/" dir " rw,nosuid shared:9 - " type " " \
    type " " super "\n"
#define EXT4 "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"

static pid_t child; /* a process put in a fake group, killed at teardown */

static int
setup(void **state)
{
	child = 0;
	log_init(1, "spoold");
	return tmpdir_setup(state);
}

static int
teardown(void **state)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	logged_begin();
	cgroup_close();
	logged_end();
	return tmpdir_teardown(state);
}

#define CG_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* The fake proc/cgroup and proc/mountinfo. */
static void
proc(struct tmpdir *t, const char *cgroup, const char *mountinfo)
{
	assert_int_equal(mkdirat(t->fd, "proc", 0755), 0);
	make_file(t->fd, "proc/cgroup", cgroup);
	make_file(t->fd, "proc/mountinfo", mountinfo);
}

/* The same, where each %1$s of mounts is the test's folder. */
static char mounts_text[4096];
#define PROC(t, cgroup, mounts) proc(t, cgroup, \
    str(mounts_text, sizeof(mounts_text), mounts, (t)->path))

/* Makes the folders named, in order, under the test's. */
static void
dirs(struct tmpdir *t, const char *const *names)
{
	for (; *names != NULL; names++)
		assert_int_equal(mkdirat(t->fd, *names, 0755), 0);
}
#define DIRS(t, ...) dirs(t, (const char *const[]){__VA_ARGS__, NULL})

/* A cgroup v2 hierarchy at v2, spoold in its root group. */
static void
v2_root(struct tmpdir *t)
{
	PROC(t, "0::/\n", MOUNT("/", "v2", "cgroup2", "rw"));
	DIRS(t, "v2");
}

static int
is_dir(struct tmpdir *t, const char *path)
{
	struct stat st;

	return fstatat(t->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

/* cgroup_init on the fake proc, what it logs in logged. */
static int
init(struct tmpdir *t)
{
	char path[PATH_MAX];
	int r;

	str(path, sizeof(path), "%s/proc", t->path);
	logged_begin();
	r = cgroup_init_at(path, DEV, INO);
	logged_end();
	return r;
}

/* A process that waits to be killed, and dies with the test. */
static pid_t
sleeper(void)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(1);
		for (;;)
			pause();
	}
	return child = pid;
}

/*
 * The signal the sleeper died of: SIGKILL if the code under test sent it,
 * SIGTERM, sent here, if nothing did.
 */
static int
death(void)
{
	int ws;

	kill(child, SIGTERM);
	assert_int_equal(waitpid(child, &ws, 0), child);
	child = 0;
	assert_true(WIFSIGNALED(ws));
	return WTERMSIG(ws);
}

/* A fake group of runs whose cgroup.procs lists the sleeper. */
static void
group_of_sleeper(struct tmpdir *t, const char *group)
{
	char path[PATH_MAX], pid[32];

	DIRS(t, group);
	str(pid, sizeof(pid), "%ld\n", (long)sleeper());
	make_file(t->fd, str(path, sizeof(path), "%s/cgroup.procs", group),
	    pid);
}

/* cgroup_init makes the spool's group in folder dir of the test's. */
static void
made_in(struct tmpdir *t, const char *dir)
{
	char path[PATH_MAX];

	assert_int_equal(init(t), 0);
	assert_true(is_dir(t, str(path, sizeof(path), "%s/" GROUP, dir)));
}

/*
 * A fake group not removed while it has files, emptied: removed at the
 * next tick.
 */
static void
emptied(struct tmpdir *t, const char *group)
{
	char path[PATH_MAX];

	assert_true(is_dir(t, group));
	str(path, sizeof(path), "%s/cgroup.procs", group);
	assert_int_equal(unlinkat(t->fd, path, 0), 0);
	cgroup_tick();
	assert_false(is_dir(t, group));
}

static void
test_v2(void **state)
{
	struct tmpdir *t = *state;
	char want[PATH_MAX];

	PROC(t, "0::/svc\n", EXT4 MOUNT("/", "v2", "cgroup2", "rw"));
	DIRS(t, "v2", "v2/svc");
	made_in(t, "v2/svc");
	str(want, sizeof(want), "spoold: runs in control groups under "
	    "%s/v2/svc/" GROUP "\n", t->path);
	assert_string_equal(logged, want);
}

/* Both present: v2, whichever comes first. */
static void
test_v2_over_v1(void **state)
{
	struct tmpdir *t = *state;

	PROC(t, "4:pids:/svc\n0::/svc\n",
	    MOUNT("/", "pids", "cgroup", "rw,pids")
	    MOUNT("/", "v2", "cgroup2", "rw,nsdelegate"));
	DIRS(t, "v2", "v2/svc", "pids", "pids/svc");
	made_in(t, "v2/svc");
	assert_false(is_dir(t, "pids/svc/" GROUP));
}

/* v1: the pids controller's line and mount, among the others. */
static void
test_v1_pids(void **state)
{
	struct tmpdir *t = *state;

	PROC(t, "5:cpu,cpuacct:/svc\n4:pids:/mine\n1:name=systemd:/svc\n",
	    MOUNT("/", "sd", "cgroup", "rw,xattr,name=systemd")
	    MOUNT("/", "np", "cgroup", "rw,name=nopids")
	    MOUNT("/", "cpu", "cgroup", "rw,cpu,cpuacct")
	    MOUNT("/", "pids", "cgroup", "rw,pids"));
	DIRS(t, "sd", "sd/svc", "np", "np/mine", "cpu", "cpu/svc", "pids",
	    "pids/mine");
	made_in(t, "pids/mine");
	assert_false(is_dir(t, "sd/svc/" GROUP));
	assert_false(is_dir(t, "np/mine/" GROUP));
	assert_false(is_dir(t, "cpu/svc/" GROUP));
}

/* A v2 group spoold cannot make a group in: v1's pids instead. */
static void
test_v2_unusable(void **state)
{
	struct tmpdir *t = *state;

	PROC(t, "4:pids:/svc\n0::/svc\n",
	    MOUNT("/", "v2", "cgroup2", "rw")
	    MOUNT("/", "pids", "cgroup", "rw,pids"));
	DIRS(t, "v2", "pids", "pids/svc");
	made_in(t, "pids/svc");
	assert_false(is_dir(t, "v2/" GROUP));
}

/* A namespace's mount shows the hierarchy from its root. */
static void
test_namespace_root(void **state)
{
	struct tmpdir *t = *state;

	PROC(t, "0::/ns/svc\n", MOUNT("/ns", "v2", "cgroup2", "rw"));
	DIRS(t, "v2", "v2/svc");
	made_in(t, "v2/svc");
}

/* spoold in the hierarchy's root: the group at the mount point. */
static void
test_own_root(void **state)
{
	struct tmpdir *t = *state;

	v2_root(t);
	made_in(t, "v2");
}

/* No hierarchy: -1 said once, and runs without a group. */
static void
test_none(void **state)
{
	struct tmpdir *t = *state;
	char name[64] = "x", path[PATH_MAX];

	proc(t, "0::/svc\n4:pids:/svc\n", EXT4);
	assert_int_equal(init(t), -1);
	assert_string_equal(logged, "spoold: no control group spoold may "
	    "make: a run's processes are found by their process group and "
	    "environment\n");
	logged_begin();
	assert_int_equal(cgroup_enter(name, sizeof(name)), -1);
	assert_string_equal(name, "");
	cgroup_leave(name, "job");
	cgroup_tick();
	assert_string_equal(logged_end(), "");
	/* Nor any proc to read. */
	logged_begin();
	assert_int_equal(cgroup_init_at(str(path, sizeof(path), "%s/none",
	    t->path), DEV, INO), -1);
	logged_end();
	assert_int_equal(entries(t->fd), 1);
}

/*
 * At start-up, the groups of runs are killed and removed: one empty at
 * once, one whose process is killed once it is empty (a tick); the
 * spool's group's other entries are left.
 */
static void
test_leftovers(void **state)
{
	struct tmpdir *t = *state;

	v2_root(t);
	DIRS(t, "v2/" GROUP, "v2/" GROUP "/r1.0", "v2/" GROUP "/keep");
	group_of_sleeper(t, "v2/" GROUP "/r1.1");
	assert_int_equal(init(t), 0);
	assert_int_equal(death(), SIGKILL);
	assert_false(is_dir(t, "v2/" GROUP "/r1.0"));
	assert_true(is_dir(t, "v2/" GROUP "/keep"));
	assert_non_null(strstr(logged, "spoold: cgroup r1.1: killed what a "
	    "run of a previous spoold left\n"));
	assert_null(strstr(logged, "cgroup r1.0: killed"));
	emptied(t, "v2/" GROUP "/r1.1");
}

/* Without cgroup.kill: a run's processes killed one by one. */
static void
test_leave_signals(void **state)
{
	struct tmpdir *t = *state;

	v2_root(t);
	assert_int_equal(init(t), 0);
	/* Nothing left in it: the group goes at once, nothing said. */
	DIRS(t, "v2/" GROUP "/r7.0");
	logged_begin();
	cgroup_leave("r7.0", "job");
	assert_string_equal(logged_end(), "");
	assert_false(is_dir(t, "v2/" GROUP "/r7.0"));
	group_of_sleeper(t, "v2/" GROUP "/r7.1");
	logged_begin();
	cgroup_leave("r7.1", "job");
	logged_end();
	assert_int_equal(death(), SIGKILL);
	assert_non_null(strstr(logged, "spoold: job: killed "));
	emptied(t, "v2/" GROUP "/r7.1");
}

/* With cgroup.kill: written, the processes counted, none signalled. */
static void
test_leave_cgroup_kill(void **state)
{
	struct tmpdir *t = *state;

	v2_root(t);
	DIRS(t, "v2/" GROUP);
	make_file(t->fd, "v2/" GROUP "/cgroup.kill", "");
	assert_int_equal(init(t), 0);
	group_of_sleeper(t, "v2/" GROUP "/r8.0");
	make_file(t->fd, "v2/" GROUP "/r8.0/cgroup.kill", "");
	logged_begin();
	cgroup_leave("r8.0", "job");
	logged_end();
	assert_file(t->fd, "v2/" GROUP "/r8.0/cgroup.kill", "1");
	assert_non_null(strstr(logged, "spoold: job: killed 1 processes its "
	    "run left in its control group\n"));
	assert_int_equal(death(), SIGTERM);
}

/*
 * A run's group: r<pid>.<n>, a new n each time; where its cgroup.procs
 * cannot be opened (a plain folder has none), none, and no folder left.
 */
static void
test_enter_without_procs(void **state)
{
	struct tmpdir *t = *state;
	char name[64] = "x";
	unsigned n1, n2;
	long p1, p2;
	int gfd;

	v2_root(t);
	assert_int_equal(init(t), 0);
	logged_begin();
	assert_int_equal(cgroup_enter(name, sizeof(name)), -1);
	assert_string_equal(name, "");
	assert_int_equal(cgroup_enter(name, sizeof(name)), -1);
	logged_end();
	assert_int_equal(sscanf(logged, "spoold: cgroup r%ld.%u: cgroup.procs: "
	    "No such file or directory\nspoold: cgroup r%ld.%u: cgroup.procs: "
	    "No such file or directory\n", &p1, &n1, &p2, &n2), 4);
	assert_int_equal(p1, getpid());
	assert_int_equal(p2, getpid());
	assert_int_equal(n2, n1 + 1);
	gfd = openat(t->fd, "v2/" GROUP, O_RDONLY | O_DIRECTORY);
	assert_true(gfd != -1);
	assert_int_equal(entries(gfd), 0);
	close(gfd);
}

/* At the close, the spool's group goes once no run's is left in it. */
static void
test_close(void **state)
{
	struct tmpdir *t = *state;

	v2_root(t);
	DIRS(t, "v2/" GROUP, "v2/" GROUP "/r2.0");
	make_file(t->fd, "v2/" GROUP "/r2.0/cgroup.procs", "");
	assert_int_equal(init(t), 0);
	logged_begin();
	cgroup_close();
	logged_end();
	assert_true(is_dir(t, "v2/" GROUP "/r2.0"));
	assert_null(strstr(logged, "spoold: rmdir "));
	/* Empty at last: gone at the next start, then its spool's at close. */
	assert_int_equal(unlinkat(t->fd, "v2/" GROUP "/r2.0/cgroup.procs", 0),
	    0);
	assert_int_equal(init(t), 0);
	assert_false(is_dir(t, "v2/" GROUP "/r2.0"));
	logged_begin();
	cgroup_close();
	assert_string_equal(logged_end(), "");
	assert_false(is_dir(t, "v2/" GROUP));
	assert_true(is_dir(t, "v2"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CG_TEST(test_v2),
		CG_TEST(test_v2_over_v1),
		CG_TEST(test_v1_pids),
		CG_TEST(test_v2_unusable),
		CG_TEST(test_namespace_root),
		CG_TEST(test_own_root),
		CG_TEST(test_none),
		CG_TEST(test_leftovers),
		CG_TEST(test_leave_signals),
		CG_TEST(test_leave_cgroup_kill),
		CG_TEST(test_enter_without_procs),
		CG_TEST(test_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
