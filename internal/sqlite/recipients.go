package sqlite

import (
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Recipients lists the vendor's recipients in the order added.
func (tx *Tx) Recipients() ([]gatehouse.Recipient, error) {
	rows, err := tx.tx.QueryContext(tx.ctx,
		"SELECT kind, recipient, fingerprint, comment, added_at, added_by FROM support_recipients ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Recipient
	for rows.Next() {
		var r gatehouse.Recipient
		var added string
		if err := rows.Scan(&r.Kind, &r.Recipient, &r.Fingerprint, &r.Comment, &added, &r.AddedBy); err != nil {
			return nil, err
		}
		r.AddedAt, _ = audit.ParseTime(added)
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddRecipient adds a recipient unless its key or fingerprint is there.
func (tx *Tx) AddRecipient(r gatehouse.Recipient) (bool, error) {
	return tx.affected(`INSERT INTO support_recipients (kind, recipient, fingerprint, comment, added_at, added_by)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		r.Kind, r.Recipient, r.Fingerprint, r.Comment, audit.FormatTime(r.AddedAt), r.AddedBy)
}

// RemoveRecipient removes the recipient with this fingerprint.
func (tx *Tx) RemoveRecipient(fingerprint string) (bool, error) {
	return tx.affected("DELETE FROM support_recipients WHERE fingerprint = ?", fingerprint)
}
