package audit_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// treeVectors are the known answers in testdata/tree-vectors.json, made
// once by testdata/tree-gen with the reference tlog and note packages.
type treeVectors struct {
	Origin    string   `json:"origin"`
	Leaves    []string `json:"leaves"`
	Stored    []string `json:"stored"`
	Roots     []string `json:"roots"`
	Inclusion []struct {
		Size, Index int64
		Proof       []string
	} `json:"inclusion"`
	Consistency []struct {
		Old, New int64
		Proof    []string
	} `json:"consistency"`
	SKey       string `json:"skey"`
	VKey       string `json:"vkey"`
	Checkpoint string `json:"checkpoint"`
	Proof      string `json:"proof"`
}

func loadTreeVectors(t *testing.T) *treeVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/tree-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v treeVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Leaves) != 13 || len(v.Stored) != 13 || len(v.Roots) != 13 {
		t.Fatalf("vectors: %d leaves, %d stored, %d roots; want 13", len(v.Leaves), len(v.Stored), len(v.Roots))
	}
	return &v
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64s(hs []tlog.Hash) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, base64.StdEncoding.EncodeToString(h[:]))
	}
	return out
}

// columns serves the vectors' tree columns as a store would.
func columns(t *testing.T, v *treeVectors) audit.TreeColumns {
	return func(records []int64) (map[int64][]byte, error) {
		m := map[int64][]byte{}
		for _, r := range records {
			if r < int64(len(v.Stored)) {
				m[r] = unhex(t, v.Stored[r])
			}
		}
		return m, nil
	}
}

// TestTreeKnownAnswers: the leaves are events as gatehouse encodes them;
// the builder stores what tlog stores, and its roots, the proofs served
// from stored columns, the signed checkpoint and the proof file are the
// reference implementation's.
func TestTreeKnownAnswers(t *testing.T) {
	v := loadTreeVectors(t)
	var b audit.TreeBuilder
	for i, leafHex := range v.Leaves {
		leaf := unhex(t, leafHex)
		ev, err := audit.DecodeCanonical(leaf)
		if err != nil || ev.Seq != int64(i+1) {
			t.Fatalf("leaf %d does not decode as event %d: %v", i, i+1, err)
		}
		if h, _ := audit.LeafHash(ev); h != tlog.RecordHash(leaf) {
			t.Fatalf("leaf %d: LeafHash of the decoded event is not the hash of the leaf", i)
		}
		col := audit.EncodeStored(b.Add(tlog.RecordHash(leaf)))
		if hex.EncodeToString(col) != v.Stored[i] {
			t.Errorf("record %d: stored hashes\n got %x\nwant %s", i, col, v.Stored[i])
		}
		if len(col) != audit.StoredCount(int64(i))*tlog.HashSize {
			t.Errorf("record %d: StoredCount = %d, stored %d", i, audit.StoredCount(int64(i)), len(col)/32)
		}
		if root := b.Root(); base64.StdEncoding.EncodeToString(root[:]) != v.Roots[i] {
			t.Errorf("size %d: root %x, want %s", i+1, root, v.Roots[i])
		}
	}
	r := audit.HashReader(columns(t, v))
	for n := int64(1); n <= 13; n++ {
		root, err := tlog.TreeHash(n, r)
		if err != nil || base64.StdEncoding.EncodeToString(root[:]) != v.Roots[n-1] {
			t.Errorf("TreeHash(%d) from stored columns = %x, %v", n, root, err)
		}
	}
	for _, c := range v.Inclusion {
		p, err := tlog.ProveRecord(c.Size, c.Index, r)
		if err != nil || strings.Join(b64s(p), " ") != strings.Join(c.Proof, " ") {
			t.Errorf("inclusion %d in %d: %v, %v", c.Index, c.Size, b64s(p), err)
		}
	}
	for _, c := range v.Consistency {
		p, err := tlog.ProveTree(c.New, c.Old, r)
		if err != nil || strings.Join(b64s(p), " ") != strings.Join(c.Proof, " ") {
			t.Errorf("consistency %d to %d: %v, %v", c.Old, c.New, b64s(p), err)
		}
	}

	signer, err := note.NewSigner(v.SKey)
	if err != nil {
		t.Fatal(err)
	}
	cp := audit.Checkpoint{Origin: v.Origin, Size: 13, Root: b.Root()}
	signed, err := audit.SignCheckpoint(cp, signer)
	if err != nil || string(signed) != v.Checkpoint {
		t.Fatalf("signed checkpoint\n got %q, %v\nwant %q", signed, err, v.Checkpoint)
	}
	hs, _ := tlog.ProveRecord(13, 5, r)
	proof := audit.Proof{Extra: unhex(t, v.Leaves[5]), Index: 5, Hashes: hs, Checkpoint: signed}
	if got := string(proof.Format()); got != v.Proof {
		t.Fatalf("proof file\n got %q\nwant %q", got, v.Proof)
	}
}

