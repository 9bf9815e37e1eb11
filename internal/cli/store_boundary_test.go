package cli

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
)

// snapshot is every file of a directory with its bytes, to show that a
// command left a store (and SQLite's files beside it) exactly as it was.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func sameFiles(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for name, b := range before {
		if a, ok := after[name]; !ok {
			t.Errorf("%s: %s was removed", what, name)
		} else if a != b {
			t.Errorf("%s: %s was modified", what, name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s: %s was created", what, name)
		}
	}
}

// copyFiles copies the named files of src into a new directory, as they
// are at this moment: a database still open in src is copied as a crash
// would leave it.
func copyFiles(t *testing.T, src string, names ...string) string {
	t.Helper()
	dst := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// foreignWAL is another application's database in WAL mode whose
// committed content is still only in its -wal file: its own header is that
// of an empty database.
func foreignWAL(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(src, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA journal_mode=WAL", "PRAGMA wal_autocheckpoint=0", "CREATE TABLE t (x)", "INSERT INTO t VALUES ('precious')"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return copyFiles(t, src, "app.db", "app.db-wal")
}

// foreignHotJournal is another application's database caught in the middle
// of a transaction: changed pages already in the file, their originals in
// a hot journal that opening the database rolls back.
func foreignHotJournal(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(src, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"PRAGMA journal_mode=DELETE", "CREATE TABLE t (x)", "INSERT INTO t VALUES (randomblob(4000))", "PRAGMA cache_size=2", "BEGIN", "INSERT INTO t SELECT randomblob(4000) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 200) SELECT i FROM c)"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	dir := copyFiles(t, src, "app.db", "app.db-journal")
	conn.ExecContext(ctx, "ROLLBACK")
	return dir
}

// TestForeignDatabaseUntouched: every command refuses another application's
// SQLite database before SQLite opens it, so its WAL is not checkpointed
// into it and its hot journal is not rolled back: the files stay
// byte-identical and no file appears beside them.
func TestForeignDatabaseUntouched(t *testing.T) {
	commands := [][]string{
		{"audit", "verify"}, {"audit", "list"}, {"audit", "head"},
		{"users", "list"}, {"users", "show", "bob"}, {"users", "pending"}, {"roles", "list"},
		{"sso", "status"}, {"sso", "explain", "bob@example.com"}, {"support", "status"},
		{"support", "recipients", "list"}, {"config", "show"}, {"license", "show"}, {"server", "show"},
		{"init"}, {"server", "configure", "--port", "8443"}, {"users", "add", "carol"}, {"sso", "allow", "on"},
		{"support", "rotate"}, {"support", "sweep"}, {"store", "backup", "/nonexistent/backup.db"},
	}
	for name, fixture := range map[string]func(*testing.T) string{"WAL": foreignWAL, "HotJournal": foreignHotJournal} {
		t.Run(name, func(t *testing.T) {
			// The fixture is what it claims: opening it carelessly changes it.
			probe := fixture(t)
			before := snapshot(t, probe)
			raw, _ := sql.Open("sqlite", filepath.Join(probe, "app.db"))
			var n int
			if err := raw.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			if after := snapshot(t, probe); after["app.db"] == before["app.db"] {
				t.Fatal("the fixture is not changed by an ordinary open; it tests nothing")
			}

			dir := fixture(t)
			store := filepath.Join(dir, "app.db")
			for _, args := range commands {
				before := snapshot(t, dir)
				m := &matrix{t: t, dir: dir, store: store}
				code, _, stderr := m.exec("", args...)
				if code != exitOperational || !strings.Contains(stderr, "is not a gatehouse store (another SQLite database); refusing to use it") || strings.Count(stderr, "\n") != 1 {
					t.Errorf("%v: exit %d, stderr %q; want 3 and one line: not a gatehouse store", args, code, stderr)
				}
				sameFiles(t, strings.Join(args, " "), before, snapshot(t, dir))
			}
		})
	}
}

// crashedStore is a gatehouse store whose last change was committed to its
// WAL by a process that never closed it (it was killed), as a backup or a
// copy taken at that moment would hold it.
func crashedStore(t *testing.T) (dir, store string) {
	t.Helper()
	src := t.TempDir()
	path := filepath.Join(src, "g.db")
	c, _, err := wire.Create(context.Background(), path, wire.Options{}, core.InitParams{Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.SetSSOIssuer(context.Background(), "alice", "https://idp.example"); err != nil {
		t.Fatal(err)
	}
	dir = copyFiles(t, src, "g.db", "g.db-wal")
	return dir, filepath.Join(dir, "g.db")
}

// TestReadCommandsDoNotWrite: a command that only reads opens the store
// read-only: it reads the committed WAL but never checkpoints it into the
// store file or removes it, and it never migrates.
func TestReadCommandsDoNotWrite(t *testing.T) {
	dir, store := crashedStore(t)
	m := &matrix{t: t, dir: dir, store: store}
	for _, args := range [][]string{
		{"audit", "verify"}, {"audit", "list"}, {"audit", "head"}, {"users", "list"}, {"users", "pending"},
		{"roles", "list"}, {"sso", "status"}, {"sso", "explain", "x@example.com"}, {"support", "status"},
		{"support", "recipients", "list"}, {"config", "show"}, {"license", "show"}, {"server", "show"},
	} {
		before := snapshot(t, dir)
		code, out, stderr := m.exec("", args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
		if args[1] == "verify" && !strings.Contains(out, "ok: 2/2 events valid") {
			t.Errorf("audit verify did not read the WAL's event: %s", out)
		}
		after := snapshot(t, dir)
		if after["g.db"] != before["g.db"] {
			t.Errorf("%v modified the store file", args)
		}
		if after["g.db-wal"] != before["g.db-wal"] {
			t.Errorf("%v modified or removed the store's WAL", args)
		}
	}
}

// TestVerifyBackupOnReadOnlyMedia: a backup that cannot be written (mode
// 0444 in a 0555 directory, like read-only media) verifies, and nothing
// appears beside it: no -wal, no -shm. As root, whom modes do not stop,
// the same is also run as an unprivileged user, for whom they do.
func TestVerifyBackupOnReadOnlyMedia(t *testing.T) {
	dir := t.TempDir()
	m := &matrix{t: t, dir: dir, store: filepath.Join(dir, "g.db")}
	for _, args := range [][]string{{"init"}, {"server", "configure", "--external-address", "a.example", "--port", "443"}} {
		if code, _, e := m.exec("", args...); code != 0 {
			t.Fatalf("%v: %s", args, e)
		}
	}
	media := filepath.Join(dir, "media")
	if err := os.Mkdir(media, 0o755); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(media, "backup.db")
	if code, _, e := m.exec("", "store", "backup", backup); code != 0 {
		t.Fatalf("backup: %s", e)
	}
	os.Chmod(backup, 0o444)
	os.Chmod(media, 0o555)
	t.Cleanup(func() { os.Chmod(media, 0o755) })
	before := snapshot(t, media)

	code, out, stderr := m.exec("", "--store", backup, "audit", "verify")
	if code != 0 || out != "ok: 2/2 events valid\n" || stderr != "" {
		t.Errorf("audit verify: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	sameFiles(t, "audit verify", before, snapshot(t, media))

	if os.Getuid() != 0 {
		return
	}
	// The test binary is gatehouse when named so (testscript.Main); the
	// unprivileged user needs a copy it may run, on a path it may walk.
	// Only the test's own directories are opened up; above them the path
	// must be walkable already.
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o005 == 0o005 {
			continue
		}
		if !strings.HasPrefix(d, filepath.Dir(dir)) {
			t.Skipf("%s is not open to other users", d)
		}
		os.Chmod(d, st.Mode().Perm()|0o005)
	}
	exe := filepath.Join(dir, "bin", "gatehouse")
	os.Mkdir(filepath.Dir(exe), 0o755)
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatalf("the test binary cannot be copied for another user: %v", err)
	}
	out2, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(out2, self)
	out2.Close()
	self.Close()
	cmd := exec.Command(exe, "--store", backup, "audit", "verify")
	cmd.Env = []string{"HOME=/nonexistent", "GORACE=" + childGORACE}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	if err != nil || so.String() != "ok: 2/2 events valid\n" || se.String() != "" {
		t.Errorf("audit verify as uid 65534: %v, stdout %q, stderr %q", err, so.String(), se.String())
	}
	sameFiles(t, "audit verify as uid 65534", before, snapshot(t, media))

	// support status reads the copy too: it completes an interrupted
	// delivery only where it can take the support lock, and never fails
	// for want of it.
	cmd = exec.Command(exe, "--store", backup, "support", "status", "-o", "json")
	cmd.Env = []string{"HOME=/nonexistent", "GORACE=" + childGORACE}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	so.Reset()
	se.Reset()
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil || !strings.Contains(so.String(), `"enabled": false`) || se.String() != "" {
		t.Errorf("support status as uid 65534: %v, stdout %q, stderr %q", err, so.String(), se.String())
	}
	sameFiles(t, "support status as uid 65534", before, snapshot(t, media))
}

// TestSupportLockOfAnother: in a sticky directory (like /tmp) another user
// may create the support lock file before gatehouse does and hold it. The
// lock is refused with its fix instead of being waited on for minutes, and
// support status still reports. Only root can create a file owned by
// another user here, so only root runs it.
func TestSupportLockOfAnother(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777|os.ModeSticky)
	m := &matrix{t: t, dir: dir, store: filepath.Join(dir, "g.db")}
	if code, _, e := m.exec("", "init"); code != 0 {
		t.Fatalf("init: %s", e)
	}
	lock := m.store + ".support.lock"
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(lock, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	before := dumpStore(t, m.store)
	code, _, stderr := m.exec("", "support", "rotate")
	want := regexp.MustCompile(`^gatehouse: the support lock .*/g.db.support.lock is owned by uid 65534, not by the user running gatehouse or root; remove it \(gatehouse creates it again\)\n$`)
	if code != exitOperational || !want.MatchString(stderr) {
		t.Errorf("rotate: exit %d, stderr %q", code, stderr)
	}
	if dumpStore(t, m.store) != before {
		t.Error("the refused rotation changed the store")
	}
	code, out, stderr := m.exec("", "support", "status", "-o", "json")
	if code != 0 || !strings.HasPrefix(stderr, "gatehouse: warning: the support lock ") || !strings.Contains(out, `"enabled": false`) {
		t.Errorf("status: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

// TestStoreOwnedByAnother: a store owned by a user other than the one
// running gatehouse or root is refused for a write and warned on a read.
// Only root can give a file away, so only root runs it.
func TestStoreOwnedByAnother(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown")
	}
	m := newMatrix(t)
	if err := os.Chown(m.store, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	before := dumpStore(t, m.store)
	code, _, stderr := m.exec("", "sso", "allow", "on")
	want := regexp.MustCompile(`^gatehouse: file .*/gatehouse.db is owned by (nobody|uid:65534), not by the user running gatehouse \(root\) or root: refusing to write to the store, whose file is its security boundary; fix: chown root .*/gatehouse.db, or run gatehouse as its owner\n$`)
	if code != exitOperational || !want.MatchString(stderr) {
		t.Errorf("write: exit %d, stderr %q", code, stderr)
	}
	if dumpStore(t, m.store) != before {
		t.Error("the refused write changed the store")
	}
	code, _, stderr = m.exec("", "sso", "status")
	if code != 0 || !strings.HasPrefix(stderr, "gatehouse: warning: file ") || !strings.Contains(stderr, "is owned by") {
		t.Errorf("read: exit %d, stderr %q; want 0 and a warning", code, stderr)
	}
}
