#!/bin/sh
# slurm-up.sh RECIPES LOG: starts the single-node Slurm cluster of the
# shared recipe RECIPES/start-slurm.sh (a no-op when it runs) and checks
# that it runs a job: a trivial one must leave the cluster within 20 s. A
# slurmctld that lived through a jump of the system clock (hostile.sh sets
# it) may leave jobs pending on an idle node until it is restarted: then
# its daemons are started again, once. What the recipes say goes to LOG.
# Exits 0 when the cluster runs jobs, 1 otherwise. Used by slurm.sh and by
# the benchmark; root only.
set -u
RECIPES=$1
LOG=$2

probe() {
	_p=$(sbatch --parsable --job-name=spoold-probe --output=/dev/null \
	    --wrap=true 2>>"$LOG") || return 1
	_i=0
	while [ -n "$(squeue -h -j "$_p" -o %i 2>/dev/null)" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 100 ]; then
			scancel "$_p"
			return 1
		fi
		sleep 0.2
	done
}

bash "$RECIPES/start-slurm.sh" >>"$LOG" 2>&1 || exit 1
probe && exit 0
echo "# the cluster runs no job: its daemons are started again"
bash "$RECIPES/stop-slurm.sh" >>"$LOG" 2>&1
bash "$RECIPES/start-slurm.sh" >>"$LOG" 2>&1 || exit 1
scancel -n spoold-probe 2>/dev/null
probe
