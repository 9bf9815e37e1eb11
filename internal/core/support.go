package core

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// SupportState is everything support access decides on, read at once.
type SupportState struct {
	Mode        gatehouse.Mode
	TenantID    string
	Settings    gatehouse.SupportSettings
	Server      gatehouse.ServerAddress
	ServerOK    bool
	Recipients  []gatehouse.Recipient
	Credential  gatehouse.SupportCredential
	AccountID   int64
	LastLogon   time.Time
	LastLogonBy string
	// EnvelopePath and EnvelopeSHA256 describe the live credential's
	// envelope file ("" when it was not written to a file).
	EnvelopePath   string
	EnvelopeSHA256 string
}

// Fingerprints lists the recipients' fingerprints, in the order added.
func (s *SupportState) Fingerprints() []string {
	fps := make([]string, len(s.Recipients))
	for i, r := range s.Recipients {
		fps[i] = r.Fingerprint
	}
	return fps
}

// AccountName is the support account's full name in this store.
func (s *SupportState) AccountName() string {
	return gatehouse.SupportAccountName(s.Settings.AccountName, s.Mode, s.TenantID)
}

func supportState(v gatehouse.View) (SupportState, error) {
	var st SupportState
	var err error
	if st.Mode, st.TenantID, err = modeAndTenant(v); err != nil {
		return st, err
	}
	if st.Settings, err = supportSettings(v); err != nil {
		return st, err
	}
	if st.Server, st.ServerOK, err = serverAddress(v); err != nil {
		return st, err
	}
	if st.Recipients, err = v.Recipients(); err != nil {
		return st, err
	}
	c := &st.Credential
	c.AccountName = st.AccountName()
	a, found, err := v.SupportAccount()
	if err != nil || !found {
		return st, err
	}
	st.AccountID, c.AccountName = a.ID, a.Name
	c.AccountExists, c.Enabled = true, a.Enabled
	st.LastLogon, st.LastLogonBy = a.LastSignInAt, a.LastSignInBy
	if cr := a.Credential; cr != nil {
		c.HasCredential = true
		c.PasswordHash, c.RequestID = cr.PasswordHash, cr.RequestID
		c.IssuedAt, c.ExpiresAt, c.FirstLogonAt = cr.IssuedAt, cr.ExpiresAt, cr.FirstLogonAt
		c.ResetAfterUse = cr.ResetAfterUse
		st.EnvelopePath, st.EnvelopeSHA256 = cr.EnvelopePath, cr.EnvelopeSHA256
	}
	return st, nil
}

// SupportState reads the support state in one snapshot.
func (c *Core) SupportState(ctx context.Context) (st SupportState, err error) {
	err = c.read(ctx, func(v gatehouse.View) error {
		st, err = supportState(v)
		return err
	})
	return st, err
}

// ensureSupportAccount creates the support account (Master role and scope)
// or enables it. It reports what it did.
func ensureSupportAccount(t *change, st *SupportState, via, actor string) (created, enabled bool, err error) {
	if st.Credential.AccountExists {
		if !st.Credential.Enabled {
			if err := t.SetEnabled(st.AccountID, true); err != nil {
				return false, false, err
			}
			enabled = true
		}
		return false, enabled, nil
	}
	name := st.AccountName()
	id, err := t.InsertUser(gatehouse.UserRow{Name: name, Kind: "support", Enabled: true, CreatedVia: via, CreatedBy: actor,
		NameSkeleton: gatehouse.NameSkeleton(name)})
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return false, false, gatehouse.Errorf(gatehouse.ECONFLICT,
				"a user named %s already exists and is not the support account; set another name with 'gatehouse support configure --account-name'", name)
		}
		return false, false, err
	}
	for _, kind := range []string{"role", "scope"} {
		rid, _, found, err := t.Record(kind, "Master")
		if err != nil {
			return false, false, err
		}
		if !found {
			return false, false, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "the built-in Master %s is missing from the store", kind)
		}
		if _, err := t.Grant(kind, id, rid); err != nil {
			return false, false, err
		}
	}
	st.AccountID, st.Credential.AccountExists, st.Credential.Enabled = id, true, true
	return true, true, nil
}

