#!/bin/sh
# hostile.sh: black-box tests of spoold in a hostile world: job names that
# must never run, entries of the queues that are not jobs, huge sparse
# files, a full filesystem, too few file descriptors, spool folders removed
# or made unreadable by hand, and jumps of the wall clock. Each test starts
# the real daemon (SPOOLD) on a spool of its own, as run.sh does, with the
# helpers and the runner of lib.sh; the tests that mount, make devices,
# or change users need root, and are skipped otherwise.
#
#	SPOOLD=$PWD/build/spoold SPOOLCTL=$PWD/build/spoolctl \
#	    sh tests/blackbox/hostile.sh [PATTERN...]
#
# PATTERNs select tests by name. The last line is "N passed, N failed,
# N skipped". Whatever a test changed outside its folder is undone when it
# ends, however it ends: its mounts are unmounted. The jumps of the wall
# clock are spoold's alone, through libfaketime: the host's clock is never
# set.

# Conditions are strings that check and wait_for evaluate later, with the
# variables they name, so:
# shellcheck disable=SC2016,SC2034

set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=/dev/null
. "$HERE/lib.sh"

if [ ! -x "$SPOOLCTL" ]; then
	echo "hostile.sh: $SPOOLCTL: not an executable file" >&2
	exit 66
fi
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
GIB4=4294967296

# ---------------------------------------------------------------------------
# Helpers of this suite.

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# tmpfs_spool SIZE: the spool D is a tmpfs of SIZE, unmounted when the
# test ends.
tmpfs_spool() {
	need_root
	mkdir -p "$D" || fail "cannot make $D"
	at_end "umount '$D' 2>/dev/null || umount -l '$D'"
	mount -t tmpfs -o "size=$1,mode=0755" spoold-test "$D" ||
	    fail "cannot mount a tmpfs of $1 on $D"
}

# layout STAGE: the folders a submission by mv needs, before spoold runs.
layout() {
	mkdir -p "$D/$1/queue" "$D/tmp" || fail "cannot make the spool's folders"
}

# places NAME: how many of the folders of stage a hold NAME, in N.
places() {
	N=0
	for _d in queue running "done" error; do
		if [ -e "$D/a/$_d/$1" ] || [ -L "$D/a/$_d/$1" ]; then
			N=$((N + 1))
		fi
	done
}

# once NAME...: each job is in exactly one folder of stage a. A move
# between two looks may show a job in two folders for an instant, so a job
# seen elsewhere than in one folder is looked at again for half a second
# before the test fails.
once() {
	for _o in "$@"; do
		_tries=0
		while places "$_o" && [ "$N" != 1 ]; do
			_tries=$((_tries + 1))
			[ "$_tries" -lt 10 ] ||
			    fail "job $_o is in$(where "$_o"): $N places, not 1"
			sleep 0.05
		done
	done
}

# jobs_once N: jobs j1 to jN are each in exactly one folder of stage a.
jobs_once() {
	_i=0
	while [ "$_i" -lt "$1" ]; do
		_i=$((_i + 1))
		once "j$_i"
	done
}

# all_done N: jobs j1 to jN are all in a/done/, and nothing else is in a
# folder of stage a.
all_done() {
	count "$D/a/done"
	[ "$CNT" = "$1" ] || return 1
	_i=0
	while [ "$_i" -lt "$1" ]; do
		_i=$((_i + 1))
		[ -f "$D/a/done/j$_i" ] || return 1
	done
	for _d in queue running error; do
		count "$D/a/$_d"
		[ "$CNT" = 0 ] || return 1
	done
}

# names DIR: the names in DIR, on one line.
names() {
	for _f in "$1"/*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		printf '%s ' "${_f##*/}"
	done
}

# metrics_ok: index/metrics.json, when there is one, is valid JSON.
metrics_ok() {
	[ ! -e "$D/index/metrics.json" ] || json_valid "$D/index/metrics.json" ||
	    fail "index/metrics.json is not valid JSON:" \
	    "$(head -c 200 "$D/index/metrics.json")"
}

