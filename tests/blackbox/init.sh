#!/bin/sh
# Conditions are passed to wait_for unexpanded, on purpose, with the
# variables they name.
# shellcheck disable=SC2016,SC2034
# init.sh: spoold under an init system and installed. The sd_notify
# datagrams it sends to a socket of the test's (a path and an abstract
# name), or, where PID 1 is systemd, spoold run as a transient service; the
# unit of contrib/systemd checked by systemd-analyze; `make install` into a
# DESTDIR; the hook contrib/notify/notify posting to a local HTTP server;
# the runit and s6 service folders of contrib/, linted and, where runsv or
# s6-svscan is installed, run.
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SPOOLD=${SPOOLD:-$TOP/build/spoold}
SPOOLCTL=${SPOOLCTL:-$TOP/build/spoolctl}
case $SPOOLD in
/*) ;;
*) SPOOLD=$PWD/$SPOOLD ;;
esac
case $SPOOLCTL in
/*) ;;
*) SPOOLCTL=$PWD/$SPOOLCTL ;;
esac
if [ ! -x "$SPOOLD" ] || [ ! -x "$SPOOLCTL" ]; then
	echo "init.sh: $SPOOLD or $SPOOLCTL: not an executable file" >&2
	exit 66
fi
ME=$(id -un)
NOTIFY=$TOP/contrib/notify/notify
LC_ALL=C
SPOOLD_NOSYNC=1
export LC_ALL SPOOLD_NOSYNC
# shellcheck source=/dev/null
. "$TOP/tests/blackbox/tap.sh"
tap_dir init
# The processes this script started, killed at the end if still there.
PIDS=
# The unit and its folder in /run, where PID 1 is systemd.
UNIT=
R=

cleanup() {
	for d in "$W"/runit/sv "$W"/runit/sv/log; do
		[ -f "$d/supervise/pid" ] && PIDS="$PIDS $(cat "$d/supervise/pid")"
	done
	for d in "$W"/s6/scan/spoold "$W"/s6/scan/spoold/log; do
		[ -d "$d/supervise" ] &&
		    PIDS="$PIDS $(s6-svstat -o pid "$d" 2>/dev/null)"
	done
	for p in $PIDS; do
		[ "$p" -gt 1 ] 2>/dev/null && kill -9 "$p" 2>/dev/null
	done
	reap "$W"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

# check NAME WHY CONDITION...: ok when the command CONDITION succeeds.
check() {
	_name=$1 _why=$2
	shift 2
	if "$@"; then ok "$_name"; else notok "$_name" "$_why"; fi
}

# await NAME SECONDS COND SHOW: ok when COND holds within SECONDS, else
# not ok with what the command SHOW prints then. COND and SHOW are
# evaluated inside wait_for and await, so they name no positional
# parameter, only variables.
await() {
	if wait_for "$3" "$2"; then
		ok "$1"
	else
		notok "$1" "$(eval "$4" 2>&1)"
	fi
}

# exited PID SECONDS: waits for PID, a child of this shell, to end; its
# exit status in $rc (255 when it did not end in time).
exited() {
	rc=255
	_pid=$1
	wait_for '! kill -0 "$_pid" 2>/dev/null' "$2" || return 1
	wait "$_pid"
	rc=$?
}

# conf FOLDER [LINES]: a config with a spool in FOLDER/data and one stage
# `a`, with LINES added, that prints whether it sees NOTIFY_SOCKET (no
# ${...} in its command: libconfuse would expand it).
conf() {
	cat >"$1/spoold.conf" <<CONF
spool = "data"
stage a {
	command = {"/bin/sh", "-c", "env | grep ^NOTIFY_SOCKET= || echo notify_socket=unset; sleep 0.2", "x", "%f"}
	user = "$ME"
${2:-}
}
CONF
	chmod 600 "$1/spoold.conf"
}

# The listener of the sd_notify datagrams: it binds ADDRESS (a path, or
# @NAME for an abstract name), then, for each datagram, appends to OUT a
# line "@ N", N the size of LOG when it came, then each of its
# assignments on a line of its own.
cat >"$W/listen.py" <<'PY'
import os, socket, sys
addr, out, log = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
with open(out, "a") as f:
    f.write("bound\n")
    f.flush()
    while True:
        d = s.recv(65536).decode("utf-8", "replace")
        size = os.path.getsize(log) if os.path.exists(log) else 0
        f.write("@ %d\n%s\n" % (size, d))
        f.flush()
PY

# The first READY=1 came after the log had the "started" line.
ready_after_started() {
	_size=$(awk '/^@ / { s = $2 } $0 == "READY=1" { print s; exit }' "$1")
	[ -n "$_size" ] && head -c "$_size" "$2" | grep -q "started, pid"
}
# A line LINE2 after a line LINE1 among those of FILE after line MARK.
in_order() {
	awk -v m="$2" -v a="$3" -v b="$4" 'NR > m && $0 == a { seen = 1 }
	    NR > m && seen && $0 == b { found = 1 }
	    END { exit !found }' "$1"
}
# No STATUS= line repeats the one before it.
status_changes() {
	awk '/^STATUS=/ { if ($0 == last) bad = 1; last = $0 }
	    END { exit bad }' "$1"
}
STATUS_RE='^STATUS=([a-z]+, )?[0-9]+ running, [0-9]+ queued, [0-9]+ deferred, [0-9]+ done, [0-9]+ error$'

# notified FOLDER ADDRESS LABEL: a listener on ADDRESS, then spoold on
# FOLDER's config with NOTIFY_SOCKET=ADDRESS, its pid in $spid; checks
# that READY=1 comes once spoold is started. 1 when the listener fails.
notified() {
	f=$1
	conf "$f"
	python3 "$W/listen.py" "$2" "$f/out" "$f/err" &
	PIDS="$PIDS $!"
	if ! wait_for 'grep -qx bound "$f/out" 2>/dev/null' 20; then
		notok "$3sd_notify listener" "python3 did not bind $2"
		return 1
	fi
	NOTIFY_SOCKET=$2 "$SPOOLD" -c "$f/spoold.conf" 2>"$f/err" &
	spid=$!
	PIDS="$PIDS $spid"
	await "${3}READY=1 once started" 20 \
	    'grep -qx "READY=1" "$f/out" &&
	        ready_after_started "$f/out" "$f/err"' \
	    'cat "$f/out" "$f/err"'
}

# stopped FOLDER SIGNAL LABEL: SIGNAL to $spid brings STOPPING=1, after the
# lines there were, and spoold exits 0.
stopped() {
	f=$1
	mark=$(wc -l <"$f/out")
	kill -"$2" "$spid"
	await "${3}SIG$2: STOPPING=1" 20 \
	    'tail -n +"$((mark + 1))" "$f/out" | grep -qx STOPPING=1' \
	    'tail -n +"$((mark + 1))" "$f/out"'
	exited "$spid" 60
	check "${3}SIG$2: spoold exits 0" "exit $rc" [ "$rc" -eq 0 ]
}

# (a) sd_notify to a socket named by a path.
t_notify_path() {
	d=$W/notify
	mkdir "$d"
	notified "$d" "$d/notify.sock" "" || return
	await "STATUS= with the counts" 20 \
	    'grep -Eq "$STATUS_RE" "$d/out"' \
	    'grep STATUS= "$d/out"'
	for i in 1 2 3; do
		echo "job $i" >"$d/job$i"
		"$SPOOLCTL" -c "$d/spoold.conf" submit "$d/job$i" >/dev/null ||
		    notok "submit job$i" "spoolctl failed"
	done
	await "STATUS= says 3 done" 30 \
	    'grep -Eq "^STATUS=.* 3 done, 0 error$" "$d/out"' \
	    'grep STATUS= "$d/out" | tail -n 3'
	check "STATUS= only when it changes" "$(grep STATUS= "$d/out")" \
	    status_changes "$d/out"
	check "children do not see NOTIFY_SOCKET" "$(cat "$d"/data/log/*)" \
	    sh -c '[ "$(cat "$1"/data/log/* | grep -c "^notify_socket=unset$")" = 3 ]' \
	    x "$d"
	mark=$(wc -l <"$d/out")
	kill -HUP "$spid"
	await "SIGHUP: RELOADING=1, then READY=1" 20 \
	    'in_order "$d/out" "$mark" RELOADING=1 READY=1' \
	    'tail -n +"$((mark + 1))" "$d/out"'
	mark=$(wc -l <"$d/out")
	chmod 666 "$d/spoold.conf"
	kill -HUP "$spid"
	await "SIGHUP, bad config: RELOADING=1, then READY=1" 20 \
	    'in_order "$d/out" "$mark" RELOADING=1 READY=1 &&
	        grep -q "reload failed" "$d/err"' \
	    'tail -n +"$((mark + 1))" "$d/out"; tail -n 3 "$d/err"'
	chmod 600 "$d/spoold.conf"
	stopped "$d" TERM ""
}

# (a) sd_notify to an abstract socket, @NAME; SIGINT stops as SIGTERM does.
t_notify_abstract() {
	d=$W/abstract
	mkdir "$d"
	notified "$d" "@spoold-init-$$-${W##*.}" "abstract socket: " || return
	stopped "$d" INT "abstract socket: "
}

# The unit of contrib/systemd, its paths rewritten as `make install` would
# for PREFIX: sed -e with the three paths.
unit_for() {
	sed -e "s|/usr/local/sbin/spoold|$1|g" \
	    -e "s|/usr/local/etc/spoold.conf|$2|g" \
	    -e "s|/var/spool/spoold|$3|g" "$TOP/contrib/systemd/spoold.service"
}

# (a) Where PID 1 is systemd: the unit itself, its paths those of a folder
# in /run (not /tmp, which the unit makes private, nor a home folder, which
# it hides), started, reloaded and stopped.
t_systemd() {
	name="the unit under systemd"
	if [ "$(ps -p 1 -o comm= 2>/dev/null)" != systemd ]; then
		skip "$name" "PID 1 is not systemd"
		return
	fi
	if [ "$(id -u)" -ne 0 ] || [ ! -d /run/systemd/system ]; then
		skip "$name" "needs root and /run/systemd/system"
		return
	fi
	R=$(mktemp -d /run/spoold-init.XXXXXX)
	cp "$SPOOLD" "$R/spoold"
	conf "$R"
	UNIT=spoold-init-${R##*.}.service
	# Undone by the cleanup, or by the next run after a SIGKILL (tap_dir).
	cat >>"$W/.undo" <<UNDO
systemctl stop "$UNIT"
rm -f "/run/systemd/system/$UNIT"
systemctl daemon-reload
rm -rf "$R"
UNDO
	unit_for "$R/spoold" "$R/spoold.conf" "$R/data" \
	    >"/run/systemd/system/$UNIT"
	systemctl daemon-reload
	if ! systemctl start "$UNIT" >"$W/systemd.out" 2>&1; then
		notok "systemd: the unit starts" "$(cat "$W/systemd.out"
		    systemctl status --no-pager "$UNIT" 2>&1)"
		return
	fi
	check "systemd: active once READY=1" \
	    "$(systemctl show -p ActiveState -p SubState "$UNIT")" \
	    test "$(systemctl show -p ActiveState --value "$UNIT")" = active
	echo job >"$R/job"
	"$SPOOLCTL" -c "$R/spoold.conf" submit "$R/job" >/dev/null
	await "systemd: its status says 1 done" 30 \
	    'systemctl show -p StatusText --value "$UNIT" | grep -q " 1 done,"' \
	    'systemctl status --no-pager "$UNIT"'
	systemctl reload "$UNIT" >"$W/systemd.out" 2>&1
	await "systemd: reloaded, running" 30 \
	    '[ "$(systemctl show -p SubState --value "$UNIT")" = running ]' \
	    'cat "$W/systemd.out"; systemctl status --no-pager "$UNIT"'
	systemctl stop "$UNIT"
	check "systemd: stopped, spoold exit 0" \
	    "$(systemctl show -p Result -p ExecMainStatus "$UNIT")" \
	    test "$(systemctl show -p Result --value "$UNIT"):$(systemctl show \
	        -p ExecMainStatus --value "$UNIT")" = success:0
}

# (a) The unit: systemd-analyze verify; its paths rewritable; its options.
t_unit() {
	u=$TOP/contrib/systemd/spoold.service
	d=$W/unit
	mkdir "$d" "$d/spool"
	conf "$d"
	if command -v systemd-analyze >/dev/null 2>&1; then
		unit_for "$SPOOLD" "$d/spoold.conf" "$d/spool" >"$d/spoold.service"
		out=$(systemd-analyze verify --man=no "$d/spoold.service" 2>&1)
		vrc=$?
		if [ "$vrc" -eq 0 ] && ! printf '%s\n' "$out" | grep -q spoold; then
			ok "systemd-analyze verify spoold.service"
		else
			notok "systemd-analyze verify spoold.service" "exit $vrc: $out"
		fi
	else
		skip "systemd-analyze verify spoold.service" \
		    "systemd-analyze is not installed"
	fi
	unit_for /usr/sbin/spoold /etc/spoold.conf /srv/spool >"$d/usr.service"
	check "the unit's paths rewritten for another PREFIX" \
	    "$(grep -n '/usr/local\|/var/spool/spoold' "$d/usr.service")" \
	    sh -c '! grep -q "/usr/local\|/var/spool/spoold" "$1" &&
	        grep -qx "ExecStart=/usr/sbin/spoold -c /etc/spoold.conf" "$1" &&
	        grep -qx "ReadWritePaths=/srv/spool" "$1"' x "$d/usr.service"
	bad=
	for kv in Type=notify KillMode=mixed Restart=on-failure \
	    'ExecReload=/bin/kill -HUP $MAINPID' ProtectSystem=strict \
	    ReadWritePaths=/var/spool/spoold PrivateTmp=yes; do
		grep -qx "$kv" "$u" || bad="$bad, $kv"
	done
	check "the unit: notify, mixed kill, reload, sandbox" "missing${bad#,}" \
	    test -z "$bad"
	grep='^(User|DynamicUser|CapabilityBoundingSet|AmbientCapabilities|RestrictSUIDSGID|PrivateUsers)='
	check "the unit lets spoold change users and make setgid folders" \
	    "$(grep -E "$grep" "$u")" sh -c '! grep -Eq "$1" "$2"' x "$grep" "$u"
	# TimeoutStopSec must exceed shutdown_grace + kill_grace, by default
	# and in the shipped config.
	stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s*$/\1/p' "$u")
	grace=$(awk '$1 == "shutdown_grace" || $1 == "kill_grace" { s += $3 }
	    END { print s + 0 }' "$TOP/conf/spoold.conf")
	[ "$grace" -gt 35 ] || grace=35
	check "TimeoutStopSec exceeds shutdown_grace + kill_grace" \
	    "TimeoutStopSec=$stop, graces $grace" \
	    test "${stop:-0}" -gt "$grace"
}

# mk TARGET: make TARGET from the top with PREFIX=/usr into the DESTDIR $r,
# with a build folder of its own, so that build/ is not remade under other
# tests; nothing of a calling make or of the environment changes the paths.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SYSCONFDIR -u BINDIR \
	    -u SBINDIR -u LIBEXECDIR -u MANDIR -u SPOOLDIR \
	    make -s -C "$TOP" B="$d/build" DESTDIR="$r" PREFIX=/usr "$1"
}

# (b) make install into a DESTDIR, with PREFIX=/usr.
t_install() {
	d=$W/install
	r=$d/root
	mkdir -p "$r"
	if ! mk install >"$d/make.out" 2>&1; then
		notok "make install" "$(tail -n 20 "$d/make.out")"
		return
	fi
	ok "make install DESTDIR PREFIX=/usr"
	bad=
	for f in usr/sbin/spoold usr/bin/spoolctl usr/libexec/spoold/prep \
	    usr/libexec/spoold/ocr usr/libexec/spoold/publish \
	    usr/libexec/spoold/notify; do
		[ -f "$r/$f" ] && [ -x "$r/$f" ] || bad="$bad $f"
	done
	check "programs, stages and hook installed, executable" "missing:$bad" \
	    test -z "$bad"
	bad=
	for f in man8/spoold.8 man5/spoold.conf.5 man1/spoolctl.1; do
		[ -s "$r/usr/share/man/$f" ] || bad="$bad $f"
	done
	check "man pages installed" "missing:$bad" test -z "$bad"
	c=$r/usr/etc/spoold.conf
	if [ ! -f "$c" ]; then
		notok "config installed" "no $c"
		return
	fi
	cmds=$(grep -E '^[[:space:]]*command[[:space:]]*=' "$c")
	check "installed config: commands in /usr/libexec/spoold/" "$cmds" \
	    sh -c '[ -n "$1" ] && ! printf "%s\n" "$1" |
	        grep -v "command *= *{\"/usr/libexec/spoold/[a-z]*\"" |
	        grep -q .' x "$cmds"
	check "installed config: no path relative to the source" \
	    "$(grep -n '"\.\./' "$c")" sh -c '! grep -q "\"\.\./" "$1"' x "$c"
	check "installed config: spool is /var/spool/spoold" \
	    "$(grep '^spool' "$c")" \
	    grep -Eq '^spool[[:space:]]*=[[:space:]]*"/var/spool/spoold"' "$c"
	check "installed config not writable by group or others" \
	    "$(ls -l "$c")" sh -c '[ -z "$(find "$1" -perm -g+w -o -perm -o+w)" ]' \
	    x "$c"
	out=$("$r/usr/sbin/spoold" -n -c "$c" 2>&1)
	nrc=$?
	# The stages are not in /usr/libexec/spoold on this machine: a check
	# that says so names that path.
	if [ "$nrc" -eq 0 ] || { [ "$nrc" -eq 78 ] &&
	    printf '%s\n' "$out" | grep -q /usr/libexec/spoold/; }; then
		ok "spoold -n on the installed config"
	else
		notok "spoold -n on the installed config" "exit $nrc: $out"
	fi
	check "spoold looks for its config in PREFIX/etc" \
	    "$("$r/usr/sbin/spoold" -n 2>&1)" \
	    sh -c '"$1" -n 2>&1 | grep -q "/usr/etc/spoold.conf"' x \
	    "$r/usr/sbin/spoold"
	echo "# kept by make install" >>"$c"
	mk install >"$d/make2.out" 2>&1
	check "make install again keeps an edited config" \
	    "$(tail -n 3 "$c"; tail -n 5 "$d/make2.out")" \
	    grep -qx "# kept by make install" "$c"
	unit=
	for f in usr/lib/systemd/system/spoold.service lib/systemd/system/spoold.service; do
		[ -f "$r/$f" ] && unit=$r/$f
	done
	if [ -z "$unit" ]; then
		skip "installed unit names PREFIX's paths" \
		    "make install does not install the systemd unit"
	else
		check "installed unit names PREFIX's paths" \
		    "$(grep -n 'ExecStart=\|/usr/local' "$unit")" \
		    sh -c 'grep -q "^ExecStart=/usr/sbin/spoold -c /usr/etc/spoold.conf$" "$1" &&
		        grep -qx "ReadWritePaths=/var/spool/spoold" "$1" &&
		        ! grep -q /usr/local "$1"' x "$unit"
	fi
	mk uninstall >"$d/make3.out" 2>&1
	check "make uninstall removes the programs, leaves the config" \
	    "$(cd "$r" && find . -type f)" \
	    sh -c '[ ! -e "$1/usr/sbin/spoold" ] && [ ! -e "$1/usr/bin/spoolctl" ] &&
	        [ -f "$1/usr/etc/spoold.conf" ]' x "$r"
}

# The HTTP server for the hook: it writes its port to PORTFILE and saves
# each POST to /NAME in DIR/NAME.body (its Content-Type in DIR/NAME.type);
# a POST to /fail gets 500.
cat >"$W/webhook.py" <<'PY'
import http.server, os, sys
portfile, folder = sys.argv[1], sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        name = os.path.join(folder, self.path.strip("/").replace("/", "_"))
        with open(name + ".type", "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        with open(name + ".tmp", "wb") as f:
            f.write(body)
        os.rename(name + ".tmp", name + ".body")
        self.send_response(500 if self.path == "/fail" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
PY

# json_text FILE: FILE is valid JSON, with a "text" of $WANT exactly.
json_text() {
	python3 -m json.tool "$1" >/dev/null 2>&1 &&
	    python3 -c 'import json, os, sys
sys.exit(json.load(open(sys.argv[1]))["text"] != os.environ["WANT"])' "$1"
}

# (c) contrib/notify/notify.
t_hook() {
	d=$W/hook
	mkdir "$d"
	reason=$(printf 'exit 65: "bad" back\\slash\ttab')
	out=$(env -u NOTIFY_URL -u NOTIFY_URL_FILE SPOOL_EVENT=error \
	    SPOOL_REASON="$reason" "$NOTIFY" j1 prep)
	hrc=$?
	check "notify without a URL prints the text, exits 0" "exit $hrc: $out" \
	    test "$hrc:$out" = "0:spoold: job j1 error at stage prep: $reason"
	out=$(env -u NOTIFY_URL -u NOTIFY_URL_FILE SPOOL_EVENT=done \
	    SPOOL_JOB_ID=j2 SPOOL_STAGE=publish SPOOL_REASON= "$NOTIFY")
	check "notify takes the id and stage from SPOOL_*, no reason" "$out" \
	    test "$out" = "spoold: job j2 done at stage publish"
	env -u SPOOL_EVENT "$NOTIFY" j1 prep >/dev/null 2>&1
	hrc=$?
	SPOOL_EVENT="done" "$NOTIFY" a b c >/dev/null 2>&1
	hrc="$hrc $?"
	check "notify: usage errors exit 64" "exits $hrc" test "$hrc" = "64 64"
	if ! command -v curl >/dev/null 2>&1; then
		skip "notify posts to a webhook" "curl is not installed"
		return
	fi
	python3 "$W/webhook.py" "$d/port" "$d" &
	PIDS="$PIDS $!"
	if ! wait_for '[ -s "$d/port" ]' 20; then
		notok "notify posts" "the HTTP server did not start"
		return
	fi
	url=http://127.0.0.1:$(cat "$d/port")
	WANT="spoold: job j1 error at stage prep: $reason"
	export WANT
	SPOOL_EVENT=error SPOOL_REASON="$reason" NOTIFY_URL=$url/post \
	    "$NOTIFY" j1 prep >"$d/post.out" 2>&1
	hrc=$?
	if [ "$hrc" -eq 0 ] && [ -f "$d/post.body" ] && json_text "$d/post.body" &&
	    grep -qx application/json "$d/post.type"; then
		ok "notify posts valid JSON with id, event, stage and reason"
	else
		notok "notify posts valid JSON with id, event, stage and reason" \
		    "exit $hrc: $(cat "$d/post.out" "$d/post.body" 2>&1)"
	fi
	WANT=$(printf 'spoold: job j3 retry at stage ocr: caf\303\251 \342\202\254 \001 \377 ok')
	SPOOL_EVENT=retry SPOOL_REASON="${WANT#*ocr: }" NOTIFY_URL=$url/utf8 \
	    "$NOTIFY" j3 ocr >"$d/utf8.out" 2>&1
	WANT=$(printf 'spoold: job j3 retry at stage ocr: caf\303\251 \342\202\254 \001 \357\277\275 ok')
	check "notify: UTF-8 kept, control characters escaped, bad bytes U+FFFD" \
	    "$(cat "$d/utf8.out" "$d/utf8.body" 2>&1)" json_text "$d/utf8.body"
	printf '  %s/fromfile  \n' "$url" >"$d/url"
	WANT="spoold: job j4 done at stage a"
	SPOOL_EVENT="done" NOTIFY_URL_FILE=$d/url "$NOTIFY" j4 a >"$d/file.out" 2>&1
	check "notify reads the URL from NOTIFY_URL_FILE" \
	    "$(cat "$d/file.out" "$d/fromfile.body" 2>&1)" json_text "$d/fromfile.body"
	SPOOL_EVENT="done" NOTIFY_URL_FILE=$d/nothing "$NOTIFY" j4 a >/dev/null 2>&1
	hrc=$?
	check "notify: an unreadable NOTIFY_URL_FILE exits 66" "exit $hrc" \
	    test "$hrc" -eq 66
	SPOOL_EVENT="done" NOTIFY_URL=$url/fail "$NOTIFY" j5 a >"$d/fail.out" 2>&1
	hrc=$?
	check "notify: an HTTP error exits 75" "exit $hrc: $(cat "$d/fail.out")" \
	    test "$hrc" -eq 75
	port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
	SPOOL_EVENT="done" NOTIFY_URL=http://127.0.0.1:$port/ "$NOTIFY" j6 a \
	    >"$d/closed.out" 2>&1
	hrc=$?
	check "notify: a closed port exits 75" "exit $hrc: $(cat "$d/closed.out")" \
	    test "$hrc" -eq 75

	# As spoold's hook, where this spoold has hooks.
	conf "$d" "	on_done = {\"$NOTIFY\", \"%i\", \"%s\"}
	env = {\"NOTIFY_URL=$url/hook\"}"
	if ! "$SPOOLD" -n -c "$d/spoold.conf" >/dev/null 2>&1; then
		skip "notify as spoold's on_done hook" "this spoold has no on_done"
		return
	fi
	"$SPOOLD" -c "$d/spoold.conf" 2>"$d/err" &
	spid=$!
	PIDS="$PIDS $spid"
	echo job >"$d/job"
	id=$("$SPOOLCTL" -c "$d/spoold.conf" submit "$d/job")
	WANT="spoold: job $id done at stage a"
	await "notify as spoold's on_done hook" 30 \
	    '[ -f "$d/hook.body" ] && json_text "$d/hook.body" &&
	        grep -q "posted: $WANT" "$d/data/log/$id.log"' \
	    'cat "$d/err" "$d/data/log/$id.log" 2>&1'
	kill -TERM "$spid"
	exited "$spid" 60
	check "notify as spoold's on_done hook: spoold exits 0 on SIGTERM" \
	    "exit $rc" [ "$rc" -eq 0 ]
}

# (d) The scripts pass sh -n and shellcheck.
t_lint() {
	scripts="contrib/runit/spoold/run contrib/runit/spoold/finish
	    contrib/runit/spoold/log/run contrib/s6/spoold/run
	    contrib/s6/spoold/finish contrib/s6/spoold/log/run
	    contrib/notify/notify"
	bad=
	for s in $scripts; do
		[ -x "$TOP/$s" ] && sh -n "$TOP/$s" || bad="$bad $s"
	done
	check "service scripts and notify: executable, sh -n" "$bad" test -z "$bad"
	if command -v shellcheck >/dev/null 2>&1; then
		# shellcheck disable=SC2086
		out=$(cd "$TOP" && shellcheck -s sh $scripts 2>&1)
		check "service scripts and notify: shellcheck" "$out" test -z "$out"
	else
		skip "service scripts and notify: shellcheck" \
		    "shellcheck is not installed"
	fi
}

# service DEST SRC FOLDER: the service folder SRC copied to DEST, its paths
# those of spoold under test, FOLDER/spoold.conf and logs in FOLDER/log.
service() {
	cp -R "$2" "$1"
	for f in "$1/run" "$1/log/run"; do
		sed -e "s|/usr/local/sbin/spoold|$SPOOLD|g" \
		    -e "s|/usr/local/etc/spoold.conf|$3/spoold.conf|g" \
		    -e "s|/var/log/spoold|$3/log|g" "$f" >"$f.new"
		chmod 755 "$f.new"
		mv "$f.new" "$f"
	done
}

# (d) The runit service folder under runsv.
t_runit() {
	if ! command -v runsv >/dev/null 2>&1; then
		skip "runit service folder under runsv" "runit is not installed"
		return
	fi
	d=$W/runit
	mkdir "$d"
	conf "$d"
	service "$d/sv" "$TOP/contrib/runit/spoold" "$d"
	runsv "$d/sv" &
	rpid=$!
	PIDS="$PIDS $rpid"
	await "runit: spoold runs, its log in svlogd's current" 20 \
	    'grep -q "started, pid" "$d/log/current" 2>/dev/null' \
	    'sv status "$d/sv"; cat "$d/log/current" 2>&1'
	sv down "$d/sv" >/dev/null
	await "runit: sv down stops spoold" 60 \
	    'sv status "$d/sv" | grep -q "^down:" &&
	        grep -q "spoold: stopped" "$d/log/current"' \
	    'sv status "$d/sv"; tail -n 3 "$d/log/current"'
	chmod 666 "$d/spoold.conf"
	sv up "$d/sv" >/dev/null
	await "runit: a bad config (78) leaves the service down" 30 \
	    'grep -q "exit 78; down" "$d/log/current" &&
	        sv status "$d/sv" | grep "^down:" | grep -vq "want up"' \
	    'sv status "$d/sv"; tail -n 3 "$d/log/current"'
	sv exit "$d/sv" >/dev/null
	check "runit: sv exit ends runsv" "runsv still runs after 30 s" \
	    exited "$rpid" 30
}

# (d) The s6 service folder under s6-svscan.
t_s6() {
	if ! command -v s6-svscan >/dev/null 2>&1; then
		skip "s6 service folder under s6-svscan" "s6 is not installed"
		return
	fi
	d=$W/s6
	mkdir -p "$d/scan"
	conf "$d"
	service "$d/scan/spoold" "$TOP/contrib/s6/spoold" "$d"
	s6-svscan "$d/scan" >"$d/svscan.out" 2>&1 &
	spid=$!
	PIDS="$PIDS $spid"
	await "s6: spoold runs, its log in s6-log's current" 20 \
	    'grep -q "started, pid" "$d/log/current" 2>/dev/null' \
	    's6-svstat "$d/scan/spoold" 2>&1; cat "$d/log/current" 2>&1'
	s6-svc -d "$d/scan/spoold"
	await "s6: s6-svc -d stops spoold, exit 0" 60 \
	    's6-svstat "$d/scan/spoold" | grep -q "^down (exitcode 0)"' \
	    's6-svstat "$d/scan/spoold"; tail -n 3 "$d/log/current"'
	chmod 666 "$d/spoold.conf"
	s6-svc -u "$d/scan/spoold"
	await "s6: a bad config (78) leaves the service down" 30 \
	    'grep -q "exit 78; down" "$d/log/current" &&
	        s6-svstat "$d/scan/spoold" | grep -q "^down (exitcode 78)" &&
	        [ "$(s6-svstat -o wantedup "$d/scan/spoold")" = false ]' \
	    's6-svstat "$d/scan/spoold"; tail -n 3 "$d/log/current"'
	s6-svscanctl -t "$d/scan"
	check "s6: s6-svscanctl -t ends s6-svscan" \
	    "s6-svscan still runs after 30 s" exited "$spid" 30
}

if ! command -v python3 >/dev/null 2>&1; then
	skip init "python3 is not installed"
	finish
fi
t_notify_path
t_notify_abstract
t_systemd
t_unit
t_install
t_hook
t_lint
t_runit
t_s6
bad=$(grep -l "runtime error\|AddressSanitizer\|LeakSanitizer" \
    "$W"/*/err "$W"/*/log/current 2>/dev/null)
check "no sanitizer report from spoold" "$bad" test -z "$bad"
finish
