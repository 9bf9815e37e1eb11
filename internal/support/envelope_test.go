package support_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/gatehouse-dev/gatehouse/internal/support"
)

func sealOpen(t *testing.T, env *support.Envelope) []byte {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	sealed, err := support.Seal(env, []age.Recipient{id.Recipient()}, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed.Data), id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestSealEncoding: the plaintext Seal encrypts is the known-answer vector
// (testdata/vectors/envelope-v1.json) for a fixed envelope, and any
// envelope decodes, as a vendor would, to what was sealed, though Seal
// builds the JSON without encoding/json touching the password.
func TestSealEncoding(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 49, 13, 0, time.UTC)
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", "envelope-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := &support.Envelope{Version: 1, Account: "vendorsupport", Password: support.Secret("abcDEF123-_abcDEF123-_abcDEF123-"),
		LoginURL: "https://vsa.example.com/", RequestID: "ecsk5ysmoqz6edufgrh5kpklll", IssuedAt: at, ExpiresAt: at.Add(72 * time.Hour)}
	if got := sealOpen(t, env); !bytes.Equal(got, want) {
		t.Errorf("sealed plaintext\n got %s\nwant %s", got, want)
	}

	odd := &support.Envelope{Version: 1, Account: "kaseyasupport<&>\u2028\"", Password: support.Secret("p"), LoginURL: "https://[2001:db8::1]:8443/",
		TenantID: "96444123124151159181195912", RequestID: "r", IssuedAt: at.Add(time.Nanosecond), ExpiresAt: at.Add(time.Hour)}
	got, err := support.ParseEnvelope(sealOpen(t, odd))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(odd)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip\n got %s\nwant %s", a, b)
	}

	id, _ := age.GenerateX25519Identity()
	bad := &support.Envelope{Version: 1, Account: "a", Password: support.Secret(`p"w`), LoginURL: "u", RequestID: "r"}
	if _, err := support.Seal(bad, []age.Recipient{id.Recipient()}, false); err == nil {
		t.Error("Seal accepted a password that needs escaping")
	}
}
