package cli

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clipperhouse/displaywidth"
	"github.com/creack/pty"
)

// The terminal tests run the built gatehouse binary on a real
// pseudo-terminal of a set size, as a person at a terminal would: what
// GATEHOUSE_FORCE_TTY cannot show (the terminal's size, a pager on it, a
// follow that must print before it ends). A machine that cannot open a
// pseudo-terminal fails them: they do not skip.

// terminal is a gatehouse binary and a store to run it on.
type terminal struct {
	t     *testing.T
	bin   string
	dir   string
	store string
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	dir := t.TempDir()
	term := &terminal{t: t, bin: filepath.Join(dir, "gatehouse"), dir: dir, store: filepath.Join(dir, "gatehouse.db")}
	if out, err := exec.Command("go", "build", "-trimpath", "-o", term.bin, "../../cmd/gatehouse").CombinedOutput(); err != nil {
		t.Fatalf("build gatehouse: %v\n%s", err, out)
	}
	term.run("init")
	return term
}

// env is the environment of every run: nothing from the machine's
// configuration, a terminal less knows, and no pager unless a test sets
// one. extra adds NAME=VALUE (a later one wins) or unsets -NAME.
func (term *terminal) env(extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + term.dir,
		"XDG_CONFIG_HOME=" + filepath.Join(term.dir, "config"),
		"XDG_STATE_HOME=" + filepath.Join(term.dir, "state"),
		"GATEHOUSE_CONFIG=/dev/null",
		"GATEHOUSE_STORE=" + term.store,
		"TERM=xterm",
		"LANG=C.UTF-8",
		"GATEHOUSE_PAGER=",
	}
	for _, e := range extra {
		if name, ok := strings.CutPrefix(e, "-"); ok {
			env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
			continue
		}
		env = append(env, e)
	}
	return env
}

// run runs gatehouse without a terminal and fails the test if it fails.
func (term *terminal) run(args ...string) string {
	term.t.Helper()
	cmd := exec.Command(term.bin, args...)
	cmd.Env = term.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		term.t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// session is gatehouse running on a pseudo-terminal.
type session struct {
	t    *testing.T
	cmd  *exec.Cmd
	pty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

// start runs gatehouse with its standard streams on a new pseudo-terminal
// cols columns wide.
func (term *terminal) start(cols int, env []string, args ...string) *session {
	term.t.Helper()
	cmd := exec.Command(term.bin, args...)
	cmd.Env = term.env(env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: uint16(cols)})
	if err != nil {
		term.t.Fatalf("cannot run gatehouse on a pseudo-terminal: %v", err)
	}
	s := &session{t: term.t, cmd: cmd, pty: f, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil { // EIO once every process on the terminal has gone
				return
			}
		}
	}()
	term.t.Cleanup(func() {
		cmd.Process.Kill()
		f.Close()
	})
	return s
}

// output is what the terminal showed so far, its line ends made \n.
func (s *session) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.ReplaceAll(s.out.String(), "\r\n", "\n")
}

