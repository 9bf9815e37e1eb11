package core

// The after-state of every change (see pkg/gatehouse/state.go): each write
// of security state through a change marks the state key it touched, and
// the change's event records, under details "state", what each such key
// holds when the change is done, read through the same transaction. 'audit
// verify' replays those records and compares them with the rows
// (VerifyAudit). Writes that are not security state — sign-in times,
// failure records, sign-in attempts, new roles and scopes — are not
// recorded.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// wrote marks key as written by this change. v is its value when the
// write itself says what it is (a setting, a new account), else nil: it is
// read when the event is built.
func (t *change) wrote(key string, v any) {
	if t.written == nil {
		t.written = map[string]any{}
	}
	t.written[key] = v
}

// The writes of security state, each marking what it touched.

func (t *change) SetSetting(key, value string) error {
	if err := t.Tx.SetSetting(key, value); err != nil {
		return err
	}
	t.wrote(gatehouse.SettingStateKey(key), value)
	return nil
}

func (t *change) DeleteSetting(key string) (bool, error) {
	deleted, err := t.Tx.DeleteSetting(key)
	if deleted && err == nil {
		t.wrote(gatehouse.SettingStateKey(key), nil)
	}
	return deleted, err
}

func (t *change) InsertUser(r gatehouse.UserRow) (int64, error) {
	id, err := t.Tx.InsertUser(r)
	if err != nil {
		return id, err
	}
	// A new account has no grants or exemption yet (their rows go with
	// a deleted account), so its state is the row as written.
	t.wrote(gatehouse.UserStateKey(id), userState(&gatehouse.UserStateRow{
		ID: id, Name: r.Name, Kind: r.Kind, Email: r.Email, Enabled: r.Enabled, MSPAdmin: r.MSPAdmin,
		SSOIssuer: r.SSOIssuer, SSOSubject: r.SSOSubject, PasswordHash: r.PasswordHash,
	}))
	return id, nil
}

func (t *change) SetPasswordHash(userID int64, hash string) error {
	return t.userWrite(userID, t.Tx.SetPasswordHash(userID, hash))
}

func (t *change) SetEnabled(userID int64, enabled bool) error {
	return t.userWrite(userID, t.Tx.SetEnabled(userID, enabled))
}

func (t *change) RenameUser(userID int64, name, skeleton string) error {
	return t.userWrite(userID, t.Tx.RenameUser(userID, name, skeleton))
}

func (t *change) SetExempt(userID int64, exempt bool, by string) (bool, error) {
	changed, err := t.Tx.SetExempt(userID, exempt, by)
	if changed && err == nil {
		t.wrote(gatehouse.UserStateKey(userID), nil)
	}
	return changed, err
}

func (t *change) Grant(kind string, userID, recordID int64) (bool, error) {
	changed, err := t.Tx.Grant(kind, userID, recordID)
	if changed && err == nil {
		t.wrote(gatehouse.UserStateKey(userID), nil)
	}
	return changed, err
}

func (t *change) Revoke(kind string, userID, recordID int64) (bool, error) {
	changed, err := t.Tx.Revoke(kind, userID, recordID)
	if changed && err == nil {
		t.wrote(gatehouse.UserStateKey(userID), nil)
	}
	return changed, err
}

func (t *change) userWrite(userID int64, err error) error {
	if err == nil {
		t.wrote(gatehouse.UserStateKey(userID), nil)
	}
	return err
}

func (t *change) PutSupportCredential(userID int64, c gatehouse.CredentialRow) error {
	return t.supportWrite(t.Tx.PutSupportCredential(userID, c))
}

func (t *change) DeleteSupportCredential(userID int64) (bool, error) {
	deleted, err := t.Tx.DeleteSupportCredential(userID)
	if deleted && err == nil {
		t.wrote(gatehouse.StateKeySupport, nil)
	}
	return deleted, err
}

func (t *change) SetFirstLogon(userID int64, at time.Time) error {
	return t.supportWrite(t.Tx.SetFirstLogon(userID, at))
}

func (t *change) supportWrite(err error) error {
	if err == nil {
		t.wrote(gatehouse.StateKeySupport, nil)
	}
	return err
}

func (t *change) AddRecipient(r gatehouse.Recipient) (bool, error) {
	added, err := t.Tx.AddRecipient(r)
	if added && err == nil {
		t.wrote(gatehouse.RecipientStateKey(r.Fingerprint), nil)
	}
	return added, err
}

func (t *change) RemoveRecipient(fingerprint string) (bool, error) {
	removed, err := t.Tx.RemoveRecipient(fingerprint)
	if removed && err == nil {
		t.wrote(gatehouse.RecipientStateKey(fingerprint), nil)
	}
	return removed, err
}

// recordState puts the after-state of what this change wrote into ne's
// details, and removes any "state" or "baseline" a caller's details held:
// only this records state.
func (t *change) recordState(ne *gatehouse.NewEvent) error {
	d := maps.Clone(ne.Details)
	delete(d, gatehouse.DetailState)
	delete(d, gatehouse.DetailBaseline)
	if len(t.written) > 0 {
		st := make(map[string]any, len(t.written))
		for k, v := range t.written {
			if !gatehouse.MayRecordState(ne.Action, k) {
				// A replay would report the event: the table in
				// pkg/gatehouse/state.go is behind the code.
				return gatehouse.Errorf(gatehouse.EINTERNAL, "%s may not record %s: add it to the state writers", ne.Action, k)
			}
			if v == nil {
				var err error
				if v, err = readState(t, k); err != nil {
					return err
				}
			}
			st[k] = v
		}
		if d == nil {
			d = map[string]any{}
		}
		d[gatehouse.DetailState] = st
	}
	ne.Details = d
	return nil
}

