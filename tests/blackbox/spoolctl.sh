#!/bin/sh
# spoolctl.sh: black-box tests of spoolctl(1) with the real spoold(8).
#
# Each test has a spool of its own in a mktemp -d folder, with a config
# written there, and starts spoold in the background when it needs it.
# Conditions are polled with a time limit; nothing sleeps a fixed time and
# hopes. Everything a test started is stopped when it ends, and at exit.
# Prints "ok - NAME", "ok - NAME # SKIP WHY" or "not ok - NAME: WHY" and
# the test's time per test, then the ten slowest and one last line
# "N passed, N failed, N skipped"; exits 1 when a test failed.
#
#   make build/san/spoolctl build/san/spoold &&
#   SPOOLD=$PWD/build/san/spoold SPOOLCTL=$PWD/build/san/spoolctl \
#       sh tests/blackbox/spoolctl.sh [TEST...]
#
# KEEP=1 keeps the folder of a failed test.

set -u

SPOOLD=${SPOOLD:-$PWD/build/spoold}
SPOOLCTL=${SPOOLCTL:-$PWD/build/spoolctl}
case $SPOOLD in /*) ;; *) SPOOLD=$PWD/$SPOOLD ;; esac
case $SPOOLCTL in /*) ;; *) SPOOLCTL=$PWD/$SPOOLCTL ;; esac
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SOCK=spoolctl-test-$$	# the private tmux server of the watch tests
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
PROMPT='spoolctl-test$ '
PASSED=0
FAILED=0
SKIPPED=0
TIMES=""		# "ms name" lines, for the slowest
T=			# the folder of the test that runs

# --- the harness ------------------------------------------------------

fail() {
	printf '%s\n' "$*" | tr '\n' ' ' > "$T/.why"
	exit 1
}

skip() {
	printf '%s\n' "$*" > "$T/.skip"
	exit 0
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# wait_until SECONDS CONDITION: evaluates CONDITION every 50 ms until it
# holds; 1 when SECONDS pass first.
wait_until() {
	_limit=$(($(now_ms) + $1 * 1000))
	while ! eval "$2"; do
		[ "$(now_ms)" -lt "$_limit" ] || return 1
		sleep 0.05
	done
}

# Stops what the test left: its spoold, the children of its stages (by the
# pids they wrote, if they still run its stage program), its tmux server.
cleanup_test() {
	[ -n "$T" ] && [ -d "$T" ] || return 0
	if [ -s "$T/daemon.pid" ] && [ ! -e "$T/daemon.rc" ]; then
		_pid=$(cat "$T/daemon.pid")
		if [ "$(readlink "/proc/$_pid/exe")" = "$(readlink -f "$SPOOLD")" ]
		then
			kill -TERM "$_pid" 2>/dev/null
			_n=0
			while [ ! -e "$T/daemon.rc" ] && [ $_n -lt 100 ]; do
				sleep 0.05
				_n=$((_n + 1))
			done
			[ -e "$T/daemon.rc" ] || kill -KILL "$_pid" 2>/dev/null
		fi
	fi
	if [ -f "$T/children" ]; then
		while read -r _pid; do
			grep -qF "$T/" "/proc/$_pid/cmdline" 2>/dev/null &&
			    kill -KILL -- "-$_pid" 2>/dev/null
		done < "$T/children"
	fi
	if [ -e "$T/.tmux" ]; then
		tmux -L "$SOCK" kill-server 2>/dev/null
	fi
	return 0
}

trap 'cleanup_test; [ -n "$T" ] && rm -rf "$T"; exit 130' HUP INT TERM
trap 'cleanup_test' EXIT

run_test() {
	_name=$1
	if ! T=$(mktemp -d "${TMPDIR:-/tmp}/spoolctl-test.XXXXXX"); then
		echo "not ok - $_name: mktemp -d failed"
		FAILED=$((FAILED + 1))
		return
	fi
	chmod 755 "$T"
	_t0=$(date +%s%N)
	# a test fails by fail (at once), by note (at its end) or by its own
	# status
	(cd "$T" && KG=1 && { "t_$_name" || fail "the test returned $?"
	    soft_check; }) > "$T/.trace" 2>&1
	_rc=$?
	cleanup_test
	# A sanitizer's report in spoold's log fails the test, skipped or not.
	if [ $_rc -eq 0 ] && [ -f "$T/spoold.log" ] && grep -Eq \
	    'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/spoold.log"; then
		grep -Em 1 'Sanitizer|runtime error:' "$T/spoold.log" > "$T/.why"
		rm -f "$T/.skip"
		_rc=1
	fi
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	TIMES="$TIMES$_ms $_name
"
	if [ $_rc -eq 0 ] && [ -e "$T/.skip" ]; then
		echo "ok - $_name # SKIP $(cat "$T/.skip")"
		SKIPPED=$((SKIPPED + 1))
	elif [ $_rc -eq 0 ]; then
		echo "ok - $_name"
		PASSED=$((PASSED + 1))
	else
		if [ -s "$T/.why" ]; then
			echo "not ok - $_name: $(cat "$T/.why")"
		else
			echo "not ok - $_name: exited $_rc: $(tail -n 3 \
			    "$T/.trace" | tr '\n' ' ')"
		fi
		FAILED=$((FAILED + 1))
		[ -s "$T/.notes" ] && sed 's/^/#   /' "$T/.notes"
		[ -s "$T/spoold.log" ] && tail -n 8 "$T/spoold.log" |
		    sed 's/^/#   spoold: /'
	fi
	echo "#   $_name: $((_ms / 1000)).$((_ms % 1000 / 100)) s"
	if [ -n "${KEEP:-}" ] && [ $_rc -ne 0 ]; then
		echo "#   kept $T"
	else
		rm -rf "$T"
	fi
	T=
}

# --- spools, configs, stage programs and jobs ---------------------------

# stage NAME SLOTS [LINE...]: a stage block running the test stage program.
stage() {
	_sn=$1
	_ss=$2
	shift 2
	printf 'stage %s {\n\tcommand = {"%s", "%%f"}\n\tslots = %s\n' \
	    "$_sn" "$T/stage.sh" "$_ss"
	for _l; do
		printf '\t%s\n' "$_l"
	done
	[ "$(id -u)" -eq 0 ] && printf '\tuser = "%s"\n' "$(id -un)"
	printf '}\n'
}

# write_conf [LINE...]: the config (spool data, tick 1, kill_grace $KG,
# shutdown_grace 1, then each LINE, for example stage blocks) and the
# stage program. The program sources the job file, which sets what the
# run does, and stamps its START and END in $T/stamps with date +%s%N.
write_conf() {
	{
		echo "# written by tests/blackbox/spoolctl.sh"
		echo 'spool = "data"'
		echo 'tick = 1'
		echo "kill_grace = $KG"
		echo 'shutdown_grace = 1'
		for _l; do
			printf '%s\n' "$_l"
		done
	} > "$T/spoold.conf"
	chmod 644 "$T/spoold.conf"
	cat > "$T/stage.sh" <<EOF
#!/bin/sh
# The stage program of the test: the job file is shell that sets
# GATE (a file to wait for), SLEEP, EXIT, LINES (lines to print),
# PROGRESS (a heartbeat line), KEY (for the stamps), IGNORE_TERM, and
# FAIL_IF (a file whose presence makes the run exit 65).
echo \$\$ >> "$T/children"
GATE= SLEEP=0 EXIT=0 LINES=0 PROGRESS= KEY=- IGNORE_TERM= FAIL_IF=
. "\$1"
[ -n "\$IGNORE_TERM" ] && trap '' TERM
stamp() {
	echo "\$1 \$(date +%s%N) \$SPOOL_STAGE \$SPOOL_JOB_ID \$KEY \$SPOOL_ATTEMPT" \\
	    >> "$T/stamps"
}
stamp START
[ -n "\$PROGRESS" ] && printf '%s\n' "\$PROGRESS" > "\$SPOOL_HEARTBEAT"
i=1
while [ \$i -le \$LINES ]; do
	echo "line \$i"
	i=\$((i + 1))
done
echo "waiting"
if [ -n "\$GATE" ]; then
	while [ ! -e "$T/\$GATE" ]; do sleep 0.02; done
fi
[ "\$SLEEP" = 0 ] || sleep "\$SLEEP"
echo "after gate"
[ -n "\$FAIL_IF" ] && [ -e "$T/\$FAIL_IF" ] && EXIT=65
stamp END
exit \$EXIT
EOF
	chmod 755 "$T/stage.sh"
}

# job NAME [ASSIGNMENT...]: a job file for the stage program.
job() {
	_jn=$1
	shift
	: > "$T/$_jn"
	for _l; do
		printf '%s\n' "$_l" >> "$T/$_jn"
	done
}

start_spoold() {
	rm -f "$T/daemon.rc" "$T/daemon.pid"
	(
		sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1" && exec "$2" -v \
		    -c "$3"' sh "$T/daemon.pid" "$SPOOLD" "$T/spoold.conf" \
		    2>> "$T/spoold.log"
		echo $? > "$T/daemon.rc"
	) &
	wait_until 10 '[ -s "$T/daemon.pid" ] && grep -q "\"pid\":$(cat \
	    "$T/daemon.pid")," "$T/data/index/metrics.json" 2>/dev/null' ||
	    fail "spoold did not start: $(tail -n 3 "$T/spoold.log")"
}

daemon_pid() {
	cat "$T/daemon.pid"
}

# stop_spoold [SIGNAL]: stops spoold (SIGTERM unless told) and waits.
stop_spoold() {
	kill "-${1:-TERM}" "$(daemon_pid)"
	wait_until 15 '[ -e "$T/daemon.rc" ]' || fail "spoold did not stop"
	rm -f "$T/daemon.pid"
}

# run ARG...: spoolctl -c the test's config; RC, stdout in out, stderr in err.
run() {
	"$SPOOLCTL" -c "$T/spoold.conf" "$@" > "$T/out" 2> "$T/err"
	RC=$?
}

ok_run() {
	run "$@"
	[ "$RC" -eq 0 ] || fail "spoolctl $*: exit $RC: $(head -c 300 "$T/err")"
}

# submit VAR ARG...: spoolctl submit ARG... and sets VAR to the one id.
submit() {
	_var=$1
	shift
	ok_run submit "$@"
	[ "$(wc -l < "$T/out")" -eq 1 ] ||
	    fail "submit $*: not one id: $(cat "$T/out")"
	eval "$_var=\$(cat \"\$T/out\")"
}

# The place of a job: stage/folder, or nothing.
where() {
	for _f in "$T"/data/*/*/"$1"; do
		[ -e "$_f" ] || continue
		_f=${_f#"$T/data/"}
		echo "${_f%/*}"
		return 0
	done
}

