#!/bin/sh
# slurm.sh: a stage with runner "slurm" on a real single-node Slurm cluster
# on localhost, started with the shared recipe start-slurm.sh (root only;
# elsewhere the suite prints one SKIP line). A pipeline of a local stage
# then a Slurm stage: success with the child's contract, what a run costs
# (CPU time and peak memory, measured on the node), exit 65, exit 75
# then success, timeout, cancel, a program missing on the node, sbatch
# refusing the job, kill -9 of
# spoold with jobs on the cluster (also between sbatch's answer and its
# record, with the crash build), and SIGTERM, after which spoold takes its
# jobs over at the next start.
#
#	SPOOLD=build/spoold sh tests/blackbox/slurm.sh [PATTERN...]
#
# SLURM_RECIPES names the recipes' folder (default: ../shared/recipes
# beside the project). SLURM_JOBS sets how many jobs the kill -9 test runs
# (default 40). Conditions are strings that check and wait_for evaluate
# later, so:
# shellcheck disable=SC2016,SC2034

set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"

# skip_all WHY: the suite cannot run: each of its tests is skipped.
skip_all() {
	_n=0
	for _t in $(sed -n 's/^run //p' "$0"); do
		echo "ok - $_t # SKIP $1"
		_n=$((_n + 1))
	done
	echo "0 passed, 0 failed, $_n skipped"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "slurm needs root"
# shellcheck source=tests/blackbox/lib.sh
. "$HERE/lib.sh"

RECIPES=${SLURM_RECIPES:-$HERE/../../../shared/recipes}
[ -f "$RECIPES/start-slurm.sh" ] || skip_all \
    "slurm needs the recipe $RECIPES/start-slurm.sh (set SLURM_RECIPES)"
CRASH=${SPOOLD_CRASH:-${SPOOLD%/*}/crash/spoold}
NJOBS=${SLURM_JOBS:-40}

# The cluster: started unless it runs, and stopped at the end if started.
STARTED=""
if ! scontrol ping 2>/dev/null | grep -q 'is UP'; then
	STARTED=1
fi
if ! sh "$HERE/slurm-up.sh" "$RECIPES" "$RUNDIR/slurm.log"; then
	cat "$RUNDIR/slurm.log" >&2
	echo "slurm.sh: the cluster does not run jobs" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# Stopped at the end, on an interrupt, or by the next run after a SIGKILL
# (lib.sh's sweep runs RUNDIR/undo).
stop_cluster() {
	[ -z "$STARTED" ] || bash "$RECIPES/stop-slurm.sh" >/dev/null 2>&1
	rm -f "$RUNDIR/undo"
}
[ -z "$STARTED" ] ||
    echo "bash '$RECIPES/stop-slurm.sh' >/dev/null 2>&1" >"$RUNDIR/undo"
on_interrupt() {
	stop_cluster
}

# pipeline: stage a runs here and passes its jobs to stage b, on Slurm,
# which runs $B_CMD (default: the succeed stage), both as $ME: nobody, in
# the spool's group (lib.sh).
pipeline() {
	conf <<CONF
spool = "data"
tick = 1
kill_grace = 2
shutdown_grace = 30
stage a {
    command = {"$STAGES/succeed"}
    slots = 4
    next = "b"
    user = "$ME"
}
stage b {
    command = {${B_CMD:-"\"$STAGES/succeed\""}}
    runner = "slurm"
    slurm_args = {"--time=10", "--comment=spoold test %s"${B_ARGS:-}}
    slots = ${B_SLOTS:-4}
    attempts = ${B_ATTEMPTS:-3}
    backoff = 1
    timeout = ${B_TIMEOUT:-0}
    lost_max = ${B_LOST_MAX:-3}
    user = "$ME"
    env = {"STAMPS=$T/stamps", "SLEEP=${B_SLEEP:-0}", "TESTVAR=on the node",
        "FAILS=1", "CODE=75"}
}
CONF
	# In the shell of the test's end, with T only: its jobs by their names.
	at_end 'n=$(ls "$T/data/work" 2>/dev/null | paste -sd, -)
[ -z "$n" ] || squeue -h -o %i -n "$n" | xargs -r scancel'
}

# names: the names of the jobs of this test, for squeue -n.
names() {
	ls "$D/work" 2>/dev/null | paste -sd, -
}

# squeued NAME: the Slurm jobs named NAME, with their states.
squeued() {
	squeue -h -n "$1" -o '%i %T'
}

submit_b() {
	for _j in "$@"; do
		submit a "$_j"
	done
}

t_success() {
	B_CMD="\"$STAGES/inspect\", \"%f\", \"%i on %s\"" pipeline
	start
	submit_b s1 s2 s3
	for j in s1 s2 s3; do
		expect b/done "$j" 30
	done
	i=$D/work/s1/inspect.b
	check 'grep -qx "arg1=$D/b/running/s1" "$i"' \
	    "argv[1] is not the claimed job: $(grep arg1 "$i")"
	check 'grep -qx "arg2=s1 on b" "$i"' "argv[2] not expanded"
	for v in "SPOOL_JOB=$D/b/running/s1" SPOOL_JOB_ID=s1 SPOOL_STAGE=b \
	    SPOOL_ATTEMPT=1 "SPOOL_WORKDIR=$D/work/s1" \
	    "SPOOL_HEARTBEAT=$D/work/s1/heartbeat" "SPOOL_DIR=$D" \
	    "TESTVAR=on the node"; do
		check 'grep -qxF "env:$v" "$i"' "the job lacks $v"
	done
	check 'grep -q "^env:SLURM_JOB_ID=" "$i"' "not run by Slurm"
	check 'grep -qx "cwd=$D/work/s1" "$i"' "not in its work folder"
	check 'grep -qx "stdin=/dev/null" "$i"' "stdin is not /dev/null"
	check 'grep -qx "job=job s1" "$i"' "the job file's content is not read"
	job=$(st s1 remote)
	check '[ "$job" -gt 0 ] 2>/dev/null' "no Slurm job in the record"
	check 'grep -q "attempt 1 exit 0 (Slurm job $job) after" "$D/log/s1.log"' \
	    "the log does not say how the Slurm job ended"
	expect_metric "done" b 3 5
	stop
	check '[ "$RC" -eq 0 ]' "spoold exited $RC"
}

# A run on Slurm is measured on the node: a stage that burns 2 s of CPU
# is charged within 10 % of its own count, in its record and its log.
t_rusage_cpu() {
	B_CMD="\"$STAGES/burn\"" pipeline
	start
	submit_b c1
	expect b/done c1 60
	charged c1 "on Slurm: "
	user=$USER_MS
	grep -q "^=== spoold: .* stage b attempt 1 exit 0 (Slurm job [0-9]*) after [0-9.]*s (user [0-9.]*s, sys [0-9.]*s, maxrss [0-9]* KiB)\$" \
	    "$D/log/c1.log" || fail "no footer with its cost: $(grep \
	    '^=== spoold: .* stage b attempt 1 exit' "$D/log/c1.log")"
	expect_metric runs b 1 5
	check '[ "$(metric cpu_ms_total b)" = "$((user + $(rusage c1 sys_ms)))" ]' \
	    "metrics cpu_ms_total of b: $(metric cpu_ms_total b)"
	check '[ ! -e "$D/work/c1/slurm.exit.cost" ]' "the cost file is left"
}

# A run on Slurm that touches 200 MiB has a peak resident set above
# 200000 KiB.
t_rusage_memory() {
	B_CMD="\"$STAGES/hog\", \"%f\"" pipeline
	start
	submit a m1 200
	expect b/done m1 60
	rss=$(rusage m1 maxrss_kb)
	diag "on Slurm: a run touching 200 MiB: maxrss_kb $rss"
	check '[ "$rss" -ge 200000 ]' "maxrss_kb $rss < 200000"
	expect_metric maxrss_kb_max b "$rss" 5
}

t_dataerr() {
	B_CMD="\"$STAGES/dataerr\"" pipeline
	start
	submit_b bad
	expect b/error bad 30
	expect_status bad reason "exit 65"
	expect_status bad attempt 1
	check '[ "$(runs bad)" -eq 2 ]' "bad ran $(runs bad) times, not once a stage"
}

t_tempfail() {
	B_CMD="\"$STAGES/fail-then-succeed\"" pipeline
	start
	submit_b flaky
	expect b/done flaky 40
	expect_status flaky attempt 2
	expect_metric retries b 1 5
	check 'grep -q "attempt 1 exit 75 (Slurm job" "$D/log/flaky.log"' \
	    "the first run did not exit 75"
}

t_timeout() {
	B_CMD="\"$STAGES/hang\"" B_TIMEOUT=3 B_ATTEMPTS=2 pipeline
	start
	submit_b slow
	wait_for '[ "$(nstamps START slow)" = 1 ]' 30 ||
	    fail "the first run did not start"
	first=$(st slow remote)
	wait_for '[ "$(nstamps START slow)" = 2 ]' 40 ||
	    fail "the job was not run again after its timeout"
	check '[ -z "$(squeue -h -j "$first" -o %i 2>/dev/null)" ]' \
	    "Slurm job $first still listed when the retry started"
	expect b/error slow 40
	expect_status slow reason "timeout after 3s (attempt 2 of 2)"
	expect_metric timeouts b 2 5
	wait_for '[ -z "$(squeued slow)" ]' 20 ||
	    fail "squeue still lists slow: $(squeued slow)"
}

t_cancel() {
	B_CMD="\"$STAGES/hang\"" pipeline
	start
	submit_b c1
	wait_for 'squeued c1 | grep -q RUNNING' 30 ||
	    fail "c1 is not running on Slurm: $(squeued c1)"
	ctl cancel c1 >/dev/null ||
	    fail "spoolctl cancel failed"
	expect b/error c1 20
	expect_status c1 reason cancelled
	check '[ -z "$(squeued c1)" ]' "squeue still lists c1: $(squeued c1)"
}

t_missing() {
	B_CMD="\"$T/bin/later\", \"%f\"" B_ATTEMPTS=1 B_LOST_MAX=100 pipeline
	start
	submit_b m1
	wait_for '[ "$(metric retries b)" -ge 2 ] 2>/dev/null' 40 ||
	    fail "no retries: $(metric retries b)"
	check '! has b/error m1' "a program missing on the node sent m1 to error/"
	check 'grep -q "later: not found on" "$D/log/m1.log"' \
	    "the log does not say what was missing"
	check 'grep -q "ended without an exit status" "$D/log/m1.log"' \
	    "the run is not told apart from an exit code"
	mkdir -p "$T/bin"
	cp "$STAGES/succeed" "$T/bin/later"
	expect b/done m1 40
	expect_status m1 attempt 1
}

# sbatch refuses the job (a partition that does not exist): the run is
# lost, not failed, until a reload mends the stage.
t_sbatch() {
	B_ARGS=', "--partition=nowhere"' B_ATTEMPTS=1 B_LOST_MAX=100 pipeline
	start
	submit_b p1
	wait_for '[ "$(metric retries b)" -ge 2 ] 2>/dev/null' 40 ||
	    fail "no retries: $(metric retries b)"
	check '! has b/error p1' "an sbatch that failed sent p1 to error/"
	check 'grep -q "sbatch failed" "$ERR"' "spoold did not say sbatch failed"
	check 'grep -q "no job on the cluster (sbatch failed)" "$D/log/p1.log"' \
	    "the log does not say why: $(tail -n 2 "$D/log/p1.log")"
	check 'grep -qi "partition" "$D/log/p1.log"' \
	    "sbatch's own message is not in the log"
	B_LOST_MAX=100 pipeline
	kill -HUP "$SPID"
	expect b/done p1 40
	expect_status p1 attempt 1
}

# A run lost lost_max times in a row (its program is missing on the node)
# goes to error/, with what Slurm said of the last loss; each loss is
# logged with its Slurm job.
t_lost_max() {
	B_CMD="\"$T/bin/nowhere\", \"%f\"" B_LOST_MAX=2 pipeline
	start
	submit_b l1
	expect b/error l1 60
	r=$(st l1 reason)
	check 'case $r in "lost 2 times in a row; last: slurm: job "*" ended without an exit status (last seen "*"JobState=FAILED"*) ;; *) false ;; esac' \
	    "the reason does not say what Slurm said: $r"
	check '[ "$(grep -c "b: l1: slurm: job [0-9]* ended without an exit status" "$ERR")" = 2 ]' \
	    "the two losses are not logged with their Slurm jobs: $(grep l1 "$ERR" | tr '\n' ' ')"
	check 'grep -q "nowhere: not found on" "$D/log/l1.log"' \
	    "the log lacks the job's own output: $(tail -n 3 "$D/log/l1.log")"
	check '[ -z "$(ls "$D/work/l1" | grep "^slurm\..*\.out$")" ]' \
	    "the runs' output files were left in the work folder"
	expect_metric error b 1 5
	diag "l1: $r"
}

# A stage user that cannot reach the spool is refused before any run,
# naming the user and the folder in the way.
t_unreachable() {
	mkdir -m 700 "$T/private"
	B_CMD="\"$STAGES/succeed\"" pipeline
	sed 's#^spool = "data"#spool = "private/data"#' "$CONF" >"$T/c2"
	conf <"$T/c2"
	bad "$(line_of "user = \"$ME\"")" \
	    "^user: $ME cannot reach the spool $T/private/data: no search permission in $T/private$"
	spoold_once "$T/start.err"
	check '[ $RC -eq 78 ]' "spoold exits $RC at start, not 78"
	check '[ ! -e "$T/private/data" ]' "spoold made the spool all the same"
}

# kill -9 of spoold twice with jobs on the cluster: each job ends in done/
# once, and no two runs of a job overlapped.
t_kill9() {
	B_SLEEP=1 B_SLOTS=8 pipeline
	start
	i=0
	while [ $i -lt "$NJOBS" ]; do
		i=$((i + 1))
		submit a "k$i"
	done
	for n in 1 2; do
		wait_for '[ "$(ls "$D/b/running" | wc -l)" -ge 4 ]' 30 ||
		    fail "no jobs on the cluster before kill $n"
		sleep 1
		kill9
		sleep 1
		start
	done
	count "$D/b/done"
	wait_for 'count "$D/b/done"; [ "$CNT" -eq "$NJOBS" ]' 240 slow ||
	    fail "$CNT of $NJOBS jobs done; $(ls "$D"/*/* | head -n 5 | tr '\n' ' ')"
	check 'grep -q "taken over after a restart" "$T"/spoold.*.err' \
	    "spoold took over no job after kill -9"
	for d in a/queue a/running a/done a/error b/queue b/running b/error; do
		empty "$D/$d"
	done
	ov=$(overlaps)
	check '! printf "%s\n" "$ov" | grep -q OVERLAP' "$ov"
	check 'printf "%s\n" "$ov" | grep -q "unended 0 jobs $NJOBS$"' "$ov"
	check '[ -z "$(squeue -h -n "$(names)" -o %i)" ]' "jobs still on Slurm"
	diag "$NJOBS jobs done once; $(cat "$T"/spoold.*.err |
	    grep -c 'taken over after a restart') runs taken over after 2" \
	    "kill -9; stamps: $ov"
}

