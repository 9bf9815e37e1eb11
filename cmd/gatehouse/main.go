// Command gatehouse administers a server's accounts: vendor support access,
// SSO sign-in and automatic user creation, the queue of users awaiting role
// assignment, and a tamper-evident audit trail. See README.md.
package main

import (
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

func main() { os.Exit(cli.Main()) }
