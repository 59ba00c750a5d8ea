# weft - one flat Makefile.  Targets: all check bench demo install clean.

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
PREFIX  ?= /usr/local
DESTDIR ?=

ARCH := $(shell uname -m)
B    := build

# Required flags, appended to the user's.
WEFT_CFLAGS  = -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -Wall -Wextra \
               -Wno-unused-parameter -Iinclude -iquote core -iquote hook -MMD -MP
WEFT_LIBS    = -lev -ldl -lpthread
SAN_FLAGS    = -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

# preload/command.c is the `weft` command, not part of the library.
SRCS    := $(filter-out preload/command.c,\
             $(wildcard core/*.c hook/*.c preload/*.c)) core/switch_$(ARCH).S
OBJS    := $(patsubst %,$(B)/obj/%.o,$(basename $(SRCS)))
SAN_OBJS := $(patsubst %,$(B)/san/%.o,$(basename $(SRCS)))
TESTS   := $(wildcard tests/test_*.c)
SUITES  := $(patsubst tests/test_%.c,%,$(TESTS))
SAMPLES := $(patsubst samples/%.c,$(B)/samples/%,$(wildcard samples/*.c))

COMMAND := $(if $(wildcard preload/command.c),$(B)/weft)

all: $(B)/libweft.so $(SAMPLES) $(B)/weft.pc $(COMMAND)

# Build dependencies are checked (and installed, as root) once.
$(B)/.deps:
	@sh .ci/deps
	@mkdir -p $(B) && touch $@

$(B)/obj/%.o: %.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) -c $< -o $@
$(B)/obj/%.o: %.S | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) -c $< -o $@
$(B)/san/%.o: %.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) $(SAN_FLAGS) $(CHECK_CFLAGS) -c $< -o $@
$(B)/san/%.o: %.S | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) -c $< -o $@

# The export map: the template, with the wrapped names from symbols.h.
$(B)/weft.map: preload/weft.map hook/symbols.h
	@mkdir -p $(B)
	printf '%s\n' '#include "symbols.h"' \
		'#define X(ret, name, params, how) MAP_##how(name)' \
		'#define MAP_WRAP(name) name;' '#define MAP_NEED(name)' \
		'#define MAP_MAY(name)' 'WEFT_REAL_SYMBOLS(X)' | \
		$(CC) -E -P -Ihook -x c - > $@.names
	sed "s/WRAPPED_LIBC_NAMES/$$(cat $@.names)/" preload/weft.map > $@
	rm -f $@.names

$(B)/libweft.so: $(OBJS) $(B)/weft.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=$(B)/weft.map \
		-Wl,-soname,libweft.so -o $@ $(OBJS) $(WEFT_LIBS)

$(B)/samples/%: samples/%.c $(B)/libweft.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Iinclude $< -o $@ \
		-L$(B) -lweft -Wl,-rpath,'$$ORIGIN/..'

$(B)/weft: preload/command.c | $(B)/.deps
	$(CC) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Iinclude \
		-MMD -MP $< -o $@

$(B)/weft.pc: Makefile
	@mkdir -p $(B)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' \
		'includedir=$${prefix}/include' '' 'Name: weft' \
		'Description: coroutines that make blocking calls cheap' \
		'Version: 0.1.0' 'Libs: -L$${libdir} -lweft' \
		'Cflags: -I$${includedir}' > $@

# ---- tests ----

$(B)/suites.h: Makefile $(TESTS)
	@mkdir -p $(B)
	printf 'SUITE(%s)\n' $(SUITES) > $@

$(B)/tests/%.o: tests/%.c $(B)/suites.h | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) $(CHECK_CFLAGS) -I$(B) -c $< -o $@
$(B)/tests-san/%.o: tests/%.c $(B)/suites.h | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) $(SAN_FLAGS) $(CHECK_CFLAGS) -I$(B) \
		-c $< -o $@

TEST_OBJS := $(patsubst tests/%.c,$(B)/tests/%.o,tests/check_main.c tests/testlib.c $(TESTS))
SAN_TEST_OBJS := $(patsubst $(B)/tests/%,$(B)/tests-san/%,$(TEST_OBJS))

# The suites link weft's objects directly, so they can test internals.
$(B)/tests/check: $(TEST_OBJS) $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(WEFT_LIBS) -lm
$(B)/tests/check-san: $(SAN_TEST_OBJS) $(SAN_OBJS)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(WEFT_LIBS) -lm

# ASan's leak checker cannot follow pointers kept only on parked coroutine
# stacks, and Check's forked tests exit with coroutines parked: off.
SAN_ENV = ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

check: all $(B)/tests/check $(B)/tests/check-san
	bash tests/ctx_selftest.sh
	$(B)/tests/check
	$(SAN_ENV) $(B)/tests/check-san
	bash tests/command.sh
	@if [ -x tests/preload/run ]; then tests/preload/run; fi

# ---- benchmarks, demo ----

bench: all
	bench/run

demo: all
	@if [ -x bench/demo ]; then bench/demo; else $(B)/samples/sleepers; fi

# ---- install ----

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(B)/libweft.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/weft.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/weft.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	if [ -n "$(COMMAND)" ]; then \
		install -d $(DESTDIR)$(PREFIX)/bin \
			$(DESTDIR)$(PREFIX)/share/man/man1 && \
		install -m 755 $(B)/weft $(DESTDIR)$(PREFIX)/bin/ && \
		install -m 644 preload/weft.1 \
			$(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf $(B)

.PHONY: all check bench demo install clean
.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
