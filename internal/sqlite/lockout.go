package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Failed-logon throttling setting keys.
const (
	settingLoginMaxFailures   = "login.max_failures"
	settingLoginFailureWindow = "login.failure_window"
	settingLoginLockout       = "login.lockout"
)

// localCredential keys a local account's password in login_failures; the
// support account's failures are keyed on its credential's request ID.
const localCredential = ""

// lockoutPolicy reads the throttling policy, defaults where unset.
func (tx *Tx) lockoutPolicy() (gatehouse.LockoutPolicy, error) {
	p := gatehouse.DefaultLockoutPolicy()
	v, ok, err := tx.Setting(settingLoginMaxFailures)
	if err != nil {
		return p, err
	}
	if ok {
		if p.MaxFailures, err = strconv.Atoi(v); err != nil {
			return p, err
		}
	}
	window, err := tx.durationSetting(settingLoginFailureWindow, gatehouse.DefaultFailureWindow)
	if err != nil {
		return p, err
	}
	lockout, err := tx.durationSetting(settingLoginLockout, gatehouse.DefaultLockout)
	p.Window, p.Lockout = gatehouse.Duration(window), gatehouse.Duration(lockout)
	return p, err
}

// LockoutPolicy reads the failed-logon throttling policy.
func (db *DB) LockoutPolicy(ctx context.Context) (p gatehouse.LockoutPolicy, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		p, err = tx.lockoutPolicy()
		return err
	})
	return p, err
}

// failureRecord reads the failed-logon count of a user's credential.
func (tx *Tx) failureRecord(userID int64, credential string) (gatehouse.FailureRecord, error) {
	var r gatehouse.FailureRecord
	var start string
	var locked sql.NullString
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT failures, window_start, locked_until FROM login_failures WHERE user_id = ? AND credential = ?",
		userID, credential).Scan(&r.Failures, &start, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	r.WindowStart, _ = audit.ParseTime(start)
	r.LockedUntil = parseNullTime(locked)
	return r, err
}

// lockedNow reports, from a read snapshot, whether a user's credential is
// locked: a logon then skips the password check (and spends the same time
// on a dummy one), so a lock reveals nothing about the password.
func (db *DB) lockedNow(ctx context.Context, userID int64, credential string) (locked bool, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		r, err := tx.failureRecord(userID, credential)
		locked = r.Locked(tx.now)
		return err
	})
	return locked, err
}

// passwordVerdict is what a logon decided without throttling made of the
// password: not judged (refused for another reason first), right or wrong.
type passwordVerdict int

const (
	passwordNotJudged passwordVerdict = iota
	passwordRight
	passwordWrong
	// passwordLocked: the logon found the credential locked before the
	// check and skipped it; it is refused as locked even if the lock ended
	// meanwhile, and counts nothing.
	passwordLocked
)

// throttle applies failed-logon throttling to a logon decided without it,
// inside the logon's transaction, and notes what it did in the event's
// details. While the credential is locked, it reports locked: the caller
// refuses the logon as locked whatever the password was. Otherwise a wrong
// password counts a failure (the one that reaches the limit locks), and a
// right one clears the count. Counts of the user's other credentials (a
// replaced support credential) are dropped.
func (tx *Tx) throttle(userID int64, credential string, v passwordVerdict, details map[string]any) (locked bool, err error) {
	if v == passwordNotJudged {
		return false, nil
	}
	r, err := tx.failureRecord(userID, credential)
	if err != nil {
		return false, err
	}
	if r.Locked(tx.now) {
		details["locked_until"] = detailTime(r.LockedUntil)
		return true, nil
	}
	if v == passwordLocked {
		return true, nil
	}
	if _, err := tx.tx.ExecContext(tx.ctx, "DELETE FROM login_failures WHERE user_id = ? AND (credential != ? OR ?)",
		userID, credential, v == passwordRight); err != nil {
		return false, err
	}
	if v == passwordRight {
		return false, nil
	}
	p, err := tx.lockoutPolicy()
	if err != nil {
		return false, err
	}
	r = p.Fail(r, tx.now)
	var until any
	if !r.LockedUntil.IsZero() {
		until = audit.FormatTime(r.LockedUntil)
		details["locked_until"] = detailTime(r.LockedUntil)
	}
	details["failures"] = r.Failures
	_, err = tx.tx.ExecContext(tx.ctx, `INSERT INTO login_failures (user_id, credential, failures, window_start, locked_until)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, credential) DO UPDATE SET failures = excluded.failures,
			window_start = excluded.window_start, locked_until = excluded.locked_until`,
		userID, credential, r.Failures, audit.FormatTime(r.WindowStart), until)
	return false, err
}

