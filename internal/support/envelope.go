package support

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/gatehouse-dev/gatehouse/internal/password"
)

// EnvelopeVersion is the version of the envelope's JSON document. A reader
// must refuse a version it does not know.
const EnvelopeVersion = 1

// Envelope is the document handed to the vendor, encrypted with age. It is
// the only place the password ever appears outside gatehouse's memory.
type Envelope struct {
	Version   int       `json:"version"`
	Account   string    `json:"account"`
	Password  Secret    `json:"password"`
	LoginURL  string    `json:"login_url"`
	TenantID  string    `json:"tenant_id"`
	RequestID string    `json:"request_id"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Secret is a password held as bytes, so that it can be wiped. It marshals
// as a JSON string without passing through a Go string.
type Secret []byte

// MarshalJSON writes the secret as a JSON string. Generated passwords use
// an alphabet that needs no escaping; anything else is refused rather than
// escaped through an unwipeable string.
func (s Secret) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, len(s)+2)
	out = append(out, '"')
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return nil, fmt.Errorf("secret has a character that needs escaping")
		}
		out = append(out, c)
	}
	return append(out, '"'), nil
}

// UnmarshalJSON reads the secret (the vendor's side, and tests).
func (s *Secret) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	*s = Secret(str)
	return nil
}

// Sealed is an encrypted envelope ready for delivery.
type Sealed struct {
	Data []byte
	// SHA256 is the hex digest of Data: it goes in the audit trail, so an
	// envelope found later can be matched to the request that made it.
	SHA256 string
}

// Seal encrypts env to every recipient, optionally ASCII-armored, and wipes
// the plaintext it made. The caller wipes env.Password.
func Seal(env *Envelope, recipients []age.Recipient, armored bool) (Sealed, error) {
	plain, err := json.Marshal(env)
	if err != nil {
		return Sealed{}, fmt.Errorf("encode envelope: %w", err)
	}
	defer password.Wipe(plain)
	var buf bytes.Buffer
	var dst io.Writer = &buf
	var armorer io.WriteCloser
	if armored {
		armorer = armor.NewWriter(&buf)
		dst = armorer
	}
	enc, err := age.Encrypt(dst, recipients...)
	if err != nil {
		return Sealed{}, fmt.Errorf("encrypt envelope: %w", err)
	}
	if _, err := enc.Write(plain); err != nil {
		return Sealed{}, fmt.Errorf("encrypt envelope: %w", err)
	}
	if err := enc.Close(); err != nil {
		return Sealed{}, fmt.Errorf("encrypt envelope: %w", err)
	}
	if armorer != nil {
		if err := armorer.Close(); err != nil {
			return Sealed{}, fmt.Errorf("armor envelope: %w", err)
		}
	}
	sum := sha256.Sum256(buf.Bytes())
	return Sealed{Data: buf.Bytes(), SHA256: hex.EncodeToString(sum[:])}, nil
}

// ParseEnvelope decodes a decrypted envelope strictly: unknown fields, a
// missing field or an unknown version are errors. It is what a vendor-side
// reader does.
func ParseEnvelope(plain []byte) (*Envelope, error) {
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("envelope: trailing data")
	}
	switch {
	case env.Version != EnvelopeVersion:
		return nil, fmt.Errorf("envelope: unsupported version %d", env.Version)
	case env.Account == "" || len(env.Password) == 0 || env.LoginURL == "" || env.RequestID == "":
		return nil, fmt.Errorf("envelope: missing field")
	case env.IssuedAt.IsZero() || !env.ExpiresAt.After(env.IssuedAt):
		return nil, fmt.Errorf("envelope: bad validity period")
	}
	return &env, nil
}
