// Package witnesstest runs a real C2SP tlog-witness for tests: litewitness
// from filippo.io/torchwood, at the version pinned here (Version), built from
// the Go module proxy by the harness itself and served on 127.0.0.1 only.
// Nobody here wrote it, so a checkpoint it cosigns, or a history it refuses,
// checks gatehouse against a witness others run, not against our own reading
// of https://c2sp.org/tlog-witness.
//
// Install builds litewitness once, with `go install
// filippo.io/torchwood/cmd/litewitness@` + Version, into bin/tools/ of this
// repository; test binaries that install at once take turns through a file
// lock. Start installs it when it is missing.
//
// Each Start runs one litewitness with a fresh Ed25519 witness key and an
// empty database; t.Cleanup stops it. litewitness takes its key from an
// ssh-agent only: the harness serves one in the test process over a Unix
// socket (golang.org/x/crypto/ssh/agent, the package litewitness itself
// talks to its agent with), so no OpenSSH program is needed.
//
// Logs are registered as torchwood's witnessctl registers them: two rows in
// litewitness's SQLite database, written while it runs (its README says
// witnessctl may), with witnessctl's own statements. The harness does not
// run witnessctl because it imports sigsum.org/sigsum-go, a module some
// module proxies refuse (this project's build machines among them), and
// litewitness itself does not need it.
//
// The tests never skip: without the go command, or when the install fails
// (no network and no module cache holding the pinned version), Start fails
// the test with the remedy.
package witnesstest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	_ "modernc.org/sqlite" // litewitness's database, to register logs
)

// Version is the torchwood release whose litewitness the harness runs.
// v0.10.0 and later need a newer Go than this module's.
const Version = "v0.9.0"

// Log is a log the witness knows: its origin line and its note verifier key
// (name+hash+base64, the name equal to the origin), as note.GenerateKey and
// note.NewEd25519VerifierKey make it.
type Log struct {
	Origin string
	Key    string
}

// Options configures a witness.
type Options struct {
	// Name is the witness's name, in its cosignature lines and its key;
	// "" means "witness.test/litewitness".
	Name string
	// Logs are registered before Start returns; AddLog adds more.
	Logs []Log
}

// Witness is a running litewitness.
type Witness struct {
	// URL is the witness's submission prefix, http://127.0.0.1:PORT:
	// add-checkpoint is URL + "/add-checkpoint".
	URL string
	// Name is the witness's name.
	Name string
	// Key is the witness's cosignature/v1 verifier key as litewitness
	// printed it at start: name+hash+base64(0x04 || Ed25519 public key).
	Key string

	db *sql.DB // litewitness's database
}

// Environment and limits of the harness.
const (
	defaultName    = "witness.test/litewitness"
	installTimeout = 10 * time.Minute
	startTimeout   = 30 * time.Second
	stopTimeout    = 5 * time.Second
	dbTimeout      = 30 * time.Second
	startAttempts  = 3 // a free port picked here may be taken before litewitness binds it
)

// Start runs a litewitness that knows o.Logs until t ends. It fails t (never
// skips it) when litewitness cannot be installed or does not come up; the
// message says what to do, and litewitness's stderr is logged.
func Start(t testing.TB, o Options) *Witness {
	t.Helper()
	bin, err := Install()
	if err != nil {
		t.Fatalf("witnesstest: %v", err)
	}
	name := o.Name
	if name == "" {
		name = defaultName
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("witnesstest: %v", err)
	}
	sock, fingerprint := serveAgent(t, priv)

	dir := t.TempDir()
	dbPath := filepath.Join(dir, "litewitness.db")
	w := &Witness{Name: name, Key: cosignatureKey(name, priv.Public().(ed25519.PublicKey))}
	for attempt := 1; ; attempt++ {
		w.URL, err = w.start(t, filepath.Join(bin, "litewitness"), dir, dbPath, sock, fingerprint)
		if err == nil {
			break
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			t.Fatalf("witnesstest: %v", err)
		}
	}

	// litewitness has made its tables by now.
	w.db, err = sql.Open("sqlite", "file:"+dbPath+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("witnesstest: %v", err)
	}
	t.Cleanup(func() { w.db.Close() })
	for _, l := range o.Logs {
		w.AddLog(t, l)
	}
	return w
}

