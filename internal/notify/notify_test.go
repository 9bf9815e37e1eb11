package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/notify/notifytest"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// trail is an in-memory store for the forwarder: events, rules, cursors.
type trail struct {
	mu      sync.Mutex
	events  []gatehouse.Event
	rules   []gatehouse.NotifyRule
	cursors map[string]int64
}

func (t *trail) NotifyRules(context.Context) ([]gatehouse.NotifyRule, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]gatehouse.NotifyRule(nil), t.rules...), nil
}

func (t *trail) ListEvents(_ context.Context, f gatehouse.EventFilter, fn func(ev *gatehouse.Event) error) error {
	t.mu.Lock()
	evs := append([]gatehouse.Event(nil), t.events...)
	t.mu.Unlock()
	for i := range evs {
		if evs[i].Seq > f.AfterSeq {
			if err := fn(&evs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *trail) StoreID(context.Context) (string, error) { return "0123456789abcdef", nil }

func (t *trail) NotifyCursors() (gatehouse.NotifyCursors, error) { return t, nil }

func (t *trail) NotifyCursor(_ context.Context, name string) (int64, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.cursors[name]
	return v, ok, nil
}

func (t *trail) AdvanceNotifyCursor(_ context.Context, name string, from, to int64) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cursors == nil {
		t.cursors = map[string]int64{}
	}
	cur, ok := t.cursors[name]
	if (ok && cur != from) || (!ok && from != 0) {
		return false, nil
	}
	t.cursors[name] = to
	return true, nil
}

func (t *trail) add(action string, outcome gatehouse.Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	seq := int64(len(t.events) + 1)
	t.events = append(t.events, gatehouse.Event{Seq: seq, Time: time.Date(2026, 5, 1, 12, 0, int(seq), 0, time.UTC),
		Actor: "alice", Action: action, Target: "ann@example.com", Outcome: outcome, Details: json.RawMessage(`{"reason":"x"}`)})
}

func newTrail(actions ...string) *trail {
	t := &trail{}
	for _, a := range actions {
		outcome := gatehouse.OutcomeSuccess
		if strings.HasSuffix(a, ".denied") {
			outcome = gatehouse.OutcomeDenied
		}
		t.add(a, outcome)
	}
	return t
}

func once(t *testing.T, tr *trail, env map[string]string) (notify.Stats, error) {
	t.Helper()
	return notify.Run(context.Background(), tr, notify.Options{Once: true, Backoff: 10 * time.Millisecond,
		MaxBackoff: 20 * time.Millisecond, MaxAttempts: 5, Getenv: func(k string) string { return env[k] }})
}

// A webhook delivery is signed per Standard Webhooks (checked by the
// reference library), carries the event's stable ID, and a failed attempt
// is retried with the same ID.
func TestWebhookSignedStableIDRetried(t *testing.T) {
	rcv, err := notifytest.NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	tr := newTrail("store.init", "signin.success", "user.auto_create", "user.assign")
	tr.rules = []gatehouse.NotifyRule{{Name: "hook", Sink: gatehouse.SinkWebhook, Target: rcv.URL, Format: gatehouse.FormatGatehouse,
		Actions: []string{"user.auto_create"}, SecretEnv: "HOOK_SECRET", After: 1}}
	rcv.FailNext(1)
	st, err := once(t, tr, map[string]string{"HOOK_SECRET": rcv.Secret})
	if err != nil || st.Delivered != 1 {
		t.Fatalf("Run: %+v, %v", st, err)
	}
	got := rcv.Deliveries()
	if len(got) != 2 {
		t.Fatalf("want a failed attempt and its retry, got %d deliveries", len(got))
	}
	for _, d := range got {
		if !d.Verified {
			t.Errorf("signature refused by the reference library: %s", d.Err)
		}
		if d.ID != "evt_0123456789abcdef_3" {
			t.Errorf("webhook-id %q, want evt_0123456789abcdef_3 on every attempt", d.ID)
		}
		var p notify.GatehousePayload
		if err := json.Unmarshal(d.Body, &p); err != nil || p.ID != d.ID || p.Type != "user.auto_create" || p.Data.Seq != 3 {
			t.Errorf("payload %s: %v", d.Body, err)
		}
	}
	// Nothing more to send: the cursor is past the trail.
	if st, err := once(t, tr, map[string]string{"HOOK_SECRET": rcv.Secret}); err != nil || st.Delivered != 0 {
		t.Errorf("second run: %+v, %v", st, err)
	}
	if c := tr.cursors["hook@1"]; c != 4 {
		t.Errorf("cursor %d, want 4", c)
	}
}

// A forwarder that stops after the sink took an event but before its
// cursor moved sends the event again, with the same ID; one stopped after
// the cursor moved does not.
func TestCrashBetweenSendAndCursor(t *testing.T) {
	rcv, err := notifytest.NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	defer func() { notify.TestOnlyFault = nil }()
	env := map[string]string{"S": rcv.Secret}
	tr := newTrail("store.init", "user.auto_create", "support.request")
	tr.rules = []gatehouse.NotifyRule{{Name: "hook", Sink: gatehouse.SinkWebhook, Target: rcv.URL, Format: gatehouse.FormatOCSF,
		Actions: []string{"*"}, SecretEnv: "S", After: 1}}
	for _, step := range []string{"read", "sent", "advanced"} {
		crashed := false
		notify.TestOnlyFault = func(s string) {
			if s == step && !crashed {
				crashed = true
				panic(errCrash)
			}
		}
		func() {
			defer func() {
				if r := recover(); r != nil && r != errCrash {
					panic(r)
				}
			}()
			once(t, tr, env)
		}()
		if !crashed {
			t.Fatalf("step %s never reached", step)
		}
		tr.add("user.auto_create", gatehouse.OutcomeSuccess)
	}
	notify.TestOnlyFault = nil
	if _, err := once(t, tr, env); err != nil {
		t.Fatal(err)
	}
	// Every event after the rule's was delivered, the one in flight at
	// the "sent" crash twice with one ID, none lost.
	ids := map[string]int{}
	for _, d := range rcv.Deliveries() {
		if !d.Verified {
			t.Errorf("unverified delivery: %s", d.Err)
		}
		ids[d.ID]++
	}
	for seq := 2; seq <= len(tr.events); seq++ {
		id := notify.EventID("0123456789abcdef", int64(seq))
		if ids[id] == 0 {
			t.Errorf("event %d lost (deliveries %v)", seq, ids)
		}
	}
	dups := 0
	for _, n := range ids {
		dups += n - 1
	}
	if dups != 1 {
		t.Errorf("want exactly one duplicate (the crash after sending), got %v", ids)
	}
}

var errCrash = errors.New("crash")

// Syslog records reach a real rsyslogd over UDP, TCP and a unix socket,
// in RFC 5424 with gatehouse's structured data.
func TestRsyslogReceivesRFC5424(t *testing.T) {
	rs, err := notifytest.StartRsyslog(t.TempDir())
	if err != nil {
		t.Fatal(err) // a missing rsyslogd fails: .ci/run installs it
	}
	defer rs.Close()
	tr := newTrail("store.init", "support.logon", "support.logon.x", "login.denied")
	tr.events[1].Outcome = gatehouse.OutcomeDenied
	tr.events[1].Actor = `tech "x" ] \`
	for _, addr := range []string{rs.UDP, rs.TCP, rs.Unix} {
		tr.rules = append(tr.rules, gatehouse.NotifyRule{Name: strings.SplitN(addr, ":", 2)[0], Sink: gatehouse.SinkSyslog,
			Target: addr, Format: gatehouse.FormatOCSF, Actions: []string{"support.logon:denied", "login.denied"}, After: 1})
	}
	if st, err := once(t, tr, nil); err != nil || st.Delivered != 6 {
		t.Fatalf("Run: %+v, %v", st, err)
	}
	lines := rs.WaitFor(`[gatehouse@32473 id="evt_0123456789abcdef_2" seq="2" action="support.logon" outcome="denied" actor="tech \"x\" \] \\" target="ann@example.com"]`, 3, 10*time.Second)
	if len(lines) != 3 {
		b, _ := os.ReadFile(rs.Out)
		t.Fatalf("want the record over UDP, TCP and the socket, got %d:\n%s", len(lines), b)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "1 2026-05-01T12:00:02") || !strings.Contains(l, " gatehouse ") || !strings.Contains(l, " support.logon [") {
			t.Errorf("header: %s", l)
		}
		if !strings.Contains(l, `"class_uid":3002`) {
			t.Errorf("message: %s", l)
		}
	}
	if n := len(rs.WaitFor(`id="evt_0123456789abcdef_4"`, 3, 5*time.Second)); n != 3 {
		t.Errorf("login.denied: %d records, want 3", n)
	}
	if n := len(rs.WaitFor(`support.logon.x`, 1, 200*time.Millisecond)); n != 0 {
		t.Errorf("an event no rule matches was sent")
	}
}

// A redirect is never followed, and a failed delivery shows neither the
// answer's body nor the secret.
func TestWebhookRedirectAndSecretHygiene(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path == "/elsewhere" {
			t.Errorf("the redirect was followed")
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	secret := "whsec_" + strings.Repeat("QUJD", 8)
	r := gatehouse.NotifyRule{Name: "r", Sink: gatehouse.SinkWebhook, Target: srv.URL, SecretEnv: "S"}
	sink, err := notify.NewSink(&r, func(string) string { return secret })
	if err != nil {
		t.Fatal(err)
	}
	err = sink.Send(context.Background(), notify.Message{ID: "evt_x_1", Body: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "answered 302") || hits != 1 {
		t.Errorf("redirect: %v after %d requests", err, hits)
	}
	// A malformed secret is refused without being shown.
	bad := "whsec_not-base64-" + strings.Repeat("z", 20)
	_, err = notify.NewSink(&r, func(string) string { return bad })
	if err == nil || strings.Contains(err.Error(), "not-base64") || !strings.Contains(err.Error(), "environment variable S") {
		t.Errorf("bad secret: %v", err)
	}
	// Link-local addresses (cloud metadata) are never connected to.
	r.Target = "https://169.254.169.254/latest"
	sink, err = notify.NewSink(&r, func(string) string { return secret })
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Send(context.Background(), notify.Message{ID: "evt_x_1", Body: []byte(`{}`)}); err == nil || !strings.Contains(err.Error(), "link-local") {
		t.Errorf("link-local: %v", err)
	}
}
