package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/support"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/crypto/ssh"
)

// ageTools builds the real age and age-keygen commands (pinned as tools in
// go.mod) once per test run, so scripts decrypt envelopes exactly as the
// vendor would.
var ageTools = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gatehouse-age-")
	if err != nil {
		return "", err
	}
	for _, tool := range []string{"age", "age-keygen"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, tool), "filippo.io/age/cmd/"+tool).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", tool, err, out)
		}
	}
	return dir, nil
})

// sshkeygen NAME writes an unencrypted OpenSSH ed25519 key to NAME and its
// public key line to NAME.pub.
func cmdSSHKeygen(ts *testscript.TestScript, neg bool, args []string) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	ts.Check(err)
	block, err := ssh.MarshalPrivateKey(priv, "vendor@example")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), pem.EncodeToMemory(block), 0o600))
	sp, err := ssh.NewPublicKey(pub)
	ts.Check(err)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " vendor@example\n"
	ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pub"), []byte(line), 0o644))
}

// envelope JSONFILE PREFIX reads a decrypted envelope strictly, as a vendor
// would, writes its password to PREFIX.password (the vendor's copy: stdin
// for a logon) and sets ENV_ACCOUNT, ENV_PASSWORD, ENV_LOGIN_URL,
// ENV_REQUEST_ID, ENV_TENANT and ENV_EXPIRES, and writes the log
// checkpoint it carries, if any, to PREFIX.checkpoint.
func cmdEnvelope(ts *testscript.TestScript, neg bool, args []string) {
	env, err := support.ParseEnvelope([]byte(ts.ReadFile(args[0])))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]+".password"), append([]byte(env.Password), '\n'), 0o600))
	ts.Setenv("ENV_ACCOUNT", env.Account)
	ts.Setenv("ENV_PASSWORD", string(env.Password))
	ts.Setenv("ENV_LOGIN_URL", env.LoginURL)
	ts.Setenv("ENV_REQUEST_ID", env.RequestID)
	ts.Setenv("ENV_TENANT", env.TenantID)
	ts.Setenv("ENV_EXPIRES", env.ExpiresAt.Format(time.RFC3339Nano))
	if env.Checkpoint != "" {
		ts.Check(os.WriteFile(ts.MkAbs(args[1]+".checkpoint"), []byte(env.Checkpoint), 0o644))
	}
}

// noleak SECRET DIR [EXCLUDED...] fails if any file under DIR, other than
// the excluded paths (the vendor's own copies), contains SECRET: the store,
// its WAL and journal, envelope files, temporary files, everything.
// "! noleak" succeeds only if some file does: it shows the scan can see.
func cmdNoLeak(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args[0]) < 16 {
		ts.Fatalf("usage: noleak SECRET DIR [EXCLUDED...] (secret of at least 16 bytes)")
	}
	secret := []byte(args[0])
	excluded := map[string]bool{}
	for _, e := range args[2:] {
		excluded[ts.MkAbs(e)] = true
	}
	n, found := 0, ""
	err := filepath.Walk(ts.MkAbs(args[1]), func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if excluded[path] {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n++
			if found == "" && strings.Contains(string(b), string(secret)) {
				found = path
			}
		}
		return nil
	})
	ts.Check(err)
	ts.Logf("scanned %d files", n)
	if neg && found == "" {
		ts.Fatalf("the secret is in none of the %d files", n)
	}
	if !neg && found != "" {
		ts.Fatalf("the secret is in %s", found)
	}
}

// httpserve NAME MODE [URL] starts an HTTP endpoint on 127.0.0.1 for the
// rest of the script and sets NAME to its URL. MODE: ok (204), fail (500),
// hang (answers after 30 s), flaky (500 once, then 204), 302 or 307 (a
// redirect to URL). Each request's body is saved as NAME.body, the count of
// requests as NAME.count, and each request's method and Idempotency-Key
// header are appended to NAME.keys as one line.
func cmdHTTPServe(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: httpserve NAME MODE [URL]")
	}
	name, mode := args[0], args[1]
	var mu sync.Mutex
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	var count atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := count.Add(1)
		body, _ := io.ReadAll(r.Body)
		os.WriteFile(ts.MkAbs(name+".body"), body, 0o600)
		os.WriteFile(ts.MkAbs(name+".count"), []byte(fmt.Sprint(n)), 0o600)
		mu.Lock()
		if f, err := os.OpenFile(ts.MkAbs(name+".keys"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
			fmt.Fprintf(f, "%s %s\n", r.Method, r.Header.Get("Idempotency-Key"))
			f.Close()
		}
		mu.Unlock()
		switch {
		case mode == "302" || mode == "307":
			code := http.StatusFound
			if mode == "307" {
				code = http.StatusTemporaryRedirect
			}
			http.Redirect(w, r, args[2], code)
		case mode == "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		case mode == "fail", mode == "flaky" && n == 1:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(name, "http://"+ln.Addr().String()+"/envelopes")
}

// logged COMMAND ARGS... runs a program like exec (with "!", expecting
// failure) and appends its stdout and stderr to logs/all.log, so that a
// later noleak scan covers the output of every command in the script.
func cmdLogged(ts *testscript.TestScript, neg bool, args []string) {
	err := ts.Exec(args[0], args[1:]...)
	f, ferr := os.OpenFile(ts.MkAbs("logs/all.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	ts.Check(ferr)
	fmt.Fprintf(f, "$ %s\n%s%s", strings.Join(args, " "), ts.ReadFile("stdout"), ts.ReadFile("stderr"))
	f.Close()
	if (err != nil) != neg {
		ts.Fatalf("%s: unexpected result: %v\n%s", args[0], err, ts.ReadFile("stderr"))
	}
}