// NewCredential is a support credential ready to commit, after its envelope
// was delivered.
type NewCredential struct {
	Actor  string
	Action string // support.request or support.rotate
	Reason string
	// RunBy (rotation) is the --actor of whoever ran the rotation, "" if
	// none was given; the event's actor is system, and its details name
	// the caller (see runBy).
	RunBy string
	// PreviousRequestID is the live credential's request ID when this one
	// was prepared ("" for none). If another credential was committed in
	// between, the commit is refused rather than silently replacing it.
	PreviousRequestID string
	PasswordHash      string
	RequestID         string
	IssuedAt          time.Time
	ExpiresAt         time.Time
	ResetAfterUse     time.Duration
	EnvelopeSHA256    string
	// EnvelopePath is the absolute path of the envelope file, "" if none.
	EnvelopePath string
	Recipients   []string // fingerprints
	DeliveredTo  []string
}

// commitSupportRequest commits a requested credential: it creates or
// enables the support account and replaces its credential, with the
// support.request event, in one transaction. Only an MSP admin may.
func (c *Core) commitSupportRequest(ctx context.Context, nc NewCredential) (*gatehouse.Event, error) {
	return c.asAdmin(ctx, nc.Actor, nc.Action, "support", func(t *change) (*gatehouse.NewEvent, error) {
		return c.commitCredential(t, nc, true)
	})
}

// commitSupportRotation commits a rotated credential. Rotation is
// maintenance (cron) and needs no admin, but it never opens or extends a
// grant: it is refused if the account was disabled or the credential ended
// meanwhile, and the new credential keeps the current one's window — its
// expiry is at most the current effective expiry, and its reset-after-use
// and first-logon time carry over. Only in cloud mode, where the enabled
// account is the standing grant, does a rotation issue a credential when
// there is none.
func (c *Core) commitSupportRotation(ctx context.Context, nc NewCredential) (*gatehouse.Event, error) {
	return c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		return c.commitCredential(t, nc, false)
	})
}

func (c *Core) commitCredential(t *change, nc NewCredential, grant bool) (*gatehouse.NewEvent, error) {
	st, err := supportState(t)
	if err != nil {
		return nil, err
	}
	if st.Credential.RequestID != nc.PreviousRequestID {
		return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "the support credential changed while this one was being delivered; nothing was committed, run the command again")
	}
	cur := st.Credential
	now := t.Now()
	expires, reset, firstLogon := nc.ExpiresAt, nc.ResetAfterUse, time.Time{}
	if !grant {
		switch {
		case !cur.AccountExists || !cur.Enabled:
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "the support account was disabled while the new credential was being delivered; nothing was committed")
		case cur.HasCredential && !now.Before(cur.EffectiveExpiry()):
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "the support credential expired while the new one was being delivered; nothing was committed (rotation never extends access)")
		case cur.HasCredential:
			// The grant's window carries over, read again here: a first
			// logon during delivery has started the reset-after-use clock.
			if eff := cur.EffectiveExpiry(); eff.Before(expires) {
				expires = eff
			}
			reset, firstLogon = cur.ResetAfterUse, cur.FirstLogonAt
		case st.Mode != gatehouse.ModeCloud:
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "there is no support credential to rotate; nothing was committed (rotation never grants access)")
		}
	}
	details := map[string]any{
		"request_id":      nc.RequestID,
		"account":         st.AccountName(),
		"expires_at":      storedTime(expires),
		"recipients":      nc.Recipients,
		"envelope_sha256": nc.EnvelopeSHA256,
		"delivered_to":    nc.DeliveredTo,
	}
	if nc.Reason != "" {
		details["reason"] = nc.Reason
	}
	if nc.PreviousRequestID != "" {
		details["replaces_request_id"] = nc.PreviousRequestID
	}
	if reset > 0 {
		details["reset_after_use"] = gatehouse.FormatDuration(reset)
	}
	if grant {
		created, enabled, err := ensureSupportAccount(t, &st, nc.Action, t.recordedActor(nc.Actor))
		if err != nil {
			return nil, err
		}
		details["account_created"], details["account_enabled"] = created, enabled
	} else {
		details["run_by"] = c.runBy(nc.RunBy)
		if !firstLogon.IsZero() {
			details["first_logon_at"] = storedTime(firstLogon)
		}
	}
	if err := t.PutSupportCredential(st.AccountID, gatehouse.CredentialRow{
		PasswordHash: nc.PasswordHash, RequestID: nc.RequestID, IssuedAt: nc.IssuedAt, ExpiresAt: expires,
		ResetAfterUse: reset.Truncate(time.Second), FirstLogonAt: firstLogon,
		EnvelopeSHA256: nc.EnvelopeSHA256, EnvelopePath: nc.EnvelopePath,
	}); err != nil {
		return nil, err
	}
	return &gatehouse.NewEvent{Actor: nc.Actor, Action: nc.Action, Target: st.AccountName(),
		Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
}

