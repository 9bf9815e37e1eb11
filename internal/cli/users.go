package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdUsers builds `gatehouse users`.
func NewCmdUsers(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "users",
		Short: "Accounts, and the queue of users awaiting role assignment",
		Long: withExitStatus(`Accounts and their access. A USER argument is a user name, an email or a
numeric ID; an account created on SSO sign-in is named by its email.

Pending users are enabled accounts with no role, no group access and no
organisation visibility: typically created on first SSO sign-in, awaiting a
deliberate assignment.`),
	})
	cmd.AddCommand(newCmdUsersList(f, false), newCmdUsersList(f, true), newCmdUsersShow(f), newCmdUsersAdd(f),
		newCmdUsersGrant(f, true), newCmdUsersGrant(f, false), newCmdUsersEnable(f, true), newCmdUsersEnable(f, false),
		newCmdUsersPasswd(f), newCmdUsersUnlock(f), newCmdUsersLockout(f))
	return cmd
}

func newCmdUsersUnlock(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock USER",
		Short: "End a lock after failed logons, and clear the count",
		Long: withExitStatus(`End the lock that too many failed logons put on an account (for the support
account: on its live credential) and clear its count of failures. Audited
(user.unlock). A lock also ends by itself after the lockout duration
('gatehouse users lockout configure').`),
		Example: "  gatehouse users unlock breakglass",
		Args:    exactArgs(1, "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.Unlock(cmd.Context(), f.Actor(), args[0]) },
				userAfter(cmd.Context(), args[0]), "user unlocked", "the user had no failed logons; nothing changed")
		},
	}
}

func newCmdUsersLockout(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "lockout",
		Short: "Failed-logon throttling: how many failures lock an account, and for how long",
	})
	var maxFailures int
	var window, duration string
	configure := &cobra.Command{
		Use:   "configure [--max-failures N] [--window D] [--duration D]",
		Short: "Set failed-logon throttling (audited)",
		Long: withExitStatus(`Set failed-logon throttling, kept in the store; each change is audited
(lockout.configure) and 'gatehouse config show' prints the settings (login.*).
--max-failures wrong passwords within --window lock the account for
--duration: local logons per account, support logons per credential.
Defaults after PCI DSS 8.3.4: 5 failures, 30m window, 30m lock.

  --max-failures  failures that lock (1 to 100; default 5)
  --window        how long failures add up, from the first (1m to 24h; default 30m)
  --duration      how long a lock lasts (1m to 30d; default 30m)`),
		Example: "  gatehouse users lockout configure --max-failures 5 --window 15m --duration 30m",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var u gatehouse.LockoutUpdate
			fl := cmd.Flags()
			if !fl.Changed("max-failures") && !fl.Changed("window") && !fl.Changed("duration") {
				return usageError("nothing to configure: give --max-failures, --window or --duration")
			}
			if fl.Changed("max-failures") {
				if err := gatehouse.ValidateMaxFailures(maxFailures); err != nil {
					return err
				}
				u.MaxFailures = &maxFailures
			}
			for _, d := range []struct {
				flag, v  string
				dst      **time.Duration
				validate func(time.Duration) error
			}{
				{"window", window, &u.Window, gatehouse.ValidateFailureWindow},
				{"duration", duration, &u.Lockout, gatehouse.ValidateLockout},
			} {
				if !fl.Changed(d.flag) {
					continue
				}
				v, err := optionalDuration("--"+d.flag, d.v)
				if err != nil {
					return err
				}
				if err := d.validate(v); err != nil {
					return err
				}
				*d.dst = &v
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			pol, changed, err := db.ConfigureLockout(cmd.Context(), f.Actor(), u)
			if err != nil {
				return err
			}
			f.IO.Info("%s", map[bool]string{true: "lockout settings changed", false: "lockout settings unchanged"}[changed])
			return f.Result(p, changed, pol)
		},
	}
	fl := configure.Flags()
	fl.IntVar(&maxFailures, "max-failures", 0, "failed logons that lock (1 to 100)")
	fl.StringVar(&window, "window", "", "how long failures add up (30m)")
	fl.StringVar(&duration, "duration", "", "how long a lock lasts (30m)")
	cmd.AddCommand(configure)
	return cmd
}

