package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Change's contract: change and event commit together; no event rolls the
// change back; an error rolls back and is classified; conflicts between
// transactions are retried inside.
func TestChange(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	db := create(t, url, "acme", Options{})
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, "CREATE TABLE scratch (k TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	insert := func(k string) func(tx gatehouse.Tx) error {
		return func(tx gatehouse.Tx) error {
			ptx := tx.(*Tx)
			_, err := ptx.q.Exec(ptx.ctx, "INSERT INTO scratch (k) VALUES ($1)", k)
			return err
		}
	}
	raise := func(tx gatehouse.Tx, code string) error {
		ptx := tx.(*Tx)
		_, err := ptx.q.Exec(ptx.ctx, "DO $$BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '"+code+"'; END$$")
		return err
	}
	rows := func() (keys string, events int64) {
		t.Helper()
		if err := conn.QueryRow(ctx, "SELECT coalesce(string_agg(k, ',' ORDER BY k), ''), (SELECT count(*) FROM audit_events) FROM scratch").Scan(&keys, &events); err != nil {
			t.Fatal(err)
		}
		return keys, events
	}
	check := func(t *testing.T, keys string, events int64) {
		t.Helper()
		if k, n := rows(); k != keys || n != events {
			t.Errorf("scratch %q with %d events, want %q with %d", k, n, keys, events)
		}
	}

	t.Run("OK", func(t *testing.T) {
		ev, err := db.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
			if tx.(*Tx).Tenant() != "acme" || !tx.Now().Equal(clock()) {
				t.Errorf("tx tenant %q, now %v", tx.(*Tx).Tenant(), tx.Now())
			}
			return event("acme", 0, 0), insert("a")(tx)
		})
		if err != nil || ev.Seq != 2 || !ev.Time.Equal(clock()) {
			t.Fatalf("Change = %+v, %v", ev, err)
		}
		check(t, "a", 2)
	})
	t.Run("NoEvent", func(t *testing.T) {
		ev, err := db.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) { return nil, insert("b")(tx) })
		if ev != nil || err != nil {
			t.Errorf("Change = %+v, %v; want nothing", ev, err)
		}
		check(t, "a", 2)
	})
	t.Run("ErrFn", func(t *testing.T) {
		_, err := db.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
			if err := insert("c")(tx); err != nil {
				return nil, err
			}
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "no such thing")
		})
		wantCode(t, err, gatehouse.EINVALID, "no such thing")
		check(t, "a", 2)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		_, err := db.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) { return event("acme", 0, 1), insert("a")(tx) })
		wantCode(t, err, gatehouse.ECONFLICT, "already exists")
		check(t, "a", 2)
	})
	// A serialisation failure or deadlock, raised by the server, runs the
	// transaction again; the caller sees only the success.
	for _, code := range []string{"serialization_failure", "deadlock_detected"} {
		t.Run("Retry_"+code, func(t *testing.T) {
			keys, events := rows()
			calls := 0
			ev, err := db.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
				calls++
				if err := insert(code)(tx); err != nil {
					return nil, err
				}
				if calls < 3 {
					return nil, raise(tx, code)
				}
				return event("acme", 0, 100+len(code)), nil
			})
			if err != nil || calls != 3 || ev.Seq != events+1 {
				t.Fatalf("Change = %+v, %v after %d calls; want seq %d after 3", ev, err, calls, events+1)
			}
			want := strings.Split(keys+","+code, ",")
			slices.Sort(want)
			check(t, strings.Join(want, ","), events+1)
		})
	}
	t.Run("ErrRetriesExhausted", func(t *testing.T) {
		keys, events := rows()
		calls := 0
		_, err := db.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
			calls++
			return nil, raise(tx, "serialization_failure")
		})
		wantCode(t, err, gatehouse.EUNAVAILABLE, "too busy")
		if calls != maxAttempts {
			t.Errorf("%d attempts, want %d", calls, maxAttempts)
		}
		check(t, keys, events)
	})
	t.Run("ErrReadOnly", func(t *testing.T) {
		ro := open(t, url, Options{Tenant: "acme", ReadOnly: true})
		keys, events := rows()
		calls := 0
		_, err := ro.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
			calls++
			return event("acme", 0, 0), insert("ro")(tx)
		})
		wantCode(t, err, gatehouse.EINTERNAL, "read-only")
		if calls != 0 {
			t.Errorf("fn ran %d times in a read-only store", calls)
		}
		check(t, keys, events)
		// It reads.
		if h, err := ro.Head(ctx); err != nil || h.Seq != events {
			t.Errorf("Head of the read-only store = %+v, %v", h, err)
		}
	})
	t.Run("ErrStatementTimeout", func(t *testing.T) {
		slow := open(t, url, Options{Tenant: "acme", StatementTimeout: 100 * time.Millisecond})
		start := time.Now()
		_, err := slow.Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
			ptx := tx.(*Tx)
			_, err := ptx.q.Exec(ptx.ctx, "SELECT pg_sleep(5)")
			return event("acme", 0, 0), err
		})
		wantCode(t, err, gatehouse.EUNAVAILABLE, "timed out")
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("the statement ran %v; the timeout was 100ms", d)
		}
	})
	t.Run("ErrBadURL", func(t *testing.T) {
		_, err := Open(ctx, "postgres://u:s3cret@[::1", Options{})
		wantCode(t, err, gatehouse.EINVALID, "URL")
		if strings.Contains(gatehouse.ErrorMessage(err), "s3cret") {
			t.Errorf("the message shows the password: %v", err)
		}
	})
}

