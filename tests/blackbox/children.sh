#!/bin/sh
# children.sh: children that misbehave. A fork bomb held by rlimit_nproc,
# a memory hog held by rlimit_as (and a limit below spoold's own address
# space, which the stage's program fits in), a CPU spinner stopped by
# rlimit_cpu, output floods cut by log_max or kept whole, a daemon that
# escapes its run's process group, processes that hold the log's pipe
# open, children that close their output early, and children that remove,
# replace or rewrite their own job file. After every test, no process
# started for the test's spool is alive, and spoold stops cleanly.
#
#	SPOOLD=$PWD/build/spoold sh tests/blackbox/children.sh [PATTERN...]
#
# The fork bomb runs as nobody, whose processes RLIMIT_NPROC counts all
# together: the tests run one after the other, and no other test of this
# suite uses nobody.
#
# Conditions are strings that check and wait_for evaluate later, so:
# shellcheck disable=SC2016,SC2034

set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=/dev/null
. "$HERE/lib.sh"

TCK=$(getconf CLK_TCK)

# cpu_ms PID [children]: the CPU time, user and system, the process has
# used, in ms; with children, that of its children it has reaped.
cpu_ms() {
	_which=${2:-}
	_s=$(cat "/proc/$1/stat") || return 1
	_s=${_s##*) }
	# state is field 3; utime, stime, cutime and cstime are fields 14
	# to 17.
	# shellcheck disable=SC2086
	set -- $_s
	shift 11
	[ "$_which" != children ] || shift 2
	echo $((($1 + $2) * 1000 / TCK))
}

# procs_of PIDS...: ps lines of those still there, on one line.
procs_of() {
	for _p in "$@"; do
		ps -o pid=,user=,stat=,args= -p "$_p" 2>/dev/null
	done | tr '\n' ';'
}

# spool_ps: procs_of the processes started for the test's spool.
spool_ps() {
	for _q in $(spool_procs "$T"); do
		procs_of "$_q"
	done
}

# no_leftovers: within 3 s, no process started for the spool is alive:
# none has SPOOL_DIR=$D in its environment.
no_leftovers() {
	wait_for '[ -z "$(spool_procs "$T")" ]' 3 ||
	    fail "processes outlived their jobs: $(spool_ps)"
}

# settled: no process outlives its job, and spoold stops with status 0.
settled() {
	no_leftovers
	check 'alive "$SPID"' "spoold is gone: $(tail -n 3 "$ERR" | tr '\n' ' ')"
	stop
	check '[ "$RC" -eq 0 ]' "spoold exited $RC"
}

# footer NAME ATTEMPT WHAT: the log of NAME has the footer of that attempt,
# saying WHAT ("exit 0", "killed by signal 24 (...)").
footer() {
	_f="^=== spoold: [0-9T:-]*Z stage [^ ]* attempt $2 $3 after [0-9]*\.[0-9][0-9][0-9]s\( (user .*)\)\{0,1\}\$"
	grep -q "$_f" "$D/log/$1.log" ||
	    fail "the log of $1 has no footer \"attempt $2 $3 after ...\":" \
	    "$(grep '^=== spoold' "$D/log/$1.log" | tr '\n' ' ')"
}

# expect_done STAGE NAME SECONDS: waits for job NAME to reach STAGE/done/;
# when it does not (it reaches error/ or the time is up), says where it is
# and how its last run ended.
expect_done() {
	_stage=$1
	_name=$2
	wait_for 'has "$_stage/done" "$_name" || has "$_stage/error" "$_name"' \
	    "$3"
	has "$_stage/done" "$_name" ||
	    fail "$2 is in$(where "$2"), not in $1/done/ (waited up to" \
	    "$3 s);" \
	    "its log ends: $(tail -n 2 "$D/log/$2.log" 2>/dev/null |
	    tr '\n' ' ')"
}

