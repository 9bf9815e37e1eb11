package cli

// gatehouse sso test: the whole sign-in through the identity provider, run
// by an operator before SSO is required — the authorization-code flow with
// PKCE, state and nonce, through a loopback redirect listener (RFC 8252,
// as 'vault login -method=oidc' and 'gh auth login' do), the code
// exchanged, the ID token verified by the gate's own verifier, and each
// check reported. Nothing is signed in or created unless --sign-in asks.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/oidc"
	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// envClientSecret names the variable 'sso test' reads a confidential
// client's secret from, when --client-secret-file is not given.
const envClientSecret = "GATEHOUSE_OIDC_CLIENT_SECRET"

// SSOTestReport is what `sso test` prints.
type SSOTestReport struct {
	Passed      bool                    `json:"passed"`
	Issuer      string                  `json:"issuer"`
	ClientID    string                  `json:"client_id"`
	RedirectURI string                  `json:"redirect_uri"`
	Checks      []gatehouse.Check       `json:"checks"`
	Claims      map[string]any          `json:"claims,omitempty"`
	SignIn      *gatehouse.SignInResult `json:"sign_in,omitempty"`
}

type ssoTestOptions struct {
	listen, secretFile string
	timeout            time.Duration
	noBrowser, signIn  bool
}

func newCmdSSOTest(f *Factory) *cobra.Command {
	var o ssoTestOptions
	var timeout string
	cmd := &cobra.Command{
		Use:   "test [--listen 127.0.0.1:PORT] [--client-secret-file FILE] [--no-browser] [--sign-in]",
		Short: "Sign in through the identity provider end to end, before requiring SSO",
		Long: withExitStatus(`Check the whole SSO sign-in before users depend on it ('sso require on'
warns until a test has passed for the configured issuer and client).

The test fetches the issuer's discovery document, listens for the redirect
on a loopback address (--listen, default 127.0.0.1 on a free port; register
http://127.0.0.1/callback, or the fixed port you choose, as a redirect URI
of the client), and prints the authorization URL on stderr — opening a
browser when there is one ($BROWSER, else xdg-open on a desktop). Sign in
there. The request carries a PKCE challenge (S256), a state and a nonce;
the callback's state is checked, the code exchanged with the PKCE verifier,
and the ID token verified by the gate's own verifier with the stored policy.
Each check is reported; a failure names the check and what to change. The
test is audited (sso.test), with the token's hash and a claims summary, never
the token. A passed test is remembered for this issuer and client.

Nothing is signed in or created unless --sign-in is given: then the verified
token goes through the gate like a real sign-in (which may create the
account, with no access).

A confidential client's secret is read from --client-secret-file or
$GATEHOUSE_OIDC_CLIENT_SECRET; it is never stored or printed. A public
client needs none (PKCE).`),
		Example: `  gatehouse sso test
  gatehouse sso test --listen 127.0.0.1:8250 --client-secret-file /etc/gatehouse/oidc-secret --no-browser`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := gatehouse.ParseDuration(timeout)
			if err != nil {
				return usageError("invalid --timeout: %v", err)
			}
			o.timeout = d
			host, _, err := net.SplitHostPort(o.listen)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return usageError("invalid --listen %q: give a loopback address and port, such as 127.0.0.1:8250 (port 0 picks a free one)", gatehouse.Clip(o.listen, 60))
			}
			return runSSOTest(cmd.Context(), f, &o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.listen, "listen", "127.0.0.1:0", "the loopback address the redirect listener binds")
	fl.StringVar(&o.secretFile, "client-secret-file", "", "read a confidential client's secret from FILE (else $"+envClientSecret+")")
	fl.StringVar(&timeout, "timeout", "5m", "how long to wait for the sign-in")
	fl.BoolVar(&o.noBrowser, "no-browser", false, "only print the URL; do not open a browser")
	fl.BoolVar(&o.signIn, "sign-in", false, "also sign in through the gate (may create the account, with no access)")
	return cmd
}

