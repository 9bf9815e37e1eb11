package audit_test

import (
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// millionTree is a log of 1,000,000 synthetic events, built with
// TreeBuilder as a store builds it: stored holds every record's stored
// hashes in tlog's index order, so that its tree columns can be served as
// a store serves them.
type millionTree struct {
	size   int64
	stored []tlog.Hash
	root   tlog.Hash
}

const million = 1_000_000

var (
	millionOnce sync.Once
	millionLog  *millionTree
)

func millionEvent(seq int64) *gatehouse.Event {
	return &gatehouse.Event{Seq: seq, Time: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Millisecond),
		Actor: "alice", OSUser: "gatehouse", Action: "sso.signin", Target: "user@example.com", Outcome: gatehouse.OutcomeSuccess,
		Details: []byte(`{"n":1}`), PrevHash: audit.GenesisHash}
}

func buildMillion(tb testing.TB) *millionTree {
	millionOnce.Do(func() {
		m := &millionTree{size: million, stored: make([]tlog.Hash, 0, tlog.StoredHashCount(million))}
		var b audit.TreeBuilder
		var buf []byte
		for seq := int64(1); seq <= million; seq++ {
			var err error
			buf, err = audit.AppendCanonical(append(buf[:0], 0), millionEvent(seq))
			if err != nil {
				panic(err)
			}
			m.stored = append(m.stored, b.Add(sha256.Sum256(buf))...)
		}
		m.root = b.Root()
		millionLog = m
	})
	if int64(len(millionLog.stored)) != tlog.StoredHashCount(million) {
		tb.Fatalf("%d stored hashes, tlog says %d", len(millionLog.stored), tlog.StoredHashCount(million))
	}
	return millionLog
}

// columns serves the tree columns of records, as a store's TreeColumns.
func (m *millionTree) columns(records []int64) (map[int64][]byte, error) {
	out := map[int64][]byte{}
	for _, r := range records {
		if r < m.size {
			at := tlog.StoredHashIndex(0, r)
			out[r] = audit.EncodeStored(m.stored[at : at+int64(audit.StoredCount(r))])
		}
	}
	return out, nil
}

// TestInclusionProofSizeAtOneMillion: issue 13's goal, an inclusion proof
// of any event of a 1,000,000-event log carries at most 21 hashes. The
// proofs are served from the tree columns (audit.HashReader, as 'audit
// prove' serves them) and each is checked against the root.
func TestInclusionProofSizeAtOneMillion(t *testing.T) {
	m := buildMillion(t)
	if want, _ := tlog.TreeHash(m.size, tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = m.stored[x]
		}
		return out, nil
	})); want != m.root {
		t.Fatal("the builder's root is not tlog's")
	}
	r := audit.HashReader(m.columns)
	longest := 0
	check := func(index int64) {
		p, err := tlog.ProveRecord(m.size, index, r)
		if err != nil {
			t.Fatalf("prove %d: %v", index, err)
		}
		leaf, _ := audit.LeafHash(millionEvent(index + 1))
		if err := tlog.CheckRecord(p, m.size, m.root, index, leaf); err != nil {
			t.Fatalf("proof of record %d does not check: %v", index, err)
		}
		if len(p) > 21 {
			t.Fatalf("the proof of record %d has %d hashes, more than 21", index, len(p))
		}
		longest = max(longest, len(p))
	}
	for index := int64(0); index < m.size; index += 997 {
		check(index)
	}
	for k := int64(1); k < m.size; k <<= 1 {
		check(k - 1)
		check(k)
	}
	check(m.size - 1)
	// ⌈log₂ 1,000,000⌉ = 20: the longest proof, one hash per level.
	if longest != 20 {
		t.Fatalf("the longest proof has %d hashes, want 20", longest)
	}
}

// BenchmarkVerifyProof is what 'audit verify-proof' does with a proof of
// an event in a 1,000,000-event log (20 hashes): parse the file, decode the
// event, open the signed checkpoint with the log's key, check the
// inclusion proof (goal: under 1 ms).
func BenchmarkVerifyProof(b *testing.B) {
	m := buildMillion(b)
	skey, vkey, err := audit.GenerateLogKey("example.com/gatehouse")
	if err != nil {
		b.Fatal(err)
	}
	key, err := audit.ParseLogKey(skey)
	if err != nil {
		b.Fatal(err)
	}
	cp, err := audit.SignCheckpoint(audit.Checkpoint{Origin: "example.com/gatehouse", Size: m.size, Root: m.root}, key.Signer)
	if err != nil {
		b.Fatal(err)
	}
	const index = 524_287 // one of the longest proofs
	hashes, err := tlog.ProveRecord(m.size, index, audit.HashReader(m.columns))
	if err != nil || len(hashes) != 20 {
		b.Fatal(len(hashes), err)
	}
	leaf, _ := audit.Canonical(millionEvent(index + 1))
	file := (&audit.Proof{Extra: leaf, Index: index, Hashes: hashes, Checkpoint: cp}).Format()
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		p, err := audit.ParseProof(file)
		if err != nil {
			b.Fatal(err)
		}
		ev, err := audit.DecodeCanonical(p.Extra)
		if err != nil || ev.Seq != p.Index+1 {
			b.Fatal(err)
		}
		if c, _, err := p.Verify(verifier, p.Extra); err != nil || c.Size != m.size {
			b.Fatal(c, err)
		}
	}
}
