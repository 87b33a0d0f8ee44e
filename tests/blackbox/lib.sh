# lib.sh: what the black-box suites of spoold share, sourced by them after
# they set HERE (the folder of the suite) and PATTERNS (the shell patterns
# that select tests by name; empty: all):
#
#	HERE=$(cd "$(dirname "$0")" && pwd -P)
#	PATTERNS="$*"
#	. "$HERE/lib.sh"
#
# It checks SPOOLD (and makes SPOOLD and SPOOLCTL absolute), sets the
# environment the daemon is tested in, and gives the runner (run NAME runs
# t_NAME in a subshell, in a folder of its own, and prints "ok - NAME",
# "ok - NAME # SKIP why" or "not ok - NAME: why" and its time; finish
# prints the ten slowest tests and "N passed, N failed, N skipped" and
# exits), the cleanup of what a test started (also what a run killed
# with SIGKILL left, at the next run's start), and the helpers the tests
# call. A suite
# that starts processes of its own beside its tests redefines on_interrupt
# to stop them when the script is stopped.

# Conditions are strings that check and wait_for evaluate later, with the
# variables they name; the suites use what is set here, so:
# shellcheck disable=SC2016,SC2034

_me=${0##*/}
if [ -z "${SPOOLD:-}" ]; then
	echo "$_me: set SPOOLD to the spoold to test" >&2
	exit 64
fi
case $SPOOLD in
/*) ;;
*) SPOOLD=$PWD/$SPOOLD ;;
esac
if [ ! -x "$SPOOLD" ]; then
	echo "$_me: $SPOOLD: not an executable file" >&2
	exit 66
fi
# spoolctl: SPOOLCTL, or the one built beside SPOOLD.
SPOOLCTL=${SPOOLCTL:-${SPOOLD%/*}/spoolctl}
case $SPOOLCTL in
/*) ;;
*) SPOOLCTL=$PWD/$SPOOLCTL ;;
esac
STAGES=$(cd "$HERE/../stages" && pwd -P)
SPOOLD_EXE=$(readlink -f "$SPOOLD")
# VALGRIND=1: every spoold runs under valgrind's memcheck, whose reports
# fail the test.
if [ -n "${VALGRIND:-}" ]; then
	VALGRIND="valgrind -q --leak-check=full --errors-for-leak-kinds=definite"
	VALGRIND="$VALGRIND --show-leak-kinds=definite --error-exitcode=99"
	VALGRIND="$VALGRIND --child-silent-after-fork=yes"
fi
VALGRIND=${VALGRIND:-}
# As root the tests run the production configuration: each stage runs as
# an unprivileged user (ME: nobody), who reaches the spool through its
# group (GROUP: nobody's own), which conf adds to a config that names no
# group; a test's folder and what it makes there are open to that user.
# SELF is the user running the suite, for the cases of spoold's own user.
SELF=$(id -un)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	ME=nobody
	GROUP=$(id -gn nobody)
else
	ME=$SELF
	GROUP=""
fi
PATTERNS=${PATTERNS:-}
LC_ALL=C
SPOOLD_NOSYNC=1 # spoold.8: meant for tests; no crash of the machine here
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export LC_ALL SPOOLD_NOSYNC UBSAN_OPTIONS
PASSED=0
FAILED=0
SKIPPED=0
START_NS=$(date +%s%N)
# The run's own folder: the list of the tests' folders (shared with the
# processes a suite starts beside its tests, for the cleanup) and what
# they print.
if [ -n "${SPOOLD_TEST_RUN:-}" ]; then
	RUNDIR=$SPOOLD_TEST_RUN
else
	RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/spoold-run.XXXXXX") || exit 1
	# Its owner, by pid and start time, which the next runs check.
	echo "$$ $(cut -d' ' -f22 "/proc/$$/stat")" >"$RUNDIR/owner"
fi
: >>"$RUNDIR/spools"
: >>"$RUNDIR/times"
TPID="" # the subshell of the test that runs

# ---------------------------------------------------------------------------
# Cleanup: what a test started dies with it.

# The live processes started by the spoolds of test folder $1: they, and
# whatever they start, have its spool in SPOOL_DIR.
spool_procs() {
	grep -lzxF "SPOOL_DIR=$1/data" /proc/[0-9]*/environ 2>/dev/null |
	    sed -n 's|^/proc/\([0-9][0-9]*\)/environ$|\1|p'
}

