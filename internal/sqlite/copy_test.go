package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestCopyRefusesForeignColumns: a source whose table has a column the
// schema does not (planted by someone with write access to the file, its
// name crafted as SQL) is not copied, no SQL from the name runs, and the
// target file is removed so a retry finds the path free.
func TestCopyRefusesForeignColumns(t *testing.T) {
	for _, col := range []string{"junk", `value) VALUES (?,?,?); --`} {
		dir := t.TempDir()
		src := filepath.Join(dir, "src.db")
		db, _, err := sqlite.Create(ctx, src, sqlite.Options{}, core.Init(core.InitParams{Actor: "alice"}, "sqlite", sqlite.SchemaVersion()))
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		rawExec(t, src, `ALTER TABLE settings ADD COLUMN "`+strings.ReplaceAll(col, `"`, `""`)+`" TEXT`)
		db, err = sqlite.Open(ctx, src, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "copy.db")
		_, err = sqlite.CreateFrom(ctx, dst, sqlite.Options{}, db)
		db.Close()
		if gatehouse.ErrorCode(err) != gatehouse.EINTERNAL || !strings.Contains(gatehouse.ErrorMessage(err), "this store does not") {
			t.Errorf("column %q: err = %v, want the unknown column refused", col, err)
		}
		for _, p := range []string{dst, dst + "-wal", dst + "-shm"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("column %q: %s was left behind", col, filepath.Base(p))
			}
		}
	}
}
