#!/bin/sh
# sample.sh OUT: makes a small comic, OUT (a CBZ), of two pages with known
# words on them, for the tour of README.md and the pipeline's tests.
set -eu

out=${1:?usage: sample.sh OUT.cbz}
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
n=0
for words in "Spoold reads comics" "Searchable pages everywhere"; do
	n=$((n + 1))
	"$im" -size 1400x500 xc:white -font DejaVu-Sans -pointsize 72 \
	    -fill black -annotate +60+260 "$words" "$dir/page$n.png"
done
mkdir -p "$(dirname "$out")"
python3 - "$dir" "$out" <<'PY'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out + ".tmp", "w") as z:
    for name in sorted(os.listdir(src)):
        z.write(os.path.join(src, name), name)
os.replace(out + ".tmp", out)
PY
echo "$out"