# Kills the spoolds of test folder $1 (by the pids it recorded, when they
# still run SPOOLD, or the program that was at its path before a rebuild
# replaced it), then the children they left.
reap_test() {
	if [ -f "$1/.pids" ]; then
		while read -r p; do
			_exe=$(readlink "/proc/$p/exe" 2>/dev/null)
			if [ "${_exe% (deleted)}" = "$SPOOLD_EXE" ] || {
			    [ -n "$VALGRIND" ] &&
			    [ "${_exe#*/memcheck-}" != "$_exe" ]; }; then
				kill -9 "$p" 2>/dev/null
			fi
		done <"$1/.pids"
	fi
	for _ in 1 2 3 4 5; do
		pids=$(spool_procs "$1")
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086
		kill -9 $pids 2>/dev/null
	done
}

# on_interrupt: what a suite started beside its tests, stopped when the
# script is; the suite redefines it.
on_interrupt() {
	:
}

# at_end 'COMMAND': COMMAND runs (with sh, in the test's folder) when the
# test ends, however it ends, even when the script is stopped: it undoes
# what the test changed outside its folder. Commands run last first.
at_end() {
	if ! {
		printf '%s\n' "$1"
		[ ! -f "$T/.at_end" ] || cat "$T/.at_end"
	} >"$T/.at_end.new" || ! mv "$T/.at_end.new" "$T/.at_end"; then
		fail "cannot note what to undo at the end: $1"
	fi
}

# end_test DIR: after reap_test, the commands at_end gave, then the
# unmounting of whatever is still mounted under DIR (deepest first).
end_test() {
	if [ -f "$1/.at_end" ]; then
		(cd "$1" && T=$1 sh "$1/.at_end") >"$1/.at_end.out" 2>&1
		rm -f "$1/.at_end"
	fi
	awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
	    sort -r | while read -r _m; do
		umount "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null
	done
}

# On SIGINT or SIGTERM: stop the test that runs and what the suite started
# beside it, then kill what every test started, undo what they changed and
# remove the tests' folders.
interrupted() {
	trap '' INT TERM
	[ -z "$TPID" ] || kill -9 "$TPID" 2>/dev/null
	on_interrupt
	while read -r t; do
		reap_test "$t"
		end_test "$t"
		[ -n "${KEEP:-}" ] || rm -rf "$t"
	done <"$RUNDIR/spools"
	[ -n "${SPOOLD_TEST_RUN:-}" ] || rm -rf "$RUNDIR"
	exit "$1"
}
trap 'interrupted 129' HUP
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

# sweep: what the runs killed with SIGKILL left (their owner is gone):
# the spoolds and children of their tests, what their tests changed
# outside their folders, their mounts, and their folders.
sweep() {
	for _r in "${TMPDIR:-/tmp}"/spoold-run.*; do
		[ -f "$_r/owner" ] && [ "$_r" != "$RUNDIR" ] || continue
		read -r _p _s <"$_r/owner" || continue
		[ "$(cut -d' ' -f22 "/proc/$_p/stat" 2>/dev/null)" != "$_s" ] ||
		    continue
		[ ! -f "$_r/undo" ] || sh "$_r/undo"
		while read -r _t; do
			# Its test, which may still run, and its spoolds,
			# whatever their build: all that runs in its folder.
			for _c in /proc/[0-9]*/cwd; do
				case $(readlink "$_c" 2>/dev/null) in
				"$_t" | "$_t/"* | "$_t (deleted)")
					_q=${_c#/proc/}
					kill -9 "${_q%/cwd}" 2>/dev/null ;;
				esac
			done
			reap_test "$_t"
			end_test "$_t"
			rm -rf "$_t"
		done <"$_r/spools"
		rm -rf "$_r"
		echo "# $_me: removed what a killed run left ($_r)"
	done
}
[ -n "${SPOOLD_TEST_RUN:-}" ] || sweep

