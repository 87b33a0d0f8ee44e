#!/bin/sh
# Conditions are passed to wait_for unexpanded, on purpose.
# shellcheck disable=SC2016
# page.sh: index/status.html as a browser shows it. The real spoold runs
# three stages: jobs that succeed, jobs that fail with exit 65 (one with a
# hostile name), a job that fails once and then succeeds, and a job that
# hangs with a progress message while two wait behind it. The page and
# metrics.json of one tick are then compared: as HTML (the table's numbers,
# nothing fetched from elsewhere, names escaped), and as headless Chromium
# shows it, read back by Tesseract (each stage's row, the running job and
# its progress, the jobs done in the last hour).
#
# SPOOLD (default build/spoold) is the daemon tested; PAGE_SHOT, when set,
# is where the screenshot is kept (and metrics.json beside it, as
# NAME.metrics.json); SKIP_CHROMIUM=1 skips the rendering when
# there is no Chromium, which otherwise fails the test.
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SPOOLD=${SPOOLD:-$TOP/build/spoold}
STAGES=$TOP/tests/stages
ME=$(id -un)
PID=
# shellcheck source=/dev/null
. "$TOP/tests/blackbox/tap.sh"
tap_dir page
D=$W/data

cleanup() {
	reap "$W" "$PID"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

if ! command -v python3 >/dev/null 2>&1; then
	notok "python3" "not installed (make deps)"
	finish
fi
BROWSER=
for b in chromium chromium-browser; do
	if command -v "$b" >/dev/null 2>&1; then
		BROWSER=$b
		break
	fi
done
if [ -z "$BROWSER" ] || ! command -v tesseract >/dev/null 2>&1; then
	if [ "${SKIP_CHROMIUM:-}" != 1 ]; then
		notok "chromium and tesseract" "not installed: as root run \
apt-get install -y chromium tesseract-ocr-eng, or set SKIP_CHROMIUM=1"
		finish
	fi
	BROWSER=
fi

cat >"$W/spoold.conf" <<CONF
spool = "data"
tick = 1
cpus = 8
shutdown_grace = 1
kill_grace = 1
stage alpha {
    command = {"$STAGES/by-name"}
    slots = 4
    user = "$ME"
}
stage beta {
    command = {"$STAGES/by-name"}
    backoff = 1
    user = "$ME"
}
stage gamma {
    command = {"$STAGES/heartbeat"}
    env = {"PAGES=9999", "BEAT=600"}
    user = "$ME"
}
CONF
chmod 644 "$W/spoold.conf"
"$SPOOLD" -c "$W/spoold.conf" 2>"$W/spoold.err" &
PID=$!
# The first tick samples the counters: the jobs come after it.
if ! wait_for '[ -f "$D/index/status.html" ]' 20; then
	notok "spoold writes index/status.html" \
	    "not there; $(tail -n 3 "$W/spoold.err" | tr '\n' ' ')"
	finish
fi

# submit STAGE NAME...: each job written in tmp/, then renamed into queue/.
submit() {
	_stage=$1
	shift
	for _j in "$@"; do
		if ! { echo "$_j" >"$D/tmp/$_j" &&
		    mv "$D/tmp/$_j" "$D/$_stage/queue/"; }; then
			notok "submit $_j" "cannot write it or move it"
		fi
	done
}

HOSTILE="bad-<b>&\"x'"
submit gamma slowjob
submit alpha ok-a1 ok-a2 ok-a3 ok-a4 ok-a5 ok-a6 ok-a7 bad-a1 bad-a2 \
    "$HOSTILE"
submit beta ok-b1 ok-b2 ok-b3 ok-b4 fail1-b5 bad-b1 bad-b2
wait_for '[ -f "$D/gamma/running/slowjob" ]' 20 &&
    wait_for 'grep -qs "page 1/9999" "$D/work/slowjob/heartbeat"' 20
submit gamma wait-1 wait-2

# nums FILE KEY...: values of the metrics.json FILE, each KEY at its top
# or STAGE.KEY, on one line.
nums() {
	python3 - "$@" <<'PY' 2>/dev/null
import json, sys
o = json.load(open(sys.argv[1]))
out = []
for k in sys.argv[2:]:
    s, _, key = k.rpartition(".")
    out.append(str((o["stages"][s] if s else o)[key]))
print(" ".join(out))
PY
}

want="12 5 1 2 1 7 3 5 2 1"
state() {
	nums "$D/index/metrics.json" "done" error retries queued running \
	    alpha.done alpha.error beta.done beta.error beta.retries
}
if wait_for '[ "$(state)" = "$want" ]' 60; then
	ok "the jobs done, failed, retried, waiting and running"
else
	notok "the jobs done, failed, retried, waiting and running" \
	    "metrics.json says $(state), not $want"
fi

# The page and metrics.json of one tick, copied while spoold is stopped.
tick=
for _ in 1 2 3 4 5 6 7 8 9 10; do
	kill -STOP "$PID"
	cp "$D/index/metrics.json" "$W/metrics.json"
	cp "$D/index/status.html" "$W/page.html"
	kill -CONT "$PID"
	tick=$(nums "$W/metrics.json" updatedAt)
	grep -q "datetime=\"$tick\"" "$W/page.html" && break
	tick=
	sleep 0.3
done
if [ -n "$tick" ]; then
	ok "status.html and metrics.json of the same tick ($tick)"
else
	notok "status.html and metrics.json of the same tick" \
	    "their updatedAt never matched"
fi

# (a) The HTML: tags that close, nothing from elsewhere, the numbers of
# metrics.json in the table, the hostile name as text.
what="status.html: well formed, self-contained, metrics.json's numbers"
if python3 - "$W/page.html" "$W/metrics.json" "$HOSTILE" >"$W/html.out" \
    2>&1 <<'PY'
import json, re, sys
from html.parser import HTMLParser

VOID = {"meta", "br", "rect", "line", "path"}
BAD = {"script", "link", "img", "iframe", "object", "embed", "base",
    "form", "audio", "video", "source", "input"}

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.faults, self.tables = [], [], {}
        self.table = self.row = self.cell = None
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag in BAD:
            self.faults.append("a <%s> element" % tag)
        for k, v in attrs:
            if k.startswith("on") or (v and re.search(
                    r"(^|[^a-z])(https?:|//|data:|javascript:)", v, re.I)):
                self.faults.append("%s=%r on <%s>" % (k, v, tag))
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag == "table":
            self.table = self.tables.setdefault(dict(attrs).get("id"), [])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.faults.append("</%s> closes <%s>" % (tag,
                self.stack[-1] if self.stack else "nothing"))
            return
        self.stack.pop()
        if tag in ("td", "th"):
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr":
            self.table.append(self.row)

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)

