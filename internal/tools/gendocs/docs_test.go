package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
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

// TestManEnvironmentComplete: every environment variable the program reads
// (a GATEHOUSE_ name or an os.Getenv argument in its non-test source, and
// the viper bindings of internal/config) is documented in the man pages'
// ENVIRONMENT, and every one documented is read.
func TestManEnvironmentComplete(t *testing.T) {
	documented := map[string]string{}
	for _, e := range commonEnv() {
		documented[e.name] = e.text
	}
	for _, es := range commandEnv {
		for _, e := range es {
			documented[e.name] = e.text
		}
	}
	mentioned := func(name string) bool {
		if _, ok := documented[name]; ok {
			return true
		}
		for _, text := range documented {
			if regexp.MustCompile(`\b` + name + `\b`).MatchString(text) {
				return true
			}
		}
		return false
	}
	read := map[string]bool{"HOME": true} // os.UserHomeDir
	for _, v := range config.EnvVars() {
		read[v] = true
	}
	nameRE := regexp.MustCompile(`GATEHOUSE_[A-Z][A-Z_]*[A-Z]`)
	getenvRE := regexp.MustCompile(`os\.(?:Getenv|LookupEnv|Unsetenv)\("([A-Z_]+)"\)`)
	root := filepath.Join("..", "..", "..")
	for _, top := range []string{"cmd", "pkg", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// Test support packages read their own variables (GATEHOUSE_TEST_*).
			if d.IsDir() && (d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range nameRE.FindAllString(string(b), -1) {
				read[m] = true
			}
			for _, m := range getenvRE.FindAllStringSubmatch(string(b), -1) {
				read[m[1]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for name := range read {
		if !mentioned(name) {
			t.Errorf("%s is read by gatehouse but not in the man pages' ENVIRONMENT (internal/tools/gendocs/man.go)", name)
		}
	}
	for name := range documented {
		if !read[name] {
			t.Errorf("%s is documented in ENVIRONMENT but gatehouse never reads it", name)
		}
	}
}
