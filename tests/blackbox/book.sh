#!/bin/sh
# Conditions are passed to wait_for unexpanded, on purpose.
# shellcheck disable=SC2016
# book.sh: a 50-page comic through the shipped stages (stages/prep, ocr,
# publish) under the real spoold on a temporary spool, followed in
# `spoolctl watch` run in a detached tmux session: the pane shows the ocr
# stage's progress page by page, and out/ gets a PDF of 50 pages whose
# text pdftotext finds on the right pages.
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SPOOLD=${SPOOLD:-$TOP/build/spoold}
SPOOLCTL=${SPOOLCTL:-$TOP/build/spoolctl}
ME=$(id -un)
PAGES=50
PID=
# shellcheck source=/dev/null
. "$TOP/tests/blackbox/tap.sh"
tap_dir book
D=$W/data
CONF=$W/spoold.conf

# The tmux server of this suite, on a socket of its own in W.
tm() { tmux -S "$W/tmux.sock" "$@"; }

cleanup() {
	if [ -S "$W/tmux.sock" ]; then
		tm send-keys -t book q 2>/dev/null
		tm kill-server 2>/dev/null
	fi
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		wait_for '! kill -0 "$PID" 2>/dev/null' 5
	fi
	reap "$W" "$PID"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# skip_book WHY: the whole suite is skipped.
skip_book() {
	skip book "$1"
	finish
}

# ms: milliseconds since boot, by /proc/uptime (hundredths of a second),
# which no setting of the clock moves.
ms() {
	read -r _up _ </proc/uptime
	echo "${_up%.*}${_up#*.}0"
}

# secs FROM TO: the milliseconds between them as seconds, "12.3".
secs() { echo "$((($2 - $1) / 1000)).$((($2 - $1) % 1000 / 100))"; }

for tool in bsdtar img2pdf ocrmypdf pdftotext pdfinfo tmux python3; do
	command -v "$tool" >/dev/null 2>&1 || skip_book "$tool is not installed"
done

t0=$(ms)
sh "$TOP/contrib/sample.sh" "$W/book.cbz" "$PAGES" >/dev/null 2>"$W/sample.err"
rc=$?
[ "$rc" -ne 69 ] || skip_book "$(cat "$W/sample.err")"
n=$(bsdtar -tf "$W/book.cbz" 2>/dev/null | grep -c '^page[0-9]*\.png$')
if [ "$rc" -eq 0 ] && [ "$n" -eq "$PAGES" ]; then
	ok "sample.sh makes a comic of $PAGES pages"
else
	notok "sample.sh makes a comic of $PAGES pages" \
	    "exit $rc, $n pages; $(head -n 3 "$W/sample.err")"
	finish
fi
echo "# sample.sh: $(secs "$t0" "$(ms)") s"

cat >"$CONF" <<CONF
spool = "data"
kill_grace = 1
shutdown_grace = 2
stage prep {
    command = {"$TOP/stages/prep", "%f"}
    next = "ocr"
    attempts = 1
    timeout = 600
    heartbeat = 120
    user = "$ME"
}
stage ocr {
    command = {"$TOP/stages/ocr", "%f"}
    next = "publish"
    attempts = 1
    timeout = 1800
    heartbeat = 300
    env = {"OCR_LANGUAGES=eng"}
    user = "$ME"
}
stage publish {
    command = {"$TOP/stages/publish", "%f"}
    attempts = 1
    user = "$ME"
}
CONF
chmod 644 "$CONF"
cat >"$W/tmux.conf" <<'TMUX'
set -g remain-on-exit on
set -g status off
TMUX

"$SPOOLD" -c "$CONF" 2>"$W/spoold.err" &
PID=$!
if ! wait_for '[ -f "$D/index/metrics.json" ]' 10; then
	notok "spoold starts" "$(tail -n 3 "$W/spoold.err")"
	finish
fi

# watch's exit status goes to watch.rc: tmux 3.3a does not always reap its
# pane's process, and then has no #{pane_dead_status}.
unset TMUX
if ! tm -f "$W/tmux.conf" new-session -d -s book -x 200 -y 50 \
    sh -c '"$@"; echo $? >"$0"' "$W/watch.rc" "$SPOOLCTL" -c "$CONF" watch \
    2>"$W/tmux.err" ||
    ! wait_for 'tm capture-pane -p -t book 2>/dev/null | grep -q "^RUNNING"' 10
then
	notok "spoolctl watch runs in tmux" \
	    "$(cat "$W/tmux.err"; tm capture-pane -p -t book 2>/dev/null |
	    grep . | head -n 3)"
	finish