var (
	userColumns    = []string{"ID", "NAME", "KIND", "EMAIL", "ENABLED", "ADMIN", "PENDING", "CREATED", "VIA", "ROLES"}
	pendingColumns = []string{"ID", "NAME", "EMAIL", "CREATED", "VIA", "AGE"}
)

func newCmdUsersList(f *Factory, pending bool) *cobra.Command {
	var since, older string
	var failIfAny bool
	use, short := "list", "List all accounts, oldest first"
	long := `List every account: how it was created (auto on SSO sign-in, manual, init) and when, its roles, and whether it awaits role assignment.`
	if pending {
		use, short = "pending", "List users awaiting role assignment (for the governance review)"
		long = `List enabled accounts with no role, no group access and no organisation
visibility. --created-since and --older-than bound their creation time;
--fail-if-any exits 1 when any match, for a cron or CI review.`
	}
	example := "  gatehouse users list\n  gatehouse users list --created-since 7d -o csv"
	if pending {
		example = "  gatehouse users pending\n  gatehouse users pending --older-than 7d --fail-if-any"
	}
	cmd := &cobra.Command{
		Use:     use + " [--created-since D] [--older-than D]",
		Short:   short,
		Long:    withExitStatus(long),
		Example: example,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			filter := gatehouse.UserFilter{PendingOnly: pending}
			now := f.Now()
			if d, err := optionalDuration("--created-since", since); err != nil {
				return err
			} else if d > 0 {
				filter.CreatedSince = now.Add(-d)
			}
			if d, err := optionalDuration("--older-than", older); err != nil {
				return err
			} else if d > 0 {
				filter.CreatedUntil = now.Add(-d)
			}
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			cols := userColumns
			if pending {
				cols = pendingColumns
			}
			// A long listing at a terminal is paged, streaming (as audit list).
			if p, err = f.pagedPrinter(p); err != nil {
				return err
			}
			l := p.List(cols, gatehouse.User{})
			defer l.Flush() // what came before an error is still printed
			n := 0
			err = db.ListUsers(cmd.Context(), filter, func(u *gatehouse.User) error {
				n++
				created := u.CreatedAt.UTC().Format(time.RFC3339)
				if pending {
					age := gatehouse.Age(now, u.CreatedAt)
					return l.Add(u, strconv.FormatInt(u.ID, 10), u.Name, u.Email, created, u.CreatedVia, age)
				}
				return l.Add(u, strconv.FormatInt(u.ID, 10), u.Name, u.Kind, u.Email, yesNo(u.Enabled), yesNo(u.MSPAdmin),
					yesNo(u.Pending), created, u.CreatedVia, strings.Join(u.Roles, ","))
			})
			if err != nil {
				return err
			}
			if err := l.Close(); err != nil {
				return err
			}
			if failIfAny && n > 0 {
				return gatehouse.Errorf(gatehouse.ECHECKFAILED, "%d user(s) await role assignment", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "created-since", "", "only accounts created within this long (7d)")
	cmd.Flags().StringVar(&older, "older-than", "", "only accounts created longer ago than this (7d)")
	if pending {
		cmd.Flags().BoolVar(&failIfAny, "fail-if-any", false, "exit 1 when any user matches")
	}
	return cmd
}

// userAfter is the record of a change to a user: what 'users show' prints.
func userAfter(ctx context.Context, ref string) func(*core.Core) (any, error) {
	return func(db *core.Core) (any, error) { return db.User(ctx, ref) }
}

func yesNo(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] }

func newCmdUsersShow(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "show USER",
		Short:   "Show one account",
		Long:    withExitStatus(`Show one account: kind, email, status, how and when it was created, its last sign-in, the end of a lock after failed logons (locked_until, while it lasts), and its roles, scopes, groups and organisations. USER is a name, an email or an ID.`),
		Example: "  gatehouse users show ann@example.com\n  gatehouse users show 42 -o json",
		Args:    exactArgs(1, "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			u, err := db.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return p.Object(u)
		},
	}
}

