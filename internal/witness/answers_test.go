package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestAnswers covers what the real witness does not send: every answer a
// server might give is one kind of *Error, in one line, without the
// server's bytes raw.
func TestAnswers(t *testing.T) {
	l := newTestLog(t, "gatehouse.test/answers")
	l.grow(t, 5, event)
	cp := l.checkpoint(t)
	body := strings.SplitN(string(cp), "\n\n", 2)[0] + "\n"
	witness := newCosigner(t, "witness.test/fake")
	cosignature := func() string {
		t.Helper()
		signed, err := note.Sign(&note.Note{Text: body}, witness)
		if err != nil {
			t.Fatal(err)
		}
		return strings.SplitN(string(signed), "\n\n", 2)[1]
	}
	other := newCosigner(t, "witness.test/fake") // same name, another key
	otherSig := func() string {
		t.Helper()
		signed, err := note.Sign(&note.Note{Text: body}, other)
		if err != nil {
			t.Fatal(err)
		}
		return strings.SplitN(string(signed), "\n\n", 2)[1]
	}

	altered := func() string {
		t.Helper()
		line := strings.TrimSuffix(cosignature(), "\n")
		prefix, b64, _ := strings.Cut(line[len("— "):], " ")
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		sig[len(sig)-1] ^= 1
		return "— " + prefix + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
	}

	type answer struct {
		status      int
		contentType string
		body        string
	}
	for _, tc := range []struct {
		name       string
		answer     answer
		kind       error
		knownSize  int64
		oldSize    int64
		wantInText string
	}{
		{"OK", answer{200, "", cosignature()}, nil, -1, 3, ""},
		{"OKAmongOthers", answer{200, "", otherSig() + cosignature()}, nil, -1, 3, ""},
		{"Conflict", answer{409, "text/x.tlog.size", "4\n"}, ErrConflict, 4, 3, "last cosigned size 4"},
		{"ConflictSameSizeOtherTree", answer{409, "text/x.tlog.size", "5\n"}, ErrHistoryRewritten, 5, 5, "history was rewritten"},
		{"ConflictWithoutSizeType", answer{409, "text/plain", "4\n"}, ErrUnavailable, -1, 3, "without its tree size"},
		{"ConflictBadSize", answer{409, "text/x.tlog.size", "04\n"}, ErrUnavailable, -1, 3, "without its tree size"},
		{"Rewritten", answer{422, "", "bad consistency proof\n"}, ErrHistoryRewritten, -1, 3, `history was rewritten`},
		{"UnknownLog", answer{404, "", ""}, ErrUnknownLog, -1, 3, `does not know the log "gatehouse.test/answers"`},
		{"LogSignature", answer{403, "", ""}, ErrLogSignature, -1, 3, "could not verify the checkpoint's signature"},
		{"BadRequest", answer{400, "", "invalid input\n"}, ErrBadRequest, -1, 3, `malformed (HTTP 400, saying "invalid input")`},
		{"ServerError", answer{500, "", "\x1b[2J\x1b]0;pwned\x07 boom\u202e"}, ErrUnavailable, -1, 3, `HTTP 500, saying "\x1b[2J`},
		{"LongRefusal", answer{503, "", strings.Repeat("x", 5000)}, ErrUnavailable, -1, 3, `…`},
		{"NotSignatureLines", answer{200, "", "hello\n"}, ErrNoCosignature, -1, 3, "its answer: not note signature lines (HTTP 200)"},
		{"NoFinalNewline", answer{200, "", strings.TrimSuffix(cosignature(), "\n")}, ErrNoCosignature, -1, 3, "its answer: not note signature lines (HTTP 200)"},
		{"Empty200", answer{200, "", ""}, ErrNoCosignature, -1, 3, "its answer: not note signature lines (HTTP 200)"},
		{"OtherKeyOnly", answer{200, "", otherSig()}, ErrNoCosignature, -1, 3, "its answer: no cosignature by witness key witness.test/fake"},
		{"UnknownKeyHash", answer{200, "", strings.Replace(cosignature(), "witness.test/fake ", "witness.test/fake AAAA", 1)}, ErrNoCosignature, -1, 3, "no cosignature by witness key"},
		{"AlteredSignature", answer{200, "", altered()}, ErrInvalidCosignature, -1, 3, "the cosignature by witness key witness.test/fake does not verify"},
		{"TooLong", answer{200, "", strings.Repeat(cosignature(), 1000)}, ErrUnavailable, -1, 3, "an answer over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.answer.contentType != "" {
					w.Header().Set("Content-Type", tc.answer.contentType)
				}
				w.WriteHeader(tc.answer.status)
				w.Write([]byte(tc.answer.body))
			}))
			defer srv.Close()
			c, err := NewClient(srv.URL+"/", witness.Verifier())
			if err != nil {
				t.Fatal(err)
			}
			proof := l.proof(t, tc.oldSize)
			sigs, err := c.AddCheckpoint(context.Background(), tc.oldSize, proof, cp)
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				cosigned := append(bytes.Clone(cp), sigs...)
				if _, err := VerifyCosignature(cosigned, witness.Verifier()); err != nil || strings.Count(string(sigs), "\n") != 1 {
					t.Errorf("AddCheckpoint returned %q (%v), want the one cosignature by the client's key", sigs, err)
				}
				if _, err := VerifyCosignature(cosigned, other.Verifier()); !errors.Is(err, ErrNoCosignature) {
					t.Errorf("AddCheckpoint returned a signature by another key: %q", sigs)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.kind) {
				t.Fatalf("AddCheckpoint = %v, want an *Error of kind %v", err, tc.kind)
			}
			msg := e.Error()
			t.Log(msg)
			if e.Status != tc.answer.status || e.KnownSize != tc.knownSize {
				t.Errorf("Status %d, KnownSize %d; want %d, %d", e.Status, e.KnownSize, tc.answer.status, tc.knownSize)
			}
			if !strings.HasPrefix(msg, "witness "+srv.URL+": ") || !strings.Contains(msg, tc.wantInText) {
				t.Errorf("the error %q does not say %q", msg, tc.wantInText)
			}
			if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\u202e' }) {
				t.Errorf("the error %q holds control characters of the server's", msg)
			}
			if len(msg) > 400 {
				t.Errorf("the error is %d bytes long", len(msg))
			}
		})
	}
}

