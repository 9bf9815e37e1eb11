package support

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"golang.org/x/sys/unix"
)

// An envelope file is staged in a private directory (mode 0700, owned by
// the user gatehouse runs as) created beside its destination, and published
// by renaming it from that directory into place. Both directories are held
// open from staging to publication and the rename is relative to them
// (renameat), so someone who can write the --out directory, but is not
// gatehouse's user, cannot swap what is published: moving the private
// directory aside or putting another in its place changes nothing, and
// nobody else can write into it. Before the rename the file is checked
// again to be the one written, with the audited SHA-256.

// stagedEnvelope is the name of the envelope file inside its private directory.
const stagedEnvelope = "envelope"

// stagedName is the private directory of request requestID beside dst. It
// is derived from the request, so that a delivery interrupted after the
// commit can be found and completed (Recover).
func stagedName(dst, requestID string) string {
	return "." + filepath.Base(dst) + "." + requestID + ".tmp"
}

// stagedFile is an envelope written and synced in its private directory,
// not yet in place. publish renames it over the destination; abort
// removes it.
type stagedFile struct {
	dst      string   // absolute destination path
	dir      *os.File // dst's directory, opened when staging
	priv     *os.File // the private directory inside it
	privName string
	dev, ino uint64 // the file written
	sha256   string // its hex digest, the audited one
	// had is the file at dst when staging began (0 inode: none); publish
	// refuses to replace anything else.
	hadDev, hadIno uint64
}

// stageFile writes data to the private directory of requestID beside dst
// and syncs it, so that the later rename publishes a complete file or
// nothing. existing is the file at dst that may be replaced (nil: none).
func stageFile(dst, requestID string, data []byte, sha string, existing *unix.Stat_t) (*stagedFile, error) {
	fail := func(err error) error {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot write the envelope to %s: %v", dst, gatehouse.PathCause(err))
	}
	dir, err := os.Open(filepath.Dir(dst))
	if err != nil {
		return nil, fail(err)
	}
	s := &stagedFile{dst: dst, dir: dir, privName: stagedName(dst, requestID), sha256: sha}
	if existing != nil {
		s.hadDev, s.hadIno = uint64(existing.Dev), existing.Ino
	}
	if err := unix.Mkdirat(int(dir.Fd()), s.privName, 0o700); err != nil {
		dir.Close()
		return nil, fail(&os.PathError{Op: "mkdir", Path: filepath.Join(filepath.Dir(dst), s.privName), Err: err})
	}
	if s.priv, err = openPrivateDir(dir, s.privName); err != nil {
		s.abort()
		return nil, fail(err)
	}
	fd, err := unix.Openat(int(s.priv.Fd()), stagedEnvelope, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		s.abort()
		return nil, fail(&os.PathError{Op: "open", Path: dst, Err: err})
	}
	f := os.NewFile(uintptr(fd), stagedEnvelope)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	var st unix.Stat_t
	if err == nil {
		err = unix.Fstat(fd, &st)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.priv.Sync()
	}
	if err != nil {
		s.abort()
		return nil, fail(err)
	}
	s.dev, s.ino = uint64(st.Dev), st.Ino
	return s, nil
}

// openPrivateDir opens the directory name inside dir, not following a
// symbolic link, and checks that only this process's user can write into
// it: owned by it, no access for group or others.
func openPrivateDir(dir *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is not a private directory of this user", name)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// verify checks that the staged file is still the one written, and that
// its content has the audited SHA-256.
func (s *stagedFile) verify() error {
	fd, err := unix.Openat(int(s.priv.Fd()), stagedEnvelope, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: s.dst, Err: err}
	}
	f := os.NewFile(uintptr(fd), stagedEnvelope)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if s.ino != 0 && (uint64(st.Dev) != s.dev || st.Ino != s.ino) {
		return errors.New("the staged envelope was replaced")
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxEnvelopeFile+1)); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != s.sha256 {
		return errors.New("the staged envelope is not the one sealed")
	}
	return nil
}

// maxEnvelopeFile bounds what is read of a file that might be an envelope.
// Envelopes are a few hundred bytes per recipient.
const maxEnvelopeFile = 4 << 20

