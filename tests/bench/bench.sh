#!/bin/sh
# bench.sh: spoold's benchmark, `make bench`. Measures, in one run on this
# machine, spoold against its peers and against the bare fork/exec limit,
# prints a table and writes build/bench.json (and build/bench.txt):
#
#   throughput  N trivial jobs (/bin/true %f) through one stage of 2 slots,
#               renamed in while running, and queued before start with
#               the stage run as spoold's user and, as root, as nobody,
#               beside xargs -P2 (six rounds of BENCH_USERS_N jobs, one
#               for each order of the three: the median of each, and the
#               medians of the ratios round by round); against GNU
#               parallel -j2,
#               task-spooler (tsp -S 2), and the bare forkloop/spawnloop
#               with 2 slots
#   chain       N jobs through two stages (2N runs) against xargs -P2
#               running 2N commands
#   latency     submit -> exec on an idle queue: rename(2) (as root also
#               with the stage run as nobody: three runs each, A B B A A
#               B, the run of the median p50 of each), mv, spoolctl
#               submit, with the other slot busy; against the floor (the
#               same stamp started by fork+exec, and by posix_spawn), tsp
#               and nq
#   scale       10^3 .. 10^6 queued jobs: time to first claim, peak RSS,
#               claim throughput over the next 10,000 jobs
#   idle        CPU time, wake-ups and disk writes of an idle spoold (and an
#               idle task-spooler server)
#   durability  throughput and latency with and without fsync/syncfs
#   slurm       500 trivial jobs through a stage of 16 slots, local, then
#               on a single-node Slurm cluster: throughput and the overhead
#               per job (root only)
#   pipeline    the shipped pipeline on real work: K comics of scanned
#               pages of text (2550x3300, 1 bit, 300 dpi, drawn here)
#               through spoold on conf/spoold.conf, against xargs -P$(nproc)
#               running stages/prep then stages/ocr per comic, three runs
#               of each in turn: the median times, pages/s, and xargs's
#               time / spoold's
#
# Environment:
#   BENCH_QUICK=1        N=1000 and BENCH_IDLE=10 unless those are set
#   BENCH_SECTIONS       which to run, of: throughput latency durability
#                        scale idle slurm pipeline (default all, in that
#                        order)
#   BENCH_PIPE_K         comics of the pipeline section (default 6)
#   BENCH_PIPE_PAGES     pages per comic of the pipeline section (default 2)
#   BENCH_SLURM_N        jobs per run of the slurm section (default 500)
#   SLURM_RECIPES        the folder of start-slurm.sh (default
#                        ../shared/recipes beside the project)
#   BENCH_N              jobs per throughput run (default 10000)
#   BENCH_PARALLEL_N     jobs of the GNU parallel run (default 1000, at most
#                        N: at some 15-30 jobs/s here, N=10^4 would take
#                        minutes; its rate is the same)
#   BENCH_USERS_N        jobs per run of the rows by stage user, six runs
#                        each (default 5000, at most N)
#   BENCH_LAT_N          jobs per latency run (default 200)
#   BENCH_GAP_MS         pause between latency jobs (default 20)
#   BENCH_SCALE_MAX      largest queue of the scale runs (default 1000000)
#   BENCH_SCALE_CLAIMS   jobs run per scale step (default 10000)
#   BENCH_IDLE           seconds of the idle measurement (default 60)
#   BENCH_TMPDIR         where the temporary spools go (default $TMPDIR, /tmp)
#   BENCH_JSON           the JSON written (default build/bench.json)
#   BENCH_KEEP=1         keep the temporary folders (their path is printed)
#   SPOOLD, SPOOLCTL     the binaries (default build/spoold, build/spoolctl)
#   CC                   the compiler of the helpers (default cc)
#
# Each spoold runs on its own mktemp -d spool; every process started here
# is killed on exit. The peers are installed with apt-get when run as root
# and missing, and skipped otherwise.

set -u
umask 022
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=$ROOT/build/bench
SPOOLD_SET=${SPOOLD:+1}
SPOOLD=${SPOOLD:-$ROOT/build/spoold}
SPOOLCTL=${SPOOLCTL:-$ROOT/build/spoolctl}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	N=${BENCH_N:-1000}
	IDLE=${BENCH_IDLE:-10}
else
	N=${BENCH_N:-10000}
	IDLE=${BENCH_IDLE:-60}
fi
PAR_N=${BENCH_PARALLEL_N:-1000}
[ "$PAR_N" -gt "$N" ] && PAR_N=$N
USERS_N=${BENCH_USERS_N:-5000}
[ "$USERS_N" -gt "$N" ] && USERS_N=$N
LAT_N=${BENCH_LAT_N:-200}
GAP=${BENCH_GAP_MS:-20}
SCALE_MAX=${BENCH_SCALE_MAX:-1000000}
SCALE_CLAIMS=${BENCH_SCALE_CLAIMS:-10000}
TMPBASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
JSON=${BENCH_JSON:-$ROOT/build/bench.json}
TXT=${JSON%.json}.txt
KEEP=${BENCH_KEEP:-0}
USERNAME=$(id -un)

# How spoold is told to skip fsync(2) and syncfs(2): today the environment
# variable SPOOLD_NOSYNC=1 (spoold.8, ENVIRONMENT). When a config key
# replaces it, set NOSYNC_CONF to its line (for example 'sync = false') and
# NOSYNC_ENV to "": nothing else needs to change.
NOSYNC_ENV="SPOOLD_NOSYNC=1"
NOSYNC_CONF=""

PIDS=""		# every background process started here
TSP_SOCKS=""	# every task-spooler server started here
WORK=""

log() {
	printf 'bench: [%ss] %s\n' "$(( ($(date +%s%N) - START_NS) / 1000000000 ))" \
	    "$*" >&2
}
die() { log "$*"; exit 1; }
now_ns() { date +%s%N; }
# calc EXPR: evaluates an awk expression, printed with 3 decimals.
calc() { awk "BEGIN { printf \"%.3f\", ($1) }"; }
calc1() { awk "BEGIN { printf \"%.1f\", ($1) }"; }

# ---------------------------------------------------------------- processes

alive() {
	[ -r "/proc/$1/stat" ] || return 1
	_al_l=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	_al_s=${_al_l##*) }
	case ${_al_s%% *} in Z|X|"") return 1 ;; esac
	return 0
}

# The descendants of a pid, deepest last.
descendants() {
	ps -eo pid=,ppid= 2>/dev/null | awk -v root="$1" '
	    { kids[$2] = kids[$2] " " $1 }
	    END {
		n = split(kids[root], q, " ")
		for (i = 1; i <= n; i++) {
			print q[i]
			m = split(kids[q[i]], more, " ")
			for (j = 1; j <= m; j++)
				q[++n] = more[j]
		}
	    }'
}

# Kills a process, its descendants and their process groups.
kill_tree() {
	_kt_d=$(descendants "$1")
	kill -KILL "$1" 2>/dev/null
	for _kt_p in $_kt_d; do
		kill -KILL "-$_kt_p" 2>/dev/null
		kill -KILL "$_kt_p" 2>/dev/null
	done
	wait "$1" 2>/dev/null
}

forget() {
	_fg_new=""
	for _fg_p in $PIDS; do [ "$_fg_p" = "$1" ] || _fg_new="$_fg_new $_fg_p"; done
	PIDS=$_fg_new
}

