package gatehouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The security state and the audit trail.
//
// A hash chain proves that events were not changed; it says nothing about
// the rows beside it. So every event of a change that writes security
// state records, in its details under "state", the state of each row it
// wrote as the change leaves it: {key: value}, or null for a row that is
// gone. Replaying the trail in sequence order (Replay) then yields what
// every such row must hold, and 'audit verify' compares that with the
// store (CompareState): a row edited, inserted or deleted behind
// gatehouse's back differs from its last event.
//
// The keys and their values:
//
//	setting/KEY      the setting's value (a string)
//	user/ID          UserState
//	support          SupportCredentialState: the support account's credential
//	recipient/FP     RecipientState, by fingerprint
//
// An event whose details also say "baseline": true records the whole
// state (store.init, and store.migrate from a schema whose events had no
// state): a replay starts again from it.

// StateKeySupport is the state key of the support credential.
const StateKeySupport = StateSupport

// State key kinds (SplitStateKey).
const (
	StateSetting   = "setting"
	StateUser      = "user"
	StateSupport   = "support"
	StateRecipient = "recipient"
)

const (
	stateSettingPre   = StateSetting + "/"
	stateUserPre      = StateUser + "/"
	stateRecipientPre = StateRecipient + "/"
)

// SettingStateKey is the state key of a setting.
func SettingStateKey(key string) string { return stateSettingPre + key }

// UserStateKey is the state key of an account.
func UserStateKey(id int64) string { return stateUserPre + strconv.FormatInt(id, 10) }

// RecipientStateKey is the state key of a vendor recipient.
func RecipientStateKey(fingerprint string) string { return stateRecipientPre + fingerprint }

// SplitStateKey splits a state key into its kind and the setting's key,
// the account's ID or the recipient's fingerprint ("" for support).
func SplitStateKey(key string) (kind, name string) {
	if key == StateKeySupport {
		return StateSupport, ""
	}
	kind, name, _ = strings.Cut(key, "/")
	return kind, name
}

// stateWriters is, for each action that changes security state, the kinds
// of state key its events may record. A replay reports any other event
// that records state (Replay.Add): whoever can append an event (a file
// writer who recomputes the chain, PostgreSQL's application role) cannot
// hide a grant in, say, a sign-in event, and the core refuses to record
// what this table does not allow, so the table cannot fall behind the code.
var stateWriters = map[string][]string{
	"license.set":               {StateSetting},
	"lockout.configure":         {StateSetting},
	"notify.add":                {StateSetting},
	"notify.remove":             {StateSetting},
	"server.configure":          {StateSetting},
	"sso.allow":                 {StateSetting},
	"sso.auto_create":           {StateSetting},
	"sso.idp":                   {StateSetting},
	"sso.require":               {StateSetting},
	"sso.test":                  {StateSetting},
	"sso.exempt.add":            {StateUser},
	"sso.exempt.remove":         {StateUser},
	"support.configure":         {StateSetting, StateUser, StateSupport},
	"support.ensure":            {StateUser},
	"support.reenable":          {StateUser},
	"support.request":           {StateUser, StateSupport},
	"support.rotate":            {StateUser, StateSupport},
	"support.revoke":            {StateUser, StateSupport},
	"support.sweep":             {StateUser, StateSupport},
	"support.logon":             {StateSupport},
	"support.recipients.add":    {StateRecipient},
	"support.recipients.remove": {StateRecipient},
	"user.add":                  {StateUser},
	"user.assign":               {StateUser},
	"user.auto_create":          {StateUser},
	"user.disable":              {StateUser},
	"user.enable":               {StateUser},
	"user.password":             {StateUser},
	"user.unassign":             {StateUser},
}

// MayRecordState reports whether an event of action may record the state
// of key (a state key). store.init and store.migrate record baselines and
// may record any key, but only in a baseline (Replay.Add).
func MayRecordState(action, key string) bool {
	if action == ActionStoreInit || action == ActionStoreMigrate {
		return true
	}
	kind, name := SplitStateKey(key)
	if !slices.Contains(stateWriters[action], kind) {
		return false
	}
	if kind != StateSetting {
		return true
	}
	for _, s := range settingWriters[action] {
		if name == s || strings.HasSuffix(s, ".") && strings.HasPrefix(name, s) {
			return true
		}
	}
	return false
}

