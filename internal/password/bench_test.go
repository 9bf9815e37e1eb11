package password_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/password"
)

// BenchmarkHash: argon2id with the OWASP parameters, the floor under every
// support request and logon.
func BenchmarkHash(b *testing.B) {
	pw, _ := password.Generate()
	for range b.N {
		if _, err := password.Hash(pw, password.OWASP); err != nil {
			b.Fatal(err)
		}
	}
}
