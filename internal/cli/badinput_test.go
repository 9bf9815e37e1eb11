package cli

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// dumpStore renders every row of every table, for before/after comparison.
func dumpStore(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out strings.Builder
	tables, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	for _, n := range names {
		rows, err := db.Query("SELECT * FROM " + n + " ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			rows.Scan(ptrs...)
			fmt.Fprintf(&out, "%s %v\n", n, vals)
		}
		rows.Close()
	}
	return out.String()
}

// matrix is a store with an admin, a user, a role and a server address,
// and a way to run gatehouse against it in process.
type matrix struct {
	t     *testing.T
	dir   string
	store string
}

func newMatrix(t *testing.T) *matrix {
	config.SystemFile = ""
	dir := t.TempDir()
	m := &matrix{t: t, dir: dir, store: filepath.Join(dir, "gatehouse.db")}
	t.Setenv("GATEHOUSE_ACTOR", "alice")
	t.Setenv("GATEHOUSE_CONFIG", "")
	for _, setup := range [][]string{
		{"init", "--admin", "alice"},
		{"users", "add", "bob", "--email", "bob@example.com"},
		{"roles", "add", "Technician"},
		{"server", "configure", "--external-address", "vsa.example.com", "--port", "443"},
	} {
		if code, _, e := m.exec("", setup...); code != 0 {
			t.Fatalf("%v: %d %s", setup, code, e)
		}
	}
	return m
}

// exec runs gatehouse with stdin and args (--store first, unless args
// name their own).
func (m *matrix) exec(stdin string, args ...string) (int, string, string) {
	s, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	if !slices.Contains(args, "--store") {
		args = append([]string{"--store", m.store}, args...)
	}
	code := run(args, s, time.Now)
	return code, out.String(), errOut.String()
}

// badValues are the inputs every slot is tried with.
var badValues = map[string]string{
	"empty":      "",
	"1MB":        strings.Repeat("a", 1<<20),
	"NUL":        "ab\x00cd",
	"SQL":        "x'; DROP TABLE users; --",
	"confusable": "аdmin", // Cyrillic а
	"RTL":        "evil\u202etxt.exe",
	"C1":         "x\u009b31my", // a one-byte CSI
	"zero-width": "a\u200bdmin",
}

// slot is a command with one X where the bad value goes, in an argument or
// on stdin; accept says which values are legitimate there (an SQL-looking
// subject is just a subject) and may succeed.
type slot struct {
	args   []string
	stdin  string
	accept func(value string) bool
}

// run tries every bad value in every slot: a refusal is exit 1 or 2 (never
// 3, unless operational says so), exactly one short line on stderr with no
// raw control character, and the store unchanged — unless the refusal is
// itself a decision that is audited (a denied sign-in or login).
func (m *matrix) run(slots []slot, operational func(label string) bool) {
	t := m.t
	before := dumpStore(t, m.store)
	for _, sl := range slots {
		for name, value := range badValues {
			args := make([]string, len(sl.args))
			for i, a := range sl.args {
				args[i] = strings.Replace(a, "X", value, 1)
			}
			label := strings.Join(sl.args, " ") + " / " + name
			stdin := strings.Replace(sl.stdin, "X", value, 1)
			if sl.stdin != "" {
				label += " (stdin)"
			}
			code, _, stderr := m.exec(stdin, args...)
			accepted := sl.accept != nil && sl.accept(name)
			if code == 0 {
				if !accepted {
					t.Errorf("%s: exit 0, want a refusal", label)
				}
				before = dumpStore(t, m.store) // an accepted change is audited
				continue
			}
			if code == 3 && (operational == nil || !operational(label)) {
				t.Errorf("%s: exit 3 (operational) for bad input: %s", label, gatehouseClip(stderr))
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "gatehouse: ") || len(stderr) > 1100 {
				t.Errorf("%s: stderr is not one short line: %q", label, gatehouseClip(stderr))
			}
			if strings.ContainsFunc(stderr, func(r rune) bool { return r != '\n' && gatehouse.UnsafeRune(r) }) {
				t.Errorf("%s: stderr echoes a control, bidi or zero-width character", label)
			}
			if after := dumpStore(t, m.store); after != before {
				// A refusal that is a decision (a denied sign-in or login) is
				// audited; anything else must leave the store as it was.
				decision := (code == 1 && (strings.Contains(label, "signin") || strings.Contains(label, "login"))) ||
					(code == 2 && strings.Contains(stderr, "the refusal was audited"))
				if decision {
					before = after
					continue
				}
				t.Fatalf("%s: the store changed (exit %d, %s)", label, code, stderr)
			}
		}
	}
}

