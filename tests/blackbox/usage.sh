#!/bin/sh
# usage.sh: black-box tests of the command-line conventions of spoold,
# spoolctl and the shipped stages: -h/--help prints the usage on stdout
# and exits 0, -V/--version the name and version; a wrong option, a
# missing or extra argument or an unknown verb exits 64 (EX_USAGE) with
# the usage on stderr and nothing on stdout. spoolctl help lists the
# verbs of spoolctl(1), and the help of each verb names the options its
# synopsis there gives. Last, the packages the Makefile's run target
# installs on a machine that has none: none of them is a test tool.
#
#	SPOOLD=$PWD/build/spoold SPOOLCTL=$PWD/build/spoolctl \
#	    sh tests/blackbox/usage.sh [PATTERN...]
#
# PATTERNs select tests by name. The last line is "N passed, N failed".

# shellcheck disable=SC2016,SC2034

set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
PATTERNS="$*"
# shellcheck source=/dev/null
. "$HERE/lib.sh"

TOP=$(cd "$HERE/../.." && pwd -P)
STAGES=$TOP/stages
MAN=$TOP/supervisor/spoolctl.1
VERSION=$(sed -n 's/^#define SPOOLD_VERSION "\(.*\)"$/\1/p' \
    "$TOP/supervisor/spoold.h")
CTL_USAGE='usage: spoolctl [-c config | -d spool]'
CTL_RE='usage: spoolctl \[-c config \| -d spool\]'

# ---------------------------------------------------------------------------
# Helpers of this suite.

# call PROGRAM ARG...: runs it in T with stdin closed to input; RC, and
# its output in T/out and T/err.
call() {
	"$@" </dev/null >"$T/out" 2>"$T/err"
	RC=$?
}

# helps PROGRAM ARG...: exit 0, something on stdout, nothing on stderr.
helps() {
	call "$@"
	[ "$RC" -eq 0 ] || fail "$*: exit $RC, not 0: $(head -c 300 "$T/err")"
	[ -s "$T/out" ] || fail "$*: nothing on stdout"
	[ ! -s "$T/err" ] || fail "$*: wrote on stderr: $(head -c 300 "$T/err")"
}

# misused PATTERN PROGRAM ARG...: exit 64, nothing on stdout, the usage
# (a line matching the extended regular expression PATTERN) on stderr.
misused() {
	_pat=$1
	shift
	call "$@"
	[ "$RC" -eq 64 ] || fail "$*: exit $RC, not 64: $(head -c 300 "$T/err")"
	[ ! -s "$T/out" ] || fail "$*: wrote on stdout: $(head -c 300 "$T/out")"
	grep -Eq -- "$_pat" "$T/err" ||
	    fail "$*: no /$_pat/ on stderr: $(head -c 300 "$T/err")"
}

# The verbs of spoolctl(1): its VERBS section's .It Cm / .Cm lines.
man_verbs() {
	awk '/^\.Sh VERBS/ { on = 1; next } /^\.Sh / { on = 0 }
	    on && /^\.It Cm [a-z]+/ { print $3 }
	    on && /^\.Cm [a-z]+$/ && prev ~ /^\.It Xo/ { print $2 }
	    { prev = $0 }' "$MAN" | sort -u
}

# man_options VERB: the options that spoolctl(1)'s SYNOPSIS gives VERB.
man_options() {
	awk -v v="$1" '/^\.Sh SYNOPSIS/ { on = 1; next } /^\.Sh / { on = 0 }
	    on && $0 == ".Cm " v { in_v = 1; next }
	    on && /^\.Nm/ { in_v = 0 }
	    in_v { for (i = 1; i < NF; i++) if ($i == "Fl" || $i == ".Fl") {
		o = $(i + 1); sub(/^\\/, "", o)
		print "-" o } }' "$MAN" |
	    sort -u
}

# ---------------------------------------------------------------------------
# spoold

t_spoold_help() {
	helps "$SPOOLD" --help
	cp out help
	grep -q '^usage: spoold ' help || fail "--help: no usage: $(cat help)"
	for o in '-c config' '-n' '-v' '-h, --help' '-V, --version'; do
		grep -qF -- "  $o " help || fail "--help does not list $o"
	done
	helps "$SPOOLD" -h
	cmp -s out help || fail "-h and --help differ"
}

