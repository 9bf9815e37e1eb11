package sqlite

// InsertSettingForTest inserts without upsert, to provoke a unique violation.
func (tx *Tx) InsertSettingForTest(key, value string) error {
	_, err := tx.tx.ExecContext(tx.ctx, "INSERT INTO settings (key, value) VALUES (?, ?)", key, value)
	return err
}