# header NAME: the log of NAME starts with a run's header.
header() {
	head -n 1 "$D/log/$1.log" |
	    grep -q '^=== spoold: [0-9T:-]*Z stage [^ ]* attempt 1 started$' ||
	    fail "the log of $1 does not start with a header:" \
	    "$(head -c 200 "$D/log/$1.log")"
}

# ---------------------------------------------------------------------------
# A fork bomb as nobody, held by rlimit_nproc.

# nobody_count: the processes of nobody, as ps -u nobody lists them.
nobody_count() {
	ps -u nobody -o pid= | wc -l
}

# mine_count: the processes of nobody started for this test's spool.
mine_count() {
	_n=0
	for _p in $(spool_procs "$T"); do
		[ "$(stat -c %U "/proc/$_p" 2>/dev/null)" != nobody ] ||
		    _n=$((_n + 1))
	done
	echo "$_n"
}

t_fork_bomb() {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	getent group users >/dev/null 2>&1 || skip "no group users"
	[ "$(id -u)" -eq 0 ] || skip "not root: no stage can run as nobody"
	# The limit counts every process of nobody, and other suites may run
	# stages as nobody at the same time: 20 above what they have now.
	lim=$(($(nobody_count) + 20))
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
group = "users"
stage a {
    command = {"$STAGES/fork-bomb"}
    user = "nobody"
    rlimit_nproc = $lim
    attempts = 1
    timeout = 5
}
EOF
	start
	base=$(nobody_count)
	submit a bomb
	most=0
	mine=0
	polls=0
	# Sampled until the job ends: its timeout, 5 s, and a tick or two.
	while ! has a/error bomb && ! has a/done bomb; do
		polls=$((polls + 1))
		[ "$polls" -le 300 ] || fail "bomb is in$(where bomb) after 30 s"
		n=$(nobody_count)
		m=$(mine_count)
		[ "$n" -le "$most" ] || most=$n
		[ "$m" -le "$mine" ] || mine=$m
		sleep 0.1
	done
	ended=$(date +%s%N)
	# Other suites may run stages as nobody at the same time: the bound
	# is checked on the job's own processes, the user's total is told.
	diag "rlimit_nproc $lim: at most $most processes of nobody" \
	    "($base before the job), $mine of them the job's," \
	    "in $polls samples"
	check '[ "$mine" -le "$lim" ]' \
	    "the job had $mine processes of nobody at once, over rlimit_nproc $lim"
	check '[ "$mine" -ge 2 ]' \
	    "the samples saw at most $mine process of the job; it did not run"
	check 'grep -q "^fork-bomb: the loop ended with status [1-9]" \
	    "$D/log/bomb.log"' "no fork failed in the job:" \
	    "$(grep -v '^=== ' "$D/log/bomb.log" | tail -n 3 | tr '\n' ' ')"
	expect a/error bomb 1
	expect_status bomb reason "timeout after 5s (attempt 1 of 1)"
	# Within kill_grace + 2 s of the end, nothing of the job is left.
	wait_for '[ -z "$(spool_procs "$T")" ] &&
	    ! pgrep -u nobody -fx "sleep 100" >/dev/null' 3 ||
	    fail "processes of the job are left:" \
	    "$(spool_ps)" \
	    "$(pgrep -u nobody -fx "sleep 100" | wc -l) sleep 100 of nobody"
	gone=$((($(date +%s%N) - ended) / 1000000))
	diag "the job's processes were gone ${gone} ms after it reached error/"
	settled
}

# ---------------------------------------------------------------------------
# A memory hog, held by rlimit_as.

