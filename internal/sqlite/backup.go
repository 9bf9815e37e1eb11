package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Backup writes a consistent copy of the store to path (VACUUM INTO reads
// one snapshot, so writers may go on meanwhile). It refuses to overwrite
// anything, and creates the copy with mode 0600 in WAL mode like the
// original. It reports the copy's head.
func (db *DB) Backup(ctx context.Context, path string) (gatehouse.BackupInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return gatehouse.BackupInfo{}, gatehouse.Errorf(gatehouse.EINVALID, "backup path %s: %v", path, err)
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return gatehouse.BackupInfo{}, gatehouse.Errorf(gatehouse.EINVALID, "%s already exists; refusing to overwrite it", abs)
	}
	if err != nil {
		return gatehouse.BackupInfo{}, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot create %s: %v", abs, gatehouse.PathCause(err))
	}
	f.Close()
	info := gatehouse.BackupInfo{Path: abs}
	if err := db.vacuumInto(ctx, abs, &info); err != nil {
		os.Remove(abs)
		return gatehouse.BackupInfo{}, err
	}
	return info, nil
}

func (db *DB) vacuumInto(ctx context.Context, abs string, info *gatehouse.BackupInfo) error {
	if _, err := db.write.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		return db.classify(err, "write the backup")
	}
	u := url.URL{Scheme: "file", Path: abs}
	cp, err := sql.Open("sqlite", u.String()+"?mode=rw")
	if err != nil {
		return gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot open the backup %s", abs)
	}
	defer cp.Close()
	var mode string
	if err := cp.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return db.classify(err, "set up the backup")
	}
	err = cp.QueryRowContext(ctx, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&info.Head.Seq, &info.Head.Hash)
	return db.classify(err, "read the backup's audit head")
}
