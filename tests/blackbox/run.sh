#!/bin/sh
# run.sh: the black-box tests of spoold. Each test starts the real daemon
# (SPOOLD) on a spool of its own made by mktemp -d, drives it with files and
# signals as an operator would, polls for what it expects with a timeout
# (never a fixed sleep in the hope that something happened), and prints
# "ok - NAME" or "not ok - NAME: why". Lines starting with "#" are
# measurements and diagnostics. The last line is "N passed, N failed", and
# the exit status is 1 when a test failed.
#
#	SPOOLD=$PWD/build/san/spoold sh tests/blackbox/run.sh [PATTERN...]
#
# PATTERNs (shell patterns) select tests by name, e.g. 'reload*'. With
# KEEP=1 the spools of failed tests are kept. Every spoold and every child
# it started is killed when its test ends, and when the script is stopped.
#
# The two tests of 1000 jobs keep the CPUs busy for a minute each; they run
# in a lane of their own (this script again, with --lane) beside the others,
# which mostly wait, and their lines are printed at the end. The test of
# pick-up latency runs first, before the lane starts, on a quiet machine.

# Conditions are strings that check and wait_for evaluate later, with the
# variables they name, so:
# shellcheck disable=SC2016,SC2034

set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
LANE=0
if [ "${1:-}" = --lane ]; then
	LANE=1
	shift
fi
PATTERNS="$*"
# The helpers, the runner and the cleanup of the suites.
# shellcheck source=/dev/null
. "$HERE/lib.sh"
LANEPID="" # the lane

# On SIGINT or SIGTERM, the lane stops too.
on_interrupt() {
	if [ -n "$LANEPID" ]; then
		kill -TERM "$LANEPID" 2>/dev/null
		wait "$LANEPID"
	fi
}

# ---------------------------------------------------------------------------
# The tests. Configs use tick 1 and kill_grace 1 to keep things fast, and
# user = the user running the tests, which root needs and others may give.

# Config check (-n).

t_config_good() {
	conf <<EOF
# A good config, with every kind of comment.
/* a C comment
   over three lines */
spool = "data"  // the spool
tick = 1        # seconds
stage a {
    command = {"$STAGES/succeed", "%f", "# not a comment", "http://x/*y*/"}
    user = "$ME"   # as whom
    next = "b"
    env = {"A=#1", "B=//2", "C=/*3*/"}
}
stage b { command = {"$STAGES/succeed"} user = "$ME" }
EOF
	"$SPOOLD" -n -c "$CONF" 2>"$T/check.err"
	rc=$?
	check '[ $rc -eq 0 ]' "spoold -n exits $rc: $(head -n 1 "$T/check.err")"
	check 'grep -q "configuration OK" "$T/check.err"' \
	    "spoold -n does not say \"configuration OK\""
	check '[ ! -e "$D" ]' "spoold -n made the spool"
	"$SPOOLD" -n -v -c "$CONF" >"$T/check.out" 2>"$T/check.err"
	for s in '"# not a comment"' '"http://x/*y*/"' '"A=#1"' '"B=//2"' \
	    '"C=/*3*/"'; do
		check 'grep -qF -- "$s" "$T/check.out"' \
		    "spoold -nv lost the string $s to its comment stripping"
	done
}

t_config_unknown_key_after_hash_comments() {
	conf <<EOF
# spoold.conf
#
# libconfuse 3.3 as packaged miscounts the lines after these comments.
# So the line named must be counted by spoold itself.
#
spool = "data"   # where it all goes
# a comment
    # an indented comment
tick = 1
bogus_key = 1
stage a { command = {"$STAGES/succeed"} user = "$ME" }
EOF
	bad "$(line_of bogus_key)" 'bogus_key'
	# The same in a stage, after comments in it.
	conf <<EOF
# one
# two
spool = "data"
stage a {
    # three
    command = {"$STAGES/succeed"}  # four
    # five
    user = "$ME"
    # six
    bogus_in_stage = 2
}
EOF
	bad "$(line_of bogus_in_stage)" 'bogus_in_stage'
	# spoold itself refuses it the same way, and makes nothing.
	spoold_once "$T/run.err"
	check '[ $RC -eq 78 ]' "spoold exits $RC on a bad config, not 78"
	check 'grep -qF "$CONF:$(line_of bogus_in_stage): " "$T/run.err"' \
	    "spoold does not name $CONF:$(line_of bogus_in_stage)"
	check '[ ! -e "$D" ]' "spoold made the spool from a bad config"
}

t_config_unknown_key_after_c_comments() {
	conf <<EOF
/*
 * spoold.conf, with C comments
 * over several lines; a # or a } in here is no comment or brace
 */
// and C++ comments
spool = "data" /* inline */ // trailing
stage a {
    command = {"$STAGES/succeed", "# in a string", "// in a string"}
    /* a comment
       in a stage { */
    user = "$ME" // user
    env = {"X=/* not a comment */"}
    // one more
    bogus_after_c = 3
}
EOF
	bad "$(line_of bogus_after_c)" 'bogus_after_c'
}

t_config_missing_brace() {
	conf <<EOF
# a stage whose } is missing
spool = "data"
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
# the end, without the closing brace
EOF
	bad "$(line_of 'stage a')" "missing|'}'|brace|end of file|unexpected"
	# The same for a stage that is not the last one.
	conf <<EOF
spool = "data"
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"

stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	bad "$(line_of 'stage a')" "missing|'}'|brace|end of file|unexpected"
}

t_config_unknown_next() {
	conf <<EOF
spool = "data"
# comment
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    # comment
    next = "nowhere"
}
EOF
	bad "$(line_of nowhere)" 'nowhere'
}

t_config_next_cycle() {
	conf <<EOF
spool = "data"
# a -> b -> c -> a
stage a { command = {"$STAGES/succeed"} user = "$ME" next = "b" }
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
    next = "c"
}
stage c {
    command = {"$STAGES/succeed"}
    user = "$ME"
    next = "a"
}
EOF
	NCHECK=$((NCHECK + 1))
	"$SPOOLD" -n -c "$CONF" 2>"$T/check.$NCHECK.err"
	rc=$?
	msg=$(head -n 1 "$T/check.$NCHECK.err")
	check '[ $rc -eq 78 ]' "spoold -n exits $rc on a cycle, not 78 ($msg)"
	# Any of the three next lines is the place of the cycle.
	case $msg in
	"$CONF:$(line_of '"b"'): "* | "$CONF:$(line_of '"c"'): "* | \
	    "$CONF:$(line_of 'next = "a"'): "*) ;;
	*) fail "spoold -n says \"$msg\", not the line of a next" ;;
	esac
	# A stage that is its own next.
	conf <<EOF
spool = "data"
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    next = "a"
}
EOF
	bad "$(line_of 'next = "a"')" 'a'
}

t_config_no_command() {
	conf <<EOF
spool = "data"
stage a { command = {"$STAGES/succeed"} user = "$ME" }
# b has no command
stage b {
    user = "$ME"
    slots = 2
}
EOF
	bad "$(line_of 'stage b')" 'command'
}

t_config_negative_number() {
	conf <<EOF
spool = "data"
// comment
stage a {
    command = {"$STAGES/succeed"}
    /* comment */
    user = "$ME"
    timeout = -5
}
EOF
	bad "$(line_of 'timeout = -5')" 'timeout|-5|range|negative'
	conf <<EOF
spool = "data"
# comment
kill_grace = -1
stage a { command = {"$STAGES/succeed"} user = "$ME" }
EOF
	bad "$(line_of 'kill_grace = -1')" 'kill_grace|-1|range|negative'
}

t_config_stage_after_brace() {
	# A stage that starts right after the brace closing the one before.
	conf <<EOF
spool = "data"
stage a { command = {"$STAGES/succeed"} user = "$ME" }stage b {
    user = "$ME"
}
stage c { command = {"$STAGES/succeed"} user = "$ME" }
EOF
	bad "$(line_of 'stage b')" 'stage b: no command'
	conf <<EOF
spool = "data"
stage a { command = {"$STAGES/succeed"} user = "$ME" }stage b { command = {"$STAGES/succeed"} user = "$ME" }
stage c {
    user = "$ME"
}
EOF
	bad "$(line_of 'stage c')" 'stage c: no command'
}

t_config_fault_in_list_over_lines() {
	conf <<EOF
spool = "data"
stage a {
    command = {
        "$STAGES/succeed",
        "%x"
    }
    user = "$ME"
}
EOF
	NCHECK=$((NCHECK + 1))
	"$SPOOLD" -n -c "$CONF" 2>"$T/check.$NCHECK.err"
	rc=$?
	msg=$(head -n 1 "$T/check.$NCHECK.err")
	check '[ $rc -eq 78 ]' "spoold -n exits $rc, not 78 ($msg)"
	# The line of the key or the line of the faulty element, not the
	# line of the list's closing brace.
	case $msg in
	"$CONF:$(line_of 'command = {'): "*placeholder* | \
	    "$CONF:$(line_of '"%x"'): "*placeholder*) ;;
	*) fail "spoold -n says \"$msg\", not line $(line_of 'command = {')" \
	    "or $(line_of '"%x"')" ;;
	esac
}