# wait_place ID PLACE [SECONDS]: waits until the job is in PLACE.
wait_place() {
	_wid=$1
	_wplace=$2
	wait_until "${3:-10}" '[ "$(where "$_wid")" = "$_wplace" ]' ||
	    fail "$_wid is in $(where "$_wid"), not $_wplace after ${3:-10}s"
}

# The spool as find sees it, with the type of each entry and the inode,
# size and mtime of each file; metrics.json is spoold's to rewrite.
snap() {
	if [ ! -d "$T/data" ]; then
		echo "no data/"
		return
	fi
	(cd "$T" && find data ! -path data/index/metrics.json \( -type f \
	    -printf '%p f %i %s %T@\n' -o -printf '%p %y\n' \)) | sort
}

# note WHY: a check that failed; the test goes on, and fails at its end.
note() {
	printf '%s\n' "$*" | tr '\n' ' ' >> "$T/.notes"
	echo >> "$T/.notes"
	return 1
}

soft_check() {
	[ -s "$T/.notes" ] || return 0
	fail "$(wc -l < "$T/.notes") checks failed: $(head -n 2 "$T/.notes" |
	    tr '\n' ';')"
}

# The first line spoolctl wrote on stderr, and what a sanitizer said.
said() {
	{ grep -m 1 '^spoolctl' "$T/err" || head -n 1 "$T/err"; } | tr -d '\n'
	sanitized
}

sanitized() {
	_sre='LeakSanitizer: [a-z ]*|runtime error: .*'
	_sre="$_sre|AddressSanitizer: [a-z-]*"
	grep -Eo "$_sre" "$T/err" | head -n 1 | sed 's/^/ (/; s/$/)/'
}

# expect_err STATUS REGEX ARG...: spoolctl ARG... exits STATUS with one line
# on stderr that matches REGEX, nothing on stdout, and the spool unchanged.
expect_err() {
	_code=$1
	_re=$2
	shift 2
	snap > "$T/snap.before"
	run "$@"
	snap > "$T/snap.after"
	[ "$RC" -eq "$_code" ] || { note "spoolctl $*: exit $RC, not $_code:" \
	    "$(said)"; return 1; }
	[ "$(wc -l < "$T/err")" -eq 1 ] || { note "spoolctl $*: stderr is not" \
	    "one line: $(head -c 300 "$T/err")"; return 1; }
	grep -Eq -- "$_re" "$T/err" || { note "spoolctl $*: stderr does not" \
	    "match /$_re/: $(cat "$T/err")"; return 1; }
	[ ! -s "$T/out" ] || { note "spoolctl $*: wrote on stdout: $(head -c \
	    200 "$T/out")"; return 1; }
	cmp -s "$T/snap.before" "$T/snap.after" || { note "spoolctl $*:" \
	    "changed the spool: $(diff "$T/snap.before" "$T/snap.after" |
	    head -n 6)"; return 1; }
}

# expect_usage ARG...: exit 64 with the usage on stderr, spool unchanged.
expect_usage() {
	snap > "$T/snap.before"
	run "$@"
	snap > "$T/snap.after"
	[ "$RC" -eq 64 ] || { note "spoolctl $*: exit $RC, not 64$(sanitized)"
	    return 1; }
	grep -q 'usage: spoolctl' "$T/err" || { note "spoolctl $*: no usage" \
	    "on stderr: $(head -n 2 "$T/err")"; return 1; }
	[ ! -s "$T/out" ] || { note "spoolctl $*: wrote on stdout"; return 1; }
	cmp -s "$T/snap.before" "$T/snap.after" ||
	    { note "spoolctl $*: changed the spool"; return 1; }
}

# jtrue FILE EXPR: whether the Python expression EXPR holds of d, the JSON
# value in FILE.
jtrue() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"
}

jcheck() {
	jtrue "$1" "$2" || fail "$(basename "$1"): not $2: $(head -c 600 "$1")"
}

metrics() {
	jtrue "$T/data/index/metrics.json" "$1" 2>/dev/null
}

# The ids of the runs, in the order they started.
started() {
	[ -f "$T/stamps" ] || return 0
	awk '$1 == "START"' "$T/stamps" | sort -k2,2n | awk '{ print $4 }'
}

nstamps() {
	[ -f "$T/stamps" ] || { echo 0; return; }
	grep -c "^$1 " "$T/stamps"
}

# The ns stamp of an event (START or END) of a job's first run.
stamp_of() {
	awk -v e="$1" -v id="$2" '$1 == e && $4 == id { print $2; exit }' \
	    "$T/stamps"
}

# The most runs (of key KEY, when given) at one moment, by the stamps.
max_overlap() {
	sort -k2,2n "$T/stamps" | awk -v k="${1:-}" '
	    k != "" && $5 != k { next }
	    $1 == "START" { if (++n > m) m = n }
	    $1 == "END" { n-- }
	    END { print m + 0 }'
}

is_gone() {
	[ ! -e "/proc/$1" ] ||
	    [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]
}

group_gone() {
	! kill -0 -- "-$1" 2>/dev/null
}

# --- options, submit ----------------------------------------------------

t_usage_version_config() {
	write_conf "$(stage a 1)"
	ok_run -V
	grep -Eq '^spoolctl [0-9]' "$T/out" || fail "-V printed $(cat "$T/out")"
	"$SPOOLCTL" > out 2> err
	[ $? -eq 64 ] && grep -q usage: err || fail "no verb: not a usage error"
	"$SPOOLCTL" -c "$T/spoold.conf" -d "$T" ls > out 2> err
	[ $? -eq 64 ] || fail "-c with -d: not a usage error"
	expect_usage frob
	expect_usage --json
	"$SPOOLCTL" -c "$T/none.conf" ls > out 2> err
	rc=$?
	[ $rc -eq 78 ] || fail "a missing config: exit $rc, not 78"
	grep -q "none.conf" err || fail "a missing config is not named: $(cat err)"
	[ ! -e data ] || fail "a missing config made a spool"
	chmod 666 spoold.conf
	expect_err 78 'spoold.conf.*writable' ls
	chmod 644 spoold.conf
	"$SPOOLCTL" -d "$T/nodata" ls > out 2> err
	rc=$?
	[ $rc -eq 66 ] && [ "$(wc -l < err)" -eq 1 ] ||
	    fail "-d with no such spool: exit $rc: $(cat err)"
	[ ! -e nodata ] || fail "-d made a spool"
}

