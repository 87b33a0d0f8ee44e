#!/bin/sh
# monitor.sh: the black-box tests of what an operator monitors: what each
# run cost (its wall, CPU time and peak memory in its status record, its
# log, its events, spoolctl show, and per stage in metrics.json), and
# index/metrics.prom as Debian's prometheus-node-exporter serves it through
# its textfile collector. Same runner and rules as run.sh (lib.sh).
#
#	SPOOLD=$PWD/build/spoold sh tests/blackbox/monitor.sh [PATTERN...]

# Conditions are strings that check and wait_for evaluate later, so:
# shellcheck disable=SC2016,SC2034

set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=/dev/null
. "$HERE/lib.sh"

# The run of a stage that burns 2 s of CPU time is charged its CPU time,
# as the stage counts it itself, within 10 %; the log, the events,
# spoolctl show and metrics.json say the same.
t_rusage_cpu() {
	conf_a burn
	start
	submit a j1
	expect a/done j1 30
	charged j1
	user=$USER_MS
	wall=$(rusage j1 wall_ms)
	check '[ "$wall" -ge "$user" ]' "wall_ms $wall < user_ms $user"
	grep -q "^=== spoold: .* stage a attempt 1 exit 0 after [0-9.]*s (user $((user / 1000))\.$(printf %03d $((user % 1000)))s, sys [0-9.]*s, maxrss [0-9]* KiB)\$" \
	    "$D/log/j1.log" || fail "no footer with its cost: $(tail -n 1 \
	    "$D/log/j1.log")"
	python3 -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
done = [e for e in ev if e["id"] == "j1" and e["event"] == "done"]
rec = json.load(open(sys.argv[2]))
sys.exit(len(done) != 1 or done[0].get("rusage") != rec["rusage"])' \
	    "$D/index/events.jsonl" "$D/work/j1/status.json" ||
	    fail "the done event has not the record's rusage:" \
	    "$(grep '"done"' "$D/index/events.jsonl")"
	ctl show j1 >show.out || fail "spoolctl show failed"
	grep -q "^rusage:    wall [0-9]*\.[0-9]\{3\}s, user [0-9.]*s, sys [0-9.]*s, maxrss [0-9]* KiB\$" \
	    show.out || fail "spoolctl show: $(cat show.out)"
	expect_metric runs a 1 5
	check '[ "$(metric cpu_ms_total a)" -ge "$user" ]' \
	    "metrics cpu_ms_total $(metric cpu_ms_total a) < $user"
	check '[ "$(metric run_ms_p50 a)" -ge "$user" ] &&
	    [ "$(metric run_ms_p95 a)" = "$(metric run_ms_p50 a)" ]' \
	    "metrics run_ms_p50 $(metric run_ms_p50 a), p95 $(metric \
	    run_ms_p95 a)"
	ctl stats >stats.out || fail "spoolctl stats failed"
	grep -q "^  a: p50 [0-9.]*s, p95 [0-9.]*s, cpu [0-9.]*s, maxrss [0-9]* KiB\$" \
	    stats.out || fail "spoolctl stats: $(cat stats.out)"
	stop
}

# A run that touches 200 MiB has a peak resident set above 200000 KiB,
# and so has its stage in metrics.json.
t_rusage_memory() {
	conf_a hog
	start
	submit a j1 200
	expect a/done j1 30
	rss=$(rusage j1 maxrss_kb)
	diag "a run touching 200 MiB: maxrss_kb $rss"
	check '[ "$rss" -ge 200000 ]' "maxrss_kb $rss < 200000"
	expect_metric runs a 1 5
	check '[ "$(metric maxrss_kb_max a)" = "$rss" ]' \
	    "metrics maxrss_kb_max $(metric maxrss_kb_max a), not $rss"
	submit a j2 1
	expect a/done j2 30
	expect_metric runs a 2 5
	check '[ "$(metric maxrss_kb_max a)" = "$rss" ]' \
	    "metrics maxrss_kb_max $(metric maxrss_kb_max a) after a small run"
	stop
	start
	check '[ "$(metric maxrss_kb_max a)" = "$rss" ] &&
	    [ "$(metric cpu_ms_total a)" -gt 0 ]' \
	    "after a restart: maxrss_kb_max $(metric maxrss_kb_max a)," \
	    "cpu_ms_total $(metric cpu_ms_total a)"
	stop
}