t_config_duplicate_stage() {
	conf <<EOF
spool = "data"
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
# a comment
# and another
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	bad "$(grep -n 'stage a' "$CONF" | sed -n 2p | cut -d: -f1)" \
	    'duplicate|twice|again|already'
}

t_config_group_writable() {
	conf <<EOF
spool = "data"
stage a { command = {"$STAGES/succeed"} user = "$ME" }
EOF
	chmod 664 "$CONF"
	bad '' 'writ'
	chmod 646 "$CONF"
	bad '' 'writ'
	chmod 644 "$CONF"
	"$SPOOLD" -n -c "$CONF" 2>/dev/null
	rc=$?
	check '[ $rc -eq 0 ]' "spoold -n refuses a config of mode 644 ($rc)"
}

# The child's contract, through a pipeline of two stages.

t_pipeline_contract() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/inspect", "%f", "%i", "%s", "%w", "%%", "x%%y%i"}
    next = "b"
    user = "$ME"
    env = {"FOO=bar baz"}
}
stage b {
    command = {"inspect", "%s"}
    user = "$ME"
    env = {"PATH=$STAGES:/usr/bin:/bin"}
}
EOF
	LEAKME=1
	export LEAKME
	start
	submit a j1 "hello j1"
	expect b/done j1 10
	W=$D/work/j1
	check '[ -f "$W/inspect.a" ] && [ -f "$W/inspect.b" ]' \
	    "the stages left no inspect.a and inspect.b in $W"
	for line in "arg0=$STAGES/inspect" "arg1=$D/a/running/j1" "arg2=j1" \
	    "arg3=a" "arg4=$W" "arg5=%" "arg6=x%yj1" "nargs=6" \
	    "env:SPOOL_JOB=$D/a/running/j1" "env:SPOOL_JOB_ID=j1" \
	    "env:SPOOL_STAGE=a" "env:SPOOL_ATTEMPT=1" "env:SPOOL_WORKDIR=$W" \
	    "env:SPOOL_HEARTBEAT=$W/heartbeat" "env:SPOOL_DIR=$D" \
	    "env:FOO=bar baz" "env:PATH=/usr/local/bin:/usr/bin:/bin" \
	    "cwd=$W" "fds=0 1 2 " "stdin=/dev/null" "job=hello j1"; do
		check 'grep -qxF -- "$line" "$W/inspect.a"' \
		    "stage a's child did not see \"$line\": $(grep -F -- \
		    "${line%%=*}" "$W/inspect.a" | head -n 2 | tr '\n' ' ')"
	done
	check '! grep -q "^env:LEAKME=" "$W/inspect.a"' \
	    "spoold's own environment reached the child"
	ids=$(grep '^pid=' "$W/inspect.a")
	pid=${ids%% *}
	pgid=${ids#* }
	check '[ -n "$pid" ] && [ "${pid#pid=}" = "${pgid#pgid=}" ]' \
	    "the child does not lead its process group: $ids"
	for line in "arg0=$STAGES/inspect" "arg1=b" "nargs=1" \
	    "env:SPOOL_JOB=$D/b/running/j1" "env:SPOOL_STAGE=b" \
	    "env:SPOOL_ATTEMPT=1" "env:PATH=$STAGES:/usr/bin:/bin" \
	    "fds=0 1 2 " "stdin=/dev/null" "job=hello j1"; do
		check 'grep -qxF -- "$line" "$W/inspect.b"' \
		    "stage b's child did not see \"$line\""
	done
	empty "$D/a/queue" "$D/a/running" "$D/a/done" "$D/a/error" \
	    "$D/b/queue" "$D/b/running" "$D/b/error"
	expect_status j1 stage b
	expect_status j1 state "done"
	expect_status j1 attempt 1
	expect_status j1 exit 0
	expect_status j1 reason null
	expect_status j1 pgid 0
	want="attempt exit finished forced key logged lost maxrss_kb pgid priority"
	want="$want progress pstart reason remote rusage sha256 signal stage started"
	want="$want state submitted sys_ms updated user_ms wall_ms "
	check '[ "$(jkeys "$W/status.json")" = "$want" ]' \
	    "status record keys: $(jkeys "$W/status.json")"
	L=$D/log/j1.log
	for re in '^=== spoold: [0-9T:Z-]* stage a attempt 1 started$' \
	    '^inspect: a$' \
	    '^=== spoold: [0-9T:Z-]* stage a attempt 1 exit 0 after [0-9]*\.[0-9]{3}s \(user [0-9]*\.[0-9]{3}s, sys [0-9]*\.[0-9]{3}s, maxrss [0-9]+ KiB\)$' \
	    '^=== spoold: [0-9T:Z-]* stage b attempt 1 started$' \
	    '^inspect: b$' \
	    '^=== spoold: [0-9T:Z-]* stage b attempt 1 exit 0 after [0-9]*\.[0-9]{3}s \(user [0-9]*\.[0-9]{3}s, sys [0-9]*\.[0-9]{3}s, maxrss [0-9]+ KiB\)$'; do
		check 'grep -Eq -- "$re" "$L"' "no line /$re/ in the log"
	done
	check '[ "$(wc -l <"$L")" -eq 6 ]' "the log has $(wc -l <"$L") lines, not 6"
	expect_metric "done" 1 5
	M=$D/index/metrics.json
	want="deferred done duplicates error pid queued retries running stages"
	want="$want timeouts updatedAt uptime_s version "
	check '[ "$(jkeys "$M")" = "$want" ]' "metrics keys: $(jkeys "$M")"
	want="cpu_ms_total deferred done error maxrss_kb_max queued retries"
	want="$want run_ms_p50 run_ms_p95 run_ms_total running runs slots timeouts "
	check '[ "$(jkeys "$M" a)" = "$want" ]' "metrics a keys: $(jkeys "$M" a)"
	check '[ "$(jkeys "$M" b)" = "$want" ]' "metrics b keys: $(jkeys "$M" b)"
	check '[ "$(metric pid)" = "$SPID" ]' "metrics pid is $(metric pid)"
	check '[ "$(metric runs a)" = 1 ] && [ "$(metric runs b)" = 1 ]' \
	    "metrics runs: a $(metric runs a), b $(metric runs b)"
	check '[ "$(metric "done" b)" = 1 ] && [ "$(metric "done" a)" = 0 ]' \
	    "metrics done: a $(metric "done" a), b $(metric "done" b)"
	check '[ "$(cat "$D/index/spoold.pid")" = "$SPID" ]' \
	    "index/spoold.pid does not hold $SPID"
	stop
	check '[ $RC -eq 0 ]' "spoold exits $RC after SIGTERM"
	check '[ ! -e "$D/index/spoold.pid" ]' "the pid file is left behind"
}

# inspect_j1 [PREFIX...]: job j1 through a stage a of the inspect stage,
# spoold started with PREFIX (see start); its report in work/j1/inspect.a.
inspect_j1() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/inspect"}
    user = "$ME"
}
EOF
	start "$@"
	submit a j1
	expect a/done j1 10
}

t_child_signals_default() {
	inspect_j1
	signals_default "$D/work/j1/inspect.a"
}

# A spoold started with signals ignored (as a shell starts a command in
# the background, or nohup) still starts its children with none ignored.
t_child_signals_inherited() {
	# shellcheck disable=SC2016 # the script of sh -c
	inspect_j1 sh -c 'trap "" QUIT USR1 USR2 TTOU; exec "$@"' sh
	ign=$(sigs "$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$SPID/status")")
	for n in 3 10 12 22; do
		check 'case " $ign " in *" $n "*) true ;; *) false ;; esac' \
		    "spoold does not run with signal $n ignored: $ign"
	done
	signals_default "$D/work/j1/inspect.a"
}

# signals_default FILE: the inspect report in FILE shows no signal blocked
# and none ignored (spoold blocks signals and ignores SIGPIPE; its child
# must not). Signals 32 and 33 are left out, with a note: glibc keeps them
# for itself, its sigaction refuses them and its posix_spawn leaves them
# ignored, and make 4.3 starts its commands with them ignored.
signals_default() {
	blk=$(sigs "$(sed -n 's/^SigBlk:[[:space:]]*//p' "$1")")
	ign=$(sigs "$(sed -n 's/^SigIgn:[[:space:]]*//p' "$1")")
	check '[ -z "$blk" ]' "the child starts with signals blocked: $blk"
	case " $ign " in
	*" 32 "* | *" 33 "*)
		diag "the child starts with the signals of glibc ignored: $ign" ;;
	esac
	rest=""
	for n in $ign; do
		case $n in
		32 | 33) ;;
		*) rest="$rest $n" ;;
		esac
	done
	check '[ -z "$rest" ]' "the child starts with signals ignored:$rest"
}

