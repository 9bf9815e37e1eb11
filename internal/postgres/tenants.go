package postgres

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// tenantExists reports whether the database has the store's tenant. A
// database of schema 1 (read with OlderSchema) has no tenants table: there
// a tenant is a chain.
func (s *Store) tenantExists(ctx context.Context) (bool, error) {
	q := "SELECT EXISTS (SELECT 1 FROM tenants WHERE tenant_id = $1)"
	if s.version < 2 {
		q = "SELECT EXISTS (SELECT 1 FROM audit_heads WHERE tenant_id = $1)"
	}
	var ok bool
	err := s.pool.QueryRow(ctx, q, s.tenant).Scan(&ok)
	return ok, classify(err, "look the tenant up")
}

// insertTenant adds the tenant's row; false when it exists. A concurrent
// Create of the same tenant waits here for the first to commit, then finds
// it.
func (tx *Tx) insertTenant() (bool, error) {
	tag, err := tx.exec("INSERT INTO tenants (tenant_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
		audit.FormatTime(tx.now))
	return tag.RowsAffected() == 1, classify(err, "create the tenant")
}

// insertBuiltins adds a new tenant's builtin Master role and scope, which
// every SQLite store has from its schema.
func (tx *Tx) insertBuiltins() error {
	for _, q := range []string{
		"INSERT INTO roles (tenant_id, id, name, builtin) VALUES ($1, 1, 'Master', true)",
		"INSERT INTO scopes (tenant_id, id, name, builtin) VALUES ($1, 1, 'Master', true)",
	} {
		if _, err := tx.exec(q); err != nil {
			return classify(err, "create the tenant")
		}
	}
	return nil
}

// qTenantInfo reads what StoreInfo says of tenants: tenant $1 (every one
// when $2 is true), by tenant ID. The settings that init writes say it;
// a tenant of schema 1, which had no settings, falls back on its row.
const qTenantInfo = `SELECT t.tenant_id,
		coalesce((SELECT value FROM settings s WHERE s.tenant_id = t.tenant_id AND s.key = 'mode'), ''),
		coalesce((SELECT value FROM settings s WHERE s.tenant_id = t.tenant_id AND s.key = 'tenant_id'), t.tenant_id),
		coalesce((SELECT value FROM settings s WHERE s.tenant_id = t.tenant_id AND s.key = 'created_at'), t.created_at)
	FROM tenants t WHERE $2 OR t.tenant_id = $1 ORDER BY t.tenant_id`

// Info describes the store: its location, schema version, and the mode,
// tenant and creation time its settings record.
func (s *Store) Info(ctx context.Context) (gatehouse.StoreInfo, error) {
	info := gatehouse.StoreInfo{Path: s.location, SchemaVersion: s.version}
	if s.version < 2 {
		return info, nil // the settings came with schema 2
	}
	infos, err := s.tenantInfos(ctx, false)
	if err != nil {
		return info, err
	}
	if len(infos) == 0 {
		return info, s.noTenant()
	}
	return infos[0], nil
}

// Tenants describes every tenant of the database, by tenant ID.
func (s *Store) Tenants(ctx context.Context) ([]gatehouse.StoreInfo, error) {
	if s.version < 2 {
		return []gatehouse.StoreInfo{}, nil
	}
	return s.tenantInfos(ctx, true)
}

func (s *Store) tenantInfos(ctx context.Context, all bool) ([]gatehouse.StoreInfo, error) {
	var out []gatehouse.StoreInfo
	err := s.view(ctx, func(v *View) error {
		rows, err := v.q.Query(ctx, qTenantInfo, s.tenant, all)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (gatehouse.StoreInfo, error) {
			var id, mode, tenant, created string
			if err := row.Scan(&id, &mode, &tenant, &created); err != nil {
				return gatehouse.StoreInfo{}, err
			}
			info := gatehouse.StoreInfo{Path: s.location, SchemaVersion: s.version, Mode: gatehouse.Mode(mode), TenantID: tenant}
			info.CreatedAt, _ = audit.ParseTime(created)
			return info, nil
		})
		return err
	})
	if out == nil {
		out = []gatehouse.StoreInfo{}
	}
	return out, err
}

// ListTenants describes every tenant of the database at rawURL, without
// opening any one of them ('gatehouse tenants list'). The database is
// read as it is: nothing is migrated.
func ListTenants(ctx context.Context, rawURL string, opts Options) ([]gatehouse.StoreInfo, error) {
	opts.ReadOnly, opts.OlderSchema = true, true
	s, err := connect(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Tenants(ctx)
}
