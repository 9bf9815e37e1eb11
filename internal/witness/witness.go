// Package witness asks C2SP tlog-witnesses to cosign the audit log's
// checkpoints and checks their cosignatures.
//
// A witness (https://c2sp.org/tlog-witness) keeps, for each log it knows by
// origin and key, the latest checkpoint it cosigned. Given a newer signed
// checkpoint and a consistency proof from that one, it checks the proof and
// answers with a cosignature (https://c2sp.org/tlog-cosignature): a note
// signature line, by the witness's own key, over the checkpoint body and the
// time. A witness on another host therefore holds an outside copy of the log
// head, and refuses to cosign a history that does not extend it.
//
// Client.AddCheckpoint is the one call of the protocol. Its errors are
// *Error values naming what the witness said in one line; errors.Is with
// the Err values below tells them apart, and an ErrConflict carries the
// size the witness holds, from which to prove consistency and try again.
//
// Witness keys are cosignature/v1 Ed25519 verifier keys
// (name+keyhash+base64(0x04 || public key)), the text litewitness prints;
// ParseKey reads one and VerifyCosignature checks a signed checkpoint for a
// cosignature by it. Cosignature verification is filippo.io/torchwood's, the
// library of litewitness's author that implements these specifications; the
// tests check a cosignature litewitness made against the specification
// independently (testdata/litewitness-v0.9.0.txtar).
package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Limits of a request to a witness.
const (
	// Timeout bounds one add-checkpoint request, answer included.
	Timeout = 10 * time.Second
	// MaxProofLines is the most consistency-proof hashes the protocol
	// allows in a request.
	MaxProofLines = 63

	maxAnswer   = 64 << 10 // a 200 answer: note signature lines
	maxRefusal  = 4 << 10  // the body of any other answer, of which...
	maxDetail   = 120      // ...this many bytes are kept, escaped, in Error.Detail
	maxSigLines = 100      // note.Open's own limit on signatures
)

// The kinds of *Error, for errors.Is.
var (
	// ErrConflict: the witness last cosigned a checkpoint of another size
	// than the old size sent (HTTP 409). Error.KnownSize is that size.
	ErrConflict = errors.New("the witness holds a checkpoint of another size")
	// ErrHistoryRewritten: the witness refused the consistency proof from
	// the checkpoint it cosigned last (HTTP 422), or holds a different tree
	// of the same size: the log no longer extends what the witness saw.
	ErrHistoryRewritten = errors.New("the log's history was rewritten")
	// ErrUnknownLog: the witness does not know the checkpoint's origin
	// (HTTP 404).
	ErrUnknownLog = errors.New("the witness does not know the log")
	// ErrLogSignature: no signature on the checkpoint verifies with the log
	// key the witness holds (HTTP 403).
	ErrLogSignature = errors.New("the witness could not verify the log's signature")
	// ErrBadRequest: the witness called the request malformed (HTTP 400).
	ErrBadRequest = errors.New("the witness called the request malformed")
	// ErrUnavailable: no answer, or one the protocol does not have.
	ErrUnavailable = errors.New("the witness is unavailable")
	// ErrNoCosignature: the answer, or a signed checkpoint, carries no
	// cosignature by the witness's key.
	ErrNoCosignature = errors.New("no cosignature by the witness's key")
	// ErrInvalidCosignature: a signature line names the witness's key but
	// does not verify: the checkpoint or the signature was altered.
	ErrInvalidCosignature = errors.New("the witness's cosignature does not verify")
)

// Error is a witness's refusal, or its failure to answer. Error() is one
// line: the witness's URL and what happened, in words a CLI can print. It
// never holds the witness's answer raw: Detail is escaped and clipped.
type Error struct {
	// URL is the witness's submission prefix.
	URL string
	// Status is the HTTP status of the answer; 0 when there was none.
	Status int
	// OldSize and Size are the request's old size and checkpoint size.
	OldSize, Size int64
	// KnownSize is the size of the witness's latest cosigned checkpoint,
	// which it sends with ErrConflict; -1 otherwise.
	KnownSize int64
	// Detail is what the witness said, Go-quoted in ASCII and clipped, or
	// why its answer was unusable, or the transport's error; may be "".
	Detail string

	kind  error // one of the Err values
	cause error // the transport's error, when there is one
	msg   string
}

