package store

// The "Unified Login" flow for a server: two http.Handlers — login and
// callback — that run the OpenID Connect authorization-code flow with
// PKCE, state and nonce against the identity provider configured in the
// store ('gatehouse sso idp set'), verify the ID token with the gate's own
// verifier, and decide the sign-in through the gate. The server supplies
// what happens next (OnSignIn: start its session).
//
// The flow's secrets travel in one cookie, sealed (XChaCha20-Poly1305)
// with CookieKey and valid for ten minutes: servers behind one load
// balancer share the key and need no shared session store.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/oidc"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"golang.org/x/crypto/chacha20poly1305"
)

// SignInIDToken verifies an OpenID Connect ID token with the store's
// identity provider settings and decides the sign-in of the identity it
// proves, for a server that runs the authorization flow itself. nonce is
// the one the server sent in its authorization request ("" skips the
// check: only for flows without one). A token that fails a check is a
// refusal (Reason token_invalid, Detail the check), audited, that creates
// nothing; an error means the store could not decide, or no token
// verification is configured (EINVALID), or the provider's keys could not
// be fetched (EUNAVAILABLE).
func (s *Store) SignInIDToken(ctx context.Context, rawIDToken, nonce string) (gatehouse.SignInResult, error) {
	return s.core.SignInIDToken(ctx, rawIDToken, nonce)
}

// LoginConfig configures the login handlers.
type LoginConfig struct {
	// RedirectURL is the callback handler's absolute URL, as registered
	// with the identity provider. Required.
	RedirectURL string
	// ClientSecret authenticates a confidential client at the token
	// endpoint; "" for a public client (PKCE only). Read it from a file or
	// the environment: gatehouse never stores it.
	ClientSecret string
	// Scopes requested; nil means openid, email and profile.
	Scopes []string
	// CookieKey seals the flow's cookie: 32 random bytes, the same on every
	// server behind one load balancer. nil: a random key of this process.
	CookieKey []byte
	// HTTPClient reaches the provider (discovery, code exchange, keys);
	// nil: a client with a 30 s timeout that follows redirects only
	// within one scheme and host.
	HTTPClient *http.Client
	// OnSignIn is called after the gate signed the user in (or created the
	// account): start the server's session. Required.
	OnSignIn func(w http.ResponseWriter, r *http.Request, res gatehouse.SignInResult)
	// OnRefused is called when the sign-in is refused (res.Reason, with
	// err nil) or the flow failed (err: a forged or expired callback, the
	// provider's error, a failed exchange, the store). nil: a plain 403 or
	// 400 page that names the reason code and nothing from the request.
	OnRefused func(w http.ResponseWriter, r *http.Request, res gatehouse.SignInResult, err error)
}

// Login is the login flow over a store.
type Login struct {
	st   *Store
	cfg  LoginConfig
	aead interface {
		Seal(dst, nonce, plaintext, additionalData []byte) []byte
		Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
		NonceSize() int
	}
	cookiePath string
	secure     bool

	mu       sync.Mutex
	provider *oidc.Provider // discovered, for issuer
	issuer   string
	failedAt time.Time // the last failed discovery of issuer
}

// rediscoverAfter is how long a failed discovery is not retried.
const rediscoverAfter = 30 * time.Second

const (
	loginCookie = "gatehouse_login"
	loginTTL    = 10 * time.Minute
)

// NewLogin returns the login flow: mount Login() where users start signing
// in and Callback() at cfg.RedirectURL's path.
//
//	login, err := store.NewLogin(st, store.LoginConfig{
//		RedirectURL: "https://app.example.com/sso/callback",
//		ClientSecret: secretFromFile,
//		CookieKey: key32,
//		OnSignIn: func(w http.ResponseWriter, r *http.Request, res gatehouse.SignInResult) {
//			startSession(w, r, res.UserID) // res.Decision: signed_in or created
//		},
//	})
//	mux.Handle("GET /sso/login", login.Login())
//	mux.Handle("GET /sso/callback", login.Callback())
func NewLogin(st *Store, cfg LoginConfig) (*Login, error) {
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "LoginConfig.RedirectURL must be the callback's absolute https URL")
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		// The code and the flow's cookie would cross the network in clear.
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "LoginConfig.RedirectURL must use https (plain http only on a loopback address)")
	}
	if cfg.OnSignIn == nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "LoginConfig.OnSignIn is required")
	}
	key := cfg.CookieKey
	if key == nil {
		key = make([]byte, chacha20poly1305.KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "LoginConfig.CookieKey must be %d bytes", chacha20poly1305.KeySize)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = oidc.NewHTTPClient(30 * time.Second)
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return &Login{st: st, cfg: cfg, aead: aead, cookiePath: path, secure: u.Scheme == "https"}, nil
}

