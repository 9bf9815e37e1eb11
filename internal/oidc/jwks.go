package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// KeyInfo describes one key of a JWK Set, for the audit trail.
type KeyInfo struct {
	KeyID      string // "kid"; may be empty
	KeyType    string // "kty": RSA, EC or OKP
	Algorithm  string // "alg" as the set states it; empty when it states none
	Thumbprint string // RFC 7638 SHA-256 thumbprint, base64url without padding
}

// Limits on a key set, imported or fetched.
const (
	maxJWKSSize   = 1 << 20
	maxKeys       = 64
	minRSAKeyBits = 2048
)

// privateMembers are the JWK members that hold private or secret key
// material (RFC 7518 section 6, RFC 8037 section 2). A key with any of them
// is refused before go-jose parses it, so that no message about it can come
// from its content.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// ParseJWKS parses and checks a JWK Set for import. The set must hold at least
// one key, and every key must be a public signing key: RSA of at least 2048
// bits, EC on P-256, P-384 or P-521, or OKP Ed25519, with an "alg" (when it
// states one) that fits the key and a "use" (when it states one) of "sig".
// A private or symmetric key is refused, and the message says so without
// quoting any of it. Key IDs must be distinct.
//
// normalised is the set as go-jose writes it back from the public keys: for
// each key its "kty", its public parameters, and "kid", "alg" and "use" when
// present; certificates and unknown members are dropped. keys describes each
// key, in order.
func ParseJWKS(data []byte) (normalised []byte, keys []KeyInfo, err error) {
	parsed, err := parseJWKS(data)
	if err != nil {
		return nil, nil, err
	}
	for i := range parsed {
		info, err := describeKey(&parsed[i])
		if err != nil {
			return nil, nil, fmt.Errorf("key %d%s: %w", i+1, kidNote(parsed[i].KeyID), err)
		}
		keys = append(keys, info)
	}
	normalised, err = json.Marshal(jose.JSONWebKeySet{Keys: parsed})
	if err != nil {
		return nil, nil, fmt.Errorf("writing the key set back: %w", err)
	}
	return normalised, keys, nil
}

