# curl: curl under weft fetching from `python3 -m http.server` (native) on
# 127.0.0.1: a 32 MiB file to a file and through a pipe to a slow reader,
# twenty files at once with --parallel, a POST, a 404 and a refused
# connection.  Bytes, stdout, stderr and exit status must match native
# curl's.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need curl curl
need "$py" python3
preloaded curl curl -sS file:///proc/self/maps

www=$scratch/www
mkdir -p "$www"
head -c 32M /dev/urandom >"$www/big"
for i in $(seq 1 20); do
	head -c $((i * 37000 + 11)) /dev/urandom >"$www/f$i"
done
serve_directory "$www"
url=http://127.0.0.1:$http_port
closed=$(free_port)

# check WHAT COMMAND...: runs COMMAND natively and under weft (in $how's
# directory, with $out naming it); stdout, stderr and status must match.
check() {
	local what=$1 how
	shift
	for how in native weft; do
		run=()
		[ $how = weft ] && run=("${weft[@]}")
		mkdir -p "$scratch/$how"
		(cd "$scratch/$how" && timeout 60 "${run[@]}" "$@" \
			>"$scratch/$how.out" 2>"$scratch/$how.err"
		 echo "exit $?" >>"$scratch/$how.out")
		# The one thing that may differ: how long a connect took.
		sed -i 's/after [0-9]* ms/after N ms/' "$scratch/$how.err"
	done
	if ! cmp -s "$scratch/native.out" "$scratch/weft.out"; then
		show "$scratch/weft.err" "curl's stderr under weft"
		fail "$what: stdout or exit status differ from native curl's" \
			"(native: $(tail -n 1 "$scratch/native.out"), weft: $(tail -n 1 "$scratch/weft.out"))"
	fi
	if ! cmp -s "$scratch/native.err" "$scratch/weft.err"; then
		diff "$scratch/native.err" "$scratch/weft.err" >&2
		fail "$what: stderr differs from native curl's"
	fi
}

check "32 MiB to a file" curl -sS -o big "$url/big"
cmp -s "$www/big" "$scratch/weft/big" || fail "32 MiB to a file: the file differs"

timeout 60 "${weft[@]}" curl -sS "$url/big" 2>"$scratch/err" |
	(sleep 0.5 && cat) >"$scratch/piped"
st=("${PIPESTATUS[@]}")
show "$scratch/err" "curl's stderr under weft"
[ "${st[0]}" = 0 ] || fail "32 MiB to a slow pipe: curl exited with ${st[0]}"
cmp -s "$www/big" "$scratch/piped" || fail "32 MiB to a slow pipe: the bytes differ"

args=()
for i in $(seq 1 20); do
	args+=(-o "f$i" "$url/f$i")
done
check "20 files with --parallel" curl -sS --no-progress-meter -Z \
	--parallel-max 10 "${args[@]}"
for i in $(seq 1 20); do
	cmp -s "$www/f$i" "$scratch/weft/f$i" || fail "--parallel: f$i differs"
done

check "-w with sizes" curl -sS -o /dev/null -w '%{http_code} %{size_download}\n' \
	"$url/f3" "$url/f7" "$url/nothing"
check "POST (answered 501)" curl -sS -d 'some=data' "$url/f1"
check "404 with -f" curl -sS -f "$url/nothing"
check "refused connection" curl -sS "http://127.0.0.1:$closed/"
ok
