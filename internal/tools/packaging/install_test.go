// Package packaging holds the tests of 'make install': the installed tree,
// its man pages (mandoc -Tlint), its shell completions and its systemd
// units (systemd-analyze verify and security), and the cron example.
package packaging

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// repo is the repository's root, where the Makefile is.
var repo = filepath.Join("..", "..", "..")

// need returns the path of an outside program the tests use. It fails,
// never skips, when the program is missing: .ci/run installs them.
func need(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: apt-get install %s (.ci/run installs it)", name, pkg)
	}
	return p
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// installs runs 'make install' once per test binary for each set of
// variables, into a fresh directory.
var (
	installMu  sync.Mutex
	installDir = map[string]string{}
)

func install(t *testing.T, vars func(dir string) []string) string {
	t.Helper()
	installMu.Lock()
	defer installMu.Unlock()
	key := strings.Join(vars("DIR"), " ")
	if d, ok := installDir[key]; ok {
		return d
	}
	need(t, "make", "make")
	dir, err := os.MkdirTemp("", "gatehouse-install-")
	if err != nil {
		t.Fatal(err)
	}
	run(t, repo, "make", append([]string{"--no-print-directory", "install"}, vars(dir)...)...)
	installDir[key] = dir
	return dir
}

// staged is 'make install DESTDIR=…' with the default PREFIX, /usr/local.
func staged(t *testing.T) string {
	return install(t, func(dir string) []string { return []string{"DESTDIR=" + dir} })
}

// prefixed is 'make install PREFIX=…': every path in the installed files
// is real, so the units can be verified as they will run.
func prefixed(t *testing.T) string {
	return install(t, func(dir string) []string { return []string{"PREFIX=" + dir} })
}

func manPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(repo, "docs", "man", "*.1"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no man pages in docs/man: %v", err)
	}
	for i, p := range pages {
		pages[i] = filepath.Base(p)
	}
	return pages
}

// TestInstallTree: 'make install DESTDIR=…' puts each file in its standard
// place under /usr/local, with its mode, and nothing else.
func TestInstallTree(t *testing.T) {
	root := staged(t)
	want := map[string]os.FileMode{
		"usr/local/bin/gatehouse":                                  0o755,
		"usr/local/share/bash-completion/completions/gatehouse":    0o644,
		"usr/local/share/zsh/site-functions/_gatehouse":            0o644,
		"usr/local/share/fish/vendor_completions.d/gatehouse.fish": 0o644,
		"usr/local/lib/systemd/system/gatehouse-rotate.service":    0o644,
		"usr/local/lib/systemd/system/gatehouse-rotate.timer":      0o644,
		"usr/local/lib/systemd/system/gatehouse-forward.service":   0o644,
		"usr/local/share/doc/gatehouse/examples/crontab":           0o644,
		"usr/local/share/doc/gatehouse/examples/ci-check.sh":       0o644,
	}
	for _, p := range manPages(t) {
		want["usr/local/share/man/man1/"+p] = 0o644
	}
	got := map[string]os.FileMode{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		got[rel] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, mode := range want {
		if m, ok := got[p]; !ok {
			t.Errorf("%s is not installed", p)
		} else if m != mode {
			t.Errorf("%s has mode %v, want %v", p, m, mode)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is installed but not expected", p)
		}
	}
	// The man pages are the committed ones, and the binary runs.
	for _, p := range manPages(t) {
		a, _ := os.ReadFile(filepath.Join(repo, "docs", "man", p))
		b, _ := os.ReadFile(filepath.Join(root, "usr/local/share/man/man1", p))
		if !bytes.Equal(a, b) {
			t.Errorf("installed %s differs from docs/man/%s", p, p)
		}
	}
	if out := run(t, root, filepath.Join(root, "usr/local/bin/gatehouse"), "--help"); !strings.Contains(out, "Usage:") {
		t.Errorf("gatehouse --help printed no usage:\n%s", out)
	}
}

// manSections are the sections every page has, in this order.
var manSections = []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"}

// TestInstalledManPages: every installed page passes mandoc -Tlint without
// a message of any level, and has the sections an operator looks for.
func TestInstalledManPages(t *testing.T) {
	mandoc := need(t, "mandoc", "mandoc")
	dir := filepath.Join(staged(t), "usr/local/share/man/man1")
	exitCodes := exitCodesDocumented(t)
	for _, p := range manPages(t) {
		path := filepath.Join(dir, p)
		out, err := exec.Command(mandoc, "-Tlint", "-Wall", path).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("mandoc -Tlint %s: %v\n%s", p, err, out)
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var sections []string
		for _, l := range strings.Split(string(src), "\n") {
			if s, ok := strings.CutPrefix(l, ".SH "); ok {
				sections = append(sections, strings.Trim(s, `"`))
			}
		}
		if i := len(manSections); len(sections) < i || !slices.Equal(sections[:i], manSections) {
			t.Errorf("%s has sections %q, want %q first", p, sections, manSections)
		}
		// EXIT STATUS lists exactly the statuses of docs/exit-codes.md.
		m := regexp.MustCompile(`(?s)\.SH EXIT STATUS\n(.*?)\n\.SH `).FindStringSubmatch(string(src))
		if m == nil {
			continue
		}
		var codes []string
		for _, c := range regexp.MustCompile(`(?m)^\.B (\d+)$`).FindAllStringSubmatch(m[1], -1) {
			codes = append(codes, c[1])
		}
		if !slices.Equal(codes, exitCodes) {
			t.Errorf("%s: EXIT STATUS lists %q, docs/exit-codes.md %q", p, codes, exitCodes)
		}
	}
}

// exitCodesDocumented are the statuses in docs/exit-codes.md's table.
func exitCodesDocumented(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(repo, "docs", "exit-codes.md"))
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(string(b), -1) {
		codes = append(codes, m[1])
	}
	return codes
}