t_memory_hog() {
	[ -x /usr/bin/python3 ] || [ -x /usr/local/bin/python3 ] ||
	    skip "no python3 in the children's PATH"
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage hog {
    command = {"$STAGES/hog", "%f"}
    user = "$ME"
    rlimit_as = 64M
    attempts = 2
    backoff = 0
}
stage limits {
    command = {"$STAGES/limits"}
    user = "$ME"
    rlimit_as = 64M
    attempts = 1
}
stage plain {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	submit limits l1
	expect_done limits l1 10
	check 'grep -qx "v=65536" "$D/work/l1/limits"' \
	    "ulimit -v in a child of rlimit_as 64M says" \
	    "$(sed -n 's/^v=//p' "$D/work/l1/limits"), not 65536"
	check 'grep -qx "t=unlimited" "$D/work/l1/limits"' \
	    "ulimit -t in a child with no rlimit_cpu says" \
	    "$(sed -n 's/^t=//p' "$D/work/l1/limits"), not unlimited"
	# Under the limit, the hog runs and allocates what fits: what stops
	# the big one is its size.
	submit hog small 16
	expect_done hog small 20
	check 'grep -qx "hog: allocated 16 MiB" "$D/log/small.log"' \
	    "the hog could not allocate 16 MiB under rlimit_as 64M:" \
	    "$(grep -v '^=== ' "$D/log/small.log" | tail -n 2 | tr '\n' ' ')"
	submit hog big 512
	expect hog/error big 30
	check '[ "$(runs big)" -eq 2 ]' "big ran $(runs big) times, not 2"
	check '[ "$(grep -c "^MemoryError" "$D/log/big.log")" -eq 2 ]' \
	    "the allocation of 512 MiB did not fail in both runs:" \
	    "$(grep -v '^=== ' "$D/log/big.log" | tail -n 3 | tr '\n' ' ')"
	check '! grep -q "^hog: allocated" "$D/log/big.log"' \
	    "the hog allocated 512 MiB under rlimit_as 64M"
	footer big 2 "exit 1"
	expect_status big exit 1
	expect_status big signal null
	expect_status big state error
	expect_status big reason "exit 1 (attempt 2 of 2)"
	# spoold itself is neither limited nor hurt.
	check 'grep -q "^Max address space  *unlimited" "/proc/$SPID/limits"' \
	    "spoold's own address space is limited:" \
	    "$(grep '^Max address space' "/proc/$SPID/limits")"
	submit plain after
	expect_done plain after 10
	footer after 1 "exit 0"
	settled
}

# A limit the stage's program fits in, below spoold's own address space:
# the limit is the child's, not that of the copy of spoold it starts from.
t_rlimit_as_below_spoold() {
	conf <<EOF
spool = "data"
tick = 1
stage probe {
    command = {"$STAGES/quiet"}
    user = "$ME"
}
EOF
	start
	vm=$(awk '$1 == "VmSize:" { print $2 }' "/proc/$SPID/status")
	stop
	lim=$((vm - 256))
	[ "$lim" -ge 3072 ] || skip "spoold maps only $vm kB"
	sh -c 'ulimit -v "$1" && exec "$2"' sh "$lim" "$STAGES/quiet" ||
	    skip "the stage cannot run under $lim KiB of address space"
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/quiet"}
    user = "$ME"
    rlimit_as = ${lim}K
    attempts = 1
}
EOF
	start
	submit a q1
	wait_for 'has a/done q1 || has a/error q1' 10 ||
	    fail "q1 is in$(where q1) after 10 s"
	check 'has a/done q1' "a stage that runs under ${lim} KiB of address" \
	    "space failed under rlimit_as ${lim}K (spoold maps $vm kB):" \
	    "$(tail -n 1 "$D/log/q1.log")"
	settled
}

# ---------------------------------------------------------------------------
# A CPU spinner, stopped by rlimit_cpu: SIGXCPU at the limit, SIGKILL a
# second later for one that ignores SIGXCPU.

