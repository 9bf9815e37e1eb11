//go:build unix

package witnesstest

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path, creating the file if need be,
// waiting for the lock, and returns the function that releases it. Closing
// the file, or the process ending, releases it too.
func lockFile(path string) (unlock func(), _ error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
