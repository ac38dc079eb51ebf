# module.mk — builds pyflare._tracer (module/tracer.c), the in-process
# deterministic profiler, for every CPython found, each against its own headers:
#   build/module/<tag>/pyflare/{__init__,__main__,wsgi}.py + _tracer<EXT_SUFFIX>
# so that `PYTHONPATH=build/module/<tag> python -m pyflare script.py` works.
# <tag> is the interpreter's version ("3.12.1"; see module/pyinfo.py, which
# `pyflare trace` also uses to find the build). Interpreters without headers
# are skipped. The profile model and writers (src/profile, src/output,
# src/base) do not depend on Python, so they are compiled once, with -fPIC,
# into build/module/pic/ and linked into every interpreter's module.
# Included by the top-level Makefile; MODULE_TARGETS joins `all`.

# (/var/lib/pyflare/py313t: the free-threaded 3.13t of tools/setup-debian.sh, tag 3.13.5t, cp313t.)
MODULE_PYTHONS ?= $(wildcard /root/.pyenv/versions/*/bin/python) $(wildcard /usr/bin/python3.11) \
  $(wildcard $(or $(PYFLARE_PY313T),/var/lib/pyflare/py313t)/bin/python3.13t)
# Sanitizers stay out: the module is loaded by an uninstrumented interpreter.
MODULE_CFLAGS  = $(filter-out -fsanitize=% -fno-sanitize%,$(CFLAGS)) -fPIC -fvisibility=hidden
MODULE_LDFLAGS = $(filter-out -fsanitize=%,$(LDFLAGS))
MODULE_PIC_SRC = $(wildcard src/profile/*.c src/output/*.c src/base/*.c)
MODULE_PIC_OBJ = $(MODULE_PIC_SRC:%.c=$(BUILD)/module/pic/%.o)
MODULE_PY      = $(wildcard module/pyflare/*.py)
MODULE_HDR     = $(wildcard src/profile/*.h src/output/*.h src/base/*.h)

# One word per usable interpreter: tag|include|suffix|python.
MODULE_INFO := $(sort $(foreach py,$(MODULE_PYTHONS),$(shell $(py) module/pyinfo.py 2>/dev/null)))

$(BUILD)/module/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(MODULE_CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

# $(1) tag, $(2) include dir, $(3) extension suffix.
define MODULE_RULES
$(BUILD)/module/$(1)/pyflare/_tracer$(3): module/tracer.c $(MODULE_PIC_OBJ) $(MODULE_HDR)
	@mkdir -p $$(dir $$@)
	$(CC) $(WARN) $(MODULE_CFLAGS) $(CPPFLAGS) -isystem $(2) -shared -o $$@ module/tracer.c \
	  $(MODULE_PIC_OBJ) $(MODULE_LDFLAGS) $(LDLIBS)

$(BUILD)/module/$(1)/pyflare/%.py: module/pyflare/%.py
	@mkdir -p $$(dir $$@)
	cp $$< $$@

MODULE_TARGETS += $(BUILD)/module/$(1)/pyflare/_tracer$(3) \
  $(patsubst module/pyflare/%,$(BUILD)/module/$(1)/pyflare/%,$(MODULE_PY))
endef

$(foreach i,$(MODULE_INFO),$(eval $(call MODULE_RULES,$(word 1,$(subst |, ,$(i))),$(word 2,$(subst |, ,$(i))),$(word 3,$(subst |, ,$(i))))))

module: $(MODULE_TARGETS)
all: $(MODULE_TARGETS)
integration: $(MODULE_TARGETS)

.PHONY: module
-include $(MODULE_PIC_OBJ:.o=.d)
