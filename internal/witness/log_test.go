package witness

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testLog is a Merkle log in memory, built with tlog as the stores build
// theirs, that signs C2SP checkpoints with its own note key.
type testLog struct {
	origin string
	signer note.Signer
	vkey   string
	hashes []tlog.Hash // tlog's stored hashes, in StoredHashIndex order
	n      int64
}

// newTestLog makes an empty log with a fresh key named origin.
func newTestLog(t testing.TB, origin string) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{origin: origin, signer: signer, vkey: vkey}
}

// fork returns a log with the same origin and key holding l's first n
// records: the start of a rewritten history.
func (l *testLog) fork(t testing.TB, n int64, record func(i int64) []byte) *testLog {
	t.Helper()
	f := &testLog{origin: l.origin, signer: l.signer, vkey: l.vkey}
	f.grow(t, n, record)
	return f
}

func (l *testLog) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x >= int64(len(l.hashes)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = l.hashes[x]
		}
		return out, nil
	})
}

// grow appends records until the log has size n; record(i) is record i.
func (l *testLog) grow(t testing.TB, n int64, record func(i int64) []byte) {
	t.Helper()
	for ; l.n < n; l.n++ {
		hs, err := tlog.StoredHashes(l.n, record(l.n), l.reader())
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
	}
}

// checkpoint returns the signed checkpoint of the log's current tree.
func (l *testLog) checkpoint(t testing.TB) []byte {
	t.Helper()
	return l.sign(t, l.body(t))
}

// body returns the checkpoint body of the log's current tree.
func (l *testLog) body(t testing.TB) string {
	t.Helper()
	root, err := tlog.TreeHash(l.n, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s\n%d\n%s\n", l.origin, l.n, root)
}

func (l *testLog) sign(t testing.TB, body string) []byte {
	t.Helper()
	signed, err := note.Sign(&note.Note{Text: body}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// proof returns the consistency proof from size old to the current size.
func (l *testLog) proof(t testing.TB, old int64) tlog.TreeProof {
	t.Helper()
	if old == 0 || old == l.n {
		return nil
	}
	p, err := tlog.ProveTree(l.n, old, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// event is the record data of the tests' logs.
func event(i int64) []byte { return fmt.Appendf(nil, "event %d\n", i) }

// newCosigner makes a cosignature/v1 signer with a fresh key: a witness of
// the tests' own, for what the real one will not do.
func newCosigner(t testing.TB, name string) *torchwood.CosignatureSigner {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := torchwood.NewCosignatureSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
