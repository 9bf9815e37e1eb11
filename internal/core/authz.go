package core

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// authorize reports whether actor may change settings or grant access: an
// enabled MSP admin of this store may. While the store has no enabled MSP
// admin at all, the operator may act ("bootstrap"), and the event says so;
// creating the first admin (init --admin) closes that window. Names match
// without regard to case; name is the admin's name as stored, which is what
// events record, not the spelling typed.
func authorize(v gatehouse.View, actor string) (allowed, bootstrap bool, name string, err error) {
	admins, err := v.EnabledAdmins()
	if err != nil {
		return false, false, "", err
	}
	if admins == 0 {
		return true, true, actor, nil
	}
	name, found, err := v.EnabledAdmin(actor)
	return found, false, name, err
}

// asAdmin runs a change only an MSP admin may make. An actor without the
// right gets one audited "denied" event for action on target, nothing else
// changes, and the error is EUNAUTHORIZED. During bootstrap the change's
// event carries "bootstrap": true.
func (c *Core) asAdmin(ctx context.Context, actor, action, target string, fn func(t *change) (*gatehouse.NewEvent, error)) (*gatehouse.Event, error) {
	denied := false
	ev, err := c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		denied = false
		allowed, bootstrap, name, err := authorize(t, actor)
		if err != nil {
			return nil, err
		}
		t.admin = name
		if !allowed {
			denied = true
			return &gatehouse.NewEvent{
				Actor: actor, Action: action, Target: target, Outcome: gatehouse.OutcomeDenied,
				Details: map[string]any{"reason": "not_msp_admin"},
			}, nil
		}
		ne, err := fn(t)
		if ne != nil {
			ne.Actor = t.recordedActor(ne.Actor)
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
func (c *Core) Authorize(ctx context.Context, actor, action, target string) error {
	_, err := c.asAdmin(ctx, actor, action, target, func(*change) (*gatehouse.NewEvent, error) { return nil, nil })
	return err
}
