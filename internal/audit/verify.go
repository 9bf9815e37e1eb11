package audit

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Fault is the first place where a chain does not hold.
type Fault = gatehouse.ChainFault

// Verifier checks a chain one event at a time, in sequence order, so that a
// log of any size is verified in constant memory. The zero value is ready to
// use for a chain that starts at event 1.
type Verifier struct {
	// Head, when set, is a head recorded earlier (audit head). The chain must
	// contain that event with that hash; this catches a truncated tail,
	// which a hash chain alone cannot.
	Head *gatehouse.ChainHead
	// Checkpoints are tree heads the log must extend, by size: the store's
	// signed checkpoints and any given by the caller. The events' own tree
	// must have each one's root at its size.
	Checkpoints []CheckpointRef
	// NoTree checks the chain only: for a store read as an older gatehouse
	// wrote it, before events had tree hashes.
	NoTree bool
	// FileSchema, with SchemaKnown, is the schema version the store says
	// it has.
	// The trail records every version the store was created or migrated
	// at (store.init, store.migrate): a file that claims an older one had
	// its version lowered, which would switch checks off.
	FileSchema int64
	// SchemaKnown says FileSchema is set (it may be 0: a version lowered
	// to nothing is lowered too).
	SchemaKnown bool
	// FileKind is the kind of store FileSchema counts in: "sqlite" or
	// "postgres" (RecordedSchema).
	FileKind string

	schema RecordedSchema

	tree     TreeBuilder
	buf      []byte // the last event's leaf encoding, reused
	lastSum  [sha256.Size]byte
	cp       int // next of Checkpoints to reach
	sorted   bool
	count    int64
	lastSeq  int64
	lastHash string
	headSeen bool
	fault    *Fault
}

// CheckpointRef is a tree head a verification must meet, and what it is
// ("the signed checkpoint of 2026-11-23T10:00:00Z") for its fault message.
type CheckpointRef struct {
	Checkpoint
	What string
}

// Add checks the next event and its tree column (the hashes stored with
// it). It returns false once a fault has been found; later events are
// then ignored.
func (v *Verifier) Add(e *gatehouse.Event, tree []byte) bool {
	if !v.inSequence(e.Seq) {
		return false
	}
	prev := v.lastHash
	if v.lastSeq == 0 {
		prev, v.lastSum = GenesisHash, [sha256.Size]byte{}
	}
	switch {
	case e.PrevHash != prev:
		if e.Seq == 1 {
			v.fail(e.Seq, "event 1 does not start the chain: its previous hash is not the genesis hash (events were removed or inserted before it)")
		} else {
			v.fail(e.Seq, fmt.Sprintf("event %d does not follow event %d: its previous hash differs from event %d's hash (an event was inserted, removed or moved)", e.Seq, v.lastSeq, v.lastSeq))
		}
	default:
		// One buffer holds the leaf's 0x00 prefix and then the canonical
		// encoding: the chain hash is over the encoding, the tree's record
		// hash (tlog.RecordHash) over both, and neither allocates.
		// e.PrevHash is the text of the previous event's hash, which was
		// checked to be the hex of lastSum: lastSum is its decoding.
		b := appendCanonical(append(v.buf[:0], 0), e, &v.lastSum)
		v.buf = b
		sum := sha256.Sum256(b[1:])
		var hexSum [2 * sha256.Size]byte
		hex.Encode(hexSum[:], sum[:])
		if string(hexSum[:]) != e.Hash {
			v.fail(e.Seq, fmt.Sprintf("event %d was altered: its content does not match its hash", e.Seq))
			break
		}
		v.lastSum = sum
		if stored := v.tree.Add(sha256.Sum256(b)); !v.NoTree && !Matches(tree, stored) {
			v.fail(e.Seq, fmt.Sprintf("event %d's Merkle tree hashes do not match the events up to it (the tree was edited)", e.Seq))
			break
		}
		v.checkpointsAt(e.Seq)
		v.noteSchema(e)
	}
	if v.fault != nil {
		return false
	}
	if v.Head != nil && e.Seq == v.Head.Seq {
		v.headSeen = true
		if e.Hash != v.Head.Hash {
			v.fail(e.Seq, fmt.Sprintf("event %d differs from the recorded head: its hash is %s, the head says %s", e.Seq, e.Hash, v.Head.Hash))
			return false
		}
	}
	v.count++
	v.lastSeq = e.Seq
	v.lastHash = e.Hash
	return true
}

