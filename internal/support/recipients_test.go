package support_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/gatehouse-dev/gatehouse/internal/support"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestParseRecipientPQPrefix: the post-quantum prefix is "age1pq1" (the
// Bech32 HRP "age1pq" and its separator). An ordinary X25519 recipient whose
// data happens to start with "pq" (about 1 in 1,024 keys) is accepted and
// works; a real post-quantum recipient is still refused.
func TestParseRecipientPQPrefix(t *testing.T) {
	keyFile, err := os.ReadFile(filepath.Join("..", "..", "testdata", "keys", "x25519-age1pq.key"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(keyFile))
	if err != nil || len(ids) != 1 {
		t.Fatalf("test key: %v", err)
	}
	id := ids[0].(*age.X25519Identity)
	pub := id.Recipient().String()
	if !strings.HasPrefix(pub, "age1pq") || strings.HasPrefix(pub, "age1pq1") {
		t.Fatalf("test key %s does not start with age1pq (and not age1pq1)", pub)
	}

	t.Run("OK", func(t *testing.T) {
		r, err := support.ParseRecipient(pub)
		if err != nil {
			t.Fatalf("ParseRecipient(%s) = %v, want accepted", pub, err)
		}
		if r.Kind != "x25519" || r.Recipient != pub {
			t.Fatalf("got %+v", r)
		}
		rs, _, err := support.ParseRecipientsFile(strings.NewReader("# vendor\n"+pub+"\n"), "vendor.txt")
		if err != nil || len(rs) != 1 {
			t.Fatalf("recipients file: %v", err)
		}
		// A sealed envelope opens with the key.
		env := &support.Envelope{Version: support.EnvelopeVersion, Account: "vendorsupport", Password: support.Secret("x"),
			LoginURL: "https://vsa.example.com/", RequestID: "r"}
		sealed, err := support.Seal(env, []age.Recipient{id.Recipient()}, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := age.Decrypt(bytes.NewReader(sealed.Data), id); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrPostQuantum", func(t *testing.T) {
		pq, err := age.GenerateHybridIdentity()
		if err != nil {
			t.Fatal(err)
		}
		s := pq.Recipient().String()
		if !strings.HasPrefix(s, "age1pq1") {
			t.Fatalf("hybrid recipient %.10s… does not start with age1pq1", s)
		}
		_, err = support.ParseRecipient(s)
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID || !strings.Contains(err.Error(), "post-quantum") {
			t.Fatalf("ParseRecipient(post-quantum) = %v, want refused as post-quantum", err)
		}
	})
}
