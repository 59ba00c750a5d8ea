# stdio: a thread-per-connection server that reads lines with fgets on
# fdopen'ed sockets and answers with fprintf (tests/preload/stdio_server.c),
# natively and under weft.  A slow client sends half a line and waits for
# a fast client to be served; under weft, with one scheduler
# (WEFT_CPUS=1), both connections' threads are green threads of one OS
# thread, so the slow connection's fgets must park, not block, or the fast
# client waits for the slow one (10 s at most).
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"

prog=$helpers/stdio_server
src=$root/tests/preload/stdio_server.c
if [ ! -x "$prog" ] || [ "$src" -nt "$prog" ]; then
	mkdir -p "$helpers"
	cc -O2 -g -std=gnu11 -Wall -Wextra -pthread -o "$prog.tmp.$$" "$src" ||
		fail "cannot build $prog"
	mv -f "$prog.tmp.$$" "$prog"
fi

want='fast got: echo ping
slow got: echo hello
fast served while slow waited: yes'
for label in native weft; do
	if [ "$label" = native ]; then cmd=(); else cmd=(env WEFT_CPUS=1 "${weft[@]}"); fi
	timeout 60 "${cmd[@]}" "$prog" >"$scratch/$label.out" \
		2>"$scratch/$label.err"
	status=$?
	if [ "$status" != 0 ]; then
		show "$scratch/$label.err" "stdio_server's stderr ($label)"
		[ "$status" = 124 ] && fail "$label: stdio_server froze (killed after 60 s)"
		fail "$label: stdio_server exited with $status"
	fi
	[ "$(cat "$scratch/$label.out")" = "$want" ] ||
		fail "$label: stdio_server printed '$(tr '\n' '|' <"$scratch/$label.out")'"
done
ok
