package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The man pages are written here rather than by cobra's doc.GenManTree,
// whose output mandoc -Tlint warns about (blank lines in fill mode, an
// unparsable date, an EXAMPLE section) and which has no EXIT STATUS,
// ENVIRONMENT or FILES. Each page is man(7), the format man-db, groff and
// mandoc all read, with the sections of man-pages(7) in their order; the
// install test runs mandoc -Tlint on every page and requires silence.

// manDate is docsDate as man(7) wants it.
var manDate = docsDate.Format("2006-01-02")

// envVar is one environment variable a page documents.
type envVar struct{ name, text string }

// commonEnv are the variables every command reads (internal/config and
// internal/iostreams); TestManEnvironmentComplete checks the list against
// the source.
func commonEnv() []envVar {
	text := map[string]string{
		"GATEHOUSE_ACTOR":    "the admin a change is attributed to, as --actor",
		"GATEHOUSE_CONFIG":   "the one configuration file to read, as --config; it must exist",
		"GATEHOUSE_NO_COLOR": "true turns colour off, as --no-color",
		"GATEHOUSE_OUTPUT":   "the output format, as -o",
		"GATEHOUSE_QUIET":    "true prints nothing but data and errors, as -q",
		"GATEHOUSE_STORE":    "the store, as --store: an SQLite file's path or a postgres:// URL",
		"GATEHOUSE_TENANT":   "the tenant of a multi-tenant PostgreSQL store, as --tenant",
	}
	var env []envVar
	for _, name := range config.EnvVars() {
		t, ok := text[name]
		if !ok {
			panic("gendocs: no text for " + name)
		}
		env = append(env, envVar{name, t})
	}
	return append(env,
		envVar{"GATEHOUSE_FORCE_TTY", "1 makes standard output count as a terminal (tables with headers, colour)"},
		envVar{"COLUMNS", "the terminal's width when its size cannot be read (as with GATEHOUSE_FORCE_TTY): a table on a terminal is cut to fit it, unless -o wide"},
		envVar{"NO_COLOR", "any non-empty value turns colour off"},
		envVar{"XDG_CONFIG_HOME", "the user's configuration directory (default ~/.config)"},
		envVar{"XDG_STATE_HOME", "the directory of the default store (default ~/.local/state)"},
		envVar{"HOME", "the base of both defaults when the XDG variables are unset"},
	)
}

// commandEnv are the variables one command reads besides commonEnv.
var commandEnv = map[string][]envVar{
	"gatehouse audit list": {
		{"GATEHOUSE_PAGER", "the pager a table on a terminal goes through (not with --follow), run by /bin/sh; set but empty, or cat, means none"},
		{"PAGER", "the pager when GATEHOUSE_PAGER is unset; with neither, less -FRX"},
		{"LESS", "less's options; FRX when unset"},
	},
	"gatehouse sso test": {
		{"GATEHOUSE_OIDC_CLIENT_SECRET", "a confidential client's secret when --client-secret-file is not given; removed from the environment before a browser starts"},
		{"BROWSER", "the browser that opens the sign-in URL; else xdg-open when DISPLAY or WAYLAND_DISPLAY is set"},
	},
}

// manFiles are the files every command may use (internal/config,
// internal/sqlite).
var manFiles = []struct{ path, text string }{
	{"/etc/gatehouse/config.yaml", "the system's configuration file"},
	{"$XDG_CONFIG_HOME/gatehouse/config.yaml", "the user's configuration file (default ~/.config/gatehouse/config.yaml), laid over the system's key by key"},
	{"$XDG_STATE_HOME/gatehouse/gatehouse.db", "the default SQLite store (default ~/.local/state/gatehouse/gatehouse.db), created mode 0600; SQLite keeps its -wal and -shm files beside it"},
	{"STORE.support.lock", "the lock beside an SQLite store that serialises support requests and rotations"},
}

// genManTree writes one page per available command into dir.
func genManTree(root *cobra.Command, dir string) error {
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if c != root && !c.IsAvailableCommand() {
			return nil
		}
		page, err := manPage(root, c)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, manName(c)+".1"), page, 0o644); err != nil {
			return err
		}
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root)
}

func manName(c *cobra.Command) string { return strings.ReplaceAll(c.CommandPath(), " ", "-") }

