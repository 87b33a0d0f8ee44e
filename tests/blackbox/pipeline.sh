#!/bin/sh
# Conditions are passed to wait_for unexpanded, on purpose.
# shellcheck disable=SC2016
# pipeline.sh: the shipped stages (stages/prep, ocr, publish) run by the
# real spoold on a temporary spool: a comic in, a searchable PDF out; bad
# archives end in prep/error/ with their reason; the same comic submitted
# again is a duplicate, not run; spoolctl info shows the stages' tools; the
# on_error hook of contrib/notify writes its message in the job's log; a
# small page without a resolution (a 640x682 map) comes out with at least
# the words tesseract reads from the image itself.
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SPOOLD=${SPOOLD:-$TOP/build/spoold}
SPOOLCTL=${SPOOLCTL:-$TOP/build/spoolctl}
# shellcheck source=/dev/null
. "$TOP/tests/blackbox/tap.sh"
tap_dir pipeline
D=$W/data
# As root, the production configuration: the stages run as nobody, who
# reaches the spool through its group and publishes in a folder its own.
OUT=$W/out
mkdir "$OUT"
if [ "$(id -u)" = 0 ]; then
	ME=nobody
	GROUP="group = \"$(id -gn nobody)\""
	chown nobody "$OUT"
else
	ME=$(id -un)
	GROUP=""
fi
PID=

