# threaded_echo: the thread-per-connection sample, built with plain
# `cc -pthread` (it has never heard of weft), run under weft with 2,000
# connections at once.  Every echoed byte must be exact, the server must
# end by itself after the 2,000th connection closes, and the schedulers'
# OS threads (plus at most the offload pool) must have done the work.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
build_helpers

conns=2000
# The server's stderr.
evidence() {
	show "$scratch/$label.err" "threaded_echo's stderr ($label)"
}
run_server() { # LABEL COMMAND...: runs the check against one server
	local label=$1 port pid
	shift
	port=$(free_port)
	start_server "$port" threaded_echo \
		timeout 60 "$@" "$threaded_echo" --max-conns "$conns" "$port"
	if ! timeout 60 "$netload" echo -c "$conns" -n 20 -s 20000 -t 50 \
		"$port" >"$scratch/$label.load" 2>"$scratch/$label.load.err"; then
		show "$scratch/$label.load.err" "netload's stderr ($label)"
		evidence
		fail "$label: $(head -n 1 "$scratch/$label.load")"
	fi
	wait "$pid"
	local status=$?
	if [ "$status" != 0 ]; then
		evidence
		fail "$label: threaded_echo exited with $status after $conns connections, not 0"
	fi
	echo "$label: $(cat "$scratch/$label.load"); OS threads at most" \
		"$(max_threads "$scratch/$label.samples")" \
		"($(thread_names "$scratch/$label.samples" | tr ' ' ','))" >&2
}

# Natively first: if this fails, the machine is the problem, not weft.
run_server native
run_server weft "${weft[@]}"

threads=$(max_threads "$scratch/weft.samples")
if [ "$threads" -gt $((1 + offload_threads)) ]; then
	fail "under weft the server used $threads OS threads for $conns connections (want 1, plus at most $offload_threads offload workers)"
fi
if [ "$threads" -eq 0 ]; then
	fail "no thread count sampled under weft"
fi
ok
