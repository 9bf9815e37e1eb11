package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// sameData fails unless out, read by a YAML parser, is the data v's JSON
// describes: same keys, order aside, same strings, numbers, booleans, nulls.
func sameData(t *testing.T, v any, out []byte) {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML any
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(out, &fromYAML); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, out)
	}
	a, _ := json.Marshal(fromJSON)
	b, err := json.Marshal(fromYAML)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("YAML reads back as %s, want %s (%v)\n%s", b, a, err, out)
	}
}

// Strings a YAML reader would take for something else are quoted, and
// everything reads back as written.
func TestYAMLReadsBackAsJSON(t *testing.T) {
	tricky := []string{"", " ", "yes", "No", "ON", "off", "y", "n", "true", "False", "null", "~", "NaN", ".inf", "-.inf",
		"0", "12", "-3", "+4", "1e5", "1E-5", "0x1f", "0o17", "0b101", "1_000", "1:20", "2026-11-23", "2026-11-23T10:00:00Z",
		"677aafef0bd", "123e456", "a: b", "a #b", "#c", "- x", "-", "? q", "[a]", "{a}", "*alias", "&anchor", "!tag",
		"|", ">", "'single'", `"double"`, "%dir", "@at", "`tick`", "line1\nline2", "tab\there", "trailing ", " leading",
		"nul\x00byte", "bell\a", "\u2028sep", "\ufeffbom", "é", "日本", "\U0001F600", "back\\slash", "<<", "=", "a,b", "alice",
		"u1@example.com", "sso.signin", "Master", "https://a.example:8443/", "a:", "a:b", "12:30", "2026-11-23T10:00:00Z", "2001-12-14t21:59:43.10-05:00"}
	for _, s := range tricky {
		v := map[string]any{"k": s, s: []any{s, map[string]any{"v": s}}, "n": 1.5, "i": 7, "b": true, "z": nil,
			"empty": map[string]any{}, "none": []any{}, "nested": []any{[]any{s, 1}, []any{}}}
		var buf bytes.Buffer
		if err := writeYAML(&buf, v); err != nil {
			t.Fatal(err)
		}
		sameData(t, v, buf.Bytes())
	}
}

// The output is idiomatic block YAML, the same shape yaml.v3 writes: plain
// names, hashes and emails; nested maps and lists indented by two; a list of
// records as one sequence; quoted timestamps and empty strings.
func TestYAMLShape(t *testing.T) {
	type rec struct {
		Seq     int               `json:"seq"`
		Time    string            `json:"time"`
		Actor   string            `json:"actor"`
		Details map[string]any    `json:"details"`
		Roles   []string          `json:"roles"`
		Empty   string            `json:"empty"`
		None    map[string]string `json:"none"`
	}
	var buf bytes.Buffer
	err := writeYAML(&buf, []any{rec{Seq: 1, Time: "2026-11-23T10:00:00Z", Actor: "alice@example.com",
		Details: map[string]any{"hash": "677aafef0bd", "list": []any{"a", map[string]any{"x": 1}}}, Roles: []string{"Master"},
		None: map[string]string{}}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`- seq: 1`,
		`  time: "2026-11-23T10:00:00Z"`,
		`  actor: alice@example.com`,
		`  details:`,
		`    hash: 677aafef0bd`,
		`    list:`,
		`      - a`,
		`      - x: 1`,
		`  roles:`,
		`    - Master`,
		`  empty: ""`,
		`  none: {}`,
		``}, "\n")
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// FuzzYAML: whatever a string holds, as a value or a key, the YAML output
// reads back as the same data as the JSON output.
func FuzzYAML(f *testing.F) {
	for _, s := range []string{"", "yes", "1e5", "a: b", "line\nbreak", "\x00", "0x1f", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := map[string]any{"k": s, s: []any{s, map[string]any{s: s}}}
		var buf bytes.Buffer
		if err := writeYAML(&buf, v); err != nil {
			t.Fatal(err)
		}
		sameData(t, v, buf.Bytes())
	})
}