var exitLineRE = regexp.MustCompile(`^\s+(\d+)\s+(.+)$`)

// splitExitStatus splits a help text at its "Exit status:" list (see
// withExitStatus in internal/cli) into the description and the statuses.
func splitExitStatus(long string) (desc string, statuses [][2]string) {
	i := strings.Index(long, "\nExit status:\n")
	if i < 0 {
		return long, nil
	}
	for _, l := range strings.Split(long[i+len("\nExit status:\n"):], "\n") {
		if m := exitLineRE.FindStringSubmatch(l); m != nil {
			statuses = append(statuses, [2]string{m[1], m[2]})
		}
	}
	return strings.TrimSpace(long[:i]), statuses
}

func manPage(root, c *cobra.Command) ([]byte, error) {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	name := manName(c)
	w(".TH %s 1 %s gatehouse \"gatehouse manual\"", strings.ToUpper(name), manDate)

	w(".SH NAME")
	w("%s", wrap(append([]string{name, `\-`}, strings.Fields(escape(c.Short))...)))

	w(".SH SYNOPSIS")
	w(".B %s", escape(c.CommandPath()))
	if rest := strings.TrimSpace(strings.TrimPrefix(c.UseLine(), c.CommandPath())); rest != "" {
		w("%s", wrap(strings.Fields(escapeDashes(rest))))
	}

	desc, statuses := splitExitStatus(c.Long)
	if statuses == nil {
		// Commands whose help has no list of their own exit as every
		// command does: the root's list.
		_, statuses = splitExitStatus(root.Long)
	}
	if desc == "" {
		desc = c.Short
	}
	w(".SH DESCRIPTION")
	writeText(&b, desc)
	if subs := availableCommands(c); len(subs) > 0 {
		w(".PP")
		w("Commands:")
		for _, sub := range subs {
			w(".TP")
			w(".B %s", escape(sub.Name()))
			w("%s", fill(sub.Short))
		}
	}

	w(".SH OPTIONS")
	writeFlags(&b, c.NonInheritedFlags())
	if c.HasAvailableInheritedFlags() {
		w(".SS \"Options of every command\"")
		writeFlags(&b, c.InheritedFlags())
	}

	if len(statuses) == 0 {
		return nil, fmt.Errorf("%s: no exit status in its help or the root's", c.CommandPath())
	}
	w(".SH EXIT STATUS")
	for _, s := range statuses {
		w(".TP")
		w(".B %s", s[0])
		w("%s", fill(s[1]))
	}

	w(".SH ENVIRONMENT")
	for _, e := range append(commonEnv(), commandEnv[c.CommandPath()]...) {
		w(".TP")
		w(".B %s", escape(e.name))
		w("%s", fill(e.text))
	}

	w(".SH FILES")
	for _, f := range manFiles {
		w(".TP")
		w(".I %s", escape(f.path))
		w("%s", fill(f.text))
	}

	examples := exampleLines(c.Example)
	if len(examples) == 0 {
		// A grouping command shows the first example of each command in it.
		for _, sub := range availableCommands(c) {
			examples = append(examples, firstExample(sub)...)
		}
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("%s: no example in its help or its commands'", c.CommandPath())
	}
	w(".SH EXAMPLES")
	w(".EX")
	for _, l := range examples {
		w("%s", noFill(l))
	}
	w(".EE")

	var see []string
	if p := c.Parent(); p != nil {
		see = append(see, manName(p))
	}
	for _, sub := range availableCommands(c) {
		see = append(see, manName(sub))
	}
	if len(see) > 0 {
		w(".SH SEE ALSO")
		for i, s := range see {
			sep := ""
			if i < len(see)-1 {
				sep = " ,"
			}
			w(".BR %s (1)%s", s, sep)
		}
	}
	return b.Bytes(), nil
}

func availableCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			out = append(out, sub)
		}
	}
	return out
}

