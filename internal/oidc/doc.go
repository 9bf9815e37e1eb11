// Package oidc verifies OpenID Connect ID tokens for the gate. It is the one
// package that knows about coreos/go-oidc and go-jose; it imports no other
// gatehouse package, and the core turns its results into sign-in decisions.
//
// # Who checks what
//
// A token is accepted only when go-oidc's IDTokenVerifier.Verify succeeds and
// every check of this package passes after it. Nothing here parses JOSE or
// checks a signature by hand: go-jose parses the compact serialisation and
// verifies signatures, go-oidc drives the verification.
//
// go-oidc checks: that the token is a JWS with exactly one signature whose
// "alg" is in the allow-list (Config.Algorithms, passed as
// SupportedSigningAlgs; "none" and HMAC can never be in it), the signature
// (through the KeySet this package gives it), that "iss" equals the issuer
// (go-oidc also lets "accounts.google.com" through for Google's issuer), and
// that "aud" contains the client ID.
//
// This package checks, on the payload go-oidc verified: "iss" exactly (so
// go-oidc's Google exception does not apply); "sub" present; "exp" present and
// now < exp+Skew; "nbf", "iat" and "auth_time" not after now+Skew; "iat"
// present; "azp" present and equal to the client ID when "aud" has several
// values, and equal to it whenever present; the nonce, when the caller
// expects one (compared in constant time); "auth_time" against MaxAge, where a
// missing "auth_time" fails closed; and the required "acr" and "amr" values.
//
// go-oidc's own expiry check is turned off (oidc.Config.SkipExpiryCheck)
// because it allows no leeway on "exp" and a fixed five minutes on "nbf"
// (v3.21.0, verify.go); this package applies the configured Skew to both
// instead.
//
// # Refusals and unavailability
//
// A token that fails is refused with an *Error whose Detail names the
// failed check (BadSignature, UnknownKey, Expired, …). The detail comes from
// what this package observed, not from go-oidc's error text: the KeySet
// records, for the call in hand, whether the key ID was unknown or the
// signature wrong; go-jose's typed error names a refused algorithm; and when
// go-oidc refuses a claim after the signature verified, the verified payload
// says whether the issuer or the audience was wrong.
//
// When the keys cannot be had — discovery or the key set fetch failed, or the
// provider answered something that is not a usable key set — no decision is
// possible, and Verify returns an *UnavailableError instead of an *Error, so
// that the caller can say "could not decide" rather than "refused".
//
// # Keys
//
// Config names exactly one key source. A JWK Set kept in the store (JWKS)
// suits an air-gapped server: it is parsed once by New, and a key ID not in it
// is refused as UnknownKey. With Discovery, the keys come from the provider's
// jwks_uri, found through its discovery document, and are kept in a KeyCache:
// by default one cache for the whole process, shared by every Verifier, so
// that building a Verifier per request costs no extra fetch. The cache lives
// in memory only: a CLI command, one process per token, fetches the keys each
// time it runs.
//
// The cache fetches an issuer's keys at most once per 30 seconds, whatever
// happens: a flood of tokens with unknown key IDs costs the provider one fetch
// per 30 seconds, and a key the provider has just rotated in is picked up by
// the first token that names it once 30 seconds have passed since the last
// fetch (at once if there was none in the last 30 seconds). Between fetches, a
// key ID missing from a set fetched successfully is refused as UnknownKey; if
// the last fetch failed, it is unavailable instead, since the key may be new.
// Keys older than an hour are refreshed by the next verification, so that a
// key the provider withdrew stops working; if that refresh fails, the old keys
// are still used, so that an outage of the provider does not stop sign-ins
// with keys it had published.
//
// A token with a key ID is checked only against the keys with that ID. A
// token without one is checked against every key that fits its algorithm
// (by key type, curve, and the key's own "alg" and "use" when it states them);
// go-jose would refuse such a token outright when given the whole set, so the
// KeySet tries the keys one by one.
//
// # What is never kept
//
// Messages never hold the token, the nonce, or key material. Claims.Summary is
// what the audit trail may keep about a token, with TokenHash to identify it.
package oidc
