package core

// Verified SSO: the gate checks the identity provider's OpenID Connect ID
// token itself (internal/oidc, on coreos/go-oidc and go-jose) instead of
// believing the identity a caller hands it. The token is verified outside
// the write transaction — fetching keys may take a network round trip —
// against the settings read on a snapshot; the write transaction then reads
// the settings again, refuses to decide on a policy that changed in
// between, and decides and records as every SSO sign-in does. A token that
// fails a check is a refusal (token_invalid, with the check as detail),
// recorded like every refusal; the trail keeps the token's hash and a
// summary of its claims, never the token.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/oidc"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// The identity provider's token policy: one JSON setting (idpPolicy), so
// that it changes in one write and is compared in one read. The issuer
// stays in settingSSOIssuer, which the flag form checks too.
const (
	settingIdP       = "sso.idp"
	settingIdPTested = "sso.idp.tested"
)

// maxIDToken bounds the token handed in: real ID tokens are a few KB.
const maxIDToken = 64 << 10

// idpPolicy is the stored form of the token policy.
type idpPolicy struct {
	ClientID   string          `json:"client_id"`
	KeySource  string          `json:"key_source"`
	JWKS       json.RawMessage `json:"jwks,omitempty"`
	Algorithms []string        `json:"algorithms"`
	SkewSecs   int64           `json:"clock_skew_seconds"`
	MaxAgeSecs int64           `json:"max_age_seconds"`
	RequireACR []string        `json:"require_acr"`
	RequireAMR []string        `json:"require_amr"`
}

// idpTested is the stored record of the last successful 'sso test'.
type idpTested struct {
	Issuer   string    `json:"issuer"`
	ClientID string    `json:"client_id"`
	At       time.Time `json:"at"`
}

// readIdP reads the token policy; ok is false when none is configured.
func readIdP(v gatehouse.View) (p idpPolicy, raw string, ok bool, err error) {
	raw, ok, err = v.Setting(settingIdP)
	if err != nil || !ok || raw == "" {
		return p, "", false, err
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return p, "", false, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "the stored identity provider settings are damaged")
	}
	return p, raw, true, nil
}

// oidcConfig is the verifier's configuration for the policy and issuer.
func (p *idpPolicy) oidcConfig(issuer string) oidc.Config {
	return oidc.Config{
		Issuer: issuer, ClientID: p.ClientID, Algorithms: p.Algorithms,
		Skew: time.Duration(p.SkewSecs) * time.Second, MaxAge: time.Duration(p.MaxAgeSecs) * time.Second,
		RequireACR: p.RequireACR, RequireAMR: p.RequireAMR,
		JWKS: []byte(p.JWKS), Discovery: p.KeySource == gatehouse.KeysDiscovery,
	}
}

// verification is what 'sso status' shows of the policy.
func verification(v gatehouse.View, issuer string) (*gatehouse.TokenVerification, error) {
	p, _, ok, err := readIdP(v)
	if err != nil || !ok {
		return nil, err
	}
	tv := &gatehouse.TokenVerification{
		ClientID: p.ClientID, KeySource: p.KeySource, Algorithms: p.Algorithms,
		ClockSkew:  gatehouse.Duration(time.Duration(p.SkewSecs) * time.Second),
		MaxAge:     gatehouse.Duration(time.Duration(p.MaxAgeSecs) * time.Second),
		RequireACR: nonNil(p.RequireACR), RequireAMR: nonNil(p.RequireAMR),
	}
	if len(p.JWKS) > 0 {
		_, keys, err := oidc.ParseJWKS(p.JWKS)
		if err != nil {
			return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "the stored identity provider keys are damaged")
		}
		tv.Keys = idpKeys(keys)
	}
	raw, ok, err := v.Setting(settingIdPTested)
	if err != nil {
		return nil, err
	}
	var t idpTested
	if ok && json.Unmarshal([]byte(raw), &t) == nil && t.Issuer == issuer && t.ClientID == p.ClientID {
		at := t.At.UTC()
		tv.TestedAt = &at
	}
	return tv, nil
}