func (e *Error) Error() string { return "witness " + e.URL + ": " + e.msg }

// Unwrap gives the kind (an Err value) and, for a transport failure, its
// cause, such as context.DeadlineExceeded.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// Client sends checkpoints to one witness.
type Client struct {
	url  string
	key  note.Verifier
	http *http.Client
}

// NewClient returns a client of the witness whose add-checkpoint endpoint is
// submissionPrefix + "/add-checkpoint" and whose cosignatures verify with
// key (see ParseKey). The prefix must be an http or https URL without user
// information, query or fragment. Redirects are never followed.
func NewClient(submissionPrefix string, key note.Verifier) (*Client, error) {
	u, err := url.Parse(submissionPrefix)
	if err != nil {
		return nil, fmt.Errorf("witness URL: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("witness URL: want http:// or https://")
	case u.Host == "":
		return nil, errors.New("witness URL: no host")
	case u.User != nil:
		return nil, errors.New("witness URL: user information is not allowed")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("witness URL: a query or fragment is not allowed")
	case key == nil:
		return nil, errors.New("witness: no key")
	}
	return &Client{
		url: strings.TrimSuffix(u.String(), "/"),
		key: key,
		http: &http.Client{
			Timeout: Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}, nil
}

// URL returns the witness's submission prefix.
func (c *Client) URL() string { return c.url }

// Key is the witness's cosigning key.
func (c *Client) Key() note.Verifier { return c.key }

// Name is the witness's name: its key's.
func (c *Client) Name() string { return c.key.Name() }

// AddCheckpoint asks the witness to cosign checkpoint, a signed note whose
// text is a C2SP checkpoint, given proof, the consistency proof from oldSize
// (the size of the checkpoint the witness cosigned last; 0, with no proof,
// for a witness that has cosigned none). It returns the cosignatures by the
// client's key from the witness's answer, as note signature lines
// ("— name base64\n"), checked, ready to append to checkpoint.
//
// A request it cannot send (a malformed checkpoint, oldSize beyond it, too
// long a proof) is a plain error; anything the witness answers other than a
// valid cosignature is an *Error.
func (c *Client) AddCheckpoint(ctx context.Context, oldSize int64, proof tlog.TreeProof, checkpoint []byte) ([]byte, error) {
	cp, err := parseSigned(checkpoint)
	if err != nil {
		return nil, err
	}
	body, err := requestBody(oldSize, proof, checkpoint, cp)
	if err != nil {
		return nil, err
	}
	e := &Error{URL: c.url, OldSize: oldSize, Size: cp.N, KnownSize: -1}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		e.kind, e.cause = ErrUnavailable, err
		e.Detail = transportDetail(err)
		e.msg = "unavailable: " + e.Detail
		return nil, e
	}
	defer resp.Body.Close()
	e.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxRefusal))
		e.Detail = escape(answer)
		return nil, c.refusal(e, cp, resp.Header.Get("Content-Type"), answer)
	}

	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		e.kind, e.cause = ErrUnavailable, err
		e.Detail = transportDetail(err)
		e.msg = "unavailable: reading its answer: " + e.Detail
		return nil, e
	}
	if len(answer) > maxAnswer {
		e.kind, e.Detail = ErrUnavailable, fmt.Sprintf("an answer over %d bytes", maxAnswer)
		e.msg = "unavailable: it sent " + e.Detail
		return nil, e
	}
	lines, err := c.cosignatures(checkpoint, answer)
	if err != nil {
		e.kind = ErrNoCosignature
		if errors.Is(err, ErrInvalidCosignature) {
			e.kind = ErrInvalidCosignature
		}
		e.Detail = err.Error()
		e.msg = "its answer: " + e.Detail
		return nil, e
	}
	return lines, nil
}