# Without -c, the default config, which does not exist: where the host
# has one, it is hidden under an empty folder in a mount namespace of
# spoolctl's own.
t_default_config() {
	if [ ! -e /usr/local/etc/spoold.conf ]; then
		(cd / && "$SPOOLCTL" ls) > out 2> err
	elif [ "$(id -u)" -eq 0 ]; then
		(cd / && unshare -m sh -c 'mount -t tmpfs none /usr/local/etc &&
		    exec "$1" ls' sh "$SPOOLCTL") > out 2> err
	else
		skip "the host has /usr/local/etc/spoold.conf and this is not root"
	fi
	rc=$?
	[ $rc -eq 78 ] && grep -q /usr/local/etc/spoold.conf err ||
	    fail "without -c: exit $rc, $(cat err)"
}

t_submit_copy() {
	write_conf "$(stage zeta 1)" "$(stage alpha 1)"
	job f.cbz 'SLEEP=0'
	submit id "$T/f.cbz"
	echo "$id" | grep -Eq \
	    '^0\.[0-9]{8}T[0-9]{6}\.[0-9a-zA-Z._-]*\.f\.cbz$' ||
	    fail "id \"$id\" is not 0.YYYYmmddTHHMMSS.<unique>.f.cbz"
	s=$(echo "$id" | cut -d. -f2)
	t=$(echo "$s" | sed 's/\(....\)\(..\)\(..\)T\(..\)\(..\)/\1-\2-\3 \4:\5:/')
	t=$(date -u -d "$t" +%s)
	d=$(($(date +%s) - t))
	[ $d -ge 0 ] && [ $d -le 5 ] || fail "id time $s is not now (UTC)"
	[ "$(where "$id")" = zeta/queue ] ||
	    fail "job is in $(where "$id"), not in the first declared stage, zeta"
	cmp -s f.cbz "data/zeta/queue/$id" || fail "the job is not the file"
	[ "$(stat -c %i f.cbz)" != "$(stat -c %i "data/zeta/queue/$id")" ] ||
	    fail "without --link the job is a hard link"
	[ -z "$(ls -A data/tmp)" ] || fail "tmp/ not empty: $(ls -A data/tmp)"
	jcheck "data/work/$id/status.json" 'd["state"] == "queued" and
	    d["stage"] == "zeta" and d["priority"] == 0 and d["key"] is None
	    and d["attempt"] == 0'
	# two files of the same name, one call: two ids, both readable
	mkdir sub
	cp f.cbz sub/f.cbz
	cp f.cbz "café ü.cbz"
	ok_run submit "$T/f.cbz" "$T/sub/f.cbz" "$T/café ü.cbz"
	[ "$(wc -l < out)" -eq 3 ] && [ "$(sort -u out | wc -l)" -eq 3 ] ||
	    fail "three files: ids $(cat out)"
	sed -n 3p out | grep -q '\.café ü\.cbz$' ||
	    fail "the name is not kept readable: $(sed -n 3p out)"
	ok_run ls
	grep -q 'café ü\.cbz' out || fail "ls does not show the name: $(cat out)"
	[ "$(ls data/zeta/queue | wc -l)" -eq 4 ] || fail "not 4 jobs queued"
}

t_submit_link() {
	write_conf "$(stage a 1)"
	job f 'SLEEP=0'
	submit id --link "$T/f"
	[ "$(stat -c %i f)" = "$(stat -c %i "data/a/queue/$id")" ] ||
	    fail "--link did not make a hard link"
	[ "$(stat -c %h f)" -eq 2 ] || fail "link count is $(stat -c %h f)"
	[ -z "$(ls -A data/tmp)" ] || fail "tmp/ not empty"
}

t_submit_options() {
	write_conf "$(stage a 1)" "$(stage b 1)"
	job f 'SLEEP=0'
	printf 'SLEEP=0\n' | "$SPOOLCTL" -c spoold.conf submit - > out 2> err ||
	    fail "submit -: $(cat err)"
	id=$(cat out)
	case $id in *.stdin) ;; *) fail "stdin id $id does not end in .stdin" ;;
	esac
	[ "$(cat "data/a/queue/$id")" = SLEEP=0 ] || fail "stdin not copied"
	submit id --name report.pdf "$T/f"
	case $id in *.report.pdf) ;; *) fail "--name: id $id" ;; esac
	submit id --stage b "$T/f"
	[ "$(where "$id")" = b/queue ] || fail "--stage b: in $(where "$id")"
	submit id --priority 7 "$T/f"
	case $id in 7.*) ;; *) fail "--priority 7: id $id" ;; esac
	jcheck "data/work/$id/status.json" 'd["priority"] == 7'
	submit id --key cust-42 "$T/f"
	jcheck "data/work/$id/status.json" 'd["key"] == "cust-42"'
	ok_run ls --json
	jcheck out '[e["key"] for e in d if e["id"] == "'"$id"'"] == ["cust-42"]'
	submit id --stage=b --priority=3 --key=k --name=x "$T/f"
	case $id in 3.*.x) ;; *) fail "--opt=value forms: id $id" ;; esac
	[ "$(where "$id")" = b/queue ] || fail "--stage=b: in $(where "$id")"
}

t_submit_options_after_files() {
	# The synopsis puts options after operands (show ID [--json],
	# log ID [-f]); getopt_long permutes them for every verb.
	write_conf "$(stage a 1)"
	job f 'SLEEP=0'
	submit id "$T/f" --priority 3
	case $id in 3.*) ;; *) fail "submit FILE --priority 3: id $id" ;; esac
	run show "$id" --json
	[ "$RC" -eq 0 ] || fail "show ID --json: exit $RC: $(head -n 1 err)"
	jcheck out 'd["id"] == "'"$id"'"'
	run log "$id" -f
	[ "$RC" -eq 0 ] || fail "log ID -f: exit $RC: $(head -n 1 err)"
	run ls --stage a --json
	[ "$RC" -eq 0 ] || fail "ls --stage a --json: exit $RC"
}

