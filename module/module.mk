# module.mk — builds pyflare._tracer (module/tracer.c), the in-process
# deterministic profiler, for every CPython found, each against its own headers:
#   build/module/<tag>/pyflare/{__init__,__main__,wsgi}.py + _tracer<EXT_SUFFIX>
# so that `PYTHONPATH=build/module/<tag> python -m pyflare script.py` works.
# <tag> is the interpreter's version ("3.12.1"; see module/pyinfo.py, which
# `pyflare trace` also uses to find the build). Interpreters without headers
# are skipped. The profile model, report layer and writers (src/profile,
# src/report, src/output, src/base) do not depend on Python, so they are
# compiled once, with -fPIC, into build/module/pic/ and linked into every
# interpreter's module.
# Interpreters that live in another root (Debian sid's 3.14 and 3.15, made by
# tools/setup-debian.sh) are asked through chroot and built with the host's
# compiler against the root's headers: the root's glibc is newer than the
# host's, so a module linked here loads there. Their build must be copied into
# the root to be imported (tests/tracer/run.py does so; see README).
# Included by the top-level Makefile; MODULE_TARGETS joins `all`.

# The interpreters the tests find (tests/harness.py): pyenv's, PATH's, system-3.11 and
# /var/lib/pyflare/py313t (the free-threaded 3.13t of tools/setup-debian.sh, tag 3.13.5t, cp313t).
MODULE_PYTHONS ?= $(shell $(PYTHON) tests/harness.py --host-paths)
MODULE_ROOT    ?= /var/lib/pyflare/sid-root
MODULE_ROOT_PYTHONS ?= $(notdir $(wildcard $(MODULE_ROOT)/usr/bin/python3.1[4-9] $(MODULE_ROOT)/usr/bin/python3.1[4-9]d))
# The interpreter is not instrumented, so a sanitizer build of the module
# needs the sanitizer's runtime preloaded (LD_PRELOAD): under `make asan` the
# module is built with the sanitizers against the shared runtime, whose path
# goes to build/asan/module/asan-runtime for the tests to preload. Otherwise
# sanitizers stay out.
MODULE_ASAN    = $(filter -fsanitize=address%,$(CFLAGS))
MODULE_CLANG   = $(findstring clang,$(shell $(CC) --version 2>/dev/null))
MODULE_CFLAGS  = $(if $(MODULE_ASAN),$(CFLAGS),$(filter-out -fsanitize=% -fno-sanitize%,$(CFLAGS))) -fPIC -fvisibility=hidden
MODULE_LDFLAGS = $(if $(MODULE_ASAN),$(LDFLAGS) $(if $(MODULE_CLANG),-shared-libasan),$(filter-out -fsanitize=%,$(LDFLAGS)))
MODULE_ASAN_RT = $(shell $(CC) -print-file-name=$(if $(MODULE_CLANG),libclang_rt.asan-$(shell uname -m).so,libasan.so))
MODULE_PIC_SRC = $(wildcard src/profile/*.c src/input/*.c src/report/*.c src/output/*.c src/base/*.c) src/cli/options.c
MODULE_PIC_OBJ = $(MODULE_PIC_SRC:%.c=$(BUILD)/module/pic/%.o) $(BUILD)/module/pic/gen/assets.o
MODULE_PY      = $(wildcard module/pyflare/*.py)
# The extension's own C files: all of module/ (tracer.c, load.c, write.c).
MODULE_C       = $(wildcard module/*.c)
MODULE_HDR     = $(wildcard src/profile/*.h src/input/*.h src/report/*.h src/output/*.h src/base/*.h) src/cli/options.h

# One word per usable interpreter: tag|include|suffix|python.
MODULE_INFO := $(sort $(foreach py,$(MODULE_PYTHONS),$(shell $(py) module/pyinfo.py 2>/dev/null)) \
  $(foreach py,$(MODULE_ROOT_PYTHONS),$(shell chroot $(MODULE_ROOT) $(py) - $(MODULE_ROOT) <module/pyinfo.py 2>/dev/null)))

$(BUILD)/module/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(MODULE_CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

# The writers' assets ($(ASSETS_C), made by the top-level Makefile).
$(BUILD)/module/pic/gen/assets.o: $(ASSETS_C) src/output/assets.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(MODULE_CFLAGS) $(CPPFLAGS) -c $< -o $@

# $(1) tag, $(2) include dir, $(3) extension suffix. The include dir's parent
# comes after the system's: Debian's pyconfig.h includes
# <x86_64-linux-gnu/python3.X/pyconfig.h> from there, while the C library's
# headers stay the host's.
define MODULE_RULES
$(BUILD)/module/$(1)/pyflare/_tracer$(3): $(MODULE_C) $(wildcard module/*.h) $(MODULE_PIC_OBJ) $(MODULE_HDR)
	@mkdir -p $$(dir $$@)
	$(CC) $(WARN) $(MODULE_CFLAGS) $(CPPFLAGS) -isystem $(2) -idirafter $(dir $(2)) -shared -o $$@ $(MODULE_C) \
	  $(MODULE_PIC_OBJ) $(MODULE_LDFLAGS) $(LDLIBS)

$(BUILD)/module/$(1)/pyflare/%.py: module/pyflare/%.py
	@mkdir -p $$(dir $$@)
	cp $$< $$@

MODULE_TARGETS += $(BUILD)/module/$(1)/pyflare/_tracer$(3) \
  $(patsubst module/pyflare/%,$(BUILD)/module/$(1)/pyflare/%,$(MODULE_PY))
endef

$(foreach i,$(MODULE_INFO),$(eval $(call MODULE_RULES,$(word 1,$(subst |, ,$(i))),$(word 2,$(subst |, ,$(i))),$(word 3,$(subst |, ,$(i))))))

ifneq ($(MODULE_ASAN),)
$(BUILD)/module/asan-runtime:
	@mkdir -p $(dir $@)
	echo $(MODULE_ASAN_RT) >$@
MODULE_TARGETS += $(BUILD)/module/asan-runtime
endif

module: $(MODULE_TARGETS)
all: $(MODULE_TARGETS)
integration: $(MODULE_TARGETS)

.PHONY: module
-include $(MODULE_PIC_OBJ:.o=.d)
