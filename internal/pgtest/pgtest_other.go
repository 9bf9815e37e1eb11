//go:build !unix

package pgtest

import (
	"os"
	"testing"
)

// EnvSwitch set to "off" skips every PostgreSQL test.
const EnvSwitch = "GATEHOUSE_TEST_POSTGRES"

// Main runs the package's tests.
func Main(m *testing.M) { os.Exit(m.Run()) }

// New fails t: the harness runs the server on a Unix socket as an
// unprivileged user, which needs a Unix system. GATEHOUSE_TEST_POSTGRES=off
// skips instead.
func New(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvSwitch) == "off" {
		t.Skipf("PostgreSQL tests are switched off (%s=off)", EnvSwitch)
	}
	t.Fatalf("the PostgreSQL test harness needs a Unix system; set %s=off to skip the PostgreSQL tests", EnvSwitch)
	return ""
}

// Run runs m's tests and returns the exit code.
func Run(m interface{ Run() int }) int { return m.Run() }