// AddCheckpoints adds a store's signed checkpoints to those the walk must
// meet. A stored note that is not a checkpoint is the fault at its size.
func (v *Verifier) AddCheckpoints(rows []gatehouse.CheckpointRow) {
	for _, r := range rows {
		// Parsed whole, signature lines too: a note only ever gains
		// signatures, so one in any other form was tampered with.
		c, err := ReadCheckpoint([]byte(r.Note))
		if err != nil || c.Size != r.Size || CheckNote([]byte(r.Note)) != nil {
			if v.fault == nil {
				v.fail(r.Size, fmt.Sprintf("the stored checkpoint of %d events is malformed: it was tampered with", r.Size))
			}
			continue
		}
		v.Checkpoints = append(v.Checkpoints, CheckpointRef{Checkpoint: c,
			What: fmt.Sprintf("the signed checkpoint of %d events (%s)", r.Size, r.Time.UTC().Format(time.RFC3339))})
	}
}

// AddTreeChecks adds tree heads given by the caller. One whose root is
// not 32 bytes of base64 is the fault at its size.
func (v *Verifier) AddTreeChecks(checks []gatehouse.TreeCheck) {
	for _, c := range checks {
		root, err := base64.StdEncoding.DecodeString(c.Root)
		if err != nil || len(root) != tlog.HashSize {
			if v.fault == nil {
				v.fail(c.Size, fmt.Sprintf("%s has no valid root hash", c.What))
			}
			continue
		}
		v.Checkpoints = append(v.Checkpoints, CheckpointRef{Checkpoint: Checkpoint{Size: c.Size, Root: tlog.Hash(root)}, What: c.What})
	}
}

// noteSchema keeps the newest schema version the trail records.
func (v *Verifier) noteSchema(e *gatehouse.Event) {
	v.schema.Kind = v.FileKind
	v.schema.Note(e)
}

// RecordedSchema follows the schema version an audit trail records of one
// kind of store (Kind: "sqlite" or "postgres", whose versions are numbered
// apart): the store.init event's schema_version, each store.migrate's
// to_version, and the schema_version a store.copy event records of the
// store that wrote it. A store whose file says less was lowered behind
// gatehouse's back.
//
// Events record their store's kind ("kind"); older events do not, and
// are taken as the kind of the store their part of the trail belongs to:
// the part before a store.copy event that says this store was copied
// "from" another is that other store's (its location tells its kind), the
// last part is the store checked. A copy never lowers what the trail
// records: an appended store.copy can only attribute older, kindless
// events to the other kind, never lower a version an event records with
// its kind.
type RecordedSchema struct {
	// Kind is the kind of store checked; set it before Note.
	Kind string
	// Version is the newest version recorded for Kind (0: none), Seq its
	// event.
	Version, Seq int64
	// pending are versions recorded without a kind since the last copy
	// from another store: the checked store's unless a copy follows.
	pending []recordedVersion
}

type recordedVersion struct{ version, seq int64 }

// Note reads one event, in sequence order: only store.init, store.migrate
// and store.copy events matter.
func (r *RecordedSchema) Note(e *gatehouse.Event) {
	if e.Action != "store.init" && e.Action != "store.migrate" && e.Action != "store.copy" {
		return
	}
	var d struct {
		Init int64   `json:"schema_version"`
		To   int64   `json:"to_version"`
		Kind string  `json:"kind"`
		From *string `json:"from"`
	}
	if json.Unmarshal(e.Details, &d) != nil {
		return
	}
	if e.Action == "store.copy" && d.From != nil {
		// The kindless versions before were the source's.
		if StoreKind(*d.From) == r.Kind {
			r.foldPending()
		}
		r.pending = nil
	}
	v := max(d.Init, d.To)
	switch {
	case v == 0:
	case d.Kind != "":
		r.count(d.Kind, v, e.Seq)
	case e.Action != "store.copy":
		r.pending = append(r.pending, recordedVersion{v, e.Seq})
	}
}

