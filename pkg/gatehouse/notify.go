package gatehouse

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Notification rules: which audited actions are sent to which sink. A rule
// is security state (it decides who is told of an auto-created account or
// a vendor logon), so it is kept as a setting, NotifyRuleKey(name), whose
// value is the rule's JSON: every change is audited and replayed like any
// setting (notify.add, notify.remove), and 'audit verify --state' reports a
// rule edited behind gatehouse's back. A rule never holds a secret: a
// webhook's signing secret is named by a file or an environment variable
// and read only by the process that sends.

// NotifyRulePrefix is the setting-key prefix of the rules.
const NotifyRulePrefix = "notify.rule."

// NotifyRuleKey is the setting key of the rule called name.
func NotifyRuleKey(name string) string { return NotifyRulePrefix + name }

// Sink kinds.
const (
	SinkWebhook = "webhook"
	SinkSyslog  = "syslog"
	SinkJSONL   = "jsonl"
)

// Payload formats.
const (
	FormatGatehouse = "gatehouse"
	FormatOCSF      = "ocsf"
)

// NotifyRule sends the events whose action matches one of Actions to one
// sink.
type NotifyRule struct {
	Name string `json:"name"`
	// Sink is webhook, syslog or jsonl; Target its URL (webhook), address
	// (syslog: udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH) or file
	// path (jsonl).
	Sink   string `json:"sink"`
	Target string `json:"target"`
	// Format is the payload: gatehouse (the event as 'audit list -o json'
	// prints it) or ocsf.
	Format string `json:"format"`
	// Actions are patterns: an action name or a glob (support.*), with an
	// optional :success or :denied for the outcome.
	Actions []string `json:"actions"`
	// SecretFile or SecretEnv names where a webhook's signing secret
	// (whsec_…) is read; never the secret.
	SecretFile string `json:"secret_file,omitempty"`
	SecretEnv  string `json:"secret_env,omitempty"`
	// After is the number of events the trail held when the rule was
	// added: a rule is sent the events after it, not the history.
	After   int64  `json:"after"`
	AddedAt string `json:"added_at"`
	AddedBy string `json:"added_by"`
}

// CursorName is the name of the rule's delivery cursor: a rule removed and
// added again under its name starts a new one.
func (r *NotifyRule) CursorName() string { return fmt.Sprintf("%s@%d", r.Name, r.After) }

// Encode is the rule as its setting stores it.
func (r *NotifyRule) Encode() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// DecodeNotifyRule reads a rule from its setting.
func DecodeNotifyRule(value string) (NotifyRule, error) {
	var r NotifyRule
	if err := json.Unmarshal([]byte(value), &r); err != nil {
		return r, Errorf(ECHECKFAILED, "a stored notification rule cannot be read: run 'gatehouse audit verify --state'")
	}
	return r, nil
}

