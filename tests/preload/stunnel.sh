# stunnel: stunnel4 (one thread per connection, OpenSSL) natively and then
# under weft, as a TLS front for a native echo server (threaded_echo built
# with plain `cc -pthread`), all on loopback with a fresh self-signed
# certificate.  1,000 TLS connections, 100 at a time from a native Python
# client that verifies the certificate, each send between 1 and 32,768
# random bytes that must come back byte for byte; the echo server must see
# all 1,000 connections close, stunnel must log no error and must still be
# running after the load, and SIGTERM must end it with status 0 (natively
# within 10 s).  Throughput and stunnel's OS threads are printed on stderr
# for information; under weft stunnel must run on its schedulers' OS
# threads (plus at most the offload pool).
# shellcheck source=tests/preload/common.bash
. "$(dirname "$0")/common.bash"
need stunnel4 stunnel4
need openssl openssl
need "$py" python3
build_helpers

conns=1000
workers=100

if ! timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$scratch/key.pem" -out "$scratch/cert.pem" \
	>"$scratch/openssl.out" 2>&1; then
	show "$scratch/openssl.out" "openssl req"
	fail "openssl could not make a self-signed certificate"
fi

# The client: WORKERS threads, CONNS / WORKERS connections each, one after
# another; every connection verifies the certificate, sends its bytes,
# reads the echo until it has as many, and compares.  Prints one line: the
# first failure, or what it did and how fast.
cat >"$scratch/tls_echo.py" <<'EOF'
import os, socket, ssl, sys, threading, time

port, cafile, conns, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(cafile=cafile)
each = conns // workers
errors = []
echoed = [0] * workers


def work(w):
    for k in range(each):
        n = w * each + k
        data = os.urandom(1 + n * 7919 % 32768)
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=30) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    tls.sendall(data)
                    got = bytearray()
                    while len(got) < len(data):
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        got += chunk
            if got != data:
                raise ValueError("sent %d bytes, got back %d that differ"
                                 % (len(data), len(got)))
            echoed[w] += len(data)
        except Exception as e:
            errors.append("connection %d: %s" % (n + 1, e))
            return


start = time.monotonic()
threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
secs = time.monotonic() - start
if errors:
    print("%d of %d TLS connections failed; first: %s" % (len(errors), conns, errors[0]))
    sys.exit(1)
print("%d TLS connections, %d bytes echoed exactly, in %.2f s (%.0f connections/s, %.1f MB/s)"
      % (conns, sum(echoed), secs, conns / secs, sum(echoed) / secs / 1e6))
EOF

# stunnel's log and stderr, and its threads so far.
evidence() {
	show "$scratch/$label.log" "stunnel's log ($label)"
	show "$scratch/$label.err" "stunnel's stderr ($label)"
	threads_used "stunnel4" "$label" "$scratch/$label.samples" >/dev/null || true
}

# run LABEL COMMAND-PREFIX...: a fresh echo server and stunnel, through
# every check.
run() {
	label=$1
	shift
	local echo_port tls_port echo_pid pid server i ended
	echo_port=$(free_port)
	spawn "$scratch/$label.echo.out" "$scratch/$label.echo.err" timeout 120 \
		"$threaded_echo" --max-conns "$conns" "$echo_port"
	echo_pid=$spawned
	if ! wait_port "$echo_port" "$echo_pid"; then
		show "$scratch/$label.echo.err" "threaded_echo's stderr"
		fail "$label: the echo server did not start listening ($(how_ended "$echo_pid"))"
	fi

	tls_port=$(free_port)
	cat >"$scratch/$label.conf" <<-EOF
		foreground = quiet
		pid =
		syslog = no
		output = $scratch/$label.log
		[echo]
		accept = 127.0.0.1:$tls_port
		connect = 127.0.0.1:$echo_port
		cert = $scratch/cert.pem
		key = $scratch/key.pem
	EOF
	start_server "$tls_port" stunnel4 timeout 120 "$@" \
		stunnel4 "$scratch/$label.conf"

	if ! timeout 90 "$py" "$scratch/tls_echo.py" "$tls_port" "$scratch/cert.pem" \
		"$conns" "$workers" >"$scratch/$label.load" 2>"$scratch/$label.load.err"; then
		show "$scratch/$label.load.err" "the client's stderr ($label)"
		evidence
		[ -s "$scratch/$label.load" ] || echo "no answer in 90 s" >"$scratch/$label.load"
		fail "$label: $(head -n 1 "$scratch/$label.load")"
	fi
	echo "$label: $(cat "$scratch/$label.load")" >&2

	# The echo server ends by itself once the 1,000th connection closes.
	for ((i = 0; i < 100; i++)); do
		kill -0 "$echo_pid" 2>/dev/null || break
		sleep 0.1
	done
	ended=$(how_ended "$echo_pid")
	[ "$ended" = "exited with status 0" ] ||
		{ evidence; fail "$label: the echo server did not see all $conns connections close ($ended)"; }
	kill -0 "$server" 2>/dev/null ||
		{ evidence; fail "$label: stunnel4 died during the load ($(how_ended "$pid"))"; }
	# LOG0 to LOG3 are emergencies to errors.  Without a CA file stunnel
	# says at start that it has no trusted certificates: true, and harmless
	# when no client certificate is asked for.
	if grep -E 'LOG[0-3]\[' "$scratch/$label.log" | grep -vq 'No trusted certificates found'; then
		evidence
		fail "$label: stunnel logged: $(grep -E 'LOG[0-3]\[' "$scratch/$label.log" |
			grep -v 'No trusted certificates found' | head -n 1)"
	fi
	many=$(threads_used "stunnel4" "$label" "$scratch/$label.samples") || fail "$many"

	# SIGTERM: stunnel must exit with status 0 within 10 s.
	kill -TERM "$server"
	stopped 10 stunnel4 SIGTERM
	[ "$ended" = "exited with status 0" ] ||
		{ evidence; fail "$label: stunnel4 $ended after SIGTERM, not with status 0"; }
}

# Natively first: if this fails, the machine is the problem, not weft.
run native
run weft "${weft[@]}"
ok
