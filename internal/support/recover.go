package support

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"golang.org/x/sys/unix"
)

// fileSHA256 returns the hex SHA-256 of a regular file (not followed if it
// is a symbolic link), "" if it cannot be read or is larger than any
// envelope.
func fileSHA256(path string) string {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || st.Size() > maxEnvelopeFile {
		return ""
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EnvelopeFileMatches reports whether the live credential's envelope file
// is on disk as it was issued, with the audited SHA-256. It is true when
// the credential was not delivered to a file.
func EnvelopeFileMatches(st *sqlite.SupportState) bool {
	if st.EnvelopePath == "" || !st.Credential.HasCredential {
		return true
	}
	return fileSHA256(st.EnvelopePath) == st.EnvelopeSHA256
}

// Recover completes a delivery that was interrupted after its credential
// was committed but before its envelope file was put in place (a crash, a
// failed rename): if the live credential's envelope file is not the one it
// was committed with, and the staged file of its request is, it is renamed
// into place (only that file, only with the audited SHA-256, and only over
// nothing or an earlier envelope). It also removes staged files of requests
// that were never committed. It reports whether it completed a delivery. Requests and
// rotations call it first; so does 'support status'.
func (s *Service) Recover(ctx context.Context) (bool, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	return s.recoverLocked(ctx)
}

// TryRecover is Recover for commands that only report ('support status'):
// it recovers only when the lock is free at once and can be taken here.
// When a request or rotation holds the lock (it recovers first itself),
// or the lock cannot be opened (a store on read-only media, someone else's
// directory), it does nothing and reports false with no error; a lock file
// that is unsafe is still an error.
func (s *Service) TryRecover(ctx context.Context) (bool, error) {
	unlock, err := s.tryLock(ctx)
	switch {
	case errors.Is(err, errLockBusy), errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return false, nil
	case err != nil:
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
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return false, nil // the directory is gone: nothing to complete
	}
	defer dir.Close()
	current := stagedName(path, req)
	// Staged envelopes of other requests were never committed: they hold
	// passwords that never worked. The path is taken literally (no glob),
	// and only gatehouse's own staging directories are removed.
	if entries, err := dir.ReadDir(-1); err == nil {
		for _, e := range entries {
			if name := e.Name(); name != current && isStagedName(path, name) {
				removeStaged(dir, name)
			}
		}
	}
	if fileSHA256(path) == st.EnvelopeSHA256 {
		removeStaged(dir, current) // published already; a leftover is a duplicate
		return false, nil
	}
	priv, err := openPrivateDir(dir, current)
	if err != nil {
		return false, nil // nothing to complete, or not ours to publish
	}
	sf := &stagedFile{dst: path, priv: priv, privName: current, sha256: st.EnvelopeSHA256}
	if sf.verify() != nil {
		priv.Close()
		return false, nil // not the committed envelope: never published
	}
	existing, err := s.replaceable(ctx, path)
	if err != nil {
		priv.Close()
		if gatehouse.ErrorCode(err) == gatehouse.EINVALID {
			return false, nil // something else is there now: not replaced; status warns
		}
		return false, err
	}
	if existing != nil {
		sf.hadDev, sf.hadIno = uint64(existing.Dev), existing.Ino
	}
	// publish closes dir too; it needs its own handle.
	if sf.dir, err = os.Open(filepath.Dir(path)); err != nil {
		priv.Close()
		return false, nil
	}
	if err := sf.publish(); err != nil {
		return false, err
	}
	return true, nil
}

// isStagedName reports whether name is the staging directory of some
// request beside dst: "." + base + "." + request ID + ".tmp", the request
// ID being 26 characters of lower-case base32.
func isStagedName(dst, name string) bool {
	prefix := "." + filepath.Base(dst) + "."
	id, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return false
	}
	id, ok = strings.CutSuffix(id, ".tmp")
	if !ok || len(id) != 26 {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// removeStaged removes a staging directory and its envelope, if the
// directory is this user's private one; anything else is left alone.
func removeStaged(dir *os.File, name string) {
	priv, err := openPrivateDir(dir, name)
	if err != nil {
		return
	}
	unix.Unlinkat(int(priv.Fd()), stagedEnvelope, 0)
	priv.Close()
	unix.Unlinkat(int(dir.Fd()), name, unix.AT_REMOVEDIR)
}