var errAddrInUse = errors.New("its port was taken")

// start runs litewitness once on a port that was free a moment ago and
// returns its URL once it serves its index page, which names w.Key.
func (w *Witness) start(t testing.TB, litewitness, dir, dbPath, sock, fingerprint string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(litewitness,
		"-name", w.Name,
		"-db", dbPath,
		"-ssh-agent", sock,
		"-key", fingerprint,
		"-listen", addr)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()
	stderr := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %v", litewitness, err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()

	// An interrupt is litewitness's own way to stop: it shuts its server
	// down and exits.
	stop := sync.OnceValue(func() error {
		select {
		case <-done:
			return nil
		default:
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			cmd.Process.Kill()
		}
		select {
		case <-done:
			return nil
		case <-time.After(stopTimeout):
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("litewitness did not stop within %v of an interrupt; killed it", stopTimeout)
		}
	})

	url := "http://" + addr
	err = waitReady(url, w.Key, done)
	if err != nil {
		stop()
		if errors.Is(err, errAddrInUse) || strings.Contains(stderr.String(), "address already in use") {
			return "", errAddrInUse
		}
		if waitErr != nil {
			err = fmt.Errorf("%v (%v)", err, waitErr)
		}
		return "", fmt.Errorf("litewitness %s did not start: %v; its output:\n%s", Version, err, stderr.String())
	}
	printed, err := printedKey(stderr.String())
	if err != nil || printed != w.Key {
		stop()
		return "", fmt.Errorf("litewitness printed its verifier key as %q (%v), want %q; its output:\n%s", printed, err, w.Key, stderr.String())
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("witnesstest: %v", err)
		}
		if t.Failed() {
			t.Logf("witnesstest: litewitness's output:\n%s", stderr.String())
		}
	})
	return url, nil
}

// waitReady polls the witness's index page until it names wantKey, the
// process exits, or startTimeout passes.
func waitReady(url, wantKey string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(url + "/")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(wantKey)) {
				return nil
			}
			return fmt.Errorf("%s/ answered %s without the witness's key: %w", url, resp.Status, errAddrInUse)
		}
		select {
		case <-exited:
			return errors.New("it exited")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/ did not answer within %v", url, startTimeout)
		}
	}
}

// printedKey finds the key in litewitness's start-up line
// `level=INFO msg="verifier key" vkey=NAME+HASH+KEY`.
func printedKey(output string) (string, error) {
	for line := range strings.Lines(output) {
		if !strings.Contains(line, `msg="verifier key"`) {
			continue
		}
		_, v, ok := strings.Cut(strings.TrimSpace(line), " vkey=")
		if !ok {
			break
		}
		v, _, _ = strings.Cut(v, " ")
		if strings.HasPrefix(v, `"`) {
			return strconv.Unquote(v)
		}
		return v, nil
	}
	return "", errors.New(`no "verifier key" line`)
}

// cosignatureKey is the verifier key of a cosignature/v1 Ed25519 key, as
// c2sp.org/tlog-cosignature and c2sp.org/signed-note define it: the key ID
// is the first four bytes of SHA-256(name || "\n" || 0x04 || public key).
// The harness computes it itself to check the key litewitness prints.
func cosignatureKey(name string, pub ed25519.PublicKey) string {
	key := append([]byte{0x04}, pub...)
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	return fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(key))
}

// emptyTreeHash is base64(SHA-256("")), the RFC 6962 hash of the empty
// tree: the root witnessctl add-log records for a new log.
const emptyTreeHash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

// AddLog registers l with the witness as `witnessctl add-log` and `add-key`
// do, with their statements: the log starts at size 0, so the witness
// cosigns its first checkpoint with "old 0".
func (w *Witness) AddLog(t testing.TB, l Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	if _, err := w.db.ExecContext(ctx, "INSERT INTO log (origin, tree_size, tree_hash) VALUES (?, 0, ?)", l.Origin, emptyTreeHash); err != nil {
		t.Fatalf("witnesstest: adding the log %q: %v", l.Origin, err)
	}
	if _, err := w.db.ExecContext(ctx, "INSERT INTO key (origin, key) VALUES (?, ?)", l.Origin, l.Key); err != nil {
		t.Fatalf("witnesstest: adding the key of the log %q: %v", l.Origin, err)
	}
}

