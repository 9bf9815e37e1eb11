package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config is the identity provider policy, as stored by `sso idp set`.
type Config struct {
	Issuer     string        // exact match of iss
	ClientID   string        // must be in aud
	Algorithms []string      // allow-list; empty = DefaultAlgorithms; "none" and HS* are refused by Validate
	Skew       time.Duration // clock skew for exp/nbf/iat; 0 = no leeway; Validate bounds it to [0, MaxSkew]
	MaxAge     time.Duration // 0 = not checked; else auth_time must be present and now-auth_time <= MaxAge+Skew
	RequireACR []string      // if set: token's acr must be one of these
	RequireAMR []string      // if set: token's amr must contain every one of these

	// Exactly one key source:
	JWKS      []byte // a JWK Set (public keys only) kept in the store: air-gapped
	Discovery bool   // fetch <Issuer>/.well-known/openid-configuration, then its jwks_uri
}

// DefaultAlgorithms is the allow-list when Config.Algorithms is empty.
var DefaultAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// DefaultSkew is the clock skew `sso idp set` stores when none is given.
// Config's zero Skew means no leeway at all.
const DefaultSkew = 60 * time.Second

// MaxSkew bounds Config.Skew: more leeway than this would turn an expired
// token into a valid one for too long.
const MaxSkew = 5 * time.Minute

// signingAlgorithms are the algorithms a policy may allow: the asymmetric JWS
// algorithms that go-jose verifies and go-oidc supports.
var signingAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// Validate checks the policy and returns a plain error naming the first
// problem. A JWKS is checked as ParseJWKS checks it.
func (c *Config) Validate() error {
	if err := checkIssuer(c.Issuer); err != nil {
		return err
	}
	if strings.TrimSpace(c.ClientID) == "" {
		return errors.New("the client id is empty")
	}
	for _, alg := range c.Algorithms {
		if err := checkAlgorithm(alg); err != nil {
			return err
		}
	}
	if c.Skew < 0 || c.Skew > MaxSkew {
		return fmt.Errorf("clock skew %v is out of range: it must be between 0s and %v", c.Skew, MaxSkew)
	}
	if c.MaxAge < 0 {
		return fmt.Errorf("max age %v is negative", c.MaxAge)
	}
	if slices.Contains(c.RequireACR, "") {
		return errors.New("the required acr values include an empty one")
	}
	if slices.Contains(c.RequireAMR, "") {
		return errors.New("the required amr values include an empty one")
	}
	switch {
	case len(c.JWKS) > 0 && c.Discovery:
		return errors.New("two key sources: give either a jwks file or discovery, not both")
	case len(c.JWKS) == 0 && !c.Discovery:
		return errors.New("no key source: give a jwks file or turn discovery on")
	case len(c.JWKS) > 0:
		if _, _, err := ParseJWKS(c.JWKS); err != nil {
			return err
		}
	}
	return nil
}

func checkAlgorithm(alg string) error {
	switch {
	case strings.EqualFold(alg, "none"):
		return errors.New(`algorithm "none" is never allowed: an id token must be signed`)
	case len(alg) >= 2 && strings.EqualFold(alg[:2], "HS"):
		return fmt.Errorf("algorithm %s is never allowed: HMAC signs with a shared secret, and an id token must be signed with the provider's private key", quote(alg))
	case !slices.Contains(signingAlgorithms, alg):
		return fmt.Errorf("unknown signing algorithm %s (known: %s)", quote(alg), strings.Join(signingAlgorithms, ", "))
	}
	return nil
}

// checkIssuer requires an absolute https URL without query or fragment, as
// OpenID Connect Discovery does for an issuer. Plain http is allowed only on a
// loopback host, for a provider run by a test on this machine.
func checkIssuer(issuer string) error {
	if issuer == "" {
		return errors.New("the issuer is empty")
	}
	return checkURL("issuer", issuer)
}

// checkURL applies checkIssuer's rule to a URL named what.
func checkURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%s %s is not an absolute URL", what, quote(s))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("%s %s has a query or a fragment", what, quote(s))
	}
	if u.User != nil {
		return fmt.Errorf("%s %s holds a user name", what, quote(u.Redacted()))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s %s uses http: only https is allowed, except on a loopback address (127.0.0.1, ::1, localhost)", what, quote(s))
	default:
		return fmt.Errorf("%s %s is not an https URL", what, quote(s))
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SigningAlgorithms are the algorithms a policy may allow, for completion
// and help.
func SigningAlgorithms() []string { return slices.Clone(signingAlgorithms) }
