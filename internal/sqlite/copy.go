package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Export streams every row of the store, table by table in
// gatehouse.CopyTables order and by primary key, from one snapshot.
func (db *DB) Export(ctx context.Context, fn func(table string, columns []string, row []any) error) error {
	return db.view(ctx, func(tx *Tx) error {
		for _, table := range gatehouse.CopyTables {
			if err := tx.exportTable(table, fn); err != nil {
				return err
			}
		}
		return nil
	})
}

func (tx *Tx) exportTable(table string, fn func(table string, columns []string, row []any) error) error {
	keys, err := tx.primaryKey(table)
	if err != nil {
		return err
	}
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT * FROM "+table+" ORDER BY "+strings.Join(keys, ", "))
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			switch v := v.(type) {
			case nil, int64, string, []byte:
			default:
				return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "cannot copy %s.%s: a value of type %T", table, cols[i], v)
			}
		}
		if err := fn(table, cols, vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// primaryKey names a table's primary-key columns, in key order.
func (tx *Tx) primaryKey(table string) ([]string, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		keys = []string{"rowid"}
	}
	return keys, rows.Err()
}

// CreateFrom creates a store at path holding exactly the rows src exports
// — its audit trail verbatim — in one transaction: 'store copy'. It
// refuses a path where a store (or any other file) already is.
func CreateFrom(ctx context.Context, path string, opts Options, src gatehouse.Exporter) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "store path %s: %v", path, err)
	}
	state, err := probe(abs)
	if err != nil {
		return nil, err
	}
	if state != fileMissing {
		return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "%s already exists; store copy needs a new file", abs)
	}
	if err := createFile(abs); err != nil {
		return nil, err
	}
	db, err := openPools(abs, opts)
	if err != nil {
		return nil, err
	}
	if err := db.importFrom(ctx, src); err != nil {
		// Nothing was committed: remove the file made for the copy, so
		// that a retry finds the path free.
		db.Close()
		for _, p := range []string{abs, abs + "-wal", abs + "-shm", abs + "-journal"} {
			os.Remove(p)
		}
		return nil, err
	}
	return db, nil
}

func (db *DB) importFrom(ctx context.Context, src gatehouse.Exporter) error {
	id, err := db.identity(ctx)
	if err != nil {
		return err
	}
	if !id.blank() {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "%s is not empty; store copy needs a new file", db.path)
	}
	var mode string
	if err := db.write.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return db.classify(err, "create the store")
	}
	sqlTx, err := db.beginWrite(ctx)
	if err != nil {
		return db.classify(err, "begin the copy")
	}
	defer sqlTx.Rollback()
	for _, m := range migrations {
		if _, err := sqlTx.ExecContext(ctx, m.SQL); err != nil {
			return db.classify(fmt.Errorf("migration %s: %w", m.Name, err), "create the store")
		}
	}
	// The built-in records come from the source, with their IDs.
	for _, t := range []string{"roles", "scopes"} {
		if _, err := sqlTx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return db.classify(err, "create the store")
		}
	}
	stmts := map[string]*stmtFor{}
	err = src.Export(ctx, func(table string, columns []string, row []any) error {
		st := stmts[table]
		if st == nil || !slices.Equal(st.columns, columns) {
			// Table and column names come from the source: each must be
			// one of this schema's, and is quoted besides.
			known, err := tableColumns(ctx, sqlTx, table)
			if err != nil {
				return err
			}
			quoted := make([]string, len(columns))
			for i, c := range columns {
				if !known[c] {
					return gatehouse.Errorf(gatehouse.EINTERNAL, "cannot copy table %s: the source has a column %q this store does not", gatehouse.Clip(table, 64), gatehouse.Clip(c, 64))
				}
				quoted[i] = `"` + c + `"`
			}
			q := `INSERT INTO "` + table + `" (` + strings.Join(quoted, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(columns)-1) + ")"
			p, err := sqlTx.PrepareContext(ctx, q)
			if err != nil {
				return gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot copy table %s: %v", table, err)
			}
			st = &stmtFor{columns: columns, stmt: p}
			stmts[table] = st
		}
		if _, err := st.stmt.ExecContext(ctx, row...); err != nil {
			return db.classify(err, "copy a row of "+table)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := sqlTx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", SchemaVersion(), ApplicationID)); err != nil {
		return db.classify(err, "create the store")
	}
	return db.classify(sqlTx.Commit(), "commit the copy")
}

// tableColumns names the columns of one of gatehouse's tables; a table
// that is not one of them is an error.
func tableColumns(ctx context.Context, tx *sql.Tx, table string) (map[string]bool, error) {
	if !slices.Contains(gatehouse.CopyTables, table) {
		return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "cannot copy table %q: not a table of a gatehouse store", gatehouse.Clip(table, 64))
	}
	rows, err := tx.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols[c] = true
	}
	return cols, rows.Err()
}

type stmtFor struct {
	columns []string
	stmt    *sql.Stmt
}
