package gatehouse

import "slices"

// TokenDetail explains one check an OpenID Connect ID token can fail: the
// Detail of a token_invalid refusal. Each maps onto the seed's
// troubleshooting list where one applies (Troubleshooting names the
// 'sso explain' check it fails).
type TokenDetail struct {
	Code            string `json:"code"`
	Meaning         string `json:"meaning"`
	Fix             string `json:"fix"`
	Troubleshooting string `json:"troubleshooting,omitempty"`
}

// TokenDetails lists every detail of a token_invalid refusal.
var TokenDetails = []TokenDetail{
	{"malformed", "the token is not a signed JWT with a JSON payload", "hand over the ID token itself (three base64url parts), not an access token or a file around it", ""},
	{"alg_not_allowed", "the token is signed with an algorithm outside the allow-list ('none' and HMAC are never allowed)", "have the identity provider sign ID tokens with RS256, ES256 or EdDSA, or add its algorithm with 'gatehouse sso idp set --algorithms'", ""},
	{"unknown_key", "no key of the identity provider has the token's key ID", "with --jwks-file: import the provider's current keys (re-run 'gatehouse sso idp set --jwks-file FILE'); with --discovery the keys are refetched at most once per 30 s, so a brand-new key works within a minute", ""},
	{"bad_signature", "the signature does not match the identity provider's key: the token was altered or signed by someone else", "treat as an attack unless the keys were just rotated; check the issuer and key source", ""},
	{"wrong_issuer", "the token's iss is not the configured issuer", "'gatehouse sso idp set --issuer URL' must be exactly the provider's issuer (scheme, host, path, trailing slash)", ""},
	{"wrong_audience", "the token was issued to another client: its aud does not hold the configured client ID", "'gatehouse sso idp set --client-id ID' must be the client the server signs in with", ""},
	{"wrong_azp", "the token has several audiences and its azp is missing or another client", "configure the provider to issue ID tokens to this client only", ""},
	{"expired", "the token's exp has passed (beyond the clock skew)", "sign in again; if it keeps happening, check the server's clock", "sign_in_fresh"},
	{"not_yet_valid", "the token's nbf or iat is in the future (beyond the clock skew)", "check the clocks of the server and the identity provider", "sign_in_fresh"},
	{"nonce_missing", "the sign-in expected a nonce and the token has none", "the authorization request must send the nonce; a token replayed from another flow has none", ""},
	{"nonce_mismatch", "the token's nonce is not the one this sign-in sent: a replayed or injected token", "start the sign-in again from the login page", ""},
	{"stale_authentication", "the user authenticated longer ago than the maximum age allows (auth_time), or the token does not say when", "sign out at the identity provider and sign in again; with --max-age set the provider must send auth_time (request max_age)", "sign_in_fresh"},
	{"mfa_required", "the token's acr or amr does not show the authentication the policy requires (e.g. MFA)", "complete multi-factor authentication at the identity provider, or change --require-acr/--require-amr", "authentication_completed"},
	{"missing_claim", "the token lacks a required claim (sub, exp or iat), or its issuer or subject is not usable text (control characters, too long)", "the identity provider must issue standard ID tokens", ""},
}

// TokenDetailOf returns the explanation of a detail code.
func TokenDetailOf(code string) (TokenDetail, bool) {
	for _, d := range TokenDetails {
		if d.Code == code {
			return d, true
		}
	}
	return TokenDetail{}, false
}

// tokenChecks are the checks of an ID token in the order 'sso test'
// reports them, each with the details that fail it.
var tokenChecks = []struct {
	name, what string
	details    []string
}{
	{"token_signature", "signed by the identity provider's key, with an allowed algorithm", []string{"malformed", "alg_not_allowed", "unknown_key", "bad_signature"}},
	{"token_issuer", "iss is the configured issuer", []string{"wrong_issuer"}},
	{"token_audience", "aud holds the client ID (and azp names it when there are several)", []string{"wrong_audience", "wrong_azp"}},
	{"token_lifetime", "exp, nbf and iat hold, within the clock skew", []string{"expired", "not_yet_valid"}},
	{"token_nonce", "the nonce is the one this sign-in sent", []string{"nonce_missing", "nonce_mismatch"}},
	{"token_claims", "sub and the other required claims are present", []string{"missing_claim"}},
	{"authentication_age", "the user authenticated within the maximum age (auth_time)", []string{"stale_authentication"}},
	{"mfa_policy", "acr and amr satisfy the policy", []string{"mfa_required"}},
}

// TokenChecks reports the checks of one ID token: all ok when detail is
// "" (the token was verified); else the check that detail fails, and the
// others unknown — a verifier stops at the first failure. tv says which
// policy checks apply.
func TokenChecks(detail string, tv *TokenVerification) []Check {
	var out []Check
	for _, c := range tokenChecks {
		row := Check{Check: c.name, Status: "ok", Detail: c.what}
		switch {
		case detail != "" && slices.Contains(c.details, detail):
			d, _ := TokenDetailOf(detail)
			row.Status, row.Detail, row.Fix = "failed", detail+": "+d.Meaning, d.Fix
		case detail != "":
			row.Status, row.Detail = "unknown", c.what+": not reached or not reported, the token failed another check"
		case c.name == "authentication_age" && (tv == nil || tv.MaxAge == 0):
			row.Detail = "not required (no --max-age)"
		case c.name == "mfa_policy" && (tv == nil || len(tv.RequireACR)+len(tv.RequireAMR) == 0):
			row.Detail = "not required (no --require-acr or --require-amr)"
		}
		out = append(out, row)
	}
	return out
}
