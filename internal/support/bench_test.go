package support_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/support"
)

// BenchmarkRequest: a whole support request in process — generate, hash,
// seal to two recipients, write the envelope atomically, commit. Compare
// with password.BenchmarkHash: the rest is gatehouse's overhead.
func BenchmarkRequest(b *testing.B) {
	fx := setup(b)
	out := filepath.Join(fx.dir, "envelope.age")
	b.ResetTimer()
	for range b.N {
		if _, err := fx.svc.Request(ctx, support.IssueOptions{Actor: "op", Out: out}); err != nil {
			b.Fatal(err)
		}
	}
}
