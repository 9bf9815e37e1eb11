package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Tx is a transaction with a fixed clock reading: every row and event it
// writes carries the same time.
type Tx struct {
	tx  *sql.Tx
	db  *DB
	ctx context.Context
	now time.Time
	// write is set for Change's transactions, whose statements may come
	// from the prepared-statement cache.
	write bool
}

var _ gatehouse.Tx = (*Tx)(nil)
var _ gatehouse.Store = (*DB)(nil)

// hotStatements run in nearly every change: they are prepared once per
// process, on the single writer connection, so SQLite parses them once
// instead of on every call (parsing was a quarter of a sign-in's time).
var hotStatements = []string{
	qLastEvent, qInsertEvent, qSettings4, qUserByIdentity, qEmailTaken,
	qNameConfusable, qTouchSignIn, qInsertUser, qInsertAttempt,
}

// prepareHot prepares the hot statements once. It runs before a write
// transaction begins: inside one, the pool's only connection is taken.
func (db *DB) prepareHot(ctx context.Context) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if db.stmts != nil {
		return
	}
	stmts := map[string]*sql.Stmt{}
	for _, q := range hotStatements {
		st, err := db.write.PrepareContext(ctx, q)
		if err != nil {
			return // statements are prepared per call instead
		}
		stmts[q] = st
	}
	db.stmts = stmts
}

// prepared returns q as a statement of this transaction: the cached one
// for a hot statement in a write transaction, a fresh one otherwise.
func (tx *Tx) prepared(q string) (*sql.Stmt, error) {
	if tx.write {
		tx.db.stmtMu.Lock()
		st, ok := tx.db.stmts[q]
		tx.db.stmtMu.Unlock()
		if ok {
			return tx.tx.StmtContext(tx.ctx, st), nil
		}
	}
	return tx.tx.PrepareContext(tx.ctx, q)
}

// exec runs a hot statement through the cache.
func (tx *Tx) exec(q string, args ...any) (sql.Result, error) {
	st, err := tx.prepared(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(tx.ctx, args...)
}

// queryRow runs a hot single-row query through the cache.
func (tx *Tx) queryRow(q string, args ...any) *sql.Row {
	st, err := tx.prepared(q)
	if err != nil {
		// QueryRow reports the error at Scan, like database/sql does.
		return tx.tx.QueryRowContext(tx.ctx, q, args...)
	}
	return st.QueryRowContext(tx.ctx, args...)
}

// query runs a hot query through the cache.
func (tx *Tx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := tx.prepared(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(tx.ctx, args...)
}

// Now is the time of this transaction.
func (tx *Tx) Now() time.Time { return tx.now }

// Change runs fn in one immediate (write-locking) transaction and appends
// the event fn returns in the same transaction, then commits. It is the only
// way to write to the store:
//
//   - fn returns an event and nil: the change and its event commit together;
//   - fn returns nil and nil: nothing changed; the transaction is rolled back;
//   - fn returns an error: the transaction is rolled back and the error,
//     classified, is returned.
//
// A refusal that must be audited (a denied sign-in, an unauthorised actor) is
// returned by fn as an event with OutcomeDenied; the caller reports the
// refusal after Change commits it. SQLite serialises writers with its file
// lock and the busy timeout: fn runs once.
func (db *DB) Change(ctx context.Context, fn func(tx gatehouse.Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	return db.change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) { return fn(tx) })
}

func (db *DB) change(ctx context.Context, fn func(tx *Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	if db.readOnly {
		return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "cannot change the store %s: it was opened read-only", db.path)
	}
	db.prepareHot(ctx)
	sqlTx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, db.classify(err, "begin a change")
	}
	defer sqlTx.Rollback()
	tx := &Tx{tx: sqlTx, db: db, ctx: ctx, now: db.now().UTC(), write: true}
	ne, err := fn(tx)
	if err != nil {
		return nil, db.classify(err, "change the store")
	}
	if ne == nil {
		return nil, nil
	}
	ev, err := tx.appendEvent(ne)
	if err != nil {
		return nil, db.classify(err, "append the audit event")
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, db.classify(err, "commit")
	}
	return ev, nil
}

// View runs fn in a read transaction: one consistent snapshot, which under
// WAL does not wait for writers and does not block them.
func (db *DB) View(ctx context.Context, fn func(v gatehouse.View) error) error {
	return db.view(ctx, func(tx *Tx) error { return fn(tx) })
}

func (db *DB) view(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return db.classify(err, "read the store")
	}
	defer sqlTx.Rollback()
	if err := fn(&Tx{tx: sqlTx, db: db, ctx: ctx, now: db.now().UTC()}); err != nil {
		return db.classify(err, "read the store")
	}
	return nil
}
