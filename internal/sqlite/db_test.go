package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

var ctx = context.Background()

// fixedClock returns a clock that starts at t and advances a second a call,
// so events get distinct, predictable times.
func fixedClock(t time.Time) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func newStore(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "gatehouse.db")
	db, created, err := sqlite.Create(ctx, path, sqlite.Options{OSUser: "tester", Now: fixedClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))},
		core.Init(core.InitParams{Mode: gatehouse.ModeOnPrem, Actor: "alice"}, "sqlite", sqlite.SchemaVersion()))
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("Create did not report a new store")
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestCreate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db, path := newStore(t)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("store mode = %v, want %v", got, want)
		}
		dst, _ := os.Stat(filepath.Dir(path))
		if got, want := dst.Mode().Perm(), os.FileMode(0o700); got != want {
			t.Errorf("directory mode = %v, want %v", got, want)
		}
		var events []gatehouse.Event
		if err := db.ListEvents(ctx, gatehouse.EventFilter{}, func(ev *gatehouse.Event) error {
			events = append(events, *ev)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Action != "store.init" || events[0].Actor != "alice" || events[0].OSUser != "tester" {
			t.Fatalf("events = %+v, want one store.init by alice as tester", events)
		}
	})

	t.Run("Again", func(t *testing.T) {
		db, path := newStore(t)
		db.Close()
		db2, created, err := sqlite.Create(ctx, path, sqlite.Options{}, core.Init(core.InitParams{Mode: gatehouse.ModeOnPrem}, "sqlite", sqlite.SchemaVersion()))
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		if created {
			t.Error("second Create reported a new store")
		}
		h, err := db2.Head(ctx)
		if err != nil || h.Seq != 1 {
			t.Errorf("head after second Create = %+v, %v; want seq 1", h, err)
		}
	})

}

func TestOpen(t *testing.T) {
	t.Run("ErrMissing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "none.db")
		_, err := sqlite.Open(ctx, path, sqlite.Options{})
		if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
			t.Fatalf("err = %v, want unavailable", err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Error("Open created the missing store")
		}
	})

	refused := func(t *testing.T, path string) {
		t.Helper()
		before, _ := os.ReadFile(path)
		_, err := sqlite.Open(ctx, path, sqlite.Options{})
		if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
			t.Fatalf("err = %v, want unavailable", err)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(before, after) {
			t.Error("refused store file was modified")
		}
	}

	t.Run("ErrGarbage", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "garbage.db")
		os.WriteFile(path, bytes.Repeat([]byte("not a database\n"), 500), 0o600)
		refused(t, path)
	})

	t.Run("ErrOtherSQLite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "other.db")
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		refused(t, path)
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		db, path := newStore(t)
		db.Close()
		raw, _ := sql.Open("sqlite", path)
		if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		refused(t, path)
	})
}

// TestConcurrentChanges shows that writers in one process queue on the
// write connection, every change gets its own event and the chain holds.
func TestConcurrentChanges(t *testing.T) {
	db, _ := newStore(t)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.Change(ctx, func(gatehouse.Tx) (*gatehouse.NewEvent, error) {
				return &gatehouse.NewEvent{Action: "test.change", Target: "t", Outcome: gatehouse.OutcomeSuccess,
					Details: map[string]any{"i": i}}, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.VerifyChain(ctx, gatehouse.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Valid != n+1 {
		t.Fatalf("verify = %+v, want %d valid events", res, n+1)
	}
}

// TestChangeRollsBack shows that a failing change leaves neither its writes
// nor its event behind.
func TestChangeRollsBack(t *testing.T) {
	db, _ := newStore(t)
	_, err := db.Change(ctx, func(gtx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		tx := gtx.(*sqlite.Tx)
		if err := tx.SetSetting("probe", "x"); err != nil {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "no")
	})
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Fatalf("err = %v", err)
	}
	h, _ := db.Head(ctx)
	if h.Seq != 1 {
		t.Errorf("head = %d, want 1: an event was written for a failed change", h.Seq)
	}
	db.View(ctx, func(tx gatehouse.View) error {
		if _, ok, _ := tx.Setting("probe"); ok {
			t.Error("the failed change's setting was committed")
		}
		return nil
	})
}

// TestAppendOnly shows that the store itself refuses to edit or delete events.
func TestAppendOnly(t *testing.T) {
	db, path := newStore(t)
	db.Close()
	raw, _ := sql.Open("sqlite", path)
	defer raw.Close()
	for _, q := range []string{"UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"} {
		if _, err := raw.Exec(q); err == nil {
			t.Errorf("%s: succeeded, want refused", q)
		}
	}
}

func TestListEventsFilter(t *testing.T) {
	db, _ := newStore(t)
	for _, a := range []string{"support.request", "support.rotate", "supportx.other", "sso.allow"} {
		if _, err := db.Change(ctx, func(gatehouse.Tx) (*gatehouse.NewEvent, error) {
			return &gatehouse.NewEvent{Action: a, Target: "t", Outcome: gatehouse.OutcomeSuccess}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(f gatehouse.EventFilter) (got []string) {
		db.ListEvents(ctx, f, func(ev *gatehouse.Event) error { got = append(got, ev.Action); return nil })
		return got
	}
	if got := list(gatehouse.EventFilter{Action: "support.*"}); len(got) != 2 || got[0] != "support.request" || got[1] != "support.rotate" {
		t.Errorf("support.* = %v", got)
	}
	if got := list(gatehouse.EventFilter{Limit: 2}); len(got) != 2 || got[0] != "supportx.other" || got[1] != "sso.allow" {
		t.Errorf("limit 2 = %v, want the last two in order", got)
	}
}

// TestConflict shows that a unique-constraint failure surfaces as a
// conflict, with the change rolled back.
func TestConflict(t *testing.T) {
	db, _ := newStore(t)
	_, err := db.Change(ctx, func(gtx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		tx := gtx.(*sqlite.Tx)
		// settings.key is the primary key: a second plain INSERT collides.
		if err := tx.SetSetting("probe", "1"); err != nil {
			return nil, err
		}
		return nil, tx.InsertSettingForTest("probe", "2")
	})
	if got := gatehouse.ErrorCode(err); got != gatehouse.ECONFLICT {
		t.Fatalf("code = %q (%v), want conflict", got, err)
	}
}

// TestMigrateForward: a store written by an older gatehouse is upgraded on
// open, in one transaction with a store.migrate event, and stays verifiable.
func TestMigrateForward(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	if err := sqlite.CreateAtVersionForTest(path, 1); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var last gatehouse.Event
	db.ListEvents(ctx, gatehouse.EventFilter{Limit: 1}, func(ev *gatehouse.Event) error { last = *ev; return nil })
	if last.Action != "store.migrate" || last.Actor != gatehouse.ActorSystem || !strings.Contains(string(last.Details), `"from_version":1`) {
		t.Fatalf("last event = %+v, want store.migrate from 1 by system", last)
	}
	if res, _ := db.VerifyChain(ctx, gatehouse.VerifyOptions{}); !res.OK() || res.Valid != 2 {
		t.Fatalf("verify = %+v", res)
	}
	if _, err := core.New(db, core.Options{}).SupportState(ctx); err != nil {
		t.Fatalf("the migrated schema lacks support tables: %v", err)
	}
}
