# vcomp — virtual components for XMPP clusters.
#
#   make            build vcompc and the runtime library
#   make check      every test, then the whole suite again under ASan+UBSan
#   make check-unit, check-fuzz-seeds, check-golden, check-integration
#                   one part of the suite
#   make demo       the main job, live (see README.md)
#   make examples   every example's C tables, binaries and cluster picture
#                   (SVG, needs Graphviz) into $(B)/examples/
#   make fuzz       run every fuzz target for FUZZ_SECONDS each
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        the vcompc Debian package into $(B)/deb/ (dpkg-deb)
#
# Everything is built under $(B) (build/ by default).  Sources are found by
# wildcard: a new .c file in compiler/ or runtime/ is built without touching
# this file; a new tests/unit/test_*.c joins the unit-test binary.

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
CFLAGS   ?= -O2 -g
B        ?= build
SAN      ?=

BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib/vcomp
MANDIR   = $(PREFIX)/share/man

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
STD      = -std=c17 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L
ifneq ($(SAN),)
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
endif
XML2_CFLAGS := $(shell pkg-config --cflags libxml-2.0 2>/dev/null)
XML2_LIBS   := $(shell pkg-config --libs libxml-2.0 2>/dev/null)

ALL_CFLAGS = $(STD) $(WARN) $(CFLAGS) $(SANFLAGS) -Icompiler -Iruntime -I$(B)/gen
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

# ------------------------------------------------------------ compiler

