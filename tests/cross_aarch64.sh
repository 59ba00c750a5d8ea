#!/bin/bash
# cross_aarch64.sh - cross-builds weft and its Check suites for aarch64 and
# runs, under qemu-aarch64, the suites of what differs there: the context
# switch, thread blocks (tpidr_el0, TLS variant I), green threads, their
# cancellation and signals (handlers on a thread's alternate stack: the
# switch's weft__call_on), the offload pool's interruptible system call
# stub, and green threads moving between schedulers with their blocks.
#
# Skips, with a message and status 0, on an aarch64 host (make check runs
# everything natively there) or when the cross compiler, qemu-aarch64 or
# the arm64 libraries (libc6, libev-dev and check, :arm64) are missing.
# Builds into build/aarch64/.  Prints each suite's Check summary and exits
# non-zero if the build or any suite failed.
#
#   tests/cross_aarch64.sh [SUITE...]
#
# CROSS_CC chooses the compiler (default aarch64-linux-gnu-gcc).  The
# suites left out by default fail under qemu-user for qemu's reasons, not
# weft's: qemu lacks process_vm_readv (identity), crashes in a threaded
# fork child that starts threads (pool, offload, process), prints a line
# of its own when a program aborts (stack), shows its own system call
# numbers in /proc/TID/syscall (monitor), translates code too slowly for
# 5 ms sleeps (wait), checks pointers and ioctls before the kernel would
# (the hook_* suites) and cannot exec an aarch64 child without binfmt_misc
# (badenv, badinput_*, config).  sigstorm is left out until it is known
# whose fault this is: in one run of the make check that added this
# script, 2,000 realtime signals sent to the process ran their handlers
# 2,001 times under qemu; natively the same test never has, and it passed
# under qemu every other time (run it here by naming it).
#
# A suite that fails is run once more, and passes if the second run does,
# with a FLAKY line naming it: qemu-user delivers signals itself (it
# keeps a guest signal pending on the host thread that took it), and once
# in CI a realtime signal test of sigpoke waited out its ten seconds
# there, after 60 runs in a row had passed on the machine that wrote
# this; whose fault is not known.  Natively no suite is retried.
set -eu

cd "$(dirname "$0")/.."

cross_cc=${CROSS_CC:-aarch64-linux-gnu-gcc}
libdir=/usr/lib/aarch64-linux-gnu
out=build/aarch64
suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
	suites=(co sched tcb green green_sync cancel futex sync signal
		sigpoke sigroute sigorder sigaltstack stdio stdio_intr offintr balance
		hook_mqueue hook_sysvipc)
fi

skip() {
	echo "skipped aarch64 suites: $*"
	exit 0
}

[ "$(uname -m)" != aarch64 ] || skip "the host is aarch64: make check runs them"
command -v "$cross_cc" >/dev/null || skip "no $cross_cc (gcc-aarch64-linux-gnu)"
command -v qemu-aarch64 >/dev/null || skip "no qemu-aarch64 (qemu-user)"
for lib in libc.so.6 libev.so pkgconfig/check.pc; do
	[ -e "$libdir/$lib" ] ||
		skip "no $libdir/$lib (libc6:arm64 libev-dev:arm64 check:arm64)"
done

export PKG_CONFIG_LIBDIR=$libdir/pkgconfig
make --no-print-directory -j"$(nproc)" CC="$cross_cc" B="$out" \
	"$out/libweft.so" "$out/tests/check" >"$out.log" 2>&1 || {
	tail -n 20 "$out.log"
	echo "aarch64 build failed (whole log: $out.log)"
	exit 1
}

# Under qemu every test runs some ten times slower.
export QEMU_LD_PREFIX=/ CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
status=0
for s in "${suites[@]}"; do
	echo "== aarch64 (qemu): $s"
	if ! CK_RUN_SUITE=$s qemu-aarch64 "$out/tests/check"; then
		echo "== aarch64 (qemu): $s again, after a failure"
		if CK_RUN_SUITE=$s qemu-aarch64 "$out/tests/check"; then
			echo "FLAKY under qemu: $s failed once, passed again"
		else
			status=1
		fi
	fi
done
exit "$status"
