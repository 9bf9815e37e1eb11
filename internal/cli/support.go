package cli

import (
	"context"
	"slices"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdSupport builds `gatehouse support`.
func NewCmdSupport(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "support",
		Short: "Vendor support access: request, rotate, revoke, expire, and audit every technician logon",
		Long: withExitStatus(`The built-in support account lets the vendor's engineers in with Master role
and scope. 'support request' creates or enables it, sets a new random password,
keeps only its argon2id hash, and hands the password to the vendor encrypted
with age: no person ever sees it. Every technician logon is audited with the
technician's ID. Credentials expire; cron rotates them and sweeps expired ones.
See docs/support-access.md.`),
	})
	cmd.AddCommand(
		newCmdSupportRequest(f),
		newCmdSupportRotate(f),
		newCmdSupportRevoke(f),
		newCmdSupportStatus(f),
		newCmdSupportSweep(f),
		newCmdSupportEnsure(f),
		newCmdSupportLogin(f),
		newCmdSupportConfigure(f),
		newCmdSupportRecipients(f),
	)
	return cmd
}

// issueFlags are the delivery flags of request and rotate.
type issueFlags struct {
	out   string
	armor bool
}

func (fl *issueFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&fl.out, "out", "", "write the envelope to FILE (atomically, mode 0600; an existing FILE only if it is an earlier envelope); - for stdout (default: stdout unless an endpoint is configured)")
	cmd.Flags().BoolVar(&fl.armor, "armor", false, "ASCII-armor the envelope (PEM-like text)")
}

// check refuses to write a binary envelope to a terminal, as age does,
// before anything is generated.
func (fl *issueFlags) check(f *Factory) error {
	toStdout := fl.out == "-" || fl.out == ""
	if !toStdout {
		if err := gatehouse.ValidatePath("--out", fl.out); err != nil {
			return err
		}
	}
	if toStdout && f.jq != nil {
		return usageError("the envelope goes to stdout, which --jq cannot filter: use --out FILE with --jq")
	}
	if toStdout && !fl.armor && f.IO.IsStdoutTTY() {
		return usageError("refusing to write a binary envelope to a terminal: use --out FILE or --armor")
	}
	return nil
}

// issue runs a request or rotation with the delivery flags and reports it.
// Everything that can be refused up front is checked before the store is
// opened, let alone a password generated.
func (f *Factory) issue(cmd *cobra.Command, fl issueFlags, o core.IssueOptions,
	run func(*core.Core, context.Context, core.IssueOptions) (*core.IssueResult, error)) error {
	if err := fl.check(f); err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	if fl.out == "-" && p.Format() != render.Table {
		return envelopeAndRecord(p.Format())
	}
	svc, err := f.Store(cmd.Context())
	if err != nil {
		return err
	}
	if fl.out == "" && p.Format() != render.Table {
		// Without --out the envelope goes to stdout unless an endpoint
		// takes it.
		st, err := svc.SupportState(cmd.Context())
		if err != nil {
			return err
		}
		if st.Settings.Endpoint == "" {
			return envelopeAndRecord(p.Format())
		}
	}
	o.Out, o.Stdout, o.Armor = fl.out, f.IO.Out, fl.armor
	res, err := run(svc, cmd.Context(), o)
	if err != nil {
		return err
	}
	return f.reportIssue(p, res)
}

// envelopeAndRecord refuses, before anything changes, to write both the
// envelope and the record of -o FORMAT to stdout: one would corrupt the
// other, and dropping the record a script asked for would be silent.
func envelopeAndRecord(format render.Format) error {
	return usageError("the envelope would go to stdout, where -o %s prints the record: use --out FILE with -o %s", format, format)
}

// reportIssue prints the result of a request or rotation: on stdout, unless
// the envelope itself went there (only with -o table: issue refuses the
// other formats), when only the one-line summary on stderr is printed.
// With -q a success prints nothing.
func (f *Factory) reportIssue(p *render.Printer, res *core.IssueResult) error {
	if res.Issued {
		f.IO.Info("issued a new credential for %s (request %s), valid until %s", res.Account, res.RequestID, res.ExpiresAt.Format(time.RFC3339))
	} else {
		f.IO.Info("nothing to do: %s", res.Skipped)
	}
	if slices.Contains(res.DeliveredTo, "stdout") {
		f.reportedTable(res.Issued)
		return nil
	}
	return f.Result(p, res.Issued, res)
}

// applyChange runs a change that may find nothing to do, says which on
// stderr, and prints its record (Result): whether it changed anything and
// the object after returns, read after the change.
func (f *Factory) applyChange(ctx context.Context, change func(*core.Core) (bool, error), after func(*core.Core) (any, error), did, nothing string) error {
	p, db, err := f.PrinterAndStore(ctx)
	if err != nil {
		return err
	}
	done, err := change(db)
	if err != nil {
		return err
	}
	if done {
		f.IO.Info("%s", did)
	} else {
		f.IO.Info("%s", nothing)
	}
	v, err := after(db)
	if err != nil {
		return err
	}
	return f.Result(p, done, v)
}

