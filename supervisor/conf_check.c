/*
 * conf_check.c: a config against the system it will run on: the stages'
 * users and groups, whether each stage's user can reach the spool and run
 * its program, the spool's path, the submitters' group. Run at -n, at
 * start and on SIGHUP alike; a fault is a message with the file and line.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <bsd/string.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoold.h"
#include "conf.h"
#include "runner.h"

int
conf_user(struct stconf *sc, uid_t euid)
{
	struct passwd *pw;
	int line = conf_line(sc->name, "user"), n = 16;

	if (euid == CONF_ANY_USER)
		return 0;
	if (sc->user == NULL) {
		if (euid != 0)
			return 0;
		conf_fail(sc->line, "stage %s: spoold runs as root, so the stage "
		    "needs a user", sc->name);
		return -1;
	}
	if ((pw = getpwnam(sc->user)) == NULL) {
		conf_fail(line, "user: no such user \"%s\"", sc->user);
		return -1;
	}
	if (euid != 0 && pw->pw_uid != euid) {
		/* Only root can switch users: as nginx does, say so and go on. */
		fprintf(stderr, "%s:%d: warning: user \"%s\" ignored: spoold is "
		    "not root\n", P.path, line, sc->user);
		free(sc->user);
		sc->user = NULL;
		return 0;
	}
	sc->uid = pw->pw_uid;
	sc->gid = pw->pw_gid;
	for (;;) {
		gid_t *g = reallocarray(sc->groups, n, sizeof(gid_t));
		if (g == NULL)
			fatal("reallocarray");
		sc->groups = g;
		if (getgrouplist(pw->pw_name, pw->pw_gid, sc->groups, &n) != -1)
			break;
	}
	sc->ngroups = n;
	return 0;
}


char *
conf_dir(const char *path)
{
	char *copy = conf_strdup(path), *slash, *dir;

	slash = strrchr(copy, '/');
	if (slash == NULL)
		strlcpy(copy, ".", strlen(copy) + 1);
	else if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	dir = realpath(copy, NULL);
	free(copy);
	return dir;
}

/*
 * The spool is its owner's and its group's (0750): a stage's user other
 * than root reaches its job through the group, so there must be one, and
 * it joins the groups the stage's children get.
 */
int
conf_reach(struct conf *c, uid_t euid)
{
	size_t i;
	int j;
	struct stconf *s;

	if (euid != 0)
		return 0;
	for (i = 0; i < c->nstages; i++) {
		s = c->stages[i];
		if (s->user == NULL || s->uid == 0)
			continue;
		if (c->group == NULL) {
			conf_fail(conf_line(s->name, "user"), "user: %s cannot "
			    "reach the spool, which only root and its group may "
			    "enter: name that group with group", s->user);
			return -1;
		}
		for (j = 0; j < s->ngroups && s->groups[j] != c->gid; j++)
			;
		if (j < s->ngroups)
			continue;
		if (s->runner->remote) {
			/* A remote run has its user's groups, no others. */
			conf_fail(conf_line(s->name, "user"), "user: %s is not a "
			    "member of group %s, which its runs on %s need to "
			    "write the spool", s->user, c->group,
			    s->runner->place);
			return -1;
		}
		if ((s->groups = reallocarray(s->groups, s->ngroups + 1,
		    sizeof(gid_t))) == NULL)
			fatal("reallocarray");
		s->groups[s->ngroups++] = c->gid;
	}
	return 0;
}

/* Who a stage's children are, for the checks of what they may reach. */
struct who {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int ngroups;
};

/* Whether w may do want (an or of R_OK, W_OK and X_OK) to a file like sb. */
static int
conf_allows(const struct who *w, const struct stat *sb, int want)
{
	int i, bits = sb->st_mode;

	if (w->uid == 0)
		return !(want & X_OK) || S_ISDIR(sb->st_mode) ||
		    (sb->st_mode & 0111);
	if (sb->st_uid == w->uid)
		bits >>= 6;
	else {
		for (i = 0; i < w->ngroups && w->groups[i] != sb->st_gid; i++)
			;
		if (sb->st_gid == w->gid || i < w->ngroups)
			bits >>= 3;
	}
	return (bits & want) == want;
}

/* Whether w may do want to path itself; errno EACCES when not. */
static int
conf_may_one(const struct who *w, const char *path, int want)
{
	struct stat sb;

	if (stat(path, &sb) == -1)
		return 0;
	if (conf_allows(w, &sb, want))
		return 1;
	errno = EACCES;
	return 0;
}

/*
 * Whether w may search every folder on the way to path and do want to it
 * (want 0: reach it). When not, the first folder or file in the way goes
 * to where, and errno is EACCES, or why it could not be looked at.
 */
static int
conf_may(const struct who *w, const char *path, int want, char *where,
    size_t len)
{
	char *real, *p;
	int ok = 1;

	if ((real = realpath(path, NULL)) == NULL) {
		strlcpy(where, path, len);
		return 0;
	}
	for (p = real; ok && p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		strlcpy(where, p == real ? "/" : real, len);
		ok = conf_may_one(w, where, X_OK);
		*p = '/';
	}
	if (ok) {
		strlcpy(where, real, len);
		ok = conf_may_one(w, real, want);
	}
	free(real);
	return ok;
}

