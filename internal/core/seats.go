package core

import (
	"context"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// checkSeat refuses to give one more account a seat when all are in use.
func checkSeat(v gatehouse.View) error {
	l, err := license(v)
	if err != nil {
		return err
	}
	if l.PerAdmin && l.Used >= l.Seats {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "all %d admin seats are in use: unassign a role or raise the seats with 'gatehouse license set'", l.Seats)
	}
	return nil
}

// License reports the admin-seat licence and its use.
func (c *Core) License(ctx context.Context) (l gatehouse.License, err error) {
	err = c.read(ctx, func(v gatehouse.View) error {
		l, err = license(v)
		return err
	})
	return l, err
}

// SetAdminSeats sets the number of admin seats; seats 0 means the product
// is not licensed per administrator. Fewer seats than are in use is
// refused: roles must be unassigned first.
func (c *Core) SetAdminSeats(ctx context.Context, actor string, seats int) (gatehouse.License, bool, error) {
	var out gatehouse.License
	ev, err := c.asAdmin(ctx, actor, "license.set", "license", func(t *change) (*gatehouse.NewEvent, error) {
		cur, err := license(t)
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
		if err := t.SetSetting(settingAdminSeats, text); err != nil {
			return nil, err
		}
		if out, err = license(t); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "license.set", Target: "license", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"admin_seats": seats, "previous_admin_seats": cur.Seats}}, nil
	})
	return out, ev != nil, err
}
