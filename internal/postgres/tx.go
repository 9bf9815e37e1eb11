package postgres

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// Tx is one change transaction of one tenant, with a fixed clock reading:
// every row and event it writes carries the same time.
type Tx struct {
	tx     pgx.Tx
	ctx    context.Context
	db     *DB
	tenant string
	now    time.Time
	// head is the tenant's chain head, locked for this transaction.
	head gatehouse.ChainHead
}

// Now is the time of this transaction.
func (tx *Tx) Now() time.Time { return tx.now }

// Tenant is the tenant this transaction changes.
func (tx *Tx) Tenant() string { return tx.tenant }

// maxAttempts bounds how often Change runs a transaction that fails on a
// serialisation failure or a deadlock.
const maxAttempts = 10

// qLockHead creates the tenant's head row if needed and locks it, returning
// the current head. In READ COMMITTED a writer that waited for the lock
// gets the head its predecessor committed, and every later statement of
// its transaction sees that predecessor's rows.
const qLockHead = `INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2)
	ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_heads.seq
	RETURNING seq, hash`

// Change runs fn in one transaction of tenant and appends the event fn
// returns in the same transaction, then commits. It has the contract of
// internal/sqlite's DB.Change:
//
//   - fn returns an event and nil: the change and its event commit together;
//   - fn returns nil and nil: nothing changed; the transaction is rolled back;
//   - fn returns an error: the transaction is rolled back and the error,
//     classified, is returned.
//
// The transaction first locks the tenant's chain head, so the changes of
// one tenant are serialised across every process and host, as SQLite's
// BEGIN IMMEDIATE serialises a file's; different tenants do not wait for
// each other. A serialisation failure or deadlock runs the whole
// transaction again (fn included, so fn must have no effect outside tx), up
// to maxAttempts times; callers never see one unless it persists. A unique
// violation is ECONFLICT.
func (db *DB) Change(ctx context.Context, tenant string, fn func(tx *Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	if tenant == "" {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "a change needs a tenant")
	}
	for attempt := 1; ; attempt++ {
		ev, err := db.change(ctx, tenant, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return ev, classify(err, "change the store")
		}
		// Back off with jitter, so that the conflicting transactions do
		// not meet again at once: about 2, 4, 8 … ms, at most ~100 ms.
		d := time.Duration(1<<min(attempt, 6)) * time.Millisecond
		d += rand.N(d) + rand.N(10*time.Millisecond)
		select {
		case <-ctx.Done():
			return nil, classify(ctx.Err(), "change the store")
		case <-time.After(d):
		}
	}
}

// change is one attempt of Change.
func (db *DB) change(ctx context.Context, tenant string, fn func(tx *Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	pgTx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, err
	}
	defer pgTx.Rollback(context.WithoutCancel(ctx))
	tx := &Tx{tx: pgTx, ctx: ctx, db: db, tenant: tenant, now: db.now().UTC()}
	if err := pgTx.QueryRow(ctx, qLockHead, tenant, audit.GenesisHash).Scan(&tx.head.Seq, &tx.head.Hash); err != nil {
		return nil, err
	}
	ne, err := fn(tx)
	if err != nil || ne == nil {
		return nil, err
	}
	ev, err := tx.appendEvent(ne)
	if err != nil {
		return nil, err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return nil, err
	}
	return ev, nil
}

// view runs fn in a read-only REPEATABLE READ transaction: one consistent
// snapshot, which does not wait for writers and does not block them.
func (db *DB) view(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	return classify(err, "read the store")
}
