package support_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/support"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// FuzzParseRecipient: any input is accepted or refused with EINVALID,
// never a panic; a refusal never quotes the input (it could be a private key
// pasted by mistake); an accepted recipient parses again to the same key.
func FuzzParseRecipient(f *testing.F) {
	for _, s := range []string{
		"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN vendor@example",
		"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
		"-----BEGIN OPENSSH PRIVATE KEY-----", "ssh-rsa AAAA", "age1", "", "\x00", "ssh-dss AAAAB3NzaC1kc3M=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := support.ParseRecipient(s)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("code %q", gatehouse.ErrorCode(err))
			}
			if trimmed := strings.TrimSpace(s); len(trimmed) >= 16 && strings.Contains(err.Error(), trimmed) {
				t.Fatalf("the error quotes the input: %v", err)
			}
			return
		}
		again, err := support.ParseRecipient(r.Recipient)
		if err != nil || again.Fingerprint != r.Fingerprint || again.Kind != r.Kind {
			t.Fatalf("canonical form %q does not parse back: %+v %v", r.Recipient, again, err)
		}
	})
}

// FuzzParseEnvelope: decoding never panics, and an accepted envelope
// survives encoding and decoding unchanged.
func FuzzParseEnvelope(f *testing.F) {
	f.Add(`{"version":1,"account":"vendorsupport","password":"abcDEF123-_abcDEF123-_abcDEF123-","login_url":"https://vsa.example.com/","tenant_id":"","request_id":"r1","issued_at":"2026-11-01T10:00:00Z","expires_at":"2026-11-04T10:00:00Z"}`)
	f.Add(`{"version":2}`)
	f.Add(`{"version":1,"account":"a","password":"p","login_url":"u","request_id":"r","issued_at":"2026-11-01T10:00:00Z","expires_at":"2026-11-01T09:00:00Z"}`)
	f.Add(`{"version":1,"extra":true}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		env, err := support.ParseEnvelope([]byte(s))
		if err != nil {
			return
		}
		b, err := json.Marshal(env)
		if err != nil {
			return // a password with characters Secret refuses to write
		}
		again, err := support.ParseEnvelope(b)
		if err != nil || string(again.Password) != string(env.Password) || again.RequestID != env.RequestID ||
			!again.ExpiresAt.Equal(env.ExpiresAt) {
			t.Fatalf("round trip changed the envelope: %+v -> %+v (%v)", env, again, err)
		}
	})
}