cleanup() {
	trap - EXIT INT TERM HUP
	for _cu_p in $PIDS; do kill_tree "$_cu_p"; done
	for _cu_s in $TSP_SOCKS; do
		[ -S "$_cu_s" ] && TS_SOCKET=$_cu_s tsp -K >/dev/null 2>&1
	done
	if [ -n "$WORK" ]; then
		if [ "$KEEP" = 1 ]; then
			log "kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Runs a command in the background, so that the trap can kill it, and waits.
# Its standard input is RUN_IN (default /dev/null).
run() {
	"$@" <"${RUN_IN:-/dev/null}" &
	_run_rp=$!
	PIDS="$PIDS $_run_rp"
	wait "$_run_rp"
	_run_rc=$?
	forget "$_run_rp"
	return $_run_rc
}

# newdir NAME: a new folder in WORK, which a stage's user may reach.
newdir() {
	_nd=$(mktemp -d "$WORK/$1.XXXXXX") && chmod 755 "$_nd" && echo "$_nd"
}

# As root, the production configuration beside the same-user one: stages
# run as an unprivileged user (AS_USER) who reaches the spool through its
# group (AS_GROUP). as_user CMD...: runs CMD with that configuration.
AS_USER=nobody
AS_GROUP=$(id -gn nobody 2>/dev/null)
as_user() {
	STAGE_USER=$AS_USER SPOOL_GROUP=$AS_GROUP "$@"
	STAGE_USER="" SPOOL_GROUP=""
}
can_as_user() { [ "$(id -u)" = 0 ] && [ -n "$AS_GROUP" ]; }

# ---------------------------------------------------------------- spoold

# conf_begin DIR NOSYNC [MAX_CHILDREN]: the top of DIR/spoold.conf.
conf_begin() {
	{
		echo "# written by tests/bench/bench.sh"
		echo 'spool = "spool"'
		echo "tick = 1"
		echo "kill_grace = 1"
		echo "shutdown_grace = 2"
		[ -n "${SPOOL_GROUP:-}" ] && echo "group = \"$SPOOL_GROUP\""
		[ -n "${3:-}" ] && echo "max_children = $3"
		[ "$2" = 1 ] && [ -n "$NOSYNC_CONF" ] && echo "$NOSYNC_CONF"
	} >"$1/spoold.conf"
	chmod 644 "$1/spoold.conf"
}

# conf_stage DIR NAME SLOTS NEXT ARG...: a stage whose command is ARG...
conf_stage() {
	_cs_f=$1/spoold.conf
	_cs_name=$2 _cs_slots=$3 _cs_next=$4
	shift 4
	_cs_cmd=""
	for _cs_a in "$@"; do _cs_cmd="$_cs_cmd${_cs_cmd:+, }\"$_cs_a\""; done
	{
		echo "stage $_cs_name {"
		echo "    command = {$_cs_cmd}"
		echo "    slots = $_cs_slots"
		[ -n "$_cs_next" ] && echo "    next = \"$_cs_next\""
		[ -n "${CS_EXTRA:-}" ] && echo "    $CS_EXTRA"
		echo "    user = \"${STAGE_USER:-$USERNAME}\""
		echo "}"
	} >>"$_cs_f"
}

# spoold_start DIR NOSYNC: starts spoold on DIR/spoold.conf in the
# background; SPID is its pid and DIR/t0 the time just before its exec.
spoold_start() {
	if [ "$2" = 1 ] && [ -n "$NOSYNC_ENV" ]; then
		env -u SPOOLD_NOSYNC $NOSYNC_ENV "$B/stamp" -e "$1/t0" \
		    "$SPOOLD" -c "$1/spoold.conf" 2>"$1/spoold.log" &
	else
		env -u SPOOLD_NOSYNC "$B/stamp" -e "$1/t0" \
		    "$SPOOLD" -c "$1/spoold.conf" 2>"$1/spoold.log" &
	fi
	SPID=$!
	PIDS="$PIDS $SPID"
}

# spoold_ready DIR: waits for the first metrics of the spoold of DIR.
spoold_ready() {
	_sr_i=0
	while [ ! -e "$1/spool/index/metrics.json" ]; do
		if ! alive "$SPID" || [ $_sr_i -ge 1000 ]; then
			log "spoold did not start:"
			sed 's/^/    /' "$1/spoold.log" >&2
			return 1
		fi
		sleep 0.01
		_sr_i=$((_sr_i + 1))
	done
}

# spoold_stop PID: SIGTERM, up to 15 s, then SIGKILL; and its leftovers.
spoold_stop() {
	_ss_d=$(descendants "$1")
	kill -TERM "$1" 2>/dev/null
	_ss_i=0
	while alive "$1" && [ $_ss_i -lt 150 ]; do
		sleep 0.1
		_ss_i=$((_ss_i + 1))
	done
	alive "$1" && log "spoold $1 did not stop on SIGTERM; killing it"
	kill_tree "$1"
	for _ss_p in $_ss_d; do kill -KILL "-$_ss_p" "$_ss_p" 2>/dev/null; done
	forget "$1"
}

count() { find "$1" -mindepth 1 -maxdepth 1 ! -name '.*' | wc -l; }

# ---------------------------------------------------------------- results

RES=""		# section \t tool \t value \t unit \t display \t extra json \t ref
SECS=""		# section \t title \t what the ratio is

section() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$SECS"; }
# rec SECTION TOOL VALUE UNIT DISPLAY [EXTRA_JSON [REF_TOOL]]
rec() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" \
	    "${6:-}" "${7:-}" >>"$RES"
}
skip() { rec "$1" "$2" "" "" "skipped: $3"; }

# ---------------------------------------------------------------- setup

install_peers() {
	_ip_m=""
	command -v parallel >/dev/null 2>&1 || _ip_m="$_ip_m parallel"
	command -v tsp >/dev/null 2>&1 || _ip_m="$_ip_m task-spooler"
	command -v nq >/dev/null 2>&1 || _ip_m="$_ip_m nq"
	[ -z "$_ip_m" ] && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "installing:$_ip_m"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $_ip_m \
		    >/dev/null 2>&1 ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq \
		    >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $_ip_m \
		    >/dev/null 2>&1; } ||
		log "could not install:$_ip_m; skipping what is missing"
	else
		log "peers missing; as root run: apt-get install -y$_ip_m"
		log "skipping them"
	fi
}

