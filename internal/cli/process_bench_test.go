package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// buildTools builds the gatehouse binary and the bare-query floor once.
func buildTools(b *testing.B) (gatehouse, bare, store string) {
	b.Helper()
	dir := b.TempDir()
	gatehouse, bare = filepath.Join(dir, "gatehouse"), filepath.Join(dir, "barequery")
	for out, pkg := range map[string]string{gatehouse: "../../cmd/gatehouse", bare: "../tools/barequery"} {
		if o, err := exec.Command("go", "build", "-trimpath", "-o", out, pkg).CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", pkg, err, o)
		}
	}
	store = filepath.Join(dir, "gatehouse.db")
	if o, err := exec.Command(gatehouse, "--store", store, "-q", "init").CombinedOutput(); err != nil {
		b.Fatalf("init: %v\n%s", err, o)
	}
	return gatehouse, bare, store
}

// runProcess runs a command to completion and returns its peak RSS in KiB.
func runProcess(b *testing.B, name string, args ...string) int64 {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_CONFIG=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", name, err, out)
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

// BenchmarkProcessSSOStatus: `gatehouse sso status` as a whole process:
// start-up, configuration, opening the store, one snapshot, rendering.
// Compare with BenchmarkProcessBareQuery (goal: at most 2.5×, RSS < 32 MB).
func BenchmarkProcessSSOStatus(b *testing.B) {
	gatehouse, _, store := buildTools(b)
	b.ResetTimer()
	var rss int64
	for range b.N {
		rss = max(rss, runProcess(b, gatehouse, "--store", store, "sso", "status"))
	}
	b.ReportMetric(float64(rss)/1024, "peak-MB")
}

// BenchmarkProcessBareQuery: the floor — a bare program that opens the same
// store with the same driver and runs one query.
func BenchmarkProcessBareQuery(b *testing.B) {
	_, bare, store := buildTools(b)
	b.ResetTimer()
	var rss int64
	for range b.N {
		rss = max(rss, runProcess(b, bare, store))
	}
	b.ReportMetric(float64(rss)/1024, "peak-MB")
}
