#!/bin/bash
# command.sh - tests of the weft command (build/weft): what it tells the
# user, the exit statuses, and that a program run through it behaves as
# without it.  Run from anywhere; prints one line per test and a closing
# "N passed, M failed"; exits 1 if any failed.
set -u
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
weft=${WEFT_COMMAND:-$root/build/weft}
lib=$root/build/libweft.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-command.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() {
	echo "ok   $1"
	passed=$((passed + 1))
}

bad() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
}

skip() {
	echo "skip $1: $2"
}

# run NAME ARGS...: runs weft with ARGS, leaving stdout in $tmp/out,
# stderr in $tmp/err and the status in $status.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
}

# expect NAME STATUS STDERR_PATTERN: checks the last run.
expect() {
	local name=$1 want=$2 pattern=$3
	if [ "$status" != "$want" ]; then
		bad "$name" "status $status, want $want; stderr: $(cat "$tmp/err")"
	elif ! grep -qE -- "$pattern" "$tmp/err"; then
		bad "$name" "stderr lacks /$pattern/: $(cat "$tmp/err")"
	elif [ "$(wc -l <"$tmp/err")" != 1 ]; then
		bad "$name" "want one line on stderr: $(cat "$tmp/err")"
	else
		ok "$name"
	fi
}

if [ ! -x "$weft" ] || [ ! -f "$lib" ]; then
	echo "FAIL command.sh: build $weft and $lib first (make)"
	echo "0 passed, 1 failed"
	exit 1
fi

# --help names every option and every variable, with its default.
run "$weft" --help
missing=""
for word in WEFT_OFF WEFT_THREADS WEFT_STACK_SIZE WEFT_STATS WEFT_DEBUG \
	WEFT_DUMP_SIGNAL WEFT_INHERIT WEFT_OFFLOAD_THREADS WEFT_CPUS --help \
	--version --stats --native-threads --stack-size --cpus --off --lib; do
	grep -q -- "$word" "$tmp/out" || missing="$missing $word"
done
defaults=$(grep -c 'default' "$tmp/out")
if [ "$status" != 0 ] || [ -n "$missing" ] || [ -s "$tmp/err" ]; then
	bad help "status $status, missing:$missing"
elif [ "$defaults" -lt 8 ]; then
	bad help "only $defaults mentions of a default"
else
	ok help
fi

run "$weft" --version
if [ "$status" = 0 ] && grep -qx 'weft [0-9.]*' "$tmp/out"; then
	ok version
else
	bad version "status $status: $(cat "$tmp/out")"
fi

# Programs that cannot be run, and weft's own usage errors.
run "$weft" no-such-program-weft
expect missing_program 127 '^weft: no-such-program-weft: command not found$'
run "$weft" /nonexistent/prog
expect missing_path 127 '^weft: /nonexistent/prog: No such file or directory$'
printf 'x' >"$tmp/noexec"
chmod 644 "$tmp/noexec"
run "$weft" "$tmp/noexec"
expect not_executable 126 'noexec: Permission denied$'
run "$weft" "$tmp"
expect directory 126 'Is a directory$'
run "$weft"
expect no_program 125 '^weft: no program to run'
run "$weft" --frobnicate /bin/true
expect unknown_option 125 "unknown option '--frobnicate'"
run "$weft" --stack-size lots /bin/true
expect bad_stack_size 125 '^weft: --stack-size lots: '
for size in 0 15K 99999999999999999999999G 12abc '' ' 7' 0x10 -1; do
	run "$weft" --stack-size "$size" /bin/true
	expect "bad_stack_size_'$size'" 125 "^weft: --stack-size $size: want a size from 16K to 4G"
done
run "$weft" --stack-size
expect stack_size_without_value 125 '^weft: --stack-size needs a value'
for n in 0 1025 -1 2x '' 99999999999; do
	run "$weft" --cpus "$n" /bin/true
	expect "bad_cpus_'$n'" 125 "^weft: --cpus $n: want a number from 1 to 1024"
done
run "$weft" -x /bin/true
expect unknown_short_option 125 "unknown option '-x'"
run "$weft" --stats=1 /bin/true
expect option_with_unwanted_value 125 "unknown option '--stats=1'"
run "$weft" --lib "$tmp/nolib.so" /bin/true
expect missing_lib 127 '^weft: --lib .*nolib.so: No such file'

# A command installed without its library next to it.
mkdir -p "$tmp/bin"
cp "$weft" "$tmp/bin/weft"
run "$tmp/bin/weft" /bin/true
expect no_libweft 127 '^weft: cannot find libweft.so in .*; give its path with --lib$'
run "$tmp/bin/weft" --lib "$lib" /bin/echo found
if [ "$status" = 0 ] && [ "$(cat "$tmp/out")" = found ]; then
	ok lib_option
