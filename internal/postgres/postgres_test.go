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

func open(t testing.TB, url string, opts Options) *DB {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock
	}
	db, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func connect(t testing.TB, url string) *pgx.Conn {
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

// runWriters runs writers goroutines, each with its own DB (and so its own
// connection), appending events events each; writer w's event i goes to
// tenantOf(w, i). Writer ids start at first.
func runWriters(url string, first, writers, events int, tenantOf func(w, i int) string) error {
	ctx := context.Background()
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := first; w < first+writers; w++ {
		wg.Go(func() {
			// Every writer opens a fresh database: the migrations race too.
			db, err := Open(ctx, url, Options{Now: clock, MaxConns: 1})
			if err != nil {
				errs <- fmt.Errorf("writer %d: open: %w", w, err)
				return
			}
			defer db.Close()
			for i := range events {
				tenant := tenantOf(w, i)
				_, err := db.Change(ctx, tenant, func(tx *Tx) (*gatehouse.NewEvent, error) {
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

// checkChain checks that tenant's chain holds exactly the events that the
// writers [0, writers) appended to it, with sequence numbers 1..n, no gap,
// no duplicate, each event once, and that it verifies.
func checkChain(t *testing.T, db *DB, tenant string, want map[string]bool) {
	t.Helper()
	ctx := context.Background()
	var seqs []int64
	seen := map[string]bool{}
	err := db.ListEvents(ctx, tenant, gatehouse.EventFilter{}, func(ev *gatehouse.Event) error {
		seqs = append(seqs, ev.Seq)
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
	if len(seqs) != len(want) {
		t.Errorf("tenant %s: %d events, want %d", tenant, len(seqs), len(want))
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
	res, err := db.VerifyChain(ctx, tenant, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Valid != int64(len(want)) || res.Head.Seq != int64(len(want)) {
		t.Errorf("tenant %s: verify = %+v (fault %+v), want %d valid events", tenant, res, res.Fault, len(want))
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
	if err := runWriters(url, 0, 16, 50, one); err != nil {
		t.Fatal(err)
	}
	checkChain(t, open(t, url, Options{}), "acme", expected(16, 50, one, "acme"))
}

// The same with two tenants interleaved: each has its own chain, 1..400.
func TestConcurrentWritersTwoTenants(t *testing.T) {
	url := pgtest.New(t)
	two := func(w, i int) string { return []string{"acme", "globex"}[(w+i)%2] }
	if err := runWriters(url, 0, 16, 50, two); err != nil {
		t.Fatal(err)
	}
	db := open(t, url, Options{})
	for _, tenant := range []string{"acme", "globex"} {
		want := expected(16, 50, two, tenant)
		if len(want) != 400 {
			t.Fatalf("test bug: %d events for %s", len(want), tenant)
		}
		checkChain(t, db, tenant, want)
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
	checkChain(t, open(t, url, Options{}), "acme", expected(16, 50, one, "acme"))
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
	return runWriters(f[0], first, writers, events, func(w, i int) string { return f[1] })
}

// appendN appends n events to tenant.
func appendN(t *testing.T, db *DB, tenant string, n int) {
	t.Helper()
	for i := range n {
		if _, err := db.Change(context.Background(), tenant, func(tx *Tx) (*gatehouse.NewEvent, error) {
			return event(tenant, 0, i), nil
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
	db := open(t, url, Options{})
	appendN(t, db, "acme", 3)
	before, err := db.VerifyChain(context.Background(), "acme", nil, nil)
	if err != nil || !before.OK() {
		t.Fatal(before, err)
	}
	conn := connect(t, url)
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
	after, err := db.VerifyChain(context.Background(), "acme", nil, nil)
	if err != nil || after != before {
		t.Errorf("after refused edits: %+v, %v; want %+v", after, err, before)
	}
}

// The application role (GrantApplicationRole) appends and reads, and is
// refused UPDATE, DELETE, and disabling the triggers.
func TestApplicationRole(t *testing.T) {
	url := pgtest.New(t)
	owner := open(t, url, Options{})
	conn := connect(t, url)
	role := fmt.Sprintf("gatehouse_app_%d", time.Now().UnixNano())
	if _, err := conn.Exec(context.Background(), "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP OWNED BY "+role)
		conn.Exec(context.Background(), "DROP ROLE "+role)
	})
	if err := owner.GrantApplicationRole(context.Background(), role); err != nil {
		t.Fatal(err)
	}
	appURL := strings.Replace(url, "user=gatehouse_test", "user="+role, 1)
	app := open(t, appURL, Options{})
	appendN(t, app, "acme", 3)
	if res, err := app.VerifyChain(context.Background(), "acme", nil, nil); err != nil || !res.OK() || res.Valid != 3 {
		t.Fatalf("verify as the application role: %+v, %v", res, err)
	}
	appConn := connect(t, appURL)
	for _, q := range []string{
		"UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
		"DELETE FROM audit_events WHERE seq = 3",
		"TRUNCATE audit_events",
		"ALTER TABLE audit_events DISABLE TRIGGER USER",
		"DELETE FROM audit_heads",
	} {
		_, err := appConn.Exec(context.Background(), q)
		if sqlstate(err) != codeInsufficientPriv {
			t.Errorf("%s as the application role: error %v, want permission denied", q, err)
		}
	}
}

// A database migrated by a newer gatehouse is refused, and not changed.
func TestNewerSchemaRefused(t *testing.T) {
	url := pgtest.New(t)
	db := open(t, url, Options{})
	appendN(t, db, "acme", 2)
	conn := connect(t, url)
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
	if v, err := db.schemaVersion(context.Background(), conn); err != nil || v != SchemaVersion() {
		t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion())
	}
	// Opening a current database writes nothing.
	current := snapshot()
	open(t, url, Options{})
	if got := snapshot(); got != current {
		t.Errorf("opening a current database changed it:\n%s\n%s", current, got)
	}
	newer := SchemaVersion() + 1
	if _, err := conn.Exec(context.Background(), "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future.sql')", newer); err != nil {
		t.Fatal(err)
	}
	before := snapshot()
	_, err := Open(context.Background(), url, Options{})
	wantCode(t, err, gatehouse.EUNAVAILABLE, fmt.Sprintf("schema version %d, newer than this gatehouse supports (%d)", newer, SchemaVersion()))
	if after := snapshot(); after != before {
		t.Errorf("the refused open changed the database:\n%s\n%s", before, after)
	}
}

// Opening an empty database creates the schema at the current version;
// concurrent opens (TestConcurrentWriters) migrate it once.
func TestMigrateFresh(t *testing.T) {
	url := pgtest.New(t)
	open(t, url, Options{})
	conn := connect(t, url)
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
		{"Truncated", "DELETE FROM audit_events WHERE tenant_id = 'acme' AND seq = 10", 10, "the chain ends at event 9"},
		{"BadTime", "UPDATE audit_events SET time = '2026-05-01 12:00:00' WHERE tenant_id = 'acme' AND seq = 7", 7, "event 7's stored time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.New(t)
			db := open(t, url, Options{})
			appendN(t, db, "acme", 10)
			appendN(t, db, "globex", 10)
			tamper(t, connect(t, url), tc.sql)
			res, err := db.VerifyChain(ctx, "acme", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() || res.Fault.Seq != tc.seq || !strings.Contains(res.Fault.Problem, tc.problem) {
				t.Errorf("verify = %+v, fault %+v; want a fault at %d: %q", res, res.Fault, tc.seq, tc.problem)
			}
			// The other tenant's chain is untouched and still verifies.
			if res, err := db.VerifyChain(ctx, "globex", nil, nil); err != nil || !res.OK() || res.Valid != 10 {
				t.Errorf("globex: %+v, %v", res, err)
			}
		})
	}
}

// A head recorded elsewhere must be found with its hash.
func TestVerifyRecordedHead(t *testing.T) {
	ctx := context.Background()
	db := open(t, pgtest.New(t), Options{})
	appendN(t, db, "acme", 5)
	head, err := db.Head(ctx, "acme")
	if err != nil || head.Seq != 5 {
		t.Fatal(head, err)
	}
	if res, err := db.VerifyChain(ctx, "acme", &head, nil); err != nil || !res.OK() {
		t.Errorf("verify with the true head: %+v, %v", res, err)
	}
	forged := gatehouse.ChainHead{Seq: 3, Hash: strings.Repeat("ab", 32)}
	res, err := db.VerifyChain(ctx, "acme", &forged, nil)
	if err != nil || res.OK() || res.Fault.Seq != 3 {
		t.Errorf("verify with a forged head: %+v, %v", res, err)
	}
	_, err = db.Head(ctx, "nobody")
	wantCode(t, err, gatehouse.ECHECKFAILED, "empty")
}
