//go:build unix

// Package pgtest runs tests against a real PostgreSQL server: a throwaway
// cluster that it creates with initdb in a temporary directory, serves on a
// Unix socket in that directory only (no TCP), and removes when the test
// binary ends. Each test gets a fresh, empty database of its own.
//
// A package that uses it says so in TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and each test asks for a database with New. The cluster is started by the
// first New, so a test binary whose PostgreSQL tests are filtered out starts
// none; it is one cluster per test binary, stopped by Main.
//
// The tests never skip silently. When no cluster can be started (no
// PostgreSQL 15 server binaries, initdb fails, the server does not come up),
// every test that asks for one fails with the reason and the remedy. Only an
// explicit GATEHOUSE_TEST_POSTGRES=off in the environment turns the
// PostgreSQL tests into skips, each saying so.
//
// Run as root (as CI does), the server runs as the unprivileged "postgres"
// system user, which PostgreSQL requires; the temporary directory is given to
// that user.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables that control the harness.
const (
	// EnvSwitch set to "off" skips every PostgreSQL test, each with a
	// message naming this variable. Unset (or "on"), the tests need a server.
	EnvSwitch = "GATEHOUSE_TEST_POSTGRES"
	// EnvBinDir names the directory holding initdb and postgres, instead of
	// DefaultBinDir.
	EnvBinDir = "GATEHOUSE_TEST_PG_BIN"
)

// DefaultBinDir is where Debian's postgresql-15 package installs the server.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// superuser is the bootstrap superuser initdb creates; tests connect as it.
const superuser = "gatehouse_test"

var (
	mainCalled atomic.Bool
	once       sync.Once
	shared     *Cluster
	startErr   error
	dbCounter  atomic.Int64
)

// Main runs the package's tests and then stops the cluster that New started,
// if any. Call it from TestMain; it does not return.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that must exit itself (testscript.Main, which
// runs m in the test process and the CLI in its children): it runs the
// tests, stops the cluster and returns the exit code.
func Run(m interface{ Run() int }) int {
	mainCalled.Store(true)
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// New returns the URL of a fresh, empty database on the test binary's
// cluster, connecting as a superuser over the Unix socket. The database is
// dropped when t ends. When no cluster can be started, t fails with the
// reason; with GATEHOUSE_TEST_POSTGRES=off, t is skipped.
func New(t testing.TB) string {
	t.Helper()
	switch v := os.Getenv(EnvSwitch); v {
	case "off":
		t.Skipf("PostgreSQL tests are switched off (%s=off)", EnvSwitch)
	case "", "on":
	default:
		t.Fatalf("%s=%q: want \"off\" to skip the PostgreSQL tests, or nothing to run them", EnvSwitch, v)
	}
	if !mainCalled.Load() {
		t.Fatal("pgtest.New needs TestMain to call pgtest.Main(m), which stops the cluster")
	}
	once.Do(func() {
		bin := os.Getenv(EnvBinDir)
		if bin == "" {
			bin = DefaultBinDir
		}
		shared, startErr = Start(bin)
	})
	if startErr != nil {
		t.Fatalf("cannot run the PostgreSQL tests: %v", startErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbCounter.Add(1))
	if err := shared.exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := shared.exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return shared.URL(name)
}

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir  string // holds data/, the socket and server.log
	cmd  *exec.Cmd
	done chan error // receives the server's exit
}

// URL returns the connection URL of database name as the superuser.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres:///%s?host=%s&user=%s&sslmode=disable", name, c.dir, superuser)
}

// Dir returns the cluster's directory: its data directory, socket and log.
func (c *Cluster) Dir() string { return c.dir }

// Start creates a cluster with the initdb in bin and starts its server.
// The error says what failed and how to fix it, with the end of the
// server's log when the server was started.
func Start(bin string) (*Cluster, error) {
	initdb, postgres := filepath.Join(bin, "initdb"), filepath.Join(bin, "postgres")
	for _, p := range []string{initdb, postgres} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("no PostgreSQL server at %s (%v); install it (Debian: apt-get install postgresql, which .ci/run does), set %s to its bin directory, or set %s=off to skip the PostgreSQL tests",
				p, errors.Unwrap(err), EnvBinDir, EnvSwitch)
		}
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	// /tmp, not $TMPDIR: a Unix socket path is limited to about 100 bytes,
	// and when root hands the directory to "postgres", its parents must be
	// reachable by that user.
	dir, err := os.MkdirTemp("/tmp", "gatehouse-pg-")
	if err != nil {
		return nil, fmt.Errorf("create the cluster directory: %w", err)
	}
	c := &Cluster{dir: dir, done: make(chan error, 1)}
	fail := func(err error) (*Cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("give %s to the postgres user: %w", dir, err))
		}
	}
	data := filepath.Join(dir, "data")
	out, err := command(cred, dir, initdb, "-D", data, "-U", superuser, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		return fail(fmt.Errorf("initdb %s: %v: %s", data, err, lastLines(string(out), 10)))
	}
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fail(err)
	}
	defer logFile.Close()
	if cred != nil {
		os.Chown(logPath, int(cred.Uid), int(cred.Gid))
	}
	// No TCP at all; the socket lives in the private directory. Durability
	// is off: the cluster is thrown away.
	c.cmd = command(cred, dir, postgres, "-D", data, "-k", dir,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=100")
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		return fail(fmt.Errorf("start %s: %w", postgres, err))
	}
	go func() { c.done <- c.cmd.Wait() }()
	if err := c.waitReady(30 * time.Second); err != nil {
		c.cmd.Process.Kill()
		<-c.done
		log, _ := os.ReadFile(logPath)
		return fail(fmt.Errorf("PostgreSQL server in %s did not start: %v; its log ends:\n%s", dir, err, lastLines(string(log), 15)))
	}
	return c, nil
}

// waitReady polls the socket until the server accepts a query.
func (c *Cluster) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("the server exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.exec(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer after %v: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exec runs one statement in the maintenance database "postgres".
func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and
// removes the cluster's directory.
func (c *Cluster) Stop() error {
	defer os.RemoveAll(c.dir)
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return fmt.Errorf("stop the PostgreSQL server: %w", err)
	}
	select {
	case err := <-c.done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			return fmt.Errorf("stop the PostgreSQL server: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		return errors.New("the PostgreSQL server did not stop within 30s of a fast shutdown; killed it")
	}
}

// serverCredential returns the credential the server runs with: nil for
// the current user, or the "postgres" system user when running as root,
// since PostgreSQL refuses to run as root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the server must run as an unprivileged user, and the \"postgres\" system user was not found (%v); install Debian's postgresql package or run the tests as another user", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user postgres has uid %q, gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// command prepares name to run in dir as cred (nil: as this process), with
// an environment that does not leak the test's PG* settings into the server.
func command(cred *syscall.Credential, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + dir}
	cmd.SysProcAttr = sysProcAttr(cred)
	return cmd
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
