// Command fillstore creates a store holding a valid audit trail of N events,
// for measuring gatehouse on large trails (docs/performance.md):
//
//	go run ./internal/tools/fillstore STORE N
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fillstore STORE N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "fillstore: N must be a positive number")
		os.Exit(2)
	}
	ctx := context.Background()
	db, _, err := wire.Create(ctx, os.Args[1], wire.Options{OSUser: "fill"}, core.InitParams{Actor: "fill"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fillstore:", err)
		os.Exit(1)
	}
	defer db.Close()
	err = db.AppendSynthetic(ctx, n-1, gatehouse.NewEvent{Actor: "alice", Action: "sso.signin", Target: "user@example.com",
		Outcome: gatehouse.OutcomeSuccess})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fillstore:", err)
		os.Exit(1)
	}
}
