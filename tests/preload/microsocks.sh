# microsocks: the thread-per-client SOCKS5 proxy natively and then under
# weft, the same way each time, in front of a native echo server
# (threaded_echo built with plain `cc -pthread`), all on loopback.  2,000
# SOCKS5 connections at once from a native client (netload echo -x): each
# must be granted "no authentication", CONNECT to the echo server by IPv4
# address (never a name: no DNS), be held open until all 2,000 are through,
# and then do 10 round trips of 1 to 4,096 pseudo-random bytes, every
# echoed byte checked; all 2,000 must be ok, and the echo server must see
# all of them close.  Then 40 curls at once fetch a 1 MiB file from
# python3's http.server through the proxy (--socks5 with an address), each
# byte for byte equal to the file.  microsocks must log one "connected"
# line per connection and nothing else, and SIGTERM (it has no handler: it
# dies of it; SIGINT is ignored by anything a script starts in the
# background) must end it within 10 s the same way natively and under weft.
# Natively microsocks holds an OS thread per client (at least 2,000 at
# once); under weft it must run on its schedulers' OS threads (plus at most
# the offload pool).  Throughput, p50/p99 round-trip latency and the most
# OS threads are printed on stderr for information, never compared.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need microsocks microsocks
need curl curl
need "$py" python3
build_helpers

conns=2000
msgs=10
curls=40

# microsocks holds two descriptors per client and does not raise its own
# limit; the soft limit is what it inherits.
want_fds=$((2 * conns + 100))
fds=$(ulimit -Sn)
if [ "$fds" != unlimited ] && [ "$fds" -lt "$want_fds" ]; then
	ulimit -Sn "$(ulimit -Hn)" 2>/dev/null
	fds=$(ulimit -Sn)
fi
[ "$fds" = unlimited ] || [ "$fds" -ge "$want_fds" ] ||
	fail "ulimit -n is at most $fds: $conns SOCKS connections need $want_fds descriptors in microsocks"

www=$scratch/www
mkdir -p "$www"
head -c 1M /dev/urandom >"$www/file"
serve_directory "$www"

# microsocks's stderr and the threads seen so far.
evidence() {
	show "$scratch/$label.err" "microsocks's stderr ($label)"
	threads_used microsocks "$label" "$scratch/$label.samples" >/dev/null || true
}

# run LABEL COMMAND-PREFIX...: a fresh echo server and microsocks, through
# every check; sets $ended to how microsocks ended after SIGTERM.
run() {
	label=$1
	shift
	local echo_port socks_port echo_pid pid server i lines threads
	echo_port=$(free_port)
	spawn "$scratch/$label.echo.out" "$scratch/$label.echo.err" timeout 120 \
		"$threaded_echo" --max-conns "$conns" "$echo_port"
	echo_pid=$spawned
	if ! wait_port "$echo_port" "$echo_pid"; then
		show "$scratch/$label.echo.err" "threaded_echo's stderr"
		fail "$label: the echo server did not start listening ($(how_ended "$echo_pid"))"
	fi

	socks_port=$(free_port)
	start_server "$socks_port" microsocks timeout 120 "$@" \
		microsocks -i 127.0.0.1 -p "$socks_port"

	# All the connections through the handshake and held for 1 s, then
	# the round trips.
	if ! timeout 60 "$netload" echo -c "$conns" -n "$msgs" -s 4096 -w 1 -t 50 \
		-x "$socks_port" "$echo_port" >"$scratch/$label.load" \
		2>"$scratch/$label.load.err"; then
		show "$scratch/$label.load.err" "netload's stderr ($label)"
		evidence
		[ -s "$scratch/$label.load" ] || echo "no answer in 60 s" >"$scratch/$label.load"
		fail "$label: $(head -n 1 "$scratch/$label.load")"
	fi

	# The echo server ends by itself once the 2,000th connection closes.
	for ((i = 0; i < 100; i++)); do
		kill -0 "$echo_pid" 2>/dev/null || break
		sleep 0.1
	done
	ended=$(how_ended "$echo_pid")
	[ "$ended" = "exited with status 0" ] ||
		{ evidence; fail "$label: the echo server did not see all $conns connections close ($ended)"; }
	kill -0 "$server" 2>/dev/null ||
		{ evidence; fail "$label: microsocks died during the load ($(how_ended "$pid"))"; }

	# curl through the proxy, $curls at once.  common.bash's no_proxy
	# would have curl bypass even a SOCKS proxy for 127.0.0.1: --noproxy ''
	# overrides it.
	local curl_pids=() bad=0
	for ((i = 1; i <= curls; i++)); do
		timeout 30 curl -sS --noproxy '' --socks5 "127.0.0.1:$socks_port" \
			-o "$scratch/$label.got$i" "http://127.0.0.1:$http_port/file" \
			2>"$scratch/$label.curl$i.err" &
		curl_pids+=($!)
	done
	for ((i = 1; i <= curls; i++)); do
		if ! wait "${curl_pids[i - 1]}"; then
			bad=$((bad + 1))
			show "$scratch/$label.curl$i.err" "curl $i's stderr ($label)"
		elif ! cmp -s "$www/file" "$scratch/$label.got$i"; then
			bad=$((bad + 1))
			echo "$label: curl $i's file differs from the one served" >&2
		fi
	done
	[ "$bad" = 0 ] || { evidence; fail "$label: $bad of $curls curls through microsocks failed or got other bytes"; }

	# One log line per connection: the load's and the curls'.
	lines=$(grep -c "^client\[[0-9]*\] 127\.0\.0\.1: connected to 127\.0\.0\.1:$echo_port\$" "$scratch/$label.err")
	[ "$lines" = "$conns" ] ||
		{ evidence; fail "$label: microsocks logged $lines connections to the echo server, not $conns"; }
	lines=$(grep -c "^client\[[0-9]*\] 127\.0\.0\.1: connected to 127\.0\.0\.1:$http_port\$" "$scratch/$label.err")
	[ "$lines" = "$curls" ] ||
		{ evidence; fail "$label: microsocks logged $lines connections to the HTTP server, not $curls"; }
	if grep -qv ': connected to 127\.0\.0\.1:' "$scratch/$label.err"; then
		evidence
		fail "$label: microsocks said: $(grep -v ': connected to 127\.0\.0\.1:' "$scratch/$label.err" | head -n 1)"
	fi

	threads=$(max_threads "$scratch/$label.samples")
	echo "$label: $(cat "$scratch/$label.load"); $curls curls ok; OS threads at most $threads" >&2
	many=$(threads_used microsocks "$label" "$scratch/$label.samples") || fail "$many"
	[ "$threads" -gt 0 ] || fail "$label: no thread count sampled"
	# Natively a thread per held client, besides the main one: the proof
	# that the load held all of them at once.
	if [ "$label" = native ] && [ "$threads" -lt "$conns" ]; then
		fail "natively microsocks had at most $threads OS threads for $conns held clients"
	fi

	# SIGTERM: microsocks must end within 10 s.
	kill -TERM "$server"
	stopped 10 microsocks SIGTERM
}

# Natively first: if this fails, the machine is the problem, not weft.
run native
native_ended=$ended
# microsocks has no handler for SIGTERM; timeout(1), not a group leader,
# reports the death as 128 + 15.
case $native_ended in
"exited with status 143" | "killed by SIGTERM") ;;
*) fail "natively microsocks $native_ended after SIGTERM, not killed by it" ;;
esac
run weft "${weft[@]}"
[ "$ended" = "$native_ended" ] ||
	{ evidence; fail "under weft microsocks $ended after SIGTERM; natively it $native_ended"; }
ok
