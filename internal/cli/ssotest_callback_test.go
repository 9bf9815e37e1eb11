package cli

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/oidc"
)

// TestSSOTestCallback: only a callback with the test's state ends the
// test; another local request is refused and the test keeps waiting.
func TestSSOTestCallback(t *testing.T) {
	req, err := oidc.NewAuthRequest()
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan callbackResult, 1)
	h := callbackHandler(req, out)
	get := func(query string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/callback?"+query, nil))
		return rec.Code
	}
	for _, q := range []string{"code=stolen&state=guessed", "code=stolen", "error=access_denied&state=x"} {
		if code := get(q); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", q, code)
		}
	}
	select {
	case r := <-out:
		t.Fatalf("a callback with another state ended the test: %+v", r)
	default:
	}
	if code := get("code=the-code&state=" + req.State); code != http.StatusOK {
		t.Fatalf("the test's callback: HTTP %d", code)
	}
	if r := <-out; r.err != nil || r.code != "the-code" {
		t.Fatalf("delivered %+v", r)
	}
	if code := get("code=again&state=" + req.State); code != http.StatusGone {
		t.Errorf("a second callback: HTTP %d, want 410", code)
	}
}
