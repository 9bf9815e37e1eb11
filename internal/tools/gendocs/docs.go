package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/spf13/cobra/doc"
)

// docsDate is the date printed in generated man pages. It is fixed, not
// today's, so that generating the docs twice gives the same bytes and the
// staleness test can compare them.
var docsDate = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// generateDocs writes the Markdown command reference to dir/reference and
// the man pages to dir/man, replacing what was there.
func generateDocs(dir string) error {
	s, _, _, _ := iostreams.Test()
	root := cli.NewCmdRoot(&cli.Factory{IO: s, Now: time.Now})
	root.DisableAutoGenTag = true
	for _, sub := range []string{"reference", "man"} {
		p := filepath.Join(dir, sub)
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
	}
	if err := doc.GenMarkdownTree(root, filepath.Join(dir, "reference")); err != nil {
		return fmt.Errorf("markdown reference: %w", err)
	}
	if err := genManTree(root, filepath.Join(dir, "man")); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	return nil
}
