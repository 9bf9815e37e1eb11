package audit_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// chain builds n sealed events.
func chain(t *testing.T, n int) []gatehouse.Event {
	t.Helper()
	evs := make([]gatehouse.Event, n)
	prev := audit.GenesisHash
	for i := range evs {
		evs[i] = gatehouse.Event{
			Seq: int64(i + 1), Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC),
			Actor: "alice", OSUser: "root", Action: "test.step", Target: fmt.Sprint("t", i),
			Outcome: gatehouse.OutcomeSuccess, Details: json.RawMessage(`{"i":1}`),
		}
		if err := audit.Seal(&evs[i], prev); err != nil {
			t.Fatal(err)
		}
		prev = evs[i].Hash
	}
	return evs
}

// trees returns the tree column of each event, as a store that appended
// evs in this order would hold them.
func trees(t *testing.T, evs []gatehouse.Event) [][]byte {
	t.Helper()
	var b audit.TreeBuilder
	cols := make([][]byte, len(evs))
	for i := range evs {
		leaf, err := audit.LeafHash(&evs[i])
		if err != nil {
			t.Fatal(err)
		}
		cols[i] = audit.EncodeStored(b.Add(leaf))
	}
	return cols
}

// verify checks evs; their tree columns are those of the events as given,
// so that a tampered chain is caught by its links and hashes alone.
func verify(t *testing.T, evs []gatehouse.Event, head *gatehouse.ChainHead) audit.Result {
	t.Helper()
	return verifyTrees(evs, trees(t, evs), head)
}

func verifyTrees(evs []gatehouse.Event, cols [][]byte, head *gatehouse.ChainHead, cps ...audit.CheckpointRef) audit.Result {
	v := audit.Verifier{Head: head, Checkpoints: cps}
	for i := range evs {
		if !v.Add(&evs[i], cols[i]) {
			break
		}
	}
	return v.Finish(int64(len(evs)))
}

func TestVerify(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		evs := chain(t, 5)
		res := verify(t, evs, &gatehouse.ChainHead{Seq: 5, Hash: evs[4].Hash})
		if !res.OK() || res.Valid != 5 || res.Head.Seq != 5 {
			t.Fatalf("got %+v", res)
		}
	})

	cases := []struct {
		name    string
		tamper  func([]gatehouse.Event) []gatehouse.Event
		head    func([]gatehouse.Event) *gatehouse.ChainHead
		seq     int64
		problem string
	}{
		{"ErrEditedField", func(e []gatehouse.Event) []gatehouse.Event { e[2].Actor = "mallory"; return e }, nil, 3, "altered"},
		{"ErrEditedTime", func(e []gatehouse.Event) []gatehouse.Event { e[1].Time = e[1].Time.Add(time.Nanosecond); return e }, nil, 2, "altered"},
		{"ErrEditedDetails", func(e []gatehouse.Event) []gatehouse.Event { e[3].Details = json.RawMessage(`{"i":2}`); return e }, nil, 4, "altered"},
		{"ErrDeletedRow", func(e []gatehouse.Event) []gatehouse.Event { return append(e[:2:2], e[3:]...) }, nil, 3, "missing"},
		{"ErrDeletedFirst", func(e []gatehouse.Event) []gatehouse.Event { return e[1:] }, nil, 1, "missing"},
		{"ErrSwapped", func(e []gatehouse.Event) []gatehouse.Event {
			// Swap everything but the sequence numbers, as swapping two rows' contents in the table would.
			e[1].Seq, e[2].Seq = 3, 2
			e[1], e[2] = e[2], e[1]
			return e
		}, nil, 2, "does not follow"},
		{"ErrInserted", func(e []gatehouse.Event) []gatehouse.Event {
			// A forged event sealed onto event 2, then the rest renumbered: event 4 no longer follows.
			forged := gatehouse.Event{Seq: 3, Time: e[2].Time, Actor: "mallory", Action: "x", Outcome: "success", Details: json.RawMessage("{}")}
			audit.Seal(&forged, e[1].Hash)
			out := append([]gatehouse.Event{}, e[:2]...)
			out = append(out, forged)
			for _, ev := range e[2:] {
				ev.Seq++
				out = append(out, ev)
			}
			return out
		}, nil, 4, "does not follow"},
		{"ErrTruncatedTail", func(e []gatehouse.Event) []gatehouse.Event { return e[:3] },
			func(e []gatehouse.Event) *gatehouse.ChainHead { return &gatehouse.ChainHead{Seq: 5, Hash: e[4].Hash} }, 4, "removed from the end"},
		{"ErrRewrittenHead", func(e []gatehouse.Event) []gatehouse.Event {
			// An attacker who rewrites and re-seals the tail is caught by a head kept elsewhere.
			e[4].Actor = "mallory"
			audit.Seal(&e[4], e[3].Hash)
			return e
		}, func(e []gatehouse.Event) *gatehouse.ChainHead { return &gatehouse.ChainHead{Seq: 5, Hash: e[4].Hash} }, 5, "differs from the recorded head"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := chain(t, 5)
			var head *gatehouse.ChainHead
			if c.head != nil {
				head = c.head(evs)
			}
			res := verify(t, c.tamper(evs), head)
			if res.OK() {
				t.Fatalf("tampered chain verified: %+v", res)
			}
			if res.Fault.Seq != c.seq || !strings.Contains(res.Fault.Problem, c.problem) {
				t.Errorf("fault = %+v, want seq %d and %q", res.Fault, c.seq, c.problem)
			}
		})
	}

	t.Run("ErrEmpty", func(t *testing.T) {
		if res := verify(t, nil, nil); res.OK() {
			t.Fatal("empty chain verified")
		}
	})
}

