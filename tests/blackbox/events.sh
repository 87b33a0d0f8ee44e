#!/bin/sh
# events.sh: the black-box tests of what spoold tells and remembers beside
# the jobs: index/events.jsonl and spoolctl events, the duplicates caught
# by dedupe and spoolctl retry --force, the hooks on_done, on_retry and
# on_error, and spoolctl info with version_command. Same runner and rules
# as run.sh (lib.sh): each test starts the real spoold on a spool of its
# own, and polls for what it expects.
#
#	SPOOLD=$PWD/build/spoold sh tests/blackbox/events.sh [PATTERN...]

# Conditions are strings that check and wait_for evaluate later, so:
# shellcheck disable=SC2016,SC2034

set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=/dev/null
. "$HERE/lib.sh"

# valid_lines FILE: every line of FILE is one JSON object.
valid_lines() {
	python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    if not line.endswith("\n"):
        sys.exit("line %d is cut" % n)
    if not isinstance(json.loads(line), dict):
        sys.exit("line %d is not an object" % n)
' "$1"
}

# events_of NAME [FILE]: "event:stage" of each event of job NAME, in order,
# on one line.
events_of() {
	python3 -c '
import json, sys
out = []
for line in open(sys.argv[2]):
    e = json.loads(line)
    if e["id"] == sys.argv[1]:
        out.append(e["event"] + ":" + e["stage"])
print(" ".join(out))
' "$1" "${2:-$D/index/events.jsonl}"
}

# ---------------------------------------------------------------------------
# Events.

t_events_lifecycle() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/fail-then-succeed"}
    user = "$ME"
    next = "b"
    backoff = 0
    env = {"FAILS=1"}
}
stage b {
    command = {"$STAGES/dataerr"}
    user = "$ME"
}
EOF
	start
	submit a j1
	expect b/error j1 15
	# A retry without backoff is queued, not deferred.
	_want="queued:a running:a queued:a running:a queued:b running:b error:b"
	_got=$(events_of j1)
	check '[ "$_got" = "$_want" ]' \
	    "events of j1: \"$_got\", not \"$_want\""
	valid_lines "$D/index/events.jsonl" || fail "events.jsonl is not JSON lines"
	check 'grep -q "\"event\":\"error\",\"id\":\"j1\",\"stage\":\"b\",\"attempt\":1,\"exit\":65,\"signal\":null,\"reason\":\"exit 65\"" "$D/index/events.jsonl"' \
	    "no error event of j1 with exit 65: $(tail -n 1 "$D/index/events.jsonl")"
	# spoolctl events: the same lines; with an id, only that job's.
	ctl events >"$T/all" || fail "spoolctl events failed"
	cmp -s "$T/all" "$D/index/events.jsonl" ||
	    fail "spoolctl events is not events.jsonl"
	ctl submit --name j2 "$CONF" >/dev/null ||
	    fail "submit failed"
	wait_for '[ "$(ctl ls --state error | grep -c j2)" = 1 ]' 15 ||
	    fail "j2 did not end in error/"
	ctl events j1 >"$T/j1" || fail "spoolctl events j1 failed"
	check '[ "$(wc -l <"$T/j1")" = 7 ]' "events j1 printed $(wc -l <"$T/j1") lines, not 7"
	check '! grep -q j2 "$T/j1"' "events j1 printed events of j2"
	# The submission's event comes first, before the claim's.
	for _f in "$D"/b/error/*.j2; do
		_j2=$(events_of "${_f##*/}")
	done
	check '[ "${_j2%% *}" = "queued:a" ]' "the first event of j2 is ${_j2%% *}"
}

