package support

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"

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

// EnvelopeFileMatches reports whether the envelope file at path is on
// disk as it was issued, with the audited SHA-256 (hex). It is true when
// the credential was not delivered to a file (path "").
func EnvelopeFileMatches(path, sha256Hex string) bool {
	if path == "" {
		return true
	}
	return fileSHA256(path) == sha256Hex
}

// CompleteDelivery completes a delivery that was interrupted after its
// credential was committed but before its envelope file was put in place
// (a crash, a failed rename): if the envelope file at path is not the one
// committed (sha256Hex), and the staged file of requestID is, it is renamed
// into place — only that file, only with the audited SHA-256, and only
// over nothing or an earlier envelope (issued says which are). It also
// removes staged files of requests that were never committed. It reports
// whether it completed a delivery. The caller holds the support lock.
func CompleteDelivery(path, requestID, sha256Hex string, issued Issued) (bool, error) {
	if path == "" {
		return false, nil
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return false, nil // the directory is gone: nothing to complete
	}
	defer dir.Close()
	current := stagedName(path, requestID)
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
	if fileSHA256(path) == sha256Hex {
		removeStaged(dir, current) // published already; a leftover is a duplicate
		return false, nil
	}
	priv, err := openPrivateDir(dir, current)
	if err != nil {
		return false, nil // nothing to complete, or not ours to publish
	}
	sf := &stagedFile{dst: path, priv: priv, privName: current, sha256: sha256Hex}
	if sf.verify() != nil {
		priv.Close()
		return false, nil // not the committed envelope: never published
	}
	existing, err := replaceable(path, issued)
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
