package cli

import (
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdSSO builds `gatehouse sso`.
func NewCmdSSO(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "sso",
		Short: "SSO sign-in settings, automatic user creation, and sign-in troubleshooting",
		Long: withExitStatus(`Settings for signing in with the identity provider (IdP), each change audited,
and the sign-in gate the server uses. Changing a setting alters no existing
account. See docs/sso-and-provisioning.md.`),
	})
	cmd.AddCommand(
		newCmdSSOFlag(f, "allow", core.SettingSSOAllow, "Allow users to sign in with the identity provider",
			`Allow (on) or stop (off) sign-in with the identity provider. SSO cannot be turned off while it is required. Turning it off leaves auto-create as it is, but inert.`),
		newCmdSSOFlag(f, "require", core.SettingSSORequire, "Require SSO: local password login only for exempt users",
			`Require SSO (on): local password login is refused (sso_required) except for users exempted with 'sso exempt add'. Needs SSO allowed, and a break-glass admin: an enabled MSP admin with a local password, exempt; while SSO is required the last one cannot lose its exemption or be disabled.`),
		newCmdSSOFlag(f, "auto-create", core.SettingSSOAutoCreate, "Create accounts on first successful SSO sign-in",
			`Turn automatic user creation on or off. On: the first successful SSO sign-in of an unknown identity creates an account, once, with no roles, scopes, group access, organisation visibility or admin status. Needs SSO allowed. Turning it off removes or changes nobody.`),
		newCmdSSOExempt(f),
		newCmdSSOIdP(f),
		newCmdSSOStatus(f),
		newCmdSSOSignIn(f),
		newCmdSSOExplain(f),
	)
	return cmd
}

// onOff reads the single on|off argument.
func onOff(cmd *cobra.Command, args []string) (bool, error) {
	if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
		return false, usageError("%s takes on or off (see '%s --help')", cmd.CommandPath(), cmd.CommandPath())
	}
	return args[0] == "on", nil
}

func newCmdSSOFlag(f *Factory, name, key, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:     name + " on|off",
		Short:   short,
		Long:    withExitStatus(long),
		Example: "  gatehouse sso " + name + " on",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			on, err := onOff(cmd, args)
			if err != nil {
				return err
			}
			return f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.SetSSOFlag(cmd.Context(), f.Actor(), key, on) },
				"sso "+name+" is now "+args[0], "sso "+name+" was already "+args[0]+"; nothing changed")
		},
	}
}

func newCmdSSOExempt(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "exempt",
		Short: "Users who keep local login while SSO is required",
	})
	for _, add := range []bool{true, false} {
		verb := map[bool]string{true: "add", false: "remove"}[add]
		cmd.AddCommand(&cobra.Command{
			Use:     verb + " USER",
			Short:   map[bool]string{true: "Let a user keep local login while SSO is required", false: "End a user's exemption"}[add],
			Long:    withExitStatus(`USER is a user name, an email or an ID. Each exemption change is audited.`),
			Example: "  gatehouse sso exempt " + verb + " breakglass",
			Args:    exactArgs(1, "USER"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.SetSSOExempt(cmd.Context(), f.Actor(), args[0], add) },
					"exemption "+map[bool]string{true: "added", false: "removed"}[add], "nothing changed")
			},
		})
	}
	return cmd
}

func newCmdSSOIdP(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{Use: "idp", Short: "The identity provider"})
	var issuer string
	set := &cobra.Command{
		Use:     "set --issuer URL",
		Short:   "Set the identity provider's issuer identifier",
		Long:    withExitStatus(`Set the issuer identifier of the identity provider. Sign-ins asserted by another issuer are refused (issuer_mismatch).`),
		Example: `  gatehouse sso idp set --issuer https://login.example.com`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateIssuer(issuer); err != nil {
				return err
			}
			return f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.SetSSOIssuer(cmd.Context(), f.Actor(), issuer) },
				"identity provider issuer set", "issuer unchanged")
		},
	}
	set.Flags().StringVar(&issuer, "issuer", "", "the IdP's issuer identifier (an https URL)")
	cmd.AddCommand(set)
	return cmd
}

func validateIssuer(s string) error {
	if err := gatehouse.ValidateText("issuer", s, 512); err != nil {
		return err
	}
	if _, err := gatehouse.ParseSupportEndpoint(s); err != nil {
		return usageError("invalid --issuer %q: give the IdP's https issuer URL", gatehouse.Clip(s, 60))
	}
	return nil
}

