//go:build !unix

package idptest

// lockFile does not lock where there is no flock: test binaries that run
// at once may then run npm ci at once, so run `make idp-deps` first.
func lockFile(string) (unlock func(), _ error) { return func() {}, nil }
