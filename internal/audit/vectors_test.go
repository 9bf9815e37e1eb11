package audit_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// vector is one known-answer test of the event encoding: an event as the
// store keeps it, the bytes its hash covers and the hash. The file was
// produced once, by the encoding every existing store was sealed with, and
// checked against an independent implementation; it is never regenerated.
// If this test fails, the encoding changed and existing stores would no
// longer verify: change the domain tag (a new version) instead.
type vector struct {
	Seq       int64  `json:"seq"`
	Time      string `json:"time"`
	Actor     string `json:"actor"`
	OSUser    string `json:"os_user"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	Outcome   string `json:"outcome"`
	Details   string `json:"details"`
	PrevHash  string `json:"prev_hash"`
	Canonical string `json:"canonical"`
	Hash      string `json:"hash"`
}

func TestKnownAnswerVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 4 {
		t.Fatalf("%d vectors, want at least 4", len(vs))
	}
	v := audit.Verifier{}
	var tree audit.TreeBuilder
	for i, vec := range vs {
		tm, err := audit.ParseTime(vec.Time)
		if err != nil {
			t.Fatalf("vector %d: time %q: %v", vec.Seq, vec.Time, err)
		}
		if got := audit.FormatTime(tm); got != vec.Time {
			t.Errorf("vector %d: FormatTime = %q, want the stored %q", vec.Seq, got, vec.Time)
		}
		ev := gatehouse.Event{
			Seq: vec.Seq, Time: tm, Actor: vec.Actor, OSUser: vec.OSUser, Action: vec.Action, Target: vec.Target,
			Outcome: gatehouse.Outcome(vec.Outcome), Details: json.RawMessage(vec.Details), PrevHash: vec.PrevHash,
		}
		c, err := audit.Canonical(&ev)
		if err != nil {
			t.Fatalf("vector %d: %v", vec.Seq, err)
		}
		if got := hex.EncodeToString(c); got != vec.Canonical {
			t.Errorf("vector %d: canonical encoding\n got %s\nwant %s", vec.Seq, got, vec.Canonical)
		}
		sum := sha256.Sum256(c)
		if hex.EncodeToString(sum[:]) != vec.Hash {
			t.Errorf("vector %d: the file's hash is not SHA-256 of its canonical bytes", vec.Seq)
		}
		h, err := audit.Hash(&ev)
		if err != nil || h != vec.Hash {
			t.Errorf("vector %d: Hash = %s, %v; want %s", vec.Seq, h, err, vec.Hash)
		}
		if i == 0 && vec.PrevHash != audit.GenesisHash || i > 0 && vec.PrevHash != vs[i-1].Hash {
			t.Errorf("vector %d: previous hash does not link to the vector before it", vec.Seq)
		}
		ev.Hash = vec.Hash
		if !v.Add(&ev, audit.EncodeStored(tree.Add(tlog.RecordHash(c)))) {
			t.Errorf("vector %d: verifier refused it: %+v", vec.Seq, v.Finish(0).Fault)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		const s = "2026-01-02T03:04:05.000000001Z"
		tm, err := audit.ParseTime(s)
		if err != nil || audit.FormatTime(tm) != s {
			t.Fatalf("ParseTime(%q) = %v, %v", s, tm, err)
		}
	})
	// Each of these is accepted by time.Parse with TimeLayout, as the same
	// instant or another, but is not the text FormatTime writes.
	for _, s := range []string{
		"2026-01-02T3:04:05.000000000Z",  // one-digit hour
		"2026-01-02T03:04:05,000000000Z", // comma as decimal mark
		"2026-01-02T03:04:05Z",           // no fraction
		"2026-01-02T03:04:05.0Z",         // short fraction
		"2026-01-02T03:04:05.000000000z",
		"yesterday",
		"",
	} {
		if _, err := audit.ParseTime(s); !errors.Is(err, audit.ErrTimeForm) {
			t.Errorf("ParseTime(%q) err = %v, want ErrTimeForm", s, err)
		}
	}
}
