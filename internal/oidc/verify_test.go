package oidc

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestVerifyRefuses is the table of tokens that must be refused, each with
// the detail that names why. Every case is a token that would otherwise be
// accepted: the base claims verify (TestVerifyAccepts).
func TestVerifyRefuses(t *testing.T) {
	k := theKeys(t)
	pubDER, err := x509.MarshalPKIXPublicKey(k.rsa.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	valid := rs256(t, claims())
	parts := strings.Split(valid, ".")
	other := strings.Split(rs256(t, claims(set("sub", "someone-else"))), ".")

	tests := []struct {
		name   string
		token  string
		cfg    func(*Config)
		nonce  string
		detail string
	}{
		{name: "AlgNone", detail: AlgNotAllowed,
			token: unsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, claims())},
		{name: "AlgNoneWithKid", detail: AlgNotAllowed,
			token: unsigned(t, map[string]any{"alg": "none", "kid": "rsa-1"}, claims())},
		{name: "HS256SignedWithRSAPublicKeyPEM", detail: AlgNotAllowed,
			token: sign(t, pubPEM, jose.HS256, "rsa-1", claims())},
		{name: "HS256SignedWithRSAPublicKeyDER", detail: AlgNotAllowed,
			token: sign(t, pubDER, jose.HS256, "rsa-1", claims())},
		{name: "AlgOutsidePolicy", detail: AlgNotAllowed,
			token: rs256(t, claims()), cfg: func(c *Config) { c.Algorithms = []string{"ES256"} }},
		{name: "AccessTokenTyp", detail: Malformed,
			token: signTyp(t, k.rsa, jose.RS256, "rsa-1", "at+jwt", claims())},
		{name: "AccessTokenTypMediaType", detail: Malformed,
			token: signTyp(t, k.rsa, jose.RS256, "rsa-1", "application/AT+JWT", claims())},
		{name: "WrongIssuer", detail: WrongIssuer,
			token: rs256(t, claims(set("iss", "https://evil.example.test")))},
		{name: "IssuerTrailingSlash", detail: WrongIssuer,
			token: rs256(t, claims(set("iss", testIssuer+"/")))},
		{name: "IssuerMissing", detail: WrongIssuer,
			token: rs256(t, claims(del("iss")))},
		{name: "GoogleIssuerWithoutSchemeIsNotExact", detail: WrongIssuer,
			token: rs256(t, claims(set("iss", "accounts.google.com"))),
			cfg:   func(c *Config) { c.Issuer = "https://accounts.google.com" }},
		{name: "WrongAudience", detail: WrongAudience,
			token: rs256(t, claims(set("aud", "another-client")))},
		{name: "AudienceListWithoutClient", detail: WrongAudience,
			token: rs256(t, claims(set("aud", []string{"a", "b"}), set("azp", testClient)))},
		{name: "AudienceMissing", detail: WrongAudience,
			token: rs256(t, claims(del("aud")))},
		{name: "SeveralAudiencesWithoutAZP", detail: WrongAZP,
			token: rs256(t, claims(set("aud", []string{testClient, "other-client"})))},
		{name: "SeveralAudiencesWrongAZP", detail: WrongAZP,
			token: rs256(t, claims(set("aud", []string{testClient, "other-client"}), set("azp", "other-client")))},
		{name: "OneAudienceWrongAZP", detail: WrongAZP,
			token: rs256(t, claims(set("azp", "other-client")))},
		{name: "Expired", detail: Expired,
			token: rs256(t, claims(set("exp", t0.Add(-2*time.Minute).Unix())))},
		{name: "ExpiredAtNowWithoutSkew", detail: Expired,
			token: rs256(t, claims(set("exp", t0.Unix()))), cfg: func(c *Config) { c.Skew = 0 }},
		{name: "ExpiredJustPastSkew", detail: Expired,
			token: rs256(t, claims(set("exp", t0.Add(-DefaultSkew).Unix())))},
		{name: "ExpiryMissing", detail: MissingClaim,
			token: rs256(t, claims(del("exp")))},
		{name: "NotBeforeInTheFuture", detail: NotYetValid,
			token: rs256(t, claims(set("nbf", t0.Add(2*time.Minute).Unix())))},
		{name: "NotBeforeWithinGoOIDCsFiveMinutesButBeyondSkew", detail: NotYetValid,
			token: rs256(t, claims(set("nbf", t0.Add(4*time.Minute).Unix())))},
		{name: "IssuedFarInTheFuture", detail: NotYetValid,
			token: rs256(t, claims(set("iat", t0.Add(24*time.Hour).Unix()), set("exp", t0.Add(25*time.Hour).Unix())))},
		{name: "IssuedJustBeyondSkew", detail: NotYetValid,
			token: rs256(t, claims(set("iat", t0.Add(DefaultSkew+time.Second).Unix())))},
		{name: "IssueTimeMissing", detail: MissingClaim,
			token: rs256(t, claims(del("iat")))},
		{name: "AuthenticatedInTheFuture", detail: NotYetValid,
			token: rs256(t, claims(set("auth_time", t0.Add(time.Hour).Unix())))},
		{name: "SubjectMissing", detail: MissingClaim,
			token: rs256(t, claims(del("sub")))},
		{name: "SubjectEmpty", detail: MissingClaim,
			token: rs256(t, claims(set("sub", "")))},
		{name: "NonceMissing", detail: NonceMissing, nonce: testNonce,
			token: rs256(t, claims(del("nonce")))},
		{name: "NonceMismatch", detail: NonceMismatch, nonce: testNonce,
			token: rs256(t, claims(set("nonce", "nonce-of-another-sign-in")))},
		{name: "NoncePrefix", detail: NonceMismatch, nonce: testNonce,
			token: rs256(t, claims(set("nonce", testNonce[:8])))},
		{name: "StaleAuthentication", detail: StaleAuthentication,
			token: rs256(t, claims(set("auth_time", t0.Add(-time.Hour).Unix()))),
			cfg:   func(c *Config) { c.MaxAge = 5 * time.Minute }},
		{name: "AuthTimeMissingWithMaxAge", detail: StaleAuthentication,
			token: rs256(t, claims(del("auth_time"))),
			cfg:   func(c *Config) { c.MaxAge = time.Hour }},
		{name: "ACRNotSatisfied", detail: MFARequired,
			token: rs256(t, claims(set("acr", "urn:example:loa:1"))),
			cfg:   func(c *Config) { c.RequireACR = []string{"urn:example:loa:2", "urn:example:loa:3"} }},
		{name: "ACRMissing", detail: MFARequired,
			token: rs256(t, claims()),
			cfg:   func(c *Config) { c.RequireACR = []string{"urn:example:loa:2"} }},
		{name: "AMRWithoutMFA", detail: MFARequired,
			token: rs256(t, claims(set("amr", []string{"pwd"}))),
			cfg:   func(c *Config) { c.RequireAMR = []string{"mfa"} }},
		{name: "AMRMissing", detail: MFARequired,
			token: rs256(t, claims()),
			cfg:   func(c *Config) { c.RequireAMR = []string{"mfa"} }},
		{name: "AMRMissingOneOfTwo", detail: MFARequired,
			token: rs256(t, claims(set("amr", []string{"pwd", "otp"}))),
			cfg:   func(c *Config) { c.RequireAMR = []string{"pwd", "hwk"} }},
		{name: "SignatureByteFlipped", detail: BadSignature,
			token: parts[0] + "." + parts[1] + "." + flipByte(t, parts[2])},
		{name: "PayloadSwapped", detail: BadSignature,
			token: parts[0] + "." + other[1] + "." + parts[2]},
		{name: "KnownKidSignedByAnotherKey", detail: BadSignature,
			token: sign(t, k.otherRSA, jose.RS256, "rsa-1", claims())},
		{name: "NoKidSignedByAnotherKey", detail: BadSignature,
			token: sign(t, k.otherRSA, jose.RS256, "", claims())},
		{name: "KidOfAKeyOfAnotherType", detail: BadSignature,
			token: sign(t, k.rsa, jose.RS256, "ec-1", claims())},
		{name: "UnknownKid", detail: UnknownKey,
			token: sign(t, k.otherRSA, jose.RS256, "rsa-2", claims())},
		{name: "NoKidAndNoKeyOfItsAlgorithm", detail: UnknownKey,
			token: sign(t, k.otherRSA, jose.PS256, "", claims()),
			cfg: func(c *Config) {
				c.Algorithms = []string{"PS256", "ES256"}
				c.JWKS = jwksOf(t, jose.JSONWebKey{Key: k.ec, KeyID: "ec-1"})
			}},
		{name: "MalformedGarbage", detail: Malformed, token: "not a token"},
		{name: "MalformedEmpty", detail: Malformed, token: ""},
		{name: "MalformedTwoParts", detail: Malformed, token: parts[0] + "." + parts[1]},
		{name: "MalformedFourParts", detail: Malformed, token: valid + ".x"},
		{name: "MalformedBadBase64", detail: Malformed, token: parts[0] + ".%%%." + parts[2]},
		{name: "MalformedPayloadNotJSON", detail: Malformed,
			token: parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("hello")) + "." + parts[2]},
		{name: "MalformedJSONSerialisation", detail: Malformed, token: jsonSerialised(t, valid)},
		{name: "MalformedExpiryString", detail: Malformed,
			token: rs256(t, claims(set("exp", "2036-01-01T00:00:00Z")))},
		{name: "MalformedExpiryNumericString", detail: Malformed,
			token: rs256(t, claims(set("exp", "2082758400")))},
		{name: "MalformedIssuerNumber", detail: Malformed,
			token: rs256(t, claims(set("iss", 42)))},
		{name: "MalformedAudienceObject", detail: Malformed,
			token: rs256(t, claims(set("aud", map[string]any{"x": 1})))},
		{name: "MalformedTooLarge", detail: Malformed,
			token: rs256(t, claims(set("padding", strings.Repeat("x", maxTokenSize))))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := staticConfig(t)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			v := newVerifier(t, cfg, func() time.Time { return t0 })
			c, err := v.Verify(context.Background(), tc.token, tc.nonce)
			e := wantRefusal(t, c, err, tc.detail)
			msg := e.Error()
			t.Log(msg)
			for _, secret := range []string{testNonce, "nonce-of-another-sign-in"} {
				if strings.Contains(msg, secret) {
					t.Errorf("message %q holds a nonce", msg)
				}
			}
			if len(tc.token) > 20 && strings.Contains(msg, tc.token[len(tc.token)-20:]) {
				t.Errorf("message %q holds part of the token", msg)
			}
			if msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("message %q does not start in lower case", msg)
			}
		})
	}
}