t_durations() {
	write_conf "$(stage a 1)"
	job f 'SLEEP=0'
	for pair in 90:90 90s:90 15m:900 2h:7200 7d:604800 0:0 0s:0; do
		d=${pair%:*}
		s=${pair#*:}
		t0=$(date +%s)
		submit id --delay "$d" "$T/f"
		t1=$(date +%s)
		m=$(stat -c %Y "data/a/queue/$id")
		# time(2) reads a clock that may lag date's by a tick: across
		# a second's turn, spoolctl's now may be t0 - 1.
		[ "$m" -ge $((t0 - 1 + s)) ] && [ "$m" -le $((t1 + s)) ] ||
		    fail "--delay $d: mtime $m is not now + $s ($t0)"
		[ "$s" -eq 0 ] || printf '%s\n' "$id" >> deferred
		[ "$s" -ne 0 ] || printf '%s\n' "$id" >> queued
		jcheck "data/work/$id/status.json" \
		    "d['state'] == ('deferred' if $s else 'queued')"
	done
	ok_run ls --state deferred
	awk 'NR > 1 { print $1 }' out | sort > got
	sort deferred | cmp -s - got || fail "ls --state deferred: $(cat out)"
	ok_run ls --state queued
	awk 'NR > 1 { print $1 }' out | sort > got
	sort queued | cmp -s - got || fail "ls --state queued: $(cat out)"
	# deferred jobs are listed in the order they become due
	ok_run ls --state deferred --json
	jcheck out '[e["state"] for e in d] == ["deferred"] * 5'
	jcheck out '[e["id"] for e in d] == "'"$(tr '\n' ' ' < deferred)"'".split()'
}

# --- errors -------------------------------------------------------------

t_errors() {
	write_conf "$(stage a 1)" "$(stage b 1)"
	job f 'SLEEP=0'
	submit q1 "$T/f"
	submit q2 "$T/f"
	submit e1 "$T/f"
	submit d1 "$T/f"
	ok_run cancel "$e1"
	mv "data/a/queue/$d1" data/a/done/	# an operator's hand move
	expect_usage frob
	expect_err 64 'no stage named "nope"' submit --stage nope "$T/f"
	expect_err 64 'no stage named "nope"' ls --stage nope
	expect_err 64 'no stage named "nope"' purge --stage nope --older-than 1d
	expect_err 64 'no stage named "nope"' retry --stage nope --all
	for p in 10 x -1 ''; do
		expect_err 64 'priority' submit --priority "$p" "$T/f"
	done
	for d in 5x 1.5h '' -1 2w 99999999999999999999; do
		expect_err 64 'duration' submit --delay "$d" "$T/f"
	done
	for d in x 15mm; do
		expect_err 64 'duration' purge --older-than "$d"
	done
	# a delay past the end of time_t is a bad duration, not "now"
	expect_err 64 'duration' submit --delay 106751991167300d "$T/f"
	expect_err 64 'state' ls --state bogus
	expect_err 64 'state' purge --state queued --older-than 1d
	expect_err 66 '/nonexistent/f' submit /nonexistent/f
	expect_err 66 'missing' submit "$T/f" "$T/missing"
	expect_err 66 'not a regular file' submit "$T"
	for v in show log retry cancel; do
		expect_err 66 'unknown job id "nope"' "$v" nope
	done
	expect_err 66 'unknown job id' show "../$q1"
	expect_err 66 'unknown job id' cancel "a/queue/$q1"
	expect_err 66 'unknown job id "nope"' retry "$e1" nope
	expect_err 66 'unknown job id "nope"' cancel "$q1" nope
	expect_err 65 "$q1" retry "$q1"
	expect_err 65 "$d1" retry "$d1"
	expect_err 65 "$q1" retry "$e1" "$q1"
	expect_err 65 "$d1" cancel "$d1"
	expect_err 65 "$e1" cancel "$e1"
	expect_err 65 "$d1" cancel "$q1" "$d1"
	expect_err 64 "job name" submit --name 'a/b' "$T/f"
	expect_err 64 "job name" submit --name "$(printf 'a\tb')" "$T/f"
	expect_err 64 'key' submit --key "$(printf '%0200d' 0)" "$T/f"
	expect_err 66 'metrics' stats
	expect_err 64 'terminal' watch
	for args in "show" "retry" "cancel" "submit" "retry --all" \
	    "retry --stage a --all $e1" "purge --stage a" "ls extra" \
	    "stats --bogus" "watch extra" "show $q1 $q2"; do
		# shellcheck disable=SC2086
		expect_usage $args
	done
	# reading stdin that is not a file: EX_IOERR, nothing left behind
	snap > snap.before
	"$SPOOLCTL" -c spoold.conf submit - < "$T" > out 2> err
	rc=$?
	snap > snap.after
	[ $rc -eq 74 ] || fail "submit - from a folder: exit $rc, not 74"
	cmp -s snap.before snap.after || fail "a failed submit - left files"
	[ "$(where "$q1")" = a/queue ] && [ "$(where "$e1")" = a/error ] &&
	    [ "$(where "$d1")" = a/done ] || fail "errors moved jobs"
}

t_errors_fresh_spool() {
	# An error before anything is done must not create the spool either.
	write_conf "$(stage a 1)"
	job f 'SLEEP=0'
	for args in "submit --stage nope $T/f" "submit $T/missing" \
	    "submit $T" "submit --priority 10 $T/f" "ls" "show x" \
	    "purge --older-than 1d" "stats"; do
		# shellcheck disable=SC2086
		run $args
		[ "$RC" -ne 0 ] || fail "spoolctl $args succeeded"
		[ ! -e data ] || note "spoolctl $args (exit $RC) created the" \
		    "spool: $(cd "$T" && find data | head -n 3 | tr '\n' ' ')"
		rm -rf data
	done
}

asnobody() {
	if command -v setpriv > /dev/null; then
		setpriv --reuid=nobody --regid="$(id -gn nobody)" \
		    --clear-groups "$@"
	else
		su -s /bin/sh nobody -c '"$0" "$@"' "$@"
	fi
}

# run_nobody ARG...: spoolctl ARG... as nobody; RC, out, err.
run_nobody() {
	asnobody "$SPOOLCTL" -c "$T/spoold.conf" "$@" > "$T/out" 2> "$T/err"
	RC=$?
}

noperm_setup() {
	[ "$(id -u)" -eq 0 ] || skip "not root"
	id nobody > /dev/null 2>&1 || skip "no user nobody"
	write_conf "$(stage a 0)"	# paused: the jobs stay where they are
	job f 'SLEEP=0'
	chmod 644 f
	submit q1 "$T/f"
	submit e1 "$T/f"
	submit d1 "$T/f"
	ok_run cancel "$e1"
	mv "data/a/queue/$d1" data/a/done/
	start_spoold
	stop_spoold	# for a metrics.json
	[ "$(where "$q1")" = a/queue ] || fail "q1 is in $(where "$q1")"
}

t_noperm() {
	noperm_setup
	for args in "submit $T/f" "retry $e1" "retry --stage a --all" \
	    "cancel $q1" "purge --older-than 0"; do
		snap > snap.before
		# shellcheck disable=SC2086
		run_nobody $args
		snap > snap.after
		[ "$RC" -eq 77 ] || note "as nobody, $args: exit $RC, not 77:" \
		    "$(head -n 1 err)"
		[ "$(wc -l < err)" -eq 1 ] || note "as nobody, $args: stderr" \
		    "is not one line: $(head -c 300 err)"
		grep -qF "$T/data" err || note "as nobody, $args: the message" \
		    "does not name the folder: $(cat err)"
		cmp -s snap.before snap.after ||
		    note "as nobody, $args: the spool changed"
	done
}

t_noperm_read() {
	# The spool is 0750: others cannot even list it.
	noperm_setup
	[ "$(stat -c %a data)" = 750 ] ||
	    fail "the spool is $(stat -c %a data), not 750"
	for args in "ls" "ls --json" "show $q1" "stats"; do
		# shellcheck disable=SC2086
		run_nobody $args
		[ "$RC" -eq 77 ] || note "as nobody, $args: exit $RC, not 77:" \
		    "$(head -n 1 err)"
		grep -qF "$T/data" err || note "as nobody, $args: the message" \
		    "does not name the folder: $(cat err)"
	done
}

# run_member ARG...: spoolctl ARG... as nobody in the spool's group users;
# RC, out, err.
run_member() {
	setpriv --reuid=nobody --regid="$(id -gn nobody)" \
	    --groups="$(getent group users | cut -d: -f3)" \
	    "$SPOOLCTL" -c "$T/spoold.conf" "$@" > "$T/out" 2> "$T/err"
	RC=$?
}

t_group_member() {
	[ "$(id -u)" -eq 0 ] || skip "not root"
	id nobody > /dev/null 2>&1 || skip "no user nobody"
	command -v setpriv > /dev/null || skip "no setpriv"
	getent group users > /dev/null || skip "no group users"
	write_conf 'group = "users"' "$(stage a 0)"
	job f 'SLEEP=0'
	chmod 644 f
	submit e1 "$T/f"
	ok_run cancel "$e1"
	for f in data data/a/queue data/tmp data/work data/index/cancel \
	    data/a/error data/log; do
		case $f in
		*/queue | */tmp | */work | */cancel) want=3770:users ;;
		*) want=2750:users ;;
		esac
		[ "$(stat -c %a:%G "$f")" = "$want" ] ||
		    note "$f is $(stat -c %a:%G "$f"), not $want"
	done
	# A member submits, lists, reads and cancels a queued job...
	run_member submit "$T/f"
	[ "$RC" -eq 0 ] || fail "a member cannot submit: exit $RC: $(cat err)"
	m1=$(cat out)
	[ "$(stat -c %a:%G "data/a/queue/$m1")" = 640:users ] ||
	    note "the submitted job is $(stat -c %a:%G "data/a/queue/$m1")," \
	    "not 640:users"
	for args in "ls" "show $m1" "log $m1"; do
		# shellcheck disable=SC2086
		run_member $args
		[ "$RC" -eq 0 ] || note "a member, $args: exit $RC: $(cat err)"
	done
	# ...but retry and purge are the owner's, and change nothing.
	for args in "retry $e1" "purge --older-than 0"; do
		snap > snap.before
		# shellcheck disable=SC2086
		run_member $args
		snap > snap.after
		[ "$RC" -eq 77 ] || note "a member, $args: exit $RC, not 77:" \
		    "$(head -n 1 err)"
		cmp -s snap.before snap.after ||
		    note "a member, $args: the spool changed"
	done
	# One outside the group reaches nothing.
	run_nobody submit "$T/f"
	[ "$RC" -eq 77 ] || note "nobody outside the group submits: exit $RC"
}

# --- ls, show, log --------------------------------------------------------

