// Command kat-gen made the known-answer vectors in internal/oidc/testdata: a
// public JWK Set and ID tokens signed by its private keys. It uses go-jose
// directly and nothing of internal/oidc, so that the tests check the verifier
// against answers that its own code did not produce.
//
// The private keys live only in this process: they are generated, used and
// dropped, never written. Running it again makes new keys and new tokens, and
// the expected thumbprints and hashes in kat_test.go must then be updated
// from what it prints.
//
// Run from internal/oidc:
//
//	go run ./testdata/kat-gen testdata
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: kat-gen DIR")
	}
	dir := os.Args[1]

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048) // not in the set
	check(err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	check(err)

	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: rsaKey.Public(), KeyID: "kat-rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: ecKey.Public(), KeyID: "kat-ec-1", Algorithm: "ES256", Use: "sig"},
		{Key: edKey.Public(), KeyID: "kat-ed-1", Algorithm: "EdDSA", Use: "sig"},
	}}
	jwks, err := json.MarshalIndent(set, "", "  ")
	check(err)
	write(dir, "kat-jwks.json", append(jwks, '\n'))
	for _, k := range set.Keys {
		tp, err := k.Thumbprint(crypto.SHA256)
		check(err)
		fmt.Printf("thumbprint %s %s\n", k.KeyID, base64.RawURLEncoding.EncodeToString(tp))
	}

	iat := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	exp := time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	claims := func(sub, email string, verified bool) map[string]any {
		return map[string]any{
			"iss":            "https://idp.example.test",
			"aud":            "gatehouse-test",
			"sub":            sub,
			"email":          email,
			"email_verified": verified,
			"iat":            iat,
			"auth_time":      iat,
			"exp":            exp,
			"nonce":          "kat-nonce",
		}
	}
	user1 := claims("kat-user-1", "kat@example.test", true)

	tokens := []struct {
		file   string
		key    any
		alg    jose.SignatureAlgorithm
		kid    string
		claims map[string]any
	}{
		{"kat-rs256-user1.jwt", rsaKey, jose.RS256, "kat-rsa-1", user1},
		{"kat-rs256-user2-unverified-email.jwt", rsaKey, jose.RS256, "kat-rsa-1", claims("kat-user-2", "kat2@example.test", false)},
		{"kat-rs256-bad-signature.jwt", otherRSA, jose.RS256, "kat-rsa-1", user1},
		{"kat-es256-user1.jwt", ecKey, jose.ES256, "kat-ec-1", user1},
		{"kat-eddsa-user1.jwt", edKey, jose.EdDSA, "kat-ed-1", user1},
	}
	for _, tok := range tokens {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: tok.alg, Key: tok.key},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", tok.kid))
		check(err)
		payload, err := json.Marshal(tok.claims)
		check(err)
		obj, err := signer.Sign(payload)
		check(err)
		raw, err := obj.CompactSerialize()
		check(err)
		write(dir, tok.file, []byte(raw)) // no final newline: the file is the token
		sum := sha256.Sum256([]byte(raw))
		fmt.Printf("token %s sha256:%s\n", tok.file, hex.EncodeToString(sum[:]))
	}
}

func write(dir, name string, data []byte) {
	check(os.WriteFile(filepath.Join(dir, name), data, 0o644))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
