# tinyproxy: tinyproxy 1.11 (one thread per client) natively and then under
# weft, as a forward HTTP proxy on loopback in front of a native
# ThreadingHTTPServer (tests/preload/http_server.py) serving a 100 KiB
# file of random bytes and a small text file.  200 requests through the
# proxy, 50 curl processes at a time, must each bring back the file's exact
# bytes with tinyproxy's Via header; ab through the proxy at 100
# connections at once (2,000 requests) and at 1,000 at once (5,000
# requests) must complete every request with no failure and no non-2xx
# answer; the origin must have been asked each request exactly once;
# tinyproxy must log no error and must still be running after the load,
# and SIGTERM must end it within 10 s with the same status under weft as
# natively (0).  ab's requests/s and tinyproxy's OS threads (natively
# about one per client) are printed on stderr for information (the Python
# origin server, not tinyproxy, bounds the rate); under weft tinyproxy must
# run on its schedulers' OS threads (plus at most the offload pool).
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need tinyproxy tinyproxy
need ab apache2-utils
need curl curl
need "$py" python3

gets=200 get_workers=50
ab_runs=("100 2000" "1000 5000") # connections at once, requests
ab_requests=0
for i in "${ab_runs[@]}"; do
	ab_requests=$((ab_requests + ${i#* }))
done

www=$scratch/www
mkdir -p "$www"
head -c 102400 /dev/urandom >"$www/big.bin"
seq -f 'line %.0f of the small file' 1 100 >"$www/small.txt"

# The origin server, natively, for both runs: http_server.py's backlog
# holds the bursts tinyproxy forwards at 1,000 clients at once.
http_port=$(free_port)
spawn "$scratch/http.out" "$scratch/http.err" timeout 170 "$py" \
	"$root/tests/preload/http_server.py" "$http_port" "$www"
if ! wait_port "$http_port" "$spawned"; then
	show "$scratch/http.err" "the origin server's stderr"
	fail "the origin server did not start listening ($(how_ended "$spawned"))"
fi
url=http://127.0.0.1:$http_port
origin_gets() { grep -c '"GET /' "$scratch/http.err"; }

# tinyproxy's log and stderr, and its threads so far.
evidence() {
	show "$scratch/$label.log" "tinyproxy's log ($label)"
	show "$scratch/$label.err" "tinyproxy's stderr ($label)"
	threads_used tinyproxy "$label" "$scratch/$label.samples" >/dev/null || true
}

# get_all LABEL PORT: $gets requests through the proxy, $get_workers curl
# processes at a time, odd ones for big.bin and even ones for small.txt;
# every answer must be the file's exact bytes, with tinyproxy's Via header
# (common.bash's no_proxy would send curl straight to the origin, so
# --noproxy "" says to take the proxy for 127.0.0.1 too).
get_all() {
	local label=$1 port=$2 dir=$scratch/$1.got i file bad=0 missing=0 direct=0
	mkdir -p "$dir"
	# shellcheck disable=SC2016 # the script's variables are its arguments
	seq 1 "$gets" | timeout 60 xargs -P "$get_workers" -I{} sh -c '
		f=small.txt; [ $(($4 % 2)) = 1 ] && f=big.bin
		curl -sS --fail --max-time 30 --noproxy "" \
			--proxy "http://127.0.0.1:$1" -D "$2/$4.head" -o "$2/$4" \
			"$3/$f?n=$4" 2>"$2/$4.err" || echo "$?" >"$2/$4.status"
	' sh "$port" "$dir" "$url" {} >"$scratch/$label.xargs" 2>&1
	for ((i = 1; i <= gets; i++)); do
		file=small.txt
		((i % 2)) && file=big.bin
		if [ ! -e "$dir/$i" ] || [ -e "$dir/$i.status" ]; then
			missing=$((missing + 1))
			[ "$missing" = 1 ] && show "$dir/$i.err" "curl's stderr, request $i ($label)"
		elif ! cmp -s "$www/$file" "$dir/$i"; then
			bad=$((bad + 1))
		elif ! grep -qi '^Via: .*tinyproxy' "$dir/$i.head"; then
			direct=$((direct + 1))
		fi
	done
	[ "$direct" = 0 ] ||
		fail "$label: $direct of $gets answers have no Via header from tinyproxy"
	if [ "$missing" != 0 ] || [ "$bad" != 0 ]; then
		show "$scratch/$label.xargs" "xargs ($label)"
		evidence
		fail "$label: of $gets requests through tinyproxy $missing failed" \
			"and $bad brought back different bytes"
	fi
}

# ab_load LABEL PORT CONNECTIONS REQUESTS: ab through the proxy; every
# request must complete, none fail, none answered other than 2xx.
ab_load() {
	local label=$1 port=$2 c=$3 n=$4 out=$scratch/$1.ab$3
	if ! timeout 60 ab -q -s 30 -X "127.0.0.1:$port" -c "$c" -n "$n" \
		"$url/small.txt" >"$out" 2>"$out.err"; then
		show "$out" "ab's output ($label, -c $c)"
		show "$out.err" "ab's stderr ($label, -c $c)"
		evidence
		fail "$label: ab -c $c -n $n through tinyproxy failed or timed out" \
			"($(tail -n 1 "$out.err"))"
	fi
	local complete failed non2xx rate
	complete=$(awk '/^Complete requests:/ { print $3 }' "$out")
	failed=$(awk '/^Failed requests:/ { print $3 }' "$out")
	non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$out")
	rate=$(awk '/^Requests per second:/ { print $4 }' "$out")
	if [ "$complete" != "$n" ] || [ "$failed" != 0 ] || [ -n "$non2xx" ]; then
		show "$out" "ab's output ($label, -c $c)"
		evidence
		fail "$label: ab -c $c -n $n through tinyproxy: ${complete:-no} requests" \
			"complete, ${failed:-?} failed, ${non2xx:-0} non-2xx"
	fi
	rates="$rates, ab -c $c: $rate requests/s"
}

# run LABEL COMMAND-PREFIX...: a fresh tinyproxy through every check.
run() {
	label=$1
	shift
	local port pid server i ended many before want unused
	port=$(free_port)
	cat >"$scratch/$label.conf" <<-EOF
		Listen 127.0.0.1
		Port $port
		Timeout 60
		Syslog Off
		LogFile "$scratch/$label.log"
		LogLevel Warning
		PidFile "$scratch/$label.pid"
		MaxClients 1200
		Allow 127.0.0.1
	EOF
	start_server "$port" tinyproxy timeout 120 "$@" \
		tinyproxy -d -c "$scratch/$label.conf"

	before=$(origin_gets)
	get_all "$label" "$port"
	rates=""
	for i in "${ab_runs[@]}"; do
		# shellcheck disable=SC2086 # "CONNECTIONS REQUESTS"
		ab_load "$label" "$port" $i
	done
	# The origin logs each request after answering it: every one, once.
	want=$((before + gets + ab_requests))
	for ((i = 0; i < 50; i++)); do
		[ "$(origin_gets)" -ge "$want" ] && break
		sleep 0.1
	done
	[ "$(origin_gets)" = "$want" ] ||
		{ evidence; fail "$label: the origin server logged $(($(origin_gets) - before)) requests, not $((want - before))"; }
	kill -0 "$server" 2>/dev/null ||
		{ evidence; fail "$label: tinyproxy died during the load ($(how_ended "$pid"))"; }
	# Without a User tinyproxy started as root says it keeps the current
	# one: a warning, and true.  Anything at ERROR or CRITICAL is not,
	# but for one: now and then ab opens one connection more than it has
	# requests and closes it unused (natively too: 2,001 connections
	# accepted for 2,000 requests), which tinyproxy logs as "closed socket
	# before read".  A request lost that way would show in ab's counts.
	unused=$(grep -c 'closed socket before read' "$scratch/$label.log")
	if grep -E '^(ERROR|CRITICAL)' "$scratch/$label.log" |
		grep -vq 'closed socket before read'; then
		evidence
		fail "$label: tinyproxy logged: $(grep -E '^(ERROR|CRITICAL)' "$scratch/$label.log" |
			grep -v 'closed socket before read' | head -n 1)"
	fi
	echo "$label: $gets GETs through tinyproxy exact$rates;" \
		"connections ab closed unused: $unused" >&2
	many=$(threads_used tinyproxy "$label" "$scratch/$label.samples") || fail "$many"

	# SIGTERM: tinyproxy must exit within 10 s, as natively.
	kill -TERM "$server"
	stopped 10 tinyproxy SIGTERM
	if [ "$label" = native ]; then
		native_ended=$ended
	elif [ "$ended" != "$native_ended" ]; then
		evidence
		fail "$label: tinyproxy $ended after SIGTERM, natively it $native_ended"
	fi
}

# Natively first: if this fails, the machine is the problem, not weft.
run native
[ "$native_ended" = "exited with status 0" ] ||
	fail "natively tinyproxy $native_ended after SIGTERM, not with status 0"
run weft "${weft[@]}"
ok