# cpu PID: the clock ticks of CPU the process used, user and system, in
# TICKS.
cpu() {
	# shellcheck disable=SC2046
	set -- $(sed 's/.*) //' "/proc/$1/stat")
	TICKS=$((${12} + ${13}))
}

# lines_after N PATTERN: a line of ERR after its first N matches the
# extended PATTERN.
lines_after() {
	tail -n "+$(($1 + 1))" "$ERR" | grep -Eiq -- "$2"
}

# lines: the number of lines of ERR, in NL.
lines() {
	NL=$(wc -l <"$ERR")
}

# Clock. The host's clock is never set: spoold runs with libfaketime (the
# library of Debian's faketime) preloaded, which adds the offset written in
# $T/faketime to its wall clock, read anew at each call; its monotonic
# clock is the host's. The stages' children do not inherit the library
# (spoold gives them an environment of its own). fake_clock starts the
# offset at 0 and sets FAKE, the command to start spoold under:
# start $FAKE. clock_jump SECONDS moves the offset.
FAKELIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
fake_clock() {
	[ -n "$FAKELIB" ] || skip "no libfaketime (apt-get install faketime)"
	FAKE_OFFSET=0
	echo "+0" >"$T/faketime"
	FAKE="env LD_PRELOAD=$FAKELIB FAKETIME_TIMESTAMP_FILE=$T/faketime
	    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
	    ASAN_OPTIONS=verify_asan_link_order=0"
}

# clock_right: spoold's wall clock back to the host's.
clock_right() {
	clock_jump $((-FAKE_OFFSET))
}

# clock_jump SECONDS: moves spoold's wall clock by SECONDS (negative: back).
clock_jump() {
	FAKE_OFFSET=$((FAKE_OFFSET + $1))
	printf '%+d\n' "$FAKE_OFFSET" >"$T/faketime.new" &&
	    mv "$T/faketime.new" "$T/faketime" || fail "cannot move the clock"
}

# ---------------------------------------------------------------------------
# A. Job names.

t_names_that_run() {
	conf_a record
	start
	set -- "with spaces in it" "-leading-dash" "café-ñandú-Ærø-é"
	for n in "$@"; do
		submit a "$n"
	done
	for n in "$@"; do
		expect a/done "$n" 10
		check '[ -f "$D/work/$n/arg" ]' "the stage left no arg for \"$n\""
		printf '%s' "$D/a/running/$n" >"$T/want"
		check 'cmp -s "$T/want" "$D/work/$n/arg"' \
		    "the stage got \"$(cat "$D/work/$n/arg")\", not" \
		    "\"$D/a/running/$n\""
		check '[ "$(nstamps START "$n")" = 1 ]' \
		    "\"$n\" ran $(nstamps START "$n") times"
	done
	empty "$D/a/queue" "$D/a/running" "$D/a/error"
}

# refused NAME REASON: NAME went to error/ with REASON in its status
# record, without a run or a log.
refused() {
	_r=$1
	expect a/error "$_r" 10
	check '[ "$(nstamps START "$_r")" = 0 ]' "\"$_r\" was run"
	check '[ ! -e "$D/log/$_r.log" ]' "\"$_r\" has a log"
	[ -z "$2" ] || expect_status "$1" reason "$2"
}

t_names_control_and_not_utf8() {
	conf_a record
	start
	nl=$(printf 'new\nline')
	tab=$(printf 'tab\tbed')
	bad=$(printf 'latin1-caf\351')
	cut=$(printf 'cut-\342\202')
	for n in "$nl" "$tab" "$bad" "$cut"; do
		submit a "$n"
	done
	submit a good
	expect a/done good 10
	refused "$nl" "control character in name"
	refused "$tab" "control character in name"
	refused "$bad" "name is not UTF-8"
	refused "$cut" "name is not UTF-8"
	empty "$D/a/queue" "$D/a/running"
	check 'alive $SPID' "spoold died"
}

