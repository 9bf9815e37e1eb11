package password

import (
	"runtime"
	"testing"
	"time"
)

// TestHashingIsBounded: no more argon2id computations run at once than Go
// has CPUs; one more waits until one ends (each holds 19 MiB: eight
// concurrent logons must not hold eight times that).
func TestHashingIsBounded(t *testing.T) {
	if cap(hashing) != runtime.GOMAXPROCS(0) {
		t.Fatalf("the bound is %d, want GOMAXPROCS = %d", cap(hashing), runtime.GOMAXPROCS(0))
	}
	for range cap(hashing) { // every slot taken, as by running hashes
		hashing <- struct{}{}
	}
	done := make(chan struct{})
	go func() {
		VerifyDummy([]byte("pw"))
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("a verification ran while every slot was taken")
	case <-time.After(100 * time.Millisecond): // several hashes' time
	}
	<-hashing // one ends
	<-done    // the waiting one runs
	for range cap(hashing) - 1 {
		<-hashing
	}
}
