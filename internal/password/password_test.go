package password_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/password"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw, err := password.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != password.Length || len(pw)*6 < 128 {
			t.Fatalf("password length %d carries fewer than 128 bits", len(pw))
		}
		if seen[string(pw)] {
			t.Fatal("Generate repeated a password")
		}
		seen[string(pw)] = true
	}
}

func TestHashVerify(t *testing.T) {
	pw := []byte("correct horse battery staple")
	h, err := password.Hash(pw, password.OWASP)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the OWASP parameters", h)
	}
	if bytes.Contains([]byte(h), pw) {
		t.Fatal("hash contains the password")
	}
	if ok, err := password.Verify(h, pw); !ok || err != nil {
		t.Errorf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := password.Verify(h, []byte("correct horse battery stapl")); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
	h2, _ := password.Hash(pw, password.OWASP)
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, err := password.Verify(bad, pw); err != password.ErrMalformedHash {
			t.Errorf("Verify(%q) err = %v, want ErrMalformedHash", bad, err)
		}
	}
}

func TestWipe(t *testing.T) {
	pw, _ := password.Generate()
	password.Wipe(pw)
	if !bytes.Equal(pw, make([]byte, len(pw))) {
		t.Error("Wipe left bytes behind")
	}
}
