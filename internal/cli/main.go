// Package cli is gatehouse's command-line interface: the cobra command tree,
// one file per noun. Each command follows one shape: an Options struct holds
// its dependencies and parsed flags, NewCmdX builds the cobra command and
// checks flags, and xRun does the work through a service and hands the
// result to the one renderer. Errors flow back to Main, which maps them to
// an exit status in one place (exit.go).
package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/spf13/cobra"
)

// Main runs gatehouse with the process's arguments and streams and returns
// the exit status.
func Main() int {
	return run(os.Args[1:], iostreams.System(), time.Now)
}

// run is Main with its dependencies explicit, for tests.
func run(args []string, io *iostreams.IOStreams, now func() time.Time) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &Factory{IO: io, Now: now}
	defer f.closeStore()
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil && f.wrote && !f.reported && testOnlyUnreported != nil {
		testOnlyUnreported(cmd)
	}
	io.StopPager()
	if errors.Is(err, iostreams.ErrClosedPager) {
		// The reader quit the pager before the end: they saw enough.
		return exitOK
	}
	return f.handleError(cmd, f.finish(err))
}

// testOnlyUnreported, set by the tests, hears of every command that opened
// the store to change it and succeeded without printing the record of a
// change (Factory.Result): the tests check that each is one that only
// records decisions (a logon), so that a new command that changes
// something cannot leave its record out unnoticed.
var testOnlyUnreported func(cmd *cobra.Command)
