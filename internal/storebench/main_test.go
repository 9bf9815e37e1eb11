// Package storebench measures the two stores side by side: first-time
// sign-ins and audit-chain appends with 1, 4 and 16 concurrent writers, as
// goroutines that each hold their own handle (as several app servers do)
// and as separate processes, on SQLite and on PostgreSQL in one run.
//
// It holds benchmarks only, plus one small test that runs the same
// workloads on SQLite so that they cannot rot unnoticed:
//
//	go test ./internal/storebench -run '^$' -bench . -benchtime 200x -count 3
//
// The PostgreSQL benchmarks use internal/pgtest's throwaway cluster, which
// runs with durability off (fsync=off, synchronous_commit=off). To measure
// a durable server instead, name it in GATEHOUSE_BENCH_POSTGRES (see
// envServer): each benchmark then creates and drops its own database there.
package storebench

import (
	"os"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
)

func TestMain(m *testing.M) {
	// A child of BenchmarkAppendProcesses: the test binary run again as
	// one writer process.
	if spec := os.Getenv(envChild); spec != "" {
		os.Exit(childMain(spec))
	}
	pgtest.Main(m)
}
