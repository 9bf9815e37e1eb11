package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/spf13/cobra"
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