func newCmdUsersAdd(f *Factory) *cobra.Command {
	var nu core.NewUser
	var withPassword bool
	cmd := &cobra.Command{
		Use:   "add NAME [--email E] [--admin] [--password-stdin]",
		Short: "Add a local account (optionally an MSP admin, with a password from stdin)",
		Long: withExitStatus(`Add a local account. --admin makes it an MSP admin (never given by automatic
creation). --password-stdin reads its password from stdin (one line; at
least 12 characters); only an argon2id hash is kept.`),
		Example: `  gatehouse users add breakglass --admin --password-stdin < pw
  gatehouse users add ann --email ann@example.com`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			nu.Name, nu.Via = args[0], "manual"
			if err := gatehouse.ValidateUserName(nu.Name); err != nil {
				return err
			}
			// An explicitly empty --email is a script with an unset variable,
			// not a request for no email.
			if cmd.Flags().Changed("email") {
				if _, err := gatehouse.NormaliseEmail(nu.Email); err != nil {
					return err
				}
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			if withPassword {
				if nu.PasswordHash, err = readNewPassword(f); err != nil {
					return err
				}
			}
			db, err := f.Store(cmd.Context())
			if err != nil {
				return err
			}
			u, changed, err := db.AddUser(cmd.Context(), f.Actor(), nu)
			if err != nil {
				return err
			}
			if changed {
				f.IO.Info("added user %s (id %d)", u.Name, u.ID)
			} else {
				f.IO.Info("nothing changed: user %s (id %d) already exists", u.Name, u.ID)
			}
			return f.Result(p, changed, u)
		},
	}
	cmd.Flags().StringVar(&nu.Email, "email", "", "the user's email")
	cmd.Flags().BoolVar(&nu.Admin, "admin", false, "make the account an MSP admin")
	cmd.Flags().BoolVar(&withPassword, "password-stdin", false, "read a password from stdin")
	return cmd
}

// readNewPassword reads a password to set and returns its hash.
func readNewPassword(f *Factory) (string, error) {
	pw, err := readPassword(f)
	if err != nil {
		return "", err
	}
	defer password.Wipe(pw)
	if len(pw) < 12 {
		return "", usageError("the password is too short: at least 12 characters")
	}
	h, err := password.Hash(pw, password.OWASP)
	if err != nil {
		return "", gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot hash the password")
	}
	return h, nil
}

func newCmdUsersPasswd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "passwd USER",
		Short:   "Set a local account's password (read from stdin)",
		Long:    withExitStatus(`Set a local account's password, read from stdin (one line, at least 12 characters; without echo on a terminal). Only an argon2id hash is kept. Audited.`),
		Example: "  gatehouse users passwd breakglass < password-file",
		Args:    exactArgs(1, "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := readNewPassword(f)
			if err != nil {
				return err
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			if err := db.SetPassword(cmd.Context(), f.Actor(), args[0], h); err != nil {
				return err
			}
			f.IO.Info("password set")
			u, err := db.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.Result(p, true, u)
		},
	}
}

func newCmdUsersGrant(f *Factory, assign bool) *cobra.Command {
	var g gatehouse.Grants
	verb := map[bool]string{true: "assign", false: "unassign"}[assign]
	cmd := &cobra.Command{
		Use:   verb + " USER [--role R]... [--scope S]... [--group G]... [--org O]...",
		Short: map[bool]string{true: "Assign roles, scopes, group access and organisation visibility", false: "Remove roles, scopes, group access or organisation visibility"}[assign],
		Long: withExitStatus(map[bool]string{true: `Grant a user roles, scopes, group access and organisation visibility,
deliberately: each name must exist ('gatehouse roles add'). Giving an
account its first role takes an admin seat; beyond the licensed seats the
assignment is refused. One audited change.`, false: `Remove roles, scopes, group access or organisation visibility from a user. One audited change; an account left with nothing is pending again.`}[assign]),
		Example: "  gatehouse users " + verb + " ann@example.com --role Technician --group Helpdesk --org Contoso",
		Args:    exactArgs(1, "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.Empty() {
				return usageError("give at least one --role, --scope, --group or --org")
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			change := db.Unassign
			if assign {
				change = db.Assign
			}
			u, changed, err := change(cmd.Context(), f.Actor(), args[0], g)
			if err != nil {
				return err
			}
			if !changed {
				f.IO.Info("nothing changed")
			}
			return f.Result(p, changed, u)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&g.Roles, "role", nil, "a role (repeatable)")
	fl.StringArrayVar(&g.Scopes, "scope", nil, "a scope (repeatable)")
	fl.StringArrayVar(&g.Groups, "group", nil, "group access (repeatable)")
	fl.StringArrayVar(&g.Orgs, "org", nil, "organisation visibility (repeatable)")
	return cmd
}

func newCmdUsersEnable(f *Factory, enable bool) *cobra.Command {
	verb := map[bool]string{true: "enable", false: "disable"}[enable]
	return &cobra.Command{
		Use:   verb + " USER",
		Short: map[bool]string{true: "Enable an account", false: "Disable an account (it can no longer sign in)"}[enable],
		Long: withExitStatus(map[bool]string{true: `Enable an account. An account holding a role takes an admin seat again: refused when none is free.`,
			false: `Disable an account: it can no longer sign in; it keeps its roles but no longer takes a seat. The last enabled MSP admin cannot be disabled, and the support account is managed with 'gatehouse support'.`}[enable]),
		Example: "  gatehouse users " + verb + " ann@example.com",
		Args:    exactArgs(1, "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.SetEnabled(cmd.Context(), f.Actor(), args[0], enable) },
				userAfter(cmd.Context(), args[0]), "user "+verb+"d", "the user was already "+verb+"d; nothing changed")
		},
	}
}