t_ls_order() {
	write_conf "$(stage a 1)" "$(stage b 1)"
	job f 'SLEEP=0'
	submit j1 "$T/f"
	submit j2 --priority 5 "$T/f"
	submit j3 "$T/f"
	submit j4 --priority 9 --key k9 "$T/f"
	submit j5 --delay 1h --priority 9 "$T/f"
	submit j6 --stage b "$T/f"
	ok_run ls
	# shellcheck disable=SC2046
	set -- $(head -n 1 out)
	[ "$*" = "ID STAGE STATE ATTEMPT AGE KEY PROGRESS" ] ||
	    fail "ls header: $(head -n 1 out)"
	awk 'NR > 1 { print $1 }' out > got
	printf '%s\n' "$j4" "$j2" "$j1" "$j3" "$j5" "$j6" > want
	cmp -s want got || fail "ls order: $(tr '\n' ' ' < got)"
	awk -v id="$j4" '$1 == id { print $2, $3, $4, $6 }' out > got
	[ "$(cat got)" = "a queued 0 k9" ] || fail "ls row of j4: $(cat got)"
	awk -v id="$j5" '$1 == id { print $3, $6 }' out > got
	[ "$(cat got)" = "deferred -" ] || fail "ls row of j5: $(cat got)"
	awk -v id="$j1" '$1 == id { print $5 }' out | grep -Eq '^[0-9]+s$' ||
	    fail "ls AGE: $(cat out)"
	ok_run ls --json
	jcheck out 'isinstance(d, list) and len(d) == 6 and all(sorted(e) ==
	    ["age_s", "attempt", "id", "key", "priority", "progress", "stage",
	    "state", "waiting"] for e in d)'
	jcheck out '[e["id"] for e in d] == "'"$j4 $j2 $j1 $j3 $j5 $j6"'".split()'
	jcheck out '[(e["stage"], e["state"], e["priority"], e["attempt"])
	    for e in d] == [("a", "queued", 9, 0), ("a", "queued", 5, 0),
	    ("a", "queued", 0, 0), ("a", "queued", 0, 0),
	    ("a", "deferred", 9, 0), ("b", "queued", 0, 0)]'
	jcheck out 'd[0]["key"] == "k9" and d[1]["key"] is None and
	    all(isinstance(e["age_s"], int) and 0 <= e["age_s"] < 60 for e in d)'
	ok_run ls --stage b
	[ "$(awk 'NR > 1 { print $1 }' out)" = "$j6" ] ||
	    fail "ls --stage b: $(cat out)"
	ok_run ls --stage a --state deferred
	[ "$(awk 'NR > 1 { print $1 }' out)" = "$j5" ] ||
	    fail "ls --stage a --state deferred: $(cat out)"
	ok_run ls --state queued --json
	jcheck out '[e["id"] for e in d] == "'"$j4 $j2 $j1 $j3 $j6"'".split()'
	for s in running 'done' error; do
		ok_run ls --state "$s"
		[ "$(wc -l < out)" -eq 1 ] || fail "ls --state $s: $(cat out)"
		ok_run ls --state "$s" --json
		jcheck out 'd == []'
	done
	# spoold takes them in the order ls gave
	start_spoold
	wait_until 10 '[ "$(nstamps END)" -eq 5 ]' ||
	    fail "not 5 runs: $(nstamps END)"
	started | grep -v "$j6" > got
	printf '%s\n' "$j4" "$j2" "$j1" "$j3" > want
	cmp -s want got || fail "spoold took $(tr '\n' ' ' < got)"
}

t_ls_show_log_running() {
	write_conf "$(stage a 1)"
	job run 'GATE=go' "PROGRESS='step 2/5'"
	job lines 'LINES=20' 'EXIT=65'
	start_spoold
	submit r --priority 9 --key kr "$T/run"
	submit l "$T/lines"
	wait_place "$r" a/running
	wait_until 5 '[ -s "data/work/$r/heartbeat" ]' || fail "no heartbeat"
	ok_run ls
	awk -v id="$r" '$1 == id { print $3, $4, $6, $7, $8 }' out > got
	[ "$(cat got)" = "running 1 kr step 2/5" ] ||
	    fail "ls row of the running job: $(cat got)"
	ok_run ls --state running --json
	jcheck out '[(e["id"], e["state"], e["attempt"], e["progress"],
	    e["key"]) for e in d] == [("'"$r"'", "running", 1, "step 2/5",
	    "kr")]'
	ok_run show "$r"
	grep -q "^place: *a/running$" out || fail "show: $(cat out)"
	grep -q "^started: *20" out || fail "show: no started: $(cat out)"
	# log -f follows until the job leaves running/
	("$SPOOLCTL" -c spoold.conf log -f "$r" > follow 2>&1
	    echo $? > follow.rc) &
	wait_until 5 'grep -q "^waiting" follow' ||
	    fail "log -f printed $(cat follow)"
	[ ! -e follow.rc ] || fail "log -f ended while the job ran"
	touch go
	wait_until 5 '[ -e follow.rc ]' || fail "log -f did not end"
	[ "$(cat follow.rc)" -eq 0 ] || fail "log -f: exit $(cat follow.rc)"
	grep -q '^after gate$' follow || fail "log -f missed the end: $(cat \
	    follow)"
	grep -q '^=== spoold: .* stage a attempt 1 exit 0 after' follow ||
	    fail "log -f missed the footer: $(cat follow)"
	wait_place "$l" a/error
	ok_run show "$l"
	for re in "^id: *$l\$" '^place: *a/error$' '^attempt: *1$' \
	    '^exit: *65$' '^submitted: *20' '^started: *20' '^finished: *20' \
	    '^priority: *0$' '^log:$' '^line 20$' 'exit 65 after'; do
		grep -Eq "$re" out || fail "show: no /$re/: $(cat out)"
	done
	! grep -q '^line 1$' out || fail "show printed more than the last lines"
	ok_run show --json "$l"
	jcheck out 'd["id"] == "'"$l"'" and d["stage"] == "a" and
	    d["folder"] == "error" and d["status"]["state"] == "error" and
	    d["status"]["exit"] == 65 and d["status"]["attempt"] == 1 and
	    "line 20" in d["log"] and "line 1\n" not in d["log"]'
	ok_run show --json "$r"
	jcheck out 'd["folder"] == "done" and d["status"]["state"] == "done"
	    and d["status"]["key"] == "kr" and d["status"]["priority"] == 9'
	ok_run log "$l"
	grep -q '^=== spoold: .* stage a attempt 1 started$' out &&
	    grep -q '^line 1$' out && grep -q '^line 20$' out ||
	    fail "log: $(head -c 300 out)"
	cmp -s out "data/log/$l.log" || fail "log is not the whole log"
	ok_run ls --state 'done'
	[ "$(awk 'NR > 1 { print $1 }' out)" = "$r" ] || fail "ls --state done"
	ok_run ls --state error
	[ "$(awk 'NR > 1 { print $1 }' out)" = "$l" ] || fail "ls --state error"
	submit q --delay 1h "$T/lines"
	ok_run log "$q"
	[ ! -s out ] || fail "log of a job that never ran printed $(cat out)"
}

t_ls_escapes() {
	# a name spoold will not run, put in a queue/ by hand: shown escaped
	write_conf "$(stage a 1)"
	job f 'SLEEP=0'
	submit id "$T/f"
	bad=$(printf 'bad\tname')
	cp f "data/a/queue/$bad"
	ok_run ls
	grep -q '^bad\\011name ' out || fail "ls: $(cat out)"
	ok_run ls --json
	jcheck out 'sorted(e["id"] for e in d) == sorted(["bad\\011name",
	    "'"$id"'"])'
	start_spoold
	wait_place "$bad" a/error 5
	wait_place "$id" a/done 5
	ok_run ls --state error
	grep -q '^bad\\011name ' out || fail "ls: $(cat out)"
}

# --- retry, cancel, purge, stats ------------------------------------------

t_retry() {
	write_conf "$(stage a 2)" "$(stage b 1)"
	job f 'FAIL_IF=failing'
	touch failing
	start_spoold
	submit e1 "$T/f"
	submit e2 "$T/f"
	submit e3 --stage b "$T/f"
	wait_place "$e1" a/error
	wait_place "$e2" a/error
	wait_place "$e3" b/error
	jcheck "data/work/$e1/status.json" 'd["attempt"] == 1 and d["exit"] == 65'
	rm failing
	stop_spoold
	ok_run retry "$e1"
	[ "$(cat out)" = "$e1" ] || fail "retry printed $(cat out)"
	[ "$(where "$e1")" = a/queue ] || fail "retry: in $(where "$e1")"
	jcheck "data/work/$e1/status.json" 'd["attempt"] == 0 and
	    d["state"] == "queued" and d["exit"] is None and d["reason"] is None'
	ok_run retry --stage a --all
	[ "$(cat out)" = "$e2" ] || fail "retry --stage a --all printed $(cat out)"
	[ "$(where "$e3")" = b/error ] || fail "retry --stage a took b's job"
	ok_run retry --stage a --all
	[ ! -s out ] || fail "retry --all of nothing printed $(cat out)"
	start_spoold
	wait_place "$e1" a/done
	wait_place "$e2" a/done
	ok_run retry --all --stage b
	wait_place "$e3" b/done
	for id in "$e1" "$e2" "$e3"; do
		[ "$(grep -c "^START .* $id " stamps)" -eq 2 ] ||
		    fail "$id did not run twice"
		grep -q "^START .* $id - 1\$" stamps ||
		    fail "attempts not reset: $(grep "$id" stamps)"
		grep "^START .* $id " stamps | tail -n 1 | grep -q ' 1$' ||
		    fail "the retry of $id is not attempt 1"
	done
}

