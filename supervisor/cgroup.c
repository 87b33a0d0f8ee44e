/*
 * cgroup.c: each local run in a control group of its own, so that every
 * process it starts dies with it: one that left its process group and its
 * environment (setsid, env -i) too, and even across a kill -9 of spoold.
 * The groups of a spool are made under one group named for the spool,
 * spoold.<device>.<inode>, in spoold's own group of the cgroup v2
 * hierarchy, or else of cgroup v1's pids controller. Whatever is left in
 * them at start-up was a previous spoold's, and is killed. Without a
 * hierarchy spoold may write, this module does nothing, and a run's
 * processes are found by their process group and environment alone.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"

#define CGROUP_PASSES 100 /* rounds of kill for a v1 group that forks */

static struct {
	int dfd;	/* the spool's group, or -1 */
	int kill;	/* the hierarchy has cgroup.kill (v2, Linux 5.14) */
	unsigned seq;
	char **gone;	/* groups killed, to remove once empty */
	char path[PATH_MAX]; /* the spool's group */
} CG = {.dfd = -1};

/*
 * The mount point of the hierarchy whose type is fstype (and whose super
 * options name opt, when opt is not NULL), with the root it mounts, from
 * a line of /proc/self/mountinfo.
 */
static int
cgroup_mount(const char *line, const char *fstype, const char *opt,
    char *mnt, size_t mlen, char *root, size_t rlen)
{
	char r[PATH_MAX], m[PATH_MAX], type[64], super[512];
	const char *dash;

	if ((dash = strstr(line, " - ")) == NULL ||
	    sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2 ||
	    sscanf(dash + 3, "%63s %*s %511s", type, super) != 2 ||
	    strcmp(type, fstype) != 0)
		return 0;
	if (opt != NULL) {
		char *o, *p = super;
		while ((o = strsep(&p, ",")) != NULL && strcmp(o, opt) != 0)
			;
		if (o == NULL)
			return 0;
	}
	strlcpy(mnt, m, mlen);
	strlcpy(root, r, rlen);
	return 1;
}

/* Opens file name of the folder proc, as /proc/self's. */
static FILE *
cgroup_fopen(const char *proc, const char *name)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", proc, name) >=
	    sizeof(path))
		return NULL;
	return fopen(path, "re");
}

/*
 * spoold's group in the hierarchy named by key in proc's cgroup file ("" for
 * v2, "pids" for v1's controller), as the hierarchy sees it, in own.
 */
static int
cgroup_key(const char *proc, const char *key, char *own, size_t len)
{
	char line[PATH_MAX + 64], *ctl, *p;
	FILE *fp;
	int found = 0;

	if ((fp = cgroup_fopen(proc, "cgroup")) == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((ctl = strchr(line, ':')) == NULL ||
		    (p = strchr(++ctl, ':')) == NULL)
			continue;
		*p++ = '\0';
		for (char *c, *l = ctl; (c = strsep(&l, ",")) != NULL;)
			if (strcmp(c, key) == 0 && strlcpy(own, p, len) < len)
				found = 1;
	}
	fclose(fp);
	return found ? 0 : -1;
}

/*
 * spoold's own group in the hierarchy named by key, as a path under its
 * mount, from the files cgroup and mountinfo of proc (/proc/self).
 */
