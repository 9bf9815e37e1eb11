package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestThumbprintRFC7638 checks the thumbprint against the example of RFC 7638
// section 3.1.
func TestThumbprintRFC7638(t *testing.T) {
	const set = `{"keys":[{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}]}`
	_, infos, err := ParseJWKS([]byte(set))
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyInfo{{KeyID: "2011-04-29", KeyType: "RSA", Algorithm: "RS256", Thumbprint: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"}}
	if !reflect.DeepEqual(infos, want) {
		t.Fatalf("got %+v, want %+v", infos, want)
	}
}

func TestParseJWKS(t *testing.T) {
	k := theKeys(t)
	cert := selfSigned(t, k.ec)
	in := jwksOf(t,
		jose.JSONWebKey{Key: k.rsa, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: k.ec, KeyID: "ec-1", Certificates: []*x509.Certificate{cert}},
		jose.JSONWebKey{Key: k.ed, Algorithm: "EdDSA"},
	)
	if !strings.Contains(string(in), "x5c") {
		t.Fatal("the input has no certificate")
	}
	norm, infos, err := ParseJWKS(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 || infos[0].KeyType != "RSA" || infos[1].KeyType != "EC" || infos[2].KeyType != "OKP" ||
		infos[0].KeyID != "rsa-1" || infos[1].Algorithm != "" || infos[2].KeyID != "" || infos[2].Algorithm != "EdDSA" {
		t.Fatalf("infos %+v", infos)
	}
	for _, info := range infos {
		if len(info.Thumbprint) != 43 {
			t.Errorf("thumbprint %q is not 32 bytes in base64url", info.Thumbprint)
		}
	}
	if strings.Contains(string(norm), "x5c") || strings.Contains(string(norm), `"d"`) {
		t.Fatalf("normalised set keeps more than the public keys: %s", norm)
	}
	norm2, infos2, err := ParseJWKS(norm)
	if err != nil {
		t.Fatal(err)
	}
	if string(norm2) != string(norm) || !reflect.DeepEqual(infos2, infos) {
		t.Fatal("the normalised set does not read back the same")
	}
}

func selfSigned(t *testing.T, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestParseJWKSRefusesPrivateKeys: a private or symmetric key is refused, and
// the message holds nothing of the key's values.
func TestParseJWKSRefusesPrivateKeys(t *testing.T) {
	k := theKeys(t)
	private := func(key any) json.RawMessage {
		b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: "leaked-1", Algorithm: "RS256"})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ecPriv, err := json.Marshal(jose.JSONWebKey{Key: k.ec, KeyID: "leaked-1"})
	if err != nil {
		t.Fatal(err)
	}
	edPriv, err := json.Marshal(jose.JSONWebKey{Key: k.ed, KeyID: "leaked-1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		key  json.RawMessage
		word string
	}{
		"RSA":             {private(k.rsa), "private key"},
		"EC":              {ecPriv, "private key"},
		"Ed25519":         {edPriv, "private key"},
		"Symmetric":       {json.RawMessage(`{"kty":"oct","k":"c3VwZXItc2VjcmV0LWhtYWMta2V5LXZhbHVl","kid":"leaked-1"}`), "symmetric"},
		"OnlyD":           {json.RawMessage(`{"kty":"EC","crv":"P-256","d":"c3VwZXItc2VjcmV0LWVjLXNjYWxhcg","kid":"leaked-1"}`), "private key"},
		"UnknownKtyWithD": {json.RawMessage(`{"kty":"XYZ","d":"c3VwZXItc2VjcmV0LXNjYWxhcg","kid":"leaked-1"}`), "private key"},
	}
	public := jwksOf(t, jose.JSONWebKey{Key: k.ec, KeyID: "ec-1"})
	for name, tc := range tests {
		for _, shape := range []string{"Alone", "AfterAPublicKey"} {
			t.Run(name+shape, func(t *testing.T) {
				set := `{"keys":[` + string(tc.key) + `]}`
				if shape == "AfterAPublicKey" {
					set = strings.TrimSuffix(string(public), "]}") + "," + string(tc.key) + "]}"
				}
				norm, infos, err := ParseJWKS([]byte(set))
				if err == nil || norm != nil || infos != nil {
					t.Fatalf("accepted: %s", norm)
				}
				msg := err.Error()
				t.Log(msg)
				if !strings.Contains(msg, tc.word) || !strings.Contains(msg, "leaked-1") {
					t.Errorf("message %q does not say %q of key leaked-1", msg, tc.word)
				}
				assertNoKeyMaterial(t, msg, tc.key)
				cfg := staticConfig(t)
				cfg.JWKS = []byte(set)
				if err := cfg.Validate(); err == nil {
					t.Error("Validate accepted the set")
				} else {
					assertNoKeyMaterial(t, err.Error(), tc.key)
				}
			})
		}
	}
}

// assertNoKeyMaterial fails if msg holds any 8 characters in a row of a
// value of key other than its kid and kty.
func assertNoKeyMaterial(t *testing.T, msg string, key json.RawMessage) {
	t.Helper()
	var members map[string]any
	if err := json.Unmarshal(key, &members); err != nil {
		t.Fatal(err)
	}
	for name, v := range members {
		s, ok := v.(string)
		if !ok || name == "kid" || name == "kty" || name == "alg" || name == "crv" {
			continue
		}
		for i := 0; i+8 <= len(s); i++ {
			if strings.Contains(msg, s[i:i+8]) {
				t.Fatalf("message %q holds part of the key's %q", msg, name)
			}
		}
	}
}

func TestParseJWKSRefuses(t *testing.T) {
	k := theKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	one := func(key jose.JSONWebKey) string { return string(jwksOf(t, key)) }
	rsaJWK := string(jwksOf(t, jose.JSONWebKey{Key: k.rsa, KeyID: "rsa-1"}))
	tests := []struct {
		name, set, want string
	}{
		{"Empty", "", "empty"},
		{"NotJSON", "not json {", "not valid JSON (syntax error at byte 2)"},
		{"Array", `[{"kty":"RSA"}]`, "not a JSON object"},
		{"NoKeysMember", `{}`, `no "keys" member`},
		{"SingleKey", strings.TrimSuffix(strings.TrimPrefix(rsaJWK, `{"keys":[`), "]}"), "single key, not a key set"},
		{"KeysNotArray", `{"keys":{}}`, "not an array"},
		{"NoKeys", `{"keys":[]}`, "holds no keys"},
		{"KeyNotObject", `{"keys":["x"]}`, "key 1: not a JSON object"},
		{"NoKty", `{"keys":[{"kid":"a"}]}`, `no key type`},
		{"UnknownKty", `{"keys":[{"kty":"AKP","kid":"a"}]}`, `key 1 (kid "a"): key type "AKP" is not supported`},
		{"OKPNotEd25519", `{"keys":[{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}]}`, "unsupported OKP key"},
		{"RSA1024", one(jose.JSONWebKey{Key: small, KeyID: "small"}), "1024 bits is too small"},
		{"AlgHS256OnRSA", one(jose.JSONWebKey{Key: k.rsa, KeyID: "r", Algorithm: "HS256"}), `algorithm "HS256" is not a signature algorithm`},
		{"AlgES256OnRSA", one(jose.JSONWebKey{Key: k.rsa, KeyID: "r", Algorithm: "ES256"}), "does not fit this RSA key"},
		{"AlgES256OnP384", one(jose.JSONWebKey{Key: p384, KeyID: "e", Algorithm: "ES256"}), "does not fit this EC P-384 key"},
		{"AlgRS256OnEd25519", one(jose.JSONWebKey{Key: k.ed, KeyID: "e", Algorithm: "RS256"}), "does not fit this Ed25519 key"},
		{"UseEnc", one(jose.JSONWebKey{Key: k.rsa, KeyID: "r", Use: "enc"}), `use "enc"`},
		{"DuplicateKid", string(jwksOf(t, jose.JSONWebKey{Key: k.rsa, KeyID: "same"}, jose.JSONWebKey{Key: k.ec, KeyID: "same"})), `key 2: key id "same" is also the id of key 1`},
		{"BadCoordinates", `{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`, "not a valid EC key"},
		{"TooLarge", `{"keys":[],"pad":"` + strings.Repeat("a", maxJWKSSize) + `"}`, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseJWKS([]byte(tc.set))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error with %q", err, tc.want)
			}
			if msg := err.Error(); msg[:1] != strings.ToLower(msg[:1]) {
				t.Errorf("message %q does not start in lower case", msg)
			}
		})
	}
}