func TestProofVerify(t *testing.T) {
	v := loadTreeVectors(t)
	log, err := note.NewVerifier(v.VKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := audit.ParseProof([]byte(v.Proof))
	if err != nil {
		t.Fatal(err)
	}
	if p.Index != 5 || len(p.Hashes) != 4 || !bytes.Equal(p.Extra, unhex(t, v.Leaves[5])) {
		t.Fatalf("parsed %+v", p)
	}
	c, _, err := p.Verify(log, p.Extra)
	if err != nil || c.Size != 13 || c.Origin != v.Origin {
		t.Fatalf("Verify = %+v, %v", c, err)
	}

	t.Run("ErrOtherEvent", func(t *testing.T) {
		if _, _, err := p.Verify(log, unhex(t, v.Leaves[6])); err == nil || !strings.Contains(err.Error(), "not in the log") {
			t.Fatalf("another event verified: %v", err)
		}
	})
	t.Run("ErrEditedEvent", func(t *testing.T) {
		leaf := unhex(t, v.Leaves[5])
		leaf[len(leaf)-2] ^= 1
		if _, _, err := p.Verify(log, leaf); err == nil {
			t.Fatal("an edited event verified")
		}
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		_, other, _ := note.GenerateKey(nil, v.Origin)
		ov, _ := note.NewVerifier(other)
		if _, _, err := p.Verify(ov, p.Extra); err == nil || !strings.Contains(err.Error(), "not signed by the log's key") {
			t.Fatalf("verified with another key: %v", err)
		}
	})
	t.Run("ErrEditedRoot", func(t *testing.T) {
		bad := strings.Replace(v.Proof, "\n13\nJ", "\n13\nK", 1)
		q, err := audit.ParseProof([]byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := q.Verify(log, q.Extra); err == nil || !strings.Contains(err.Error(), "altered") {
			t.Fatalf("edited checkpoint verified: %v", err)
		}
	})
	t.Run("ErrWrongIndex", func(t *testing.T) {
		q, _ := audit.ParseProof([]byte(strings.Replace(v.Proof, "index 5", "index 4", 1)))
		if _, _, err := q.Verify(log, q.Extra); err == nil {
			t.Fatal("proof verified at another index")
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		for _, bad := range []string{
			"", "c2sp.org/tlog-proof@v2\nindex 1\n\n" + v.Checkpoint,
			"c2sp.org/tlog-proof@v1\nindex 01\n\n" + v.Checkpoint,
			"c2sp.org/tlog-proof@v1\nindex -1\n\n" + v.Checkpoint,
			"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\n" + v.Checkpoint,
			"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n" + v.Checkpoint,
			"c2sp.org/tlog-proof@v1\nindex 1\n" + v.Checkpoint,
		} {
			if _, err := audit.ParseProof([]byte(bad)); err == nil {
				t.Errorf("ParseProof(%q) accepted it", bad)
			}
		}
	})
}

func TestParseCheckpoint(t *testing.T) {
	c, err := audit.ParseCheckpoint("example.test/log\n7\n" + strings.Repeat("A", 43) + "=\nextension\n")
	if err != nil || c.Size != 7 || c.Origin != "example.test/log" {
		t.Fatalf("ParseCheckpoint = %+v, %v", c, err)
	}
	for _, bad := range []string{
		"", "o\n7\n", "\n7\n" + strings.Repeat("A", 43) + "=\n", "o\n07\n" + strings.Repeat("A", 43) + "=\n",
		"o\n-1\n" + strings.Repeat("A", 43) + "=\n", "o\n7\nAAAA\n", "o\n7\n" + strings.Repeat("A", 43) + "=",
	} {
		if _, err := audit.ParseCheckpoint(bad); err == nil {
			t.Errorf("ParseCheckpoint(%q) accepted it", bad)
		}
	}
	for s, ok := range map[string]bool{"example.com/log": true, "": false, "a b": false, "a+b": false, "é": false, strings.Repeat("a", 129): false} {
		if audit.ValidOrigin(s) != ok {
			t.Errorf("ValidOrigin(%q) = %v", s, !ok)
		}
	}
}

// TestTreeFaults: the tree column and the checkpoints are checked as the
// chain is walked.
func TestTreeFaults(t *testing.T) {
	evs := chain(t, 6)
	cols := trees(t, evs)
	var b audit.TreeBuilder
	var roots []tlog.Hash
	for i := range evs {
		leaf, _ := audit.LeafHash(&evs[i])
		b.Add(leaf)
		roots = append(roots, b.Root())
	}
	cp := func(size int64, root tlog.Hash) audit.CheckpointRef {
		return audit.CheckpointRef{Checkpoint: audit.Checkpoint{Origin: "o", Size: size, Root: root}, What: "the signed checkpoint"}
	}
	t.Run("OK", func(t *testing.T) {
		res := verifyTrees(evs, cols, nil, cp(6, roots[5]), cp(3, roots[2]))
		if !res.OK() || res.Tree == nil || res.Tree.Size != 6 || res.Tree.Root != base64.StdEncoding.EncodeToString(roots[5][:]) {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("ErrEditedTreeColumn", func(t *testing.T) {
		bad := append([][]byte{}, cols...)
		bad[3] = bytes.Clone(cols[3])
		bad[3][40] ^= 1 // an interior hash record 3 stores
		res := verifyTrees(evs, bad, nil)
		if res.OK() || res.Fault.Seq != 4 || !strings.Contains(res.Fault.Problem, "tree was edited") {
			t.Fatalf("got %+v", res.Fault)
		}
	})
	t.Run("ErrMissingTreeColumn", func(t *testing.T) {
		bad := append([][]byte{}, cols...)
		bad[1] = nil
		if res := verifyTrees(evs, bad, nil); res.OK() || res.Fault.Seq != 2 {
			t.Fatalf("got %+v", res.Fault)
		}
	})
	// Each rewrite below re-makes every link and tree column after it, as
	// an attacker with the source code would: the chain verifies by
	// itself, and only a checkpoint signed before the rewrite tells.
	reseal := func(evs []gatehouse.Event) []gatehouse.Event {
		prev := audit.GenesisHash
		for i := range evs {
			evs[i].Seq = int64(i + 1)
			audit.Seal(&evs[i], prev)
			prev = evs[i].Hash
		}
		return evs
	}
	for name, rewrite := range map[string]func([]gatehouse.Event) []gatehouse.Event{
		"Edited":  func(e []gatehouse.Event) []gatehouse.Event { e[1].Actor = "mallory"; return e },
		"Deleted": func(e []gatehouse.Event) []gatehouse.Event { return append(append(e[:1:1], e[2:]...), e[0]) },
		"Inserted": func(e []gatehouse.Event) []gatehouse.Event {
			return append(e[:2:2], append([]gatehouse.Event{e[0]}, e[2:]...)...)
		},
		"Reordered": func(e []gatehouse.Event) []gatehouse.Event { e[1], e[2] = e[2], e[1]; return e },
	} {
		t.Run("ErrRewrittenHistory"+name, func(t *testing.T) {
			forged := reseal(rewrite(chain(t, 6)))
			if res := verify(t, forged, nil); !res.OK() {
				t.Fatalf("the re-made chain should verify by itself: %+v", res.Fault)
			}
			res := verifyTrees(forged, trees(t, forged), nil, cp(4, roots[3]))
			// The root says some event up to 4 changed, not which: no
			// event of the range is counted as sound.
			if res.OK() || res.Fault.Seq != 4 || res.Fault.First != 1 || res.Valid != 0 ||
				!strings.Contains(res.Fault.Problem, "one of events 1..4 differs from what") || res.Fault.Where() != "in events 1..4" {
				t.Fatalf("got %+v", res.Fault)
			}
		})
	}
	t.Run("ErrTruncatedBelowCheckpoint", func(t *testing.T) {
		res := verifyTrees(evs[:4], cols[:4], nil, cp(6, roots[5]))
		if res.OK() || !strings.Contains(res.Fault.Problem, "covers 6 events: events were removed from the end") {
			t.Fatalf("got %+v", res.Fault)
		}
	})
}

func TestDecodeCanonical(t *testing.T) {
	ev := chain(t, 2)[1]
	b, _ := audit.Canonical(&ev)
	got, err := audit.DecodeCanonical(b)
	if err != nil || got.Hash != ev.Hash || got.Actor != ev.Actor || !got.Time.Equal(ev.Time) || string(got.Details) != string(ev.Details) {
		t.Fatalf("DecodeCanonical = %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(bytes.Clone(b), 0), []byte(strings.Replace(string(b), "gatehouse/audit/v1", "gatehouse/audit/v2", 1))} {
		if _, err := audit.DecodeCanonical(bad); err == nil {
			t.Errorf("DecodeCanonical accepted %q", bad)
		}
	}
}

// TestLogKey: a key from GenerateLogKey reads back, whatever its base64
// holds, and its derived public key verifies what it signs.
func TestLogKey(t *testing.T) {
	for i := 0; i < 64; i++ {
		skey, vkey, err := audit.GenerateLogKey("example.test/log")
		if err != nil {
			t.Fatal(err)
		}
		k, err := audit.ParseLogKey(skey + "\n")
		if err != nil {
			t.Fatalf("ParseLogKey: %v", err)
		}
		if k.VKey != vkey {
			t.Fatalf("derived public key %q, want %q", k.VKey, vkey)
		}
		if _, err := audit.ParseVerifierKey(skey); err == nil || strings.Contains(err.Error(), skey[12:]) {
			t.Fatalf("a private key taken as a public one: %v", err)
		}
	}
	for _, bad := range []string{"", "example.test/log+00000000+AAAA", "PRIVATE+KEY+x+00000000+AAAA"} {
		if _, err := audit.ParseLogKey(bad); err == nil {
			t.Errorf("ParseLogKey(%q) accepted it", bad)
		}
	}
	if _, _, err := audit.GenerateLogKey("bad origin"); err == nil {
		t.Error("an origin with a space was accepted")
	}
}
