# tests/fuzz/fuzz.mk: libFuzzer targets, one for each input an untrusted
# party controls, built with clang, ASan and UBSan. Included by the
# Makefile, whose B, CORE, CTL_VERBS, XCFLAGS, LDLIBS, SANITIZE, PKGS and
# DEPS_BUILD it uses.
#
#	conf      the config (conf_load of conf.c)
#	name      a job's file name (name.c)
#	status    a job's status.json (status.c)
#	events    index/events.jsonl as spoolctl events reads it (ctl_watch.c)
#	progress  the heartbeat file a stage's child writes (spool.c)
#	metrics   index/metrics.json as spoold and spoolctl stats read it
#	          (metrics.c, ctl_list.c)
#	squeue    squeue's answer as the Slurm runner reads it (slurm.c)
#	ctl       spoolctl's command line, parsed, not acted on (ctl_verbs.c)
#
# Every target links the same objects: the modules spoold and spoolctl
# share ($(CORE)) and spoolctl's verbs ($(CTL) but its main), so that a
# module that comes to call another breaks no target's link. What a
# target must not reach is left out of what it calls, not stubbed; what
# the targets share is tests/fuzz/fuzz.h.
#
#	make fuzz-build             build/fuzz/fuzz_NAME, each of them
#	make fuzz                   and runs each for FUZZ_TIME seconds (600)
#	make -j2 fuzz FUZZ_TIME=60  two at a time, a minute each
#	make fuzz-conf              one of them (fuzz-name, fuzz-events, ...)
#	make fuzz-replay            replays the seeds and the inputs of
#	                            tests/fuzz/crashes/NAME/ once each, with
#	                            cc, ASan and UBSan, without libFuzzer
#
# make check-all installs clang and libFuzzer when they are missing
# (fuzz-deps FUZZ_INSTALL=1), builds every target (fuzz-build) and runs
# fuzz-replay, so that a target that no longer builds, or a fault fixed
# once that comes back, fails it; fuzz-replay's closing line counts the
# inputs: "N passed, N failed, N skipped".
#
# Each run is on build/fuzz/corpus/NAME, a copy of tests/fuzz/seeds/NAME
# that grows from run to run (the seeds are never written), with the
# dictionary tests/fuzz/NAME.dict; a target that writes files writes them
# under build/fuzz/tmp/NAME ($TMPDIR). Its output goes to
# build/fuzz/NAME.log; what it finds goes to build/fuzz/crashes/NAME/,
# and make fails. FUZZ_OPTS adds libFuzzer options, e.g. FUZZ_OPTS=-seed=1.
# To replay an input:
#	build/fuzz/fuzz_conf FILE...
# A fault found is fixed in the module at fault, and its input kept in
# tests/fuzz/crashes/NAME/ (said in tests/fuzz/crashes/README) or turned
# into a unit test.
#
# Kept so that where this file is included does not change make's default
# goal.
FUZZ_GOAL := $(.DEFAULT_GOAL)

FUZZ_CC     ?= clang
FUZZ_CFLAGS ?= -O1 -g
FUZZ_TIME   ?= 600
FUZZ_OPTS   ?=
FUZZ_INSTALL ?=
FUZZ_DIR    := $(B)/fuzz
FUZZERS     := conf name status events progress metrics squeue ctl
# What every target links: the modules spoold and spoolctl share ($(CORE))
# and spoolctl's verbs without its main. One set for all, so that a module
# that comes to call another cannot break one target's link.
FUZZ_MODS := $(CORE) $(CTL_VERBS)
# The longest input each target is given: a config of a few hundred
# lines, a file name (ID_MAX is 251 bytes), a status record with strings
# escaped as \uXXXX, a few event lines, a heartbeat file (spoold reads
# 4096 bytes of it), a metrics.json, a few lines of squeue, a command
# line.
FUZZ_LEN_conf     := 8192
FUZZ_LEN_name     := 512
FUZZ_LEN_status   := 4096
FUZZ_LEN_events   := 4096
FUZZ_LEN_progress := 8192
FUZZ_LEN_metrics  := 8192
FUZZ_LEN_squeue   := 4096
FUZZ_LEN_ctl      := 1024
FUZZ_SAN := $(SANITIZE) -fsanitize=fuzzer-no-link
# The libraries the modules need, as the deps target names them.
FUZZ_DEPS_PKG := $(filter $(PKGS:%=%:%),$(DEPS_BUILD))

.PHONY: fuzz fuzz-build fuzz-deps fuzz-replay $(FUZZERS:%=fuzz-%)

fuzz: $(FUZZERS:%=fuzz-%)

fuzz-build: $(FUZZERS:%=$(FUZZ_DIR)/fuzz_%)

# clang, libFuzzer (clang's runtime, a package of its own, found by linking
# a tiny target) and the libraries: what is missing is named in an apt-get
# line, as the deps target names it, and the recipe exits 69
# (EX_UNAVAILABLE); with FUZZ_INSTALL=1, as root (make check-all), it is
# installed instead. FUZZ_CC may name a clang of another version
# (FUZZ_CC=clang-15), whose runtime package differs.
fuzz-deps:
	@missing=""; cc=$(FUZZ_CC); \
	case $$cc in clang-*) rt=libclang-rt-$${cc#clang-}-dev ;; \
	    *) rt=libclang-rt-dev ;; esac; \
	if ! command -v $$cc >/dev/null 2>&1; then \
	    missing=" $$cc $$rt"; \
	else \
	    t=$$(mktemp -d) || exit 1; \
	    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d[0] == 0 && n == 9; }\n' \
	        >"$$t/t.c"; \
	    if ! $$cc --version 2>/dev/null | grep -q clang; then \
	        missing=" clang libclang-rt-dev"; \
	    elif ! $$cc -fsanitize=fuzzer,address,undefined -o "$$t/t" \
	        "$$t/t.c" >/dev/null 2>&1; then \
	        v=$$($$cc -dumpversion 2>/dev/null); \
	        missing=" libclang-rt-$${v%%.*}-dev"; \
	    fi; \
	    rm -rf "$$t"; \
	fi; \
	for d in $(FUZZ_DEPS_PKG); do pkg-config --exists $${d%%:*} 2>/dev/null || \
	    missing="$$missing $${d#*:}"; done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$(FUZZ_INSTALL)" != 1 ] || [ "$$(id -u)" -ne 0 ]; then \
	    echo "missing packages for make fuzz; as root run:" \
	        "apt-get install -y$$missing" >&2; \
	    exit 69; fi; \
	echo "installing:$$missing"; \
	DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null