t_stage_user() {
	[ "$(id -u)" = 0 ] || skip "only root can run a stage as another user"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	getent group users >/dev/null || skip "no group users"
	conf <<EOF
spool = "data"
tick = 1
group = "users"
stage a {
    command = {"$STAGES/inspect"}
    user = "nobody"
}
EOF
	start
	submit a j1
	expect a/done j1 10
	W=$D/work/j1
	want="id=$(id -u nobody):$(id -g nobody)"
	check 'grep -qx "$want" "$W/inspect.a"' \
	    "the child did not run as nobody: $(grep '^id=' "$W/inspect.a")"
	# Exactly nobody's groups, and the spool's, by which it reaches its job.
	groups="groups=$({ id -G nobody | tr ' ' '\n'; getent group users |
	    cut -d: -f3; } | sort -nu | tr '\n' ' ')"
	check 'grep -qxF "$groups" "$W/inspect.a"' \
	    "the child's groups: $(grep '^groups=' "$W/inspect.a"), not $groups"
	# The work folder is spoold's, in the spool's group: nobody writes in
	# it, never renames it.
	check '[ "$(stat -c %U:%a:%G "$W")" = root:2770:users ]' \
	    "the work folder is $(stat -c %U:%a:%G "$W"), not root:2770:users"
	check '[ "$(stat -c %a:%G "$D")" = 2750:users ]' \
	    "the spool is $(stat -c %a:%G "$D"), not 2750:users"
	check '[ "$(stat -c %a:%G "$D/a/queue")" = 3770:users ]' \
	    "a/queue is $(stat -c %a:%G "$D/a/queue"), not 3770:users"
	check '[ "$(stat -c %a:%G "$D/a/done")" = 2750:users ]' \
	    "a/done is $(stat -c %a:%G "$D/a/done"), not 2750:users"
	signals_default "$W/inspect.a"
	for line in "fds=0 1 2 " "stdin=/dev/null" "job=job j1"; do
		check 'grep -qxF -- "$line" "$W/inspect.a"' \
		    "the child as nobody did not see \"$line\": $(grep -F -- \
		    "${line%%[=:]*}" "$W/inspect.a" | head -n 1)"
	done
}

t_stage_user_needs_group() {
	[ "$(id -u)" = 0 ] || skip "only root can run a stage as another user"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	conf <<EOF
spool = "data"
stage a {
    command = {"$STAGES/inspect"}
    user = "nobody"
}
# no group
EOF
	"$SPOOLD" -n -c "$CONF" >"$T/out" 2>&1
	rc=$?
	check '[ $rc -eq 78 ]' "spoold -n exits $rc, not 78"
	check 'grep -qxF "$CONF:4: user: nobody cannot reach the spool, which only root and its group may enter: name that group with group" "$T/out"' \
	    "the message: $(cat "$T/out")"
	check '[ ! -e "$D" ]' "the spool was made"
}

t_spool_mode() {
	conf <<EOF
spool = "data"
stage a {
    command = {"true"}
    user = "$SELF"
}
EOF
	start
	wait_for '[ -d "$D/a/queue" ]' 5 || fail "no spool"
	for f in "$D" "$D/a/queue" "$D/tmp" "$D/work" "$D/log" "$D/index"; do
		check '[ "$(stat -c %a "$f")" = 750 ]' \
		    "$f is $(stat -c %a "$f"), not 750"
	done
	wait_for '[ -f "$D/index/metrics.json" ]' 5 || fail "no metrics"
	check '[ "$(stat -c %a "$D/index/metrics.json")" = 640 ]' \
	    "metrics.json is $(stat -c %a "$D/index/metrics.json"), not 640"
}

t_fail_twice_then_succeed() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/fail-then-succeed"}
    user = "$ME"
    attempts = 3
    backoff = 0
    env = {"FAILS=2"}
}
EOF
	start
	submit a j1
	expect a/done j1 15
	expect_status j1 state "done"
	expect_status j1 attempt 3
	expect_status j1 exit 0
	check '[ "$(runs j1)" = 3 ]' "the log shows $(runs j1) runs, not 3"
	check '[ "$(grep -c "attempt [12] exit 1 after" "$D/log/j1.log")" = 2 ]' \
	    "the log has no two runs ending in exit 1"
	check 'grep -q "attempt 3 exit 0 after" "$D/log/j1.log"' \
	    "the log has no third run ending in exit 0"
	expect_metric retries 2 5
	expect_metric retries a 2 5
	expect_metric runs a 3 5
	expect_metric "done" 1 5
	expect_metric error 0 5
}

t_retry_backoff_defers() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/fail-then-succeed"}
    user = "$ME"
    attempts = 2
    backoff = 2
    env = {"FAILS=1"}
}
EOF
	start
	submit a j1
	wait_for '[ "$(st j1 state)" = deferred ]' 10 ||
	    fail "no deferred state after a failed run: $(cat "$D/work/j1/status.json")"
	check 'has a/queue j1' "the deferred job is in$(where j1), not a/queue"
	mt=$(stat -c %Y "$D/a/queue/j1")
	now=$(date +%s)
	check '[ "$mt" -gt "$now" ]' \
	    "the deferred job's mtime $mt is not in the future (now $now)"
	expect_metric deferred 1 3
	expect a/done j1 10
	expect_status j1 attempt 2
	first=$(sed -n 's/^=== spoold: \(.*\) stage a attempt 1 started$/\1/p' "$D/log/j1.log")
	second=$(sed -n 's/^=== spoold: \(.*\) stage a attempt 2 started$/\1/p' "$D/log/j1.log")
	gap=$(($(date -d "$second" +%s) - $(date -d "$first" +%s)))
	# Due at the whole second 2 s after the failed run's end: 2 apart.
	check '[ "$gap" -ge 2 ]' "the retry came $gap s after the first run, not after the 2 s backoff"
	expect_metric retries 1 3
}

t_exit75_until_attempts_spent() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/tempfail"}
    user = "$ME"
    attempts = 3
    backoff = 0
}
EOF
	start
	submit a j1
	expect a/error j1 15
	check '[ "$(runs j1)" = 3 ]' "the log shows $(runs j1) runs, not 3"
	expect_status j1 state error
	expect_status j1 attempt 3
	expect_status j1 exit 75
	expect_status j1 reason "exit 75 (attempt 3 of 3)"
	expect_metric error 1 5
	expect_metric retries a 2 5
	expect_metric runs a 3 5
}

t_exit65_straight_to_error() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/dataerr"}
    user = "$ME"
    attempts = 3
    backoff = 0
}
EOF
	start
	submit a j1
	expect a/error j1 10
	expect_metric runs a 1 5
	check '[ "$(runs j1)" = 1 ]' "the log shows $(runs j1) runs, not 1"
	expect_status j1 attempt 1
	expect_status j1 exit 65
	expect_status j1 reason "exit 65"
	expect_metric retries 0 5
	expect_metric error a 1 5
}

# A spool on a read-only filesystem is refused, by -n as at start, with a
# message naming it; the filesystem is mounted in a namespace of its own.
t_read_only_spool() {
	[ "$(id -u)" = 0 ] || skip "only root can mount a filesystem"
	mkdir "$T/ro"
	conf <<EOF
spool = "$T/ro/spool"
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	for opt in -n ""; do
		unshare -m sh -c 'mount -t tmpfs -o ro none "$1" &&
		    exec "$2" $3 -c "$4"' sh "$T/ro" "$SPOOLD" "$opt" "$CONF" \
		    2>"$T/ro.err"
		rc=$?
		check '[ $rc -eq 78 ]' "spoold $opt exits $rc on a read-only spool"
		check 'grep -qF "$CONF:1: spool: $T/ro/spool is on a read-only filesystem" "$T/ro.err"' \
		    "spoold $opt does not name the read-only spool: $(cat "$T/ro.err")"
	done
}

# Programs that vanish after the start: each run fails as exit 127, with
# the reason in the log. While they are missing, spoold -n refuses them.
t_command_not_found() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$T/no-such-program", "%f"}
    user = "$ME"
    attempts = 2
    backoff = 0
}
stage b {
    command = {"no-such-program-in-path"}
    user = "$ME"
    env = {"PATH=$T/bin"}
    attempts = 2
    backoff = 0
}
EOF
	bad 4 "^command: $T/no-such-program: No such file or directory$"
	mkdir "$T/bin"
	printf '#!/bin/sh\n' >"$T/no-such-program"
	chmod 755 "$T/no-such-program"
	bad 10 "^command: no-such-program-in-path: not found in PATH [(]$T/bin[)]$"
	cp "$T/no-such-program" "$T/bin/no-such-program-in-path"
	start
	rm "$T/no-such-program" "$T/bin/no-such-program-in-path"
	submit a ja
	submit b jb
	expect a/error ja 10
	expect b/error jb 10
	for j in ja jb; do
		expect_status $j reason "exit 127 (attempt 2 of 2)"
		check '[ "$(runs $j)" = 2 ]' "$j ran $(runs $j) times, not 2"
	done
	check 'grep -q "$T/no-such-program.*No such file or directory" "$D/log/ja.log"' \
	    "the log of ja does not say why: $(sed -n 2p "$D/log/ja.log")"
	check 'grep -q "no-such-program-in-path.*not found" "$D/log/jb.log"' \
	    "the log of jb does not say why: $(sed -n 2p "$D/log/jb.log")"
	check 'alive $SPID' "spoold died"
}

