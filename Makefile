# weft - one flat Makefile.  Targets: all check bench plot demo install clean.

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
PREFIX  ?= /usr/local
DESTDIR ?=

# The compiler's target, so that CC=aarch64-linux-gnu-gcc cross-builds.
ARCH := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
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
             $(wildcard core/*.c hook/*.c preload/*.c)) core/switch_$(ARCH).S \
           $(wildcard core/syscall_intr_$(ARCH).S)
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

# test_cancel unwinds through cleanup attributes, as C++ destructors.
$(B)/tests/test_cancel.o $(B)/tests-san/test_cancel.o: CFLAGS += -fexceptions

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

# ---- checkers: valgrind memcheck, ThreadSanitizer ----

# valgrind memcheck runs the plain binary (core/fiber.h registers every
# coroutine stack with it): see tests/valgrind.sh for what fails the step.
# Tests scale down their heaviest loads under valgrind (RUNNING_ON_VALGRIND).
# Every suite but the bad-input and fault ones: those sweep every wrapper's
# error paths with thousands of calls and forks (badinput_io alone ran 12
# minutes under valgrind without finishing; the other suites together take
# about 15 on two shared cores).  What memcheck finds and ASan cannot
# (uninitialised values, stacks lost track of) lives in the paths the
# other suites run, and ASan and UBSan run the sweeps too.
VG_SUITES = $(filter-out badinput_% faults_%,$(SUITES))

check-valgrind: $(B)/tests/check
	sh tests/valgrind.sh $(B)/tests/check $(VG_SUITES)

# ThreadSanitizer: weft and the suites built with -fsanitize=thread, run
# on the suites whose code runs on several OS threads (fd table, offload
# pool and its users, remote wake queue, weft_thread, green sync objects;
# stack: slabs, guards and overflow reports under TSan's shadow memory).
# Not the others: TSan gives each coroutine a fiber and allows 8128 at a
# time, and its own thread keeps a process whose main thread exits alive.
TSAN_FLAGS  = -fsanitize=thread -fno-omit-frame-pointer
TSAN_OBJS  := $(patsubst %,$(B)/tsan/%.o,$(basename $(SRCS)))
TSAN_TEST_OBJS := $(patsubst $(B)/tests/%,$(B)/tests-tsan/%,$(TEST_OBJS))
TSAN_SUITES = offload hook_fd hook_flock hook_resolve hook_waitpid sched wait \
              sync green green_sync stack pool
# The suites misuse mutexes on purpose, to compare weft's errors with
# glibc's: report_mutex_bugs=0 and report_destroy_locked=0, and
# tests/tsan.supp for locking a destroyed one.  (A report, even suppressed,
# changes errno under the differential tests.)  die_after_fork=0: weft's
# fork tests start threads in a child forked while the offload pool's
# threads ran, as programs do.
TSAN_ENV    = TSAN_OPTIONS=halt_on_error=1:exitcode=66:die_after_fork=0:$\
report_mutex_bugs=0:report_destroy_locked=0:suppressions=tests/tsan.supp \
              CK_TIMEOUT_MULTIPLIER=10

$(B)/tsan/%.o: %.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) $(TSAN_FLAGS) -c $< -o $@
$(B)/tsan/%.o: %.S | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) -c $< -o $@
# Not hook/: the wrappers of pthread_key_create and the like are called by
# ThreadSanitizer's own start-up, before its runtime can take the calls
# its instrumentation makes.  The state they share lives in core/; of it,
# the green threads' registry is consulted by pthread_getattr_np, which a
# new thread's start-up in ThreadSanitizer calls, so it is not built with
# it either, nor are the green threads' signal states (sigs.c, sigq.c,
# sigroute.c, sigmask.c, and their alternate stacks, sigstack.c,
# sigsync.c), which live in the registry's records and are ordered by the
# hook/ code that frees them.
TSAN_PLAIN = gthread sigs sigq sigroute sigmask sigstack sigsync
$(B)/tsan/hook/%.o: hook/%.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) -c $< -o $@
$(patsubst %,$(B)/tsan/core/%.o,$(TSAN_PLAIN)): $(B)/tsan/core/%.o: \
		core/%.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) -c $< -o $@
$(B)/tests-tsan/%.o: tests/%.c $(B)/suites.h | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WEFT_CFLAGS) $(TSAN_FLAGS) $(CHECK_CFLAGS) -I$(B) \
		-c $< -o $@
$(B)/tests/check-tsan: $(TSAN_TEST_OBJS) $(TSAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(TSAN_FLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(WEFT_LIBS) -lm

check-tsan: $(B)/tests/check-tsan
	for s in $(TSAN_SUITES); do \
		CK_RUN_SUITE=$$s $(TSAN_ENV) $(B)/tests/check-tsan || exit 1; \
	done

.PHONY: check-valgrind check-tsan

check: all $(B)/tests/check $(B)/tests/check-san
	bash tests/ctx_selftest.sh
	bash tests/cross_aarch64.sh
	$(B)/tests/check
	$(SAN_ENV) $(B)/tests/check-san
	$(MAKE) --no-print-directory fuzz-replay
	$(MAKE) --no-print-directory check-valgrind
	$(MAKE) --no-print-directory check-tsan
	bash tests/command.sh
	@if [ -x tests/preload/run ]; then tests/preload/run; fi
	$(MAKE) --no-print-directory soak SOAK_SECONDS=20 SOAK_CONNS=9000

# ---- soak: threaded_echo under weft, SOAK_CONNS connections, every byte
# checked, RSS watched (tests/soak/run) ----

SOAK_SECONDS ?= 600
SOAK_CONNS   ?= 9000

$(B)/soak/client: tests/soak/client.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra $< -o $@
# The server: built without weft, as a program weft is preloaded into.
$(B)/native/threaded_echo: samples/threaded_echo.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -pthread $< -o $@

soak: all $(B)/soak/client $(B)/native/threaded_echo
	tests/soak/run --build $(B) --seconds $(SOAK_SECONDS) --conns $(SOAK_CONNS)

# ---- fuzzing: tests/fuzz/calls.c runs random programs of wrapped calls
# woven and plain and compares them.  `make fuzz` runs libFuzzer (clang)
# for FUZZ_SECONDS; `check` replays tests/fuzz/regress/ with gcc. ----

FUZZ_SECONDS ?= 300
FUZZ_CC      ?= clang
# The sanitizer runtime is linked shared, so that weft's dlsym(RTLD_NEXT)
# finds its interceptors (pthread_create above all) rather than libc's.
FUZZ_FLAGS    = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer -shared-libsan
FUZZ_OBJS    := $(patsubst %,$(B)/fuzz/obj/%.o,$(basename $(SRCS) tests/fuzz/calls.c))

$(B)/fuzz/obj/%.o: %.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -O1 -g $(WEFT_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link \
		-c $< -o $@
$(B)/fuzz/obj/%.o: %.S | $(B)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WEFT_CFLAGS) -c $< -o $@
$(B)/fuzz/calls: $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(WEFT_LIBS) -lm \
		-Wl,-rpath,$$($(FUZZ_CC) -print-runtime-dir)

fuzz: $(B)/fuzz/calls
	sh tests/fuzz/run $(B)/fuzz $(FUZZ_SECONDS)

$(B)/tests/fuzz-replay: $(B)/obj/tests/fuzz/calls.o \
		$(B)/obj/tests/fuzz/replay.o $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(WEFT_LIBS) -lm
$(B)/tests/fuzz-replay-san: $(B)/san/tests/fuzz/calls.o \
		$(B)/san/tests/fuzz/replay.o $(SAN_OBJS)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(WEFT_LIBS) -lm

fuzz-replay: $(B)/tests/fuzz-replay $(B)/tests/fuzz-replay-san
	$(B)/tests/fuzz-replay tests/fuzz/regress
	$(SAN_ENV) $(B)/tests/fuzz-replay-san tests/fuzz/regress

# ---- benchmarks, demo ----

bench: all
	bench/run

# bench/plot draws build/bench/preload.tsv (bench/preload) and
# build/bench/servers.tsv (bench/servers, the last of make bench) into
# bench/results.png; it needs gnuplot (gnuplot-nox).
plot:
	bench/plot

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

.PHONY: all check bench plot demo install clean soak fuzz fuzz-replay
.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
