package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

const (
	qInsertEvent = `INSERT INTO audit_events
		(tenant_id, seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash, tree)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	qMoveHead = "UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1 AND seq = $4"
	// treeSchema is the schema that added the tree column.
	treeSchema     = 4
	qInsertEventV1 = `INSERT INTO audit_events
		(tenant_id, seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
)

const eventColumns = "seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash"

// appendEvent seals ne onto the end of the tenant's chain and moves the
// head to it. The transaction holds the head's lock (see Change), so
// nothing else can append to this tenant meanwhile.
func (tx *Tx) appendEvent(ne *gatehouse.NewEvent) (*gatehouse.Event, error) {
	ev, err := appendEvent(tx.ctx, tx.q, tx.tenant, tx.head, ne, tx.now, tx.s.osUser)
	if err != nil {
		return nil, err
	}
	tx.head = gatehouse.ChainHead{Seq: ev.Seq, Hash: ev.Hash}
	return ev, nil
}

// appendEvent seals ne after head on tenant's chain, in q, which holds the
// lock of tenant's head row.
func appendEvent(ctx context.Context, q pgx.Tx, tenant string, head gatehouse.ChainHead, ne *gatehouse.NewEvent, now time.Time, osUser string) (*gatehouse.Event, error) {
	ev, err := audit.Build(ne, head.Seq+1, head.Hash, now, osUser)
	if err != nil {
		return nil, err
	}
	if SchemaVersion() < treeSchema {
		// The schema of an older gatehouse (tests make such stores).
		_, err = q.Exec(ctx, qInsertEventV1, tenant,
			ev.Seq, audit.FormatTime(ev.Time), ev.Actor, ev.OSUser, ev.Action, ev.Target,
			string(ev.Outcome), string(ev.Details), ev.PrevHash, ev.Hash)
		if err != nil {
			return nil, err
		}
		return ev, moveHead(ctx, q, tenant, head, ev)
	}
	tree, err := audit.TreeColumn(ev, func(records []int64) (map[int64][]byte, error) {
		return treeColumns(ctx, q, tenant, records)
	})
	if err != nil {
		return nil, err
	}
	if _, err := q.Exec(ctx, qInsertEvent, tenant,
		ev.Seq, audit.FormatTime(ev.Time), ev.Actor, ev.OSUser, ev.Action, ev.Target,
		string(ev.Outcome), string(ev.Details), ev.PrevHash, ev.Hash, tree); err != nil {
		return nil, err
	}
	return ev, moveHead(ctx, q, tenant, head, ev)
}

// moveHead moves tenant's head from head to ev.
func moveHead(ctx context.Context, q pgx.Tx, tenant string, head gatehouse.ChainHead, ev *gatehouse.Event) error {
	tag, err := q.Exec(ctx, qMoveHead, tenant, ev.Seq, ev.Hash, head.Seq)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		// Cannot happen while the head is locked; refuse rather than fork.
		return fmt.Errorf("the audit head of tenant %q moved during the transaction", tenant)
	}
	return nil
}

// treeColumns reads the tree columns of the tenant's records (event
// seq-1), in one query.
func treeColumns(ctx context.Context, q pgx.Tx, tenant string, records []int64) (map[int64][]byte, error) {
	seqs := make([]int64, len(records))
	for i, r := range records {
		seqs[i] = r + 1
	}
	rows, err := q.Query(ctx, "SELECT seq, tree FROM audit_events WHERE tenant_id = $1 AND seq = ANY($2)", tenant, seqs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64][]byte, len(records))
	for rows.Next() {
		var seq int64
		var col []byte
		if err := rows.Scan(&seq, &col); err != nil {
			return nil, err
		}
		out[seq-1] = col
	}
	return out, rows.Err()
}

// TreeColumns reads the tree columns of records (event seq-1).
func (v *View) TreeColumns(records []int64) (map[int64][]byte, error) {
	return treeColumns(v.ctx, v.q, v.tenant, records)
}

