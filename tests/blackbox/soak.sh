#!/bin/sh
# soak.sh: many jobs through a two-stage pipeline while spoold is killed
# with SIGKILL at random moments and restarted at once; then every job
# must be in b/done exactly once, no two runs of a job overlapped, the
# status records say done and metrics.json is valid JSON. It prints the
# counts it saw. For make torture:
#
#	SPOOLD=build/spoold sh tests/blackbox/soak.sh [JOBS [KILLS]]
#
# Conditions are strings that check and wait_for evaluate later, so:
# shellcheck disable=SC2016,SC2034

set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
NJOBS=${1:-10000}
NKILLS=${2:-50}
PATTERNS=""
# shellcheck source=tests/blackbox/lib.sh
. "$HERE/lib.sh"

t_soak() {
	conf_by_name a
	start
	# Every tenth job fails its first run, for retries under the kills.
	i=0
	while [ $i -lt "$NJOBS" ]; do
		i=$((i + 1))
		case $i in
		*0) : >"$D/tmp/fail1-$i" ;;
		*) : >"$D/tmp/j$i" ;;
		esac
	done
	find "$D/tmp" -mindepth 1 -maxdepth 1 -exec mv -t "$D/a/queue/" {} +
	kill_restart "$NKILLS" 200 1300
	diag "$NKILLS kills, $CUT jobs caught in running/"
	wait_for 'count "$D/b/done"; [ $CNT -eq $NJOBS ]' 3600 ||
	    fail "$CNT of $NJOBS jobs in b/done"
	stop
	check '[ $RC -eq 0 ]' "spoold exits $RC"
	empty "$D/a/queue" "$D/a/running" "$D/a/error" "$D/b/queue" \
	    "$D/b/running" "$D/b/error"
	n=$(find "$D"/*/queue "$D"/*/running "$D"/*/done "$D"/*/error \
	    -mindepth 1 | wc -l)
	check '[ "$n" -eq "$NJOBS" ]' "$n jobs in the spool, not $NJOBS"
	n=$(find "$D"/*/queue "$D"/*/running "$D"/*/done "$D"/*/error \
	    -mindepth 1 -printf '%f\n' | sort | uniq -d | wc -l)
	check '[ "$n" -eq 0 ]' "$n jobs are in two places"
	n=$(grep -L '"stage":"b","state":"done"' "$D"/work/*/status.json |
	    wc -l)
	check '[ "$n" -eq 0 ]' \
	    "$n status records of jobs in b/done do not say b, done"
	check 'python3 -m json.tool "$D/index/metrics.json" >/dev/null' \
	    "metrics.json is not valid JSON"
	overlaps >"$T/overlaps"
	check '! grep -q "^OVERLAP" "$T/overlaps"' \
	    "runs of a job overlapped: $(grep -c "^OVERLAP" "$T/overlaps") times, first $(grep -m 1 "^OVERLAP" "$T/overlaps")"
	# shellcheck disable=SC2046
	set -- $(tail -n 1 "$T/overlaps")
	diag "$NJOBS jobs, each in b/done once; $2 runs ($((NJOBS * 2 + NJOBS / 10)) without the kills), $4 cut short, 0 overlaps"
}

run soak
finish
