package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// lockPath is the advisory lock beside the store's real file: symbolic
// links are resolved, so that two paths to one store take one lock.
func (db *DB) lockPath() string {
	p := db.path
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	return p + ".support.lock"
}

// openLock opens (creating, mode 0600) the lock file without following a
// symbolic link, and refuses one that is not a regular file, that someone
// other than this user or root owns, or that group or others may write:
// in a sticky directory such as /tmp, another user could otherwise create
// it first and hold it, blocking every request, rotation and status.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "the support lock %s is a symbolic link; remove it (gatehouse creates it again)", path)
	}
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot open the support lock %s: %v", path, gatehouse.PathCause(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot read the support lock %s: %v", path, gatehouse.PathCause(err))
	}
	problem := ""
	sys, _ := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.Mode().IsRegular():
		problem = "is not a regular file"
	case sys != nil && sys.Uid != 0 && int(sys.Uid) != os.Geteuid():
		problem = fmt.Sprintf("is owned by uid %d, not by the user running gatehouse or root", sys.Uid)
	case st.Mode().Perm()&0o022 != 0:
		problem = fmt.Sprintf("is writable by group or others (mode %#o)", st.Mode().Perm())
	}
	if problem != "" {
		f.Close()
		return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "the support lock %s %s; remove it (gatehouse creates it again)", path, problem)
	}
	return f, nil
}

// Lock serialises support requests and rotations across processes with an
// advisory lock (flock) beside the store, held through delivery, which may
// take seconds. SQLite's own write lock is taken only for the short commit.
// wait 0 tries once (gatehouse.ErrLockBusy when the lock is held).
func (db *DB) Lock(ctx context.Context, wait time.Duration) (func(), error) {
	return db.takeLock(ctx, wait)
}

func (db *DB) takeLock(ctx context.Context, wait time.Duration) (func(), error) {
	path := db.lockPath()
	f, err := openLock(path)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "cannot take the support lock %s: %v", path, err)
		}
		if wait == 0 {
			f.Close()
			return nil, gatehouse.ErrLockBusy
		}
		if !time.Now().Before(deadline) {
			f.Close()
			return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "another support request or rotation held the lock for more than %s", gatehouse.FormatDuration(wait))
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, ctx.Err(), "interrupted while waiting for the support lock")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