html = open(sys.argv[1], encoding="utf-8").read()
m = json.load(open(sys.argv[2]))
p = Page()
p.feed(html)
p.close()
faults = p.faults
if p.stack:
    faults.append("unclosed: %s" % " ".join(p.stack))
for s in ("http:", "https:", "url(", "@import", "<script"):
    if s in html.lower():
        faults.append("%r in the page" % s)
cols = ["slots", "queued", "running", "deferred", "done", "error",
    "retries", "timeouts"]
rows = {r[0]: r[1:] for r in p.tables.get("stages", [])[1:]}
for name, st in m["stages"].items():
    want = [str(st[c]) for c in cols]
    if rows.get(name) != want:
        faults.append("row %s: %s, not %s" % (name, rows.get(name), want))
tot = [str(sum(s["slots"] for s in m["stages"].values()))] + \
    [str(m[c]) for c in cols[1:]]
if rows.get("total") != tot:
    faults.append("row total: %s, not %s" % (rows.get("total"), tot))
if len(rows) != len(m["stages"]) + 1:
    faults.append("rows %s" % sorted(rows))
run = p.tables.get("running", [])[1:]
if len(run) != 1 or run[0][:3] != ["gamma", "slowjob", "1"] or \
        not re.fullmatch(r"pid [0-9]+", run[0][3]) or \
        run[0][5] != "page 1/9999":
    faults.append("running: %s" % run)
