package postgres

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// atVersion runs fn with only the first v migrations, as an older
// gatehouse would have them.
func atVersion(v int, fn func()) {
	all := migrations
	migrations = all[:v]
	defer func() { migrations = all }()
	fn()
}

// A database of schema 1 (audit chains only) migrated to the current
// schema: every tenant gets a tenants row, its Master role and scope, and
// one store.migrate event at the end of its chain, which still verifies.
// A read-only open reads the old schema only when told it may.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	tenants := []string{"", "acme", "globex"}
	atVersion(1, func() {
		for i, tenant := range tenants {
			s, err := connect(ctx, url, Options{Tenant: tenant, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			for j := range i + 2 {
				if _, err := s.change(ctx, "append", func(tx *Tx) (*gatehouse.NewEvent, error) { return event(tenant, 0, j), nil }); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
		}
	})
	_, err := Open(ctx, url, Options{Tenant: "acme", ReadOnly: true})
	wantCode(t, err, gatehouse.EUNAVAILABLE, "has schema version 1, older than this gatehouse's")
	old, err := Open(ctx, url, Options{Tenant: "acme", ReadOnly: true, OlderSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := old.VerifyChain(ctx, gatehouse.VerifyOptions{}); err != nil || !res.OK() || res.Valid != 3 {
		t.Errorf("the old chain read-only: %+v, %v", res, err)
	}
	if info, err := old.Info(ctx); err != nil || info.SchemaVersion != 1 {
		t.Errorf("Info of the old database: %+v, %v", info, err)
	}
	// A schema from before the tree has no checkpoints: an empty list, not
	// a missing table taken for tampering.
	if err := old.View(ctx, func(v gatehouse.View) error {
		cps, err := v.Checkpoints()
		if err != nil || len(cps) != 0 {
			t.Errorf("checkpoints of a schema-1 database = %v, %v; want none", cps, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	old.Close()

	// The migration runs the hook once per tenant, with that tenant's
	// transaction, and records what it returns in the tenant's event.
	var hooked []string
	hook := func(tx gatehouse.Tx, from int) (map[string]any, error) {
		tenant := tx.(*Tx).tenant
		hooked = append(hooked, tenant)
		n := 0
		err := tx.UserStates(func(*gatehouse.UserStateRow) error { n++; return nil })
		return map[string]any{"probe": tenant, "users": n}, err
	}
	s := open(t, url, Options{Tenant: "acme", Migrate: hook})
	open(t, url, Options{Tenant: "globex", Migrate: hook}) // a second open migrates nothing
	check(t, "tenants the migration hook ran for", hooked, tenants)
	for i, tenant := range tenants {
		st := open(t, url, Options{Tenant: tenant})
		var last gatehouse.Event
		n := 0
		if err := st.ListEvents(ctx, gatehouse.EventFilter{}, func(ev *gatehouse.Event) error {
			n++
			last = *ev
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var d struct {
			From  int    `json:"from_version"`
			To    int    `json:"to_version"`
			Probe string `json:"probe"`
		}
		if err := json.Unmarshal(last.Details, &d); err != nil {
			t.Fatal(err)
		}
		if n != i+3 || last.Seq != int64(i+3) || last.Action != "store.migrate" || last.Actor != gatehouse.ActorSystem ||
			d.From != 1 || d.To != SchemaVersion() || d.Probe != tenant {
			t.Errorf("tenant %q: %d events, the last %+v", tenant, n, last)
		}
		if res, err := st.VerifyChain(ctx, gatehouse.VerifyOptions{}); err != nil || !res.OK() || res.Valid != int64(i+3) {
			t.Errorf("tenant %q after the migration: %+v, %v", tenant, res, err)
		}
		view(t, st, func(v gatehouse.View) error {
			rs, err := v.Records("scope")
			check(t, "scopes of "+tenant, rs, []gatehouse.Record{{Name: "Master", Builtin: true}})
			return err
		})
	}
	infos := must[[]gatehouse.StoreInfo](t)(s.Tenants(ctx))
	var ids []string
	for _, i := range infos {
		ids = append(ids, i.TenantID)
	}
	check(t, "tenants after the migration", ids, tenants)
}
