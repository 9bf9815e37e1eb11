// Package iostreams is the one place that knows where a command's input and
// output go and what they are connected to. Rules, as in age's tui.go:
//
//   - data goes to Out (stdout), messages to ErrOut (stderr);
//   - a message is one line, "gatehouse: " then lower case, no final period,
//     and never a secret;
//   - colour only when stdout is a terminal, NO_COLOR is unset and
//     --no-color was not given.
package iostreams

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"golang.org/x/term"
)

// IOStreams are a command's standard streams and what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdoutTTY bool
	stderrTTY bool
	noColor   bool
	quiet     bool
}

// System returns the process's streams. TTY detection happens once, here.
// GATEHOUSE_FORCE_TTY=1 makes stdout count as a terminal (for `watch`, a
// pager that understands tables, or tests).
func System() *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		noColor:   os.Getenv("NO_COLOR") != "",
	}
	if v := os.Getenv("GATEHOUSE_FORCE_TTY"); v != "" { // empty is unset
		// Strict: the command refuses a value that is not a boolean
		// (ForceTTYError), rather than guess.
		if b, err := gatehouse.ParseBool(v); err == nil && b {
			s.stdoutTTY = true
		}
	}
	return s
}

// ForceTTYError is the error for a GATEHOUSE_FORCE_TTY that is not a
// boolean (gatehouse.ParseBool); nil when it is one or is not set.
func ForceTTYError() error {
	v := os.Getenv("GATEHOUSE_FORCE_TTY")
	if v == "" {
		return nil
	}
	if _, err := gatehouse.ParseBool(v); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "GATEHOUSE_FORCE_TTY is %s", gatehouse.ErrorMessage(err))
	}
	return nil
}

// Test returns streams backed by buffers, none of them a terminal.
func Test() (s *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal: progress is shown only then.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetNoColor turns colour off (--no-color).
func (s *IOStreams) SetNoColor() { s.noColor = true }

// SetQuiet silences Info messages and change reports (-q); errors and the
// data of queries are still printed.
func (s *IOStreams) SetQuiet() { s.quiet = true }

// IsQuiet reports whether -q is in force.
func (s *IOStreams) IsQuiet() bool { return s.quiet }

// ColorEnabled reports whether output may carry ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return s.stdoutTTY && !s.noColor }

// Info prints a one-line message on stderr unless quiet.
func (s *IOStreams) Info(format string, args ...any) {
	if !s.quiet {
		s.Message(format, args...)
	}
}

// Message prints a one-line message on stderr, quiet or not.
func (s *IOStreams) Message(format string, args ...any) {
	fmt.Fprintf(s.ErrOut, "gatehouse: %s\n", OneLine(Redact(fmt.Sprintf(format, args...))))
}

// OneLine folds a message onto one line so that every message is exactly
// one line of stderr, whatever an error wrapped inside it contains, and
// escapes what must not reach a terminal raw (gatehouse.EscapeUnsafe), so
// that a message quoting input can neither break the line nor rewrite the
// terminal.
func OneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	return gatehouse.EscapeUnsafe(strings.Join(strings.Fields(s), " "))
}

// secretPattern matches private key material: an age identity (native or
// plugin), a signed-note signer key (the audit log's key:
// PRIVATE+KEY+name+hash+key) and a PEM or OpenSSH private key block, each
// to the end of the text.
var secretPattern = regexp.MustCompile(`(?is)(AGE-SECRET-KEY-|AGE-PLUGIN-[A-Z0-9]+-)[0-9A-Z]+…?|(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PRIVATE\+KEY\+).*`)

// Redact replaces private key material in a message by a marker. Messages
// name flags, positions and file lines rather than quote input; a few
// quote a short, clipped identifier (a user name, an email) so the
// operator sees which one was refused. This is the last line of defence
// for the day someone pastes a private key there.
func Redact(s string) string {
	return secretPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretPattern.FindStringSubmatch(m)
		if sub[1] != "" {
			return sub[1] + "…(redacted)"
		}
		return sub[2] + "…(redacted)"
	})
}

// Color wraps s in an ANSI colour when colour is enabled. code is an SGR
// parameter such as "31" (red) or "32" (green).
func (s *IOStreams) Color(code, text string) string {
	if !s.ColorEnabled() {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}