// supportAfter is the record of a change to support access: what 'support
// status' prints.
func (f *Factory) supportAfter(ctx context.Context) func(*core.Core) (any, error) {
	return func(db *core.Core) (any, error) {
		st, err := db.SupportState(ctx)
		if err != nil {
			return nil, err
		}
		return supportStatus(&st, f.Now().UTC()), nil
	}
}

func newCmdSupportRequest(f *Factory) *cobra.Command {
	var fl issueFlags
	var ttl, reason string
	cmd := &cobra.Command{
		Use:   "request [--out FILE|-] [--armor] [--ttl D] [--reason TEXT]",
		Short: "Create or enable the support account and hand the vendor a new password",
		Long: withExitStatus(`Create the support account if it is missing (Master role and scope), enable
it, generate a new random password (192 bits), keep only its argon2id hash,
and write an age-encrypted envelope for the vendor's recipients: account,
password, login URL, tenant, request ID, issue and expiry times.

Two-phase: the envelope is delivered first (to --out, stdout, and the
configured endpoint); only then are the new hash and its audit event
committed, together. If delivery fails, the previous credential stays valid,
nothing changes, and the command fails. Every request invalidates the
previous password. Not available in cloud mode.`),
		Example: `  gatehouse support request --out envelope.age --reason "ticket 4711"
  gatehouse support request --armor --ttl 24h > envelope.txt`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := optionalDuration("--ttl", ttl)
			if err != nil {
				return err
			}
			if d > 0 && d < gatehouse.MinSupportTTL {
				return usageError("--ttl %s is too short: at least %s, as for support.ttl", gatehouse.FormatDuration(d), gatehouse.FormatDuration(gatehouse.MinSupportTTL))
			}
			if d > gatehouse.MaxSupportTTL {
				return usageError("--ttl %s is too long: at most %s, as for support.ttl", gatehouse.FormatDuration(d), gatehouse.FormatDuration(gatehouse.MaxSupportTTL))
			}
			if err := checkReason(reason); err != nil {
				return err
			}
			return f.issue(cmd, fl, core.IssueOptions{Actor: f.Actor(), Reason: reason, TTL: d}, (*core.Core).RequestSupport)
		},
	}
	fl.register(cmd)
	cmd.Flags().StringVar(&ttl, "ttl", "", "how long the credential is valid, 1m to 30d (default: support.ttl, 72h)")
	cmd.Flags().StringVar(&reason, "reason", "", "why support is requested (recorded in the audit trail)")
	return cmd
}

func newCmdSupportRotate(f *Factory) *cobra.Command {
	var fl issueFlags
	var olderThan string
	cmd := &cobra.Command{
		Use:   "rotate [--if-older-than D] [--out FILE|-] [--armor]",
		Short: "Replace the support password (for cron); harmless to re-run",
		Long: withExitStatus(`Replace the support account's password with a new one, delivered like
'support request'. With --if-older-than, only a credential at least that old
is replaced; otherwise the command does nothing and exits 0, so cron can run
it often. Rotation never opens or extends access: the new password ends when
the current one would (its expiry, or reset-after-use after the first logon),
and with the account disabled or the credential expired or absent it does
nothing and exits 0, saying so. (In cloud mode, where the account is the
standing grant, it issues a credential when there is none.) Two rotations at
once are serialised. Audited as actor system, with the OS user and any
--actor as run_by.`),
		Example: `  gatehouse -q support rotate --if-older-than 24h --out /var/lib/gatehouse/envelope.age`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := optionalDuration("--if-older-than", olderThan)
			if err != nil {
				return err
			}
			return f.issue(cmd, fl, core.IssueOptions{Actor: f.Config().Actor, IfOlderThan: d}, (*core.Core).RotateSupportCredential)
		},
	}
	fl.register(cmd)
	cmd.Flags().StringVar(&olderThan, "if-older-than", "", "rotate only a credential at least this old (30d, 12h)")
	return cmd
}

func newCmdSupportRevoke(f *Factory) *cobra.Command {
	var reason string
	return withFlags(&cobra.Command{
		Use:     "revoke [--reason TEXT]",
		Short:   "Disable the support account and invalidate its credential",
		Long:    withExitStatus(`Disable the support account and delete its credential: the vendor's password stops working at once. In cloud mode the system may re-enable it ('support ensure').`),
		Example: "  gatehouse support revoke --reason 'ticket 4711 closed'",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkReason(reason); err != nil {
				return err
			}
			return f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.RevokeSupport(cmd.Context(), f.Actor(), reason) },
				f.supportAfter(cmd.Context()), "support access revoked", "support access was already off; nothing changed")
		},
	}, func(cmd *cobra.Command) {
		cmd.Flags().StringVar(&reason, "reason", "", "why access is revoked (recorded in the audit trail)")
	})
}

func newCmdSupportSweep(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "sweep",
		Short: "End an expired support credential (for cron)",
		Long: withExitStatus(`If the support credential has expired (its TTL, or reset-after-use after the
first logon), delete it and, on-prem, disable the support account. In cloud
mode the account stays enabled. Does nothing, successfully, otherwise.
Audited as actor system, with the OS user and any --actor as run_by.`),
		Example: `  gatehouse -q support sweep`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.SweepSupport(cmd.Context(), f.Config().Actor) },
				f.supportAfter(cmd.Context()), "the expired support credential was ended", "no expired support credential; nothing changed")
		},
	}
}

