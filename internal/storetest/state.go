package storetest

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// differences runs audit verification and returns the state's findings;
// the chain must hold.
func differences(t *testing.T, c *core.Core) []gatehouse.StateDifference {
	t.Helper()
	res, err := c.VerifyAudit(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.ChainResult.OK() || res.State == nil {
		t.Fatalf("verify = %+v", res)
	}
	return res.State.Differences
}

// wantDifference checks that verification finds exactly one row, key,
// with a finding that says want.
func wantDifference(t *testing.T, c *core.Core, key, want string) {
	t.Helper()
	ds := differences(t, c)
	if len(ds) != 1 || ds[0].Key != key || ds[0].Problem != want {
		t.Fatalf("differences = %+v, want %s: %q", ds, key, want)
	}
}

// testStateMatchesEvents: every kind of change the core makes records the
// state it leaves, so a store changed only through the core verifies —
// grants and revocations, exemptions, passwords, enabling, SSO sign-ins
// that create accounts, recipients — and an edit past the core is found.
func testStateMatchesEvents(t *testing.T, h Harness) {
	loc := h.Location(t)
	c := create(t, loc, "")
	for _, kind := range []string{"role", "group", "org"} {
		if _, _, err := c.AddRecord(ctx, "alice", kind, "Ops"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.AddUser(ctx, "alice", core.NewUser{Name: "bob", Email: "bob@example.com", Via: "manual", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"}); err != nil {
		t.Fatal(err)
	}
	g := gatehouse.Grants{Roles: []string{"Ops", "Master"}, Groups: []string{"Ops"}, Orgs: []string{"Ops"}, Scopes: []string{"Master"}}
	if _, _, err := c.Assign(ctx, "alice", "bob", g); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Unassign(ctx, "alice", "bob", gatehouse.Grants{Roles: []string{"Ops"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPassword(ctx, "alice", "bob", "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$b3RoZXI"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetEnabled(ctx, "alice", "bob", false); err != nil {
		t.Fatal(err)
	}
	ssoOn(t, c)
	if _, err := c.SetSSOExempt(ctx, "alice", "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(ctx, ann); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SetAdminSeats(ctx, "alice", 3); err != nil {
		t.Fatal(err)
	}
	verify(t, c)

	// The events hold the state, never a password hash.
	var trail strings.Builder
	c.ListEvents(ctx, gatehouse.EventFilter{}, func(ev *gatehouse.Event) error { trail.Write(ev.Details); return nil })
	if strings.Contains(trail.String(), "argon2id") {
		t.Fatal("a password hash is in the audit trail")
	}
	var last gatehouse.Event
	c.ListEvents(ctx, gatehouse.EventFilter{Action: "user.disable"}, func(ev *gatehouse.Event) error { last = *ev; return nil })
	var d struct {
		State map[string]gatehouse.UserState `json:"state"`
	}
	if err := json.Unmarshal(last.Details, &d); err != nil {
		t.Fatal(err)
	}
	bob := d.State["user/2"]
	if bob.Enabled || bob.Name != "bob" || strings.Join(bob.Roles, ",") != "Master" || len(bob.Password) != 64 ||
		strings.Join(bob.Groups, ",") != "Ops" || strings.Join(bob.Scopes, ",") != "Master" {
		t.Fatalf("user.disable recorded bob as %+v", bob)
	}

	// Edits past the core.
	h.Exec(t, loc, "UPDATE users SET enabled = true WHERE name = 'bob'")
	wantDifference(t, c, "user/2", "user 2 (bob): enabled is true in the store, false in the trail (last event "+itoa(last.Seq)+" user.disable)")
	h.Exec(t, loc, "UPDATE users SET enabled = false WHERE name = 'bob'")
	h.Exec(t, loc, "DELETE FROM sso_exemptions")
	ds := differences(t, c)
	if len(ds) != 1 || ds[0].Key != "user/1" || strings.Join(ds[0].Fields, ",") != "sso_exempt" {
		t.Fatalf("differences = %+v", ds)
	}
}

// testMigrationBaseline: a store of the schema before after-state gets,
// when it is migrated, a baseline of its whole state in the store.migrate
// event; it verifies, and a later edit is found and names that event.
func testMigrationBaseline(t *testing.T, h Harness) {
	loc := h.Location(t)
	h.CreateBeforeState(t, loc, func(tx gatehouse.Tx) error {
		_, err := tx.InsertUser(gatehouse.UserRow{Name: "olga", Kind: "local", Enabled: true, MSPAdmin: true,
			CreatedVia: "init", CreatedBy: "old", NameSkeleton: "olga"})
		if err == nil {
			err = tx.SetSetting("sso.allow", "true")
		}
		return err
	})
	c := open(t, loc, "")
	var last gatehouse.Event
	c.ListEvents(ctx, gatehouse.EventFilter{Limit: 1}, func(ev *gatehouse.Event) error { last = *ev; return nil })
	var d struct {
		State    map[string]json.RawMessage `json:"state"`
		Baseline bool                       `json:"baseline"`
		From     int                        `json:"from_version"`
	}
	if err := json.Unmarshal(last.Details, &d); err != nil {
		t.Fatal(err)
	}
	if last.Action != "store.migrate" || !d.Baseline || d.From == 0 ||
		string(d.State["setting/sso.allow"]) != `"true"` || !strings.Contains(string(d.State["user/1"]), `"msp_admin":true`) {
		t.Fatalf("the migration's event is %s %s", last.Action, last.Details)
	}
	verify(t, c)
	h.Exec(t, loc, "UPDATE users SET msp_admin = false WHERE name = 'olga'")
	wantDifference(t, c, "user/1", "user 1 (olga): msp_admin is false in the store, true in the trail (last event "+itoa(last.Seq)+" store.migrate)")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
