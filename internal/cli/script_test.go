package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/iostreams"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/support"
	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf13/cobra"
)

// TestMain lets testscript run the real gatehouse main in a child process
// of the test binary, so every script drives the CLI exactly as a shell does.
func TestMain(m *testing.M) {
	// Under -race every process sleeps a second at exit (GORACE's
	// atexit_sleep_ms default) so that late reports can be printed. The
	// scripts start hundreds of CLI children, which then spend most of the
	// suite asleep; a report is still printed and still fails the test.
	os.Setenv("GORACE", childGORACE)
	testscript.Main(pgtestM{m}, map[string]func(){
		"gatehouse":              func() { os.Exit(testMain()) },
		"gatehouse-test-browser": func() { os.Exit(testBrowser()) },
	})
}

// pgtestM runs the tests under pgtest, which stops the PostgreSQL cluster
// the PostgreSQL runs of the scripts started.
type pgtestM struct{ m *testing.M }

func (p pgtestM) Run() int { return pgtest.Run(p.m) }

// testMain is Main with two test-only hooks, read from the environment of
// the script (the production binary reads neither):
//
//   - GATEHOUSE_TEST_NOW=RFC3339 stops the clock at that time, so scripts
//     can reason about time (each command sets its own);
//   - the system configuration file is $WORK/etc/gatehouse/config.yaml, so
//     the machine's /etc never leaks into a test.
func testMain() int {
	config.SystemFile = os.Getenv("GATEHOUSE_TEST_SYSTEM_CONFIG")
	// Retries against a failing endpoint pause briefly, not for seconds.
	support.TestOnlyRetryDelay = 10 * time.Millisecond
	// GATEHOUSE_TEST_CRASH=STEP kills the process abruptly (SIGKILL, no
	// deferred cleanup) at a step of issuing a credential (generated,
	// delivered, committed) or inside a transaction just before its commit
	// (before-commit:ACTION).
	if at := os.Getenv("GATEHOUSE_TEST_CRASH"); at != "" {
		crash := func() { syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
		core.TestOnlyStep = func(step string) {
			if step == at {
				crash()
			}
		}
		core.TestOnlyBeforeCommit = func(action string) {
			if "before-commit:"+action == at {
				crash()
			}
		}
	}
	if log := os.Getenv("GATEHOUSE_TEST_UNREPORTED"); log != "" {
		testOnlyUnreported = func(cmd *cobra.Command) {
			f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err == nil {
				fmt.Fprintln(f, strings.TrimPrefix(cmd.CommandPath(), "gatehouse "))
				f.Close()
			}
		}
	}
	// GATEHOUSE_TEST_FORWARD_CRASH=STEP[:N] kills 'events forward' at the
	// Nth time (default the first) it reaches a step of a delivery: read
	// (events read, nothing sent), sent (the sink took it, the cursor has
	// not moved), advanced (the cursor moved).
	if at := os.Getenv("GATEHOUSE_TEST_FORWARD_CRASH"); at != "" {
		step, nth, _ := strings.Cut(at, ":")
		n, _ := strconv.Atoi(nth)
		n = max(n, 1)
		notify.TestOnlyFault = func(s string) {
			if s == step {
				if n--; n == 0 {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {}
				}
			}
		}
	}
	now := time.Now
	if s := os.Getenv("GATEHOUSE_TEST_NOW"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad GATEHOUSE_TEST_NOW:", err)
			return 99
		}
		now = func() time.Time { return t }
	}
	return run(os.Args[1:], iostreams.System(), now)
}

// childGORACE is the race detector's setting for CLI children: no sleep at
// exit, and a non-zero exit status when a race is found.
const childGORACE = "atexit_sleep_ms=0 exitcode=66"

// TestScripts runs every end-to-end script against an SQLite store.
func TestScripts(t *testing.T) {
	t.Cleanup(func() { checkSchemasCovered(t); checkChangesReported(t) })
	testscript.Run(t, scriptParams("sqlite"))
}

// sqliteOnly marks a script about SQLite files (modes, paths, garbage
// files, raw SQL on the file, backups): its first line says so.
const sqliteOnly = "# store: sqlite"

