#!/bin/sh
# run.sh: the config corpus of spoold -n. Each bad/NAME.conf must be refused
# with exit status 78, nothing on stdout and exactly bad/NAME.err on stderr;
# so must each root/NAME.conf, when this script runs as root (their messages
# depend on it). Each good/NAME.conf must be accepted with exit status 0 and
# exactly good/NAME.out on stdout. In every case nothing may change on disk:
# a listing of names, types, sizes and modes of the whole copy is taken before
# and after the run, and must be the same.
#
#	SPOOLD=$PWD/build/spoold sh tests/conf/run.sh [PATTERN...]
#	SPOOLD=$PWD/build/spoold sh tests/conf/run.sh -p bad/NN-name
#
# The configs run from a copy of this folder made by mktemp -d, as
# "spoold -n -c bad/NAME.conf" from the copy's top, so that the messages name
# bad/NAME.conf. The copy's modes are set first, as git keeps only the x
# bit: 0755 for folders, 0644 for files, but 0664 for *-group-writable.conf
# and 0646 for *-other-writable.conf. A NAME.err with no NAME.conf beside
# it is the case of a config file that does not exist.
#
# PATTERNs (shell patterns) select cases by name, e.g. 'bad/1*'. With -p,
# the script prints what spoold writes for one case (its stderr for bad/ and
# root/, its stdout for good/), from which a golden file is made once read.
# It prints "ok - NAME" or "not ok - NAME: why" per case, with the
# differences on lines starting with "#"; the last line is "N passed,
# N failed, N skipped" (root/ is skipped but as root), and the exit status
# is 1 when a case failed.

set -u

if [ -z "${SPOOLD:-}" ]; then
	echo "run.sh: set SPOOLD to the spoold to test" >&2
	exit 64
fi
case $SPOOLD in
/*) ;;
*) SPOOLD=$PWD/$SPOOLD ;;
esac
if [ -d "$SPOOLD" ] || [ ! -x "$SPOOLD" ]; then
	echo "run.sh: $SPOOLD: not an executable file" >&2
	exit 66
fi
PRINT=""
if [ "${1:-}" = -p ]; then
	if [ $# -ne 2 ]; then
		echo "usage: run.sh [PATTERN...] | run.sh -p DIR/NAME" >&2
		exit 64
	fi
	PRINT=${2%.conf}
	shift 2
fi
HERE=$(cd "$(dirname "$0")" && pwd -P) || exit 1
LC_ALL=C
export LC_ALL
umask 022
PASSED=0
FAILED=0
WORK=""
OUT=""

cleanup() {
	if [ -n "$WORK" ]; then
		rm -rf "$WORK"
	fi
	if [ -n "$OUT" ]; then
		rm -rf "$OUT"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# WORK holds the copy of the corpus, and nothing else, so that any file
# spoold makes shows in its listing; OUT holds what spoold printed.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spoold-conf.XXXXXX") || exit 1
OUT=$(mktemp -d "${TMPDIR:-/tmp}/spoold-conf-out.XXXXXX") || exit 1
for d in bad root good; do
	if [ -d "$HERE/$d" ]; then
		cp -R "$HERE/$d" "$WORK/" || exit 1
	fi
done
find "$WORK" -type d -exec chmod 0755 {} + &&
    find "$WORK" -type f -exec chmod 0644 {} + &&
    find "$WORK" -type f -name '*-group-writable.conf' -exec chmod 0664 {} + &&
    find "$WORK" -type f -name '*-other-writable.conf' -exec chmod 0646 {} + ||
    exit 1
# The stages the good configs name (../stages/), as programs that may run.
mkdir "$WORK/stages" &&
    for s in prep ocr publish; do
	printf '#!/bin/sh\n' >"$WORK/stages/$s" && chmod 0755 "$WORK/stages/$s"
    done || exit 1

# The names, types, modes and sizes of everything in the copy.
listing() {
	(cd "$WORK" && find . -exec ls -dln {} +) |
	    awk '{ print $NF, $1, $5 }' | sort
}

# The cases of folder $1: the names of its .conf, .err and .out files.
cases() {
	for f in "$WORK/$1"/*.conf "$WORK/$1"/*.err "$WORK/$1"/*.out; do
		if [ -e "$f" ]; then
			f=${f##*/}
			echo "${f%.*}"
		fi
	done | sort -u
}