func idpKeys(keys []oidc.KeyInfo) []gatehouse.IdPKey {
	out := make([]gatehouse.IdPKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, gatehouse.IdPKey{KeyID: k.KeyID, Type: k.KeyType, Algorithm: k.Algorithm, Thumbprint: k.Thumbprint})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SetIdP changes the identity provider's settings: its issuer, and how its
// ID tokens are verified. Fields of ch left nil keep their value; a key
// source given replaces the old one (re-importing a JWK Set rotates the
// keys). A client ID needs an issuer and a key source; the policy is
// checked (algorithms, bounds) before anything is written.
func (c *Core) SetIdP(ctx context.Context, actor string, ch gatehouse.IdPChange) (bool, error) {
	ev, err := c.asAdmin(ctx, actor, "sso.idp", "sso", func(t *change) (*gatehouse.NewEvent, error) {
		issuer, _, err := t.Setting(settingSSOIssuer)
		if err != nil {
			return nil, err
		}
		cur, curRaw, configured, err := readIdP(t)
		if err != nil {
			return nil, err
		}
		next, newIssuer := cur, issuer
		if ch.Issuer != nil {
			newIssuer = *ch.Issuer
		}
		if ch.ClientID != nil {
			next.ClientID = *ch.ClientID
		}
		switch {
		case ch.Discovery && ch.JWKS != nil:
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "give one key source: --discovery or --jwks-file")
		case ch.Discovery:
			next.KeySource, next.JWKS = gatehouse.KeysDiscovery, nil
		case ch.JWKS != nil:
			norm, _, err := oidc.ParseJWKS(ch.JWKS)
			if err != nil {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid --jwks-file: %v", err)
			}
			next.KeySource, next.JWKS = gatehouse.KeysFile, norm
		}
		if ch.Algorithms != nil {
			next.Algorithms = ch.Algorithms
		}
		if ch.ClockSkew != nil {
			next.SkewSecs = int64(*ch.ClockSkew / time.Second)
		}
		if ch.MaxAge != nil {
			next.MaxAgeSecs = int64(*ch.MaxAge / time.Second)
		}
		if ch.RequireACR != nil {
			next.RequireACR = *ch.RequireACR
		}
		if ch.RequireAMR != nil {
			next.RequireAMR = *ch.RequireAMR
		}
		rest := ch
		rest.Issuer = nil
		policyGiven := !rest.IsZero()
		nextRaw := curRaw
		if configured || policyGiven {
			if !configured {
				if len(next.Algorithms) == 0 {
					next.Algorithms = slices.Clone(oidc.DefaultAlgorithms)
				}
				if ch.ClockSkew == nil {
					next.SkewSecs = int64(oidc.DefaultSkew / time.Second)
				}
			}
			switch {
			case next.ClientID == "":
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "token verification needs the client ID the server signs in with: add --client-id ID")
			case next.KeySource == "":
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "say where the identity provider's keys come from: --discovery (fetched from the issuer) or --jwks-file FILE (imported, for air-gapped servers)")
			case newIssuer == "":
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "token verification needs the issuer: add --issuer URL")
			}
			if configured && issuer != "" && newIssuer != issuer && next.KeySource == gatehouse.KeysFile && ch.JWKS == nil {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "the imported keys are those of the previous issuer: give the new issuer's keys with --jwks-file FILE (or --discovery) in the same command")
			}
			cfg := next.oidcConfig(newIssuer)
			if err := cfg.Validate(); err != nil {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "%v", err)
			}
			b, err := json.Marshal(next)
			if err != nil {
				return nil, err
			}
			nextRaw = string(b)
		}
		if newIssuer == issuer && nextRaw == curRaw {
			return nil, nil
		}
		if newIssuer != issuer {
			if err := t.SetSetting(settingSSOIssuer, newIssuer); err != nil {
				return nil, err
			}
		}
		details := map[string]any{"issuer": newIssuer, "previous_issuer": issuer}
		if nextRaw != curRaw {
			if err := t.SetSetting(settingIdP, nextRaw); err != nil {
				return nil, err
			}
			details["token_verification"] = policySummary(&next)
			if configured {
				details["previous_token_verification"] = policySummary(&cur)
			}
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "sso.idp", Target: "sso", Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return ev != nil, err
}