t_events_follow() {
	conf <<EOF
spool = "data"
tick = 1
events_max = 2K
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	start
	"$SPOOLCTL" -c "$CONF" events -f >"$T/follow" 2>"$T/follow.err" &
	_fpid=$!
	at_end "kill $_fpid 2>/dev/null"
	# Three rounds of 10 jobs, about 5K of events each: each round ends
	# with a rotation (at a tick), which the follower crosses.
	_i=0
	while [ $_i -lt 30 ]; do
		_i=$((_i + 1))
		submit a "f$_i"
		[ $((_i % 10)) = 0 ] || continue
		expect a/done "f$_i" 20
		_ino=$(stat -c %i "$D/index/events.jsonl")
		wait_for '[ "$(stat -c %i "$D/index/events.jsonl.1" 2>/dev/null)" = "$_ino" ]' 5 ||
		    fail "events.jsonl was not rotated past 2K"
	done
	wait_for '[ "$(grep -c "\"event\":\"done\"" "$T/follow")" = 30 ]' 10 ||
	    fail "spoolctl events -f saw $(grep -c '"event":"done"' "$T/follow") done events, not 30"
	kill "$_fpid"
	wait "$_fpid" 2>/dev/null
	valid_lines "$T/follow" || fail "spoolctl events -f printed a cut line"
	check '[ "$(grep -c "\"event\":\"running\"" "$T/follow")" = 30 ]' \
	    "events -f saw $(grep -c '"event":"running"' "$T/follow") running events"
	check '[ ! -s "$T/follow.err" ]' "events -f said: $(cat "$T/follow.err")"
	# The file rotated is past the limit, and events prints both kept.
	_size=$(wc -c <"$D/index/events.jsonl.1")
	check '[ "$_size" -ge 2048 ]' "events.jsonl.1 is $_size bytes"
	cat "$D/index/events.jsonl.1" "$D/index/events.jsonl" >"$T/kept"
	ctl events >"$T/all"
	cmp -s "$T/kept" "$T/all" || fail "spoolctl events is not the kept files"
}

t_events_purge_and_cancel() {
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
	submit a c1
	expect a/running c1 10
	ctl cancel c1 >/dev/null || fail "cancel failed"
	expect a/error c1 10
	ctl purge --state error --older-than 0 >/dev/null || fail "purge failed"
	check '! has a/error c1' "c1 was not purged"
	_got=$(events_of c1)
	check '[ "$_got" = "queued:a running:a error:a purged:a" ]' \
	    "events of c1: $_got"
	check 'grep -q "\"event\":\"error\",\"id\":\"c1\".*\"reason\":\"cancelled\"" "$D/index/events.jsonl"' \
	    "the error event of c1 has no reason cancelled"
}

# ---------------------------------------------------------------------------
# Duplicates.

t_dedupe_duplicate_to_error() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    dedupe = true
}
EOF
	start
	submit a d1 "the same comic"
	expect a/done d1 10
	submit a d2 "the same comic"
	submit a d3 "another comic"
	expect a/error d2 10
	expect a/done d3 10
	expect_status d2 reason "duplicate of d1"
	expect_status d2 state "error"
	_hash=$(printf 'the same comic\n' | sha256sum | cut -c1-64)
	expect_status d1 sha256 "$_hash"
	check '[ "$(cat "$D/index/sha256/$(echo "$_hash" | cut -c1-2)/$_hash")" = d1 ]' \
	    "index/sha256 does not name d1 for its content"
	check '[ ! -e "$D/log/d2.log" ]' "the duplicate ran: $(cat "$D/log/d2.log")"
	expect_metric duplicates 1 5
	expect_metric error 1 5
	expect_metric "done" 2 5
	check '[ "$(events_of d2)" = "queued:a error:a" ]' \
	    "events of d2: $(events_of d2)"
	# A plain retry finds it a duplicate again; --force runs it.
	ctl retry d2 >/dev/null || fail "retry d2 failed"
	wait_for 'has a/error d2 && [ "$(st d2 reason)" = "duplicate of d1" ]' 10 ||
	    fail "d2 retried without --force is in$(where d2)"
	check '[ ! -e "$D/log/d2.log" ]' "d2 ran after a plain retry"
	expect_metric duplicates 2 5
	ctl retry --force d2 >/dev/null || fail "retry --force d2 failed"
	expect a/done d2 10
	expect_status d2 forced true
	check '[ "$(runs d2)" = 1 ]' "d2 ran $(runs d2) times after --force"
	ctl show d2 | grep -q "retry --force" || fail "show d2 does not say --force"
}