# Stale children.

t_timeout_hang() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/hang"}
    user = "$ME"
    timeout = 1
    attempts = 2
    backoff = 0
}
EOF
	start
	submit a j1
	expect a/error j1 20
	check '[ "$(runs j1)" = 2 ]' "the log shows $(runs j1) runs, not 2"
	check '[ "$(grep -c "^hang: j1 attempt [12] hanging$" "$D/log/j1.log")" = 2 ]' \
	    "the child's output is not in the log"
	check '[ "$(grep -c "killed by signal 15 (Terminated) after" "$D/log/j1.log")" = 2 ]' \
	    "the runs did not end by SIGTERM: $(grep after "$D/log/j1.log" | tr '\n' ' ')"
	# Stopped within timeout + kill_grace + tick.
	# shellcheck disable=SC2046
	check 'within 1 3 $(durations j1)' "the runs took $(durations j1 | tr '\n' ' ')s, not 1 to 3 s"
	diag "runs stopped after $(durations j1 | tr '\n' ' ')s (timeout 1 s)"
	expect_status j1 reason "timeout after 1s (attempt 2 of 2)"
	expect_status j1 signal 15
	expect_status j1 exit null
	expect_metric timeouts 2 5
	expect_metric timeouts a 2 5
	expect_metric retries 1 5
	expect_metric error 1 5
	check '[ -z "$(spool_procs "$T")" ]' \
	    "processes of the stopped runs live on: $(spool_procs "$T" | tr '\n' ' ')"
}

t_timeout_ignoring_sigterm() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/ignore-term"}
    user = "$ME"
    timeout = 1
    attempts = 2
    backoff = 0
}
EOF
	start
	submit a j1
	expect a/error j1 20
	check '[ "$(runs j1)" = 2 ]' "the log shows $(runs j1) runs, not 2"
	check '[ "$(grep -c "killed by signal 9 (Killed) after" "$D/log/j1.log")" = 2 ]' \
	    "the runs did not end by SIGKILL: $(grep after "$D/log/j1.log" | tr '\n' ' ')"
	check 'grep -q "^ignore-term: j1 attempt 2 ignoring SIGTERM$" "$D/log/j1.log"' \
	    "the child's output is not in the log"
	# SIGKILL kill_grace after SIGTERM: within timeout + kill_grace + tick.
	# shellcheck disable=SC2046
	check 'within 2 3 $(durations j1)' "the runs took $(durations j1 | tr '\n' ' ')s, not 2 to 3 s"
	diag "runs killed after $(durations j1 | tr '\n' ' ')s (timeout 1 s, kill_grace 1 s)"
	expect_status j1 reason "timeout after 1s (attempt 2 of 2)"
	expect_status j1 signal 9
	expect_metric timeouts 2 5
	check '[ -z "$(spool_procs "$T")" ]' "processes of the killed runs live on"
}

t_heartbeat_missing() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/no-heartbeat"}
    user = "$ME"
    heartbeat = 1
    attempts = 1
}
EOF
	start
	submit a j1
	expect a/error j1 10
	expect_status j1 reason "no heartbeat for 1s (attempt 1 of 1)"
	# shellcheck disable=SC2046
	check 'within 1 2.5 $(durations j1)' "the run took $(durations j1)s, not 1 to 2.5 s"
	diag "stopped after $(durations j1)s without a heartbeat (heartbeat 1 s)"
	expect_metric timeouts a 1 5
}

t_heartbeat_progress() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/heartbeat"}
    user = "$ME"
    heartbeat = 1
    attempts = 1
    env = {"PAGES=10", "BEAT=0.3"}
}
EOF
	start
	submit a j1
	wait_for '[ "$(st j1 state)" = running ]' 5 || fail "j1 is not running"
	expect a/done j1 15
	# shellcheck disable=SC2046
	check 'within 2.5 10 $(durations j1)' "the run took $(durations j1)s; it should run past its 1 s heartbeat"
	expect_status j1 progress "page 10/10"
	expect_status j1 reason null
	expect_metric timeouts a 0 5
}

t_sigsegv_retried() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/segv"}
    user = "$ME"
    attempts = 2
    backoff = 0
}
EOF
	start
	submit a j1
	expect a/error j1 10
	check '[ "$(runs j1)" = 2 ]' "the log shows $(runs j1) runs, not 2"
	check '[ "$(grep -c "killed by signal 11 (Segmentation fault) after" "$D/log/j1.log")" = 2 ]' \
	    "the log does not show two deaths by SIGSEGV"
	expect_status j1 reason "killed by signal 11 (Segmentation fault) (attempt 2 of 2)"
	expect_status j1 signal 11
	expect_status j1 exit null
	expect_metric retries 1 5
}

t_flood_stdout() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/flood"}
    user = "$ME"
    env = {"LINES=50000"}
}
EOF
	start
	submit a j1
	expect a/done j1 30
	L=$D/log/j1.log
	size=$(wc -c <"$L")
	check '[ "$size" -gt 4000000 ]' "the log has $size bytes, not over 4000000"
	check '[ "$(grep -c "^flood [0-9]\{8\} x\{65\}$" "$L")" = 50000 ]' \
	    "the log does not have the 50000 lines whole"
	check '[ "$(sed -n 2p "$L" | cut -c1-14)" = "flood 00000000" ]' \
	    "the first line of output is not right after the header"
	check 'grep -q "^flood 00049999 " "$L" && grep -q "^flood: done$" "$L"' \
	    "the end of the output is missing"
	check 'tail -n 1 "$L" | grep -q "attempt 1 exit 0 after"' "no footer at the end"
	diag "log of $size bytes"
}

t_requeue_from_error_has_full_attempts() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/tempfail"}
    user = "$ME"
    attempts = 2
    backoff = 0
}
EOF
	start
	submit a j1
	expect a/error j1 10
	expect_status j1 attempt 2
	mv "$D/a/error/j1" "$D/a/queue/j1"
	wait_for '[ "$(runs j1)" = 4 ] && has a/error j1' 15 ||
	    fail "j1, moved back to queue/, ran $(runs j1) times in all, not 2 + 2"
	expect_status j1 attempt 2
	expect_status j1 reason "exit 75 (attempt 2 of 2)"
}

t_quick_failures_throttled() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/segv"}
    user = "$ME"
    attempts = 1
    env = {"STAMPS=$T/stamps"}
}
EOF
	: >"$T/stamps"
	start
	submit_many a 5
	wait_for 'count "$D/a/error"; [ $CNT -eq 5 ]' 15 ||
	    fail "$CNT of 5 jobs in a/error"
	# shellcheck disable=SC2046
	set -- $(awk '$1 == "START" { print $3 }' "$T/stamps")
	n=$#
	check '[ $n -eq 5 ]' "$n runs for 5 jobs"
	g4=$((($4 - $3) / 1000000))
	g5=$((($5 - $4) / 1000000))
	diag "after 3 quick failures the next claims came after $g4 ms, then $g5 ms"
	check '[ $g4 -ge 900 ]' "the 4th run started $g4 ms after the 3rd, not after a 1 s hold-off"
	check '[ $g5 -ge 1900 ]' "the 5th run started $g5 ms after the 4th, not after a 2 s hold-off"
	check 'grep -q "stage a: 3 children in a row died at once" "$ERR"' \
	    "spoold does not log the throttle"
}

t_future_mtime_deferred() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
EOF
	: >"$T/stamps"
	start
	at=$(($(date +%s) + 3))
	printf 'later\n' >"$D/tmp/later"
	touch -d "@$at" "$D/tmp/later"
	mv "$D/tmp/later" "$D/a/queue/later"
	expect_metric deferred 1 3
	check '[ -z "$(stamp START later)" ]' "a job due in 3 s started at once"
	wait_for '[ -n "$(stamp START later)" ]' 10 || fail "the job did not start"
	s=$(stamp START later)
	check '[ $((s / 1000000000)) -ge $at ]' \
	    "the job started at $((s / 1000000000)), before its time $at"
	check '[ $((s / 1000000000)) -le $((at + 2)) ]' \
	    "the job started at $((s / 1000000000)), long after its time $at"
	expect a/done later 5
}

t_name_time_does_not_defer() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	# Names of the form spoolctl gives; only the modification time defers.
	submit a 5.20991231T000000.name-from-the-future
	submit a 5.20200101T000000.name-from-the-past
	expect a/done 5.20200101T000000.name-from-the-past 10
	expect a/done 5.20991231T000000.name-from-the-future 5
}