// readState reads one key's state; nil when its row is not there.
func readState(v gatehouse.View, key string) (any, error) {
	kind, name := gatehouse.SplitStateKey(key)
	switch kind {
	case gatehouse.StateSetting:
		val, ok, err := v.Setting(name)
		if err != nil || !ok {
			return nil, err
		}
		return val, nil
	case gatehouse.StateUser:
		id, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			return nil, err
		}
		r, found, err := v.UserState(id)
		if err != nil || !found {
			return nil, err
		}
		return userState(&r), nil
	case gatehouse.StateSupport:
		a, found, err := v.SupportAccount()
		if err != nil || !found || a.Credential == nil {
			return nil, err
		}
		return credentialState(a.Credential), nil
	case gatehouse.StateRecipient:
		rs, err := v.Recipients()
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.Fingerprint == name {
				return recipientState(&r), nil
			}
		}
		return nil, nil
	}
	return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "unknown state key %q", key)
}

// snapshot reads the whole security state: every key with a row.
func snapshot(v gatehouse.View) (map[string]any, error) {
	m := map[string]any{}
	settings, err := v.AllSettings()
	if err != nil {
		return nil, err
	}
	for k, val := range settings {
		m[gatehouse.SettingStateKey(k)] = val
	}
	if err := v.UserStates(func(r *gatehouse.UserStateRow) error {
		m[gatehouse.UserStateKey(r.ID)] = userState(r)
		return nil
	}); err != nil {
		return nil, err
	}
	if st, err := readState(v, gatehouse.StateKeySupport); err != nil {
		return nil, err
	} else if st != nil {
		m[gatehouse.StateKeySupport] = st
	}
	rs, err := v.Recipients()
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		m[gatehouse.RecipientStateKey(r.Fingerprint)] = recipientState(&r)
	}
	return m, nil
}

// baseline is the details that record the whole state as the start of a
// replay.
func baseline(v gatehouse.View) (map[string]any, error) {
	st, err := snapshot(v)
	if err != nil {
		return nil, err
	}
	return map[string]any{gatehouse.DetailState: st, gatehouse.DetailBaseline: true}, nil
}

// Migrate is the hook a store runs when it migrates from a schema whose
// events recorded no after-state: the store.migrate event records the
// whole state as its baseline, which replays start from. (What the rows
// hold then is taken as it is: the trail cannot say more about the time
// before it recorded state.)
func Migrate(tx gatehouse.Tx, from int) (map[string]any, error) { return baseline(tx) }

var _ gatehouse.MigrateFunc = Migrate

func userState(r *gatehouse.UserStateRow) gatehouse.UserState {
	s := gatehouse.UserState{
		Name: r.Name, Kind: r.Kind, Email: r.Email, Enabled: r.Enabled, MSPAdmin: r.MSPAdmin,
		SSOIssuer: r.SSOIssuer, SSOSubject: r.SSOSubject, SSOExempt: r.SSOExempt,
		Password: digest(r.PasswordHash),
		Roles:    r.Roles, Scopes: r.Scopes, Groups: r.Groups, Orgs: r.Orgs,
	}
	s.Normalise()
	return s
}

func credentialState(c *gatehouse.CredentialRow) gatehouse.SupportCredentialState {
	return gatehouse.SupportCredentialState{
		RequestID: c.RequestID, Password: digest(c.PasswordHash),
		IssuedAt: stateTime(c.IssuedAt), ExpiresAt: stateTime(c.ExpiresAt),
		ResetAfterUse: int64(c.ResetAfterUse / time.Second), FirstLogonAt: stateTime(c.FirstLogonAt),
		EnvelopeSHA256: c.EnvelopeSHA256,
	}
}

func recipientState(r *gatehouse.Recipient) gatehouse.RecipientState {
	return gatehouse.RecipientState{
		Kind: r.Kind, Recipient: r.Recipient, Fingerprint: r.Fingerprint, Comment: r.Comment,
		AddedAt: stateTime(r.AddedAt), AddedBy: r.AddedBy,
	}
}

// stateTime is a time as the state records it: as stored, "" for none.
func stateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return storedTime(t)
}

// digest is the hex SHA-256 of a stored password hash, "" for none: the
// trail records that a hash changed, never the hash.
func digest(hash string) string {
	if hash == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:])
}

// VerifyAudit checks every link of the audit trail and, when the chain
// holds, replays the state its events record and compares it with the
// store's rows, in the walk's snapshot (see gatehouse.Audit).
func (c *Core) VerifyAudit(ctx context.Context, head *gatehouse.ChainHead, progress func(done, total int64), checkpoints ...gatehouse.TreeCheck) (gatehouse.AuditVerification, error) {
	var replay gatehouse.Replay
	var check *gatehouse.StateCheck
	res, err := c.store.VerifyChain(ctx, gatehouse.VerifyOptions{
		Head: head, Progress: progress, Each: replay.Add, Checkpoints: checkpoints,
		Then: func(v gatehouse.View) error {
			cur, err := snapshot(v)
			if err != nil {
				return err
			}
			check = gatehouse.CompareState(&replay, cur)
			return nil
		},
	})
	out := gatehouse.AuditVerification{ChainResult: res, State: check}
	if err == nil && res.OK() && check == nil {
		out.StateNotChecked = "the store's schema is older than this gatehouse's, so its rows were not compared with the trail; a command that writes migrates it"
	}
	return out, err
}
