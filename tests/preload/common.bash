# common.bash - what every preload case shares; sourced, never run.
#
# A case is tests/preload/NAME.sh.  It runs real programs natively and under
# weft and compares what a user would see.  It prints one line, "ok NAME",
# "FAIL NAME: reason" or "skip NAME: install PKG", and exits 0, 1 or 77.
# Details a person needs to understand a failure go to stderr.
#
# Everything is on 127.0.0.1, on ports the kernel says are free, and every
# command is bounded by timeout(1).  Environment: WEFT_KEEP=1 keeps the
# case's scratch directory; WEFT_CMD overrides how a program is run under
# weft (default: build/weft if it exists, else LD_PRELOAD of
# build/libweft.so).

# shellcheck disable=SC2034 # the variables set here are the cases' to use
set -u
export LC_ALL=C
# Loopback only, never a proxy, never DNS.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=$(basename "$0" .sh)
helpers=$root/build/preload
py=/usr/bin/python3                 # Debian's, not whatever is first in PATH

# How to run a program under weft.
if [ -n "${WEFT_CMD:-}" ]; then
	read -r -a weft <<<"$WEFT_CMD"
elif [ -x "$root/build/weft" ]; then
	weft=("$root/build/weft")
else
	weft=(env "LD_PRELOAD=$root/build/libweft.so${LD_PRELOAD:+:$LD_PRELOAD}")
fi

# Under weft a program's threads run on its schedulers' OS threads (one
# per CPU unless WEFT_CPUS says), and the offload pool's real threads may
# exist besides them.
offload_threads=${WEFT_OFFLOAD_THREADS:-4}
schedulers=${WEFT_CPUS:-$(nproc)}
# The main thread, the pool's schedulers, the monitor and the signal
# router (once the program catches a signal), spares apart (one made
# ahead, and one per thread held at once: see max_spares).
weft_threads_max=$((1 + schedulers + 2 + offload_threads))
weft_threads_want="want main, $schedulers schedulers, the monitor and the signal router, plus at most $offload_threads offload workers"
weft_spares_max=8

ok() {
	echo "ok $name"
	exit 0
}

fail() {
	echo "FAIL $name: $*"
	exit 1
}

# need COMMAND PACKAGE: skips the case when COMMAND is not installed.
need() {
	if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$1" ]; then
		echo "skip $name: install $2"
		exit 77
	fi
}

# Prints the last lines of a file on stderr, indented, as evidence.
show() {
	local file=$1 what=$2
	[ -s "$file" ] || return 0
	echo "--- $what (last 15 lines of $file):" >&2
	tail -n 15 "$file" | sed 's/^/    /' >&2
}

# Scratch space and clean-up: every background process a case starts goes
# through spawn, and is ended by its id when the case exits.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/weft-preload-$name.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && sleep 0.2 && kill -9 "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${WEFT_KEEP:-0}" = 1 ]; then
		echo "$name: scratch kept in $scratch" >&2
	else
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# spawn OUT ERR COMMAND...: starts COMMAND in the background; its pid is in
# $spawned.
spawn() {
	local out=$1 err=$2
	shift 2
	"$@" >"$out" 2>"$err" </dev/null &
	spawned=$!
	pids+=("$spawned")
}

# Prints a TCP port on 127.0.0.1 that nothing listens on.
# Waits up to $2 seconds for $1, a process spawn started, to end, and
# kills it (-9) if it has not: a frozen program.  Sets $status to its exit
# status (137 when killed).
end_within() {
	local pid=$1 i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	status=$?
}

