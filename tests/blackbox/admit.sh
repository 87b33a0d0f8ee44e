#!/bin/sh
# admit.sh: the black-box tests of admission by resources: the CPUs spoold
# may run on (taskset) as its budget, a stage's cpus and SPOOL_CPUS, a
# memory need above MemAvailable that holds only its stage back until a
# reload lowers it, the pipeline order (a job further along goes first),
# no stage starved, and index/schedule.json with the forecast. Same runner and rules
# as run.sh (lib.sh).
#
#	SPOOLD=$PWD/build/spoold sh tests/blackbox/admit.sh [PATTERN...]

# Conditions are strings that check and wait_for evaluate later, so:
# shellcheck disable=SC2016,SC2034,SC2153

set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=/dev/null
. "$HERE/lib.sh"

# sched KEY [STAGE]: a value of index/schedule.json.
sched() {
	jget "$D/index/schedule.json" "$@"
}

# most_at_once: the most runs at once, by the stamps of tests/stages/busy.
most_at_once() {
	awk '$1 == "START" { print $(NF - 1), 1 }
	    $1 == "END" { print $(NF - 1), -1 }' "$T/stamps" | sort -n |
	    awk '{ n += $2; if (n > m) m = n } END { print m + 0 }'
}

# cpus_seen: the SPOOL_CPUS values the runs had, sorted, without repeats.
cpus_seen() {
	awk '$1 == "RUN" { print $NF }' "$T/stamps" | sort -u | tr '\n' ' '
}

# order: "stage:id" of each run, in the order they started.
order() {
	awk '$1 == "RUN" { printf "%s:%s ", $2, $3 }' "$T/stamps"
}

# stage_busy NAME SETTINGS: the block of a stage running busy, with
# SETTINGS (lines of the block); top SETTINGS: the top of a config.
stage_busy() {
	cat <<EOF
stage $1 {
    command = {"$STAGES/busy"}
    user = "$ME"
    env = {"STAMPS=$T/stamps", "BUSY_S=${BUSY_S:-0.3}"}
    $2
}
EOF
}

top() {
	cat <<EOF
spool = "data"
tick = 1
kill_grace = 1
$1
EOF
	: >"$T/stamps"
	chmod 666 "$T/stamps"
}

# ---------------------------------------------------------------------------

# Under taskset -c 0, spoold may run on one CPU: one run at a time, with
# SPOOL_CPUS=1, though the stage has 4 slots; no config says so.
t_taskset_one_cpu() {
	command -v taskset >/dev/null 2>&1 || skip "no taskset"
	{ top ""; stage_busy a "slots = 4"; } | conf
	start taskset -c 0
	submit_many a 6
	wait_for 'count "$D/a/done"; [ "$CNT" -eq 6 ]' 20 ||
	    fail "$CNT of 6 jobs done after 20 s"
	most=$(most_at_once)
	diag "under taskset -c 0: $most run(s) at once, SPOOL_CPUS: $(cpus_seen)"
	check '[ "$most" -eq 1 ]' "$most runs at once on one CPU"
	check '[ "$(cpus_seen)" = "cpus=1 " ]' "SPOOL_CPUS was $(cpus_seen)"
}

# Without taskset, the budget is the CPUs of the machine, nproc.
t_cpus_default() {
	n=$(nproc)
	{ top ""; stage_busy a "slots = 64"; } | conf
	start
	submit_many a $((2 * n + 2))
	wait_for 'count "$D/a/done"; [ "$CNT" -eq $((2 * n + 2)) ]' 30 ||
	    fail "$CNT of $((2 * n + 2)) jobs done after 30 s"
	most=$(most_at_once)
	diag "nproc $n: $most runs at once"
	check '[ "$most" -eq "$n" ]' "$most runs at once, not nproc = $n"
}

