package postgres

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// appTables are the tables the application reads and writes freely.
var appTables = []string{
	"settings", "users", "roles", "scopes", "groups", "orgs",
	"user_roles", "user_scopes", "user_groups", "user_orgs",
	"support_credentials", "support_recipients", "sso_exemptions",
	"sso_attempts", "login_failures", "notify_cursors",
}

// GrantApplicationRole gives role what the application needs and no more:
// SELECT and INSERT on audit_events (never UPDATE, DELETE or TRUNCATE),
// SELECT, INSERT and UPDATE on audit_heads (whose triggers allow a head to
// move forward only), SELECT and INSERT on tenants (so it can create a
// tenant), SELECT, INSERT, UPDATE and DELETE on every other table, and
// SELECT on schema_migrations, so that it can open a current database but
// not migrate one. It runs as the owner of the schema (the current schema,
// where Open created the tables); role must exist.
func (s *Store) GrantApplicationRole(ctx context.Context, role string) error {
	if role == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "no role to grant to")
	}
	r := pgx.Identifier{role}.Sanitize()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var schema string
		if err := tx.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return err
		}
		qs := []string{
			"GRANT USAGE ON SCHEMA " + pgx.Identifier{schema}.Sanitize() + " TO " + r,
			"GRANT SELECT, INSERT ON audit_events TO " + r,
			"GRANT SELECT, INSERT, UPDATE ON audit_heads TO " + r,
			"GRANT SELECT, INSERT, UPDATE ON audit_checkpoints TO " + r,
			"GRANT SELECT, INSERT ON tenants TO " + r,
			"GRANT SELECT ON schema_migrations TO " + r,
		}
		for _, t := range appTables {
			qs = append(qs, "GRANT SELECT, INSERT, UPDATE, DELETE ON "+t+" TO "+r)
		}
		for _, q := range qs {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	return classify(err, "grant the application role")
}
