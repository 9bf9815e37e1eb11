package sqlite

import (
	"context"
)

// EnvelopeIssued reports whether an envelope with this SHA-256 (hex) was
// issued by a committed support request or rotation: the audit trail
// records each envelope's digest. 'support request --out' replaces an
// existing file only if it is such an envelope.
func (db *DB) EnvelopeIssued(ctx context.Context, sha256Hex string) (bool, error) {
	var ok bool
	err := db.View(ctx, func(tx *Tx) error {
		return tx.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM audit_events
			WHERE action IN ('support.request', 'support.rotate') AND outcome = 'success'
			AND json_extract(details, '$.envelope_sha256') = ?)`, sha256Hex).Scan(&ok)
	})
	return ok, err
}
