package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Events is what the forwarder needs of the core.
type Events interface {
	NotifyRules(ctx context.Context) ([]gatehouse.NotifyRule, error)
	ListEvents(ctx context.Context, f gatehouse.EventFilter, fn func(ev *gatehouse.Event) error) error
	StoreID(ctx context.Context) (string, error)
	NotifyCursors() (gatehouse.NotifyCursors, error)
}

// Options say how the forwarder runs.
type Options struct {
	// Once: deliver what is there, then return (for cron); else run until
	// ctx is done.
	Once bool
	// Interval is the pause between passes over the trail.
	Interval time.Duration
	// Backoff is the first pause after a failed delivery; each failure in
	// a row doubles it, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// MaxAttempts, with Once, is how many times one event is tried before
	// Run gives up (its cursor stays before it).
	MaxAttempts int
	// Source names the store in payloads (StoreID is read when empty).
	Source Source
	// Getenv reads a webhook secret's environment variable.
	Getenv func(string) string
	// Log reports a failed attempt or a delivery, in words.
	Log func(format string, args ...any)
}

// Stats count what a Run delivered.
type Stats struct {
	Delivered int `json:"delivered"`
	Rules     int `json:"rules"`
}

// TestOnlyFault, when a test sets it, is called at each step of a
// delivery ("sent": the sink took the message and its cursor is not yet
// moved; "advanced": the cursor moved), so crash tests can end the
// process there.
var TestOnlyFault func(step string)

func fault(step string) {
	if TestOnlyFault != nil {
		TestOnlyFault(step)
	}
}

// ruleState is a rule's delivery state between passes.
type ruleState struct {
	sink     Sink
	failures int
	next     time.Time
	lastErr  error
}

// Run forwards events until ctx is done, or with o.Once until every rule
// has dealt with every committed event. Delivery is at least once: a
// rule's cursor moves past an event only once its sink took it, so a crash
// between the two sends the event again, with the same ID.
func Run(ctx context.Context, ev Events, o Options) (Stats, error) {
	var st Stats
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	cursors, err := ev.NotifyCursors()
	if err != nil {
		return st, err
	}
	if o.Source.StoreID == "" {
		if o.Source.StoreID, err = ev.StoreID(ctx); err != nil {
			return st, err
		}
	}
	states := map[string]*ruleState{}
	defer func() {
		for _, s := range states {
			if s.sink != nil {
				s.sink.Close()
			}
		}
	}()
	for {
		rules, err := ev.NotifyRules(ctx)
		if err != nil {
			return st, err
		}
		st.Rules = len(rules)
		pending := false
		wait := o.Interval
		for i := range rules {
			r := &rules[i]
			key := r.CursorName() + "\x00" + r.Encode()
			s := states[key]
			if s == nil {
				s = &ruleState{}
				states[key] = s
			}
			if now := time.Now(); now.Before(s.next) {
				pending = true
				wait = min(wait, s.next.Sub(now))
				continue
			}
			n, err := forwardRule(ctx, ev, cursors, r, s, &o)
			st.Delivered += n
			if ctx.Err() != nil {
				return st, nil
			}
			if err == nil {
				s.failures, s.lastErr = 0, nil
				continue
			}
			if !isDelivery(err) && gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
				return st, err
			}
			s.failures++
			s.lastErr = err
			d := o.Backoff << min(s.failures-1, 20)
			if d > o.MaxBackoff || d <= 0 {
				d = o.MaxBackoff
			}
			s.next = time.Now().Add(d)
			o.Log("rule %s: %v (attempt %d; next in %s)", r.Name, err, s.failures, d.Round(time.Millisecond))
			if o.Once && o.MaxAttempts > 0 && s.failures >= o.MaxAttempts {
				return st, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "rule %s: not delivered after %d attempts (%v); its cursor stays before the event, and the next run sends it again", r.Name, s.failures, err)
			}
			pending = true
			wait = min(wait, d)
		}
		if o.Once && !pending {
			return st, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, nil
		case <-t.C:
		}
	}
}

// deliveryError is a failed delivery (the sink's), as opposed to the
// store's.
type deliveryError struct{ err error }

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

func isDelivery(err error) bool {
	_, ok := err.(*deliveryError)
	return ok
}

// forwardRule sends r the events after its cursor, each matching one to
// its sink, and moves the cursor past each event it dealt with.
func forwardRule(ctx context.Context, ev Events, cursors gatehouse.NotifyCursors, r *gatehouse.NotifyRule, s *ruleState, o *Options) (int, error) {
	name := r.CursorName()
	stored, found, err := cursors.NotifyCursor(ctx, name)
	if err != nil {
		return 0, err
	}
	if !found {
		stored = 0
	}
	start := max(stored, r.After)
	// Only committed events are read: ListEvents reads one snapshot. The
	// matching ones are kept (copied: fn's event is reused); the others
	// only move the cursor.
	var matched []gatehouse.Event
	last := start
	if err := ev.ListEvents(ctx, gatehouse.EventFilter{AfterSeq: start}, func(e *gatehouse.Event) error {
		last = e.Seq
		if r.Matches(e.Action, e.Outcome) {
			c := *e
			c.Details = append(json.RawMessage(nil), e.Details...)
			matched = append(matched, c)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	fault("read")
	advance := func(to int64) error {
		if to <= stored && found {
			return nil
		}
		ok, err := cursors.AdvanceNotifyCursor(ctx, name, stored, to)
		if err != nil {
			return err
		}
		if !ok {
			return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "rule %s: its cursor was moved by another forwarder; run one forwarder per store", r.Name)
		}
		stored, found = to, true
		fault("advanced")
		return nil
	}
	delivered := 0
	for i := range matched {
		e := &matched[i]
		m, err := NewMessage(r.Format, o.Source, e)
		if err != nil {
			return delivered, err
		}
		if s.sink == nil {
			if s.sink, err = NewSink(r, o.Getenv); err != nil {
				return delivered, &deliveryError{err}
			}
		}
		if err := s.sink.Send(ctx, m); err != nil {
			return delivered, &deliveryError{fmt.Errorf("event %d (%s): %w", e.Seq, m.ID, err)}
		}
		fault("sent")
		delivered++
		o.Log("rule %s: delivered event %d (%s) as %s", r.Name, e.Seq, e.Action, m.ID)
		if err := advance(e.Seq); err != nil {
			return delivered, err
		}
	}
	if last > start || !found {
		if err := advance(last); err != nil {
			return delivered, err
		}
	}
	return delivered, nil
}
