#!/bin/sh
# trust.sh: black-box tests of spoold's trust boundary, in the production
# configuration: spoold as root, its stages as nobody, the spool's group
# nogroup, and a "member" of that group (a process of uid 4242 with
# nogroup among its groups, made by setpriv: no user is added to the
# system). Each test plays an attack as a stage child (tests/stages/attack)
# or as a member, against canaries in the test's own folder, never a
# system file, and checks that spoold was not turned against them, did not
# freeze and ran no job twice. Every test needs root and is skipped
# otherwise.
#
#	SPOOLD=$PWD/build/spoold SPOOLCTL=$PWD/build/spoolctl \
#	    sh tests/blackbox/trust.sh [PATTERN...]
#
# PATTERNs select tests by name. The last line is "N passed, N failed".

# Conditions are strings that check and wait_for evaluate later, with the
# variables they name, so:
# shellcheck disable=SC2016,SC2034

set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=/dev/null
. "$HERE/lib.sh"

MEMBER_UID=4242
STAGE_USER=nobody
SPOOL_GROUP=nogroup

# ---------------------------------------------------------------------------
# Helpers of this suite.

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	getent passwd "$STAGE_USER" >/dev/null &&
	    getent group "$SPOOL_GROUP" >/dev/null ||
	    skip "needs the user $STAGE_USER and the group $SPOOL_GROUP"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
}

# member COMMAND...: runs COMMAND as a member of the spool's group.
member() {
	setpriv --reuid="$MEMBER_UID" --regid="$MEMBER_UID" \
	    --groups="$(getent group "$SPOOL_GROUP" | cut -d: -f3)" \
	    --inh-caps=-all -- "$@"
}

# conf_ab [ENV_A [ENV_B [SETTINGS_A [SETTINGS_B]]]]: stages a then b, each
# running attack as nobody with the spool's group nogroup, with the stamps
# file, the canary folder, and ENV (more quoted words of env, as
# '"ATTACK=fifo", "SLEEP=2"') and SETTINGS (lines of the stage's block).
conf_ab() {
	_env="\"STAMPS=$T/stamps\", \"CANARY=$T/canary\", \"ESCAPED=$T/escaped\""
	conf <<EOF
spool = "data"
group = "$SPOOL_GROUP"
tick = 1
kill_grace = 1
shutdown_grace = 2
stage a {
    command = {"$STAGES/attack", "%f"}
    user = "$STAGE_USER"
    next = "b"
    env = {$_env${1:+, $1}}
    ${3:-}
}
stage b {
    command = {"$STAGES/attack", "%f"}
    user = "$STAGE_USER"
    env = {$_env${2:+, $2}}
    ${4:-}
}
EOF
	[ -e "$T/stamps" ] || : >"$T/stamps"
	[ -e "$T/escaped" ] || : >"$T/escaped"
	chmod 666 "$T/stamps" "$T/escaped"
}

# escaped_killed: the process an "escape" attack started is killed when
# the test ends, whatever spoold did.
escaped_killed() {
	at_end '_p=$(cat "$T/escaped" 2>/dev/null); [ -z "$_p" ] ||
	    kill -9 "$_p" 2>/dev/null; :'
}