// waitFor waits until the terminal shows text.
func (s *session) waitFor(text string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.output(), text) {
		if time.Now().After(deadline) {
			s.t.Fatalf("the terminal never showed %q; it shows:\n%s", text, s.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits for gatehouse to exit and returns its exit status and all it
// printed.
func (s *session) wait() (int, string) {
	s.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatalf("gatehouse did not exit; the terminal shows:\n%s", s.output())
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), s.output()
	}
	if err != nil {
		s.t.Fatalf("wait: %v", err)
	}
	return 0, s.output()
}

// longName is a long group name (the longest allowed) with wide East Asian
// characters, so that widths must be display widths, not bytes or runes.
var longName = "finance " + strings.Repeat("日本語の部門", 4) + " " + strings.Repeat("x", 31)

// checkFits fails unless every line of out fits cols columns. Escape
// sequences (less's) take no room.
func checkFits(t *testing.T, out string, cols int) {
	t.Helper()
	width := displaywidth.Options{ControlSequences: true}
	for _, line := range strings.Split(out, "\n") {
		if w := width.String(line); w > cols {
			t.Errorf("a line %d columns wide on a terminal of %d:\n%s", w, cols, line)
		}
	}
}

func TestTerminal(t *testing.T) {
	term := newTerminal(t)
	term.run("groups", "add", longName)

	t.Run("TableFitsWidth", func(t *testing.T) {
		for _, cols := range []int{60, 200} {
			code, out := term.start(cols, nil, "audit", "list").wait()
			if code != 0 {
				t.Fatalf("%d columns: exit %d:\n%s", cols, code, out)
			}
			checkFits(t, out, cols)
			if !strings.Contains(out, "SEQ") || !strings.Contains(out, "finan") {
				t.Errorf("%d columns: no header or no event:\n%s", cols, out)
			}
			if !strings.Contains(out, "…") {
				t.Errorf("%d columns: the long name is not cut with …:\n%s", cols, out)
			}
		}
	})

	t.Run("ShowFitsWidth", func(t *testing.T) {
		code, out := term.start(60, nil, "groups", "list").wait()
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		checkFits(t, out, 60)
		code, out = term.start(60, nil, "support", "status").wait()
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		checkFits(t, out, 60)
		if !regexp.MustCompile(`(?m)^│ FIELD +│ VALUE +│$`).MatchString(out) || !regexp.MustCompile(`(?m)^│ settings\.ttl +│ 3d +│$`).MatchString(out) {
			t.Errorf("support status is not FIELD/VALUE rows with dotted keys:\n%s", out)
		}
	})

	t.Run("WideCutsNothing", func(t *testing.T) {
		code, out := term.start(60, nil, "audit", "list", "-o", "wide").wait()
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if strings.Contains(out, "…") || !strings.Contains(out, longName) {
			t.Errorf("-o wide cut the name:\n%s", out)
		}
	})

	t.Run("NoColor", func(t *testing.T) {
		// On the terminal, verify's "ok" is green: the terminal is one.
		code, out := term.start(80, nil, "audit", "verify").wait()
		if code != 0 || !strings.Contains(out, "\x1b[32mok\x1b[0m") {
			t.Fatalf("exit %d, no colour on a terminal:\n%q", code, out)
		}
		for _, run := range []struct {
			env  []string
			args []string
		}{
			{[]string{"NO_COLOR=1"}, []string{"audit", "verify"}},
			{nil, []string{"--no-color", "audit", "verify"}},
			{[]string{"NO_COLOR=1"}, []string{"audit", "list"}},
		} {
			code, out := term.start(80, run.env, run.args...).wait()
			if code != 0 || strings.Contains(out, "\x1b") {
				t.Errorf("%v %v: exit %d, escape sequences:\n%q", run.env, run.args, code, out)
			}
		}
	})

	t.Run("Follow", func(t *testing.T) {
		s := term.start(200, []string{"PAGER=false"}, "audit", "list", "--follow")
		s.waitFor("group.add")
		term.run("groups", "add", "arrived-while-following")
		s.waitFor("arrived-while-following")
		s.cmd.Process.Signal(os.Interrupt)
		code, out := s.wait()
		if code != 0 {
			t.Fatalf("exit %d after an interrupt:\n%s", code, out)
		}
		checkFits(t, out, 200)
		if !strings.Contains(out, "┘") {
			t.Errorf("the table was not closed after the interrupt:\n%s", out)
		}
	})

	t.Run("Pager", func(t *testing.T) {
		pager := filepath.Join(term.dir, "pager.sh")
		ran, got := filepath.Join(term.dir, "pager-ran"), filepath.Join(term.dir, "pager-got")
		script := "#!/bin/sh\n[ -t 1 ] && echo tty > " + ran + " || echo notty > " + ran + "\ncat > " + got + "\necho paged\n"
		if err := os.WriteFile(pager, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		// GATEHOUSE_PAGER unset: PAGER is the pager.
		code, out := term.start(80, []string{"-GATEHOUSE_PAGER", "PAGER=" + pager}, "audit", "list").wait()
		if code != 0 || !strings.Contains(out, "paged") {
			t.Fatalf("exit %d; the pager did not run:\n%s", code, out)
		}
		if b, _ := os.ReadFile(ran); string(b) != "tty\n" {
			t.Errorf("the pager ran with stdout %q, want the terminal", b)
		}
		b, _ := os.ReadFile(got)
		if !strings.Contains(string(b), "SEQ") || !strings.Contains(string(b), "group.add") {
			t.Errorf("the pager received no table:\n%s", b)
		}
		checkFits(t, string(b), 80)
		if strings.Contains(out, "group.add") {
			t.Errorf("the rows went to the terminal, not only through the pager:\n%s", out)
		}
		// The users listings page too.
		for _, args := range [][]string{{"users", "list"}, {"users", "pending"}} {
			os.Remove(ran)
			if code, out := term.start(80, []string{"-GATEHOUSE_PAGER", "PAGER=" + pager}, args...).wait(); code != 0 || !strings.Contains(out, "paged") {
				t.Errorf("%v: exit %d; the pager did not run:\n%s", args, code, out)
			}
		}
		// Not for JSON, and not when GATEHOUSE_PAGER is set empty.
		os.Remove(ran)
		for _, args := range [][]string{{"audit", "list", "-o", "json"}, {"audit", "list"}} {
			env := []string{"-GATEHOUSE_PAGER", "PAGER=" + pager}
			if len(args) == 2 {
				env = append(env, "GATEHOUSE_PAGER=")
			}
			if code, out := term.start(80, env, args...).wait(); code != 0 || !strings.Contains(out, "group.add") {
				t.Errorf("%v: exit %d:\n%s", args, code, out)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Errorf("%v: the pager ran", args)
				os.Remove(ran)
			}
		}
	})

	t.Run("RealLess", func(t *testing.T) {
		// The default pager, less -FRX, quits at once when the rows fit
		// on one screen, leaving them on the terminal.
		if _, err := exec.LookPath("less"); err != nil {
			t.Fatalf("less is not installed (.ci/run installs Debian's less): %v", err)
		}
		code, out := term.start(80, []string{"-GATEHOUSE_PAGER", "-PAGER", "-LESS"}, "audit", "list").wait()
		if code != 0 || !strings.Contains(out, "group.add") || !strings.Contains(out, "┘") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		checkFits(t, out, 80)
	})
}

// TestTerminalLongTrail lists a trail too long for a screen: the pager
// gets rows at once and may quit early, and progress counts to a total.
func TestTerminalLongTrail(t *testing.T) {
	term := newTerminal(t)
	const events = 70000
	db, err := sql.Open("sqlite", term.store)
	if err != nil {
		t.Fatal(err)
	}
	// Events written straight into the table (listing does not check the
	// chain): 70,000 through the CLI would take minutes.
	_, err = db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
		INSERT INTO audit_events (seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash)
		SELECT 1+i, '2026-11-01T10:00:00.000000000Z', 'bulk', 'bulk', 'bulk.event', 'target-'||i, 'success',
			'{"pad":"'||printf('%.200c', 'x')||'"}', '', '' FROM n`, events)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("PagerQuitsEarly", func(t *testing.T) {
		// The pager reads five lines and quits: gatehouse stops at its
		// next write and exits 0, saying nothing.
		start := time.Now()
		code, out := term.start(80, []string{"GATEHOUSE_PAGER=head -n 5"}, "audit", "list").wait()
		if code != 0 || strings.Contains(out, "gatehouse:") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if n := strings.Count(out, "\n"); n != 5 || !strings.Contains(out, "SEQ") {
			t.Errorf("the terminal shows %d lines, want the pager's 5:\n%s", n, out)
		}
		t.Logf("quit after %v", time.Since(start))
	})

	t.Run("Streams", func(t *testing.T) {
		// Every row reaches the pager, and gatehouse holds one chunk of
		// rows at a time, not the trail: its peak memory stays well under
		// what 70,000 rows buffered for a table took (140 MiB). The pager,
		// gatehouse's child, reads that peak (VmHWM, which exec resets, so
		// the test process's size does not count) once its input ends,
		// while gatehouse waits for it.
		count, hwm := filepath.Join(term.dir, "rows"), filepath.Join(term.dir, "hwm")
		pager := "grep -c bulk.event > " + count + "; grep VmHWM /proc/$PPID/status > " + hwm
		if code, out := term.start(200, []string{"GATEHOUSE_PAGER=" + pager}, "audit", "list").wait(); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if b, _ := os.ReadFile(count); strings.TrimSpace(string(b)) != fmt.Sprint(events) {
			t.Errorf("the pager received %s rows, want %d", b, events)
		}
		b, err := os.ReadFile(hwm)
		var kib int
		if _, serr := fmt.Sscanf(string(b), "VmHWM: %d kB", &kib); err != nil || serr != nil {
			t.Fatalf("gatehouse's peak memory: %q (%v, %v)", b, err, serr)
		}
		t.Logf("peak RSS %d MiB", kib/1024)
		if kib > 48<<10 {
			t.Errorf("peak RSS %d MiB listing %d events to a pager", kib/1024, events)
		}
	})

	t.Run("Progress", func(t *testing.T) {
		// Progress shows on stderr when it is a terminal and stdout is not:
		// n/total when the total is known, else the count alone.
		if got, want := term.progress(t, "audit", "list", "-o", "jsonl"), fmt.Sprintf("\rgatehouse: 65536/%d events", events+1); !strings.Contains(got, want) {
			t.Errorf("stderr %q does not count to the total: want %q", got, want)
		}
		if got, want := term.progress(t, "audit", "list", "-o", "jsonl", "--action", "bulk.event"), "\rgatehouse: 65536 events"; !strings.Contains(got, want) {
			t.Errorf("stderr %q: want %q", got, want)
		}
	})
}

// progress runs gatehouse with stdout to /dev/null and stderr on a
// pseudo-terminal, and returns what stderr showed.
func (term *terminal) progress(t *testing.T, args ...string) string {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("cannot open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd := exec.Command(term.bin, args...)
	cmd.Env = term.env()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, devnull, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var stderr bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&stderr, ptmx); close(copied) }()
	err = cmd.Wait()
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	if err != nil {
		t.Fatalf("gatehouse %v: %v\n%s", args, err, stderr.String())
	}
	return stderr.String()
}
