# cancel: a C++ program whose threads, blocked in read(), in
# pthread_cond_wait and in sleep(), are ended with pthread_cancel, and one
# that ends with pthread_exit from deep in its calls
# (tests/preload/cancel.cc), natively and under weft.  Every stack
# object's destructor, thread_local destructor and cleanup handler must
# run once per thread, a catch of the forced unwind must see it and
# rethrow, and every joiner must get PTHREAD_CANCELED: the same line out
# both ways, with 300 threads on few OS threads under weft.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need g++ g++

prog=$helpers/cancel
src=$root/tests/preload/cancel.cc
if [ ! -x "$prog" ] || [ "$src" -nt "$prog" ]; then
	mkdir -p "$helpers"
	g++ -O2 -g -Wall -Wextra -o "$prog.tmp.$$" "$src" -lpthread ||
		fail "cannot build $prog"
	mv -f "$prog.tmp.$$" "$prog"
fi

want="canceled=300 guards=306 locals=301 handlers=300 rethrown=300 exit=42"
for label in native weft; do
	if [ "$label" = native ]; then cmd=(); else cmd=("${weft[@]}"); fi
	spawn "$scratch/$label.out" "$scratch/$label.err" "${cmd[@]}" "$prog" 300
	pid=$spawned
	[ "$label" = weft ] && sample "$pid" "$scratch/samples"
	end_within "$pid" 30
	if [ "$status" != 0 ]; then
		show "$scratch/$label.err" "cancel's stderr ($label)"
		[ "$status" = 137 ] && fail "$label: cancel hung (killed after 30 s)"
		fail "$label: cancel exited with $status"
	fi
	got=$(cat "$scratch/$label.out")
	[ "$got" = "$want" ] || fail "$label: printed '$got', not '$want'"
done
many=$(threads_used cancel weft "$scratch/samples") || fail "$many"
ok