# canary: a folder of root's beside the spool, with the names a job's work
# folder has; its state goes to $T/canary.before.
canary() {
	mkdir -m 755 "$T/canary" || fail "cannot make the canary"
	for _f in status.json .status.json.new heartbeat slurm.exit; do
		printf 'canary %s\n' "$_f" >"$T/canary/$_f"
	done
	chmod 644 "$T/canary"/* "$T/canary"/.status.json.new
	canary_state >"$T/canary.before"
}

canary_state() {
	find "$T/canary" -printf '%p %y %m %u %g %s %T@\n' | sort
	cat "$T/canary"/* "$T/canary"/.status.json.new 2>/dev/null
}

# canary_intact: the canary folder is byte for byte what it was.
canary_intact() {
	canary_state >"$T/canary.after"
	cmp -s "$T/canary.before" "$T/canary.after" ||
	    fail "the canary changed: $(diff "$T/canary.before" \
	    "$T/canary.after" | head -n 4 | tr '\n' ' ')"
}

# member_submit STAGE NAME: a member puts job NAME in STAGE's queue/ by
# hand, as the README shows.
member_submit() {
	member sh -c 'printf "job %s\n" "$3" >"$1/tmp/.$3" &&
	    mv "$1/tmp/.$3" "$1/$2/queue/$3"' sh "$D" "$1" "$2" ||
	    fail "the member cannot submit $2"
}

# places NAME: the number of folders of every stage that hold NAME, in N.
places() {
	N=0
	for _d in "$D"/*/queue "$D"/*/running "$D"/*/done "$D"/*/error; do
		if [ -e "$_d/$1" ] || [ -L "$_d/$1" ]; then
			N=$((N + 1))
		fi
	done
}

# once NAME: the job is in exactly one folder of the spool, after a look
# again for half a second (a move between two looks shows it twice).
once() {
	_tries=0
	while places "$1" && [ "$N" != 1 ]; do
		_tries=$((_tries + 1))
		[ "$_tries" -lt 10 ] ||
		    fail "job $1 is in$(where "$1"): $N places, not 1"
		sleep 0.05
	done
}

# no_overlap: no two runs of a job overlapped, by the stamps.
no_overlap() {
	_o=$(overlaps)
	case $_o in
	*OVERLAP*) fail "runs overlapped: $(echo "$_o" | head -n 2)" ;;
	esac
	printf '%s\n' "$_o" | grep -q 'unended 0' ||
	    fail "a run did not end: $(echo "$_o" | tail -n 1)"
}

# refused: the second spoold exited 75, naming the first one's pid.
refused() {
	spoold_once "$T/second.err"
	[ "$RC" = 75 ] || fail "the second spoold exited $RC, not 75:" \
	    "$(cat "$T/second.err")"
	grep -q "in use by spoold pid $SPID\$" "$T/second.err" ||
	    fail "the second spoold did not name pid $SPID:" \
	    "$(cat "$T/second.err")"
}

# ---------------------------------------------------------------------------
# 1. Root writes nothing outside the spool.

# A member links work/evil to a folder of root's, then submits evil.
t_member_links_work() {
	need_root
	canary
	conf_ab
	start
	member ln -s "$T/canary" "$D/work/evil" ||
	    fail "the member cannot make the link"
	member_submit a evil
	expect b/done evil 20
	canary_intact
	[ -d "$D/work/evil" ] && [ ! -L "$D/work/evil" ] ||
	    fail "work/evil is not a folder"
	[ "$(stat -c %U "$D/work/evil")" = root ] ||
	    fail "work/evil is $(stat -c %U "$D/work/evil")'s, not root's"
	grep -q 'work/evil: not a folder; removed' "$ERR" ||
	    fail "the link was not logged"
	once evil
}

# A child tries to put a link in its work folder's place, and links the
# names spoold writes in it to files of root's; the next stage starts.
t_child_links_files() {
	need_root
	canary
	conf_ab '"ATTACK=link-work link-files"' '"ATTACK=link-files"'
	start
	submit a j1
	submit a j2
	expect b/done j1 20
	expect b/done j2 20
	canary_intact
	[ -d "$D/work/j1" ] && [ ! -L "$D/work/j1" ] ||
	    fail "work/j1 is not a folder"
	once j1
	once j2
}

# A member makes the work folder of a job it submits, with a record that
# says it ran five times and may run as a duplicate: spoold takes the
# folder over and takes only the key from the record.
t_member_record() {
	need_root
	conf_ab
	start
	member sh -c 'mkdir "$1/work/rec" &&
	    printf "%s\n" "{\"stage\":\"a\",\"state\":\"queued\",\"attempt\":5,\"forced\":true,\"key\":\"k1\",\"logged\":false}" \
	    >"$1/work/rec/status.json"' sh "$D" || fail "the member cannot plant"
	member_submit a rec
	expect b/done rec 20
	expect_status rec attempt 1
	expect_status rec key k1
	expect_status rec forced false
	[ "$(stat -c %U "$D/work/rec")" = root ] ||
	    fail "work/rec was not taken over"
	grep -q '"event":"queued","id":"rec"' "$D/index/events.jsonl" ||
	    fail "the member's submission has no event"
}

# ---------------------------------------------------------------------------
# 2. Nothing freezes spoold.

# A member plants FIFOs where spoold writes a job's record and reads its
# heartbeat, then submits that job; a job submitted after it is done
# within two ticks, and SIGTERM stops spoold within kill_grace and a tick.
t_member_fifo() {
	need_root
	conf_ab
	start
	member sh -c 'mkdir "$1/work/ff" && mkfifo "$1/work/ff/.status.json.new" \
	    "$1/work/ff/status.json" "$1/work/ff/heartbeat"' sh "$D" ||
	    fail "the member cannot plant FIFOs"
	member_submit a ff
	expect b/done ff 10
	clock
	_t0=$NOW
	submit a later
	expect b/done later 10
	clock
	[ $((NOW - _t0)) -le 2500 ] ||
	    fail "the job after the FIFO took $((NOW - _t0)) ms"
	diag "a job after the FIFOs done in $((NOW - _t0)) ms"
	clock
	_t0=$NOW
	stop 10
	clock
	[ "$RC" = 0 ] || fail "spoold exited $RC"
	[ $((NOW - _t0)) -le 2500 ] ||
	    fail "SIGTERM took $((NOW - _t0)) ms"
	diag "SIGTERM stopped spoold in $((NOW - _t0)) ms"
}

# A child makes FIFOs of its record's next version and its heartbeat, and
# spoold is killed while it runs: the next spoold starts and recovers.
t_child_fifo_restart() {
	need_root
	conf_ab '"ATTACK=fifo", "SLEEP=30"' '' 'slots = 2'
	start
	submit a f1
	wait_for '[ -p "$D/work/f1/heartbeat" ]' 10 ||
	    fail "the child made no FIFO"
	kill9
	start
	grep -q "started, pid $SPID" "$ERR" || fail "spoold did not start"
	expect a/running f1 10
	conf_ab '' '' 'slots = 2'
	kill -HUP "$SPID"
	submit a later
	expect b/done later 10
	stop 10
	[ "$RC" = 0 ] || fail "spoold exited $RC"
}

# ---------------------------------------------------------------------------
# 3. One spoold per spool.

# With the pid file removed, a second spoold is refused, naming the first,
# and the pid file is made again.
t_second_after_pidfile_removed() {
	need_root
	conf_ab
	start
	rm -f "$D/index/spoold.pid"
	refused
	wait_for '[ "$(cat "$D/index/spoold.pid" 2>/dev/null)" = "$SPID" ]' 3 ||
	    fail "index/spoold.pid was not made again"
}

# With the spool's folder removed while spoold runs a job, a second
# spoold is refused; the first stops claiming and exits 66, saying why,
# and only then may another start.
t_second_after_spool_removed() {
	need_root
	conf_ab '"SLEEP=30"'
	start
	submit a long
	expect a/running long 10
	mv "$D" "$T/old" || fail "cannot move the spool"
	refused
	wait_exit 10
	[ "$RC" = 66 ] || fail "the first spoold exited $RC, not 66"
	grep -q "the spool's folder was removed or replaced" "$ERR" ||
	    fail "the first spoold did not say why"
	[ -e "$T/old/a/queue/long" ] || fail "the job is not back in queue/" \
	    "of the old spool: $(ls "$T"/old/a/*)"
	start
}

# 100 jobs while a second spoold is started five times after the pid
# file was removed: every start refused, every job done once, no runs
# overlap.
t_second_under_load() {
	need_root
	conf_ab '"SLEEP=0.05"' '' 'slots = 2' 'slots = 2'
	start
	submit_many a 100
	for _ in 1 2 3 4 5; do
		rm -f "$D/index/spoold.pid"
		refused
	done
	wait_for 'count "$D/b/done"; [ "$CNT" = 100 ]' 60 ||
	    fail "$CNT of 100 jobs done"
	_i=0
	while [ $_i -lt 100 ]; do
		_i=$((_i + 1))
		once "j$_i"
	done
	no_overlap
}

# ---------------------------------------------------------------------------
# 4. Moves by hand: one id, one job.

# A running job put back in its queue/ by hand runs again after its run,
# not beside it, and ends in one place.
t_hand_move_to_queue() {
	need_root
	conf_ab '"SLEEP=2"'
	start
	submit a x
	expect a/running x 10
	mv "$D/a/running/x" "$D/a/queue/x" || fail "cannot move x"
	expect b/done x 30
	once x
	no_overlap
	[ "$(nstamps START x)" -ge 3 ] ||
	    fail "x ran $(nstamps START x) times, not twice in a and once in b"
	grep -q 'moved by hand to a/queue during its run' "$ERR" ||
	    fail "the move was not logged"
}

# A running job moved by hand to the next stage's queue/ does not start
# there before its run ends, and ends in one place.
t_hand_move_to_next() {
	need_root
	conf_ab '"SLEEP=2"'
	start
	submit a y
	expect a/running y 10
	mv "$D/a/running/y" "$D/b/queue/y" || fail "cannot move y"
	expect b/done y 30
	once y
	no_overlap
	count "$D/a/error"
	[ "$CNT" = 0 ] || fail "a/error holds $(ls "$D/a/error")"
}

# ---------------------------------------------------------------------------
# 5. A spoolctl killed leaves nothing behind.

# leftovers: every work folder and log is of a job that is somewhere, and
# tmp/ is empty.
leftovers() {
	for _w in "$D"/work/*; do
		[ -e "$_w" ] || continue
		places "${_w##*/}"
		[ "$N" -ge 1 ] || fail "work/${_w##*/} is left without its job"
	done
	for _l in "$D"/log/*.log; do
		[ -e "$_l" ] || continue
		_id=${_l##*/}
		places "${_id%.log}"
		[ "$N" -ge 1 ] || fail "log/$_id is left without its job"
	done
	empty "$D/tmp"
}