$(FUZZ_DIR)/obj:
	mkdir -p $@

# The modules, built for libFuzzer's coverage and with ASan and UBSan.
$(FUZZ_DIR)/obj/%.o: supervisor/%.c $(wildcard supervisor/*.h) \
    | fuzz-deps $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(XCFLAGS) $(FUZZ_SAN) -c -o $@ $<

# Kept, not removed as make's intermediates, for the next target's link.
.SECONDARY: $(FUZZ_MODS:%=$(FUZZ_DIR)/obj/%.o)
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_MODS:%=$(FUZZ_DIR)/obj/%.o) \
    $(wildcard supervisor/*.h) | fuzz-deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(XCFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer \
	    -Isupervisor -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# One run: the corpus topped up from the seeds, then FUZZ_TIME seconds
# counted by timeout(1), which ends it with SIGINT (libFuzzer then prints
# its stats and exits 72). libFuzzer's own -max_total_time, exec/s and unit
# times read the wall clock, which a test that sets the date (hostile.sh)
# moves by hours; the exec/s printed here is executions over FUZZ_TIME.
# libFuzzer may print its stats twice when the signal reaches it twice:
# the last are read.
$(FUZZERS:%=fuzz-%): fuzz-%: fuzz-build
	@rm -rf $(FUZZ_DIR)/tmp/$*
	@mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/crashes/$* \
	    $(FUZZ_DIR)/tmp/$*
	@cp tests/fuzz/seeds/$*/* $(FUZZ_DIR)/corpus/$*/
	@echo "== fuzz_$* for $(FUZZ_TIME)s, log in $(FUZZ_DIR)/$*.log"
	@TMPDIR=$(CURDIR)/$(FUZZ_DIR)/tmp/$* \
	    timeout -s INT -k 60 --preserve-status $(FUZZ_TIME) \
	    ./$(FUZZ_DIR)/fuzz_$* -max_len=$(FUZZ_LEN_$*) \
	    -dict=tests/fuzz/$*.dict -timeout=30 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crashes/$*/ $(FUZZ_OPTS) \
	    $(FUZZ_DIR)/corpus/$* >$(FUZZ_DIR)/$*.log 2>&1; rc=$$?; \
	if [ $$rc -eq 72 ] || [ $$rc -eq 0 ]; then \
	    grep -E '^#[0-9]+[[:space:]]' $(FUZZ_DIR)/$*.log | tail -n 1; \
	    grep -E '^stat::' $(FUZZ_DIR)/$*.log | tail -n 5; \
	    n=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
	        $(FUZZ_DIR)/$*.log | tail -n 1); \
	    echo "fuzz_$*: $$n executions in $(FUZZ_TIME)s," \
	        "$$(($$n / $(FUZZ_TIME))) exec/s," \
	        "corpus of $$(ls $(FUZZ_DIR)/corpus/$* | wc -l) files"; \
	else \
	    tail -n 60 $(FUZZ_DIR)/$*.log; \
	    echo "fuzz_$* found a fault (exit $$rc):" \
	        "$(FUZZ_DIR)/crashes/$*/$$(ls -t $(FUZZ_DIR)/crashes/$* | \
	        head -n 1)" >&2; \
	    exit 1; \
	fi

# The replays: each target linked with tests/fuzz/replay.c and the modules
# of the sanitized build, run on each seed and each input of crashes/ in a
# process of its own; the closing line counts them.
$(B)/san/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
    $(FUZZ_MODS:%=$(B)/san/%.o) $(wildcard supervisor/*.h)
	$(CC) $(CFLAGS) $(XCFLAGS) $(SANITIZE) -Isupervisor -o $@ \
	    $(filter %.c %.o,$^) $(LDLIBS)

fuzz-replay: $(FUZZERS:%=$(B)/san/replay_%)
	@echo "== the fuzzers' seeds and reproducers, replayed"
	@rm -rf $(B)/san/fuzztmp; mkdir -p $(B)/san/fuzztmp; \
	export TMPDIR=$(CURDIR)/$(B)/san/fuzztmp; \
	pass=0; fail=0; for f in $(FUZZERS); do \
	    for i in tests/fuzz/seeds/$$f/* tests/fuzz/crashes/$$f/*; do \
	        [ -f "$$i" ] || continue; \
	        if ./$(B)/san/replay_$$f "$$i" >$(B)/san/replay.out 2>&1; then \
	            pass=$$((pass + 1)); \
	        else \
	            fail=$$((fail + 1)); echo "not ok - $$i"; \
	            sed 's/^/#   /' $(B)/san/replay.out | tail -n 20; \
	        fi; \
	    done; done; \
	rm -rf $(B)/san/fuzztmp; \
	echo "$$pass passed, $$fail failed, 0 skipped"; [ $$fail -eq 0 ]

.DEFAULT_GOAL := $(FUZZ_GOAL)