func runSSOTest(ctx context.Context, f *Factory, o *ssoTestOptions) error {
	secret := os.Getenv(envClientSecret)
	// Nothing this process starts (the browser) inherits the secret.
	os.Unsetenv(envClientSecret)
	if o.secretFile != "" {
		b, err := readInput(f, "--client-secret-file", o.secretFile, 4<<10)
		if err != nil {
			return err
		}
		secret = strings.TrimSpace(string(b))
	}
	p, db, err := f.PrinterAndStore(ctx)
	if err != nil {
		return err
	}
	s, err := db.SSOSettings(ctx)
	if err != nil {
		return err
	}
	tv := s.Verification
	if tv == nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "token verification is not configured: run 'gatehouse sso idp set --issuer URL --client-id ID --discovery' (or --jwks-file FILE) first")
	}
	r := &SSOTestReport{Issuer: s.Issuer, ClientID: tv.ClientID, Checks: []gatehouse.Check{}}
	client := oidc.NewHTTPClient(30 * time.Second)
	provider, err := oidc.Discover(ctx, client, s.Issuer)
	if err != nil {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot fetch the identity provider's discovery document: %v", err)
	}
	r.add("discovery", "ok", "fetched "+s.Issuer+"/.well-known/openid-configuration", "")
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot listen on %s for the redirect: %v", o.listen, err)
	}
	defer ln.Close()
	r.RedirectURI = "http://" + ln.Addr().String() + "/callback"
	req, err := oidc.NewAuthRequest()
	if err != nil {
		return err
	}
	rp := &oidc.Client{Provider: provider, ClientID: tv.ClientID, ClientSecret: secret, RedirectURL: r.RedirectURI,
		HTTPClient: client, MaxAge: int64(time.Duration(tv.MaxAge) / time.Second), ACRValues: tv.RequireACR}
	if slices.ContainsFunc(provider.CodeChallengeMethods, func(m string) bool { return strings.EqualFold(m, "S256") }) {
		r.add("pkce", "ok", "the provider supports S256; the request carries a code challenge", "")
	} else {
		r.add("pkce", "warning", "the provider does not advertise S256 PKCE; the request carries a challenge anyway", "enable PKCE (S256) for the client at the identity provider")
	}

	codeCh := make(chan callbackResult, 1)
	srv := &http.Server{Handler: callbackHandler(req, codeCh), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	authURL := rp.AuthCodeURL(req)
	f.IO.Message("open this URL in a browser and sign in (waiting %s): %s", gatehouse.FormatDuration(o.timeout), authURL)
	if !o.noBrowser {
		openBrowser(authURL)
	}

	var raw string
	wait, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	select {
	case <-wait.Done():
		r.add("callback", "failed", "no sign-in came back within "+gatehouse.FormatDuration(o.timeout), "open the URL printed above; check the client's redirect URI at the identity provider")
	case cb := <-codeCh:
		if cb.err != nil {
			r.callbackFailed(cb.err)
			break
		}
		r.add("state", "ok", "the callback's state is the one this test sent", "")
		raw, err = rp.Exchange(ctx, cb.code, req)
		if err != nil {
			r.add("code_exchange", "failed", err.Error(), "check the client ID and secret, and that the client may use the authorization code grant with PKCE")
			break
		}
		r.add("code_exchange", "ok", "the code was redeemed with the PKCE verifier; the response has an ID token", "")
	}

	details := map[string]any{"issuer": s.Issuer, "client_id": tv.ClientID, "redirect_uri": r.RedirectURI}
	if raw != "" {
		details["token_sha256"] = oidc.TokenHash(raw)
		claims, err := db.VerifyIDToken(ctx, raw, req.Nonce)
		var refusal *oidc.Error
		switch {
		case errors.As(err, &refusal):
			r.Checks = append(r.Checks, gatehouse.TokenChecks(refusal.Detail, tv)...)
			details["detail"] = refusal.Detail
			if claims := core.SignedClaims(refusal); claims != nil {
				details["claims"] = claims
			}
		case err != nil:
			return err
		default:
			r.Checks = append(r.Checks, gatehouse.TokenChecks("", tv)...)
			r.Claims = claims.Summary()
			details["claims"] = r.Claims
			if claims.Email != "" && claims.EmailVerified {
				r.add("email", "ok", "the token carries a verified email: a first sign-in can create the account", "")
			} else {
				r.add("email", "warning", "the token carries no verified email: accounts can sign in by subject, but none is created automatically", "have the identity provider send email and email_verified (scope email)")
			}
		}
	}
	r.Passed = true
	for _, c := range r.Checks {
		if c.Status == "failed" || c.Status == "unknown" {
			r.Passed = false
		}
	}
	if r.Passed && o.signIn {
		res, err := db.SignInIDToken(ctx, raw, req.Nonce)
		if err != nil {
			return err
		}
		r.SignIn = &res
		status, detail := "ok", res.Decision+": "+string(res.Reason)
		if !res.Allowed() {
			status, r.Passed = "failed", false
		}
		r.add("sign_in", status, detail, "see 'gatehouse sso explain'")
	} else if r.Passed {
		r.add("sign_in", "skipped", "nothing was signed in or created (--sign-in does)", "")
	}
	var checks []string
	for _, c := range r.Checks {
		checks = append(checks, c.Check+"="+c.Status)
	}
	details["checks"], details["passed"] = checks, r.Passed
	if err := db.RecordSSOTest(ctx, f.Actor(), s.Issuer, tv.ClientID, r.Passed, details); err != nil {
		return err
	}
	if err := printSSOTest(f, p, r); err != nil {
		return err
	}
	if !r.Passed {
		for _, c := range r.Checks {
			if c.Status == "failed" {
				return gatehouse.Errorf(gatehouse.ECHECKFAILED, "sso test failed: %s (the test was audited)", c.Check)
			}
		}
		return gatehouse.Errorf(gatehouse.ECHECKFAILED, "sso test failed (the test was audited)")
	}
	f.IO.Info("sso test passed for issuer %s and client %s", s.Issuer, tv.ClientID)
	return nil
}

