package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Setting returns a setting's value and whether it is set.
func (tx *Tx) Setting(key string) (string, bool, error) {
	var v string
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// qSettings4 reads up to four settings: the sign-in gate's flags, prepared
// once (see hotStatements).
const qSettings4 = "SELECT key, value FROM settings WHERE key IN (?, ?, ?, ?)"

// Settings returns those of keys that are set.
func (tx *Tx) Settings(keys ...string) (map[string]string, error) {
	m := make(map[string]string, len(keys))
	var rows *sql.Rows
	var err error
	if len(keys) <= 4 {
		args := make([]any, 4)
		for i := range args {
			args[i] = ""
			if i < len(keys) {
				args[i] = keys[i]
			}
		}
		rows, err = tx.query(qSettings4, args...)
	} else {
		args := make([]any, len(keys))
		for i, k := range keys {
			args[i] = k
		}
		rows, err = tx.tx.QueryContext(tx.ctx, "SELECT key, value FROM settings WHERE key IN (?"+strings.Repeat(", ?", len(keys)-1)+")", args...)
	}
	if err != nil {
		return m, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return m, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

// SetSetting writes a setting.
func (tx *Tx) SetSetting(key, value string) error {
	_, err := tx.tx.ExecContext(tx.ctx,
		"INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		key, value)
	return err
}

// DeleteSetting removes a setting; false when it was not set.
func (tx *Tx) DeleteSetting(key string) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, "DELETE FROM settings WHERE key = ?", key)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Info describes the store: its schema version, mode and tenant.
func (db *DB) Info(ctx context.Context) (gatehouse.StoreInfo, error) {
	info := gatehouse.StoreInfo{Path: db.path, SchemaVersion: SchemaVersion()}
	err := db.View(ctx, func(v gatehouse.View) error {
		m, err := v.Settings("mode", "tenant_id", "created_at")
		info.Mode, info.TenantID = gatehouse.Mode(m["mode"]), m["tenant_id"]
		info.CreatedAt, _ = audit.ParseTime(m["created_at"])
		return err
	})
	return info, err
}
