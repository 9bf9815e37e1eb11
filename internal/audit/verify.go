package audit

import (
	"errors"
	"fmt"

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

	count    int64
	lastSeq  int64
	lastHash string
	headSeen bool
	fault    *Fault
}

// Add checks the next event. It returns false once a fault has been found;
// later events are then ignored.
func (v *Verifier) Add(e *gatehouse.Event) bool {
	if !v.inSequence(e.Seq) {
		return false
	}
	prev := v.lastHash
	if v.lastSeq == 0 {
		prev = GenesisHash
	}
	switch {
	case e.PrevHash != prev:
		if e.Seq == 1 {
			v.fail(e.Seq, "event 1 does not start the chain: its previous hash is not the genesis hash (events were removed or inserted before it)")
		} else {
			v.fail(e.Seq, fmt.Sprintf("event %d does not follow event %d: its previous hash differs from event %d's hash (an event was inserted, removed or moved)", e.Seq, v.lastSeq, v.lastSeq))
		}
	default:
		h, err := Hash(e)
		if err != nil || h != e.Hash {
			v.fail(e.Seq, fmt.Sprintf("event %d was altered: its content does not match its hash", e.Seq))
		}
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

// Feed checks the next row of a walk in sequence order: ev as scanned and
// the scan's error. A *RowError is the fault at its row (one without a
// sequence number stands after the last one read); any other error is
// returned. It reports whether the walk should go on.
func (v *Verifier) Feed(ev *gatehouse.Event, scanErr error) (bool, error) {
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
	return v.Add(ev), nil
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
	return Result{
		Valid: v.count,
		Total: total,
		Head:  gatehouse.ChainHead{Seq: v.lastSeq, Hash: v.lastHash},
		Fault: v.fault,
	}
}