else
	bad lib_option "status $status: $(cat "$tmp/err")"
fi
# As installed: bin/weft finds lib/libweft.so.
mkdir -p "$tmp/prefix/bin" "$tmp/prefix/lib"
cp "$weft" "$tmp/prefix/bin/weft"
cp "$lib" "$tmp/prefix/lib/libweft.so"
run "$tmp/prefix/bin/weft" sh -c 'printf %s "$LD_PRELOAD"'
if [ "$status" = 0 ] && [ "$(cat "$tmp/out")" = "$tmp/prefix/lib/libweft.so" ]; then
	ok installed_layout
else
	bad installed_layout "status $status, LD_PRELOAD=$(cat "$tmp/out")"
fi

# A statically linked program: LD_PRELOAD cannot work.
printf 'int main(void) { return 0; }\n' >"$tmp/static.c"
if cc -static -o "$tmp/static" "$tmp/static.c" 2>/dev/null; then
	run "$weft" "$tmp/static"
	expect static 127 "^weft: $tmp/static is statically linked: weft can only run dynamically linked programs$"
	# A script whose interpreter is static.
	printf '#!%s\n' "$tmp/static" >"$tmp/script"
	chmod 755 "$tmp/script"
	run "$weft" "$tmp/script"
	expect static_interpreter 127 "the interpreter of $tmp/script\\) is statically linked"
else
	skip static "cc -static does not work here (no libc.a)"
fi

# A program for another architecture.
if cc -m32 -o "$tmp/prog32" "$tmp/static.c" 2>/dev/null; then
	run "$weft" "$tmp/prog32"
	expect other_arch 127 'is a 32-bit i386 program and libweft.so is 64-bit'
else
	skip other_arch "cc -m32 does not work here"
fi

# setuid: the loader runs in secure mode, and ignores LD_PRELOAD's paths,
# when exec changes the effective user: a setuid program owned by someone
# else.  (A setuid-root program run by root changes nothing: it is run.)
cp /bin/true "$tmp/suid"
chmod 4755 "$tmp/suid"
nosuid=$(findmnt -n -o OPTIONS -T "$tmp" 2>/dev/null | grep -c nosuid)
if [ "$nosuid" != 0 ]; then
	skip setuid "$tmp is on a nosuid mount"
elif [ "$(id -u)" = 0 ]; then
	run "$weft" "$tmp/suid"
	if [ "$status" = 0 ] && [ ! -s "$tmp/err" ]; then
		ok setuid_root_as_root
	else
		bad setuid_root_as_root "status $status: $(cat "$tmp/err")"
	fi
	chown nobody "$tmp/suid" && chmod 4755 "$tmp/suid"
	run "$weft" "$tmp/suid"
	expect setuid 127 "^weft: $tmp/suid is setuid: the dynamic loader ignores LD_PRELOAD for it$"
	cp /bin/true "$tmp/sgid"
	chgrp nogroup "$tmp/sgid" 2>/dev/null || chgrp 65534 "$tmp/sgid"
	chmod 2755 "$tmp/sgid"
	run "$weft" "$tmp/sgid"
	expect setgid 127 "is setgid: the dynamic loader ignores LD_PRELOAD for it$"
else
	# Owned by the caller: setuid to oneself changes nothing either.
	run "$weft" "$tmp/suid"
	if [ "$status" = 0 ]; then
		ok setuid_self
	else
		bad setuid_self "status $status: $(cat "$tmp/err")"
	fi
	suid=$(find /usr/bin /bin -maxdepth 1 -perm -4000 -user root -type f 2>/dev/null | head -n 1)
	if [ -n "$suid" ]; then
		run "$weft" "$suid" --version
		expect setuid 127 "^weft: $suid is setuid: the dynamic loader ignores LD_PRELOAD for it$"
	else
		skip setuid "no setuid-root program found"
	fi
fi

# Programs run through weft behave as without it.
run "$weft" /bin/echo hello
if [ "$status" = 0 ] && [ "$(cat "$tmp/out")" = hello ] && [ ! -s "$tmp/err" ]; then
	ok echo
else
	bad echo "status $status, out '$(cat "$tmp/out")', err '$(cat "$tmp/err")'"
fi

head -c 3000000 /dev/urandom >"$tmp/data"
"$weft" cat <"$tmp/data" >"$tmp/copy" 2>"$tmp/err"
status=$?
if [ "$status" = 0 ] && cmp -s "$tmp/data" "$tmp/copy" && [ ! -s "$tmp/err" ]; then
	ok cat_copies_exactly
else
	bad cat_copies_exactly "status $status, $(cmp "$tmp/data" "$tmp/copy" 2>&1)"
