package postgres

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// View is one read snapshot of one tenant (gatehouse.View), with a fixed
// clock reading. Every statement it runs names its tenant as $1: see
// queryRow, query and exec.
type View struct {
	ctx    context.Context
	q      pgx.Tx
	tenant string
	now    time.Time
	// version is the database's schema version: an older one, read as it
	// is by the audit commands, may lack a table.
	version int
}

// Now is the time of this transaction.
func (v *View) Now() time.Time { return v.now }

// Tenant is the tenant this transaction reads and changes.
func (v *View) Tenant() string { return v.tenant }

// withTenant puts the tenant before args: $1 of every statement.
func (v *View) withTenant(args []any) []any {
	return append([]any{v.tenant}, args...)
}

func (v *View) queryRow(q string, args ...any) pgx.Row {
	return v.q.QueryRow(v.ctx, q, v.withTenant(args)...)
}

func (v *View) query(q string, args ...any) (pgx.Rows, error) {
	return v.q.Query(v.ctx, q, v.withTenant(args)...)
}

func (v *View) exec(q string, args ...any) (pgconn.CommandTag, error) {
	return v.q.Exec(v.ctx, q, v.withTenant(args)...)
}

// Tx is one change transaction of one tenant (gatehouse.Tx): a View that
// holds the tenant's chain head and can change rows.
type Tx struct {
	View
	s *Store
	// head is the tenant's chain head, locked for this transaction.
	head gatehouse.ChainHead
}

// guarded runs a statement that may break a uniqueness rule inside a
// savepoint: a failed statement aborts a PostgreSQL transaction, but the
// core may go on after an ECONFLICT (as it can on SQLite), so only the
// statement is undone.
func (tx *Tx) guarded(what, q string, args ...any) (pgconn.CommandTag, error) {
	sp, err := tx.q.Begin(tx.ctx)
	if err != nil {
		return pgconn.CommandTag{}, classify(err, what)
	}
	tag, err := sp.Exec(tx.ctx, q, tx.withTenant(args)...)
	if err != nil {
		_ = sp.Rollback(tx.ctx)
		return tag, classify(err, what)
	}
	return tag, classify(sp.Commit(tx.ctx), what)
}

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

// Change runs fn in one transaction of the store's tenant and appends the
// event fn returns in the same transaction, then commits (see
// gatehouse.Store):
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
func (s *Store) Change(ctx context.Context, fn func(tx gatehouse.Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	if s.readOnly {
		return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "cannot change the store %s: it was opened read-only", s.location)
	}
	return s.change(ctx, "change the store", func(tx *Tx) (*gatehouse.NewEvent, error) { return fn(tx) })
}

// change is Change with retries, for Change and for Create.
func (s *Store) change(ctx context.Context, what string, fn func(tx *Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	for attempt := 1; ; attempt++ {
		ev, err := s.changeOnce(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return ev, classify(err, what)
		}
		// Back off with jitter, so that the conflicting transactions do
		// not meet again at once: about 2, 4, 8 … ms, at most ~100 ms.
		d := time.Duration(1<<min(attempt, 6)) * time.Millisecond
		d += rand.N(d) + rand.N(10*time.Millisecond)
		select {
		case <-ctx.Done():
			return nil, classify(ctx.Err(), what)
		case <-time.After(d):
		}
	}
}

// changeOnce is one attempt of change.
func (s *Store) changeOnce(ctx context.Context, fn func(tx *Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, err
	}
	defer pgTx.Rollback(context.WithoutCancel(ctx))
	tx := &Tx{View: View{ctx: ctx, q: pgTx, tenant: s.tenant, now: s.now().UTC(), version: s.version}, s: s}
	if err := pgTx.QueryRow(ctx, qLockHead, s.tenant, audit.GenesisHash).Scan(&tx.head.Seq, &tx.head.Hash); err != nil {
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

// View runs fn on one read-only REPEATABLE READ snapshot of the tenant,
// which does not wait for writers and does not block them.
func (s *Store) View(ctx context.Context, fn func(v gatehouse.View) error) error {
	return s.view(ctx, func(v *View) error { return fn(v) })
}

func (s *Store) view(ctx context.Context, fn func(v *View) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(pgTx pgx.Tx) error {
		return fn(&View{ctx: ctx, q: pgTx, tenant: s.tenant, now: s.now().UTC(), version: s.version})
	})
	return classify(err, "read the store")
}