build() {
	if [ -z "${SPOOLD_SET:-}" ] && ! make -s -C "$ROOT" all >&2; then
		[ -x "$SPOOLD" ] && [ -x "$SPOOLCTL" ] || die "make failed"
		log "make failed; measuring the spoold already built"
	fi
	mkdir -p "$B" || die "cannot make $B"
	for _bd_p in stamp forkloop mkjobs renamer waitcount latency; do
		if [ ! -x "$B/$_bd_p" ] || [ "$HERE/$_bd_p.c" -nt "$B/$_bd_p" ]; then
			${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$B/$_bd_p" \
			    "$HERE/$_bd_p.c" || die "cannot compile $_bd_p.c"
		fi
	done
}

# ---------------------------------------------------------------- throughput

# The limit of the wait for a run of R job runs, in seconds.
limit() { echo $((120 + $1 / 10)); }

# tp_spoold SECTION TOOL MODE KIND NOSYNC [REF]: N jobs through spoold.
# MODE: renamed (into queue/ while it runs) or queued (before its start).
# KIND: 1 (one stage, 2 slots) or chain (a -> b, 2 slots each, at most 2
# children in all). Sets RATE (jobs/s) or leaves it empty.
tp_spoold() {
	_tp_sec=$1 _tp_tool=$2 _tp_mode=$3 _tp_kind=$4 _tp_ns=$5 _tp_ref=${6:-}
	RATE=""
	_tp_d=$(newdir spoold) || return 1
	if [ "$_tp_kind" = chain ]; then
		conf_begin "$_tp_d" "$_tp_ns" 2
		conf_stage "$_tp_d" a 2 b /bin/true %f
		conf_stage "$_tp_d" b 2 "" /bin/true %f
		_tp_first=a _tp_last=b _tp_runs=$((2 * N))
	else
		conf_begin "$_tp_d" "$_tp_ns"
		conf_stage "$_tp_d" s1 "${TP_SLOTS:-2}" "" /bin/true %f
		_tp_first=s1 _tp_last=s1 _tp_runs=$N
	fi
	log "$_tp_sec: $_tp_tool ($N jobs)"
	if [ "$_tp_mode" = queued ]; then
		mkdir -p "$_tp_d/spool/$_tp_first/queue"
		run "$B/mkjobs" "$_tp_d/spool/$_tp_first/queue" "$N" j 2>/dev/null ||
		    { skip "$_tp_sec" "$_tp_tool" "mkjobs failed"; return 1; }
		sync
		spoold_start "$_tp_d" "$_tp_ns"
		spoold_ready "$_tp_d" ||
		    { skip "$_tp_sec" "$_tp_tool" "spoold did not start"; return 1; }
	else
		spoold_start "$_tp_d" "$_tp_ns"
		spoold_ready "$_tp_d" ||
		    { skip "$_tp_sec" "$_tp_tool" "spoold did not start"; return 1; }
		run "$B/mkjobs" "$_tp_d/spool/tmp" "$N" j 2>/dev/null ||
		    { skip "$_tp_sec" "$_tp_tool" "mkjobs failed"; return 1; }
		sync
		_tp_t=$("$B/renamer" "$_tp_d/spool/tmp" "$_tp_d/spool/$_tp_first/queue") ||
		    { skip "$_tp_sec" "$_tp_tool" "renamer failed"; return 1; }
	fi
	run "$B/waitcount" -p "$SPID" -t "${TP_LIMIT:-$(limit "$_tp_runs")}" \
	    "$_tp_d/spool/$_tp_last/done" "$N" >"$_tp_d/t1"
	_tp_ok=$?
	_tp_t1=$(cat "$_tp_d/t1")
	if [ "$_tp_mode" = queued ]; then
		_tp_t0=$(cat "$_tp_d/t0")
	else
		_tp_t0=${_tp_t%% *}
	fi
	spoold_stop "$SPID"
	_tp_err=$(count "$_tp_d/spool/$_tp_first/error")
	[ "$_tp_kind" = chain ] && _tp_err=$((_tp_err + $(count "$_tp_d/spool/b/error")))
	if [ $_tp_ok -ne 0 ] || [ "$_tp_err" -ne 0 ]; then
		log "$_tp_tool: failed ($_tp_err in error/); log:"
		tail -5 "$_tp_d/spoold.log" >&2
		skip "$_tp_sec" "$_tp_tool" "failed"
		return 1
	fi
	_tp_s=$(calc "($_tp_t1 - $_tp_t0) / 1e9")
	RATE=$(calc1 "$N / $_tp_s")
	if [ "$_tp_kind" = chain ]; then
		_tp_rr=$(calc1 "$_tp_runs / $_tp_s")
		rec "$_tp_sec" "$_tp_tool" "$_tp_rr" "runs/s" \
		    "$_tp_rr runs/s = $RATE jobs/s ($_tp_s s)" \
		    "\"seconds\": $_tp_s, \"jobs\": $N, \"runs\": $_tp_runs, \"jobs_per_s\": $RATE" "$_tp_ref"
		RATE=$_tp_rr
	elif [ -z "${TP_NOREC:-}" ]; then
		rec "$_tp_sec" "$_tp_tool" "$RATE" "jobs/s" "$RATE jobs/s ($_tp_s s)" \
		    "\"seconds\": $_tp_s, \"jobs\": $N" "$_tp_ref"
	fi
	[ "$KEEP" = 1 ] || rm -rf "$_tp_d"
}

# tp_cmd SECTION TOOL RUNS INPUT CMD...: times a command that runs RUNS
# jobs, its standard input from the file INPUT.
tp_cmd() {
	_tc_sec=$1 _tc_tool=$2 _tc_runs=$3 _tc_in=$4
	shift 4
	log "$_tc_sec: $_tc_tool ($_tc_runs runs)"
	_tc_t0=$(now_ns)
	if ! RUN_IN=$_tc_in run "$@" >/dev/null 2>"$WORK/cmd.err"; then
		log "$_tc_tool failed:"
		tail -5 "$WORK/cmd.err" >&2
		skip "$_tc_sec" "$_tc_tool" "failed"
		return 1
	fi
	_tc_t1=$(now_ns)
	_tc_s=$(calc "($_tc_t1 - $_tc_t0) / 1e9")
	_tc_r=$(calc1 "$_tc_runs / $_tc_s")
	RATE=$_tc_r
	[ -n "${TC_NOREC:-}" ] ||
	rec "$_tc_sec" "$_tc_tool" "$_tc_r" "runs/s" "$_tc_r runs/s ($_tc_s s)" \
	    "\"seconds\": $_tc_s, \"runs\": $_tc_runs"
}

# tsp_batch DIR ARGS: submits a job to the task-spooler server of DIR for
# each line of the file ARGS, one tsp call each, then waits for all.
tsp_batch() {
	export TS_SOCKET="$1/ts.sock" TMPDIR="$1"
	while read -r _tb_f; do
		tsp /bin/true "$_tb_f" >/dev/null || return 1
	done <"$2"
	tsp -w >/dev/null 2>&1
	while tsp -l | awk 'NR > 1 && ($2 == "running" || $2 == "queued" ||
	    $2 == "allocating") { busy = 1 } END { exit !busy }'; do
		sleep 0.02
	done
	[ "$(tsp -l | awk 'NR > 1 && $2 == "finished" && $4 != 0' | wc -l)" \
	    -eq 0 ]
}

tsp_server() {	# DIR: a task-spooler server with 2 slots, its socket in DIR
	TSP_SOCKS="$TSP_SOCKS $1/ts.sock"
	TS_SOCKET=$1/ts.sock TMPDIR=$1 tsp -S 2 >/dev/null 2>&1
}

# median X...: the middle one of the numbers, or the mean of the middle two.
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
	    if (NR % 2) printf "%s", v[(NR + 1) / 2]
	    else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# tp_users: jobs queued before start, the stage run as spoold's own user
