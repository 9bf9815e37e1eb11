package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func TestOpenReadOnly(t *testing.T) {
	t.Run("OlderSchema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		if err := sqlite.CreateAtVersionForTest(path, 1); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(path)
		// A read never migrates: refused, with the way to migrate...
		_, err := sqlite.Open(ctx, path, sqlite.Options{ReadOnly: true})
		if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE || !strings.Contains(err.Error(), "has schema version 1, older than this gatehouse's") || !strings.Contains(err.Error(), "run 'gatehouse init' to migrate it") {
			t.Fatalf("err = %v", err)
		}
		// ...except for the audit trail, which reads as it is.
		db, err := sqlite.Open(ctx, path, sqlite.Options{ReadOnly: true, OlderSchema: true})
		if err != nil {
			t.Fatal(err)
		}
		// The rows of an older schema are not this binary's: the walk's
		// Each sees every event, but Then, which compares the rows, is
		// not called.
		each, then := 0, false
		res, err := db.VerifyChain(ctx, gatehouse.VerifyOptions{
			Each: func(*gatehouse.Event) error { each++; return nil },
			Then: func(gatehouse.View) error { then = true; return nil },
		})
		if err != nil || !res.OK() || res.Valid != 1 || each != 1 || then {
			t.Fatalf("verify = %+v, %v; Each saw %d events, Then called: %v", res, err, each, then)
		}
		// A schema from before the tree has no checkpoints: an empty list,
		// not a missing table taken for tampering.
		if err := db.View(ctx, func(v gatehouse.View) error {
			cps, err := v.Checkpoints()
			if err != nil || len(cps) != 0 {
				t.Errorf("checkpoints of a schema-1 store = %v, %v; want none", cps, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Change(ctx, func(gatehouse.Tx) (*gatehouse.NewEvent, error) {
			return &gatehouse.NewEvent{Action: "test.change", Target: "t", Outcome: gatehouse.OutcomeSuccess}, nil
		}); err == nil {
			t.Error("Change succeeded on a read-only store")
		}
		db.Close()
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Error("a read-only open modified the store")
		}
	})

	t.Run("InitOnlyInWAL", func(t *testing.T) {
		// A store whose init is committed only to its WAL (its process has
		// not closed it yet) is recognised from the WAL, for reads and writes.
		db, path := newStore(t)
		if b, _ := os.ReadFile(path); len(b) >= 72 && string(b[68:72]) == "GATE" {
			t.Skip("the init was checkpointed; nothing to test")
		}
		ro, err := sqlite.Open(ctx, path, sqlite.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("read-only: %v", err)
		}
		ro.Close()
		rw, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatalf("read-write: %v", err)
		}
		rw.Close()
		db.Close()
	})
}
