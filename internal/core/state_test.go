package core

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func newSQLiteCore(t *testing.T) *Core {
	t.Helper()
	db, _, err := sqlite.Create(context.Background(), filepath.Join(t.TempDir(), "g.db"),
		sqlite.Options{Migrate: Migrate}, Init(InitParams{Actor: "op", Admin: "alice"}, "sqlite", sqlite.SchemaVersion()))
	if err != nil {
		t.Fatal(err)
	}
	c := New(db, Options{})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestInsertedUserState: the state a new account's event records without
// reading it back is what a read returns, for every kind of account the
// core inserts.
func TestInsertedUserState(t *testing.T) {
	c := newSQLiteCore(t)
	rows := []gatehouse.UserRow{
		{Name: "bob", Kind: "local", Email: "bob@example.com", Enabled: true, MSPAdmin: true, CreatedVia: "manual",
			CreatedBy: "alice", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", NameSkeleton: "bob"},
		{Name: "ann@example.com", Kind: "sso", Email: "ann@example.com", Enabled: true, CreatedVia: "auto", CreatedBy: "sso",
			SSOIssuer: "https://idp.example", SSOSubject: "ann", LastSignInBy: "sso", NameSkeleton: "ann@example.com"},
		{Name: "vendorsupport", Kind: "support", Enabled: true, CreatedVia: "support.request", CreatedBy: "alice",
			NameSkeleton: "vendorsupport"},
	}
	for _, r := range rows {
		_, err := c.update(context.Background(), func(t2 *change) (*gatehouse.NewEvent, error) {
			id, err := t2.InsertUser(r)
			if err != nil {
				return nil, err
			}
			key := gatehouse.UserStateKey(id)
			read, err := readState(t2, key)
			if err != nil {
				return nil, err
			}
			if !reflect.DeepEqual(t2.written[key], read) {
				t.Errorf("%s: recorded %+v, read %+v", r.Name, t2.written[key], read)
			}
			return &gatehouse.NewEvent{Action: "user.add", Target: r.Name, Outcome: gatehouse.OutcomeSuccess}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestOnlyTheCoreRecordsState: "state" and "baseline" in details a caller
// hands in are dropped; an event records the state its change wrote, and
// nothing when it wrote none.
func TestOnlyTheCoreRecordsState(t *testing.T) {
	c := newSQLiteCore(t)
	forged := map[string]any{"state": map[string]any{"user/1": nil}, "baseline": true, "checks": []string{"state=ok"}}
	if err := c.RecordSSOTest(context.Background(), "alice", "https://idp.example", "gh", false, forged); err != nil {
		t.Fatal(err)
	}
	var last gatehouse.Event
	c.ListEvents(context.Background(), gatehouse.EventFilter{Limit: 1}, func(ev *gatehouse.Event) error { last = *ev; return nil })
	if string(last.Details) != `{"checks":["state=ok"]}` {
		t.Fatalf("sso.test recorded %s", last.Details)
	}
	if _, ok := forged["state"]; !ok {
		t.Error("the caller's details were changed")
	}
	res, err := c.VerifyAudit(context.Background(), nil, nil)
	if err != nil || !res.OK() || res.State == nil {
		t.Fatalf("verify = %+v, %v", res, err)
	}
}

// TestInitRecordsBaseline: store.init records the whole state it wrote,
// as a baseline.
func TestInitRecordsBaseline(t *testing.T) {
	c := newSQLiteCore(t)
	var first gatehouse.Event
	c.ListEvents(context.Background(), gatehouse.EventFilter{}, func(ev *gatehouse.Event) error {
		if ev.Seq == 1 {
			first = *ev
		}
		return nil
	})
	var d struct {
		Baseline bool                       `json:"baseline"`
		State    map[string]json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(first.Details, &d); err != nil {
		t.Fatal(err)
	}
	if !d.Baseline || len(d.State) != 4 || d.State["setting/mode"] == nil || d.State["user/1"] == nil {
		t.Fatalf("store.init recorded %s", first.Details)
	}
}
