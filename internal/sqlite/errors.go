package sqlite

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// classify turns a driver error into a gatehouse error with a code and a
// message an operator can act on. Errors that already carry a code pass
// through unchanged. what names the operation, as in "cannot <what>".
func (db *DB) classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: interrupted", what)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot %s: %v", what, err)
	}
	code := se.Code()
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: the store %s is locked by another process (waited past the busy timeout)", what, db.path)
	case sqlite3.SQLITE_CONSTRAINT:
		if code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return gatehouse.Wrap(gatehouse.ECONFLICT, err, "cannot %s: it already exists", what)
		}
		return gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot %s: %v", what, err)
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: store %s is corrupt or not a gatehouse store", what, db.path)
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: store %s is not writable", what, db.path)
	case sqlite3.SQLITE_CANTOPEN:
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: cannot open store %s", what, db.path)
	case sqlite3.SQLITE_FULL:
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: the disk holding %s is full", what, db.path)
	case sqlite3.SQLITE_IOERR:
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot %s: I/O error on %s", what, db.path)
	case sqlite3.SQLITE_ERROR:
		// The schema is checked at open: a table or column missing from a
		// store at this binary's version was removed behind its back (an
		// older store, read as it is, may lack it: that is no tamper).
		if m := err.Error(); db.version == int64(SchemaVersion()) && (strings.Contains(m, "no such table") || strings.Contains(m, "no such column")) {
			return gatehouse.Wrap(gatehouse.ECHECKFAILED, err, "cannot %s: the schema of store %s was altered behind gatehouse's back (%s)", what, db.path, gatehouse.Clip(m, 120))
		}
	}
	return gatehouse.Wrap(gatehouse.EINTERNAL, err, "cannot %s: %v", what, err)
}