// settingWriters is, for each action that records settings, the settings
// it may record: a key, or a prefix ending in "." — an appended
// license.set cannot turn required SSO off.
var settingWriters = map[string][]string{
	"license.set":       {"license."},
	"lockout.configure": {"login."},
	"notify.add":        {NotifyRulePrefix},
	"notify.remove":     {NotifyRulePrefix},
	"server.configure":  {"server."},
	"sso.allow":         {"sso.allow"},
	"sso.auto_create":   {"sso.auto_create"},
	"sso.idp":           {"sso.idp", "sso.idp.tested", "sso.issuer"},
	"sso.require":       {"sso.require"},
	"sso.test":          {"sso.idp.tested"},
	"support.configure": {"support."},
}

// The actions that may record a baseline.
const (
	ActionStoreInit    = "store.init"
	ActionStoreMigrate = "store.migrate"
)

// Details keys of the recorded state. Only the core writes them.
const (
	DetailState    = "state"
	DetailBaseline = "baseline"
)

// UserState is an account as the audit trail records it. Names of each kind
// are sorted.
type UserState struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Email      string `json:"email"`
	Enabled    bool   `json:"enabled"`
	MSPAdmin   bool   `json:"msp_admin"`
	SSOIssuer  string `json:"sso_issuer"`
	SSOSubject string `json:"sso_subject"`
	SSOExempt  bool   `json:"sso_exempt"`
	// Password is the hex SHA-256 of the stored password hash (the PHC
	// string), "" when there is none: it shows that the hash changed,
	// never the hash.
	Password string   `json:"password"`
	Roles    []string `json:"roles"`
	Scopes   []string `json:"scopes"`
	Groups   []string `json:"groups"`
	Orgs     []string `json:"orgs"`
}

// Normalise sorts the names and makes empty lists non-nil, so that two
// states that mean the same compare equal.
func (s *UserState) Normalise() {
	for _, l := range []*[]string{&s.Roles, &s.Scopes, &s.Groups, &s.Orgs} {
		if *l == nil {
			*l = []string{}
		}
		slices.Sort(*l)
	}
}

// SupportCredentialState is the support account's credential as the audit
// trail records it. Times are as stored (audit.TimeLayout), "" for none.
type SupportCredentialState struct {
	RequestID string `json:"request_id"`
	// Password is the hex SHA-256 of the stored password hash.
	Password       string `json:"password"`
	IssuedAt       string `json:"issued_at"`
	ExpiresAt      string `json:"expires_at"`
	ResetAfterUse  int64  `json:"reset_after_use"` // seconds; 0: off
	FirstLogonAt   string `json:"first_logon_at"`
	EnvelopeSHA256 string `json:"envelope_sha256"`
}

// RecipientState is a vendor recipient as stored. AddedAt is as stored
// (audit.TimeLayout).
type RecipientState struct {
	Kind        string `json:"kind"`
	Recipient   string `json:"recipient"`
	Fingerprint string `json:"fingerprint"`
	Comment     string `json:"comment"`
	AddedAt     string `json:"added_at"`
	AddedBy     string `json:"added_by"`
}

// StateEntry is what the trail last recorded of one key.
type StateEntry struct {
	// Value is the recorded value; nil when the event recorded the row as
	// gone.
	Value json.RawMessage
	// Seq and Action name the last event that recorded the key.
	Seq    int64
	Action string
}

// Replay rebuilds, event by event, the security state an audit trail
// records. The zero value is an empty replay. It is pure: feed it sound
// events in sequence order (VerifyOptions.Each), then compare it with the
// store (CompareState).
type Replay struct {
	entries map[string]StateEntry
	// unreadable lists the events whose recorded state could not be read.
	unreadable []int64
	// faults are the events that recorded state they may not: a key their
	// action cannot change, or a baseline where none may be.
	faults []StateDifference
}

var stateMarker = []byte(`"` + DetailState + `":`)

// recorded is the part of an event's details a replay reads.
type recorded struct {
	State    map[string]json.RawMessage `json:"state"`
	Baseline bool                       `json:"baseline"`
}