# ---------------------------------------------------------------------------
# Helpers for the tests. A test runs in a subshell, in its folder T, with
# D=$T/data (the spool) and CONF=$T/spoold.conf.

# ctl ARG...: spoolctl on the test's config.
ctl() {
	"$SPOOLCTL" -c "$CONF" "$@"
}

# fail WHY: ends the test as failed.
fail() {
	printf '%s\n' "$*" >"$T/.why"
	exit 1
}

# skip WHY: ends the test as skipped (it passes, with a note).
skip() {
	printf '%s\n' "$*" >"$T/.skip"
	exit 0
}

# check 'CONDITION' WHY...: fails the test with WHY (its words joined by
# spaces) unless CONDITION holds.
check() {
	_cond=$1
	shift
	eval "$_cond" || fail "$@"
}

diag() {
	printf '# %s\n' "$*"
}

# clock: the time in milliseconds in NOW.
clock() {
	NOW=$(date +%s%N)
	NOW=$((NOW / 1000000))
}

NCHECK=0
# bad LINE PATTERN: spoold -n on CONF exits 78 with a first line on stderr
# of "CONF:LINE: fault" (or "CONF: fault" when LINE is empty) whose fault
# matches the extended regular expression PATTERN.
bad() {
	NCHECK=$((NCHECK + 1))
	"$SPOOLD" -n -c "$CONF" 2>"$T/check.$NCHECK.err"
	rc=$?
	msg=$(head -n 1 "$T/check.$NCHECK.err")
	check '[ $rc -eq 78 ]' "spoold -n exits $rc, not 78 (\"$msg\")"
	if [ -n "$1" ]; then
		want="$CONF:$1: "
	else
		want="$CONF: "
	fi
	case $msg in
	"$want"*) ;;
	*) fail "spoold -n says \"$msg\", not \"$want...\"" ;;
	esac
	printf '%s\n' "${msg#"$want"}" | grep -Eqi -- "$2" ||
	    fail "spoold -n says \"$msg\": no /$2/ in it"
}

# line_of TEXT: the number of the first line of CONF holding TEXT.
line_of() {
	grep -nF -- "$1" "$CONF" | head -n 1 | cut -d: -f1
}

# spoold_once FILE: runs one more spoold on $CONF until it exits, with its
# stderr in FILE; its exit status in RC.
spoold_once() {
	"$SPOOLD" -c "$CONF" 2>"$1" &
	_p=$!
	echo "$_p" >>"$T/.pids"
	wait_for '! alive $_p' 10 || fail "spoold -c $CONF still runs"
	wait "$_p"
	RC=$?
}

# wait_for 'CONDITION' SECONDS [slow]: polls CONDITION every 0.05 s (every
# 0.5 s when slow, for waits of a minute); false when it still does not hold
# after SECONDS. It counts polls rather than read a clock, to fork less: a
# slow poll only makes the wait longer.
wait_for() {
	if [ "${3:-}" = slow ]; then
		_every=0.5
		_polls=$(($2 * 2))
	else
		_every=0.05
		_polls=$(($2 * 20))
	fi
	while ! eval "$1"; do
		[ "$_polls" -gt 0 ] || return 1
		_polls=$((_polls - 1))
		sleep "$_every"
	done
}