// Checkpoints lists the tenant's signed checkpoints, smallest first. A
// database read as it is from before the tree has none (nor their table).
func (v *View) Checkpoints() ([]gatehouse.CheckpointRow, error) {
	if v.version > 0 && v.version < treeSchema {
		return nil, nil
	}
	rows, err := v.query("SELECT size, time, note FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY size")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.CheckpointRow
	for rows.Next() {
		var c gatehouse.CheckpointRow
		var tm string
		if err := rows.Scan(&c.Size, &tm, &c.Note); err != nil {
			return nil, err
		}
		c.Time, _ = audit.ParseTime(tm)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Event reads the tenant's event seq; found is false when there is none.
func (v *View) Event(seq int64) (gatehouse.Event, bool, error) {
	var ev gatehouse.Event
	rows, err := v.query("SELECT "+eventColumns+" FROM audit_events WHERE tenant_id = $1 AND seq = $2", seq)
	if err != nil {
		return ev, false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return ev, false, rows.Err()
	}
	if err := audit.ListingError(scanEvent(rows, &ev)); err != nil {
		return ev, false, err
	}
	return ev, true, nil
}

// TreeSize is the number of the tenant's events.
func (v *View) TreeSize() (int64, error) {
	var n int64
	err := v.queryRow("SELECT coalesce(max(seq), 0) FROM audit_events WHERE tenant_id = $1").Scan(&n)
	return n, err
}

// PutCheckpoint stores a signed checkpoint of the tenant's log, or more
// signatures on one stored. The note must be in the form gatehouse keeps
// (audit.CheckNote); for a size already stored, the signature lines it
// lacks are merged into the stored note inside the transaction, the row
// locked, so that runs cosigning at once each add their line and none is
// lost (the table's trigger refuses any other change).
func (s *Store) PutCheckpoint(ctx context.Context, c gatehouse.CheckpointRow) error {
	if s.readOnly {
		return gatehouse.Errorf(gatehouse.EINTERNAL, "cannot change the store: it was opened read-only")
	}
	if err := audit.CheckNote([]byte(c.Note)); err != nil {
		return gatehouse.Errorf(gatehouse.EINTERNAL, "refusing to store the checkpoint of %d events: %v", c.Size, err)
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (tenant_id, size, time, note) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id, size) DO NOTHING`, s.tenant, c.Size, audit.FormatTime(c.Time), c.Note)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var stored string
		if err := tx.QueryRow(ctx, "SELECT note FROM audit_checkpoints WHERE tenant_id = $1 AND size = $2 FOR UPDATE",
			s.tenant, c.Size).Scan(&stored); err != nil {
			return err
		}
		merged, err := audit.MergeNote([]byte(stored), []byte(c.Note))
		if err != nil {
			return gatehouse.Errorf(gatehouse.ECHECKFAILED, "cannot add signatures to the stored checkpoint of %d events: %v: run 'gatehouse audit verify'", c.Size, err)
		}
		if string(merged) == stored {
			return nil
		}
		_, err = tx.Exec(ctx, "UPDATE audit_checkpoints SET note = $3 WHERE tenant_id = $1 AND size = $2", s.tenant, c.Size, string(merged))
		return err
	})
	return classify(err, "store the checkpoint")
}

// scanEvent reads one row into ev. A stored time not in audit.TimeLayout is
// an *audit.RowError: gatehouse did not write it.
func scanEvent(rows pgx.Rows, ev *gatehouse.Event, tree ...*[]byte) error {
	var seq int64
	var f [9]string
	dest := []any{&seq, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]}
	if len(tree) > 0 {
		dest = append(dest, tree[0])
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	tm, err := audit.ParseTime(f[0])
	if err != nil {
		return &audit.RowError{Seq: seq, Problem: fmt.Sprintf("event %d's stored time is %v", seq, err), Edited: true}
	}
	*ev = gatehouse.Event{
		Seq: seq, Time: tm, Actor: f[1], OSUser: f[2], Action: f[3], Target: f[4],
		Outcome: gatehouse.Outcome(f[5]), Details: json.RawMessage(f[6]),
		PrevHash: f[7], Hash: f[8],
	}
	return nil
}

// ListEvents calls fn for each of the tenant's events that f selects, in
// sequence order, streaming rows from one snapshot. With f.Limit it yields
// the last Limit matching events. fn must not keep ev: it is reused.
func (s *Store) ListEvents(ctx context.Context, f gatehouse.EventFilter, fn func(ev *gatehouse.Event) error) error {
	q, args := s.eventsQuery(f)
	return s.view(ctx, func(v *View) error {
		rows, err := v.q.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var ev gatehouse.Event
		for rows.Next() {
			if err := audit.ListingError(scanEvent(rows, &ev)); err != nil {
				return err
			}
			if err := fn(&ev); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// eventsQuery returns the statement that lists the events f selects. With
// a limit, PostgreSQL's planner chooses from its statistics (and, as every
// statement is planned for its arguments, for this window or action):
// audit_events_time for a quiet window, audit_events_action (tenant,
// action, seq: one action's events newest first) for an action, or the
// primary key walked backwards for a busy window.
func (s *Store) eventsQuery(f gatehouse.EventFilter) (string, []any) {
	where, args := []string{"tenant_id = $1"}, []any{s.tenant}
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	if !f.Since.IsZero() {
		add("time >= ?", audit.FormatTime(f.Since))
	}
	if !f.Until.IsZero() {
		add("time < ?", audit.FormatTime(f.Until))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, ".*"); ok {
		// "support.*" is every action under support: '/' follows '.'.
		add("action > ? COLLATE \"C\" AND action < ? COLLATE \"C\"", prefix+".", prefix+"/")
	} else if f.Action != "" {
		// COLLATE "C", the index's: the same equality, and the index serves it.
		add("action = ? COLLATE \"C\"", f.Action)
	}
	if f.Target != "" {
		add("target = ?", f.Target)
	}
	if f.AfterSeq > 0 {
		add("seq > ?", f.AfterSeq)
	}
	q := "SELECT " + eventColumns + " FROM audit_events WHERE " + strings.Join(where, " AND ")
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q = "SELECT * FROM (" + q + " ORDER BY seq DESC LIMIT $" + strconv.Itoa(len(args)) + ") AS last ORDER BY seq"
	} else {
		q += " ORDER BY seq"
	}
	return q, args
}

// Head returns the tenant's last event's sequence number and hash.
func (s *Store) Head(ctx context.Context) (gatehouse.ChainHead, error) {
	var h gatehouse.ChainHead
	err := s.view(ctx, func(v *View) error {
		err := v.queryRow("SELECT seq, hash FROM audit_events WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1").Scan(&h.Seq, &h.Hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return gatehouse.Errorf(gatehouse.ECHECKFAILED, "the audit trail is empty: event 1 (store.init) is missing")
		}
		return err
	})
	return h, err
}

// VerifyChain walks the tenant's whole chain in sequence order from one
// snapshot and checks every link with audit.Verifier. o.Head, when
// non-nil, is a head recorded elsewhere that must be found on the way;
// without one, the tenant's stored head row serves, so a tail cut off
// without moving the head back is found too. o.Progress, when non-nil, is
// called with the number of events checked so far; o.Each with every sound
// event; o.Then, after a sound walk of a database of the current schema,
// on the same snapshot.
func (s *Store) VerifyChain(ctx context.Context, o gatehouse.VerifyOptions) (gatehouse.ChainResult, error) {
	head, progress := o.Head, o.Progress
	var res gatehouse.ChainResult
	err := s.view(ctx, func(v *View) error {
		if head == nil {
			var stored gatehouse.ChainHead
			err := v.queryRow("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1").Scan(&stored.Seq, &stored.Hash)
			switch {
			case err == nil && stored.Seq > 0:
				head = &stored
			case err != nil && !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		var total int64
		if err := v.queryRow("SELECT count(*) FROM audit_events WHERE tenant_id = $1").Scan(&total); err != nil {
			return err
		}
		ver := audit.Verifier{Head: head}
		cols := eventColumns + ", tree"
		// A lowered version (to 0 too) would switch checks off (the
		// tree's, the state replay's): the trail records the versions the
		// database really had.
		if s.version < SchemaVersion() {
			// Only a store below this binary's version can have been
			// lowered; a current one may hold a copied trail of another
			// kind of store, whose versions are numbered apart.
			ver.FileSchema, ver.SchemaKnown, ver.FileKind = int64(s.version), true, "postgres"
		}
		if s.version > 0 && s.version < treeSchema {
			// A database read as it is, from before the tree: chains only.
			ver.NoTree, cols = true, eventColumns+", NULL::bytea"
		} else {
			cps, err := v.Checkpoints()
			if err != nil {
				return err
			}
			ver.AddCheckpoints(cps)
			ver.AddTreeChecks(o.Checkpoints)
		}
		rows, err := v.query("SELECT " + cols + " FROM audit_events WHERE tenant_id = $1 ORDER BY seq")
		if err != nil {
			return err
		}
		defer rows.Close()
		var ev gatehouse.Event
		var tree []byte
		var n int64
		for rows.Next() {
			n++
			if progress != nil && n%65536 == 0 {
				progress(n, total)
			}
			scanErr := scanEvent(rows, &ev, &tree) // before tree is passed: it is the row's
			more, err := ver.Feed(&ev, tree, scanErr)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			if o.Each != nil {
				if err := o.Each(&ev); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		res = ver.Finish(total)
		if o.Then != nil && res.OK() && s.version == SchemaVersion() {
			return o.Then(v)
		}
		return nil
	})
	return res, err
}
