package store_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/browsertest"
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse/store"
)

// The server's login handlers, end to end: a real OpenID provider
// (internal/idptest, on 127.0.0.1) and a real headless Chromium
// (internal/browsertest) sign users in through store.NewLogin mounted on a
// server, on both stores.
func TestLoginSQLite(t *testing.T) {
	testLogin(t, filepath.Join(t.TempDir(), "gatehouse.db"))
}

func TestLoginPostgres(t *testing.T) {
	testLogin(t, pgtest.New(t))
}

const appSecret = "app-client-secret-0b9e41d7c2a85f36"

func testLogin(t *testing.T, location string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	idp := idptest.Start(t, idptest.Options{
		Clients: []idptest.Client{{ID: "app", Secret: appSecret, RedirectURIs: []string{base + "/sso/callback"}}},
		Users: []idptest.User{
			{Login: "ann", Subject: "idp-ann-1", Email: "Ann@Example.com", EmailVerified: true},
			{Login: "mallory", Subject: "idp-mallory-1", Email: "mallory@example.com", EmailVerified: false},
		},
	})

	// The operator's side: the store, SSO with auto-creation, the IdP.
	db, _, err := wire.Create(ctx, location, wire.Options{OSUser: "op"}, core.InitParams{Actor: "op"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{core.SettingSSOAllow, core.SettingSSOAutoCreate} {
		if _, err := db.SetSSOFlag(ctx, "op", k, true); err != nil {
			t.Fatal(err)
		}
	}
	client := "app"
	if _, err := db.SetIdP(ctx, "op", gatehouse.IdPChange{Issuer: &idp.Issuer, ClientID: &client, Discovery: true}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// The server's side, as ExampleNewLogin shows it.
	st, err := store.Open(ctx, location, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	login, err := store.NewLogin(st, store.LoginConfig{
		RedirectURL:  base + "/sso/callback",
		ClientSecret: appSecret,
		OnSignIn: func(w http.ResponseWriter, r *http.Request, res gatehouse.SignInResult) {
			fmt.Fprintf(w, "welcome %s: %s, verified %v", res.User, res.Decision, res.Verified)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /sso/login", login.Login())
	mux.Handle("GET /sso/callback", login.Callback())
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	signIn := func(user string) string {
		t.Helper()
		_, text, err := browsertest.New(t).SignIn(ctx, base+"/sso/login", user, "any password", base+"/sso/callback")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(text)
	}
	// First sign-in: created, once; second (a new browser): signed in.
	if got, want := signIn("ann"), "welcome ann@example.com: created, verified true"; got != want {
		t.Fatalf("first sign-in: the page says %q, want %q", got, want)
	}
	if got, want := signIn("ann"), "welcome ann@example.com: signed_in, verified true"; got != want {
		t.Fatalf("second sign-in: the page says %q, want %q", got, want)
	}
	// The IdP does not vouch for mallory's email: refused, nothing created.
	if got, want := signIn("mallory"), "sign-in refused: email_unverified"; got != want {
		t.Fatalf("unverified email: the page says %q, want %q", got, want)
	}

	db, err = wire.Open(ctx, location, wire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var users []gatehouse.User
	if err := db.ListUsers(ctx, gatehouse.UserFilter{}, func(u *gatehouse.User) error { users = append(users, *u); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Name != "ann@example.com" || !users[0].Pending || users[0].MSPAdmin || len(users[0].Roles) != 0 {
		t.Fatalf("users after the sign-ins: %+v; want ann only, pending, with no access", users)
	}

	// A callback that belongs to no sign-in this server started — no
	// cookie, or a forged one — is refused without asking the provider.
	for _, cookie := range []string{"", "gatehouse_login=AAAA", "gatehouse_login=" + strings.Repeat("A", 120)} {
		req := httptest.NewRequest("GET", base+"/sso/callback?code=stolen&state=guessed", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		login.Callback().ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(string(body), "no sign-in in progress") {
			t.Errorf("forged callback (cookie %q): %d %q", cookie, rec.Code, body)
		}
	}
}

// TestNewLoginConfig: a redirect URL that would send the code and the
// flow's cookie in clear across the network is refused.
func TestNewLoginConfig(t *testing.T) {
	ok := func(http.ResponseWriter, *http.Request, gatehouse.SignInResult) {}
	for url, want := range map[string]bool{
		"https://app.example.com/sso/callback": true,
		"http://127.0.0.1:8080/sso/callback":   true,
		"http://localhost/sso/callback":        true,
		"http://app.example.com/sso/callback":  false,
		"/sso/callback":                        false,
		"ftp://app.example.com/cb":             false,
	} {
		_, err := store.NewLogin(nil, store.LoginConfig{RedirectURL: url, OnSignIn: ok})
		if (err == nil) != want || (err != nil && gatehouse.ErrorCode(err) != gatehouse.EINVALID) {
			t.Errorf("%s: %v, want accepted %v", url, err, want)
		}
	}
	if _, err := store.NewLogin(nil, store.LoginConfig{RedirectURL: "https://a.example/cb", OnSignIn: ok, CookieKey: []byte("short")}); err == nil {
		t.Error("a 5-byte cookie key was accepted")
	}
	if _, err := store.NewLogin(nil, store.LoginConfig{RedirectURL: "https://a.example/cb"}); err == nil {
		t.Error("no OnSignIn was accepted")
	}
}
