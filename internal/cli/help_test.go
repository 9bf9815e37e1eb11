package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEveryCommandHelp: every command a user runs has examples in its help,
// and its help ends with the exit statuses.
func TestEveryCommandHelp(t *testing.T) {
	s, _, _, _ := iostreams.Test()
	root := NewCmdRoot(&Factory{IO: s, Now: time.Now})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() || c.Hidden || c.HasSubCommands() || strings.HasPrefix(c.CommandPath(), "gatehouse completion") {
			return
		}
		if strings.TrimSpace(c.Example) == "" && c.Name() != "help" {
			t.Errorf("%s: no examples in its help", c.CommandPath())
		}
		if !strings.HasSuffix(c.Long, exitStatusText) {
			t.Errorf("%s: its help does not end with the exit statuses", c.CommandPath())
		}
	}
	walk(root)
}

// TestClosedSetsComplete: every flag listed with fixed values exists on some
// command (the table is not stale), and every flag whose help names its
// values as "a or b" or "(A, B, …)" is in the table.
func TestClosedSetsComplete(t *testing.T) {
	s, _, _, _ := iostreams.Test()
	root := NewCmdRoot(&Factory{IO: s, Now: time.Now})
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			seen[fl.Name] = true
			if _, ok := flagValues[fl.Name]; ok {
				return
			}
			if enumUsage.MatchString(fl.Usage) {
				t.Errorf("%s --%s names a closed set of values (%q) but does not complete them: add it to flagValues", c.CommandPath(), fl.Name, fl.Usage)
			}
		})
	}
	walk(root)
	for name := range flagValues {
		if !seen[name] {
			t.Errorf("flagValues lists --%s, which no command has", name)
		}
	}
}

// enumUsage matches a flag help that lists its values: "https or http",
// "onprem or cloud", "(RS256, RS384, …)".
var enumUsage = regexp.MustCompile(`: [a-z0-9]+ or [a-z0-9]+$|\((?:[A-Z][A-Za-z0-9]+, ){2,}`)