// TestCanonicalUnambiguous shows that moving bytes between adjacent fields
// changes the hash: the length prefixes keep fields apart.
func TestCanonicalUnambiguous(t *testing.T) {
	a := chain(t, 1)[0]
	b := a
	b.Actor, b.OSUser = a.Actor+"r", strings.TrimPrefix(a.OSUser, "r")
	ha, _ := audit.Hash(&a)
	hb, _ := audit.Hash(&b)
	if ha == hb {
		t.Fatal("shifting a byte between actor and os_user kept the hash")
	}
}

func TestParseHead(t *testing.T) {
	h := strings.Repeat("ab", 32)
	got, err := audit.ParseHead("12:" + strings.ToUpper(h))
	if err != nil || got.Seq != 12 || got.Hash != h {
		t.Errorf("ParseHead = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "12", "x:" + h, "0:" + h, "12:abc", "12:" + strings.Repeat("zz", 32)} {
		if _, err := audit.ParseHead(bad); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("ParseHead(%q) err = %v, want invalid", bad, err)
		}
	}
}

// TestReject: a row that cannot be checked is the fault at that row, unless
// an earlier gap is.
func TestReject(t *testing.T) {
	evs := chain(t, 3)
	t.Run("AtRow", func(t *testing.T) {
		v := audit.Verifier{}
		v.Add(&evs[0], trees(t, evs)[0])
		if v.Reject(2, "event 2 is bad") {
			t.Fatal("Reject returned true")
		}
		if res := v.Finish(3); res.Fault == nil || res.Fault.Seq != 2 || res.Fault.Problem != "event 2 is bad" || res.Valid != 1 {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("GapFirst", func(t *testing.T) {
		v := audit.Verifier{}
		v.Add(&evs[0], trees(t, evs)[0])
		v.Reject(3, "event 3 is bad")
		if res := v.Finish(3); res.Fault == nil || res.Fault.Seq != 2 || !strings.Contains(res.Fault.Problem, "event 2 is missing") {
			t.Fatalf("got %+v", res)
		}
	})
}