cleanup() {
	reap "$W" "$PID"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM


for tool in bsdtar img2pdf ocrmypdf pdftotext python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		skip pipeline "$tool is not installed (make deps-pipeline)"
		finish
	fi
done

cat >"$W/spoold.conf" <<CONF
spool = "data"
$GROUP
stage prep {
    command = {"$TOP/stages/prep", "%f"}
    next = "ocr"
    attempts = 1
    env = {"PREP_MAX_MEMBERS=5"}
    user = "$ME"
    dedupe = true
    version_command = {"$TOP/stages/prep", "--version"}
    on_error = {"$TOP/contrib/notify/notify", "%i", "%s"}
}
stage ocr {
    version_command = {"$TOP/stages/ocr", "--version"}
    command = {"$TOP/stages/ocr", "%f"}
    next = "publish"
    heartbeat = 60
    env = {"OCR_LANGUAGES=eng"}
    user = "$ME"
}
stage publish {
    command = {"$TOP/stages/publish", "%f"}
    env = {"PUBLISH_DIR=$OUT"}
    user = "$ME"
}
CONF
chmod 644 "$W/spoold.conf"
"$SPOOLD" -c "$W/spoold.conf" 2>"$W/spoold.err" &
PID=$!
wait_for '[ -f "$D/index/spoold.pid" ]' 10 || { notok start "spoold did not start"; }

# The sample, and the same pages as page9/page10 stored in reverse order.
sh "$TOP/contrib/sample.sh" "$W/sample.cbz" >/dev/null
mkdir "$W/pages"
python3 - "$W/sample.cbz" "$W/order.cbz" <<'PY'
import sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile(sys.argv[2], "w") as z:
    z.writestr("notes.txt", "not a page")
    z.writestr("page10.png", src.read("page2.png"))
    z.writestr("page9.png", src.read("page1.png"))
PY
head -c 4096 /dev/urandom >"$W/corrupt.cbz"
python3 - "$W/empty.cbz" "$W/bomb.cbz" "$W/sample.cbz" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("readme.txt", "no image here")
page = zipfile.ZipFile(sys.argv[3]).read("page1.png")
with zipfile.ZipFile(sys.argv[2], "w") as z:
    for i in range(8):
        z.writestr("p%d.png" % i, page)
PY

# The map: 640x682, small labels, no resolution (no pHYs chunk), as a
# screen picture is; its eleven words.
MAP_WORDS="North Harbour Old Mill Road Market Square Lighthouse Point River
Crossing"
IM=$(for c in convert-im6.q16 magick convert; do
	command -v "$c" && break
done)
mkdir "$W/map"
if [ -n "$IM" ] && command -v tesseract >/dev/null 2>&1 &&
    "$IM" -size 640x682 xc:'#f2efe6' \
    -stroke '#9fc3e8' -strokewidth 12 -draw 'line 0,300 640,360' \
    -stroke white -strokewidth 6 -draw 'line 320,0 290,682' \
    -stroke '#e0a060' -strokewidth 4 -draw 'line 0,560 640,500' \
    -stroke none -fill '#cfe8c0' -draw 'rectangle 40,60 260,220' \
    -draw 'circle 470,560 540,600' \
    -fill '#333333' -font DejaVu-Sans -pointsize 9 \
    -annotate +60+120 'North Harbour' -annotate +380+120 'Old Mill Road' \
    -annotate +60+420 'Market Square' -pointsize 8 \
    -annotate +400+470 'Lighthouse Point' -annotate +120+640 'River Crossing' \
    -alpha off -depth 8 -define png:exclude-chunks=pHYs,date,time \
    "$W/map/map.png" 2>"$W/map/im.err" &&
    (cd "$W/map" && python3 -c '
import sys, zipfile
with zipfile.ZipFile("../map.cbz", "w") as z:
    z.write("map.png")'); then
	MAP=map
else
	MAP=""
fi

for f in sample order corrupt empty bomb $MAP; do
	"$SPOOLCTL" -c "$W/spoold.conf" submit --name "$f.cbz" "$W/$f.cbz" \
	    >"$W/$f.id" || notok "submit $f" "spoolctl failed"
done

job_id() { cat "$W/$1.id"; }

if wait_for '[ -f "$OUT/sample.pdf" ]' 120 &&
    pdftotext "$OUT/sample.pdf" - | grep -q "reads comics" &&
    pdftotext "$OUT/sample.pdf" - | grep -q "Searchable"; then
	ok "sample comic to a searchable PDF in out/"
else
	notok "sample comic to a searchable PDF in out/" \
	    "no out/sample.pdf with its words; $(find "$D" -path '*/error/*')"
fi
if wait_for '[ -f "$OUT/order.pdf" ]' 120 &&
    pdftotext -f 1 -l 1 "$OUT/order.pdf" - | grep -q "reads comics" &&
    [ "$(pdfinfo "$OUT/order.pdf" | awk '/^Pages:/ { print $2 }')" = 2 ]; then
	ok "pages in natural order, non-images skipped"
else
	notok "pages in natural order, non-images skipped" \
	    "page 9 is not the first of two pages"
fi
# found FILE: how many of the map's words FILE holds (each word once).
found() {
	_n=0
	for _w in $MAP_WORDS; do
		! grep -qw "$_w" "$1" || _n=$((_n + 1))
	done
	echo "$_n"
}
if [ -z "$MAP" ]; then
	skip "a page without a resolution: the words tesseract reads" \
	    "no ImageMagick or tesseract, or it failed: $(head -c 200 \
	    "$W/map/im.err" 2>/dev/null)"
elif wait_for '[ -f "$OUT/map.pdf" ]' 120; then
	tesseract "$W/map/map.png" - >"$W/map/direct.txt" 2>/dev/null
	pdftotext "$OUT/map.pdf" "$W/map/pipeline.txt"
	direct=$(found "$W/map/direct.txt")
	piped=$(found "$W/map/pipeline.txt")
	echo "# the 640x682 map without a resolution, of 11 words:" \
	    "tesseract reads $direct, the pipeline's PDF holds $piped"
	if [ "$piped" -ge "$direct" ] && [ "$piped" -gt 0 ]; then
		ok "a page without a resolution: the words tesseract reads"
	else
		notok "a page without a resolution: the words tesseract reads" \
		    "$piped words in the PDF, $direct read directly: $(tr '\n' ' ' \
		    <"$W/map/pipeline.txt")"
	fi
else
	notok "a page without a resolution: the words tesseract reads" \
	    "no out/map.pdf; $(find "$D" -path '*/error/*')"
fi
for f in corrupt empty bomb; do
	case $f in
	corrupt) want="not an archive" ;;
	empty) want="no image in the archive" ;;
	bomb) want="more than PREP_MAX_MEMBERS" ;;
	esac
	if wait_for '[ -f "$D/prep/error/$(job_id $f)" ]' 60 &&
	    grep -q '"reason":"exit 65"' "$D/work/$(job_id $f)/status.json" &&
	    grep -q "$want" "$D/log/$(job_id $f).log"; then
		ok "$f archive in prep/error/ with exit 65 and its reason"
	else
		notok "$f archive in prep/error/ with exit 65 and its reason" \
		    "$(cat "$D/work/$(job_id $f)/status.json" 2>/dev/null)"
	fi