// publish puts the staged file in place: only the file this process
// wrote, with the audited SHA-256, and only over what was at the
// destination when staging began.
func (s *stagedFile) publish() error {
	defer s.close()
	fail := func(err error) error {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot put the envelope in place at %s: %v", s.dst, gatehouse.PathCause(err))
	}
	if err := s.verify(); err != nil {
		return fail(err)
	}
	base := filepath.Base(s.dst)
	var st unix.Stat_t
	switch err := unix.Fstatat(int(s.dir.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case errors.Is(err, unix.ENOENT):
		// Nothing there (any longer): nothing is replaced.
	case err != nil:
		return fail(err)
	case uint64(st.Dev) != s.hadDev || st.Ino != s.hadIno:
		return fail(fmt.Errorf("another file was put there while the envelope was being delivered; refusing to replace it"))
	}
	if err := unix.Renameat(int(s.priv.Fd()), stagedEnvelope, int(s.dir.Fd()), base); err != nil {
		return fail(err)
	}
	// Sync the directory so the rename itself survives a crash.
	s.dir.Sync()
	unix.Unlinkat(int(s.dir.Fd()), s.privName, unix.AT_REMOVEDIR)
	return nil
}

// abort removes a staged file and its private directory.
func (s *stagedFile) abort() {
	if s.priv != nil {
		unix.Unlinkat(int(s.priv.Fd()), stagedEnvelope, 0)
	}
	unix.Unlinkat(int(s.dir.Fd()), s.privName, unix.AT_REMOVEDIR)
	s.close()
}

func (s *stagedFile) close() {
	if s.priv != nil {
		s.priv.Close()
	}
	s.dir.Close()
}

// Issued reports whether an envelope with this SHA-256 (hex) was issued
// by a committed support request or rotation: the audit trail records
// each envelope's digest.
type Issued func(sha256Hex string) (bool, error)

// replaceable checks what is at the envelope's destination abs before
// anything is staged: nothing, or the envelope of an earlier request or
// rotation (its SHA-256 is in the audit trail), which may be replaced. Like
// 'store backup', it refuses to replace anything else (exit 2). It returns
// the file found, nil if none.
func replaceable(abs string, issued Issued) (*unix.Stat_t, error) {
	refuse := gatehouse.Errorf(gatehouse.EINVALID, "%s already exists and is not an envelope gatehouse issued; refusing to replace it", abs)
	var st unix.Stat_t
	if err := unix.Lstat(abs, &st); err != nil {
		return nil, nil // nothing there, or the directory cannot be used: staging says which
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "cannot write the envelope to %s: it is a directory", abs)
	case unix.S_IFREG:
	default:
		return nil, refuse
	}
	if st.Size > maxEnvelopeFile {
		return nil, refuse
	}
	f, err := os.OpenFile(abs, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot read %s: %v", abs, gatehouse.PathCause(err))
	}
	defer f.Close()
	var fst unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &fst); err != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
		return nil, refuse
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxEnvelopeFile+1)); err != nil {
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot read %s: %v", abs, gatehouse.PathCause(err))
	}
	ok, err := issued(hex.EncodeToString(h.Sum(nil)))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refuse
	}
	return &st, nil
}

// postAttempts bounds how often delivery to the endpoint is tried.
const postAttempts = 3

// TestOnlyRetryDelay is the pause between attempts; tests shorten it.
var TestOnlyRetryDelay = time.Second

// post delivers the envelope to the vendor's endpoint: up to postAttempts
// tries, each bounded by timeout, retrying on network errors, 5xx and 429,
// and succeeding only on a 2xx answer from the endpoint itself. Redirects
// are never followed: a 302 would become a bodyless GET counted as a
// delivery, a 307 would re-POST the envelope to a host that was never
// configured (past the https/loopback rule), so any 3xx is a failure.
//
// Every attempt carries the request ID as its Idempotency-Key, the same on
// each retry: an attempt that timed out may still have been received, and
// the vendor can drop the duplicate. The body is the encrypted envelope;
// nothing secret is in the request otherwise.
func post(ctx context.Context, client *http.Client, endpoint, requestID string, data []byte, armored bool, timeout time.Duration) error {
	noRedirects := *client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var last error
	for attempt := 1; attempt <= postAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return gatehouse.Wrap(gatehouse.EUNAVAILABLE, ctx.Err(), "delivery to %s interrupted", endpoint)
			case <-time.After(TestOnlyRetryDelay * time.Duration(attempt-1)):
			}
		}
		retry, err := postOnce(ctx, &noRedirects, endpoint, requestID, data, armored, timeout)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return gatehouse.Wrap(gatehouse.EUNAVAILABLE, last, "delivery to %s failed: %v", endpoint, last)
}

func postOnce(ctx context.Context, client *http.Client, endpoint, requestID string, data []byte, armored bool, timeout time.Duration) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if armored {
		req.Header.Set("Content-Type", "text/plain; charset=us-ascii")
	}
	req.Header.Set("User-Agent", "gatehouse")
	// IETF draft-ietf-httpapi-idempotency-key-header: a quoted string.
	req.Header.Set("Idempotency-Key", `"`+requestID+`"`)
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return true, fmt.Errorf("no answer within %s", timeout)
		}
		return true, fmt.Errorf("%v", errors.Unwrap(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return false, fmt.Errorf("the endpoint answered %s: redirects are not followed", resp.Status)
	}
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests,
		fmt.Errorf("the endpoint answered %s", resp.Status)
}
