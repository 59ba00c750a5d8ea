# python_http: Python's ThreadingHTTPServer (the server behind `python3 -m
# http.server`, one thread per request) under weft, answering 1,000
# requests sent all at once by netload (native).  Every response must be a
# 200 with the file's exact bytes, the server must log all 1,000, and one
# OS thread (plus at most the offload pool) must have done the work.
# tests/preload/http_server.py is `python3 -m http.server` with a backlog
# that holds the burst; see there.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need "$py" python3
build_helpers

requests=1000
www=$scratch/www
mkdir -p "$www"
head -c 100003 /dev/urandom >"$www/file.bin"

# The server's stderr.
evidence() {
	show "$scratch/$label.err" "the server's stderr ($label)"
}
run_server() { # LABEL COMMAND...
	local label=$1 port pid
	shift
	port=$(free_port)
	start_server "$port" "the server" timeout 120 "$@" \
		"$py" "$root/tests/preload/http_server.py" "$port" "$www"
	if ! timeout 90 "$netload" http -c "$requests" -n "$requests" -t 80 -w 1 \
		"$port" /file.bin "$www/file.bin" >"$scratch/$label.load" \
		2>"$scratch/$label.load.err"; then
		show "$scratch/$label.load.err" "netload's stderr ($label)"
		evidence
		fail "$label: $(head -n 1 "$scratch/$label.load")"
	fi
	sleep 0.2 # the log line follows the response
	local logged
	logged=$(grep -c '"GET /file.bin HTTP/1.0" 200' "$scratch/$label.err")
	if [ "$logged" != "$requests" ]; then
		evidence
		fail "$label: the server logged $logged of $requests requests"
	fi
	kill -0 "$server" 2>/dev/null || fail "$label: the server died"
	echo "$label: $(cat "$scratch/$label.load"); OS threads at most" \
		"$(max_threads "$scratch/$label.samples")" \
		"($(thread_names "$scratch/$label.samples" | tr ' ' ','))" >&2
	kill "$pid"
}

run_server native
run_server weft "${weft[@]}"

threads=$(max_threads "$scratch/weft.samples")
if [ "$threads" -gt "$weft_threads_max" ]; then
	fail "under weft the server used $threads OS threads for $requests concurrent requests ($weft_threads_want)"
fi
[ "$threads" -gt 0 ] || fail "no thread count sampled under weft"
ok
