package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// change commits fn's rows with a test event, failing t on an error.
func change(t *testing.T, s *Store, fn func(tx gatehouse.Tx) error) {
	t.Helper()
	if _, err := s.Change(context.Background(), func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		return event(s.Tenant(), 0, 0), fn(tx)
	}); err != nil {
		t.Fatal(err)
	}
}

// view runs fn on a snapshot, failing t on an error.
func view(t *testing.T, s *Store, fn func(v gatehouse.View) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func localUser(name string) gatehouse.UserRow {
	return gatehouse.UserRow{Name: name, Kind: "local", Enabled: true, CreatedVia: "manual", CreatedBy: "op",
		NameSkeleton: gatehouse.NameSkeleton(name)}
}

func TestSettings(t *testing.T) {
	s := create(t, pgtest.New(t), "acme", Options{})
	change(t, s, func(tx gatehouse.Tx) error {
		if err := tx.SetSetting("sso.allow", "false"); err != nil {
			return err
		}
		return tx.SetSetting("sso.allow", "true") // an upsert
	})
	view(t, s, func(v gatehouse.View) error {
		val, ok, err := v.Setting("sso.allow")
		check(t, "Setting(sso.allow)", []any{val, ok, err}, []any{"true", true, nil})
		val, ok, err = v.Setting("sso.require")
		check(t, "Setting(sso.require)", []any{val, ok, err}, []any{"", false, nil})
		m, err := v.Settings("sso.allow", "mode", "sso.require")
		check(t, "Settings", m, map[string]string{"sso.allow": "true", "mode": "cloud"})
		return err
	})
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	now := clock()
	later := now.Add(time.Hour)
	s := create(t, pgtest.New(t), "acme", Options{})
	var ann, bob, sso, sup int64
	change(t, s, func(tx gatehouse.Tx) error {
		var err error
		r := localUser("Ann")
		r.MSPAdmin, r.PasswordHash, r.Email = true, "$argon2id$ann", "ann@example.com"
		if ann, err = tx.InsertUser(r); err != nil {
			return err
		}
		if bob, err = tx.InsertUser(localUser("bob")); err != nil {
			return err
		}
		sso, err = tx.InsertUser(gatehouse.UserRow{Name: "carol@example.com", Kind: "sso", Email: "carol@example.com", Enabled: true,
			CreatedVia: "auto", CreatedBy: "https://idp", SSOIssuer: "https://idp", SSOSubject: "sub-c", LastSignInBy: "sso",
			NameSkeleton: gatehouse.NameSkeleton("carol@example.com")})
		if err != nil {
			return err
		}
		sup, err = tx.InsertUser(gatehouse.UserRow{Name: "vendorsupport", Kind: "support", Enabled: true, CreatedVia: "support.request", CreatedBy: "Ann"})
		return err
	})
	check(t, "IDs", []int64{ann, bob, sso, sup}, []int64{1, 2, 3, 4})

	// Uniqueness: a name in another case, an email, an SSO identity, a
	// second support account. Each is ECONFLICT and the transaction goes
	// on: the row inserted after them commits.
	_, err := s.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		dupEmail := localUser("dave")
		dupEmail.Email = "ann@example.com"
		dupSSO := gatehouse.UserRow{Name: "x@example.com", Kind: "sso", Enabled: true, CreatedVia: "auto", CreatedBy: "i", SSOIssuer: "https://idp", SSOSubject: "sub-c"}
		dupSupport := gatehouse.UserRow{Name: "other", Kind: "support", Enabled: true, CreatedVia: "x", CreatedBy: "x"}
		for _, r := range []gatehouse.UserRow{localUser("ANN"), localUser("bOb"), dupEmail, dupSSO, dupSupport} {
			if _, err := tx.InsertUser(r); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
				t.Errorf("InsertUser(%s) = %v, want ECONFLICT", r.Name, err)
			}
		}
		if err := tx.RenameUser(bob, "ann", "ann"); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Errorf("RenameUser to ann = %v, want ECONFLICT", err)
		}
		id, err := tx.InsertUser(localUser("erin"))
		if id != 5 {
			t.Errorf("erin's ID = %d, want 5", id)
		}
		return event("acme", 0, 0), err
	})
	if err != nil {
		t.Fatalf("the change after the conflicts: %v", err)
	}

	change(t, s, func(tx gatehouse.Tx) error {
		if err := tx.SetPasswordHash(bob, "$argon2id$bob"); err != nil {
			return err
		}
		if err := tx.SetEnabled(5, false); err != nil {
			return err
		}
		if err := tx.RenameUser(bob, "Robert", gatehouse.NameSkeleton("Robert")); err != nil {
			return err
		}
		if err := tx.RecordSignIn(bob, "local"); err != nil {
			return err
		}
		changed, err := tx.SetExempt(ann, true, "Ann")
		if err != nil || !changed {
			t.Errorf("SetExempt(ann, true) = %v, %v; want true", changed, err)
		}
		if changed, err = tx.SetExempt(ann, true, "Ann"); err != nil || changed {
			t.Errorf("SetExempt again = %v, %v; want false", changed, err)
		}
		if changed, err = tx.SetExempt(bob, false, ""); err != nil || changed {
			t.Errorf("SetExempt(bob, false) = %v, %v; want false", changed, err)
		}
		if _, err := tx.Grant("role", ann, 1); err != nil {
			return err
		}
		_, err = tx.Grant("scope", sup, 1)
		return err
	})

	view(t, s, func(v gatehouse.View) error {
		u, found, err := v.UserByName("aNN")
		if err != nil || !found {
			t.Fatalf("UserByName(aNN) = %v, %v", found, err)
		}
		check(t, "ann", u, gatehouse.User{ID: ann, Name: "Ann", Kind: "local", Email: "ann@example.com", Enabled: true, MSPAdmin: true,
			CreatedAt: now, CreatedVia: "manual", CreatedBy: "op", SSOExempt: true,
			Roles: []string{"Master"}, Scopes: []string{}, Groups: []string{}, Orgs: []string{}})
		u, _, _ = v.UserByID(bob)
		check(t, "bob", u, gatehouse.User{ID: bob, Name: "Robert", Kind: "local", Enabled: true, Pending: true, CreatedAt: now,
			CreatedVia: "manual", CreatedBy: "op", LastSignInAt: &now, Roles: []string{}, Scopes: []string{}, Groups: []string{}, Orgs: []string{}})
		u, found, _ = v.UserByEmail("carol@example.com")
		check(t, "carol", []any{found, u.ID, u.SSOIssuer, u.SSOSubject, u.Pending, *u.LastSignInAt}, []any{true, sso, "https://idp", "sub-c", true, now})
		u, _, _ = v.UserByID(sup)
		check(t, "support", []any{u.Kind, u.Pending, u.Roles, u.Scopes}, []any{"support", false, []string{}, []string{"Master"}})
		if _, found, err := v.UserByName("bob"); found || err != nil {
			t.Errorf("UserByName(bob) after the rename = %v, %v", found, err)
		}
		if _, found, err := v.UserByID(99); found || err != nil {
			t.Errorf("UserByID(99) = %v, %v", found, err)
		}
		a, found, err := v.SSOAccount("https://idp", "sub-c")
		check(t, "SSOAccount", []any{a, found, err}, []any{gatehouse.AccountRef{ID: sso, Name: "carol@example.com", Enabled: true}, true, nil})
		_, found, _ = v.SSOAccount("https://idp", "sub-x")
		check(t, "SSOAccount(sub-x) found", found, false)

		var names []string
		list := func(f gatehouse.UserFilter) []string {
			names = nil
			if err := v.ListUsers(f, func(u *gatehouse.User) error { names = append(names, u.Name); return nil }); err != nil {
				t.Fatal(err)
			}
			return names
		}
		check(t, "ListUsers", list(gatehouse.UserFilter{}), []string{"Ann", "Robert", "carol@example.com", "vendorsupport", "erin"})
		check(t, "ListUsers pending", list(gatehouse.UserFilter{PendingOnly: true}), []string{"Robert", "carol@example.com"})
		check(t, "ListUsers since later", list(gatehouse.UserFilter{CreatedSince: later}), []string(nil))
		check(t, "ListUsers until later", len(list(gatehouse.UserFilter{CreatedUntil: later})), 5)
		check(t, "ListUsers until now", list(gatehouse.UserFilter{CreatedUntil: now}), []string(nil))

		c, err := v.UserCounts()
		check(t, "UserCounts", []any{c, err}, []any{gatehouse.UserCounts{Total: 4, Pending: 2, MSPAdmins: 1, OldestPending: now}, nil})
		check(t, "EnabledAdmins", must[int](t)(v.EnabledAdmins()), 1)
		stored, found, err := v.EnabledAdmin("ANN")
		check(t, "EnabledAdmin(ANN)", []any{stored, found, err}, []any{"Ann", true, nil})
		_, found, _ = v.EnabledAdmin("Robert")
		check(t, "EnabledAdmin(Robert)", found, false)
		check(t, "EmailTaken(ann@)", must[bool](t)(v.EmailTaken("ann@example.com")), true)
		check(t, "EmailTaken(ANN@)", must[bool](t)(v.EmailTaken("ANN@example.com")), false)
		check(t, "EmailOrNameTaken(robert)", must[bool](t)(v.EmailOrNameTaken("robert")), true)
		check(t, "EmailOrNameTaken(carol@)", must[bool](t)(v.EmailOrNameTaken("carol@example.com")), true)
		check(t, "EmailOrNameTaken(zed)", must[bool](t)(v.EmailOrNameTaken("zed")), false)
		check(t, "SkeletonTaken(Robert)", must[bool](t)(v.SkeletonTaken(gatehouse.NameSkeleton("Robert"))), true)
		check(t, "SkeletonTaken(bob)", must[bool](t)(v.SkeletonTaken(gatehouse.NameSkeleton("bob"))), false)
		check(t, "PasswordHash(ann)", must[string](t)(v.PasswordHash(ann)), "$argon2id$ann")
		check(t, "PasswordHash(carol)", must[string](t)(v.PasswordHash(sso)), "")
		check(t, "SeatHolders", must[int](t)(v.SeatHolders()), 1)
		ex, err := v.ExemptUsers()
		check(t, "ExemptUsers", []any{ex, err}, []any{[]gatehouse.ExemptUser{{ID: ann, Name: "Ann", Kind: "local", Enabled: true, MSPAdmin: true, HasPassword: true}}, nil})
		return nil
	})

	// The support account holds no seat; a disabled account neither.
	change(t, s, func(tx gatehouse.Tx) error {
		if _, err := tx.Grant("role", sup, 1); err != nil {
			return err
		}
		if _, err := tx.Grant("role", 5, 1); err != nil {
			return err
		}
		return tx.SetPasswordHash(ann, "")
	})
	view(t, s, func(v gatehouse.View) error {
		check(t, "SeatHolders", must[int](t)(v.SeatHolders()), 1)
		check(t, "PasswordHash(ann) removed", must[string](t)(v.PasswordHash(ann)), "")
		return nil
	})
}

