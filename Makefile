# pyflare — build, test, demo.
#   make            build/pyflare and the in-process module for every interpreter found
#   make test       unit tests + every test suite against every interpreter found,
#                   ending with the total: "total: N passed, N failed, N skipped"
#   make asan       the same tests on an AddressSanitizer + UBSan build (build/asan/)
#   make static     build/static/pyflare, one self-contained binary for containers
#   make demo       run pyflare on a bundled example program

CC      ?= cc
PYTHON  ?= python3
BUILD   ?= build
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS += -Isrc
LDLIBS  ?= -lz
# elfutils' libdw/libelf unwind and name native frames (--native, src/target/native.c);
# libstdc++ demangles C++ names. A static link also needs what libdw.so brings itself.
# Linked statically even in the normal build: the binary then needs only libc,
# libm and zlib, so it runs when copied into a container or chroot without elfutils.
NATIVE_LIBS ?= -Wl,-Bstatic -ldw -lelf -llzma -lbz2 -lstdc++ -Wl,-Bdynamic -lm
STATIC_NATIVE_LIBS = -ldw -lelf -llzma -lbz2 -lz -lstdc++ -lpthread -ldl

LIB_SRC  = $(wildcard src/base/*.c src/target/*.c src/cpython/*.c src/profile/*.c src/input/*.c src/report/*.c src/output/*.c src/sampler/*.c)
CLI_SRC  = $(wildcard src/cli/*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)

# The writers' script, style and markup (src/output/assets/) become C strings
# at build time: tools/embed.sh writes them to one generated file.
ASSETS    = $(sort $(wildcard src/output/assets/*))
ASSETS_C  = $(BUILD)/gen/assets.c

LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/assets.o
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/pyflare

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(ASSETS_C): $(ASSETS) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh $@ $(ASSETS)

$(BUILD)/obj/gen/assets.o: $(ASSETS_C) src/output/assets.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/libpyflare.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/pyflare: $(CLI_OBJ) $(BUILD)/libpyflare.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(NATIVE_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpyflare.a tests/unit/check.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -Itests/unit -o $@ $< $(BUILD)/libpyflare.a $(LDFLAGS) $(NATIVE_LIBS) $(LDLIBS)

# pyenv's root (`pyenv root`): test_elf reads pyenv's libpython files there.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null)

# Shell code running the unit tests, then every suite: each is a
# tests/<area>/run.py that prints "<area>: N passed, N failed, N skipped"
# (tests/harness.py). $(1): a file where each appends its counts (and the
# Makefile "exit NAME STATUS" for one that failed), read by `harness.py
# --total`; empty for none. Sets $$fail to 1 on any failure.
SUITES = $(wildcard tests/*/run.py)
run_unit = for t in $(UNIT_BIN); do \
	  PYENV_ROOT=$(PYENV_ROOT) PYFLARE_RESULTS=$(1) $$t || { rc=$$?; fail=1; echo "exit $${t\#\#*/} $$rc" >>$(or $(1),/dev/null); }; \
	done
run_suites = for s in $(SUITES); do \
	  PYFLARE=$(abspath $(BUILD)/pyflare) PYFLARE_BUILD=$(abspath $(BUILD)) PYFLARE_RESULTS=$(1) $(PYTHON) $$s || \
	    { rc=$$?; fail=1; n=$${s%/run.py}; echo "exit $${n\#\#*/} $$rc" >>$(or $(1),/dev/null); }; \
	done

unit: $(UNIT_BIN)
	@fail=0; $(call run_unit,); exit $$fail

integration: $(BUILD)/pyflare
	@fail=0; $(call run_suites,); exit $$fail

# Both, then the line summing them all (the last line of `make test`).
RESULTS = $(abspath $(BUILD))/test-results
tests-total: all $(UNIT_BIN)
	@rm -f $(RESULTS); fail=0; $(call run_unit,$(RESULTS)); $(call run_suites,$(RESULTS)); \
	$(PYTHON) tests/harness.py --total $(RESULTS) $(SUITES) || fail=1; exit $$fail

test: tests-total

asan:
	$(MAKE) BUILD=build/asan CC=clang \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" tests-total

# One self-contained binary to copy into a production container (glibc and zlib linked in).
static:
	$(MAKE) BUILD=build/static LDFLAGS=-static NATIVE_LIBS="$(STATIC_NATIVE_LIBS)" build/static/pyflare

demo: $(BUILD)/pyflare
	$(PYTHON) examples/demo.py

clean:
	rm -rf build

.PHONY: all unit integration tests-total test asan static demo clean
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
-include module/module.mk