t_dedupe_at_once() {
	conf <<EOF
spool = "data"
tick = 1
cpus = 8
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 4
    dedupe = true
}
EOF
	start
	_i=0
	while [ $_i -lt 12 ]; do
		_i=$((_i + 1))
		printf 'one content\n' >"$D/tmp/s$_i"
	done
	mv "$D"/tmp/s* "$D/a/queue/"
	wait_for 'count "$D/a/done"; _d=$CNT; count "$D/a/error"; [ $((_d + CNT)) = 12 ]' 15 ||
	    fail "the 12 jobs did not all end"
	count "$D/a/done"
	check '[ "$CNT" = 1 ]' "$CNT of 12 copies ran, not 1"
	count "$D/a/error"
	check '[ "$CNT" = 11 ]' "$CNT copies in error/, not 11"
	_first=$(ls "$D/a/done")
	for _f in "$D"/a/error/*; do
		_r=$(st "${_f##*/}" reason)
		check '[ "$_r" = "duplicate of $_first" ]' "${_f##*/}: reason \"$_r\""
	done
	expect_metric duplicates 11 5
}

t_dedupe_forgotten_on_purge() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    dedupe = true
}
EOF
	start
	submit a p1 "content"
	expect a/done p1 10
	ctl purge --state "done" --older-than 0 >/dev/null || fail "purge failed"
	check '[ -z "$(find "$D/index/sha256" -type f)" ]' \
	    "the index still holds $(find "$D/index/sha256" -type f)"
	submit a p2 "content"
	expect a/done p2 10
	expect_metric duplicates 0 5
}

t_dedupe_restart() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/hang"}
    user = "$ME"
    dedupe = true
    timeout = 2
    attempts = 1
}
EOF
	start
	submit a r1 "content"
	expect a/running r1 10
	kill9
	start
	# Claimed again after the crash, r1 is not a duplicate of itself.
	expect a/running r1 10
	expect a/error r1 10
	check '[ "$(st r1 reason)" != "duplicate of r1" ]' "r1 is its own duplicate"
	expect_metric duplicates 0 5
}

# ---------------------------------------------------------------------------
# Hooks.

t_hooks_each_event() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/fail-then-succeed"}
    user = "$ME"
    next = "b"
    backoff = 3
    env = {"FAILS=1"}
    on_retry = {"$STAGES/hook", "$T/hooks", "%s", "%i"}
    on_done = {"$STAGES/hook", "$T/hooks", "never: a job that moves on"}
}
stage b {
    command = {"$STAGES/by-name"}
    user = "$ME"
    on_done = {"$STAGES/hook", "$T/hooks", "%f"}
    on_error = {"$STAGES/hook", "$T/hooks", "100%%"}
}
EOF
	start
	submit a ok1
	submit a bad-x
	expect b/done ok1 20
	expect b/error bad-x 20
	wait_for '[ "$(wc -l <"$T/hooks" 2>/dev/null)" = 4 ]' 10 ||
	    fail "the hooks wrote $(wc -l <"$T/hooks" 2>/dev/null) lines, not 4: $(cat "$T/hooks")"
	check 'grep -qx "retry ok1 a 1 present a ok1 \[exit 1\]" "$T/hooks"' \
	    "no on_retry line for ok1: $(cat "$T/hooks")"
	check 'grep -qx "retry bad-x a 1 present a bad-x \[exit 1\]" "$T/hooks"' \
	    "no on_retry line for bad-x: $(cat "$T/hooks")"
	check 'grep -qx "done ok1 b 1 present $D/b/done/ok1 \[\]" "$T/hooks"' \
	    "no on_done line for ok1: $(cat "$T/hooks")"
	check 'grep -qx "error bad-x b 1 present 100% \[exit 65\]" "$T/hooks"' \
	    "no on_error line for bad-x: $(cat "$T/hooks")"
	check '! grep -q never "$T/hooks"' "a hook ran for a job moving on"
	check 'grep -q "stage b hook on_done started" "$D/log/ok1.log" &&
	    grep -q "^hook ran$" "$D/log/ok1.log" &&
	    grep -q "stage b hook on_done exit 0 after" "$D/log/ok1.log"' \
	    "the job's log has no hook run: $(cat "$D/log/ok1.log")"
}

