// Package notifytest runs real receivers for the notification tests: a
// webhook receiver on 127.0.0.1 that checks every delivery's signature
// with the Standard Webhooks reference library, and a real rsyslogd (the
// Debian package) as an unprivileged child process with its own
// configuration, listening on loopback UDP and TCP ports and a unix
// socket, writing what it receives in RFC 5424 to a file.
package notifytest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Delivery is one webhook request the receiver took.
type Delivery struct {
	ID        string
	Timestamp string
	Body      []byte
	// Verified is whether the reference library accepted the signature.
	Verified bool
	Err      string
}

// Receiver is a webhook receiver on 127.0.0.1.
type Receiver struct {
	URL    string
	Secret string // whsec_…
	srv    *httptest.Server
	mu     sync.Mutex
	got    []Delivery
	// fail, while > 0, answers that many requests with 503.
	fail int
}

// NewReceiver starts a receiver with a fresh secret.
func NewReceiver() (*Receiver, error) {
	key := make([]byte, 32)
	rand.Read(key)
	r := &Receiver{Secret: "whsec_" + base64.StdEncoding.EncodeToString(key)}
	wh, err := standardwebhooks.NewWebhook(r.Secret)
	if err != nil {
		return nil, err
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		d := Delivery{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"), Body: body}
		if err := wh.Verify(body, req.Header); err != nil {
			d.Err = err.Error()
		} else {
			d.Verified = true
		}
		r.mu.Lock()
		fail := r.fail > 0
		if fail {
			r.fail--
		}
		r.got = append(r.got, d)
		r.mu.Unlock()
		if fail || !d.Verified {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r.URL = r.srv.URL + "/hook"
	return r, nil
}

// FailNext answers the next n requests with 503.
func (r *Receiver) FailNext(n int) {
	r.mu.Lock()
	r.fail = n
	r.mu.Unlock()
}

// Deliveries returns what was received so far.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// Wait waits until at least n deliveries arrived, or timeout.
func (r *Receiver) Wait(n int, timeout time.Duration) []Delivery {
	deadline := time.Now().Add(timeout)
	for {
		d := r.Deliveries()
		if len(d) >= n || time.Now().After(deadline) {
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Close() }

// Rsyslog is a running rsyslogd.
type Rsyslog struct {
	// UDP, TCP and Unix are the sink addresses of its inputs
	// (udp://127.0.0.1:PORT, tcp://…, unix:///…).
	UDP, TCP, Unix string
	// Out is the file it writes every message to, one RFC 5424 line each.
	Out     string
	cmd     *exec.Cmd
	log     bytes.Buffer
	sockDir string
}

// RsyslogBinary is where rsyslogd is looked for.
func RsyslogBinary() (string, error) {
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil {
		return "/usr/sbin/rsyslogd", nil
	}
	return "", fmt.Errorf("rsyslogd not found: install the Debian package rsyslog (apt-get install rsyslog; .ci/run does)")
}

func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartRsyslog runs rsyslogd in dir (which it owns) until Close.
func StartRsyslog(dir string) (*Rsyslog, error) {
	bin, err := RsyslogBinary()
	if err != nil {
		return nil, err
	}
	udp, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	tcp, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// A socket's path is at most 107 bytes: its own short directory.
	sockDir, err := os.MkdirTemp("", "gh-rsyslog-")
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(sockDir, "log.sock")
	out := filepath.Join(dir, "received.log")
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imuxsock" SysSock.Use="off")
module(load="imudp")
module(load="imtcp")
input(type="imuxsock" Socket=%q UseSpecialParser="off" ParseHostname="on" UseSysTimeStamp="off" IgnoreTimestamp="off" CreatePath="on")
input(type="imudp" address="127.0.0.1" port="%d")
input(type="imtcp" address="127.0.0.1" port="%d")
template(name="rfc5424" type="string" string="%%PROTOCOL-VERSION%% %%TIMESTAMP:::date-rfc3339%% %%HOSTNAME%% %%APP-NAME%% %%PROCID%% %%MSGID%% %%STRUCTURED-DATA%% %%msg%%\n")
action(type="omfile" file=%q template="rfc5424" flushOnTXEnd="on" asyncWriting="off")
`, dir, sock, udp, tcp, out)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	r := &Rsyslog{UDP: "udp://127.0.0.1:" + strconv.Itoa(udp), TCP: "tcp://127.0.0.1:" + strconv.Itoa(tcp),
		Unix: "unix://" + sock, Out: out, sockDir: sockDir}
	r.cmd = exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = &r.log, &r.log
	if err := r.cmd.Start(); err != nil {
		os.RemoveAll(sockDir)
		return nil, err
	}
	// Ready once all three inputs listen.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcp), time.Second)
		_, serr := os.Stat(sock)
		if err == nil {
			c.Close()
		}
		if err == nil && serr == nil {
			break
		}
		if time.Now().After(deadline) {
			r.Close()
			return nil, fmt.Errorf("rsyslogd did not start: %s", r.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// UDP has no handshake: give imudp a moment after imtcp listens.
	time.Sleep(200 * time.Millisecond)
	return r, nil
}

// WaitFor waits until the output holds n lines containing sub, or timeout;
// it returns those lines.
func (r *Rsyslog) WaitFor(sub string, n int, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(r.Out)
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, sub) {
				lines = append(lines, l)
			}
		}
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops rsyslogd.
func (r *Rsyslog) Close() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
	os.RemoveAll(r.sockDir)
}
