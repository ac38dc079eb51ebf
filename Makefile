# pyflare — build, test, demo.
#   make            build/pyflare and the in-process module for every interpreter found
#   make test       unit tests + integration tests against every interpreter found
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
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpyflare.a tests/unit/check.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -Itests/unit -o $@ $< $(BUILD)/libpyflare.a $(LDFLAGS) $(LDLIBS)

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

# Every suite is a tests/<area>/run.py that prints "<area>: N passed, N failed, N skipped".
SUITES = $(wildcard tests/*/run.py)
integration: $(BUILD)/pyflare
	@fail=0; for s in $(SUITES); do \
	  PYFLARE=$(abspath $(BUILD)/pyflare) PYFLARE_BUILD=$(abspath $(BUILD)) $(PYTHON) $$s || fail=1; \
	done; exit $$fail

test: all unit integration

asan:
	$(MAKE) BUILD=build/asan CC=clang \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" unit integration

# One self-contained binary to copy into a production container (glibc and zlib linked in).
static:
	$(MAKE) BUILD=build/static LDFLAGS=-static build/static/pyflare

demo: $(BUILD)/pyflare
	$(PYTHON) examples/demo.py

clean:
	rm -rf build

.PHONY: all unit integration test asan static demo clean
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
-include module/module.mk
