#!/bin/sh
# sample.sh OUT [PAGES]: makes a small comic, OUT (a CBZ), of PAGES pages
# (default 2) with known words on them, for the tour of README.md and the
# pipeline's tests. Two pages say "Spoold reads comics" and "Searchable
# pages everywhere"; with more, page K of N says "Page K of N spoold".
# The pages are page1.png to pageN.png, stored in that order.
set -eu

usage() { echo "usage: sample.sh OUT.cbz [PAGES]" >&2; exit 64; }

case $# in
1 | 2) ;;
*) usage ;;
esac
out=$1
pages=${2:-2}
case $pages in
'' | *[!0-9]* | 0*) usage ;;
esac
im=
for c in convert-im6.q16 magick convert; do
	if command -v "$c" >/dev/null 2>&1; then
		im=$c
		break
	fi
done
[ -n "$im" ] || { echo "sample.sh: ImageMagick is not installed" >&2; exit 69; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# One ImageMagick run draws every page: "( canvas -annotate text )" each.
if [ "$pages" -le 2 ]; then
	size=1400x500 point=72 at=+60+260
	set -- "Spoold reads comics" "Searchable pages everywhere"
	[ "$pages" -eq 2 ] || set -- "$1"
else
	size=1000x400 point=64 at=+40+220
	set --
	k=0
	while [ "$k" -lt "$pages" ]; do
		k=$((k + 1))
		set -- "$@" "Page $k of $pages spoold"
	done
fi
for words; do
	set -- "$@" "(" -size "$size" xc:white -annotate "$at" "$words" ")"
	shift
done
"$im" -font DejaVu-Sans -pointsize "$point" -fill black "$@" \
    -scene 1 +adjoin "$dir/page%d.png"

mkdir -p "$(dirname "$out")"
python3 - "$dir" "$out" <<'PY'
import os, re, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(src), key=lambda n: int(re.sub(r"\D", "", n)))
with zipfile.ZipFile(out + ".tmp", "w") as z:
    for name in names:
        z.write(os.path.join(src, name), name)
os.replace(out + ".tmp", out)
PY
echo "$out"