t_claim_order() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 1
    env = {"STAMPS=$T/stamps"}
}
EOF
	: >"$T/stamps"
	mkdir -p "$D/a/queue"
	now=$(date +%s)
	for j in "new $((now - 10))" "old $((now - 100))" "tie-b $((now - 50))" \
	    "tie-a $((now - 50))" "5.20261123T090000.mid $((now - 5))" \
	    "9.20261123T090000.urgent $now" "1.2026.no-priority $((now - 1))"; do
		# shellcheck disable=SC2086
		set -- $j
		printf 'x\n' >"$D/a/queue/$1"
		touch -d "@$2" "$D/a/queue/$1"
	done
	start
	for j in new 1.2026.no-priority; do
		expect a/done $j 15
	done
	order=$(awk '$1 == "START" { printf "%s ", $2 }' "$T/stamps")
	want="9.20261123T090000.urgent 5.20261123T090000.mid old tie-a tie-b new"
	want="$want 1.2026.no-priority "
	check '[ "$order" = "$want" ]' "jobs ran in the order $order, not $want"
	expect_status 9.20261123T090000.urgent priority 9
	expect_status 5.20261123T090000.mid priority 5
	expect_status old priority 0
}

# status_key NAME KEY STAGE: gives job NAME a key, before it is submitted,
# as spoolctl submit --key does.
status_key() {
	mkdir -p "$D/work/$1"
	printf '{"stage":"%s","state":"queued","key":"%s"}\n' "$3" "$2" \
	    >"$D/work/$1/status.json"
}

t_key_exclusion() {
	conf <<EOF
spool = "data"
tick = 1
cpus = 8
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 3
    env = {"STAMPS=$T/stamps", "SLEEP=0.7"}
}
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 2
    env = {"STAMPS=$T/stamps", "SLEEP=0.7"}
}
EOF
	: >"$T/stamps"
	start
	status_key k1 customer-42 a
	status_key k2 customer-42 a
	status_key k3 customer-42 b
	submit a k1
	submit a k2
	submit b k3
	submit a free
	wait_for 'has a/done k1 && has a/done k2 && has b/done k3 && has a/done free' 15 ||
	    fail "the jobs did not all finish: k1 in$(where k1), k2 in$(where k2), k3 in$(where k3)"
	# No run of a key starts while another of that key runs.
	ov=$(awk '$2 ~ /^k[123]$/ { t[$2, $1] = $3; ids[$2] }
	    END {
		for (a in ids)
			for (b in ids)
				if (a != b && t[b, "START"] >= t[a, "START"] &&
				    t[b, "START"] <= t[a, "END"])
					printf "%s during %s; ", b, a
	    }' "$T/stamps")
	check '[ -z "$ov" ]' "jobs of one key ran at once: $ov"
	expect_status k3 key customer-42
	# The job without a key did not wait for them.
	sf=$(stamp START free)
	ek=$(awk '$1 == "END" && $2 ~ /^k/ && $3 > m { m = $3 }
	    END { printf "%.0f", m / 1000000 }' "$T/stamps")
	check '[ $((sf / 1000000)) -lt "$ek" ]' \
	    "the job without a key waited for the keyed ones"
}

t_max_children() {
	conf <<EOF
spool = "data"
tick = 1
max_children = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 2
    env = {"STAMPS=$T/stamps", "SLEEP=0.3"}
}
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 2
    env = {"STAMPS=$T/stamps", "SLEEP=0.3"}
}
EOF
	: >"$T/stamps"
	start
	submit a a1
	submit a a2
	submit b b1
	submit b b2
	wait_for 'has a/done a1 && has a/done a2 && has b/done b1 && has b/done b2' 15 ||
	    fail "not all jobs done"
	most=$(awk '{ print $3, ($1 == "START" ? 1 : -1) }' "$T/stamps" |
	    sort -n | awk '{ n += $2; if (n > m) m = n } END { print m }')
	check '[ "$most" = 1 ]' "$most children ran at once under max_children 1"
}

t_group_killed_orphans_reaped() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/leave-behind"}
    user = "$ME"
    env = {"LINGER=100000"}
}
EOF
	start
	submit a j1
	expect a/done j1 10
	in=$(cat "$D/work/j1/ingroup")
	out=$(cat "$D/work/j1/outside")
	wait_for '! alive $in' 3 ||
	    fail "the process left in the child's group lives on"
	# No process of a job outlives it, even one in a session of its own:
	# spoold, its subreaper, kills it and reaps it.
	wait_for '[ ! -e /proc/$out ]' 3 ||
	    fail "the process that left the group lives on: $(cat \
	    "/proc/$out/stat" 2>/dev/null)"
	check 'grep -q "killed pid $out, left behind" "$ERR" ||
	    grep -q "j1: killed [0-9]* processes its run left" "$ERR"' \
	    "spoold did not say it killed pid $out"
}

t_cancel_request() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/hang"}
    user = "$ME"
}
EOF
	start
	submit a j1
	wait_for '[ "$(st j1 state)" = running ]' 10 || fail "j1 did not start"
	: >"$D/index/cancel/j1"
	expect a/error j1 5
	expect_status j1 reason cancelled
	check 'tail -n 1 "$D/log/j1.log" | grep -q "killed by signal 15"' \
	    "the child was not stopped by SIGTERM"
	wait_for '[ ! -e "$D/index/cancel/j1" ]' 3 ||
	    fail "the cancel request was left"
	# A request for a job that does not run is dropped.
	: >"$D/index/cancel/nosuch"
	wait_for '[ ! -e "$D/index/cancel/nosuch" ]' 3 ||
	    fail "a request for no running job was left"
}

t_duplicate_id_not_replaced() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	printf 'the first\n' >"$D/a/done/dup"
	submit a dup "the second"
	expect a/error dup 10
	check '[ "$(cat "$D/a/done/dup")" = "the first" ]' \
	    "the finished job was replaced"
	check '[ "$(cat "$D/a/error/dup")" = "the second" ]' "the new job was lost"
	expect_status dup reason "could not move to a/done: File exists"
}

# Throughput and crashes.

t_thousand_jobs_pipeline() {
	[ -z "$VALGRIND" ] || skip "too slow under valgrind; the other tests run the same code"
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 2
    next = "b"
}
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 2
}
EOF
	start
	clock
	t0=$NOW
	submit_many a 1000
	wait_for 'count "$D/b/done"; [ $CNT -eq 1000 ]' 150 slow ||
	    fail "$CNT of 1000 jobs in b/done after 150 s"
	clock
	diag "1000 jobs through 2 stages of 2 slots in $((NOW - t0)) ms"
	expect_metric "done" 1000 5
	expect_metric runs a 1000 5
	expect_metric runs b 1000 5
	expect_metric "done" b 1000 5
	check '[ "$(metric error)" = 0 ] && [ "$(metric retries)" = 0 ]' \
	    "metrics: error $(metric error), retries $(metric retries)"
	check '[ "$(metric queued)" = 0 ] && [ "$(metric running)" = 0 ]' \
	    "metrics: queued $(metric queued), running $(metric running)"
	empty "$D/a/queue" "$D/a/running" "$D/a/done" "$D/a/error" \
	    "$D/b/queue" "$D/b/running" "$D/b/error"
	n=$(grep -L '"stage":"b","state":"done"' "$D"/work/*/status.json | wc -l)
	check '[ "$n" -eq 0 ]' "$n status records do not say b, done"
	stop
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	# Nothing left in tmp/ once spoold is done with it.
	empty "$D/tmp"
}


t_kill9_restart_1000_jobs() {
	[ -z "$VALGRIND" ] || skip "too slow under valgrind; the other tests run the same code"
	conf <<EOF
spool = "data"
tick = 1
cpus = 8
kill_grace = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 4
    env = {"STAMPS=$T/stamps"}
}
EOF
	: >"$T/stamps"
	start
	submit_many a 1000
	cut=0
	for k in 1 2 3 4 5; do
		target=$((k * 160))
		wait_for 'count "$D/a/done"; [ $CNT -ge $target ]' 60 slow ||
		    fail "only $CNT jobs done before kill $k"
		kill9
		count "$D/a/running"
		cut=$((cut + CNT))
		start
	done
	wait_for 'count "$D/a/done"; [ $CNT -eq 1000 ]' 120 slow ||
	    fail "$CNT of 1000 jobs in a/done after the restarts"
	stop
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	empty "$D/a/queue" "$D/a/running" "$D/a/error"
	n=$(grep -L '"state":"done"' "$D"/work/*/status.json | wc -l)
	check '[ "$n" -eq 0 ]' "$n status records of jobs in done/ do not say done"
	# shellcheck disable=SC2012
	n=$(ls -A "$D/tmp" | wc -l)
	check '[ "$n" -eq 0 ]' "$n files left in tmp/ by the kills:" \
	    "$(find "$D/tmp" -mindepth 1 | head -n 3 | tr '\n' ' ')"
	i=0
	while [ $i -lt 1000 ]; do
		i=$((i + 1))
		[ -f "$D/a/done/j$i" ] || fail "j$i is in$(where "j$i"), not a/done"
	done
	overlaps >"$T/overlaps"
	summary=$(tail -n 1 "$T/overlaps")
	check '! grep -q "^OVERLAP" "$T/overlaps"' \
	    "runs of a job overlapped: $(grep -c "^OVERLAP" "$T/overlaps") times, first $(grep -m 1 "^OVERLAP" "$T/overlaps")"
	# shellcheck disable=SC2086
	set -- $summary
	nruns=$2
	unended=$4
	njobs=$6
	check '[ "$njobs" = 1000 ]' "only $njobs jobs ever started"
	n=$(cat "$T"/spoold.*.err | grep -c "left by a previous spoold")
	diag "5 kills with $cut jobs in running/; $nruns runs for 1000 jobs," \
	    "$unended without an END stamp; $n left-over groups stopped at restarts"
}

