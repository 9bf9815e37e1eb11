package store_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse/store"
)

// A server mounts the whole OpenID Connect sign-in — redirect to the
// identity provider, callback, code exchange with PKCE, ID token
// verification, and the gate's decision — in a few lines. The identity
// provider is the one configured in the store ('gatehouse sso idp set').
func ExampleNewLogin() {
	ctx := context.Background()
	st, err := store.Open(ctx, "/var/lib/gatehouse/gatehouse.db", store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	secret, _ := os.ReadFile("/etc/myserver/oidc-client-secret")  // never in the store
	cookieKey, _ := os.ReadFile("/etc/myserver/login-cookie.key") // 32 bytes, shared by every server
	login, err := store.NewLogin(st, store.LoginConfig{
		RedirectURL:  "https://app.example.com/sso/callback",
		ClientSecret: strings.TrimSpace(string(secret)),
		CookieKey:    cookieKey,
		OnSignIn: func(w http.ResponseWriter, r *http.Request, res gatehouse.SignInResult) {
			// res.Decision is signed_in, or created: a new account with
			// no access, awaiting role assignment.
			fmt.Fprintf(w, "welcome, %s\n", res.User)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /sso/login", login.Login())
	mux.Handle("GET /sso/callback", login.Callback())
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