// runBy names who ran maintenance whose event's actor is system (rotate,
// sweep, ensure): the OS user, as the event's os_user also records, and
// the --actor given, if any. Both are attribution: the OS user is the real
// user ID's name, the actor whatever the caller typed (docs/security.md).
func (c *Core) runBy(actor string) map[string]string {
	m := map[string]string{"os_user": c.osUser}
	if actor != "" {
		m["actor"] = actor
	}
	return m
}

// endCredential deletes the support credential and, if disable, disables
// the account.
func endCredential(t *change, id int64, disable bool) error {
	if _, err := t.DeleteSupportCredential(id); err != nil {
		return err
	}
	if disable {
		return t.SetEnabled(id, false)
	}
	return nil
}

// RevokeSupport disables the support account and deletes its credential.
// It reports false when there was nothing to revoke.
func (c *Core) RevokeSupport(ctx context.Context, actor, reason string) (bool, error) {
	ev, err := c.asAdmin(ctx, actor, "support.revoke", "support", func(t *change) (*gatehouse.NewEvent, error) {
		st, err := supportState(t)
		if err != nil {
			return nil, err
		}
		cr := st.Credential
		if !cr.AccountExists || (!cr.Enabled && !cr.HasCredential) {
			return nil, nil
		}
		if err := endCredential(t, st.AccountID, true); err != nil {
			return nil, err
		}
		details := map[string]any{"request_id": cr.RequestID, "had_credential": cr.HasCredential}
		if reason != "" {
			details["reason"] = reason
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "support.revoke", Target: st.AccountName(),
			Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return ev != nil, err
}

// SweepSupport ends an expired credential: on-prem it disables the support
// account too; in cloud mode the account stays enabled (it exists by
// default) and only the dead credential is removed. It reports whether it
// acted. runBy is the --actor of whoever ran it ("" if none).
func (c *Core) SweepSupport(ctx context.Context, runBy string) (bool, error) {
	ev, err := c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		st, err := supportState(t)
		if err != nil {
			return nil, err
		}
		cr := st.Credential
		if !cr.HasCredential || t.Now().Before(cr.EffectiveExpiry()) {
			return nil, nil
		}
		disable := st.Mode != gatehouse.ModeCloud
		if err := endCredential(t, st.AccountID, disable); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: gatehouse.ActorSystem, Action: "support.sweep", Target: st.AccountName(),
			Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{
				"reason": "credential_expired", "request_id": cr.RequestID,
				"expired_at": storedTime(cr.EffectiveExpiry()), "account_disabled": disable,
				"run_by": c.runBy(runBy),
			}}, nil
	})
	return ev != nil, err
}

