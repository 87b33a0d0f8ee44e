#!/bin/sh
# exact.sh: what spoold reports is true. Its counters after kill -9 at
# random moments equal what the folders and index/events.jsonl say, to
# the unit; a job submitted with --delay never starts before its time.
#
#	SPOOLD=$PWD/build/spoold sh tests/blackbox/exact.sh [PATTERN...]
#
# LONG=1 (make check-all): 1,000 jobs and 40 kills rather than 200 and 8.
#
# Conditions are strings that check and wait_for evaluate later, so:
# shellcheck disable=SC2016,SC2034

set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=tests/blackbox/lib.sh
. "$HERE/lib.sh"

# pipeline: stages a -> b running by-name; fail1-* fails its first run in
# b (a retry), bad-* exits 65 in a (an error).
pipeline() {
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
    env = {"STAMPS=$T/stamps", "FAIL_STAGE=b"}
}
stage b {
    command = {"$STAGES/by-name"}
    slots = 2
    backoff = 0
    user = "$ME"
    env = {"STAMPS=$T/stamps", "FAIL_STAGE=b"}
}
CONF
	mkdir -p "$D/tmp" "$D/a/queue"
}

# The counters after SIGKILL at random moments: N jobs through a -> b,
# every fifth retried once in b, every seventeenth an error in a; K kills
# 0.05 to 0.8 s apart, each followed by a restart. At the end metrics.json
# equals the events and the folders, exactly.
t_counts_after_kills() {
	if [ -n "${LONG:-}" ]; then
		n=1000 kills=40
	else
		n=200 kills=8
	fi
	pipeline
	i=0 nfail=0 nbad=0
	while [ $i -lt $n ]; do
		i=$((i + 1))
		if [ $((i % 17)) -eq 0 ]; then
			name=bad-$i nbad=$((nbad + 1))
		elif [ $((i % 5)) -eq 0 ]; then
			name=fail1-$i nfail=$((nfail + 1))
		else
			name=j$i
		fi
		: >"$D/tmp/$name"
	done
	start
	find "$D/tmp" -mindepth 1 -maxdepth 1 -exec mv -t "$D/a/queue/" {} +
	kill_restart "$kills" 50 750
	cut=$CUT
	want=$((n - nbad))
	wait_for 'count "$D/b/done"; [ $CNT -eq $want ]' 300 slow ||
	    fail "$CNT of $want jobs in b/done"
	wait_for 'count "$D/a/error"; [ $CNT -eq $nbad ]' 30 ||
	    fail "$CNT of $nbad jobs in a/error"
	stop
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	tally_check
	check '[ "$(tally_of total.done)" = "$want" ] &&
	    [ "$(tally_of b/done)" = "$want" ]' \
	    "done: metrics $(tally_of total.done), b/done $(tally_of b/done), jobs $want"
	check '[ "$(tally_of total.error)" = "$nbad" ] &&
	    [ "$(tally_of a/error)" = "$nbad" ]' \
	    "error: metrics $(tally_of total.error), a/error $(tally_of a/error), jobs $nbad"
	check '[ "$(tally_of total.retries)" = "$nfail" ]' \
	    "retries: metrics $(tally_of total.retries), jobs failing once $nfail"
	runs=$(tally_of total.runs)
	check '[ "$runs" -ge $((2 * n - nbad + nfail)) ]' \
	    "runs: metrics $runs, fewer than the $((2 * n - nbad + nfail)) the jobs need"
	diag "$n jobs, $kills kills, $cut caught in running/: metrics.json says done $(tally_of total.done) (b/done $(tally_of b/done)), error $(tally_of total.error) (a/error $(tally_of a/error)), retries $(tally_of total.retries), runs $runs, each as the events count"
}

# ctl ARGS...: spoolctl on the test's config.
ctl() {
	"$SPOOLCTL" -c "$CONF" "$@"
}

# A delay is a lower bound: 200 jobs submitted with --delay of 1 to 5 s,
# ten at a time at random moments, each started (by its own clock, the
# stage's first stamp) no earlier than the time its submitter read before
# submitting it, plus the delay.
t_delay_is_a_lower_bound() {
	conf <<CONF
spool = "data"
tick = 1
cpus = 8
stage a {
    command = {"$STAGES/by-name"}
    slots = 8
    user = "$ME"
    env = {"STAMPS=$T/stamps"}
}
CONF
	start
	mkdir "$T/in"
	i=0
	: >"$T/asked"
	while [ $i -lt 200 ]; do
		# Ten jobs a submission, twenty submissions spread over time.
		delay=$((1 + i / 10 % 5))
		set --
		for k in 0 1 2 3 4 5 6 7 8 9; do
			echo x >"$T/in/d$((i + k))"
			set -- "$@" "$T/in/d$((i + k))"
		done
		i=$((i + 10))
		t0=$(date +%s%3N)
		ctl submit --delay "${delay}s" "$@" >"$T/ids" ||
		    fail "spoolctl submit --delay ${delay}s failed"
		sed "s/\$/ $((t0 + delay * 1000))/" "$T/ids" >>"$T/asked"
		sleep "0.$(printf %03d "$(rand 300)")"
	done
	wait_for 'count "$D/a/done"; [ $CNT -eq 200 ]' 60 ||
	    fail "$CNT of 200 delayed jobs in a/done"
	stop
	awk 'NR == FNR { due[$1] = $2; next }
	    $1 == "START" && !($2 in seen) {
		seen[$2] = 1; m = int($3 / 1000000) - due[$2]
		if (n++ == 0 || m < min) { min = m; id = $2 }
		if (m < 0) early++ }
	    END { printf "%d %d %d %s\n", n, early, min, id }' \
	    "$T/asked" "$T/stamps" >"$T/margin"
	read -r n early min id <"$T/margin"
	check '[ "$n" = 200 ]' "$n of 200 jobs have a start stamp"
	check '[ "$early" = 0 ]' \
	    "$early jobs started before their time; $id by $((-min)) ms"
	diag "200 delayed jobs: the earliest started $min ms after its time ($id)"
}

run counts_after_kills
run delay_is_a_lower_bound
finish