func newCmdSupportEnsure(f *Factory) *cobra.Command {
	var reason string
	return withFlags(&cobra.Command{
		Use:   "ensure [--reason TEXT]",
		Short: "Re-create or re-enable the cloud support account (run by the system)",
		Long: withExitStatus(`In cloud mode the support account exists and is enabled by default. If it
was disabled or deleted, ensure re-creates or re-enables it, audited as actor
system with the reason, the OS user and any --actor (run_by). It is meant to
be run by the cloud platform's own service account, not by an operator.
Re-enabling an account an admin revoked is recorded as support.reenable,
naming the revoke event, so the undoing of an admin's decision stands out.
Ensure issues no credential. Refused on-prem.`),
		Example: "  gatehouse support ensure --reason 'vendor policy: the support account must exist'",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkReason(reason); err != nil {
				return err
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			res, err := db.EnsureSupport(cmd.Context(), f.Config().Actor, reason)
			switch {
			case err != nil:
				return err
			case res.RevokeSeq != 0:
				f.IO.Info("the support account was re-enabled, undoing the revoke recorded as event %d", res.RevokeSeq)
			case res.Done:
				f.IO.Info("the support account was restored")
			default:
				f.IO.Info("the support account exists and is enabled; nothing changed")
			}
			after, err := f.supportAfter(cmd.Context())(db)
			if err != nil {
				return err
			}
			return f.Result(p, res.Done, after)
		},
	}, func(cmd *cobra.Command) {
		cmd.Flags().StringVar(&reason, "reason", "cloud policy: the vendor's support account must exist", "why the account is restored (recorded)")
	})
}

func newCmdSupportStatus(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "status",
		Short:   "Show support access: enabled, credential age and expiry, last technician logon, recipients",
		Long:    withExitStatus(`Show whether support access is on, how old the credential is and when it expires, the last technician logon and who made it, the vendor's recipients and the support settings.`),
		Example: "  gatehouse support status\n  gatehouse support status -o json | jq .last_logon_by",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			// Complete an envelope delivery a crash interrupted after its
			// commit — only on a store whose permissions pass the check (it
			// is file work for an earlier write), and only if no request or
			// rotation holds the lock: status never waits.
			if db.Trusted() {
				if done, err := db.TryRecoverSupportDelivery(cmd.Context()); err != nil {
					f.IO.Message("warning: %s", gatehouse.ErrorMessage(err))
				} else if done {
					f.IO.Info("completed an interrupted delivery: the envelope file is in place")
				}
			}
			st, err := db.SupportState(cmd.Context())
			if err != nil {
				return err
			}
			if !core.EnvelopeFileMatches(&st) {
				f.IO.Message("warning: the envelope file %s is not the one issued with request %s (replaced, changed or removed since)", st.EnvelopePath, st.Credential.RequestID)
			}
			return p.Object(supportStatus(&st, f.Now().UTC()))
		},
	}
}

func supportStatus(st *core.SupportState, now time.Time) gatehouse.SupportStatus {
	c := st.Credential
	s := gatehouse.SupportStatus{
		Mode: st.Mode, Account: c.AccountName, Exists: c.AccountExists, Enabled: c.Enabled,
		HasCredential: c.HasCredential, Settings: st.Settings, Recipients: st.Fingerprints(),
	}
	if st.ServerOK {
		s.LoginURL = st.Server.LoginURL()
	}
	if c.HasCredential {
		exp := c.EffectiveExpiry()
		s.RequestID, s.IssuedAt, s.ExpiresAt = c.RequestID, timePtr(c.IssuedAt), &exp
		s.CredentialAge = gatehouse.Age(now, c.IssuedAt)
		s.Expired = !now.Before(exp)
		s.FirstLogonAt = timePtr(c.FirstLogonAt)
	}
	s.LastLogonAt, s.LastLogonBy = timePtr(st.LastLogon), st.LastLogonBy
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// optionalDuration parses a duration flag that may be empty.
func optionalDuration(flag, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := gatehouse.ParseDuration(s)
	if err != nil {
		return 0, usageError("%s: %s", flag, gatehouse.ErrorMessage(err))
	}
	return d, nil
}

// checkReason bounds a free-text reason: it goes into the audit trail.
func checkReason(s string) error {
	if len(s) > 500 {
		return usageError("--reason is too long (%d bytes, at most 500)", len(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) { // C0, DEL and C1
			return usageError("--reason must be one line of printable text")
		}
	}
	if gatehouse.HoldsPrivateKey(s) {
		return usageError("--reason looks like private key material (an age identity or a private key block): refusing it, as it would be recorded or shown")
	}
	return nil
}

// withFlags lets a command literal register its flags in place.
func withFlags(cmd *cobra.Command, register func(*cobra.Command)) *cobra.Command {
	register(cmd)
	return cmd
}
