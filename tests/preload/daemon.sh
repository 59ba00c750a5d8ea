# daemon: a daemon the way many start (tests/preload/daemon.c, built with
# plain `cc -pthread`): threads first, then a fork whose child sweeps every
# fd above stderr (close up to the limit, close_range, closefrom, each
# entry of /proc/self/fd, dup2 of /dev/null onto every number), starts
# threads and serves thread-per-connection echo.  Under weft it must print
# the same fd numbers and sweep results as natively, and serve every
# connection.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
build_helpers
daemon=$helpers/daemon
build_helper "$daemon" "$root/tests/preload/daemon.c" -pthread

conns=200
run_daemon() { # LABEL HOW COMMAND...: one daemon, driven with netload
	local label=$1 how=$2 port
	shift 2
	port=$(free_port)
	spawn "$scratch/$label.out" "$scratch/$label.err" \
		timeout 60 "$@" "$daemon" "$how" "$port" "$conns"
	local pid=$spawned
	if ! wait_port "$port" "$pid"; then
		show "$scratch/$label.err" "daemon's stderr ($label)"
		fail "$label: the daemon did not start listening ($(how_ended "$pid"))"
	fi
	if ! timeout 60 "$netload" echo -c "$conns" -n 5 -s 2000 -t 50 \
		"$port" >"$scratch/$label.load" 2>"$scratch/$label.load.err"; then
		show "$scratch/$label.load.err" "netload's stderr ($label)"
		show "$scratch/$label.err" "daemon's stderr ($label)"
		fail "$label: $(head -n 1 "$scratch/$label.load")"
	fi
	wait "$pid"
	local status=$?
	if [ "$status" != 0 ]; then
		show "$scratch/$label.err" "daemon's stderr ($label)"
		fail "$label: the daemon exited with $status, not 0"
	fi
}

for how in close range closefrom proc dup2; do
	run_daemon "native-$how" "$how"
	run_daemon "weft-$how" "$how" "${weft[@]}"
	if ! cmp -s "$scratch/native-$how.out" "$scratch/weft-$how.out"; then
		diff "$scratch/native-$how.out" "$scratch/weft-$how.out" |
			sed 's/^/    /' >&2
		fail "$how: the daemon printed other fd numbers or sweep results under weft"
	fi
	if grep -q 'weft' "$scratch/weft-$how.err"; then
		show "$scratch/weft-$how.err" "daemon's stderr (weft, $how)"
		fail "$how: weft complained"
	fi
done
ok
