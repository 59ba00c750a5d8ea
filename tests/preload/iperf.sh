# iperf: `iperf -s` (iperf 2, one thread per client stream) natively and
# then under weft, each time loaded by a native `iperf -c` with 50 and then
# 200 parallel TCP streams for 2 s (-P 50 -t 2, -P 200 -t 2), on loopback.
# (Not 500: iperf 2.1.8 itself, natively, now and then aborts with
# "free(): invalid pointer" or resets streams at -P 500 on a busy
# 2-core machine.)
# Both sides report in enhanced mode with exact byte counts (-e -f B):
# every stream must connect and move bytes on both sides (as many stream
# lines as -P, each more than 0 bytes), and the server's SUM must equal the
# client's SUM byte for byte.  SIGINT must then end the server with status
# 0 within 10 s, as natively.  Each run's SUM bandwidth and the server's
# OS threads are printed on stderr for information (natively about one
# thread per stream); under weft the server must run on its schedulers'
# OS threads (plus at most the offload pool).
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need iperf iperf

streams=(50 200)
secs=2

# 200 streams are 200 sockets in the server and 200 in the client; room
# for 500, should the count go up again.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
	ulimit -n "$(ulimit -Hn | awk '{ print ($1 == "unlimited" || $1 > 4096) ? 4096 : $1 }')"
fi
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 1100 ] ||
	fail "500 streams need about 1,100 fds; the hard limit is $(ulimit -Hn)"

# stream_bytes FILE: the bytes of each stream line of an enhanced report
# ("[ ID] 0.0000-2.0012 sec  123456 Bytes ..."), one a line.
stream_bytes() {
	awk '/^\[ *[0-9]+\] [0-9.]+-[0-9.]+ sec +[0-9]+ Bytes/ {
		sub(/^\[ *[0-9]+\] [0-9.]+-[0-9.]+ sec +/, ""); print $1 }' "$1"
}

# sum_bytes FILE: the bytes of the [SUM] lines, one a line.
sum_bytes() {
	awk '/^\[SUM\] [0-9.]+-[0-9.]+ sec +[0-9]+ Bytes/ {
		sub(/^\[SUM\] [0-9.]+-[0-9.]+ sec +/, ""); print $1 }' "$1"
}

# sum_rate FILE: the [SUM] line's bandwidth, in Gbit/s.
sum_rate() {
	awk '/^\[SUM\]/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Bytes/sec")
		printf "%.2f Gbit/s", $i * 8 / 1e9 }' "$1"
}

# The server's stdout, stderr and threads so far.
evidence() {
	show "$scratch/$label.out" "iperf -s's stdout ($label)"
	show "$scratch/$label.err" "iperf -s's stderr ($label)"
	threads_used iperf "$label" "$scratch/$label.samples" >/dev/null || true
}

# load N: a native client with N streams against the server on $port;
# checks both reports.
load() {
	local n=$1 from got i cbytes sbytes cstreams sstreams zero
	local client=$scratch/$label.$n.client server_part=$scratch/$label.$n.server
	from=$(($(wc -l <"$scratch/$label.out") + 1))
	if ! timeout 60 iperf -c 127.0.0.1 -p "$port" -P "$n" -t "$secs" -e -f B \
		>"$client" 2>"$client.err"; then
		show "$client" "iperf -c -P $n's stdout ($label)"
		show "$client.err" "iperf -c -P $n's stderr ($label)"
		evidence
		fail "$label: iperf -c -P $n failed or took more than 60 s"
	fi
	# The server reports once every stream has ended: wait for its SUM.
	for ((i = 0; i < 150; i++)); do
		tail -n "+$from" "$scratch/$label.out" >"$server_part"
		[ -n "$(sum_bytes "$server_part")" ] && break
		kill -0 "$server" 2>/dev/null || break
		sleep 0.1
	done

	cstreams=$(stream_bytes "$client" | wc -l)
	zero=$(stream_bytes "$client" | grep -cx 0)
	if [ "$cstreams" != "$n" ] || [ "$zero" != 0 ]; then
		show "$client" "iperf -c -P $n ($label)"
		evidence
		fail "$label: the client reported $cstreams of $n streams, $zero of them with 0 bytes"
	fi
	sstreams=$(stream_bytes "$server_part" | wc -l)
	zero=$(stream_bytes "$server_part" | grep -cx 0)
	if [ "$sstreams" != "$n" ] || [ "$zero" != 0 ]; then
		evidence
		fail "$label: the server reported $sstreams of $n streams within 15 s of the client's end, $zero of them with 0 bytes"
	fi

	# Over TCP the client counts what its writes returned and the server
	# what it read before EOF, so the two SUMs are the same bytes: natively
	# they were equal to the byte in every run (-f B prints exact counts).
	# The tolerance is therefore 0, and each SUM must be its streams' total.
	cbytes=$(sum_bytes "$client" | tr '\n' ' ' | sed 's/ $//')
	sbytes=$(sum_bytes "$server_part" | tr '\n' ' ' | sed 's/ $//')
	got=$(stream_bytes "$client" | awk '{ s += $1 } END { printf "%.0f", s }')
	if [ "$cbytes" != "$got" ]; then
		show "$client" "iperf -c -P $n ($label)"
		fail "$label: -P $n: the client's SUM ($cbytes) is not its $n streams' $got bytes"
	fi
	got=$(stream_bytes "$server_part" | awk '{ s += $1 } END { printf "%.0f", s }')
	if [ "$sbytes" != "$got" ]; then
		evidence
		fail "$label: -P $n: the server's SUM ($sbytes) is not its $n streams' $got bytes"
	fi
	if [ "$sbytes" != "$cbytes" ]; then
		evidence
		fail "$label: -P $n: the server received $sbytes bytes, the client sent $cbytes ($((cbytes - sbytes)) missing)"
	fi
	echo "$label: -P $n -t $secs: $n streams, $cbytes bytes on both sides;" \
		"SUM $(sum_rate "$client") sent, $(sum_rate "$server_part") received" >&2
}

# run LABEL COMMAND-PREFIX...: a fresh server through every load and its
# shutdown.
run() {
	label=$1
	shift
	local pid i ended n
	port=$(free_port)
	start_server "$port" "iperf -s" timeout 120 "$@" \
		iperf -s -B 127.0.0.1 -p "$port" -e -f B

	for n in "${streams[@]}"; do
		load "$n"
	done
	kill -0 "$server" 2>/dev/null ||
		{ evidence; fail "$label: iperf -s died during the load ($(how_ended "$pid"))"; }
	many=$(threads_used iperf "$label" "$scratch/$label.samples") || fail "$many"

	# SIGINT (as ^C): natively iperf -s exits with status 0 at once.
	kill -INT "$server"
	stopped 10 "iperf -s" SIGINT
	[ "$ended" = "exited with status 0" ] ||
		{ evidence; fail "$label: iperf -s $ended after SIGINT, not with status 0"; }
}

# Natively first: if this fails, the machine is the problem, not weft.
run native
# Natively a thread per stream: more OS threads than weft may use (how
# many of the 500 are alive at once depends on the machine's load).
threads=$(max_threads "$scratch/native.samples")
[ "$threads" -gt "$weft_threads_max" ] ||
	fail "natively iperf -s had at most $threads OS threads for ${streams[-1]} streams (a thread per stream expected)"
run weft "${weft[@]}"
ok