# Names and entries that are not jobs.

t_odd_names() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed", "%i", "%f"}
    user = "$ME"
    slots = 2
    env = {"STAMPS=$T/stamps"}
}
EOF
	start
	n200=$(printf '%0200d' 0 | tr 0 n)
	n251=$(printf '%0251d' 0 | tr 0 m)
	set -- "with spaces in it" "café-é" "日本" "-leading-dash" "$n200" \
	    "$n251" "pct%i%%s%f" "quote'd \"and\" back\\slash" "star*?[x]" \
	    "#hash" "trailing space "
	for n in "$@"; do
		submit a "$n"
	done
	printf 'in place\n' >"$D/a/queue/written-in-place"
	for n in "$@" written-in-place; do
		expect a/done "$n" 10
		expect_status "$n" state "done"
		check 'grep -qF "succeed: $n attempt 1 in a" "$D/log/$n.log"' \
		    "the log of \"$n\" lacks its output"
		check '[ "$(nstamps START "$n")" = 1 ]' \
		    "\"$n\" ran $(nstamps START "$n") times"
	done
	empty "$D/a/queue" "$D/a/running" "$D/a/error"
}

t_not_jobs_quarantined() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
EOF
	: >"$T/stamps"
	start
	printf 'precious\n' >"$T/target"
	touch -d '2001-02-03 04:05:06' "$T/target"
	ln -s "$T/target" "$D/tmp/link"
	mv "$D/tmp/link" "$D/a/queue/link"
	ln -s "$T/target" "$D/a/queue/link-made-here"
	mkfifo "$D/tmp/fifo"
	mv "$D/tmp/fifo" "$D/a/queue/fifo"
	mkdir "$D/tmp/folder"
	printf 'inside\n' >"$D/tmp/folder/inner"
	mv "$D/tmp/folder" "$D/a/queue/folder"
	ctl=$(printf 'ctl\001x')
	c1=$(printf 'cone\302\205x')
	bin=$(printf 'bad\377utf8')
	over=$(printf 'over\300\257long')
	for n in "$ctl" "$c1" "$bin" "$over"; do
		submit a "$n"
	done
	submit a good
	expect a/done good 10
	for n in link link-made-here fifo folder "$ctl" "$c1" "$bin" "$over"; do
		expect a/error "$n" 10
		check '[ "$(nstamps START "$n")" = 0 ]' "\"$n\" was run"
		check '[ ! -e "$D/log/$n.log" ]' "\"$n\" has a log"
	done
	expect_status link reason "a symbolic link, not a regular file"
	expect_status link-made-here reason "a symbolic link, not a regular file"
	expect_status link state error
	expect_status fifo reason "a FIFO, not a regular file"
	expect_status folder reason "a folder, not a regular file"
	expect_status "$ctl" reason "control character in name"
	expect_status "$c1" reason "control character in name"
	expect_status "$bin" reason "name is not UTF-8"
	expect_status "$over" reason "name is not UTF-8"
	check '[ -L "$D/a/error/link" ] && [ "$(readlink "$D/a/error/link")" = "$T/target" ]' \
	    "the symbolic link did not go to error/ as itself"
	check '[ "$(cat "$T/target")" = precious ]' "the link's target was changed"
	check '[ "$(stat -c %Y "$T/target")" = "$(date -d "2001-02-03 04:05:06" +%s)" ]' \
	    "the link's target was touched"
	check '[ -p "$D/a/error/fifo" ]' "the FIFO is no longer a FIFO"
	check '[ "$(cat "$D/a/error/folder/inner")" = inside ]' \
	    "the folder's content changed"
	empty "$D/a/queue" "$D/a/running"
	check 'alive $SPID' "spoold died"
}

# Reload.

t_reload_adds_stage() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    env = {"STAMPS=$T/stamps", "SLEEP=3"}
}
EOF
	start
	submit a ja
	wait_for '[ -n "$(stamp START ja)" ]' 10 || fail "ja did not start"
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    env = {"STAMPS=$T/stamps", "SLEEP=3"}
}
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
EOF
	kill -HUP "$SPID"
	wait_for '[ -d "$D/b/queue" ] && [ -d "$D/b/running" ] && [ -d "$D/b/done" ] && [ -d "$D/b/error" ]' 5 ||
	    fail "the folders of the new stage b did not appear"
	submit b jb
	expect b/done jb 10
	check 'has a/running ja' "ja, running in a, is in$(where ja) while b ran jb"
	expect a/done ja 10
	check '[ "$(nstamps START ja)" = 1 ]' "ja ran $(nstamps START ja) times"
	check 'grep -q "attempt 1 exit 0 after" "$D/log/ja.log"' \
	    "ja did not end normally: $(tail -n 1 "$D/log/ja.log")"
	expect_status ja attempt 1
	expect_metric slots b 1 5
	check 'alive $SPID' "spoold died"
}

t_reload_broken_config_keeps_old() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	conf <<EOF
spool = "data"
tick = 1
# broken
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    no_such_key = 1
}
EOF
	kill -HUP "$SPID"
	wait_for 'grep -q "$CONF:$(line_of no_such_key): " "$ERR"' 5 ||
	    fail "the broken config was not logged with its line: $(tail -n 2 "$ERR" | tr '\n' ' ')"
	check 'alive $SPID' "spoold died of a broken config"
	# A stage whose program is not there: refused the same way.
	sed "s|$STAGES/succeed|$T/gone|; /no_such_key/d" "$CONF" | conf
	kill -HUP "$SPID"
	wait_for 'grep -qF "$CONF:$(line_of "$T/gone"): command: $T/gone: No such file or directory" "$ERR"' 5 ||
	    fail "the missing program was not logged with its line: $(tail -n 2 "$ERR" | tr '\n' ' ')"
	submit a j1
	expect a/done j1 10
	check '[ "$(runs j1)" = 1 ]' "j1 ran $(runs j1) times, not once"
	check '[ ! -d "$D/b" ]' "a stage appeared"
	# The file fixed, a reload works.
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	kill -HUP "$SPID"
	wait_for '[ -d "$D/b/queue" ]' 5 || fail "no stage b after the fixed reload"
	submit b j2
	expect b/done j2 10
	# Another spool needs a restart: such a reload is refused.
	sed 's|^spool = "data"|spool = "other"|' "$CONF" | conf
	kill -HUP "$SPID"
	wait_for 'grep -q "spool cannot change" "$ERR"' 5 ||
	    fail "a reload with another spool was not refused"
	submit b j3
	expect b/done j3 10
	check '[ ! -e "$T/other" ]' "the other spool was made"
}

t_reload_removes_stage() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    env = {"STAMPS=$T/stamps", "SLEEP=2"}
}
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	submit a ja
	wait_for '[ -n "$(stamp START ja)" ]' 10 || fail "ja did not start"
	conf <<EOF
spool = "data"
tick = 1
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	kill -HUP "$SPID"
	wait_for 'grep -q "reloaded" "$ERR"' 5 || fail "no reload"
	expect a/done ja 10
	check 'grep -q "attempt 1 exit 0 after" "$D/log/ja.log"' \
	    "the running child of the removed stage did not end normally"
	submit a jlate
	expect_metric slots a 0 5
	# Two ticks later, the removed stage has still not claimed it.
	up=$(metric uptime_s)
	wait_for '[ "$(metric uptime_s)" -ge $((up + 2)) ]' 5 || fail "no metrics"
	check 'has a/queue jlate' "jlate, in removed stage a, is in$(where jlate)"
	submit b jb
	expect b/done jb 10
}

# Stopping.