func (r *SSOTestReport) add(check, status, detail, fix string) {
	c := gatehouse.Check{Check: check, Status: status, Detail: detail}
	if status != "ok" {
		c.Fix = fix
	}
	r.Checks = append(r.Checks, c)
}

func (r *SSOTestReport) callbackFailed(err error) {
	var ce *oidc.CallbackError
	switch {
	case errors.As(err, &ce):
		r.add("state", "ok", "the callback's state is the one this test sent", "")
		r.add("authorization", "failed", ce.Error(), "check the client's settings at the identity provider (redirect URI, grant types, PKCE)")
	default:
		r.add("callback", "failed", err.Error(), "")
	}
}

func printSSOTest(f *Factory, p *render.Printer, r *SSOTestReport) error {
	return printChecks(f, p, r, r.Checks, fmt.Sprintf("sso test of issuer %s, client %s: %s", r.Issuer, r.ClientID, map[bool]string{true: "passed", false: "failed"}[r.Passed]))
}

type callbackResult struct {
	code string
	err  error
}

// callbackHandler answers the provider's redirect: the first request to
// /callback with the test's state is the test's answer (with a code, or
// the provider's error); the browser gets a page that says where to look,
// and nothing from the request. A request with another state is refused
// and changes nothing.
func callbackHandler(req *oidc.AuthRequest, out chan<- callbackResult) http.Handler {
	mux := http.NewServeMux()
	var taken atomic.Bool
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		code, err := oidc.Callback(r.URL.Query(), req)
		if errors.Is(err, oidc.ErrStateMismatch) {
			// Not the sign-in this test started (another local program,
			// or a stale tab): refused, and the test keeps waiting.
			http.Error(w, "gatehouse: this is not the sign-in the test is waiting for", http.StatusBadRequest)
			return
		}
		if !taken.CompareAndSwap(false, true) {
			http.Error(w, "gatehouse: this test has already received its sign-in", http.StatusGone)
			return
		}
		out <- callbackResult{code, err}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, "<!doctype html><title>gatehouse sso test</title><p>gatehouse received the sign-in. Return to the terminal for the result; you can close this window.</p>")
	})
	return mux
}

// openBrowser opens url in the user's browser when there is one: $BROWSER
// (as git and gh read it), else the desktop's opener. Failure is not an
// error: the URL is printed either way.
func openBrowser(url string) {
	var cmd *exec.Cmd
	switch b := os.Getenv("BROWSER"); {
	case b != "":
		cmd = exec.Command(b, url)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", url)
	case os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "":
		cmd = exec.Command("xdg-open", url)
	default:
		return
	}
	if cmd.Start() == nil {
		go cmd.Wait()
	}
}