// TestInstalledCompletions: each shell's script is there, is for
// gatehouse, and loads: bash always; zsh and fish when they are installed
// (they are not needed otherwise), with checks of their form in any case.
func TestInstalledCompletions(t *testing.T) {
	share := filepath.Join(staged(t), "usr/local/share")
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(share, rel))
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			t.Fatalf("%s is empty", rel)
		}
		return string(b)
	}

	bashFile := filepath.Join(share, "bash-completion/completions/gatehouse")
	read("bash-completion/completions/gatehouse")
	bash := need(t, "bash", "bash")
	run(t, share, bash, "-n", bashFile)
	if out := run(t, share, bash, "-c", `source "$1" && complete -p gatehouse`, "bash", bashFile); !strings.Contains(out, "gatehouse") {
		t.Errorf("after sourcing, bash has no completion for gatehouse: %q", out)
	}

	zsh := read("zsh/site-functions/_gatehouse")
	if !strings.HasPrefix(zsh, "#compdef gatehouse\n") {
		t.Errorf("_gatehouse does not start with '#compdef gatehouse' (zsh's compinit needs it)")
	}
	if p, err := exec.LookPath("zsh"); err == nil {
		run(t, share, p, "-n", filepath.Join(share, "zsh/site-functions/_gatehouse"))
	}

	fish := read("fish/vendor_completions.d/gatehouse.fish")
	if !strings.Contains(fish, "complete -c gatehouse ") {
		t.Errorf("gatehouse.fish registers no completion for gatehouse")
	}
	if p, err := exec.LookPath("fish"); err == nil {
		run(t, share, p, "--no-execute", filepath.Join(share, "fish/vendor_completions.d/gatehouse.fish"))
	}
}

