package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/browsertest"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/rogpeppe/go-internal/testscript"
)

// idpClientSecret is the confidential test client's secret: made up for
// the test provider, and used by the scripts to check it never leaks.
const idpClientSecret = "idp-test-secret-7c1e0f9a5b3d2e4f"

// TestScriptsIdP runs the scripts of testdata/idp against a real OpenID
// provider (internal/idptest: oidc-provider on Node.js, on 127.0.0.1) and
// a real headless Chromium (internal/browsertest): 'gatehouse sso test'
// opens $BROWSER, which is gatehouse-test-browser, a program that signs in
// at the provider's login form as $IDP_LOGIN. The scripts run on SQLite;
// the gate they end in is the one the other scripts run on both stores.
// Neither component is optional: without node, the provider's packages or
// chromium the test fails.
func TestScriptsIdP(t *testing.T) {
	p := idptest.Start(t, idptest.Options{
		Clients: []idptest.Client{
			{ID: "gatehouse-cli", Native: true, RedirectURIs: []string{"http://127.0.0.1/callback"}},
			{ID: "gatehouse-confidential", Secret: idpClientSecret, Native: true, RedirectURIs: []string{"http://127.0.0.1/callback"}},
		},
		Users: []idptest.User{
			{Login: "ann", Subject: "idp-ann-0001", Email: "ann@example.com", EmailVerified: true, Name: "Ann"},
			{Login: "bob", Subject: "idp-bob-0002", Email: "bob@example.com", EmailVerified: false, Name: "Bob"},
		},
	})
	jwks := filepath.Join(t.TempDir(), "idp-jwks.json")
	if err := os.WriteFile(jwks, p.PublicJWKS(), 0o644); err != nil {
		t.Fatal(err)
	}
	params := scriptParams("sqlite")
	params.Dir = filepath.Join("..", "..", "testdata", "idp")
	setup := params.Setup
	params.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		env.Setenv("IDP_ISSUER", p.Issuer)
		env.Setenv("IDP_JWKS", jwks)
		env.Setenv("IDP_SECRET", idpClientSecret)
		env.Setenv("BROWSER", "gatehouse-test-browser")
		env.Setenv("BROWSER_LOG", filepath.Join(env.WorkDir, "browser.log"))
		return nil
	}
	testscript.Run(t, params)
}

// testBrowser is gatehouse-test-browser URL: the $BROWSER of the scripts of
// testdata/idp. It opens URL (an authorization request) in a real headless
// Chromium, signs in at the provider as $IDP_LOGIN, and waits until the
// browser is back at the request's redirect_uri. What happened goes to
// $BROWSER_LOG, for the script to read: its parent ('sso test') does not
// wait for it.
func testBrowser() int {
	logf := func(format string, args ...any) {
		f, err := os.OpenFile(os.Getenv("BROWSER_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, format+"\n", args...)
			f.Close()
		}
	}
	if len(os.Args) != 2 {
		logf("usage: gatehouse-test-browser URL")
		return 2
	}
	u, err := url.Parse(os.Args[1])
	if err != nil {
		logf("bad URL: %v", err)
		return 2
	}
	redirect := u.Query().Get("redirect_uri")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	final, text, err := browsertest.SignInOnce(ctx, os.Args[1], os.Getenv("IDP_LOGIN"), "any-password", redirect)
	if err != nil {
		logf("sign-in failed: %v", err)
		return 1
	}
	logf("landed on %s: %s", final, text)
	return 0
}
