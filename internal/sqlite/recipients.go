package sqlite

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func (tx *Tx) recipients() ([]gatehouse.Recipient, error) {
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

// Recipients lists the vendor's recipients in the order they were added.
func (db *DB) Recipients(ctx context.Context) (rs []gatehouse.Recipient, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rs, err = tx.recipients()
		return err
	})
	return rs, err
}

// AddRecipients adds recipients that are not there yet, as one audited
// change; it returns those it added (none when all were present, and then
// nothing is written).
func (db *DB) AddRecipients(ctx context.Context, actor string, rs []gatehouse.Recipient) ([]gatehouse.Recipient, error) {
	var added []gatehouse.Recipient
	_, err := db.ChangeAsAdmin(ctx, actor, "support.recipients.add", "support.recipients", func(tx *Tx) (*gatehouse.NewEvent, error) {
		added = nil
		var fps []string
		for _, r := range rs {
			res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO support_recipients (kind, recipient, fingerprint, comment, added_at, added_by)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				r.Kind, r.Recipient, r.Fingerprint, r.Comment, audit.FormatTime(tx.now), tx.recordedActor(actor))
			if err != nil {
				return nil, err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				r.AddedAt, r.AddedBy = tx.now, tx.recordedActor(actor)
				added = append(added, r)
				fps = append(fps, r.Fingerprint)
			}
		}
		if len(added) == 0 {
			return nil, nil
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "support.recipients.add", Target: "support.recipients",
			Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{"fingerprints": fps}}, nil
	})
	return added, err
}

// RemoveRecipient removes the recipient whose fingerprint or key text is ref.
func (db *DB) RemoveRecipient(ctx context.Context, actor, ref string) (gatehouse.Recipient, error) {
	var removed gatehouse.Recipient
	_, err := db.ChangeAsAdmin(ctx, actor, "support.recipients.remove", "support.recipients", func(tx *Tx) (*gatehouse.NewEvent, error) {
		rs, err := tx.recipients()
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.Fingerprint == ref || r.Recipient == ref {
				if _, err := tx.tx.ExecContext(tx.ctx, "DELETE FROM support_recipients WHERE fingerprint = ?", r.Fingerprint); err != nil {
					return nil, err
				}
				removed = r
				return &gatehouse.NewEvent{Actor: actor, Action: "support.recipients.remove", Target: "support.recipients",
					Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{"fingerprint": r.Fingerprint, "kind": r.Kind}}, nil
			}
		}
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "no recipient with that fingerprint or key; see 'gatehouse support recipients list'")
	})
	return removed, err
}