// SSOStatus is what `sso status` prints.
type SSOStatus struct {
	gatehouse.SSOSettings
	// AutoCreateEffective: accounts are created now (auto_create and allow).
	AutoCreateEffective bool `json:"auto_create_effective"`
}

func newCmdSSOStatus(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "status",
		Short:   "Show the SSO settings",
		Long:    withExitStatus(`Show the SSO settings: allow, require, auto_create (and whether it takes effect now), the issuer and the exempt users.`),
		Example: "  gatehouse sso status -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			s, err := db.SSOSettings(cmd.Context())
			if err != nil {
				return err
			}
			return p.Object(SSOStatus{SSOSettings: s, AutoCreateEffective: s.Allow && s.AutoCreate})
		},
	}
}

func newCmdSSOSignIn(f *Factory) *cobra.Command {
	var id gatehouse.Identity
	var notInIdP, incomplete, expired bool
	cmd := &cobra.Command{
		Use:   "signin --issuer I --subject S --email E [--email-verified] [--not-in-idp] [--incomplete] [--expired]",
		Short: "Decide an SSO sign-in as the server does (for scripts and tests)",
		Long: withExitStatus(`Run the sign-in gate — the same code the server runs through
pkg/gatehouse/store — on an authenticated identity, and print the decision:
signed_in, created (the account was created now, once, with no access), or
refused with a reason code: sso_not_allowed, issuer_mismatch,
auth_incomplete, auth_expired, not_in_idp, account_disabled,
auto_create_off, email_unverified, identity_conflict. A refused sign-in
exits 1. Every decision is one audit event and one recorded attempt.`),
		Example: `  gatehouse sso signin --issuer https://login.example.com --subject 00u1abc --email ann@example.com --email-verified`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id.InIdP, id.AuthComplete, id.AuthExpired = !notInIdP, !incomplete, expired
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			res, err := db.SignIn(cmd.Context(), id)
			if err != nil {
				return err
			}
			if err := p.Object(res); err != nil {
				return err
			}
			if !res.Allowed() {
				return gatehouse.Errorf(gatehouse.ECHECKFAILED, "sign-in refused: %s (see 'gatehouse sso explain')", res.Reason)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&id.Issuer, "issuer", "", "the identity provider's issuer")
	fl.StringVar(&id.Subject, "subject", "", "the user's subject (stable ID) at the IdP")
	fl.StringVar(&id.Email, "email", "", "the user's email, as the IdP asserts it")
	fl.BoolVar(&id.EmailVerified, "email-verified", false, "the IdP vouches for the email")
	fl.BoolVar(&notInIdP, "not-in-idp", false, "the user does not exist at the IdP")
	fl.BoolVar(&incomplete, "incomplete", false, "authentication did not complete")
	fl.BoolVar(&expired, "expired", false, "authentication is expired or from cached credentials")
	return cmd
}

var checkColumns = []string{"CHECK", "STATUS", "DETAIL", "FIX"}

func newCmdSSOExplain(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "explain EMAIL|SUBJECT",
		Short: "Why was no account created, or why is a user who signed in not listed?",
		Long: withExitStatus(`Answer the troubleshooting questions for one user from the recorded sign-in
attempts and the current settings: did they authenticate through the IdP, is
SSO allowed, is auto-creation on, do they exist at the IdP, did
authentication complete, was it fresh (not expired or cached), and does the
account exist and where it is listed. Each check says ok, failed (with when
and what to change) or unknown.`),
		Example: `  gatehouse sso explain ann@example.com`,
		Args:    exactArgs(1, "EMAIL|SUBJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := gatehouse.ValidateText("email or subject", args[0], 255); err != nil {
				return err
			}
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			facts, err := db.Explain(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			e := gatehouse.Explain(facts)
			if p.Format() != "table" {
				return p.Object(e)
			}
			f.IO.Message("%s", e.Verdict)
			l := p.List(checkColumns)
			defer l.Flush() // what came before an error is still printed
			for _, c := range e.Checks {
				if err := l.Add(c, c.Check, c.Status, c.Detail, c.Fix); err != nil {
					return err
				}
			}
			return l.Close()
		},
	}
}