# (A) and, as root, as AS_USER (B), and xargs -P2 (X) on the same jobs, in
# six rounds, one for each order of the three (A B X, A X B, B A X, ...),
# so that the rows see the same machine and a drift of its speed favours
# none. Each row is the median of its six runs; the ratios of B to A and
# of B to X are also taken round by round, and their medians recorded.
tp_same() {
	TP_NOREC=1 tp_spoold $S "$_tu_same" queued 1 0 && _tu_a=$RATE
}
tp_other() {
	can_as_user || return 0
	TP_NOREC=1 as_user tp_spoold $S "$_tu_other" queued 1 0 &&
	    _tu_b=$RATE
}
tp_xargs() {
	TC_NOREC=1 tp_cmd $S "$_tu_xargs" "$N" "$_th_a.u" xargs -P2 -n1 \
	    /bin/true && _tu_x=$RATE
}
# tp_median TOOL UNIT RATE...: the row of TOOL, the median of its rates.
tp_median() {
	_tm_tool=$1 _tm_unit=$2
	shift 2
	[ $# -eq 6 ] || return 1
	_tm_list=$(echo "$@" | sed 's/ /, /g')
	_tm_m=$(calc1 "$(median "$@")")
	rec $S "$_tm_tool" "$_tm_m" "$_tm_unit" "$_tm_m $_tm_unit (median of $*)" \
	    "\"runs\": [$_tm_list]" "$REF"
}
# tp_round ORDER: one run of each, in ORDER; the rates and ratios kept.
tp_round() {
	_tu_a="" _tu_b="" _tu_x=""
	for _tu_w in $1; do
		"tp_$_tu_w"
	done
	_tu_as="$_tu_as $_tu_a" _tu_bs="$_tu_bs $_tu_b" _tu_xs="$_tu_xs $_tu_x"
	[ -n "$_tu_a" ] && [ -n "$_tu_b" ] && [ -n "$_tu_x" ] || return 0
	_tu_ba="$_tu_ba $(calc "$_tu_b / $_tu_a")"
	_tu_bx="$_tu_bx $(calc "$_tu_b / $_tu_x")"
}
# tp_ratio TOOL RATIO...: the median of the ratios of six rounds, a row
# of unit "x" that has no ratio to the section's reference.
tp_ratio() {
	_tr_tool=$1
	shift
	[ $# -eq 6 ] || return 1
	_tr_m=$(calc "$(median "$@")")
	rec $S "$_tr_tool" "$_tr_m" "x" "x$_tr_m (median of $*)" \
	    "\"ratios\": [$(echo "$@" | sed 's/ /, /g')]"
}
tp_users() {
	_tu_same="spoold, 1 stage, queued before start"
	_tu_other="$_tu_same, stage user $AS_USER"
	_tu_xargs="xargs -P2 -n1"
	_tu_as="" _tu_bs="" _tu_xs="" _tu_ba="" _tu_bx=""
	_tu_n=$N
	N=$USERS_N
	head -n "$N" "$_th_a" >"$_th_a.u"
	for _tu_r in "same other xargs" "other xargs same" "xargs same other" \
	    "same xargs other" "xargs other same" "other same xargs"; do
		tp_round "$_tu_r"
	done
	N=$_tu_n
	# shellcheck disable=SC2086 # the lists of rates, split
	tp_median "$_tu_same" jobs/s $_tu_as
	# shellcheck disable=SC2086
	tp_median "$_tu_other" jobs/s $_tu_bs ||
	    skip $S "$_tu_other" "needs root and user $AS_USER"
	# shellcheck disable=SC2086
	tp_median "$_tu_xargs" runs/s $_tu_xs
	# shellcheck disable=SC2086
	tp_ratio "stage user $AS_USER / same user, round by round" $_tu_ba ||
	    skip $S "stage user $AS_USER / same user" "a run failed"
	# shellcheck disable=SC2086
	tp_ratio "stage user $AS_USER / xargs -P2, round by round" $_tu_bx ||
	    skip $S "stage user $AS_USER / xargs -P2" "a run failed"
}

throughput() {
	S=throughput
	section $S "throughput: $N jobs of /bin/true, 2 slots" \
	    "ratio = value / spoold renamed in (higher is faster)"
	REF="spoold, 1 stage, renamed in while running"
	tp_spoold $S "$REF" renamed 1 0
	TP_SYNC=$RATE
	_th_a=$WORK/args
	awk -v n="$N" -v d="$WORK/jobs" \
	    'BEGIN { for (i = 1; i <= n; i++) printf "%s/j%07d\n", d, i }' >"$_th_a"
	tp_users
	if parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
		head -n "$PAR_N" "$_th_a" >"$_th_a.par"
		_th_t="GNU parallel -j2"
		[ "$PAR_N" -lt "$N" ] && _th_t="$_th_t (first $PAR_N jobs)"
		tp_cmd $S "$_th_t" "$PAR_N" "$_th_a.par" \
		    parallel --will-cite -j2 /bin/true
	else
		skip $S "GNU parallel -j2" "not installed"
	fi
	if command -v tsp >/dev/null 2>&1; then
		_th_d=$(newdir tsp)
		tsp_server "$_th_d"
		tp_cmd $S "task-spooler, tsp -S 2" "$N" /dev/null \
		    tsp_batch "$_th_d" "$_th_a"
		TS_SOCKET=$_th_d/ts.sock tsp -K >/dev/null 2>&1
		[ "$KEEP" = 1 ] || rm -rf "$_th_d"
	else
		skip $S "task-spooler, tsp -S 2" "not installed"
	fi
	tp_cmd $S "forkloop, 2 slots (fork+exec limit)" "$N" /dev/null \
	    "$B/forkloop" -k 2 -n "$N" /bin/true "$WORK/jobs/j"
	tp_cmd $S "spawnloop, 2 slots (posix_spawn limit)" "$N" /dev/null \
	    "$B/forkloop" -s -k 2 -n "$N" /bin/true "$WORK/jobs/j"

	S=chain
	section $S "chain: $N jobs through 2 stages (= $((2 * N)) runs), 2 children at most" \
	    "ratio = runs/s / spoold's (higher is faster)"
	tp_spoold $S "spoold, stages a -> b, renamed in" renamed chain 0
	awk '{ print; print }' "$_th_a" >"$_th_a.2"
	tp_cmd $S "xargs -P2 -n1, 2N commands" "$((2 * N))" "$_th_a.2" \
	    xargs -P2 -n1 /bin/true
}

# ---------------------------------------------------------------- latency

# lat_rec SECTION TOOL RESULT [REF]: RESULT is latency's summary line.
lat_rec() {
	set -- "$1" "$2" "${4:-}" $3
	# $1 section $2 tool $3 ref $4 n $5 p50 $6 p90 $7 p99 $8 min $9 max
	rec "$1" "$2" "$5" "ms" "$5 / $6 / $7 ms" \
	    "\"p50_ms\": $5, \"p90_ms\": $6, \"p99_ms\": $7, \"min_ms\": $8, \"max_ms\": $9, \"n\": $4" "$3"
}

# lat_spoold SECTION TOOL HOW NOSYNC [REF]: HOW is rename, mv, spoolctl or
# busy (rename while a long job holds the other slot). Sets LAT_R, the
# result line (n p50 p90 p99 min max); with LAT_NOREC, records no row.
lat_spoold() {
	_ls_sec=$1 _ls_tool=$2 _ls_how=$3 _ls_ns=$4 _ls_ref=${5:-}
	LAT_R=""
	_ls_d=$(newdir lat)
	conf_begin "$_ls_d" "$_ls_ns"
	conf_stage "$_ls_d" lat 2 "" "$B/stamp" "$_ls_d/stamps"
	: >"$_ls_d/stamps"
	chmod 666 "$_ls_d/stamps"
	log "$_ls_sec: $_ls_tool ($LAT_N jobs)"
	spoold_start "$_ls_d" "$_ls_ns"
	spoold_ready "$_ls_d" ||
	    { skip "$_ls_sec" "$_ls_tool" "spoold did not start"; return 1; }
	_ls_q=$_ls_d/spool/lat/queue
	set -- -n "$LAT_N" -g "$GAP" -s "$_ls_d/stamps" -d "$_ls_d/spool/lat/done" \
	    -o "$_ls_d/lat.ns"
	case $_ls_how in
	rename) set -- "$@" rename "$_ls_d/spool/tmp" "$_ls_q" ;;
	busy)
		: >"$_ls_d/spool/tmp/busy.1"
		mv "$_ls_d/spool/tmp/busy.1" "$_ls_q/busy.1"
		"$B/waitcount" -i 5 -t 10 "$_ls_d/spool/lat/running" 1 >/dev/null ||
		    { skip "$_ls_sec" "$_ls_tool" "busy job not running"; return 1; }
		set -- "$@" rename "$_ls_d/spool/tmp" "$_ls_q" ;;
	mv) set -- "$@" -P "$_ls_d/spool/tmp" exec mv %p "$_ls_q/%n" ;;
	spoolctl)
		: >"$_ls_d/empty"
		set -- "$@" exec "$SPOOLCTL" -c "$_ls_d/spoold.conf" submit \
		    "$_ls_d/empty" ;;
	esac
	if run "$B/latency" "$@" >"$_ls_d/latency.out" 2>"$_ls_d/latency.err"; then
		_ls_r=$(cat "$_ls_d/latency.out")
		[ -n "${LAT_NOREC:-}" ] ||
		    lat_rec "$_ls_sec" "$_ls_tool" "$_ls_r" "$_ls_ref"
		LAT_R=$_ls_r
	else
		log "$_ls_tool failed:"
		tail -3 "$_ls_d/latency.err" "$_ls_d/spoold.log" >&2
		skip "$_ls_sec" "$_ls_tool" "failed"
	fi
	spoold_stop "$SPID"
	[ "$KEEP" = 1 ] || rm -rf "$_ls_d"
}

# lat_users: the rename(2) rows, the stage run as spoold's own user (A)
# and, as root, as AS_USER (B): three runs of each in the order A B B A A
# B; each row is the run of the median p50 of its three. Sets LAT_P50,
# that of A.
lat_same() {
	LAT_NOREC=1 lat_spoold $S "$_lu_same" rename 0 &&
	    _lu_a="$_lu_a$(printf '%s\n' "$LAT_R")
"
}
lat_other() {
	can_as_user || return 0
	LAT_NOREC=1 as_user lat_spoold $S "$_lu_other" rename 0 &&
	    _lu_b="$_lu_b$(printf '%s\n' "$LAT_R")
"
}
# lat_median TOOL RESULTS: the row of TOOL from the result line (n p50
# p90 p99 min max) of the median p50 among three; 1 if not three.
lat_median() {
	[ "$(printf '%s' "$2" | grep -c .)" -eq 3 ] || return 1
	lat_rec $S "$1" "$(printf '%s' "$2" | sort -k2,2n | sed -n 2p)"
}
lat_users() {
	_lu_same="spoold, rename(2) into queue/"
	_lu_other="$_lu_same, stage user $AS_USER"
	_lu_a="" _lu_b=""
	for _lu_w in same other other same same other; do
		"lat_$_lu_w"
	done
	LAT_P50=$(printf '%s' "$_lu_a" | sort -k2,2n | sed -n 2p |
	    awk '{ print $2 }')
	lat_median "$_lu_same" "$_lu_a" ||
	    skip $S "$_lu_same" "failed"
	lat_median "$_lu_other" "$_lu_b" ||
	    skip $S "$_lu_other" "needs root and user $AS_USER"
}

