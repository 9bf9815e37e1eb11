package support

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Service issues and rotates support credentials over a store.
type Service struct {
	DB  *sqlite.DB
	Now func() time.Time
	// HTTP posts envelopes to the endpoint; nil means a plain client.
	HTTP *http.Client
	// LockTimeout bounds the wait for another request or rotation.
	LockTimeout time.Duration
}

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

// Request issues a new credential for the support account, creating or
// enabling the account: the operator's "request support". Refused in cloud
// mode, where the account is managed for the vendor.
func (s *Service) Request(ctx context.Context, o IssueOptions) (*IssueResult, error) {
	return s.issue(ctx, o, "support.request")
}

// Rotate replaces the support password if the credential is at least
// IfOlderThan old (always, when IfOlderThan is 0). It never opens or
// extends a grant: the new credential ends when the current one would (its
// effective expiry, reset-after-use and first logon carry over), and with
// the account disabled or absent, or the credential expired, it does
// nothing, successfully. On-prem it needs a live credential to replace; in
// cloud mode, where the enabled account is the standing grant, it issues
// one (support.ttl) when there is none.
func (s *Service) Rotate(ctx context.Context, o IssueOptions) (*IssueResult, error) {
	return s.issue(ctx, o, "support.rotate")
}

func (s *Service) issue(ctx context.Context, o IssueOptions, action string) (*IssueResult, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := s.recoverLocked(ctx); err != nil {
		return nil, err
	}

	st, err := s.DB.SupportState(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	res := &IssueResult{Account: st.AccountName()}
	c := st.Credential
	if action == "support.request" {
		if st.Mode == gatehouse.ModeCloud {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "support request is not available in cloud mode: the support account %s exists by default and is managed for the vendor (see 'gatehouse support status')", res.Account)
		}
		if o.TTL != 0 && (o.TTL < gatehouse.MinSupportTTL || o.TTL > gatehouse.MaxSupportTTL) {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid --ttl %s: use %s to %s", gatehouse.FormatDuration(o.TTL),
				gatehouse.FormatDuration(gatehouse.MinSupportTTL), gatehouse.FormatDuration(gatehouse.MaxSupportTTL))
		}
		if err := s.DB.Authorize(ctx, o.Actor, action, "support"); err != nil {
			return nil, err
		}
	} else {
		switch {
		case !c.AccountExists || !c.Enabled:
			res.Skipped = "the support account is not enabled; rotation never grants access"
			return res, nil
		case c.HasCredential && !now.Before(c.EffectiveExpiry()):
			res.Skipped = "the support credential expired at " + c.EffectiveExpiry().Format(time.RFC3339) +
				"; rotation never extends access (an admin's 'support request' opens a new grant)"
			return res, nil
		case !c.HasCredential && st.Mode != gatehouse.ModeCloud:
			res.Skipped = "there is no support credential to rotate; rotation never grants access (an admin's 'support request' opens a grant)"
			return res, nil
		case c.HasCredential && o.IfOlderThan > 0 && now.Sub(c.IssuedAt) < o.IfOlderThan:
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
	recipients, err := ageRecipients(st.Recipients)
	if err != nil {
		return nil, err
	}
	ttl := time.Duration(st.Settings.TTL)
	if o.TTL > 0 {
		ttl = o.TTL
	}
	expires, reset := now.Add(ttl), time.Duration(st.Settings.ResetAfterUse)
	if action == "support.rotate" && c.HasCredential {
		// The grant's window, not a new one: the envelope says when access
		// really ends. The commit re-reads it in its transaction.
		expires, reset = c.EffectiveExpiry(), c.ResetAfterUse
	}

	env := &Envelope{
		Version:   EnvelopeVersion,
		Account:   res.Account,
		LoginURL:  st.Server.LoginURL(),
		TenantID:  st.TenantID,
		RequestID: newRequestID(),
		IssuedAt:  now,
		ExpiresAt: expires,
	}
	hash, sealed, err := generateAndSeal(env, recipients, o.Armor)
	if err != nil {
		return nil, err
	}
	step("generated")

	delivered, err := s.deliver(ctx, st.Settings, sealed, env.RequestID, o)
	if err != nil {
		return nil, err
	}
	step("delivered")

	fps := st.Fingerprints()
	nc := sqlite.NewCredential{
		Actor: o.Actor, Action: action, Reason: o.Reason, PreviousRequestID: c.RequestID,
		PasswordHash: hash, RequestID: env.RequestID, IssuedAt: env.IssuedAt, ExpiresAt: env.ExpiresAt,
		ResetAfterUse: reset, EnvelopeSHA256: sealed.SHA256,
		Recipients: fps, DeliveredTo: delivered.where, EnvelopePath: delivered.path,
	}
	if action == "support.rotate" {
		nc.Actor, nc.RunBy = gatehouse.ActorSystem, o.Actor
		_, err = s.DB.CommitSupportRotation(ctx, nc)
	} else {
		_, err = s.DB.CommitSupportRequest(ctx, nc)
	}
	if err != nil {
		delivered.abort()
		return nil, err
	}
	step("committed")
	// Committed: put the envelope file in place. Should this fail, or the
	// process die here, Recover completes it on the next support command.
	if err := delivered.publish(); err != nil {
		return nil, err
	}
	res.Issued = true
	res.RequestID, res.IssuedAt, res.ExpiresAt = env.RequestID, &env.IssuedAt, &env.ExpiresAt
	res.LoginURL, res.Recipients, res.EnvelopeSHA256, res.DeliveredTo = env.LoginURL, fps, sealed.SHA256, delivered.where
	return res, nil
}

// generateAndSeal makes the password, keeps only its hash, seals the
// envelope and wipes the password: the plaintext exists for the length of
// this function and nowhere but in memory.
func generateAndSeal(env *Envelope, recipients []age.Recipient, armor bool) (string, Sealed, error) {
	pw, err := password.Generate()
	if err != nil {
		return "", Sealed{}, gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot generate a password")
	}
	defer password.Wipe(pw)
	hash, err := password.Hash(pw, password.OWASP)
	if err != nil {
		return "", Sealed{}, gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot hash the password")
	}
	env.Password = Secret(pw)
	defer func() { env.Password = nil }()
	sealed, err := Seal(env, recipients, armor)
	if err != nil {
		return "", Sealed{}, gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot seal the envelope")
	}
	return hash, sealed, nil
}

// delivery records where an envelope went, and the staged file still to be
// put in place once the credential is committed.
type delivery struct {
	where  []string
	staged *stagedFile
	path   string // absolute path of the envelope file, "" if none
}

// deliver hands the envelope over before anything is committed: the file
// is staged (written and synced beside its destination, not yet in place),
// the endpoint (if configured) must accept it, and stdout gets it if asked.
// Any failure leaves nothing behind.
func (s *Service) deliver(ctx context.Context, set gatehouse.SupportSettings, sealed Sealed, requestID string, o IssueOptions) (delivery, error) {
	var d delivery
	if o.Out != "" && o.Out != "-" {
		abs, err := filepath.Abs(o.Out)
		if err != nil {
			return d, gatehouse.Errorf(gatehouse.EINVALID, "--out %s: %v", o.Out, err)
		}
		existing, err := s.replaceable(ctx, abs)
		if err != nil {
			return d, err
		}
		if d.staged, err = stageFile(abs, requestID, sealed.Data, sealed.SHA256, existing); err != nil {
			return d, err
		}
		d.path = abs
	}
	if set.Endpoint != "" {
		client := s.HTTP
		if client == nil {
			client = &http.Client{}
		}
		if err := post(ctx, client, set.Endpoint, requestID, sealed.Data, o.Armor, time.Duration(set.EndpointTimeout)); err != nil {
			d.abort()
			return d, err
		}
		d.where = append(d.where, "endpoint")
	}
	if d.staged != nil {
		d.where = append(d.where, "file:"+o.Out)
	} else if o.Out == "-" || set.Endpoint == "" {
		if _, err := o.Stdout.Write(sealed.Data); err != nil {
			return d, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot write the envelope to stdout: %v", err)
		}
		d.where = append(d.where, "stdout")
	}
	return d, nil
}

// abort removes a staged file whose credential was not committed.
func (d delivery) abort() {
	if d.staged != nil {
		d.staged.abort()
	}
}

// publish puts the staged file in place, after the commit.
func (d delivery) publish() error {
	if d.staged == nil {
		return nil
	}
	return d.staged.publish()
}

// newRequestID returns a random identifier for one issued credential.
func newRequestID() string { return strings.ToLower(rand.Text()) }
