/*
 * syncer.c: the helper process that makes the spool durable while spoold
 * goes on. Each byte it reads asks for one syncfs of the spool's
 * filesystem, each byte it writes back says one is done. Changes made
 * while a sync runs wait for the next one, so syncs group as many passes
 * as come while the disk works. Without the helper (spoolctl, or once it
 * is gone), the sync is made in the caller; with SPOOLD_NOSYNC, never.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <bsd/unistd.h>

#include "spoold.h"

/* The helper: a syncfs for each byte read from req, a byte to ack for each. */
static void __attribute__((noreturn))
syncer_main(struct spool *sp, int req, int ack, pid_t parent)
{
	char buf[64];
	ssize_t n;

	if (sp->lockfd != -1)
		close(sp->lockfd); /* the locks are spoold's alone */
	if (sp->pathfd != -1)
		close(sp->pathfd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	setproctitle("sync");
	while ((n = read(req, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || syncfs(sp->dfd) == -1 || write(ack, "s", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

/* Starts the helper, unless nothing is to be synced. 0, or -1 with errno. */
int
syncer_start(struct spool *sp)
{
	int req[2], ack[2] = {-1, -1}, saved;
	pid_t parent = getpid();

	if (!sp->fsync)
		return 0;
	if (pipe2(req, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(ack, O_CLOEXEC) == -1 || (sp->syncpid = fork()) == -1) {
		saved = errno;
		close(req[0]);
		close(req[1]);
		if (ack[0] != -1) {
			close(ack[0]);
			close(ack[1]);
		}
		errno = saved;
		return -1;
	}
	if (sp->syncpid == 0) {
		close(req[1]);
		close(ack[0]);
		syncer_main(sp, req[0], ack[1], parent);
	}
	close(req[0]);
	close(ack[1]);
	sp->syncreq = req[1];
	sp->syncack = ack[0];
	return 0;
}

/* Lets the helper go: it exits when it reads the end of its pipe. */
void
syncer_stop(struct spool *sp)
{
	if (sp->syncreq == -1)
		return;
	close(sp->syncreq);
	close(sp->syncack);
	sp->syncreq = sp->syncack = -1;
	sp->syncing = 0;
}

/*
 * Makes the renames and writes done so far durable: asks the helper when
 * there is one (and returns at once), or syncs here.
 */
void
syncer_sync(struct spool *sp)
{
	if (!sp->dirty || sp->syncing)
		return;
	sp->dirty = 0;
	if (!sp->fsync)
		return;
	if (sp->syncreq != -1) {
		if (write(sp->syncreq, "s", 1) == 1) {
			sp->syncing = 1;
			return;
		}
		log_warn("sync helper; syncing in the loop from now on");
		syncer_stop(sp);
	}
	if (syncfs(sp->dfd) == -1)
		log_warn("syncfs");
}

/* The helper said a sync is done; ask for the next if there is more. */
void
syncer_done(struct spool *sp)
{
	char buf[64];
	ssize_t n;

	n = read(sp->syncack, buf, sizeof(buf));
	if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN)) {
		log_warnx("sync helper gone; syncing in the loop from now on");
		syncer_stop(sp);
	}
	sp->syncing = 0;
	syncer_sync(sp);
}

/* Everything durable before returning, helper or not. */
void
syncer_wait(struct spool *sp)
{
	sp->dirty = 0;
	if (sp->fsync && syncfs(sp->dfd) == -1)
		log_warn("syncfs");
}