// Add replays one event. Details without a recorded state are skipped
// without being parsed, so that a replay costs next to nothing on a trail
// of sign-ins. It does not keep ev.
func (r *Replay) Add(ev *Event) error {
	if !bytes.Contains(ev.Details, stateMarker) {
		return nil
	}
	// Keys are matched exactly: encoding/json would also take "sTaTe",
	// which a reader of the event (jq .details.state) does not see.
	var top map[string]json.RawMessage
	var d recorded
	if err := json.Unmarshal(ev.Details, &top); err != nil {
		r.unreadable = append(r.unreadable, ev.Seq)
		return nil
	}
	if raw, ok := top[DetailState]; ok && json.Unmarshal(raw, &d.State) != nil {
		r.unreadable = append(r.unreadable, ev.Seq)
		return nil
	}
	if raw, ok := top[DetailBaseline]; ok && json.Unmarshal(raw, &d.Baseline) != nil {
		r.unreadable = append(r.unreadable, ev.Seq)
		return nil
	}
	if d.State == nil && !d.Baseline {
		return nil // "state": inside another detail's value
	}
	what := fmt.Sprintf("event %d (%s)", ev.Seq, Clip(ev.Action, maxShown))
	if !d.Baseline && (ev.Action == ActionStoreInit || ev.Action == ActionStoreMigrate) {
		r.fault(ev, "", what+" records state without a baseline, which store.init and store.migrate never do")
		return nil
	}
	if d.Baseline {
		switch {
		case ev.Action != ActionStoreInit && ev.Action != ActionStoreMigrate:
			r.fault(ev, "", what+" records a baseline of the whole state, which only store.init and store.migrate record")
			return nil
		case r.entries != nil:
			// A trail that already records state never starts again: a
			// baseline then could turn rows edited behind gatehouse's back
			// into the new starting point. What it changes is reported.
			r.rebase(ev, what, d.State)
			return nil
		}
		r.entries = make(map[string]StateEntry, len(d.State))
	}
	if r.entries == nil {
		r.entries = make(map[string]StateEntry, len(d.State))
	}
	users := 0
	for _, k := range slices.Sorted(maps.Keys(d.State)) {
		if !MayRecordState(ev.Action, k) {
			r.fault(ev, k, fmt.Sprintf("%s records %s, which a %s cannot change", what, rowName(k), Clip(ev.Action, maxShown)))
			continue
		}
		if strings.HasPrefix(k, stateUserPre) && !d.Baseline {
			users++
			if problem := r.userTransition(ev, k, d.State[k], users); problem != "" {
				r.fault(ev, k, what+" "+problem)
				continue
			}
		}
		r.set(ev, k, d.State[k])
	}
	return nil
}

// userWrite is what one action may do to an account's recorded state.
type userWrite struct {
	// create: the action may record an account the trail has not recorded
	// (any fields); it may record no other.
	create bool
	// fields are the UserState fields (JSON names) it may change in an
	// account the trail has recorded.
	fields []string
	// support: the account is the support account (kind "support"),
	// whatever the event's target; else it is the one account named by the
	// event's target.
	support bool
}

// userWrites is, for each action that records accounts, what it may do to
// them: the state-writer table (stateWriters) says which kinds of row an
// action records; this says, for accounts, which account and which fields.
// A replay reports any other change (Replay.Add), so an appended event
// cannot grant MSP admin or roles under the name of, say, user.enable.
var userWrites = map[string]userWrite{
	"user.add":          {create: true},
	"user.auto_create":  {create: true},
	"user.enable":       {fields: []string{"enabled"}},
	"user.disable":      {fields: []string{"enabled"}},
	"user.assign":       {fields: []string{"roles", "scopes", "groups", "orgs"}},
	"user.unassign":     {fields: []string{"roles", "scopes", "groups", "orgs"}},
	"user.password":     {fields: []string{"password"}},
	"sso.exempt.add":    {fields: []string{"sso_exempt"}},
	"sso.exempt.remove": {fields: []string{"sso_exempt"}},
	// The support account: created, renamed, enabled and disabled, given
	// its password and its Master role and scope by the support commands.
	"support.configure": {support: true, fields: supportFields},
	"support.ensure":    {support: true, create: true, fields: supportFields},
	"support.reenable":  {support: true, create: true, fields: supportFields},
	"support.request":   {support: true, create: true, fields: supportFields},
	"support.rotate":    {support: true, create: true, fields: supportFields},
	"support.revoke":    {support: true, fields: supportFields},
	"support.sweep":     {support: true, fields: supportFields},
}

