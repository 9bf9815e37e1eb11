package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// stress WORKERS DURATION runs WORKERS processes' worth of gatehouse
// commands at once for DURATION, each worker one kind of work: support
// rotations, first-time SSO sign-ins, SSO setting changes, audit reads.
// Every command must succeed and none may print "locked" or "busy". It then
// sets CHANGES to the number of commands that changed the store (each owes
// exactly one audit event) and CREATED to the number of accounts created.
func cmdStress(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: stress WORKERS DURATION")
	}
	var workers int
	fmt.Sscan(args[0], &workers)
	d, err := time.ParseDuration(args[1])
	ts.Check(err)
	env := os.Environ()
	for _, k := range []string{"PATH", "HOME", "GATEHOUSE_STORE", "GATEHOUSE_TEST_SYSTEM_CONFIG", "GATEHOUSE_ACTOR"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command("gatehouse", args...)
		cmd.Env = env
		cmd.Dir = ts.Getenv("WORK") // envelopes go to the script's directory
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = nil, &stderr
		err := cmd.Run()
		return stderr.String(), err
	}
	var mu sync.Mutex
	changes, created, ops := 0, 0, 0
	var failures []string
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; time.Now().Before(deadline); k++ {
				var args []string
				changing, creating := true, false
				switch w % 4 {
				case 0:
					args = []string{"-q", "support", "rotate", "--out", fmt.Sprintf("env-%d.age", w)}
				case 1:
					args = []string{"sso", "signin", "--issuer", "https://idp.example", "--subject", fmt.Sprintf("w%d-%d", w, k),
						"--email", fmt.Sprintf("w%d-%d@example.com", w, k), "--email-verified"}
					creating = true
				case 2:
					args = []string{"sso", "require", map[bool]string{true: "on", false: "off"}[k%2 == 0]}
				case 3:
					args = []string{"audit", "list", "--limit", "5", "-o", "jsonl"}
					if k%2 == 1 {
						args = []string{"audit", "verify"}
					}
					changing = false
				}
				stderr, err := run(args...)
				mu.Lock()
				ops++
				switch {
				case err != nil || strings.Contains(stderr, "locked") || strings.Contains(stderr, "busy"):
					failures = append(failures, fmt.Sprintf("gatehouse %s: %v: %s", strings.Join(args, " "), err, stderr))
				case changing && !strings.Contains(stderr, "nothing changed"):
					changes++
					if creating {
						created++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		ts.Fatalf("%d of %d commands failed; first: %s", len(failures), ops, failures[0])
	}
	ts.Logf("%d commands, %d changes, %d accounts created", ops, changes, created)
	ts.Setenv("CHANGES", fmt.Sprint(changes))
	ts.Setenv("CREATED", fmt.Sprint(created))
}

// sum NAME A B sets NAME to A+B (integers).
func cmdSum(ts *testscript.TestScript, neg bool, args []string) {
	var a, b int
	fmt.Sscan(args[1], &a)
	fmt.Sscan(args[2], &b)
	ts.Setenv(args[0], fmt.Sprint(a+b))
}