t_names_too_long() {
	conf_a record
	start
	set --
	for len in 251 252 253 254 255; do
		set -- "$@" "$(printf "%0${len}d" 0 | tr 0 L)"
	done
	for n in "$@"; do
		submit a "$n"
	done
	submit a good
	expect a/done good 10
	expect a/done "$1" 10
	shift
	for n in "$@"; do
		refused "$n" ""
		check 'grep -qF -- "$n: name longer than 251 bytes" "$ERR"' \
		    "no \"name longer than 251 bytes\" logged for the name" \
		    "of ${#n} bytes"
	done
	empty "$D/a/queue" "$D/a/running"
	check 'alive $SPID' "spoold died"
}

t_names_bidi_controls() {
	conf_a record
	start
	rlm=$(printf 'rlm-\342\200\217-x')
	rlo=$(printf 'invoice-\342\200\256fdp.exe')
	lri=$(printf 'lri-\342\201\246-x')
	for n in "$rlm" "$rlo" "$lri"; do
		submit a "$n"
	done
	submit a good
	expect a/done good 10
	for n in "$rlm" "$rlo" "$lri"; do
		refused "$n" "bidirectional control character in name"
	done
	empty "$D/a/queue" "$D/a/running"
	check 'alive $SPID' "spoold died"
}

# ---------------------------------------------------------------------------
# B. Entries of a queue that are not jobs, and files that are odd jobs.

# not_job NAME KIND: NAME went to error/ as what it was, unrun, with the
# reason "KIND, not a regular file".
not_job() {
	refused "$1" "$2, not a regular file"
}

t_special_entries() {
	conf_a record
	start
	# Its atime as old as its mtime: a read would change it (relatime).
	printf 'the secret\n' >"$T/secret"
	sum=$(printf 'the secret\n' | cksum)
	chmod 600 "$T/secret"
	touch -d '2001-02-03 04:05:06' "$T/secret"
	meta=$(stat -c '%s %Y %X' "$T/secret")
	# The FIFO comes first: the jobs after it must not wait for it.
	mkfifo "$D/tmp/fifo"
	mv "$D/tmp/fifo" "$D/a/queue/fifo"
	mkfifo "$D/a/queue/fifo-made-here"
	ln -s "$T/secret" "$D/tmp/link"
	mv "$D/tmp/link" "$D/a/queue/link"
	mkdir "$D/tmp/folder"
	printf 'inside\n' >"$D/tmp/folder/inner"
	mv "$D/tmp/folder" "$D/a/queue/folder"
	sock=""
	if command -v "$PY" >/dev/null 2>&1; then
		"$PY" -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$D/tmp/sock" &&
		    mv "$D/tmp/sock" "$D/a/queue/sock" && sock=sock
	fi
	[ -n "$sock" ] || diag "no socket: python3 cannot make one"
	for j in j1 j2 j3; do
		submit a $j
	done
	for j in j1 j2 j3; do
		expect a/done $j 10
	done
	not_job fifo "a FIFO"
	not_job fifo-made-here "a FIFO"
	not_job link "a symbolic link"
	not_job folder "a folder"
	[ -z "$sock" ] || not_job sock "a socket"
	check '[ -p "$D/a/error/fifo" ]' "a/error/fifo is no longer a FIFO"
	check '[ -L "$D/a/error/link" ] &&
	    [ "$(readlink "$D/a/error/link")" = "$T/secret" ]' \
	    "the symbolic link did not go to error/ as itself"
	check '[ "$(stat -c "%s %Y %X" "$T/secret")" = "$meta" ]' \
	    "the secret's size, mtime or atime changed (it was read):" \
	    "$meta, now $(stat -c '%s %Y %X' "$T/secret")"
	check '[ "$(cksum <"$T/secret")" = "$sum" ]' "the secret was changed"
	check '[ "$(cat "$D/a/error/folder/inner")" = inside ]' \
	    "the folder's content changed"
	[ -z "$sock" ] || check '[ -S "$D/a/error/sock" ]' \
	    "a/error/sock is no longer a socket"
	empty "$D/a/queue" "$D/a/running"
	check 'alive $SPID' "spoold died"
}