func (r *RecordedSchema) count(kind string, v, seq int64) {
	if kind == r.Kind && v > r.Version {
		r.Version, r.Seq = v, seq
	}
}

func (r *RecordedSchema) foldPending() {
	for _, p := range r.pending {
		r.count(r.Kind, p.version, p.seq)
	}
	r.pending = nil
}

// Newest is the newest version the whole trail records for Kind, and its
// event: the kindless versions after the last copy are the checked
// store's.
func (r RecordedSchema) Newest() (version, seq int64) {
	r.pending = slices.Clone(r.pending)
	r.foldPending()
	return r.Version, r.Seq
}

// StoreKind is the kind of store a location names, as store.copy events
// record it: "postgres" for a postgres:// or postgresql:// URL, else
// "sqlite" (internal/wire.Parse).
func StoreKind(location string) string {
	l := strings.ToLower(location)
	if strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://") {
		return "postgres"
	}
	return "sqlite"
}

// LoweredError is the fault of a store whose file says schema version
// file while its trail records r: nil when the trail records no more. what
// names the store.
func (r *RecordedSchema) LoweredError(what string, file int64) error {
	version, seq := r.Newest()
	if version <= file {
		return nil
	}
	return gatehouse.Errorf(gatehouse.ECHECKFAILED,
		"%s says its schema is version %d, but event %d of its audit trail records version %d: the version was lowered behind gatehouse's back; refusing to migrate it (a migration would take the rows as they are now) — run 'gatehouse audit verify' and restore a backup",
		what, file, seq, version)
}

// checkpointsAt compares the tree of the first size events with the
// checkpoints of that size.
func (v *Verifier) checkpointsAt(size int64) {
	if !v.sorted {
		slices.SortStableFunc(v.Checkpoints, func(a, b CheckpointRef) int { return cmp.Compare(a.Size, b.Size) })
		v.sorted = true
	}
	for v.fault == nil && v.cp < len(v.Checkpoints) && v.Checkpoints[v.cp].Size <= size {
		c := v.Checkpoints[v.cp]
		v.cp++
		if c.Size < size {
			continue // sizes are sorted; only a size 0 checkpoint is passed over
		}
		if root := v.tree.Root(); root != c.Root {
			// The tree says that some event up to size changed, not which.
			v.fail(size, fmt.Sprintf("one of events 1..%d differs from what %s recorded (root %s, the events give %s): the history was rewritten",
				size, c.What, base64.StdEncoding.EncodeToString(c.Root[:]), base64.StdEncoding.EncodeToString(root[:])))
			v.fault.First = 1
		}
	}
}

// Reject records that the stored row of event seq, next in sequence order,
// cannot be checked: it cannot be read, or a field is not in the form
// gatehouse writes. problem says why, naming the event. A gap before seq is
// reported first, as Add would. It always returns false.
func (v *Verifier) Reject(seq int64, problem string) bool {
	if v.inSequence(seq) {
		v.fail(seq, problem)
	}
	return false
}

// RowError is a stored event row that gatehouse cannot have written: a
// NULL or non-text field, a sequence number that is not an integer, a time
// not in TimeLayout. A store's row scanner returns it instead of guessing
// at the event; Feed reports it as the fault at that row, ListingError as
// an operational error.
type RowError struct {
	// Seq is the row's sequence number, 0 when it has none usable.
	Seq int64
	// Problem says what is wrong, naming the event.
	Problem string
	// Edited is set when the row's form shows it was edited, not merely
	// that it cannot be read.
	Edited bool
}