# rnd_ms: a random number of milliseconds from 0 to 39, in MS.
rnd_ms() {
	MS=$(($(od -An -N1 -tu1 /dev/urandom) % 40))
}

t_spoolctl_killed() {
	need_root
	conf_ab
	start
	head -c 4000000 /dev/urandom >"$T/big"
	_k=0
	while [ $_k -lt 50 ]; do
		_k=$((_k + 1))
		"$SPOOLCTL" -c "$CONF" submit "$T/big" >/dev/null 2>&1 &
		_p=$!
		rnd_ms
		sleep "0.0$((MS / 10))$((MS % 10))"
		kill -9 "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
	wait_for 'count "$D/a/queue"; [ "$CNT" = 0 ] &&
	    count "$D/a/running"; [ "$CNT" = 0 ] &&
	    count "$D/b/queue"; [ "$CNT" = 0 ] &&
	    count "$D/b/running"; [ "$CNT" = 0 ]' 60 ||
	    fail "the jobs did not end"
	count "$D/b/done"
	diag "$CNT of 50 killed submissions went through"
	_k=0
	while [ $_k -lt 50 ]; do
		_k=$((_k + 1))
		"$SPOOLCTL" -c "$CONF" purge --older-than 0 >/dev/null 2>&1 &
		_p=$!
		rnd_ms
		sleep "0.00$((MS % 10))"
		kill -9 "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
		submit a "p$_k"
	done
	wait_for 'count "$D/b/done"; [ "$CNT" -gt 0 ]' 30
	ctl purge --older-than 0 >/dev/null ||
	    fail "the last purge failed"
	stop
	start
	wait_for '[ -z "$(ls -A "$D/tmp")" ]' 5
	leftovers
}