t_sigterm_lets_child_finish() {
	conf <<EOF
spool = "data"
tick = 1
shutdown_grace = 30
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    env = {"STAMPS=$T/stamps", "SLEEP=2"}
}
EOF
	start
	submit a j1
	wait_for '[ -n "$(stamp START j1)" ]' 10 || fail "j1 did not start"
	kill -TERM "$SPID"
	wait_for 'grep -q "stopping" "$ERR"' 5 || fail "spoold does not say it is stopping"
	submit a j2
	clock
	t0=$NOW
	wait_exit 10
	clock
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	check 'has a/done j1' "j1 is in$(where j1), not a/done"
	check 'has a/queue j2' "j2, submitted while stopping, is in$(where j2)"
	check '[ "$(nstamps START j2)" = 0 ]' "j2 was started while stopping"
	check 'grep -q "attempt 1 exit 0 after" "$D/log/j1.log"' "j1 did not end normally"
	check '[ ! -e "$D/index/spoold.pid" ]' "the pid file is left behind"
	check '[ $((NOW - t0)) -lt 5000 ]' "spoold took $((NOW - t0)) ms to exit after its last child"
}

t_sigterm_requeues_after_grace() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
shutdown_grace = 1
stage h {
    command = {"$STAGES/hang"}
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
stage i {
    command = {"$STAGES/ignore-term"}
    user = "$ME"
}
EOF
	start
	submit h jh
	submit i ji
	wait_for '[ "$(st jh state)" = running ] && [ "$(st ji state)" = running ] && [ -n "$(stamp START jh)" ]' 10 ||
	    fail "the jobs did not start"
	clock
	t0=$NOW
	stop 10
	clock
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	# shutdown_grace, then SIGTERM, then kill_grace for the one ignoring it.
	check '[ $((NOW - t0)) -le 4000 ]' "spoold took $((NOW - t0)) ms to stop"
	diag "stopped in $((NOW - t0)) ms with shutdown_grace 1 s and kill_grace 1 s"
	for j in jh ji; do
		check 'has "${j#j}/queue" $j' "$j is in$(where $j), not back in queue/"
		expect_status $j state queued
		expect_status $j attempt 0
		expect_status $j reason "stopped by shutdown"
	done
	check 'tail -n 1 "$D/log/jh.log" | grep -q "killed by signal 15"' "jh was not stopped by SIGTERM"
	check 'tail -n 1 "$D/log/ji.log" | grep -q "killed by signal 9"' "ji was not stopped by SIGKILL"
	check '[ -z "$(spool_procs "$T")" ]' "children outlived spoold"
	check '[ "$(metric retries)" = 0 ] && [ "$(metric timeouts)" = 0 ]' \
	    "a shutdown counted retries $(metric retries), timeouts $(metric timeouts)"
	# The attempt was not spent: the next run is attempt 1 again.
	start
	wait_for '[ "$(grep -c "^hang: jh attempt 1 hanging$" "$D/log/jh.log")" = 2 ]' 10 ||
	    fail "jh did not run again as attempt 1: $(grep '^hang' "$D/log/jh.log" | tr '\n' ' ')"
	stop 10
	check '[ $RC -eq 0 ]' "spoold exits $RC"
}

# children_of PID: the live children of process PID.
children_of() {
	_parent=$1
	for _s in /proc/[0-9]*/stat; do
		{ read -r _l <"$_s"; } 2>/dev/null || continue
		_p=${_s#/proc/}
		_p=${_p%/stat}
		_l=${_l##*) }
		# shellcheck disable=SC2086
		set -- $_l
		if [ "$2" = "$_parent" ] && [ "$1" != Z ]; then
			echo "$_p"
		fi
	done
}

t_sync_helper() {
	[ -z "$VALGRIND" ] || skip "its process is valgrind under valgrind"
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 2
}
EOF
	unset SPOOLD_NOSYNC
	start
	wait_for '[ -n "$(children_of $SPID)" ]' 5 ||
	    fail "spoold has no sync helper"
	helper=$(children_of "$SPID")
	check 'grep -q "sync" "/proc/$helper/cmdline"' \
	    "the child of spoold is not its sync helper: $(tr '\0' ' ' <"/proc/$helper/cmdline")"
	submit_many a 20
	wait_for 'count "$D/a/done"; [ $CNT -eq 20 ]' 30 ||
	    fail "$CNT of 20 jobs done with syncs"
	kill9
	wait_for '! alive $helper' 5 || fail "the sync helper outlived a kill -9 of spoold"
	start
	helper=$(children_of "$SPID")
	check '[ -n "$helper" ]' "the restarted spoold has no sync helper"
	submit a last
	expect a/done last 10
	stop
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	wait_for '! alive $helper' 5 || fail "the sync helper outlived spoold"
}

t_sigint_stops() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	kill -INT "$SPID"
	wait_for '! alive $SPID' 10 || fail "spoold did not stop on SIGINT"
	wait "$SPID"
	rc=$?
	check '[ $rc -eq 0 ]' "spoold exits $rc after SIGINT"
	check '[ ! -e "$D/index/spoold.pid" ]' "the pid file is left behind"
}

t_second_spoold_refused() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	spoold_once "$T/second.err"
	check '[ $RC -eq 75 ]' "the second spoold exits $RC, not 75"
	check 'grep -q "spool .* is in use by spoold pid $SPID\$" "$T/second.err"' \
	    "the second spoold does not name pid $SPID: $(cat "$T/second.err")"
	check '[ "$(cat "$D/index/spoold.pid")" = "$SPID" ]' \
	    "the pid file no longer holds $SPID"
	submit a j1
	expect a/done j1 10
	stop
	check '[ $RC -eq 0 ]' "the first spoold exits $RC"
}

t_kill9_with_hanging_child() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
shutdown_grace = 1
stage a {
    command = {"$STAGES/hang"}
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
EOF
	: >"$T/stamps"
	start
	submit a j1
	wait_for '[ -n "$(stamp START j1)" ] && [ "$(st j1 state)" = running ]' 10 ||
	    fail "j1 did not start"
	old=$(awk '$1 == "START" { print $NF; exit }' "$T/stamps")
	expect_status j1 pgid "$old"
	kill9
	check 'alive "$old"' "the child died with spoold"
	check 'has a/running j1' "j1 is in$(where j1), not a/running, after kill -9"
	clock
	t0=$NOW
	start
	wait_for '[ "$(nstamps START j1)" -ge 2 ]' 20 ||
	    fail "j1 did not run again after the restart"
	clock
	# The old group was stopped before the new run started.
	check '! group_alive "$old"' "the old process group $old still runs"
	check 'grep -q "stopping process group $old left by a previous spoold" "$ERR" ||
	    grep -q "killed what a run of a previous spoold left" "$ERR"' \
	    "spoold does not say it stopped the old group $old"
	n1=$(grep -n -e "stopping process group $old" \
	    -e "killed what a run of a previous spoold left" "$ERR" |
	    head -n 1 | cut -d: -f1)
	n2=$(grep -n "a: j1 attempt 1 started" "$ERR" | head -n 1 | cut -d: -f1)
	check '[ -n "$n1" ] && [ -n "$n2" ] && [ "$n1" -lt "$n2" ]' \
	    "the new run started before the old group was stopped"
	diag "the job ran again $((NOW - t0)) ms after the restart"
	expect_status j1 attempt 1
	check '[ "$(grep -c "^hang: j1 attempt 1 hanging$" "$D/log/j1.log")" = 2 ]' \
	    "the second run is not attempt 1"
	stop 10
	check '[ $RC -eq 0 ]' "spoold exits $RC"
}

t_counters_survive_restart() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	for j in j1 j2 j3; do
		submit a $j
	done
	expect_metric "done" 3 10
	stop
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	check '[ "$(metric "done")" = 3 ] && [ "$(metric runs a)" = 3 ]' \
	    "metrics after the stop: done $(metric "done"), runs $(metric runs a)"
	start
	for j in j4 j5; do
		submit a $j
	done
	expect a/done j5 10
	expect_metric "done" 5 5
	expect_metric "done" a 5 5
	expect_metric runs a 5 5
	check '[ "$(metric pid)" = "$SPID" ]' "metrics pid $(metric pid), not $SPID"
	stop
}

t_latency_and_idle_cpu() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
EOF
	: >"$T/stamps"
	start
	wait_for '[ -f "$D/index/metrics.json" ]' 5 || fail "no metrics"
	all=""
	for i in 1 2 3 4 5; do
		: >"$D/tmp/lat$i"
		t0=$(date +%s%N)
		mv "$D/tmp/lat$i" "$D/a/queue/lat$i"
		wait_for '[ -n "$(stamp START lat$i)" ]' 5 || fail "lat$i did not start"
		ms=$((($(stamp START lat$i) - t0) / 1000000))
		all="$all $ms"
		expect a/done lat$i 5
	done
	diag "from mv to the child's first stamp:$all ms"
	for ms in $all; do
		check '[ $ms -lt 250 ]' "a child started $ms ms after its job arrived:$all"
	done
	# Idle: no job, no child. utime + stime over 5 s, in clock ticks.
	wait_for '[ "$(metric running)" = 0 ]' 5 || fail "still running"
	# Fields 14 and 15 of the stat file, 12 and 13 after the name.
	# shellcheck disable=SC2046
	set -- $(sed 's/.*) //' "/proc/$SPID/stat")
	before=$((${12} + ${13}))
	sleep 5 # the measurement window, not a wait for something to happen
	# shellcheck disable=SC2046
	set -- $(sed 's/.*) //' "/proc/$SPID/stat")
	after=$((${12} + ${13}))
	diag "idle spoold used $((after - before)) clock ticks of CPU in 5 s ($(getconf CLK_TCK)/s)"
	# Under valgrind a tick's writing of the index costs some ten times
	# more; a spinning loop would still use a whole CPU, 100 times more.
	limit=5
	[ -z "$VALGRIND" ] || limit=50
	check '[ $((after - before)) -lt $limit ]' \
	    "an idle spoold used $((after - before)) ticks of CPU in 5 s, $limit allowed"
}

