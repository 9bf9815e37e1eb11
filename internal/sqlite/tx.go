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
// refusal after Change commits it.
func (db *DB) Change(ctx context.Context, fn func(tx *Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, db.classify(err, "begin a change")
	}
	defer sqlTx.Rollback()
	tx := &Tx{tx: sqlTx, db: db, ctx: ctx, now: db.now().UTC()}
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
func (db *DB) View(ctx context.Context, fn func(tx *Tx) error) error {
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