t_cpu_spinner() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
max_children = 1
stage limits {
    command = {"$STAGES/limits"}
    user = "$ME"
    rlimit_cpu = 1
    attempts = 1
}
stage spin {
    command = {"$STAGES/spin"}
    user = "$ME"
    rlimit_cpu = 1
    attempts = 2
    backoff = 0
}
stage stubborn {
    command = {"$STAGES/spin"}
    user = "$ME"
    env = {"XCPU=ignore"}
    rlimit_cpu = 1
    attempts = 2
    backoff = 0
}
EOF
	start
	submit limits l1
	expect_done limits l1 10
	check 'grep -qx "t=1" "$D/work/l1/limits"' \
	    "ulimit -t in a child of rlimit_cpu 1 says" \
	    "$(sed -n 's/^t=//p' "$D/work/l1/limits"), not 1"
	check 'grep -qx "v=unlimited" "$D/work/l1/limits"' \
	    "ulimit -v in a child with no rlimit_as says" \
	    "$(sed -n 's/^v=//p' "$D/work/l1/limits"), not unlimited"
	# The CPU time of the runs: spoold's reaped children's, since they
	# run one at a time (max_children 1) and nothing else runs.
	c0=$(cpu_ms "$SPID" children)
	submit spin s1
	expect spin/error s1 30
	c1=$(cpu_ms "$SPID" children)
	check '[ "$(runs s1)" -eq 2 ]' "s1 ran $(runs s1) times, not 2"
	footer s1 1 "killed by signal 24 (CPU time limit exceeded)"
	footer s1 2 "killed by signal 24 (CPU time limit exceeded)"
	expect_status s1 signal 24
	expect_status s1 exit null
	expect_status s1 reason \
	    "killed by signal 24 (CPU time limit exceeded) (attempt 2 of 2)"
	# Each run had a second of CPU, the soft limit, and not the hard
	# one; one second of CPU is at least one second of wall time. (The
	# times the kernel reports may fall short of those it enforces by a
	# tenth or more: a limit of 1 s shows as 0.8 to 1 s.)
	check 'within 1400 3000 $((c1 - c0))' \
	    "the 2 runs of s1 used $((c1 - c0)) ms of CPU, not about 2000"
	# shellcheck disable=SC2046
	check 'within 0.95 20 $(durations s1)' \
	    "the runs of s1 took $(durations s1 | tr '\n' ' ')s, not 1 to 20 s"
	diag "spin: killed by SIGXCPU after $(durations s1 | tr '\n' ' ')s," \
	    "$((c1 - c0)) ms of CPU in its 2 runs"
	c0=$(cpu_ms "$SPID" children)
	submit stubborn s2
	expect stubborn/error s2 40
	c1=$(cpu_ms "$SPID" children)
	check '[ "$(runs s2)" -eq 2 ]' "s2 ran $(runs s2) times, not 2"
	footer s2 1 "killed by signal 9 (Killed)"
	footer s2 2 "killed by signal 9 (Killed)"
	expect_status s2 signal 9
	expect_status s2 exit null
	expect_status s2 reason "killed by signal 9 (Killed) (attempt 2 of 2)"
	# SIGKILL at the hard limit, a second of CPU after SIGXCPU.
	check 'within 3000 5000 $((c1 - c0))' \
	    "the 2 runs of s2 used $((c1 - c0)) ms of CPU, not about 4000"
	# shellcheck disable=SC2046
	check 'within 1.95 30 $(durations s2)' \
	    "the runs of s2, which ignores SIGXCPU, took" \
	    "$(durations s2 | tr '\n' ' ')s, not 2 to 30 s"
	diag "spin ignoring SIGXCPU: killed by SIGKILL after" \
	    "$(durations s2 | tr '\n' ' ')s, $((c1 - c0)) ms of CPU in its 2 runs"
	settled
}

# ---------------------------------------------------------------------------
# Output floods.