// supportFields are what support commands change in the support account;
// never msp_admin, its kind or an SSO identity.
var supportFields = []string{"name", "email", "enabled", "password", "roles", "scopes", "groups", "orgs", "sso_exempt"}

// userTransition checks one account an event records against userWrites:
// "" when the action may make that change, else the problem. n counts the
// accounts the event recorded so far.
func (r *Replay) userTransition(ev *Event, key string, v json.RawMessage, n int) string {
	w, ok := userWrites[ev.Action]
	if !ok {
		return fmt.Sprintf("records %s, which a %s cannot change", rowName(key), Clip(ev.Action, maxShown))
	}
	var after UserState
	if bytes.Equal(v, []byte("null")) || json.Unmarshal(v, &after) != nil {
		return fmt.Sprintf("records %s as gone or unreadable, which a %s never does", rowName(key), Clip(ev.Action, maxShown))
	}
	var before UserState
	prev, had := r.entries[key]
	if had && prev.Value != nil && json.Unmarshal(prev.Value, &before) != nil {
		had = false
	}
	had = had && prev.Value != nil
	switch {
	case w.support && (after.Kind != "support" || had && before.Kind != "support"):
		return fmt.Sprintf("changes %s, which is not the support account: a %s changes only that", rowName(key, after), Clip(ev.Action, maxShown))
	case !w.support && n > 1:
		return fmt.Sprintf("records a second account, %s: a %s changes one, its target", rowName(key, after), Clip(ev.Action, maxShown))
	case !w.support && after.Name != ev.Target && (!had || before.Name != ev.Target):
		return fmt.Sprintf("changes %s, but its target is %s", rowName(key, after), Clip(ev.Target, maxShown))
	case !had && !w.create:
		return fmt.Sprintf("records %s, which the trail has not recorded before: a %s never creates an account", rowName(key, after), Clip(ev.Action, maxShown))
	case had && w.create && w.fields == nil:
		return fmt.Sprintf("records %s again: a %s only creates an account", rowName(key, after), Clip(ev.Action, maxShown))
	case !had:
		return ""
	}
	before.Normalise()
	after.Normalise()
	for _, f := range changedUserFields(before, after) {
		if !slices.Contains(w.fields, f) {
			return fmt.Sprintf("changes %s of %s, which a %s cannot change", f, rowName(key, after), Clip(ev.Action, maxShown))
		}
	}
	return ""
}

