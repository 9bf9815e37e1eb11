package wire

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/postgres"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func (o Options) postgres() postgres.Options {
	return postgres.Options{Tenant: o.Tenant, Now: o.clock(), OSUser: o.OSUser, ReadOnly: o.ReadOnly, OlderSchema: o.OlderSchema,
		Migrate: core.Migrate}
}

func openPostgres(ctx context.Context, url string, o Options) (gatehouse.Store, error) {
	return postgres.Open(ctx, url, o.postgres())
}

func createPostgres(ctx context.Context, url string, o Options, p core.InitParams) (gatehouse.Store, bool, error) {
	return postgres.Create(ctx, url, o.postgres(), core.Init(p, "postgres", postgres.SchemaVersion()))
}

func copyToPostgres(ctx context.Context, url string, o Options, src gatehouse.Exporter) (gatehouse.Store, error) {
	return postgres.CreateFrom(ctx, url, o.postgres(), src)
}

func postgresSchemaVersion() int { return postgres.SchemaVersion() }

// ListTenants describes the tenants of the store at location: every
// tenant of a PostgreSQL database, or the one an SQLite store is.
func ListTenants(ctx context.Context, location string, o Options) ([]gatehouse.StoreInfo, error) {
	kind, where, err := Parse(location)
	if err != nil {
		return nil, err
	}
	if kind == Postgres {
		return postgres.ListTenants(ctx, where, o.postgres())
	}
	o.ReadOnly, o.Tenant = true, ""
	c, err := Open(ctx, location, o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Tenants(ctx)
}

// Display is a store location as messages may show it: a PostgreSQL URL
// without its password (in the user information or the query), anything
// else as given.
func Display(location string) string {
	if kind, _, err := Parse(location); err == nil && kind == Postgres {
		return postgres.RedactURL(location)
	}
	return location
}