t_device_node() {
	need_root
	conf_a record
	start
	mknod "$D/tmp/dev" c 1 3 || fail "cannot mknod"
	mv "$D/tmp/dev" "$D/a/queue/dev"
	mknod "$D/a/queue/dev-made-here" c 1 3 || fail "cannot mknod"
	submit a j1
	expect a/done j1 10
	not_job dev "a device"
	not_job dev-made-here "a device"
	check '[ -c "$D/a/error/dev" ]' "a/error/dev is no longer a device"
	check 'alive $SPID' "spoold died"
}

t_hard_link_runs() {
	conf_a record
	start
	head -c 100000 /dev/urandom >"$T/outside"
	touch -d '2001-02-03 04:05:06' "$T/outside"
	sum=$(cksum <"$T/outside")
	mtime=$(stat -c %Y "$T/outside")
	ln "$T/outside" "$D/tmp/hl" || fail "cannot make a hard link"
	mv "$D/tmp/hl" "$D/a/queue/hl"
	ln "$T/outside" "$D/a/queue/hl-made-here" ||
	    fail "cannot make a hard link"
	expect a/done hl 10
	expect a/done hl-made-here 10
	check '[ "$(cat "$D/work/hl/size")" = 100000 ]' \
	    "the stage saw a size of $(cat "$D/work/hl/size")"
	check '[ "$(cksum <"$T/outside")" = "$sum" ]' \
	    "the other name's content changed"
	check '[ "$(stat -c %Y "$T/outside")" = "$mtime" ]' \
	    "the other name's mtime changed"
	check '[ "$(nstamps START hl)" = 1 ]' "hl ran $(nstamps START hl) times"
}

t_empty_file_runs() {
	conf_a record
	start
	: >"$D/tmp/empty"
	mv "$D/tmp/empty" "$D/a/queue/empty"
	: >"$D/a/queue/empty-made-here"
	expect a/done empty 10
	expect a/done empty-made-here 10
	check '[ "$(cat "$D/work/empty/size")" = 0 ]' \
	    "the stage saw a size of $(cat "$D/work/empty/size")"
}

# The spool is a tmpfs far smaller than the file: a copy would fail, not
# fill the machine's disk.
t_sparse_4g_queued() {
	tmpfs_spool 64m
	conf_a record
	start
	wait_for '[ -f "$D/index/metrics.json" ]' 5 || fail "no metrics"
	before=$(du -sk "$D" | cut -f1)
	truncate -s 4G "$D/tmp/sparse" || fail "cannot make a sparse file"
	mv "$D/tmp/sparse" "$D/a/queue/sparse"
	expect a/done sparse 20
	check '[ "$(cat "$D/work/sparse/size")" = $GIB4 ]' \
	    "the stage saw a size of $(cat "$D/work/sparse/size")"
	check '[ "$(stat -c %s "$D/a/done/sparse")" = $GIB4 ]' \
	    "the job's size is $(stat -c %s "$D/a/done/sparse")"
	after=$(du -sk "$D" | cut -f1)
	diag "the spool used $before KiB, then $after KiB"
	check '[ $((after - before)) -lt 1024 ]' \
	    "the spool grew by $((after - before)) KiB"
}

t_sparse_4g_submitted() {
	tmpfs_spool 64m
	conf_a record
	truncate -s 4G "$T/big" || fail "cannot make a sparse file"
	ctl submit "$T/big" >"$T/submit.out" \
	    2>"$T/submit.err"
	rc=$?
	kb=$(du -sk "$D" | cut -f1)
	diag "spoolctl submit exits $rc; the spool uses $kb KiB"
	check '[ $rc -eq 0 ]' "spoolctl submit exits $rc:" \
	    "$(head -n 2 "$T/submit.err")"
	id=$(cat "$T/submit.out")
	check '[ -f "$D/a/queue/$id" ]' "no a/queue/$id"
	check '[ "$(stat -c %s "$D/a/queue/$id")" = $GIB4 ]' \
	    "the job's size is $(stat -c %s "$D/a/queue/$id")"
	check '[ "$kb" -lt 4096 ]' "the spool takes $kb KiB"
}

