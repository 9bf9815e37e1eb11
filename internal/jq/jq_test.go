package jq

import (
	"bytes"
	"context"
	"testing"
)

// TestBigIntegersStayExact: an integer above 2^53 (an ID, a sequence
// number) comes out of a filter digit for digit, and compares exactly.
func TestBigIntegersStayExact(t *testing.T) {
	for expr, want := range map[string]string{
		".id":                               "9007199254740993\n",
		".big":                              "18446744073709551617\n",
		".id == 9007199254740992":           "false\n",
		"[.id, .big] | map(tostring) | .[]": "9007199254740993\n18446744073709551617\n",
	} {
		f, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		w := f.Writer(context.Background(), &out, false)
		w.Write([]byte(`{"id":9007199254740993,"big":18446744073709551617}`))
		if err := w.Close(); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if out.String() != want {
			t.Errorf("%s = %q, want %q", expr, out.String(), want)
		}
	}
}