# Whether case $1 is one the PATTERNs select.
selected() {
	if [ $# -eq 1 ]; then
		return 0
	fi
	c=$1
	shift
	for p in "$@"; do
		# shellcheck disable=SC2254
		case $c in
		$p) return 0 ;;
		esac
	done
	return 1
}

# Runs spoold -n on case $1 (DIR/NAME) from the top of the copy; its status.
run_spoold() {
	(cd "$WORK" && exec "$SPOOLD" -n -c "$1.conf") \
	    >"$OUT/stdout" 2>"$OUT/stderr"
}

# Prints "# "-prefixed the differences between the files $1 and $2.
show_diff() {
	diff -u "$1" "$2" | sed 's/^/# /'
}

# Checks case $1 (DIR/NAME): $2 is "bad", expecting status 78, stderr $1.err
# and no stdout; or "good", expecting status 0 and stdout $1.out.
check() {
	c=$1
	why=""
	if [ "$2" = bad ]; then
		golden=$c.err
	else
		golden=$c.out
	fi
	if [ ! -f "$WORK/$golden" ]; then
		not_ok "$c" "no golden file $golden"
		return
	fi
	if [ "$2" = good ] && [ ! -f "$WORK/$c.conf" ]; then
		not_ok "$c" "no config $c.conf"
		return
	fi
	listing >"$OUT/before"
	run_spoold "$c"
	rc=$?
	listing >"$OUT/after"
	if [ "$2" = bad ]; then
		if [ "$rc" -ne 78 ]; then
			why="exit status $rc, not 78"
		fi
		if ! cmp -s "$WORK/$golden" "$OUT/stderr"; then
			why="${why:+$why; }stderr differs from $golden"
		fi
		if [ -s "$OUT/stdout" ]; then
			why="${why:+$why; }output on stdout"
		fi
	else
		if [ "$rc" -ne 0 ]; then
			why="exit status $rc, not 0"
		fi
		if ! cmp -s "$WORK/$golden" "$OUT/stdout"; then
			why="${why:+$why; }stdout differs from $golden"
		fi
		ok_line="$c.conf: configuration OK"
		if [ "$(tail -n 1 "$OUT/stderr")" != "$ok_line" ]; then
			why="${why:+$why; }stderr does not end in \"$ok_line\""
		fi
	fi
	if ! cmp -s "$OUT/before" "$OUT/after"; then
		why="${why:+$why; }files changed on disk"
	fi
	if [ -z "$why" ]; then
		echo "ok - $c"
		PASSED=$((PASSED + 1))
		return
	fi
	not_ok "$c" "$why"
	if [ "$2" = bad ]; then
		show_diff "$WORK/$golden" "$OUT/stderr"
		if [ -s "$OUT/stdout" ]; then
			sed 's/^/# stdout: /' "$OUT/stdout"
		fi
	else
		show_diff "$WORK/$golden" "$OUT/stdout"
		sed 's/^/# stderr: /' "$OUT/stderr"
	fi
	show_diff "$OUT/before" "$OUT/after"
}

not_ok() {
	echo "not ok - $1: $2"
	FAILED=$((FAILED + 1))
}

if [ -n "$PRINT" ]; then
	run_spoold "$PRINT"
	rc=$?
	case $PRINT in
	good/*) cat "$OUT/stdout" ;;
	*) cat "$OUT/stderr" ;;
	esac
	echo "run.sh: $PRINT: exit status $rc" >&2
	exit 0
fi

SKIPPED=0
if [ "$(id -u)" -eq 0 ]; then
	DIRS="bad root good"
else
	DIRS="bad good"
	for n in $(cases root); do
		if selected "root/$n" "$@"; then
			echo "ok - root/$n # SKIP spoold is not root"
			SKIPPED=$((SKIPPED + 1))
		fi
	done
fi
for d in $DIRS; do
	kind=bad
	if [ "$d" = good ]; then
		kind=good
	fi
	for n in $(cases "$d"); do
		if selected "$d/$n" "$@"; then
			check "$d/$n" "$kind"
		fi
	done
done
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