# ---------------------------------------------------------------------------
# C. A full filesystem. The spool is a tmpfs of 4 MiB, filled up by the
# file .filler (a name spoold ignores).

fill() {
	dd if=/dev/zero of="$D/.filler" bs=64k 2>/dev/null
	[ "$(df -k --output=avail "$D" | tail -n 1)" -eq 0 ] ||
	    fail "the filesystem is not full: $(df -k "$D" | tail -n 1)"
}

# full_checks SECONDS: for SECONDS, every half second: spoold runs, every
# job is in one place, the metrics are valid JSON.
full_checks() {
	_fc=$(($1 * 2))
	while [ "$_fc" -gt 0 ]; do
		check 'alive $SPID' "spoold died on a full filesystem"
		jobs_once 20
		metrics_ok
		_fc=$((_fc - 1))
		sleep 0.5
	done
}

# unfill: removes the filler; every job then reaches done/ by itself.
unfill() {
	rm -f "$D/.filler"
	_uf=60
	while ! all_done 20; do
		_uf=$((_uf - 1))
		[ "$_uf" -gt 0 ] || fail "30 s after the filler went, not all" \
		    "in done/: queue: $(names "$D/a/queue"); running:" \
		    "$(names "$D/a/running"); error: $(names "$D/a/error")"
		check 'alive $SPID' "spoold died"
		jobs_once 20
		metrics_ok
		sleep 0.5
	done
	check 'alive $SPID' "spoold died"
	check 'json_valid "$D/index/metrics.json"' "no valid index/metrics.json"
	expect_metric "done" 20 3
}

t_full_fs_at_start() {
	tmpfs_spool 4m
	conf_a quiet 'slots = 2
    backoff = 1'
	layout a
	submit_many a 20
	fill
	start
	wait_for 'grep -qi "no space" "$ERR"' 10 ||
	    fail "spoold logs no line with \"no space\" in it"
	diag "$(grep -i 'no space' "$ERR" | tail -n 1)"
	full_checks 3
	unfill
}

t_full_fs_while_running() {
	tmpfs_spool 4m
	conf_a quiet 'slots = 2
    backoff = 1
    env = {"SLEEP=0.5"}'
	start
	submit_many a 20
	wait_for '[ -f "$D/a/done/j1" ]' 10 || fail "j1 did not run"
	lines
	fill
	wait_for 'lines_after $NL "no space"' 10 ||
	    fail "spoold logs no line with \"no space\" in it"
	diag "$(tail -n "+$((NL + 1))" "$ERR" | grep -i 'no space' | tail -n 1)"
	full_checks 4
	unfill
}

# ---------------------------------------------------------------------------
# D. Too few file descriptors: spoold starts, but cannot open the logs of
# all its slots at once.

t_few_file_descriptors() {
	conf_a succeed 'slots = 8
    env = {"STAMPS='"$T"'/stamps", "SLEEP=0.3"}'
	# Eight runs at once whatever the machine's CPUs, for the descriptors
	# to run short.
	echo "cpus = 8" >>"$CONF"
	layout a
	submit_many a 60
	start prlimit --nofile="${NOFILE:-30}"
	if ! wait_for 'all_done 60' 60 slow; then
		count "$D/a/queue"
		q=$CNT
		count "$D/a/error"
		fail "not all 60 jobs in done/ in 60 s: $q in queue/, $CNT in" \
		    "error/ ($(names "$D/a/error"))"
	fi
	check 'alive $SPID' "spoold died"
	check 'grep -q "Too many open files" "$ERR"' \
	    "spoold never logged \"Too many open files\" (try another NOFILE)"
	diag "$(grep -m 1 "Too many open files" "$ERR")"
	jobs_once 60
	runs=$(grep -c '^START ' "$T/stamps")
	stale=""
	_i=0
	while [ "$_i" -lt 60 ]; do
		_i=$((_i + 1))
		[ "$(st "j$_i" state)" = "done" ] || stale="$stale j$_i"
	done
	check '[ -z "$stale" ]' "status records not \"done\":$stale"
	diag "60 jobs, $runs runs"
}