// TreeSize returns the size of the latest checkpoint the witness cosigned
// for origin, failing t if it does not know origin.
func (w *Witness) TreeSize(t testing.TB, origin string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	var size int64
	err := w.db.QueryRowContext(ctx, "SELECT tree_size FROM log WHERE origin = ?", origin).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("witnesstest: the witness does not know the log %q", origin)
	}
	if err != nil {
		t.Fatalf("witnesstest: %v", err)
	}
	return size
}

// serveAgent serves an ssh-agent holding key on a Unix socket until t ends,
// and returns the socket's path and the key's SSH fingerprint (litewitness's
// -key).
func serveAgent(t testing.TB, key ed25519.PrivateKey) (sock, fingerprint string) {
	t.Helper()
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key, Comment: "witnesstest"}); err != nil {
		t.Fatalf("witnesstest: %v", err)
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatalf("witnesstest: %v", err)
	}
	// Not under t.TempDir: a Unix socket's path must stay short (108 bytes
	// on Linux), and test names make those long.
	dir, err := os.MkdirTemp("", "witnesstest")
	if err != nil {
		t.Fatalf("witnesstest: %v", err)
	}
	sock = filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("witnesstest: ssh-agent socket: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { agent.ServeAgent(keyring, c) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		os.RemoveAll(dir)
	})
	return sock, ssh.FingerprintSHA256(pub)
}

// freePort returns a TCP port on 127.0.0.1 that was free when asked.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Install installs litewitness at Version into
// bin/tools/litewitness-VERSION/ of this repository (the user cache
// directory when the source path is unknown, as with -trimpath) unless they
// is there, and returns that directory. It needs the go command and the Go
// module proxy, or a module cache holding filippo.io/torchwood at Version.
func Install() (dir string, _ error) {
	root, err := toolsRoot()
	if err != nil {
		return "", err
	}
	dir = filepath.Join(root, "litewitness-"+Version)
	if installed(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if installed(dir) { // another test binary installed them
		return dir, nil
	}

	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not in PATH; it builds litewitness %s", Version)
	}
	// Into a fresh directory, renamed into place when complete, so an
	// interrupted install leaves nothing that looks installed.
	staging, err := os.MkdirTemp(root, ".litewitness-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(staging)
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	args := []string{"install", "filippo.io/torchwood/cmd/litewitness@" + Version}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = staging
	// GOFLAGS could hold -mod or other flags meant for this module; the
	// install builds torchwood's own module, exactly as its go.mod pins it.
	cmd.Env = append(os.Environ(), "GOBIN="+staging, "GOFLAGS=", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("installing litewitness %s failed: `GOBIN=%s go %s`: %v:\n%s\n"+
			"It needs the Go module proxy (GOPROXY), or a module cache holding filippo.io/torchwood@%s; "+
			"or run that command yourself with GOBIN=%s",
			Version, staging, strings.Join(args, " "), err, out, Version, dir)
	}
	if !installed(staging) {
		return "", fmt.Errorf("`go %s` succeeded but left no litewitness in %s", strings.Join(args, " "), staging)
	}
	if err := os.Rename(staging, dir); err != nil {
		return "", err
	}
	return dir, nil
}

func installed(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "litewitness"))
	return err == nil && fi.Mode().IsRegular()
}

// toolsRoot is bin/tools of this repository, found from this source file's
// path, where the Makefile keeps its pinned tools too.
func toolsRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok && filepath.IsAbs(file) {
		repo := filepath.Join(filepath.Dir(file), "..", "..", "..")
		if _, err := os.Stat(filepath.Join(repo, "go.mod")); err == nil {
			return filepath.Join(repo, "bin", "tools"), nil
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no directory to install litewitness into: %v", err)
	}
	return filepath.Join(cache, "gatehouse", "tools"), nil
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