# -V and --version of spoold and spoolctl: "NAME VERSION", the version of
# supervisor/spoold.h.
t_version() {
	[ -n "$VERSION" ] || fail "no SPOOLD_VERSION in supervisor/spoold.h"
	for p in "$SPOOLD" "$SPOOLCTL"; do
		for o in --version -V; do
			helps "$p" "$o"
			[ "$(cat out)" = "${p##*/} $VERSION" ] ||
			    fail "${p##*/} $o printed \"$(cat out)\""
		done
	done
}

t_spoold_usage_errors() {
	misused '^usage: spoold ' "$SPOOLD" -q
	grep -q "invalid option -- 'q'" err || fail "-q is not named: $(cat err)"
	misused '^usage: spoold ' "$SPOOLD" --bogus
	grep -q "'--bogus'" err || fail "--bogus is not named: $(cat err)"
	misused '^usage: spoold ' "$SPOOLD" -c
	misused '^usage: spoold ' "$SPOOLD" -c "$T/none.conf" extra
	grep -q '^spoold: extra argument "extra"$' err ||
	    fail "the extra argument is not named: $(cat err)"
	[ "$(find . ! -name out ! -name err ! -name . | wc -l)" -eq 0 ] ||
	    fail "a usage error left files: $(find . | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------
# spoolctl

t_spoolctl_help() {
	helps "$SPOOLCTL" --help
	cp out help
	grep -qxF "$CTL_USAGE VERB [ARG...]" help ||
	    fail "--help: no usage: $(head -n 2 help)"
	for o in '-c config' '-d spool' '-h, --help' '-V, --version'; do
		grep -qF -- "  $o " help || fail "--help does not list $o"
	done
	for a in -h help; do
		helps "$SPOOLCTL" $a
		cmp -s out help || fail "$a and --help differ"
	done
	# the verbs of the man page, each on a line of its own with what it
	# does, and no other
	man_verbs > want
	[ "$(wc -l < want)" -ge 11 ] || fail "the man page's verbs: $(cat want)"
	sed -n 's/^  \([a-z][a-z]*\)  *[a-z].*/\1/p' help | sort > got
	cmp -s want got || fail "help lists $(tr '\n' ' ' < got), the man" \
	    "page $(tr '\n' ' ' < want)"
}

# help VERB, VERB --help and VERB -h: the same usage, on stdout, without
# a config; it names every option the man page gives the verb.
t_spoolctl_help_verbs() {
	for v in $(man_verbs); do
		helps "$SPOOLCTL" -c "$T/none.conf" help "$v"
		cp out "help.$v"
		head -n 1 "help.$v" | grep -qF "$CTL_USAGE $v" ||
		    fail "help $v: $(head -n 1 "help.$v")"
		for o in $(man_options "$v"); do
			grep -qF -- "$o" "help.$v" ||
			    fail "help $v does not name $o"
		done
		[ "$v" = help ] && continue
		for a in --help -h; do
			helps "$SPOOLCTL" -c "$T/none.conf" "$v" "$a"
			cmp -s out "help.$v" || fail "$v $a and help $v differ"
		done
	done
	[ ! -e data ] || fail "help made a spool"
	# the options of submit, one line each
	for o in --stage --priority --key --delay --name --link; do
		grep -q "^  $o " help.submit || fail "help submit: no line for $o"
	done
	# an option's argument is not a request for help, nor is what
	# follows --
	mkdir -p data/a/queue
	echo job > f
	call "$SPOOLCTL" -d data submit f
	[ "$RC" -eq 0 ] || fail "submit: exit $RC: $(cat err)"
	call "$SPOOLCTL" -d data show -- --help
	[ "$RC" -eq 66 ] || fail "show -- --help: exit $RC: $(cat err)"
	grep -q 'unknown job id "--help"' err ||
	    fail "show -- --help: $(cat err)"
}

t_spoolctl_help_errors() {
	misused '^spoolctl: unknown verb "nosuchverb"$' \
	    "$SPOOLCTL" help nosuchverb
	grep -qxF "$CTL_USAGE VERB [ARG...]" err || fail "no usage: $(cat err)"
	misused '^spoolctl: help: extra argument "ls"$' \
	    "$SPOOLCTL" help submit ls
}

t_spoolctl_usage_errors() {
	mkdir -p data/a/queue
	misused '^spoolctl: no verb$' "$SPOOLCTL"
	misused '^spoolctl: unknown verb "frob"$' "$SPOOLCTL" frob
	grep -qxF "$CTL_USAGE VERB [ARG...]" err ||
	    fail "unknown verb: no usage: $(cat err)"
	misused "'--bogus'" "$SPOOLCTL" --bogus ls
	misused '^spoolctl: -c and -d exclude each other$' \
	    "$SPOOLCTL" -c "$T/none.conf" -d data ls
	# a verb's own usage, for a wrong argument of the verb
	misused "^$CTL_RE submit " "$SPOOLCTL" -d data submit
	misused "^$CTL_RE ls " "$SPOOLCTL" -d data ls extra
	misused "^$CTL_RE show " "$SPOOLCTL" -d data show --bogus x
	misused "^$CTL_RE log " "$SPOOLCTL" -d data log -x y
	grep -qF "$CTL_USAGE submit" err && fail "log: the usage of submit"
	[ -z "$(ls data/a/queue)" ] || fail "a usage error submitted a job"
}

# ---------------------------------------------------------------------------
# The stages

t_stages() {
	for s in prep ocr publish versions; do
		helps "$STAGES/$s" --help
		grep -q "^usage: $s " out || fail "$s --help: $(head -n 1 out)"
		grep -qF -- '--version' out || fail "$s --help: no --version"
		# no job, an option, two jobs; for versions, an odd count
		wrong='"" -x "a b" "--help x"'
		[ "$s" != versions ] || wrong='"" -x "a b c"'
		eval "set -- $wrong"
		for args; do
			# shellcheck disable=SC2086
			misused "^usage: $s " "$STAGES/$s" $args
		done
	done
	helps "$STAGES/publish" --version
	[ "$(cat out)" = "publish (sh)" ] || fail "publish --version: $(cat out)"
	helps "$STAGES/versions" --version
	[ "$(cat out)" = "versions (sh)" ] || fail "versions --version: $(cat out)"
	[ "$(find . ! -name out ! -name err ! -name . | wc -l)" -eq 0 ] ||
	    fail "a stage left files: $(find . | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------
# The Makefile's packages

TEST_TOOLS="chromium valgrind runit s6 shellcheck tmux faketime curl
libcmocka-dev mandoc"

# deps TARGET: the packages "make TARGET" installs on a machine where
# no command, library or file of its list is found (PATH leads nowhere).
deps() {
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PATH=/nonexistent \
	    "$MAKE" -s -C "$TOP" "$1" DEPS_DRY=1 >"$T/out" 2>"$T/err" ||
	    fail "make $1 DEPS_DRY=1: $(cat "$T/err")"
	sed -n 's/^missing://p' "$T/out" | tr ' ' '\n' | sed '/^$/d' | sort
}

t_deps() {
	MAKE=$(command -v make) || skip "no make"
	deps deps-run > run.list
	deps deps-test > test.list
	deps deps > all.list
	for p in libconfuse-dev libbsd-dev libjansson-dev libmd-dev \
	    pkg-config libarchive-tools img2pdf ocrmypdf poppler-utils; do
		grep -qx "$p" run.list || fail "make run does not install $p"
	done
	for p in libconfuse-dev pkg-config libcmocka-dev mandoc tmux python3; do
		grep -qx "$p" test.list || fail "make check does not install $p"
	done
	for p in $TEST_TOOLS; do
		! grep -qx "$p" run.list || fail "make run installs $p, a test tool"
		grep -qx "$p" all.list || fail "make deps does not install $p"
	done
	! grep -qx ocrmypdf test.list || fail "make check installs the pipeline"
	# make run itself: its recipe, printed, names no test tool
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PATH=/nonexistent \
	    "$MAKE" -n -C "$TOP" run DEPS_DRY=1 >recipe 2>&1 ||
	    fail "make -n run: $(tail -n 3 recipe)"
	grep -q ocrmypdf recipe || fail "make -n run: $(head -c 300 recipe)"
	for p in $TEST_TOOLS cmocka; do
		! grep -qw -- "$p" recipe || fail "make run names $p"
	done
}

# ---------------------------------------------------------------------------

run spoold_help
run version
run spoold_usage_errors
run spoolctl_help
run spoolctl_help_verbs
run spoolctl_help_errors
run spoolctl_usage_errors
run stages
run deps
finish
