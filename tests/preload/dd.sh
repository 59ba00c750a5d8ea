# dd: coreutils dd under weft reading and writing pipes with various block
# sizes.  Output bytes, exit status and the record counts on stderr must be
# what dd prints natively.
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need dd coreutils
preloaded dd dd if=/proc/self/maps status=none

in=$scratch/in
head -c 48M /dev/urandom >"$in"

# Each line: dd's operands.  Input comes through a pipe except with if=.
cases=(
	"bs=1M iflag=fullblock"
	"ibs=4k obs=64k"
	"bs=512 count=20000 iflag=fullblock"
	"if=$in bs=64k skip=10 count=300"
	"bs=1M iflag=fullblock conv=swab"
	"bs=7777 iflag=fullblock status=none"
)
for ops in "${cases[@]}"; do
	for how in native weft; do
		run=()
		[ $how = weft ] && run=("${weft[@]}")
		# shellcheck disable=SC2086 # the operands are words
		timeout 60 cat "$in" | timeout 60 "${run[@]}" dd $ops \
			2>"$scratch/$how.err" | timeout 60 cat >"$scratch/$how.out"
		st=("${PIPESTATUS[@]}")
		# The counts lines, without the timing line.
		grep 'records' "$scratch/$how.err" >"$scratch/$how.counts"
		echo "${st[1]}" >"$scratch/$how.status"
	done
	if ! cmp -s "$scratch/native.out" "$scratch/weft.out"; then
		fail "dd $ops: output differs ($(wc -c <"$scratch/native.out") bytes natively, $(wc -c <"$scratch/weft.out") under weft)"
	fi
	if ! cmp -s "$scratch/native.status" "$scratch/weft.status"; then
		show "$scratch/weft.err" "dd's stderr under weft"
		fail "dd $ops: exit status $(cat "$scratch/weft.status"), natively $(cat "$scratch/native.status")"
	fi
	if ! cmp -s "$scratch/native.counts" "$scratch/weft.counts"; then
		diff "$scratch/native.counts" "$scratch/weft.counts" >&2
		fail "dd $ops: record counts differ"
	fi
done
ok
