# sort: coreutils sort under weft through pipes, with --parallel (sort's
# worker threads, which become green threads) and with a buffer small
# enough to make it spill to temporary files and merge.  With this input
# both "--parallel=4 -S 256M" and "--parallel=8 -S 24M" start threads
# natively (2 to 3 clone3 calls).  The output must equal native sort's,
# byte for byte.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need sort coreutils
preloaded sort sort /proc/self/maps

in=$scratch/in
# About 27 MB of random lines, plus a column of numbers with repeats.
head -c 20M /dev/urandom | base64 -w 60 >"$in"
awk 'NR % 3 == 0 { print (NR * 7919) % 100003, $0 }' "$in" >"$scratch/nums"

cases=(
	"--parallel=4 -S 256M $in"
	"--parallel=8 -S 24M -T $scratch $in"
	"--parallel=2 -n -s $scratch/nums"
	"--parallel=4 -u -k2,2 -k1,1n $scratch/nums"
	"-r --parallel=1 $in"
)
for args in "${cases[@]}"; do
	file=${args##* }
	ops=${args% *}
	for how in native weft; do
		run=()
		[ $how = weft ] && run=("${weft[@]}")
		# shellcheck disable=SC2086 # the options are words
		timeout 60 cat "$file" | timeout 60 "${run[@]}" sort $ops \
			2>"$scratch/$how.err" | timeout 60 cat >"$scratch/$how.out"
		st=("${PIPESTATUS[@]}")
		if [ "${st[1]}" != 0 ]; then
			show "$scratch/$how.err" "sort's stderr ($how)"
			fail "sort $ops ($how): exit status ${st[1]}"
		fi
	done
	if ! cmp -s "$scratch/native.out" "$scratch/weft.out"; then
		fail "sort $ops: output differs from native sort's ($(wc -l <"$scratch/native.out") lines natively, $(wc -l <"$scratch/weft.out") under weft)"
	fi
	[ -s "$scratch/weft.out" ] || fail "sort $ops: no output"
done
ok