// SupportEnsured is what EnsureSupport did.
type SupportEnsured struct {
	// Done is false when the account existed and was enabled.
	Done bool
	// RevokeSeq, when not zero, is the sequence number of the admin's
	// support.revoke event that this re-enabling undid.
	RevokeSeq int64
}

// EnsureSupport re-creates or re-enables the cloud support account, as
// actor system, recording reason and who ran it (runBy: the --actor given,
// "" if none). Re-enabling an account an admin revoked is recorded as its
// own action, support.reenable, naming the revoke event, so a review sees
// an admin's decision being undone; anything else is support.ensure.
func (c *Core) EnsureSupport(ctx context.Context, runBy, reason string) (SupportEnsured, error) {
	var out SupportEnsured
	_, err := c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		out = SupportEnsured{}
		st, err := supportState(t)
		if err != nil {
			return nil, err
		}
		if st.Mode != gatehouse.ModeCloud {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "support ensure is for cloud mode; on-prem, support access is granted by 'gatehouse support request'")
		}
		created, enabled, err := ensureSupportAccount(t, &st, "support.ensure", gatehouse.ActorSystem)
		if err != nil || (!created && !enabled) {
			return nil, err
		}
		out.Done = true
		action := "support.ensure"
		details := map[string]any{"reason": reason, "account_created": created, "account_enabled": enabled,
			"run_by": c.runBy(runBy)}
		if enabled && !created {
			// The admin's revoke that left the account disabled: the latest
			// successful support.revoke, if no ensure or re-enable came
			// after it.
			ev, found, err := t.LatestEvent("support.revoke", "support.ensure", "support.reenable")
			if err != nil {
				return nil, err
			}
			if found && ev.Action == "support.revoke" {
				action, out.RevokeSeq = "support.reenable", ev.Seq
				details["undoes_revoke_seq"], details["revoked_by"] = ev.Seq, ev.Actor
			}
		}
		return &gatehouse.NewEvent{Actor: gatehouse.ActorSystem, Action: action, Target: st.AccountName(),
			Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return out, err
}

// ConfigureSupport validates and records support settings, as one audited
// change. Renaming the account renames an existing support account in the
// same transaction. It returns the settings in force and whether anything
// changed.
func (c *Core) ConfigureSupport(ctx context.Context, actor string, u gatehouse.SupportUpdate) (gatehouse.SupportSettings, bool, error) {
	var out gatehouse.SupportSettings
	ev, err := c.asAdmin(ctx, actor, "support.configure", "support", func(t *change) (*gatehouse.NewEvent, error) {
		st, err := supportState(t)
		if err != nil {
			return nil, err
		}
		cur := st.Settings
		next := cur
		changes := map[string]any{}
		set := func(key, text string) error {
			changes[key] = text
			return t.SetSetting(key, text)
		}
		if u.AccountName != nil && *u.AccountName != cur.AccountName {
			if err := gatehouse.ValidateAccountName(*u.AccountName); err != nil {
				return nil, err
			}
			next.AccountName = *u.AccountName
			if err := set(settingSupportAccount, next.AccountName); err != nil {
				return nil, err
			}
			if st.Credential.AccountExists {
				name := gatehouse.SupportAccountName(next.AccountName, st.Mode, st.TenantID)
				if err := t.RenameUser(st.AccountID, name, gatehouse.NameSkeleton(name)); err != nil {
					if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
						return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "a user named %s already exists", name)
					}
					return nil, err
				}
				changes["renamed_account"] = name
			}
		}
		durations := []struct {
			key      string
			in       *time.Duration
			cur      *gatehouse.Duration
			min, max time.Duration
		}{
			{settingSupportTTL, u.TTL, &next.TTL, gatehouse.MinSupportTTL, gatehouse.MaxSupportTTL},
			{settingSupportResetAfterUse, u.ResetAfterUse, &next.ResetAfterUse, gatehouse.MinResetAfterUse, gatehouse.MaxResetAfterUse},
			{settingSupportEndpointTimeout, u.EndpointTimeout, &next.EndpointTimeout, gatehouse.MinEndpointTimeout, gatehouse.MaxEndpointTimeout},
		}
		for _, d := range durations {
			if d.in == nil || gatehouse.Duration(*d.in) == *d.cur {
				continue
			}
			// Zero turns reset-after-use off; the CLI never passes zero otherwise.
			if *d.in != 0 && *d.in < d.min {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid %s %s: at least %s", d.key, gatehouse.FormatDuration(*d.in), gatehouse.FormatDuration(d.min))
			}
			if *d.in > d.max {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid %s %s: at most %s", d.key, gatehouse.FormatDuration(*d.in), gatehouse.FormatDuration(d.max))
			}
			*d.cur = gatehouse.Duration(*d.in)
			text := ""
			if *d.in > 0 {
				text = gatehouse.FormatDuration(*d.in)
			}
			if err := set(d.key, text); err != nil {
				return nil, err
			}
		}
		if u.Endpoint != nil {
			ep, err := gatehouse.ParseSupportEndpoint(*u.Endpoint)
			if err != nil {
				return nil, err
			}
			if ep != cur.Endpoint {
				next.Endpoint = ep
				if err := set(settingSupportEndpoint, ep); err != nil {
					return nil, err
				}
			}
		}
		out = next
		if len(changes) == 0 {
			return nil, nil
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "support.configure", Target: "support",
			Outcome: gatehouse.OutcomeSuccess, Details: changes}, nil
	})
	if err == nil && ev == nil {
		st, err := c.SupportState(ctx)
		return st.Settings, false, err
	}
	return out, ev != nil, err
}

