package core_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
)

// swapStaged plays an attacker who can write the --out directory but is
// not the user gatehouse runs as: it may rename and create entries in the
// directory, not write into gatehouse's own files or 0700 directories. It
// moves every staged entry aside and puts its own in its place, with the
// same name and shape (a file, or a directory holding one file).
func swapStaged(t *testing.T, dir, base string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "."+base+".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Rename(p, filepath.Join(dir, "moved-aside-"+e.Name())); err != nil {
			t.Fatal(err)
		}
		if e.IsDir() {
			if err := os.Mkdir(p, 0o777); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"envelope", "envelope.age", base} {
				os.WriteFile(filepath.Join(p, name), []byte("the attacker's envelope"), 0o666)
			}
		} else if err := os.WriteFile(p, []byte("the attacker's envelope"), 0o666); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestPublishOnlyWhatWasSealed: someone who can write the --out directory
// replaces the staged envelope between the commit and the rename. What is
// put in place is still the envelope this process sealed, whose SHA-256 is
// the audited one, and the vendor can open it.
func TestPublishOnlyWhatWasSealed(t *testing.T) {
	fx := setup(t)
	out := filepath.Join(fx.dir, "envelope.age")
	swapped := 0
	core.TestOnlyStep = func(step string) {
		if step == "committed" {
			swapped += swapStaged(t, fx.dir, "envelope.age")
		}
	}
	t.Cleanup(func() { core.TestOnlyStep = nil })
	res, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if swapped == 0 {
		t.Fatal("nothing was staged beside --out for the attacker to replace")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != res.EnvelopeSHA256 {
		t.Fatalf("the published envelope has SHA-256 %s, the audited one is %s: %.40q", got, res.EnvelopeSHA256, b)
	}
	if env := open(t, out, fx.x); env.RequestID != res.RequestID {
		t.Fatalf("the published envelope is of request %s, not %s", env.RequestID, res.RequestID)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("envelope mode = %v, %v; want 0600", st.Mode(), err)
	}
}