fi

t0=$(ms)
if ! id=$("$SPOOLCTL" -c "$CONF" submit "$W/book.cbz" 2>"$W/submit.err"); then
	notok "submit" "$(cat "$W/submit.err")"
	finish
fi

# The panes, captured every 0.2 s while the job runs; the ocr row's
# progress lines seen.
: >"$W/seen"
done_in=
i=0
while [ "$i" -lt 9000 ]; do
	tm capture-pane -p -t book >"$W/pane" 2>/dev/null
	grep -E '^ocr +' "$W/pane" |
	    grep -oE "ocr: page [1-9][0-9]*/$PAGES" >>"$W/seen"
	if [ -z "$done_in" ] && [ -f "$D/out/book.pdf" ]; then
		done_in=$(secs "$t0" "$(ms)")
	fi
	if [ -n "$done_in" ] && [ -e "$D/publish/done/$id" ]; then
		break
	fi
	if [ -n "$(find "$D" -path '*/error/*' -type f)" ]; then
		break
	fi
	sleep 0.2
	i=$((i + 1))
done
if [ -n "$done_in" ]; then
	echo "# took $done_in s"
else
	echo "# no out/book.pdf after $(secs "$t0" "$(ms)") s"
fi
if [ -f "$D/log/$id.log" ]; then
	echo "# runs: $(sed -n 's/^=== spoold: .* stage \([a-z]*\) attempt [0-9]* exit .* after \([0-9.]*\)s.*$/\1 \2 s/p' \
	    "$D/log/$id.log" | paste -sd, - | sed 's/,/, /g')"
fi

seen=$(sort -u "$W/seen" | wc -l)
if [ "$seen" -ge 3 ]; then
	ok "watch shows the ocr progress ($seen lines ocr: page N/$PAGES)"
else
	notok "watch shows the ocr progress" \
	    "$seen distinct lines ocr: page N/$PAGES; last pane: $(grep . "$W/pane" | tr -s ' ' | tail -n 4 | tr '\n' '|')"
fi

pages=$(pdfinfo "$D/out/book.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
if [ "${pages:-0}" -eq "$PAGES" ]; then
	ok "out/book.pdf has $PAGES pages"
else
	notok "out/book.pdf has $PAGES pages" \
	    "${pages:-no PDF}; $(find "$D" -path '*/error/*' -type f) $(tail -n 5 "$D/log/$id.log" 2>/dev/null)"
fi

# Each page's text on its own page, and in that order in the whole text.
why=
for k in 1 $((PAGES / 2)) "$PAGES"; do
	pdftotext -f "$k" -l "$k" "$D/out/book.pdf" - 2>/dev/null |
	    grep -q "Page $k of $PAGES spoold" ||
	    why="$why page $k does not say \"Page $k of $PAGES spoold\";"
done
order=$(pdftotext "$D/out/book.pdf" - 2>/dev/null | grep -n "Page [0-9]* of $PAGES spoold" |
    sed -n 's/^\([0-9]*\):.*Page \([0-9]*\) of.*/\2 \1/p' |
    awk -v a=1 -v b=$((PAGES / 2)) -v c="$PAGES" '
	$1 == a { la = $2 } $1 == b { lb = $2 } $1 == c { lc = $2 }
	END { print (la && lb && lc && la < lb && lb < lc) ? "yes" : "no" }')
[ "$order" = yes ] || why="$why not in order in the whole text;"
if [ -z "$why" ]; then
	ok "pdftotext finds pages 1, $((PAGES / 2)) and $PAGES in order"
else
	notok "pdftotext finds pages 1, $((PAGES / 2)) and $PAGES in order" "$why"
fi

if [ -e "$D/publish/done/$id" ]; then
	ok "the job ends in publish/done/"
else
	notok "the job ends in publish/done/" \
	    "$("$SPOOLCTL" -c "$CONF" show "$id" 2>&1 | tr '\n' ' ')"
fi

tm send-keys -t book q
if wait_for '[ -s "$W/watch.rc" ]' 5 && [ "$(cat "$W/watch.rc")" = 0 ]; then
	ok "watch quits with q, exit 0"
else
	notok "watch quits with q, exit 0" \
	    "exit status: $(cat "$W/watch.rc" 2>/dev/null || echo none after 5 s)"
fi
tm kill-server 2>/dev/null

stop_spoold "$W/spoold.err"
finish
