package cli

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
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

// TestBadInputMatrix: every command, given malformed, empty, over-long,
// NUL-containing, SQL-metacharacter or Unicode look-alike input, exits 2
// with exactly one short line on stderr, and the store is unchanged.
func TestBadInputMatrix(t *testing.T) {
	config.SystemFile = ""
	dir := t.TempDir()
	store := filepath.Join(dir, "gatehouse.db")
	t.Setenv("GATEHOUSE_CONFIG", filepath.Join(dir, "none.yaml"))
	t.Setenv("GATEHOUSE_ACTOR", "alice")
	t.Setenv("GATEHOUSE_CONFIG", "")
	exec := func(args ...string) (int, string, string) {
		s, _, out, errOut := iostreams.Test()
		code := run(append([]string{"--store", store}, args...), s, time.Now)
		return code, out.String(), errOut.String()
	}
	for _, setup := range [][]string{
		{"init", "--admin", "alice"},
		{"users", "add", "bob", "--email", "bob@example.com"},
		{"roles", "add", "Technician"},
		{"server", "configure", "--external-address", "vsa.example.com", "--port", "443"},
	} {
		if code, _, e := exec(setup...); code != 0 {
			t.Fatalf("%v: %d %s", setup, code, e)
		}
	}
	bad := map[string]string{
		"empty":      "",
		"1MB":        strings.Repeat("a", 1<<20),
		"NUL":        "ab\x00cd",
		"SQL":        "x'; DROP TABLE users; --",
		"confusable": "аdmin", // Cyrillic а
		"RTL":        "evil\u202etxt.exe",
	}
	// Each template has one X, the slot the bad value goes in.
	templates := [][]string{
		{"users", "show", "X"},
		{"users", "add", "X"},
		{"users", "add", "carol", "--email", "X"},
		{"users", "assign", "X", "--role", "Technician"},
		{"users", "assign", "bob", "--role", "X"},
		{"users", "unassign", "bob", "--org", "X"},
		{"users", "disable", "X"},
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
		{"sso", "explain", "X"},
		{"support", "recipients", "add", "X"},
		{"support", "recipients", "remove", "X"},
		{"support", "configure", "--account-name", "X"},
		{"support", "configure", "--endpoint", "X"},
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
	}
	// Some values are fine in some slots (an SQL-looking subject is just a
	// subject; a confusable string is just not a known user): those cases
	// must still change nothing, but may be refused with exit 1 or 2.
	before := dumpStore(t, store)
	for _, tpl := range templates {
		for name, value := range bad {
			args := make([]string, len(tpl))
			for i, a := range tpl {
				args[i] = strings.Replace(a, "X", value, 1)
			}
			label := strings.Join(tpl, " ") + " / " + name
			code, _, stderr := exec(args...)
			// explain is a report: an unknown subject is an answer. An empty
			// --endpoint turns the endpoint off (here: already off).
			accepted := (tpl[0] == "sso" && tpl[1] == "explain") || (name == "empty" && strings.Contains(label, "--endpoint"))
			if code == 0 && accepted {
				if after := dumpStore(t, store); after != before {
					t.Fatalf("%s: the store changed", label)
				}
				continue
			} else if code == 0 {
				t.Errorf("%s: exit 0, want a refusal", label)
				continue
			}
			if code == 3 {
				t.Errorf("%s: exit 3 (operational) for bad input: %s", label, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "gatehouse: ") || len(stderr) > 600 {
				t.Errorf("%s: stderr is not one short line: %q", label, gatehouseClip(stderr))
			}
			if strings.ContainsRune(stderr, 0) || strings.Contains(stderr, "\u202e") {
				t.Errorf("%s: stderr echoes a control character", label)
			}
			if after := dumpStore(t, store); after != before {
				// A refusal that is a decision (a denied sign-in) is audited;
				// anything else must leave the store as it was.
				decision := (code == 1 && strings.Contains(label, "signin")) ||
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

func gatehouseClip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