func TestRecords(t *testing.T) {
	s := create(t, pgtest.New(t), "acme", Options{})
	var u int64
	change(t, s, func(tx gatehouse.Tx) error {
		var err error
		if u, err = tx.InsertUser(localUser("ann")); err != nil {
			return err
		}
		for _, r := range [][2]string{{"role", "helpdesk"}, {"role", "Auditor"}, {"group", "b-team"}, {"group", "A-team"}, {"org", "Acme"}, {"scope", "eu"}} {
			if err := tx.AddRecord(r[0], r[1]); err != nil {
				return err
			}
		}
		for _, r := range [][2]string{{"role", "MASTER"}, {"group", "a-TEAM"}, {"org", "acme"}, {"scope", "EU"}} {
			if err := tx.AddRecord(r[0], r[1]); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
				t.Errorf("AddRecord(%s, %s) = %v, want ECONFLICT", r[0], r[1], err)
			}
		}
		return nil
	})
	view(t, s, func(v gatehouse.View) error {
		id, name, found, err := v.Record("role", "AUDITOR")
		check(t, "Record(role, AUDITOR)", []any{id, name, found, err}, []any{int64(3), "Auditor", true, nil})
		id, name, found, err = v.Record("scope", "master")
		check(t, "Record(scope, master)", []any{id, name, found, err}, []any{int64(1), "Master", true, nil})
		_, _, found, err = v.Record("org", "globex")
		check(t, "Record(org, globex)", []any{found, err}, []any{false, nil})
		if _, _, _, err := v.Record("table", "x"); gatehouse.ErrorCode(err) != gatehouse.EINTERNAL {
			t.Errorf("Record of an unknown kind = %v", err)
		}
		return nil
	})
	grant := func(kind string, id int64, want bool) {
		t.Helper()
		change(t, s, func(tx gatehouse.Tx) error {
			changed, err := tx.Grant(kind, u, id)
			check(t, "Grant "+kind, changed, want)
			return err
		})
	}
	pending := func(want bool, roles, groups []string) {
		t.Helper()
		view(t, s, func(v gatehouse.View) error {
			got, _, err := v.UserByID(u)
			check(t, "pending", got.Pending, want)
			check(t, "roles", got.Roles, roles)
			check(t, "groups", got.Groups, groups)
			return err
		})
	}
	pending(true, []string{}, []string{})
	grant("group", 2, true)
	grant("group", 2, false)
	pending(false, []string{}, []string{"A-team"})
	grant("role", 3, true)
	grant("role", 2, true)
	grant("scope", 2, true) // a scope alone does not end pending
	pending(false, []string{"helpdesk", "Auditor"}, []string{"A-team"})
	change(t, s, func(tx gatehouse.Tx) error {
		for _, r := range []struct {
			kind string
			id   int64
			want bool
		}{{"group", 2, true}, {"group", 2, false}, {"role", 3, true}, {"role", 2, true}} {
			changed, err := tx.Revoke(r.kind, u, r.id)
			check(t, "Revoke "+r.kind, changed, r.want)
			if err != nil {
				return err
			}
		}
		return nil
	})
	pending(true, []string{}, []string{})
	grant("org", 1, true)
	pending(false, []string{}, []string{})
	view(t, s, func(v gatehouse.View) error {
		rs, err := v.Records("group")
		check(t, "Records(group)", []any{rs, err}, []any{[]gatehouse.Record{{Name: "A-team"}, {Name: "b-team"}}, nil})
		rs, err = v.Records("role")
		check(t, "Records(role)", []any{rs, err}, []any{[]gatehouse.Record{{Name: "Auditor"}, {Name: "helpdesk"}, {Name: "Master", Builtin: true}}, nil})
		rs, err = v.Records("scope")
		check(t, "Records(scope)", []any{rs, err}, []any{[]gatehouse.Record{{Name: "eu", Members: 1}, {Name: "Master", Builtin: true}}, nil})
		rs, err = v.Records("org")
		check(t, "Records(org)", []any{rs, err}, []any{[]gatehouse.Record{{Name: "Acme", Members: 1}}, nil})
		return nil
	})
}

