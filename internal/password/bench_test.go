package password_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/password"
)

// BenchmarkHash: argon2id with the OWASP parameters, the floor under every
// support request and logon.
func BenchmarkHash(b *testing.B) {
	pw, _ := password.Generate()
	for range b.N {
		if _, err := password.Hash(pw, password.OWASP); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConcurrentVerify: logons verifying passwords from 1, 2 and 8
// goroutines at once, as a server's concurrent support logons and local
// logins do. Reported: logons per second and the process's peak resident
// memory so far (VmHWM; run each sub-benchmark in its own process, e.g.
// -bench 'ConcurrentVerify/callers=8$', for its own peak). Goal (issue 15):
// at 8 callers, peak RSS ≤ 100 MB and throughput not below 2 callers'.
func BenchmarkConcurrentVerify(b *testing.B) {
	pw, _ := password.Generate()
	phc, err := password.Hash(pw, password.OWASP)
	if err != nil {
		b.Fatal(err)
	}
	for _, callers := range []int{1, 2, 8} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			var wg sync.WaitGroup
			next := make(chan struct{})
			start := time.Now()
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range next {
						if ok, err := password.Verify(phc, pw); err != nil || !ok {
							b.Error("verify failed")
						}
					}
				}()
			}
			for range b.N {
				next <- struct{}{}
			}
			close(next)
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logons/s")
			b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
		})
	}
}

// peakRSSMB is this process's peak resident set (VmHWM) in MB.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