# alive PID: the process exists and is not a zombie.
alive() {
	{ read -r _st <"/proc/$1/stat"; } 2>/dev/null || return 1
	_st=${_st##*) }
	[ "${_st%% *}" != Z ]
}

# conf_group FILE: adds the spool's group GROUP at the end of the config
# FILE when its stages run as ME, another user, and it names none (nor
# says "# no group"); at the end, so that the lines of the rest stay where
# the test wrote them.
conf_group() {
	[ -n "$GROUP" ] || return 0
	grep -q "^[[:space:]]*group[[:space:]]*=" "$1" && return 0
	grep -q "^# no group$" "$1" && return 0
	grep -q "user = \"$ME\"" "$1" || return 0
	printf 'group = "%s"\n' "$GROUP" >>"$1"
}

# conf: the config from stdin, mode 600, put in place by a rename.
conf() {
	if ! { cat >"$CONF.new" && conf_group "$CONF.new" &&
	    chmod 600 "$CONF.new" && mv "$CONF.new" "$CONF"; }; then
		fail "cannot write $CONF"
	fi
}

# conf_by_name FAIL_STAGE: the two-stage pipeline a -> b of the kill and
# soak tests, each stage running by-name (stamps in $T/stamps), whose
# fail1-* jobs fail their first run in FAIL_STAGE; eight runs at once.
conf_by_name() {
	conf <<CONF
spool = "data"
tick = 1
kill_grace = 1
cpus = 8
stage a {
    command = {"$STAGES/by-name"}
    slots = 2
    next = "b"
    backoff = 0
    user = "$ME"
    env = {"STAMPS=$T/stamps", "FAIL_STAGE=$1"}
}
stage b {
    command = {"$STAGES/by-name"}
    slots = 2
    backoff = 0
    user = "$ME"
    env = {"STAMPS=$T/stamps", "FAIL_STAGE=$1"}
}
CONF
}

# conf_a COMMAND [SETTINGS]: a config of one stage, a, running COMMAND (a
# program of tests/stages) with the job's path, as the user running the
# tests, with STAMPS and SETTINGS (lines of the stage's block).
conf_a() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/$1", "%f"}
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
    ${2:-}
}
EOF
	: >"$T/stamps"
}

# start [COMMAND...]: starts spoold -v -c CONF in the background, under
# COMMAND when given (setpriv, prlimit: a program that execs the rest of its
# arguments), its pid in SPID and its stderr in ERR, and waits until it
# says it has started.
NSTART=0
start() {
	NSTART=$((NSTART + 1))
	ERR=$T/spoold.$NSTART.err
	# shellcheck disable=SC2086
	"$@" $VALGRIND "$SPOOLD" -v -c "$CONF" 2>"$ERR" &
	SPID=$!
	echo "$SPID" >>"$T/.pids"
	wait_for 'grep -q "started, pid $SPID" "$ERR" 2>/dev/null ||
	    ! alive $SPID' 30
	if ! alive "$SPID" || ! grep -q "started, pid $SPID" "$ERR"; then
		fail "spoold did not start: $(tail -n 3 "$ERR" | tr '\n' ' ')"
	fi
}

# stop [SECONDS]: SIGTERM to spoold and waits (20 s unless told) for it to
# exit; its exit status in RC.
stop() {
	kill -TERM "$SPID" 2>/dev/null
	wait_exit "${1:-20}"
}

# wait_exit SECONDS: waits for spoold to exit; its exit status in RC.
wait_exit() {
	wait_for '! alive $SPID' "$1" ||
	    fail "spoold did not exit within $1s"
	wait "$SPID"
	RC=$?
}

kill9() {
	kill -9 "$SPID"
	wait "$SPID" 2>/dev/null
}

# rand N: a number from 0 to N-1.
rand() {
	od -An -N2 -tu2 /dev/urandom | awk -v n="$1" '{ print $1 % n }'
}

# kill_restart K MS SPAN: K times, after MS to MS+SPAN-1 milliseconds,
# kill -9 of spoold and a restart; the jobs caught in a/running and
# b/running at the kills, summed, in CUT.
kill_restart() {
	_k=0
	CUT=0
	while [ $_k -lt "$1" ]; do
		_k=$((_k + 1))
		_ms=$(($2 + $(rand "$3")))
		sleep "$((_ms / 1000)).$(printf '%03d' $((_ms % 1000)))"
		kill9
		count "$D/a/running"
		CUT=$((CUT + CNT))
		count "$D/b/running"
		CUT=$((CUT + CNT))
		# A child spoold was starting holds the spool's lock until
		# its exec.
		wait_for 'flock -n "$D" true' 5 || fail "the spool stays locked"
		start
	done
}

# submit STAGE NAME [CONTENT]: writes the job in tmp/, then renames it into
# the stage's queue/.
submit() {
	if ! { printf '%s\n' "${3:-job $2}" >"$D/tmp/$2" &&
	    mv "$D/tmp/$2" "$D/$1/queue/$2"; }; then
		fail "cannot submit $2 to $1"
	fi
}

