// Package core holds gatehouse's rules over the store contract
// (gatehouse.Store): the sign-in gate (gate.go), who may change what
// (authz.go), seats, the last-admin and break-glass rules, lock-out, and
// the two-phase issue, rotation and recovery of support credentials. It is
// the one place these rules live: the stores hold SQL only, and the CLI and
// an embedding server reach the rules through the services declared in
// pkg/gatehouse, which *Core implements.
package core

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Core is the application over one open store. It is safe for concurrent
// use: all of its state is in the store, but for the cache of the identity
// provider's keys (verifierCache).
type Core struct {
	store gatehouse.Store
	now   func() time.Time
	// osUser names who runs this process, for the run_by details of
	// maintenance whose actor is system; the store records it in every
	// event's os_user.
	osUser string
	// HTTP posts envelopes to the vendor's endpoint; nil: a plain client.
	HTTP *http.Client
	// LockTimeout bounds the wait for another support request or rotation;
	// 0 means two minutes.
	LockTimeout time.Duration

	verifiers verifierCache
}

// Options configure a Core.
type Options struct {
	// Now is the clock; nil means time.Now. The store must be opened with
	// the same one: it stamps transactions, the core everything else.
	Now    func() time.Time
	OSUser string
}

// New returns the core over store.
func New(store gatehouse.Store, o Options) *Core {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Core{store: store, now: now, osUser: o.OSUser}
}

// Store is the store the core runs on.
func (c *Core) Store() gatehouse.Store { return c.store }

// Close closes the store.
func (c *Core) Close() error { return c.store.Close() }

// change is one write transaction as the rules see it: the store's Tx,
// the stored name of the MSP admin authorised in it, and the security
// state it wrote, which its event records (state.go).
type change struct {
	gatehouse.Tx
	admin string
	// written holds the state keys written, each with its value when the
	// write said what it is, else nil (read when the event is built).
	written map[string]any
}

// recordedActor is the name an event or a row records for actor: the
// stored name of the admin authorised in this transaction when actor is a
// spelling of it, else actor as given.
func (t *change) recordedActor(actor string) string {
	if t.admin != "" && strings.EqualFold(actor, t.admin) {
		return t.admin
	}
	return actor
}

// TestOnlyBeforeCommit, when set by a test, is called inside every write
// transaction that has a change, once its event is built and before the
// store appends it and commits, with the event's action; crash-injection
// tests end the process there.
var TestOnlyBeforeCommit func(action string)

// update runs fn in one write transaction with its event (see
// gatehouse.Store.Change).
func (c *Core) update(ctx context.Context, fn func(t *change) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	return c.store.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		t := &change{Tx: tx}
		ne, err := fn(t)
		if ne == nil || err != nil {
			return nil, err
		}
		if !gatehouse.KnownAction(ne.Action) {
			// 'audit list --action' completion and the docs list
			// gatehouse.Actions: a new action is added there.
			return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "action %s is not in gatehouse.Actions", ne.Action)
		}
		if err := t.recordState(ne); err != nil {
			return nil, err
		}
		if TestOnlyBeforeCommit != nil {
			TestOnlyBeforeCommit(ne.Action)
		}
		return ne, nil
	})
}

// read runs fn on one snapshot.
func (c *Core) read(ctx context.Context, fn func(v gatehouse.View) error) error {
	return c.store.View(ctx, fn)
}

var (
	_ gatehouse.Gate  = (*Core)(nil)
	_ gatehouse.Users = (*Core)(nil)
	_ gatehouse.SSO   = (*Core)(nil)
	_ gatehouse.Audit = (*Core)(nil)
)
