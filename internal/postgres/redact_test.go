package postgres

import (
	"strings"
	"testing"
)

// TestRedactURL: no secret a connection URL can carry reaches a message or
// an event (Location goes into store.copy events, which are never edited).
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw1secret@db/g?sslmode=verify-full":       "postgres://u@db/g?sslmode=verify-full",
		"postgres://u@db/g?password=pw2secret&sslmode=require":  "postgres://u@db/g?sslmode=require",
		"postgres://u@db/g?sslpassword=pw3secret&sslkey=/k.pem": "postgres://u@db/g?sslkey=%2Fk.pem",
		"postgresql://u@/g?host=/run/pg&PASSWORD=pw4secret":     "postgresql://u@/g?host=%2Frun%2Fpg",
		"postgres://db/g": "postgres://db/g",
	} {
		got := RedactURL(in)
		if got != want || strings.Contains(got, "secret") {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
