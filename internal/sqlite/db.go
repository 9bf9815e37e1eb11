// Package sqlite is the store: a single SQLite file (modernc.org/sqlite, no
// cgo) holding the server's settings, its accounts and the audit trail. It
// implements the services declared in pkg/gatehouse; it never prints.
//
// Every change goes through DB.Change, which runs the change and appends its
// audit event in one immediate transaction, so that a change without its
// event (or an event without its change) can never be committed.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// ApplicationID marks an SQLite file as a gatehouse store ("GATE"), so that
// another application's database is never mistaken for one and modified.
const ApplicationID = 0x47415445

// DefaultBusyTimeout is how long a writer waits for another writer (cron,
// the operator, the server) before the command fails with EUNAVAILABLE.
// Write transactions are short, so a wait this long means something is wrong.
const DefaultBusyTimeout = 10 * time.Second

// Options configure a DB. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now. Each transaction reads it once.
	Now func() time.Time
	// OSUser is recorded in every audit event next to the actor.
	OSUser string
	// BusyTimeout bounds the wait for another writer; 0 means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// ReadOnly opens the store for reading only (SQLite's mode=ro): nothing
	// is migrated, Change fails, and the file is never written. A store
	// that cannot be written here (read-only media, mode 0444) and has no
	// WAL beside it is opened immutable, so that not even SQLite's -wal and
	// -shm files are created.
	ReadOnly bool
	// OlderSchema, with ReadOnly, accepts a store of an older schema as it
	// is, unmigrated; only its audit trail, whose table every schema
	// shares, may then be read. Without it such a store is refused.
	OlderSchema bool
	// Warn, when set, receives a warning that a read-only open found:
	// unsafe permissions, which a write refuses instead.
	Warn func(msg string)
	// Migrate, when set, is run by a migration from a schema older than
	// stateVersion, whose events recorded no after-state; its details go
	// into the store.migrate event (see gatehouse.MigrateFunc).
	Migrate gatehouse.MigrateFunc
}

// DB is an open gatehouse store. Writes go through one connection with
// immediate transactions, so writers in this process queue in Go and writers
// in other processes are serialised by SQLite's lock and busy timeout.
// Reads use their own pool and, under WAL, never wait for a writer.
type DB struct {
	path     string
	readOnly bool
	write    *sql.DB
	read     *sql.DB
	now      func() time.Time
	osUser   string
	// created is set when this DB's Create initialised the file.
	created bool
	// version is the schema version of the file as opened: older than
	// SchemaVersion only when read as it is (OlderSchema).
	version     int64
	migrateHook gatehouse.MigrateFunc
	// busy bounds beginWrite's wait for another writer.
	busy time.Duration
	// stmts caches statements prepared on the writer pool; see Tx.exec.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
}

// Path returns the store's file name.
func (db *DB) Path() string { return db.path }

// Location names the store for messages: its file name.
func (db *DB) Location() string { return db.path }

// Close closes the store.
func (db *DB) Close() error {
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.stmts = nil
	db.stmtMu.Unlock()
	if db.readOnly {
		return db.read.Close() // write is the same pool
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Open opens an existing, initialised store, migrating an older schema
// forward (unless opts.ReadOnly). It refuses, without modifying the file, a
// missing file, a file that is not a gatehouse store, and a store from a
// newer gatehouse; and, to write, a store whose permissions let someone
// other than its owner change it (see checkPermissions).
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "store path %s: %v", path, err)
	}
	state, err := probe(abs)
	if err != nil {
		return nil, err
	}
	if state == fileMissing {
		return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "no store at %s; run 'gatehouse init' to create it", abs)
	}
	if err := guard(abs, opts); err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		return openReadOnly(ctx, abs, state, opts)
	}
	db, err := openPools(abs, opts)
	if err != nil {
		return nil, err
	}
	if err := db.checkAndMigrate(ctx, nil); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// guard applies checkPermissions: a write is refused, a read warned.
func guard(abs string, opts Options) error {
	pr := checkPermissions(abs)
	switch {
	case pr == nil:
		return nil
	case opts.ReadOnly:
		if opts.Warn != nil {
			opts.Warn(fmt.Sprintf("warning: %s: whoever can write it can rewrite the store and its audit trail; fix: %s", pr.what, pr.fix))
		}
		return nil
	}
	return gatehouse.Errorf(gatehouse.EUNAVAILABLE,
		"%s: refusing to write to the store, whose file is its security boundary; fix: %s", pr.what, pr.fix)
}

// openReadOnly opens the store for reading and checks what it is, without
// migrating it.
func openReadOnly(ctx context.Context, abs string, state fileState, opts Options) (*DB, error) {
	if state == fileEmpty {
		return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "store %s is not initialised; run 'gatehouse init'", abs)
	}
	db, err := openPools(abs, opts)
	if err != nil {
		return nil, err
	}
	id, err := db.identity(ctx)
	if err == nil {
		err = db.checkIdentity(id, nil)
	}
	if err == nil && id.version < int64(SchemaVersion()) && !opts.OlderSchema {
		err = gatehouse.Errorf(gatehouse.EUNAVAILABLE,
			"store %s has schema version %d, older than this gatehouse's (%d), and a read does not migrate it; run 'gatehouse init' to migrate it",
			abs, id.version, SchemaVersion())
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	db.version = id.version
	return db, nil
}

