package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDocsUpToDate fails when the committed command reference or man pages
// differ from what the command tree generates: run `make docs`.
func TestDocsUpToDate(t *testing.T) {
	tmp := t.TempDir()
	if err := generateDocs(tmp); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "..", "docs")
	for _, sub := range []string{"reference", "man"} {
		want, err := os.ReadDir(filepath.Join(tmp, sub))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadDir(filepath.Join(committed, sub))
		if len(got) != len(want) {
			t.Errorf("docs/%s has %d files, the command tree makes %d: run 'make docs'", sub, len(got), len(want))
		}
		for _, e := range want {
			w, _ := os.ReadFile(filepath.Join(tmp, sub, e.Name()))
			g, err := os.ReadFile(filepath.Join(committed, sub, e.Name()))
			if err != nil || string(g) != string(w) {
				t.Errorf("docs/%s/%s is stale: run 'make docs'", sub, e.Name())
			}
		}
	}
}
