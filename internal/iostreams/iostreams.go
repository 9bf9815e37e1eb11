// Package iostreams is the one place that knows where a command's input and
// output go and what they are connected to. Rules, as in age's tui.go:
//
//   - data goes to Out (stdout), messages to ErrOut (stderr);
//   - a message is one line, "gatehouse: " then lower case, no final period,
//     and never a secret;
//   - colour only when stdout is a terminal, NO_COLOR is unset and
//     --no-color was not given;
//   - a table on a terminal fits its width (TerminalWidth), and a long
//     listing goes through a pager (StartPager) when stdout is one.
package iostreams

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"

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

	// term is stdout when it is really a terminal (not forced): its size
	// is read from it, and only then is a pager started.
	term *os.File
	// pager is the running pager, whose standard input Out then is.
	pager     *exec.Cmd
	pagerPipe io.WriteCloser
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
	if s.stdoutTTY {
		s.term = os.Stdout
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

// TerminalWidth is the width of the terminal stdout shows on, in columns:
// its size, else $COLUMNS (for GATEHOUSE_FORCE_TTY under watch, which
// sets it), else 0, unknown.
func (s *IOStreams) TerminalWidth() int {
	if !s.stdoutTTY {
		return 0
	}
	if s.term != nil {
		if w, _, err := term.GetSize(int(s.term.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
}

// ErrClosedPager is the error of a write to a pager that has quit: the
// reader has seen what they wanted, and the command ends quietly (exit 0).
var ErrClosedPager = errors.New("the pager was closed")

// PagerCommand is the pager a listing goes through, as git and gh choose
// it: $GATEHOUSE_PAGER, else $PAGER, else "less -FRX". A variable that is
// set wins even when empty; an empty one, or "cat", means no pager.
func PagerCommand() string {
	cmd, ok := os.LookupEnv("GATEHOUSE_PAGER")
	if !ok {
		cmd, ok = os.LookupEnv("PAGER")
	}
	if !ok {
		cmd = "less -FRX"
	}
	if cmd = strings.TrimSpace(cmd); cmd == "cat" {
		return ""
	}
	return cmd
}

// StartPager sends Out through the pager (PagerCommand) until StopPager,
// when stdout is really a terminal; otherwise, or when the pager cannot be
// run, it does nothing and the output goes straight to stdout. The
// command is run by /bin/sh, as git runs it, with LESS=FRX unless LESS
// is set.
func (s *IOStreams) StartPager() {
	cmdline := PagerCommand()
	if s.term == nil || s.pager != nil || cmdline == "" {
		return
	}
	// sh would start whatever the name, and a pager that is not there
	// would then look like one that quit at once: look for it first.
	if _, err := exec.LookPath(strings.Fields(cmdline)[0]); err != nil {
		s.Message("cannot run the pager (GATEHOUSE_PAGER, PAGER): not found; printing without it")
		return
	}
	cmd := exec.Command("/bin/sh", "-c", cmdline)
	cmd.Env = os.Environ()
	if os.Getenv("LESS") == "" {
		cmd.Env = append(cmd.Env, "LESS=FRX")
	}
	cmd.Stdout, cmd.Stderr = s.term, s.ErrOut
	pipe, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		s.Message("cannot run the pager (GATEHOUSE_PAGER, PAGER); printing without it")
		return
	}
	s.pager, s.pagerPipe = cmd, pipe
	s.Out = pagerWriter{pipe}
}

// StopPager ends the pager's input and waits for it to quit: the reader
// may still be reading. Out is stdout again.
func (s *IOStreams) StopPager() {
	if s.pager == nil {
		return
	}
	s.pagerPipe.Close()
	s.pager.Wait() // its exit status is the reader's business
	s.pager, s.pagerPipe = nil, nil
	s.Out = s.term
}

// pagerWriter turns the error of a write to a pager that quit into
// ErrClosedPager.
type pagerWriter struct{ w io.Writer }

func (p pagerWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil && (errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)) {
		err = ErrClosedPager
	}
	return n, err
}

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
