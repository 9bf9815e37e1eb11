//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// permProblem is a reason the store file cannot be trusted: someone other
// than the user running gatehouse (or root) could change it.
type permProblem struct {
	what string // e.g. "directory /srv is writable by group and others (mode 0777)"
	fix  string // the command that fixes it
}

// checkPermissions applies OpenSSH's StrictModes to the store at path: the
// file (and SQLite's -wal, -shm and -journal files beside it, when present)
// and every directory above it must be owned by the user running gatehouse
// or by root, and not writable by group or others. A sticky directory (like
// /tmp) may be writable by others: only an entry's owner can then rename or
// remove it. Whoever can write the file, or replace it through a
// directory, can rewrite the settings and the audit trail, so the file's
// permissions are the store's security boundary (docs/security.md).
// Components that do not exist yet (before init) are skipped.
func checkPermissions(path string) *permProblem {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		target = path // a store not created yet: check what exists
	}
	euid := os.Geteuid()
	for _, p := range []string{target, target + "-wal", target + "-shm", target + "-journal"} {
		if pr := checkOne(p, false, euid); pr != nil {
			return pr
		}
	}
	for _, dir := range dirsOnPath(path) {
		if pr := checkOne(dir, true, euid); pr != nil {
			return pr
		}
	}
	return nil
}

// dirsOnPath lists every directory whose contents decide which file path
// names: the directories above path as given and, for each symbolic link
// met while resolving it, the directories above the link's target. Whoever
// can write any of them can point path at another file (an older copy of
// the store, say), so each must pass the same check as the store's own
// directory; checking only the resolved path would miss a link kept in a
// world-writable directory.
func dirsOnPath(path string) []string {
	var dirs []string
	seen := map[string]bool{}
	var walk func(p string, hops int)
	walk = func(p string, hops int) {
		p = filepath.Clean(p)
		for dir := filepath.Dir(p); !seen[dir]; dir = filepath.Dir(dir) {
			seen[dir] = true
			dirs = append(dirs, dir)
		}
		if hops >= 40 { // as the kernel's limit on links in one lookup
			return
		}
		parts := strings.Split(strings.TrimPrefix(p, string(filepath.Separator)), string(filepath.Separator))
		cur := string(filepath.Separator)
		for i, part := range parts {
			next := filepath.Join(cur, part)
			fi, err := os.Lstat(next)
			if err != nil {
				return // not created yet: nothing further to follow
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				link, err := os.Readlink(next)
				if err != nil {
					return
				}
				if !filepath.IsAbs(link) {
					link = filepath.Join(cur, link)
				}
				walk(filepath.Join(append([]string{link}, parts[i+1:]...)...), hops+1)
				return
			}
			cur = next
		}
	}
	walk(path, 0)
	return dirs
}

func checkOne(path string, isDir bool, euid int) *permProblem {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return nil // missing (not created yet); unreadable ones fail later, when opened
	}
	kind := "file"
	if isDir {
		kind = "directory"
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 && int(sys.Uid) != euid {
		return &permProblem{
			what: fmt.Sprintf("%s %s is owned by %s, not by the user running gatehouse (%s) or root", kind, path, userName(int(sys.Uid)), userName(euid)),
			fix:  fmt.Sprintf("chown %s %s, or run gatehouse as its owner", userName(euid), path),
		}
	}
	perm := st.Mode().Perm()
	if perm&0o022 == 0 || isDir && st.Mode()&fs.ModeSticky != 0 {
		return nil
	}
	who := "group and others"
	switch {
	case perm&0o020 == 0:
		who = "others"
	case perm&0o002 == 0:
		who = "group"
	}
	return &permProblem{
		what: fmt.Sprintf("%s %s is writable by %s (mode %#o)", kind, path, who, perm),
		fix:  fmt.Sprintf("chmod go-w %s", path),
	}
}

// userName names a uid for a message: its name, or uid:N.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid:" + strconv.Itoa(uid)
}

// writableHere reports whether SQLite could create its -wal and -shm files
// beside the store at path and write the store: false on read-only media
// or in a directory the user may not write, and false for a file that no
// one may write (mode 0444), which by its mode is not a live store.
func writableHere(path string, st fs.FileInfo) bool {
	if st.Mode().Perm()&0o222 == 0 {
		return false
	}
	return syscall.Access(filepath.Dir(path), 2 /* W_OK */) == nil && syscall.Access(path, 2) == nil
}

// Trusted reports whether the store's permissions pass checkPermissions
// now: a command that opened it to read uses it to decide whether it may
// also do the file work that completes an earlier write.
func (db *DB) Trusted() bool { return checkPermissions(db.path) == nil }