GRAMMAR_L  = $(wildcard grammar/*.l)
GRAMMAR_Y  = $(wildcard grammar/*.y)
GEN_C      = $(GRAMMAR_L:grammar/%.l=$(B)/gen/%.lex.c) \
             $(GRAMMAR_Y:grammar/%.y=$(B)/gen/%.tab.c)
GEN_H      = $(GRAMMAR_Y:grammar/%.y=$(B)/gen/%.tab.h)
# Keep the generated sources: as intermediates make would delete them,
# and the parser object needs its header after the fact.
.SECONDARY: $(GEN_C) $(GEN_H)
COMP_SRC   = $(filter-out compiler/main.c,$(wildcard compiler/*.c))
# runtime/jid.c (the RFC 7622 checks) is shared: the compiler checks a
# spec's JIDs with the same code the runtime checks stanzas with.
COMP_SHARED = runtime/jid.c
COMP_OBJ   = $(COMP_SRC:%.c=$(B)/%.o) $(GEN_C:%.c=%.o) \
             $(COMP_SHARED:%.c=$(B)/%.o)
COMP_LIBS  = $(XML2_LIBS) -lyaml -lnettle

VCOMPC     = $(B)/vcompc
LIBVCOMPC  = $(B)/libvcompc.a

# ------------------------------------------------------------ runtime

RT_SRC     = $(wildcard runtime/*.c)
RT_OBJ     = $(RT_SRC:%.c=$(B)/%.o)
LIBVCRT    = $(B)/libvcrt.a
# What a node binary links besides libvcrt.a (static archives on Debian).
RT_LIBS    = -lmbedtls -lmbedx509 -lmbedcrypto -lexpat -lnettle

# ------------------------------------------------------------ tests

# Two CUnit binaries share tests/unit/main.c: compiler tests
# (tests/unit/compiler/*.c) and runtime tests (tests/unit/runtime/*.c).  The
# runtime one links a routing table that vcompc generated from
# tests/unit/fixture.yaml, so the runtime is tested against real compiler
# output.
UNITC_SRC  = tests/unit/main.c $(wildcard tests/unit/compiler/*.c)
UNITR_SRC  = tests/unit/main.c $(wildcard tests/unit/runtime/*.c)
UNITC      = $(B)/tests/unit-compiler
UNITR      = $(B)/tests/unit-runtime

.PHONY: all deps check check-suite check-unit check-golden check-integration \
        check-rolling check-fuzz-seeds \
        check-san demo fuzz install uninstall clean examples bench deb \
        bench-compiler bench-quick bench-bundle
.SUFFIXES:

all: $(VCOMPC) $(LIBVCRT)

deps:
	@sh tools/deps.sh all

$(B)/gen/%.lex.c: grammar/%.l $(GEN_H)
	@mkdir -p $(@D)
	flex -o $@ $<

$(B)/gen/%.tab.c $(B)/gen/%.tab.h: grammar/%.y
	@mkdir -p $(@D)
	bison -Wall -Werror -o $(B)/gen/$*.tab.c --defines=$(B)/gen/$*.tab.h $<

# Generated scanners and parsers are not held to -Wextra's unused-function
# warnings that flex's skeleton trips.
$(B)/gen/%.o: $(B)/gen/%.c compiler/vcompc.h
	$(CC) $(ALL_CFLAGS) -Wno-unused-function -Wno-sign-compare \
	    -Wno-missing-prototypes -Icompiler -c -o $@ $<

$(B)/compiler/%.o: compiler/%.c $(wildcard compiler/*.h) runtime/vcomp_table.h $(GEN_H)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(XML2_CFLAGS) -c -o $@ $<

# vcompc finds the installed runtime library here (see compiler/link.c).
$(B)/compiler/link.o: ALL_CFLAGS += -DVCOMP_LIBDIR='"$(LIBDIR)"'
# ... and is rebuilt when that directory changes (`make install PREFIX=/usr`
# after a plain `make`): the stamp is rewritten only when LIBDIR differs.
$(B)/compiler/link.o: $(B)/libdir.stamp
$(B)/libdir.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(LIBDIR)' | cmp -s - $@ || echo '$(LIBDIR)' >$@

$(B)/runtime/%.o: runtime/%.c $(wildcard runtime/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%.o: tests/%.c $(wildcard tests/unit/*.h) compiler/vcompc.h $(wildcard runtime/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(XML2_CFLAGS) -c -o $@ $<

$(LIBVCOMPC): $(COMP_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBVCRT): $(RT_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

$(VCOMPC): $(B)/compiler/main.o $(LIBVCOMPC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(COMP_LIBS)

$(UNITC): $(UNITC_SRC:%.c=$(B)/%.o) $(LIBVCOMPC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(COMP_LIBS) -lcunit

$(B)/tests/fixture_table.c: tests/unit/fixture.yaml $(VCOMPC)
	@mkdir -p $(@D)
	cd tests/unit && $(abspath $(VCOMPC)) -c --node node1 -o $(abspath $@) fixture.yaml

$(B)/tests/fixture_table.o: $(B)/tests/fixture_table.c runtime/vcomp_table.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(UNITR): $(UNITR_SRC:%.c=$(B)/%.o) $(B)/tests/fixture_table.o $(LIBVCRT)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(RT_LIBS) -lcunit

# ------------------------------------------------------------ tests

# `make check` is what CI runs: every test, then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer in a separate build tree.
check: deps
	$(MAKE) check-suite
	$(MAKE) check-san

check-san:
	$(MAKE) B=build/san SAN=1 CFLAGS="-O1 -g" check-suite

# The suite in its parts, each runnable alone: unit tests, golden tests,
# then every tests/check-*.sh in order (end to end and integration).
# One after the other, also under -j: their output must not interleave.
check-suite:
	$(MAKE) check-unit
	$(MAKE) check-fuzz-seeds
	$(MAKE) check-golden
	$(MAKE) check-integration

check-unit: all $(UNITC) $(UNITR)
	@echo "== compiler unit tests ($(B))"
	$(UNITC)
	@echo "== runtime unit tests ($(B))"
	$(UNITR)

# Every fuzz target, built with gcc and tests/fuzz/seed_driver.c instead of
# libFuzzer, runs once over its seed corpus (under SAN=1: with the
# sanitizers): a stale oracle or a crash on a seed fails here, not at the
# next `make fuzz`.
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)
SEED_BIN   = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/fuzz/%)
$(SEED_BIN): $(B)/tests/fuzz/%: $(B)/tests/fuzz/%.o \
    $(B)/tests/fuzz/seed_driver.o $(LIBVCOMPC) $(LIBVCRT)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(COMP_LIBS) $(RT_LIBS)

check-fuzz-seeds: all $(SEED_BIN)
	@echo "== fuzz targets over their seed corpora ($(B))"
	@for f in $(SEED_BIN); do \
	    n=$$(basename $$f); \
	    $$f tests/fuzz/corpus/$$n || { echo "FAIL: $$n"; exit 1; }; \
	done

check-golden: all
	@echo "== golden tests ($(B))"
	VCOMPC=$(abspath $(VCOMPC)) B=$(abspath $(B)) sh tests/golden/run.sh

check-integration: all
	@for t in $(sort $(wildcard tests/check-*.sh)); do \
	    echo "== $$t ($(B))"; \
	    VCOMPC=$(abspath $(VCOMPC)) B=$(abspath $(B)) SAN=$(SAN) CC="$(CC)" \
	        bash $$t || exit 1; \
	done

# The rolling-change test (issue 12) alone: every supported change rolled
# through three Prosody nodes (and a fourth, added and removed) by
# in-place upgrades (SIGUSR2) under traffic, lost = 0 and bounced = 0 per
# change.  check-integration runs
# it too (tests/check-*.sh).
check-rolling: all
	VCOMPC=$(abspath $(VCOMPC)) B=$(abspath $(B)) SAN=$(SAN) CC="$(CC)" \
	    bash tests/check-rolling.sh

# ------------------------------------------------------------ fuzzing

FUZZ_SECONDS ?= 30
FUZZ_BIN     = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS  = -g -O1 -fsanitize=fuzzer,address,undefined $(STD) \
               -Icompiler -Iruntime -Ibuild/fuzz/gen $(XML2_CFLAGS)

build/fuzz/%: tests/fuzz/%.c FORCE
	@mkdir -p build/fuzz
	$(MAKE) B=build/fuzz CC=clang SAN= \
	    CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" \
	    build/fuzz/libvcompc.a build/fuzz/libvcrt.a
	clang $(FUZZ_CFLAGS) -o $@ $< build/fuzz/libvcompc.a build/fuzz/libvcrt.a \
	    $(COMP_LIBS) $(RT_LIBS)

fuzz: deps $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
	    n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
	    seeds=tests/fuzz/corpus/$$n; [ -d $$seeds ] || seeds=; \
	    echo "== $$n for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        build/fuzz/corpus/$$n $$seeds 2>build/fuzz/$$n.log || \
	        { tail -50 build/fuzz/$$n.log; exit 1; }; \
	    grep -E 'stat::number_of_executed_units|Done' build/fuzz/$$n.log; \
	done

FORCE:

# ------------------------------------------------------------ install

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(VCOMPC) $(DESTDIR)$(BINDIR)/vcompc
	install -m 0644 $(LIBVCRT) runtime/vcomp_table.h $(DESTDIR)$(LIBDIR)/
	for m in $(wildcard docs/man/*.1); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in $(wildcard docs/man/*.5); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in $(wildcard docs/man/*.8); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man8/; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vcompc
	rm -f $(DESTDIR)$(LIBDIR)/libvcrt.a $(DESTDIR)$(LIBDIR)/vcomp_table.h
	-rmdir $(DESTDIR)$(LIBDIR)
	for m in $(notdir $(wildcard docs/man/*.1)); do rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done
	for m in $(notdir $(wildcard docs/man/*.5)); do rm -f $(DESTDIR)$(MANDIR)/man5/$$m; done
	for m in $(notdir $(wildcard docs/man/*.8)); do rm -f $(DESTDIR)$(MANDIR)/man8/$$m; done

# ------------------------------------------------------------ Debian package

# The vcompc package (tools/mkdeb.sh): built with Debian's hardening flags
# in a tree of its own, installed under /usr into a staging directory, and
# packed with dpkg-deb into $(B)/deb/vcompc_VERSION_ARCH.deb.
DEB_B     = $(B)/deb/build
DEB_STAGE = $(B)/deb/stage
DEB_FLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all

deb:
	$(MAKE) B=$(DEB_B) PREFIX=/usr SAN= \
	    CFLAGS="$$($(DEB_FLAGS) dpkg-buildflags --get CFLAGS) $$($(DEB_FLAGS) dpkg-buildflags --get CPPFLAGS)" \
	    LDFLAGS="$$($(DEB_FLAGS) dpkg-buildflags --get LDFLAGS)" all
	rm -rf $(DEB_STAGE)
	$(MAKE) B=$(DEB_B) PREFIX=/usr SAN= DESTDIR=$(abspath $(DEB_STAGE)) install
	sh tools/mkdeb.sh $(DEB_STAGE) $(B)/deb

# ------------------------------------------------------------ demo, bench

# Every good example (examples/bad/ holds mistakes on purpose): each node's
# C table and static binary, and the cluster's picture (--emit=dot rendered
# by Graphviz) as cluster.svg, into $(B)/examples/FOLDER/.
EXAMPLE_SPECS = $(filter-out examples/bad/%,$(wildcard examples/*/*.yaml examples/*/*.properties examples/*/*.tdsl))

