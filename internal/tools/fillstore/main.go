// Command fillstore creates a store holding a valid audit trail of N events,
// for measuring gatehouse on large trails (docs/performance.md):
//
//	go run ./internal/tools/fillstore STORE N [AGE]
//
// With AGE (a Go duration, such as 2h) the events are stamped AGE ago, so
// that the last minutes are a quiet window, and the first ten are
// support.logon events: a rare action at the far end of the trail.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: fillstore STORE N [AGE]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "fillstore: N must be a positive number")
		os.Exit(2)
	}
	opts := wire.Options{OSUser: "fill"}
	rare := 0
	if len(os.Args) == 4 {
		age, err := time.ParseDuration(os.Args[3])
		if err != nil || age <= 0 || n < 11 {
			fmt.Fprintln(os.Stderr, "fillstore: AGE must be a positive duration, and N more than 10")
			os.Exit(2)
		}
		opts.Now = func() time.Time { return time.Now().Add(-age) }
		rare = 10
	}
	ctx := context.Background()
	db, _, err := wire.Create(ctx, os.Args[1], opts, core.InitParams{Actor: "fill"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fillstore:", err)
		os.Exit(1)
	}
	defer db.Close()
	err = db.AppendSynthetic(ctx, rare, gatehouse.NewEvent{Actor: "alice", Action: "support.logon", Target: "support",
		Outcome: gatehouse.OutcomeSuccess})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fillstore:", err)
		os.Exit(1)
	}
	err = db.AppendSynthetic(ctx, n-1-rare, gatehouse.NewEvent{Actor: "alice", Action: "sso.signin", Target: "user@example.com",
		Outcome: gatehouse.OutcomeSuccess})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fillstore:", err)
		os.Exit(1)
	}
}
