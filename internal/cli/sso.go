package cli

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/render"
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
		newCmdSSOTest(f),
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
			err = f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.SetSSOFlag(cmd.Context(), f.Actor(), key, on) },
				ssoAfter(cmd.Context()), "sso "+name+" is now "+args[0], "sso "+name+" was already "+args[0]+"; nothing changed")
			if err != nil || key != core.SettingSSORequire || !on {
				return err
			}
			return warnUntested(cmd, f)
		},
	}
}

// warnUntested warns, once SSO is required, when the sign-in through the
// identity provider has never been shown to work end to end: users who
// are not exempt now depend on it.
func warnUntested(cmd *cobra.Command, f *Factory) error {
	db, err := f.Store(cmd.Context())
	if err != nil {
		return err
	}
	s, err := db.SSOSettings(cmd.Context())
	if err != nil {
		return err
	}
	switch {
	case s.Verification == nil:
		f.IO.Message("warning: SSO has never been verified end to end, and the gate does not verify the identity provider's tokens: configure 'gatehouse sso idp set --client-id ID --discovery' and run 'gatehouse sso test'")
	case s.Verification.TestedAt == nil:
		f.IO.Message("warning: SSO has never been verified end to end for this issuer and client: run 'gatehouse sso test' before users depend on it")
	}
	return nil
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
					ssoAfter(cmd.Context()), "exemption "+map[bool]string{true: "added", false: "removed"}[add], "nothing changed")
			},
		})
	}
	return cmd
}

func newCmdSSOIdP(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{Use: "idp", Short: "The identity provider and how its ID tokens are verified"})
	var issuer, clientID, jwksFile, skew, maxAge string
	var discovery bool
	var algs, acr, amr []string
	set := &cobra.Command{
		Use:   "set [--issuer URL] [--client-id ID (--discovery | --jwks-file FILE)] [policy flags]",
		Short: "Set the identity provider and how the gate verifies its ID tokens",
		Long: withExitStatus(`Set the identity provider (IdP). Flags not given keep their value; each
change is one audit event, which names the keys by ID and thumbprint.

--issuer is the IdP's issuer identifier, exactly as its tokens say it.
Sign-ins from another issuer are refused (issuer_mismatch).

With --client-id and a key source the gate verifies ID tokens itself
('gatehouse sso signin --id-token', the public package's login handlers):
  --discovery       fetch <issuer>/.well-known/openid-configuration and its
                    JWKS; keys are cached by the process, and an unknown key
                    ID refetches them at most once per 30 s
  --jwks-file FILE  import a JWK Set (public keys only) into the store, for
                    servers that cannot reach the IdP; re-run to rotate
Policy: --algorithms (default RS256,ES256,EdDSA; 'none' and HMAC are never
accepted), --clock-skew (default 60s, at most 5m), --max-age D (the user
must have authenticated within D: needs auth_time in the token; 0 turns it
off), --require-acr VALUE (the token's acr must be one of them) and
--require-amr VALUE (its amr must hold all of them, e.g. mfa); give
--require-acr "" to clear. No client secret is stored: 'sso test' and the
server read theirs from a file or the environment.`),
		Example: `  gatehouse sso idp set --issuer https://login.example.com --client-id gatehouse --discovery
  gatehouse sso idp set --jwks-file idp-keys.json       # air-gapped: import (or rotate) the keys
  gatehouse sso idp set --max-age 12h --require-amr mfa`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var ch gatehouse.IdPChange
			fl := cmd.Flags()
			if fl.Changed("issuer") {
				if err := validateIssuer(issuer); err != nil {
					return err
				}
				ch.Issuer = &issuer
			}
			if fl.Changed("client-id") {
				if err := gatehouse.ValidateText("client ID", clientID, 255); err != nil {
					return err
				}
				ch.ClientID = &clientID
			}
			ch.Discovery = discovery
			if fl.Changed("jwks-file") {
				b, err := readInput(f, "--jwks-file", jwksFile, 256<<10)
				if err != nil {
					return err
				}
				ch.JWKS = b
			}
			if fl.Changed("algorithms") {
				ch.Algorithms = algs
			}
			for _, d := range []struct {
				flag string
				val  string
				to   **time.Duration
			}{{"clock-skew", skew, &ch.ClockSkew}, {"max-age", maxAge, &ch.MaxAge}} {
				if !fl.Changed(d.flag) {
					continue
				}
				v := time.Duration(0)
				if d.val != "0" && d.val != "off" {
					var err error
					if v, err = gatehouse.ParseDuration(d.val); err != nil {
						return usageError("invalid --%s: %v", d.flag, err)
					}
				}
				*d.to = &v
			}
			for _, l := range []struct {
				flag string
				val  []string
				to   **[]string
			}{{"require-acr", acr, &ch.RequireACR}, {"require-amr", amr, &ch.RequireAMR}} {
				if !fl.Changed(l.flag) {
					continue
				}
				vals := []string{}
				for _, v := range l.val {
					if v == "" {
						continue
					}
					if err := gatehouse.ValidateText("--"+l.flag+" value", v, 255); err != nil {
						return err
					}
					vals = append(vals, v)
				}
				*l.to = &vals
			}
			if ch.IsZero() {
				return usageError("nothing to set: give --issuer, --client-id, a key source or a policy flag (see 'gatehouse sso idp set --help')")
			}
			return f.applyChange(cmd.Context(), func(db *core.Core) (bool, error) { return db.SetIdP(cmd.Context(), f.Actor(), ch) },
				ssoAfter(cmd.Context()), "identity provider settings changed", "identity provider settings unchanged")
		},
	}
	fl := set.Flags()
	fl.StringVar(&issuer, "issuer", "", "the IdP's issuer identifier (an https URL)")
	fl.StringVar(&clientID, "client-id", "", "the OAuth client ID the server signs in with (a token's aud must hold it)")
	fl.BoolVar(&discovery, "discovery", false, "fetch the IdP's keys through OpenID discovery")
	fl.StringVar(&jwksFile, "jwks-file", "", "import the IdP's public keys from a JWK Set file (- for stdin)")
	fl.StringSliceVar(&algs, "algorithms", nil, "accepted signature algorithms (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)")
	fl.StringVar(&skew, "clock-skew", "", "leeway for exp, nbf, iat and auth_time (default 60s, at most 5m)")
	fl.StringVar(&maxAge, "max-age", "", "the longest time since the user authenticated (auth_time); 0 turns it off")
	fl.StringSliceVar(&acr, "require-acr", nil, "acr values, one of which a token must carry")
	fl.StringSliceVar(&amr, "require-amr", nil, "amr values a token must all carry (e.g. mfa)")
	cmd.AddCommand(set)
	return cmd
}