# submit_many STAGE N: submits jobs j1 to jN with one rename each.
submit_many() {
	_i=0
	while [ $_i -lt "$2" ]; do
		_i=$((_i + 1))
		: >"$D/tmp/j$_i"
	done
	# GNU mv stats each target after its rename, and spoold may have
	# claimed it by then: what counts is that nothing is left in tmp/.
	mv "$D"/tmp/j* "$D/$1/queue/" 2>/dev/null
	for _f in "$D"/tmp/j*; do
		[ -e "$_f" ] && fail "cannot submit $2 jobs: $_f is left"
	done
}

# count DIR: the number of entries in DIR whose names do not start with a
# dot, in CNT.
count() {
	set -- "$1"/*
	CNT=$#
	if [ $# -eq 1 ] && [ ! -e "$1" ] && [ ! -L "$1" ]; then
		CNT=0
	fi
}

# has STAGE/DIR NAME: the entry is there.
has() {
	[ -e "$D/$1/$2" ] || [ -L "$D/$1/$2" ]
}

# where NAME: the folders that hold job NAME, for messages.
where() {
	_w=""
	for _p in "$D"/*/queue "$D"/*/running "$D"/*/done "$D"/*/error; do
		if [ -e "$_p/$1" ] || [ -L "$_p/$1" ]; then
			_w="$_w ${_p#"$D"/}"
		fi
	done
	echo "${_w:- nowhere}"
}

# expect STAGE/DIR NAME SECONDS: waits for job NAME to reach STAGE/DIR.
expect() {
	_where=$1
	_name=$2
	wait_for 'has "$_where" "$_name"' "$3" ||
	    fail "$2 is in$(where "$2"), not in $1/, after $3s"
}

# empty DIR...: each folder is empty, without even a dot-file.
empty() {
	for _d in "$@"; do
		# shellcheck disable=SC2012
		[ -z "$(ls -A "$_d")" ] || fail "${_d#"$T"/} is not empty:" \
		    "$(ls -A "$_d" | head -n 3 | tr '\n' ' ')"
	done
}

# jget FILE KEY [OBJECT]: the value of KEY in the one-line JSON object in
# FILE (strings without their quotes), at its top level or in
# "stages":{"OBJECT":{...}}.
jget() {
	awk -v key="\"$2\":" -v sec="${3:-}" '{
		s = $0
		if (sec != "") {
			i = index(s, "\"stages\":{")
			if (i == 0) exit 1
			s = substr(s, i)
			i = index(s, "\"" sec "\":{")
			if (i == 0) exit 1
			s = substr(s, i + length(sec) + 3)
			s = substr(s, 1, index(s, "}"))
		} else if ((i = index(s, "\"stages\":")) > 0)
			s = substr(s, 1, i - 1)
		if ((i = index(s, key)) == 0) exit 1
		v = substr(s, i + length(key))
		if (substr(v, 1, 1) == "\"") {
			v = substr(v, 2)
			print substr(v, 1, index(v, "\"") - 1)
		} else {
			match(v, /^[^,}]*/)
			print substr(v, 1, RLENGTH)
		}
		exit 0
	}' "$1" 2>/dev/null
}

# jkeys FILE [OBJECT]: the keys of that object, sorted, on one line.
jkeys() {
	awk -v sec="${2:-}" '{
		s = $0
		if (sec != "") {
			s = substr(s, index(s, "\"stages\":{"))
			s = substr(s, index(s, "\"" sec "\":{") + length(sec) + 3)
			s = substr(s, 1, index(s, "}"))
		} else if ((i = index(s, "\"stages\":")) > 0)
			s = substr(s, 1, i + 9)
		while (match(s, /"[^"]*":/)) {
			print substr(s, RSTART + 1, RLENGTH - 3)
			s = substr(s, RSTART + RLENGTH)
		}
	}' "$1" | sort | tr '\n' ' '
}

# st NAME KEY: a field of job NAME's status record.
st() {
	jget "$D/work/$1/status.json" "$2"
}

# json_valid FILE: FILE is one whole JSON value (a file cut short is not).
json_valid() {
	if command -v jq >/dev/null 2>&1; then
		jq -e . "$1" >/dev/null 2>&1
	else
		python3 -m json.tool "$1" >/dev/null 2>&1
	fi
}

