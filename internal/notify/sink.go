package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Sink delivers messages to one destination. Send returns nil only once
// the destination has taken the message (a 2xx answer, a syscall that
// wrote it, an fsync).
type Sink interface {
	Send(ctx context.Context, m Message) error
	Close() error
}

// Timeout bounds one delivery attempt.
var Timeout = 10 * time.Second

// NewSink opens the sink of rule r. A webhook's secret is read here, from
// r.SecretFile or r.SecretEnv; it is never in an error.
func NewSink(r *gatehouse.NotifyRule, getenv func(string) string) (Sink, error) {
	switch r.Sink {
	case gatehouse.SinkWebhook:
		key, err := readSecret(r, getenv)
		if err != nil {
			return nil, err
		}
		return newWebhook(r.Target, key)
	case gatehouse.SinkSyslog:
		network, address, err := gatehouse.ParseSyslogAddress(r.Target)
		if err != nil {
			return nil, err
		}
		return &syslogSink{network: network, address: address, hostname: hostname()}, nil
	case gatehouse.SinkJSONL:
		return &jsonlSink{path: r.Target}, nil
	}
	return nil, gatehouse.Errorf(gatehouse.EINVALID, "rule %s: unknown sink %q", r.Name, gatehouse.Clip(r.Sink, 32))
}

// readSecret reads a webhook's signing secret: whsec_ and the base64 of
// 24 to 64 random bytes (the Standard Webhooks form). The secret never
// appears in an error: only where it was looked for.
func readSecret(r *gatehouse.NotifyRule, getenv func(string) string) ([]byte, error) {
	var s, where string
	switch {
	case r.SecretFile != "":
		where = "the file " + r.SecretFile
		b, err := os.ReadFile(r.SecretFile)
		if err != nil {
			return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "rule %s: cannot read the webhook secret from %s: %v", r.Name, r.SecretFile, gatehouse.PathCause(err))
		}
		s = strings.TrimSpace(string(b))
	case r.SecretEnv != "":
		where = "the environment variable " + r.SecretEnv
		s = strings.TrimSpace(getenv(r.SecretEnv))
		if s == "" {
			return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "rule %s: the webhook secret's environment variable %s is not set", r.Name, r.SecretEnv)
		}
	default:
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "rule %s: a webhook needs a signing secret", r.Name)
	}
	key, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "rule %s: the webhook secret in %s is not of the form whsec_BASE64", r.Name, where)
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) < 24 || len(raw) > 64 {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "rule %s: the webhook secret in %s is not of the form whsec_BASE64 (24 to 64 bytes, standard base64)", r.Name, where)
	}
	return raw, nil
}

// Sign is the Standard Webhooks signature of a message: "v1," and the
// base64 HMAC-SHA256, under the secret's bytes, of "ID.TIMESTAMP.BODY".
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s.%d.", id, timestamp)
	h.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// webhook posts each message, signed, to one URL.
type webhook struct {
	url    string
	key    []byte
	client *http.Client
}

func newWebhook(rawURL string, key []byte) (*webhook, error) {
	if err := gatehouse.ValidateWebhookURL(rawURL); err != nil {
		return nil, err
	}
	u, _ := url.Parse(rawURL)
	plain := u.Scheme == "http"
	dialer := &net.Dialer{Timeout: Timeout, Control: func(network, address string, _ syscall.RawConn) error {
		return dialAllowed(address, plain)
	}}
	tr := &http.Transport{
		// No proxy from the environment: the address checks below are of
		// the address connected to.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   Timeout,
		ResponseHeaderTimeout: Timeout,
		MaxIdleConns:          2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &webhook{url: rawURL, key: key, client: &http.Client{
		Transport: tr,
		Timeout:   Timeout,
		// A redirect is never followed: the signed event goes to the URL
		// the rule names and nowhere else. A 3xx is a failed delivery.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// dialAllowed checks the address a webhook connects to, after name
// resolution (so that a name cannot be made to point elsewhere later):
// never a link-local address (cloud metadata services live there), an
// unspecified or a multicast one; plain HTTP only to loopback.
func dialAllowed(address string, plain bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("not an IP address: %s", host)
	}
	a = a.Unmap()
	switch {
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() || a.IsMulticast():
		return fmt.Errorf("refusing to connect to %s: a link-local, unspecified or multicast address", a)
	case plain && !a.IsLoopback():
		return fmt.Errorf("refusing plain http to %s: http only to a loopback address", a)
	}
	return nil
}

func (w *webhook) Send(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(m.Body))
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gatehouse-notify")
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(w.key, m.ID, ts, m.Body))
	resp, err := w.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is in the rule; the cause is what matters
		}
		return fmt.Errorf("webhook: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The answer's body is never shown: it comes from outside.
		return fmt.Errorf("webhook: the receiver answered %d", resp.StatusCode)
	}
	return nil
}

