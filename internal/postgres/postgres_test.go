package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// envWriter, set by TestWritersInProcesses, makes the test binary a writer
// process instead of running tests: "URL TENANT WRITERS EVENTS ID".
const envWriter = "GATEHOUSE_PGTEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(envWriter); spec != "" {
		if err := writerProcess(spec); err != nil {
			fmt.Fprintln(os.Stderr, "writer process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

var clock = func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }

// initTenant is the InitFunc of the tests: the settings 'gatehouse init'
// writes, and its store.init event.
func initTenant(tenant string) gatehouse.InitFunc {
	return func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		mode := "cloud"
		if tenant == "" {
			mode = "onprem"
		}
		for k, v := range map[string]string{"mode": mode, "tenant_id": tenant, "created_at": audit.FormatTime(tx.Now())} {
			if err := tx.SetSetting(k, v); err != nil {
				return nil, err
			}
		}
		return &gatehouse.NewEvent{Actor: "op", Action: "store.init", Target: "store", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"mode": mode, "tenant_id": tenant}}, nil
	}
}

// create opens tenant in the database at url, creating it if needed.
func create(t testing.TB, url, tenant string, opts Options) *Store {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock
	}
	opts.Tenant = tenant
	s, _, err := Create(context.Background(), url, opts, initTenant(tenant))
	if err != nil {
		t.Fatalf("Create(%q): %v", tenant, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// open opens an existing tenant.
func open(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock
	}
	s, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// event is what the writers append: details say who wrote it, so a lost or
// duplicated change shows.
func event(tenant string, writer, i int) *gatehouse.NewEvent {
	return &gatehouse.NewEvent{
		Actor: fmt.Sprintf("writer-%d", writer), OSUser: "test", Action: "test.append", Target: tenant,
		Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{"tenant": tenant, "writer": writer, "i": i},
	}
}

// runWriters runs writers goroutines, each with its own Store per tenant
// (and so its own connections), appending events events each; writer w's
// event i goes to tenantOf(w, i), one of tenants. Writer ids start at
// first.
func runWriters(url string, first, writers, events int, tenants []string, tenantOf func(w, i int) string) error {
	ctx := context.Background()
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := first; w < first+writers; w++ {
		wg.Go(func() {
			// Every writer creates the tenants in a fresh database: the
			// migrations and the creations race too.
			stores := map[string]*Store{}
			for _, tenant := range tenants {
				s, _, err := Create(ctx, url, Options{Tenant: tenant, Now: clock, MaxConns: 1}, initTenant(tenant))
				if err != nil {
					errs <- fmt.Errorf("writer %d: create %s: %w", w, tenant, err)
					return
				}
				defer s.Close()
				stores[tenant] = s
			}
			for i := range events {
				tenant := tenantOf(w, i)
				_, err := stores[tenant].Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
					return event(tenant, w, i), nil
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d, event %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// checkChain checks that tenant's chain holds its store.init event at seq
// 1 and then exactly the events that the writers [0, writers) appended to
// it, with sequence numbers 1..n, no gap, no duplicate, each event once,
// and that it verifies.
func checkChain(t *testing.T, s *Store, want map[string]bool) {
	t.Helper()
	ctx := context.Background()
	tenant := s.Tenant()
	var seqs []int64
	seen := map[string]bool{}
	err := s.ListEvents(ctx, gatehouse.EventFilter{}, func(ev *gatehouse.Event) error {
		seqs = append(seqs, ev.Seq)
		if (ev.Seq == 1) != (ev.Action == "store.init") {
			t.Errorf("tenant %s: event %d is %s; want store.init as event 1 only", tenant, ev.Seq, ev.Action)
		}
		if ev.Action == "store.init" {
			return nil
		}
		var d struct {
			Tenant    string
			Writer, I int
		}
		if err := json.Unmarshal(ev.Details, &d); err != nil {
			return err
		}
		key := fmt.Sprintf("%s/%d/%d", d.Tenant, d.Writer, d.I)
		if seen[key] {
			t.Errorf("tenant %s: event %s appended twice", tenant, key)
		}
		seen[key] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != len(want)+1 {
		t.Errorf("tenant %s: %d events, want %d and store.init", tenant, len(seqs), len(want))
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("tenant %s: event %d has seq %d: gap or duplicate", tenant, i+1, s)
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("tenant %s: event %s is missing", tenant, key)
		}
	}
	for key := range seen {
		if !want[key] {
			t.Errorf("tenant %s: holds event %s, which is not its own", tenant, key)
		}
	}
	res, err := s.VerifyChain(ctx, gatehouse.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(len(want) + 1); !res.OK() || res.Valid != n || res.Head.Seq != n {
		t.Errorf("tenant %s: verify = %+v (fault %+v), want %d valid events", tenant, res, res.Fault, n)
	}
}

func expected(writers, events int, tenantOf func(w, i int) string, tenant string) map[string]bool {
	want := map[string]bool{}
	for w := range writers {
		for i := range events {
			if tenantOf(w, i) == tenant {
				want[fmt.Sprintf("%s/%d/%d", tenant, w, i)] = true
			}
		}
	}
	return want
}

// 16 writers, each with its own connection, append 50 events each to one
// tenant: 800 events, seq 1..800, and a chain without a fork.
func TestConcurrentWriters(t *testing.T) {
	url := pgtest.New(t)
	one := func(w, i int) string { return "acme" }
	if err := runWriters(url, 0, 16, 50, []string{"acme"}, one); err != nil {
		t.Fatal(err)
	}
	checkChain(t, open(t, url, Options{Tenant: "acme"}), expected(16, 50, one, "acme"))
}

// The same with two tenants interleaved: each has its own chain, 1..400.
func TestConcurrentWritersTwoTenants(t *testing.T) {
	url := pgtest.New(t)
	two := func(w, i int) string { return []string{"acme", "globex"}[(w+i)%2] }
	if err := runWriters(url, 0, 16, 50, []string{"acme", "globex"}, two); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"acme", "globex"} {
		want := expected(16, 50, two, tenant)
		if len(want) != 400 {
			t.Fatalf("test bug: %d events for %s", len(want), tenant)
		}
		checkChain(t, open(t, url, Options{Tenant: tenant}), want)
	}
}

// The same 16 writers, spread over 4 processes (the test binary again).
func TestWritersInProcesses(t *testing.T) {
	url := pgtest.New(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for p := range 4 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s acme 4 50 %d", envWriter, url, 4*p))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", p, err, outs[p])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	one := func(w, i int) string { return "acme" }
	checkChain(t, open(t, url, Options{Tenant: "acme"}), expected(16, 50, one, "acme"))
}

func writerProcess(spec string) error {
	f := strings.Fields(spec)
	if len(f) != 5 {
		return fmt.Errorf("%s=%q: want URL TENANT WRITERS EVENTS FIRST", envWriter, spec)
	}
	writers, err1 := strconv.Atoi(f[2])
	events, err2 := strconv.Atoi(f[3])
	first, err3 := strconv.Atoi(f[4])
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	return runWriters(f[0], first, writers, events, []string{f[1]}, func(w, i int) string { return f[1] })
}

// appendN appends n events to s's tenant.
func appendN(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Change(context.Background(), func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
			return event(s.Tenant(), 0, i), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func wantCode(t *testing.T, err error, code gatehouse.Code, contains string) {
	t.Helper()
	if gatehouse.ErrorCode(err) != code || !strings.Contains(gatehouse.ErrorMessage(err), contains) {
		t.Errorf("error %v (code %q), want code %q and a message containing %q", err, gatehouse.ErrorCode(err), code, contains)
	}
}

func sqlstate(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// UPDATE, DELETE and TRUNCATE of events are refused, even for the owner,
// and the event is unchanged.
func TestAppendOnly(t *testing.T) {
	url := pgtest.New(t)
	s := create(t, url, "acme", Options{})
	appendN(t, s, 3)
	before, err := s.VerifyChain(context.Background(), gatehouse.VerifyOptions{})
	if err != nil || !before.OK() {
		t.Fatal(before, err)
	}
	conn := dial(t, url)
	for _, q := range []string{
		"UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
		"DELETE FROM audit_events WHERE seq = 3",
		"TRUNCATE audit_events",
		"DELETE FROM audit_heads",
		"UPDATE audit_heads SET seq = 1, hash = 'x'",
	} {
		_, err := conn.Exec(context.Background(), q)
		if sqlstate(err) != codeInsufficientPriv || !strings.Contains(err.Error(), "only") {
			t.Errorf("%s: error %v, want the append-only refusal", q, err)
		}
	}
	after, err := s.VerifyChain(context.Background(), gatehouse.VerifyOptions{})
	if err != nil || *after.Tree != *before.Tree {
		t.Errorf("after refused edits: tree %+v, want %+v", after.Tree, before.Tree)
	}
	after.Tree, before.Tree = nil, nil
	if err != nil || after != before {
		t.Errorf("after refused edits: %+v, %v; want %+v", after, err, before)
	}
}

// The application role (GrantApplicationRole) creates a tenant, appends,
// reads and writes every table but the events', and is refused UPDATE,
// DELETE, and disabling the triggers.
func TestApplicationRole(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	owner := create(t, url, "acme", Options{})
	conn := dial(t, url)
	role := fmt.Sprintf("gatehouse_app_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP OWNED BY "+role)
		conn.Exec(context.Background(), "DROP ROLE "+role)
	})
	if err := owner.GrantApplicationRole(ctx, role); err != nil {
		t.Fatal(err)
	}
	appURL := strings.Replace(url, "user=gatehouse_test", "user="+role, 1)
	app := create(t, appURL, "globex", Options{})
	appendN(t, app, 3)
	// Every noun, as the application role.
	if _, err := app.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		return event("globex", 0, 0), exerciseAll(tx)
	}); err != nil {
		t.Fatalf("a change of every table as the application role: %v", err)
	}
	if res, err := app.VerifyChain(ctx, gatehouse.VerifyOptions{}); err != nil || !res.OK() || res.Valid != 5 {
		t.Fatalf("verify as the application role: %+v, %v", res, err)
	}
	appConn := dial(t, appURL)
	for _, q := range []string{
		"UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
		"DELETE FROM audit_events WHERE seq = 3",
		"TRUNCATE audit_events",
		"ALTER TABLE audit_events DISABLE TRIGGER USER",
		"DELETE FROM audit_heads",
		"DELETE FROM tenants",
		"DROP TABLE users",
	} {
		_, err := appConn.Exec(ctx, q)
		if sqlstate(err) != codeInsufficientPriv && sqlstate(err) != "42501" {
			t.Errorf("%s as the application role: error %v, want permission denied", q, err)
		}
	}
}

// exerciseAll writes to every table through the Tx and reads it back.
func exerciseAll(tx gatehouse.Tx) error {
	now := tx.Now()
	if err := tx.SetSetting("sso.allow", "true"); err != nil {
		return err
	}
	id, err := tx.InsertUser(gatehouse.UserRow{Name: "ann", Kind: "local", Enabled: true, CreatedVia: "manual", CreatedBy: "op", PasswordHash: "h"})
	if err != nil {
		return err
	}
	if err := tx.AddRecord("group", "ops"); err != nil {
		return err
	}
	for _, kind := range []string{"role", "scope"} {
		if _, err := tx.Grant(kind, id, 1); err != nil {
			return err
		}
	}
	if _, err := tx.Revoke("scope", id, 1); err != nil {
		return err
	}
	if _, err := tx.SetExempt(id, true, "op"); err != nil {
		return err
	}
	if err := tx.PutFailureRecord(id, "", gatehouse.FailureRecord{Failures: 1, WindowStart: now}); err != nil {
		return err
	}
	if err := tx.InsertAttempt(gatehouse.SignInAttempt{Time: now, Decision: "refused", Reason: "x"}, id); err != nil {
		return err
	}
	sup, err := tx.InsertUser(gatehouse.UserRow{Name: "vendorsupport", Kind: "support", Enabled: true, CreatedVia: "support.request", CreatedBy: "op"})
	if err != nil {
		return err
	}
	if err := tx.PutSupportCredential(sup, gatehouse.CredentialRow{PasswordHash: "h", RequestID: "r1", IssuedAt: now, ExpiresAt: now.Add(time.Hour), EnvelopeSHA256: "ab"}); err != nil {
		return err
	}
	if _, err := tx.AddRecipient(gatehouse.Recipient{Kind: "x25519", Recipient: "age1x", Fingerprint: "SHA256:x", AddedAt: now, AddedBy: "op"}); err != nil {
		return err
	}
	u, found, err := tx.UserByID(id)
	if err != nil || !found || len(u.Roles) != 1 || !u.SSOExempt {
		return fmt.Errorf("read back %+v, %v, %v", u, found, err)
	}
	return nil
}

// A database migrated by a newer gatehouse is refused, and not changed.
func TestNewerSchemaRefused(t *testing.T) {
	url := pgtest.New(t)
	s := create(t, url, "acme", Options{})
	appendN(t, s, 2)
	conn := dial(t, url)
	snapshot := func() string {
		var s string
		err := conn.QueryRow(context.Background(), `SELECT
			(SELECT string_agg(version || ':' || name || ':' || applied_at, ',' ORDER BY version) FROM schema_migrations) || '|' ||
			(SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = current_schema()) || '|' ||
			(SELECT string_agg(tenant_id || seq || hash, ',' ORDER BY tenant_id, seq) FROM audit_events) || '|' ||
			(SELECT string_agg(tenant_id || seq || hash, ',') FROM audit_heads)`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if v, err := schemaVersion(context.Background(), conn); err != nil || v != SchemaVersion() {
		t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion())
	}
	// Opening a current database writes nothing.
	current := snapshot()
	open(t, url, Options{Tenant: "acme"})
	if got := snapshot(); got != current {
		t.Errorf("opening a current database changed it:\n%s\n%s", current, got)
	}
	newer := SchemaVersion() + 1
	if _, err := conn.Exec(context.Background(), "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future.sql')", newer); err != nil {
		t.Fatal(err)
	}
	before := snapshot()
	for _, opts := range []Options{{Tenant: "acme"}, {Tenant: "acme", ReadOnly: true, OlderSchema: true}} {
		_, err := Open(context.Background(), url, opts)
		wantCode(t, err, gatehouse.EUNAVAILABLE, fmt.Sprintf("schema version %d, newer than this gatehouse supports (%d)", newer, SchemaVersion()))
	}
	_, _, err := Create(context.Background(), url, Options{Tenant: "globex"}, initTenant("globex"))
	wantCode(t, err, gatehouse.EUNAVAILABLE, "newer than this gatehouse supports")
	if after := snapshot(); after != before {
		t.Errorf("the refused open changed the database:\n%s\n%s", before, after)
	}
}

// Creating a tenant in an empty database creates the schema at the
// current version; concurrent creates (TestConcurrentWriters) migrate it once.
func TestMigrateFresh(t *testing.T) {
	url := pgtest.New(t)
	create(t, url, "acme", Options{})
	conn := dial(t, url)
	var n, max int
	if err := conn.QueryRow(context.Background(), "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion() || max != SchemaVersion() {
		t.Errorf("schema_migrations has %d rows up to %d, want %d", n, max, SchemaVersion())
	}
}

// An edited event is found by verify, which names its seq; so are an
// event removed from the end and a time not in gatehouse's form.
func TestTamperDetected(t *testing.T) {
	ctx := context.Background()
	tamper := func(t *testing.T, conn *pgx.Conn, q string) {
		t.Helper()
		// Only the owner can do this: it disables the append-only triggers.
		for _, s := range []string{"ALTER TABLE audit_events DISABLE TRIGGER USER", q, "ALTER TABLE audit_events ENABLE TRIGGER USER"} {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name, sql string
		seq       int64
		problem   string
	}{
		{"Altered", "UPDATE audit_events SET actor = 'mallory' WHERE tenant_id = 'acme' AND seq = 5", 5, "event 5 was altered"},
		{"Removed", "DELETE FROM audit_events WHERE tenant_id = 'acme' AND seq = 4", 4, "event 4 is missing"},
		{"Truncated", "DELETE FROM audit_events WHERE tenant_id = 'acme' AND seq = 11", 11, "the chain ends at event 10"},
		{"BadTime", "UPDATE audit_events SET time = '2026-05-01 12:00:00' WHERE tenant_id = 'acme' AND seq = 7", 7, "event 7's stored time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.New(t)
			acme, globex := create(t, url, "acme", Options{}), create(t, url, "globex", Options{})
			appendN(t, acme, 10)
			appendN(t, globex, 10)
			tamper(t, dial(t, url), tc.sql)
			res, err := acme.VerifyChain(ctx, gatehouse.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() || res.Fault.Seq != tc.seq || !strings.Contains(res.Fault.Problem, tc.problem) {
				t.Errorf("verify = %+v, fault %+v; want a fault at %d: %q", res, res.Fault, tc.seq, tc.problem)
			}
			// The other tenant's chain is untouched and still verifies.
			if res, err := globex.VerifyChain(ctx, gatehouse.VerifyOptions{}); err != nil || !res.OK() || res.Valid != 11 {
				t.Errorf("globex: %+v, %v", res, err)
			}
		})
	}
}

// A head recorded elsewhere must be found with its hash.
func TestVerifyRecordedHead(t *testing.T) {
	ctx := context.Background()
	s := create(t, pgtest.New(t), "acme", Options{})
	appendN(t, s, 5)
	head, err := s.Head(ctx)
	if err != nil || head.Seq != 6 {
		t.Fatal(head, err)
	}
	if res, err := s.VerifyChain(ctx, gatehouse.VerifyOptions{Head: &head}); err != nil || !res.OK() {
		t.Errorf("verify with the true head: %+v, %v", res, err)
	}
	forged := gatehouse.ChainHead{Seq: 3, Hash: strings.Repeat("ab", 32)}
	res, err := s.VerifyChain(ctx, gatehouse.VerifyOptions{Head: &forged})
	if err != nil || res.OK() || res.Fault.Seq != 3 {
		t.Errorf("verify with a forged head: %+v, %v", res, err)
	}
}