examples: all
	@for s in $(EXAMPLE_SPECS); do \
	    d=$(B)/examples/$$(basename $$(dirname $$s)); mkdir -p $$d; \
	    echo "== $$s -> $$d"; \
	    $(VCOMPC) --all -c -d $$d $$s || exit 1; \
	    $(VCOMPC) --all -d $$d $$s 2>$(B)/examples/link.log || \
	        { cat $(B)/examples/link.log; exit 1; }; \
	    $(VCOMPC) --emit=dot -o $$d/cluster.dot $$s || exit 1; \
	    command -v dot >/dev/null || \
	        { echo "make examples: Graphviz's dot is missing (tools/deps.sh)"; exit 1; }; \
	    dot -Tsvg -o $$d/cluster.svg $$d/cluster.dot || exit 1; \
	    ls $$d | sed 's/^/   /'; \
	done

demo: deps all
	bash tools/demo.sh

bench-compiler: all
	bash tests/bench/compiler.sh

# The runtime benchmarks (tests/bench/run.sh, docs/performance.md): every
# tests/bench/*.c but benchlib.c is one program linked with libvcrt.a.
BENCH_SRC = $(filter-out tests/bench/benchlib.c,$(wildcard tests/bench/*.c))
BENCH_BIN = $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)
# Kept: tests/bench/bundle.sh links them again, statically.
BENCH_OBJ = $(BENCH_SRC:tests/bench/%.c=$(B)/tests/bench/%.o) \
    $(B)/tests/bench/benchlib.o
.SECONDARY: $(BENCH_OBJ)
# The 127.0.0.1 ports baked into the bundle's node binaries: PORT_BASE..+8.
PORT_BASE ?= 47100

$(B)/bench/%: $(B)/tests/bench/%.o $(B)/tests/bench/benchlib.o $(LIBVCRT)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(RT_LIBS) -lm

bench: all $(BENCH_BIN)
	VCOMPC=$(abspath $(VCOMPC)) B=$(abspath $(B)) bash tests/bench/run.sh

bench-quick: all $(BENCH_BIN)
	VCOMPC=$(abspath $(VCOMPC)) B=$(abspath $(B)) QUICK=1 bash tests/bench/run.sh

# The same bench as static binaries plus tests/bench/portable.sh, to run on
# another machine (docs/performance.md): $(B)/vcomp-bench.tar.gz.
bench-bundle: all $(BENCH_BIN) $(BENCH_OBJ)
	VCOMPC=$(abspath $(VCOMPC)) B=$(abspath $(B)) PORT_BASE=$(PORT_BASE) \
	    bash tests/bench/bundle.sh

clean:
	rm -rf build
