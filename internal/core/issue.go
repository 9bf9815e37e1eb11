package core

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/support"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Support credentials are issued in two phases. The password is generated,
// hashed and sealed to the vendor's recipients, and the envelope delivered
// (staged as a file, posted to the endpoint, written to stdout), all
// before anything is committed; then one transaction checks that the state
// is still what it was prepared against and commits the hash with its
// event; only then is a staged file put in place. A crash before the
// commit leaves the old credential working and nothing behind; a crash
// after it leaves a staged file that Recover puts in place. The support
// lock (gatehouse.Store.Lock) keeps two requests or rotations from
// interleaving.

// IssueOptions describe one request or rotation.
type IssueOptions struct {
	// Actor is, for a request, the admin it is attributed to; for a
	// rotation, the --actor of whoever ran it ("" if none): a rotation's
	// event has actor system and names the caller in its details.
	Actor  string
	Reason string
	// TTL (request) overrides the configured credential lifetime when
	// non-zero; at most gatehouse.MaxSupportTTL.
	TTL time.Duration
	// Out is a file to write the envelope to; "" or "-" writes it to Stdout.
	Out    string
	Stdout io.Writer
	Armor  bool
	// IfOlderThan (rotation): rotate only a credential at least this old.
	IfOlderThan time.Duration
}