// parseJWKS is ParseJWKS without the summary: the public keys, checked.
func parseJWKS(data []byte) ([]jose.JSONWebKey, error) {
	raws, err := splitJWKS(data)
	if err != nil {
		return nil, err
	}
	var keys []jose.JSONWebKey
	for i, raw := range raws {
		k, err := parsePublicKey(raw)
		if err != nil {
			return nil, fmt.Errorf("key %d%s: %w", i+1, kidNote(rawKeyID(raw)), err)
		}
		if k.KeyID != "" {
			if j := slices.IndexFunc(keys, func(o jose.JSONWebKey) bool { return o.KeyID == k.KeyID }); j >= 0 {
				return nil, fmt.Errorf("key %d: key id %s is also the id of key %d", i+1, quote(k.KeyID), j+1)
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// splitJWKS returns the members of a JWK Set's "keys" array, unparsed.
func splitJWKS(data []byte) ([]json.RawMessage, error) {
	if len(data) == 0 {
		return nil, errors.New("the key set is empty")
	}
	if len(data) > maxJWKSSize {
		return nil, fmt.Errorf("the key set is larger than %d bytes", maxJWKSSize)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, jsonProblem("the key set", err)
	}
	rawKeys, ok := doc["keys"]
	if !ok {
		if _, isKey := doc["kty"]; isKey {
			return nil, errors.New(`this is a single key, not a key set: a key set is {"keys": [key, ...]}`)
		}
		return nil, errors.New(`the key set has no "keys" member`)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(rawKeys, &raws); err != nil {
		return nil, errors.New(`the key set's "keys" member is not an array`)
	}
	if len(raws) == 0 {
		return nil, errors.New("the key set holds no keys")
	}
	if len(raws) > maxKeys {
		return nil, fmt.Errorf("the key set holds %d keys, more than %d", len(raws), maxKeys)
	}
	return raws, nil
}

// parsePublicKey parses one JWK and checks that it is a public signing key
// this package can use. Private members are looked for by name before go-jose
// sees the key, so an error about a private key never quotes its content;
// after that, go-jose's messages are about public parameters only.
func parsePublicKey(raw json.RawMessage) (jose.JSONWebKey, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return jose.JSONWebKey{}, errors.New("not a JSON object")
	}
	var kty string
	if m, ok := members["kty"]; !ok {
		return jose.JSONWebKey{}, errors.New(`no key type ("kty")`)
	} else if err := json.Unmarshal(m, &kty); err != nil {
		return jose.JSONWebKey{}, errors.New(`the key type ("kty") is not a string`)
	}
	if kty == "oct" {
		return jose.JSONWebKey{}, errors.New(`a symmetric ("oct") key is a shared secret and is never imported: import the provider's public keys only`)
	}
	var private []string
	for _, name := range privateMembers {
		if _, ok := members[name]; ok {
			private = append(private, name)
		}
	}
	if len(private) > 0 {
		return jose.JSONWebKey{}, fmt.Errorf("a private key (it has %s): import the provider's public keys only, never a private key", strings.Join(private, ", "))
	}
	switch kty {
	case "RSA", "EC", "OKP":
	default:
		return jose.JSONWebKey{}, fmt.Errorf("key type %s is not supported (RSA, EC or OKP)", quote(kty))
	}

	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		if errors.Is(err, jose.ErrUnsupportedKeyType) {
			return jose.JSONWebKey{}, fmt.Errorf("unsupported %s key: its curve or size is not one of RSA of at least 2048 bits, EC P-256, P-384, P-521, or Ed25519", kty)
		}
		return jose.JSONWebKey{}, fmt.Errorf("not a valid %s key: %s", kty, brief(strings.TrimPrefix(err.Error(), "go-jose/go-jose: ")))
	}
	if !k.IsPublic() || !k.Valid() {
		return jose.JSONWebKey{}, fmt.Errorf("not a valid %s public key", kty)
	}
	if rk, ok := k.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < minRSAKeyBits {
		return jose.JSONWebKey{}, fmt.Errorf("an RSA key of %d bits is too small (at least %d)", rk.N.BitLen(), minRSAKeyBits)
	}
	if k.Algorithm != "" {
		if !slices.Contains(signingAlgorithms, k.Algorithm) {
			return jose.JSONWebKey{}, fmt.Errorf("algorithm %s is not a signature algorithm for id tokens (known: %s)", quote(k.Algorithm), strings.Join(signingAlgorithms, ", "))
		}
		if !keyFitsAlg(k.Key, k.Algorithm) {
			return jose.JSONWebKey{}, fmt.Errorf("algorithm %s does not fit this %s key", k.Algorithm, keyKind(k.Key))
		}
	}
	if k.Use != "" && k.Use != "sig" {
		return jose.JSONWebKey{}, fmt.Errorf(`use %s: only a signing key (use "sig") verifies id tokens`, quote(k.Use))
	}
	// Keep the key, its id, algorithm and use; drop certificates, which
	// verification does not read.
	return jose.JSONWebKey{Key: k.Key, KeyID: k.KeyID, Algorithm: k.Algorithm, Use: k.Use}, nil
}

// describeKey summarises a parsed public key.
func describeKey(k *jose.JSONWebKey) (KeyInfo, error) {
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("computing its thumbprint: %s", brief(err.Error()))
	}
	info := KeyInfo{KeyID: k.KeyID, Algorithm: k.Algorithm, Thumbprint: base64.RawURLEncoding.EncodeToString(tp)}
	switch k.Key.(type) {
	case *rsa.PublicKey:
		info.KeyType = "RSA"
	case *ecdsa.PublicKey:
		info.KeyType = "EC"
	case ed25519.PublicKey:
		info.KeyType = "OKP"
	}
	return info, nil
}

// keyFitsAlg reports whether a public key can verify signatures made with alg.
func keyFitsAlg(key any, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		want := map[string]string{"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
		return want != "" && k.Curve.Params().Name == want
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// keyKind names a public key's type for a message.
func keyKind(key any) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return "unknown"
}

// rawKeyID reads "kid" from an unparsed key, for messages; "" when absent or
// not a string.
func rawKeyID(raw json.RawMessage) string {
	var m struct {
		KeyID string `json:"kid"`
	}
	_ = json.Unmarshal(raw, &m)
	return m.KeyID
}

func kidNote(kid string) string {
	if kid == "" {
		return ""
	}
	return " (kid " + quote(kid) + ")"
}

// jsonProblem describes a JSON error without quoting the input: a syntax
// error's own message shows the offending character, which could be part of
// a key.
func jsonProblem(what string, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("%s is not valid JSON (syntax error at byte %d)", what, syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("%s is not a JSON object", what)
	default:
		return fmt.Errorf("%s is not valid JSON", what)
	}
}
