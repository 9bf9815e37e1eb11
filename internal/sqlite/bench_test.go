package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func benchStore(b *testing.B) *sqlite.DB {
	b.Helper()
	db, _, err := sqlite.Create(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{OSUser: "bench"}, core.Init(core.InitParams{Actor: "bench"}, "sqlite", sqlite.SchemaVersion()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func appendEvents(b *testing.B, db *sqlite.DB, n int) {
	for i := range n {
		if _, err := db.Change(ctx, func(gatehouse.Tx) (*gatehouse.NewEvent, error) {
			return &gatehouse.NewEvent{Actor: "bench", Action: "bench.append", Target: "t",
				Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{"i": i}}, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditAppend: one change transaction with its audit event, durable
// (synchronous=FULL under WAL). tree=without is the append as it was
// before the Merkle tree (schema 7's insert, no tree column): the limit
// tree=with is measured against in the same run (goal: within 1.2×).
// Each store first holds 1,000 events, so that the tree's reads of
// earlier records go to a B-tree of some depth.
func BenchmarkAuditAppend(b *testing.B) {
	for _, tree := range []bool{true, false} {
		name := "tree=with"
		if !tree {
			name = "tree=without"
		}
		b.Run(name, func(b *testing.B) {
			db := benchStore(b)
			if err := db.AppendSynthetic(ctx, 1000, gatehouse.NewEvent{Actor: "a", Action: "x.y", Target: "t", Outcome: gatehouse.OutcomeSuccess}); err != nil {
				b.Fatal(err)
			}
			if !tree {
				defer sqlite.AppendWithoutTreeForBench()()
			}
			b.ResetTimer()
			appendEvents(b, db, b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkVerifyChain: verifying a trail of 10,000 events.
func BenchmarkVerifyChain(b *testing.B) {
	db := benchStore(b)
	const n = 10000
	appendEvents(b, db, n-1)
	b.ResetTimer()
	for range b.N {
		res, err := db.VerifyChain(ctx, gatehouse.VerifyOptions{})
		if err != nil || !res.OK() || res.Valid != n {
			b.Fatalf("verify: %+v %v", res, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerifyAudit: 'audit verify' of the same trail: the chain, and
// the state replayed and compared with the store in the same snapshot.
// Against BenchmarkVerifyChain it measures what the replay costs.
func BenchmarkVerifyAudit(b *testing.B) {
	db := benchStore(b)
	const n = 10000
	appendEvents(b, db, n-1)
	c := core.New(db, core.Options{})
	b.ResetTimer()
	for range b.N {
		res, err := c.VerifyAudit(ctx, nil, nil)
		if err != nil || !res.OK() || res.Valid != n || res.State == nil {
			b.Fatalf("verify: %+v %v", res, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
