package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// copyOrder is each copied table's primary key after tenant_id: Export
// lists rows in this order.
var copyOrder = map[string]string{
	"settings":            "key",
	"users":               "id",
	"roles":               "id",
	"scopes":              "id",
	"groups":              "id",
	"orgs":                "id",
	"user_roles":          "user_id, role_id",
	"user_scopes":         "user_id, scope_id",
	"user_groups":         "user_id, group_id",
	"user_orgs":           "user_id, org_id",
	"support_credentials": "user_id",
	"support_recipients":  "id",
	"sso_exemptions":      "user_id",
	"sso_attempts":        "id",
	"login_failures":      "user_id, credential",
	"audit_events":        "seq",
	"audit_checkpoints":   "size",
}

// column is a copied table's column and whether it is BOOLEAN (0 or 1 in
// an export).
type column struct {
	name    string
	boolean bool
}

// copyColumns reads the columns of the copied tables, in their order,
// without tenant_id: what the schema has is what is copied.
func copyColumns(ctx context.Context, q pgx.Tx) (map[string][]column, error) {
	rows, err := q.Query(ctx, `SELECT table_name, column_name, data_type = 'boolean' FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ANY($1) AND column_name <> 'tenant_id'
		ORDER BY table_name, ordinal_position`, gatehouse.CopyTables)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]column{}
	for rows.Next() {
		var t string
		var c column
		if err := rows.Scan(&t, &c.name, &c.boolean); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	return out, rows.Err()
}

// Export streams every row of the tenant, table by table in
// gatehouse.CopyTables order and by primary key within a table, from one
// REPEATABLE READ snapshot. Values are nil, int64 (booleans 0 or 1) or
// string (times in audit.TimeLayout, as stored).
func (s *Store) Export(ctx context.Context, fn func(table string, columns []string, row []any) error) error {
	return s.view(ctx, func(v *View) error {
		cols, err := copyColumns(ctx, v.q)
		if err != nil {
			return err
		}
		for _, table := range gatehouse.CopyTables {
			if err := v.exportTable(table, cols[table], fn); err != nil {
				return err
			}
		}
		return nil
	})
}

func (v *View) exportTable(table string, cols []column, fn func(table string, columns []string, row []any) error) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	rows, err := v.query("SELECT " + quoteColumns(names) + " FROM " + table + " WHERE tenant_id = $1 ORDER BY " + copyOrder[table])
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		for i, val := range vals {
			switch x := val.(type) {
			case bool:
				vals[i] = map[bool]int64{false: 0, true: 1}[x]
			case int16:
				vals[i] = int64(x)
			case int32:
				vals[i] = int64(x)
			case nil, int64, string, []byte:
			default:
				return gatehouse.Errorf(gatehouse.EINTERNAL, "cannot export %s.%s: a %T value", table, names[i], val)
			}
		}
		if err := fn(table, names, vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func quoteColumns(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// CreateFrom creates tenant opts.Tenant from every row src exports, for
// 'store copy': in one transaction, the tenant's row, the rows (by column
// name), and the audit events verbatim, with the head at the last one. It
// appends no event. A tenant that exists is refused (ECONFLICT) and
// nothing is written; so is a row with a column this schema does not have
// (EINTERNAL, naming it).
func CreateFrom(ctx context.Context, rawURL string, opts Options, src gatehouse.Exporter) (*Store, error) {
	if opts.ReadOnly {
		return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "cannot copy into a store opened read-only")
	}
	s, err := connect(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	if err := s.importFrom(ctx, src); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) importFrom(ctx context.Context, src gatehouse.Exporter) error {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return classify(err, "copy the store")
	}
	defer pgTx.Rollback(context.WithoutCancel(ctx))
	tx := &Tx{View: View{ctx: ctx, q: pgTx, tenant: s.tenant, now: s.now().UTC(), version: s.version}, s: s}
	ok, err := tx.insertTenant()
	if err != nil {
		return err
	}
	if !ok {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "%s already has a tenant %q; store copy needs an empty target", s.location, s.tenant)
	}
	if err := pgTx.QueryRow(ctx, qLockHead, s.tenant, audit.GenesisHash).Scan(&tx.head.Seq, &tx.head.Hash); err != nil {
		return classify(err, "copy the store")
	}
	cols, err := copyColumns(ctx, pgTx)
	if err != nil {
		return classify(err, "copy the store")
	}
	imp := importer{tx: tx, cols: cols, stmts: map[string]string{}}
	if err := src.Export(ctx, imp.row); err != nil {
		return err
	}
	if imp.last.Seq > 0 {
		if _, err := tx.exec("UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1", imp.last.Seq, imp.last.Hash); err != nil {
			return classify(err, "copy the store")
		}
	}
	return classify(pgTx.Commit(ctx), "copy the store")
}

// importer inserts exported rows into a tenant being created.
type importer struct {
	tx   *Tx
	cols map[string][]column
	// stmts caches each table's INSERT by its column list.
	stmts map[string]string
	// last is the last audit event inserted.
	last gatehouse.ChainHead
}

func (imp *importer) row(table string, columns []string, row []any) error {
	known, ok := imp.cols[table]
	if !ok {
		return gatehouse.Errorf(gatehouse.EINTERNAL, "cannot copy the store: no table %q in the PostgreSQL schema", table)
	}
	if len(columns) != len(row) {
		return gatehouse.Errorf(gatehouse.EINTERNAL, "cannot copy the store: a row of %s has %d values for %d columns", table, len(row), len(columns))
	}
	args := make([]any, len(row))
	for i, name := range columns {
		var c *column
		for j := range known {
			if known[j].name == name {
				c = &known[j]
			}
		}
		if c == nil {
			return gatehouse.Errorf(gatehouse.EINTERNAL, "cannot copy the store: the PostgreSQL table %s has no column %q", table, name)
		}
		args[i] = row[i]
		if n, isInt := row[i].(int64); isInt && c.boolean {
			args[i] = n != 0
		}
	}
	key := table + "\x00" + strings.Join(columns, "\x00")
	q, ok := imp.stmts[key]
	if !ok {
		ph := make([]string, len(columns))
		for i := range ph {
			ph[i] = fmt.Sprintf("$%d", i+2)
		}
		q = "INSERT INTO " + table + " (tenant_id, " + quoteColumns(columns) + ") VALUES ($1, " + strings.Join(ph, ", ") + ")"
		imp.stmts[key] = q
	}
	if _, err := imp.tx.exec(q, args...); err != nil {
		return classify(err, "copy the "+table+" rows")
	}
	if table == "audit_events" {
		for i, name := range columns {
			switch name {
			case "seq":
				imp.last.Seq, _ = row[i].(int64)
			case "hash":
				imp.last.Hash, _ = row[i].(string)
			}
		}
	}
	return nil
}
