// Package storetest is the conformance suite of the store contract
// (gatehouse.Store): every store behaviour the core relies on, written
// once and run against each store by its package's tests
// (internal/sqlite, internal/postgres). It drives a store the way the
// product does — opened through internal/wire, changed through the core
// and the contract — so a store that passes it behaves, for the rules, as
// every other does.
package storetest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Harness is what the suite needs to know of one kind of store.
type Harness struct {
	// Location returns the location of a new, empty store (a path in a
	// temporary directory, or a fresh database's URL).
	Location func(t *testing.T) string
	// Tenants is true for a store that holds several tenants.
	Tenants bool
	// TamperEvent changes the stored actor of event seq behind the
	// store's back (as someone with write access to the database would).
	TamperEvent func(t *testing.T, location, tenant string, seq int64)
	// SetSchemaVersion records version v as the store's schema version, as
	// a newer gatehouse would have left it.
	SetSchemaVersion func(t *testing.T, location string, v int)
	// SchemaVersion is the version this binary writes.
	SchemaVersion int
	// CreateBeforeState creates an on-prem store at the last schema whose
	// events recorded no after-state, as the gatehouse of that schema
	// would have: its init's rows, then fill's, and a store.init without
	// state.
	CreateBeforeState func(t *testing.T, location string, fill func(tx gatehouse.Tx) error)
	// Exec runs a statement on the store behind gatehouse's back.
	Exec func(t *testing.T, location, sql string)
}

var ctx = context.Background()

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"ChangeCommitsWithItsEvent", testChangeAtomic},
		{"ConflictIsECONFLICT", testConflict},
		{"ConcurrentFirstSignIns", testConcurrentFirstSignIns},
		{"PendingQueue", testPendingQueue},
		{"Seats", testSeats},
		{"ConcurrentAppendsNoFork", testConcurrentAppends},
		{"TamperDetected", testTamper},
		{"NewerSchemaRefused", testNewerSchema},
		{"TenantIsolation", testTenantIsolation},
		{"CopyRoundTrip", testCopyRoundTrip},
		{"StateMatchesEvents", testStateMatchesEvents},
		{"MigrationBaseline", testMigrationBaseline},
		{"CheckpointSignaturesMerge", testCheckpointMerge},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// create makes a new store (tenant "" on-prem, else a cloud tenant) with