errs = p.tables.get("errors", [])[1:]
if sorted(e[2] for e in errs) != sorted(["bad-a1", "bad-a2", sys.argv[3],
        "bad-b1", "bad-b2"]) or any(e[3] != "exit 65" for e in errs):
    faults.append("errors: %s" % errs)
text = " ".join("".join(p.text).split())
if "done in the last hour: %d " % m["done"] not in text:
    faults.append("no 'done in the last hour: %d'" % m["done"])
for f in faults:
    print(f)
sys.exit(1 if faults else 0)
PY
then
	ok "$what"
else
	notok "$what" "$(tr '\n' ';' <"$W/html.out")"
fi

# (b) Chromium's view of the page, at twice the pixels of a 1280x900
# window (the same layout): Tesseract misreads a lone 0 at 1x.
if [ -z "$BROWSER" ]; then
	skip "the page in Chromium" "SKIP_CHROMIUM=1 and no Chromium"
	stop_spoold "$W/spoold.err"
	finish
fi
mkdir "$W/profile"
cp "$W/page.html" "$W/status.html"
timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync \
    --user-data-dir="$W/profile" --hide-scrollbars --window-size=1280,900 \
    --force-device-scale-factor=2 --screenshot="$W/shot.png" \
    "file://$W/status.html" >"$W/chromium.out" 2>&1
if [ -s "$W/shot.png" ]; then
	ok "Chromium renders the page"
	if [ -n "${PAGE_SHOT:-}" ]; then
		cp "$W/shot.png" "$PAGE_SHOT"
		cp "$W/metrics.json" "${PAGE_SHOT%.png}.metrics.json"
	fi
else
	notok "Chromium renders the page" "$(tail -n 3 "$W/chromium.out")"
	stop_spoold "$W/spoold.err"
	finish
fi

# (c) What Tesseract reads in it: each stage's row, then the totals, with
# the numbers of metrics.json in the columns' order; the running job and
# its progress; the jobs done in the last hour.
tesseract "$W/shot.png" - >"$W/ocr.txt" 2>/dev/null
if python3 - "$W/ocr.txt" "$W/metrics.json" >"$W/ocr.out" 2>&1 <<'PY'
import json, re, sys

# What Tesseract makes of a lone 0, never of another digit.
ZERO = {"O", "o", "Oo", "oO", "0)", "(0)", "i)", "()"}

def tokens(line):
    return [("0" if t in ZERO else t) for t in line.split()
        if re.search(r"[0-9A-Za-z]", t)]

lines = [tokens(l) for l in open(sys.argv[1], encoding="utf-8")]
m = json.load(open(sys.argv[2]))
cols = ["slots", "queued", "running", "deferred", "done", "error",
    "retries", "timeouts"]
want = {n: [str(s[c]) for c in cols] for n, s in m["stages"].items()}
want["total"] = [str(sum(s["slots"] for s in m["stages"].values()))] + \
    [str(m[c]) for c in cols[1:]]
faults = []
for name, nums in want.items():
    if [name] + nums not in [l[:9] for l in lines]:
        seen = [" ".join(l) for l in lines if l and l[0] == name]
        faults.append("no row '%s %s' (%s)" % (name, " ".join(nums),
            " | ".join(seen) or "no line starts with it"))
if not any("slowjob" in l and "page" in l and "1/9999" in l and
        "gamma" in l for l in lines):
    faults.append("no line with gamma, slowjob and 'page 1/9999'")
hour = "done in the last hour: %d" % m["done"]
if not any(" ".join(l).startswith(hour + " ") for l in lines):
    faults.append("no '%s'" % hour)
for f in faults:
    print(f)
sys.exit(1 if faults else 0)
PY
then
	ok "the page as read on the screen: the rows, the running job, the hour"
else
	notok "the page as read on the screen: the rows, the running job, \
the hour" "$(tr '\n' ';' <"$W/ocr.out")"
	sed 's/^/# /' "$W/ocr.txt"
fi

stop_spoold "$W/spoold.err"
finish
