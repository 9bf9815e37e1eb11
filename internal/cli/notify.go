package cli

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdNotify is 'gatehouse notify': the notification rules.
func NewCmdNotify(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "notify",
		Short: "Rules that send audited events to a webhook, syslog or a JSON Lines file",
		Long: withExitStatus(`Notification rules: which audited actions (user.auto_create, support.request,
support.logon, refused sign-ins, setting changes…) go to which sink. A rule
is kept in the store and every change to it is audited. 'gatehouse events
forward' delivers the events (docs/operations.md).`),
	})
	cmd.AddCommand(newCmdNotifyAdd(f), newCmdNotifyList(f), newCmdNotifyRemove(f), newCmdNotifyTest(f))
	return cmd
}

func newCmdNotifyAdd(f *Factory) *cobra.Command {
	var r gatehouse.NotifyRule
	var webhook, syslog, jsonl string
	cmd := &cobra.Command{
		Use:   "add NAME (--webhook URL | --syslog ADDRESS | --jsonl FILE) --on ACTION...",
		Short: "Add a rule: which actions go to which sink",
		Long: withExitStatus(`Add a notification rule. It is sent the events committed after it is added
whose action matches one of --on: an action (user.auto_create), a glob
(support.*), either with :success or :denied for the outcome only
(support.logon:denied). The actions worth a rule: user.auto_create,
user.add, support.request, support.rotate, support.reenable (a re-enable
after a revoke), support.logon, signin.denied and login.denied (refused
sign-ins), and the setting changes sso.*, license.set, lockout.configure,
server.configure, support.configure, notify.*.

One sink:
  --webhook URL      POST, signed per Standard Webhooks; https, or http to a
                     loopback address only; redirects are not followed. The
                     signing secret (whsec_…) is read by the forwarder from
                     --secret-file or the environment variable --secret-env;
                     the rule stores only where, never the secret.
  --syslog ADDRESS   RFC 5424 with structured data: udp://HOST:PORT,
                     tcp://HOST:PORT (octet-counting framing) or
                     unix:///PATH (a datagram socket such as /dev/log).
  --jsonl FILE       one JSON document per line, appended and synced.

--format picks the payload: gatehouse (the event as 'audit list -o json'
prints it) or ocsf (OCSF Authentication 3002, Account Change 3001).`),
		Example: `  gatehouse notify add new-accounts --webhook https://hooks.example.com/gatehouse \
      --secret-file /etc/gatehouse/webhook.secret --on user.auto_create --on support.request
  gatehouse notify add siem --syslog tcp://siem.example.com:6514 --format ocsf --on 'support.*' --on '*.denied'
  gatehouse notify add shipper --jsonl /var/log/gatehouse/events.jsonl --on '*'`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.Name = args[0]
			n := 0
			for _, s := range []struct{ kind, target string }{{gatehouse.SinkWebhook, webhook}, {gatehouse.SinkSyslog, syslog}, {gatehouse.SinkJSONL, jsonl}} {
				if s.target != "" {
					r.Sink, r.Target = s.kind, s.target
					n++
				}
			}
			if n != 1 {
				return usageError("give one sink: --webhook URL, --syslog ADDRESS or --jsonl FILE")
			}
			if err := r.Validate(); err != nil {
				return err
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			added, err := db.AddNotifyRule(cmd.Context(), f.Actor(), r)
			if err != nil {
				return err
			}
			f.IO.Info("added notification rule %s: events after %d go to %s", added.Name, added.After, added.Sink)
			return f.Result(p, true, added)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&webhook, "webhook", "", "send to this webhook URL (https, or http to loopback)")
	fl.StringVar(&syslog, "syslog", "", "send to this syslog address: udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH")
	fl.StringVar(&jsonl, "jsonl", "", "append to this JSON Lines file (an absolute path)")
	fl.StringArrayVar(&r.Actions, "on", nil, "an action or glob to send, optionally with :success or :denied (repeatable)")
	fl.StringVar(&r.Format, "format", gatehouse.FormatGatehouse, "payload format: gatehouse or ocsf")
	fl.StringVar(&r.SecretFile, "secret-file", "", "read the webhook's signing secret (whsec_…) from this file when sending")
	fl.StringVar(&r.SecretEnv, "secret-env", "", "read the webhook's signing secret from this environment variable when sending")
	return cmd
}

var notifyColumns = []string{"NAME", "SINK", "TARGET", "FORMAT", "ON", "SECRET", "AFTER"}

func printNotifyRules(p *render.Printer, rules []gatehouse.NotifyRule) error {
	l := p.List(notifyColumns, gatehouse.NotifyRule{})
	defer l.Flush()
	for _, r := range rules {
		secret := "-"
		switch {
		case r.SecretFile != "":
			secret = "file " + r.SecretFile
		case r.SecretEnv != "":
			secret = "env " + r.SecretEnv
		}
		if err := l.Add(r, r.Name, r.Sink, r.Target, r.Format, strings.Join(r.Actions, ","), secret, strconv.FormatInt(r.After, 10)); err != nil {
			return err
		}
	}
	return l.Close()
}

func newCmdNotifyList(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the notification rules",
		Long:    withExitStatus(`List the notification rules: name, sink and target, payload format, the actions sent, where a webhook's secret is read from (never the secret), and the number of events the trail held when the rule was added.`),
		Example: "  gatehouse notify list -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			rules, err := db.NotifyRules(cmd.Context())
			if err != nil {
				return err
			}
			return printNotifyRules(p, rules)
		},
	}
}