// readInput reads a small input file (or stdin for "-"), refusing one
// larger than max bytes.
func readInput(f *Factory, flag, name string, max int64) ([]byte, error) {
	file, done, err := openInput(f, flag, name)
	if err != nil {
		return nil, err
	}
	defer done()
	b, err := io.ReadAll(io.LimitReader(file, max+1))
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "cannot read %s: %v", flag, gatehouse.PathCause(err))
	}
	if int64(len(b)) > max {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is too large (more than %d KiB)", flag, max>>10)
	}
	return b, nil
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

// ssoAfter is the record of a change to the SSO settings: what 'sso
// status' prints.
func ssoAfter(ctx context.Context) func(*core.Core) (any, error) {
	return func(db *core.Core) (any, error) {
		s, err := db.SSOSettings(ctx)
		if err != nil {
			return nil, err
		}
		return SSOStatus{SSOSettings: s, AutoCreateEffective: s.Allow && s.AutoCreate}, nil
	}
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
	var tokenFile, nonce string
	cmd := &cobra.Command{
		Use:   "signin (--id-token FILE|- [--nonce N] | --issuer I --subject S --email E [--email-verified] [--not-in-idp] [--incomplete] [--expired])",
		Short: "Decide an SSO sign-in as the server does (for scripts and tests)",
		Long: withExitStatus(`Run the sign-in gate — the same code the server runs through
pkg/gatehouse/store — and print the decision: signed_in, created (the
account was created now, once, with no access), or refused with a reason
code. A refused sign-in exits 1. Every decision is one audit event and one
recorded attempt.

With --id-token the gate verifies the identity provider's OpenID Connect ID
token itself (see 'gatehouse sso idp set'): signature and key, algorithm,
issuer, audience, authorized party, expiry, not-before and issued-at with
the clock skew, the nonce (when --nonce is given), auth_time against
--max-age, and the acr/amr policy. The identity is the token's (iss, sub);
email and email_verified are its claims. A token that fails a check is
refused with token_invalid and the check as detail (bad_signature,
unknown_key, alg_not_allowed, wrong_issuer, wrong_audience, wrong_azp,
expired, not_yet_valid, nonce_missing, nonce_mismatch, stale_authentication,
mfa_required, malformed, missing_claim). The trail keeps the token's SHA-256
and a summary of its claims, never the token.

Without --id-token the caller asserts the identity with flags — for servers
that verify the IdP's answer themselves (e.g. SAML) — and the decision and
its event say verified: false. Reasons: sso_not_allowed, issuer_mismatch,
auth_incomplete, auth_expired, not_in_idp, account_disabled,
auto_create_off, email_unverified, identity_conflict, name_confusable.`),
		Example: `  gatehouse sso signin --id-token token.jwt --nonce "$NONCE"
  gatehouse sso signin --issuer https://login.example.com --subject 00u1abc --email ann@example.com --email-verified`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if !fl.Changed("id-token") && fl.Changed("nonce") {
				return usageError("--nonce goes with --id-token")
			}
			if fl.Changed("id-token") {
				for _, asserted := range []string{"issuer", "subject", "email", "email-verified", "not-in-idp", "incomplete", "expired"} {
					if fl.Changed(asserted) {
						return usageError("--id-token and --%s cannot be used together: the identity comes from the verified token", asserted)
					}
				}
			}
			var raw string
			if fl.Changed("id-token") {
				b, err := readInput(f, "--id-token", tokenFile, 64<<10)
				if err != nil {
					return err
				}
				raw = strings.TrimSpace(string(b))
				if err := core.CheckIDTokenShape(raw); err != nil {
					return err
				}
				if fl.Changed("nonce") {
					if err := gatehouse.ValidateText("nonce", nonce, 512); err != nil {
						return err
					}
				}
			}
			id.InIdP, id.AuthComplete, id.AuthExpired = !notInIdP, !incomplete, expired
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			var res gatehouse.SignInResult
			if fl.Changed("id-token") {
				res, err = db.SignInIDToken(cmd.Context(), raw, nonce)
			} else {
				res, err = db.SignIn(cmd.Context(), id)
			}
			if err != nil {
				return err
			}
			if err := p.Object(res); err != nil {
				return err
			}
			if !res.Allowed() {
				reason := string(res.Reason)
				if res.Detail != "" {
					reason += " (" + res.Detail + ")"
				}
				return gatehouse.Errorf(gatehouse.ECHECKFAILED, "sign-in refused: %s (see 'gatehouse sso explain')", reason)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&tokenFile, "id-token", "", "verify this OpenID Connect ID token (a file, or - for stdin)")
	fl.StringVar(&nonce, "nonce", "", "the nonce the sign-in sent; the token must carry it")
	fl.StringVar(&id.Issuer, "issuer", "", "asserted: the identity provider's issuer")
	fl.StringVar(&id.Subject, "subject", "", "asserted: the user's subject (stable ID) at the IdP")
	fl.StringVar(&id.Email, "email", "", "asserted: the user's email, as the IdP asserts it")
	fl.BoolVar(&id.EmailVerified, "email-verified", false, "asserted: the IdP vouches for the email")
	fl.BoolVar(&notInIdP, "not-in-idp", false, "asserted: the user does not exist at the IdP")
	fl.BoolVar(&incomplete, "incomplete", false, "asserted: authentication did not complete")
	fl.BoolVar(&expired, "expired", false, "asserted: authentication is expired or from cached credentials")
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
			return printChecks(f, p, e, e.Checks, e.Verdict)
		},
	}
}

// printChecks prints a troubleshooting report: v whole as JSON or YAML;
// at a terminal or as text, the verdict on stderr and the checks as a table.
func printChecks(f *Factory, p *render.Printer, v any, checks []gatehouse.Check, verdict string) error {
	if p.Format() != "table" {
		return p.Object(v)
	}
	f.IO.Message("%s", verdict)
	l := p.List(checkColumns, gatehouse.Check{})
	defer l.Flush() // what came before an error is still printed
	for _, c := range checks {
		if err := l.Add(c, c.Check, c.Status, c.Detail, c.Fix); err != nil {
			return err
		}
	}
	return l.Close()
}
