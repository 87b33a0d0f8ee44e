#!/bin/sh
# crash.sh: spoold killed at each crash point of its state transitions.
# For every point, a build made with SPOOLD_CRASHPOINTS (SPOOLD_CRASH, the
# crash build) runs a two-stage pipeline of jobs that pass, fail once, fail
# for good, hang and are cancelled, beside a FIFO to quarantine, and aborts
# at the point; the plain spoold (SPOOLD) then restarts on the same spool
# and must finish every job. Checked after the crash and at the end: every
# job is in exactly one place, none is lost or doubled, no two runs of a
# job overlapped, tmp/ is empty; at the end, each job's status record says
# the stage and state of the folder it is in, metrics.json is valid JSON
# and its counters are those the events count and the jobs made.
#
#	SPOOLD=build/spoold SPOOLD_CRASH=build/crash/spoold sh tests/blackbox/crash.sh
#
# Conditions are strings that check and wait_for evaluate later, so:
# shellcheck disable=SC2016,SC2034

set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=tests/blackbox/lib.sh
. "$HERE/lib.sh"

CRASH=${SPOOLD_CRASH:-${SPOOLD%/*}/crash/spoold}
case $CRASH in
/*) ;;
*) CRASH=$PWD/$CRASH ;;
esac
if [ ! -x "$CRASH" ]; then
	echo "crash.sh: $CRASH: not an executable file" >&2
	exit 66
fi
JOBS="ok-1 ok-2 ok-3 ok-4 fail1-1 fail1-2 bad-1 hang-1"

pipeline() {
	conf <<CONF
spool = "data"
tick = 1
kill_grace = 1
shutdown_grace = 0
cpus = 8                # the slots, not the CPUs, say what runs at once
stage a {
    command = {"$STAGES/by-name"}
    slots = 3
    next = "b"
    backoff = 0
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
stage b {
    command = {"$STAGES/by-name"}
    slots = 2
    backoff = 0
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
CONF
	mkdir -p "$D/a/queue" "$D/tmp"
	for j in $JOBS; do
		submit a "$j"
	done
	mkfifo "$D/a/queue/fifo-1"
}

# crash_start POINT[:K]: the crash build, to abort at that point, which
# may come before it says it has started.
crash_start() {
	NSTART=$((NSTART + 1))
	ERR=$T/spoold.$NSTART.err
	SPOOLD_CRASH=$1 "$CRASH" -v -c "$CONF" 2>"$ERR" &
	SPID=$!
	echo "$SPID" >>"$T/.pids"
}

# crashed POINT: waits for the crash build to abort at POINT.
crashed() {
	wait_for '! alive $SPID' 30 ||
	    fail "spoold did not reach crash point $1 in 30 s"
	wait "$SPID"
	RC=$?
	check '[ $RC -eq 134 ]' "spoold exited $RC, not by SIGABRT (134)"
	point=${1%%:*}
	check 'grep -q "crash point $point\$" "$ERR"' \
	    "spoold did not say it crashed at point $1"
	placed "after the crash at point $1"
}

# placed WHEN: every job, and the FIFO, is in exactly one place.
placed() {
	for j in $JOBS fifo-1; do
		w=$(where "$j")
		# shellcheck disable=SC2086
		set -- "$1" $w
		[ $# -eq 2 ] || fail "$1: $j is in$w"
	done
}

# settle: the plain spoold finishes every job; hang-1 is cancelled.
settle() {
	start
	# A cancel cut short by the crash is carried out at the restart.
	if ! has a/error hang-1; then
		wait_for '[ "$(st hang-1 state)" = running ]' 20 ||
		    fail "hang-1 is not running again; it is in$(where hang-1)"
		: >"$D/index/cancel/hang-1"
	fi
	for j in ok-1 ok-2 ok-3 ok-4 fail1-1 fail1-2; do
		expect b/done "$j" 30
	done
	expect a/error bad-1 10
	expect a/error fifo-1 10
	expect a/error hang-1 10
	stop
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	consistent
}

# consistent: the end state, checked whole.
consistent() {
	placed "at the end"
	empty "$D/a/queue" "$D/a/running" "$D/b/queue" "$D/b/running"
	for f in "$D"/tmp/*; do
		[ -e "$f" ] && fail "$f is left in tmp/"
	done
	for j in ok-1 ok-2 ok-3 ok-4 fail1-1 fail1-2; do
		check '[ "$(st "$j" stage):$(st "$j" state)" = b:done ]' \
		    "$j is in b/done, its record says $(st "$j" stage):$(st "$j" state)"
	done
	for j in bad-1 hang-1 fifo-1; do
		check '[ "$(st "$j" stage):$(st "$j" state)" = a:error ]' \
		    "$j is in a/error, its record says $(st "$j" stage):$(st "$j" state)"
	done
	check '[ "$(st hang-1 reason)" = cancelled ]' \
	    "hang-1's reason: $(st hang-1 reason)"
	check 'python3 -m json.tool "$D/index/metrics.json" >/dev/null' \
	    "metrics.json is not valid JSON: $(head -c 200 "$D/index/metrics.json")"
	# The counters: each change counted once, whatever the crash cut.
	tally_check
	check '[ "$(tally_of total.done)" = 6 ]' \
	    "metrics.json says done $(tally_of total.done), not 6"
	check '[ "$(tally_of total.error)" = 2 ]' \
	    "metrics.json says error $(tally_of total.error), not 2 (bad-1, hang-1)"
	check '[ "$(tally_of total.retries)" = 4 ]' \
	    "metrics.json says retries $(tally_of total.retries), not 4"
	overlaps >"$T/overlaps"
	check '! grep -q "^OVERLAP" "$T/overlaps"' \
	    "runs of a job overlapped: $(grep -m 1 "^OVERLAP" "$T/overlaps")"
	diag "$(tail -n 1 "$T/overlaps")"
}

# crash_at POINT[:K]: the pipeline, a crash at POINT, and the restart.
crash_at() {
	pipeline
	crash_start "$1"
	crashed "$1"
	settle
}

t_claim() { crash_at 1; }
t_start() { crash_at 2:2; }
t_finish() { crash_at 3:2; }
t_done() { crash_at 4; }
t_retry() { crash_at 5; }
t_chain() { crash_at 6:2; }
t_error() { crash_at 7; }
t_quarantine() { crash_at 8; }
t_status() { crash_at 10:5; }
t_metrics() { crash_at 11:2; }
t_event() { crash_at 15:4; }
t_event_late() { crash_at 15:9; }

# The cancel of a running job: the request seen, the child signalled.
t_cancel() {
	pipeline
	crash_start 9
	wait_for '[ "$(st hang-1 state)" = running ]' 20 ||
	    fail "hang-1 is not running"
	: >"$D/index/cancel/hang-1"
	crashed 9
	settle
}

# Recovery itself cut short: a crash with three jobs running, then a
# crash at start-up halfway through putting them back.
t_recover() {
	pipeline
	crash_start 2:3
	crashed 2:3
	count "$D/a/running"
	check '[ $CNT -ge 2 ]' "only $CNT jobs in a/running after the crash"
	crash_start 12:2
	crashed 12:2
	settle
}

# A graceful stop that puts running jobs back, cut short.
t_requeue() {
	pipeline
	crash_start 13
	wait_for '[ "$(st hang-1 state)" = running ]' 20 ||
	    fail "hang-1 is not running"
	kill -TERM "$SPID"
	crashed 13
	settle
}

for t in claim start finish "done" retry chain error quarantine cancel \
    status metrics recover requeue event event_late; do
	run "$t"
done
finish
