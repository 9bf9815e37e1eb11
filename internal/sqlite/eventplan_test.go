package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// listSeqs lists the sequence numbers f selects.
func listSeqs(t *testing.T, db *sqlite.DB, f gatehouse.EventFilter) []int64 {
	t.Helper()
	var seqs []int64
	if err := db.ListEvents(ctx, f, func(ev *gatehouse.Event) error {
		seqs = append(seqs, ev.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return seqs
}

// TestAuditListUsesAnIndex: 'audit list' with --limit reads a quiet time
// window or a rare action through its index, and a busy one from the end
// of the trail, never by scanning the trail and sorting it — and whatever
// the plan, it lists exactly the last N matching events, including events
// stamped earlier than the ones before them (a clock set back).
func TestAuditListUsesAnIndex(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	db, _, err := sqlite.Create(ctx, filepath.Join(t.TempDir(), "plan.db"), sqlite.Options{Now: func() time.Time { return now }},
		core.Init(core.InitParams{Actor: "alice"}, "sqlite", sqlite.SchemaVersion()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendN := func(n int, action string) {
		t.Helper()
		if err := db.AppendSynthetic(ctx, n, gatehouse.NewEvent{Actor: "alice", Action: action, Target: "x",
			Outcome: gatehouse.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	// Old: a few support events among many sign-ins. Then a busy hour of
	// sign-ins and token events, and last a few events from a clock set
	// back to the old day.
	appendN(10, "support.logon")
	appendN(2500, "sso.signin")
	appendN(5, "support.request")
	now = t0.Add(24 * time.Hour)
	appendN(1500, "sso.signin")
	appendN(1200, "token.issue")
	now = t0.Add(time.Minute)
	appendN(7, "support.logon")

	for _, c := range []struct {
		name string
		f    gatehouse.EventFilter
		plan string // a step the plan must have
	}{
		{"quiet window", gatehouse.EventFilter{Since: t0.Add(48 * time.Hour)}, "INDEX audit_events_time"},
		{"quiet window, clock set back", gatehouse.EventFilter{Since: t0.Add(time.Second), Until: t0.Add(time.Hour)}, "INDEX audit_events_time"},
		{"busy window", gatehouse.EventFilter{Since: t0.Add(23 * time.Hour)}, "SCAN audit_events"},
		{"busy window, past", gatehouse.EventFilter{Until: t0.Add(time.Hour)}, "SCAN audit_events"},
		{"rare action prefix", gatehouse.EventFilter{Action: "support.*"}, "INDEX audit_events_action"},
		{"rare action", gatehouse.EventFilter{Action: "support.request"}, "INDEX audit_events_action"},
		{"common action", gatehouse.EventFilter{Action: "sso.signin"}, "INDEX audit_events_action"},
		{"common action prefix", gatehouse.EventFilter{Action: "sso.*"}, "INDEX audit_events_action"},
		{"common action, quiet window", gatehouse.EventFilter{Action: "sso.signin", Since: t0.Add(48 * time.Hour)}, "INDEX audit_events_time"},
		{"common action, busy window", gatehouse.EventFilter{Action: "sso.*", Since: t0.Add(23 * time.Hour)}, "INDEX audit_events_action"},
		{"rare action, busy window", gatehouse.EventFilter{Action: "support.*", Since: t0.Add(-time.Hour)}, "INDEX audit_events_action"},
		{"actor and window", gatehouse.EventFilter{Actor: "alice", Since: t0.Add(48 * time.Hour)}, "INDEX audit_events_time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			f.Limit = 50
			plan, err := db.EventsQueryPlanForTest(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, c.plan) {
				t.Errorf("plan\n%s\nwant %q", plan, c.plan)
			}
			// No sort of the rows before the limit, unless an index
			// range (of fewer than a thousand entries) drives the query.
			if strings.Contains(plan, "TEMP B-TREE") && !strings.Contains(plan, ">?") {
				t.Errorf("plan\n%s\nsorts before the limit", plan)
			}
			all := listSeqs(t, db, c.f)
			want := all[max(len(all)-50, 0):]
			if got := listSeqs(t, db, f); !slices.Equal(got, want) {
				t.Errorf("listed %v,\nwant the last 50 of the unlimited listing, %v", got, want)
			}
		})
	}
}

// TestAdminChecksUseTheirIndex: the enabled-admin count that every admin
// command makes reads the partial index of enabled admins, not the users
// table, and the actor's look-up is an index search, so neither grows with
// the number of users.
func TestAdminChecksUseTheirIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admins.db")
	db, _, err := sqlite.Create(ctx, path, sqlite.Options{}, core.Init(core.InitParams{Actor: "alice"}, "sqlite", sqlite.SchemaVersion()))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range sqlite.AdminCheckQueriesForTest {
		var id, parent, unused int
		var plan string
		if err := raw.QueryRow("EXPLAIN QUERY PLAN "+q, "alice").Scan(&id, &parent, &unused, &plan); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(q, "count(*)") && !strings.Contains(plan, "INDEX users_enabled_admins") {
			t.Errorf("%s: plan %q, want the users_enabled_admins index", q, plan)
		}
		if !strings.HasPrefix(plan, "SEARCH users USING") && !strings.HasPrefix(plan, "SCAN users USING COVERING INDEX users_enabled_admins") {
			t.Errorf("%s: plan %q, want an index search", q, plan)
		}
	}
}
