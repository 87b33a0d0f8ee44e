/*
 * slurm.h: the Slurm commands (slurm.c), for the Slurm runner alone.
 */
#ifndef SLURM_H
#define SLURM_H

int slurm_script(struct spool *);
pid_t slurm_submit(const struct spawn *, int *fd);
long long slurm_jobid(int fd);
pid_t slurm_query(char *const *ids, size_t n);
pid_t slurm_cancel(long long job, int term);
int slurm_reaped(pid_t, int wstatus, long long *job, char *said, size_t len);
void slurm_answer(char *out);
const char *slurm_state(long long *job, const char *name, const char **why);
pid_t slurm_show(long long job);
void slurm_log(struct spool *, const char *id, long long job, int logfd,
    long max);
size_t slurm_busy(void);
void slurm_stale(struct timespec now);
int slurm_exit(struct spool *, const char *id, long long job, int *code,
    struct usage *);

#endif
