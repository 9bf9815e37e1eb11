package postgres

import (
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// Recipients lists the vendor's recipients in the order added.
func (v *View) Recipients() ([]gatehouse.Recipient, error) {
	rows, err := v.query(`SELECT kind, recipient, fingerprint, comment, added_at, added_by
		FROM support_recipients WHERE tenant_id = $1 ORDER BY id`)
	if err != nil {
		return nil, classify(err, "list the recipients")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (gatehouse.Recipient, error) {
		var r gatehouse.Recipient
		var added string
		err := row.Scan(&r.Kind, &r.Recipient, &r.Fingerprint, &r.Comment, &added, &r.AddedBy)
		r.AddedAt, _ = audit.ParseTime(added)
		return r, err
	})
	if out == nil {
		out = []gatehouse.Recipient{}
	}
	return out, classify(err, "list the recipients")
}

// AddRecipient adds a recipient with the tenant's next recipient ID;
// false when its key or fingerprint is already there.
func (tx *Tx) AddRecipient(r gatehouse.Recipient) (bool, error) {
	tag, err := tx.exec(`INSERT INTO support_recipients (tenant_id, id, kind, recipient, fingerprint, comment, added_at, added_by)
		VALUES ($1, (SELECT coalesce(max(id), 0) + 1 FROM support_recipients WHERE tenant_id = $1), $2, $3, $4, $5, $6, $7)
		ON CONFLICT DO NOTHING`,
		r.Kind, r.Recipient, r.Fingerprint, r.Comment, audit.FormatTime(r.AddedAt), r.AddedBy)
	return tag.RowsAffected() == 1, classify(err, "add the recipient")
}

// RemoveRecipient removes the recipient with this fingerprint.
func (tx *Tx) RemoveRecipient(fingerprint string) (bool, error) {
	tag, err := tx.exec("DELETE FROM support_recipients WHERE tenant_id = $1 AND fingerprint = $2", fingerprint)
	return tag.RowsAffected() == 1, classify(err, "remove the recipient")
}
