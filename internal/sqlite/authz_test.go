package sqlite_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func TestChangeAsAdmin(t *testing.T) {
	db, _ := newStore(t)
	host, port := "a.example", 443

	t.Run("Bootstrap", func(t *testing.T) {
		if _, _, err := core.New(db, core.Options{}).ConfigureServer(ctx, "anyone", core.ServerUpdate{Host: &host, Port: &port}); err != nil {
			t.Fatal(err)
		}
		var details string
		db.ListEvents(ctx, gatehouse.EventFilter{Limit: 1}, func(ev *gatehouse.Event) error { details = string(ev.Details); return nil })
		if !strings.Contains(details, `"bootstrap":true`) {
			t.Errorf("details = %s: a change without any admin must say it was made in bootstrap", details)
		}
	})

	// Make alice an MSP admin, and bob a disabled one.
	if _, err := db.Change(ctx, func(gtx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		tx := gtx.(*sqlite.Tx)
		for _, q := range []string{
			"INSERT INTO users (name, kind, msp_admin, created_at, created_via, created_by) VALUES ('alice', 'local', 1, '', 'test', 'test')",
			"INSERT INTO users (name, kind, msp_admin, enabled, created_at, created_via, created_by) VALUES ('bob', 'local', 1, 0, '', 'test', 'test')",
		} {
			if err := tx.ExecForTest(q); err != nil {
				return nil, err
			}
		}
		return &gatehouse.NewEvent{Action: "test.users", Outcome: gatehouse.OutcomeSuccess}, nil
	}); err != nil {
		t.Fatal(err)
	}

	for _, actor := range []string{"mallory", "bob"} {
		t.Run("ErrNotAdmin_"+actor, func(t *testing.T) {
			before, _ := db.Head(ctx)
			port := 8443
			_, _, err := core.New(db, core.Options{}).ConfigureServer(ctx, actor, core.ServerUpdate{Port: &port})
			if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Fatalf("err = %v, want unauthorized", err)
			}
			a, _, _ := core.New(db, core.Options{}).ServerAddress(ctx)
			if a.Port != 443 {
				t.Fatal("the refused change was made")
			}
			var evs []gatehouse.Event
			db.ListEvents(ctx, gatehouse.EventFilter{AfterSeq: before.Seq}, func(ev *gatehouse.Event) error { evs = append(evs, *ev); return nil })
			if len(evs) != 1 || evs[0].Outcome != gatehouse.OutcomeDenied || evs[0].Actor != actor || evs[0].Action != "server.configure" {
				t.Fatalf("events after refusal = %+v, want one denied server.configure by %s", evs, actor)
			}
		})
	}

	t.Run("Admin", func(t *testing.T) {
		port := 8443
		if _, changed, err := core.New(db, core.Options{}).ConfigureServer(ctx, "alice", core.ServerUpdate{Port: &port}); err != nil || !changed {
			t.Fatalf("changed = %v, err = %v", changed, err)
		}
		var details string
		db.ListEvents(ctx, gatehouse.EventFilter{Limit: 1}, func(ev *gatehouse.Event) error { details = string(ev.Details); return nil })
		if strings.Contains(details, "bootstrap") {
			t.Errorf("details = %s: bootstrap is over once an admin exists", details)
		}
	})
}