# spoold -m measures a command: its exit status as a shell says it, and
# its cost in the file, as "user_ms sys_ms maxrss_kb wall_ms".
t_measure() {
	echo 200 >mib
	"$SPOOLD" -m cost "$STAGES/hog" mib >out 2>&1
	rc=$?
	check '[ "$rc" -eq 0 ] && grep -qx "hog: allocated 200 MiB" out' \
	    "spoold -m hog: exit $rc, $(cat out)"
	read -r user sys rss wall <cost || fail "no cost: $(cat cost)"
	diag "spoold -m of a run touching 200 MiB: user $user ms, sys $sys ms," \
	    "maxrss $rss KiB, wall $wall ms"
	check '[ "$rss" -ge 200000 ] && [ "$wall" -ge 0 ] &&
	    [ "$user" -ge 0 ] && [ "$sys" -ge 0 ]' "cost: $(cat cost)"
	"$SPOOLD" -m cost2 sh -c 'exit 3'
	rc=$?
	check '[ "$rc" -eq 3 ] && [ -s cost2 ]' "exit 3 measured as $rc"
	"$SPOOLD" -m cost3 sh -c 'kill -TERM $$'
	rc=$?
	check '[ "$rc" -eq 143 ] && [ -s cost3 ]' "SIGTERM measured as $rc"
	# A signal ignored by who started spoold -m stays ignored by the command.
	sh -c 'trap "" TERM; exec "$0" -m cost6 sh -c "kill -TERM \$\$; echo alive"' \
	    "$SPOOLD" >out 2>&1
	rc=$?
	check '[ "$rc" -eq 0 ] && grep -qx alive out' \
	    "SIGTERM ignored by the caller: exit $rc, $(cat out)"
	"$SPOOLD" -m cost4 "$T/none" 2>err
	rc=$?
	check '[ "$rc" -eq 127 ]' "a missing command measured as $rc"
	"$SPOOLD" -m cost5 >out 2>&1
	rc=$?
	check '[ "$rc" -eq 64 ] && grep -q "usage" out' \
	    "spoold -m without a command: exit $rc, $(cat out)"
}

# scrape FILE: node_exporter's /metrics in FILE.
scrape() {
	curl -sf -o "$1" "http://127.0.0.1:$PORT/metrics"
}

# compare UP: every spoold_ sample node_exporter serves (in served) is the
# number metrics.json has for it, spoold_up is UP, every number of
# metrics.json is served, and the textfile collector saw no error.
compare() {
	python3 - "$D/index/metrics.json" served "$1" <<'EOF' >compared
import json, re, sys
from decimal import Decimal

d = json.load(open(sys.argv[1]))
want_up = int(sys.argv[3])
top = {"spoold_metrics_version": "version", "spoold_pid": "pid",
       "spoold_uptime_seconds": "uptime_s",
       "spoold_spool_done_total": "done", "spoold_spool_error_total": "error",
       "spoold_spool_retries_total": "retries",
       "spoold_spool_timeouts_total": "timeouts",
       "spoold_duplicates_total": "duplicates"}
per = {"spoold_slots": "slots", "spoold_done_total": "done",
       "spoold_error_total": "error", "spoold_retries_total": "retries",
       "spoold_timeouts_total": "timeouts", "spoold_runs_total": "runs",
       "spoold_run_seconds_sum": "run_ms_total",
       "spoold_run_seconds_count": "runs",
       "spoold_cpu_seconds_total": "cpu_ms_total",
       "spoold_maxrss_bytes": "maxrss_kb_max"}
scale = {"spoold_run_seconds_sum": Decimal("0.001"),
         "spoold_cpu_seconds_total": Decimal("0.001"),
         "spoold_run_seconds": Decimal("0.001"), "spoold_maxrss_bytes": 1024}
seen, bad, errors = set(), [], None
for line in open(sys.argv[2]):
    m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line.strip())
    if not m:
        continue
    name, labels, value = m.group(1), m.group(2) or "", Decimal(m.group(3))
    lab = dict(re.findall(r'(\w+)="([^"]*)"', labels))
    if name == "node_textfile_scrape_error":
        errors = value
    if not name.startswith("spoold_"):
        continue
    if name == "spoold_up":
        path, j = ("up",), want_up
    elif name in top:
        path = (top[name],)
    elif name == "spoold_spool_jobs":
        path = (lab["state"],)
    elif name == "spoold_jobs":
        path = ("stages", lab["stage"], lab["state"])
    elif name == "spoold_run_seconds":
        q = {"0.5": "run_ms_p50", "0.95": "run_ms_p95"}[lab["quantile"]]
        path = ("stages", lab["stage"], q)
    elif name in per:
        path = ("stages", lab["stage"], per[name])
    else:
        bad.append("%s: no such number in metrics.json" % line.strip())
        continue
    if path != ("up",):
        j = d
        for k in path:
            j = j[k]
    raw, j = j, j * scale.get(name, 1)
    seen.add(path)
    print("%-56s %-14s metrics.json %s %s" % (name + "{" + labels + "}",
          m.group(3), ".".join(path), raw))
    if value != j:
        bad.append("%s is %s, metrics.json says %s" % (line.strip(), value, j))