// changedUserFields names the fields (JSON names) in which a and b differ.
func changedUserFields(a, b UserState) []string {
	var out []string
	ta, va, vb := reflect.TypeOf(a), reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range ta.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(ta.Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}

func (r *Replay) set(ev *Event, k string, v json.RawMessage) {
	if bytes.Equal(v, []byte("null")) {
		v = nil
	}
	r.entries[k] = StateEntry{Value: v, Seq: ev.Seq, Action: ev.Action}
}

func (r *Replay) fault(ev *Event, key, problem string) {
	if key == "" {
		key = "event/" + strconv.FormatInt(ev.Seq, 10)
	}
	r.faults = append(r.faults, StateDifference{Key: key, Row: fmt.Sprintf("event %d", ev.Seq),
		LastSeq: ev.Seq, LastAction: ev.Action, Problem: problem})
}

// rebase takes a baseline recorded after the trail began recording state:
// every key whose value it changes is a fault; it then holds the
// baseline's values, so that the rows are compared with the newest claim
// and a difference is not reported twice.
func (r *Replay) rebase(ev *Event, what string, state map[string]json.RawMessage) {
	keys := slices.Collect(maps.Keys(state))
	for k, e := range r.entries {
		if _, ok := state[k]; !ok && e.Value != nil {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)
	for _, k := range keys {
		v := state[k]
		if bytes.Equal(v, []byte("null")) {
			v = nil
		}
		old := r.entries[k]
		if !jsonEqual(old.Value, v) {
			last := ""
			if old.Seq > 0 {
				last = fmt.Sprintf(" (event %d %s)", old.Seq, Clip(old.Action, maxShown))
			}
			r.fault(ev, k, fmt.Sprintf("%s starts the state again, and its %s is not what the trail said before%s", what, rowName(k), last))
		}
		if v == nil {
			delete(r.entries, k)
		} else {
			r.entries[k] = StateEntry{Value: v, Seq: ev.Seq, Action: ev.Action}
		}
	}
}

// jsonEqual compares two recorded values by meaning (key order and spacing
// aside); nil is a row that is gone.
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// Entry returns what the trail last recorded of key.
func (r *Replay) Entry(key string) (StateEntry, bool) {
	e, ok := r.entries[key]
	return e, ok
}

// Len is the number of keys the trail recorded.
func (r *Replay) Len() int { return len(r.entries) }

// StateCheck is the comparison of the store's security state with the
// trail's replay.
type StateCheck struct {
	// Compared is the number of rows (state keys) compared.
	Compared    int               `json:"compared"`
	Differences []StateDifference `json:"differences"`
}

// OK reports whether the store holds what the trail says.
func (c *StateCheck) OK() bool { return len(c.Differences) == 0 }

// StateDifference is a row whose stored state is not what the trail's
// events say.
type StateDifference struct {
	// Key is the state key (user/7, setting/sso.require).
	Key string `json:"key"`
	// Row names the row in words: user 7 (mallory).
	Row string `json:"row"`
	// Fields are the fields that differ, when the row is on both sides.
	Fields []string `json:"fields,omitempty"`
	// LastSeq and LastAction name the last event that recorded the row
	// (0 and "" when none did).
	LastSeq    int64  `json:"last_seq,omitempty"`
	LastAction string `json:"last_action,omitempty"`
	// Problem is the whole finding, in words for the operator.
	Problem string `json:"problem"`
}

// CompareState compares the store's current state (every key, as the
// core reads it: string, UserState, SupportCredentialState or
// RecipientState values) with the trail's replay, and returns every key
// that differs or is on one side only, in key order (users by ID).
func CompareState(r *Replay, store map[string]any) *StateCheck {
	keys := make([]string, 0, len(store)+len(r.entries))
	for k := range store {
		keys = append(keys, k)
	}
	for k := range r.entries {
		if _, ok := store[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)
	c := &StateCheck{Compared: len(keys), Differences: []StateDifference{}}
	for _, seq := range r.unreadable {
		c.Differences = append(c.Differences, StateDifference{
			Key: "event/" + strconv.FormatInt(seq, 10), Row: fmt.Sprintf("event %d", seq), LastSeq: seq,
			Problem: fmt.Sprintf("event %d's recorded state cannot be read", seq),
		})
	}
	c.Differences = append(c.Differences, r.faults...)
	for _, k := range keys {
		if d, ok := compareKey(k, store[k], r.entries[k], r.entries[k].Value != nil); !ok {
			c.Differences = append(c.Differences, d)
		}
	}
	return c
}

// compareKeys orders keys by kind (settings, users, the support
// credential, recipients), users by ID.
func compareKeys(a, b string) int {
	ka, kb := keyRank(a), keyRank(b)
	if ka != kb {
		return ka - kb
	}
	if ka == 1 {
		ia, _ := strconv.ParseInt(strings.TrimPrefix(a, stateUserPre), 10, 64)
		ib, _ := strconv.ParseInt(strings.TrimPrefix(b, stateUserPre), 10, 64)
		if ia != ib {
			if ia < ib {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

func keyRank(k string) int {
	switch {
	case strings.HasPrefix(k, stateSettingPre):
		return 0
	case strings.HasPrefix(k, stateUserPre):
		return 1
	case k == StateKeySupport:
		return 2
	case strings.HasPrefix(k, stateRecipientPre):
		return 3
	}
	return 4
}

// compareKey compares one key: cur is the store's value (nil when the row
// is not there), e what the trail recorded, inTrail whether that is a row.
func compareKey(key string, cur any, e StateEntry, inTrail bool) (StateDifference, bool) {
	d := StateDifference{Key: key, LastSeq: e.Seq, LastAction: e.Action}
	last := ""
	if e.Seq > 0 {
		last = fmt.Sprintf(" (last event %d %s)", e.Seq, e.Action)
	}
	var recorded any
	if inTrail {
		var err error
		if recorded, err = decodeState(key, e.Value); err != nil {
			d.Row = rowName(key, cur, nil)
			d.Problem = fmt.Sprintf("%s: the trail's record of it cannot be read%s", d.Row, last)
			return d, false
		}
	}
	d.Row = rowName(key, cur, recorded)
	switch {
	case cur == nil && recorded == nil:
		return d, true
	case recorded == nil && e.Seq == 0:
		d.Problem = d.Row + " is in the store but no event records it"
		return d, false
	case recorded == nil:
		d.Problem = fmt.Sprintf("%s is in the store but the trail says it was removed%s", d.Row, last)
		return d, false
	case cur == nil:
		d.Problem = fmt.Sprintf("%s is not in the store but the trail records it%s", d.Row, last)
		return d, false
	}
	if s, ok := cur.(string); ok {
		t, _ := recorded.(string)
		if s == t {
			return d, true
		}
		if len(s) > maxShown || len(t) > maxShown {
			d.Problem = fmt.Sprintf("%s differs from the trail's value%s", d.Row, last)
		} else {
			d.Problem = fmt.Sprintf("%s is %s in the store, %s in the trail%s", d.Row, strconv.Quote(s), strconv.Quote(t), last)
		}
		return d, false
	}
	var parts []string
	cv, rv := reflect.ValueOf(cur), reflect.ValueOf(recorded)
	if cv.Type() != rv.Type() {
		d.Problem = fmt.Sprintf("%s differs from the trail%s", d.Row, last)
		return d, false
	}
	for i := range cv.NumField() {
		a, b := cv.Field(i).Interface(), rv.Field(i).Interface()
		if reflect.DeepEqual(a, b) {
			continue
		}
		name, _, _ := strings.Cut(cv.Type().Field(i).Tag.Get("json"), ",")
		d.Fields = append(d.Fields, name)
		parts = append(parts, fieldDifference(name, a, b))
	}
	if len(parts) == 0 {
		return d, true
	}
	d.Problem = fmt.Sprintf("%s: %s%s", d.Row, strings.Join(parts, "; "), last)
	return d, false
}

// maxShown bounds a value a finding shows; a longer one only differs.
const maxShown = 64

// fieldDifference says how one field differs. Password digests are never
// shown: that they differ is the finding.
func fieldDifference(name string, store, trail any) string {
	a, _ := json.Marshal(store)
	b, _ := json.Marshal(trail)
	if name == "password" || len(a) > maxShown || len(b) > maxShown {
		return name + " differs from the trail"
	}
	return fmt.Sprintf("%s is %s in the store, %s in the trail", name, a, b)
}

// decodeState reads a recorded value as the type of its key.
func decodeState(key string, raw json.RawMessage) (any, error) {
	switch {
	case strings.HasPrefix(key, stateSettingPre):
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case strings.HasPrefix(key, stateUserPre):
		var s UserState
		err := json.Unmarshal(raw, &s)
		s.Normalise()
		return s, err
	case key == StateKeySupport:
		var s SupportCredentialState
		err := json.Unmarshal(raw, &s)
		return s, err
	case strings.HasPrefix(key, stateRecipientPre):
		var s RecipientState
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	return nil, fmt.Errorf("unknown state key")
}

// rowName names a key's row in words, with a user's name from the store,
// else from the trail.
func rowName(key string, values ...any) string {
	switch {
	case strings.HasPrefix(key, stateSettingPre):
		return "setting " + Clip(strings.TrimPrefix(key, stateSettingPre), maxShown)
	case strings.HasPrefix(key, stateUserPre):
		id := strings.TrimPrefix(key, stateUserPre)
		for _, v := range values {
			if u, ok := v.(UserState); ok {
				return fmt.Sprintf("user %s (%s)", id, Clip(u.Name, maxShown))
			}
		}
		return "user " + id
	case key == StateKeySupport:
		return "the support credential"
	case strings.HasPrefix(key, stateRecipientPre):
		return "recipient " + Clip(strings.TrimPrefix(key, stateRecipientPre), maxShown+16)
	}
	return Clip(key, maxShown)
}
