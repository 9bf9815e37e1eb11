package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/gatehouse-dev/gatehouse/internal/browsertest"
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/support"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse/store"
)

var ctx = context.Background()

// TestMain stops, at the end, the PostgreSQL cluster and the Chromium the
// tests started (one of each for the whole binary).
func TestMain(m *testing.M) { os.Exit(browsertest.Run(pgtestRun{m})) }

type pgtestRun struct{ m *testing.M }

func (p pgtestRun) Run() int { return pgtest.Run(p.m) }

// TestStoreSQLite runs the store tests on an SQLite file made by the code
// path of `gatehouse init`.

func TestStoreSQLite(t *testing.T) {
	testStore(t, filepath.Join(t.TempDir(), "gatehouse.db"), "")
}

// TestStorePostgres runs the same body on a real PostgreSQL server, on the
// database's on-prem store.
func TestStorePostgres(t *testing.T) {
	testStore(t, pgtest.New(t), "")
}

const (
	issuer = "https://idp.example.com"
	admin  = "breakglass" // the first MSP admin: exempt, with a password
	// Lock-out policy of the store: maxFailures wrong passwords lock for
	// lockout.
	maxFailures = 3
	lockout     = 5 * time.Minute
)

// Local accounts and their passwords. ann is not exempt from required SSO;
// carol and erik are; dave is disabled.
var passwords = map[string]string{
	admin:   "correct horse battery staple",
	"ann":   "ann's password",
	"carol": "carol's password",
	"dave":  "dave's password",
	"erik":  "erik's password",
}

