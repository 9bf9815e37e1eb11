package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func ssoStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, _ := newStore(t)
	for _, key := range []string{"sso.allow", "sso.auto_create"} {
		if _, err := core.New(db, core.Options{}).SetSSOFlag(ctx, "op", key, true); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

var ann = gatehouse.Identity{Issuer: "https://idp.example", Subject: "00u1", Email: "ann@example.com",
	EmailVerified: true, InIdP: true, AuthComplete: true}

// TestConcurrentFirstSignIn: 32 goroutines sign the same new identity in at
// once; exactly one account is created and every caller succeeds.
func TestConcurrentFirstSignIn(t *testing.T) {
	db := ssoStore(t)
	const n = 32
	var wg sync.WaitGroup
	results := make(chan gatehouse.SignInResult, n)
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := core.New(db, core.Options{}).SignIn(ctx, ann)
			results <- res
			errs <- err
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	created, ids := 0, map[int64]bool{}
	for r := range results {
		if !r.Allowed() {
			t.Fatalf("a caller was refused: %+v", r)
		}
		if r.Decision == "created" {
			created++
		}
		ids[r.UserID] = true
	}
	if created != 1 || len(ids) != 1 {
		t.Fatalf("created %d accounts, saw %d user IDs; want exactly one", created, len(ids))
	}
	u, err := core.New(db, core.Options{}).User(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Pending || u.MSPAdmin || len(u.Roles)+len(u.Scopes)+len(u.Groups)+len(u.Orgs) != 0 || u.CreatedVia != "auto" {
		t.Fatalf("auto-created account has access or admin status: %+v", u)
	}
	if res, _ := db.VerifyChain(ctx, gatehouse.VerifyOptions{}); !res.OK() {
		t.Fatal(res.Fault)
	}
}

// TestEmailVariants: spellings of one email are one address; another
// subject claiming it is refused, not given the account.
func TestEmailVariants(t *testing.T) {
	db := ssoStore(t)
	if _, err := core.New(db, core.Options{}).SignIn(ctx, ann); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ANN@EXAMPLE.COM", " Ann@Example.com ", "ann@EXAMPLE.com"} {
		other := ann
		other.Subject, other.Email = "00u2", email
		res, err := core.New(db, core.Options{}).SignIn(ctx, other)
		if err != nil || res.Reason != gatehouse.ReasonConflict {
			t.Errorf("%q: %+v, %v; want identity_conflict", email, res, err)
		}
	}
	var n int
	core.New(db, core.Options{}).ListUsers(ctx, gatehouse.UserFilter{}, func(*gatehouse.User) error { n++; return nil })
	if n != 1 {
		t.Fatalf("%d accounts, want 1", n)
	}
}

func TestNormaliseEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Ann@Example.COM":        "ann@example.com",
		" ann@example.com\t":     "ann@example.com",
		"STRASSE@bücher.example": "strasse@xn--bcher-kva.example",
		"Maße@example.com":       "masse@example.com",
		"e\u0301@example.com":    "\u00e9@example.com",
		// The DNS root: a fully qualified domain is the same address.
		"Ann@Example.COM.":     "ann@example.com",
		"jörg@Bücher.example.": "jörg@xn--bcher-kva.example",
	} {
		got, err := gatehouse.NormaliseEmail(in)
		if err != nil || got != want {
			t.Errorf("NormaliseEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ann", "ann@", "@example.com", "a@b@example.com", "ann@localhost", "a b@example.com", "ann@exa mple.com", "ann@example.com..", "ann@.", "ann@example..com", "ann@localhost."} {
		if _, err := gatehouse.NormaliseEmail(bad); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("NormaliseEmail(%q) err = %v, want invalid", bad, err)
		}
	}
}

// TestConfusableAfterMigration: the users of a schema-5 store get their
// name skeletons when the store is upgraded, so a look-alike of an account
// that existed before the upgrade is refused too.
func TestConfusableAfterMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v5.db")
	if err := sqlite.CreateAtVersionForTest(path, 5); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO users (name, kind, email, created_at, created_via, created_by) VALUES ('ann@example.com', 'sso', 'ann@example.com', '2026-01-01T00:00:00.000000000Z', 'auto', 'test')",
		"INSERT OR REPLACE INTO settings (key, value) VALUES ('sso.allow', 'true'), ('sso.auto_create', 'true')",
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id := gatehouse.Identity{Issuer: "https://idp.example", Subject: "s-cyr", Email: "\u0430nn@example.com",
		EmailVerified: true, InIdP: true, AuthComplete: true}
	res, err := core.New(db, core.Options{}).SignIn(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "refused" || res.Reason != gatehouse.ReasonConfusable {
		t.Fatalf("sign-in = %s/%s, want refused/name_confusable", res.Decision, res.Reason)
	}
}