latency() {
	S=latency
	section $S "latency: submit -> exec on an idle queue, $LAT_N jobs one after another (p50 / p90 / p99)" \
	    "ratio = p50 / spoold rename(2)'s p50 (lower is faster)"
	lat_users
	LAT_SYNC=$LAT_P50
	lat_spoold $S "spoold, mv into queue/" mv 0
	lat_spoold $S "spoold, spoolctl submit" spoolctl 0
	lat_spoold $S "spoold, rename(2), other slot busy" busy 0

	for _la_how in fork posix_spawn; do
		_la_d=$(newdir floor)
		case $_la_how in
		fork) _la_t="floor: fork+exec of stamp" _la_o="" ;;
		*) _la_t="floor: posix_spawn of stamp" _la_o=-S ;;
		esac
		log "$S: $_la_t"
		if run "$B/latency" $_la_o -n "$LAT_N" -g "$GAP" \
		    -s "$_la_d/stamps" exec "$B/stamp" "$_la_d/stamps" \
		    >"$_la_d/out" 2>"$_la_d/err"; then
			lat_rec $S "$_la_t" "$(cat "$_la_d/out")"
		else
			skip $S "$_la_t" "failed"
		fi
	done

	if command -v tsp >/dev/null 2>&1; then
		_la_d=$(newdir tsplat)
		log "$S: task-spooler"
		tsp_server "$_la_d"
		if run env TS_SOCKET="$_la_d/ts.sock" TMPDIR="$_la_d" "$B/latency" \
		    -n "$LAT_N" -g "$GAP" -s "$_la_d/stamps" \
		    exec tsp "$B/stamp" "$_la_d/stamps" >"$_la_d/out" 2>"$_la_d/err"; then
			lat_rec $S "task-spooler: tsp stamp" "$(cat "$_la_d/out")"
		else
			tail -3 "$_la_d/err" >&2
			skip $S "task-spooler: tsp stamp" "failed"
		fi
		TS_SOCKET=$_la_d/ts.sock tsp -K >/dev/null 2>&1
	else
		skip $S "task-spooler: tsp stamp" "not installed"
	fi

	if command -v nq >/dev/null 2>&1; then
		_la_d=$(newdir nq)
		log "$S: nq"
		mkdir -p "$_la_d/nq"
		if run env NQDIR="$_la_d/nq" "$B/latency" -n "$LAT_N" -g "$GAP" \
		    -s "$_la_d/stamps" exec nq "$B/stamp" "$_la_d/stamps" \
		    >"$_la_d/out" 2>"$_la_d/err"; then
			lat_rec $S "nq: nq stamp" "$(cat "$_la_d/out")"
		else
			tail -3 "$_la_d/err" >&2
			skip $S "nq: nq stamp" "failed"
		fi
	else
		skip $S "nq: nq stamp" "not installed"
	fi
}

# ---------------------------------------------------------------- scale

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

scale() {
	section first_claim "scale: time from spoold's exec to its first claim" \
	    "ratio = value / the 10^3 row's"
	section rss "scale: peak RSS of spoold (VmHWM, after the claims below)" \
	    "ratio = value / the 10^3 row's"
	section claims "scale: claim throughput over the first min(queued, $SCALE_CLAIMS) jobs, 2 slots" \
	    "ratio = value / the 10^3 row's"
	for _sc_e in 3 4 5 6; do
		_sc_n=1
		for _sc_i in $(seq "$_sc_e"); do _sc_n=$((_sc_n * 10)); done
		[ "$_sc_n" -le "$SCALE_MAX" ] || continue
		_sc_tool="10^$_sc_e queued"
		_sc_start=$(now_ns)
		_sc_d=$(newdir scale)
		conf_begin "$_sc_d" 0
		conf_stage "$_sc_d" s1 2 "" "$B/stamp" "$_sc_d/stamps"
		mkdir -p "$_sc_d/spool/s1/queue"
		log "scale: creating $_sc_n job files"
		_sc_t0=$(now_ns)
		run "$B/mkjobs" "$_sc_d/spool/s1/queue" "$_sc_n" j 2>/dev/null ||
		    { skip first_claim "$_sc_tool" "mkjobs failed"; continue; }
		_sc_t1=$(now_ns)
		sync
		_sc_t2=$(now_ns)
		_sc_mk=$(calc "($_sc_t1 - $_sc_t0) / 1e9")
		_sc_sy=$(calc "($_sc_t2 - $_sc_t1) / 1e9")
		_sc_m=$SCALE_CLAIMS
		[ "$_sc_n" -lt "$_sc_m" ] && _sc_m=$_sc_n
		log "scale: $_sc_tool (made in $_sc_mk s, synced in $_sc_sy s); running $_sc_m"
		spoold_start "$_sc_d" 0
		if ! run "$B/waitcount" -p "$SPID" -t "$(limit "$_sc_m")" \
		    "$_sc_d/spool/s1/done" "$_sc_m" >/dev/null; then
			tail -5 "$_sc_d/spoold.log" >&2
			spoold_stop "$SPID"
			skip first_claim "$_sc_tool" "failed"
			continue
		fi
		_sc_hwm=$(status_kb "$SPID" VmHWM)
		_sc_rss=$(status_kb "$SPID" VmRSS)
		spoold_stop "$SPID"
		_sc_t0=$(cat "$_sc_d/t0")
		sort -n "$_sc_d/stamps" >"$_sc_d/stamps.sorted"
		_sc_first=$(awk 'NR == 1 { print $1 }' "$_sc_d/stamps.sorted")
		_sc_last=$(awk -v m="$_sc_m" 'NR == m { print $1 }' "$_sc_d/stamps.sorted")
		_sc_fc=$(calc "($_sc_first - $_sc_t0) / 1e6")
		_sc_cs=$(calc1 "($_sc_m - 1) / (($_sc_last - $_sc_first) / 1e9)")
		_sc_mib=$(calc1 "$_sc_hwm / 1024")
		_sc_per=$(awk "BEGIN { printf \"%d\", $_sc_hwm * 1024 / $_sc_n }")
		# The cost of a queued job: the growth of VmHWM over the
		# smallest step, per job more.
		_sc_inc=""
		if [ -z "${_sc_hwm0:-}" ]; then
			_sc_hwm0=$_sc_hwm _sc_n0=$_sc_n
		else
			_sc_inc=$(awk "BEGIN { printf \"%d\", ($_sc_hwm - $_sc_hwm0) * 1024 / ($_sc_n - $_sc_n0) }")
		fi
		rec rss "$_sc_tool" "$_sc_mib" MiB \
		    "$_sc_mib MiB${_sc_inc:+ (+$_sc_inc B per queued job over the smallest)}" \
		    "\"queued\": $_sc_n, \"vmhwm_kb\": $_sc_hwm, \"vmrss_kb\": $_sc_rss, \"bytes_per_queued_job\": $_sc_per${_sc_inc:+, \"bytes_per_extra_queued_job\": $_sc_inc}"
		rec claims "$_sc_tool" "$_sc_cs" "jobs/s" "$_sc_cs jobs/s" \
		    "\"queued\": $_sc_n, \"jobs\": $_sc_m"
		log "scale: removing the spool"
		[ "$KEEP" = 1 ] || run rm -rf "$_sc_d"
		_sc_step=$(calc1 "($(now_ns) - $_sc_start) / 1e9")
		rec first_claim "$_sc_tool" "$_sc_fc" ms "$_sc_fc ms" \
		    "\"queued\": $_sc_n, \"create_s\": $_sc_mk, \"sync_s\": $_sc_sy, \"step_s\": $_sc_step"
		log "scale: 10^$_sc_e took $_sc_step s in all"
	done
}

# ---------------------------------------------------------------- idle

# pstats PID...: "CPU_NS VOLUNTARY INVOLUNTARY WRITE_BYTES NPROC" summed over
# the processes alive among PID...: CPU time from /proc/PID/schedstat (ns),
# else utime+stime of /proc/PID/stat; context switches of /proc/PID/status;
# write_bytes of /proc/PID/io.
pstats() {
	_ps_hz=$(getconf CLK_TCK)
	for _ps_p in "$@"; do
		alive "$_ps_p" || continue
		if [ -r "/proc/$_ps_p/schedstat" ]; then
			_ps_c=$(cut -d' ' -f1 "/proc/$_ps_p/schedstat")
		else
			_ps_c=$(awk -v hz="$_ps_hz" '{ sub(/.*\) /, "");
			    printf "%d", ($12 + $13) * 1e9 / hz }' "/proc/$_ps_p/stat")
		fi
		awk -v c="$_ps_c" '$1 == "voluntary_ctxt_switches:" { v = $2 }
		    $1 == "nonvoluntary_ctxt_switches:" { n = $2 }
		    END { print c, v + 0, n + 0 }' "/proc/$_ps_p/status"
		awk '$1 == "write_bytes:" { w = $2 } END { print "w", w + 0 }' \
		    "/proc/$_ps_p/io" 2>/dev/null
	done | awk '$1 == "w" { w += $2; next }
	    { c += $1; v += $2; n += $3; p++ }
	    END { printf "%d %d %d %d %d\n", c, v, n, w, p }'
}