// policySummary is the policy as the audit trail records it: the keys by
// ID and thumbprint, not the whole JWK Set.
func policySummary(p *idpPolicy) map[string]any {
	m := map[string]any{
		"client_id": p.ClientID, "key_source": p.KeySource, "algorithms": p.Algorithms,
		"clock_skew_seconds": p.SkewSecs, "max_age_seconds": p.MaxAgeSecs,
		"require_acr": nonNil(p.RequireACR), "require_amr": nonNil(p.RequireAMR),
	}
	if len(p.JWKS) > 0 {
		if _, keys, err := oidc.ParseJWKS(p.JWKS); err == nil {
			var ks []map[string]string
			for _, k := range keys {
				ks = append(ks, map[string]string{"kid": k.KeyID, "thumbprint": k.Thumbprint})
			}
			m["keys"] = ks
		}
	}
	return m
}

// verifierCache keeps the verifier of the current policy, so that a
// process's key cache — and its limit of one JWKS fetch per 30 s per issuer
// for unknown key IDs — outlives a single sign-in. It is the only state of
// a Core outside the store.
type verifierCache struct {
	mu  sync.Mutex
	key string // issuer + stored policy
	v   *oidc.Verifier
}

func (c *Core) verifier(issuer, raw string, p *idpPolicy) (*oidc.Verifier, error) {
	c.verifiers.mu.Lock()
	defer c.verifiers.mu.Unlock()
	key := issuer + "\x00" + raw
	if c.verifiers.v != nil && c.verifiers.key == key {
		return c.verifiers.v, nil
	}
	v, err := oidc.New(p.oidcConfig(issuer), oidc.Options{HTTPClient: c.HTTP, Now: c.now})
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "the stored identity provider settings cannot be used")
	}
	// A changed policy replaces the old one's verifier.
	c.verifiers.key, c.verifiers.v = key, v
	return v, nil
}

// CheckIDTokenShape refuses what cannot be an ID token — empty, larger
// than 64 KiB, or not three dot-separated base64url parts — as bad input:
// a wrong file handed over is not a sign-in attempt.
func CheckIDTokenShape(raw string) error {
	notBase64URL := func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}
	parts := strings.Split(raw, ".")
	if raw == "" || len(raw) > maxIDToken || len(parts) != 3 ||
		parts[0] == "" || parts[1] == "" || strings.ContainsFunc(parts[0], notBase64URL) || strings.ContainsFunc(parts[1], notBase64URL) {
		return gatehouse.Errorf(gatehouse.EINVALID, "not an ID token: expected a JWT (three base64url parts separated by dots, at most 64 KiB)")
	}
	return nil
}

// VerifyIDToken verifies raw against the stored policy — outside any
// transaction, fetching keys when the policy says so — and returns the
// verified claims, or a refusal (*oidc.Error), or an error when the
// policy is missing or the keys cannot be had. It decides nothing.
func (c *Core) VerifyIDToken(ctx context.Context, raw, nonce string) (*oidc.Claims, error) {
	_, claims, err := c.verifyIDToken(ctx, raw, nonce)
	return claims, err
}

func (c *Core) verifyIDToken(ctx context.Context, raw, nonce string) (policyRaw string, claims *oidc.Claims, err error) {
	raw = strings.TrimSpace(raw)
	if err := CheckIDTokenShape(raw); err != nil {
		return "", nil, err
	}
	var p idpPolicy
	var issuer string
	var ok bool
	err = c.read(ctx, func(v gatehouse.View) error {
		var err error
		if p, policyRaw, ok, err = readIdP(v); err != nil {
			return err
		}
		issuer, _, err = v.Setting(settingSSOIssuer)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, gatehouse.Errorf(gatehouse.EINVALID, "ID tokens cannot be verified: no token verification is configured; run 'gatehouse sso idp set --issuer URL --client-id ID --discovery' (or --jwks-file FILE)")
	}
	v, err := c.verifier(issuer, policyRaw, &p)
	if err != nil {
		return "", nil, err
	}
	claims, err = v.Verify(ctx, raw, nonce)
	var unavailable *oidc.UnavailableError
	if errors.As(err, &unavailable) {
		return "", nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "the identity provider's keys could not be fetched: %v", err)
	}
	return policyRaw, claims, err
}