# ---------------------------------------------------------------------------
# 6. Every process of a run dies with it.

# cgroups: skips unless spoold runs its jobs in control groups here.
cgroups() {
	grep -q 'runs in control groups under' "$ERR" ||
	    skip "no control group hierarchy spoold may write here"
}

# A process that left its run's process group and environment dies when
# the run ends.
t_escaped_at_end() {
	need_root
	conf_ab '"ATTACK=escape", "SLEEP=1"'
	escaped_killed
	start
	submit a e1
	expect b/done e1 20
	_p=$(cat "$T/escaped")
	[ -n "$_p" ] || fail "the run started no process"
	wait_for '! alive $_p' 5 || fail "pid $_p outlived its run"
}

# And when spoold is killed while the run goes on: the next spoold kills
# it.
t_escaped_kill9() {
	need_root
	conf_ab '"ATTACK=escape", "SLEEP=30"'
	escaped_killed
	start
	cgroups
	submit a e2
	wait_for '[ -s "$T/escaped" ]' 10 || fail "the run started no process"
	_p=$(cat "$T/escaped")
	kill9
	alive "$_p" || fail "pid $_p died with spoold"
	start
	wait_for '! alive $_p' 10 || fail "pid $_p outlived kill -9 and a start"
}

# ---------------------------------------------------------------------------
# 7. What members may do.