// Recipients lists the vendor's recipients in the order they were added.
func (c *Core) Recipients(ctx context.Context) (rs []gatehouse.Recipient, err error) {
	err = c.read(ctx, func(v gatehouse.View) error {
		rs, err = v.Recipients()
		return err
	})
	return rs, err
}

// AddRecipients adds recipients that are not there yet, as one audited
// change; it returns those it added (none when all were present, and then
// nothing is written).
func (c *Core) AddRecipients(ctx context.Context, actor string, rs []gatehouse.Recipient) ([]gatehouse.Recipient, error) {
	var added []gatehouse.Recipient
	_, err := c.asAdmin(ctx, actor, "support.recipients.add", "support.recipients", func(t *change) (*gatehouse.NewEvent, error) {
		added = nil
		var fps []string
		for _, r := range rs {
			r.AddedAt, r.AddedBy = t.Now(), t.recordedActor(actor)
			ok, err := t.AddRecipient(r)
			if err != nil {
				return nil, err
			}
			if ok {
				added = append(added, r)
				fps = append(fps, r.Fingerprint)
			}
		}
		if len(added) == 0 {
			return nil, nil
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "support.recipients.add", Target: "support.recipients",
			Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{"fingerprints": fps}}, nil
	})
	return added, err
}

// RemoveRecipient removes the recipient whose fingerprint or key text is ref.
func (c *Core) RemoveRecipient(ctx context.Context, actor, ref string) (gatehouse.Recipient, error) {
	var removed gatehouse.Recipient
	_, err := c.asAdmin(ctx, actor, "support.recipients.remove", "support.recipients", func(t *change) (*gatehouse.NewEvent, error) {
		rs, err := t.Recipients()
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.Fingerprint == ref || r.Recipient == ref {
				if _, err := t.RemoveRecipient(r.Fingerprint); err != nil {
					return nil, err
				}
				removed = r
				return &gatehouse.NewEvent{Actor: actor, Action: "support.recipients.remove", Target: "support.recipients",
					Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{"fingerprint": r.Fingerprint, "kind": r.Kind}}, nil
			}
		}
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "no recipient with that fingerprint or key; see 'gatehouse support recipients list'")
	})
	return removed, err
}
