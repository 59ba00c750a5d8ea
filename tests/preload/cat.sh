# cat: coreutils cat under weft in pipelines between native processes.  A
# 64 MiB input must come out byte for byte; a slow reader and a slow writer
# on either side must see blocking pipes (were weft to leave O_NONBLOCK on
# a pipe it shares, the native cat beside it would fail with EAGAIN); errors
# must read the same.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need cat coreutils
preloaded cat cat /proc/self/maps

in=$scratch/in
head -c 64M /dev/urandom >"$in"

# Through pipes, with native cat writing fast on one side and reading late
# on the other.
timeout 60 cat "$in" | timeout 60 "${weft[@]}" cat 2>"$scratch/err" |
	(sleep 0.3 && timeout 60 cat) >"$scratch/out"
st=("${PIPESTATUS[@]}")
show "$scratch/err" "cat's stderr under weft"
[ "${st[*]}" = "0 0 0" ] || fail "pipeline exit statuses '${st[*]}', want '0 0 0'"
cmp -s "$in" "$scratch/out" || fail "64 MiB through a pipe came out different"

# A slow writer: the data arrives in pieces, with pauses.
got=$( (printf 'one\n'; sleep 0.3; printf 'two\n'; sleep 0.3; printf 'three') |
	timeout 20 "${weft[@]}" cat)
[ "$got" = "$(printf 'one\ntwo\nthree')" ] || fail "slow writer: got '$got'"

# Files and stdin mixed, numbered lines, a missing file: everything the
# same as natively, stdout, stderr and exit status.
printf 'a\nb\n' >"$scratch/a"
printf 'c\n\n\nd' >"$scratch/b"
for how in native weft; do
	run=()
	[ $how = weft ] && run=("${weft[@]}")
	printf 'from stdin\n' | timeout 20 "${run[@]}" cat -n -s "$scratch/a" - \
		"$scratch/missing" "$scratch/b" >"$scratch/$how.out" 2>"$scratch/$how.err"
	echo "status $?" >>"$scratch/$how.out"
done
cmp -s "$scratch/native.out" "$scratch/weft.out" || {
	diff "$scratch/native.out" "$scratch/weft.out" >&2
	fail "cat -n -s with files, stdin and a missing file: stdout or status differ"
}
cmp -s "$scratch/native.err" "$scratch/weft.err" || {
	diff "$scratch/native.err" "$scratch/weft.err" >&2
	fail "cat with a missing file: stderr differs"
}
ok
