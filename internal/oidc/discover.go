package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Provider is what an identity provider's discovery document says about it:
// the endpoints of the authorization code flow and of its keys.
type Provider struct {
	Issuer                string
	AuthorizationEndpoint string
	TokenEndpoint         string
	JWKSURI               string
	UserinfoEndpoint      string
	CodeChallengeMethods  []string // code_challenge_methods_supported; S256 means PKCE with SHA-256
}

// Discover fetches <issuer>/.well-known/openid-configuration with go-oidc's
// NewProvider, which requires the document's "issuer" to equal issuer
// exactly. A nil client means the default described at Options.HTTPClient.
//
// When the provider cannot be reached, or answers with an error or with
// something that is not a discovery document, the error is an
// *UnavailableError. When it answers with a document for another issuer, or
// with endpoints that are not https URLs, or issuer itself is not a valid
// issuer, the error is a plain one: trying again will not help, the
// configuration must change.
func Discover(ctx context.Context, client *http.Client, issuer string) (*Provider, error) {
	if err := checkIssuer(issuer); err != nil {
		return nil, err
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, httpClient(client)), issuer)
	if err != nil {
		var mismatch *oidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, fmt.Errorf("the discovery document of %s names the issuer %s: set the issuer exactly as the provider spells it", issuer, quote(mismatch.Discovered))
		}
		return nil, &UnavailableError{Issuer: issuer, Msg: "discovery of " + issuer + " failed", Err: err}
	}
	var doc struct {
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		JWKSURI               string   `json:"jwks_uri"`
		UserinfoEndpoint      string   `json:"userinfo_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	}
	if err := p.Claims(&doc); err != nil {
		return nil, &UnavailableError{Issuer: issuer, Msg: "discovery of " + issuer + " failed", Err: err}
	}
	if doc.JWKSURI == "" {
		return nil, &UnavailableError{Issuer: issuer, Msg: "the discovery document of " + issuer + " has no jwks_uri"}
	}
	for _, ep := range []struct{ name, url string }{
		{"jwks_uri", doc.JWKSURI},
		{"authorization_endpoint", doc.AuthorizationEndpoint},
		{"token_endpoint", doc.TokenEndpoint},
		{"userinfo_endpoint", doc.UserinfoEndpoint},
	} {
		if ep.url == "" {
			continue
		}
		// Endpoints may have a query (RFC 8414 allows one); only the scheme
		// and host rule of issuers applies.
		u := ep.url
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		if err := checkURL(ep.name, u); err != nil {
			return nil, fmt.Errorf("the discovery document of %s: %w", issuer, err)
		}
	}
	return &Provider{
		Issuer:                issuer,
		AuthorizationEndpoint: doc.AuthorizationEndpoint,
		TokenEndpoint:         doc.TokenEndpoint,
		JWKSURI:               doc.JWKSURI,
		UserinfoEndpoint:      doc.UserinfoEndpoint,
		CodeChallengeMethods:  doc.CodeChallengeMethods,
	}, nil
}

// Limits of the default HTTP client.
const (
	httpTimeout      = 10 * time.Second
	maxRedirects     = 5
	maxResponseBytes = 1 << 20
)

// httpClient returns the client to fetch with: a copy of c, or of the default
// when c is nil, whose answers' bodies are cut off with an error past
// maxResponseBytes (go-oidc reads a discovery document whole).
func httpClient(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	} else {
		out = *NewHTTPClient(httpTimeout)
	}
	base := out.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = limitedTransport{base}
	return &out
}

// NewHTTPClient returns a client for talking to a provider: it gives up
// after timeout and follows redirects only within one scheme and host
// (sameOriginRedirects), as the verifier's own default client does.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: sameOriginRedirects}
}

// sameOriginRedirects follows a redirect only to the same scheme and host
// (with port) as the first request, at most maxRedirects times: a provider may
// move a document within its own site, but a redirect elsewhere would let
// another host supply the keys.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("refused a redirect from %s://%s to %s://%s: redirects to another host are not followed", first.Scheme, first.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

type limitedTransport struct{ base http.RoundTripper }

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxResponseBytes}
	return resp, nil
}

var errTooLarge = fmt.Errorf("the answer is larger than %d bytes", maxResponseBytes)

// limitedBody fails a read that goes past left bytes.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, errTooLarge
	}
	return n, err
}
