package support

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// fileSHA256 returns the hex SHA-256 of a file, "" if it cannot be read.
func fileSHA256(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Recover completes a delivery that was interrupted after its credential
// was committed but before its envelope file was put in place (a crash, a
// failed rename): if the live credential's envelope file is not the one it
// was committed with, and the staged file of its request is, it is renamed
// into place. It also removes staged files of requests that were never
// committed. It reports whether it completed a delivery. Requests and
// rotations call it first; so does 'support status'.
func (s *Service) Recover(ctx context.Context) (bool, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	return s.recoverLocked(ctx)
}

func (s *Service) recoverLocked(ctx context.Context) (bool, error) {
	st, err := s.DB.SupportState(ctx)
	if err != nil || st.EnvelopePath == "" || !st.Credential.HasCredential {
		return false, err
	}
	path, req := st.EnvelopePath, st.Credential.RequestID
	staged := stagedName(path, req)
	// Staged files of other requests were never committed: they hold
	// passwords that never worked.
	if olds, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")); len(olds) > 0 {
		for _, old := range olds {
			if old != staged {
				os.Remove(old)
			}
		}
	}
	if fileSHA256(path) == st.EnvelopeSHA256 {
		os.Remove(staged) // published already; a leftover is a duplicate
		return false, nil
	}
	if _, err := os.Stat(staged); errors.Is(err, fs.ErrNotExist) || fileSHA256(staged) != st.EnvelopeSHA256 {
		return false, nil // nothing to complete: the file was moved or replaced by someone else
	}
	if err := (&stagedFile{tmp: staged, dst: path}).publish(); err != nil {
		return false, err
	}
	return true, nil
}