every = {(k,) for k, v in d.items() if isinstance(v, int)}
every |= {("stages", s, k) for s, o in d["stages"].items()
          for k, v in o.items() if isinstance(v, int)}
for p in sorted(every - seen):
    bad.append("metrics.json's %s is not served" % ".".join(p))
if errors != 0:
    bad.append("node_textfile_scrape_error is %s" % errors)
if ("up",) not in seen:
    bad.append("no spoold_up")
if bad:
    sys.exit("; ".join(bad[:5]))
EOF
}

# After a small two-stage pipeline, node_exporter's textfile collector
# serves every number of metrics.json from metrics.prom, unchanged (in
# seconds and bytes), with no scrape error: while spoold runs, with
# spoold_up 1; once it stopped, with spoold_up 0. VERBOSE=1 prints each
# sample beside its number in metrics.json.
t_prometheus() {
	command -v prometheus-node-exporter >/dev/null 2>&1 ||
	    skip "no prometheus-node-exporter (make check-all installs it)"
	conf <<EOF
spool = "data"
tick = 1
stage a {
    command = {"$STAGES/by-name", "%f"}
    user = "$ME"
    next = "b"
}
stage b {
    command = {"$STAGES/by-name", "%f"}
    user = "$ME"
}
EOF
	start
	submit a ok1
	submit a ok2
	submit a bad-1
	expect b/done ok1 20
	expect b/done ok2 20
	expect a/error bad-1 20
	expect_metric "done" 2 5
	expect_metric runs b 2 5
	PORT=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
	prometheus-node-exporter --web.listen-address="127.0.0.1:$PORT" \
	    --collector.disable-defaults --collector.textfile \
	    --collector.textfile.directory="$D/index" 2>exporter.err &
	NEPID=$!
	at_end "kill $NEPID"
	wait_for 'scrape served' 20 ||
	    fail "node_exporter does not answer: $(tail -n 3 exporter.err)"
	check 'grep -qx "spoold_up 1" served && grep -qx "spoold_pid $SPID" \
	    served' "while spoold runs: $(grep -E '^spoold_(up|pid) ' served)"
	stop
	scrape served || fail "node_exporter does not answer after the stop"
	compare 0 2>compare.err || fail "node_exporter and metrics.json:" \
	    "$(cat compare.err)"
	check '[ "$(wc -l <compared)" -ge 40 ]' \
	    "only $(wc -l <compared) spoold_ samples served"
	[ -z "${VERBOSE:-}" ] || sed 's/^/# /' compared
	kill "$NEPID"
	wait "$NEPID" 2>/dev/null || :
}

run rusage_cpu
run rusage_memory
run measure
run prometheus
finish
