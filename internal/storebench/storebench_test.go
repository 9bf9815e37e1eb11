package storebench

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
)

// TestWorkloads runs the benchmarks' workloads, small, on SQLite: goroutine
// writers with their own handles and writer processes leave one event per
// operation and a chain that verifies. (The benchmarks check the same after
// each run, on both stores; this keeps them from rotting under go test.)
func TestWorkloads(t *testing.T) {
	loc := filepath.Join(t.TempDir(), "gatehouse.db")
	c := newStore(t, loc)
	handles := openHandles(t, loc, 4)
	for _, w := range []struct {
		name string
		op   func(h *core.Core, i int) error
	}{{"FirstSignIn", firstSignIn}, {"Append", appendEvent}} {
		before := head(t, c)
		if err := concurrently(handles, 10, w.op); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		checkChain(t, c, before, 10)
	}
	before := head(t, c)
	p := startProcs(t, loc, 3, 10)
	if err := p.run(); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(); err != nil {
		t.Fatal(err)
	}
	checkChain(t, c, before, 10)
}

// TestShare: the writers' shares cover every operation once, even with
// fewer operations than writers.
func TestShare(t *testing.T) {
	for _, tc := range []struct{ n, writers int }{{0, 4}, {1, 16}, {10, 3}, {200, 16}} {
		next := 0
		for w := range tc.writers {
			first, end := share(tc.n, tc.writers, w)
			if first != next || end < first {
				t.Fatalf("share(%d, %d, %d) = %d, %d; want it to start at %d", tc.n, tc.writers, w, first, end, next)
			}
			next = end
		}
		if next != tc.n {
			t.Fatalf("shares of %d over %d end at %d", tc.n, tc.writers, next)
		}
	}
}
