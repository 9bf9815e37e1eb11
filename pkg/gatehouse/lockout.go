package gatehouse

import "time"

// Failed-logon throttling defaults, after PCI DSS v4.0 requirement 8.3.4
// (lock after no more than 10 attempts, for at least 30 minutes).
const (
	DefaultMaxFailures   = 5
	DefaultFailureWindow = 30 * time.Minute
	DefaultLockout       = 30 * time.Minute
)

// Bounds of the throttling settings.
const (
	MaxMaxFailures   = 100
	MinFailureWindow = time.Minute
	MaxFailureWindow = 24 * time.Hour
	MinLockout       = time.Minute
	MaxLockout       = 30 * 24 * time.Hour
)

// LockoutPolicy is failed-logon throttling: MaxFailures wrong passwords for
// one account (for the support account: one credential) within Window lock
// it for Lockout.
type LockoutPolicy struct {
	MaxFailures int      `json:"max_failures"`
	Window      Duration `json:"failure_window"`
	Lockout     Duration `json:"lockout"`
}

// DefaultLockoutPolicy is the policy of a store that never set one.
func DefaultLockoutPolicy() LockoutPolicy {
	return LockoutPolicy{MaxFailures: DefaultMaxFailures, Window: Duration(DefaultFailureWindow), Lockout: Duration(DefaultLockout)}
}

// LockoutUpdate changes the policy; nil fields keep their value.
type LockoutUpdate struct {
	MaxFailures *int
	Window      *time.Duration
	Lockout     *time.Duration
}

// ValidateMaxFailures checks a failure limit: 1 to MaxMaxFailures.
func ValidateMaxFailures(n int) error {
	if n < 1 || n > MaxMaxFailures {
		return Errorf(EINVALID, "invalid --max-failures %d: use 1 to %d", n, MaxMaxFailures)
	}
	return nil
}

// ValidateFailureWindow checks the window failures are counted in.
func ValidateFailureWindow(d time.Duration) error {
	if d < MinFailureWindow || d > MaxFailureWindow {
		return Errorf(EINVALID, "invalid --window %s: use %s to %s", FormatDuration(d), FormatDuration(MinFailureWindow), FormatDuration(MaxFailureWindow))
	}
	return nil
}

// ValidateLockout checks how long a lock lasts.
func ValidateLockout(d time.Duration) error {
	if d < MinLockout || d > MaxLockout {
		return Errorf(EINVALID, "invalid --duration %s: use %s to %s", FormatDuration(d), FormatDuration(MinLockout), FormatDuration(MaxLockout))
	}
	return nil
}

// FailureRecord is the failed-logon count of one account (or support
// credential): failures since WindowStart, and the end of a lock (zero when
// it was never locked).
type FailureRecord struct {
	Failures    int
	WindowStart time.Time
	LockedUntil time.Time
}

// Locked reports whether the record locks logons at now.
func (r FailureRecord) Locked(now time.Time) bool { return now.Before(r.LockedUntil) }

// Fail returns r after one more wrong password at now. The window is fixed:
// it opens at the first failure and the count starts again at the first
// failure after it closes, or after a lock ended. The failure that reaches
// MaxFailures locks until now + Lockout. A failure while locked is not
// counted: the password is not even checked then, and counting it would let
// anyone extend a lock for ever.
func (p LockoutPolicy) Fail(r FailureRecord, now time.Time) FailureRecord {
	if r.Locked(now) {
		return r
	}
	if r.Failures == 0 || !now.Before(r.WindowStart.Add(time.Duration(p.Window))) || !r.LockedUntil.IsZero() {
		r = FailureRecord{WindowStart: now}
	}
	r.Failures++
	if r.Failures >= p.MaxFailures {
		r.LockedUntil = now.Add(time.Duration(p.Lockout))
	}
	return r
}
