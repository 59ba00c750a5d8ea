# bench/measure.bash - how bench/preload and bench/servers watch a server
# under load; sourced, never run.
#
# Memory is the server's RSS plus what the kernel spends per thread:
# the growth of KernelStack + PageTables in /proc/meminfo from before the
# server started (kernel_kb, taken by the caller) to its most under load.
# The sampling uses bash builtins only: it must not take CPU from what it
# measures.

# Sets kb to KernelStack + PageTables in kB.
kernel_kb() {
	local key value rest
	kb=0
	while read -r key value rest; do
		case $key in
		KernelStack: | PageTables:) kb=$((kb + value)) ;;
		esac
	done </proc/meminfo
}

# Sets t and rss to process $1's thread count and VmRSS (kB); 0 if gone.
status_of() {
	local key value rest
	t=0 rss=0
	while read -r key value rest; do
		case $key in
		Threads:) t=$value ;;
		VmRSS:) rss=$value ;;
		esac
	done <"/proc/$1/status" 2>/dev/null
}

# watch LOADPID SERVERPID K0: until process LOADPID ends, samples SERVERPID
# every 0.2 s and raises r_threads, r_rss (kB) and r_kernel (kB of
# KernelStack + PageTables above K0) to the most it saw.  The caller sets
# them to 0 first.
watch() {
	local load=$1 server=$2 k0=$3 t rss kb
	while kill -0 "$load" 2>/dev/null; do
		status_of "$server"
		kernel_kb
		[ "$t" -gt "$r_threads" ] && r_threads=$t
		[ "$rss" -gt "$r_rss" ] && r_rss=$rss
		[ $((kb - k0)) -gt "$r_kernel" ] && r_kernel=$((kb - k0))
		sleep 0.2
	done
}

# Prints kB as MB with one decimal.
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Prints A / B as "1.23x", or "n/a" when either is not above 0 (not
# measured).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "n/a" }'; }

# Prints an integer with a comma between thousands.
group() { echo "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
