package gatehouse_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestLockoutPolicyBoundaries covers the instants lockout_test.go does not:
// the last instant of the window, the instant a lock ends, a lock that
// ends while the window it started in is still open, and a limit of one.
func TestLockoutPolicyBoundaries(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	const ns = time.Nanosecond
	for _, tt := range []struct {
		name     string
		policy   gatehouse.LockoutPolicy
		failures []time.Duration // after t0
		want     gatehouse.FailureRecord
	}{
		{
			// A guesser pacing failures to the window's last instant is
			// still counted, and locked by the last one.
			name:     "LastInstantOfWindowCounts",
			policy:   policy(3, 10*time.Minute, time.Hour),
			failures: []time.Duration{0, 5 * time.Minute, 10*time.Minute - ns},
			want:     gatehouse.FailureRecord{Failures: 3, WindowStart: t0, LockedUntil: t0.Add(time.Hour + 10*time.Minute - ns)},
		},
		{
			name:     "WindowEndStartsAgain",
			policy:   policy(3, 10*time.Minute, time.Hour),
			failures: []time.Duration{0, 5 * time.Minute, 10 * time.Minute},
			want:     gatehouse.FailureRecord{Failures: 1, WindowStart: t0.Add(10 * time.Minute)},
		},
		{
			// At LockedUntil the lock is over: the failure is counted, as
			// the first of a new window, and does not lock again.
			name:     "FailureAtTheInstantTheLockEnds",
			policy:   policy(2, 10*time.Minute, time.Hour),
			failures: []time.Duration{0, time.Minute, 61 * time.Minute},
			want:     gatehouse.FailureRecord{Failures: 1, WindowStart: t0.Add(61 * time.Minute)},
		},
		{
			name:     "FailureJustBeforeTheLockEndsIsNotCounted",
			policy:   policy(2, 10*time.Minute, time.Hour),
			failures: []time.Duration{0, time.Minute, 61*time.Minute - ns},
			want:     gatehouse.FailureRecord{Failures: 2, WindowStart: t0, LockedUntil: t0.Add(61 * time.Minute)},
		},
		{
			// A lock shorter than the window ends while the window is open:
			// one more wrong password must not lock again at once.
			name:     "LockEndsInsideWindow",
			policy:   policy(2, 30*time.Minute, 5*time.Minute),
			failures: []time.Duration{0, time.Minute, 7 * time.Minute},
			want:     gatehouse.FailureRecord{Failures: 1, WindowStart: t0.Add(7 * time.Minute)},
		},
		{
			name:     "LockEndsInsideWindowThenLocksAgainAtTheLimit",
			policy:   policy(2, 30*time.Minute, 5*time.Minute),
			failures: []time.Duration{0, time.Minute, 7 * time.Minute, 8 * time.Minute},
			want:     gatehouse.FailureRecord{Failures: 2, WindowStart: t0.Add(7 * time.Minute), LockedUntil: t0.Add(13 * time.Minute)},
		},
		{
			name:     "LimitOfOne",
			policy:   policy(1, time.Minute, time.Minute),
			failures: []time.Duration{0},
			want:     gatehouse.FailureRecord{Failures: 1, WindowStart: t0, LockedUntil: t0.Add(time.Minute)},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r gatehouse.FailureRecord
			for _, d := range tt.failures {
				r = tt.policy.Fail(r, t0.Add(d))
			}
			if !r.WindowStart.Equal(tt.want.WindowStart) || r.Failures != tt.want.Failures || !r.LockedUntil.Equal(tt.want.LockedUntil) {
				t.Fatalf("after failures at %v: %+v, want %+v", tt.failures, r, tt.want)
			}
		})
	}
}

// TestFailureRecordLocked: a lock holds until its last instant and not at
// LockedUntil; a record that never locked never locks.
func TestFailureRecordLocked(t *testing.T) {
	end := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	r := gatehouse.FailureRecord{Failures: 5, WindowStart: end.Add(-time.Hour), LockedUntil: end}
	if !r.Locked(end.Add(-time.Nanosecond)) || r.Locked(end) || r.Locked(end.Add(time.Nanosecond)) {
		t.Errorf("locked until %v: locked at -1ns %v, at the end %v, at +1ns %v", end,
			r.Locked(end.Add(-time.Nanosecond)), r.Locked(end), r.Locked(end.Add(time.Nanosecond)))
	}
	if (gatehouse.FailureRecord{Failures: 4, WindowStart: end}).Locked(end) {
		t.Error("a record below the limit, never locked, is locked")
	}
}

func policy(max int, window, lockout time.Duration) gatehouse.LockoutPolicy {
	return gatehouse.LockoutPolicy{MaxFailures: max, Window: gatehouse.Duration(window), Lockout: gatehouse.Duration(lockout)}
}
