// Package schema reads a store's embedded, versioned migrations: files
// named NNNN_name.sql, where version N turns schema N-1 into N. Both
// stores (SQLite and PostgreSQL) number and load their migrations the same
// way through it; each applies them in its own SQL.
package schema

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the migrations in dir of fsys, in version order. The files
// are embedded in the binary, so a misnamed or missing step is a
// programming error: Load panics unless they are numbered 1..n without
// gaps.
func Load(fsys fs.FS, dir string) []Migration {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		panic(err)
	}
	var ms []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("migration file without a version number: " + e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			panic(err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			panic(fmt.Sprintf("migrations must be numbered 1..n without gaps; found %s", m.Name))
		}
	}
	return ms
}