# spoold killed between sbatch's answer and the record of the job's
# number: the next spoold finds the job by its name.
t_byname() {
	[ -x "$CRASH" ] || skip "no crash build at $CRASH"
	B_SLEEP=3 pipeline
	SPOOLD_CRASH=14 "$CRASH" -v -c "$CONF" 2>"$T/spoold.crash.err" &
	SPID=$!
	echo "$SPID" >>"$T/.pids"
	sleep 1
	submit_b n1
	wait_for '! alive $SPID' 30 || fail "the crash build did not crash"
	wait "$SPID" 2>/dev/null
	check '[ -z "$(st n1 remote)" ] || [ "$(st n1 remote)" = null ]' \
	    "the record has the job's number already"
	wait_for '[ -n "$(squeued n1)" ]' 10 || fail "n1 never reached Slurm"
	start
	check 'grep -q "looked for by name" "$ERR"' "not looked for by name"
	expect b/done n1 40
	check 'grep -q "found on the cluster as Slurm job" "$ERR"' \
	    "not found by name: $(tail -n 3 "$ERR")"
	check '[ "$(nstamps START n1)" -eq 1 ]' \
	    "n1 ran $(nstamps START n1) times on the cluster"
}

# SIGTERM leaves the cluster's jobs running; the next start takes them over.
t_term() {
	B_SLEEP=6 pipeline
	start
	submit_b t1
	wait_for 'squeued t1 | grep -q RUNNING' 30 || fail "t1 not running"
	clock
	t0=$NOW
	stop
	clock
	check '[ "$RC" -eq 0 ]' "spoold exited $RC"
	check '[ $((NOW - t0)) -lt 5000 ]' "SIGTERM waited for the Slurm job"
	check 'has b/running t1' "t1 is in$(where t1), not b/running"
	check 'squeued t1 | grep -q RUNNING' "t1 no longer runs on Slurm"
	check 'grep -q "1 jobs left running on Slurm" "$ERR"' "not said"
	start
	expect b/done t1 30
	check '[ "$(nstamps START t1)" -eq 1 ]' "t1 ran again"
	check '[ "$(nstamps END t1)" -eq 1 ]' "t1 did not end once"
}

run success
run rusage_cpu
run rusage_memory
run dataerr
run tempfail
run timeout
run cancel
run missing
run sbatch
run lost_max
run unreachable
run kill9
run byname
run term
stop_cluster
finish
