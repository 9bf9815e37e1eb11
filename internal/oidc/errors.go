package oidc

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Details of a refusal: the value of Error.Detail, one per failed check.
const (
	BadSignature        = "bad_signature"        // no key with the token's key ID verifies its signature
	UnknownKey          = "unknown_key"          // no key with the token's key ID (or, without one, none that fits its algorithm)
	AlgNotAllowed       = "alg_not_allowed"      // the token's "alg" is not in the policy's allow-list
	WrongIssuer         = "wrong_issuer"         // "iss" is not the configured issuer, exactly
	WrongAudience       = "wrong_audience"       // "aud" does not contain the client ID
	WrongAZP            = "wrong_azp"            // "azp" missing with several audiences, or not the client ID
	Expired             = "expired"              // now is at or after exp+Skew
	NotYetValid         = "not_yet_valid"        // "nbf", "iat" or "auth_time" after now+Skew
	NonceMismatch       = "nonce_mismatch"       // the token's nonce is not the one expected
	NonceMissing        = "nonce_missing"        // a nonce was expected and the token has none
	StaleAuthentication = "stale_authentication" // "auth_time" missing, or older than MaxAge+Skew
	MFARequired         = "mfa_required"         // "acr" or "amr" does not satisfy the policy
	Malformed           = "malformed"            // not a compact JWS, or claims of the wrong JSON types
	MissingClaim        = "missing_claim"        // "sub", "exp" or "iat" absent
)

// Error is a refusal: a token that fails verification. Detail is one of the
// constants above; Msg says what was wrong in words and holds neither the
// token nor the nonce. Claims, when not nil, are the token's claims as far as
// they could be read. They are unverified and only for the audit trail: a
// refused token's claims may have been written by anyone.
type Error struct {
	Detail string
	Msg    string
	Claims *Claims
}

// Error returns the detail and the message, e.g. "expired: the token expired
// at 2026-01-01T00:00:00Z".
func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Detail
	}
	return e.Detail + ": " + e.Msg
}

// UnavailableError means that no decision could be made because the identity
// provider's keys could not be had: discovery or the key set fetch failed, or
// the provider answered something that is not a usable key set. It is not a
// refusal; the caller reports that it could not decide.
type UnavailableError struct {
	Issuer string
	Msg    string
	Err    error // the cause, when there is one
}

// Error returns the message and a shortened form of the cause.
func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + brief(e.Err.Error())
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

func refuse(detail, msg string, c *Claims) *Error {
	return &Error{Detail: detail, Msg: msg, Claims: c}
}

// briefLimit bounds text from outside (an answer's body quoted in a library's
// error, a claim of a refused token) in messages.
const briefLimit = 200

// brief shortens s to briefLimit bytes and replaces control characters, so
// that text from outside cannot flood a message or drive a terminal.
func brief(s string) string {
	cut := len(s) > briefLimit
	if cut {
		s = s[:briefLimit]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
	if cut {
		s += "…"
	}
	return s
}

// quote is brief in Go quotes, for a value from a token in a message.
func quote(s string) string {
	return strconv.Quote(brief(s))
}
