# mariadb: mariadbd (one thread per connection, InnoDB with its default
# asynchronous I/O, io_uring, whose thread waits in a system call weft
# cannot see; no binary log, no grant tables, loopback only) natively and
# then under weft, driven by native clients.  In each run mariadb-slap's
# mixed load (reads and writes on generated tables) from 50 and then 500
# connections must complete without an error, ten concurrent `mariadb`
# clients interleaving 10,000 INSERTs must leave exactly the expected rows
# (count, sums and every row read back byte for byte, the same natively
# and under weft), and the server must count no aborted client or
# connection and log no [ERROR].  `mariadb-admin shutdown` must end the
# server with status 0 (natively within 60 s, under weft 20 s).
# Throughput and the server's OS threads are printed on stderr for
# information; under weft the server must run on main's thread, its
# schedulers' and the monitor's (plus at most the offload pool, and a few
# spares for the threads held in io_uring_enter).
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need mariadbd mariadb-server
need mariadb-install-db mariadb-server
need mariadb mariadb-client
need mariadb-slap mariadb-client
need mariadb-admin mariadb-client

# mariadb-slap's 500 connections, and the server's 1,000 allowed ones plus
# its table files, need more descriptors than the usual soft limit, 1,024.
fds=$(ulimit -Sn)
if [ "$fds" != unlimited ] && [ "$fds" -lt 4096 ]; then
	hard=$(ulimit -Hn)
	if [ "$hard" = unlimited ] || [ "$hard" -ge 4096 ]; then
		ulimit -Sn 4096
	else
		ulimit -Sn "$hard"
	fi
	fds=$(ulimit -Sn)
fi
[ "$fds" = unlimited ] || [ "$fds" -ge 1200 ] ||
	fail "ulimit -n is at most $fds: 500 connections need 1,200 descriptors"

# Root must say which user the server runs as; anyone else runs it as
# themselves.
as_user=()
[ "$(id -u)" = 0 ] && as_user=(--user=root)
# Small InnoDB files, so that both set-up and start take about a second.
innodb=(--innodb-buffer-pool-size=32M --innodb-log-file-size=8M)

if ! timeout 60 mariadb-install-db --no-defaults \
	--auth-root-authentication-method=normal --skip-test-db \
	--skip-name-resolve --datadir="$scratch/template" "${as_user[@]}" \
	"${innodb[@]}" >"$scratch/install.out" 2>&1; then
	show "$scratch/install.out" "mariadb-install-db's output"
	fail "mariadb-install-db could not make a data directory"
fi

# The SQL check's data: row id has v = id * 7919 mod 10007 and a string s;
# client c (0 to 9) inserts the ids that end in c, one INSERT each, so the
# ten sessions' writes interleave in the same index.
awk 'BEGIN {
	l = "abcdefghijklmnopqrstuvwxyz"
	for (id = 1; id <= 10000; id++)
		printf "%d\t%d\trow-%05d-%s\n", id, id * 7919 % 10007, id,
			substr(l, 1 + id % 26, 1 + id % 7)
}' >"$scratch/rows.expected"
for c in 0 1 2 3 4 5 6 7 8 9; do
	awk -F '\t' -v c="$c" '$1 % 10 == c {
		printf "INSERT INTO t (id, v, s) VALUES (%d, %d, '\''%s'\'');\n", $1, $2, $3
	}' "$scratch/rows.expected" >"$scratch/insert.$c.sql"
done
# Computed once from the rows above: COUNT(*), SUM(id), SUM(v),
# SUM(LENGTH(s)).
sums_expected=$'10000\t50005000\t50041187\t136930'

# sql ARG...: the mariadb client on $port, tab-separated, no headers.
sql() {
	timeout 20 mariadb --host=127.0.0.1 --port="$port" --user=root \
		--batch --skip-column-names "$@"
}

# sql_file DATABASE FILE: FILE's statements, in batch mode, which stops at
# the first error with status 1 (`source` would go on).
sql_file() {
	# shellcheck disable=SC2317 # called through spawn
	sql "$1" <"$2"
}

# The server's stderr (its whole log), and its OS threads so far.
evidence() {
	show "$scratch/$label.err" "mariadbd's log ($label)"
	threads_used "mariadbd" "$label" "$scratch/$label.samples" >/dev/null || true
}

# slap CONCURRENCY QUERIES: mariadb-slap's mixed load; prints its time and
# rate on stderr.
slap() {
	local c=$1 n=$2 out=$scratch/$label.slap$1 status secs
	timeout 25 mariadb-slap --host=127.0.0.1 --port="$port" --user=root \
		--concurrency="$c" --iterations=1 --number-of-queries="$n" \
		--auto-generate-sql --auto-generate-sql-load-type=mixed \
		>"$out" 2>"$out.err"
	status=$?
	if [ "$status" != 0 ] || grep -qi 'error' "$out" "$out.err"; then
		show "$out" "mariadb-slap's output"
		show "$out.err" "mariadb-slap's stderr"
		evidence
		[ "$status" = 124 ] && fail "$label: mariadb-slap --concurrency=$c did not finish in 25 s"
		fail "$label: mariadb-slap --concurrency=$c exited with status $status;" \
			"$(grep -hi -m 1 'error' "$out.err" "$out" | head -n 1 | cut -c 1-200)"
	fi
	secs=$(awk '/Average number of seconds to run all queries/ { print $(NF - 1) }' "$out")
	[ -n "$secs" ] || { show "$out" "mariadb-slap's output"; fail "$label: mariadb-slap --concurrency=$c printed no time"; }
	echo "$label: mariadb-slap --concurrency=$c: $n queries in $secs s" \
		"($(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }') queries/s)" >&2
}