// firstExample is the first gatehouse command line of c's example, or of
// its first command's, for a grouping command.
func firstExample(c *cobra.Command) []string {
	lines := exampleLines(c.Example)
	for i, l := range lines {
		if strings.HasPrefix(l, "gatehouse ") {
			// with the lines a trailing backslash continues it onto
			j := i
			for strings.HasSuffix(lines[j], `\`) && j+1 < len(lines) {
				j++
			}
			return lines[i : j+1]
		}
	}
	if subs := availableCommands(c); len(subs) > 0 {
		return firstExample(subs[0])
	}
	return nil
}

// exampleLines are an Example's lines without their common indentation
// and without blank lines.
func exampleLines(ex string) []string {
	var lines []string
	for _, l := range strings.Split(ex, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimPrefix(l, "  "))
		}
	}
	return lines
}

// writeText writes help text in fill mode: a blank line starts a new
// paragraph, and an indented block (a list or a command) keeps its lines.
// The first paragraph follows its section heading without a .PP.
func writeText(b *bytes.Buffer, text string) {
	var para []string
	inBlock, started := false, false
	paragraph := func() {
		if started {
			b.WriteString(".PP\n")
		}
		started = true
	}
	flush := func() {
		if len(para) == 0 {
			return
		}
		paragraph()
		b.WriteString(fill(strings.Join(para, " ")) + "\n")
		para = nil
	}
	for _, l := range strings.Split(text, "\n") {
		indented := strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")
		switch {
		case strings.TrimSpace(l) == "":
			if inBlock {
				b.WriteString(".fi\n")
				inBlock = false
			}
			flush()
		case indented:
			flush()
			if !inBlock {
				paragraph()
				b.WriteString(".nf\n")
				inBlock = true
			}
			b.WriteString(noFill(strings.TrimRight(l, " \t")) + "\n")
		default:
			if inBlock {
				b.WriteString(".fi\n")
				inBlock = false
			}
			para = append(para, l)
		}
	}
	if inBlock {
		b.WriteString(".fi\n")
	}
	flush()
}

// writeFlags writes a tagged paragraph per flag: its names, its value and
// its help, with the default when there is one.
func writeFlags(b *bytes.Buffer, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		switch varname {
		case "stringArray", "strings":
			varname = "string"
			usage += " (repeatable)"
		}
		tag := ""
		if f.Shorthand != "" {
			tag = `\fB\-` + escape(f.Shorthand) + `\fR, `
		}
		tag += `\fB\-\-` + escapeDashes(f.Name) + `\fR`
		if varname != "" {
			tag += ` \fI` + escape(varname) + `\fR`
		}
		switch f.DefValue {
		case "", "false", "[]", "0", "0s":
		default:
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", tag, fill(usage))
	})
}

// maxLine is mandoc's limit for an input line before it says "input text
// line longer than 80 bytes".
const maxLine = 80

// fill escapes text for fill mode and breaks it into input lines of at
// most maxLine bytes at spaces (a longer word stays whole).
func fill(text string) string {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = escape(w)
	}
	return wrap(words)
}

// wrap joins escaped words into input lines of at most maxLine bytes.
func wrap(words []string) string {
	var lines []string
	cur := ""
	for _, word := range words {
		switch {
		case cur == "":
			cur = word
		case len(cur)+1+len(word) <= maxLine:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// noFill escapes a line of a no-fill block (.nf, .EX), continuing it on the
// next input line (a backslash before the newline) past maxLine bytes.
func noFill(line string) string {
	line = escapeLine(line)
	var b strings.Builder
	for len(line) > maxLine-1 {
		cut := maxLine - 1
		// Never split an escape: back up to before a backslash near the cut.
		if i := strings.LastIndexByte(line[:cut], '\\'); i >= 0 && i > cut-10 {
			cut = i
		}
		b.WriteString(line[:cut] + "\\\n")
		line = line[cut:]
	}
	b.WriteString(line)
	return b.String()
}

// escape makes text safe inside a man(7) line: a backslash is \e and a
// character outside ASCII is a \[uXXXX] escape, which every formatter reads
// whatever the locale.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r > 0x7e || r < 0x20:
			if r < 0x20 {
				r = ' '
				b.WriteRune(r)
				continue
			}
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escapeLine escapes a whole input line: one starting with . or ' would be
// read as a request.
func escapeLine(s string) string {
	s = escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// escapeDashes escapes, and writes - as \-, the minus of an option.
func escapeDashes(s string) string { return strings.ReplaceAll(escape(s), "-", `\-`) }