func (e *RowError) Error() string { return e.Problem }

// Feed checks the next row of a walk in sequence order: ev and its tree
// column as scanned, and the scan's error. A *RowError is the fault at its row (one without a
// sequence number stands after the last one read); any other error is
// returned. It reports whether the walk should go on.
func (v *Verifier) Feed(ev *gatehouse.Event, tree []byte, scanErr error) (bool, error) {
	if scanErr == nil {
		return v.Add(ev, tree), nil
	}
	var bad *RowError
	switch {
	case errors.As(scanErr, &bad):
		seq := bad.Seq
		if seq == 0 {
			seq = v.lastSeq + 1
		}
		problem := bad.Problem
		if bad.Edited {
			problem += ": the row was edited"
		}
		return v.Reject(seq, problem), nil
	case scanErr != nil:
		return false, scanErr
	}
	return v.Add(ev, tree), nil
}

// ListingError is a scan's error as a listing reports it: a *RowError ends
// the listing with an operational error that points to verification.
func ListingError(err error) error {
	var bad *RowError
	if errors.As(err, &bad) {
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "%s: run 'gatehouse audit verify'", bad.Problem)
	}
	return err
}

// inSequence checks that seq is the next sequence number, recording a fault
// when it is not (or when one was found before).
func (v *Verifier) inSequence(seq int64) bool {
	if v.fault != nil {
		return false
	}
	want := v.lastSeq + 1
	switch {
	case seq > want && want == seq-1:
		v.fail(want, fmt.Sprintf("event %d is missing: the chain goes from event %d to event %d", want, v.lastSeq, seq))
	case seq > want:
		v.fail(want, fmt.Sprintf("events %d to %d are missing: the chain goes from event %d to event %d", want, seq-1, v.lastSeq, seq))
	case seq < want:
		v.fail(seq, fmt.Sprintf("event %d is out of order: it follows event %d", seq, v.lastSeq))
	}
	return v.fault == nil
}

func (v *Verifier) fail(seq int64, problem string) { v.fault = &Fault{Seq: seq, Problem: problem} }

// Result is the outcome of a verification.
type Result = gatehouse.ChainResult

// Finish ends the walk. total is the number of events the store holds, so
// the result can say how many were read in all. An empty chain is a fault:
// every store begins with its init event.
func (v *Verifier) Finish(total int64) Result {
	if v.fault == nil && v.lastSeq == 0 {
		v.fail(1, "the audit trail is empty: event 1 (store.init) is missing")
	}
	if v.fault == nil && v.Head != nil && !v.headSeen {
		v.fail(v.lastSeq+1, fmt.Sprintf("the chain ends at event %d but the recorded head is event %d: events were removed from the end", v.lastSeq, v.Head.Seq))
	}
	if version, seq := v.schema.Newest(); v.fault == nil && v.SchemaKnown && version > v.FileSchema {
		v.fail(seq, fmt.Sprintf("the store says its schema is version %d, but event %d records version %d: the version was lowered (which would switch checks off) or tables were removed", v.FileSchema, seq, version))
	}
	if v.fault == nil && v.cp < len(v.Checkpoints) {
		c := v.Checkpoints[len(v.Checkpoints)-1]
		v.fail(v.lastSeq+1, fmt.Sprintf("the trail ends at event %d but %s covers %d events: events were removed from the end", v.lastSeq, c.What, c.Size))
	}
	valid := v.count
	if v.fault != nil && v.fault.First > 0 {
		valid = v.fault.First - 1 // none of the range is known to be sound
	}
	res := Result{
		Valid: valid,
		Total: total,
		Head:  gatehouse.ChainHead{Seq: v.lastSeq, Hash: v.lastHash},
		Fault: v.fault,
	}
	if v.fault == nil && !v.NoTree {
		root := v.tree.Root()
		res.Tree = &gatehouse.TreeHead{Size: v.tree.Size(), Root: base64.StdEncoding.EncodeToString(root[:])}
	}
	return res
}
