package sqlite_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// flagDrift counts the users whose ungranted flag disagrees with
// what it stands for: no role, no group, no organisation.
const flagDrift = `SELECT count(*) FROM users u WHERE u.ungranted != (
	NOT EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id)
	AND NOT EXISTS (SELECT 1 FROM user_groups x WHERE x.user_id = u.id)
	AND NOT EXISTS (SELECT 1 FROM user_orgs x WHERE x.user_id = u.id))`

func pendingNames(t *testing.T, db *sqlite.DB) []string {
	t.Helper()
	var names []string
	err := core.New(db, core.Options{}).ListUsers(ctx, gatehouse.UserFilter{PendingOnly: true}, func(u *gatehouse.User) error {
		names = append(names, u.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// TestPendingAfterMigration: a store from before the pending index (schema
// 4) lists the same users as pending after it is upgraded.
func TestPendingAfterMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v4.db")
	if err := sqlite.CreateAtVersionForTest(path, 4); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO groups (name) VALUES ('ops')",
		"INSERT INTO orgs (name) VALUES ('acme')",
		"INSERT INTO scopes (name) VALUES ('eu')",
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct{ name, grant string }{
		{"none", ""},
		{"role", "INSERT INTO user_roles SELECT ?, id FROM roles WHERE name = 'Master'"},
		{"group", "INSERT INTO user_groups SELECT ?, id FROM groups"},
		{"org", "INSERT INTO user_orgs SELECT ?, id FROM orgs"},
		{"scope-only", "INSERT INTO user_scopes SELECT ?, id FROM scopes WHERE name = 'eu'"},
		{"disabled", "UPDATE users SET enabled = 0 WHERE id = ?"},
		{"admin", "UPDATE users SET msp_admin = 1 WHERE id = ?"},
	} {
		res, err := raw.Exec("INSERT INTO users (name, kind, created_at, created_via, created_by) VALUES (?, 'local', '2026-01-01T00:00:00.000000000Z', 'manual', 'test')", u.name)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		if u.grant != "" {
			if _, err := raw.Exec(u.grant, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw.Close()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, want := pendingNames(t, db), []string{"none", "scope-only"}; !slices.Equal(got, want) {
		t.Fatalf("pending after migration = %q, want %q", got, want)
	}
}

// TestPendingFlagFollowsGrants: whatever sequence of grants, revocations,
// new and deleted users a store sees, each user's ungranted flag (which the
// pending queue and its index read) agrees with the link tables.
func TestPendingFlagFollowsGrants(t *testing.T) {
	db, path := newStore(t)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := db.Change(ctx, func(gtx gatehouse.Tx) (*gatehouse.NewEvent, error) {
			tx := gtx.(*sqlite.Tx)
			// An event, or Change rolls back a change without one.
			return &gatehouse.NewEvent{Actor: "test", Action: "test.exec", Target: "t", Outcome: gatehouse.OutcomeSuccess}, tx.ExecForTest(q, args...)
		})
		if err != nil {
			t.Fatalf("%s %v: %v", q, args, err)
		}
	}
	exec("INSERT INTO groups (name) VALUES ('g1'), ('g2')")
	exec("INSERT INTO orgs (name) VALUES ('o1'), ('o2')")
	exec("INSERT INTO roles (name) VALUES ('r2')")
	rng := rand.New(rand.NewPCG(1, 2))
	const users = 12
	for i := range users {
		exec("INSERT INTO users (name, kind, created_at, created_via, created_by) VALUES (?, 'local', '', 'manual', 'test')", fmt.Sprint("u", i))
	}
	links := []struct{ table, col, names string }{
		{"user_roles", "role_id", "roles"},
		{"user_groups", "group_id", "groups"},
		{"user_orgs", "org_id", "orgs"},
	}
	for step := range 400 {
		user := fmt.Sprint("u", rng.IntN(users))
		l := links[rng.IntN(len(links))]
		switch op := rng.IntN(10); {
		case op < 5:
			exec(fmt.Sprintf("INSERT OR IGNORE INTO %s SELECT u.id, r.id FROM users u, %s r WHERE u.name = ? AND r.id = (SELECT id FROM %s ORDER BY random() LIMIT 1)",
				l.table, l.names, l.names), user)
		case op < 8:
			exec(fmt.Sprintf("DELETE FROM %s WHERE user_id = (SELECT id FROM users WHERE name = ?) AND %s = (SELECT %s FROM %s ORDER BY random() LIMIT 1)",
				l.table, l.col, l.col, l.table), user)
		case op < 9:
			exec(fmt.Sprintf("DELETE FROM %s WHERE user_id = (SELECT id FROM users WHERE name = ?)", l.table), user)
		default: // the user goes, its links with it (cascade), and comes back
			exec("DELETE FROM users WHERE name = ?", user)
			exec("INSERT INTO users (name, kind, created_at, created_via, created_by) VALUES (?, 'local', '', 'manual', 'test')", user)
		}
		var drift, links int
		if err := raw.QueryRow("SELECT (SELECT count(*) FROM user_roles) + (SELECT count(*) FROM user_groups) + (SELECT count(*) FROM user_orgs)").Scan(&links); err != nil || (step > 100 && links == 0) {
			t.Fatalf("step %d: no grants in the store (%v): the test is not exercising the triggers", step, err)
		}
		if err := raw.QueryRow(flagDrift).Scan(&drift); err != nil {
			t.Fatal(err)
		}
		if drift != 0 {
			t.Fatalf("step %d: %d user(s) with a stale ungranted flag", step, drift)
		}
	}
}

// TestPendingQueueUsesItsIndex: the pending queue is read from the covering
// partial index alone, with or without an age bound, so its cost follows the
// queue, not the user table (docs/performance.md). A column added to the
// user query but not to the index would make every listed user a table
// lookup; this fails first.
func TestPendingQueueUsesItsIndex(t *testing.T) {
	db, _ := newStore(t)
	for _, f := range []gatehouse.UserFilter{
		{PendingOnly: true},
		{PendingOnly: true, CreatedUntil: time.Now()},
		{PendingOnly: true, CreatedSince: time.Now().Add(-time.Hour)},
	} {
		plan, err := db.UsersQueryPlanForTest(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(plan, "\n")
		if !strings.Contains(first, "USING COVERING INDEX users_pending") || strings.Contains(plan, "TEMP B-TREE") {
			t.Fatalf("filter %+v: plan\n%s\nwant the covering users_pending index and no sort", f, plan)
		}
	}
}
