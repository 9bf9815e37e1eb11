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

// BackupInfo describes a backup written by Backup.
type BackupInfo struct {
	Path string              `json:"path"`
	Head gatehouse.ChainHead `json:"head"`
}

// Backup writes a consistent copy of the store to path (VACUUM INTO reads
// one snapshot, so writers may go on meanwhile). It refuses to overwrite
// anything, creates the copy with mode 0600 in WAL mode like the original,
// and then records store.backup in this store with the copy's head, so a
// later restore can be checked with 'audit verify --head'.
func (db *DB) Backup(ctx context.Context, actor, path string) (BackupInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return BackupInfo{}, gatehouse.Errorf(gatehouse.EINVALID, "backup path %s: %v", path, err)
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return BackupInfo{}, gatehouse.Errorf(gatehouse.EINVALID, "%s already exists; refusing to overwrite it", abs)
	}
	if err != nil {
		return BackupInfo{}, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot create %s: %v", abs, gatehouse.PathCause(err))
	}
	f.Close()
	info := BackupInfo{Path: abs}
	if err := db.vacuumInto(ctx, abs, &info); err != nil {
		os.Remove(abs)
		return BackupInfo{}, err
	}
	_, err = db.Change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		return &gatehouse.NewEvent{Actor: actor, Action: "store.backup", Target: "store", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"path": abs, "head_seq": info.Head.Seq, "head_hash": info.Head.Hash}}, nil
	})
	return info, err
}

func (db *DB) vacuumInto(ctx context.Context, abs string, info *BackupInfo) error {
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