// TestScriptsPostgres runs every script that is not about SQLite files
// against a PostgreSQL store: each script gets a fresh database of the
// test cluster as GATEHOUSE_STORE, and STORE=postgres.
func TestScriptsPostgres(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "script", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	urls := map[string]string{}
	var run []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(b), sqliteOnly) {
			continue
		}
		urls[strings.TrimSuffix(filepath.Base(f), ".txtar")] = pgtest.New(t)
		run = append(run, f)
	}
	if len(run) < len(files)/2 {
		t.Fatalf("only %d of %d scripts run on PostgreSQL", len(run), len(files))
	}
	p := scriptParams("postgres")
	p.Dir, p.Files = "", run
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		name := strings.TrimPrefix(filepath.Base(env.WorkDir), "script-")
		url, ok := urls[name]
		if !ok {
			return fmt.Errorf("no database for script %s", name)
		}
		env.Setenv("GATEHOUSE_STORE", url)
		return nil
	}
	testscript.Run(t, p)
}

func scriptParams(store string) testscript.Params {
	return testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		// [sqlite] and [postgres]: the kind of store the script runs on.
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "sqlite", "postgres":
				return cond == store, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		RequireUniqueNames: true,
		Setup: func(env *testscript.Env) error {
			// gatehouse refuses to write to a store in a directory that
			// group or others may write, whatever the umask made $WORK.
			if err := os.Chmod(env.WorkDir, 0o755); err != nil {
				return err
			}
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("GORACE", childGORACE)
			// The OS user recorded in events is the real uid's name, not $USER.
			env.Setenv("OSUSER", osUser())
			env.Setenv("GATEHOUSE_STORE", filepath.Join(env.WorkDir, "state", "gatehouse.db"))
			env.Setenv("STORE", store)
			env.Setenv("GATEHOUSE_TEST_UNREPORTED", unreportedLog())
			env.Setenv("GATEHOUSE_TEST_SYSTEM_CONFIG", filepath.Join(env.WorkDir, "etc", "gatehouse", "config.yaml"))
			docs, err := filepath.Abs(filepath.Join("..", "..", "docs"))
			if err != nil {
				return err
			}
			env.Setenv("DOCS", docs)
			// internal/oidc's known-answer keys and ID tokens.
			env.Setenv("OIDC_KAT", filepath.Join(filepath.Dir(docs), "internal", "oidc", "testdata"))
			env.Setenv("POLICIES", filepath.Join(filepath.Dir(docs), "testdata", "policies"))
			tools, err := ageTools()
			if err != nil {
				return err
			}
			env.Setenv("PATH", tools+string(os.PathListSeparator)+env.Getenv("PATH"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sqlexec":    cmdSQLExec,
			"filemode":   cmdFileMode,
			"jsonvalid":  cmdJSONValid,
			"stdout2env": cmdStdoutToEnv,
			"writebytes": cmdWriteBytes,
			"corrupt":    cmdCorrupt,
			"status":     cmdStatus,
			"sleep":      cmdSleep,
			"sshkeygen":  cmdSSHKeygen,
			"envelope":   cmdEnvelope,
			"noleak":     cmdNoLeak,
			"httpserve":  cmdHTTPServe,
			"jobs":       cmdJobs,
			"stress":     cmdStress,
			"logged":     cmdLogged,
			"sum":        cmdSum,
			"envesc":     cmdEnvEsc,
			"pgexec":     cmdPGExec,
			"storesql":   cmdStoreSQL,
			"jsonschema": cmdJSONSchema,
			"csvparse":   cmdCSVParse,
			"webhook":    cmdWebhook,
			"rsyslog":    cmdRsyslog,
		},
	}
}

// sqlexec FILE SQL... runs SQL against a store file directly, as an
// attacker with write access to the file would (tamper tests).
func cmdSQLExec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: sqlexec FILE SQL...")
	}
	db, err := sql.Open("sqlite", ts.MkAbs(args[0]))
	ts.Check(err)
	defer db.Close()
	_, err = db.Exec(strings.Join(args[1:], " "))
	if neg {
		if err == nil {
			ts.Fatalf("sqlexec succeeded unexpectedly")
		}
		return
	}
	ts.Check(err)
}

// filemode PATH MODE checks a file's permission bits (octal).
func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: filemode PATH MODE")
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if got := st.Mode().Perm(); (got == os.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %#o, want %s%#o", args[0], got, map[bool]string{true: "not "}[neg], want)
	}
}

// jsonvalid checks that the last command's stdout is JSON (one document),
// or with -lines, that every line is.
func cmdJSONValid(ts *testscript.TestScript, neg bool, args []string) {
	out := ts.ReadFile("stdout")
	docs := []string{out}
	if len(args) == 1 && args[0] == "-lines" {
		docs = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	}
	for _, d := range docs {
		if json.Valid([]byte(d)) == neg {
			ts.Fatalf("stdout valid JSON = %v, want %v:\n%s", !neg, neg, d)
		}
	}
}

