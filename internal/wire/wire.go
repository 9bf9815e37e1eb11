// Package wire opens a store and builds the core over it: the one place
// that knows which store packages exist. The CLI's factory and
// pkg/gatehouse/store both open stores here, so a server that embeds
// gatehouse and the gatehouse command run the same core, wired the same
// way, over the same store.
package wire

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Options say how to open a store.
type Options struct {
	// Tenant picks one tenant of a PostgreSQL database ("" is the
	// database's on-prem store). An SQLite store is one tenant: given, it
	// must be the store's.
	Tenant string
	// Now is the one clock: the store stamps transactions with it, the
	// core everything else. nil means time.Now. It ticks in whole seconds
	// (clock): every time gatehouse records and prints is RFC 3339 UTC to
	// the second.
	Now func() time.Time
	// OSUser is recorded in every audit event next to the actor.
	OSUser string
	// ReadOnly opens the store for reading only: nothing is migrated and
	// no change is possible.
	ReadOnly bool
	// OlderSchema, with ReadOnly, accepts an older schema as it is, for
	// reading the audit trail only.
	OlderSchema bool
	// Warn receives warnings a read-only open found (unsafe permissions).
	Warn func(msg string)
}

// Kind is the kind of store a location names.
type Kind string

// Store kinds.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Parse tells the kind of store a location names: postgres:// and
// postgresql:// URLs are PostgreSQL; an sqlite: URL or anything else is the
// path of an SQLite file. It returns the path or URL to open.
func Parse(location string) (Kind, string, error) {
	lower := strings.ToLower(location)
	switch {
	case location == "":
		return "", "", gatehouse.Errorf(gatehouse.EINVALID, "no store given: use --store, GATEHOUSE_STORE or the configuration file")
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return Postgres, location, nil
	case strings.Contains(location, "://") && !strings.HasPrefix(lower, "sqlite:"):
		// Never a file named "mysql:/…" holding a URL's password in its
		// path: an unknown scheme is refused, not taken as a path.
		scheme, _, _ := strings.Cut(location, "://")
		return "", "", gatehouse.Errorf(gatehouse.EINVALID, "unknown kind of store %q: use a file path, sqlite:PATH or postgres://…", gatehouse.Clip(scheme, 20))
	case strings.HasPrefix(lower, "sqlite:"):
		u, err := url.Parse(location)
		if err != nil {
			return "", "", gatehouse.Errorf(gatehouse.EINVALID, "invalid store URL: %v", err)
		}
		p := u.Opaque
		if p == "" {
			p = u.Path
		}
		if p == "" {
			return "", "", gatehouse.Errorf(gatehouse.EINVALID, "invalid store URL: sqlite: needs a path (sqlite:/var/lib/gatehouse/gatehouse.db)")
		}
		return SQLite, p, nil
	}
	return SQLite, location, nil
}

func (o Options) sqlite() sqlite.Options {
	return sqlite.Options{Now: o.clock(), OSUser: o.OSUser, ReadOnly: o.ReadOnly, OlderSchema: o.OlderSchema, Warn: o.Warn,
		Migrate: core.Migrate}
}

func (o Options) core() core.Options { return core.Options{Now: o.clock(), OSUser: o.OSUser} }

// clock is Now in UTC, truncated to the second: times in the store, the
// audit trail, envelopes and every output are whole seconds, which every
// RFC 3339 parser (jq's fromdateiso8601 among them) reads.
func (o Options) clock() func() time.Time {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return func() time.Time { return now().UTC().Truncate(time.Second) }
}

// Open opens an initialised store and returns the core over it.
func Open(ctx context.Context, location string, o Options) (*core.Core, error) {
	kind, where, err := Parse(location)
	if err != nil {
		return nil, err
	}
	var st gatehouse.Store
	switch kind {
	case Postgres:
		st, err = openPostgres(ctx, where, o)
	default:
		st, err = sqlite.Open(ctx, where, o.sqlite())
	}
	if err != nil {
		return nil, err
	}
	if err := checkTenant(ctx, st, o.Tenant); err != nil {
		st.Close()
		return nil, err
	}
	return core.New(st, o.core()), nil
}

// checkTenant refuses a tenant the store does not hold (an SQLite store
// holds one).
func checkTenant(ctx context.Context, st gatehouse.Store, tenant string) error {
	if tenant == "" {
		return nil
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	if info.TenantID != tenant {
		return gatehouse.Errorf(gatehouse.EINVALID, "store %s is %s, not tenant %s", st.Location(), describeTenant(info.TenantID), tenant)
	}
	return nil
}

func describeTenant(t string) string {
	if t == "" {
		return "an on-prem store"
	}
	return "tenant " + t
}

// Create opens the store, creating and initialising it (or, on
// PostgreSQL, the tenant) if needed. On a store that is already
// initialised it changes nothing and reports Created false; it refuses a
// different mode or tenant than the store records. An empty p.Mode means
// "not specified": onprem for a new store, anything for an existing one.
func Create(ctx context.Context, location string, o Options, p core.InitParams) (*core.Core, gatehouse.StoreInfo, error) {
	var info gatehouse.StoreInfo
	kind, where, err := Parse(location)
	if err != nil {
		return nil, info, err
	}
	explicit := p.Mode != ""
	if !explicit {
		p.Mode = gatehouse.ModeOnPrem
	}
	if p.TenantID == "" {
		p.TenantID = o.Tenant
	}
	if o.Tenant != "" && p.TenantID != o.Tenant {
		return nil, info, gatehouse.Errorf(gatehouse.EINVALID, "--tenant %s and the tenant to create, %s, differ", o.Tenant, p.TenantID)
	}
	var st gatehouse.Store
	var created bool
	switch kind {
	case Postgres:
		o.Tenant = p.TenantID
		st, created, err = createPostgres(ctx, where, o, p)
	default:
		var db *sqlite.DB
		db, created, err = sqlite.Create(ctx, where, o.sqlite(), core.Init(p, "sqlite", sqlite.SchemaVersion()))
		st = db
	}
	if err != nil {
		return nil, info, err
	}
	if info, err = st.Info(ctx); err != nil {
		st.Close()
		return nil, info, err
	}
	// An explicit mode must match; without one, any initialised store will do.
	if explicit && (info.Mode != p.Mode || info.TenantID != p.TenantID) {
		st.Close()
		return nil, info, gatehouse.Errorf(gatehouse.ECONFLICT,
			"store %s is already initialised in mode %s%s; the mode and tenant cannot be changed",
			st.Location(), info.Mode, tenantSuffix(info.TenantID))
	}
	info.Created = created
	return core.New(st, o.core()), info, nil
}

func tenantSuffix(t string) string {
	if t == "" {
		return ""
	}
	return " with tenant " + t
}

// SchemaVersion is the schema version this binary writes to a store of
// kind k.
func SchemaVersion(k Kind) int {
	if k == Postgres {
		return postgresSchemaVersion()
	}
	return sqlite.SchemaVersion()
}
