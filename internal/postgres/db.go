// Package postgres is the PostgreSQL store: gatehouse.Store over one tenant
// of a database that several app servers share and that serves many
// tenants. It holds SQL only, one file per noun; the rules are the core's.
//
// Every row belongs to a tenant (tenant_id; the empty ID is a database's one on-prem
// store), every statement names its tenant, and every tenant has its own
// hash chain, encoded and verified by internal/audit exactly as SQLite's.
// IDs are per tenant, so a store copied from SQLite keeps the IDs its
// events mention.
//
// # Roles and privileges
//
// The schema is created and migrated by an owner role, which Open uses when
// a migration is due. The application should run as a different role that
// GrantApplicationRole has given what it needs: it can read and write every
// table, but can only INSERT and SELECT audit_events, and cannot UPDATE,
// DELETE or TRUNCATE an event, nor, not owning the table, disable the
// triggers that refuse those for everyone else. The owner can; the chain's
// hashes, and a head kept elsewhere (gatehouse audit head), are what detect
// its edits.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
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

// Options configure a Store. The zero value opens the on-prem store.
type Options struct {
	// Tenant is the tenant this Store reads and changes; "" is the
	// database's one on-prem store.
	Tenant string
	// Now is the clock; nil means time.Now. Each transaction reads it once.
	Now func() time.Time
	// OSUser is recorded in every audit event next to the actor.
	OSUser string
	// ReadOnly opens the store for reading only: nothing is migrated and
	// Change fails.
	ReadOnly bool
	// OlderSchema, with ReadOnly, accepts a database of an older schema as
	// it is, unmigrated; only its audit trail, whose table every schema
	// shares, may then be read. Without it such a database is refused.
	OlderSchema bool
	// StatementTimeout is PostgreSQL's statement_timeout for every
	// connection; 0 means DefaultStatementTimeout. A statement_timeout
	// given in the URL's options takes precedence.
	StatementTimeout time.Duration
	// MaxConns caps the connection pool; 0 means pgxpool's default (the
	// URL's pool_max_conns, or max(4, CPUs)).
	MaxConns int32
	// Migrate, when set, is run for every tenant by a migration from a
	// schema older than stateVersion, whose events recorded no
	// after-state; its details go into the tenant's store.migrate event
	// (see gatehouse.MigrateFunc).
	Migrate gatehouse.MigrateFunc
}

// Store is one tenant's store in a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	tenant   string
	now      func() time.Time
	osUser   string
	readOnly bool
	location string
	// version is the database's schema version when it was opened.
	version     int
	migrateHook gatehouse.MigrateFunc
}

var (
	_ gatehouse.Store        = (*Store)(nil)
	_ gatehouse.Exporter     = (*Store)(nil)
	_ gatehouse.TenantLister = (*Store)(nil)
	_ gatehouse.View         = (*View)(nil)
	_ gatehouse.Tx           = (*Tx)(nil)
)

// Open opens tenant opts.Tenant of the database at rawURL (postgres://… or
// postgresql://…; TLS and other connection settings come from the URL as
// libpq reads them). It applies pending migrations (unless opts.ReadOnly)
// and refuses, without changing it, a database whose schema is newer than
// this binary, and a tenant that does not exist: 'gatehouse init' creates
// one (Create).
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	s, err := connect(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	ok, err := s.tenantExists(ctx)
	if err == nil && !ok {
		err = s.noTenant()
	}
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// Create opens tenant opts.Tenant, creating it first when it does not
// exist: its tenants row, its builtin Master role and scope, and what init
// writes, with init's event as the tenant's event 1, in one transaction.
// created is false when the tenant existed; then nothing is written. Of
// several Creates of one tenant at once, one creates it and the others find
// it, without an error.
func Create(ctx context.Context, rawURL string, opts Options, init gatehouse.InitFunc) (s *Store, created bool, err error) {
	if opts.ReadOnly {
		return nil, false, gatehouse.Errorf(gatehouse.EINTERNAL, "cannot create a tenant in a store opened read-only")
	}
	s, err = connect(ctx, rawURL, opts)
	if err != nil {
		return nil, false, err
	}
	_, err = s.change(ctx, "create the tenant", func(tx *Tx) (*gatehouse.NewEvent, error) {
		created = false
		ok, err := tx.insertTenant()
		if err != nil || !ok {
			return nil, err
		}
		if err := tx.insertBuiltins(); err != nil {
			return nil, err
		}
		ne, err := init(tx)
		if err != nil {
			return nil, err
		}
		if ne == nil {
			return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "cannot create the tenant: the initialisation wrote no store.init event")
		}
		created = true
		return ne, nil
	})
	if err != nil {
		s.pool.Close()
		return nil, false, err
	}
	return s, created, nil
}

