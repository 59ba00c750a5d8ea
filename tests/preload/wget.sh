# wget: wget under weft fetching from `python3 -m http.server` (native) on
# 127.0.0.1: a 32 MiB file, a file to stdout through a pipe, a recursive
# mirror of a small tree, a 404 and a refused connection.  Files, exit
# status and what is written must match native wget's.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need wget wget
need "$py" python3
# wget cannot read a local file: the same command, with cat.
preloaded "the weft command" cat /proc/self/maps

www=$scratch/www
mkdir -p "$www/tree/a/b" "$www/tree/c"
head -c 32M /dev/urandom >"$www/big"
for d in tree tree/a tree/a/b tree/c; do
	for i in 1 2 3; do
		head -c $((RANDOM * 7 + i)) /dev/urandom >"$www/$d/file$i"
	done
done
serve_directory "$www"
url=http://127.0.0.1:$http_port
closed=$(free_port)

# check WHAT ARGS...: runs wget ARGS natively and under weft, each in its
# own directory; stdout, exit status and the files written must match.
check() {
	local what=$1 how
	shift
	for how in native weft; do
		run=()
		[ $how = weft ] && run=("${weft[@]}")
		rm -rf "${scratch:?}/$how"
		mkdir -p "$scratch/$how"
		(cd "$scratch/$how" && timeout 60 "${run[@]}" wget --no-config \
			"$@" >"$scratch/$how.out" 2>"$scratch/$how.err"
		 echo "exit $?" >>"$scratch/$how.out")
	done
	if ! cmp -s "$scratch/native.out" "$scratch/weft.out"; then
		show "$scratch/weft.err" "wget's stderr under weft"
		fail "$what: stdout or exit status differ from native wget's" \
			"(native: $(tail -n 1 "$scratch/native.out"), weft: $(tail -n 1 "$scratch/weft.out"))"
	fi
	if ! diff -r "$scratch/native" "$scratch/weft" >&2; then
		fail "$what: the files written differ"
	fi
}

check "32 MiB to a file" -q -O big "$url/big"
cmp -s "$www/big" "$scratch/weft/big" || fail "32 MiB: the file differs"
check "to stdout" -q -O - "$url/tree/a/file2"
check "recursive mirror" -q -r -np -nH "$url/tree/"
[ -f "$scratch/weft/tree/a/b/file3" ] || fail "recursive mirror: tree/a/b/file3 missing"
check "404" -q "$url/nothing"
check "refused connection" -q --tries=1 "http://127.0.0.1:$closed/"

timeout 60 "${weft[@]}" wget --no-config -q -O - "$url/big" 2>"$scratch/err" |
	(sleep 0.5 && cat) >"$scratch/piped"
st=("${PIPESTATUS[@]}")
show "$scratch/err" "wget's stderr under weft"
[ "${st[0]}" = 0 ] || fail "32 MiB to a slow pipe: wget exited with ${st[0]}"
cmp -s "$www/big" "$scratch/piped" || fail "32 MiB to a slow pipe: the bytes differ"
ok