t_flood_log_max() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/spew"}
    user = "$ME"
    env = {"SLEEP=1"}
    log_max = 64K
    attempts = 1
}
EOF
	start
	c0=$(cpu_ms "$SPID")
	submit a flood
	expect_done a flood 60
	c1=$(cpu_ms "$SPID")
	L=$D/log/flood.log
	size=$(stat -c %s "$L")
	cut="^spoold: log_max (65536 bytes) reached; the rest of this run's output is dropped\$"
	ncut=$(grep -c "$cut" "$L")
	ys=$(grep -cx y "$L")
	diag "log_max 64K, 50 MiB written, then a second idle, in" \
	    "$(durations flood)s: a log of $size bytes, $ys lines of output;" \
	    "spoold used $((c1 - c0)) ms of CPU"
	header flood
	footer flood 1 "exit 0"
	check '[ "$size" -lt $((65536 + 1024)) ]' \
	    "the log has $size bytes, over log_max 64K + 1K"
	check '[ "$ncut" -eq 1 ]' "the log has $ncut lines saying log_max" \
	    "was reached, not 1: $(grep -m 2 'log_max' "$L" | tr '\n' ' ')"
	# Up to the cut, the output as it was written; after it, the footer.
	check '[ "$(sed -n "2,/^spoold: log_max/p" "$L" | sed "\$d" |
	    grep -cvx -e y -e "")" -eq 0 ]' "the log has other lines than" \
	    "the output before the cut:" "$(sed -n "2,/^spoold: log_max/p" "$L" |
	    grep -vx -e y -e "" | head -n 3 | tr '\n' ' ')"
	check '[ "$(sed -n "/^spoold: log_max/,\$p" "$L" | wc -l)" -eq 2 ]' \
	    "the log has more than the footer after the cut:" \
	    "$(sed -n "/^spoold: log_max/,\$p" "$L" | head -n 3 | tr '\n' ' ')"
	check '[ "$ys" -ge 32000 ]' "the log keeps only $ys lines of output" \
	    "of the 32700 or so that fit in 64K"
	# About 1 ms a MiB here: it drains the pipe in big reads, and does
	# not spin while the pipe is open and idle.
	check '[ $((c1 - c0)) -le 1500 ]' "spoold used $((c1 - c0)) ms of CPU" \
	    "to drain 50 MiB and wait a second"
	settled
}

t_flood_whole() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/flood"}
    user = "$ME"
    env = {"LINES=50000"}
    attempts = 1
}
EOF
	start
	submit a flood
	expect_done a flood 60
	L=$D/log/flood.log
	n=$(grep -c '^flood [0-9]\{8\} x\{65\}$' "$L")
	diag "no log_max: a log of $(stat -c %s "$L") bytes, $n lines of output"
	check '[ "$n" -eq 50000 ]' "the log has $n of the 50000 lines written"
	check 'grep -qx "flood: done" "$L"' "the log lacks the line on stderr"
	check '! grep -q "log_max" "$L"' "the log was cut with no log_max"
	header flood
	footer flood 1 "exit 0"
	settled
}

# A GiB of output, under log_max (the line $1) or not: the run ends with its
# child, exit 0, and spoold answers all along: a job of another stage
# submitted while the flood goes on runs to its end.
flood_gib() {
	[ -n "${LONG:-}" ] || skip "a GiB to write: make check-all (LONG=1)"
	conf_a spew "env += {\"BYTES=1G\"}
    $1
    attempts = 1"
	cat >>"$CONF" <<EOF
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	submit a gib
	wait_for '[ "$(st gib state)" = running ]' 10 || fail "gib did not start"
	submit b quick
	expect_done b quick 10
	diag "quick done while gib was $(st gib state)"
	expect_done a gib 120
	footer gib 1 "exit 0"
	L=$D/log/gib.log
}

t_flood_gib_log_max() {
	flood_gib "log_max = 1M"
	size=$(stat -c %s "$L")
	check '[ "$size" -lt $((1048576 + 1024)) ]' \
	    "the log has $size bytes, over log_max 1M + 1K"
	check 'grep -q "log_max (1048576 bytes) reached" "$L"' \
	    "the log does not say where it was cut"
	diag "1 GiB under log_max 1M: a log of $size bytes in $(durations gib)s"
	settled
}

