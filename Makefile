# spoold: GNU make. `make run` and `make check` install what is missing.

PREFIX     ?= /usr/local
SYSCONFDIR ?= $(PREFIX)/etc
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/spoold
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SPOOLDIR   ?= /var/spool/spoold
DESTDIR    ?=

CC      ?= cc
B       := build
PKGS    := libconfuse libbsd jansson libmd
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2
CFLAGS  ?= -O2 -g
WERROR  ?=
# What the code needs, kept apart from CFLAGS so that a CFLAGS given on the
# command line changes the optimisation, not the language or the libraries.
XCFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(WERROR) \
           -DSYSCONFDIR='"$(SYSCONFDIR)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all

# Debian packages, as NAME:PACKAGE, where NAME is a pkg-config module, a
# command or a path that the package provides. What building needs:
DEPS_BUILD := libconfuse:libconfuse-dev libbsd:libbsd-dev \
              jansson:libjansson-dev libmd:libmd-dev pkg-config:pkg-config
# What the shipped pipeline (conf/spoold.conf, stages/) runs.
DEPS_PIPE := bsdtar:libarchive-tools img2pdf:img2pdf ocrmypdf:ocrmypdf \
             tesseract:tesseract-ocr pdfinfo:poppler-utils \
             pdftotext:poppler-utils \
             /usr/share/tesseract-ocr/5/tessdata/eng.traineddata:tesseract-ocr-eng \
             /usr/share/tesseract-ocr/5/tessdata/fra.traineddata:tesseract-ocr-fra \
             convert-im6.q16:imagemagick \
             /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core
# What the fast suite (make check) adds: unit tests, man pages, core suites
# (monitor.sh scrapes node_exporter with curl).
DEPS_CHECK := cmocka:libcmocka-dev mandoc:mandoc python3:python3 tmux:tmux \
              setpriv:util-linux curl:curl \
              prometheus-node-exporter:prometheus-node-exporter
# What the rest of check-all adds: valgrind, the init systems, the page.
DEPS_ALL := valgrind:valgrind faketime:faketime \
            shellcheck:shellcheck runsv:runit s6-svscan:s6 chromium:chromium
# What each target installs; make deps installs them all.
DEPS_RUN := $(DEPS_BUILD) $(DEPS_PIPE)
DEPS_TEST := $(DEPS_BUILD) $(DEPS_CHECK)
DEPS := $(DEPS_BUILD) $(DEPS_PIPE) $(DEPS_CHECK) $(DEPS_ALL)
# DEPS_DRY=1: print the packages missing, install nothing.
DEPS_DRY :=

CORE := conf conf_scan conf_check log fileio name status events dedupe \
        lock syncer spool purge child launch output place admit queue metrics \
        forecast page pids runner runner_local runner_slurm slurm cgroup