// refusal completes e for an answer other than 200 OK.
func (c *Client) refusal(e *Error, cp torchwood.Checkpoint, contentType string, answer []byte) *Error {
	said := ""
	if e.Detail != "" {
		said = ", saying " + e.Detail
	}
	switch e.Status {
	case http.StatusConflict:
		known, ok := parseSize(contentType, answer)
		if !ok {
			e.kind = ErrUnavailable
			e.msg = fmt.Sprintf("unavailable: it answered HTTP 409 without its tree size as text/x.tlog.size%s", said)
			return e
		}
		e.KnownSize = known
		if known == e.OldSize && known == e.Size {
			e.kind = ErrHistoryRewritten
			e.msg = fmt.Sprintf("the log's history was rewritten: it cosigned another tree of size %d for %q (HTTP 409)", known, cp.Origin)
			return e
		}
		e.kind = ErrConflict
		e.msg = fmt.Sprintf("it last cosigned size %d of %q, not %d: prove consistency from size %d (HTTP 409)", known, cp.Origin, e.OldSize, known)
	case http.StatusUnprocessableEntity:
		e.kind = ErrHistoryRewritten
		e.msg = fmt.Sprintf("the log's history was rewritten: it refused the proof that size %d of %q extends size %d, which it cosigned (HTTP 422%s)", e.Size, cp.Origin, e.OldSize, said)
	case http.StatusNotFound:
		e.kind = ErrUnknownLog
		e.msg = fmt.Sprintf("it does not know the log %q (HTTP 404%s)", cp.Origin, said)
	case http.StatusForbidden:
		e.kind = ErrLogSignature
		e.msg = fmt.Sprintf("it could not verify the checkpoint's signature with the key it holds for %q (HTTP 403%s)", cp.Origin, said)
	case http.StatusBadRequest:
		e.kind = ErrBadRequest
		e.msg = fmt.Sprintf("it called the request malformed (HTTP 400%s)", said)
	default:
		e.kind = ErrUnavailable
		e.msg = fmt.Sprintf("unavailable: HTTP %d%s", e.Status, said)
		if e.Status >= 300 && e.Status < 400 {
			e.msg += " (redirects are not followed)"
		}
	}
	return e
}

// parseSize reads a 409 answer: a text/x.tlog.size body, the size in
// decimal and a newline.
func parseSize(contentType string, answer []byte) (int64, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "text/x.tlog.size" {
		return 0, false
	}
	s, ok := strings.CutSuffix(string(answer), "\n")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return n, true
}

// cosignatures checks a 200 answer: note signature lines, among which a
// valid cosignature of checkpoint by c.key. It returns those by c.key. Its
// errors wrap ErrNoCosignature or ErrInvalidCosignature.
func (c *Client) cosignatures(checkpoint, answer []byte) ([]byte, error) {
	malformed := &kindError{ErrNoCosignature, "not note signature lines (HTTP 200)"}
	if len(answer) == 0 || answer[len(answer)-1] != '\n' || !utf8.Valid(answer) {
		return nil, malformed
	}
	n := 0
	for line := range strings.Lines(string(answer)) {
		if n++; n > maxSigLines || !strings.HasPrefix(line, "— ") || strings.Count(line, " ") != 2 {
			return nil, malformed
		}
	}
	signed, err := openCosigned(append(bytes.Clone(checkpoint), answer...), c.key)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, s := range signed.Sigs {
		out = fmt.Appendf(out, "— %s %s\n", s.Name, s.Base64)
	}
	return out, nil
}

// requestBody is an add-checkpoint request: the old size line, one line per
// proof hash, an empty line, and the signed checkpoint.
func requestBody(oldSize int64, proof tlog.TreeProof, checkpoint []byte, cp torchwood.Checkpoint) ([]byte, error) {
	switch {
	case oldSize < 0:
		return nil, fmt.Errorf("witness request: old size %d", oldSize)
	case oldSize > cp.N:
		return nil, fmt.Errorf("witness request: old size %d is beyond the checkpoint's size %d", oldSize, cp.N)
	case len(proof) > MaxProofLines:
		return nil, fmt.Errorf("witness request: %d proof hashes, more than the protocol's %d", len(proof), MaxProofLines)
	case (oldSize == 0 || oldSize == cp.N) && len(proof) != 0:
		return nil, fmt.Errorf("witness request: a consistency proof from size %d to %d must be empty", oldSize, cp.N)
	}
	body := fmt.Appendf(nil, "old %d\n", oldSize)
	for _, h := range proof {
		body = append(body, h.String()...)
		body = append(body, '\n')
	}
	body = append(body, '\n')
	return append(body, checkpoint...), nil
}