func (w *webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

// syslogSink sends RFC 5424 messages over UDP, TCP (octet-counting
// framing, RFC 6587) or a unix datagram socket.
type syslogSink struct {
	network, address, hostname string
	conn                       net.Conn
}

// SyslogSDID is the structured-data ID of gatehouse's element. 32473 is
// the private enterprise number that RFC 5612 reserves for examples and
// documentation: gatehouse has none of its own.
const SyslogSDID = "gatehouse@32473"

// SyslogMessage formats an RFC 5424 message: facility authpriv (10),
// severity notice (5) for a success and warning (4) for a refusal;
// APP-NAME gatehouse, MSGID the action, structured data naming the event
// (id, seq, action, outcome, actor, target, store), and the payload as MSG.
func SyslogMessage(host string, m Message) []byte {
	sev := 5
	if m.Event.Outcome != gatehouse.OutcomeSuccess {
		sev = 4
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s gatehouse %d %s [%s", 10*8+sev,
		m.Event.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), header(host, 255), os.Getpid(),
		header(m.Event.Action, 32), SyslogSDID)
	for _, p := range [][2]string{
		{"id", m.ID}, {"seq", strconv.FormatInt(m.Event.Seq, 10)}, {"action", m.Event.Action},
		{"outcome", string(m.Event.Outcome)}, {"actor", m.Event.Actor}, {"target", m.Event.Target},
	} {
		fmt.Fprintf(&b, ` %s="%s"`, p[0], sdEscape(p[1]))
	}
	b.WriteString("] ")
	b.Write(m.Body)
	return b.Bytes()
}

// header is a header field of RFC 5424: printable US-ASCII without
// spaces, at most max octets, "-" when empty.
func header(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max]
	}
	if s == "" {
		return "-"
	}
	return s
}

// sdEscape escapes a PARAM-VALUE: '"', '\' and ']' (RFC 5424 6.3.3); a
// control character becomes a space.
func sdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 32 || r == 127:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "-"
	}
	return h
}

func (s *syslogSink) Send(ctx context.Context, m Message) error {
	msg := SyslogMessage(s.hostname, m)
	if s.conn == nil {
		d := net.Dialer{Timeout: Timeout}
		c, err := d.DialContext(ctx, s.network, s.address)
		if err != nil {
			return fmt.Errorf("syslog: %v", err)
		}
		s.conn = c
	}
	if s.network == "tcp" {
		msg = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
	}
	s.conn.SetWriteDeadline(time.Now().Add(Timeout))
	if _, err := s.conn.Write(msg); err != nil {
		s.conn.Close()
		s.conn = nil
		return fmt.Errorf("syslog: %v", err)
	}
	return nil
}

func (s *syslogSink) Close() error {
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}

// jsonlSink appends each message as one line to a file, and syncs it.
type jsonlSink struct {
	path string
}

func (j *jsonlSink) Send(_ context.Context, m Message) error {
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("jsonl: cannot open %s: %v", j.path, gatehouse.PathCause(err))
	}
	line := append(append([]byte{}, m.Body...), '\n')
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("jsonl: cannot write %s: %v", j.path, gatehouse.PathCause(err))
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("jsonl: cannot sync %s: %v", j.path, gatehouse.PathCause(err))
	}
	return f.Close()
}

func (j *jsonlSink) Close() error { return nil }
