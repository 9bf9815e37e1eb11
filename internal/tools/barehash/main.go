// Command barehash is the floor for `gatehouse support request` as a whole
// process: a bare Go program that computes one argon2id hash with the
// parameters gatehouse uses, and nothing else. docs/performance.md compares
// the two. A fresh process pays for faulting in argon2id's 19 MiB, which a
// warm in-process benchmark (password.BenchmarkHash) does not.
package main

import (
	"fmt"
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/password"
)

func main() {
	if _, err := password.Hash([]byte("correct horse battery staple"), password.OWASP); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
}
