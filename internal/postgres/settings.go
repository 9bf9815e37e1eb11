package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"
)

// Setting returns a setting's value and whether it is set.
func (v *View) Setting(key string) (string, bool, error) {
	var val string
	err := v.queryRow("SELECT value FROM settings WHERE tenant_id = $1 AND key = $2", key).Scan(&val)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return val, err == nil, classify(err, "read a setting")
}

// Settings returns those of keys that are set, in one read.
func (v *View) Settings(keys ...string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	rows, err := v.query("SELECT key, value FROM settings WHERE tenant_id = $1 AND key = ANY($2)", keys)
	if err != nil {
		return nil, classify(err, "read the settings")
	}
	defer rows.Close()
	for rows.Next() {
		var k, val string
		if err := rows.Scan(&k, &val); err != nil {
			return nil, classify(err, "read the settings")
		}
		out[k] = val
	}
	return out, classify(rows.Err(), "read the settings")
}

// SetSetting writes a setting.
func (tx *Tx) SetSetting(key, value string) error {
	_, err := tx.exec(`INSERT INTO settings (tenant_id, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value`, key, value)
	return classify(err, "write a setting")
}

// DeleteSetting removes a setting; false when it was not set.
func (tx *Tx) DeleteSetting(key string) (bool, error) {
	tag, err := tx.exec("DELETE FROM settings WHERE tenant_id = $1 AND key = $2", key)
	if err != nil {
		return false, classify(err, "remove a setting")
	}
	return tag.RowsAffected() > 0, nil
}
