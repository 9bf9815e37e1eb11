package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestJSONEscapesUnsafeExactly: JSON output carries no raw control, bidi or
// zero-width character, and parses back to exactly the original string.
func TestJSONEscapesUnsafeExactly(t *testing.T) {
	in := "a\u009b31m\u202eb\u200bc\u2066d\ufeff\U000e0041 Société 東京 <&>"
	for _, f := range []Format{JSON, JSONL} {
		var buf bytes.Buffer
		l := New(&buf, f, false).List(nil)
		if err := l.Add(map[string]string{"v": in}); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsFunc(buf.String(), func(r rune) bool { return r != '\n' && gatehouse.UnsafeRune(r) }) {
			t.Errorf("%s: raw unsafe rune in %q", f, buf.String())
		}
		var got []map[string]string
		text := buf.String()
		if f == JSONL {
			text = "[" + strings.TrimSpace(text) + "]"
		}
		if err := json.Unmarshal([]byte(text), &got); err != nil || len(got) != 1 || got[0]["v"] != in {
			t.Errorf("%s: read back %q (%v), want %q", f, got, err, in)
		}
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+a": "'+a", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)",
		"\tx": `'\u0009x`, "\rx": `'\u000dx`, "a=b": "a=b", "": "", "plain": "plain",
		"x\u202ey": `x\u202ey`,
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}