// testStore is the body of the store tests, for a location that does not
// exist yet: it creates the store there as `gatehouse init` would,
// configures it through the core as the CLI's commands would, closes it,
// and opens it with store.Open as a server would. tenant is the tenant of
// a multi-tenant store ("" for an SQLite store). Every decision is checked
// in the audit trail, read through a second handle as `gatehouse audit
// list` would.
func testStore(t *testing.T, location, tenant string) {
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	vendor, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	create(t, location, tenant, clock, vendor)

	srv, err := store.Open(ctx, location, store.Options{Now: clock.Now, OSUser: "server", Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ops, err := wire.Open(ctx, location, wire.Options{Now: clock.Now, OSUser: "op", Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ops.Close() })
	tr := &trail{ops: ops}

	t.Run("SignIn", func(t *testing.T) { testSignIn(t, srv, ops, tr) })
	t.Run("ConcurrentFirstSignIns", func(t *testing.T) {
		srv2, err := store.Open(ctx, location, store.Options{Now: clock.Now, OSUser: "server", Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		defer srv2.Close()
		testConcurrentSignIns(t, []*store.Store{srv, srv2}, ops, tr)
	})
	t.Run("LocalLogin", func(t *testing.T) { testLocalLogin(t, srv, ops, tr, clock) })
	t.Run("SupportLogon", func(t *testing.T) { testSupportLogon(t, srv, ops, tr, vendor) })
	if res, err := ops.VerifyChain(ctx, gatehouse.VerifyOptions{}); err != nil || !res.OK() {
		t.Fatalf("the audit chain after the tests: %+v, %v", res, err)
	}
}

// create makes the store and configures it: SSO allowed, required and
// creating accounts for issuer; the local accounts of passwords; the
// lock-out policy; the vendor's recipient and the server's address. Then
// it closes the store.
func create(t *testing.T, location, tenant string, clock *testClock, vendor *age.X25519Identity) {
	t.Helper()
	c, info, err := wire.Create(ctx, location, wire.Options{Now: clock.Now, OSUser: "op", Tenant: tenant},
		core.InitParams{Actor: "op", Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	if !info.Created {
		t.Fatalf("%s: a store was already there", location)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("admin password", c.SetPassword(ctx, admin, admin, hash(t, admin)))
	for _, name := range []string{"ann", "carol", "dave", "erik"} {
		_, _, err := c.AddUser(ctx, admin, core.NewUser{Name: name, Email: name + "@example.com", PasswordHash: hash(t, name), Via: "manual"})
		must("add "+name, err)
	}
	for _, name := range []string{admin, "carol", "erik"} {
		_, err := c.SetSSOExempt(ctx, admin, name, true)
		must("exempt "+name, err)
	}
	_, err = c.SetEnabled(ctx, admin, "dave", false)
	must("disable dave", err)
	_, err = c.SetSSOIssuer(ctx, admin, issuer)
	must("issuer", err)
	for _, key := range []string{core.SettingSSOAllow, core.SettingSSOAutoCreate, core.SettingSSORequire} {
		_, err := c.SetSSOFlag(ctx, admin, key, true)
		must(key, err)
	}
	n, d := maxFailures, lockout
	_, _, err = c.ConfigureLockout(ctx, admin, gatehouse.LockoutUpdate{MaxFailures: &n, Lockout: &d})
	must("lockout", err)
	r, err := support.ParseRecipient(vendor.Recipient().String())
	must("recipient", err)
	_, err = c.AddRecipients(ctx, admin, []gatehouse.Recipient{r})
	must("add recipient", err)
	host, port := "vsa.example.com", 443
	_, _, err = c.ConfigureServer(ctx, admin, core.ServerUpdate{Host: &host, Port: &port})
	must("server address", err)
}

func hash(t *testing.T, user string) string {
	t.Helper()
	h, err := password.Hash([]byte(passwords[user]), password.OWASP)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testSignIn(t *testing.T, srv *store.Store, ops *core.Core, tr *trail) {
	dana := gatehouse.Identity{Issuer: issuer, Subject: "sub-dana", Email: "Dana@Example.COM", EmailVerified: true, InIdP: true, AuthComplete: true}
	users := countUsers(t, ops)

	// The first sign-in creates the account, with no access at all.
	seq := tr.head(t)
	res, err := srv.SignIn(ctx, dana)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "created" || res.Reason != gatehouse.AccountCreated || res.User != "dana@example.com" || res.UserID == 0 || !res.Allowed() {
		t.Fatalf("first sign-in = %+v, want created as dana@example.com", res)
	}
	tr.want(t, seq, event{action: "user.auto_create", outcome: gatehouse.OutcomeSuccess, actor: "dana@example.com", target: "dana@example.com",
		details: map[string]any{"reason": "account_created", "user_id": res.UserID, "issuer": issuer, "subject": "sub-dana"}})
	u, err := ops.User(ctx, "dana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != res.UserID || u.Kind != "sso" || u.CreatedVia != "auto" || !u.Enabled || u.MSPAdmin || !u.Pending ||
		len(u.Roles)+len(u.Scopes)+len(u.Groups)+len(u.Orgs) != 0 || u.SSOIssuer != issuer || u.SSOSubject != "sub-dana" {
		t.Fatalf("the created account: %+v; want an enabled sso account, created via auto, with no access", u)
	}

	// The next sign-in of the same identity signs in to that account.
	seq = tr.head(t)
	again, err := srv.SignIn(ctx, dana)
	if err != nil {
		t.Fatal(err)
	}
	if again.Decision != "signed_in" || again.Reason != gatehouse.SignedIn || again.UserID != res.UserID || again.User != "dana@example.com" {
		t.Fatalf("second sign-in = %+v, want signed in to user %d", again, res.UserID)
	}
	tr.want(t, seq, event{action: "signin.success", outcome: gatehouse.OutcomeSuccess, actor: "dana@example.com", target: "dana@example.com",
		details: map[string]any{"reason": "signed_in", "user_id": res.UserID}})
	if got := countUsers(t, ops); got != users+1 {
		t.Fatalf("%d accounts after two sign-ins of one identity, want %d", got, users+1)
	}

	for _, tt := range []struct {
		name   string
		id     func(*gatehouse.Identity)
		want   gatehouse.SignInReason
		target string
	}{
		{"AuthExpired", func(id *gatehouse.Identity) { id.AuthExpired = true }, gatehouse.ReasonExpired, "dana@example.com"},
		{"NotInIdP", func(id *gatehouse.Identity) { id.InIdP = false }, gatehouse.ReasonNotInIdP, "dana@example.com"},
		{"IssuerMismatch", func(id *gatehouse.Identity) { id.Issuer = "https://evil.example.com" }, gatehouse.ReasonIssuer, "dana@example.com"},
		// Another subject asserting dana's email is not given her account.
		{"IdentityConflict", func(id *gatehouse.Identity) { id.Subject = "sub-imposter" }, gatehouse.ReasonConflict, "dana@example.com"},
		{"EmailUnverified", func(id *gatehouse.Identity) {
			id.Subject, id.Email, id.EmailVerified = "sub-fay", "fay@example.com", false
		},
			gatehouse.ReasonUnverified, "fay@example.com"},
		// "dаna" with a Cyrillic а looks like dana's account name.
		{"NameConfusable", func(id *gatehouse.Identity) { id.Subject, id.Email = "sub-cyrillic", "d\u0430na@example.com" },
			gatehouse.ReasonConfusable, "d\u0430na@example.com"},
	} {
		t.Run("Refused"+tt.name, func(t *testing.T) {
			id := dana
			tt.id(&id)
			users := countUsers(t, ops)
			seq := tr.head(t)
			res, err := srv.SignIn(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != "refused" || res.Reason != tt.want || res.Allowed() || res.User != "" || res.UserID != 0 {
				t.Fatalf("sign-in = %+v, want refused: %s", res, tt.want)
			}
			tr.want(t, seq, event{action: "signin.denied", outcome: gatehouse.OutcomeDenied, target: tt.target,
				details: map[string]any{"reason": string(tt.want), "subject": id.Subject, "issuer": id.Issuer, "user_id": nil}})
			if got := countUsers(t, ops); got != users {
				t.Fatalf("a refused sign-in changed the number of accounts from %d to %d", users, got)
			}
		})
	}

	t.Run("MalformedIdentity", func(t *testing.T) {
		seq := tr.head(t)
		_, err := srv.SignIn(ctx, gatehouse.Identity{Issuer: issuer, Subject: " ", InIdP: true, AuthComplete: true})
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Fatalf("err = %v, want invalid", err)
		}
		tr.want(t, seq)
	})
}

// testConcurrentSignIns: first sign-ins of one identity at once, from
// goroutines sharing two store handles, make one account and all succeed.
func testConcurrentSignIns(t *testing.T, stores []*store.Store, ops *core.Core, tr *trail) {
	id := gatehouse.Identity{Issuer: issuer, Subject: "sub-erin", Email: "erin@example.com", EmailVerified: true, InIdP: true, AuthComplete: true}
	const n = 8
	users := countUsers(t, ops)
	seq := tr.head(t)
	results := make([]gatehouse.SignInResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = stores[i%len(stores)].SignIn(ctx, id)
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("sign-in %d: %v", i, errs[i])
		}
		switch {
		case res.Reason == gatehouse.AccountCreated && res.Decision == "created":
			created++
		case res.Reason == gatehouse.SignedIn && res.Decision == "signed_in":
		default:
			t.Fatalf("sign-in %d = %+v, want created or signed in", i, res)
		}
		if res.UserID != results[0].UserID || res.UserID == 0 {
			t.Fatalf("sign-ins went to users %d and %d", results[0].UserID, res.UserID)
		}
	}
	if created != 1 {
		t.Fatalf("%d sign-ins created the account, want 1", created)
	}
	if got := countUsers(t, ops); got != users+1 {
		t.Fatalf("%d accounts after %d concurrent first sign-ins, want %d", got, n, users+1)
	}
	actions := map[string]int{}
	for _, ev := range tr.after(t, seq) {
		actions[ev.Action]++
	}
	if actions["user.auto_create"] != 1 || actions["signin.success"] != n-1 || len(actions) != 2 {
		t.Fatalf("events of %d sign-ins: %v, want 1 user.auto_create and %d signin.success", n, actions, n-1)
	}
}

func testLocalLogin(t *testing.T, srv *store.Store, ops *core.Core, tr *trail, clock *testClock) {
	login := func(t *testing.T, user, pw string, want gatehouse.SignInReason, details map[string]any) gatehouse.SignInResult {
		t.Helper()
		seq := tr.head(t)
		res, err := srv.LocalLogin(ctx, user, []byte(pw))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != want {
			t.Fatalf("login %s = %+v, want %s", user, res, want)
		}
		action, outcome := "login.denied", gatehouse.OutcomeDenied
		if want == gatehouse.SignedIn {
			action, outcome = "login.success", gatehouse.OutcomeSuccess
			if res.Decision != "signed_in" || res.User != user || res.UserID == 0 {
				t.Fatalf("login %s = %+v, want signed in as %s", user, res, user)
			}
		} else if res.Decision != "refused" || res.Allowed() || res.UserID != 0 {
			t.Fatalf("login %s = %+v, want refused", user, res)
		}
		if details == nil {
			details = map[string]any{}
		}
		details["reason"] = string(want)
		details["sso_required"] = true
		tr.want(t, seq, event{action: action, outcome: outcome, actor: user, target: user, details: details})
		return res
	}

	t.Run("OK", func(t *testing.T) {
		login(t, admin, passwords[admin], gatehouse.SignedIn, nil)
	})
	t.Run("ByEmail", func(t *testing.T) {
		seq := tr.head(t)
		res, err := srv.LocalLogin(ctx, "Carol@Example.com", []byte(passwords["carol"]))
		if err != nil || res.Reason != gatehouse.SignedIn || res.User != "carol" {
			t.Fatalf("login by email = %+v, %v; want signed in as carol", res, err)
		}
		tr.want(t, seq, event{action: "login.success", outcome: gatehouse.OutcomeSuccess, target: "carol"})
	})
	// Required SSO refuses the non-exempt whatever the password, and a
	// wrong password then counts no failure.
	t.Run("SSORequired", func(t *testing.T) {
		login(t, "ann", passwords["ann"], gatehouse.ReasonSSORequired, map[string]any{"failures": nil})
		login(t, "ann", "guess", gatehouse.ReasonSSORequired, map[string]any{"failures": nil})
	})
	t.Run("WrongPassword", func(t *testing.T) {
		login(t, "carol", "guess", gatehouse.ReasonBadPassword, map[string]any{"failures": 1, "locked_until": nil})
		// A right password clears the count.
		login(t, "carol", passwords["carol"], gatehouse.SignedIn, nil)
		login(t, "carol", "guess", gatehouse.ReasonBadPassword, map[string]any{"failures": 1})
	})
	t.Run("Disabled", func(t *testing.T) {
		login(t, "dave", "guess", gatehouse.ReasonDisabled, map[string]any{"failures": nil})
	})
	t.Run("NoSuchUser", func(t *testing.T) {
		login(t, "nobody", passwords[admin], gatehouse.ReasonNoSuchUser, nil)
	})
	t.Run("Locked", func(t *testing.T) {
		for i := 1; i < maxFailures; i++ {
			login(t, "erik", "guess", gatehouse.ReasonBadPassword, map[string]any{"failures": i, "locked_until": nil})
		}
		// The failure that reaches the limit is still a wrong password; it
		// locks until now + lockout.
		until := clock.Now().Add(lockout).UTC().Format(time.RFC3339)
		login(t, "erik", "guess", gatehouse.ReasonBadPassword, map[string]any{"failures": maxFailures, "locked_until": until})
		u, err := ops.User(ctx, "erik")
		if err != nil || u.LockedUntil == nil {
			t.Fatalf("erik after %d failures: %+v, %v; want locked", maxFailures, u, err)
		}
		// While locked, the right password is refused too.
		clock.Advance(lockout - time.Second)
		login(t, "erik", passwords["erik"], gatehouse.ReasonLocked, map[string]any{"locked_until": until, "failures": nil})
		login(t, "erik", "guess", gatehouse.ReasonLocked, map[string]any{"locked_until": until, "failures": nil})
		// The lock ends on time, and was not extended by the attempts.
		clock.Advance(time.Second)
		login(t, "erik", passwords["erik"], gatehouse.SignedIn, nil)
	})
}

func testSupportLogon(t *testing.T, srv *store.Store, ops *core.Core, tr *trail, vendor *age.X25519Identity) {
	logon := func(t *testing.T, technician string, pw []byte, want gatehouse.LogonReason, details map[string]any) gatehouse.SupportLogonResult {
		t.Helper()
		seq := tr.head(t)
		res, err := srv.SupportLogon(ctx, technician, bytes.Clone(pw))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != want || res.Allowed != (want == gatehouse.LogonOK) || res.Account != "vendorsupport" || res.Technician != technician {
			t.Fatalf("logon = %+v, want %s", res, want)
		}
		outcome := gatehouse.OutcomeDenied
		if res.Allowed {
			outcome = gatehouse.OutcomeSuccess
		}
		details["reason"] = string(want)
		details["technician"] = technician
		tr.want(t, seq, event{action: "support.logon", outcome: outcome, actor: technician, target: "vendorsupport", details: details})
		return res
	}

	t.Run("AccountMissingBeforeRequest", func(t *testing.T) {
		logon(t, "tech-1", []byte("anything"), gatehouse.LogonNoAccount, map[string]any{"request_id": nil})
	})

	out := filepath.Join(t.TempDir(), "envelope.age")
	req, err := ops.RequestSupport(ctx, core.IssueOptions{Actor: admin, Out: out, Reason: "ticket 1"})
	if err != nil {
		t.Fatal(err)
	}
	env := openEnvelope(t, out, vendor)
	if env.RequestID != req.RequestID {
		t.Fatalf("the envelope is of request %s, the request was %s", env.RequestID, req.RequestID)
	}

	t.Run("OK", func(t *testing.T) {
		res := logon(t, "tech-1", env.Password, gatehouse.LogonOK,
			map[string]any{"request_id": req.RequestID, "first_logon": true})
		if res.ExpiresAt == nil || !res.ExpiresAt.Equal(*req.ExpiresAt) {
			t.Fatalf("expires at %v, want the credential's expiry %v", res.ExpiresAt, *req.ExpiresAt)
		}
		logon(t, "tech-1", env.Password, gatehouse.LogonOK, map[string]any{"request_id": req.RequestID, "first_logon": nil})
	})
	t.Run("WrongPassword", func(t *testing.T) {
		logon(t, "tech-2", []byte("guess"), gatehouse.LogonWrongPassword,
			map[string]any{"request_id": req.RequestID, "failures": 1})
		// One character off is as wrong.
		pw := bytes.Clone(env.Password)
		pw[len(pw)-1] ^= 1
		logon(t, "tech-2", pw, gatehouse.LogonWrongPassword, map[string]any{"request_id": req.RequestID, "failures": 2})
	})
}

// openEnvelope decrypts an envelope file with the vendor's identity and
// parses it, as the vendor would.
func openEnvelope(t *testing.T, file string, id age.Identity) *support.Envelope {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	env, err := support.ParseEnvelope(plain)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func countUsers(t *testing.T, ops *core.Core) int {
	t.Helper()
	n := 0
	if err := ops.ListUsers(ctx, gatehouse.UserFilter{}, func(*gatehouse.User) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// trail reads the audit trail through the core, as `gatehouse audit list`.
type trail struct{ ops *core.Core }

func (tr *trail) head(t *testing.T) int64 {
	t.Helper()
	h, err := tr.ops.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h.Seq
}

func (tr *trail) after(t *testing.T, seq int64) []*gatehouse.Event {
	t.Helper()
	var evs []*gatehouse.Event
	if err := tr.ops.ListEvents(ctx, gatehouse.EventFilter{AfterSeq: seq}, func(ev *gatehouse.Event) error {
		// The store may reuse *ev for the next event: keep a copy.
		e := *ev
		e.Details = bytes.Clone(ev.Details)
		evs = append(evs, &e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// event is what an audit event must say. actor "" is not checked. In
// details, a nil value means the key must be absent, any other the value
// it must hold (compared as JSON); keys not named are not checked.
type event struct {
	action, actor, target string
	outcome               gatehouse.Outcome
	details               map[string]any
}

// want checks that exactly the events given were appended after seq, in
// order, each written by the server (os_user "server").
func (tr *trail) want(t *testing.T, seq int64, want ...event) {
	t.Helper()
	got := tr.after(t, seq)
	if len(got) != len(want) {
		var actions []string
		for _, ev := range got {
			actions = append(actions, ev.Action)
		}
		t.Fatalf("%d events appended %v, want %d", len(got), actions, len(want))
	}
	for i, w := range want {
		ev := got[i]
		if ev.Action != w.action || ev.Outcome != w.outcome || ev.Target != w.target || (w.actor != "" && ev.Actor != w.actor) || ev.OSUser != "server" {
			t.Errorf("event %d: %s %s actor %q target %q os_user %q; want %s %s actor %q target %q os_user \"server\"",
				ev.Seq, ev.Action, ev.Outcome, ev.Actor, ev.Target, ev.OSUser, w.action, w.outcome, w.actor, w.target)
		}
		var details map[string]json.RawMessage
		if err := json.Unmarshal(ev.Details, &details); err != nil {
			t.Fatalf("event %d: details %s: %v", ev.Seq, ev.Details, err)
		}
		for k, v := range w.details {
			raw, present := details[k]
			if v == nil {
				if present {
					t.Errorf("event %d (%s): details has %s = %s, want none", ev.Seq, ev.Action, k, raw)
				}
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !present || !bytes.Equal(raw, b) {
				t.Errorf("event %d (%s): details %s = %s, want %s (all details: %s)", ev.Seq, ev.Action, k, raw, b, ev.Details)
			}
		}
	}
}

// testClock is the one clock of every handle on the store, so a test can
// move past a lock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
