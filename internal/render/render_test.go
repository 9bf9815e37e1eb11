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

// TestCSVHeaderIsJSONKeys: a record's CSV header is its JSON keys in order,
// for a struct, for one that marshals itself (durations written with their
// seconds) and for a change's record ("changed" then the object's fields).
func TestCSVHeaderIsJSONKeys(t *testing.T) {
	pol := gatehouse.DefaultLockoutPolicy()
	type thing struct {
		Name string `json:"name"`
		Note string `json:"note,omitempty"`
	}
	for name, v := range map[string]any{
		"lockout":        pol,
		"change":         Change{Changed: true, Object: pol},
		"change-pointer": Change{Changed: false, Object: &thing{Name: "a", Note: "b"}},
	} {
		var js, cs bytes.Buffer
		if err := New(&js, JSON, false).Object(v); err != nil {
			t.Fatal(err)
		}
		if err := New(&cs, CSV, false).Object(v); err != nil {
			t.Fatal(err)
		}
		fields, err := orderedFields(json.RawMessage(js.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, f := range fields {
			keys = append(keys, f[0])
		}
		header, _, _ := strings.Cut(cs.String(), "\n")
		if header != strings.Join(keys, ",") {
			t.Errorf("%s: CSV header %q, JSON keys %q", name, header, keys)
		}
	}
	var js bytes.Buffer
	if err := New(&js, JSON, false).Object(Change{Changed: true, Object: pol}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "changed": true,
  "max_failures": 5,
  "failure_window": "30m",
  "failure_window_seconds": 1800,
  "lockout": "30m",
  "lockout_seconds": 1800
}
`
	if js.String() != want {
		t.Errorf("change record:\n%s\nwant\n%s", js.String(), want)
	}
}

// TestCellKeepsBigIntegers: an integer above 2^53 inside a nested value
// reaches a CSV cell digit for digit, not rounded through float64.
func TestCellKeepsBigIntegers(t *testing.T) {
	const big = `{"id":9007199254740993,"list":[18446744073709551615]}`
	if got := cell(json.RawMessage(big)); got != big {
		t.Errorf("cell(%s) = %s", big, got)
	}
}
