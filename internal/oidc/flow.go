package oidc

// The authorization-code flow with PKCE, state and nonce (OpenID Connect
// Core 3.1, RFC 7636), on golang.org/x/oauth2: what 'gatehouse sso test'
// and the public package's login handlers run. A flow's secrets — state,
// nonce and PKCE verifier — are fresh random values of 256 bits each; they
// leave the process only inside the authorization request (state, nonce,
// the verifier's S256 challenge) and the code exchange (the verifier).
// What the provider says in an error is clipped and stripped of control
// characters before it reaches a message.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// AuthRequest holds the secrets of one authorization request.
type AuthRequest struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"` // the PKCE code verifier
}

// NewAuthRequest returns fresh secrets for one flow.
func NewAuthRequest() (*AuthRequest, error) {
	r := &AuthRequest{Verifier: oauth2.GenerateVerifier()}
	for _, p := range []*string{&r.State, &r.Nonce} {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		*p = base64.RawURLEncoding.EncodeToString(b)
	}
	return r, nil
}

// StateMatches reports, in constant time, whether state is the request's.
func (r *AuthRequest) StateMatches(state string) bool {
	return state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(r.State)) == 1
}

// Client is a relying party of one provider.
type Client struct {
	Provider     *Provider
	ClientID     string
	ClientSecret string // "" for a public client (PKCE only)
	RedirectURL  string
	Scopes       []string // nil: openid email profile
	HTTPClient   *http.Client
	// MaxAge, when set, is sent as max_age so that the provider
	// re-authenticates older sessions and puts auth_time in the token.
	MaxAge int64
	// ACRValues, when set, are requested as acr_values.
	ACRValues []string
}

func (c *Client) config() *oauth2.Config {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{"openid", "email", "profile"}
	}
	style := oauth2.AuthStyleInHeader
	if c.ClientSecret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: c.Provider.AuthorizationEndpoint, TokenURL: c.Provider.TokenEndpoint, AuthStyle: style},
	}
}

// AuthCodeURL is the authorization request to send the user's browser to.
func (c *Client) AuthCodeURL(r *AuthRequest) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(r.Verifier), oauth2.SetAuthURLParam("nonce", r.Nonce)}
	if c.MaxAge > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(c.MaxAge, 10)))
	}
	if len(c.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(c.ACRValues, " ")))
	}
	return c.config().AuthCodeURL(r.State, opts...)
}

// CallbackError is the provider's error response to an authorization
// request (error, error_description), or a callback without a code.
type CallbackError struct {
	Code, Description string
}

func (e *CallbackError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("the identity provider answered %s: %s", e.Code, e.Description)
	}
	return "the identity provider answered " + e.Code
}

// ErrStateMismatch: the callback's state is not the request's — a
// forged or crossed callback.
var ErrStateMismatch = errors.New("the callback's state does not match the sign-in that was started (a forged, replayed or crossed callback)")

// Callback checks a redirect back from the provider against the request:
// an error response, a missing code or a wrong state is refused. It
// returns the authorization code.
func Callback(q map[string][]string, r *AuthRequest) (string, error) {
	get := func(k string) string {
		if v := q[k]; len(v) == 1 {
			return v[0]
		}
		return ""
	}
	if !r.StateMatches(get("state")) {
		return "", ErrStateMismatch
	}
	if e := get("error"); e != "" {
		return "", &CallbackError{Code: brief(e), Description: brief(get("error_description"))}
	}
	code := get("code")
	if code == "" {
		return "", &CallbackError{Code: "no_code", Description: "the callback carries no authorization code"}
	}
	return code, nil
}

// Exchange redeems an authorization code with the PKCE verifier and
// returns the raw ID token of the response. The token is not verified
// here: hand it to a Verifier with the request's nonce.
func (c *Client) Exchange(ctx context.Context, code string, r *AuthRequest) (string, error) {
	if c.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, c.HTTPClient)
	}
	tok, err := c.config().Exchange(ctx, code, oauth2.VerifierOption(r.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			if re.ErrorCode == "" && re.Response != nil {
				return "", fmt.Errorf("the identity provider's token endpoint answered %s", brief(re.Response.Status))
			}
			return "", fmt.Errorf("the identity provider refused the code exchange: %s", brief(strings.TrimSpace(re.ErrorCode+" "+re.ErrorDescription)))
		}
		return "", fmt.Errorf("the code exchange failed: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", errors.New("the token response has no id_token: is 'openid' among the client's scopes?")
	}
	return raw, nil
}