# no_aborts AFTER: the server counts no aborted client or connection and has
# logged no error.
no_aborts() {
	local after=$1
	sql -e "SHOW GLOBAL STATUS LIKE 'Aborted_c%'" >"$scratch/$label.aborted" 2>&1 ||
		{ show "$scratch/$label.aborted" "SHOW GLOBAL STATUS"; evidence; fail "$label: the server does not answer after $after"; }
	if ! grep -qx $'Aborted_clients\t0' "$scratch/$label.aborted" ||
		! grep -qx $'Aborted_connects\t0' "$scratch/$label.aborted"; then
		evidence
		fail "$label: after $after the server counts aborted connections:" \
			"$(grep -E '^Aborted_(clients|connects)\s' "$scratch/$label.aborted" | tr '\t\n' '= ' | sed 's/ $//')"
	fi
	if grep -q '\[ERROR\]' "$scratch/$label.err"; then
		evidence
		fail "$label: after $after the server logged: $(grep -m 1 '\[ERROR\]' "$scratch/$label.err")"
	fi
}

# inserts: ten concurrent clients insert the 10,000 rows; the table must
# then hold exactly them.
inserts() {
	local c status
	local -a clients=()
	sql -e "CREATE DATABASE weftcheck; CREATE TABLE weftcheck.t (id INT PRIMARY KEY,
		v INT NOT NULL, s VARCHAR(40) NOT NULL) ENGINE=InnoDB" >"$scratch/$label.create" 2>&1 ||
		{ show "$scratch/$label.create" "CREATE TABLE"; evidence; fail "$label: cannot create the check's table"; }
	for c in 0 1 2 3 4 5 6 7 8 9; do
		spawn "$scratch/$label.insert.$c.out" "$scratch/$label.insert.$c.err" \
			sql_file weftcheck "$scratch/insert.$c.sql"
		clients+=("$spawned")
	done
	for c in 0 1 2 3 4 5 6 7 8 9; do
		wait "${clients[$c]}"
		status=$?
		if [ "$status" != 0 ] || [ -s "$scratch/$label.insert.$c.out" ] ||
			[ -s "$scratch/$label.insert.$c.err" ]; then
			show "$scratch/$label.insert.$c.out" "client $c's output"
			show "$scratch/$label.insert.$c.err" "client $c's stderr"
			evidence
			fail "$label: client $c of 10 inserting 1,000 rows exited with status $status;" \
				"$(head -n 1 "$scratch/$label.insert.$c.err" | cut -c 1-200)"
		fi
	done
	sql -e "SELECT COUNT(*), SUM(id), SUM(v), SUM(LENGTH(s)) FROM weftcheck.t" \
		>"$scratch/$label.sums" 2>&1
	[ "$(cat "$scratch/$label.sums")" = "$sums_expected" ] ||
		{ evidence; fail "$label: after 10,000 INSERTs COUNT(*), SUM(id), SUM(v), SUM(LENGTH(s)) are '$(tr '\t\n' '  ' <"$scratch/$label.sums" | sed 's/ $//')', not '$(echo "$sums_expected" | tr '\t' ' ')'"; }
	sql -e "SELECT id, v, s FROM weftcheck.t ORDER BY id" >"$scratch/$label.rows" 2>&1
	cmp -s "$scratch/rows.expected" "$scratch/$label.rows" ||
		{ evidence; fail "$label: the 10,000 rows read back differ from those inserted"; }
}

# stop LIMIT: `mariadb-admin shutdown`; the server must exit with status 0
# within LIMIT seconds.
stop() {
	local limit=$1
	timeout 10 mariadb-admin --host=127.0.0.1 --port="$port" --user=root \
		shutdown >"$scratch/$label.admin" 2>&1 ||
		{ show "$scratch/$label.admin" "mariadb-admin"; evidence; fail "$label: mariadb-admin shutdown failed"; }
	stopped "$limit" mariadbd "mariadb-admin shutdown"
	[ "$ended" = "exited with status 0" ] ||
		{ evidence; fail "$label: mariadbd $ended after mariadb-admin shutdown, not with status 0"; }
}

# run LABEL COMMAND-PREFIX...: one server, on a copy of the fresh data
# directory, through every check.
run() {
	label=$1
	shift
	cp -a "$scratch/template" "$scratch/$label.data"
	port=$(free_port)
	start_server "$port" mariadbd timeout 140 "$@" \
		mariadbd --no-defaults --datadir="$scratch/$label.data" \
		--socket="$scratch/$label.sock" --pid-file="$scratch/$label.pid" \
		--tmpdir="$scratch" --port="$port" --bind-address=127.0.0.1 \
		--skip-name-resolve --skip-grant-tables --skip-log-bin \
		--innodb-flush-log-at-trx-commit=2 \
		"${innodb[@]}" --max-connections=1000 "${as_user[@]}"

	slap 50 5000
	no_aborts "mariadb-slap --concurrency=50"
	slap 500 5000
	no_aborts "mariadb-slap --concurrency=500"
	inserts
	no_aborts "10,000 concurrent INSERTs"
	many=$(threads_used "mariadbd" "$label" "$scratch/$label.samples") || fail "$many"
	if [ "$label" = native ]; then stop 60; else stop 20; fi
}

# Natively first: if this fails, the machine is the problem, not weft.
run native
run weft "${weft[@]}"
ok