// csvparse [-header=A,B,…] [ROW:COL=VALUE…] reads the last command's stdout
// with Python's csv module in strict mode — a parser independent of the
// encoding/csv that wrote it — and fails unless it parses, every row has
// the header's number of fields, the header is the one given, and each
// cell named (rows from 0, the header being row 0) holds VALUE. A missing
// python3 fails the script.
func cmdCSVParse(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("csvparse does not support !")
	}
	py := exec.Command("python3", "-c", `import csv, json, sys
print(json.dumps(list(csv.reader(sys.stdin, strict=True))))`)
	py.Stdin = strings.NewReader(ts.ReadFile("stdout"))
	out, err := py.Output()
	if err != nil {
		ts.Fatalf("python3's csv reader: %v", err)
	}
	var rows [][]string
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) == 0 {
		ts.Fatalf("no CSV rows read (%v)", err)
	}
	for i, r := range rows {
		if len(r) != len(rows[0]) {
			ts.Fatalf("row %d has %d fields, the header %d", i, len(r), len(rows[0]))
		}
	}
	for _, a := range args {
		if h, ok := strings.CutPrefix(a, "-header="); ok {
			if got := strings.Join(rows[0], ","); got != h {
				ts.Fatalf("header %q, want %q", got, h)
			}
			continue
		}
		var row, col int
		var want string
		if at, v, ok := strings.Cut(a, "="); ok {
			want = v
			if _, err := fmt.Sscanf(at, "%d:%d", &row, &col); err != nil {
				ts.Fatalf("csvparse: bad cell %q", a)
			}
		} else {
			ts.Fatalf("usage: csvparse [-header=A,B,…] [ROW:COL=VALUE…]")
		}
		if row >= len(rows) || col >= len(rows[row]) {
			ts.Fatalf("no cell %d:%d (%d rows)", row, col, len(rows))
		}
		if rows[row][col] != want {
			ts.Fatalf("cell %d:%d is %q, want %q", row, col, rows[row][col], want)
		}
	}
}

// stdout2env NAME sets NAME to the last command's stdout, trimmed.
func cmdStdoutToEnv(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: stdout2env NAME")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}

// envesc NAME TEXT sets NAME to TEXT with Go's string escapes (\u202e,
// \x9b) decoded, so a script can carry characters it must not hold raw.
func cmdEnvEsc(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: envesc NAME TEXT")
	}
	v, err := strconv.Unquote(`"` + args[1] + `"`)
	ts.Check(err)
	ts.Setenv(args[0], v)
}

// writebytes FILE N writes N pseudo-random bytes (garbage store files).
func cmdWriteBytes(ts *testscript.TestScript, neg bool, args []string) {
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/13)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o600))
}

// corrupt FILE OFFSET N overwrites N bytes at OFFSET with 0xff.
func cmdCorrupt(ts *testscript.TestScript, neg bool, args []string) {
	off, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_WRONLY, 0)
	ts.Check(err)
	defer f.Close()
	_, err = f.WriteAt([]byte(strings.Repeat("\xff", n)), off)
	ts.Check(err)
}

// status N COMMAND ARGS... runs a program and checks its exact exit status;
// its stdout and stderr are then inspected like exec's.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: status N COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	if got := exitStatus(ts, args[1], ts.Exec(args[1], args[2:]...)); got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// exitStatus is the exit status of a program run by ts.Exec; an error that
// is not an exit status (the program could not start) fails the script.
func exitStatus(ts *testscript.TestScript, name string, err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	ts.Fatalf("%s: %v", name, err)
	return -1
}

// sleep DURATION pauses the script (for --follow's polling).
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// storesql SQL runs SQL that both stores understand against the store
// $GATEHOUSE_STORE, whichever it is: sqlexec on the SQLite file, pgexec on
// PostgreSQL.
func cmdStoreSQL(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: storesql SQL")
	}
	if ts.Getenv("STORE") == "postgres" {
		cmdPGExec(ts, neg, args)
		return
	}
	cmdSQLExec(ts, neg, []string{ts.Getenv("GATEHOUSE_STORE"), args[0]})
}

// pgexec SQL runs SQL against the PostgreSQL store $GATEHOUSE_STORE as its
// superuser, as someone with write access to the database would (the
// PostgreSQL twin of sqlexec).
func cmdPGExec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: pgexec SQL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ts.Getenv("GATEHOUSE_STORE"))
	ts.Check(err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, args[0])
	if neg {
		if err == nil {
			ts.Fatalf("pgexec succeeded unexpectedly")
		}
		return
	}
	ts.Check(err)
}