// NewCmdRecords builds `gatehouse roles|scopes|groups|orgs`.
func NewCmdRecords(f *Factory, kind string) *cobra.Command {
	plural := kind + "s"
	cmd := parentCommand(&cobra.Command{
		Use:   plural,
		Short: fmt.Sprintf("The named %s that can be assigned to users", plural),
	})
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the " + plural,
		Long:    withExitStatus("List the " + plural + " with the number of users holding each."),
		Example: "  gatehouse " + plural + " list\n  gatehouse " + plural + " list -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			rs, err := db.Records(cmd.Context(), kind)
			if err != nil {
				return err
			}
			return printRecords(p, rs)
		},
	}
	add := &cobra.Command{
		Use:     "add NAME",
		Short:   "Add a " + kind,
		Long:    withExitStatus("Add a " + kind + ". Names are unique without regard to case: up to 64 letters, digits, spaces and . _ & ( ) -. Audited."),
		Example: "  gatehouse " + plural + " add " + map[string]string{"role": "Technician", "scope": "Helpdesk", "group": "'Tier 1'", "org": "Contoso"}[kind],
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			existing, changed, err := db.AddRecord(cmd.Context(), f.Actor(), kind, args[0])
			if err != nil {
				return err
			}
			if changed {
				f.IO.Info("added %s %s", kind, args[0])
			} else {
				f.IO.Info("nothing changed: %s %s already exists", kind, existing)
			}
			rs, err := db.Records(cmd.Context(), kind)
			if err != nil {
				return err
			}
			name := existing
			if changed {
				name = args[0]
			}
			for _, r := range rs {
				if r.Name == name {
					return f.Result(p, changed, r)
				}
			}
			return gatehouse.Errorf(gatehouse.EINTERNAL, "the %s just added is not in the list", kind)
		},
	}
	cmd.AddCommand(list, add)
	return cmd
}

func printRecords(p *render.Printer, rs []gatehouse.Record) error {
	l := p.List([]string{"NAME", "BUILTIN", "MEMBERS"}, gatehouse.Record{})
	defer l.Flush() // what came before an error is still printed
	for _, r := range rs {
		if err := l.Add(r, r.Name, yesNo(r.Builtin), strconv.Itoa(r.Members)); err != nil {
			return err
		}
	}
	return l.Close()
}

// NewCmdLogin builds `gatehouse login`.
func NewCmdLogin(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "login USER",
		Short:   "Verify a local password login (password on stdin); refused while SSO is required",
		Example: "  gatehouse login breakglass < password-file",
		Long: withExitStatus(`Verify a local password login, as the server does. While SSO is required, a
user who is not exempt is refused (sso_required). Too many wrong passwords
lock the account for a while (account_locked; 'gatehouse users lockout
configure', 'gatehouse users unlock'). Success and refusal are audited; a
refusal exits 1.`),
		Args: exactArgs(1, "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.logon(cmd, "login", func(db *core.Core, pw []byte) (any, bool, string, error) {
				res, err := db.LocalLogin(cmd.Context(), args[0], pw)
				return res, res.Allowed(), string(res.Reason), err
			})
		},
	}
}
