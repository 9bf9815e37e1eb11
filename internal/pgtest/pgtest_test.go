//go:build unix

package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Each New is its own empty database on one server that listens on its
// Unix socket only, run by an unprivileged user.
func TestNew(t *testing.T) {
	ctx := context.Background()
	a, b := connect(t, New(t)), connect(t, New(t))
	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("a table created in one test database is visible in another")
	}
	var listen, version, dataDir string
	if err := a.QueryRow(ctx, "SELECT current_setting('listen_addresses'), current_setting('server_version_num'), current_setting('data_directory')").Scan(&listen, &version, &dataDir); err != nil {
		t.Fatal(err)
	}
	if listen != "" {
		t.Errorf("listen_addresses = %q, want none (Unix socket only)", listen)
	}
	if !strings.HasPrefix(version, "15") {
		t.Errorf("server version %s, want PostgreSQL 15", version)
	}
	if filepath.Dir(dataDir) != shared.Dir() {
		t.Errorf("data directory %s is not in the cluster's directory %s", dataDir, shared.Dir())
	}
	st, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	owner := st.Sys().(*syscall.Stat_t).Uid
	if os.Geteuid() == 0 && owner == 0 {
		t.Error("running as root, the cluster belongs to root; want the postgres user")
	}
	if os.Geteuid() != 0 && owner != uint32(os.Geteuid()) {
		t.Errorf("the cluster belongs to uid %d, want this user (%d)", owner, os.Geteuid())
	}
}

// Without server binaries, Start says what is missing and both remedies.
func TestStartWithoutServer(t *testing.T) {
	_, err := Start(filepath.Join(t.TempDir(), "no-such-bin"))
	if err == nil {
		t.Fatal("Start succeeded without server binaries")
	}
	for _, want := range []string{"no PostgreSQL server at", "apt-get install postgresql", EnvSwitch + "=off"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// A server that cannot start is reported with the end of its log.
func TestStartServerFails(t *testing.T) {
	// A bin directory whose postgres exits at once: initdb is the real one.
	bin := t.TempDir()
	for _, d := range []string{filepath.Dir(bin), bin} { // reachable by the postgres user
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(DefaultBinDir, "initdb"), filepath.Join(bin, "initdb")); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho 'FATAL:  simulated start failure' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "postgres"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(bin)
	if err == nil {
		t.Fatal("Start succeeded with a server that exits at once")
	}
	for _, want := range []string{"did not start", "simulated start failure"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
