//go:build unix

package idptest

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on the existing file path, waiting for
// it, and returns the function that releases it. Closing the file, or the
// process ending, releases it too.
func lockFile(path string) (unlock func(), _ error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