t_flood_gib_whole() {
	flood_gib ""
	size=$(stat -c %s "$L")
	check '[ "$size" -gt 1073741824 ]' "the log has $size bytes, not 1 GiB"
	check '! grep -q "log_max" "$L"' "the log was cut with no log_max"
	diag "1 GiB, no log_max: a log of $size bytes in $(durations gib)s"
	rm -f "$L"
	settled
}

t_flood_interleaved() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage piped {
    command = {"$STAGES/interleave"}
    user = "$ME"
    env = {"N=20000"}
    log_max = 16M
    attempts = 1
}
stage direct {
    command = {"$STAGES/interleave"}
    user = "$ME"
    env = {"N=20000"}
    attempts = 1
}
EOF
	start
	submit piped p1
	submit direct d1
	expect_done piped p1 60
	expect_done direct d1 60
	awk 'BEGIN { for (i = 1; i <= 20000; i++) print "out " i "\nerr " i }' \
	    >"$T/want"
	for j in p1 d1; do
		header "$j"
		footer "$j" 1 "exit 0"
		sed '1d;$d' "$D/log/$j.log" >"$T/got.$j"
		check 'cmp -s "$T/want" "$T/got.$j"' "the log of $j does not" \
		    "hold the 20000 lines of stdout and of stderr in the order" \
		    "written: $(cmp "$T/want" "$T/got.$j" 2>&1)," \
		    "$(grep -c '^out ' "$T/got.$j") out," \
		    "$(grep -c '^err ' "$T/got.$j") err"
	done
	diag "interleaved: logs of $(stat -c %s "$D/log/p1.log") bytes" \
	    "(log_max) and $(stat -c %s "$D/log/d1.log") bytes (none)"
	settled
}

# ---------------------------------------------------------------------------
# Processes that outlive the run's leader.

t_daemon_killed() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/daemonize"}
    user = "$ME"
}
EOF
	start
	submit a d1
	expect_done a d1 10
	footer d1 1 "exit 0"
	pid=$(cat "$D/work/d1/daemon")
	check '[ -n "$pid" ]' "the stage did not record its daemon's pid"
	wait_for '! alive "$pid"' 3 ||
	    fail "the daemon, pid $pid, lives on 3 s after its job ended:" \
	    "$(procs_of "$pid")"
	check 'grep -qF "killed pid $pid, left behind by the run of $D/a/running/d1" "$ERR" ||
	    grep -q "d1: killed [0-9]* processes its run left" "$ERR"' \
	    "spoold did not say it killed pid $pid:" \
	    "$(grep -m 2 'killed pid' "$ERR" | tr '\n' ' ')"
	settled
}

t_output_held_open() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/leave-behind"}
    user = "$ME"
    env = {"LINGER=100000"}
    log_max = 64K
}
EOF
	start
	submit a h1
	# The processes left behind hold the log's pipe open; the run ends
	# with its leader all the same.
	expect_done a h1 5
	footer h1 1 "exit 0"
	# shellcheck disable=SC2046
	check 'within 0 2 $(durations h1)' \
	    "the run took $(durations h1)s: its job waited for the pipe"
	in=$(cat "$D/work/h1/ingroup")
	out=$(cat "$D/work/h1/outside")
	check 'grep -q "^leave-behind: left $in and $out\$" "$D/log/h1.log"' \
	    "the log lacks what the stage said:" \
	    "$(grep -v '^=== ' "$D/log/h1.log" | head -n 2 | tr '\n' ' ')"
	wait_for '! alive "$in" && ! alive "$out"' 3 ||
	    fail "processes that held the log's pipe live on:" \
	    "$(procs_of "$in" "$out")"
	# Named by its job, or not when it was dying as it was found; or
	# killed with the run's control group.
	check 'grep -qF "killed pid $out, left behind by the run of" "$ERR" ||
	    grep -q "h1: killed [0-9]* processes its run left" "$ERR"' \
	    "spoold did not say it killed pid $out:" \
	    "$(grep -m 2 'killed pid' "$ERR" | tr '\n' ' ')"
	diag "held pipe: the run took $(durations h1)s"
	settled
}