// unitValues returns the values of key in a unit file, in order.
func unitValues(t *testing.T, path, key string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`)

// TestInstalledSystemdUnits: the installed units pass systemd-analyze
// verify; the service's exposure (systemd-analyze security) is at most
// 2.0; it runs the installed binary; what it writes is in its state
// directory, the one place it may write; its documentation is installed.
func TestInstalledSystemdUnits(t *testing.T) {
	sa := need(t, "systemd-analyze", "systemd")
	root := prefixed(t)
	unitDir := filepath.Join(root, "lib/systemd/system")
	timer := filepath.Join(unitDir, "gatehouse-rotate.timer")
	for _, name := range []string{"gatehouse-rotate.service", "gatehouse-forward.service"} {
		checkUnit(t, sa, root, unitDir, filepath.Join(unitDir, name), timer)
	}
}

// checkUnit checks one installed service (and the timer) as
// TestInstalledSystemdUnits says.
func checkUnit(t *testing.T, sa, root, unitDir, service, timer string) {
	t.Helper()

	// --man=no: the Documentation= pages are checked below, in the tree.
	cmd := exec.Command(sa, "verify", "--man=no", service, timer)
	cmd.Dir = unitDir
	if out, err := cmd.CombinedOutput(); err != nil || bytes.Contains(out, []byte("gatehouse-")) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	cmd = exec.Command(sa, "security", "--offline=true", "--threshold=20", service)
	cmd.Dir = unitDir
	out, err := cmd.CombinedOutput()
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v, no exposure level in\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); err != nil || level > 2.0 {
		t.Errorf("%s: exposure %s, want at most 2.0 (%v)", filepath.Base(service), m[1], err)
	}

	bin := filepath.Join(root, "bin", "gatehouse")
	states := unitValues(t, service, "StateDirectory")
	if len(states) != 1 || states[0] != "gatehouse" {
		t.Fatalf("StateDirectory=%q, want gatehouse (/var/lib/gatehouse)", states)
	}
	env := map[string]string{}
	for _, e := range unitValues(t, service, "Environment") {
		if k, v, ok := strings.Cut(e, "="); ok {
			env[k] = v
		}
	}
	for _, e := range unitValues(t, service, "ExecStart") {
		f := strings.Fields(os.Expand(e, func(k string) string { return env[k] }))
		if f[0] != bin {
			t.Errorf("ExecStart runs %s, not the installed %s", f[0], bin)
		}
		for i, a := range f {
			if a == "--out" && (i+1 == len(f) || !strings.HasPrefix(f[i+1], "/var/lib/gatehouse/")) {
				t.Errorf("ExecStart writes outside /var/lib/gatehouse, the only place it may: %s", e)
			}
		}
	}
	for _, unit := range []string{service, timer} {
		for _, docs := range unitValues(t, unit, "Documentation") {
			for _, d := range strings.Fields(docs) {
				page, ok := strings.CutPrefix(d, "man:")
				if !ok {
					continue
				}
				page = strings.Replace(strings.TrimSuffix(page, ")"), "(", ".", 1)
				if _, err := os.Stat(filepath.Join(root, "share/man/man1", page)); err != nil {
					t.Errorf("%s: Documentation=%s is not an installed page", filepath.Base(unit), d)
				}
			}
		}
	}
}

// TestCronExample: every path the cron jobs write — the store named in the
// header, and each path variable — lies in a directory the setup lines
// create owned by the user the jobs run as; each job runs a gatehouse
// command.
func TestCronExample(t *testing.T) {
	f, err := os.Open(filepath.Join(staged(t), "usr/local/share/doc/gatehouse/examples/crontab"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	owned := map[string]string{} // directory -> owner, from "install -d -o USER ... DIRS"
	var written []string
	users := map[string]bool{}
	storeRE := regexp.MustCompile(`store: (/\S+?)\)`)
	installRE := regexp.MustCompile(`^#\s+install -d -o (\S+) .*?-m 0\d+ (.+)$`)
	varRE := regexp.MustCompile(`^([A-Z]+)=(/\S*)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if m := storeRE.FindStringSubmatch(l); m != nil {
			written = append(written, m[1])
		}
		if m := installRE.FindStringSubmatch(l); m != nil {
			for _, d := range strings.Fields(m[2]) {
				owned[d] = m[1]
			}
		}
		if m := varRE.FindStringSubmatch(l); m != nil && m[1] != "SHELL" {
			written = append(written, m[2])
		}
		if l == "" || strings.HasPrefix(l, "#") || varRE.MatchString(l) || strings.Contains(strings.SplitN(l, " ", 2)[0], "=") {
			continue
		}
		job := strings.Fields(l)
		if len(job) < 7 || job[6] != "gatehouse" {
			t.Errorf("not a gatehouse job (minute hour day month weekday user command): %s", l)
			continue
		}
		users[job[5]] = true
	}
	if len(users) != 1 {
		t.Fatalf("jobs run as %v, want one user", users)
	}
	if len(written) < 2 {
		t.Fatalf("found %d written paths (the store, ENVELOPE, ...): is the header gone?", len(written))
	}
	for user := range users {
		for _, p := range written {
			if p == "" || strings.Contains(p, ":") { // PATH
				continue
			}
			ok := false
			for d, owner := range owned {
				if owner == user && (p == d || strings.HasPrefix(p, d+"/")) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s is not in a directory the setup creates for %s (%v)", p, user, fmt.Sprint(owned))
			}
		}
	}
}