// Create opens the store at path, creating and initialising it if needed
// (file 0600; a missing parent directory is created 0700): a blank file
// gets the schema and init's rows and event in one transaction. On a store
// that is already initialised it writes nothing (but a migration) and
// reports created false; the caller compares its mode and tenant.
func Create(ctx context.Context, path string, opts Options, init gatehouse.InitFunc) (*DB, bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "store path %s: %v", path, err)
	}
	state, err := probe(abs)
	if err != nil {
		return nil, false, err
	}
	if err := guard(abs, opts); err != nil {
		return nil, false, err
	}
	if state == fileMissing {
		if err := createFile(abs); err != nil {
			return nil, false, err
		}
	}
	db, err := openPools(abs, opts)
	if err != nil {
		return nil, false, err
	}
	if err := db.checkAndMigrate(ctx, init); err != nil {
		db.Close()
		return nil, false, err
	}
	return db, db.created, nil
}

type fileState int

const (
	fileMissing fileState = iota
	fileEmpty             // zero bytes: a store whose init never ran
	fileSQLite            // has an SQLite header; identity checked after opening
)

// sqliteMagic begins every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// probe looks at the file before the driver touches it, so that garbage,
// and a database that is not a gatehouse store, is refused without SQLite
// ever opening it: opening would roll back the database's hot journal or,
// on close, checkpoint its WAL into it. A database is accepted when its
// committed header (see committedHeader) carries gatehouse's application
// ID, or when it never had a schema and no journal waits beside it (a store
// whose init did not commit); the identity is checked again, through
// SQLite, once the store is open.
func probe(path string) (fileState, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileMissing, nil
	}
	if err != nil {
		return 0, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot open store %s: %v", path, gatehouse.PathCause(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot read store %s: %v", path, gatehouse.PathCause(err))
	}
	if st.IsDir() {
		return 0, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "store %s is a directory, not a gatehouse store", path)
	}
	if st.Size() == 0 {
		return fileEmpty, nil
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteMagic) || st.Size() < headerSize {
		return 0, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "%s is not a gatehouse store (not an SQLite database); refusing to use it", path)
	}
	h, err := committedHeader(path, f)
	if err != nil {
		return 0, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot read store %s: %v", path, gatehouse.PathCause(err))
	}
	if h.field(offApplicationID) != ApplicationID && (!h.blank() || hotJournal(path)) {
		return 0, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "%s is not a gatehouse store (another SQLite database); refusing to use it", path)
	}
	return fileSQLite, nil
}

// createFile creates an empty store file with mode 0600 and, when missing,
// its parent directory with mode 0700. The store's permissions are the
// security boundary, so they are set at creation, never loosened later.
func createFile(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot create directory %s: %v", dir, gatehouse.PathCause(err))
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // another init won the race; it is a store now or soon
	}
	if err != nil {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot create store %s: %v", path, gatehouse.PathCause(err))
	}
	return f.Close()
}

// openPools prepares the writer and reader pools; read-only, one pool
// serves as both. sql.Open connects lazily, so nothing touches the file
// until the first query.
func openPools(path string, opts Options) (*DB, error) {
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	// mode=rw: never create the file here; only createFile does, with 0600.
	mode := "rw"
	if opts.ReadOnly {
		mode = "ro"
		if st, err := os.Stat(path); err == nil && !writableHere(path, st) && !exists(path+"-wal") {
			// Nobody writes this copy (read-only media, a 0444 backup)
			// and it has no WAL: read the file alone, creating nothing.
			mode = "ro&immutable=1"
		}
	}
	u := url.URL{Scheme: "file", Path: path}
	// busy_timeout comes first: the pragmas after it may already need the
	// file's lock (a new connection reading the WAL's index), and without a
	// timeout a lock held for a moment is "database is locked".
	dsn := func(busy time.Duration) string {
		return u.String() + fmt.Sprintf("?mode=%s&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)", mode, busy.Milliseconds())
	}
	read, err := sql.Open("sqlite", dsn(busy)+"&_pragma=query_only(1)")
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot open store %s", path)
	}
	read.SetMaxOpenConns(4)
	db := &DB{path: path, read: read, write: read, readOnly: opts.ReadOnly, now: now, osUser: opts.OSUser,
		version: int64(SchemaVersion()), migrateHook: opts.Migrate, busy: busy}
	if opts.ReadOnly {
		return db, nil
	}
	// The writer waits for another writer in beginWrite, in short jittered
	// steps; SQLite's own handler (sleeps growing to 100 ms) only bridges
	// a few milliseconds inside a transaction.
	write, err := sql.Open("sqlite", dsn(writerBusyTimeout)+"&_txlock=immediate")
	if err != nil {
		read.Close()
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot open store %s", path)
	}
	write.SetMaxOpenConns(1)
	db.write = write
	return db, nil
}

// writerBusyTimeout is SQLite's own busy timeout on the writer's
// connection: SQLite's handler sleeps 1, 2, 5, 10, … up to 100 ms at a
// time, so under several writing processes a wait could overshoot the
// other's commit by tens of milliseconds. The writer's wait is beginWrite's
// instead; this only covers a statement inside a transaction.
const writerBusyTimeout = 5 * time.Millisecond

// beginWrite begins a write transaction (BEGIN IMMEDIATE: the write lock
// at once). While another process writes, it tries again after short
// random waits (0.5 to 3 ms, then 2 to 12 ms), until ctx ends or
// the busy timeout has passed: a writer starts within a few milliseconds
// of the other's commit, and waiting writers do not retry in step.
func (db *DB) beginWrite(ctx context.Context) (*sql.Tx, error) {
	deadline := time.Now().Add(db.busy)
	wait := 500 * time.Microsecond
	for {
		tx, err := db.write.BeginTx(ctx, nil)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return tx, err
		}
		d := wait + rand.N(wait*5)
		wait = min(wait*2, 2*time.Millisecond)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
	}
}

// isBusy reports SQLite's "database is locked" (SQLITE_BUSY, SQLITE_LOCKED).
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