func only(names ...string) func(string) bool {
	return func(name string) bool { return slices.Contains(names, name) }
}

// TestBadInputMatrix: every command, given malformed, empty, over-long,
// NUL-containing, SQL-metacharacter or Unicode look-alike input, exits 2
// with exactly one short line on stderr, and the store is unchanged.
func TestBadInputMatrix(t *testing.T) {
	m := newMatrix(t)
	var slots []slot
	for _, args := range [][]string{
		{"users", "show", "X"},
		{"users", "add", "X"},
		{"users", "add", "carol", "--email", "X"},
		{"users", "assign", "X", "--role", "Technician"},
		{"users", "assign", "bob", "--role", "X"},
		{"users", "unassign", "bob", "--org", "X"},
		{"users", "disable", "X"},
		{"users", "enable", "X"},
		{"users", "unlock", "X"},
		{"users", "lockout", "configure", "--max-failures", "X"},
		{"users", "lockout", "configure", "--window", "X"},
		{"users", "lockout", "configure", "--duration", "X"},
		{"users", "pending", "--older-than", "X"},
		{"users", "list", "--created-since", "X"},
		{"roles", "add", "X"},
		{"scopes", "add", "X"},
		{"sso", "allow", "X"},
		{"sso", "exempt", "add", "X"},
		{"sso", "idp", "set", "--issuer", "X"},
		{"sso", "signin", "--issuer", "https://idp.example", "--subject", "X", "--email", "x@example.com", "--email-verified"},
		{"sso", "signin", "--issuer", "https://idp.example", "--subject", "s1", "--email", "X", "--email-verified"},
		{"sso", "signin", "--issuer", "X", "--subject", "s1"},
		{"support", "recipients", "add", "X"},
		{"support", "recipients", "remove", "X"},
		{"support", "configure", "--account-name", "X"},
		{"support", "configure", "--ttl", "X"},
		{"support", "request", "--ttl", "X"},
		{"support", "request", "--reason", "X\x01"},
		{"support", "rotate", "--if-older-than", "X"},
		{"support", "login", "--technician", "X"},
		{"server", "configure", "--external-address", "X"},
		{"audit", "list", "--since", "X"},
		{"audit", "list", "--action", "a", "--limit", "X"},
		{"audit", "verify", "--head", "X"},
		{"license", "set", "--admin-seats", "X"},
		{"init", "--mode", "X"},
		{"--actor", "X", "sso", "allow", "on"},
		{"-o", "X", "users", "list"},
	} {
		slots = append(slots, slot{args: args})
	}
	// explain is a report: an unknown subject is an answer. An empty
	// --endpoint turns the endpoint off (here: already off). Group and
	// organisation names are display names in any script ("Société"), so a
	// look-alike is one.
	slots = append(slots,
		slot{args: []string{"groups", "add", "X"}, accept: only("confusable")},
		slot{args: []string{"orgs", "add", "X"}, accept: only("confusable")},
		slot{args: []string{"sso", "explain", "X"}, accept: func(string) bool { return true }},
		slot{args: []string{"support", "configure", "--endpoint", "X"}, accept: only("empty")})
	m.run(slots, nil)
}

