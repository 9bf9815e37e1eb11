// Package store opens a gatehouse store for a server that embeds
// gatehouse, and makes the same decisions the gatehouse CLI makes, through
// the same code, on the same file: a support logon here is verified,
// refused and audited exactly as `gatehouse support login` does it.
//
//	st, err := store.Open(ctx, "/var/lib/gatehouse/gatehouse.db", store.Options{})
//	// or store.Open(ctx, "postgres://gatehouse@db/gatehouse", store.Options{Tenant: "acme"})
//	if err != nil { ... }
//	defer st.Close()
//	res, err := st.SupportLogon(ctx, technicianID, password)
//	if err != nil { ... }           // the store could not decide (gatehouse.ErrorCode says why)
//	if !res.Allowed { ... }         // refused: res.Reason; the refusal is audited
//
// A Store is safe for concurrent use. Writes from this process and from
// gatehouse commands run by cron or an operator are serialised by the
// store (SQLite's lock, or PostgreSQL's per-tenant head row); none of them
// sees "database is locked" or a serialisation failure.
package store

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OSUser is recorded in every audit event this process writes; "" means
	// the name of the user running the server is not recorded.
	OSUser string
	// Tenant picks one tenant of a multi-tenant PostgreSQL store.
	Tenant string
}

// Store is an open gatehouse store: the gate over it.
type Store struct {
	core *core.Core
}

var _ gatehouse.Gate = (*Store)(nil)

// Open opens an initialised store: an SQLite file's path (or sqlite: URL),
// or a postgres:// URL. It never creates one: that is `gatehouse init`.
// Errors are *gatehouse.Error with code EUNAVAILABLE for a missing,
// foreign, corrupt or newer store.
func Open(ctx context.Context, location string, opts Options) (*Store, error) {
	c, err := wire.Open(ctx, location, wire.Options{Now: opts.Now, OSUser: opts.OSUser, Tenant: opts.Tenant})
	if err != nil {
		return nil, err
	}
	return &Store{core: c}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.core.Close() }

// SupportLogon verifies a vendor technician's logon to the support account
// with password, and records the decision — success or refusal, with the
// technician's ID — as one audit event. A refusal is not an error: it is
// a result with Allowed false and a reason code. The caller should wipe
// password afterwards; it is never stored, logged or returned.
func (s *Store) SupportLogon(ctx context.Context, technician string, password []byte) (gatehouse.SupportLogonResult, error) {
	return s.core.SupportLogon(ctx, technician, password)
}

// SignIn decides an SSO sign-in for an identity the server has
// authenticated with the identity provider, and records it as one audit
// event and one attempt: signed in, created (once, with no access), or
// refused with a reason code. It is the single code path for every
// account-creating sign-in; concurrent first sign-ins of one identity
// create exactly one account and all succeed.
func (s *Store) SignIn(ctx context.Context, id gatehouse.Identity) (gatehouse.SignInResult, error) {
	return s.core.SignIn(ctx, id)
}

// LocalLogin decides a local password login (user name, email or ID),
// refused with sso_required while SSO is required and the user is not
// exempt. The decision is audited either way.
func (s *Store) LocalLogin(ctx context.Context, user string, password []byte) (gatehouse.SignInResult, error) {
	return s.core.LocalLogin(ctx, user, password)
}
