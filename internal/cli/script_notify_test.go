package cli

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/notify/notifytest"
	"github.com/rogpeppe/go-internal/testscript"
)

// The receivers of the notification scripts, per script.
var (
	notifyMu  sync.Mutex
	receivers = map[*testscript.TestScript]*notifytest.Receiver{}
	rsyslogds = map[*testscript.TestScript]*notifytest.Rsyslog{}
)

// webhook start: a receiver on 127.0.0.1 that checks signatures with the
// Standard Webhooks reference library; sets WEBHOOK_URL and WEBHOOK_SECRET.
// webhook wait N [SECONDS]: waits for N deliveries and checks there are
// exactly N, each verified, with distinct IDs unless -dup is given.
// webhook ids: prints the IDs received, one a line, to stdout.
func cmdWebhook(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: webhook start | wait N [SECONDS] | ids")
	}
	notifyMu.Lock()
	r := receivers[ts]
	notifyMu.Unlock()
	switch args[0] {
	case "start":
		r, err := notifytest.NewReceiver()
		ts.Check(err)
		notifyMu.Lock()
		receivers[ts] = r
		notifyMu.Unlock()
		ts.Defer(func() {
			r.Close()
			notifyMu.Lock()
			delete(receivers, ts)
			notifyMu.Unlock()
		})
		ts.Setenv("WEBHOOK_URL", r.URL)
		ts.Setenv("WEBHOOK_SECRET", r.Secret)
	case "wait":
		if r == nil || len(args) < 2 {
			ts.Fatalf("usage: webhook wait N [SECONDS], after webhook start")
		}
		n, _ := strconv.Atoi(args[1])
		secs := 10
		if len(args) > 2 {
			secs, _ = strconv.Atoi(args[2])
		}
		r.Wait(n, time.Duration(secs)*time.Second)
		time.Sleep(300 * time.Millisecond) // anything beyond N would show
		got := r.Deliveries()
		if len(got) != n {
			ts.Fatalf("webhook: %d deliveries, want %d", len(got), n)
		}
		for _, d := range got {
			if !d.Verified {
				ts.Fatalf("webhook: delivery %s: signature refused by the reference library: %s", d.ID, d.Err)
			}
			ts.Logf("webhook delivery %s: %s", d.ID, d.Body)
		}
	case "ids":
		if r == nil {
			ts.Fatalf("webhook ids: no receiver")
		}
		var b strings.Builder
		for _, d := range r.Deliveries() {
			b.WriteString(d.ID + "\n")
		}
		ts.Stdout().Write([]byte(b.String()))
	default:
		ts.Fatalf("webhook: unknown %q", args[0])
	}
}

// rsyslog start: a real rsyslogd on loopback (notifytest.StartRsyslog);
// sets SYSLOG_UDP, SYSLOG_TCP, SYSLOG_UNIX and SYSLOG_OUT (what it wrote).
// rsyslog wait N TEXT: waits up to 10 s for N records holding TEXT, and
// checks there are exactly N.
func cmdRsyslog(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: rsyslog start | wait N TEXT")
	}
	switch args[0] {
	case "start":
		rs, err := notifytest.StartRsyslog(ts.MkAbs("rsyslog"))
		if err != nil {
			ts.Fatalf("rsyslog: %v", err) // never a skip: .ci/run installs it
		}
		notifyMu.Lock()
		rsyslogds[ts] = rs
		notifyMu.Unlock()
		ts.Defer(func() {
			rs.Close()
			notifyMu.Lock()
			delete(rsyslogds, ts)
			notifyMu.Unlock()
		})
		ts.Setenv("SYSLOG_UDP", rs.UDP)
		ts.Setenv("SYSLOG_TCP", rs.TCP)
		ts.Setenv("SYSLOG_UNIX", rs.Unix)
		ts.Setenv("SYSLOG_OUT", rs.Out)
	case "wait":
		notifyMu.Lock()
		rs := rsyslogds[ts]
		notifyMu.Unlock()
		if rs == nil || len(args) != 3 {
			ts.Fatalf("usage: rsyslog wait N TEXT, after rsyslog start")
		}
		n, _ := strconv.Atoi(args[1])
		rs.WaitFor(args[2], n, 10*time.Second)
		time.Sleep(300 * time.Millisecond)
		if got := rs.WaitFor(args[2], 0, 0); len(got) != n {
			ts.Fatalf("rsyslog: %d records hold %q, want %d:\n%s", len(got), args[2], n, strings.Join(got, "\n"))
		} else {
			ts.Logf("rsyslog: %s", strings.Join(got, "\n"))
		}
	default:
		ts.Fatalf("rsyslog: unknown %q", args[0])
	}
}
