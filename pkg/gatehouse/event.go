package gatehouse

import (
	"encoding/json"
	"time"
)

// Event is one entry of the audit trail. Events are appended in the same
// transaction as the change they record and are never updated or deleted.
//
// Hash covers the event's canonical encoding and PrevHash, so that any
// edit, deletion, insertion or reordering breaks the chain; see
// internal/audit for the encoding.
type Event struct {
	Seq      int64           `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	OSUser   string          `json:"os_user"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Outcome  Outcome         `json:"outcome"`
	Details  json.RawMessage `json:"details"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Outcome says how the recorded action ended.
type Outcome string

// Outcomes of an audited action.
const (
	// OutcomeSuccess: the change was made or the sign-in succeeded.
	OutcomeSuccess Outcome = "success"
	// OutcomeDenied: a decision refused the action (a sign-in refused, an
	// actor without the right). Nothing else changed.
	OutcomeDenied Outcome = "denied"
)

// Actor names used for work nobody typed.
const (
	// ActorSystem is the actor of automatic work (ensure, sweep, migrations).
	ActorSystem = "system"
)

// NewEvent is what a service hands the store to append: the store assigns
// Seq, Time, PrevHash and Hash.
type NewEvent struct {
	Actor   string
	OSUser  string
	Action  string
	Target  string
	Outcome Outcome
	// Details is marshalled to JSON with sorted keys. It must never hold a
	// secret; callers put identifiers, fingerprints and digests here.
	Details map[string]any
}

// EventFilter selects audit events. Zero values match everything.
type EventFilter struct {
	Since  time.Time
	Until  time.Time
	Actor  string
	Action string
	Target string
	// AfterSeq selects events with a larger sequence number (for --follow).
	AfterSeq int64
	// Limit caps the number of events; 0 means no limit.
	Limit int
}

// ChainHead is the last event's sequence number and hash. A cron job can
// keep it elsewhere and later prove that no tail was cut off.
type ChainHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// TreeHead is the Merkle tree over the first Size events: its root hash,
// in base64 as checkpoints write it.
type TreeHead struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}

// CheckpointRow is a signed checkpoint as a store keeps it: the tree size
// it covers, when it was stored, and the signed note (C2SP
// tlog-checkpoint) with the log's signature and any witnesses'.
type CheckpointRow struct {
	Size int64     `json:"size"`
	Time time.Time `json:"time"`
	Note string    `json:"note"`
}