// Listing selects within one tenant, in sequence order, and never shows
// another tenant's events.
func TestListEvents(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	stores := map[string]*Store{"acme": create(t, url, "acme", Options{}), "globex": create(t, url, "globex", Options{})}
	for i, a := range []string{"support.request", "sso.signin", "support.logon", "supportx.other", "support.revoke"} {
		for _, tenant := range []string{"acme", "globex"} {
			if _, err := stores[tenant].Change(ctx, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
				return &gatehouse.NewEvent{Actor: "op", Action: a, Target: tenant + "-" + a, Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{"i": i}}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := func(tenant string, f gatehouse.EventFilter) string {
		t.Helper()
		var got []string
		err := stores[tenant].ListEvents(ctx, f, func(ev *gatehouse.Event) error {
			if ev.Action == "store.init" {
				return nil
			}
			if !strings.HasPrefix(ev.Target, tenant+"-") {
				t.Errorf("tenant %s lists %s's event %s", tenant, ev.Target, ev.Action)
			}
			got = append(got, ev.Action)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, " ")
	}
	for _, tc := range []struct {
		f    gatehouse.EventFilter
		want string
	}{
		{gatehouse.EventFilter{}, "support.request sso.signin support.logon supportx.other support.revoke"},
		{gatehouse.EventFilter{Action: "support.*"}, "support.request support.logon support.revoke"},
		{gatehouse.EventFilter{Action: "sso.signin"}, "sso.signin"},
		{gatehouse.EventFilter{Limit: 2}, "supportx.other support.revoke"},
		{gatehouse.EventFilter{AfterSeq: 4, Action: "support.*"}, "support.revoke"},
		{gatehouse.EventFilter{Since: clock(), Until: clock().Add(time.Second), Actor: "op"}, "support.request sso.signin support.logon supportx.other support.revoke"},
		{gatehouse.EventFilter{Until: clock()}, ""},
		{gatehouse.EventFilter{Target: "acme-sso.signin"}, "sso.signin"},
	} {
		if got := list("acme", tc.f); got != tc.want {
			t.Errorf("ListEvents(acme, %+v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	if got := list("globex", gatehouse.EventFilter{Target: "acme-sso.signin"}); got != "" {
		t.Errorf("globex lists acme's event: %q", got)
	}
}
