// Command barequery is the floor for a gatehouse read command: a bare Go
// program that opens a store with the same driver and runs one query.
// docs/performance.md compares `gatehouse sso status` with it.
package main

import (
	"database/sql"
	"fmt"
	"os"

	_ "modernc.org/sqlite"
)

func main() {
	db, err := sql.Open("sqlite", "file:"+os.Args[1]+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	defer db.Close()
	var v sql.NullString
	if err := db.QueryRow("SELECT value FROM settings WHERE key = 'sso.allow'").Scan(&v); err != nil && err != sql.ErrNoRows {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println(v.String)
}
