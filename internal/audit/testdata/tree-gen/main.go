// Command tree-gen wrote ../tree-vectors.json, the known answers of the
// audit trail's Merkle tree, checkpoints and proofs. It shares no code with
// package audit: it encodes its events itself and uses only
// golang.org/x/mod/sumdb/tlog and note, so that the vectors test audit's
// own tree builder, reader, checkpoint and proof code against the
// reference implementation. It is kept to show how the file was made, not
// to be run again: the vectors are fixed.
//
//	go run ./internal/audit/testdata/tree-gen > internal/audit/testdata/tree-vectors.json
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// event encodes an event as gatehouse/audit/v1 does (internal/audit's
// package comment): tag, seq, previous hash, seven length-prefixed fields.
func event(seq int, prev []byte) []byte {
	var b bytes.Buffer
	b.WriteString("gatehouse/audit/v1\x00")
	binary.Write(&b, binary.BigEndian, uint64(seq))
	b.Write(prev)
	for _, f := range []string{
		fmt.Sprintf("2026-03-04T05:06:%02d.000000000Z", seq), "alice", "root", "user.create",
		fmt.Sprintf("user%d", seq), "success", fmt.Sprintf(`{"n":%d}`, seq),
	} {
		binary.Write(&b, binary.BigEndian, uint32(len(f)))
		b.WriteString(f)
	}
	return b.Bytes()
}

type hashes []string

func b64(hs []tlog.Hash) hashes {
	out := hashes{}
	for _, h := range hs {
		out = append(out, base64.StdEncoding.EncodeToString(h[:]))
	}
	return out
}

// zeros is the key generator's randomness: a fixed key, for fixed answers.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 7
	}
	return len(p), nil
}

func main() {
	const n = 13
	const origin = "example.test/gatehouse/kat"
	var leaves []string
	var stored []string
	var all []tlog.Hash
	r := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = all[x]
		}
		return out, nil
	})
	prev := make([]byte, 32)
	var roots []string
	for i := 0; i < n; i++ {
		data := event(i+1, prev)
		sum := sha256.Sum256(data)
		prev = sum[:]
		hs, err := tlog.StoredHashes(int64(i), data, r)
		if err != nil {
			panic(err)
		}
		all = append(all, hs...)
		var col []byte
		for _, h := range hs {
			col = append(col, h[:]...)
		}
		leaves = append(leaves, hex.EncodeToString(data))
		stored = append(stored, hex.EncodeToString(col))
		root, err := tlog.TreeHash(int64(i+1), r)
		if err != nil {
			panic(err)
		}
		roots = append(roots, base64.StdEncoding.EncodeToString(root[:]))
	}
	type incl struct {
		Size  int64  `json:"size"`
		Index int64  `json:"index"`
		Proof hashes `json:"proof"`
	}
	type cons struct {
		Old   int64  `json:"old"`
		New   int64  `json:"new"`
		Proof hashes `json:"proof"`
	}
	var inclusions []incl
	for _, c := range [][2]int64{{13, 5}, {13, 12}, {8, 0}, {7, 6}, {1, 0}} {
		p, err := tlog.ProveRecord(c[0], c[1], r)
		if err != nil {
			panic(err)
		}
		inclusions = append(inclusions, incl{c[0], c[1], b64(p)})
	}
	var consistencies []cons
	for _, c := range [][2]int64{{5, 13}, {8, 13}, {1, 2}, {6, 7}} {
		p, err := tlog.ProveTree(c[1], c[0], r)
		if err != nil {
			panic(err)
		}
		consistencies = append(consistencies, cons{c[0], c[1], b64(p)})
	}
	skey, vkey, err := note.GenerateKey(zeros{}, origin)
	if err != nil {
		panic(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	cp, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", origin, n, roots[n-1])}, signer)
	if err != nil {
		panic(err)
	}
	// The proof of event 6 (index 5) against that checkpoint, its leaf in
	// the extra line.
	var proof bytes.Buffer
	leaf5, _ := hex.DecodeString(leaves[5])
	fmt.Fprintf(&proof, "c2sp.org/tlog-proof@v1\nextra %s\nindex 5\n", base64.StdEncoding.EncodeToString(leaf5))
	for _, h := range inclusions[0].Proof {
		proof.WriteString(h + "\n")
	}
	proof.WriteString("\n")
	proof.Write(cp)
	out := map[string]any{
		"origin":      origin,
		"leaves":      leaves,
		"stored":      stored,
		"roots":       roots,
		"inclusion":   inclusions,
		"consistency": consistencies,
		"skey":        skey,
		"vkey":        vkey,
		"checkpoint":  string(cp),
		"proof":       proof.String(),
	}
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", "  ")
	if err := e.Encode(out); err != nil {
		panic(err)
	}
}
