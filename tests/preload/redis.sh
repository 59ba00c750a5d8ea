# redis: redis-server under weft (loopback, no persistence but one BGSAVE)
# driven by native redis-benchmark (-n 20000 -c 50) and redis-cli: every
# benchmark test completes, 5,000 keys written through --pipe read back
# exactly, BGSAVE (a fork whose child writes the dump) leaves a dump that
# redis-check-rdb accepts and a native redis-server loads with the same
# keys, and the server's threads (natively itself plus four background
# threads) run as coroutines on the schedulers' OS threads (plus at most
# the offload pool).
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need redis-server redis-server
need redis-cli redis-tools
need redis-benchmark redis-tools
need redis-check-rdb redis-tools

data=$scratch/data
mkdir -p "$data"

# start_redis LABEL PORT DIR COMMAND-PREFIX...: sets $pid (ours) and $server.
start_redis() {
	local label=$1 port=$2 dir=$3
	shift 3
	spawn "$scratch/$label.log" "$scratch/$label.err" timeout 170 "$@" \
		redis-server --port "$port" --bind 127.0.0.1 --save '' \
		--appendonly no --dir "$dir" --dbfilename dump.rdb \
		--daemonize no --logfile '' --loglevel notice
	pid=$spawned
	if ! wait_port "$port" "$pid"; then
		show "$scratch/$label.log" "redis-server's log ($label)"
		show "$scratch/$label.err" "redis-server's stderr ($label)"
		fail "$label: redis-server did not start listening ($(how_ended "$pid"))"
	fi
	server=$(listener_pid "$port")
}

port=$(free_port)
start_redis weft "$port" "$data" "${weft[@]}"
weft_pid=$pid
has_weft "$server" || fail "libweft.so is not mapped into redis-server (pid $server)"
sample "$server" "$scratch/samples"
cli() { timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@"; }
evidence() {
	show "$scratch/weft.log" "redis-server's log under weft"
	show "$scratch/weft.err" "redis-server's stderr under weft"
}

[ "$(cli PING)" = PONG ] || { evidence; fail "PING did not answer PONG"; }
[ "$(cli SET greeting 'hello, world')" = OK ] || { evidence; fail "SET failed"; }
[ "$(cli GET greeting)" = 'hello, world' ] || { evidence; fail "GET did not return what SET stored"; }

# The benchmark: 20 tests, 20,000 requests each from 50 connections.
if ! timeout 150 redis-benchmark -h 127.0.0.1 -p "$port" -q -n 20000 -c 50 \
	>"$scratch/bench.raw" 2>"$scratch/bench.err"; then
	tr '\r' '\n' <"$scratch/bench.raw" >"$scratch/bench.out"
	show "$scratch/bench.out" "redis-benchmark's output"
	show "$scratch/bench.err" "redis-benchmark's stderr"
	evidence
	fail "redis-benchmark failed or timed out"
fi
tr '\r' '\n' <"$scratch/bench.raw" | grep 'requests per second' >"$scratch/bench.out"
tests=$(wc -l <"$scratch/bench.out")
if [ "$tests" -lt 20 ] || grep -qi 'error' "$scratch/bench.raw" "$scratch/bench.err"; then
	show "$scratch/bench.out" "redis-benchmark's results"
	show "$scratch/bench.err" "redis-benchmark's stderr"
	fail "redis-benchmark completed $tests of 20 tests, or reported errors"
fi
echo "redis-benchmark under weft: $(grep -E '^(SET|GET):' "$scratch/bench.out" | tr '\n' ' ')" >&2

# 5,000 keys through --pipe, read back with MGET.
cli FLUSHALL >/dev/null
seq 1 5000 | awk '{ printf "SET key:%d value-%d-%s\n", $1, $1, substr("abcdefghij", 1 + $1 % 10) }' \
	>"$scratch/commands"
cli --pipe <"$scratch/commands" >"$scratch/pipe.out" 2>&1
grep -q 'errors: 0, replies: 5000' "$scratch/pipe.out" ||
	{ show "$scratch/pipe.out" "redis-cli --pipe"; fail "--pipe of 5,000 SETs did not get 5,000 clean replies"; }
awk '{ print $3 }' "$scratch/commands" >"$scratch/expected"
# shellcheck disable=SC2046 # the key names are words
cli MGET $(seq -f 'key:%.0f' 1 5000) >"$scratch/got"
cmp -s "$scratch/expected" "$scratch/got" || fail "MGET of 5,000 keys differs from what was SET"

# BGSAVE: the fork's child writes the dump.
[ "$(cli BGSAVE)" = "Background saving started" ] || { evidence; fail "BGSAVE did not start"; }
for ((i = 0; i < 200; i++)); do
	cli INFO persistence | tr -d '\r' >"$scratch/persistence"
	grep -q '^rdb_bgsave_in_progress:0' "$scratch/persistence" && break
	sleep 0.1
done
grep -q '^rdb_bgsave_in_progress:0' "$scratch/persistence" || { evidence; fail "BGSAVE still running after 20 s"; }
grep -q '^rdb_last_bgsave_status:ok' "$scratch/persistence" || { evidence; fail "BGSAVE reported failure"; }
[ -s "$data/dump.rdb" ] || { evidence; fail "BGSAVE left no dump file"; }
timeout 30 redis-check-rdb "$data/dump.rdb" >"$scratch/check.out" 2>&1 ||
	{ show "$scratch/check.out" redis-check-rdb; fail "redis-check-rdb rejects the dump"; }

# The dump, loaded by a native redis-server, holds the same keys.
mkdir -p "$scratch/copy"
cp "$data/dump.rdb" "$scratch/copy/"
port2=$(free_port)
start_redis native "$port2" "$scratch/copy"
[ "$(timeout 10 redis-cli -h 127.0.0.1 -p "$port2" DBSIZE)" = 5000 ] ||
	fail "the dump, loaded natively, does not hold 5,000 keys"
# shellcheck disable=SC2046
timeout 30 redis-cli -h 127.0.0.1 -p "$port2" MGET $(seq -f 'key:%.0f' 1 5000) >"$scratch/got2"
cmp -s "$scratch/expected" "$scratch/got2" || fail "the dump's values differ from what was SET"
timeout 10 redis-cli -h 127.0.0.1 -p "$port2" SHUTDOWN NOSAVE >/dev/null 2>&1

[ "$(cli GET key:4321)" = "$(sed -n 4321p "$scratch/expected")" ] || { evidence; fail "the server answers wrongly after BGSAVE"; }

threads=$(max_threads "$scratch/samples")
names=$(thread_names "$scratch/samples")
echo "redis-server under weft: OS threads at most $threads, named: $names" >&2
cli SHUTDOWN NOSAVE >/dev/null 2>&1
wait "$weft_pid"
status=$?
[ "$status" = 0 ] || { evidence; fail "redis-server exited with $status after SHUTDOWN, not 0"; }
# Natively redis-server has five: itself, bio_close_file, bio_aof_fsync,
# bio_lazy_free and jemalloc_bg_thd.  Under weft redis's own bio threads
# are coroutines, so no OS thread may carry their names.  jemalloc's purge
# thread stays real: jemalloc finds pthread_create with dlsym(RTLD_NEXT)
# precisely so that no interposer sees it.
if echo "$names" | grep -Eq 'bio_'; then
	fail "under weft redis-server's background threads are OS threads ($names)"
fi
if [ "$threads" -gt "$weft_threads_max" ]; then
	fail "under weft redis-server used $threads OS threads ($weft_threads_want)"
fi
[ "$threads" -gt 0 ] || fail "no thread count sampled under weft"
ok
