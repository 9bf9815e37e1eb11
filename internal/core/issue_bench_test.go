package core_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
)

// BenchmarkRequest: a whole support request in process — generate, hash,
// seal to two recipients, write the envelope atomically, commit. Compare
// with password.BenchmarkHash: the rest is gatehouse's overhead.
func BenchmarkRequest(b *testing.B) {
	fx := setup(b)
	out := filepath.Join(fx.dir, "envelope.age")
	b.ResetTimer()
	for range b.N {
		if _, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: out}); err != nil {
			b.Fatal(err)
		}
	}
}