// parseSigned parses the text of a signed note as a checkpoint, checking
// that signature lines follow it; the signatures themselves are the
// witness's to check.
func parseSigned(signed []byte) (torchwood.Checkpoint, error) {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 || len(signed) == i+2 || !bytes.HasSuffix(signed, []byte("\n")) || !bytes.HasPrefix(signed[i+2:], []byte("— ")) {
		return torchwood.Checkpoint{}, errors.New("witness request: the checkpoint is not a signed note")
	}
	cp, err := torchwood.ParseCheckpoint(string(signed[:i+1]))
	if err != nil {
		return torchwood.Checkpoint{}, fmt.Errorf("witness request: the signed note is not a checkpoint: %v", err)
	}
	return cp, nil
}

// ParseKey parses a witness's cosignature/v1 Ed25519 verifier key,
// name+keyhash+base64(0x04 || public key), as litewitness prints it. The
// error never repeats the key.
func ParseKey(vkey string) (note.Verifier, error) {
	vkey = strings.TrimSpace(vkey)
	v, err := torchwood.NewCosignatureVerifier(vkey)
	if err == nil {
		return v, nil
	}
	if _, err := note.NewVerifier(vkey); err == nil {
		return nil, errors.New("witness key: this is a log's note signing key (Ed25519), not a witness's cosignature/v1 key")
	}
	return nil, fmt.Errorf("witness key: want name+keyhash+base64(0x04 || Ed25519 public key): %v", err)
}

// VerifyCosignature checks that signed, a signed checkpoint, carries a valid
// cosignature by key (from ParseKey), and returns the time the witness
// says it cosigned. Other signatures are ignored. It fails with
// ErrNoCosignature when no signature line names key, and with
// ErrInvalidCosignature when one does but does not verify.
func VerifyCosignature(signed []byte, key note.Verifier) (time.Time, error) {
	n, err := openCosigned(signed, key)
	if err != nil {
		return time.Time{}, err
	}
	for _, s := range n.Sigs {
		if s.Name == key.Name() && s.Hash == key.KeyHash() {
			t, err := torchwood.CosignatureTimestamp(s)
			if err != nil {
				return time.Time{}, &kindError{ErrInvalidCosignature, fmt.Sprintf("the cosignature by witness key %s: %v", key.Name(), err)}
			}
			return time.Unix(t, 0), nil
		}
	}
	return time.Time{}, &kindError{ErrNoCosignature, "no cosignature by witness key " + key.Name()}
}

// openCosigned opens a signed note with key as the one known verifier. Its
// errors are *kindError, of kind ErrNoCosignature or ErrInvalidCosignature.
func openCosigned(signed []byte, key note.Verifier) (*note.Note, error) {
	n, err := note.Open(signed, note.VerifierList(key))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return nil, &kindError{ErrNoCosignature, "no cosignature by witness key " + key.Name()}
	case errors.As(err, &invalid):
		return nil, &kindError{ErrInvalidCosignature, "the cosignature by witness key " + key.Name() + " does not verify: the checkpoint or the signature was altered"}
	case err != nil:
		return nil, &kindError{ErrNoCosignature, fmt.Sprintf("no cosignature by witness key %s: the signed checkpoint is malformed (%v)", key.Name(), err)}
	}
	return n, nil
}

// kindError is an error of one of the Err kinds, in words of its own.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// escape returns at most maxDetail bytes of a witness's answer, trimmed and
// Go-quoted in ASCII, so that no control or bidirectional character of the
// witness's choosing reaches a terminal; "" for an empty answer.
func escape(answer []byte) string {
	s := strings.TrimSpace(string(answer))
	if s == "" {
		return ""
	}
	clipped := len(s) > maxDetail
	if clipped {
		s = s[:maxDetail]
	}
	q := strconv.QuoteToASCII(s)
	if clipped {
		q += "…"
	}
	return q
}

// transportDetail is a transport error without the method and URL that
// net/http puts in front (the *Error names the witness already).
func transportDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