// connect opens the pool and checks (and, unless read-only, migrates) the
// schema.
func connect(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's message can quote the URL, password included: not shown.
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "invalid PostgreSQL connection URL")
	}
	timeout := opts.StatementTimeout
	if timeout <= 0 {
		timeout = DefaultStatementTimeout
	}
	rp := cfg.ConnConfig.RuntimeParams
	// A statement_timeout in the URL (?statement_timeout=ms, or in
	// ?options=-c statement_timeout=…) takes precedence.
	if _, ok := rp["statement_timeout"]; !ok && !strings.Contains(rp["options"], "statement_timeout") {
		rp["statement_timeout"] = fmt.Sprint(timeout.Milliseconds())
	}
	// Every statement is planned for its arguments: a generic plan cached
	// while a tenant's tables were nearly empty (a sequential scan) was kept
	// as they grew, and first sign-ins slowed with every account
	// (docs/performance.md).
	if _, ok := rp["plan_cache_mode"]; !ok && !strings.Contains(rp["options"], "plan_cache_mode") {
		rp["plan_cache_mode"] = "force_custom_plan"
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
	s := &Store{pool: pool, tenant: opts.Tenant, now: now, osUser: opts.OSUser,
		readOnly: opts.ReadOnly, location: RedactURL(rawURL), migrateHook: opts.Migrate}
	if opts.ReadOnly {
		err = s.checkReadable(ctx, opts.OlderSchema)
	} else {
		err = s.migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// checkReadable reads the schema version of a database opened read-only:
// newer is refused, older only with olderSchema.
func (s *Store) checkReadable(ctx context.Context, olderSchema bool) error {
	v, err := schemaVersion(ctx, s.pool)
	if err != nil {
		return classify(err, "read the schema version")
	}
	if err := s.checkVersion(v); err != nil {
		return err
	}
	if v == 0 {
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "%s holds no gatehouse store; run 'gatehouse init'", s.location)
	}
	if v < SchemaVersion() && !olderSchema {
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE,
			"%s has schema version %d, older than this gatehouse's (%d), and a read does not migrate it; run 'gatehouse init' to migrate it",
			s.location, v, SchemaVersion())
	}
	s.version = v
	return nil
}

// noTenant is Open's answer for a tenant the database does not have.
func (s *Store) noTenant() error {
	if s.tenant == "" {
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "the database has no on-prem store; run 'gatehouse init'")
	}
	return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "no tenant %q in %s; create it with 'gatehouse init --mode cloud --tenant %s'", s.tenant, s.location, s.tenant)
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Location is the URL without its password.
func (s *Store) Location() string { return s.location }

// Tenant is the tenant this Store reads and changes.
func (s *Store) Tenant() string { return s.tenant }

// RedactURL returns rawURL without a password, in the user information or
// in the query, for messages.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "the PostgreSQL database (an invalid URL, not shown)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.User(u.User.Username())
		}
	}
	// Any parameter that can hold a secret (password, sslpassword, and
	// whatever else names one) is dropped, not masked: the location goes
	// into messages and into store.copy events, which are never edited.
	q, dropped := u.Query(), false
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(k), "secret") {
			q.Del(k)
			dropped = true
		}
	}
	if dropped {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// SQLSTATE codes gatehouse acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeQueryCanceled        = "57014" // statement_timeout, among others
	codeInsufficientPriv     = "42501"
	codeUndefinedTable       = "42P01"
	codeUndefinedColumn      = "42703"
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
		case pe.Code == codeUndefinedTable || pe.Code == codeUndefinedColumn:
			// The schema is checked at open: a table or column missing
			// from a database at this binary's version was removed.
			return gatehouse.Wrap(gatehouse.ECHECKFAILED, err, "cannot %s: the database's schema was altered behind gatehouse's back (%s)", what, gatehouse.Clip(pe.Message, 120))
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
