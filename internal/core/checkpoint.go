package core

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/witness"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// CheckpointResult is what 'audit checkpoint' did.
type CheckpointResult struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   string `json:"root"`
	// New is false when the latest checkpoint already covered every event.
	New  bool   `json:"new"`
	Note string `json:"note"`
	// Witnesses are the witnesses that cosigned it in this run.
	Witnesses []string `json:"witnesses,omitempty"`
}

// Cosign asks witness w to cosign the stored checkpoint of size, with a
// consistency proof from the latest checkpoint w cosigned before (as the
// store's notes show; none: from the empty tree), and keeps the
// cosignature with the checkpoint. A witness that holds another size is
// asked once more, from its size. A checkpoint w cosigned already is sent
// again all the same (from its own size), so that w can say it has seen
// more of the log. It returns the cosigned note.
//
// A witness that refuses because the log no longer extends what it saw is
// ECHECKFAILED: the history was rewritten; so is a witness that has
// cosigned more events than the store holds: the store was rolled back or
// truncated. Any other failure is EUNAVAILABLE; the checkpoint stays
// signed and stored either way.
func (c *Core) Cosign(ctx context.Context, w *witness.Client, size int64) (string, error) {
	var row gatehouse.CheckpointRow
	var old int64
	var proofs = map[int64]tlog.TreeProof{}
	prove := func(v gatehouse.View, from int64) error {
		if from == 0 || from == size {
			proofs[from] = tlog.TreeProof{}
			return nil
		}
		p, err := tlog.ProveTree(size, from, audit.HashReader(v.TreeColumns))
		if err != nil {
			return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "cannot prove the log of %d events extends that of %d: %v", size, from, err)
		}
		proofs[from] = p
		return nil
	}
	err := c.read(ctx, func(v gatehouse.View) error {
		rows, err := v.Checkpoints()
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Size == size {
				row = r
			}
			if r.Size < size {
				if _, err := witness.VerifyCosignature([]byte(r.Note), w.Key()); err == nil {
					old = r.Size
				}
			}
		}
		if row.Note == "" {
			return gatehouse.Errorf(gatehouse.EINTERNAL, "no stored checkpoint of %d events", size)
		}
		return prove(v, old)
	})
	if err != nil {
		return "", err
	}
	// A checkpoint cosigned already is sent again, from its own size with
	// an empty proof: a witness that has cosigned more of this log then
	// says so (409 with its size), which a store rolled back to an older
	// copy of itself cannot hide. Its fresh cosignature is not kept.
	_, err = witness.VerifyCosignature([]byte(row.Note), w.Key())
	cosigned := err == nil
	if cosigned {
		old = size
		proofs[size] = tlog.TreeProof{}
	}
	cosig, err := w.AddCheckpoint(ctx, old, proofs[old], []byte(row.Note))
	var werr *witness.Error
	if errors.Is(err, witness.ErrConflict) && errors.As(err, &werr) && werr.KnownSize >= 0 && werr.KnownSize <= size && werr.KnownSize != old {
		old = werr.KnownSize
		if err := c.read(ctx, func(v gatehouse.View) error { return prove(v, old) }); err != nil {
			return "", err
		}
		cosig, err = w.AddCheckpoint(ctx, old, proofs[old], []byte(row.Note))
	}
	switch {
	case errors.As(err, &werr) && errors.Is(err, witness.ErrConflict) && werr.KnownSize > size:
		// The witness saw this log longer than the store now is.
		return "", gatehouse.Wrap(gatehouse.ECHECKFAILED, err,
			"witness %s has cosigned %d events of this log; the store has %d: rolled back or truncated",
			gatehouse.EscapeUnsafe(w.Name()), werr.KnownSize, size)
	case errors.Is(err, witness.ErrHistoryRewritten):
		return "", gatehouse.Wrap(gatehouse.ECHECKFAILED, err, "%v", err)
	case err != nil:
		return "", gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "%v", err)
	}
	if cosigned {
		return row.Note, nil
	}
	row.Note += string(cosig)
	if err := c.store.PutCheckpoint(ctx, row); err != nil {
		return "", err
	}
	return row.Note, nil
}

// WitnessCheck is what 'audit verify --witness' found.
type WitnessCheck struct {
	// Name is the witness's name: its key's.
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Time is the time the witness put in its cosignature.
	Time string `json:"time"`
}

// CheckWitness checks that the latest stored checkpoint carries a valid
// cosignature by witness key k: that a witness on another host saw the log
// at that size. ECHECKFAILED when it does not.
func (c *Core) CheckWitness(ctx context.Context, k note.Verifier) (WitnessCheck, error) {
	out := WitnessCheck{Name: k.Name()}
	var latest *gatehouse.CheckpointRow
	err := c.read(ctx, func(v gatehouse.View) (err error) {
		latest, err = latestCheckpoint(v)
		return err
	})
	if err != nil {
		return out, err
	}
	if latest == nil {
		return out, gatehouse.Errorf(gatehouse.ECHECKFAILED, "no checkpoint has been signed, so none is cosigned by witness %s", gatehouse.EscapeUnsafe(k.Name()))
	}
	out.Size = latest.Size
	t, err := witness.VerifyCosignature([]byte(latest.Note), k)
	if err != nil {
		return out, gatehouse.Errorf(gatehouse.ECHECKFAILED, "the latest checkpoint (of %d events) has no valid cosignature by witness %s", latest.Size, gatehouse.EscapeUnsafe(k.Name()))
	}
	out.Time = t.UTC().Format(time.RFC3339)
	return out, nil
}

