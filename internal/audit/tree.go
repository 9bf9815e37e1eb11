package audit

// The Merkle tree over the trail.
//
// Event seq is record seq-1 of an RFC 6962 tree, hashed exactly as the Go
// checksum database's golang.org/x/mod/sumdb/tlog: its leaf hash is
// SHA-256(0x00 || Canonical(event)), an interior node SHA-256(0x01 || left
// || right). When an event is appended, the hashes tlog says to store for
// its record — the leaf hash, then one interior hash for each subtree the
// record completes (tlog.StoredHashes) — are kept with the event, in its
// row's tree column, 32 bytes each in that order. Any stored hash is then
// found by its tlog index: hash (level, k) was stored by record
// ((k+1)<<level)-1, at position level of its tree column.
//
// A store can therefore serve a tree head, an inclusion proof or a
// consistency proof by reading at most 1+log₂ n rows, and a verifier that
// walks the trail recomputes every stored hash from the events alone
// (TreeBuilder) — an edited, deleted, inserted or reordered event, or an
// edited tree column, shows at its row.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// LeafHash is the tree's record hash of an event.
func LeafHash(e *gatehouse.Event) (tlog.Hash, error) {
	b, err := Canonical(e)
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(b), nil
}

// StoredCount is the number of hashes record n stores: its leaf, and one
// for each trailing 1 bit of n (each subtree it completes).
func StoredCount(n int64) int { return 1 + bits.TrailingZeros64(uint64(n+1)) }

// EncodeStored is the tree column of a record: its stored hashes, in order.
func EncodeStored(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// TreeColumns reads the tree columns of records (0-based indexes) from one
// snapshot: a store's part of a HashReader. A record it does not hold is
// absent from the map.
type TreeColumns func(records []int64) (map[int64][]byte, error)

// HashReader serves stored hashes from the tree columns read.
func HashReader(read TreeColumns) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		records := make([]int64, 0, len(indexes))
		seen := make(map[int64]bool, len(indexes))
		for _, i := range indexes {
			level, k := tlog.SplitStoredHashIndex(i)
			r := (k+1)<<uint(level) - 1
			if !seen[r] {
				seen[r] = true
				records = append(records, r)
			}
		}
		cols, err := read(records)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(indexes))
		for j, i := range indexes {
			level, k := tlog.SplitStoredHashIndex(i)
			r := (k+1)<<uint(level) - 1
			col, ok := cols[r]
			if !ok {
				return nil, fmt.Errorf("event %d is not in the trail", r+1)
			}
			if len(col) != StoredCount(r)*tlog.HashSize {
				return nil, fmt.Errorf("event %d's tree hashes are damaged: run 'gatehouse audit verify'", r+1)
			}
			copy(out[j][:], col[level*tlog.HashSize:])
		}
		return out, nil
	})
}

// TreeBuilder recomputes the tree from leaves in record order, keeping
// only the roots of its complete subtrees (at most 64): memory does not
// grow with the log.
type TreeBuilder struct {
	n        int64
	frontier []tlog.Hash // roots of the complete subtrees, largest first
	stored   []tlog.Hash
}

// Size is the number of records added.
func (b *TreeBuilder) Size() int64 { return b.n }

// Add adds the next record's leaf hash and returns the hashes that record
// stores (valid until the next call).
func (b *TreeBuilder) Add(leaf tlog.Hash) []tlog.Hash {
	b.stored = append(b.stored[:0], leaf)
	h := leaf
	for n := b.n; n&1 == 1; n >>= 1 {
		left := b.frontier[len(b.frontier)-1]
		b.frontier = b.frontier[:len(b.frontier)-1]
		h = tlog.NodeHash(left, h)
		b.stored = append(b.stored, h)
	}
	b.frontier = append(b.frontier, h)
	b.n++
	return b.stored
}

// Root is the tree hash of the records added so far.
func (b *TreeBuilder) Root() tlog.Hash {
	if b.n == 0 {
		return tlog.Hash(sha256.Sum256(nil)) // RFC 6962: the empty tree
	}
	h := b.frontier[len(b.frontier)-1]
	for i := len(b.frontier) - 2; i >= 0; i-- {
		h = tlog.NodeHash(b.frontier[i], h)
	}
	return h
}

// Matches reports whether col is exactly the tree column of hashes.
func Matches(col []byte, hashes []tlog.Hash) bool {
	if len(col) != len(hashes)*tlog.HashSize {
		return false
	}
	for i, h := range hashes {
		if !bytes.Equal(col[i*tlog.HashSize:(i+1)*tlog.HashSize], h[:]) {
			return false
		}
	}
	return true
}

// TreeColumn is the tree column of ev, appended after the records read
// serves: the hashes its record stores.
func TreeColumn(ev *gatehouse.Event, read TreeColumns) ([]byte, error) {
	leaf, err := LeafHash(ev)
	if err != nil {
		return nil, err
	}
	hs, err := tlog.StoredHashesForRecordHash(ev.Seq-1, leaf, HashReader(read))
	if err != nil {
		return nil, err
	}
	return EncodeStored(hs), nil
}
