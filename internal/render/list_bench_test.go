package render

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// BenchmarkList: a listing of audit events as -o json and as -o jsonl,
// side by side (goal, issue 15: json within 1.2× of jsonl — the same
// records, indented in one array).
func BenchmarkList(b *testing.B) {
	ev := gatehouse.Event{Seq: 4211, Time: time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC), Actor: "alice", OSUser: "root",
		Action: "user.assign", Target: "bob", Outcome: gatehouse.OutcomeSuccess,
		Details:  json.RawMessage(`{"roles":["Technician"],"state":{"user/2":{"name":"bob","enabled":true,"roles":["Technician"]}}}`),
		PrevHash: "4b1c9d0e6a7f8b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4", Hash: "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"}
	for _, f := range []Format{JSON, JSONL} {
		b.Run(string(f), func(b *testing.B) {
			l := New(io.Discard, f, false).List(nil, gatehouse.Event{})
			for range b.N {
				if err := l.Add(ev); err != nil {
					b.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
