package sqlite

import (
	"context"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

const settingAdminSeats = "license.admin_seats"

// seatsUsedQuery counts the accounts that consume an admin seat: enabled,
// holding at least one role, and not the support account, which never
// counts (nor do pending accounts, which hold no role).
const seatsUsedQuery = `SELECT count(*) FROM users u
	WHERE u.kind != 'support' AND u.enabled = 1
	AND EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id)`

func (tx *Tx) license() (gatehouse.License, error) {
	var l gatehouse.License
	v, ok, err := tx.Setting(settingAdminSeats)
	if err != nil {
		return l, err
	}
	if ok && v != "" {
		l.PerAdmin = true
		l.Seats, _ = strconv.Atoi(v)
	}
	if err := tx.tx.QueryRowContext(tx.ctx, seatsUsedQuery).Scan(&l.Used); err != nil {
		return l, err
	}
	if l.PerAdmin {
		l.Free = max(l.Seats-l.Used, 0)
	}
	return l, nil
}

// License reports the admin-seat licence and its use.
func (db *DB) License(ctx context.Context) (l gatehouse.License, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		l, err = tx.license()
		return err
	})
	return l, err
}

// SetAdminSeats sets the number of admin seats; seats 0 means the product
// is not licensed per administrator. Fewer seats than are in use is
// refused: roles must be unassigned first.
func (db *DB) SetAdminSeats(ctx context.Context, actor string, seats int) (gatehouse.License, bool, error) {
	var out gatehouse.License
	ev, err := db.ChangeAsAdmin(ctx, actor, "license.set", "license", func(tx *Tx) (*gatehouse.NewEvent, error) {
		cur, err := tx.license()
		if err != nil {
			return nil, err
		}
		out = cur
		if seats < 0 {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid seat count %d", seats)
		}
		if (seats == 0 && !cur.PerAdmin) || (cur.PerAdmin && cur.Seats == seats) {
			return nil, nil
		}
		if seats > 0 && seats < cur.Used {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%d admin seats are in use, more than %d: unassign roles first", cur.Used, seats)
		}
		text := ""
		if seats > 0 {
			text = strconv.Itoa(seats)
		}
		if err := tx.SetSetting(settingAdminSeats, text); err != nil {
			return nil, err
		}
		out, err = tx.license()
		if err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "license.set", Target: "license", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"admin_seats": seats, "previous_admin_seats": cur.Seats}}, nil
	})
	return out, ev != nil, err
}
