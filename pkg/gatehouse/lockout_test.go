package gatehouse_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func TestLockoutPolicyFail(t *testing.T) {
	p := gatehouse.LockoutPolicy{MaxFailures: 3, Window: gatehouse.Duration(10 * time.Minute), Lockout: gatehouse.Duration(time.Hour)}
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var r gatehouse.FailureRecord

	t.Run("LockOnMax", func(t *testing.T) {
		r = p.Fail(r, at(0))
		r = p.Fail(r, at(5))
		if r.Locked(at(5)) || r.Failures != 2 {
			t.Fatalf("after 2 failures: %+v, want 2 and unlocked", r)
		}
		r = p.Fail(r, at(9))
		if got, want := r.LockedUntil, at(69); !got.Equal(want) {
			t.Fatalf("LockedUntil = %v, want %v", got, want)
		}
	})
	t.Run("NotCountedWhileLocked", func(t *testing.T) {
		if got := p.Fail(r, at(30)); got != r {
			t.Fatalf("a failure while locked changed the record: %+v → %+v", r, got)
		}
		if !r.Locked(at(68)) || r.Locked(at(69)) {
			t.Fatal("the lock must hold until LockedUntil, and end there")
		}
	})
	t.Run("RestartAfterLock", func(t *testing.T) {
		r = p.Fail(r, at(70))
		if r.Failures != 1 || !r.LockedUntil.IsZero() || !r.WindowStart.Equal(at(70)) {
			t.Fatalf("first failure after a lock: %+v, want a fresh count of 1", r)
		}
	})
	t.Run("WindowCloses", func(t *testing.T) {
		r = p.Fail(r, at(79))
		r = p.Fail(r, at(80)) // the window opened at 70 closes at 80
		if r.Failures != 1 || r.Locked(at(80)) {
			t.Fatalf("failure after the window: %+v, want a fresh count of 1", r)
		}
	})
}

func TestLockoutDefaults(t *testing.T) {
	p := gatehouse.DefaultLockoutPolicy()
	// PCI DSS v4.0 8.3.4: at most 10 attempts, at least 30 minutes.
	if p.MaxFailures != 5 || p.MaxFailures > 10 || time.Duration(p.Lockout) < 30*time.Minute || time.Duration(p.Window) != 30*time.Minute {
		t.Fatalf("defaults %+v", p)
	}
}
