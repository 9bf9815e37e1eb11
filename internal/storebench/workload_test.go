package storebench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

var ctx = context.Background()

const (
	// envServer names a PostgreSQL server, as a postgres:// URL of any of
	// its databases, on which the PostgreSQL benchmarks create (and drop)
	// a database each, instead of using pgtest's throwaway cluster. Its
	// role needs CREATEDB.
	envServer = "GATEHOUSE_BENCH_POSTGRES"
	// envChild makes the test binary one writer process of
	// BenchmarkAppendProcesses: "FIRST COUNT LOCATION".
	envChild = "GATEHOUSE_STOREBENCH_CHILD"
)

// postgresLocation returns the URL of a fresh, empty PostgreSQL database,
// dropped when tb ends.
func postgresLocation(tb testing.TB) string {
	tb.Helper()
	server := os.Getenv(envServer)
	if server == "" {
		return pgtest.New(tb)
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s=%q: want a postgres:// URL", envServer, server)
	}
	name := fmt.Sprintf("storebench_%d_%d", os.Getpid(), dbCounter.Add(1))
	maintenance := func(q string) error {
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, q)
		return err
	}
	if err := maintenance("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("%s: create database %s: %v", envServer, name, err)
	}
	tb.Cleanup(func() {
		if err := maintenance("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("%s: drop database %s: %v", envServer, name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

var dbCounter atomic.Int64

// newStore creates an on-prem store at location, with alice as its admin
// and SSO sign-in with auto-create on, and returns the core over it.
func newStore(tb testing.TB, location string) *core.Core {
	tb.Helper()
	c, _, err := wire.Create(ctx, location, wire.Options{OSUser: "bench"}, core.InitParams{Actor: "alice", Admin: "alice"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	for _, k := range []string{core.SettingSSOAllow, core.SettingSSOAutoCreate} {
		if _, err := c.SetSSOFlag(ctx, "alice", k, true); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

// openHandles opens the store at location n times, one handle (a
// connection pool of its own) per writer, as n app servers would.
func openHandles(tb testing.TB, location string, n int) []*core.Core {
	tb.Helper()
	hs := make([]*core.Core, n)
	for i := range hs {
		c, err := wire.Open(ctx, location, wire.Options{OSUser: "bench"})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { c.Close() })
		hs[i] = c
	}
	return hs
}

// share is writer w's part of n operations split over writers: the
// operations first to end-1.
func share(n, writers, w int) (first, end int) {
	return w * n / writers, (w + 1) * n / writers
}

// concurrently runs op(h, i) for every i in [0, n), split over the
// handles, one goroutine per handle.
func concurrently(handles []*core.Core, n int, op func(h *core.Core, i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(handles))
	for w, h := range handles {
		first, end := share(n, len(handles), w)
		wg.Go(func() {
			for i := first; i < end; i++ {
				if err := op(h, i); err != nil {
					errs[w] = fmt.Errorf("writer %d, operation %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// firstSignIn signs a new identity in (operation i's own): it must create
// an account.
func firstSignIn(h *core.Core, i int) error {
	res, err := h.SignIn(ctx, gatehouse.Identity{Issuer: "https://idp.example", Subject: "s" + strconv.Itoa(i),
		Email: fmt.Sprintf("u%d@example.com", i), EmailVerified: true, InIdP: true, AuthComplete: true})
	if err != nil {
		return err
	}
	if res.Decision != "created" {
		return fmt.Errorf("sign-in %d: decision %q (%s), want created", i, res.Decision, res.Reason)
	}
	return nil
}

// appendEvent appends one event to the chain: a change that writes
// nothing but its event.
func appendEvent(h *core.Core, i int) error {
	_, err := h.Store().Change(ctx, func(gatehouse.Tx) (*gatehouse.NewEvent, error) {
		return &gatehouse.NewEvent{Actor: "bench", Action: "bench.append", Target: "chain",
			Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{"i": i}}, nil
	})
	return err
}

// head is the sequence number of the chain's last event.
func head(tb testing.TB, c *core.Core) int64 {
	tb.Helper()
	h, err := c.Head(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return h.Seq
}

// checkChain fails tb unless the chain grew by exactly n events and
// verifies.
func checkChain(tb testing.TB, c *core.Core, before int64, n int) {
	tb.Helper()
	if got := head(tb, c); got != before+int64(n) {
		tb.Fatalf("head %d after %d operations from %d, want %d", got, n, before, before+int64(n))
	}
	res, err := c.VerifyChain(ctx, gatehouse.VerifyOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if !res.OK() {
		tb.Fatalf("chain does not verify: event %d: %s", res.Fault.Seq, res.Fault.Problem)
	}
}

// writerProcs are the child processes of one process benchmark run: the
// test binary again, each with its share of the appends.
type writerProcs struct {
	cmds   []*exec.Cmd
	stdins []io.WriteCloser
	outs   []*bufio.Reader
	errs   []*strings.Builder
}

// startProcs starts procs writer processes that share n appends to the
// store at location, and returns once each has opened the store and waits
// for the signal to start.
func startProcs(tb testing.TB, location string, procs, n int) *writerProcs {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	p := &writerProcs{}
	tb.Cleanup(func() {
		for _, cmd := range p.cmds {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}
	})
	for w := range procs {
		first, end := share(n, procs, w)
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d %s", envChild, first, end-first, location))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			tb.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			tb.Fatal(err)
		}
		stderr := &strings.Builder{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		p.cmds, p.stdins = append(p.cmds, cmd), append(p.stdins, stdin)
		p.outs, p.errs = append(p.outs, bufio.NewReader(stdout)), append(p.errs, stderr)
	}
	for w := range p.cmds {
		if err := p.expect(w, "ready"); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// expect reads the next line of process w's output, which must be want.
func (p *writerProcs) expect(w int, want string) error {
	line, err := p.outs[w].ReadString('\n')
	if strings.TrimSpace(line) == want {
		return nil
	}
	werr := p.cmds[w].Wait()
	return fmt.Errorf("writer process %d said %q (%v) instead of %q; exit: %v; stderr:\n%s", w, line, err, want, werr, p.errs[w])
}

// run starts the processes' appends and returns when every process has
// reported its last one committed.
func (p *writerProcs) run() error {
	for _, in := range p.stdins {
		in.Close()
	}
	var errs []error
	for w := range p.cmds {
		errs = append(errs, p.expect(w, "done"))
	}
	return errors.Join(errs...)
}

// wait waits for the processes to exit.
func (p *writerProcs) wait() error {
	var errs []error
	for w, cmd := range p.cmds {
		if cmd.ProcessState != nil {
			continue
		}
		if err := cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("writer process %d: %v; stderr:\n%s", w, err, p.errs[w]))
		}
	}
	return errors.Join(errs...)
}

// childMain is a writer process: it opens the store, says "ready", waits
// for its standard input to close, appends its share of events, says
// "done" and closes the store.
func childMain(spec string) int {
	if err := child(spec, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "storebench writer:", err)
		return 1
	}
	return 0
}

func child(spec string, in io.Reader, out io.Writer) error {
	f := strings.SplitN(spec, " ", 3)
	if len(f) != 3 {
		return fmt.Errorf("%s=%q: want FIRST COUNT LOCATION", envChild, spec)
	}
	first, err1 := strconv.Atoi(f[0])
	count, err2 := strconv.Atoi(f[1])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("%s=%q: %v", envChild, spec, err)
	}
	h, err := wire.Open(ctx, f[2], wire.Options{OSUser: "bench"})
	if err != nil {
		return err
	}
	err = appendShare(h, first, count, in, out)
	return errors.Join(err, h.Close())
}

func appendShare(h *core.Core, first, count int, in io.Reader, out io.Writer) error {
	fmt.Fprintln(out, "ready")
	if _, err := io.Copy(io.Discard, in); err != nil {
		return err
	}
	for i := first; i < first+count; i++ {
		if err := appendEvent(h, i); err != nil {
			return fmt.Errorf("append %d: %w", i, err)
		}
	}
	_, err := fmt.Fprintln(out, "done")
	return err
}