// IssueResult describes a credential that was issued, or why none was.
type IssueResult struct {
	Issued         bool       `json:"issued"`
	Skipped        string     `json:"skipped,omitempty"`
	Account        string     `json:"account"`
	RequestID      string     `json:"request_id,omitempty"`
	IssuedAt       *time.Time `json:"issued_at,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	LoginURL       string     `json:"login_url,omitempty"`
	Recipients     []string   `json:"recipients,omitempty"`
	EnvelopeSHA256 string     `json:"envelope_sha256,omitempty"`
	DeliveredTo    []string   `json:"delivered_to,omitempty"`
}

// TestOnlyStep, when set by a test, is called at each step of issuing a
// credential: "generated", "delivered", "committing", "committed". The
// crash-injection tests make it exit the process abruptly there.
var TestOnlyStep func(step string)

func step(name string) {
	if TestOnlyStep != nil {
		TestOnlyStep(name)
	}
}

// RequestSupport issues a new credential for the support account, creating
// or enabling the account: the operator's "request support". Refused in
// cloud mode, where the account is managed for the vendor.
func (c *Core) RequestSupport(ctx context.Context, o IssueOptions) (*IssueResult, error) {
	return c.issue(ctx, o, "support.request")
}

// RotateSupportCredential replaces the support password if the credential
// is at least IfOlderThan old (always, when IfOlderThan is 0). It never
// opens or extends a grant: the new credential ends when the current one
// would (its effective expiry, reset-after-use and first logon carry over),
// and with the account disabled or absent, or the credential expired, it
// does nothing, successfully. On-prem it needs a live credential to
// replace; in cloud mode, where the enabled account is the standing grant,
// it issues one (support.ttl) when there is none.
func (c *Core) RotateSupportCredential(ctx context.Context, o IssueOptions) (*IssueResult, error) {
	return c.issue(ctx, o, "support.rotate")
}

func (c *Core) lockTimeout() time.Duration {
	if c.LockTimeout > 0 {
		return c.LockTimeout
	}
	return 2 * time.Minute
}

func (c *Core) issue(ctx context.Context, o IssueOptions, action string) (*IssueResult, error) {
	unlock, err := c.store.Lock(ctx, c.lockTimeout())
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := c.recoverLocked(ctx); err != nil {
		return nil, err
	}

	st, err := c.SupportState(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now().UTC()
	res := &IssueResult{Account: st.AccountName()}
	cur := st.Credential
	if action == "support.request" {
		if st.Mode == gatehouse.ModeCloud {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "support request is not available in cloud mode: the support account %s exists by default and is managed for the vendor (see 'gatehouse support status')", res.Account)
		}
		if o.TTL != 0 && (o.TTL < gatehouse.MinSupportTTL || o.TTL > gatehouse.MaxSupportTTL) {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid --ttl %s: use %s to %s", gatehouse.FormatDuration(o.TTL),
				gatehouse.FormatDuration(gatehouse.MinSupportTTL), gatehouse.FormatDuration(gatehouse.MaxSupportTTL))
		}
		if err := c.Authorize(ctx, o.Actor, action, "support"); err != nil {
			return nil, err
		}
	} else {
		switch {
		case !cur.AccountExists || !cur.Enabled:
			res.Skipped = "the support account is not enabled; rotation never grants access"
			return res, nil
		case cur.HasCredential && !now.Before(cur.EffectiveExpiry()):
			res.Skipped = "the support credential expired at " + cur.EffectiveExpiry().Format(time.RFC3339) +
				"; rotation never extends access (an admin's 'support request' opens a new grant)"
			return res, nil
		case !cur.HasCredential && st.Mode != gatehouse.ModeCloud:
			res.Skipped = "there is no support credential to rotate; rotation never grants access (an admin's 'support request' opens a grant)"
			return res, nil
		case cur.HasCredential && o.IfOlderThan > 0 && now.Sub(cur.IssuedAt) < o.IfOlderThan:
			res.Skipped = "the credential was issued less than " + gatehouse.FormatDuration(o.IfOlderThan) + " ago"
			return res, nil
		}
	}
	if len(st.Recipients) == 0 {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "no vendor recipients: add the vendor's public key with 'gatehouse support recipients add'")
	}
	if !st.ServerOK {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "the server's external address is not configured: run 'gatehouse server configure' so the envelope carries a login URL")
	}
	recipients, err := support.AgeRecipients(st.Recipients)
	if err != nil {
		return nil, err
	}
	ttl := time.Duration(st.Settings.TTL)
	if o.TTL > 0 {
		ttl = o.TTL
	}
	expires, reset := now.Add(ttl), time.Duration(st.Settings.ResetAfterUse)
	if action == "support.rotate" && cur.HasCredential {
		// The grant's window, not a new one: the envelope says when access
		// really ends. The commit re-reads it in its transaction.
		expires, reset = cur.EffectiveExpiry(), cur.ResetAfterUse
	}

	// The vendor gets the log head as of this request: an outside copy.
	var checkpoint string
	if err := c.read(ctx, func(v gatehouse.View) error {
		latest, err := latestCheckpoint(v)
		// A note not in the form gatehouse keeps was tampered with: it is
		// not shipped ('audit verify' reports it).
		if latest != nil && audit.CheckNote([]byte(latest.Note)) == nil {
			checkpoint = latest.Note
		}
		return err
	}); err != nil {
		return nil, err
	}
	env := &support.Envelope{
		Version:    support.EnvelopeVersion,
		Account:    res.Account,
		LoginURL:   st.Server.LoginURL(),
		TenantID:   st.TenantID,
		RequestID:  support.NewRequestID(),
		IssuedAt:   now,
		ExpiresAt:  expires,
		Checkpoint: checkpoint,
	}
	hash, sealed, err := support.GenerateAndSeal(env, recipients, o.Armor)
	if err != nil {
		return nil, err
	}
	step("generated")

	delivered, err := support.Deliver(ctx, st.Settings, sealed, env.RequestID, support.DeliverOptions{
		Out: o.Out, Stdout: o.Stdout, Armor: o.Armor, HTTP: c.HTTP, Issued: c.envelopeIssued(ctx),
	})
	if err != nil {
		return nil, err
	}
	step("delivered")

	fps := st.Fingerprints()
	nc := NewCredential{
		Actor: o.Actor, Action: action, Reason: o.Reason, PreviousRequestID: cur.RequestID,
		PasswordHash: hash, RequestID: env.RequestID, IssuedAt: env.IssuedAt, ExpiresAt: env.ExpiresAt,
		ResetAfterUse: reset, EnvelopeSHA256: sealed.SHA256,
		Recipients: fps, DeliveredTo: delivered.Where, EnvelopePath: delivered.Path,
	}
	if action == "support.rotate" {
		nc.Actor, nc.RunBy = gatehouse.ActorSystem, o.Actor
		_, err = c.commitSupportRotation(ctx, nc)
	} else {
		_, err = c.commitSupportRequest(ctx, nc)
	}
	if err != nil {
		delivered.Abort()
		return nil, err
	}
	step("committed")
	// Committed: put the envelope file in place. Should this fail, or the
	// process die here, Recover completes it on the next support command.
	if err := delivered.Publish(); err != nil {
		return nil, err
	}
	res.Issued = true
	res.RequestID, res.IssuedAt, res.ExpiresAt = env.RequestID, &env.IssuedAt, &env.ExpiresAt
	res.LoginURL, res.Recipients, res.EnvelopeSHA256, res.DeliveredTo = env.LoginURL, fps, sealed.SHA256, delivered.Where
	return res, nil
}

// envelopeIssued answers support.Issued from the audit trail.
func (c *Core) envelopeIssued(ctx context.Context) support.Issued {
	return func(sha256Hex string) (ok bool, err error) {
		err = c.read(ctx, func(v gatehouse.View) error {
			ok, err = v.EnvelopeIssued(sha256Hex)
			return err
		})
		return ok, err
	}
}

// RecoverSupportDelivery completes a delivery that was interrupted after
// its credential was committed but before its envelope file was put in
// place (see support.CompleteDelivery). Requests and rotations do it
// first; so does 'support status' (TryRecoverSupportDelivery).
func (c *Core) RecoverSupportDelivery(ctx context.Context) (bool, error) {
	unlock, err := c.store.Lock(ctx, c.lockTimeout())
	if err != nil {
		return false, err
	}
	defer unlock()
	return c.recoverLocked(ctx)
}

// TryRecoverSupportDelivery is RecoverSupportDelivery for commands that
// only report: it recovers only when the support lock is free at once.
// When a request or rotation holds it (it recovers first itself), or the
// lock cannot be taken here (a store on read-only media, someone else's
// directory), it does nothing and reports false with no error; a lock that
// is unsafe is still an error.
func (c *Core) TryRecoverSupportDelivery(ctx context.Context) (bool, error) {
	unlock, err := c.store.Lock(ctx, 0)
	switch {
	case errors.Is(err, gatehouse.ErrLockBusy), errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return false, nil
	case err != nil:
		return false, err
	}
	defer unlock()
	return c.recoverLocked(ctx)
}

func (c *Core) recoverLocked(ctx context.Context) (bool, error) {
	st, err := c.SupportState(ctx)
	if err != nil || st.EnvelopePath == "" || !st.Credential.HasCredential {
		return false, err
	}
	return support.CompleteDelivery(st.EnvelopePath, st.Credential.RequestID, st.EnvelopeSHA256, c.envelopeIssued(ctx))
}

// EnvelopeFileMatches reports whether the live credential's envelope file
// is on disk as it was issued, with the audited SHA-256. It is true when
// the credential was not delivered to a file.
func EnvelopeFileMatches(st *SupportState) bool {
	if !st.Credential.HasCredential {
		return true
	}
	return support.EnvelopeFileMatches(st.EnvelopePath, st.EnvelopeSHA256)
}