// SignInIDToken verifies an OpenID Connect ID token and decides the
// sign-in of the identity it proves: (iss, sub) is the account's key, and
// email and email_verified come from the token's claims. nonce, when not
// "", must be the token's. A token that fails verification is refused
// with token_invalid and the check that failed as detail, recorded like
// every refusal; it creates nothing.
func (c *Core) SignInIDToken(ctx context.Context, raw, nonce string) (gatehouse.SignInResult, error) {
	// The hash names the token, not the file around it.
	raw = strings.TrimSpace(raw)
	policyRaw, claims, err := c.verifyIDToken(ctx, raw, nonce)
	ev := &tokenEvidence{hash: oidc.TokenHash(raw), policy: policyRaw}
	var refusal *oidc.Error
	switch {
	case errors.As(err, &refusal):
		ev.detail = refusal.Detail
		ev.claims = SignedClaims(refusal)
		var id gatehouse.Identity
		if ev.claims != nil {
			id = recordableIdentity(refusal.Claims)
		}
		return c.signIn(ctx, id, ev)
	case err != nil:
		return gatehouse.SignInResult{}, err
	}
	ev.claims = claims.Summary()
	id := gatehouse.Identity{Issuer: claims.Issuer, Subject: claims.Subject, Email: claims.Email,
		EmailVerified: claims.EmailVerified, InIdP: true, AuthComplete: true, Verified: true}
	if gatehouse.ValidateText("subject", id.Subject, 255) != nil || gatehouse.ValidateText("issuer", id.Issuer, 512) != nil {
		// Signed, but not an identity an account can be keyed on.
		ev.detail = oidc.MissingClaim
		return c.signIn(ctx, recordableIdentity(claims), ev)
	}
	if id.Email != "" {
		if e, err := gatehouse.NormaliseEmail(id.Email); err == nil {
			id.Email = e
		} else {
			// An address that cannot name an account is no address: the
			// identity signs in by (iss, sub), and is never created on it.
			ev.claims["email_unusable"] = true
			id.Email, id.EmailVerified = "", false
		}
	}
	return c.signIn(ctx, id, ev)
}

// SignedClaims is the claims summary of a refused token whose signature
// held — the identity provider said it, and a later check (expiry, nonce,
// audience, policy) failed — and nil for a token whose signature did not
// hold or was never checked: anyone may have written that one, so nothing
// it says is recorded as said (only its hash and the refusal).
func SignedClaims(r *oidc.Error) map[string]any {
	switch r.Detail {
	case oidc.Malformed, oidc.AlgNotAllowed, oidc.UnknownKey, oidc.BadSignature:
		return nil
	}
	return r.Claims.Summary()
}

// unverifiedIdentity keeps, of a refused token's claims, what is fit to
// record for 'sso explain' to find the attempt: text that fails
// validation is dropped.
func recordableIdentity(cl *oidc.Claims) gatehouse.Identity {
	var id gatehouse.Identity
	if gatehouse.ValidateText("issuer", cl.Issuer, 512) == nil {
		id.Issuer = cl.Issuer
	}
	if gatehouse.ValidateText("subject", cl.Subject, 255) == nil {
		id.Subject = cl.Subject
	}
	if e, err := gatehouse.NormaliseEmail(cl.Email); err == nil {
		id.Email = e
	}
	return id
}

// tokenEvidence is what the trail records of a verified (or refused)
// token: its hash, a summary of its claims, and the failed check.
type tokenEvidence struct {
	hash   string
	claims map[string]any
	detail string // "" when verified
	policy string // the stored policy it was verified against
}

// RecordSSOTest audits an end-to-end test of the SSO flow ('sso test')
// against issuer and clientID. A passed test is remembered while they are
// still the configured ones, so that 'sso status' and 'sso require on' can
// tell whether SSO was ever shown to work; a failed one is recorded and
// remembers nothing. details is the test's report (never a token).
func (c *Core) RecordSSOTest(ctx context.Context, actor, issuer, clientID string, passed bool, details map[string]any) error {
	_, err := c.asAdmin(ctx, actor, "sso.test", "sso", func(t *change) (*gatehouse.NewEvent, error) {
		outcome := gatehouse.OutcomeDenied
		if passed {
			outcome = gatehouse.OutcomeSuccess
			cur, _, err := t.Setting(settingSSOIssuer)
			if err != nil {
				return nil, err
			}
			p, _, ok, err := readIdP(t)
			if err != nil {
				return nil, err
			}
			if ok && cur == issuer && p.ClientID == clientID {
				b, err := json.Marshal(idpTested{Issuer: issuer, ClientID: clientID, At: t.Now().UTC()})
				if err != nil {
					return nil, err
				}
				if err := t.SetSetting(settingIdPTested, string(b)); err != nil {
					return nil, err
				}
			}
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "sso.test", Target: "sso", Outcome: outcome, Details: details}, nil
	})
	return err
}