// CheckpointOptions are the inputs of Checkpoint besides the key.
type CheckpointOptions struct {
	// Last is the checkpoint the key signed last, as the signer recorded
	// it outside the store (beside the key); nil when none is recorded.
	// The store must still hold it and the log extend it, or nothing is
	// signed: the store is not the only memory of what the key signed.
	Last *audit.Checkpoint
	// LastFrom says where Last was recorded, for messages.
	LastFrom string
	// Remember, when set, is given the latest checkpoint (a signed note)
	// once it is signed and stored, or found signed already, before any
	// witness is asked: the signer records it as the next run's Last.
	Remember func(note string) error
	// Witnesses are asked to cosign it, in order.
	Witnesses []*witness.Client
}

// Checkpoint signs the current tree head with the log's key and keeps the
// signed note in the store. It first verifies the whole trail — every
// link, every stored tree hash, every stored checkpoint's root against
// the events, and the checkpoint the key signed last (o.Last) — and signs
// only the root the events themselves give, so the log never signs a tree
// it has not checked, nor one inconsistent with a checkpoint it signed
// before. The key is read by the caller and never stored; a key other
// than the one that signed the latest checkpoint is refused (EINVALID),
// and a latest checkpoint whose signature by this key does not verify is
// ECHECKFAILED (tampered).
func (c *Core) Checkpoint(ctx context.Context, key *audit.LogKey, o CheckpointOptions) (CheckpointResult, error) {
	res, err := c.checkpoint(ctx, key, o)
	if err != nil {
		return res, err
	}
	if o.Remember != nil {
		if err := o.Remember(res.Note); err != nil {
			return res, err
		}
	}
	for _, w := range o.Witnesses {
		note, err := c.Cosign(ctx, w, res.Size)
		if err != nil {
			return res, err // res: signed and stored, not cosigned
		}
		res.Note = note
		res.Witnesses = append(res.Witnesses, w.Name())
	}
	return res, nil
}

func (c *Core) checkpoint(ctx context.Context, key *audit.LogKey, o CheckpointOptions) (CheckpointResult, error) {
	var out CheckpointResult
	var vo gatehouse.VerifyOptions
	if o.Last != nil {
		vo.Checkpoints = []gatehouse.TreeCheck{{
			TreeHead: gatehouse.TreeHead{Size: o.Last.Size, Root: audit.RootText(*o.Last)},
			What:     fmt.Sprintf("the checkpoint this key signed last (%d events, %s)", o.Last.Size, o.LastFrom),
		}}
	}
	res, err := c.store.VerifyChain(ctx, vo)
	if err != nil {
		return out, err
	}
	if !res.OK() {
		return out, gatehouse.Errorf(gatehouse.ECHECKFAILED, "refusing to sign a checkpoint: the audit trail does not verify %s: %s", res.Fault.Where(), res.Fault.Problem)
	}
	root, err := base64.StdEncoding.DecodeString(res.Tree.Root)
	if err != nil || len(root) != tlog.HashSize {
		return out, fmt.Errorf("the verified tree root is malformed")
	}
	cp := audit.Checkpoint{Origin: key.Signer.Name(), Size: res.Tree.Size, Root: tlog.Hash(root)}
	var latest *gatehouse.CheckpointRow
	lastHeld := o.Last == nil
	err = c.read(ctx, func(v gatehouse.View) error {
		rows, err := v.Checkpoints()
		if err != nil {
			return err
		}
		for _, r := range rows {
			// Its root was compared with the events' by the walk.
			lastHeld = lastHeld || r.Size == o.Last.Size
		}
		latest, err = latestCheckpoint(v)
		return err
	})
	if err != nil {
		return out, err
	}
	if !lastHeld {
		return out, gatehouse.Errorf(gatehouse.ECHECKFAILED,
			"refusing to sign a checkpoint: the store no longer holds the checkpoint of %d events this key signed last (%s): its checkpoints were deleted",
			o.Last.Size, o.LastFrom)
	}
	if latest != nil {
		prev, _, err := audit.OpenCheckpoint([]byte(latest.Note), key.Verifier)
		switch {
		case err != nil && signedBy(latest.Note, key.Verifier):
			// The note names this key but its signature does not verify.
			return out, gatehouse.Errorf(gatehouse.ECHECKFAILED, "the latest checkpoint (of %d events) names this key but does not verify with it: the store was tampered with", latest.Size)
		case err != nil:
			return out, gatehouse.Errorf(gatehouse.EINVALID, "the latest checkpoint (of %d events) was not signed with this key: sign with the log's key", latest.Size)
		case prev.Size == cp.Size:
			return CheckpointResult{Origin: cp.Origin, Size: cp.Size, Root: res.Tree.Root, Note: latest.Note}, nil
		}
	}
	signed, err := audit.SignCheckpoint(cp, key.Signer)
	if err != nil {
		return out, gatehouse.Errorf(gatehouse.EINVALID, "%v", err)
	}
	if err := c.store.PutCheckpoint(ctx, gatehouse.CheckpointRow{Size: cp.Size, Time: c.now().UTC(), Note: string(signed)}); err != nil {
		return out, err
	}
	return CheckpointResult{Origin: cp.Origin, Size: cp.Size, Root: res.Tree.Root, New: true, Note: string(signed)}, nil
}