# A stage of cpus = 2 in a budget of 3: one run at a time, SPOOL_CPUS=2;
# one of cpus = 8 gets all 3.
t_cpus_share() {
	{ top "cpus = 3"; stage_busy a "slots = 4
    cpus = 2"; stage_busy b "cpus = 8"; } | conf
	start
	submit_many a 3
	submit b big
	wait_for 'count "$D/a/done"; [ "$CNT" -eq 3 ] && has b/done big' 20 ||
	    fail "$CNT of 3 jobs of a done after 20 s; big is in$(where big)"
	most=$(most_at_once)
	check '[ "$most" -eq 1 ]' "$most runs at once of 2 and 3 CPUs in 3"
	check 'grep -q "^RUN b big cpus=3$" "$T/stamps"' \
	    "the run of 8 CPUs in 3: $(grep "^RUN b" "$T/stamps")"
	check '[ "$(grep -c "^RUN a .* cpus=2$" "$T/stamps")" -eq 3 ]' \
	    "the runs of a: $(grep "^RUN a" "$T/stamps" | tr '\n' ' ')"
}

# A need above MemAvailable holds its stage back, says why, and holds
# nothing else back; a reload that lowers it lets the jobs run.
t_memory_waits() {
	{ top ""; stage_busy a ""; stage_busy b "memory = 1000T"; } | conf
	start
	submit b big1
	submit b big2
	submit a small
	expect a/done small 10
	wait_for '[ "$(sched waiting b)" = "waiting for memory" ]' 5 ||
	    fail "schedule.json: b is \"$(sched waiting b)\""
	check 'has b/queue big1 && has b/queue big2' \
	    "big1 is in$(where big1), big2 in$(where big2)"
	check '[ "$(nstamps START big1)" -eq 0 ]' "big1 ran"
	out=$(ctl ls 2>&1)
	check 'printf "%s\n" "$out" | grep "big1" | grep -q "waiting for memory"' \
	    "spoolctl ls says of big1: $(printf "%s\n" "$out" | grep big1)"
	{ top ""; stage_busy a ""; stage_busy b "memory = 1M"; } | conf
	kill -HUP "$SPID"
	expect b/done big1 10
	expect b/done big2 10
	wait_for '[ -z "$(sched waiting b)" ]' 5 ||
	    fail "schedule.json still says b is $(sched waiting b)"
}

# With one CPU, a job in b goes before the next of a: the pipeline drains.
t_pipeline_order() {
	{ top "cpus = 1"; stage_busy a "next = \"b\""; stage_busy b ""; } | conf
	start
	submit_many a 3
	wait_for 'count "$D/b/done"; [ "$CNT" -eq 3 ]' 20 ||
	    fail "$CNT of 3 jobs through a and b after 20 s"
	o=$(order)
	diag "runs in order: $o"
	stages=$(printf '%s' "$o" | tr ' ' '\n' | cut -d: -f1 | tr '\n' ' ')
	check '[ "$stages" = "a b a b a b " ]' "the runs went $o"
}

# b, further along, is fed 8 jobs by hand; a's one job still runs before
# b's queue has drained.
t_no_starvation() {
	BUSY_S=0.2
	{ top "cpus = 1"; stage_busy a "next = \"b\""; stage_busy b ""; } | conf
	start
	i=0
	while [ $i -lt 8 ]; do
		i=$((i + 1))
		: >"$D/tmp/b$i"
	done
	: >"$D/tmp/first"
	mv "$D"/tmp/b* "$D/b/queue/"
	mv "$D/tmp/first" "$D/a/queue/first"
	expect b/done first 20
	o=$(order)
	diag "runs in order: $o"
	before=$(printf '%s\n' "$o" | tr ' ' '\n' | sed -n '/^a:first$/q;p' |
	    grep -c '^b:')
	check '[ "$before" -le 4 ]' "a's job waited for $before runs of b"
	BUSY_S=""
}

# schedule.json tells each stage's drain time and the pipeline's once run
# times are known.
t_forecast() {
	BUSY_S=0.5
	{ top "cpus = 1"; stage_busy a ""; } | conf
	start
	submit_many a 8
	wait_for '[ "$(sched eta_s)" -gt 0 ] 2>/dev/null &&
	    [ "$(sched drain_s a)" -gt 0 ]' 10 ||
	    fail "no forecast in schedule.json:" \
	    "$(cat "$D/index/schedule.json")"
	eta=$(sched eta_s)
	diag "8 jobs of 0.5 s, one at a time: eta_s $eta"
	check '[ "$eta" -ge 1 ] && [ "$eta" -le 10 ]' "eta_s $eta for at most" \
	    "7 jobs of 0.5 s"
	wait_for 'count "$D/a/done"; [ "$CNT" -eq 8 ]' 20 ||
	    fail "$CNT of 8 jobs done after 20 s"
	wait_for '[ "$(sched drain_s a)" = 0 ]' 5 ||
	    fail "schedule.json: drain_s of a is $(sched drain_s a) at the end"
	check '[ "$(sched cpus)" = 1 ] && [ "$(sched cpus_used)" = 0 ]' \
	    "schedule.json: $(cat "$D/index/schedule.json")"
	BUSY_S=""
}

run taskset_one_cpu
run cpus_default
run cpus_share
run memory_waits
run pipeline_order
run no_starvation
run forecast
finish
