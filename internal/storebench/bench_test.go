package storebench

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
)

// stores are the two kinds of store, each giving the location of a new,
// empty one.
var stores = []struct {
	name     string
	location func(tb testing.TB) string
}{
	{"sqlite", func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "gatehouse.db") }},
	{"postgres", postgresLocation},
}

var writerCounts = []int{1, 4, 16}

// forEach runs bench as sub-benchmarks STORE/LABEL=N, for each store and
// each writer count, given a fresh store's location.
func forEach(b *testing.B, label string, bench func(b *testing.B, location string, writers int)) {
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			for _, n := range writerCounts {
				b.Run(fmt.Sprintf("%s=%d", label, n), func(b *testing.B) { bench(b, st.location(b), n) })
			}
		})
	}
}

func reportOps(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// benchGoroutines times b.N operations split over writers goroutines, each
// with its own handle on a new store, then checks that every operation
// appended one event and that the chain verifies.
func benchGoroutines(b *testing.B, location string, writers int, op func(h *core.Core, i int) error) {
	c := newStore(b, location)
	handles := openHandles(b, location, writers)
	before := head(b, c)
	b.ResetTimer()
	err := concurrently(handles, b.N, op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	reportOps(b)
	checkChain(b, c, before, b.N)
}

// BenchmarkFirstSignIn: first-time SSO sign-ins, each a distinct new
// identity that the gate lets in and auto-creates an account for (settings
// read, identity and e-mail checks, account, attempt and audit event in one
// transaction), from 1, 4 and 16 concurrent writers.
func BenchmarkFirstSignIn(b *testing.B) {
	forEach(b, "writers", func(b *testing.B, location string, writers int) {
		benchGoroutines(b, location, writers, firstSignIn)
	})
}

// BenchmarkAppend: audit-chain appends, each a change that writes only its
// event, from 1, 4 and 16 concurrent writers.
func BenchmarkAppend(b *testing.B) {
	forEach(b, "writers", func(b *testing.B, location string, writers int) {
		benchGoroutines(b, location, writers, appendEvent)
	})
}

// BenchmarkAppendProcesses: the appends of BenchmarkAppend from 1, 4 and 16
// processes (the test binary run again), each doing its share of b.N on the
// same store. The timer runs from the moment every process has opened the
// store until the last has committed its last event; the time the
// processes took to start and open the store is reported as start-ms.
func BenchmarkAppendProcesses(b *testing.B) {
	forEach(b, "procs", func(b *testing.B, location string, procs int) {
		c := newStore(b, location)
		before := head(b, c)
		start := time.Now()
		p := startProcs(b, location, procs, b.N)
		started := time.Since(start)
		b.ResetTimer()
		err := p.run()
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if err := p.wait(); err != nil {
			b.Fatal(err)
		}
		reportOps(b)
		b.ReportMetric(float64(started.Microseconds())/1000, "start-ms")
		checkChain(b, c, before, b.N)
	})
}