func flipByte(t *testing.T, b64 string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	return base64.RawURLEncoding.EncodeToString(b)
}

// jsonSerialised rewrites a compact token in the flattened JSON serialisation,
// which go-jose can parse but an ID token must not use.
func jsonSerialised(t *testing.T, compact string) string {
	t.Helper()
	p := strings.Split(compact, ".")
	return `{"protected":"` + p[0] + `","payload":"` + p[1] + `","signature":"` + p[2] + `"}`
}

// TestVerifyAccepts checks each allowed algorithm and the edges of the
// checks: what is within the skew, and what is not checked.
func TestVerifyAccepts(t *testing.T) {
	k := theKeys(t)
	tests := []struct {
		name  string
		token string
		cfg   func(*Config)
		nonce string
	}{
		{name: "RS256", token: rs256(t, claims()), nonce: testNonce},
		{name: "ES256", token: sign(t, k.ec, jose.ES256, "ec-1", claims()), nonce: testNonce},
		{name: "EdDSA", token: sign(t, k.ed, jose.EdDSA, "ed-1", claims()), nonce: testNonce},
		{name: "NoKid", token: sign(t, k.ec, jose.ES256, "", claims())},
		// go-jose's base64 decoding skips line breaks.
		{name: "TrailingNewline", token: rs256(t, claims()) + "\n"},
		{name: "ExpiredWithinSkew", token: rs256(t, claims(set("exp", t0.Add(-30*time.Second).Unix())))},
		{name: "ExpiresAfterNowWithoutSkew", token: rs256(t, claims(set("exp", t0.Add(time.Second).Unix()))),
			cfg: func(c *Config) { c.Skew = 0 }},
		{name: "NotBeforeWithinSkew", token: rs256(t, claims(set("nbf", t0.Add(30*time.Second).Unix())))},
		{name: "IssuedWithinSkew", token: rs256(t, claims(set("iat", t0.Add(30*time.Second).Unix())))},
		{name: "NonceNotExpected", token: rs256(t, claims())},
		{name: "NonceNotExpectedAndAbsent", token: rs256(t, claims(del("nonce")))},
		{name: "AuthenticationWithinMaxAgeAndSkew", token: rs256(t, claims(set("auth_time", t0.Add(-5*time.Minute-30*time.Second).Unix()))),
			cfg: func(c *Config) { c.MaxAge = 5 * time.Minute }},
		{name: "AuthTimeNotRequiredWithoutMaxAge", token: rs256(t, claims(del("auth_time")))},
		{name: "SeveralAudiencesWithAZP", token: rs256(t, claims(set("aud", []string{"other", testClient}), set("azp", testClient)))},
		{name: "AZPEqualToClient", token: rs256(t, claims(set("azp", testClient)))},
		{name: "ACRAndAMRSatisfied", token: rs256(t, claims(set("acr", "urn:example:loa:2"), set("amr", []string{"pwd", "mfa", "otp"}))),
			cfg: func(c *Config) {
				c.RequireACR = []string{"urn:example:loa:2", "urn:example:loa:3"}
				c.RequireAMR = []string{"mfa", "pwd"}
			}},
		{name: "FractionalTimes", token: rs256(t, claims(set("exp", float64(t0.Add(time.Hour).Unix())+0.5)))},
		{name: "PS256WhenAllowed", token: sign(t, k.rsa, jose.PS256, "rsa-9", claims()),
			cfg: func(c *Config) {
				c.Algorithms = []string{"PS256"}
				c.JWKS = jwksOf(t, jose.JSONWebKey{Key: k.rsa, KeyID: "rsa-9"})
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := staticConfig(t)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			v := newVerifier(t, cfg, func() time.Time { return t0 })
			c, err := v.Verify(context.Background(), tc.token, tc.nonce)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.Subject != "user-1" || c.Issuer != testIssuer {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

func TestVerifyClaims(t *testing.T) {
	k := theKeys(t)
	raw := sign(t, k.ed, jose.EdDSA, "ed-1", claims(
		set("aud", []string{testClient, "other"}), set("azp", testClient),
		set("nbf", t0.Add(-time.Minute).Unix()),
		set("acr", "urn:example:loa:2"), set("amr", []string{"pwd", "mfa"}),
		set("name", "User One"), set("preferred_username", "user1"),
	))
	v := newVerifier(t, staticConfig(t), func() time.Time { return t0 })
	got, err := v.Verify(context.Background(), raw, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	want := &Claims{
		Issuer: testIssuer, Subject: "user-1", Email: "user-1@example.test", EmailVerified: true,
		Audience: []string{testClient, "other"}, AuthorizedParty: testClient,
		IssuedAt: t0.Add(-time.Minute), Expiry: t0.Add(10 * time.Minute),
		NotBefore: t0.Add(-time.Minute), AuthTime: t0.Add(-2 * time.Minute),
		ACR: "urn:example:loa:2", AMR: []string{"pwd", "mfa"}, Nonce: testNonce,
		Name: "User One", PreferredUsername: "user1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

	sum := got.Summary()
	wantSum := map[string]any{
		"iss": testIssuer, "sub": "user-1", "aud": []string{testClient, "other"}, "azp": testClient,
		"iat": "2026-03-01T11:59:00Z", "exp": "2026-03-01T12:10:00Z", "auth_time": "2026-03-01T11:58:00Z",
		"acr": "urn:example:loa:2", "amr": []string{"pwd", "mfa"},
		"email": "user-1@example.test", "email_verified": true, "nonce_present": true,
	}
	if !reflect.DeepEqual(sum, wantSum) {
		t.Fatalf("summary\ngot  %v\nwant %v", sum, wantSum)
	}
	for key, val := range sum {
		if s, ok := val.(string); ok && (strings.Contains(s, testNonce) || strings.Contains(s, raw)) {
			t.Errorf("summary %s holds the nonce or the token", key)
		}
	}
	if (*Claims)(nil).Summary() != nil {
		t.Error("nil claims have a summary")
	}
}

func TestEmailVerified(t *testing.T) {
	tests := []struct {
		name  string
		value any // nil: claim absent
		want  bool
	}{
		{"Bool", true, true},
		{"BoolFalse", false, false},
		{"StringTrue", "true", true},
		{"StringFalse", "false", false},
		{"StringYes", "yes", false},
		{"StringTRUE", "TRUE", false},
		{"Number", 1, false},
		{"Absent", nil, false},
	}
	v := newVerifier(t, staticConfig(t), func() time.Time { return t0 })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mod := del("email_verified")
			if tc.value != nil {
				mod = set("email_verified", tc.value)
			}
			c, err := v.Verify(context.Background(), rs256(t, claims(mod)), "")
			if err != nil {
				t.Fatal(err)
			}
			if c.EmailVerified != tc.want {
				t.Fatalf("EmailVerified = %v, want %v", c.EmailVerified, tc.want)
			}
		})
	}
}

// TestRefusalKeepsUnverifiedClaims checks that a refusal carries what the
// token claimed, for the audit trail, whatever the reason.
func TestRefusalKeepsUnverifiedClaims(t *testing.T) {
	k := theKeys(t)
	v := newVerifier(t, staticConfig(t), func() time.Time { return t0 })
	for name, raw := range map[string]string{
		"BadSignature": sign(t, k.otherRSA, jose.RS256, "rsa-1", claims()),
		"AlgNone":      unsigned(t, map[string]any{"alg": "none"}, claims()),
		"Expired":      rs256(t, claims(set("exp", t0.Add(-time.Hour).Unix()))),
	} {
		_, err := v.Verify(context.Background(), raw, "")
		e, ok := err.(*Error)
		if !ok || e.Claims == nil || e.Claims.Subject != "user-1" {
			t.Errorf("%s: refusal %v has claims %+v", name, err, e)
		}
	}
}

func TestTokenHash(t *testing.T) {
	// SHA-256("abc") from FIPS 180-2, appendix B.1.
	if got, want := TokenHash("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("TokenHash = %s, want %s", got, want)
	}
}

func TestVerifyConcurrently(t *testing.T) {
	k := theKeys(t)
	v := newVerifier(t, staticConfig(t), func() time.Time { return t0 })
	good := sign(t, k.ec, jose.ES256, "ec-1", claims())
	bad := sign(t, k.otherRSA, jose.RS256, "rsa-1", claims())
	done := make(chan error)
	for i := range 16 {
		go func() {
			raw, wantOK := good, true
			if i%2 == 1 {
				raw, wantOK = bad, false
			}
			_, err := v.Verify(context.Background(), raw, "")
			if (err == nil) != wantOK {
				done <- err
				return
			}
			done <- nil
		}()
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
