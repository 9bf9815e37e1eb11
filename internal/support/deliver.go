package support

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// stagedFile is an envelope written to a temporary file beside its
// destination, not yet in place. publish renames it over the destination
// (atomic on one file system); abort removes it.
type stagedFile struct {
	tmp, dst string
}

// stagedName is where the envelope of request requestID waits beside dst.
// It is derived from the request, so that a delivery interrupted after the
// commit can be found and completed (Recover).
func stagedName(dst, requestID string) string {
	return filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+"."+requestID+".tmp")
}

// stageFile writes data to a new 0600 file beside dst and syncs it, so that
// the later rename publishes a complete file or nothing.
func stageFile(dst, requestID string, data []byte) (*stagedFile, error) {
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "cannot write the envelope to %s: it is a directory", dst)
	}
	tmp := stagedName(dst, requestID)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot write the envelope to %s: %v", dst, gatehouse.PathCause(err))
	}
	s := &stagedFile{tmp: tmp, dst: dst}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.abort()
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot write the envelope to %s: %v", dst, gatehouse.PathCause(err))
	}
	return s, nil
}

func (s *stagedFile) publish() error {
	if err := os.Rename(s.tmp, s.dst); err != nil {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot put the envelope in place at %s: %v", s.dst, gatehouse.PathCause(err))
	}
	// Sync the directory so the rename itself survives a crash.
	if d, err := os.Open(filepath.Dir(s.dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (s *stagedFile) abort() { os.Remove(s.tmp) }

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