# A member cancels a job that waits in a queue.
t_member_cancels_queued() {
	need_root
	conf_ab
	start
	echo payload >"$T/payload"
	_id=$(member "$SPOOLCTL" -d "$D" submit --delay 1h "$T/payload" 2>&1) ||
	    fail "the member cannot submit: $_id"
	member "$SPOOLCTL" -d "$D" cancel "$_id" >"$T/cancel.out" 2>&1 ||
	    fail "the member cannot cancel: $(cat "$T/cancel.out")"
	grep -q "$_id: cancelled" "$T/cancel.out" ||
	    fail "cancel said: $(cat "$T/cancel.out")"
	expect a/error "$_id" 5
	expect_status "$_id" reason cancelled
}

# events.jsonl is spoold's alone: a member reads it, never writes it.
t_events_read_only() {
	need_root
	conf_ab
	start
	submit a ev
	expect b/done ev 20
	[ "$(stat -c %a "$D/index/events.jsonl")" = 640 ] ||
	    fail "events.jsonl is mode $(stat -c %a "$D/index/events.jsonl")"
	member sh -c 'cat "$1" >/dev/null' sh "$D/index/events.jsonl" ||
	    fail "a member cannot read events.jsonl"
	if member sh -c 'echo forged >>"$1"' sh "$D/index/events.jsonl" \
	    2>/dev/null; then
		fail "a member can write events.jsonl"
	fi
	for _f in "$D/work" "$D/tmp" "$D/a/queue" "$D/index/cancel"; do
		[ "$(stat -c %a "$_f")" = 3770 ] ||
		    fail "${_f#"$D"/} is mode $(stat -c %a "$_f"), not 3770"
	done
	for _f in "$D" "$D/log" "$D/index" "$D/a/running" "$D/a/done" \
	    "$D/a/error"; do
		[ "$(stat -c %a "$_f")" = 2750 ] ||
		    fail "${_f#"$D"/} is mode $(stat -c %a "$_f"), not 2750"
	done
}

run member_links_work
run child_links_files
run member_record
run member_fifo
run child_fifo_restart
run second_after_pidfile_removed
run second_after_spool_removed
run second_under_load
run hand_move_to_queue
run hand_move_to_next
run spoolctl_killed
run escaped_at_end
run escaped_kill9
run member_cancels_queued
run events_read_only
finish