# ---------------------------------------------------------------------------

HEAVY="thousand_jobs_pipeline kill9_restart_1000_jobs"
if [ "$LANE" = 1 ]; then
	for t in $HEAVY; do
		run "$t"
	done
	echo "$PASSED passed, $FAILED failed"
	exit 0
fi


# ---------------------------------------------------------------------------
# Races and damage: several spoolctl submitting while spoold claims, a storm
# of SIGHUP with good and bad configs, status records broken by hand, the
# metrics read while they are rewritten.

# Four spoolctl at once, 30 submissions each, while spoold runs the jobs:
# 120 jobs, 120 ids, each done once, one queued event each, tmp/ empty.
t_submits_race() {
	conf_a succeed 'slots = 2'
	start
	for w in 1 2 3 4; do
		(
			i=0
			while [ $i -lt 30 ]; do
				i=$((i + 1))
				echo "w$w job $i" >"$T/in.$w"
				ctl submit --name "w$w-$i" \
				    "$T/in.$w" >>"$T/ids.$w" || exit 1
			done
		) &
		echo $! >>"$T/writers"
	done
	for p in $(cat "$T/writers"); do
		wait "$p" || fail "a spoolctl submit failed"
	done
	wait_for 'count "$D/a/done"; [ "$CNT" -eq 120 ]' 60 ||
	    fail "$CNT of 120 jobs in a/done"
	check '[ "$(cat "$T"/ids.* | sort -u | wc -l)" -eq 120 ]' \
	    "spoolctl gave $(cat "$T"/ids.* | sort -u | wc -l) distinct ids"
	empty "$D/a/queue" "$D/a/running" "$D/a/error" "$D/tmp"
	ov=$(overlaps)
	check 'printf "%s\n" "$ov" | grep -q "^runs 120 unended 0 jobs 120$"' \
	    "each job did not run once: $ov"
	n=$(grep -c '"event":"queued"' "$D/index/events.jsonl")
	check '[ "$n" -eq 120 ]' "$n queued events, not 120"
}

# A SIGHUP every 0.1 s for 6 s, the config flipping between two good ones
# (slots 1 and 3) and a broken one, while 150 jobs run: spoold lives, each
# job is done once, no two runs of a job overlap, and the broken config is
# refused each time it is seen.
t_sighup_storm() {
	for n in 1 3; do
		conf_a succeed "slots = $n
    env += {\"SLEEP=0.05\"}"
		cp "$CONF" "$T/good.$n"
	done
	sed 's/slots = 3/slots = three/' "$T/good.3" >"$T/bad"
	conf <"$T/good.1"
	start
	submit_many a 150
	i=0
	while [ $i -lt 60 ]; do
		i=$((i + 1))
		case $((i % 3)) in
		0) conf <"$T/bad" ;;
		1) conf <"$T/good.3" ;;
		2) conf <"$T/good.1" ;;
		esac
		kill -HUP "$SPID" || fail "spoold died during the storm"
		sleep 0.1
	done
	conf <"$T/good.3"
	kill -HUP "$SPID"
	wait_for 'count "$D/a/done"; [ "$CNT" -eq 150 ]' 120 ||
	    fail "$CNT of 150 jobs in a/done after the storm"
	check 'alive $SPID' "spoold died"
	ov=$(overlaps)
	check '! printf "%s\n" "$ov" | grep -q OVERLAP' "$ov"
	check 'printf "%s\n" "$ov" | grep -q "^runs 150 unended 0 jobs 150$"' \
	    "each job did not run once: $ov"
	check 'grep -q "slots" "$ERR" && grep -q "reload failed" "$ERR"' \
	    "the broken config was never refused"
	diag "$(grep -c 'reload failed' "$ERR") reloads refused of 61"
}

# Status records broken by hand: garbage in a queued job's record, in a
# running job's before a kill -9, and in a done job's: the first two run to
# done/ with a record spoold writes anew; spoolctl show reads the third.
t_status_corrupted() {
	conf_a succeed 'env += {"SLEEP=2"}'
	mkdir -p "$D/work/q1"
	printf '{"stage":"a","state":' >"$D/work/q1/status.json"
	start
	submit a q1
	expect a/done q1 15
	check 'json_valid "$D/work/q1/status.json"' "q1's record is still broken"
	expect_status q1 state done
	submit a r1
	wait_for '[ "$(st r1 state)" = running ]' 10 || fail "r1 did not start"
	head -c 4096 /dev/urandom >"$D/work/r1/status.json"
	kill9
	start
	expect a/done r1 20
	check 'json_valid "$D/work/r1/status.json"' "r1's record is still broken"
	expect_status r1 state done
	printf 'not json\n' >"$D/work/q1/status.json"
	ctl show q1 >"$T/show" 2>"$T/show.err"
	rc=$?
	check '[ $rc -eq 0 ] && grep -q "a/done" "$T/show"' \
	    "spoolctl show of a job with a broken record: exit $rc:" \
	    "$(cat "$T/show" "$T/show.err")"
	check 'alive $SPID' "spoold died"
}

# metrics.json read 2000 times while 300 jobs run: every read is whole JSON.
t_metrics_read_while_rewritten() {
	conf_a succeed 'slots = 2'
	start
	submit_many a 300
	python3 - "$D/index/metrics.json" >"$T/reads" <<'PY' ||
import json, sys
bad = 0
for i in range(2000):
    with open(sys.argv[1]) as f:
        text = f.read()
    try:
        json.loads(text)
    except ValueError:
        bad += 1
print(bad)
PY
	    fail "the reader failed: $(cat "$T/reads")"
	check '[ "$(cat "$T/reads")" = 0 ]' \
	    "$(cat "$T/reads") of 2000 reads were not whole JSON"
	wait_for 'count "$D/a/done"; [ "$CNT" -eq 300 ]' 60 ||
	    fail "$CNT of 300 jobs in a/done"
}

run latency_and_idle_cpu
lane=""
for t in $HEAVY; do
	if selected "$t"; then
		lane="$lane $t"
	fi
done
if [ -n "$lane" ]; then
	# shellcheck disable=SC2086
	SPOOLD_TEST_RUN=$RUNDIR sh "$HERE/run.sh" --lane $lane \
	    >"$RUNDIR/lane.out" 2>&1 &
	LANEPID=$!
	echo "# the lane of$lane runs beside the tests below"
fi
run config_good
run config_unknown_key_after_hash_comments
run config_unknown_key_after_c_comments
run config_missing_brace
run config_unknown_next
run config_next_cycle
run config_no_command
run config_negative_number
run config_stage_after_brace
run config_fault_in_list_over_lines
run config_duplicate_stage
run config_group_writable
run pipeline_contract
run child_signals_default
run child_signals_inherited
run stage_user
run stage_user_needs_group
run spool_mode
run fail_twice_then_succeed
run retry_backoff_defers
run exit75_until_attempts_spent
run exit65_straight_to_error
run command_not_found
run read_only_spool
run timeout_hang
run timeout_ignoring_sigterm
run heartbeat_missing
run heartbeat_progress
run sigsegv_retried
run flood_stdout
run requeue_from_error_has_full_attempts
run quick_failures_throttled
run future_mtime_deferred
run name_time_does_not_defer
run claim_order
run key_exclusion
run max_children
run group_killed_orphans_reaped
run cancel_request
run duplicate_id_not_replaced
run odd_names
run not_jobs_quarantined
run reload_adds_stage
run reload_broken_config_keeps_old
run reload_removes_stage
run sigterm_lets_child_finish
run sigterm_requeues_after_grace
run sync_helper
run sigint_stops
run second_spoold_refused
run kill9_with_hanging_child
run counters_survive_restart
run submits_race
run sighup_storm
run status_corrupted
run metrics_read_while_rewritten
if [ -n "$LANEPID" ]; then
	wait "$LANEPID"
	LANEPID=""
	grep -v '^[0-9]* passed, [0-9]* failed$' "$RUNDIR/lane.out"
	counts=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' \
	    "$RUNDIR/lane.out")
	if [ -n "$counts" ]; then
		PASSED=$((PASSED + ${counts% *}))
		FAILED=$((FAILED + ${counts#* }))
	else
		FAILED=$((FAILED + 1))
		echo "not ok - lane:$lane: it ended without its counts"
	fi
fi
finish