# ---------------------------------------------------------------------------
# E. Spool folders removed or made unreadable while spoold runs.

t_rm_queue() {
	conf_a record
	start
	submit a j1
	expect a/done j1 10
	rm -rf "$D/a/queue"
	wait_for '[ -d "$D/a/queue" ]' 3 ||
	    fail "spoold did not make a/queue/ again within 3 s (2 ticks)"
	submit a j2
	expect a/done j2 10
	check 'alive $SPID' "spoold died"
}

t_rm_done() {
	conf_a record
	start
	submit a j1
	expect a/done j1 10
	rm -rf "$D/a/done"
	submit a j2
	expect a/done j2 10
	check 'alive $SPID' "spoold died"
}

t_rm_index() {
	conf_a record
	start
	wait_for '[ -f "$D/index/metrics.json" ]' 5 || fail "no metrics"
	rm -rf "$D/index"
	wait_for '[ -f "$D/index/metrics.json" ]' 2 ||
	    fail "no index/metrics.json 2 s (two ticks) after rm -rf index"
	check 'json_valid "$D/index/metrics.json"' "metrics.json is not JSON"
	check '[ "$(metric pid)" = "$SPID" ]' "metrics pid $(metric pid)"
	check 'alive $SPID' "spoold died"
}

t_rm_log_and_work() {
	conf_a record
	start
	submit a j1
	expect a/done j1 10
	rm -rf "$D/log" "$D/work"
	submit a j2
	expect a/done j2 10
	check 'grep -q "^=== spoold: .* stage a attempt 1 started$" "$D/log/j2.log"' \
	    "j2 has no log with its run"
	check '[ -f "$D/work/j2/arg" ]' "j2's work folder lacks what its stage wrote"
	check 'alive $SPID' "spoold died"
}

t_rm_running_while_child_runs() {
	conf_a succeed 'env = {"STAMPS='"$T"'/stamps", "SLEEP=2"}'
	start
	submit a j1
	wait_for '[ -n "$(stamp START j1)" ]' 10 || fail "j1 did not start"
	lines
	rm -rf "$D/a/running"
	wait_for '[ -n "$(stamp END j1)" ]' 10 || fail "j1 did not end"
	wait_for 'lines_after $NL "running|removed|No such file"' 5 ||
	    fail "spoold logged nothing about the removal of a/running"
	diag "$(tail -n "+$((NL + 1))" "$ERR" | grep -Em 1 'running|removed|No such file')"
	check 'alive $SPID' "spoold died"
	submit a j2
	expect a/done j2 5
}

t_unreadable_queue() {
	need_root
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	ng=$(id -gn nobody)
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/succeed"}
    env = {"STAMPS=$T/stamps", "SLEEP=2"}
}
EOF
	: >"$T/stamps"
	mkdir "$D"
	chown nobody:"$ng" "$CONF" "$D" "$T/stamps"
	start setpriv --reuid=nobody --regid="$ng" --clear-groups
	submit a j1
	wait_for '[ -n "$(stamp START j1)" ]' 10 || fail "j1 did not start"
	for j in j2 j3 j4; do
		submit a $j
	done
	lines
	chmod 000 "$D/a/queue"
	at_end "chmod 755 '$D/a/queue'"
	cpu "$SPID"
	before=$TICKS
	sleep 3 # the window in which spoold must not spin
	cpu "$SPID"
	used=$((TICKS - before))
	diag "spoold used $used ticks of CPU in 3 s ($(getconf CLK_TCK)/s)"
	check 'alive $SPID' "spoold died"
	check '[ $((used * 100)) -lt $((50 * $(getconf CLK_TCK))) ]' \
	    "spoold used $used ticks of CPU in 3 s"
	wait_for 'lines_after $NL "a/queue"' 5 ||
	    fail "spoold logged nothing naming a/queue after chmod 000:" \
	    "$(tail -n "+$((NL + 1))" "$ERR" | head -n 2 | tr '\n' ' ')"
	diag "$(tail -n "+$((NL + 1))" "$ERR" | grep -m 1 'a/queue')"
	chmod 755 "$D/a/queue"
	for j in j1 j2 j3 j4; do
		expect a/done $j 15
	done
	check 'alive $SPID' "spoold died"
}

