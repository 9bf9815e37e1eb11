package audit_test

import (
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// decode reads a canonical encoding back into its parts; it is the inverse
// the encoding must have for hashes to be unambiguous.
func decode(t *testing.T, b []byte) (seq uint64, prev []byte, fields []string) {
	const tag = "gatehouse/audit/v1\x00"
	if string(b[:len(tag)]) != tag {
		t.Fatal("no domain tag")
	}
	b = b[len(tag):]
	seq, b = binary.BigEndian.Uint64(b), b[8:]
	prev, b = b[:32], b[32:]
	for len(b) > 0 {
		n := binary.BigEndian.Uint32(b)
		fields, b = append(fields, string(b[4:4+n])), b[4+n:]
	}
	return seq, prev, fields
}

// FuzzCanonicalRoundTrip: the canonical encoding decodes back to exactly
// the event's fields, whatever bytes they hold, so no two different events
// share an encoding (and so a hash).
func FuzzCanonicalRoundTrip(f *testing.F) {
	f.Add(int64(1), int64(0), "alice", "root", "store.init", "store", "success", `{"a":1}`)
	f.Add(int64(9), int64(1767225600000000000), "a\x00b", "", "x.y", "t\nu", "denied", "{}")
	f.Fuzz(func(t *testing.T, seq, nanos int64, actor, osUser, action, target, outcome, details string) {
		if seq < 1 {
			return
		}
		ev := gatehouse.Event{Seq: seq, Time: time.Unix(0, nanos).UTC(), Actor: actor, OSUser: osUser, Action: action,
			Target: target, Outcome: gatehouse.Outcome(outcome), Details: []byte(details), PrevHash: audit.GenesisHash}
		b, err := audit.Canonical(&ev)
		if err != nil {
			t.Fatal(err)
		}
		gotSeq, prev, fields := decode(t, b)
		want := []string{audit.FormatTime(ev.Time), actor, osUser, action, target, outcome, details}
		if gotSeq != uint64(seq) || hex.EncodeToString(prev) != ev.PrevHash || len(fields) != len(want) {
			t.Fatalf("decoded seq %d prev %x fields %q", gotSeq, prev, fields)
		}
		for i := range want {
			if fields[i] != want[i] {
				t.Fatalf("field %d: %q, want %q", i, fields[i], want[i])
			}
		}
	})
}
