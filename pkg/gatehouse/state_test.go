package gatehouse

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// ev makes an event whose details are the JSON given.
func ev(seq int64, action, details string) *Event {
	return &Event{Seq: seq, Action: action, Details: json.RawMessage(details)}
}

// evT is ev with the event's target: an event that records an account
// names it as its target.
func evT(seq int64, action, target, details string) *Event {
	e := ev(seq, action, details)
	e.Target = target
	return e
}

func replay(t *testing.T, events ...*Event) *Replay {
	t.Helper()
	var r Replay
	for _, e := range events {
		if err := r.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return &r
}

func problems(c *StateCheck) []string {
	var out []string
	for _, d := range c.Differences {
		out = append(out, d.Problem)
	}
	return out
}

var (
	alice = UserState{Name: "alice", Kind: "local", Enabled: true, MSPAdmin: true}
	bob   = UserState{Name: "bob", Kind: "local", Enabled: true, Roles: []string{"Master"}}
)

func userJSON(t *testing.T, u UserState) string {
	t.Helper()
	u.Normalise()
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func normalised(u UserState) UserState {
	u.Normalise()
	return u
}

// TestReplayKeepsTheLastRecord: each key holds what its last event
// recorded, with that event; null records a row as gone; events without
// a recorded state change nothing.
func TestReplayKeepsTheLastRecord(t *testing.T) {
	r := replay(t,
		ev(1, "store.init", `{"baseline":true,"state":{"setting/server.port":"443","user/1":`+userJSON(t, alice)+`}}`),
		evT(2, "user.add", "bob", `{"id":2,"state":{"user/2":`+userJSON(t, UserState{Name: "bob", Kind: "local", Enabled: true})+`}}`),
		ev(3, "sso.signin", `{"reason":"ok"}`),
		evT(4, "user.assign", "bob", `{"state":{"user/2":`+userJSON(t, bob)+`}}`),
		ev(5, "server.configure", `{"state":{"setting/server.port":null}}`),
		// "state": inside another detail's value is not a record.
		ev(6, "sso.test", `{"claims":{"state":{"user/2":1}}}`),
	)
	if r.Len() != 3 {
		t.Fatalf("%d keys, want 3", r.Len())
	}
	e, ok := r.Entry("user/2")
	if !ok || e.Seq != 4 || e.Action != "user.assign" || string(e.Value) != userJSON(t, bob) {
		t.Fatalf("user/2 = %+v, %v", e, ok)
	}
	if e, ok := r.Entry("setting/server.port"); !ok || e.Value != nil || e.Seq != 5 {
		t.Fatalf("setting/server.port = %+v, %v; want gone since event 5", e, ok)
	}
	c := CompareState(r, map[string]any{"user/1": normalised(alice), "user/2": normalised(bob)})
	if !c.OK() || c.Compared != 3 {
		t.Fatalf("compare = %+v", c)
	}
}

// TestReplayBaselineOnlyAtTheStart: a baseline starts the replay when the
// trail has recorded no state yet (store.init, or store.migrate from a
// schema whose events recorded none). A later one cannot start it again —
// it would launder rows edited behind gatehouse's back — so every key it
// changes is a finding naming it and the event before; one that changes
// nothing is no finding.
func TestReplayBaselineOnlyAtTheStart(t *testing.T) {
	r := replay(t,
		ev(1, "user.add", `{"id":1}`), // an older schema's event: no state
		ev(2, "store.migrate", `{"baseline":true,"from_version":7,"state":{"setting/a":"1","setting/b":"2"}}`),
	)
	if c := CompareState(r, map[string]any{"setting/a": "1", "setting/b": "2"}); !c.OK() {
		t.Fatalf("the first baseline: %v", problems(c))
	}
	same := replay(t,
		ev(1, "store.init", `{"baseline":true,"state":{"setting/a":"1","setting/b":"2"}}`),
		ev(2, "store.migrate", `{"baseline":true,"state":{"setting/b":"2","setting/a":"1"}}`),
	)
	if c := CompareState(same, map[string]any{"setting/a": "1", "setting/b": "2"}); !c.OK() {
		t.Fatalf("a baseline that changes nothing: %v", problems(c))
	}
	laundered := replay(t,
		ev(1, "store.init", `{"baseline":true,"state":{"setting/a":"1","setting/b":"2","user/1":`+userJSON(t, bob)+`}}`),
		ev(2, "store.migrate", `{"baseline":true,"from_version":7,"state":{"setting/a":"3","user/1":`+userJSON(t, alice)+`}}`),
	)
	// The store holds what the fake migration recorded.
	c := CompareState(laundered, map[string]any{"setting/a": "3", "user/1": normalised(alice)})
	want := []string{
		"event 2 (store.migrate) starts the state again, and its setting a is not what the trail said before (event 1 store.init)",
		"event 2 (store.migrate) starts the state again, and its setting b is not what the trail said before (event 1 store.init)",
		"event 2 (store.migrate) starts the state again, and its user 1 is not what the trail said before (event 1 store.init)",
	}
	if got := problems(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReplayActionsRecordOnlyTheirState: an event may record only the
// state its action changes; a sign-in that records an account (an event
// appended by a writer who bypassed gatehouse) or a baseline outside
// store.init/migrate is a finding, and its record is not believed.
func TestReplayActionsRecordOnlyTheirState(t *testing.T) {
	admin := bob
	admin.MSPAdmin = true
	r := replay(t,
		ev(1, "store.init", `{"baseline":true,"state":{"user/1":`+userJSON(t, bob)+`}}`),
		ev(2, "signin.success", `{"state":{"user/1":`+userJSON(t, admin)+`}}`),
		ev(3, "user.assign", `{"baseline":true,"state":{}}`),
		// store.migrate records state only as a baseline.
		ev(4, "store.migrate", `{"from_version":9,"to_version":9,"state":{"user/1":`+userJSON(t, admin)+`}}`),
		// Keys are exact: "sTaTe" is not the state a reader sees.
		ev(5, "user.assign", `{"sTaTe":{"user/1":`+userJSON(t, admin)+`},"note":"\"state\":"}`),
	)
	c := CompareState(r, map[string]any{"user/1": normalised(admin)})
	want := []string{
		"event 2 (signin.success) records user 1, which a signin.success cannot change",
		"event 3 (user.assign) records a baseline of the whole state, which only store.init and store.migrate record",
		"event 4 (store.migrate) records state without a baseline, which store.init and store.migrate never do",
		"user 1 (bob): msp_admin is true in the store, false in the trail (last event 1 store.init)",
	}
	if got := problems(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, a := range []string{"user.assign", "sso.require", "support.request", "support.recipients.add"} {
		if !slices.ContainsFunc([]string{"user/1", "setting/sso.require", "support", "recipient/x"}, func(k string) bool { return MayRecordState(a, k) }) {
			t.Errorf("%s may record no state", a)
		}
	}
	if MayRecordState("user.assign", "setting/sso.require") || MayRecordState("signin.success", "user/1") {
		t.Error("MayRecordState allows a kind the action does not change")
	}
}

// TestCompareStateFindings: one finding per row that differs, in key
// order, each in words naming the row and the last event.
func TestCompareStateFindings(t *testing.T) {
	mallory := UserState{Name: "mallory", Kind: "local", Enabled: true, Password: strings.Repeat("a", 64)}
	r := replay(t,
		ev(1, "store.init", `{"baseline":true,"state":{"setting/sso.require":"true","setting/sso.idp":"`+strings.Repeat("k", 100)+`","user/1":`+userJSON(t, alice)+`}}`),
		evT(7, "user.add", "mallory", `{"state":{"user/7":`+userJSON(t, mallory)+`}}`),
		evT(8, "user.add", "gone", `{"state":{"user/8":`+userJSON(t, UserState{Name: "gone"})+`}}`),
		ev(9, "support.request", `{"state":{"support":{"request_id":"r1","expires_at":"2026-11-04T10:00:00.000000000Z","password":"`+strings.Repeat("b", 64)+`"}}}`),
		ev(10, "support.recipients.remove", `{"state":{"recipient/SHA256:x":null}}`),
	)
	edited := mallory
	edited.MSPAdmin, edited.Password, edited.Roles = true, strings.Repeat("c", 64), []string{"Master"}
	store := map[string]any{
		"setting/sso.require": "false",
		"setting/sso.idp":     strings.Repeat("j", 100),
		"user/1":              normalised(alice),
		"user/7":              normalised(edited),
		"user/9":              normalised(UserState{Name: "eve\u202e", Kind: "local"}),
		"user/10":             normalised(UserState{Name: "ivan"}),
		"support":             SupportCredentialState{RequestID: "r1", ExpiresAt: "2099-01-01T00:00:00.000000000Z", Password: strings.Repeat("b", 64)},
		"recipient/SHA256:x":  RecipientState{Kind: "x25519", Fingerprint: "SHA256:x"},
	}
	c := CompareState(r, store)
	want := []string{
		`setting sso.idp differs from the trail's value (last event 1 store.init)`,
		`setting sso.require is "false" in the store, "true" in the trail (last event 1 store.init)`,
		`user 7 (mallory): msp_admin is true in the store, false in the trail; password differs from the trail; roles is ["Master"] in the store, [] in the trail (last event 7 user.add)`,
		`user 8 (gone) is not in the store but the trail records it (last event 8 user.add)`,
		"user 9 (eve\u202e) is in the store but no event records it",
		`user 10 (ivan) is in the store but no event records it`,
		`the support credential: expires_at is "2099-01-01T00:00:00.000000000Z" in the store, "2026-11-04T10:00:00.000000000Z" in the trail (last event 9 support.request)`,
		`recipient SHA256:x is in the store but the trail says it was removed (last event 10 support.recipients.remove)`,
	}
	if got := problems(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Compared != 9 {
		t.Errorf("compared %d rows, want 9", c.Compared)
	}
	d := c.Differences[2]
	if d.Key != "user/7" || d.Row != "user 7 (mallory)" || !reflect.DeepEqual(d.Fields, []string{"msp_admin", "password", "roles"}) ||
		d.LastSeq != 7 || d.LastAction != "user.add" {
		t.Errorf("the finding for user 7 = %+v", d)
	}
	for _, p := range problems(c) {
		if strings.Contains(p, strings.Repeat("b", 64)) || strings.Contains(p, strings.Repeat("c", 64)) {
			t.Errorf("a finding shows a password digest: %s", p)
		}
	}
}

// TestCompareStateReadsOlderRecords: a record without a field that the
// state later gained reads as that field's zero value, and names in any
// order are the same grants.
func TestCompareStateReadsOlderRecords(t *testing.T) {
	r := replay(t, ev(1, "store.init", `{"baseline":true,"state":{"user/1":{"name":"alice","kind":"local","enabled":true,"roles":["b","a"]}}}`))
	c := CompareState(r, map[string]any{"user/1": normalised(UserState{Name: "alice", Kind: "local", Enabled: true, Roles: []string{"a", "b"}})})
	if !c.OK() {
		t.Fatalf("findings: %v", problems(c))
	}
}

// TestCompareStateUnreadable: a record the replay cannot read is a
// finding, not an error.
func TestCompareStateUnreadable(t *testing.T) {
	r := replay(t,
		ev(1, "store.init", `{"baseline":true,"state":{"user/1":"not an account"}}`),
		ev(2, "x", `{"state":{`),
	)
	got := problems(CompareState(r, map[string]any{"user/1": normalised(alice)}))
	want := []string{
		"event 2's recorded state cannot be read",
		"user 1 (alice): the trail's record of it cannot be read (last event 1 store.init)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("findings = %q", got)
	}
}

func TestSplitStateKey(t *testing.T) {
	for key, want := range map[string][2]string{
		UserStateKey(7):                  {StateUser, "7"},
		SettingStateKey("sso.idp"):       {StateSetting, "sso.idp"},
		RecipientStateKey("SHA256:a/b+"): {StateRecipient, "SHA256:a/b+"},
		StateKeySupport:                  {StateSupport, ""},
	} {
		if k, n := SplitStateKey(key); k != want[0] || n != want[1] {
			t.Errorf("SplitStateKey(%q) = %q, %q", key, k, n)
		}
	}
}

// TestReplayRefusesForgedAccountChanges: an appended event can record only
// what its action changes, in the account it names — not a grant hidden in
// a user.enable, a second account, an account created by an action that
// never creates one, or the support commands changing anyone else.
func TestReplayRefusesForgedAccountChanges(t *testing.T) {
	mallory := UserState{Name: "mallory", Kind: "local", Enabled: false}
	support := UserState{Name: "vendorsupport", Kind: "support", Enabled: false}
	start := func() []*Event {
		return []*Event{
			ev(1, "store.init", `{"baseline":true,"state":{"user/1":`+userJSON(t, alice)+`}}`),
			evT(2, "user.add", "mallory", `{"state":{"user/2":`+userJSON(t, mallory)+`}}`),
			evT(3, "support.request", "vendorsupport", `{"state":{"user/3":`+userJSON(t, support)+`}}`),
		}
	}
	with := func(u UserState, f func(*UserState)) string { f(&u); return userJSON(t, u) }
	enabledAdmin := with(mallory, func(u *UserState) { u.Enabled, u.MSPAdmin = true, true })
	enabled := with(mallory, func(u *UserState) { u.Enabled = true })
	cases := []struct {
		name, want string
		forged     *Event
	}{
		{"grant in an enable", "changes msp_admin of user 2 (mallory), which a user.enable cannot change",
			evT(4, "user.enable", "mallory", `{"state":{"user/2":`+enabledAdmin+`}}`)},
		{"another account than the target", "changes user 2 (mallory), but its target is bob",
			evT(4, "user.enable", "bob", `{"state":{"user/2":`+enabled+`}}`)},
		{"a second account", "records a second account",
			evT(4, "user.enable", "alice", `{"state":{"user/1":`+userJSON(t, alice)+`,"user/2":`+enabled+`}}`)},
		{"an add of an existing account", "records user 2 (mallory) again: a user.add only creates an account",
			evT(4, "user.add", "mallory", `{"state":{"user/2":`+enabledAdmin+`}}`)},
		{"an account out of nowhere", "a user.assign never creates an account",
			evT(4, "user.assign", "zed", `{"state":{"user/9":`+userJSON(t, UserState{Name: "zed", Kind: "local", Enabled: true, MSPAdmin: true})+`}}`)},
		{"support command on a user", "changes user 2 (mallory), which is not the support account",
			evT(4, "support.rotate", "vendorsupport", `{"state":{"user/2":`+enabled+`}}`)},
		{"support account made admin", "changes msp_admin of user 3 (vendorsupport)",
			evT(4, "support.request", "vendorsupport", `{"state":{"user/3":`+with(support, func(u *UserState) { u.MSPAdmin = true })+`}}`)},
		{"a sign-in that records an account", "which a signin.success cannot change",
			evT(4, "signin.success", "mallory", `{"state":{"user/2":`+enabled+`}}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := replay(t, append(start(), c.forged)...)
			check := CompareState(r, map[string]any{})
			var found bool
			for _, d := range check.Differences {
				if d.LastSeq == 4 && strings.Contains(d.Problem, c.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no finding %q for event 4; findings: %+v", c.want, check.Differences)
			}
		})
	}
	// What the commands do is no finding.
	r := replay(t, append(start(),
		evT(4, "user.enable", "mallory", `{"state":{"user/2":`+enabled+`}}`),
		evT(5, "user.assign", "mallory", `{"state":{"user/2":`+with(mallory, func(u *UserState) { u.Enabled, u.Roles = true, []string{"Technician"} })+`}}`),
		evT(6, "support.revoke", "vendorsupport", `{"state":{"user/3":`+with(support, func(u *UserState) { u.Password = strings.Repeat("d", 64) })+`}}`),
	)...)
	for _, d := range CompareState(r, map[string]any{}).Differences {
		if strings.HasPrefix(d.Row, "event") {
			t.Errorf("a legitimate change is a finding: %s", d.Problem)
		}
	}
}

// TestSettingWriters: an action records only its own settings.
func TestSettingWriters(t *testing.T) {
	for _, c := range []struct {
		action, key string
		want        bool
	}{
		{"sso.require", "setting/sso.require", true},
		{"sso.require", "setting/sso.allow", false},
		{"license.set", "setting/license.admin_seats", true},
		{"license.set", "setting/sso.require", false},
		{"support.configure", "setting/support.ttl", true},
		{"support.configure", "setting/supportx", false},
		{"sso.idp", "setting/sso.idp.tested", true},
		{"sso.test", "setting/sso.idp", false},
		{"server.configure", "setting/mode", false},
		{"store.init", "setting/mode", true},
	} {
		if got := MayRecordState(c.action, c.key); got != c.want {
			t.Errorf("MayRecordState(%s, %s) = %v, want %v", c.action, c.key, got, c.want)
		}
	}
}
