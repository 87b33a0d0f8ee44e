# tap.sh: what the black-box suites that run as one script (pipeline.sh,
# page.sh, book.sh, init.sh) share, sourced by them: the counts, lines and
# times of their tests, a poll, their folder and what runs in it (also
# what a run killed with SIGKILL left, at the next run's start), the end
# of the spoold they started, and their closing line. lib.sh is the runner
# of the others.

pass=0
failed=0
skipped=0
_tap_times=""
_tap_mark=$(date +%s%N)

# The time since the last test's line, for its own line and the list of
# the slowest.
_tap_time() {
	_tap_now=$(date +%s%N)
	_tap_ms=$(((_tap_now - _tap_mark) / 1000000))
	_tap_mark=$_tap_now
	_tap_times="$_tap_times$_tap_ms $1
"
	echo "#   $1: $((_tap_ms / 1000)).$((_tap_ms % 1000 / 100)) s"
}

ok() { echo "ok - $1"; pass=$((pass + 1)); _tap_time "$1"; }
notok() { echo "not ok - $1: $2"; failed=$((failed + 1)); _tap_time "$1"; }
# skip NAME WHY: NAME did not run, and why.
skip() {
	echo "ok - $1 # SKIP $2"
	skipped=$((skipped + 1))
	_tap_time "$1"
}

# finish: the ten slowest tests and the closing line, then exit: 1 when a
# test failed.
finish() {
	echo "# the slowest tests:"
	printf '%s' "$_tap_times" | sort -rn | head -n 10 |
	    awk '{ ms = $1; $1 = ""; printf "#   %6.1f s %s\n", ms / 1000, $0 }'
	echo "$pass passed, $failed failed, $skipped skipped"
	exit $((failed > 0))
}

# tap_dir NAME: a new folder /tmp/spoold-NAME.XXXXXX, reachable by every
# user, in W; its owner (this script, by pid and start time) is noted in
# it. The folders of runs of the same suite whose owner is gone are
# reaped first.
tap_dir() {
	for _d in "${TMPDIR:-/tmp}/spoold-$1".*; do
		[ -f "$_d/.owner" ] || continue
		read -r _p _s <"$_d/.owner" || continue
		[ "$(cut -d' ' -f22 "/proc/$_p/stat" 2>/dev/null)" != "$_s" ] ||
		    continue
		reap "$_d"
		echo "# removed what a killed run left ($_d)"
	done
	W=$(mktemp -d "${TMPDIR:-/tmp}/spoold-$1.XXXXXX") || exit 1
	chmod 755 "$W"
	echo "$$ $(cut -d' ' -f22 "/proc/$$/stat")" >"$W/.owner"
}

# reap DIR [PID]: kills the spoold PID (stopped or not), every process the
# spoolds of DIR started (their SPOOL_DIR is under DIR, whoever left them)
# and every process whose command line names a file of DIR (a
# supervisor), runs what DIR/.undo says to undo outside DIR, then removes
# DIR.
reap() {
	if [ -n "${2:-}" ]; then
		kill -CONT "$2" 2>/dev/null
		kill -9 "$2" 2>/dev/null
	fi
	[ ! -f "$1/.undo" ] || sh "$1/.undo" >/dev/null 2>&1
	for _ in 1 2 3 4 5; do
		_pids=$({ grep -lzF "SPOOL_DIR=$1/" /proc/[0-9]*/environ
		    grep -lF "$1/" /proc/[0-9]*/cmdline; } 2>/dev/null |
		    sed -n 's|^/proc/\([0-9][0-9]*\)/[a-z]*$|\1|p' |
		    grep -vx "$$")
		[ -n "$_pids" ] || break
		# shellcheck disable=SC2086
		kill -9 $_pids 2>/dev/null
	done
	rm -rf "$1"
}

# wait_for COND SECONDS: polls COND every 0.1 s until it holds.
wait_for() {
	_n=$(($2 * 10))
	while [ "$_n" -gt 0 ]; do
		eval "$1" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# stop_spoold ERR: SIGTERM to the spoold of PID, which must exit 0 and
# have written no sanitizer report to ERR, its stderr; PID is cleared.
stop_spoold() {
	kill -TERM "$PID"
	wait "$PID"
	_rc=$?
	PID=
	if [ "$_rc" -eq 0 ]; then
		ok "spoold stops with 0"
	else
		notok "spoold stops with 0" "exit $_rc"
	fi
	if grep -q "runtime error\|AddressSanitizer" "$1"; then
		notok "no sanitizer report" \
		    "$(grep -m3 'runtime error\|Sanitizer' "$1")"
	fi
}
