package render

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestIndentJSONKnownAnswers: the indentation of testdata/indent.jsonl's
// documents is json.Indent's, byte for byte.
func TestIndentJSONKnownAnswers(t *testing.T) {
	docs, err := os.ReadFile("testdata/indent.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range bytes.Split(bytes.TrimSpace(docs), []byte("\n")) {
		checkIndent(t, d)
	}
}

func checkIndent(t *testing.T, doc []byte) {
	t.Helper()
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		return // not JSON: never given to indentJSON
	}
	var want bytes.Buffer
	if err := json.Indent(&want, compact.Bytes(), "  ", "  "); err != nil {
		t.Fatal(err)
	}
	if got := indentJSON(nil, compact.Bytes(), "  ", "  "); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("indentJSON(%s) =\n%s\nwant\n%s", compact.Bytes(), got, want.Bytes())
	}
}

func FuzzIndentJSON(f *testing.F) {
	docs, _ := os.ReadFile("testdata/indent.jsonl")
	for _, d := range bytes.Split(bytes.TrimSpace(docs), []byte("\n")) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkIndent(t, doc) })
}
