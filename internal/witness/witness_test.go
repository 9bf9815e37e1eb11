package witness

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/witness/witnesstest"
)

// startWitness runs a real litewitness that knows logs, and returns a client
// of it.
func startWitness(t *testing.T, logs ...*testLog) (*witnesstest.Witness, *Client) {
	t.Helper()
	var known []witnesstest.Log
	for _, l := range logs {
		known = append(known, witnesstest.Log{Origin: l.origin, Key: l.vkey})
	}
	w := witnesstest.Start(t, witnesstest.Options{Logs: known})
	key, err := ParseKey(w.Key)
	if err != nil {
		t.Fatalf("ParseKey(the key litewitness printed): %v", err)
	}
	c, err := NewClient(w.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	return w, c
}

// cosign sends l's current checkpoint with a proof from old, fails t unless
// the witness cosigns it, and returns the checkpoint with the cosignature.
func cosign(t *testing.T, c *Client, l *testLog, old int64) []byte {
	t.Helper()
	cp := l.checkpoint(t)
	sigs, err := c.AddCheckpoint(context.Background(), old, l.proof(t, old), cp)
	if err != nil {
		t.Fatalf("AddCheckpoint(old %d, size %d): %v", old, l.n, err)
	}
	if n := strings.Count(string(sigs), "\n"); n != 1 || !strings.HasPrefix(string(sigs), "— "+c.key.Name()+" ") {
		t.Fatalf("AddCheckpoint returned %q, want one cosignature line by %s", sigs, c.key.Name())
	}
	cosigned := append(cp, sigs...)
	if _, err := VerifyCosignature(cosigned, c.key); err != nil {
		t.Fatalf("VerifyCosignature of the witness's answer: %v", err)
	}
	return cosigned
}

// refusal sends l's current checkpoint with a proof from old, and returns
// the *Error the witness's refusal gives.
func refusal(t *testing.T, c *Client, l *testLog, old int64, cp []byte) *Error {
	t.Helper()
	if cp == nil {
		cp = l.checkpoint(t)
	}
	_, err := c.AddCheckpoint(context.Background(), old, l.proof(t, old), cp)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("AddCheckpoint(old %d, size %d) = %v, want a refusal (*Error)", old, l.n, err)
	}
	t.Logf("refused: %v", e)
	if strings.ContainsAny(e.Error(), "\n\r") {
		t.Errorf("the error is not one line: %q", e.Error())
	}
	return e
}

// TestLitewitness runs a log's life against a real litewitness: cosigned
// from nothing, cosigned as it grows, a stale old size answered with the
// witness's size, and a rewritten history refused.
func TestLitewitness(t *testing.T) {
	l := newTestLog(t, "gatehouse.test/audit")
	w, c := startWitness(t, l)

	// A fresh log: old 0, no proof.
	l.grow(t, 3, event)
	cosign(t, c, l, 0)
	if got := w.TreeSize(t, l.origin); got != 3 {
		t.Fatalf("the witness holds size %d after cosigning 3", got)
	}

	// Grown, with a consistency proof from what the witness holds.
	l.grow(t, 7, event)
	cosigned := cosign(t, c, l, 3)
	if _, err := VerifyCosignature(cosigned, c.key); err != nil {
		t.Fatal(err)
	}

	// A stale old size: 409, with the size the witness holds, from which a
	// retry succeeds.
	l.grow(t, 9, event)
	e := refusal(t, c, l, 3, nil)
	if !errors.Is(e, ErrConflict) || e.Status != 409 || e.KnownSize != 7 {
		t.Fatalf("stale old size: got %v (status %d, known size %d), want ErrConflict with known size 7", e, e.Status, e.KnownSize)
	}
	if want := "last cosigned size 7"; !strings.Contains(e.Error(), want) {
		t.Errorf("the conflict error %q does not say %q", e, want)
	}
	cosign(t, c, l, e.KnownSize)

	// A rewritten history: same origin and key, another record at index 2
	// (which the witness has seen), grown past what the witness holds, with
	// a proof computed honestly from the rewritten tree.
	forged := l.fork(t, 12, func(i int64) []byte {
		if i == 2 {
			return []byte("event 2, rewritten\n")
		}
		return event(i)
	})
	e = refusal(t, c, forged, 9, nil)
	if !errors.Is(e, ErrHistoryRewritten) || e.Status != 422 {
		t.Fatalf("rewritten history: got %v (status %d), want ErrHistoryRewritten (422)", e, e.Status)
	}
	if !strings.Contains(e.Error(), "history was rewritten") {
		t.Errorf("the error %q does not say the history was rewritten", e)
	}
	if got := w.TreeSize(t, l.origin); got != 9 {
		t.Errorf("the witness holds size %d after refusing the rewrite, want 9", got)
	}

	// The true log still extends what the witness holds.
	l.grow(t, 12, event)
	cosign(t, c, l, 9)
}

// TestLitewitnessRefusals: a log the witness does not know, and a
// checkpoint signed by another key in the log's name.
func TestLitewitnessRefusals(t *testing.T) {
	known := newTestLog(t, "gatehouse.test/known")
	_, c := startWitness(t, known)

	unknown := newTestLog(t, "gatehouse.test/unknown")
	unknown.grow(t, 2, event)
	e := refusal(t, c, unknown, 0, nil)
	if !errors.Is(e, ErrUnknownLog) || e.Status != 404 {
		t.Errorf("unknown origin: got %v (status %d), want ErrUnknownLog (404)", e, e.Status)
	}
	if !strings.Contains(e.Error(), `"gatehouse.test/unknown"`) {
		t.Errorf("the error %q does not name the origin", e)
	}

	impostor := newTestLog(t, known.origin) // same name, another key
	impostor.grow(t, 2, event)
	e = refusal(t, c, impostor, 0, nil)
	if !errors.Is(e, ErrLogSignature) || e.Status != 403 {
		t.Errorf("checkpoint signed by another key: got %v (status %d), want ErrLogSignature (403)", e, e.Status)
	}

	// The witness has cosigned nothing: the log's own key is still welcome.
	known.grow(t, 2, event)
	cosign(t, c, known, 0)
}

// TestLitewitnessCosignature: a cosignature from the real witness verifies
// with its key only, and over the checkpoint it signed only.
func TestLitewitnessCosignature(t *testing.T) {
	l := newTestLog(t, "gatehouse.test/cosigned")
	_, c := startWitness(t, l)
	l.grow(t, 5, event)
	cosigned := cosign(t, c, l, 0)

	other := newCosigner(t, c.key.Name()).Verifier() // same name, another key
	if _, err := VerifyCosignature(cosigned, other); !errors.Is(err, ErrNoCosignature) {
		t.Errorf("VerifyCosignature with another witness's key = %v, want ErrNoCosignature", err)
	}
	tampered := strings.Replace(string(cosigned), "\n5\n", "\n6\n", 1)
	if _, err := VerifyCosignature([]byte(tampered), c.key); !errors.Is(err, ErrInvalidCosignature) {
		t.Errorf("VerifyCosignature of a tampered body = %v, want ErrInvalidCosignature", err)
	}
	// Only the log's signature left: no cosignature at all.
	if _, err := VerifyCosignature(l.checkpoint(t), c.key); !errors.Is(err, ErrNoCosignature) {
		t.Errorf("VerifyCosignature of the uncosigned checkpoint = %v, want ErrNoCosignature", err)
	}
}
