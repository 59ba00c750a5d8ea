#!/bin/sh
# valgrind.sh - Check suites under valgrind memcheck.
#
# Usage: tests/valgrind.sh CHECK-BINARY SUITE...
#
# Check forks a child for every test; valgrind follows each fork, and every
# process writes its report to a file of its own.  The step fails on any
# memcheck error and on any warning that valgrind lost track of a stack
# ("client switching stacks?"), with two exceptions, both made on purpose
# by the tests that compare weft's errors with libc's:
#  - a system call given an address that was never mapped ("not stack'd,
#    malloc'd or (recently) free'd": the pointer 8, a page unmapped on
#    purpose), which the kernel answers with EFAULT, or bytes the test
#    left unset in its own frame (a count past the end of its array, an
#    ioctl valgrind does not know).  A freed block, an address out of a
#    stack, or unset bytes in weft's own frames are still errors;
#  - valgrind's notes of an fd that is not open, of fcntl commands and
#    ioctls it does not know (the tests make bad calls on purpose), and
#    that it stopped counting after ten million errors: poll's bad-input
#    tests hand it 20,000 bad pollfds at a time (--error-limit=no would
#    report the same contexts, only much slower).
# Leaks are not checked: Check's forked tests end with coroutines parked
# and threads running, whose memory is still in use when they exit (a run
# with --leak-check=full found blocks definitely lost only in Check's own
# runner, which its forked children never free).
#
# A Check failure fails the step too.  Under valgrind, programs run 20 to
# 50 times slower, and valgrind keeps RLIMIT_NOFILE its own way and lacks
# a few system calls (pidfd_open): a test that checks what valgrind cannot
# emulate leaves that out there itself, saying why on one line
# (tl_valgrind_cannot in tests/testlib.h), so that a passing step prints
# no failure at all.
set -u

bin=$1
logs=$(mktemp -d "${TMPDIR:-/tmp}/weft-valgrind.XXXXXX")
trap 'rm -rf "$logs"' EXIT

command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind.sh: valgrind is missing: apt-get install valgrind" >&2
	exit 1
}

start=$(date +%s)
shift
# VALGRIND_JOBS suites at a time (default: one per CPU); each suite's
# output is shown whole once it ends.
export bin logs
printf '%s\n' "$@" | xargs -P "${VALGRIND_JOBS:-$(nproc)}" -n 1 sh -c '
	CK_RUN_SUITE=$1 CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-20} \
		valgrind -q --log-file="$logs/vg.%p" --leak-check=no "$bin" \
		>"$logs/out.$1" 2>&1 || {
		echo "valgrind.sh: Check failed in $1" >>"$logs/out.$1"
		: >"$logs/failed.$1"
	}
	cat "$logs/out.$1"' sh

# A report starts at a line of valgrind's that is not indented, and runs
# to the next one or to a blank line.
awk '
function flush() {
	if (block != "" &&
	    !(head ~ /^Syscall param .* points to unaddressable byte/ &&
	      block ~ /is not stack.d, malloc.d or \(recently\) free.d/) &&
	    !(head ~ /^Syscall param .* uninitialised byte/ &&
	      block ~ /created by ([^ ]+ \(test_|srunner_run_tagged )/) &&
	    head !~ /^Warning: invalid file descriptor/ &&
	    head !~ /^Warning: unimplemented fcntl command/ &&
	    head !~ /^Warning: noted but unhandled ioctl/ &&
	    head !~ /^(More than 10000000 total errors|Final error counts|Rerun with --error-limit|that errors may occur|Valgrind, because errors)/) {
		printf "%s:\n%s\n", where, block
		bad++
	}
	block = head = ""
}
FNR == 1 { flush() }
/^==[0-9]+== *$/ { flush(); next }
/^==[0-9]+== / {
	line = substr($0, index($0, " ") + 1)
	if (line ~ /^Thread [0-9]+:$/) { # the report follows
		flush()
		next
	}
	if (line !~ /^ /) {
		flush()
		head = line
		where = FILENAME
	}
	if (head != "")
		block = block line "\n"
}
END {
	flush()
	printf "valgrind.sh: %d report(s) from %d process(es)\n", bad, ARGC - 1
	exit (bad > 0)
}' "$logs"/vg.*
rc=$?
failed=$(cd "$logs" && ls failed.* 2>/dev/null | sed 's/^failed\.//')
if [ -n "$failed" ]; then
	echo "valgrind.sh: Check failed in:" $failed
	rc=1
fi
echo "valgrind.sh: $(($(date +%s) - start)) s"
exit $rc