func TestFailures(t *testing.T) {
	s := create(t, pgtest.New(t), "acme", Options{})
	now := clock()
	var u, sup int64
	change(t, s, func(tx gatehouse.Tx) error {
		var err error
		if u, err = tx.InsertUser(localUser("ann")); err != nil {
			return err
		}
		sup, err = tx.InsertUser(gatehouse.UserRow{Name: "vendorsupport", Kind: "support", Enabled: true, CreatedVia: "x", CreatedBy: "x"})
		if err != nil {
			return err
		}
		if err := tx.PutSupportCredential(sup, gatehouse.CredentialRow{PasswordHash: "h", RequestID: "req-2", IssuedAt: now, ExpiresAt: now.Add(time.Hour), EnvelopeSHA256: "e"}); err != nil {
			return err
		}
		for _, f := range []struct {
			user int64
			cred string
			r    gatehouse.FailureRecord
		}{
			{u, "", gatehouse.FailureRecord{Failures: 1, WindowStart: now}},
			{u, "", gatehouse.FailureRecord{Failures: 5, WindowStart: now, LockedUntil: now.Add(-time.Minute)}}, // replaces
			{sup, "req-1", gatehouse.FailureRecord{Failures: 2, WindowStart: now}},
			{sup, "req-2", gatehouse.FailureRecord{Failures: 3, WindowStart: now, LockedUntil: now.Add(time.Minute)}},
			{sup, "", gatehouse.FailureRecord{Failures: 1, WindowStart: now}},
		} {
			if err := tx.PutFailureRecord(f.user, f.cred, f.r); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(v gatehouse.View) error {
		check(t, "FailureRecord(ann)", must[gatehouse.FailureRecord](t)(v.FailureRecord(u, "")),
			gatehouse.FailureRecord{Failures: 5, WindowStart: now, LockedUntil: now.Add(-time.Minute)})
		check(t, "FailureRecord(ann, none)", must[gatehouse.FailureRecord](t)(v.FailureRecord(u, "req-2")), gatehouse.FailureRecord{})
		// LockedUntil is the stored lock of the current credential, ended or not.
		a, _, _ := v.UserByID(u)
		check(t, "ann's LockedUntil", *a.LockedUntil, now.Add(-time.Minute))
		b, _, _ := v.UserByID(sup)
		check(t, "support's LockedUntil", *b.LockedUntil, now.Add(time.Minute))
		return nil
	})
	change(t, s, func(tx gatehouse.Tx) error {
		keep := "req-2"
		n, err := tx.DeleteFailures(sup, &keep)
		check(t, "DeleteFailures(keep req-2)", n, int64(2))
		return err
	})
	change(t, s, func(tx gatehouse.Tx) error {
		n, err := tx.DeleteFailures(u, nil)
		check(t, "DeleteFailures(ann)", n, int64(1))
		return err
	})
	view(t, s, func(v gatehouse.View) error {
		check(t, "req-1 gone", must[gatehouse.FailureRecord](t)(v.FailureRecord(sup, "req-1")), gatehouse.FailureRecord{})
		check(t, "req-2 kept", must[gatehouse.FailureRecord](t)(v.FailureRecord(sup, "req-2")).Failures, 3)
		a, _, _ := v.UserByID(u)
		check(t, "ann unlocked", a.LockedUntil, (*time.Time)(nil))
		return nil
	})
}

func TestAttempts(t *testing.T) {
	s := create(t, pgtest.New(t), "acme", Options{})
	now := clock()
	change(t, s, func(tx gatehouse.Tx) error {
		u, err := tx.InsertUser(localUser("ann"))
		if err != nil {
			return err
		}
		for i, a := range []gatehouse.SignInAttempt{
			{Identity: gatehouse.Identity{Issuer: "i", Subject: "s1", Email: "a@x", EmailVerified: true}, Decision: "refused", Reason: "auto_create_off"},
			{Identity: gatehouse.Identity{Issuer: "i", Subject: "s2", Email: ""}, Decision: "refused", Reason: "email_unverified"},
			{Identity: gatehouse.Identity{Issuer: "i", Subject: "s3", Email: "a@x", InIdP: true, AuthComplete: true}, Decision: "created", Reason: "created"},
			{Identity: gatehouse.Identity{Issuer: "i", Subject: "s4", Email: "b@x", AuthExpired: true}, Decision: "refused", Reason: "auth_expired"},
		} {
			a.Time = now.Add(time.Duration(i) * time.Second)
			uid := int64(0)
			if a.Decision == "created" {
				uid = u
			}
			if err := tx.InsertAttempt(a, uid); err != nil {
				return err
			}
		}
		return nil
	})
	subjects := func(as []gatehouse.SignInAttempt, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Subject)
		}
		return out
	}
	view(t, s, func(v gatehouse.View) error {
		check(t, "Attempts(s2, a@x)", subjects(v.Attempts("s2", "a@x", 10)), []string{"s3", "s2", "s1"})
		check(t, "Attempts(s2, a@x, 2)", subjects(v.Attempts("s2", "a@x", 2)), []string{"s3", "s2"})
		check(t, "Attempts(zz, '')", subjects(v.Attempts("zz", "", 10)), []string(nil))
		check(t, "Attempts(s4, '')", subjects(v.Attempts("s4", "", 10)), []string{"s4"})
		as, err := v.Attempts("s3", "", 1)
		check(t, "attempt s3", []any{as, err}, []any{[]gatehouse.SignInAttempt{{Time: now.Add(2 * time.Second),
			Identity: gatehouse.Identity{Issuer: "i", Subject: "s3", Email: "a@x", InIdP: true, AuthComplete: true}, Decision: "created", Reason: "created"}}, nil})
		return nil
	})
}

