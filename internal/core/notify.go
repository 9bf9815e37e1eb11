package core

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Notification rules are settings (gatehouse.NotifyRuleKey), so that each
// change is audited, and replayed by 'audit verify --state', as every
// setting is.

// AddNotifyRule adds a rule (its name must be free). r.After, AddedAt and
// AddedBy are set here: the rule is sent the events after the one that
// adds it.
func (c *Core) AddNotifyRule(ctx context.Context, actor string, r gatehouse.NotifyRule) (gatehouse.NotifyRule, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	var added gatehouse.NotifyRule
	_, err := c.asAdmin(ctx, actor, "notify.add", r.Name, func(t *change) (*gatehouse.NewEvent, error) {
		key := gatehouse.NotifyRuleKey(r.Name)
		if _, ok, err := t.Setting(key); err != nil {
			return nil, err
		} else if ok {
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "a notification rule named %s exists; remove it first ('gatehouse notify remove %s')", r.Name, r.Name)
		}
		n, err := t.TreeSize()
		if err != nil {
			return nil, err
		}
		added = r
		// The event that adds the rule is event n+1, and is sent to it
		// when it matches.
		added.After, added.AddedAt, added.AddedBy = n, storedTime(t.Now()), t.recordedActor(actor)
		if err := t.SetSetting(key, added.Encode()); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "notify.add", Target: r.Name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"name": r.Name, "sink": r.Sink, "target": r.Target, "format": r.Format, "actions": r.Actions}}, nil
	})
	return added, err
}

// RemoveNotifyRule removes the rule called name. Its delivery cursor is
// left: a rule added again under the name starts a new one.
func (c *Core) RemoveNotifyRule(ctx context.Context, actor, name string) (gatehouse.NotifyRule, error) {
	var removed gatehouse.NotifyRule
	_, err := c.asAdmin(ctx, actor, "notify.remove", name, func(t *change) (*gatehouse.NewEvent, error) {
		key := gatehouse.NotifyRuleKey(name)
		v, ok, err := t.Setting(key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "no notification rule named %s; see 'gatehouse notify list'", gatehouse.Clip(name, 64))
		}
		removed, _ = gatehouse.DecodeNotifyRule(v)
		if _, err := t.DeleteSetting(key); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "notify.remove", Target: name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"name": name}}, nil
	})
	return removed, err
}

// NotifyRules lists the rules by name.
func (c *Core) NotifyRules(ctx context.Context) ([]gatehouse.NotifyRule, error) {
	var rules []gatehouse.NotifyRule
	err := c.read(ctx, func(v gatehouse.View) error {
		rules = nil
		all, err := v.AllSettings()
		if err != nil {
			return err
		}
		for k, val := range all {
			if !strings.HasPrefix(k, gatehouse.NotifyRulePrefix) {
				continue
			}
			r, err := gatehouse.DecodeNotifyRule(val)
			if err != nil {
				return err
			}
			rules = append(rules, r)
		}
		return nil
	})
	slices.SortFunc(rules, func(a, b gatehouse.NotifyRule) int { return strings.Compare(a.Name, b.Name) })
	return rules, err
}

// NotifyRule reads the rule called name.
func (c *Core) NotifyRule(ctx context.Context, name string) (gatehouse.NotifyRule, error) {
	var r gatehouse.NotifyRule
	err := c.read(ctx, func(v gatehouse.View) error {
		val, ok, err := v.Setting(gatehouse.NotifyRuleKey(name))
		if err != nil {
			return err
		}
		if !ok {
			return gatehouse.Errorf(gatehouse.ENOTFOUND, "no notification rule named %s; see 'gatehouse notify list'", gatehouse.Clip(name, 64))
		}
		r, err = gatehouse.DecodeNotifyRule(val)
		return err
	})
	return r, err
}

// NotifyCursors is the store's delivery cursors.
func (c *Core) NotifyCursors() (gatehouse.NotifyCursors, error) {
	nc, ok := c.store.(gatehouse.NotifyCursors)
	if !ok {
		return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "this store keeps no delivery cursors")
	}
	return nc, nil
}

// StoreID names the store in event IDs: the first 16 hex digits of its
// first event's (store.init's) hash, which no other store shares and which
// a copy of the store keeps with its events.
func (c *Core) StoreID(ctx context.Context) (string, error) {
	var id string
	err := c.read(ctx, func(v gatehouse.View) error {
		ev, found, err := v.Event(1)
		if err != nil {
			return err
		}
		if !found || len(ev.Hash) < 16 {
			return gatehouse.Errorf(gatehouse.ECHECKFAILED, "the store has no first event; run 'gatehouse audit verify'")
		}
		id = ev.Hash[:16]
		return nil
	})
	return id, err
}
