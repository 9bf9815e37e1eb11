package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Setting keys kept in the settings table.
const (
	settingMode      = "mode"
	settingTenantID  = "tenant_id"
	settingCreatedAt = "created_at"
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

// SetSetting writes a setting. Callers audit the change through Change.
func (tx *Tx) SetSetting(key, value string) error {
	_, err := tx.tx.ExecContext(tx.ctx,
		"INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		key, value)
	return err
}

// StoreInfo describes the store: its schema version, mode and tenant.
func (db *DB) StoreInfo(ctx context.Context) (gatehouse.StoreInfo, error) {
	info := gatehouse.StoreInfo{Path: db.path, SchemaVersion: SchemaVersion()}
	err := db.View(ctx, func(tx *Tx) error {
		mode, _, err := tx.Setting(settingMode)
		if err != nil {
			return err
		}
		info.Mode = gatehouse.Mode(mode)
		if info.TenantID, _, err = tx.Setting(settingTenantID); err != nil {
			return err
		}
		created, _, err := tx.Setting(settingCreatedAt)
		if err != nil {
			return err
		}
		info.CreatedAt, _ = audit.ParseTime(created)
		return nil
	})
	return info, err
}