free_port() {
	"$py" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: waits (up to 10 s) until something listens on PORT;
# fails if PID dies first.  Returns 0 when ready.  It does not connect: a
# probe would count as one of a server's connections.
wait_port() {
	local port=$1 pid=$2 i
	for ((i = 0; i < 200; i++)); do
		if [ -n "$(ss -ltnH "sport = :$port")" ]; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# Prints how background process PID ended ("still running" if it has not):
# its exit status, or the signal that killed it.
how_ended() {
	local status
	if kill -0 "$1" 2>/dev/null; then
		echo "still running"
		return
	fi
	wait "$1"
	status=$?
	if [ "$status" -gt 128 ]; then
		echo "killed by SIG$(kill -l "$status")"
	else
		echo "exited with status $status"
	fi
}

# start_server PORT WHAT COMMAND...: starts COMMAND (timeout(1) around
# WHAT, the server, under weft or not) through spawn, its output in
# $scratch/$label.out and $scratch/$label.err, and waits for the server
# to listen on PORT; if it does not, calls the case's evidence and fails.
# Sets $pid to COMMAND's pid and $server to the listener's, which the
# clean-up also ends (timeout(1) would pass on a TERM a hung server
# ignores).  Under weft ($label weft) fails unless libweft.so is mapped
# into $server.  Then samples $server into $scratch/$label.samples.
start_server() {
	local port=$1 what=$2
	shift 2
	spawn "$scratch/$label.out" "$scratch/$label.err" "$@"
	pid=$spawned
	if ! wait_port "$port" "$pid"; then
		evidence
		fail "$label: $what did not start listening ($(how_ended "$pid"))"
	fi
	server=$(listener_pid "$port")
	pids+=("$server")
	if [ "$label" = weft ] && ! has_weft "$server"; then
		fail "libweft.so is not mapped into $what (pid $server)"
	fi
	: >"$scratch/$label.samples"
	sample "$server" "$scratch/$label.samples"
}

# stopped LIMIT WHAT AFTER: waits up to LIMIT seconds for $server, just
# asked to stop (AFTER says how), to end, and for $pid, the timeout(1) it
# was spawned under, to end after it.  If $server still runs then, calls
# the case's evidence, kills it and fails the case.  Sets $ended to how
# $pid ended (how_ended).
stopped() {
	local limit=$1 what=$2 after=$3 i
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$server" 2>/dev/null || kill -0 "$pid" 2>/dev/null ||
			break
		sleep 0.1
	done
	if kill -0 "$server" 2>/dev/null; then
		evidence
		kill -KILL "$server"
		fail "$label: $what still running $limit s after $after"
	fi
	ended=$(how_ended "$pid")
}

# Prints the pid of the process listening on PORT (the server itself, even
# when a wrapper started it).
listener_pid() {
	ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2
}

# Says whether libweft.so is mapped into process PID.
has_weft() {
	grep -q 'libweft\.so' "/proc/$1/maps" 2>/dev/null
}

# preloaded WHAT COMMAND...: COMMAND, run under weft, prints its own
# /proc/self/maps; fails the case unless libweft.so is in it, so that a
# case cannot pass because weft was never loaded.
preloaded() {
	local what=$1
	shift
	timeout 20 "${weft[@]}" "$@" 2>"$scratch/maps.err" | grep -q 'libweft\.so' ||
		{ show "$scratch/maps.err" "stderr"; fail "$what under weft does not have libweft.so mapped"; }
}

# sample PID FILE: in the background, appends "threads rss_kib" for PID to
# FILE every 50 ms until PID ends or the case does, and the names of its
# OS threads to FILE.names; $sampler is its pid.
sample() {
	local pid=$1 file=$2
	(
		while [ -r "/proc/$pid/status" ]; do
			# Threads, RSS, spares: the kernel's io_uring workers,
			# which show as threads of the process, are not the
			# program's; weft's spares are counted apart.
			set -- $(awk '/^iou-/ { next } /^weft-spare$/ { s++; next }
				      { n++ } END { print n + 0, s + 0 }' \
				"/proc/$pid"/task/*/comm 2>/dev/null)
			awk -v t="${1:-0}" -v s="${2:-0}" '/^VmRSS:/ { r = $2 }
			     END { if (t) print t, r, s }' "/proc/$pid/status" \
				>>"$file" 2>/dev/null
			cat "/proc/$pid"/task/*/comm >>"$file.names" 2>/dev/null
			sleep 0.05
		done
	) &
	sampler=$!
	pids+=("$sampler")
}

# Prints the largest thread count in a sample file (0 if empty), spares
# apart.
max_threads() {
	awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { print m }' "$1"
}

# Prints the most spare threads of weft's monitor in a sample file.
max_spares() {
	awk 'BEGIN { m = 0 } $3 > m { m = $3 } END { print m }' "$1"
}

# Prints the distinct OS thread names seen by sample, on one line.
thread_names() {
	sort -u "$1.names" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'
}

# threads_used PROGRAM LABEL SAMPLES: prints on stderr the most OS threads
# the samples saw, and their names.  Under weft (LABEL weft) returns 1,
# with a reason on stdout, if that is more than one plus the offload pool.
threads_used() {
	local program=$1 label=$2 samples=$3 threads
	[ -s "$samples" ] || return 0
	threads=$(max_threads "$samples")
	spares=$(max_spares "$samples")
	echo "$label: $program's OS threads at most $threads, and $spares" \
		"spares ($(thread_names "$samples" | tr ' ' ','))" >&2
	if [ "$label" = weft ] && [ "$threads" -gt "$weft_threads_max" ]; then
		echo "$program used $threads OS threads under weft ($weft_threads_want)"
		return 1
	fi
	# A spare per thread held at once, beyond the first: a few.
	if [ "$label" = weft ] && [ "$spares" -gt "$weft_spares_max" ]; then
		echo "$program used $spares spare OS threads under weft (want at most $weft_spares_max)"
		return 1
	fi
}

# build_helper OUT SOURCE [FLAGS...]: builds OUT with cc when SOURCE, a .c
# file among FLAGS (more sources of OUT) or the .h beside one is newer.
build_helper() {
	local out=$1 src=$2 f stale=
	shift 2
	mkdir -p "$(dirname "$out")"
	[ -x "$out" ] || stale=1
	for f in "$src" "$@"; do
		case $f in
		*.c) [ "$f" -nt "$out" ] || [ "${f%.c}.h" -nt "$out" ] && stale=1 ;;
		esac
	done
	[ -n "$stale" ] || return 0
	cc -O2 -g -std=gnu11 -Wall -Wextra "$@" -o "$out.tmp.$$" "$src" ||
		fail "cannot build $out"
	mv -f "$out.tmp.$$" "$out"
}

# The checking client (run natively), and threaded_echo built with plain
# `cc -pthread`: build/samples/threaded_echo is linked with -lweft.
netload=$helpers/netload
threaded_echo=$root/build/native/threaded_echo
build_helpers() {
	build_helper "$netload" "$root/tests/preload/netload.c" \
		"$root/tests/preload/netload_socks.c" "$root/tests/preload/netload_http.c"
	build_helper "$threaded_echo" "$root/samples/threaded_echo.c" -pthread
}

# serve_directory DIR: starts `python3 -m http.server` natively on a free
# port serving DIR; sets $http_port.
serve_directory() {
	http_port=$(free_port)
	spawn "$scratch/http.out" "$scratch/http.err" timeout 300 "$py" -m \
		http.server --bind 127.0.0.1 --directory "$1" "$http_port"
	if ! wait_port "$http_port" "$spawned"; then
		show "$scratch/http.err" "http.server's stderr"
		fail "python3 -m http.server did not start ($(how_ended "$spawned"))"
	fi
}

[ -e "$root/build/libweft.so" ] || fail "build/libweft.so is missing: run make"