// signedBy reports whether a stored note (in the form audit.CheckNote
// checks) has a signature line naming key k and its key hash, valid or
// not.
func signedBy(msg string, k note.Verifier) bool {
	n, err := note.Open([]byte(msg), note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if err != nil && errors.As(err, &unverified) {
		n = unverified.Note
	}
	if n == nil {
		return false
	}
	for _, s := range n.UnverifiedSigs {
		if s.Name == k.Name() && s.Hash == k.KeyHash() {
			return true
		}
	}
	return false
}

// CheckpointInfo describes a stored checkpoint for 'audit checkpoints'.
type CheckpointInfo struct {
	Size   int64  `json:"size"`
	Time   string `json:"time"`
	Origin string `json:"origin"`
	Root   string `json:"root"`
	// Signers are the names on the note's signature lines: the log's,
	// then witnesses'. Listed, not verified: 'audit verify --witness'
	// checks them with keys.
	Signers []string `json:"signers"`
	Note    string   `json:"note"`
}

// Checkpoints lists the stored signed checkpoints, oldest first.
func (c *Core) Checkpoints(ctx context.Context) ([]CheckpointInfo, error) {
	var out []CheckpointInfo
	err := c.read(ctx, func(v gatehouse.View) error {
		rows, err := v.Checkpoints()
		if err != nil {
			return err
		}
		for _, r := range rows {
			cp, err := audit.ReadCheckpoint([]byte(r.Note))
			if err != nil {
				return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "the stored checkpoint of %d events cannot be read: run 'gatehouse audit verify'", r.Size)
			}
			out = append(out, CheckpointInfo{Size: r.Size, Time: r.Time.UTC().Format(time.RFC3339), Origin: cp.Origin,
				Root: base64.StdEncoding.EncodeToString(cp.Root[:]), Signers: audit.SignerNames([]byte(r.Note)), Note: r.Note})
		}
		return nil
	})
	return out, err
}

// Prove makes the inclusion proof of event seq against the latest signed
// checkpoint, in the C2SP tlog-proof format, with the event's canonical
// encoding as its extra data. The proof is checked against the
// checkpoint's root before it is returned.
func (c *Core) Prove(ctx context.Context, seq int64) (*audit.Proof, error) {
	var p *audit.Proof
	err := c.read(ctx, func(v gatehouse.View) error {
		ev, found, err := v.Event(seq)
		if err != nil {
			return err
		}
		if !found || seq < 1 {
			return gatehouse.Errorf(gatehouse.ENOTFOUND, "the audit trail has no event %d", seq)
		}
		latest, err := latestCheckpoint(v)
		if err != nil {
			return err
		}
		if latest == nil || latest.Size < seq {
			return gatehouse.Errorf(gatehouse.EINVALID, "no signed checkpoint covers event %d yet: run 'gatehouse audit checkpoint --key FILE' first", seq)
		}
		// The note goes into the proof verbatim, and the proof may go to
		// a terminal: only a note in the form gatehouse stores, which is
		// printable, is written.
		cp, err := audit.ReadCheckpoint([]byte(latest.Note))
		if err != nil || audit.CheckNote([]byte(latest.Note)) != nil {
			return gatehouse.Errorf(gatehouse.ECHECKFAILED, "the stored checkpoint of %d events is malformed: the store was tampered with; run 'gatehouse audit verify'", latest.Size)
		}
		hashes, err := tlog.ProveRecord(cp.Size, seq-1, audit.HashReader(v.TreeColumns))
		if err != nil {
			return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "cannot prove event %d: %v", seq, err)
		}
		leaf, err := audit.Canonical(&ev)
		if err != nil {
			return err
		}
		if tlog.CheckRecord(hashes, cp.Size, cp.Root, seq-1, tlog.RecordHash(leaf)) != nil {
			return gatehouse.Errorf(gatehouse.ECHECKFAILED, "event %d does not lead to the root of the checkpoint of %d events: the store was altered; run 'gatehouse audit verify'", seq, cp.Size)
		}
		p = &audit.Proof{Extra: leaf, Index: seq - 1, Hashes: hashes, Checkpoint: []byte(latest.Note)}
		return nil
	})
	return p, err
}

// latestCheckpoint is the latest signed checkpoint, nil when none has
// been signed.
func latestCheckpoint(v gatehouse.View) (*gatehouse.CheckpointRow, error) {
	rows, err := v.Checkpoints()
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return &rows[len(rows)-1], nil
}