var (
	ruleNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	patternRE   = regexp.MustCompile(`^[a-z0-9_.*?\[\]-]{1,64}$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	maxPatterns = 32
)

// Matches reports whether an event of action and outcome matches one of
// the rule's patterns.
func (r *NotifyRule) Matches(action string, outcome Outcome) bool {
	for _, p := range r.Actions {
		pat, want, _ := strings.Cut(p, ":")
		if want != "" && Outcome(want) != outcome {
			continue
		}
		if ok, _ := path.Match(pat, action); ok {
			return true
		}
	}
	return false
}

// Validate checks a rule as 'notify add' gives it, in words for the user.
func (r *NotifyRule) Validate() error {
	if !ruleNameRE.MatchString(r.Name) {
		return Errorf(EINVALID, "invalid rule name %q: 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit", Clip(r.Name, maxShown))
	}
	switch r.Format {
	case FormatGatehouse, FormatOCSF:
	default:
		return Errorf(EINVALID, "invalid --format %q: gatehouse or ocsf", Clip(r.Format, maxShown))
	}
	if len(r.Actions) == 0 {
		return Errorf(EINVALID, "give at least one --on ACTION (an action name or a glob such as support.*)")
	}
	if len(r.Actions) > maxPatterns {
		return Errorf(EINVALID, "at most %d --on patterns", maxPatterns)
	}
	for _, p := range r.Actions {
		pat, outcome, hasOutcome := strings.Cut(p, ":")
		if !patternRE.MatchString(pat) {
			return Errorf(EINVALID, "invalid --on %q: an action such as user.auto_create or a glob such as support.*, optionally with :success or :denied", Clip(p, maxShown))
		}
		if _, err := path.Match(pat, ""); err != nil {
			return Errorf(EINVALID, "invalid --on %q: a malformed glob", Clip(p, maxShown))
		}
		if hasOutcome && outcome != string(OutcomeSuccess) && outcome != string(OutcomeDenied) {
			return Errorf(EINVALID, "invalid --on %q: the outcome after : is success or denied", Clip(p, maxShown))
		}
	}
	if r.SecretFile != "" && r.SecretEnv != "" {
		return Errorf(EINVALID, "give --secret-file or --secret-env, not both")
	}
	if r.SecretFile != "" {
		if err := ValidatePath("--secret-file", r.SecretFile); err != nil {
			return err
		}
		if !filepath.IsAbs(r.SecretFile) {
			return Errorf(EINVALID, "--secret-file must be an absolute path: the forwarder reads it from wherever it runs")
		}
	}
	if r.SecretEnv != "" && !envNameRE.MatchString(r.SecretEnv) {
		return Errorf(EINVALID, "invalid --secret-env %q: the name of an environment variable", Clip(r.SecretEnv, maxShown))
	}
	switch r.Sink {
	case SinkWebhook:
		if err := ValidateWebhookURL(r.Target); err != nil {
			return err
		}
		if r.SecretFile == "" && r.SecretEnv == "" {
			return Errorf(EINVALID, "a webhook is signed: give --secret-file FILE or --secret-env NAME (the secret itself is never stored)")
		}
	case SinkSyslog:
		if _, _, err := ParseSyslogAddress(r.Target); err != nil {
			return err
		}
	case SinkJSONL:
		if err := ValidatePath("--jsonl", r.Target); err != nil {
			return err
		}
		if !filepath.IsAbs(r.Target) {
			return Errorf(EINVALID, "--jsonl must be an absolute path: the forwarder writes it from wherever it runs")
		}
	default:
		return Errorf(EINVALID, "give one sink: --webhook URL, --syslog ADDRESS or --jsonl FILE")
	}
	if r.Sink != SinkWebhook && (r.SecretFile != "" || r.SecretEnv != "") {
		return Errorf(EINVALID, "--secret-file and --secret-env sign webhooks only")
	}
	return nil
}

// ValidateWebhookURL checks a webhook's URL: https, or http to a loopback
// address only (a secret-signed payload never crosses a network in the
// clear); no user or password in it (the URL is stored and printed); no
// fragment.
func ValidateWebhookURL(s string) error {
	if err := ValidateText("--webhook", s, 2048); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Errorf(EINVALID, "invalid --webhook %q: an https:// URL", Clip(s, maxShown))
	}
	if u.User != nil {
		return Errorf(EINVALID, "invalid --webhook: the URL holds a user or password, which would be stored and printed; the webhook is authenticated by its signature")
	}
	if u.Fragment != "" {
		return Errorf(EINVALID, "invalid --webhook %q: a URL has no #fragment here", Clip(s, maxShown))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return Errorf(EINVALID, "invalid --webhook %q: http is allowed only to a loopback address (127.0.0.1, ::1, localhost); use https", Clip(s, maxShown))
		}
	default:
		return Errorf(EINVALID, "invalid --webhook %q: an https:// URL (http:// only to a loopback address)", Clip(s, maxShown))
	}
	return nil
}

// IsLoopbackHost reports whether host (no port) is a loopback address or
// localhost.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// ParseSyslogAddress reads a syslog sink's address: udp://HOST:PORT,
// tcp://HOST:PORT or unix:///PATH (a datagram socket, as /dev/log).
// It returns the net package's network and address.
func ParseSyslogAddress(s string) (network, address string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", Errorf(EINVALID, "invalid --syslog %q: %s", Clip(s, maxShown), why)
	}
	if err := ValidateText("--syslog", s, 1024); err != nil {
		return "", "", err
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return bad("udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH")
	}
	switch scheme {
	case "udp", "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || host == "" || port == "" || strings.ContainsAny(rest, "/?#@") {
			return bad("HOST:PORT after " + scheme + "://")
		}
		return scheme, rest, nil
	case "unix":
		if !strings.HasPrefix(rest, "/") {
			return bad("an absolute socket path after unix://")
		}
		if err := ValidatePath("--syslog", rest); err != nil {
			return "", "", err
		}
		return "unixgram", rest, nil
	}
	return bad("udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH")
}

// NotifyCursors is a store that keeps the forwarder's delivery cursors:
// for each rule, the sequence number of the last event it has dealt with.
// A cursor is operational state, not security state: it is written outside
// Change, appends no event and is not in the state replay (docs/security.md).
type NotifyCursors interface {
	// NotifyCursor returns a cursor's position; found is false when it has
	// none yet.
	NotifyCursor(ctx context.Context, name string) (seq int64, found bool, err error)
	// AdvanceNotifyCursor moves a cursor from from to to (to > from) and
	// reports whether it did: false when the cursor is no longer at from
	// (another forwarder moved it). from 0 with no cursor creates it.
	AdvanceNotifyCursor(ctx context.Context, name string, from, to int64) (bool, error)
}