# idle_rec TOOL SECONDS BEFORE AFTER: the rows of one tool from two pstats.
idle_rec() {
	set -- "$1" "$2" $3 $4
	# $3 cpu $4 vol $5 invol $6 write $7 nproc, then $8..$12 after
	_ir_cpu=$(calc "(${8} - $3) / 1e6")
	_ir_v=$((${9} - $4))
	_ir_n=$((${10} - $5))
	_ir_w=$((${11} - $6))
	_ir_p=${12}
	_ir_x="\"seconds\": $2, \"processes\": $_ir_p"
	rec idle_cpu "$1" "$_ir_cpu" ms "$_ir_cpu ms ($_ir_p processes)" "$_ir_x"
	rec idle_wake "$1" "$_ir_v" "" \
	    "$_ir_v ($(calc "$_ir_v / $2")/s; +$_ir_n involuntary)" \
	    "$_ir_x, \"involuntary\": $_ir_n"
	rec idle_write "$1" "$_ir_w" B \
	    "$(calc1 "$_ir_w / 1024") KiB ($(calc1 "$_ir_w / 1024 / $2") KiB/s)" \
	    "$_ir_x"
}

idle() {
	section idle_cpu "idle: CPU time over $IDLE s, the daemon and its helpers" \
	    "ratio = value / spoold's"
	section idle_wake "idle: wake-ups (voluntary context switches) over $IDLE s" \
	    "ratio = value / spoold's"
	section idle_write "idle: bytes written to disk (write_bytes) over $IDLE s" \
	    "ratio = value / spoold's"
	_id_d=$(newdir idle)
	conf_begin "$_id_d" 0
	conf_stage "$_id_d" s1 2 "" /bin/true %f
	spoold_start "$_id_d" 0
	spoold_ready "$_id_d" ||
	    { skip idle_cpu spoold "spoold did not start"; return 1; }
	_id_tp=""
	if command -v tsp >/dev/null 2>&1; then
		tsp_server "$_id_d"
		_id_tp=$(ss -xlpn 2>/dev/null | grep -F "$_id_d/ts.sock" |
		    sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
	fi
	log "idle: $IDLE s"
	sleep 2
	_id_sp="$SPID $(descendants "$SPID")"
	_id_s0=$(pstats $_id_sp)
	[ -n "$_id_tp" ] && _id_t0=$(pstats "$_id_tp")
	sleep "$IDLE"
	_id_s1=$(pstats $_id_sp)
	[ -n "$_id_tp" ] && _id_t1=$(pstats "$_id_tp")
	if alive "$SPID"; then
		idle_rec spoold "$IDLE" "$_id_s0" "$_id_s1"
	else
		skip idle_cpu spoold "it died"
	fi
	if [ -n "$_id_tp" ]; then
		idle_rec "task-spooler server" "$IDLE" "$_id_t0" "$_id_t1"
	else
		skip idle_cpu "task-spooler server" "not found"
	fi
	spoold_stop "$SPID"
	TS_SOCKET=$_id_d/ts.sock tsp -K >/dev/null 2>&1
	[ "$KEEP" = 1 ] || rm -rf "$_id_d"
}

# ---------------------------------------------------------------- durability

durability() {
	S=durability
	section $S "durability: fsync(2)/syncfs(2) on (the default) and off ($NOSYNC_ENV$NOSYNC_CONF)" \
	    "ratio = value / the same figure with fsync"
	_du_r1="throughput, 1 stage, renamed in, with fsync"
	if [ -n "${TP_SYNC:-}" ]; then
		rec $S "$_du_r1" "$TP_SYNC" "jobs/s" "$TP_SYNC jobs/s (the throughput run)"
	else
		tp_spoold $S "$_du_r1" renamed 1 0
	fi
	tp_spoold $S "throughput, 1 stage, renamed in, no fsync" renamed 1 1 "$_du_r1"
	_du_r2="latency p50, rename(2), with fsync"
	if [ -n "${LAT_SYNC:-}" ]; then
		rec $S "$_du_r2" "$LAT_SYNC" ms "$LAT_SYNC ms (the latency run)" "" "$_du_r2"
	else
		lat_spoold $S "$_du_r2" rename 0 "$_du_r2"
	fi
	lat_spoold $S "latency p50, rename(2), no fsync" rename 1 "$_du_r2"
}

# ---------------------------------------------------------------- pipeline

# pipe_pages DIR: K comics of P pages, DIR/cNN.cbz, each page a scanner's
# page of text (2550x3300, 1 bit, 300 dpi: letter at 300 dpi, as a scan
# is stored), drawn with ImageMagick in a DejaVu font. The words are the
# project's own prose (README.md), from a different place for each page,
# so that every comic differs from the others (prep's dedupe would send a
# copy to error/).
pipe_pages() {
	_pp_d=$1
	_pp_im=$(for _pp_c in convert-im6.q16 magick convert; do
		command -v "$_pp_c" && break
	done)
	[ -n "$_pp_im" ] || { log "$S: ImageMagick is not installed"; return 1; }
	tr -s '[:space:]' '[\n*]' <"$ROOT/README.md" |
	    grep -E "^[A-Za-z][a-z']{0,14}[.,;:]?$" >"$_pp_d/words" || return 1
	# 48 lines of up to 78 characters, 14 points (58 px) apart, from
	# 0.8 inch down and 0.75 inch in.
	awk -v pages="$((PIPE_K * PIPE_P))" '
	    { w[n++] = $0 }
	    END {
		for (p = 0; p < pages; p++) {
			i = p * 211
			for (l = 0; l < 48; l++) {
				line = ""
				while (length(line) + length(w[i % n]) < 78)
					line = line (line == "" ? "" : " ") w[i++ % n]
				printf "%d\t%d\t%s\n", p + 1, 240 + 58 * l, line
			}
		}
	    }' "$_pp_d/words" >"$_pp_d/lines" || return 1
	# One ImageMagick run a page: all pages in one would outgrow the
	# memory its policy allows and crawl through its disk cache.
	mkdir "$_pp_d/pages" || return 1
	_pp_p=0
	_pp_tab=$(printf '\t')
	while [ $_pp_p -lt $((PIPE_K * PIPE_P)) ]; do
		_pp_p=$((_pp_p + 1))
		set --
		while IFS=$_pp_tab read -r _pp_k _pp_y _pp_l; do
			[ "$_pp_k" != "$_pp_p" ] ||
			    set -- "$@" -annotate "+225+$_pp_y" "$_pp_l"
		done <"$_pp_d/lines"
		if ! "$_pp_im" -size 2550x3300 xc:white -font DejaVu-Serif \
		    -pointsize 42 -fill black "$@" \
		    -monochrome -units PixelsPerInch -density 300 \
		    -define png:bit-depth=1 -define png:color-type=0 \
		    "$_pp_d/pages/p$(printf '%03d' $_pp_p).png" \
		    2>"$_pp_d/im.err"; then
			log "$S: ImageMagick failed: $(head -c 300 "$_pp_d/im.err")"
			return 1
		fi
	done
	_pp_c=0
	while [ $_pp_c -lt "$PIPE_K" ]; do
		_pp_c=$((_pp_c + 1))
		_pp_name=$(printf 'c%02d' "$_pp_c")
		mkdir "$_pp_d/$_pp_name" || return 1
		_pp_i=0
		while [ $_pp_i -lt "$PIPE_P" ]; do
			_pp_i=$((_pp_i + 1))
			mv "$_pp_d/pages/p$(printf '%03d' \
			    $(((_pp_c - 1) * PIPE_P + _pp_i))).png" \
			    "$_pp_d/$_pp_name/page$_pp_i.png" || return 1
		done
		(cd "$_pp_d/$_pp_name" &&
		    bsdtar --format zip -cf "../$_pp_name.cbz" ./*.png) || return 1
		rm -rf "${_pp_d:?}/$_pp_name"
	done
}

# pipe_spoold DIR: the comics of DIR through spoold on the shipped
# conf/spoold.conf (its stages, slots, environment and users; its spool
# and the paths of its programs made to fit DIR), all renamed into prep's
# queue at once, timed until the last is in the last stage's done/.
# Sets PIPE_SPOOLD (seconds) or leaves it empty.
pipe_spoold() {
	_ps_tool="spoold, conf/spoold.conf"
	_ps_d=$(newdir pipe-spoold) || return 1
	sed -e 's|^spool = "data"|spool = "spool"|' \
	    -e "s|\"\\.\\./|\"$ROOT/|g" "$ROOT/conf/spoold.conf" \
	    >"$_ps_d/spoold.conf" || return 1
	chmod 644 "$_ps_d/spoold.conf"
	_ps_last=$(awk '$1 == "stage" { s = $2 } END { print s }' \
	    "$_ps_d/spoold.conf")
	log "$S: $_ps_tool ($PIPE_K comics)"
	spoold_start "$_ps_d" 0
	spoold_ready "$_ps_d" ||
	    { skip "$S" "$_ps_tool" "spoold did not start"; return 1; }
	for _ps_f in "$1"/c*.cbz; do
		cp "$_ps_f" "$_ps_d/spool/tmp/.${_ps_f##*/}" || return 1
	done
	_ps_t0=$(now_ns)
	for _ps_f in "$_ps_d"/spool/tmp/.c*.cbz; do
		mv "$_ps_f" "$_ps_d/spool/prep/queue/${_ps_f##*/.}" || return 1
	done
	run "$B/waitcount" -i 100 -p "$SPID" \
	    -t $((600 + 300 * PIPE_K * PIPE_P)) \
	    "$_ps_d/spool/$_ps_last/done" "$PIPE_K" >"$_ps_d/t1"
	_ps_ok=$?
	spoold_stop "$SPID"
	_ps_err=$(find "$_ps_d/spool" -path '*/error/*' -type f | wc -l)
	if [ $_ps_ok -ne 0 ] || [ "$_ps_err" -ne 0 ]; then
		log "$_ps_tool: failed ($_ps_err in error/); log:"
		tail -5 "$_ps_d/spoold.log" >&2
		skip "$S" "$_ps_tool" "failed"
		return 1
	fi
	PIPE_SPOOLD=$(calc "($(cat "$_ps_d/t1") - $_ps_t0) / 1e9")
	[ "$KEEP" = 1 ] || rm -rf "$_ps_d"
}

# pipe_xargs DIR: the same comics, each through stages/prep then
# stages/ocr in a work folder of its own, nproc of them at once by xargs,
# with the environment the shipped config gives ocr (OCR_LANGUAGES) and
# no SPOOL_CPUS, as a user would run them: ocr's default. Sets PIPE_XARGS
# (seconds) or leaves it empty.
pipe_xargs() {
	_px_tool="xargs -P$(nproc), prep then ocr"
	_px_d=$(newdir pipe-xargs) || return 1
	_px_env=$(sed -n '/^stage ocr {/,/^}/s/^[[:space:]]*env = {"\([^"]*\)"}.*/\1/p' \
	    "$ROOT/conf/spoold.conf")
	# shellcheck disable=SC2016 # the script's own expansions
	{
		echo '# one.sh DIR COMIC: prep then ocr of COMIC in DIR/work/NAME.'
		echo 'set -e'
		echo 'w=$1/work/${2##*/}'
		echo 'mkdir -p "$w"'
		echo 'cd "$w"'
		echo '"$STAGES/prep" "$2" >>log 2>&1'
		echo 'env -u SPOOL_CPUS $OCR_ENV "$STAGES/ocr" "$2" >>log 2>&1'
	} >"$_px_d/one.sh"
	ls "$1"/c*.cbz >"$_px_d/list"
	log "$S: $_px_tool ($PIPE_K comics)"
	_px_t0=$(now_ns)
	if ! STAGES=$ROOT/stages OCR_ENV=$_px_env RUN_IN=$_px_d/list \
	    run xargs -P"$(nproc)" -n1 sh "$_px_d/one.sh" "$_px_d" \
	    >/dev/null 2>"$_px_d/err"; then
		log "$_px_tool failed:"
		tail -n 5 "$_px_d/err" "$_px_d"/work/*/log >&2
		skip "$S" "$_px_tool" "failed"
		return 1
	fi
	_px_t1=$(now_ns)
	_px_n=$(find "$_px_d/work" -name book.ocr.pdf | wc -l)
	if [ "$_px_n" -ne "$PIPE_K" ]; then
		skip "$S" "$_px_tool" "$_px_n of $PIPE_K PDFs"
		return 1
	fi
	PIPE_XARGS=$(calc "($_px_t1 - $_px_t0) / 1e9")
	[ "$KEEP" = 1 ] || rm -rf "$_px_d"
}

# pipe_rec TOOL T1 T2 T3: the row of TOOL, the median of its three times.
pipe_rec() {
	_pr_tool=$1
	shift
	[ $# -eq 3 ] || return 0 # a run failed: its row says skipped
	_pr_t=$(median "$@")
	_pr_r=$(calc "$_pl_pages / $_pr_t")
	rec "$S" "$_pr_tool" "$_pr_r" pages/s \
	    "$_pr_r pages/s ($_pr_t s, median of $1 $2 $3)" \
	    "\"seconds\": $_pr_t, \"runs\": [$1, $2, $3], \"comics\": $PIPE_K, \"pages\": $_pl_pages" \
	    "$_pl_x"
}

# pipeline: the shipped pipeline on real work, spoold against the plain
# script a user would write, in the same run: BENCH_PIPE_K comics of
# BENCH_PIPE_PAGES scanned pages of text each.
pipeline() {
	S=pipeline
	PIPE_K=${BENCH_PIPE_K:-6}
	PIPE_P=${BENCH_PIPE_PAGES:-2}
	_pl_pages=$((PIPE_K * PIPE_P))
	_pl_s="spoold, conf/spoold.conf"
	_pl_x="xargs -P$(nproc), prep then ocr"
	section "$S" "pipeline: $PIPE_K comics of $PIPE_P scanned pages of text (2550x3300, 1 bit, 300 dpi) through prep and ocr, $(nproc) CPUs" \
	    "ratio = pages/s / xargs's = xargs's time / spoold's (higher is better for spoold)"
	_pl_d=$(newdir pipe-pages) || return 1
	log "$S: drawing $_pl_pages pages"
	if ! pipe_pages "$_pl_d"; then
		skip "$S" "$_pl_s" "no pages drawn"
		return 1
	fi
	# Three runs of each, in the order S X X S S X, so that a drift of
	# the machine's speed favours neither; each row is the median.
	_pl_ts="" _pl_tx=""
	for _pl_w in s x x s s x; do
		PIPE_SPOOLD="" PIPE_XARGS=""
		case $_pl_w in
		s) pipe_spoold "$_pl_d" && _pl_ts="$_pl_ts $PIPE_SPOOLD" ;;
		x) pipe_xargs "$_pl_d" && _pl_tx="$_pl_tx $PIPE_XARGS" ;;
		esac
	done
	# shellcheck disable=SC2086 # the lists of times, split
	pipe_rec "$_pl_s" $_pl_ts
	# shellcheck disable=SC2086
	pipe_rec "$_pl_x" $_pl_tx
	[ "$KEEP" = 1 ] || rm -rf "$_pl_d"
}

# ---------------------------------------------------------------- slurm

# slurm_bare N: N jobs of /bin/true given to sbatch directly, all at once,
# timed until squeue lists none of them; sets RATE (jobs/s).
slurm_bare() {
	RATE=""
	_sb_t0=$(now_ns)
	_sb_i=0
	while [ $_sb_i -lt "$1" ]; do
		_sb_i=$((_sb_i + 1))
		sbatch --quiet --job-name=spoold-bench-bare --output=/dev/null \
		    --wrap=/bin/true || return 1
	done
	while [ -n "$(squeue -h -n spoold-bench-bare -o %i)" ]; do
		sleep 0.1
	done
	_sb_s=$(calc "($(now_ns) - $_sb_t0) / 1e9")
	RATE=$(calc1 "$1 / $_sb_s")
	rec $S "sbatch directly, all at once (Slurm's own rate)" "$RATE" jobs/s \
	    "$RATE jobs/s ($_sb_s s)" "\"seconds\": $_sb_s, \"jobs\": $1" \
	    "$_sl_ref"
}

# slurm: the cost of a stage on Slurm: BENCH_SLURM_N trivial jobs through
# one stage of 16 slots run here, then as jobs of a single-node Slurm
# cluster on localhost (started by the shared recipe; root only), and
# given to sbatch directly. The overhead per job is the wall time per job
# on Slurm less here; spoold's share, less sbatch directly.
slurm() {
	S=slurm
	_sl_slots=16
	_sl_n=${BENCH_SLURM_N:-500}
	section $S "slurm: $_sl_n jobs of /bin/true through 1 stage of $_sl_slots slots, here then on Slurm (1 node, localhost)" \
	    "ratio = value / the local stage's"
	_sl_ref="spoold, local stage"
	_sl_r=${SLURM_RECIPES:-$ROOT/../shared/recipes}
	if [ "$(id -u)" -ne 0 ]; then
		skip $S "spoold, slurm stage" "slurm needs root"
		return
	fi
	if ! sh "$ROOT/tests/blackbox/slurm-up.sh" "$_sl_r" "$WORK/slurm.log"
	then
		skip $S "spoold, slurm stage" "the cluster runs no job (see $_sl_r)"
		return
	fi
	_sl_n0=$N
	N=$_sl_n
	TP_SLOTS=$_sl_slots tp_spoold $S "$_sl_ref" queued 1 0
	_sl_local=$RATE _sl_ls=$_tp_s
	CS_EXTRA='runner = "slurm"' TP_SLOTS=$_sl_slots TP_LIMIT=$((60 + N)) \
	    tp_spoold $S "spoold, slurm stage" queued 1 0 "$_sl_ref"
	_sl_slurm=$RATE _sl_ss=$_tp_s
	N=$_sl_n0
	slurm_bare "$_sl_n"
	_sl_bare=$RATE
	[ -n "$_sl_local" ] && [ -n "$_sl_slurm" ] || return
	_sl_ml=$(calc1 "$_sl_ls * 1000 / $_sl_n")
	_sl_ms=$(calc1 "$_sl_ss * 1000 / $_sl_n")
	rec $S "wall time per job, local stage" "$_sl_ml" ms "$_sl_ml ms" "" \
	    "wall time per job, local stage"
	rec $S "wall time per job, slurm stage" "$_sl_ms" ms \
	    "$_sl_ms ms: $(calc1 "$_sl_ms - $_sl_ml") ms more per job than local" \
	    "\"overhead_ms\": $(calc1 "$_sl_ms - $_sl_ml")" \
	    "wall time per job, local stage"
	[ -n "$_sl_bare" ] || return
	_sl_mb=$(calc1 "$_sb_s * 1000 / $_sl_n")
	rec $S "wall time per job, sbatch directly" "$_sl_mb" ms \
	    "$_sl_mb ms: spoold adds $(calc1 "$_sl_ms - $_sl_mb") ms per job to Slurm's own" \
	    "\"spoold_ms\": $(calc1 "$_sl_ms - $_sl_mb")" \
	    "wall time per job, local stage"
}

# ---------------------------------------------------------------- report

json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

report() {
	_rp_end=$(now_ns)
	_rp_dur=$(calc1 "($_rp_end - $START_NS) / 1e9")
	_rp_model=$(awk -F': *' '$1 ~ /^model name/ { print $2; exit }' /proc/cpuinfo)
	_rp_mem=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
	_rp_load1=$(cut -d' ' -f1-3 /proc/loadavg)
	_rp_fs=$(df -PT "$TMPBASE" 2>/dev/null | awk 'NR == 2 { print $2 }')
	_rp_ver=$("$SPOOLD" -V 2>&1 | head -1)
	_rp_rev=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
	awk -F'\t' -v secs="$SECS" -v txt="$TXT" -v json="$JSON" \
	    -v nproc="$(nproc)" -v model="$(json_str "$_rp_model")" \
	    -v kernel="$(uname -r)" -v date="$START_DATE" -v mem="$_rp_mem" \
	    -v load0="$LOAD0" -v load1="$_rp_load1" -v fs="$_rp_fs" \
	    -v ver="$(json_str "$_rp_ver")" -v rev="$_rp_rev" \
	    -v dur="$_rp_dur" -v n="$N" -v parn="$PAR_N" \
	    -v latn="$LAT_N" -v smax="$SCALE_MAX" -v idle="$IDLE" \
	    -v quick="$QUICK" -v gap="$GAP" -v times="$TIMES" '
	function num(v) { return v == "" ? "null" : v }
	function js(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
	BEGIN {
		while ((getline line < secs) > 0) {
			split(line, f, "\t")
			ns++; sid[ns] = f[1]; stitle[f[1]] = f[2]; snote[f[1]] = f[3]
		}
	}
	{
		nr[$1]++; k = $1 SUBSEP nr[$1]
		tool[k] = $2; val[k] = $3; unit[k] = $4; disp[k] = $5
		extra[k] = $6; ref[k] = $7
		if (!(($1 SUBSEP $2) in byname) && $3 != "")
			byname[$1 SUBSEP $2] = $3
		if (nr[$1] == 1) first[$1] = $3
	}
	END {
		out = sprintf("spoold benchmark, %s, %s (%s): %s, %d CPU, " \
		    "kernel %s, %s; load %s at start, %s at end; %s s\n", date,
		    ver, rev, model, nproc, kernel, fs, load0, load1, dur)
		j = sprintf("{\n  \"machine\": {\"nproc\": %d, \"model\": \"%s\", " \
		    "\"kernel\": \"%s\", \"mem_kb\": %s, \"tmp_fs\": \"%s\", " \
		    "\"date\": \"%s\", \"loadavg_start\": \"%s\", " \
		    "\"loadavg_end\": \"%s\"},\n", nproc, model, kernel,
		    num(mem), fs, date, load0, load1)
		j = j sprintf("  \"spoold\": \"%s\",\n  \"revision\": \"%s\",\n" \
		    "  \"params\": {\"n\": %d, \"parallel_n\": %d, " \
		    "\"lat_n\": %d, \"gap_ms\": %d, \"scale_max\": %d, " \
		    "\"idle_s\": %d, \"quick\": %s},\n  \"duration_s\": %s,\n" \
		    "  \"section_s\": {", ver, rev, n, parn, latn, gap, smax, idle,
		    quick == 1 ? "true" : "false", dur)
		nt = 0
		while ((getline line < times) > 0) {
			split(line, f, " ")
			tt = tt sprintf("%s%s %s s", nt ? ", " : "", f[1], f[2])
			j = j sprintf("%s\"%s\": %s", nt++ ? ", " : "", f[1], f[2])
		}
		j = j "},\n  \"sections\": ["
		for (s = 1; s <= ns; s++) {
			id = sid[s]
			out = out sprintf("\n%s\n  (%s)\n", stitle[id], snote[id])
			out = out sprintf("  %-48s %-44s %s\n", "tool", "value",
			    "ratio")
			j = j sprintf("%s\n    {\"id\": \"%s\", \"title\": \"%s\", " \
			    "\"ratio\": \"%s\", \"rows\": [", s > 1 ? "," : "",
			    id, js(stitle[id]), js(snote[id]))
			for (r = 1; r <= nr[id]; r++) {
				k = id SUBSEP r
				rv = ref[k] != "" ? byname[id SUBSEP ref[k]] : first[id]
				ratio = ""
				if (val[k] != "" && rv != "" && rv + 0 != 0 &&
				    unit[k] != "x")
					ratio = sprintf("%.2f", val[k] / rv)
				out = out sprintf("  %-48s %-44s %s\n", tool[k],
				    disp[k], ratio == "" ? "-" : "x" ratio)
				j = j sprintf("%s\n      {\"tool\": \"%s\", " \
				    "\"value\": %s, \"unit\": \"%s\", " \
				    "\"ratio\": %s, \"shown\": \"%s\"%s%s}",
				    r > 1 ? "," : "", js(tool[k]), num(val[k]),
				    unit[k], num(ratio), js(disp[k]),
				    extra[k] != "" ? ", " : "", extra[k])
			}
			j = j "\n    ]}"
		}
		j = j "\n  ]\n}\n"
		out = out "\ntime per section: " tt "\n"
		printf "%s", out
		printf "%s", out > txt
		printf "%s", j > json
	}' "$RES"
	log "wrote $JSON and $TXT in $_rp_dur s"
}

# ---------------------------------------------------------------- main

START_NS=$(now_ns)
START_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
install_peers
build
mkdir -p "$TMPBASE" "$(dirname "$JSON")"
WORK=$(mktemp -d "$TMPBASE/spoold-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$WORK"
mkdir -p "$WORK/jobs"
RES=$WORK/results.tsv
SECS=$WORK/sections.tsv
: >"$RES"
: >"$SECS"
log "N=$N, latency $LAT_N jobs, scale up to $SCALE_MAX, idle $IDLE s, in $WORK"
TIMES=$WORK/times
: >"$TIMES"
for _s in ${BENCH_SECTIONS:-throughput latency durability scale idle slurm pipeline}; do
	case $_s in
	throughput|latency|durability|scale|idle|slurm|pipeline) ;;
	*) die "BENCH_SECTIONS: no section $_s" ;;
	esac
	_t=$(now_ns)
	$_s
	_t=$(calc1 "($(now_ns) - $_t) / 1e9")
	log "$_s took $_t s"
	printf '%s %s\n' "$_s" "$_t" >>"$TIMES"
done
report