func TestSupport(t *testing.T) {
	ctx := context.Background()
	s := create(t, pgtest.New(t), "acme", Options{})
	now := clock()
	view(t, s, func(v gatehouse.View) error {
		_, found, err := v.SupportAccount()
		check(t, "SupportAccount of a new tenant", []any{found, err}, []any{false, nil})
		return nil
	})
	var sup int64
	cred := gatehouse.CredentialRow{PasswordHash: "$argon2id$x", RequestID: "req-1", IssuedAt: now, ExpiresAt: now.Add(72 * time.Hour),
		ResetAfterUse: 24 * time.Hour, EnvelopeSHA256: "aa11", EnvelopePath: "/tmp/env.age"}
	if _, err := s.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		var err error
		sup, err = tx.InsertUser(gatehouse.UserRow{Name: "vendorsupport", Kind: "support", Enabled: true, CreatedVia: "support.request", CreatedBy: "op"})
		if err != nil {
			return nil, err
		}
		if err := tx.PutSupportCredential(sup, cred); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: "op", Action: "support.request", Target: "vendorsupport", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"envelope_sha256": "aa11", "request_id": "req-1"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	view(t, s, func(v gatehouse.View) error {
		a, found, err := v.SupportAccount()
		c := cred
		check(t, "SupportAccount", []any{a, found, err}, []any{gatehouse.SupportAccountRow{ID: sup, Name: "vendorsupport", Enabled: true, Credential: &c}, true, nil})
		check(t, "EnvelopeIssued(aa11)", must[bool](t)(v.EnvelopeIssued("aa11")), true)
		check(t, "EnvelopeIssued(aa1)", must[bool](t)(v.EnvelopeIssued("aa1")), false)
		ev, found, err := v.LatestEvent("support.request", "support.rotate")
		check(t, "LatestEvent", []any{ev, found, err}, []any{gatehouse.EventRef{Seq: 2, Actor: "op", Action: "support.request"}, true, nil})
		_, found, _ = v.LatestEvent("support.revoke")
		check(t, "LatestEvent(support.revoke) found", found, false)
		return nil
	})
	// A denied event is not the latest successful one.
	if _, err := s.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		return &gatehouse.NewEvent{Actor: "eve", Action: "support.request", Target: "support", Outcome: gatehouse.OutcomeDenied,
			Details: map[string]any{"envelope_sha256": "bb22"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Hour)
	change(t, s, func(tx gatehouse.Tx) error {
		if err := tx.SetFirstLogon(sup, later); err != nil {
			return err
		}
		if err := tx.RecordSignIn(sup, "tech-7"); err != nil {
			return err
		}
		// A request ID already used by another tenant's row would not
		// conflict; the same tenant's own upsert does not either.
		next := cred
		next.RequestID, next.EnvelopePath, next.ResetAfterUse = "req-2", "", 0
		return tx.PutSupportCredential(sup, next)
	})
	view(t, s, func(v gatehouse.View) error {
		a, _, _ := v.SupportAccount()
		check(t, "replaced credential", []any{a.Credential.RequestID, a.Credential.EnvelopePath, a.Credential.ResetAfterUse, a.Credential.FirstLogonAt.IsZero(), a.LastSignInAt, a.LastSignInBy},
			[]any{"req-2", "", time.Duration(0), true, now, "tech-7"})
		ev, _, _ := v.LatestEvent("support.request")
		check(t, "LatestEvent after a denial", ev.Seq, int64(2))
		check(t, "EnvelopeIssued(bb22) (denied)", must[bool](t)(v.EnvelopeIssued("bb22")), false)
		return nil
	})
	change(t, s, func(tx gatehouse.Tx) error {
		ok, err := tx.DeleteSupportCredential(sup)
		check(t, "DeleteSupportCredential", ok, true)
		if err != nil {
			return err
		}
		ok, err = tx.DeleteSupportCredential(sup)
		check(t, "DeleteSupportCredential again", ok, false)
		return err
	})
	view(t, s, func(v gatehouse.View) error {
		a, found, err := v.SupportAccount()
		check(t, "SupportAccount after delete", []any{a.Credential, found, err}, []any{(*gatehouse.CredentialRow)(nil), true, nil})
		return nil
	})
}

func TestRecipients(t *testing.T) {
	s := create(t, pgtest.New(t), "acme", Options{})
	now := clock()
	r1 := gatehouse.Recipient{Kind: "x25519", Recipient: "age1zzz", Fingerprint: "SHA256:b", Comment: "ops", AddedAt: now, AddedBy: "op"}
	r2 := gatehouse.Recipient{Kind: "ssh-ed25519", Recipient: "ssh-ed25519 AAAA", Fingerprint: "SHA256:a", AddedAt: now.Add(time.Second), AddedBy: "op"}
	change(t, s, func(tx gatehouse.Tx) error {
		for _, c := range []struct {
			r    gatehouse.Recipient
			want bool
		}{{r1, true}, {r2, true}, {r1, false}, {gatehouse.Recipient{Kind: "x25519", Recipient: "age1zzz", Fingerprint: "SHA256:c", AddedAt: now}, false}} {
			ok, err := tx.AddRecipient(c.r)
			check(t, "AddRecipient "+c.r.Fingerprint, ok, c.want)
			if err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(v gatehouse.View) error {
		rs, err := v.Recipients()
		check(t, "Recipients", []any{rs, err}, []any{[]gatehouse.Recipient{r1, r2}, nil})
		return nil
	})
	change(t, s, func(tx gatehouse.Tx) error {
		ok, err := tx.RemoveRecipient("SHA256:b")
		check(t, "RemoveRecipient", ok, true)
		if err != nil {
			return err
		}
		ok, err = tx.RemoveRecipient("SHA256:b")
		check(t, "RemoveRecipient again", ok, false)
		return err
	})
	view(t, s, func(v gatehouse.View) error {
		rs, err := v.Recipients()
		check(t, "Recipients after remove", []any{rs, err}, []any{[]gatehouse.Recipient{r2}, nil})
		return nil
	})
}

// What one tenant writes is invisible to another's View, another's Tx
// cannot change it, and each has its own chain and its own IDs.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	a, b := create(t, url, "acme", Options{}), create(t, url, "globex", Options{})
	now := clock()
	var ann int64
	change(t, a, func(tx gatehouse.Tx) error {
		var err error
		r := localUser("ann")
		r.Email, r.MSPAdmin, r.PasswordHash, r.SSOIssuer, r.SSOSubject = "ann@example.com", true, "h", "i", "s"
		if ann, err = tx.InsertUser(r); err != nil {
			return err
		}
		if err := tx.SetSetting("sso.allow", "true"); err != nil {
			return err
		}
		if _, err := tx.AddRecipient(gatehouse.Recipient{Kind: "x25519", Recipient: "age1a", Fingerprint: "SHA256:a", AddedAt: now, AddedBy: "op"}); err != nil {
			return err
		}
		if err := tx.AddRecord("group", "ops"); err != nil {
			return err
		}
		if _, err := tx.Grant("group", ann, 1); err != nil {
			return err
		}
		if _, err := tx.SetExempt(ann, true, "op"); err != nil {
			return err
		}
		if err := tx.PutFailureRecord(ann, "", gatehouse.FailureRecord{Failures: 2, WindowStart: now}); err != nil {
			return err
		}
		if err := tx.InsertAttempt(gatehouse.SignInAttempt{Identity: gatehouse.Identity{Issuer: "i", Subject: "s", Email: "ann@example.com"}, Decision: "refused", Reason: "x"}, 0); err != nil {
			return err
		}
		sup, err := tx.InsertUser(gatehouse.UserRow{Name: "vendorsupport", Kind: "support", Enabled: true, CreatedVia: "x", CreatedBy: "x"})
		if err != nil {
			return err
		}
		return tx.PutSupportCredential(sup, gatehouse.CredentialRow{PasswordHash: "h", RequestID: "r", IssuedAt: now, ExpiresAt: now, EnvelopeSHA256: "e"})
	})
	aEvents := must[gatehouse.ChainHead](t)(a.Head(ctx)).Seq

	invisible := func(v gatehouse.View) {
		t.Helper()
		for what, found := range map[string]func() (bool, error){
			"UserByID":         func() (bool, error) { _, f, err := v.UserByID(ann); return f, err },
			"UserByName":       func() (bool, error) { _, f, err := v.UserByName("ann"); return f, err },
			"UserByEmail":      func() (bool, error) { _, f, err := v.UserByEmail("ann@example.com"); return f, err },
			"SSOAccount":       func() (bool, error) { _, f, err := v.SSOAccount("i", "s"); return f, err },
			"Setting":          func() (bool, error) { _, f, err := v.Setting("sso.allow"); return f, err },
			"Record":           func() (bool, error) { _, _, f, err := v.Record("group", "ops"); return f, err },
			"EnabledAdmin":     func() (bool, error) { _, f, err := v.EnabledAdmin("ann"); return f, err },
			"EmailOrNameTaken": func() (bool, error) { return v.EmailOrNameTaken("ann") },
			"SkeletonTaken":    func() (bool, error) { return v.SkeletonTaken(gatehouse.NameSkeleton("ann")) },
			"SupportAccount":   func() (bool, error) { _, f, err := v.SupportAccount(); return f, err },
			"FailureRecord":    func() (bool, error) { r, err := v.FailureRecord(ann, ""); return r.Failures > 0, err },
			"Attempts":         func() (bool, error) { as, err := v.Attempts("s", "ann@example.com", 10); return len(as) > 0, err },
			"Recipients":       func() (bool, error) { rs, err := v.Recipients(); return len(rs) > 0, err },
			"ExemptUsers":      func() (bool, error) { es, err := v.ExemptUsers(); return len(es) > 0, err },
			"PasswordHash":     func() (bool, error) { h, err := v.PasswordHash(ann); return h != "", err },
			"EnabledAdmins":    func() (bool, error) { n, err := v.EnabledAdmins(); return n > 0, err },
			"UserCounts":       func() (bool, error) { c, err := v.UserCounts(); return c.Total > 0, err },
			"Records":          func() (bool, error) { rs, err := v.Records("group"); return len(rs) > 0, err },
			"ListUsers": func() (bool, error) {
				n := 0
				err := v.ListUsers(gatehouse.UserFilter{}, func(*gatehouse.User) error { n++; return nil })
				return n > 0, err
			},
			"LatestEvent": func() (bool, error) { _, f, err := v.LatestEvent("test.append"); return f, err },
		} {
			if f, err := found(); f || err != nil {
				t.Errorf("globex's %s sees acme's rows: %v, %v", what, f, err)
			}
		}
	}
	view(t, b, func(v gatehouse.View) error { invisible(v); return nil })

	// globex's Tx cannot change acme's rows: every write by ID or key is
	// a no-op on acme, and globex's own inserts start at ID 1.
	change(t, b, func(tx gatehouse.Tx) error {
		invisible(tx)
		for _, err := range []error{
			tx.SetPasswordHash(ann, "x"), tx.SetEnabled(ann, false), tx.RenameUser(ann, "mallory", "mallory"),
			tx.RecordSignIn(ann, "x"), tx.SetFirstLogon(2, now.Add(time.Hour)),
		} {
			if err != nil {
				return err
			}
		}
		for what, f := range map[string]func() (bool, error){
			"SetExempt":               func() (bool, error) { return tx.SetExempt(ann, false, "") },
			"Revoke":                  func() (bool, error) { return tx.Revoke("group", ann, 1) },
			"DeleteSupportCredential": func() (bool, error) { return tx.DeleteSupportCredential(2) },
			"RemoveRecipient":         func() (bool, error) { return tx.RemoveRecipient("SHA256:a") },
			"DeleteFailures":          func() (bool, error) { n, err := tx.DeleteFailures(ann, nil); return n > 0, err },
		} {
			if changed, err := f(); changed || err != nil {
				t.Errorf("globex's %s changed acme's rows: %v, %v", what, changed, err)
			}
		}
		// The same names, keys and identity are free in globex.
		r := localUser("ann")
		r.Email, r.SSOIssuer, r.SSOSubject = "ann@example.com", "i", "s"
		id, err := tx.InsertUser(r)
		check(t, "globex's first user ID", id, int64(1))
		if err != nil {
			return err
		}
		if _, err := tx.AddRecipient(gatehouse.Recipient{Kind: "x25519", Recipient: "age1a", Fingerprint: "SHA256:a", AddedAt: now, AddedBy: "op"}); err != nil {
			return err
		}
		if err := tx.AddRecord("group", "ops"); err != nil {
			return err
		}
		sup, err := tx.InsertUser(gatehouse.UserRow{Name: "vendorsupport", Kind: "support", Enabled: true, CreatedVia: "x", CreatedBy: "x"})
		if err != nil {
			return err
		}
		return tx.PutSupportCredential(sup, gatehouse.CredentialRow{PasswordHash: "g", RequestID: "r", IssuedAt: now, ExpiresAt: now, EnvelopeSHA256: "e"})
	})

	// acme is as it was.
	view(t, a, func(v gatehouse.View) error {
		u, _, err := v.UserByID(ann)
		check(t, "acme's ann", []any{u.Name, u.Enabled, u.SSOExempt, u.Groups, u.LastSignInAt, must[string](t)(v.PasswordHash(ann))},
			[]any{"ann", true, true, []string{"ops"}, (*time.Time)(nil), "h"})
		sa, _, _ := v.SupportAccount()
		check(t, "acme's credential", []any{sa.Credential.PasswordHash, sa.Credential.FirstLogonAt.IsZero()}, []any{"h", true})
		check(t, "acme's recipients", len(must[[]gatehouse.Recipient](t)(v.Recipients())), 1)
		check(t, "acme's failures", must[gatehouse.FailureRecord](t)(v.FailureRecord(ann, "")).Failures, 2)
		return err
	})
	// Separate chains.
	check(t, "acme's head", must[gatehouse.ChainHead](t)(a.Head(ctx)).Seq, aEvents)
	check(t, "globex's head", must[gatehouse.ChainHead](t)(b.Head(ctx)).Seq, int64(2))
	for _, s := range []*Store{a, b} {
		var actions []string
		if err := s.ListEvents(ctx, gatehouse.EventFilter{}, func(ev *gatehouse.Event) error {
			var d struct{ Tenant string }
			if ev.Action == "test.append" {
				if err := json.Unmarshal(ev.Details, &d); err != nil || d.Tenant != s.Tenant() {
					t.Errorf("%s's chain holds %s's event", s.Tenant(), d.Tenant)
				}
			}
			actions = append(actions, ev.Action)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if res, err := s.VerifyChain(ctx, gatehouse.VerifyOptions{}); err != nil || !res.OK() || res.Valid != int64(len(actions)) {
			t.Errorf("%s: verify %+v, %v", s.Tenant(), res, err)
		}
	}
}

// Create run by 4 goroutines for one tenant: one creates it, the others
// find it, none fails, and the tenant has one store.init and one Master.
func TestCreateConcurrent(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	results := make(chan error, 4)
	created := make(chan bool, 4)
	for range 4 {
		go func() {
			s, c, err := Create(ctx, url, Options{Tenant: "acme", Now: clock}, initTenant("acme"))
			if err == nil {
				s.Close()
			}
			created <- c
			results <- err
		}()
	}
	n := 0
	for range 4 {
		if err := <-results; err != nil {
			t.Errorf("Create: %v", err)
		}
		if <-created {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Creates created the tenant, want 1", n)
	}
	s := open(t, url, Options{Tenant: "acme"})
	check(t, "head", must[gatehouse.ChainHead](t)(s.Head(ctx)).Seq, int64(1))
	view(t, s, func(v gatehouse.View) error {
		rs, err := v.Records("role")
		check(t, "roles", rs, []gatehouse.Record{{Name: "Master", Builtin: true}})
		return err
	})
	info, err := s.Info(ctx)
	check(t, "Info", []any{info, err}, []any{gatehouse.StoreInfo{Path: s.Location(), SchemaVersion: SchemaVersion(), Mode: gatehouse.ModeCloud, TenantID: "acme", CreatedAt: clock()}, nil})

	// An init that fails creates nothing.
	_, _, err = Create(ctx, url, Options{Tenant: "globex"}, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		if err := tx.SetSetting("mode", "cloud"); err != nil {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "bad admin name")
	})
	wantCode(t, err, gatehouse.EINVALID, "bad admin name")
	_, err = Open(ctx, url, Options{Tenant: "globex"})
	wantCode(t, err, gatehouse.EUNAVAILABLE, `no tenant "globex"`)
}

// Open refuses a tenant that does not exist, with what to run; Location
// has no password; Tenants lists every tenant.
func TestOpenAndTenants(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	_, err := Open(ctx, url, Options{})
	wantCode(t, err, gatehouse.EUNAVAILABLE, "the database has no on-prem store; run 'gatehouse init'")
	_, err = Open(ctx, url, Options{Tenant: "acme"})
	wantCode(t, err, gatehouse.EUNAVAILABLE, `no tenant "acme" in `)
	wantCode(t, err, gatehouse.EUNAVAILABLE, "create it with 'gatehouse init --mode cloud --tenant acme'")
	_, err = Open(ctx, url, Options{Tenant: "acme", ReadOnly: true})
	wantCode(t, err, gatehouse.EUNAVAILABLE, `no tenant "acme"`)

	onprem := create(t, url, "", Options{})
	create(t, url, "zeta", Options{})
	create(t, url, "acme", Options{})
	got := must[[]gatehouse.StoreInfo](t)(onprem.Tenants(ctx))
	var ids, modes []string
	for _, i := range got {
		ids, modes = append(ids, i.TenantID), append(modes, string(i.Mode))
		if i.SchemaVersion != SchemaVersion() || !i.CreatedAt.Equal(clock()) || i.Path != onprem.Location() {
			t.Errorf("Tenants: %+v", i)
		}
	}
	check(t, "tenants", ids, []string{"", "acme", "zeta"})
	check(t, "modes", modes, []string{"onprem", "cloud", "cloud"})

	check(t, "RedactURL", RedactURL("postgres://app:s3cret@db.example:5432/gh?sslmode=verify-full&password=s3cret"),
		"postgres://app@db.example:5432/gh?sslmode=verify-full")
	if loc := RedactURL("postgres://app:s3cret@[::1"); strings.Contains(loc, "s3cret") {
		t.Errorf("RedactURL of a bad URL shows the password: %s", loc)
	}
}

// The support lock: busy with wait 0, taken after the holder unlocks
// within the wait, a wait that ends, a cancelled context, and tenants that
// do not share it.
func TestLock(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	a1 := create(t, url, "acme", Options{})
	a2 := open(t, url, Options{Tenant: "acme"})
	b := create(t, url, "globex", Options{})

	unlock, err := a1.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Lock(ctx, 0); err != gatehouse.ErrLockBusy {
		t.Errorf("Lock(0) while held = %v, want ErrLockBusy", err)
	}
	// Another Lock on the same Store is another session: busy too.
	if _, err := a1.Lock(ctx, 0); err != gatehouse.ErrLockBusy {
		t.Errorf("a second Lock(0) on the holder's Store = %v, want ErrLockBusy", err)
	}
	unlockB, err := b.Lock(ctx, 0)
	if err != nil {
		t.Errorf("globex's lock while acme's is held: %v", err)
	} else {
		unlockB()
	}
	start := time.Now()
	_, err = a2.Lock(ctx, 200*time.Millisecond)
	wantCode(t, err, gatehouse.EUNAVAILABLE, "held the support lock for longer than the wait")
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("the wait lasted %v, want about 200ms", d)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	start = time.Now()
	_, err = a2.Lock(cctx, time.Minute)
	cancel()
	wantCode(t, err, gatehouse.EUNAVAILABLE, "interrupted")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a cancelled wait lasted %v", d)
	}
	time.AfterFunc(150*time.Millisecond, unlock)
	start = time.Now()
	unlock2, err := a2.Lock(ctx, 5*time.Second)
	if err != nil {
		t.Fatalf("Lock after the holder unlocks: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("the lock was taken after %v, before the holder unlocked", d)
	}
	unlock2()
	unlock2() // harmless
	if u, err := a1.Lock(ctx, 0); err != nil {
		t.Errorf("Lock after unlock: %v", err)
	} else {
		u()
	}
}

// Export → CreateFrom into a second database: the same export, a chain
// that verifies with the same head, the IDs kept; a tenant that exists is
// refused and unchanged.
func TestCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := create(t, pgtest.New(t), "acme", Options{})
	dstURL := pgtest.New(t)
	create(t, dstURL, "", Options{}) // the target database has another tenant already
	now := clock()
	change(t, src, func(tx gatehouse.Tx) error { return exerciseAll(tx) })
	change(t, src, func(tx gatehouse.Tx) error {
		if _, err := tx.InsertUser(gatehouse.UserRow{Name: "carol@example.com", Kind: "sso", Email: "carol@example.com", Enabled: true,
			CreatedVia: "auto", CreatedBy: "i", SSOIssuer: "i", SSOSubject: "c", LastSignInBy: "sso", NameSkeleton: "carol"}); err != nil {
			return err
		}
		if err := tx.AddRecord("org", "Acme"); err != nil {
			return err
		}
		for _, kind := range []string{"org", "group", "scope"} {
			if _, err := tx.Grant(kind, 1, 1); err != nil {
				return err
			}
		}
		return tx.SetFirstLogon(2, now)
	})
	appendN(t, src, 3)
	putCheckpoint(t, src)
	export := func(s *Store) []string {
		t.Helper()
		var out []string
		if err := s.Export(ctx, func(table string, columns []string, row []any) error {
			if slices.Contains(columns, "tenant_id") {
				t.Errorf("%s exports tenant_id", table)
			}
			for i, v := range row {
				switch v.(type) {
				case nil, int64, string:
				case []byte:
					if columns[i] != "tree" {
						t.Errorf("%s.%s exports bytes", table, columns[i])
					}
				default:
					t.Errorf("%s.%s exports a %T", table, columns[i], v)
				}
			}
			out = append(out, table+" "+strings.Join(columns, ",")+" "+fmtRow(row))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := export(src)
	for _, table := range gatehouse.CopyTables {
		if !slices.ContainsFunc(want, func(l string) bool { return strings.HasPrefix(l, table+" ") }) {
			t.Errorf("the export has no %s row", table)
		}
	}
	if !slices.Contains(want, "users id,name,kind,email,enabled,msp_admin,created_at,created_via,created_by,password_hash,last_signin_at,last_signin_by,sso_issuer,sso_subject,ungranted,name_skeleton 1|ann|local|<nil>|1|0|2026-05-01T12:00:00.000000000Z|manual|op|h|<nil>|<nil>|<nil>|<nil>|0|<nil>") {
		t.Errorf("the export's users:\n%s", strings.Join(want, "\n"))
	}

	dst, err := CreateFrom(ctx, dstURL, Options{Tenant: "acme", Now: clock}, src)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	check(t, "export after the copy", export(dst), want)
	h1, h2 := must[gatehouse.ChainHead](t)(src.Head(ctx)), must[gatehouse.ChainHead](t)(dst.Head(ctx))
	check(t, "copied head", h2, h1)
	if res, err := dst.VerifyChain(ctx, gatehouse.VerifyOptions{Head: &h1}); err != nil || !res.OK() || res.Valid != h1.Seq {
		t.Errorf("the copied chain: %+v, %v", res, err)
	}
	// The copy goes on: its next event follows the copied head, its next
	// IDs follow the copied ones.
	var id int64
	change(t, dst, func(tx gatehouse.Tx) error {
		var err error
		id, err = tx.InsertUser(localUser("zed"))
		return err
	})
	check(t, "next ID in the copy", id, int64(4))
	if res, err := dst.VerifyChain(ctx, gatehouse.VerifyOptions{}); err != nil || !res.OK() || res.Valid != h1.Seq+1 {
		t.Errorf("the copy after a change: %+v, %v", res, err)
	}

	// Into an existing tenant: refused, nothing written.
	before := export(dst)
	_, err = CreateFrom(ctx, dstURL, Options{Tenant: "acme"}, src)
	wantCode(t, err, gatehouse.ECONFLICT, `already has a tenant "acme"; store copy needs an empty target`)
	check(t, "the target after a refused copy", export(dst), before)

	// A column the schema lacks: EINTERNAL naming it, nothing written.
	_, err = CreateFrom(ctx, dstURL, Options{Tenant: "initech"}, exporterFunc(func(ctx context.Context, fn func(string, []string, []any) error) error {
		if err := fn("settings", []string{"key", "value"}, []any{"mode", "cloud"}); err != nil {
			return err
		}
		return fn("users", []string{"id", "name", "colour"}, []any{int64(1), "x", "red"})
	}))
	wantCode(t, err, gatehouse.EINTERNAL, `no column "colour"`)
	_, err = Open(ctx, dstURL, Options{Tenant: "initech"})
	wantCode(t, err, gatehouse.EUNAVAILABLE, `no tenant "initech"`)
}

type exporterFunc func(ctx context.Context, fn func(table string, columns []string, row []any) error) error

func (f exporterFunc) Export(ctx context.Context, fn func(table string, columns []string, row []any) error) error {
	return f(ctx, fn)
}

func fmtRow(row []any) string {
	parts := make([]string, len(row))
	for i, v := range row {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "|")
}

// Names are unique and found without regard to ASCII case only, as
// SQLite's NOCASE compares them, whatever the database's locale: "Ärzte"
// and "ärzte" are two groups, and are sorted byte by byte after folding.
func TestNoCaseIsASCII(t *testing.T) {
	s := create(t, pgtest.New(t), "acme", Options{})
	change(t, s, func(tx gatehouse.Tx) error {
		for _, n := range []string{"ärzte", "Ärzte", "Zoo", "bar"} {
			if err := tx.AddRecord("group", n); err != nil {
				return err
			}
		}
		if err := tx.AddRecord("group", "BAR"); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Errorf("AddRecord(BAR) = %v, want ECONFLICT", err)
		}
		return nil
	})
	view(t, s, func(v gatehouse.View) error {
		_, name, found, err := v.Record("group", "ÄRZTE")
		check(t, "Record(ÄRZTE)", []any{name, found, err}, []any{"Ärzte", true, nil})
		_, name, found, err = v.Record("group", "äRZTE")
		check(t, "Record(äRZTE)", []any{name, found, err}, []any{"ärzte", true, nil})
		_, name, found, err = v.Record("group", "zOO")
		check(t, "Record(zOO)", []any{name, found, err}, []any{"Zoo", true, nil})
		rs, err := v.Records("group")
		var names []string
		for _, r := range rs {
			names = append(names, r.Name)
		}
		check(t, "Records(group)", names, []string{"bar", "Zoo", "Ärzte", "ärzte"})
		return err
	})
}

// putCheckpoint signs the store's tree head with a new key and stores it.
func putCheckpoint(t *testing.T, s *Store) {
	t.Helper()
	res, err := s.VerifyChain(context.Background(), gatehouse.VerifyOptions{})
	if err != nil || !res.OK() {
		t.Fatalf("verify: %+v, %v", res, err)
	}
	skey, _, err := audit.GenerateLogKey("example.test/log")
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.ParseLogKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := base64.StdEncoding.DecodeString(res.Tree.Root)
	note, err := audit.SignCheckpoint(audit.Checkpoint{Origin: "example.test/log", Size: res.Tree.Size, Root: tlog.Hash(root)}, key.Signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutCheckpoint(context.Background(), gatehouse.CheckpointRow{Size: res.Tree.Size, Time: clock(), Note: string(note)}); err != nil {
		t.Fatal(err)
	}
}