func newCmdNotifyRemove(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "remove NAME",
		Short:   "Remove a notification rule",
		Long:    withExitStatus(`Remove a notification rule. Events not yet forwarded to it are not sent.`),
		Example: "  gatehouse notify remove new-accounts",
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			r, err := db.RemoveNotifyRule(cmd.Context(), f.Actor(), args[0])
			if err != nil {
				return err
			}
			f.IO.Info("removed notification rule %s (%s)", r.Name, r.Sink)
			return f.Result(p, true, r)
		},
	}
}

func newCmdNotifyTest(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "test NAME",
		Short: "Send a test event to a rule's sink",
		Long: withExitStatus(`Send one test event (action notify.test, sequence 0) to a rule's sink, as
'events forward' would: signed with the webhook's secret, read from where
the rule says. Nothing is written to the store. Exit status 3 when the sink
does not take it.`),
		Example: "  gatehouse notify test new-accounts",
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := f.ReadStore(cmd.Context())
			if err != nil {
				return err
			}
			r, err := db.NotifyRule(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			id, err := db.StoreID(cmd.Context())
			if err != nil {
				return err
			}
			info, err := db.Store().Info(cmd.Context())
			if err != nil {
				return err
			}
			src := notify.Source{StoreID: id, Tenant: info.TenantID, Version: buildVersion().Version}
			ev := &gatehouse.Event{Seq: 0, Time: f.Now().UTC(), Actor: f.Actor(), Action: "notify.test", Target: r.Name,
				Outcome: gatehouse.OutcomeSuccess, Details: []byte(`{"test":true}`)}
			m, err := notify.NewMessageID(r.Format, src, notify.EventID(id, 0)+"_test_"+time.Now().UTC().Format("20060102T150405"), ev)
			if err != nil {
				return err
			}
			sink, err := notify.NewSink(&r, os.Getenv)
			if err != nil {
				return err
			}
			defer sink.Close()
			if err := sink.Send(cmd.Context(), m); err != nil {
				return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "rule %s: the test event was not delivered: %v", r.Name, err)
			}
			f.IO.Info("rule %s: delivered a test event (%s) to %s", r.Name, m.ID, r.Sink)
			return nil
		},
	}
}

// NewCmdEvents is 'gatehouse events': the audited events, for other systems.
func NewCmdEvents(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "events",
		Short: "Deliver audited events to the notification rules' sinks",
		Long:  withExitStatus(`Deliver the audit trail's events to the sinks of the notification rules ('gatehouse notify').`),
	})
	cmd.AddCommand(newCmdEventsForward(f))
	return cmd
}

func newCmdEventsForward(f *Factory) *cobra.Command {
	var o notify.Options
	cmd := &cobra.Command{
		Use:   "forward [--once]",
		Short: "Send committed events to the rules' sinks, at least once, resuming after a stored cursor",
		Long: withExitStatus(`Read the committed events after each rule's stored cursor and send each one
the rule matches to its sink; the cursor moves past an event only once the
sink took it (a 2xx answer, a socket write, an fsync), so an event is
delivered at least once: after a crash or a failed attempt it is sent
again, with the same ID (webhook-id, the payload's id, the syslog id
parameter: evt_STOREID_SEQ), by which a receiver drops duplicates. A failed
delivery is retried with exponential backoff (--backoff, doubling up to
--max-backoff); other rules go on meanwhile.

Without --once it runs until SIGTERM or SIGINT (the systemd unit
gatehouse-forward.service), polling every --interval. With --once it
delivers what is there and exits: 0 when every rule is up to date, 3 when a
delivery still failed after --max-attempts tries (its cursor stays before
the event; the next run sends it again). Run one forwarder per store: a
second one finds its cursor moved and backs off, and may send duplicates.`),
		Example: `  gatehouse events forward
  gatehouse events forward --once --max-attempts 3`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Interval < 100*time.Millisecond || o.Backoff < 10*time.Millisecond || o.MaxBackoff < o.Backoff {
				return usageError("--interval must be at least 100ms, --backoff at least 10ms, --max-backoff at least --backoff")
			}
			if o.MaxAttempts < 1 {
				return usageError("--max-attempts must be at least 1")
			}
			db, err := f.Store(cmd.Context())
			if err != nil {
				return err
			}
			info, err := db.Store().Info(cmd.Context())
			if err != nil {
				return err
			}
			o.Source = notify.Source{Tenant: info.TenantID, Version: buildVersion().Version}
			o.Getenv = os.Getenv
			o.Log = func(format string, args ...any) { f.IO.Info(format, args...) }
			st, err := notify.Run(cmd.Context(), db, o)
			if err != nil {
				return err
			}
			if o.Once {
				f.IO.Info("delivered %d event(s) to %d rule(s)", st.Delivered, st.Rules)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.Once, "once", false, "deliver what is there, then exit (for cron)")
	fl.DurationVar(&o.Interval, "interval", 2*time.Second, "pause between passes over the trail")
	fl.DurationVar(&o.Backoff, "backoff", time.Second, "first pause after a failed delivery")
	fl.DurationVar(&o.MaxBackoff, "max-backoff", 5*time.Minute, "longest pause between attempts")
	fl.IntVar(&o.MaxAttempts, "max-attempts", 5, "with --once, attempts per event before giving up (exit 3)")
	return cmd
}
