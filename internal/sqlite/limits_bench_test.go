package sqlite_test

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// rawDB opens a bare SQLite file with the pragmas gatehouse uses, to
// measure the floor gatehouse's own numbers are compared with.
func rawDB(b *testing.B) *sql.DB {
	b.Helper()
	u := url.URL{Scheme: "file", Path: filepath.Join(b.TempDir(), "raw.db")}
	db, err := sql.Open("sqlite", u.String()+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL) STRICT"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkLimitRawInsert is the floor: one immediate transaction that
// inserts one row, durable (synchronous=FULL under WAL).
func BenchmarkLimitRawInsert(b *testing.B) {
	db := rawDB(b)
	// Prepared once, as gatehouse's hot statements are (Tx.exec): the
	// floor pays no parsing that gatehouse does not.
	ins, err := db.Prepare("INSERT INTO t (a, b) VALUES (?, ?)")
	if err != nil {
		b.Fatal(err)
	}
	defer ins.Close()
	b.ResetTimer()
	for i := range b.N {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Stmt(ins).Exec(fmt.Sprint("user", i), "x"); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkLimitFsync is the disk's floor under every durable commit:
// append 4 KiB to a file in the same temporary directory and fsync it. A
// commit under WAL with synchronous=FULL costs at least one.
func BenchmarkLimitFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	b.ResetTimer()
	for range b.N {
		if _, err := f.Write(page); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsync/s")
}

// BenchmarkFirstSignIn: first-time SSO sign-ins that each create an
// account, through the same gate the server uses: settings read, identity
// and email checks, account insert, attempt record, audit event, one
// transaction. Compare with BenchmarkLimitRawInsert (goal: at least half).
func BenchmarkFirstSignIn(b *testing.B) {
	db := benchStore(b)
	for _, key := range []string{"sso.allow", "sso.auto_create"} {
		if _, err := core.New(db, core.Options{}).SetSSOFlag(ctx, "op", key, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		res, err := core.New(db, core.Options{}).SignIn(ctx, gatehouse.Identity{Issuer: "https://idp.example", Subject: fmt.Sprint("s", i),
			Email: fmt.Sprintf("u%d@example.com", i), EmailVerified: true, InIdP: true, AuthComplete: true})
		if err != nil || res.Decision != "created" {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
}

// BenchmarkLimitScanHash is the floor under audit verify: read every row of
// a 10,000-event trail in order and SHA-256 its fields, nothing else.
func BenchmarkLimitScanHash(b *testing.B) {
	db := benchStore(b)
	const n = 10000
	if err := db.AppendSynthetic(ctx, n-1, gatehouse.NewEvent{Actor: "a", Action: "x.y", Target: "t", Outcome: gatehouse.OutcomeSuccess}); err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	b.ResetTimer()
	for range b.N {
		rows, err := raw.Query("SELECT seq, time, actor, os_user, action, target, outcome, details, prev_hash, hash FROM audit_events ORDER BY seq")
		if err != nil {
			b.Fatal(err)
		}
		var seq int64
		var f [9]string
		for rows.Next() {
			rows.Scan(&seq, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8])
			h := sha256.New()
			for _, s := range f[:8] {
				h.Write([]byte(s))
			}
			h.Sum(nil)
		}
		rows.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