# ---------------------------------------------------------------------------
# F. Jumps of the wall clock.

t_clock_forward_timeout() {
	fake_clock
	conf_a succeed 'timeout = 6
    env = {"STAMPS='"$T"'/stamps", "SLEEP=3"}'
	# shellcheck disable=SC2086
	start $FAKE
	submit a j1
	wait_for '[ -n "$(stamp START j1)" ]' 10 || fail "j1 did not start"
	clock_jump 7200
	wait_for 'has a/done j1 || has a/error j1 || has a/queue j1' 10
	clock_right
	expect a/done j1 1
	check 'grep -q "attempt 1 exit 0 after" "$D/log/j1.log"' \
	    "j1's run did not exit 0: $(grep '^===.*after' "$D/log/j1.log")"
	expect_status j1 exit 0
	expect_metric timeouts 0 3
}

t_clock_back_heartbeat() {
	fake_clock
	conf_a heartbeat 'heartbeat = 3
    env = {"PAGES=8", "BEAT=1"}'
	# shellcheck disable=SC2086
	start $FAKE
	submit a j1
	wait_for '[ -f "$D/work/j1/heartbeat" ]' 10 || fail "j1 did not beat"
	sleep 1 # a beat or two before the jump
	clock_jump -3600
	wait_for 'has a/done j1 || has a/error j1 || has a/queue j1' 15
	clock_right
	expect a/done j1 1
	check 'grep -q "attempt 1 exit 0 after" "$D/log/j1.log"' \
	    "j1's run did not exit 0: $(grep '^===.*after' "$D/log/j1.log")"
	expect_metric timeouts 0 3
}

t_clock_forward_delay() {
	fake_clock
	conf_a record
	# shellcheck disable=SC2086
	start $FAKE
	printf 'later\n' >"$T/later"
	id=$(ctl submit --delay 3600 "$T/later") ||
	    fail "spoolctl submit failed"
	expect_metric deferred 1 5
	clock_jump 7200
	wait_for '[ -n "$(stamp START "$id")" ]' 3
	clock_right
	check '[ -n "$(stamp START "$id")" ]' \
	    "the job deferred by 1 h did not run within 2 ticks of a jump of" \
	    "2 h: it is in$(where "$id")"
	expect a/done "$id" 5
}

t_clock_back_delay() {
	fake_clock
	conf_a record
	# shellcheck disable=SC2086
	start $FAKE
	printf 'soon\n' >"$T/soon"
	id=$(ctl submit --delay 4 "$T/soon") ||
	    fail "spoolctl submit failed"
	expect_metric deferred 1 3
	clock_jump -3600
	sleep 6 # the job must not run in this time
	ran=$(stamp START "$id")
	clock_right
	check '[ -z "$ran" ] && has a/queue "$id"' \
	    "the job deferred by 4 s ran 6 s after the clock went back 1 h" \
	    "(it is in$(where "$id"))"
	wait_for '[ -n "$(stamp START "$id")" ]' 3 ||
	    fail "the job did not run within 2 ticks of the clock set right"
	expect a/done "$id" 5
}

# ---------------------------------------------------------------------------

run names_that_run
run names_control_and_not_utf8
run names_too_long
run names_bidi_controls
run special_entries
run device_node
run hard_link_runs
run empty_file_runs
run sparse_4g_queued
run sparse_4g_submitted
run full_fs_at_start
run full_fs_while_running
run few_file_descriptors
run rm_queue
run rm_done
run rm_index
run rm_log_and_work
run rm_running_while_child_runs
run unreadable_queue
run clock_forward_timeout
run clock_back_heartbeat
run clock_forward_delay
run clock_back_delay
finish