# metric KEY [STAGE]: a value of index/metrics.json.
metric() {
	jget "$D/index/metrics.json" "$@"
}

# rusage NAME KEY: a number of the rusage object in job NAME's record.
rusage() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["rusage"][sys.argv[2]])' \
	    "$D/work/$1/status.json" "$2" 2>/dev/null
}

# charged NAME [WHERE]: the last run of job NAME, a run of tests/stages/burn,
# is charged the user CPU time the stage counted itself, within 10 %; its
# user_ms in USER_MS.
charged() {
	read -r _burned _sys <"$D/work/$1/burned" ||
	    fail "the stage did not say what it burned"
	USER_MS=$(rusage "$1" user_ms)
	diag "${2:-}burned by its own count: user $_burned ms, sys $_sys ms;" \
	    "rusage: user $USER_MS ms, sys $(rusage "$1" sys_ms) ms," \
	    "wall $(rusage "$1" wall_ms) ms, maxrss $(rusage "$1" maxrss_kb) KiB"
	check '[ "$_burned" -ge 2000 ]' "the stage burned $_burned ms only"
	check '[ $((USER_MS * 10)) -ge $((_burned * 9)) ] &&
	    [ $((USER_MS * 10)) -le $((_burned * 11)) ]' \
	    "rusage user_ms $USER_MS, not within 10 % of $_burned"
}

# expect_status NAME KEY VALUE: the status record of NAME says so.
expect_status() {
	_v=$(st "$1" "$2")
	[ "$_v" = "$3" ] || fail "status of $1: $2 is \"$_v\", not \"$3\"" \
	    "($(cat "$D/work/$1/status.json" 2>/dev/null))"
}

# expect_metric KEY [STAGE] VALUE SECONDS: waits for metrics.json to say so.
expect_metric() {
	_key=$1
	if [ $# -eq 4 ]; then
		_stage=$2
		_want=$3
		wait_for '[ "$(metric "$_key" "$_stage")" = "$_want" ]' "$4" ||
		    fail "metrics: stages.$2.$1 is $(metric "$1" "$2"), not $3"
	else
		_want=$2
		wait_for '[ "$(metric "$_key")" = "$_want" ]' "$3" ||
		    fail "metrics: $1 is $(metric "$1"), not $2"
	fi
}

# tally: prints "KEY METRICS EVENTS" for done, error, retries, timeouts,
# duplicates, runs and run_ms_total, of the totals and of each stage:
# metrics.json beside the sums of the counts of the events kept; then
# "folder STAGE/DIR N" for each done/ and error/.
tally() {
	python3 - "$D" <<'PY'
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "index", "metrics.json")))
keys = ["done", "error", "retries", "timeouts", "duplicates", "runs",
        "run_ms_total"]
ev, per = {k: 0 for k in keys}, {}
for name in ("events.jsonl.1", "events.jsonl"):
    p = os.path.join(d, "index", name)
    if not os.path.exists(p):
        continue
    for line in open(p):
        c = json.loads(line).get("counts")
        if not c:
            continue
        s = per.setdefault(c["stage"], {k: 0 for k in keys})
        for k in keys:
            ev[k] += c.get(k, 0)
            s[k] += c.get(k, 0)
for k in keys:
    top = m.get(k)
    if top is None:
        top = sum(v.get(k, 0) for v in m["stages"].values())
    print("total.%s %d %d" % (k, top, ev[k]))
for st, v in sorted(m["stages"].items()):
    for k in keys:
        print("%s.%s %d %d" % (st, k, v.get(k, 0), per.get(st, {}).get(k, 0)))
for st in sorted(m["stages"]):
    for dr in ("done", "error"):
        print("folder %s/%s %d" % (st, dr,
              len(os.listdir(os.path.join(d, st, dr)))))
PY
}

# tally_check: every counter of metrics.json, total and per stage, equals
# the sum of the counts of the events kept, in TALLY (tally's lines).
tally_check() {
	TALLY=$T/tally
	tally >"$TALLY" || fail "cannot read metrics.json and the events"
	while read -r _k _a _b; do
		[ "$_k" = folder ] && continue
		check '[ "$_a" = "$_b" ]' \
		    "metrics.json says $_k $_a, the events $_b"
	done <"$TALLY"
}

