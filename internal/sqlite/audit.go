package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// appendEvent seals ne onto the end of the chain. It runs inside the
// caller's write transaction, which already holds the write lock, so the
// last hash cannot change underneath it.
func (tx *Tx) appendEvent(ne *gatehouse.NewEvent) (*gatehouse.Event, error) {
	prevSeq, prevHash := int64(0), audit.GenesisHash
	err := tx.queryRow(qLastEvent).Scan(&prevSeq, &prevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	ev, err := audit.Build(ne, prevSeq+1, prevHash, tx.now, tx.db.osUser)
	if err != nil {
		return nil, err
	}
	if SchemaVersion() < treeSchema || appendWithoutTree {
		// The schema of an older gatehouse (tests make such stores).
		_, err = tx.exec(qInsertEventV1,
			ev.Seq, audit.FormatTime(ev.Time), ev.Actor, ev.OSUser, ev.Action, ev.Target,
			string(ev.Outcome), string(ev.Details), ev.PrevHash, ev.Hash)
		return ev, err
	}
	tree, err := audit.TreeColumn(ev, tx.TreeColumns)
	if err != nil {
		return nil, err
	}
	_, err = tx.exec(qInsertEvent,
		ev.Seq, audit.FormatTime(ev.Time), ev.Actor, ev.OSUser, ev.Action, ev.Target,
		string(ev.Outcome), string(ev.Details), ev.PrevHash, ev.Hash, tree)
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// appendWithoutTree makes appends skip the tree column, as before schema
// 8. Only a benchmark sets it (export_test.go), to measure in the same run
// what the tree costs an append; such a store's tree is wrong.
var appendWithoutTree bool

// TreeColumns reads the tree columns of records (event seq-1).
func (tx *Tx) TreeColumns(records []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(records))
	for _, r := range records {
		var col []byte
		err := tx.queryRow(qTreeColumn, r+1).Scan(&col)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[r] = col
	}
	return out, nil
}

// Checkpoints lists the signed checkpoints, smallest first. A store read
// as it is from before the tree has none (nor their table).
func (tx *Tx) Checkpoints() ([]gatehouse.CheckpointRow, error) {
	if v := tx.db.version; v > 0 && v < treeSchema {
		return nil, nil
	}
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT size, time, note FROM audit_checkpoints ORDER BY size")
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

// Event reads event seq; found is false when there is none.
func (tx *Tx) Event(seq int64) (gatehouse.Event, bool, error) {
	var ev gatehouse.Event
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT "+eventColumns+" FROM audit_events WHERE seq = ?", seq)
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

// TreeSize is the number of events.
func (tx *Tx) TreeSize() (int64, error) {
	var n int64
	err := tx.queryRow("SELECT coalesce(max(seq), 0) FROM audit_events").Scan(&n)
	return n, err
}

// PutCheckpoint stores a signed checkpoint, or more signatures on one
// stored. The note must be in the form gatehouse keeps (audit.CheckNote);
// for a size already stored, the signature lines it lacks are merged into
// the stored note inside the write transaction, so that runs cosigning
// at once each add their line and none is lost (the table's trigger
// refuses any other change).
func (db *DB) PutCheckpoint(ctx context.Context, c gatehouse.CheckpointRow) error {
	if db.readOnly {
		return gatehouse.Errorf(gatehouse.EINTERNAL, "cannot change the store %s: it was opened read-only", db.path)
	}
	if err := audit.CheckNote([]byte(c.Note)); err != nil {
		return gatehouse.Errorf(gatehouse.EINTERNAL, "refusing to store the checkpoint of %d events: %v", c.Size, err)
	}
	sqlTx, err := db.beginWrite(ctx)
	if err != nil {
		return db.classify(err, "begin a change")
	}
	defer sqlTx.Rollback()
	var stored string
	err = sqlTx.QueryRowContext(ctx, "SELECT note FROM audit_checkpoints WHERE size = ?", c.Size).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = sqlTx.ExecContext(ctx, "INSERT INTO audit_checkpoints (size, time, note) VALUES (?, ?, ?)", c.Size, audit.FormatTime(c.Time), c.Note)
	case err == nil:
		var merged []byte
		if merged, err = audit.MergeNote([]byte(stored), []byte(c.Note)); err != nil {
			return gatehouse.Errorf(gatehouse.ECHECKFAILED, "cannot add signatures to the stored checkpoint of %d events: %v: run 'gatehouse audit verify'", c.Size, err)
		}
		if string(merged) != stored {
			_, err = sqlTx.ExecContext(ctx, "UPDATE audit_checkpoints SET note = ? WHERE size = ?", string(merged), c.Size)
		}
	}
	if err != nil {
		return db.classify(err, "store the checkpoint")
	}
	return db.classify(sqlTx.Commit(), "commit")
}

const (
	qLastEvent   = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
	qInsertEvent = `INSERT INTO audit_events
		(seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash, tree)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qTreeColumn = "SELECT tree FROM audit_events WHERE seq = ?"
	// treeSchema is the schema that added the tree column.
	treeSchema     = 8
	qInsertEventV1 = `INSERT INTO audit_events
		(seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

const eventColumns = "seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash"

// eventFields names the text columns of eventColumns after seq, in order.
var eventFields = [...]string{"time", "actor", "os_user", "action", "target", "outcome", "details", "prev_hash", "hash"}

// scanEvent reads one row into ev (and its tree column into tree[0], when
// given and the query selects it). A row that gatehouse did not write is a
// *audit.RowError, never a guess: ev is reused from row to row, and a field
// kept from the previous row would make a forged row pass its hash check.
func scanEvent(rows *sql.Rows, ev *gatehouse.Event, tree ...*[]byte) error {
	var s eventScanner
	return s.scan(rows, ev, tree...)
}

// eventScanner scans event rows into destinations it keeps from row to
// row: a walk of the whole trail allocates nothing per row for them.
type eventScanner struct {
	seq  any
	raw  [len(eventFields)]any
	col  any
	dest []any // &seq, &raw[i]..., &col
}

func (s *eventScanner) scan(rows *sql.Rows, ev *gatehouse.Event, tree ...*[]byte) error {
	if s.dest == nil {
		s.dest = []any{&s.seq}
		for i := range s.raw {
			s.dest = append(s.dest, &s.raw[i])
		}
		s.dest = append(s.dest, &s.col)
	}
	// Each column is scanned as the driver returns it, not converted: a
	// value stored as a BLOB (or a number) in a table rebuilt without its
	// STRICT types hashes like its text but compares differently in SQL, so
	// it could hide an event from a --since, --action or --target filter
	// with its hash intact. Only TEXT is gatehouse's.
	dest := s.dest
	if len(tree) == 0 {
		dest = dest[:len(dest)-1]
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	if len(tree) > 0 {
		b, _ := s.col.([]byte) // anything but a BLOB matches no tree
		*tree[0] = b
	}
	n, ok := s.seq.(int64)
	if !ok {
		return &audit.RowError{Problem: "a row of the audit trail has no integer sequence number"}
	}
	var f [len(eventFields)]string
	for i, v := range s.raw {
		switch v := v.(type) {
		case string:
			f[i] = v
		case nil:
			return &audit.RowError{Seq: n, Problem: fmt.Sprintf("event %d cannot be read: its %s is NULL", n, eventFields[i])}
		default:
			return &audit.RowError{Seq: n, Problem: fmt.Sprintf("event %d's %s is stored as %s, not text", n, eventFields[i], storageClass(v)),
				Edited: true}
		}
	}
	tm, err := audit.ParseTime(f[0])
	if err != nil {
		return &audit.RowError{Seq: n, Problem: fmt.Sprintf("event %d's stored time is %v", n, err), Edited: true}
	}
	*ev = gatehouse.Event{
		Seq: n, Time: tm, Actor: f[1], OSUser: f[2], Action: f[3], Target: f[4],
		Outcome: gatehouse.Outcome(f[5]), Details: json.RawMessage(f[6]),
		PrevHash: f[7], Hash: f[8],
	}
	return nil
}

// storageClass names the SQLite storage class of a scanned value.
func storageClass(v any) string {
	switch v.(type) {
	case []byte:
		return "a BLOB"
	case int64:
		return "an INTEGER"
	case float64:
		return "a REAL"
	}
	return fmt.Sprintf("%T", v)
}

// ListEvents calls fn for each event that f selects, in sequence order,
// streaming rows from one read snapshot: memory use does not grow with the
// size of the trail. With f.Limit it yields the last Limit matching events.
// fn must not keep ev: it is reused for the next row.
func (db *DB) ListEvents(ctx context.Context, f gatehouse.EventFilter, fn func(ev *gatehouse.Event) error) error {
	return db.view(ctx, func(tx *Tx) error {
		q, args, err := tx.eventsQuery(f)
		if err != nil {
			return err
		}
		rows, err := tx.tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var ev gatehouse.Event
		var scanner eventScanner
		for rows.Next() {
			if err := audit.ListingError(scanner.scan(rows, &ev)); err != nil {
				return err
			}
			if err := fn(&ev); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// eventIndexSchema is the first schema with the index on action
// (migration 0011).
const eventIndexSchema = 11

// probeCap bounds the index entries a limited listing counts to choose
// its plan (eventsQuery): a window or action range holding fewer is read
// through its index and sorted; a larger one is walked newest first.
const probeCap = 1000

// eventFilter is one condition of a listing, with its arguments.
type eventFilter struct {
	cond string
	args []any
}

// eventsQuery returns the statement that lists the events f selects.
//
// Without a limit it is every matching event in sequence order. With one,
// it is the last f.Limit of them, and SQLite's planner, which has no
// statistics about the trail, cannot tell a quiet time window (a few
// events, best found through audit_events_time) from a busy one (best
// found walking the trail backwards), nor a rare action from a common one.
// So the plan is chosen here, by counting at most probeCap entries of each
// usable index in this snapshot: an index range of fewer entries drives
// the query (those rows are read and sorted: bounded by probeCap); when
// every range is larger, an exact action is walked backwards through
// audit_events_action (action, seq) per action name, and anything else
// walks the trail backwards, where a busy window's events are.
func (tx *Tx) eventsQuery(f gatehouse.EventFilter) (string, []any, error) {
	var timeF, actionF []eventFilter
	var other []eventFilter
	if !f.Since.IsZero() {
		timeF = append(timeF, eventFilter{"time >= ?", []any{audit.FormatTime(f.Since)}})
	}
	if !f.Until.IsZero() {
		timeF = append(timeF, eventFilter{"time < ?", []any{audit.FormatTime(f.Until)}})
	}
	prefix, isPrefix := strings.CutSuffix(f.Action, ".*")
	if isPrefix {
		// "support.*" selects every action under support. '/' is the byte
		// after '.', so the range is exactly the names starting "support.".
		actionF = append(actionF, eventFilter{"action > ? AND action < ?", []any{prefix + ".", prefix + "/"}})
	} else if f.Action != "" {
		actionF = append(actionF, eventFilter{"action = ?", []any{f.Action}})
	}
	if f.Actor != "" {
		other = append(other, eventFilter{"actor = ?", []any{f.Actor}})
	}
	if f.Target != "" {
		other = append(other, eventFilter{"target = ?", []any{f.Target}})
	}
	if f.AfterSeq > 0 {
		other = append(other, eventFilter{"seq > ?", []any{f.AfterSeq}})
	}
	all := append(append(append([]eventFilter{}, timeF...), actionF...), other...)
	where := func(fs []eventFilter) (string, []any) {
		if len(fs) == 0 {
			return "", nil
		}
		conds, args := make([]string, len(fs)), []any{}
		for i, c := range fs {
			conds[i] = c.cond
			args = append(args, c.args...)
		}
		return " WHERE " + strings.Join(conds, " AND "), args
	}
	w, args := where(all)
	if f.Limit <= 0 {
		return "SELECT " + eventColumns + " FROM audit_events" + w + " ORDER BY seq", args, nil
	}
	last := func(from string, args []any) (string, []any) {
		return "SELECT " + eventColumns + " FROM audit_events WHERE seq IN (" + from + ") ORDER BY seq",
			append(args, f.Limit)
	}
	if tx.db.version < eventIndexSchema || (len(timeF) == 0 && len(actionF) == 0) || f.AfterSeq > 0 {
		// An older store (read as it is) has no index on action; the
		// other filters have none; --follow's AfterSeq is a range of
		// the newest events.
		q := "SELECT " + eventColumns + " FROM audit_events" + w
		return "SELECT * FROM (" + q + " ORDER BY seq DESC LIMIT ?) ORDER BY seq", append(args, f.Limit), nil
	}
	// Count the entries of each usable index range, up to probeCap.
	best, bestN := "", probeCap
	for _, c := range []struct {
		index string
		fs    []eventFilter
	}{{"audit_events_time", timeF}, {"audit_events_action", actionF}} {
		if len(c.fs) == 0 {
			continue
		}
		cw, cargs := where(c.fs)
		var n int
		err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM (SELECT 1 FROM audit_events INDEXED BY "+c.index+cw+" LIMIT ?)",
			append(cargs, probeCap)...).Scan(&n)
		if err != nil {
			return "", nil, err
		}
		if n < bestN {
			best, bestN = c.index, n
		}
	}
	if best != "" {
		q, a := last("SELECT seq FROM audit_events INDEXED BY "+best+w+" ORDER BY seq DESC LIMIT ?", args)
		return q, a, nil
	}
	if len(actionF) > 0 {
		// Many events of these actions: walk each action name's entries
		// newest first (the index holds them in seq order), and keep the
		// newest Limit of all.
		names := []string{f.Action}
		if isPrefix {
			var err error
			if names, err = tx.actionNames(prefix); err != nil {
				return "", nil, err
			}
		}
		rest := append(append([]eventFilter{}, timeF...), other...)
		var parts []string
		var uargs []any
		for _, name := range names {
			pw, pargs := where(append([]eventFilter{{"action = ?", []any{name}}}, rest...))
			parts = append(parts, "SELECT seq FROM (SELECT seq FROM audit_events INDEXED BY audit_events_action"+pw+" ORDER BY seq DESC LIMIT ?)")
			uargs = append(append(uargs, pargs...), f.Limit)
		}
		q, a := last(strings.Join(parts, " UNION ALL ")+" ORDER BY seq DESC LIMIT ?", uargs)
		return q, a, nil
	}
	q, a := last("SELECT seq FROM audit_events NOT INDEXED"+w+" ORDER BY seq DESC LIMIT ?", args)
	return q, a, nil
}

// actionNames returns the distinct action names under prefix ("support"
// for "support.*"), one index seek each.
func (tx *Tx) actionNames(prefix string) ([]string, error) {
	var names []string
	for after := prefix + "."; ; {
		var name string
		err := tx.tx.QueryRowContext(tx.ctx, `SELECT action FROM audit_events INDEXED BY audit_events_action
			WHERE action > ? AND action < ? ORDER BY action LIMIT 1`, after, prefix+"/").Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names, after = append(names, name), name
	}
}

// Head returns the last event's sequence number and hash.
func (db *DB) Head(ctx context.Context) (gatehouse.ChainHead, error) {
	var h gatehouse.ChainHead
	err := db.view(ctx, func(tx *Tx) error {
		err := tx.tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&h.Seq, &h.Hash)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.Errorf(gatehouse.ECHECKFAILED, "the audit trail is empty: event 1 (store.init) is missing")
		}
		return err
	})
	return h, err
}

// VerifyChain walks the whole trail in sequence order from one snapshot and
// checks every link; o.Head, when non-nil, must be found on the way.
// o.Progress, when non-nil, is called with the number of events checked so
// far; o.Each with every sound event; o.Then, after a sound walk of a store
// of the current schema, on the same snapshot.
func (db *DB) VerifyChain(ctx context.Context, o gatehouse.VerifyOptions) (gatehouse.ChainResult, error) {
	head, progress := o.Head, o.Progress
	var res audit.Result
	err := db.view(ctx, func(tx *Tx) error {
		var total int64
		if err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM audit_events").Scan(&total); err != nil {
			return err
		}
		v := audit.Verifier{Head: head}
		cols := eventColumns + ", tree"
		// A lowered version (to 0 too) would switch checks off (the
		// tree's, the state replay's): the trail records the versions the
		// store really had.
		if db.version < int64(SchemaVersion()) {
			// Only a store below this binary's version can have been
			// lowered; a current one may hold a copied trail of another
			// kind of store, whose versions are numbered apart.
			v.FileSchema, v.SchemaKnown, v.FileKind = db.version, true, "sqlite"
		}
		if db.version > 0 && db.version < treeSchema {
			// A store read as it is, from before the tree: its chain only.
			v.NoTree, cols = true, eventColumns+", NULL"
		} else {
			cps, err := tx.Checkpoints()
			if err != nil {
				return err
			}
			v.AddCheckpoints(cps)
			v.AddTreeChecks(o.Checkpoints)
		}
		rows, err := tx.tx.QueryContext(ctx, "SELECT "+cols+" FROM audit_events ORDER BY seq")
		if err != nil {
			return err
		}
		defer rows.Close()
		var ev gatehouse.Event
		var tree []byte
		var n int64
		var scanner eventScanner
		for rows.Next() {
			n++
			if progress != nil && n%65536 == 0 {
				progress(n, total)
			}
			scanErr := scanner.scan(rows, &ev, &tree) // before tree is passed: it is the row's
			more, err := v.Feed(&ev, tree, scanErr)
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
		res = v.Finish(total)
		if o.Then != nil && res.OK() && db.version == int64(SchemaVersion()) {
			return o.Then(tx)
		}
		return nil
	})
	return res, err
}

// AppendSynthetic appends n sealed events made from template, in
// transactions of 10,000: a valid chain of any length, fast, for
// benchmarks and measurements (cmd gatehouse never calls it).
func (db *DB) AppendSynthetic(ctx context.Context, n int, template gatehouse.NewEvent) error {
	for done := 0; done < n; {
		batch := min(10000, n-done)
		sqlTx, err := db.beginWrite(ctx)
		if err != nil {
			return db.classify(err, "begin")
		}
		tx := &Tx{tx: sqlTx, db: db, ctx: ctx, now: db.now().UTC(), write: true}
		for i := 0; i < batch; i++ {
			ev := template
			ev.Details = map[string]any{"n": done + i}
			if _, err := tx.appendEvent(&ev); err != nil {
				sqlTx.Rollback()
				return db.classify(err, "append")
			}
		}
		if err := sqlTx.Commit(); err != nil {
			return db.classify(err, "commit")
		}
		done += batch
	}
	return nil
}

// LatestEvent returns the newest successful event whose action is one of
// actions. The scan runs backwards from the newest event and stops at the
// first match.
func (tx *Tx) LatestEvent(actions ...string) (gatehouse.EventRef, bool, error) {
	var ev gatehouse.EventRef
	args := make([]any, len(actions))
	for i, a := range actions {
		args[i] = a
	}
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT seq, actor, action FROM audit_events
		WHERE action IN (?`+strings.Repeat(", ?", len(actions)-1)+`) AND outcome = 'success'
		ORDER BY seq DESC LIMIT 1`, args...).Scan(&ev.Seq, &ev.Actor, &ev.Action)
	if errors.Is(err, sql.ErrNoRows) {
		return ev, false, nil
	}
	return ev, err == nil, err
}

// EnvelopeIssued reports whether an envelope with this SHA-256 (hex) was
// issued by a committed support request or rotation: the audit trail
// records each envelope's digest.
func (tx *Tx) EnvelopeIssued(sha256Hex string) (bool, error) {
	var ok bool
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT EXISTS (SELECT 1 FROM audit_events
		WHERE action IN ('support.request', 'support.rotate') AND outcome = 'success'
		AND json_extract(details, '$.envelope_sha256') = ?)`, sha256Hex).Scan(&ok)
	return ok, err
}
