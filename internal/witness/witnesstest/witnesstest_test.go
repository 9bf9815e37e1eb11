package witnesstest

import (
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestStart checks the harness itself: litewitness comes up, prints the key
// the harness expects of it, and takes a log from witnessctl while it runs.
func TestStart(t *testing.T) {
	const origin = "example.test/witnesstest"
	_, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	w := Start(t, Options{Name: "witness.test/self"})
	if !strings.HasPrefix(w.Key, "witness.test/self+") || !strings.HasPrefix(w.URL, "http://127.0.0.1:") {
		t.Fatalf("Start = URL %q, key %q", w.URL, w.Key)
	}
	w.AddLog(t, Log{Origin: origin, Key: vkey})
	if got := w.TreeSize(t, origin); got != 0 {
		t.Errorf("TreeSize of a new log = %d, want 0", got)
	}
}

func TestPrintedKey(t *testing.T) {
	const out = "time=2026-01-01T00:00:00.000Z level=INFO msg=\"connected to ssh-agent\" addr=/tmp/a.sock\n" +
		"time=2026-01-01T00:00:00.000Z level=INFO msg=\"verifier key\" vkey=w.test/x+0102abcd+BKEY\n"
	got, err := printedKey(out)
	if err != nil || got != "w.test/x+0102abcd+BKEY" {
		t.Errorf("printedKey = %q, %v", got, err)
	}
	if _, err := printedKey("level=INFO msg=listening\n"); err == nil {
		t.Error("printedKey found a key in output without one")
	}
}