t_hooks_do_not_block() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    slots = 2
    on_done = {"$STAGES/hook", "$T/hooks"}
    env = {"HOOK_SLEEP=100"}
    hook_timeout = 5
}
EOF
	start
	_i=0
	while [ $_i -lt 6 ]; do
		_i=$((_i + 1))
		submit a "h$_i"
	done
	# The jobs end while their hooks sleep: none has ended yet.
	wait_for 'count "$D/a/done"; [ "$CNT" = 6 ]' 10 ||
	    fail "only $CNT of 6 jobs done while their hooks ran"
	check '! grep -q "hook on_done" "$ERR"' \
	    "a hook ended before the last job: $(grep "hook on_done" "$ERR")"
	wait_for '[ "$(wc -l <"$T/hooks" 2>/dev/null)" = 6 ]' 10 ||
	    fail "$(wc -l <"$T/hooks") hooks ran, not 6"
	wait_for '[ "$(grep -c "hook on_done: timeout" "$ERR")" = 6 ]' 10 ||
	    fail "$(grep -c 'hook on_done: timeout' "$ERR") hooks timed out, not 6"
	wait_for '[ "$(grep -c "hook on_done killed by signal 15" "$ERR")" = 6 ]' 10 ||
	    fail "the hooks were not stopped: $(tail -n 3 "$ERR")"
	check '[ -z "$(spool_procs "$T")" ]' "processes left: $(spool_procs "$T")"
	check 'grep -q "hook on_done killed by signal 15 (Terminated) after 5\." "$D/log/h1.log"' \
	    "h1's log does not show its hook stopped: $(cat "$D/log/h1.log")"
}

t_hooks_stopped_with_spoold() {
	conf <<EOF
spool = "data"
tick = 1
kill_grace = 1
shutdown_grace = 1
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    on_done = {"$STAGES/hook", "$T/hooks"}
    env = {"HOOK_SLEEP=100"}
    hook_timeout = 0
}
EOF
	start
	submit a s1
	expect a/done s1 10
	wait_for '[ -s "$T/hooks" ]' 10 || fail "the hook did not start"
	stop 10
	check '[ "$RC" = 0 ]' "spoold exited $RC"
	check '[ -z "$(spool_procs "$T")" ]' "the hook outlived spoold: $(spool_procs "$T")"
}

# ---------------------------------------------------------------------------
# spoolctl info.

t_info_versions() {
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed", "%f"}
    user = "$ME"
    version_command = {"/bin/sh", "-c", "echo tool-a \$TOOL_V; echo libx 2.0 >&2", "x"}
    env = {"TOOL_V=1.2.3"}
}
stage b {
    command = {"$STAGES/succeed"}
    user = "$ME"
}
EOF
	ctl info >"$T/off" || fail "info exited $? without spoold"
	check 'grep -qx "spoold:  not running" "$T/off"' "info: $(cat "$T/off")"
	start
	ctl info >"$T/info" || fail "info exited $?"
	check 'grep -qx "spoold:  running, pid $SPID" "$T/info"' "info: $(cat "$T/info")"
	check 'grep -qx "  tool-a 1.2.3" "$T/info" && grep -qx "  libx 2.0" "$T/info"' \
	    "info shows no versions of a: $(cat "$T/info")"
	check 'grep -qx "stage b: $STAGES/succeed" "$T/info" &&
	    grep -qx "  (no version_command)" "$T/info"' "info of b: $(cat "$T/info")"
	ctl info --json >"$T/json" || fail "info --json exited $?"
	python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["pid"] == int(sys.argv[2]), o["pid"]
assert o["stages"]["a"]["versions"] == ["tool-a 1.2.3", "libx 2.0"], o
assert o["stages"]["b"]["versions"] is None, o
assert "failed" not in o["stages"]["a"], o
' "$T/json" "$SPID" || fail "info --json: $(cat "$T/json")"
	# A version_command that fails: said, and exit 69.
	conf <<EOF
spool = "data"
stage a {
    command = {"$STAGES/succeed"}
    user = "$ME"
    version_command = {"/bin/sh", "-c", "echo half; exit 3"}
}
EOF
	ctl info >"$T/fail"
	_rc=$?
	check '[ "$_rc" = 69 ]' "info exited $_rc, not 69"
	check 'grep -qx "  half" "$T/fail" &&
	    grep -qx "  (version_command failed: exit 3)" "$T/fail"' \
	    "info: $(cat "$T/fail")"
}

run events_lifecycle
run events_follow
run events_purge_and_cancel
run dedupe_duplicate_to_error
run dedupe_at_once
run dedupe_forgotten_on_purge
run dedupe_restart
run hooks_each_event
run hooks_do_not_block
run hooks_stopped_with_spoold
run info_versions
finish