/*
 * The program of a stage's command: it exists and its user may run it,
 * where it would be found with the children's PATH. A remote runner's
 * stage runs it elsewhere: only a warning here.
 */
static int
conf_program(const struct stconf *sc, uid_t euid)
{
	struct who w = {sc->uid, sc->gid, sc->groups, sc->ngroups};
	const char *name = sc->command[0], *path = CHILD_PATH, *p, *end;
	char buf[PATH_MAX], where[PATH_MAX], why[2 * PATH_MAX + 64];
	char **e;
	int line = conf_line(sc->name, "command");

	for (e = sc->env; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	snprintf(why, sizeof(why), "%s: not found in PATH (%s)", name, path);
	for (p = path; strchr(name, '/') == NULL; p = end + 1) {
		end = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - p), p,
		    end > p ? "/" : "", name);
		if (access(buf, F_OK) == 0)
			break;
		if (*end == '\0')
			goto fail;
	}
	if (strchr(name, '/') != NULL)
		strlcpy(buf, name, sizeof(buf));
	if (sc->user == NULL || sc->uid == euid) {
		/* spoold's own user: the kernel says, groups and ACLs included. */
		if (faccessat(AT_FDCWD, buf, X_OK, AT_EACCESS) == 0)
			return 0;
		snprintf(why, sizeof(why), "%s: %s", buf, strerror(errno));
	} else if (conf_may(&w, buf, X_OK, where, sizeof(where)))
		return 0;
	else if (errno != EACCES)
		snprintf(why, sizeof(why), "%s: %s", where, strerror(errno));
	else if (strcmp(where, buf) == 0)
		snprintf(why, sizeof(why), "%s is not executable by %s", buf,
		    sc->user);
	else
		snprintf(why, sizeof(why), "%s cannot reach %s (no search "
		    "permission in %s)", sc->user, buf, where);
fail:
	if (!sc->runner->remote) {
		conf_fail(line ? line : sc->line, "command: %s", why);
		return -1;
	}
	fprintf(stderr, "%s:%d: warning: command: %s here; the nodes of %s "
	    "must have it\n", P.path, line ? line : sc->line, why,
	    sc->runner->place);
	return 0;
}

/*
 * A stage's user other than root must reach the spool, whose folders
 * spoold makes open to its group: its children name their job by path,
 * and a remote run writes its output and exit status in the work folder.
 */
static int
conf_spool_reach(const struct conf *c, const struct stconf *sc)
{
	struct who w = {sc->uid, sc->gid, sc->groups, sc->ngroups};
	char *parent = conf_strdup(c->spool), where[PATH_MAX];
	int ok;

	*strrchr(parent, '/') = '\0';
	ok = conf_may(&w, parent[0] != '\0' ? parent : "/", X_OK, where,
	    sizeof(where));
	free(parent);
	if (ok || errno != EACCES)
		return 0;
	conf_fail(conf_line(sc->name, "user"), "user: %s cannot reach the "
	    "spool %s: no search permission in %s", sc->user, c->spool, where);
	return -1;
}

/* What starting the stages needs of their programs and users. */
int
conf_stages_check(const struct conf *c, uid_t euid)
{
	size_t i;
	const struct stconf *sc;

	if (euid == CONF_ANY_USER)
		return 0;
	for (i = 0; i < c->nstages; i++) {
		sc = c->stages[i];
		if (euid == 0 && sc->user != NULL && sc->uid != 0 &&
		    conf_spool_reach(c, sc) == -1)
			return -1;
		if (conf_program(sc, euid) == -1)
			return -1;
	}
	return 0;
}

/*
 * The spool spoold would open: a folder, or a name it can make in an
 * existing folder, on a filesystem that can be written.
 */
int
conf_spool(const struct conf *c, uid_t euid)
{
	char *parent, *what = c->spool;
	struct statvfs vfs;
	struct stat sb;
	int line = conf_line(NULL, "spool"), r = -1;

	if (euid == CONF_ANY_USER)
		return 0;
	parent = conf_strdup(c->spool);
	*strrchr(parent, '/') = '\0';
	if (stat(c->spool, &sb) == -1) {
		if (errno == ENOENT) {
			what = parent[0] != '\0' ? parent : "/";
			if (stat(what, &sb) == -1 && errno == ENOENT) {
				conf_fail(line, "spool: %s: its parent folder %s "
				    "does not exist (spoold makes the spool, not "
				    "its parents)", c->spool, what);
				goto out;
			}
		}
		if (errno != ENOENT) {
			conf_fail(line, "spool: %s: %s", what, strerror(errno));
			goto out;
		}
	}
	if (!S_ISDIR(sb.st_mode))
		conf_fail(line, "spool: %s is not a folder", what);
	else if (statvfs(what, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		conf_fail(line, "spool: %s is on a read-only filesystem",
		    c->spool);
	else
		r = 0;
out:
	free(parent);
	return r;
}

/* The group of the submitters, who may reach the spool. */
int
conf_group(struct conf *c, const char *name)
{
	struct group *gr;

	if (name == NULL)
		return 0;
	if ((gr = getgrnam(name)) == NULL) {
		conf_fail(conf_line(NULL, "group"), "group: no such group \"%s\"",
		    name);
		return -1;
	}
	c->group = conf_strdup(name);
	c->gid = gr->gr_gid;
	return 0;
}