LOOP := hook notify stage run claim intake recover report loop
DAEMON_OBJS := $(CORE:%=$(B)/%.o) $(LOOP:%=$(B)/%.o) $(B)/main.o
# spoolctl: main and its verbs, over the modules it shares with spoold.
CTL := spoolctl ctl_verbs ctl_spool ctl_submit ctl_list ctl_move ctl_watch ctl_info
CTL_OBJS := $(CTL:%=$(B)/%.o)
# Its verbs without main, for what calls them: the unit tests and fuzzers.
CTL_VERBS := $(filter-out spoolctl,$(CTL))
UNITS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
UNIT_H := $(wildcard tests/unit/*.h)
MAN1 := $(wildcard supervisor/*.1)
MAN5 := supervisor/spoold.conf.5
MAN8 := supervisor/spoold.8
MANS := $(MAN1) $(MAN5) $(MAN8)
STAGES := stages/prep stages/ocr stages/publish stages/versions
HOOKS := contrib/notify/notify
# The paths of the config and the systemd unit, made those of the install.
INSTALL_SED := -e 's|"\.\./stages/|"$(LIBEXECDIR)/|' \
    -e 's|"\.\./contrib/notify/|"$(LIBEXECDIR)/|' \
    -e 's|^spool *= *"data"|spool = "$(SPOOLDIR)"|' \
    -e 's|/usr/local/sbin/spoold|$(SBINDIR)/spoold|g' \
    -e 's|/usr/local/etc/spoold.conf|$(SYSCONFDIR)/spoold.conf|g' \
    -e 's|/var/spool/spoold|$(SPOOLDIR)|g'

.PHONY: all deps deps-run deps-test deps-pipeline sample run check check-all check-unit \
        check-conf check-man check-modgraph check-lane-fast1 check-lane-fast2 \
        check-lane-all1 check-lane-all2 bb-crash bench torture \
        install uninstall clean

all: $(B)/spoold $(B)/spoolctl

# The one recipe that installs: the packages of DEPS that are missing.
deps:
	@missing=""; \
	for d in $(DEPS); do n=$${d%%:*}; p=$${d#*:}; \
	    { [ -e "$$n" ] || command -v "$$n" >/dev/null 2>&1 || \
	      pkg-config --exists "$$n" 2>/dev/null; } || \
	    case " $$missing " in *" $$p "*) ;; *) missing="$$missing $$p" ;; \
	    esac; done; \
	if [ -n "$(DEPS_DRY)" ]; then echo "missing:$$missing"; exit 0; fi; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -ne 0 ]; then \
	    echo "missing packages; as root run: apt-get install -y$$missing" >&2; \
	    exit 69; fi; \
	echo "installing:$$missing"; \
	DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null && \
	case "$$missing" in *prometheus-node-exporter*) \
	    [ ! -d /run/systemd/system ] || systemctl disable --now -q \
	        prometheus-node-exporter;; esac

deps-run:
	@$(MAKE) -s deps DEPS="$(DEPS_RUN)"
deps-test:
	@$(MAKE) -s deps DEPS="$(DEPS_TEST)"
deps-pipeline:
	@$(MAKE) -s deps DEPS="$(DEPS_PIPE)"

$(B) $(B)/san $(B)/crash:
	mkdir -p $@

$(B)/%.o: supervisor/%.c $(wildcard supervisor/*.h) | $(B)
	$(CC) $(CFLAGS) $(XCFLAGS) -c -o $@ $<

$(B)/san/%.o: supervisor/%.c $(wildcard supervisor/*.h) | $(B)/san
	$(CC) $(CFLAGS) $(XCFLAGS) $(SANITIZE) -c -o $@ $<

$(B)/spoold: $(DAEMON_OBJS)
	$(CC) $(CFLAGS) $(XCFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CTL_OBJS) $(CTL_OBJS:$(B)/%=$(B)/san/%): supervisor/spoolctl.h

$(B)/spoolctl: $(CORE:%=$(B)/%.o) $(CTL_OBJS)
	$(CC) $(CFLAGS) $(XCFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/san/spoolctl: $(CORE:%=$(B)/san/%.o) $(CTL_OBJS:$(B)/%=$(B)/san/%)
	$(CC) $(CFLAGS) $(XCFLAGS) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/san/spoold: $(DAEMON_OBJS:$(B)/%=$(B)/san/%)
	$(CC) $(CFLAGS) $(XCFLAGS) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The test build that aborts at a crash point named by SPOOLD_CRASH.
$(B)/crash/%.o: supervisor/%.c $(wildcard supervisor/*.h) | $(B)/crash
	$(CC) $(CFLAGS) $(XCFLAGS) -DSPOOLD_CRASHPOINTS -c -o $@ $<

$(B)/crash/spoold: $(DAEMON_OBJS:$(B)/%=$(B)/crash/%)
	$(CC) $(CFLAGS) $(XCFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests link the modules they test, with and without sanitizers.
$(B)/test_%: tests/unit/test_%.c $(CORE:%=$(B)/%.o) $(UNIT_H) | $(B)
	$(CC) $(CFLAGS) $(XCFLAGS) -Isupervisor -o $@ $(filter %.c %.o,$^) \
	    $(LDLIBS) -lcmocka

$(B)/san/test_%: tests/unit/test_%.c $(CORE:%=$(B)/san/%.o) $(UNIT_H) | \
    $(B)/san
	$(CC) $(CFLAGS) $(XCFLAGS) $(SANITIZE) -Isupervisor -o $@ \
	    $(filter %.c %.o,$^) $(LDLIBS) -lcmocka

# The tests of the loop's files link them too.
$(B)/test_loop: $(LOOP:%=$(B)/%.o)
$(B)/san/test_loop: $(LOOP:%=$(B)/san/%.o)
$(B)/test_hook $(B)/test_notify: $(B)/hook.o $(B)/notify.o
$(B)/san/test_hook $(B)/san/test_notify: $(B)/san/hook.o $(B)/san/notify.o
# The tests of spoolctl's verbs (test_ctl_*) link the verbs, not main.
CTL_UNITS := $(filter test_ctl_%,$(UNITS))
$(CTL_UNITS:%=$(B)/%): $(CTL_VERBS:%=$(B)/%.o)
$(CTL_UNITS:%=$(B)/san/%): $(CTL_VERBS:%=$(B)/san/%.o)

sample: deps-pipeline
	sh contrib/sample.sh $(B)/sample.cbz

run: deps-run
	$(MAKE) all
	exec ./$(B)/spoold -c conf/spoold.conf

# The fast suite, for every change (a few minutes): one build with ASan
# and UBSan of the daemon and the CLI, its unit tests, the modules' graph,
# the config corpus and the core black-box suites, in two lanes at once.
check: deps-test
	$(MAKE) -j2 WERROR=-Werror $(B)/san/spoold $(B)/san/spoolctl \
	    $(UNITS:%=$(B)/san/%)
	$(MAKE) check-man
	$(MAKE) -j2 --output-sync=target check-lane-fast1 check-lane-fast2

check-lane-fast1:
	$(MAKE) check-unit UNIT_BUILDS=$(B)/san
	$(MAKE) bb-san-run bb-san-events bb-san-admit bb-san-exact
check-lane-fast2:
	$(MAKE) check-modgraph
	$(MAKE) check-conf CONF_SPOOLD=$(B)/san/spoold
	$(MAKE) bb-san-spoolctl bb-san-children bb-san-trust bb-san-usage \
	    bb-san-monitor

# Everything: both builds and the crash build, the unit tests of both, the
# modules' graph, the core suites with each, hostile, page, crash points
# and valgrind in two lanes at once; then, one at a time, what shares a machine-wide resource
# or most of its CPUs: Slurm, the OCR pipeline, the book, the service
# managers, and the fuzzers' seeds and reproducers (tests/fuzz/fuzz.mk;
# the fuzzers themselves are built with the rest, with clang).
check-all: deps
	$(MAKE) -s fuzz-deps FUZZ_INSTALL=1
	$(MAKE) -j2 WERROR=-Werror all $(B)/san/spoold $(B)/san/spoolctl \
	    $(B)/crash/spoold $(UNITS:%=$(B)/%) $(UNITS:%=$(B)/san/%) \
	    fuzz-build
	$(MAKE) check-man check-unit check-conf
	$(MAKE) -j2 --output-sync=target check-lane-all1 check-lane-all2
	$(MAKE) bb-slurm bb-pipeline bb-book bb-init fuzz-replay

CORE_BB := run spoolctl events children trust admit usage exact monitor
check-lane-all1 check-lane-all2: export LONG := 1
check-lane-all1:
	$(MAKE) check-modgraph
	$(MAKE) $(CORE_BB:%=bb-%) bb-hostile bb-page bb-crash
check-lane-all2:
	$(MAKE) $(CORE_BB:%=bb-san-%) bb-san-hostile bb-valgrind-run

# Every broken config of tests/conf/ gets its exact message and exit 78.
CONF_SPOOLD := $(B)/spoold
check-conf:
	SPOOLD=$(CURDIR)/$(CONF_SPOOLD) sh tests/conf/run.sh

# The modules call one way: none calls, directly or through others, back
# into one that calls it. Read from the objects of the plain build.
check-modgraph: all
	sh tests/modgraph.sh $(B)

UNIT_BUILDS := $(B) $(B)/san
check-unit:
	@fail=0; for t in $(foreach b,$(UNIT_BUILDS),$(UNITS:%=$(b)/%)); do \
	    echo "== $$t"; $$t || fail=1; done; exit $$fail

# One black-box suite: bb-NAME with the plain build, bb-san-NAME with ASan
# and UBSan watching the daemon and the CLI, bb-valgrind-run under
# valgrind's memcheck; bb-crash aborts the crash build at each crash point.
bb-%:
	@echo "== tests/blackbox/$*.sh with $(B)/spoold"
	@SPOOLD=$(CURDIR)/$(B)/spoold SPOOLCTL=$(CURDIR)/$(B)/spoolctl \
	    sh tests/blackbox/$*.sh
bb-san-%:
	@echo "== tests/blackbox/$*.sh with $(B)/san/spoold"
	@SPOOLD=$(CURDIR)/$(B)/san/spoold SPOOLCTL=$(CURDIR)/$(B)/san/spoolctl \
	    sh tests/blackbox/$*.sh
bb-valgrind-%:
	@echo "== tests/blackbox/$*.sh with $(B)/spoold under valgrind"
	@VALGRIND=1 SPOOLD=$(CURDIR)/$(B)/spoold SPOOLCTL=$(CURDIR)/$(B)/spoolctl \
	    sh tests/blackbox/$*.sh
bb-crash:
	@echo "== tests/blackbox/crash.sh with $(B)/crash/spoold"
	@SPOOLD=$(CURDIR)/$(B)/spoold SPOOLD_CRASH=$(CURDIR)/$(B)/crash/spoold \
	    sh tests/blackbox/crash.sh

# The long runs: 10,000 jobs while spoold is killed 50 times.
torture: deps all
	SPOOLD=$(CURDIR)/$(B)/spoold sh tests/blackbox/soak.sh 10000 50

bench: deps all
	sh tests/bench/bench.sh

check-man:
	mandoc -Tlint -W warning $(MANS)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 755 $(B)/spoold $(DESTDIR)$(SBINDIR)/spoold
	install -m 755 $(B)/spoolctl $(DESTDIR)$(BINDIR)/spoolctl
	install -m 755 $(STAGES) $(HOOKS) $(DESTDIR)$(LIBEXECDIR)/
	sed $(INSTALL_SED) contrib/systemd/spoold.service \
	    > $(DESTDIR)$(UNITDIR)/spoold.service
	chmod 644 $(DESTDIR)$(UNITDIR)/spoold.service
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 contrib/bash-completion/spoolctl \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/spoolctl
	@# The config is the operator's: never replaced once there.
	[ -e $(DESTDIR)$(SYSCONFDIR)/spoold.conf ] || { \
	    sed $(INSTALL_SED) conf/spoold.conf \
	        > $(DESTDIR)$(SYSCONFDIR)/spoold.conf && \
	    chmod 644 $(DESTDIR)$(SYSCONFDIR)/spoold.conf; }

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/spoold $(DESTDIR)$(BINDIR)/spoolctl \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/spoolctl
	rm -f $(STAGES:stages/%=$(DESTDIR)$(LIBEXECDIR)/%) \
	    $(HOOKS:contrib/notify/%=$(DESTDIR)$(LIBEXECDIR)/%) \
	    $(DESTDIR)$(UNITDIR)/spoold.service
	rm -f $(MAN1:supervisor/%=$(DESTDIR)$(MANDIR)/man1/%) \
	    $(MAN5:supervisor/%=$(DESTDIR)$(MANDIR)/man5/%) \
	    $(MAN8:supervisor/%=$(DESTDIR)$(MANDIR)/man8/%)
	-rmdir $(DESTDIR)$(LIBEXECDIR)

clean:
	rm -rf $(B)

include tests/fuzz/fuzz.mk
