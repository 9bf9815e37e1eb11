package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestAuditListUsesAnIndex: on a tenant of 20,000 events whose statistics
// are known, 'audit list --limit 50' reads a quiet window or an action
// through an index, never by scanning the tenant's trail — and lists
// exactly the last 50 matching events.
func TestAuditListUsesAnIndex(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	s := create(t, url, "acme", Options{})
	create(t, url, "globex", Options{})
	// Rows written directly (not a valid chain: listing does not verify):
	// ten support events, then sign-ins over the early hours of a day.
	for _, q := range []string{
		`INSERT INTO audit_events (tenant_id, seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash)
		 SELECT 'acme', 1 + g, '2026-01-01T' || lpad((g / 3600 % 24)::text, 2, '0') || ':00:00.000000000Z', 'op', 'op',
		        CASE WHEN g <= 10 THEN 'support.logon' ELSE 'sso.signin' END, 'x', 'success', '{}', 'p' || g, 'h' || g
		 FROM generate_series(1, 20000) g`,
		"ANALYZE audit_events",
	} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(f gatehouse.EventFilter) []int64 {
		t.Helper()
		var out []int64
		if err := s.ListEvents(ctx, f, func(ev *gatehouse.Event) error { out = append(out, ev.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	day := clock()
	for _, c := range []struct {
		name string
		f    gatehouse.EventFilter
		plan string
	}{
		{"quiet window", gatehouse.EventFilter{Since: day.AddDate(1, 0, 0)}, "audit_events_time"},
		{"rare action prefix", gatehouse.EventFilter{Action: "support.*"}, "audit_events_action"},
		{"rare action", gatehouse.EventFilter{Action: "support.logon"}, "audit_events_action"},
		{"common action", gatehouse.EventFilter{Action: "sso.signin"}, "Index"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			f.Limit = 50
			plan, err := s.EventsQueryPlanForTest(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, c.plan) || strings.Contains(plan, "Seq Scan") {
				t.Errorf("plan\n%s\nwant %s and no sequential scan", plan, c.plan)
			}
			all := seqs(c.f)
			if got, want := seqs(f), all[max(len(all)-50, 0):]; !slices.Equal(got, want) {
				t.Errorf("listed %v, want the last 50 of %d", got, len(all))
			}
		})
	}
}
