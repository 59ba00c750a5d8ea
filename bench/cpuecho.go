// cpuecho.go - bench/cpuecho.c in Go: the peer weft's schedulers are
// measured against.
//
//	cpuecho-go [--size BYTES] [--us MICROSECONDS] [--rounds N] [--calibrate] [PORT]
//
// One goroutine per connection, GOMAXPROCS = the number of CPUs.  Each
// reads a request of BYTES (64) bytes, hashes it (FNV-1a, N rounds, the
// hash carried from round to round, as bench/cpuwork.h) and writes back
// the request followed by a 12-byte trailer: N (4 bytes) and the hash (8
// bytes), little-endian.  N is calibrated at start so one request costs
// about MICROSECONDS (40) of CPU here, unless --rounds gives it.  It
// prints cpuecho.c's two lines,
//
//	cpuecho: rounds=N us_per_request=T size=BYTES (calibrated|given)
//	cpuecho: listening on 127.0.0.1:PORT
//
// and serves until killed; --calibrate prints the first and exits.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"
)

const trailer = 12

// hash is cpuwork_hash: FNV-1a over msg, rounds times.
func hash(msg []byte, rounds uint32) uint64 {
	h := uint64(0xcbf29ce484222325)
	for r := uint32(0); r < rounds; r++ {
		for _, b := range msg {
			h ^= uint64(b)
			h *= 0x100000001b3
		}
	}
	return h
}

// timeRounds returns the fewest ns that n rounds over a request of size
// bytes took in trials tries.
func timeRounds(size int, n uint32, trials int) float64 {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 131)
	}
	best := 0.0
	for t := 0; t < trials; t++ {
		t0 := time.Now()
		h := hash(msg, n)
		ns := float64(time.Since(t0).Nanoseconds())
		msg[0] ^= byte(h) // keeps every trial's hash live
		if t == 0 || ns < best {
			best = ns
		}
	}
	return best
}

// serve answers one connection's requests until EOF or an error.
func serve(c net.Conn, size int, rounds uint32) {
	defer c.Close()
	buf := make([]byte, size+trailer)
	for {
		if _, err := io.ReadFull(c, buf[:size]); err != nil {
			return
		}
		binary.LittleEndian.PutUint32(buf[size:], rounds)
		binary.LittleEndian.PutUint64(buf[size+4:], hash(buf[:size], rounds))
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

func main() {
	size := flag.Int("size", 64, "bytes per request")
	us := flag.Float64("us", 40, "CPU per request to calibrate for, µs")
	given := flag.Uint("rounds", 0, "hash rounds per request (0: calibrate)")
	calibrate := flag.Bool("calibrate", false, "print the calibration and exit")
	flag.Parse()
	port := 0
	if flag.NArg() > 1 || *size < 1 || *size > 64*1024 || *us <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if flag.NArg() == 1 {
		p, err := strconv.Atoi(flag.Arg(0))
		if err != nil {
			flag.Usage()
			os.Exit(2)
		}
		port = p
	}
	runtime.GOMAXPROCS(runtime.NumCPU())

	rounds, how := uint32(*given), "given"
	if rounds == 0 {
		perRound := timeRounds(*size, 20000, 10) / 20000
		rounds, how = uint32(*us*1000/perRound+0.5), "calibrated"
		if rounds < 1 {
			rounds = 1
		}
	}
	fmt.Printf("cpuecho: rounds=%d us_per_request=%.1f size=%d (%s)\n",
		rounds, timeRounds(*size, rounds, 50)/1000, *size, how)
	if *calibrate {
		return
	}

	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cpuecho: listen: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("cpuecho: listening on %s\n", l.Addr())
	for {
		c, err := l.Accept()
		if err != nil {
			// Out of descriptors: wait for connections to close.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c, *size, rounds)
	}
}
