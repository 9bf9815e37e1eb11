package audit

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestRecordedSchema: the newest version a trail records for one kind of
// store, across copies between kinds; an appended store.copy never lowers
// a version an event recorded with its kind.
func TestRecordedSchema(t *testing.T) {
	ev := func(seq int64, action, details string) *gatehouse.Event {
		return &gatehouse.Event{Seq: seq, Action: action, Details: json.RawMessage(details)}
	}
	cases := []struct {
		name    string
		kind    string
		events  []*gatehouse.Event
		version int64
		seq     int64
	}{
		{"a store's own versions, without kinds (older events)", "sqlite", []*gatehouse.Event{
			ev(1, "store.init", `{"schema_version":6}`),
			ev(5, "store.migrate", `{"from_version":6,"to_version":9}`),
		}, 9, 5},
		{"a forged copy from PostgreSQL after events with their kind", "sqlite", []*gatehouse.Event{
			ev(1, "store.init", `{"schema_version":9,"kind":"sqlite"}`),
			ev(2, "store.copy", `{"from":"postgres://x/y","kind":"sqlite","schema_version":1}`),
		}, 9, 1},
		{"a forged copy in the old form", "sqlite", []*gatehouse.Event{
			ev(1, "store.migrate", `{"from_version":9,"to_version":10,"kind":"sqlite"}`),
			ev(2, "store.copy", `{"from":"postgres://x/y"}`),
		}, 10, 1},
		{"copied from PostgreSQL: its versions are its own", "sqlite", []*gatehouse.Event{
			ev(1, "store.init", `{"schema_version":3}`),
			ev(2, "store.migrate", `{"from_version":3,"to_version":5,"kind":"postgres"}`),
			ev(3, "store.copy", `{"from":"postgres://db/gh","kind":"sqlite","schema_version":9}`),
		}, 9, 3},
		{"copied from PostgreSQL, old form: nothing known of this store", "sqlite", []*gatehouse.Event{
			ev(1, "store.init", `{"schema_version":5}`),
			ev(2, "store.copy", `{"from":"postgresql://db/gh"}`),
		}, 0, 0},
		{"the same trail read as the PostgreSQL source", "postgres", []*gatehouse.Event{
			ev(1, "store.init", `{"schema_version":3}`),
			ev(2, "store.migrate", `{"from_version":3,"to_version":5,"kind":"postgres"}`),
			ev(3, "store.copy", `{"from":"postgres://db/gh","kind":"sqlite","schema_version":9}`),
		}, 5, 2},
		{"copied from another SQLite file: its versions count", "sqlite", []*gatehouse.Event{
			ev(1, "store.init", `{"schema_version":8}`),
			ev(2, "store.copy", `{"from":"/var/lib/gatehouse/old.db"}`),
			ev(3, "store.migrate", `{"from_version":8,"to_version":9}`),
		}, 9, 3},
		{"a copy to elsewhere changes nothing here", "sqlite", []*gatehouse.Event{
			ev(1, "store.init", `{"schema_version":9}`),
			ev(2, "store.copy", `{"to":"postgres://db/gh","kind":"sqlite","schema_version":9}`),
		}, 9, 2},
		{"other events are not read", "sqlite", []*gatehouse.Event{
			ev(1, "store.init", `{"schema_version":2}`),
			ev(2, "user.add", `{"schema_version":99,"kind":"sqlite"}`),
		}, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := RecordedSchema{Kind: c.kind}
			for _, e := range c.events {
				r.Note(e)
			}
			if v, seq := r.Newest(); v != c.version || seq != c.seq {
				t.Errorf("Newest() = %d (event %d), want %d (event %d)", v, seq, c.version, c.seq)
			}
			if c.version > 0 {
				if err := r.LoweredError("the store", c.version-1); gatehouse.ErrorCode(err) != gatehouse.ECHECKFAILED {
					t.Errorf("a file at version %d is not refused: %v", c.version-1, err)
				}
			}
			if err := r.LoweredError("the store", c.version); err != nil {
				t.Errorf("a file at the recorded version is refused: %v", err)
			}
		})
	}
}