# ---------------------------------------------------------------------------
# A child that closes its stdout and stderr early runs on.

t_closes_output() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage direct {
    command = {"$STAGES/close-early"}
    user = "$ME"
    attempts = 1
}
stage piped {
    command = {"$STAGES/close-early"}
    user = "$ME"
    log_max = 64K
    attempts = 1
}
EOF
	start
	submit direct c1
	submit piped c2
	expect_done direct c1 10
	expect_done piped c2 10
	for j in c1 c2; do
		header "$j"
		footer "$j" 1 "exit 0"
		check 'grep -qx "close-early: closing stdout and stderr" \
		    "$D/log/$j.log"' "the log of $j lacks what it said first"
		check '[ -e "$D/work/$j/after" ]' \
		    "$j did not run on after it closed its output"
		# shellcheck disable=SC2046
		check 'within 0.95 10 $(durations "$j")' \
		    "the run of $j took $(durations "$j")s, not its second"
	done
	settled
}

# ---------------------------------------------------------------------------
# Children that remove, replace or rewrite their own job file: children of
# spoold's own user, as only that user may write running/.

t_job_removed() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/mess", "%f"}
    user = "$SELF"
}
EOF
	start
	submit a rm-1
	expect a/error rm-1 10
	check '[ "$(where rm-1)" = " a/error" ]' "rm-1 is in$(where rm-1)"
	check '[ -f "$D/a/error/rm-1" ] && [ ! -L "$D/a/error/rm-1" ] &&
	    [ ! -s "$D/a/error/rm-1" ]' "a/error/rm-1 is not an empty file:" \
	    "$(ls -l "$D/a/error/rm-1")"
	expect_status rm-1 reason \
	    "the run removed the job file; an empty one stands for it"
	expect_status rm-1 state error
	expect_status rm-1 exit 0
	footer rm-1 1 "exit 0"
	settled
}

t_job_replaced_by_symlink() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/mess", "%f"}
    user = "$SELF"
    env = {"CANARY=$T/canary"}
}
EOF
	echo "a file outside the spool" >"$T/canary"
	chmod 644 "$T/canary"
	sum=$(cksum <"$T/canary")
	start
	submit a link-1
	expect a/error link-1 10
	check '[ "$(where link-1)" = " a/error" ]' "link-1 is in$(where link-1)"
	r=$(st link-1 reason)
	case $r in
	"the run replaced the job with a symbolic link"*) ;;
	*) fail "link-1's reason is \"$r\"" ;;
	esac
	expect_status link-1 state error
	check '[ "$(cksum <"$T/canary")" = "$sum" ]' "the canary changed"
	check '[ "$(stat -c %a "$T/canary")" = 644 ]' \
	    "the canary's mode changed: $(stat -c %a "$T/canary")"
	footer link-1 1 "exit 0"
	settled
}

t_job_rewritten() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/mess", "%f"}
    user = "$SELF"
}
EOF
	start
	submit a rewrite-1 old
	expect_done a rewrite-1 10
	check '[ "$(where rewrite-1)" = " a/done" ]' \
	    "rewrite-1 is in$(where rewrite-1)"
	check '[ "$(cat "$D/a/done/rewrite-1")" = new ]' \
	    "a/done/rewrite-1 holds \"$(head -c 100 "$D/a/done/rewrite-1")\"," \
	    "not what its run wrote"
	expect_status rewrite-1 state "done"
	expect_status rewrite-1 reason null
	settled
}

run fork_bomb
run memory_hog
run rlimit_as_below_spoold
run cpu_spinner
run flood_log_max
run flood_whole
run flood_interleaved
run flood_gib_log_max
run flood_gib_whole
run daemon_killed
run output_held_open
run closes_output
run job_removed
run job_replaced_by_symlink
run job_rewritten
finish
