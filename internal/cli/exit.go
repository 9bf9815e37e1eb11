package cli

import (
	"errors"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// Exit statuses, the same for every command (docs/exit-codes.md).
const (
	exitOK          = 0 // success
	exitCheckFailed = 1 // a check ran and said no: tamper, drift, pending users, a logon refused
	exitInvalid     = 2 // invalid input or usage, or an actor without the right; nothing changed
	exitOperational = 3 // the store is missing, not a store, newer, locked, corrupt; I/O
	exitNotFound    = 4 // a named thing (user, role, recipient, event) does not exist
)

// exitCode is the one mapping from errors to exit statuses.
func exitCode(err error) int {
	switch gatehouse.ErrorCode(err) {
	case "":
		return exitOK
	case gatehouse.ECHECKFAILED:
		return exitCheckFailed
	case gatehouse.ENOTFOUND:
		return exitNotFound
	case gatehouse.EINVALID, gatehouse.ECONFLICT, gatehouse.EUNAUTHORIZED:
		return exitInvalid
	default:
		return exitOperational
	}
}

// errSilent marks a failure whose explanation the command already printed.
type errSilent struct{ code gatehouse.Code }

func (e errSilent) Error() string { return "" }

// handleError prints err as one line on stderr and returns the exit status.
// Errors that cobra raised before the command ran (unknown flag, wrong
// number of arguments) are usage errors.
func (f *Factory) handleError(cmd *cobra.Command, err error) int {
	if err == nil {
		return exitOK
	}
	var silent errSilent
	if errors.As(err, &silent) {
		return exitCode(&gatehouse.Error{Code: silent.code})
	}
	var ge *gatehouse.Error
	if !errors.As(err, &ge) {
		if f.started {
			err = gatehouse.Wrap(gatehouse.EINTERNAL, err, "%v", err)
		} else {
			hint := "gatehouse --help"
			if cmd != nil {
				hint = cmd.CommandPath() + " --help"
			}
			err = gatehouse.Wrap(gatehouse.EINVALID, err, "%s (see '%s')", cobraMessage(err), hint)
		}
	}
	// Messages clip what they quote; this bound is the last line of defence,
	// so that no input can make stderr more than one short line.
	f.IO.Message("%s", gatehouse.Clip(iostreams.OneLine(gatehouse.ErrorMessage(err)), 1000))
	return exitCode(err)
}

// quoted matches what cobra quotes from the command line.
var quoted = regexp.MustCompile(`"[^"]*"`)

// cobraMessage is cobra's message for an error it raised before the
// command ran, without the command line's content: an unknown command is
// not named (it may be a secret pasted in the wrong place), and anything
// else cobra quoted is dropped, except the flag names of a missing
// required flag, which come from the command's definition.
func cobraMessage(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unknown command"):
		// cobra's suggestions name commands of the tree, never the input.
		_, sugg, _ := strings.Cut(msg, "Did you mean this?")
		return "unknown command" + didYouMean(strings.Fields(sugg))
	case strings.HasPrefix(msg, "required flag"):
		return gatehouse.Clip(msg, 200)
	}
	return gatehouse.Clip(quoted.ReplaceAllString(msg, "…"), 200)
}

// usageError is an invalid-input error for flags and arguments.
func usageError(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EINVALID, format, args...)
}

// didYouMean is the end of an unknown-command message: the nearest
// commands, if any.
func didYouMean(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (did you mean '" + strings.Join(names, "' or '") + "'?)"
}