// TestBadInputMatrixPathsAndStdin: the same inputs as file paths and as the
// password on stdin. A path is resolved in a temporary directory, so that
// a legitimate one (an SQL-looking or look-alike file name) is harmless.
func TestBadInputMatrixPathsAndStdin(t *testing.T) {
	m := newMatrix(t)
	in := func(p string) string { return filepath.Join(m.dir, "sub", p) }
	if err := os.Mkdir(filepath.Join(m.dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Never a relative path: a legitimate one would be written in the
	// package's directory.
	nowhere := func(p string) string { return filepath.Join(m.dir, "nowhere", p) }
	validName := only("SQL", "confusable", "RTL", "zero-width")
	slots := []slot{
		// A valid new file name gets a backup, audited.
		{args: []string{"store", "backup", in("X")}, accept: validName},
		{args: []string{"config", "check", "--policy", nowhere("X")}},
		{args: []string{"support", "recipients", "add", "-R", nowhere("X")}},
		{args: []string{"support", "request", "--out", nowhere("X")}},
		{args: []string{"--config", nowhere("X"), "users", "list"}},
		{args: []string{"--store", nowhere("X"), "users", "list"}},
		{args: []string{"login", "bob"}, stdin: "X"},
		{args: []string{"login", "X"}, stdin: "correct horse battery"},
		{args: []string{"support", "login", "--technician", "t-1"}, stdin: "X"},
		// Passwords are opaque: any text of 12 to 1,024 bytes is one. (Last:
		// once bob has a password, logging on with it succeeds.)
		{args: []string{"users", "passwd", "bob"}, stdin: "X", accept: only("SQL", "RTL", "NUL")},
	}
	// A store path that is well-formed but names no store is the documented
	// operational error.
	m.run(slots, func(label string) bool { return strings.HasPrefix(label, "--store") })
}

func gatehouseClip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// TestMessagesNeverQuoteAKey: a private key pasted into any argument, flag
// value or flag name is never echoed on stderr, whatever the command does
// with it.
func TestMessagesNeverQuoteAKey(t *testing.T) {
	m := newMatrix(t)
	const key = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS0F7S3H"
	const body = "QYQSZQGPQYQS"
	pem := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
		"QyNTUxOQAAACBo0wmeq1nMeJzTpW8dN3d1cMa5wKJuhmDr0SfKzr3iQAAAAJjhhMIh4YTCIQ\n-----END OPENSSH PRIVATE KEY-----\n"
	for _, args := range [][]string{
		{"X"},
		{"users", "X"},
		{"users", "list", "X"},
		{"users", "list", "--X"},
		{"users", "list", "-X"},
		{"-o", "X", "users", "list"},
		{"users", "show", "X"},
		{"users", "add", "carol", "--email", "X"},
		{"users", "assign", "bob", "--role", "X"},
		{"users", "pending", "--older-than", "X"},
		{"sso", "explain", "X"},
		{"sso", "allow", "X"},
		{"support", "recipients", "add", "X"},
		{"support", "recipients", "remove", "X"},
		{"support", "configure", "--endpoint", "X"},
		{"support", "configure", "--ttl", "X"},
		{"server", "configure", "--external-address", "X"},
		{"server", "configure", "--port", "X"},
		{"audit", "list", "--limit", "X"},
		{"audit", "list", "--since", "X"},
		{"audit", "verify", "--head", "X"},
		{"license", "set", "--admin-seats", "X"},
		{"init", "--mode", "X"},
		{"config", "check", "--policy", "X"},
	} {
		for _, secret := range []string{key, pem} {
			a := make([]string, len(args))
			for i, s := range args {
				a[i] = strings.Replace(s, "X", secret, 1)
			}
			_, _, stderr := m.exec("", a...)
			if strings.Contains(stderr, body) || strings.Contains(stderr, "b3BlbnNzaC1rZXktdjEAAAAABG5v") ||
				strings.Contains(stderr, "QyNTUxOQAAACBo0wmeq1nMeJzTpW8dN3d1cMa5wKJuhmDr0SfKzr3iQ") {
				t.Errorf("%s: stderr quotes the key: %q", strings.Join(args, " "), gatehouseClip(stderr))
			}
		}
	}
}
