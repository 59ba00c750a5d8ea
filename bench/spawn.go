// spawn.go - what it costs Go to create, park and end many goroutines; the
// peer of spawn.c.
//
// main starts N goroutines (N is the first argument, default 1,000,000) on
// one OS thread (GOMAXPROCS 1, as weft runs on one).  Each one says it has
// started (a sync.WaitGroup) and parks receiving from a gate channel.  main
// waits until all N have started, reads the resident set size while they are
// all parked, closes the gate, and waits on a second WaitGroup until every
// goroutine has ended.  Times come from the monotonic clock (time.Since);
// RSS from /proc/self/statm, as in spawn.c.
//
// It prints one line, in spawn.c's format:
//
//	spawn go: n=N create+park_us=A release+exit_us=B rss_kib=C
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// rssBytes returns the resident set size from /proc/self/statm.
func rssBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fmt.Fprintf(os.Stderr, "spawn: %v\n", err)
		os.Exit(1)
	}
	var size, resident uint64
	if _, err := fmt.Sscan(string(b), &size, &resident); err != nil {
		fmt.Fprintf(os.Stderr, "spawn: /proc/self/statm: %v\n", err)
		os.Exit(1)
	}
	return float64(resident) * float64(os.Getpagesize())
}

func main() {
	// --warm: one untimed round first, so the timed one reuses what
	// the runtime kept from it, as a server does after warming up.
	args := os.Args[1:]
	warm := len(args) > 0 && args[0] == "--warm"
	if warm {
		args = args[1:]
	}
	n := 1000000
	if len(args) > 0 {
		v, err := strconv.Atoi(args[0])
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "usage: %s [number of goroutines > 0]\n", os.Args[0])
			os.Exit(2)
		}
		n = v
	}
	runtime.GOMAXPROCS(1)

	name := "go"
	if warm {
		name = "go-warm"
		spawnRound(n)
	}
	createPark, releaseExit, rss := spawnRound(n)
	fmt.Printf("spawn %s: n=%d create+park_us=%.3f release+exit_us=%.3f rss_kib=%.2f\n",
		name, n, float64(createPark.Nanoseconds())/1e3/float64(n),
		float64(releaseExit.Nanoseconds())/1e3/float64(n),
		rss/1024/float64(n))
}

// spawnRound starts n goroutines that park, releases them, and returns
// the two times and the RSS the parked goroutines added.
func spawnRound(n int) (time.Duration, time.Duration, float64) {
	var started, finished sync.WaitGroup
	gate := make(chan struct{})
	rss0 := rssBytes()

	started.Add(n)
	finished.Add(n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-gate
			finished.Done()
		}()
	}
	started.Wait()
	createPark := time.Since(t0)

	rss1 := rssBytes()

	t2 := time.Now()
	close(gate)
	finished.Wait()
	releaseExit := time.Since(t2)

	return createPark, releaseExit, rss1 - rss0
}