// TestRedirectNotFollowed: a witness that redirects gets no second request.
func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed.Store(true)
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/add-checkpoint", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	l := newTestLog(t, "gatehouse.test/redirect")
	l.grow(t, 1, event)
	c, err := NewClient(srv.URL, newCosigner(t, "witness.test/fake").Verifier())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AddCheckpoint(context.Background(), 0, nil, l.checkpoint(t))
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "redirects are not followed") {
		t.Errorf("AddCheckpoint = %v, want ErrUnavailable saying redirects are not followed", err)
	}
	if followed.Load() {
		t.Error("the client followed the redirect")
	}
}

// TestTransportFailures: no server, and a server that does not answer in
// time, are ErrUnavailable with their cause.
func TestTransportFailures(t *testing.T) {
	l := newTestLog(t, "gatehouse.test/transport")
	l.grow(t, 1, event)
	key := newCosigner(t, "witness.test/fake").Verifier()

	t.Run("Refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c, err := NewClient("http://"+addr, key)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.AddCheckpoint(context.Background(), 0, nil, l.checkpoint(t))
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrUnavailable) || e.Status != 0 {
			t.Fatalf("AddCheckpoint = %v, want ErrUnavailable without a status", err)
		}
		t.Log(err)
	})
	t.Run("Timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		}))
		defer srv.Close()
		defer close(release)
		c, err := NewClient(srv.URL, key)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err = c.AddCheckpoint(ctx, 0, nil, l.checkpoint(t))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("AddCheckpoint = %v, want ErrUnavailable wrapping context.DeadlineExceeded", err)
		}
		t.Log(err)
	})
}

// TestRequests: what the client will not send, and the request it sends
// for a first checkpoint.
func TestRequests(t *testing.T) {
	l := newTestLog(t, "gatehouse.test/requests")
	l.grow(t, 70, event)
	cp := l.checkpoint(t)
	parsed, err := parseSigned(cp)
	if err != nil {
		t.Fatal(err)
	}

	body, err := requestBody(0, nil, cp, parsed)
	if err != nil {
		t.Fatal(err)
	}
	if want := "old 0\n\n" + string(cp); string(body) != want {
		t.Errorf("the first request is %q, want %q", body, want)
	}

	for _, tc := range []struct {
		name       string
		oldSize    int64
		proofLen   int
		checkpoint []byte
		want       string
	}{
		{"NegativeOld", -1, 0, cp, "old size -1"},
		{"OldBeyond", 71, 0, cp, "beyond the checkpoint's size 70"},
		{"ProofFromZero", 0, 1, cp, "must be empty"},
		{"ProofSameSize", 70, 1, cp, "must be empty"},
		{"TooLongProof", 3, MaxProofLines + 1, cp, "more than the protocol's 63"},
		{"Unsigned", 0, 0, []byte(l.body(t)), "not a signed note"},
		{"NotACheckpoint", 0, 0, l.sign(t, "gatehouse.test/requests\nseventy\nAAAA\n"), "not a checkpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient("http://127.0.0.1:1", newCosigner(t, "witness.test/fake").Verifier())
			if err != nil {
				t.Fatal(err)
			}
			proof := l.proof(t, 3)
			for len(proof) < tc.proofLen {
				proof = append(proof, proof[0])
			}
			proof = proof[:tc.proofLen]
			_, err = c.AddCheckpoint(context.Background(), tc.oldSize, proof, tc.checkpoint)
			var e *Error
			if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AddCheckpoint = %v, want a local error saying %q", err, tc.want)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	key := newCosigner(t, "witness.test/fake").Verifier()
	for _, u := range []string{"ftp://w.example", "https://", "https://user:pw@w.example", "https://w.example/?q", "https://w.example/#f", "::"} {
		if _, err := NewClient(u, key); err == nil {
			t.Errorf("NewClient(%q) succeeded", u)
		}
	}
	if _, err := NewClient("https://w.example", nil); err == nil {
		t.Error("NewClient without a key succeeded")
	}
	c, err := NewClient("https://w.example/witness/", key)
	if err != nil || c.URL() != "https://w.example/witness" {
		t.Errorf("NewClient = %v, %v; want the prefix without its final slash", c, err)
	}
}
