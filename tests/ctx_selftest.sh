#!/bin/bash
# ctx_selftest.sh - builds tests/ctx_selftest.c against the context switch
# of each architecture this machine can run, and runs it.
#
# Natively with the host's switch_<arch>.S; then, on a host that is not
# aarch64 and has a cross compiler and qemu-aarch64, again for aarch64,
# linked statically so that qemu needs no aarch64 libraries.  Binaries go
# to build/ctx/.  Prints each run's output, ending in "N passed, M failed",
# and exits non-zero if any build or run failed.
#
#   tests/ctx_selftest.sh
#
# CC and CROSS_CC choose the compilers (default gcc, aarch64-linux-gnu-gcc).
set -eu

cd "$(dirname "$0")/.."

out=build/ctx
cc=${CC:-gcc}
cross_cc=${CROSS_CC:-aarch64-linux-gnu-gcc}
# Assembler warnings fail the build too: the .S files must assemble clean.
flags=(-std=gnu11 -O2 -g -Wall -Wextra -Werror "-Wa,--fatal-warnings" -Icore)
status=0

mkdir -p "$out"

# build_and_run ARCH COMPILER [EXTRA_FLAG...] [-- RUNNER...]
# Builds $out/ctx_selftest-ARCH with core/switch_ARCH.S and runs it, through
# RUNNER if one is given.  Returns non-zero if the build or the run fails.
build_and_run() {
	local arch=$1 compiler=$2
	local bin=$out/ctx_selftest-$arch
	local extra=() runner=()

	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		extra+=("$1")
		shift
	done
	if [ $# -gt 0 ]; then
		shift
		runner=("$@")
	fi

	echo "== $arch: $compiler ${extra[*]}${runner[*]:+ (run with ${runner[*]})}"
	if ! "$compiler" "${flags[@]}" "${extra[@]}" -o "$bin" \
		tests/ctx_selftest.c "core/switch_$arch.S" -lm; then
		echo "build failed for $arch"
		return 1
	fi
	if ! "${runner[@]}" "$bin"; then
		echo "$arch run failed"
		return 1
	fi
}

host=$(uname -m)
case $host in
x86_64 | aarch64)
	build_and_run "$host" "$cc" || status=1
	;;
*)
	echo "no switch_$host.S: native run impossible on $host"
	status=1
	;;
esac

if [ "$host" != aarch64 ]; then
	if command -v "$cross_cc" >/dev/null &&
		command -v qemu-aarch64 >/dev/null; then
		build_and_run aarch64 "$cross_cc" -static -- qemu-aarch64 ||
			status=1
	else
		echo "skipped aarch64: install gcc-aarch64-linux-gnu qemu-user"
	fi
fi

exit "$status"
