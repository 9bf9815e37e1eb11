package browsertest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The sign-in through a real provider is tested in internal/idptest; these
// are the ways SignIn must fail fast and say where the browser is, and the
// isolation of one New from another.

func TestMain(m *testing.M) { Main(m) }

// A start URL that refuses the connection fails at once on Chromium's
// error page.
func TestSignInConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, _, err = New(t).SignIn(context.Background(), "http://"+addr+"/auth", "alice", "pw", "http://"+addr+"/callback")
	if err == nil || !strings.Contains(err.Error(), "the page did not load") {
		t.Errorf("SignIn at a closed port: %v", err)
	}
}

// An error status fails at once, with the page's text.
func TestSignInErrorPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "invalid_request: redirect_uri did not match", http.StatusBadRequest)
	}))
	defer srv.Close()
	_, _, err := New(t).SignIn(context.Background(), srv.URL+"/auth", "alice", "pw", srv.URL+"/callback")
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "redirect_uri did not match") {
		t.Errorf("SignIn on an error page: %v", err)
	}
}

// A page that never goes on fails at ctx's deadline.
func TestSignInDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<p>please wait</p>")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, _, err := New(t).SignIn(ctx, srv.URL+"/auth", "alice", "pw", srv.URL+"/callback")
	if err == nil || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "please wait") {
		t.Errorf("SignIn on a page that stays: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("SignIn with a 1s deadline took %v", d)
	}
}

// Each New has cookies of its own; a Browser keeps its own across SignIns.
func TestCookiesPerBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "1", Path: "/"})
			http.Redirect(w, r, "/done", http.StatusFound)
			return
		}
		if _, err := r.Cookie("session"); err == nil {
			io.WriteString(w, "has session")
		} else {
			io.WriteString(w, "no session")
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	a, b := New(t), New(t)
	for _, step := range []struct {
		b          *Browser
		path, want string
	}{
		{a, "/set", "has session"},
		{a, "/check", "has session"},
		{b, "/check", "no session"},
	} {
		final, text, err := step.b.SignIn(ctx, srv.URL+step.path, "alice", "pw", srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if text != step.want {
			t.Errorf("%s ended on %s with %q, want %q", step.path, final, text, step.want)
		}
	}
}