fi
"$weft" cat <"$tmp/data" | cat >"$tmp/copy"
if cmp -s "$tmp/data" "$tmp/copy"; then
	ok cat_into_a_pipe
else
	bad cat_into_a_pipe "$(cmp "$tmp/data" "$tmp/copy" 2>&1)"
fi

run "$weft" sh -c 'exit 7'
if [ "$status" = 7 ]; then ok exit_status; else bad exit_status "status $status"; fi
# (In a subshell, whose stderr takes bash's "Terminated".)
status=$( ("$weft" sh -c 'kill -TERM $$') >/dev/null 2>&1; echo $?)
if [ "$status" = 143 ]; then ok killed_by_a_signal; else bad killed_by_a_signal "status $status"; fi

# PATH search as execvp: the first executable match.
mkdir -p "$tmp/p1" "$tmp/p2"
printf '#!/bin/sh\necho one\n' >"$tmp/p1/prog"
printf '#!/bin/sh\necho two\n' >"$tmp/p2/prog"
chmod 644 "$tmp/p1/prog"
chmod 755 "$tmp/p2/prog"
PATH="$tmp/p1:$tmp/p2:$PATH" run "$weft" prog
if [ "$status" = 0 ] && [ "$(cat "$tmp/out")" = two ]; then
	ok path_search
else
	bad path_search "status $status, out $(cat "$tmp/out"), err $(cat "$tmp/err")"
fi
PATH="$tmp/p1" run "$weft" prog
expect path_not_executable 126 '^weft: prog: Permission denied$'

# --stats: the statistics on stderr, nothing on stdout.
run "$weft" --stats /bin/true
if [ "$status" = 0 ] && [ ! -s "$tmp/out" ] &&
	grep -q '^weft: statistics of pid [0-9]* (true)$' "$tmp/err" &&
	grep -q '^weft:   coroutines created  *[0-9]' "$tmp/err" &&
	grep -q '^weft:   context switches  *[0-9]' "$tmp/err" &&
	[ "$(grep -vc '^weft: ' "$tmp/err")" = 0 ]; then
	ok stats
else
	bad stats "status $status, out '$(cat "$tmp/out")', err '$(cat "$tmp/err")'"
fi
# Even for programs that close stderr on their way out (coreutils).
run "$weft" --stats cat /dev/null
if grep -q '^weft: statistics of pid [0-9]* (cat)$' "$tmp/err"; then
	ok stats_after_stderr_closed
else
	bad stats_after_stderr_closed "err '$(cat "$tmp/err")'"
fi

# Options become variables; LD_PRELOAD keeps what was there after weft.
run "$weft" --off --native-threads --stack-size 1M --cpus 3 sh -c \
	'printf "%s %s %s %s" "$WEFT_OFF" "$WEFT_THREADS" "$WEFT_STACK_SIZE" "$WEFT_CPUS"'
if [ "$(cat "$tmp/out")" = "1 native 1M 3" ]; then
	ok options_set_variables
else
	bad options_set_variables "got '$(cat "$tmp/out")'"
fi
printf 'void weft_test_nothing(void) {}\n' >"$tmp/nop.c"
cc -shared -fPIC -o "$tmp/libnop.so" "$tmp/nop.c"
LD_PRELOAD="$tmp/libnop.so" run "$weft" sh -c 'printf %s "$LD_PRELOAD"'
if [ "$(cat "$tmp/out")" = "$lib:$tmp/libnop.so" ] && [ ! -s "$tmp/err" ]; then
	ok ld_preload_kept
else
	bad ld_preload_kept "got '$(cat "$tmp/out")', err '$(cat "$tmp/err")'"
fi
# weft under weft: one libweft in LD_PRELOAD, not two.
run "$weft" "$weft" sh -c 'printf %s "$LD_PRELOAD"'
if [ "$(cat "$tmp/out")" = "$lib" ]; then
	ok weft_under_weft
else
	bad weft_under_weft "got '$(cat "$tmp/out")'"
fi
# WEFT_INHERIT=0: the program gets weft, its children do not.
WEFT_INHERIT=0 run "$weft" sh -c 'sh -c "printf %s \${LD_PRELOAD-unset}"'
if [ "$(cat "$tmp/out")" = unset ]; then
	ok inherit_0
else
	bad inherit_0 "got '$(cat "$tmp/out")'"
fi

# The manual page renders.
if command -v man >/dev/null 2>&1; then
	if MANWIDTH=80 man -l "$root/preload/weft.1" >"$tmp/man" 2>"$tmp/err" &&
		[ ! -s "$tmp/err" ] && grep -q WEFT_DUMP_SIGNAL "$tmp/man"; then
		ok man_page
	else
		bad man_page "$(head -n 5 "$tmp/err")"
	fi
else
	skip man_page "man is not installed"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