// detailTime is a time as events' details show it: RFC 3339, whole seconds.
func detailTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Unlock ends a user's lock and clears its failed-logon count, as one
// audited change (user.unlock). It reports false when there was nothing to
// clear.
func (db *DB) Unlock(ctx context.Context, actor, ref string) (bool, error) {
	ev, err := db.ChangeAsAdmin(ctx, actor, "user.unlock", ref, func(tx *Tx) (*gatehouse.NewEvent, error) {
		u, err := tx.findUser(ref)
		if err != nil {
			return nil, err
		}
		res, err := tx.tx.ExecContext(tx.ctx, "DELETE FROM login_failures WHERE user_id = ?", u.ID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, nil
		}
		details := map[string]any{"id": u.ID, "was_locked": u.LockedUntil != nil}
		if u.LockedUntil != nil {
			details["locked_until"] = detailTime(*u.LockedUntil)
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "user.unlock", Target: u.Name, Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return ev != nil, err
}

// ConfigureLockout validates and records the throttling policy, as one
// audited change (lockout.configure). It returns the policy in force and
// whether anything changed.
func (db *DB) ConfigureLockout(ctx context.Context, actor string, u gatehouse.LockoutUpdate) (gatehouse.LockoutPolicy, bool, error) {
	var out gatehouse.LockoutPolicy
	ev, err := db.ChangeAsAdmin(ctx, actor, "lockout.configure", "login", func(tx *Tx) (*gatehouse.NewEvent, error) {
		p, err := tx.lockoutPolicy()
		if err != nil {
			return nil, err
		}
		changes := map[string]any{}
		set := func(key, text string) error {
			changes[key] = text
			return tx.SetSetting(key, text)
		}
		if u.MaxFailures != nil && *u.MaxFailures != p.MaxFailures {
			if err := gatehouse.ValidateMaxFailures(*u.MaxFailures); err != nil {
				return nil, err
			}
			p.MaxFailures = *u.MaxFailures
			if err := set(settingLoginMaxFailures, strconv.Itoa(p.MaxFailures)); err != nil {
				return nil, err
			}
		}
		for _, d := range []struct {
			key      string
			in       *time.Duration
			cur      *gatehouse.Duration
			validate func(time.Duration) error
		}{
			{settingLoginFailureWindow, u.Window, &p.Window, gatehouse.ValidateFailureWindow},
			{settingLoginLockout, u.Lockout, &p.Lockout, gatehouse.ValidateLockout},
		} {
			if d.in == nil || gatehouse.Duration(*d.in) == *d.cur {
				continue
			}
			if err := d.validate(*d.in); err != nil {
				return nil, err
			}
			*d.cur = gatehouse.Duration(*d.in)
			if err := set(d.key, gatehouse.FormatDuration(*d.in)); err != nil {
				return nil, err
			}
		}
		out = p
		if len(changes) == 0 {
			return nil, nil
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "lockout.configure", Target: "login",
			Outcome: gatehouse.OutcomeSuccess, Details: changes}, nil
	})
	if err == nil && ev == nil {
		p, err := db.LockoutPolicy(ctx)
		return p, false, err
	}
	return out, ev != nil, err
}