static int
cgroup_own(const char *proc, const char *key, const char *fstype,
    const char *opt, char *path, size_t len)
{
	char line[PATH_MAX + 64], own[PATH_MAX], mnt[PATH_MAX], root[PATH_MAX];
	char *p;
	FILE *fp;
	int found = 0;

	if (cgroup_key(proc, key, own, sizeof(own)) == -1 ||
	    (fp = cgroup_fopen(proc, "mountinfo")) == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = cgroup_mount(line, fstype, opt, mnt, sizeof(mnt), root,
		    sizeof(root));
	fclose(fp);
	if (!found)
		return -1;
	/* A mount of part of the hierarchy (a namespace) shows from its root. */
	p = own;
	if (strcmp(root, "/") != 0 && strncmp(own, root, strlen(root)) == 0)
		p = own + strlen(root);
	if (strcmp(p, "/") == 0)
		p = "";
	if ((size_t)snprintf(path, len, "%s%s", mnt, p) >= len)
		return -1;
	return 0;
}

/* Opens (and makes) the spool's group under the folder at path. */
static int
cgroup_open(const char *path, const char *name)
{
	int pfd, fd = -1;

	if ((pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (mkdirat(pfd, name, 0700) == 0 || errno == EEXIST)
		fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	close(pfd);
	return fd;
}

/* Signals every process listed in a group's cgroup.procs: how many. */
static int
cgroup_signal(int gfd, int sig)
{
	char buf[4096], *p, *end;
	ssize_t n;
	int fd, k = 0;
	long pid;

	if ((fd = openat(gfd, "cgroup.procs", O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		/* A read ends between two lines. */
		for (p = buf; (pid = strtol(p, &end, 10)) > 0; p = end) {
			if (kill((pid_t)pid, sig) == 0)
				k++;
		}
	}
	close(fd);
	return k;
}

/*
 * Kills every process of group name, at once where cgroup.kill exists:
 * how many there were, as far as a v1 group tells.
 */
static int
cgroup_kill(const char *name)
{
	int gfd, fd, i, n = 0, k;

	if ((gfd = openat(CG.dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return 0;
	if (CG.kill && (fd = openat(gfd, "cgroup.kill", O_WRONLY |
	    O_CLOEXEC)) != -1) {
		n = cgroup_signal(gfd, 0);
		if (write(fd, "1", 1) != 1)
			log_warn("cgroup %s: cgroup.kill", name);
		close(fd);
	} else
		for (i = 0; i < CGROUP_PASSES &&
		    (k = cgroup_signal(gfd, SIGKILL)) > 0; i++)
			n += k;
	close(gfd);
	return n;
}

/* Removes group name once it is empty; keeps it to try again if not. */
static void
cgroup_remove(const char *name)
{
	if (unlinkat(CG.dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return;
	if (errno != EBUSY)
		log_warn("cgroup %s: rmdir", name);
	CG.gone = strv_add(CG.gone, name);
}

/* The groups of runs a previous spoold left: what is in them is killed. */
static void
cgroup_sweep(void)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(CG.dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != 'r')
			continue;
		if (cgroup_kill(de->d_name) > 0)
			log_warnx("cgroup %s: killed what a run of a previous "
			    "spoold left", de->d_name);
		cgroup_remove(de->d_name);
	}
	closedir(d);
}

/*
 * Makes this spool's group, for the spool folder whose device and inode
 * are dev and ino, and kills what previous runs left in it: 0, or -1 when
 * there is no hierarchy spoold may write.
 */
int
cgroup_init(dev_t dev, ino_t ino)
{
	return cgroup_init_at("/proc/self", dev, ino);
}

/* cgroup_init, for the process whose cgroup and mountinfo are in proc. */
int
cgroup_init_at(const char *proc, dev_t dev, ino_t ino)
{
	char path[PATH_MAX], name[64];

	snprintf(name, sizeof(name), "spoold.%llx.%llu",
	    (unsigned long long)dev, (unsigned long long)ino);
	if (cgroup_own(proc, "", "cgroup2", NULL, path, sizeof(path)) == 0 &&
	    (CG.dfd = cgroup_open(path, name)) != -1)
		CG.kill = faccessat(CG.dfd, "cgroup.kill", F_OK, 0) == 0;
	else if (cgroup_own(proc, "pids", "cgroup", "pids", path,
	    sizeof(path)) == 0)
		CG.dfd = cgroup_open(path, name);
	if (CG.dfd == -1) {
		log_info("no control group spoold may make: a run's processes "
		    "are found by their process group and environment");
		return -1;
	}
	if ((size_t)snprintf(CG.path, sizeof(CG.path), "%s/%s", path, name) >=
	    sizeof(CG.path))
		CG.path[0] = '\0';
	log_debug("runs in control groups under %s", CG.path);
	cgroup_sweep();
	return 0;
}

/*
 * A new group for a run, its name in name: the descriptor of its
 * cgroup.procs, where the run's first process writes itself, or -1 when
 * runs have no group.
 */
int
cgroup_enter(char *name, size_t len)
{
	int gfd, fd;

	name[0] = '\0';
	if (CG.dfd == -1)
		return -1;
	snprintf(name, len, "r%ld.%u", (long)getpid(), CG.seq++);
	if (mkdirat(CG.dfd, name, 0700) == -1 ||
	    (gfd = openat(CG.dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_warn("cgroup %s", name);
		name[0] = '\0';
		return -1;
	}
	fd = openat(gfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	close(gfd);
	if (fd == -1) {
		log_warn("cgroup %s: cgroup.procs", name);
		unlinkat(CG.dfd, name, AT_REMOVEDIR);
		name[0] = '\0';
	}
	return fd;
}

/*
 * The end of a run of job id: what is left in its group is killed, the
 * group goes.
 */
void
cgroup_leave(const char *name, const char *id)
{
	int n;

	if (CG.dfd == -1 || name[0] == '\0')
		return;
	if ((n = cgroup_kill(name)) > 0)
		log_debug("%s: killed %d processes its run left in its control "
		    "group", id, n);
	cgroup_remove(name);
}

/* At exit: the spool's group goes, once no run's is left in it. */
void
cgroup_close(void)
{
	if (CG.dfd == -1)
		return;
	cgroup_tick();
	if (CG.gone == NULL && CG.path[0] != '\0' && rmdir(CG.path) == -1 &&
	    errno != EBUSY)
		log_warn("rmdir %s", CG.path);
	close(CG.dfd);
	CG.dfd = -1;
	CG.kill = 0;
}

/* Each tick: the groups whose processes were slow to die are removed. */
void
cgroup_tick(void)
{
	char **gone = CG.gone, **p;

	CG.gone = NULL;
	for (p = gone; p != NULL && *p != NULL; p++) {
		cgroup_kill(*p);
		cgroup_remove(*p);
	}
	strv_free(gone);
}
