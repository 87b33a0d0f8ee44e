#!/bin/sh
# exact.sh: what spoold reports is true. Its counters after kill -9 at
# random moments equal what the folders and index/events.jsonl say, to
# the unit; a job submitted with --delay never starts before its time;
# spoolctl watch and stats show the counts and the list of one moment.
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
	conf_by_name b
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
	diag "$n jobs, $kills kills, $cut caught in running/"
	for k in "done" error retries runs; do
		diag "$(awk -v k="total.$k" '$1 == k {
		    printf "%s: metrics.json %s, events.jsonl %s", k, $2, $3 }' \
		    "$TALLY")"
	done
	diag "folders: b/done $(tally_of b/done), a/error $(tally_of a/error)"
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

# The table of spoolctl watch and its RUNNING list, captured in tmux while
# jobs move from a to b: on every screen, the jobs each stage's row says
# run are those the list shows in it.
t_watch_one_moment() {
	command -v tmux >/dev/null || skip "no tmux"
	conf <<CONF
spool = "data"
tick = 1
cpus = 8
stage a {
    command = {"$STAGES/succeed"}
    slots = 3
    next = "b"
    user = "$ME"
    env = {"SLEEP=0.3"}
}
stage b {
    command = {"$STAGES/succeed"}
    slots = 3
    user = "$ME"
    env = {"SLEEP=0.2"}
}
CONF
	mkdir -p "$D/tmp" "$D/a/queue"
	i=0
	while [ $i -lt 60 ]; do
		i=$((i + 1))
		: >"$D/tmp/w$i"
	done
	start
	sock=exact-$$-${T##*.}
	at_end "tmux -L '$sock' kill-server 2>/dev/null"
	tmux -L "$sock" -f /dev/null new-session -d -s w -x 160 -y 40 \
	    "'$SPOOLCTL' -c '$CONF' watch" || fail "tmux"
	find "$D/tmp" -mindepth 1 -maxdepth 1 -exec mv -t "$D/a/queue/" {} +
	k=0 both=0
	while [ $k -lt 40 ]; do
		k=$((k + 1))
		sleep 0.25
		tmux -L "$sock" capture-pane -p -t w >"$T/screen"
		awk '
		    $1 == "STAGE" && $2 == "QUEUED" { table = 1; next }
		    $1 == "RUNNING" && NF == 1 { table = 0; list = 1; next }
		    table && ($1 == "a" || $1 == "b") { row[$1] = $4 }
		    list && ($1 == "a" || $1 == "b") { ran[$1]++ }
		    END {
			bad = ("a" in row) + 0 == 0 || ("b" in row) + 0 == 0
			for (s in row) if (row[s] != ran[s] + 0) bad = 1
			printf "%d %d %d %d %d\n", bad, row["a"], ran["a"] + 0,
			    row["b"], ran["b"] + 0 }' "$T/screen" >"$T/seen"
		read -r bad ra la rb lb <"$T/seen"
		check '[ "$bad" = 0 ]' \
		    "a screen whose table says a $ra, b $rb running, its list a $la, b $lb: $(cat "$T/screen")"
		if [ $((ra + rb)) -gt 0 ] && [ "$rb" -gt 0 ] && [ "$ra" -gt 0 ]; then
			both=$((both + 1))
			cp "$T/screen" "$T/shown"
		fi
	done
	tmux -L "$sock" kill-server
	check '[ $both -gt 0 ]' "no screen caught runs in both stages"
	diag "$k screens, $both with runs in a and b; one of them:"
	sed 's/[[:space:]]*$//; /^$/d; s/^/#   /' "$T/shown"
}

# spoolctl stats right after a job ends counts what spoolctl ls lists.
t_stats_agrees_with_ls() {
	pipeline
	start
	for i in 1 2 3; do
		: >"$D/tmp/s$i"
		mv "$D/tmp/s$i" "$D/a/queue/s$i"
		wait_for 'has b/done s$i' 10 || fail "s$i is not in b/done"
		ctl stats >"$T/stats" || fail "spoolctl stats failed"
		ctl ls >"$T/ls" || fail "spoolctl ls failed"
		for s in a b; do
			want=$(awk -v s=$s '
			    $2 == s { n[$3]++ }
			    END { printf "%d %d %d %d %d", n["queued"],
				n["deferred"], n["running"], n["done"],
				n["error"] }' "$T/ls")
			got=$(awk -v s=$s '$1 == s { print $3, $4, $5, $6, $7 }' \
			    "$T/stats")
			check '[ "$got" = "$want" ]' \
			    "stats says $s $got, ls $want: $(cat "$T/stats" "$T/ls")"
		done
		grep -q "^jobs as of [0-9][0-9]:[0-9][0-9]:[0-9][0-9] (the folders), counters as of [0-9][0-9]:[0-9][0-9]:[0-9][0-9] (index/metrics.json)$" \
		    "$T/stats" || fail "stats says not when: $(head -n 1 "$T/stats")"
	done
	stop
}

run counts_after_kills
run delay_is_a_lower_bound
run watch_one_moment
run stats_agrees_with_ls
finish