done
# The same comic again, under another name: caught, not run.
"$SPOOLCTL" -c "$W/spoold.conf" submit --name again.cbz "$W/sample.cbz" \
    >"$W/again.id" || notok "submit again" "spoolctl failed"
if wait_for '[ -f "$D/prep/error/$(job_id again)" ]' 30 &&
    grep -q "\"reason\":\"duplicate of $(job_id sample)\"" \
    "$D/work/$(job_id again)/status.json" &&
    ! grep -qs "stage prep attempt" "$D/log/$(job_id again).log" &&
    [ ! -e "$OUT/again.pdf" ] &&
    [ "$(find "$OUT" -name '*.pdf' ! -name map.pdf | wc -l)" = 2 ]; then
	ok "the same comic submitted twice is processed once"
else
	notok "the same comic submitted twice is processed once" \
	    "$(cat "$D/work/$(job_id again)/status.json" 2>/dev/null); $(ls "$OUT")"
fi
if grep -q '"duplicates":1,' "$D/index/metrics.json" ||
    wait_for 'grep -q "\"duplicates\":1," "$D/index/metrics.json"' 5; then
	ok "the duplicate is counted in metrics.json"
else
	notok "the duplicate is counted in metrics.json" \
	    "$(cat "$D/index/metrics.json")"
fi
if grep -q "^spoold: job $(job_id corrupt) error at stage prep: exit 65$" \
    "$D/log/$(job_id corrupt).log" &&
    grep -q "hook on_error exit 0 after" "$D/log/$(job_id corrupt).log"; then
	ok "the on_error hook (contrib/notify) writes to the job's log"
else
	notok "the on_error hook (contrib/notify) writes to the job's log" \
	    "$(tail -n 4 "$D/log/$(job_id corrupt).log")"
fi
"$SPOOLCTL" -c "$W/spoold.conf" info >"$W/info"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^  bsdtar [0-9]" "$W/info" &&
    grep -q "^  img2pdf [0-9]" "$W/info" &&
    grep -q "^  ocrmypdf [0-9]" "$W/info" &&
    grep -q "^  tesseract [0-9]" "$W/info" &&
    grep -q "^stage publish: $TOP/stages/publish %f$" "$W/info" &&
    grep -q "^spoold:  running, pid $PID$" "$W/info"; then
	ok "spoolctl info shows the tools of each stage"
else
	notok "spoolctl info shows the tools of each stage" \
	    "exit $rc: $(tr '\n' '|' <"$W/info")"
fi
if [ -f "$D/work/$(job_id sample)/published" ] &&
    "$SPOOLCTL" -c "$W/spoold.conf" show "$(job_id sample)" | grep -q "place: *publish/done"; then
	ok "the job ends in publish/done/"
else
	notok "the job ends in publish/done/" "$("$SPOOLCTL" -c "$W/spoold.conf" show "$(job_id sample)")"
fi
stop_spoold "$W/spoold.err"
finish
