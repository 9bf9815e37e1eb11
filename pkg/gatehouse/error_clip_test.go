package gatehouse

import (
	"testing"
	"unicode/utf8"
)

// TestClipKeepsCharactersWhole: a clipped name never ends inside a
// character (it is shown in messages and must stay valid UTF-8).
func TestClipKeepsCharactersWhole(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"finance", 20, "finance"},
		{"finance-dept", 7, "finance…"},
		{"日本語の部門", 7, "日本…"}, // 3 bytes each: byte 7 is inside 語
		{"日本語", 9, "日本語"},
		{"é", 1, "…"},
	} {
		got := Clip(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