t_cancel_queued() {
	write_conf "$(stage a 1)"
	job block 'GATE=go'
	job f 'SLEEP=0'
	start_spoold
	submit b "$T/block"
	wait_place "$b" a/running
	submit q1 "$T/f"
	submit q2 "$T/f"
	submit q3 "$T/f"
	submit q4 --delay 1h "$T/f"
	ok_run cancel "$q1" "$q2" "$q4"
	printf '%s: cancelled\n' "$q1" "$q2" "$q4" | cmp -s - out ||
	    fail "cancel printed $(cat out)"
	for id in "$q1" "$q2" "$q4"; do
		[ "$(where "$id")" = a/error ] || fail "$id is in $(where "$id")"
		ok_run show --json "$id"
		jcheck out 'd["status"]["reason"] == "cancelled" and
		    d["status"]["state"] == "error"'
	done
	touch go
	wait_place "$q3" a/done
	wait_place "$b" a/done
	! grep -Eq "$q1|$q2|$q4" stamps || fail "a cancelled job ran"
	[ -z "$(ls -A data/index/cancel)" ] || fail "cancel requests left"
}

t_cancel_running_ignoring_term() {
	KG=2
	write_conf "$(stage a 1)"
	job stubborn 'IGNORE_TERM=1' 'GATE=never'
	start_spoold
	submit id "$T/stubborn"
	wait_until 5 '[ "$(nstamps START)" -eq 1 ]' || fail "it did not start"
	pid=$(head -n 1 children)
	t0=$(now_ms)
	ok_run cancel "$id"
	[ "$(cat out)" = "$id: cancelled" ] || fail "cancel printed $(cat out)"
	wait_until $((KG + 1)) 'is_gone "$pid" && group_gone "$pid"' ||
	    fail "the child's group lives"
	t1=$(now_ms)
	[ $((t1 - t0)) -le $(((KG + 1) * 1000)) ] ||
	    fail "cancel took $((t1 - t0)) ms, more than kill_grace + tick"
	[ $((t1 - t0)) -ge $((KG * 1000 - 100)) ] ||
	    fail "done in $((t1 - t0)) ms: the child did not ignore SIGTERM"
	[ "$(where "$id")" = a/error ] || fail "the job is in $(where "$id")"
	ok_run show --json "$id"
	jcheck out 'd["status"]["reason"] == "cancelled" and
	    d["status"]["signal"] == 9'
	grep -q 'attempt 1 killed by signal 9' "data/log/$id.log" ||
	    fail "log footer: $(tail -n 1 "data/log/$id.log")"
	[ ! -e "data/index/cancel/$id" ] || fail "the cancel request is left"
}

t_cancel_request_file() {
	# spoold learns of a cancel from data/index/cancel/<id>, within a tick
	write_conf "$(stage a 1)"
	job wait 'GATE=never'
	start_spoold
	submit id "$T/wait"
	wait_until 5 '[ "$(nstamps START)" -eq 1 ]' || fail "it did not start"
	pid=$(head -n 1 children)
	: > "data/tmp/.c" && mv data/tmp/.c "data/index/cancel/$id"
	wait_place "$id" a/error $((KG + 1))
	wait_until 1 'is_gone "$pid"' || fail "the child lives"
	jcheck "data/work/$id/status.json" 'd["reason"] == "cancelled"'
	wait_until 2 '[ ! -e "data/index/cancel/$id" ]' ||
	    fail "the cancel request is left"
}

t_cancel_not_carried_out() {
	# spoold does not act (stopped): cancel gives up with EX_TEMPFAIL,
	# after kill_grace + tick + 5 seconds
	KG=0
	write_conf "$(stage a 1)"
	job wait 'GATE=never'
	start_spoold
	submit id "$T/wait"
	wait_place "$id" a/running
	kill -STOP "$(daemon_pid)"
	t0=$(now_ms)
	run cancel "$id"
	t1=$(now_ms)
	kill -CONT "$(daemon_pid)"
	[ "$RC" -eq 75 ] || fail "cancel: exit $RC, not 75: $(cat err)"
	[ "$(wc -l < err)" -eq 1 ] && grep -q "$id" err ||
	    fail "cancel: stderr $(cat err)"
	[ $((t1 - t0)) -ge $(((KG + 1 + 5) * 1000)) ] ||
	    fail "cancel gave up after $((t1 - t0)) ms"
	wait_place "$id" a/error $((KG + 2))
	jcheck "data/work/$id/status.json" 'd["reason"] == "cancelled"'
}

t_cancel_spoold_stopped() {
	# a job left in running/ by a killed spoold is cancelled at restart
	write_conf "$(stage a 1)"
	job wait 'GATE=never'
	start_spoold
	submit id "$T/wait"
	wait_until 5 '[ "$(nstamps START)" -eq 1 ]' || fail "it did not start"
	pid=$(head -n 1 children)
	stop_spoold KILL
	ok_run cancel "$id"
	grep -q "not running" out || fail "cancel printed $(cat out)"
	[ -e "data/index/cancel/$id" ] || fail "no cancel request"
	[ "$(where "$id")" = a/running ] || fail "the job moved"
	start_spoold
	wait_place "$id" a/error 5
	jcheck "data/work/$id/status.json" 'd["reason"] == "cancelled"'
	wait_until 3 'is_gone "$pid"' || fail "the old child lives"
	[ ! -e "data/index/cancel/$id" ] || fail "the cancel request is left"
	! grep -q "^START .* $id .* 2\$" stamps || fail "it ran again"
}

t_purge() {
	write_conf "$(stage a 2)" "$(stage b 1)"
	job ok 'SLEEP=0'
	job bad 'EXIT=65'
	start_spoold
	submit d1 "$T/ok"
	submit d2 "$T/ok"
	submit e1 "$T/bad"
	submit d3 --stage b "$T/ok"
	submit q1 --delay 1h "$T/ok"
	wait_place "$d1" a/done
	wait_place "$d2" a/done
	wait_place "$e1" a/error
	wait_place "$d3" b/done
	stop_spoold
	for id in "$d1" "$e1" "$d3"; do
		[ -d "data/work/$id" ] && [ -f "data/log/$id.log" ] ||
		    fail "no work folder or log for $id"
	done
	snap > snap.before
	ok_run purge --older-than 1h
	[ "$(cat out)" = "0 purged" ] || fail "purge --older-than 1h: $(cat out)"
	snap > snap.after
	cmp -s snap.before snap.after || fail "purge --older-than 1h changed it"
	# by the time of the last move (ctime), not the mtime
	touch -m -d '10 days ago' "data/a/done/$d1"
	ok_run purge --older-than 7d
	[ "$(cat out)" = "0 purged" ] || fail "purge went by mtime: $(cat out)"
	ok_run purge --stage b --older-than 0
	[ "$(cat out)" = "1 purged" ] || fail "purge --stage b: $(cat out)"
	[ -z "$(where "$d3")" ] && [ ! -e "data/work/$d3" ] &&
	    [ ! -e "data/log/$d3.log" ] || fail "$d3 not purged with its files"
	[ "$(where "$d1")" = a/done ] || fail "purge --stage b took a's job"
	ok_run purge --state error --older-than 0
	[ "$(cat out)" = "1 purged" ] || fail "purge --state error: $(cat out)"
	[ -z "$(where "$e1")" ] && [ ! -e "data/work/$e1" ] &&
	    [ ! -e "data/log/$e1.log" ] || fail "$e1 not purged with its files"
	[ "$(where "$d2")" = a/done ] || fail "purge --state error took done"
	ok_run purge --stage a --state 'done' --older-than 0s
	[ "$(cat out)" = "2 purged" ] || fail "purge done: $(cat out)"
	[ "$(where "$q1")" = a/queue ] && [ -e "data/work/$q1" ] ||
	    fail "purge took a queued job"
	[ "$(ls data/work)" = "$q1" ] && [ -z "$(ls data/log)" ] ||
	    fail "left: $(ls data/work data/log)"
	ok_run purge --older-than 0
	[ "$(cat out)" = "0 purged" ] || fail "purge of nothing: $(cat out)"
}

