package sqlite

import (
	"database/sql"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/schema"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Record finds a record by name (any case: NOCASE).
func (tx *Tx) Record(kind, name string) (int64, string, bool, error) {
	table, _, _, err := schema.RecordTable(kind)
	if err != nil {
		return 0, "", false, err
	}
	var id int64
	var canonical string
	err = tx.tx.QueryRowContext(tx.ctx, "SELECT id, name FROM "+table+" WHERE name = ?", name).Scan(&id, &canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return id, canonical, err == nil, err
}

// Records lists a kind's records by name, with their member counts.
func (tx *Tx) Records(kind string) ([]gatehouse.Record, error) {
	table, link, col, err := schema.RecordTable(kind)
	if err != nil {
		return nil, err
	}
	builtin := "0"
	if kind == "role" || kind == "scope" {
		builtin = "r.builtin"
	}
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT r.name, "+builtin+", (SELECT count(*) FROM "+link+" x WHERE x."+col+" = r.id) FROM "+table+" r ORDER BY r.name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Record
	for rows.Next() {
		var r gatehouse.Record
		if err := rows.Scan(&r.Name, &r.Builtin, &r.Members); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddRecord adds a record of a kind.
func (tx *Tx) AddRecord(kind, name string) error {
	table, _, _, err := schema.RecordTable(kind)
	if err != nil {
		return err
	}
	_, err = tx.tx.ExecContext(tx.ctx, "INSERT INTO "+table+" (name) VALUES (?)", name)
	return tx.db.classify(err, "add the "+kind)
}

// Grant links a record to a user.
func (tx *Tx) Grant(kind string, userID, recordID int64) (bool, error) {
	_, link, col, err := schema.RecordTable(kind)
	if err != nil {
		return false, err
	}
	return tx.affected("INSERT OR IGNORE INTO "+link+" (user_id, "+col+") VALUES (?, ?)", userID, recordID)
}

// Revoke unlinks a record from a user.
func (tx *Tx) Revoke(kind string, userID, recordID int64) (bool, error) {
	_, link, col, err := schema.RecordTable(kind)
	if err != nil {
		return false, err
	}
	return tx.affected("DELETE FROM "+link+" WHERE user_id = ? AND "+col+" = ?", userID, recordID)
}

// affected runs a statement and reports whether it changed a row.
func (tx *Tx) affected(q string, args ...any) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
