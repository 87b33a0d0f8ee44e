# tap.sh: what the black-box suites that run as one script (pipeline.sh,
# book.sh, init.sh) share, sourced by them: the counts and lines of their
# tests, a poll, the end of the spoold they started, and their closing
# line. lib.sh is the runner of the others.

pass=0
failed=0

ok() { echo "ok - $1"; pass=$((pass + 1)); }
notok() { echo "not ok - $1: $2"; failed=$((failed + 1)); }
# skip NAME WHY: NAME passes, with why it did not run.
skip() { echo "ok - $1 # SKIP $2"; pass=$((pass + 1)); }

# finish: the closing line, then exit: 1 when a test failed.
finish() {
	echo "$pass passed, $failed failed"
	exit $((failed > 0))
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
