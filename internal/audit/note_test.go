package audit_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// TestCheckNote: a stored checkpoint may gain signature lines and nothing
// else; anything else, such as terminal escapes, is not a note gatehouse
// keeps.
func TestCheckNote(t *testing.T) {
	v := loadTreeVectors(t)
	cp := v.Checkpoint
	if err := audit.CheckNote([]byte(cp)); err != nil {
		t.Fatalf("CheckNote(the vectors' checkpoint) = %v", err)
	}
	cosig := "— witness.test/w AAAAAQIDBAUGBwgJ\n"
	if err := audit.CheckNote([]byte(cp + cosig)); err != nil {
		t.Errorf("CheckNote(with a cosignature line) = %v", err)
	}
	for name, bad := range map[string]string{
		"terminal escape":      cp + "— evil \x1b]0;pwned\x07\n",
		"text after the lines": cp + "— evil\n— x\n",
		"a second blank line":  cp + "\n— witness.test/w AAAAAQIDBAUGBwgJ\n",
		"no final newline":     strings.TrimSuffix(cp+cosig, "\n"),
		"non-ASCII name":       cp + "— wіtness AAAAAQIDBAUGBwgJ\n",
		"bidi override":        cp + "— w\u202e AAAAAQIDBAUGBwgJ\n",
		"not base64":           cp + "— w !!!!\n",
		"no signature":         strings.Split(cp, "\n\n")[0] + "\n\n",
		"not a checkpoint":     "hello\n\n— w AAAAAQIDBAUGBwgJ\n",
		"empty":                "",
	} {
		if err := audit.CheckNote([]byte(bad)); err == nil {
			t.Errorf("CheckNote(%s) accepted %q", name, bad)
		}
	}
}

// TestMergeNote: signature lines are added once, in order, and only to the
// same checkpoint; no line is ever lost.
func TestMergeNote(t *testing.T) {
	v := loadTreeVectors(t)
	cp := v.Checkpoint
	a, b := "— witness.test/a AAAAAQIDBAUGBwgJ\n", "— witness.test/b AAAAAgIDBAUGBwgJ\n"
	got, err := audit.MergeNote([]byte(cp+a), []byte(cp+b))
	if err != nil || string(got) != cp+a+b {
		t.Errorf("MergeNote(+a, +b) = %q, %v; want +a+b", got, err)
	}
	got, err = audit.MergeNote([]byte(cp+a+b), []byte(cp+b))
	if err != nil || string(got) != cp+a+b {
		t.Errorf("MergeNote(+a+b, +b) = %q, %v; want +a+b", got, err)
	}
	got, err = audit.MergeNote([]byte(cp+a), []byte(cp))
	if err != nil || string(got) != cp+a {
		t.Errorf("MergeNote(+a, the bare note) = %q, %v; want +a", got, err)
	}
	other := strings.Replace(cp, "\n\n", "\nextension\n\n", 1)
	if _, err := audit.MergeNote([]byte(cp), []byte(other)); err == nil {
		t.Error("MergeNote accepted another checkpoint's signatures")
	}
	if _, err := audit.MergeNote([]byte(cp), []byte(cp+"— x \x1b[31m\n")); err == nil {
		t.Error("MergeNote accepted a malformed line")
	}
}
