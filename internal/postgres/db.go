// Package postgres is the PostgreSQL store, for deployments where several
// app servers share one database and one database serves many tenants. So
// far it holds the audit trail's append path: Open with embedded migrations,
// DB.Change (a change and its audit event in one transaction), and listing
// and verifying a tenant's chain. The rest of the store is still SQLite's
// alone (internal/sqlite).
//
// Every row belongs to a tenant (tenant_id), and every tenant has its own
// hash chain, encoded and verified by internal/audit exactly as SQLite's.
//
// # Roles and privileges
//
// The schema is created and migrated by an owner role, which Open uses when
// a migration is due. The application should run as a different role that
// GrantApplicationRole has given INSERT and SELECT on audit_events (and
// SELECT, INSERT, UPDATE on audit_heads): it cannot UPDATE, DELETE or
// TRUNCATE an event, nor, not owning the table, disable the triggers that
// refuse those for everyone else. The owner can; the chain's hashes, and a
// head kept elsewhere (gatehouse audit head), are what detect its edits.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultStatementTimeout bounds every statement, waits for locks included:
// a change of one tenant waits for the tenant's other changes, which are
// short, so a wait this long means something is wrong.
const DefaultStatementTimeout = 30 * time.Second

// Options configure a DB. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now. Each transaction reads it once.
	Now func() time.Time
	// OSUser is recorded in every audit event next to the actor.
	OSUser string
	// StatementTimeout is PostgreSQL's statement_timeout for every
	// connection; 0 means DefaultStatementTimeout. A statement_timeout
	// given in the URL's options takes precedence.
	StatementTimeout time.Duration
	// MaxConns caps the connection pool; 0 means pgxpool's default (the
	// URL's pool_max_conns, or max(4, CPUs)).
	MaxConns int32
}

// DB is an open PostgreSQL store.
type DB struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	osUser string
}

// Open connects to the database at url (postgres://… or postgresql://…;
// TLS and other connection settings come from the URL as libpq reads
// them), applies pending migrations, and refuses a database whose schema is
// newer than this binary, without changing it.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message can quote the URL, password included: not shown.
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "invalid PostgreSQL connection URL")
	}
	timeout := opts.StatementTimeout
	if timeout <= 0 {
		timeout = DefaultStatementTimeout
	}
	rp := cfg.ConnConfig.RuntimeParams
	if _, ok := rp["statement_timeout"]; !ok {
		rp["statement_timeout"] = fmt.Sprint(timeout.Milliseconds())
	}
	if _, ok := rp["application_name"]; !ok {
		rp["application_name"] = "gatehouse"
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify(err, "connect to PostgreSQL")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	db := &DB{pool: pool, now: now, osUser: opts.OSUser}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the connection pool.
func (db *DB) Close() { db.pool.Close() }

// SQLSTATE codes gatehouse acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeQueryCanceled        = "57014" // statement_timeout, among others
	codeInsufficientPriv     = "42501"
)

// retryable reports whether err is a conflict between transactions that
// running the transaction again resolves.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// classify turns a driver error into a gatehouse error with a code and a
// message an operator can act on. Errors that already carry a code pass
// through unchanged. Messages never quote the URL or row contents. what
// names the operation, as in "cannot <what>".
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: interrupted", what)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == codeUniqueViolation:
			return gatehouse.Wrap(gatehouse.ECONFLICT, err, "cannot %s: it already exists", what)
		case pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected:
			return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: the database is too busy (conflicting transactions kept failing after retries)", what)
		case pe.Code == codeQueryCanceled:
			return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: the statement timed out or was cancelled", what)
		case pe.Code == codeInsufficientPriv:
			return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: permission denied by the database (%s)", what, pe.Message)
		case pe.Code[:2] == "08", pe.Code[:2] == "53", pe.Code[:2] == "57", pe.Code == "28P01", pe.Code == "28000", pe.Code == "3D000":
			// Connection, resources, shutdown, authentication, no such database.
			return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: PostgreSQL: %s (SQLSTATE %s)", what, pe.Message, pe.Code)
		}
		return gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot %s: PostgreSQL: %s (SQLSTATE %s)", what, pe.Message, pe.Code)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || errors.Is(err, pgx.ErrTxClosed) {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: cannot reach PostgreSQL", what)
	}
	return gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot %s: %v", what, err)
}