t_stats() {
	write_conf "$(stage a 2)" "$(stage b 1)"
	job ok 'SLEEP=0'
	job bad 'EXIT=65'
	submit x "$T/ok"
	expect_err 66 'metrics.json' stats
	expect_err 66 'metrics.json' stats --json
	start_spoold
	submit y "$T/ok"
	submit z --stage b "$T/bad"
	submit w --stage b --delay 1h "$T/ok"
	wait_until 10 'metrics "d[\"stages\"][\"a\"][\"done\"] == 2 and
	    d[\"stages\"][\"b\"][\"error\"] == 1 and d[\"deferred\"] == 1"' ||
	    fail "metrics: $(cat data/index/metrics.json)"
	ok_run stats --json
	jcheck out 'd["version"] == 1 and d["done"] == 2 and d["error"] == 1 and
	    d["deferred"] == 1 and sorted(d["stages"]) == ["a", "b"] and
	    d["stages"]["a"]["slots"] == 2 and d["stages"]["a"]["runs"] == 2 and
	    d["stages"]["b"]["deferred"] == 1 and d["pid"] == '"$(daemon_pid)"
	ok_run stats
	grep -Eq '^jobs as of [0-9]{2}:[0-9]{2}:[0-9]{2} \(the folders\), counters as of [0-9]{2}:[0-9]{2}:[0-9]{2} \(index/metrics.json\)$' out ||
	    fail "stats says not when: $(head -n 1 out)"
	# shellcheck disable=SC2046
	set -- $(sed -n 2p out)
	[ "$*" = "STAGE SLOTS QUEUED DEFERRED RUNNING DONE ERROR RETRIES \
TIMEOUTS RUNS AVG_MS" ] || fail "stats header: $(sed -n 2p out)"
	[ "$(awk '$1 == "a" { print $2, $3, $4, $5, $6, $7, $10 }' out)" = \
	    "2 0 0 0 2 0 2" ] || fail "stats row a: $(cat out)"
	[ "$(awk '$1 == "b" { print $2, $3, $4, $5, $6, $7, $10 }' out)" = \
	    "1 0 1 0 0 1 1" ] || fail "stats row b: $(cat out)"
	[ "$(awk '$1 == "total" { print $2, $3, $4, $5, $6 }' out)" = \
	    "0 1 0 2 1" ] || fail "stats total: $(cat out)"
	stop_spoold
	ok_run stats --json
	jcheck out 'd["done"] == 2'
}

# --- (d) everything but a running cancel works with spoold stopped ------

t_offline() {
	write_conf "$(stage a 2)" "$(stage b 1)"
	job f 'SLEEP=0'
	submit j1 "$T/f"
	submit j2 --priority 4 "$T/f"
	submit j3 --stage b "$T/f"
	submit j4 "$T/f"
	submit j5 "$T/f"
	[ -d data/a/queue ] && [ -d data/index/cancel ] ||
	    fail "submit did not make the spool"
	ok_run ls
	[ "$(awk 'NR > 1 && $3 == "queued"' out | wc -l)" -eq 5 ] ||
	    fail "ls: $(cat out)"
	ok_run show "$j2"
	grep -q '^place: *a/queue$' out && grep -q '^priority: *4$' out ||
	    fail "show: $(cat out)"
	ok_run cancel "$j4" "$j5"
	[ "$(where "$j4")" = a/error ] && [ "$(where "$j5")" = a/error ] ||
	    fail "cancel of queued jobs with spoold stopped"
	ok_run retry "$j4"
	[ "$(where "$j4")" = a/queue ] || fail "retry with spoold stopped"
	ok_run purge --state error --older-than 0
	[ "$(cat out)" = "1 purged" ] && [ -z "$(where "$j5")" ] &&
	    [ ! -e "data/work/$j5" ] || fail "purge with spoold stopped"
	start_spoold
	for id in "$j1" "$j2" "$j4"; do
		wait_place "$id" a/done
	done
	wait_place "$j3" b/done
	[ "$(nstamps START)" -eq 4 ] || fail "$(nstamps START) runs, not 4"
	ok_run ls --state 'done' --json
	jcheck out 'len(d) == 4 and all(e["attempt"] == 1 for e in d)'
}

# --- scheduling: (a) priority, (b) keys, max_children, delay ---------------

t_priority_next() {
	write_conf "$(stage a 1)"
	job block 'GATE=go'
	job f 'SLEEP=0'
	start_spoold
	submit b "$T/block"
	wait_place "$b" a/running
	: > order
	i=0
	while [ $i -lt 10 ]; do
		submit id "$T/f"
		echo "$id" >> order
		i=$((i + 1))
	done
	submit p9 --priority 9 "$T/f"
	touch go
	wait_until 15 '[ "$(nstamps END)" -eq 12 ]' ||
	    fail "$(nstamps END) of 12 runs ended"
	started > got
	[ "$(sed -n 2p got)" = "$p9" ] ||
	    fail "next after the busy slot: $(sed -n 2p got), not $p9"
	sed -n '3,$p' got | cmp -s order - ||
	    fail "priority 0 jobs not in submission order: $(tr '\n' ' ' < got)"
}

t_keys_never_together() {
	# 20 jobs, keys A and B, four slots in two stages: never two of a key
	# at once, and B is not held back behind the waiting A jobs.
	write_conf "$(stage k1 2)" "$(stage k2 2)"
	job ja 'KEY=A' 'SLEEP=0.25'
	job jb 'KEY=B' 'SLEEP=0.25'
	for j in ja jb; do
		key=$(echo "$j" | tr ab AB | cut -c2)
		for s in k1 k2; do
			ok_run submit --stage "$s" --key "$key" "$T/$j" "$T/$j" \
			    "$T/$j" "$T/$j" "$T/$j"
		done
	done
	start_spoold
	# and two more while they run, seen by inotify
	submit id --stage k2 --key A "$T/ja"
	submit id --stage k1 --key A "$T/ja"
	wait_until 40 '[ "$(nstamps END)" -eq 22 ]' ||
	    fail "$(nstamps END) of 22 runs ended"
	[ "$(max_overlap A)" -eq 1 ] || fail "key A ran $(max_overlap A) at once"
	[ "$(max_overlap B)" -eq 1 ] || fail "key B ran $(max_overlap B) at once"
	a1=$(sort -k2,2n stamps | awk '$1 == "END" && $5 == "A" { print $2;
	    exit }')
	b1=$(sort -k2,2n stamps | awk '$1 == "START" && $5 == "B" { print $2;
	    exit }')
	[ "$b1" -lt "$a1" ] || fail "the first B job waited for an A job"
	[ "$(max_overlap)" -eq 2 ] || fail "not two at once: $(max_overlap)"
	# the two keys ran side by side: the span is near half the work
	sort -k2,2n stamps | awk '
	    $1 == "START" { s[$4] = $2; if (!first) first = $2 }
	    $1 == "END" { work += $2 - s[$4]; last = $2 }
	    END { exit !((last - first) < 0.75 * work) }' ||
	    fail "the keys did not run side by side"
}

t_max_children_fair() {
	write_conf 'max_children = 2' "$(stage p 3)" "$(stage q 3)"
	job f 'GATE=go'
	for s in p p p q q q; do
		submit id --stage "$s" "$T/f"
	done
	start_spoold
	wait_until 5 '[ "$(nstamps START)" -ge 2 ]' ||
	    fail "$(nstamps START) started, not 2"
	wait_until 3 'metrics "d[\"running\"] == 2"' || fail "metrics running"
	ok_run ls --state running --json
	jcheck out 'sorted(e["stage"] for e in d) == ["p", "q"]'
	touch go
	wait_until 15 '[ "$(nstamps END)" -eq 6 ]' || fail "not all ended"
	[ "$(max_overlap)" -le 2 ] || fail "$(max_overlap) ran at once"
	sort -k2,2n stamps | awk '$1 == "START" { print $3 }' | head -n 2 |
	    sort | tr '\n' ' ' > got
	[ "$(cat got)" = "p q " ] || fail "first two from $(cat got)"
}

t_delay() {
	write_conf "$(stage a 1)"
	job f 'SLEEP=0'
	start_spoold
	submit id --delay 2 "$T/f"
	m=$(stat -c %Y "data/a/queue/$id")
	ok_run ls --state deferred
	grep -q "^$id " out || fail "not deferred: $(cat out)"
	wait_place "$id" a/done 6
	s=$(stamp_of START "$id")
	[ $((s / 1000000000)) -ge "$m" ] ||
	    fail "started at $((s / 1000000000)), before its time $m"
}

# --- (e) watch in a terminal ----------------------------------------------

tm() {
	tmux -L "$SOCK" -f /dev/null "$@"
}

# The pane as text, without trailing blanks and blank lines.
screen() {
	tm capture-pane -p -t w | sed 's/[[:space:]]*$//' | awk '
	    { l[NR] = $0 }
	    END { n = NR; while (n > 0 && l[n] == "") n--
		for (i = 1; i <= n; i++) print l[i] }'
}

pane() {
	tm display-message -p -t w "$1"
}

t_watch() {
	command -v tmux > /dev/null || skip "no tmux"
	write_conf "$(stage a 1)" "$(stage b 1)"
	job run 'GATE=go' "PROGRESS='step 2/5'"
	job quick 'SLEEP=0'
	start_spoold
	submit d1 "$T/quick"
	wait_place "$d1" a/done
	submit r --name w "$T/run"
	wait_place "$r" a/running
	wait_until 5 '[ -s "data/work/$r/heartbeat" ]' || fail "no heartbeat"
	submit q --name q "$T/quick"
	submit l --stage b --delay 1h "$T/quick"
	wait_until 5 'metrics "d[\"stages\"][\"a\"][\"queued\"] == 1 and
	    d[\"stages\"][\"a\"][\"running\"] == 1 and
	    d[\"stages\"][\"b\"][\"deferred\"] == 1"' || fail "metrics"
	touch .tmux
	tm new-session -d -s w -x 150 -y 40 \
	    "cd '$T' && exec env PS1='$PROMPT' sh -i" || fail "tmux"
	wait_until 5 '[ "$(screen)" = "${PROMPT% }" ]' ||
	    fail "no prompt in tmux: $(screen)"
	tm send-keys -t w 'stty -a > stty.before; clear' Enter
	wait_until 5 '[ -s stty.before ] && [ "$(screen)" = "${PROMPT% }" ]' ||
	    fail "stty -a in tmux: $(screen)"
	cmd="'$SPOOLCTL' -c spoold.conf watch"
	tm send-keys -t w "$cmd" Enter
	wait_until 5 '[ "$(pane "#{alternate_on}")" = 1 ] &&
	    screen | grep -q "step 2/5"' ||
	    fail "watch did not draw: $(screen | head -n 12)"
	screen > drawn
	grep -q "^a  *1  *0  *1  *1  *0  *[0-9a-z-]*  *\[" drawn &&
	    grep -q "^b  *0  *1  *0  *0  *0  *[0-9a-z-]*  *\[" drawn &&
	    grep -q "^pipeline empty in about " drawn ||
	    fail "watch counts: $(cat drawn)"
	grep -Eq "^a  *$r  *[0-9]+s  *step 2/5$" drawn ||
	    fail "watch running jobs: $(cat drawn)"
	[ "$(pane '#{cursor_flag}')" = 0 ] || fail "the cursor is not hidden"
	# it is redrawn: the metrics time at the top changes
	t0=$(head -n 1 drawn)
	wait_until 4 '[ "$(screen | head -n 1)" != "$t0" ]' ||
	    fail "watch was not redrawn: $t0"
	tm send-keys -t w q
	wait_until 3 '[ "$(pane "#{alternate_on}")" = 0 ]' ||
	    fail "q did not end watch: $(screen)"
	printf '%s\n%s\n' "$PROMPT$cmd" "${PROMPT% }" > want
	wait_until 3 'screen | cmp -s want -' ||
	    fail "the screen after q: $(screen)"
	[ "$(pane '#{cursor_flag}')" = 1 ] || fail "the cursor stays hidden"
	tm send-keys -t w 'stty -a > stty.after; clear' Enter
	wait_until 5 '[ -s stty.after ] && [ "$(screen)" = "${PROMPT% }" ]' ||
	    fail "stty -a after watch: $(screen)"
	cmp -s stty.before stty.after ||
	    fail "q left the terminal changed: $(diff stty.before stty.after)"
	# and Ctrl-C
	tm send-keys -t w "$cmd" Enter
	wait_until 5 '[ "$(pane "#{alternate_on}")" = 1 ] &&
	    screen | grep -q "step 2/5"' || fail "watch did not draw again"
	tm send-keys -t w C-c
	wait_until 3 '[ "$(pane "#{alternate_on}")" = 0 ]' ||
	    fail "Ctrl-C did not end watch"
	wait_until 3 'screen | cmp -s want -' ||
	    fail "the screen after Ctrl-C: $(screen)"
	[ "$(pane '#{cursor_flag}')" = 1 ] || fail "the cursor stays hidden"
	tm send-keys -t w 'stty -a > stty.after2' Enter
	wait_until 5 '[ -s stty.after2 ]' || fail "stty -a after Ctrl-C"
	wait_until 2 'cmp -s stty.before stty.after2' ||
	    fail "Ctrl-C left the terminal changed: $(diff stty.before \
	    stty.after2)"
	touch go
}

# --- -d, completion, man page --------------------------------------------

t_spool_option() {
	write_conf "$(stage zeta 1)" "$(stage alpha 1)"
	job f 'SLEEP=0'
	submit z "$T/f"
	"$SPOOLCTL" -d data submit "$T/f" > out 2> err || fail "-d submit"
	a=$(cat out)
	[ "$(where "$a")" = alpha/queue ] ||
	    fail "-d submit went to $(where "$a"), not the first stage by name"
	"$SPOOLCTL" -d data ls > out 2> err || fail "-d ls: $(cat err)"
	[ "$(awk 'NR > 1 { print $2 }' out | tr '\n' ' ')" = "alpha zeta " ] ||
	    fail "-d ls: $(cat out)"
	"$SPOOLCTL" -d "$T/data" show --json "$z" > out 2> err ||
	    fail "-d show: $(cat err)"
	jcheck out 'd["stage"] == "zeta"'
	"$SPOOLCTL" -d data submit --stage nope "$T/f" > out 2> err
	[ $? -eq 64 ] || fail "-d submit --stage nope"
}

t_bash_completion() {
	command -v bash > /dev/null || skip "no bash"
	comp=$TOP/contrib/bash-completion/spoolctl
	[ -f "$comp" ] || fail "no $comp"
	bash -n "$comp" || fail "bash -n $comp"
	write_conf "$(stage zeta 1)" "$(stage alpha 1)"
	job f 'SLEEP=0'
	submit q "$T/f"
	submit e "$T/f"
	ok_run cancel "$e"
	cat > complete.bash <<'EOF'
. "$1"
PATH=$(dirname "$2"):$PATH
[ "$(basename "$2")" = spoolctl ] || spoolctl() { "$2" "$@"; }
c() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_spoolctl spoolctl "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD-1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
echo "verbs: $(c spoolctl -c spoold.conf '')"
echo "help: $(c spoolctl help '')"
echo "options: $(c spoolctl -)"
echo "ls: $(c spoolctl -c spoold.conf ls --)"
echo "state: $(c spoolctl -c spoold.conf ls --state '')"
echo "stage: $(c spoolctl -c spoold.conf submit --stage '')"
echo "stage-d: $(c spoolctl -d data ls --stage '')"
echo "show: $(c spoolctl -c spoold.conf show '')"
echo "retry: $(c spoolctl -c spoold.conf retry '')"
echo "cancel: $(c spoolctl -c spoold.conf cancel '')"
echo "submit: $(c spoolctl -c spoold.conf submit --)"
echo "purge: $(c spoolctl -c spoold.conf purge --state '')"
echo "retry-opts: $(c spoolctl -c spoold.conf retry --)"
echo "events: $(c spoolctl -c spoold.conf events '')"
echo "info: $(c spoolctl -c spoold.conf info --)"
EOF
	bash complete.bash "$comp" "$SPOOLCTL" > got 2> err ||
	    fail "completion: $(cat err)"
	for want in \
	    "verbs: cancel events help info log ls purge retry show stats submit watch " \
	    "help: cancel events help info log ls purge retry show stats submit watch " \
	    "options: --help --version -V -c -d -h " \
	    "ls: --json --stage --state " \
	    "state: deferred done error queued running " \
	    "stage: alpha zeta " "stage-d: alpha zeta " \
	    "show: $(printf '%s\n' "$q" "$e" | sort | tr '\n' ' ')" \
	    "retry: $e " "cancel: $q " \
	    "submit: --delay --key --link --name --priority --stage " \
	    "purge: done error " "retry-opts: --all --force --stage " \
	    "events: $(printf '%s\n' "$q" "$e" | sort | tr '\n' ' ')" \
	    "info: --json "; do
		grep -qxF -- "$want" got ||
		    fail "completion: want \"$want\"; got $(tr '\n' '|' < got)"
	done
}

t_man_page() {
	command -v mandoc > /dev/null || skip "no mandoc"
	mandoc -Tlint -W warning "$TOP/supervisor/spoolctl.1" > out 2>&1
	[ ! -s out ] || fail "mandoc -Tlint: $(head -n 3 out)"
}

# --- main -----------------------------------------------------------------

TESTS="usage_version_config default_config submit_copy submit_link submit_options
submit_options_after_files durations errors errors_fresh_spool noperm
noperm_read group_member ls_order ls_escapes ls_show_log_running retry cancel_queued
cancel_running_ignoring_term cancel_request_file cancel_not_carried_out
cancel_spoold_stopped purge stats offline priority_next keys_never_together
max_children_fair delay watch spool_option bash_completion man_page"

if [ ! -x "$SPOOLD" ] || [ ! -x "$SPOOLCTL" ]; then
	echo "not ok - setup: $SPOOLD or $SPOOLCTL is missing (make)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
command -v "$PY" > /dev/null ||
    echo "# python3 is missing: the --json checks will fail"

[ $# -gt 0 ] && TESTS=$*
for t in $TESTS; do
	run_test "$t"
done
echo "# the slowest tests:"
printf '%s' "$TIMES" | sort -rn | head -n 10 |
    awk '{ printf "#   %6.1f s  %s\n", $1 / 1000, $2 }'
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