# tally_of KEY: a counter of metrics.json (total.done, a.runs) in TALLY;
# tally_of STAGE/DIR: the jobs in that folder.
tally_of() {
	awk -v k="$1" '$1 == k { print $2 } $1 == "folder" && $2 == k { print $3 }' \
	    "$TALLY"
}

# runs NAME: the number of runs in job NAME's log (its header lines).
runs() {
	grep -c '^=== spoold: .* attempt [0-9]* started$' "$D/log/$1.log" \
	    2>/dev/null
}

# durations NAME: the seconds each ended run of NAME took, from its log
# (its footers: "... after 1.234s", then what it cost, when measured).
durations() {
	sed -n 's/^=== spoold: .* after \([0-9.]*\)s\( (user .*)\)\{0,1\}$/\1/p' \
	    "$D/log/$1.log"
}

# within LO HI NUMBER...: each NUMBER is in [LO, HI].
within() {
	_lo=$1
	_hi=$2
	shift 2
	awk -v lo="$_lo" -v hi="$_hi" 'BEGIN {
		for (i = 1; i < ARGC; i++)
			if (ARGV[i] + 0 < lo || ARGV[i] + 0 > hi)
				exit 1
		exit (ARGC < 2)
	}' "$@"
}

# sigs MASK: the signal numbers in a mask of /proc/PID/status.
sigs() {
	awk -v m="$1" 'BEGIN {
		n = length(m)
		for (i = n; i >= 1; i--) {
			d = index("0123456789abcdef", tolower(substr(m, i, 1))) - 1
			for (b = 0; b < 4; b++)
				if (int(d / 2 ^ b) % 2)
					printf "%s%d", (k++ ? " " : ""), (n - i) * 4 + b + 1
		}
	}'
}

# stamp EVENT NAME: the epoch-ns of the first such line in the stamps file
# ("EVENT NAME NS PID"; NAME may hold spaces, and goes to awk through its
# environment, which, unlike -v, leaves backslashes alone).
stamp() {
	EV=$1 ID=$2 awk '$1 == ENVIRON["EV"] {
		n = $0
		sub(/^[A-Z]+ /, "", n)
		sub(/ [0-9]+ [0-9]+$/, "", n)
		if (n == ENVIRON["ID"]) { print $(NF - 1); exit }
	}' "$T/stamps" 2>/dev/null
}

# nstamps EVENT NAME: how many such lines the stamps file has.
nstamps() {
	EV=$1 ID=$2 awk '$1 == ENVIRON["EV"] {
		n = $0
		sub(/^[A-Z]+ /, "", n)
		sub(/ [0-9]+ [0-9]+$/, "", n)
		if (n == ENVIRON["ID"]) c++
	} END { print c + 0 }' "$T/stamps" 2>/dev/null
}

# overlaps: checks the stamps of runs; prints "OVERLAP ..." lines for runs
# of a job that overlap, then "runs N unended N jobs N".
overlaps() {
	awk '
	$1 != "START" && $1 != "END" { next }
	{
		id = $0
		sub(/^[A-Z]+ /, "", id)
		ns = ""
		if (match(id, / [0-9]+ [0-9]+$/)) {
			ns = $(NF - 1)
			id = substr(id, 1, RSTART - 1)
		} else	# no time: a stage killed while its date(1) ran
			sub(/  [0-9]+$/, "", id)
		k = id SUBSEP $NF
	}
	$1 == "START" {
		n[id]++
		s[id, n[id]] = ns
		cur[k] = n[id]
		runs++
	}
	$1 == "END" && (k in cur) { e[id, cur[k]] = ns; delete cur[k] }
	END {
		for (id in n) {
			jobs++
			for (i = 1; i <= n[id]; i++) {
				if (!((id, i) in e)) { unended++; continue }
				for (j = 1; j <= n[id]; j++)
					if (j != i && s[id, j] != "" &&
					    s[id, i] != "" && e[id, i] != "" &&
					    s[id, j] >= s[id, i] &&
					    s[id, j] <= e[id, i])
						printf "OVERLAP %s: run %d [%s, %s] has run %d start at %s\n",
						    id, i, s[id, i], e[id, i], j, s[id, j]
			}
		}
		printf "runs %d unended %d jobs %d\n", runs, unended, jobs
	}' "$T/stamps"
}

