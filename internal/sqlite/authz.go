package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// authorize reports whether actor may change settings or grant access: an
// enabled MSP admin of this store may. While the store has no enabled MSP
// admin at all, the operator may act ("bootstrap"), and the event says so;
// creating the first admin (init --admin) closes that window. Names match
// without regard to case (the column is NOCASE); name is the admin's name as
// stored, which is what events record, not the spelling typed.
func (tx *Tx) authorize(actor string) (allowed, bootstrap bool, name string, err error) {
	var admins int
	if err := tx.tx.QueryRowContext(tx.ctx,
		"SELECT count(*) FROM users WHERE msp_admin = 1 AND enabled = 1").Scan(&admins); err != nil {
		return false, false, "", err
	}
	if admins == 0 {
		return true, true, actor, nil
	}
	err = tx.tx.QueryRowContext(tx.ctx,
		"SELECT name FROM users WHERE name = ? AND msp_admin = 1 AND enabled = 1", actor).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, "", nil
	}
	return err == nil, false, name, err
}

// recordedActor is the name an event or a row records for actor: the
// stored name of the admin authorised in this transaction when actor is a
// spelling of it, else actor as given.
func (tx *Tx) recordedActor(actor string) string {
	if tx.admin != "" && strings.EqualFold(actor, tx.admin) {
		return tx.admin
	}
	return actor
}

// ChangeAsAdmin is Change for changes only an MSP admin may make. An actor
// without the right gets one audited "denied" event for action on target,
// nothing else changes, and the error is EUNAUTHORIZED. During bootstrap the
// change's event carries "bootstrap": true.
func (db *DB) ChangeAsAdmin(ctx context.Context, actor, action, target string, fn func(tx *Tx) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	denied := false
	ev, err := db.Change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		allowed, bootstrap, name, err := tx.authorize(actor)
		if err != nil {
			return nil, err
		}
		tx.admin = name
		if !allowed {
			denied = true
			return &gatehouse.NewEvent{
				Actor: actor, Action: action, Target: target, Outcome: gatehouse.OutcomeDenied,
				Details: map[string]any{"reason": "not_msp_admin"},
			}, nil
		}
		ne, err := fn(tx)
		if ne != nil {
			ne.Actor = tx.recordedActor(ne.Actor)
		}
		if ne != nil && bootstrap {
			if ne.Details == nil {
				ne.Details = map[string]any{}
			}
			ne.Details["bootstrap"] = true
		}
		return ne, err
	})
	if err == nil && denied {
		return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED,
			"%s is not an enabled MSP admin of this store: only an MSP admin may %s (name one with --actor); the refusal was audited",
			actor, action)
	}
	return ev, err
}

// Authorize checks, before any work is done, that actor may perform action:
// a refusal is audited and returned as EUNAUTHORIZED; an allowed actor
// writes nothing.
func (db *DB) Authorize(ctx context.Context, actor, action, target string) error {
	_, err := db.ChangeAsAdmin(ctx, actor, action, target, func(tx *Tx) (*gatehouse.NewEvent, error) { return nil, nil })
	return err
}
