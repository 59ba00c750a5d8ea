# glib: a GLib program whose threads block in read() while holding a
# GMutex that the others wait for (tests/preload/glib_mutex.c), natively
# and under weft.  GLib's mutexes and conditions wait with
# syscall(SYS_futex): under weft such a wait must park the green thread,
# not its OS thread, or the holder never runs again.  Both runs must end
# with every round counted, one thread at a time in the critical section.
# Under weft it runs with one scheduler (WEFT_CPUS=1): with two, a waiter
# blocking its OS thread would leave the holder the other, and the test
# would pass for the wrong reason.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need pkg-config pkg-config
pkg-config --exists glib-2.0 || { echo "skip $name: install libglib2.0-dev"; exit 77; }

prog=$helpers/glib_mutex
src=$root/tests/preload/glib_mutex.c
if [ ! -x "$prog" ] || [ "$src" -nt "$prog" ]; then
	mkdir -p "$helpers"
	# shellcheck disable=SC2046 # pkg-config's words are flags
	cc -O2 -g -std=gnu11 -Wall -Wextra $(pkg-config --cflags glib-2.0) \
		-o "$prog.tmp.$$" "$src" $(pkg-config --libs glib-2.0) ||
		fail "cannot build $prog"
	mv -f "$prog.tmp.$$" "$prog"
fi

for label in native weft; do
	if [ "$label" = native ]; then cmd=(); else cmd=(env WEFT_CPUS=1 "${weft[@]}"); fi
	# $spawned is glib_mutex itself (env and the weft command exec it in
	# place), so sample sees its threads; the 60 s limit is kept here, as
	# timeout(1) in front would be the process sampled.
	spawn "$scratch/$label.out" "$scratch/$label.err" \
		"${cmd[@]}" "$prog" 16 300
	pid=$spawned
	[ "$label" = weft ] && sample "$pid" "$scratch/samples"
	end_within "$pid" 60
	if [ "$status" != 0 ]; then
		show "$scratch/$label.out" "glib_mutex's output ($label)"
		show "$scratch/$label.err" "glib_mutex's stderr ($label)"
		[ "$status" = 137 ] && fail "$label: glib_mutex froze (killed after 60 s)"
		fail "$label: glib_mutex exited with $status"
	fi
	grep -qx 'counter=4800 most=1' "$scratch/$label.out" ||
		fail "$label: glib_mutex printed '$(cat "$scratch/$label.out")', not counter=4800 most=1"
done
many=$(threads_used glib_mutex weft "$scratch/samples") || fail "$many"
ok