# group_alive PGID: a live (not zombie) process is in that process group.
group_alive() {
	_g=$1
	for _s in /proc/[0-9]*/stat; do
		{ read -r _l <"$_s"; } 2>/dev/null || continue
		_l=${_l##*) }
		# state, parent, process group, ...
		# shellcheck disable=SC2086
		set -- $_l
		if [ "$3" = "$_g" ] && [ "$1" != Z ]; then
			return 0
		fi
	done
	return 1
}

# ---------------------------------------------------------------------------
# The runner.

selected() {
	[ -z "$PATTERNS" ] && return 0
	for p in $PATTERNS; do
		# shellcheck disable=SC2254
		case $1 in
		$p) return 0 ;;
		esac
	done
	return 1
}

sanitizer_check() {
	if cat "$T"/*.err 2>/dev/null |
	    grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|^==[0-9]+== '
	then
		fail "a sanitizer or valgrind report: $(cat "$T"/*.err |
		    grep -Em 3 'Sanitizer|runtime error:|^==[0-9]+== ' |
		    tr '\n' ' ')"
	fi
}

# run NAME: runs t_NAME in a subshell, in a folder of its own. The
# subshell runs in the background so that a signal to this script is acted
# on at once (the wait builtin returns for it).
run() {
	selected "$1" || return 0
	T=$(mktemp -d "${TMPDIR:-/tmp}/spoold-test.XXXXXX") || exit 1
	T=$(cd "$T" && pwd -P)
	if [ -n "$GROUP" ]; then
		chmod 1777 "$T"
	else
		chmod 755 "$T"
	fi
	echo "$T" >>"$RUNDIR/spools"
	ts=$(date +%s%N)
	(
		D=$T/data
		CONF=$T/spoold.conf
		cd "$T" || exit 1
		[ -z "$GROUP" ] || umask 0
		"t_$1"
		_rc=$?
		[ "$_rc" -eq 0 ] || [ -f "$T/.why" ] ||
		    echo "the test returned $_rc" >"$T/.why"
		exit "$_rc"
	) &
	TPID=$!
	wait "$TPID"
	rc=$?
	TPID=""
	reap_test "$T"
	end_test "$T"
	# A sanitizer's report fails the test, whatever it said of itself.
	if [ $rc -eq 0 ] && ! (sanitizer_check); then
		rc=1
		rm -f "$T/.skip"
	fi
	ms=$((($(date +%s%N) - ts) / 1000000))
	echo "$ms $1" >>"$RUNDIR/times"
	if [ $rc -eq 0 ] && [ -f "$T/.skip" ]; then
		SKIPPED=$((SKIPPED + 1))
		echo "ok - $1 # SKIP $(cat "$T/.skip")"
	elif [ $rc -eq 0 ]; then
		PASSED=$((PASSED + 1))
		echo "ok - $1"
	else
		FAILED=$((FAILED + 1))
		why=$(cat "$T/.why" 2>/dev/null) ||
		    why="the test stopped with status $rc"
		echo "not ok - $1: $why"
		for f in "$T"/spoold.*.err; do
			[ -f "$f" ] || continue
			echo "# ${f#"$T"/}, its last lines:"
			tail -n 8 "$f" | sed 's/^/#   /'
		done
	fi
	echo "#   $1: $((ms / 1000)).$((ms % 1000 / 100)) s"
	if [ $rc -eq 0 ] || [ -z "${KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "#   kept $T"
	fi
}

# finish: the ten slowest tests, the time all tests took and the last
# line, "N passed, N failed, N skipped"; exits 1 when a test failed.
finish() {
	echo "# the slowest tests:"
	sort -rn "$RUNDIR/times" | head -n 10 |
	    awk '{ printf "#   %6.1f s  %s\n", $1 / 1000, $2 }'
	[ -n "${SPOOLD_TEST_RUN:-}" ] || rm -rf "$RUNDIR"
	ms=$((($(date +%s%N) - START_NS) / 1000000))
	echo "# all tests: $((ms / 1000)) s"
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" -eq 0 ]
	exit
}
