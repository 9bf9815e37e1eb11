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
	"golang.org/x/crypto/chacha20poly1305"
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
	// Checkpoint is the audit log's latest signed checkpoint (a C2SP
	// signed note, with any witness cosignatures) when the request was
	// made, so that every vendor holds an outside copy of the log head;
	// absent until the log's first 'audit checkpoint'.
	Checkpoint string `json:"checkpoint,omitempty"`
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

// Seal encrypts env to every recipient, optionally ASCII-armored. The
// JSON plaintext is built in one buffer that Seal owns and wipes before it
// returns. The password is copied into nothing else: not into encoding/json
// (whose pooled buffers would keep a copy), and into age only in its last
// read, once age's buffer has room to encrypt it in place (see
// plaintextReader), so no reallocation leaves a copy behind. The caller
// wipes env.Password.
func Seal(env *Envelope, recipients []age.Recipient, armored bool) (Sealed, error) {
	plain, secretAt, err := env.plaintext()
	if err != nil {
		return Sealed{}, fmt.Errorf("encode envelope: %w", err)
	}
	defer password.Wipe(plain)
	enc, err := age.EncryptReader(&plaintextReader{b: plain, secretAt: secretAt}, recipients...)
	if err != nil {
		return Sealed{}, fmt.Errorf("encrypt envelope: %w", err)
	}
	var buf bytes.Buffer
	var dst io.Writer = &buf
	var armorer io.WriteCloser
	if armored {
		armorer = armor.NewWriter(&buf)
		dst = armorer
	}
	if _, err := io.Copy(dst, enc); err != nil {
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

// plaintextReader hands the envelope's plaintext to age's encrypting
// reader. age reads it into a growing buffer and seals it in place, after
// growing the buffer by the AEAD's 16-byte tag; every growth copies what was
// read so far and leaves the old copy to the garbage collector, unwiped. So
// the bytes before the password are read in any pieces, and the password
// and what follows it (the last, short part of the document) in one final
// read that leaves room for the tag: that read lands in the buffer age
// seals in place, and no copy of the password is made. The memory-scanning
// test (TestSealWipesPlaintext) checks this against the age in go.mod.
type plaintextReader struct {
	b        []byte
	off      int
	secretAt int
}

func (r *plaintextReader) Read(p []byte) (int, error) {
	if r.off == len(r.b) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	room := len(p) - chacha20poly1305.Overhead
	if r.off < r.secretAt {
		n := copy(p[:max(1, min(room, len(p)))], r.b[r.off:r.secretAt])
		r.off += n
		return n, nil
	}
	if len(r.b)-r.off > room {
		return 0, fmt.Errorf("read buffer of %d bytes too small for the last %d bytes of the envelope", len(p), len(r.b)-r.off)
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, io.EOF
}

// plaintext encodes env as JSON into a buffer allocated once at its final
// size, which the caller wipes, and reports where the password begins. The
// password is the last member: only the fields before it go through
// encoding/json; the password is copied straight into the buffer, refused
// if JSON would need to escape it.
func (env *Envelope) plaintext() (plain []byte, secretAt int, err error) {
	head, err := json.Marshal(struct {
		Version    int       `json:"version"`
		Account    string    `json:"account"`
		LoginURL   string    `json:"login_url"`
		TenantID   string    `json:"tenant_id"`
		RequestID  string    `json:"request_id"`
		IssuedAt   time.Time `json:"issued_at"`
		ExpiresAt  time.Time `json:"expires_at"`
		Checkpoint string    `json:"checkpoint,omitempty"`
	}{env.Version, env.Account, env.LoginURL, env.TenantID, env.RequestID, env.IssuedAt, env.ExpiresAt, env.Checkpoint})
	if err != nil {
		return nil, 0, err
	}
	for _, c := range env.Password {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			return nil, 0, fmt.Errorf("secret has a character that needs escaping")
		}
	}
	const key = `,"password":"`
	// head is {…}: the password joins it as {…,"password":"…"}.
	out := make([]byte, 0, len(head)-1+len(key)+len(env.Password)+2)
	out = append(out, head[:len(head)-1]...)
	out = append(out, key...)
	secretAt = len(out)
	out = append(out, env.Password...)
	return append(out, '"', '}'), secretAt, nil
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