// alice as its MSP admin, and returns the core over it.
func create(t *testing.T, location, tenant string) *core.Core {
	t.Helper()
	p := core.InitParams{Actor: "alice", Admin: "alice", Mode: gatehouse.ModeOnPrem}
	if tenant != "" {
		p.Mode, p.TenantID = gatehouse.ModeCloud, tenant
	}
	c, info, err := wire.Create(ctx, location, wire.Options{Tenant: tenant, OSUser: "tester"}, p)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Created {
		t.Fatal("the store existed already")
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func open(t *testing.T, location, tenant string) *core.Core {
	t.Helper()
	c, err := wire.Open(ctx, location, wire.Options{Tenant: tenant, OSUser: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// verify checks the chain and that the store's state is what its events
// record.
func verify(t *testing.T, c *core.Core) gatehouse.ChainResult {
	t.Helper()
	res, err := c.VerifyAudit(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.ChainResult.OK() {
		t.Fatalf("chain does not verify: event %d: %s", res.Fault.Seq, res.Fault.Problem)
	}
	if res.State == nil {
		t.Fatalf("the state was not compared: %s", res.StateNotChecked)
	}
	for _, d := range res.State.Differences {
		t.Errorf("state: %s", d.Problem)
	}
	return res.ChainResult
}

func head(t *testing.T, c *core.Core) int64 {
	t.Helper()
	h, err := c.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h.Seq
}

// testChangeAtomic: a change commits with its event; a change that fails
// after writing leaves neither its rows nor an event; a change with no
// event writes nothing.
func testChangeAtomic(t *testing.T, h Harness) {
	c := create(t, h.Location(t), "")
	st := c.Store()
	before := head(t, c)
	boom := errors.New("boom")
	_, err := st.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		if err := tx.SetSetting("probe", "failed"); err != nil {
			return nil, err
		}
		return nil, boom
	})
	if !errors.Is(err, boom) && gatehouse.ErrorMessage(err) != "boom" {
		t.Fatalf("err = %v, want the change's own error", err)
	}
	if _, err := st.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		return nil, tx.SetSetting("probe", "no event")
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.View(ctx, func(v gatehouse.View) error {
		if val, ok, err := v.Setting("probe"); err != nil || ok {
			t.Errorf("probe = %q, %v, %v: a change without its event was kept", val, ok, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := head(t, c); got != before {
		t.Fatalf("head %d after failed changes, want %d", got, before)
	}
	ev, err := st.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		return &gatehouse.NewEvent{Actor: "alice", Action: "test.probe", Target: "probe", Outcome: gatehouse.OutcomeSuccess},
			tx.SetSetting("probe", "kept")
	})
	if err != nil || ev == nil || ev.Seq != before+1 {
		t.Fatalf("event %+v, %v; want seq %d", ev, err, before+1)
	}
	st.View(ctx, func(v gatehouse.View) error {
		if val, _, _ := v.Setting("probe"); val != "kept" {
			t.Errorf("probe = %q after its change committed", val)
		}
		return nil
	})
	// The chain only: the probe was written past the core, which records
	// the state a change leaves.
	if res, err := c.VerifyChain(ctx, gatehouse.VerifyOptions{}); err != nil || !res.OK() {
		t.Fatalf("verify = %+v, %v", res, err)
	}
}

// testConflict: adding a name that exists (in any case) as asked changes
// nothing; asked with other settings it is ECONFLICT naming what is taken.
func testConflict(t *testing.T, h Harness) {
	c := create(t, h.Location(t), "")
	if _, _, err := c.AddUser(ctx, "alice", core.NewUser{Name: "bob", Via: "manual"}); err != nil {
		t.Fatal(err)
	}
	if u, changed, err := c.AddUser(ctx, "alice", core.NewUser{Name: "BOB", Via: "manual"}); err != nil || changed || u.Name != "bob" {
		t.Errorf("second bob: %+v, changed %v, %v; want bob unchanged", u, changed, err)
	}
	_, _, err := c.AddUser(ctx, "alice", core.NewUser{Name: "Bob", Admin: true, Via: "manual"})
	if gatehouse.ErrorCode(err) != gatehouse.ECONFLICT || !strings.HasPrefix(gatehouse.ErrorMessage(err), "a user named bob already exists with other settings") {
		t.Errorf("bob as an admin: %v (%s), want conflict", err, gatehouse.ErrorCode(err))
	}
	if _, _, err := c.AddRecord(ctx, "alice", "group", "Ops"); err != nil {
		t.Fatal(err)
	}
	if name, changed, err := c.AddRecord(ctx, "alice", "group", "ops"); err != nil || changed || name != "Ops" {
		t.Errorf("second ops group: %q, changed %v, %v; want Ops unchanged", name, changed, err)
	}
	// The store went on working after the refused statements.
	if _, _, err := c.AddUser(ctx, "alice", core.NewUser{Name: "carol", Via: "manual"}); err != nil {
		t.Fatal(err)
	}
	verify(t, c)
}

var ann = gatehouse.Identity{Issuer: "https://idp.example", Subject: "00u1", Email: "ann@example.com",
	EmailVerified: true, InIdP: true, AuthComplete: true}

func ssoOn(t *testing.T, c *core.Core) {
	t.Helper()
	for _, k := range []string{core.SettingSSOAllow, core.SettingSSOAutoCreate} {
		if _, err := c.SetSSOFlag(ctx, "alice", k, true); err != nil {
			t.Fatal(err)
		}
	}
}

// testConcurrentFirstSignIns: 16 callers, each with its own handle (as
// several app servers have), sign one new identity in at once: exactly one
// account is created, with no access, and no caller sees an error.
func testConcurrentFirstSignIns(t *testing.T, h Harness) {
	loc := h.Location(t)
	c := create(t, loc, "")
	ssoOn(t, c)
	const n = 16
	cores := make([]*core.Core, n)
	for i := range cores {
		cores[i] = open(t, loc, "")
	}
	var wg sync.WaitGroup
	results := make([]gatehouse.SignInResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = cores[i].SignIn(ctx, ann)
		}()
	}
	wg.Wait()
	created, ids := 0, map[int64]bool{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !r.Allowed() {
			t.Fatalf("caller %d was refused: %+v", i, r)
		}
		if r.Decision == "created" {
			created++
		}
		ids[r.UserID] = true
	}
	if created != 1 || len(ids) != 1 {
		t.Fatalf("created %d accounts with %d IDs, want exactly one", created, len(ids))
	}
	u, err := c.User(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Pending || u.MSPAdmin || len(u.Roles)+len(u.Groups)+len(u.Orgs) != 0 || u.CreatedVia != "auto" {
		t.Fatalf("auto-created account: %+v, want pending with no access", u)
	}
	verify(t, c)
}

// testPendingQueue: SSO-created users wait for a role; a grant takes one
// off the queue, a revoke puts it back; admins and the support account
// never wait.
func testPendingQueue(t *testing.T, h Harness) {
	c := create(t, h.Location(t), "")
	ssoOn(t, c)
	for i, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		id := ann
		id.Subject, id.Email = fmt.Sprint("s", i), email
		if res, err := c.SignIn(ctx, id); err != nil || res.Decision != "created" {
			t.Fatalf("%s: %+v, %v", email, res, err)
		}
	}
	pending := func() []string {
		var names []string
		if err := c.ListUsers(ctx, gatehouse.UserFilter{PendingOnly: true}, func(u *gatehouse.User) error {
			names = append(names, u.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return names
	}
	if got := fmt.Sprint(pending()); got != "[a@example.com b@example.com c@example.com]" {
		t.Fatalf("pending = %s", got)
	}
	if _, _, err := c.AddRecord(ctx, "alice", "role", "Viewer"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Assign(ctx, "alice", "b@example.com", gatehouse.Grants{Roles: []string{"viewer"}}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pending()); got != "[a@example.com c@example.com]" {
		t.Fatalf("pending after a grant = %s", got)
	}
	if _, _, err := c.Unassign(ctx, "alice", "b@example.com", gatehouse.Grants{Roles: []string{"Viewer"}}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pending()); got != "[a@example.com b@example.com c@example.com]" {
		t.Fatalf("pending after the revoke = %s", got)
	}
}

// testSeats: with one admin seat, a second account cannot be given a role.
func testSeats(t *testing.T, h Harness) {
	c := create(t, h.Location(t), "")
	for _, n := range []string{"bob", "carol"} {
		if _, _, err := c.AddUser(ctx, "alice", core.NewUser{Name: n, Via: "manual"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.AddRecord(ctx, "alice", "role", "Operator"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SetAdminSeats(ctx, "alice", 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Assign(ctx, "alice", "bob", gatehouse.Grants{Roles: []string{"Operator"}}); err != nil {
		t.Fatal(err)
	}
	before := head(t, c)
	_, _, err := c.Assign(ctx, "alice", "carol", gatehouse.Grants{Roles: []string{"Operator"}})
	if gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
		t.Fatalf("second seat: %v, want conflict", err)
	}
	if u, _ := c.User(ctx, "carol"); len(u.Roles) != 0 || head(t, c) != before {
		t.Fatalf("the refused grant changed something: roles %v, head %d (was %d)", u.Roles, head(t, c), before)
	}
	if l, _ := c.License(ctx); l.Used != 1 || l.Free != 0 {
		t.Fatalf("license = %+v", l)
	}
}

// testConcurrentAppends: 16 writers, each with its own handle, append 50
// events each at once: the chain has every event, no fork, and verifies.
func testConcurrentAppends(t *testing.T, h Harness) {
	loc := h.Location(t)
	c := create(t, loc, "")
	start := head(t, c)
	const writers, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		s := open(t, loc, "").Store()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
					return &gatehouse.NewEvent{Actor: fmt.Sprint("w", w), Action: "test.append", Target: fmt.Sprint(i),
						Outcome: gatehouse.OutcomeSuccess}, nil
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	res := verify(t, c)
	if want := start + writers*each; res.Head.Seq != want || res.Valid != want {
		t.Fatalf("head %d, %d valid; want %d events in one chain", res.Head.Seq, res.Valid, want)
	}
}

// testTamper: an event edited behind the store's back is found, at its
// sequence number.
func testTamper(t *testing.T, h Harness) {
	loc := h.Location(t)
	c := create(t, loc, "")
	if _, _, err := c.AddUser(ctx, "alice", core.NewUser{Name: "bob", Via: "manual"}); err != nil {
		t.Fatal(err)
	}
	verify(t, c)
	h.TamperEvent(t, loc, "", 2)
	res, err := open(t, loc, "").VerifyChain(ctx, gatehouse.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || res.Fault.Seq != 2 {
		t.Fatalf("verify after tampering with event 2 = %+v", res)
	}
}

// testNewerSchema: a store a newer gatehouse wrote is refused, unchanged.
func testNewerSchema(t *testing.T, h Harness) {
	loc := h.Location(t)
	c := create(t, loc, "")
	before := head(t, c)
	c.Close()
	h.SetSchemaVersion(t, loc, h.SchemaVersion+1)
	_, err := wire.Open(ctx, loc, wire.Options{})
	if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("open of a newer store: %v, want unavailable", err)
	}
	h.SetSchemaVersion(t, loc, h.SchemaVersion)
	if got := head(t, open(t, loc, "")); got != before {
		t.Fatalf("head %d after the refused open, want %d", got, before)
	}
}

// testTenantIsolation: what one tenant changes, another cannot see or
// change; a store of one tenant refuses another tenant's name.
func testTenantIsolation(t *testing.T, h Harness) {
	loc := h.Location(t)
	if !h.Tenants {
		create(t, loc, "acme")
		if _, err := wire.Open(ctx, loc, wire.Options{Tenant: "beta"}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Fatalf("open as another tenant: %v, want invalid", err)
		}
		return
	}
	a, b := create(t, loc, "acme"), create(t, loc, "beta")
	if _, _, err := a.AddUser(ctx, "alice", core.NewUser{Name: "bob", Email: "bob@acme.example", Via: "manual"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.AddRecord(ctx, "alice", "group", "Ops"); err != nil {
		t.Fatal(err)
	}
	ssoOn(t, a)
	if _, err := a.SignIn(ctx, ann); err != nil {
		t.Fatal(err)
	}
	// Beta sees none of it and may use the same names.
	for _, ref := range []string{"bob", "bob@acme.example", "ann@example.com"} {
		if _, err := b.User(ctx, ref); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("beta found acme's %s: %v", ref, err)
		}
	}
	if rs, _ := b.Records(ctx, "group"); len(rs) != 0 {
		t.Errorf("beta sees groups %v", rs)
	}
	if s, _ := b.SSOSettings(ctx); s.Allow {
		t.Error("beta sees acme's SSO settings")
	}
	if _, err := b.SetEnabled(ctx, "alice", "bob", false); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("beta disabled acme's bob: %v", err)
	}
	if _, _, err := b.AddUser(ctx, "alice", core.NewUser{Name: "bob", Email: "bob@acme.example", Via: "manual"}); err != nil {
		t.Errorf("beta cannot have its own bob: %v", err)
	}
	if u, _ := a.User(ctx, "bob"); !u.Enabled {
		t.Error("acme's bob was changed by beta")
	}
	// Each chain is its own: beta's events are not in acme's.
	var actions []string
	b.ListEvents(ctx, gatehouse.EventFilter{}, func(ev *gatehouse.Event) error { actions = append(actions, ev.Action); return nil })
	if fmt.Sprint(actions) != "[store.init user.add]" {
		t.Errorf("beta's events = %v", actions)
	}
	verify(t, a)
	verify(t, b)
	ts, err := wire.ListTenants(ctx, loc, wire.Options{})
	if err != nil || len(ts) != 2 || ts[0].TenantID != "acme" || ts[1].TenantID != "beta" {
		t.Fatalf("tenants = %+v, %v", ts, err)
	}
}

// testCopyRoundTrip: a store copied to another store of the same kind
// holds the same users and a chain that verifies and is a prefix of the
// source's.
func testCopyRoundTrip(t *testing.T, h Harness) {
	src := create(t, h.Location(t), "")
	ssoOn(t, src)
	if _, err := src.SignIn(ctx, ann); err != nil {
		t.Fatal(err)
	}
	to := h.Location(t)
	res, err := wire.Copy(ctx, src, to, wire.Options{Now: time.Now}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	dst := open(t, to, "")
	if u, err := dst.User(ctx, "ann@example.com"); err != nil || u.SSOSubject != ann.Subject || !u.Pending {
		t.Fatalf("copied ann = %+v, %v", u, err)
	}
	r := verify(t, dst)
	if r.Head.Seq != res.Head.Seq+1 {
		t.Fatalf("copy's head %d, want the copied head %d and its store.copy event", r.Head.Seq, res.Head.Seq)
	}
	if _, err := wire.Copy(ctx, src, to, wire.Options{}, "alice"); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
		t.Fatalf("copy onto a store: %v, want conflict", err)
	}
}

// testCheckpointMerge: runs that add signatures to one stored checkpoint
// at once each keep theirs (the lines are merged in the write
// transaction, not the note replaced); a note in another form, or another
// checkpoint's signatures, are refused, and the stored note is unchanged.
func testCheckpointMerge(t *testing.T, h Harness) {
	loc := h.Location(t)
	c := create(t, loc, "")
	skey, _, err := audit.GenerateLogKey("example.test/merge")
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.ParseLogKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Checkpoint(ctx, key, core.CheckpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const runs = 8
	line := func(i int) string {
		return fmt.Sprintf("— witness.test/w%d %s\n", i, base64.StdEncoding.EncodeToString(append([]byte{0, 0, 0, byte(i)}, make([]byte, 64)...)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for i := range runs {
		s := open(t, loc, "").Store()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.PutCheckpoint(ctx, gatehouse.CheckpointRow{Size: res.Size, Time: time.Now(), Note: res.Note + line(i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	stored := func() string {
		t.Helper()
		var note string
		if err := c.Store().View(ctx, func(v gatehouse.View) error {
			rows, err := v.Checkpoints()
			if err == nil && len(rows) == 1 {
				note = rows[0].Note
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return note
	}
	note := stored()
	for i := range runs {
		if strings.Count(note, line(i)) != 1 {
			t.Errorf("the stored note holds %d copies of run %d's line; want 1:\n%s", strings.Count(note, line(i)), i, note)
		}
	}
	if !strings.HasPrefix(note, res.Note) {
		t.Errorf("the log's signature was lost:\n%s", note)
	}
	for name, bad := range map[string]string{
		"terminal escape":    res.Note + "— evil \x1b[31m\n",
		"another checkpoint": strings.Replace(res.Note, "\n\n", "\nextension\n\n", 1),
	} {
		if err := c.Store().PutCheckpoint(ctx, gatehouse.CheckpointRow{Size: res.Size, Time: time.Now(), Note: bad}); err == nil {
			t.Errorf("PutCheckpoint(%s) was accepted", name)
		}
	}
	if got := stored(); got != note {
		t.Errorf("a refused PutCheckpoint changed the note:\n%s", got)
	}
	verify(t, c)
}