// client reads the store's identity provider settings and returns the
// relying party for them, discovering the provider's endpoints once per
// issuer.
func (l *Login) client(ctx context.Context) (*oidc.Client, error) {
	s, err := l.st.core.SSOSettings(ctx)
	if err != nil {
		return nil, err
	}
	tv := s.Verification
	if tv == nil || !s.Allow {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "SSO sign-in is not set up: SSO must be allowed and token verification configured ('gatehouse sso idp set')")
	}
	l.mu.Lock()
	p, failed := l.provider, l.failedAt
	if l.issuer != s.Issuer {
		p, failed = nil, time.Time{}
	}
	l.mu.Unlock()
	if p == nil {
		// While the provider is down, anonymous requests to the login
		// page cost it one discovery request per 30 s, not one each.
		if time.Since(failed) < rediscoverAfter {
			return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "cannot reach the identity provider (retrying within %v)", rediscoverAfter)
		}
		p, err = oidc.Discover(ctx, l.cfg.HTTPClient, s.Issuer)
		l.mu.Lock()
		l.issuer = s.Issuer
		if err != nil {
			l.failedAt = time.Now()
		} else {
			l.provider, l.failedAt = p, time.Time{}
		}
		l.mu.Unlock()
		if err != nil {
			return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot reach the identity provider: %v", err)
		}
	}
	return &oidc.Client{Provider: p, ClientID: tv.ClientID, ClientSecret: l.cfg.ClientSecret, RedirectURL: l.cfg.RedirectURL,
		Scopes: l.cfg.Scopes, HTTPClient: l.cfg.HTTPClient, MaxAge: int64(time.Duration(tv.MaxAge) / time.Second),
		ACRValues: tv.RequireACR}, nil
}

// sealed is the cookie's content.
type sealed struct {
	oidc.AuthRequest
	Expires int64 `json:"e"`
}

// Login returns the handler that starts a sign-in: it sets the flow's
// cookie and redirects to the identity provider.
func (l *Login) Login() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := l.client(r.Context())
		if err != nil {
			l.refused(w, r, gatehouse.SignInResult{}, err)
			return
		}
		req, err := oidc.NewAuthRequest()
		if err != nil {
			l.refused(w, r, gatehouse.SignInResult{}, err)
			return
		}
		plain, _ := json.Marshal(sealed{AuthRequest: *req, Expires: time.Now().Add(loginTTL).Unix()})
		nonce := make([]byte, l.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			l.refused(w, r, gatehouse.SignInResult{}, err)
			return
		}
		value := base64.RawURLEncoding.EncodeToString(l.aead.Seal(nonce, nonce, plain, []byte(loginCookie)))
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: value, Path: l.cookiePath, MaxAge: int(loginTTL / time.Second),
			HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, c.AuthCodeURL(req), http.StatusFound)
	})
}

// errFlow is a callback that belongs to no sign-in this server started.
var errFlow = errors.New("no sign-in in progress in this browser, or it expired: start again")

// Callback returns the handler for the identity provider's redirect: it
// checks the state against the cookie, exchanges the code with the PKCE
// verifier, verifies the ID token with the nonce, and decides the sign-in
// through the gate.
func (l *Login) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(loginCookie)
		// The cookie is single-use, whatever happens next.
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: l.cookiePath, MaxAge: -1,
			HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			l.refused(w, r, gatehouse.SignInResult{}, errFlow)
			return
		}
		req, ok := l.open(ck.Value)
		if !ok {
			l.refused(w, r, gatehouse.SignInResult{}, errFlow)
			return
		}
		code, err := oidc.Callback(r.URL.Query(), req)
		if err != nil {
			l.refused(w, r, gatehouse.SignInResult{}, err)
			return
		}
		c, err := l.client(r.Context())
		if err != nil {
			l.refused(w, r, gatehouse.SignInResult{}, err)
			return
		}
		raw, err := c.Exchange(r.Context(), code, req)
		if err != nil {
			l.refused(w, r, gatehouse.SignInResult{}, err)
			return
		}
		res, err := l.st.SignInIDToken(r.Context(), raw, req.Nonce)
		if err != nil || !res.Allowed() {
			l.refused(w, r, res, err)
			return
		}
		l.cfg.OnSignIn(w, r, res)
	})
}

// open unseals the cookie; false when it was forged, altered or expired.
func (l *Login) open(value string) (*oidc.AuthRequest, bool) {
	b, err := base64.RawURLEncoding.DecodeString(value)
	ns := l.aead.NonceSize()
	if err != nil || len(b) < ns {
		return nil, false
	}
	plain, err := l.aead.Open(nil, b[:ns], b[ns:], []byte(loginCookie))
	if err != nil {
		return nil, false
	}
	var s sealed
	if json.Unmarshal(plain, &s) != nil || time.Now().Unix() > s.Expires {
		return nil, false
	}
	return &s.AuthRequest, true
}

func (l *Login) refused(w http.ResponseWriter, r *http.Request, res gatehouse.SignInResult, err error) {
	if l.cfg.OnRefused != nil {
		l.cfg.OnRefused(w, r, res, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err == nil {
		msg := "sign-in refused: " + string(res.Reason)
		if res.Detail != "" {
			msg += " (" + res.Detail + ")"
		}
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintln(w, msg)
		return
	}
	// The provider's own error text may quote anything: only its code.
	var ce *oidc.CallbackError
	switch {
	case errors.As(err, &ce):
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, "sign-in failed at the identity provider: "+strings.Map(safeRune, ce.Code))
	case errors.Is(err, errFlow) || errors.Is(err, oidc.ErrStateMismatch):
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, "sign-in failed: "+errFlow.Error())
	default:
		// The store, the provider or the settings: nothing the user did.
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "sign-in failed: the sign-in could not be completed; try again later")
	}
}

// safeRune keeps an OAuth error code's characters (RFC 6749: %x20-21,
// %x23-5B, %x5D-7E) and drops anything else.
func safeRune(r rune) rune {
	if r > 0x20 && r < 0x7f && r != '"' && r != '\\' {
		return r
	}
	return -1
}
