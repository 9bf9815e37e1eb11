// Package idptest runs a real OpenID provider for end-to-end tests: panva's
// OpenID-certified oidc-provider, at the version pinned in
// testdata/provider/package-lock.json, run by the machine's Node.js and served on
// 127.0.0.1 only. Nobody here wrote it, so a test that signs in through it
// checks gatehouse against what a real provider sends, not against our own
// reading of the specifications.
//
// Each Start runs one provider process with the clients and users it is
// given and a fresh RSA-2048 signing key; t.Cleanup stops it. The provider
// signs people in through oidc-provider's development login form (any
// password is accepted; the login must be a configured user's Login or
// Subject) and consent page; internal/browsertest fills them in a real
// browser.
//
// What the provider does, as configured in testdata/provider/provider.mjs:
//   - authorization code flow only, with PKCE (S256) required of every client;
//   - the ID token carries the claims of the granted scopes: sub (openid),
//     email and email_verified (email), name (profile);
//   - auth_time is in the ID token when the request has max_age (or
//     prompt=login), as OpenID Connect Core 1.0 section 2 asks;
//   - a native client's http redirect URI on a loopback host (127.0.0.1,
//     [::1], localhost) matches with any port (RFC 8252 section 7.3); a web
//     client's redirect URIs match exactly.
//
// The tests never skip: without node, or without the provider's npm
// packages, Start fails the test with the remedy. EnsureInstalled (or `make
// idp-deps`) installs the packages with `npm ci`.
package idptest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Client is an OAuth client registered with the provider, for the
// authorization code flow.
type Client struct {
	ID string
	// Secret is the client secret; "" makes a public client, which
	// authenticates to the token endpoint with nothing (method "none") and
	// so relies on PKCE alone. A client with a secret uses
	// client_secret_basic.
	Secret       string
	RedirectURIs []string
	// Native registers the client with application_type "native" (a CLI
	// such as `sso test`), whose loopback redirect URIs match any port;
	// otherwise it is a web client (a server).
	Native bool
}

// User is an account at the provider. Login or Subject signs in on the
// provider's login form; Subject is the ID token's sub.
type User struct {
	Login, Subject, Email string
	EmailVerified         bool
	Name                  string
}

// Options configures a provider.
type Options struct {
	Clients []Client
	Users   []User
	// IDTokenTTL is the lifetime of ID tokens; 0 leaves oidc-provider's
	// default (one hour). It is whole seconds.
	IDTokenTTL time.Duration
}

// Provider is a running OpenID provider.
type Provider struct {
	// Issuer is the provider's issuer identifier, http://127.0.0.1:PORT.
	// Its discovery document is at Issuer + "/.well-known/openid-configuration".
	Issuer string

	publicJWKS []byte
}

// PublicJWKS returns the JWK Set of the provider's signing keys, public
// parts only: what `sso idp set --jwks-file` imports for an air-gapped
// server. The provider serves the same set at its jwks_uri.
func (p *Provider) PublicJWKS() []byte { return bytes.Clone(p.publicJWKS) }

// Environment and limits of the harness.
const (
	// minNode is the oldest Node.js the harness accepts: oidc-provider 9
	// runs on it with a warning that it supports Node.js 22 LTS and later.
	minNodeMajor, minNodeMinor = 20, 19
	startTimeout               = 30 * time.Second
	stopTimeout                = 5 * time.Second
	npmTimeout                 = 5 * time.Minute
)

// Start runs a provider with o's clients and users until t ends. It fails t
// (never skips it) when node is missing or too old, when the provider's npm
// packages are not installed, or when the provider does not come up; the
// message says what to do, and the provider's stderr is logged.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	dir, err := providerDir()
	if err != nil {
		t.Fatalf("idptest: %v", err)
	}
	node, err := findNode()
	if err != nil {
		t.Fatalf("idptest: %v", err)
	}
	if err := checkInstalled(dir); err != nil {
		t.Fatalf("idptest: %v", err)
	}

	cfg, publicJWKS, err := newConfig(o)
	if err != nil {
		t.Fatalf("idptest: %v", err)
	}
	cfgPath := filepath.Join(t.TempDir(), "provider.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatalf("idptest: %v", err)
	}

	cmd := exec.Command(node, "provider.mjs", cfgPath)
	cmd.Dir = dir
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("idptest: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("idptest: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("idptest: start %s: %v", node, err)
	}
	done := make(chan error, 1)
	ready := make(chan readyLine, 1)
	go func() {
		// Wait must not run before the stdout reader is finished with the
		// pipe, which Wait closes.
		ready <- readReady(stdout)
		io.Copy(io.Discard, stdout)
		done <- cmd.Wait()
	}()

	// Closing stdin is how the provider is told to stop; it also stops by
	// itself when this process dies and the pipe closes.
	stop := sync.OnceValue(func() error {
		stdin.Close()
		select {
		case err := <-done:
			return err
		case <-time.After(stopTimeout):
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("the provider did not stop within %v of its stdin closing; killed it", stopTimeout)
		}
	})
	started := false // once it has, its failures are reported here
	t.Cleanup(func() {
		err := stop()
		if !started {
			return
		}
		if err != nil {
			t.Errorf("idptest: the provider: %v", err)
		}
		if t.Failed() {
			t.Logf("idptest: the provider's stderr:\n%s", stderr.String())
		}
	})

	select {
	case r := <-ready:
		if r.err != nil {
			stop()
			t.Fatalf("idptest: the provider did not start: %v; its stderr:\n%s", r.err, stderr.String())
		}
		started = true
		return &Provider{Issuer: r.issuer, publicJWKS: publicJWKS}
	case <-time.After(startTimeout):
		stop()
		t.Fatalf("idptest: the provider did not print its issuer within %v; its stderr:\n%s", startTimeout, stderr.String())
	}
	return nil
}

type readyLine struct {
	issuer string
	err    error
}

// readReady reads the provider's one stdout line, {"issuer": "..."}.
func readReady(r io.Reader) readyLine {
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil {
		return readyLine{err: fmt.Errorf("it exited before it was ready (stdout: %q)", line)}
	}
	var msg struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(line, &msg); err != nil || !strings.HasPrefix(msg.Issuer, "http://127.0.0.1:") {
		return readyLine{err: fmt.Errorf("want {\"issuer\": \"http://127.0.0.1:PORT\"} on stdout, got %q", line)}
	}
	return readyLine{issuer: msg.Issuer}
}

// config is provider.mjs's configuration file; see its header.
type config struct {
	Clients []clientMetadata   `json:"clients"`
	Users   []userRecord       `json:"users"`
	JWKS    jose.JSONWebKeySet `json:"jwks"`
	TTL     map[string]int64   `json:"ttl,omitempty"`
}

// clientMetadata is a client's registration, in OAuth dynamic client
// registration (RFC 7591) names, which oidc-provider takes as they are.
type clientMetadata struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	RedirectURIs            []string `json:"redirect_uris"`
	ApplicationType         string   `json:"application_type"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
}

type userRecord struct {
	Login         string `json:"login"`
	Sub           string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
}

// newConfig returns provider.mjs's configuration for o with a fresh
// signing key, and the public JWK Set of that key.
func newConfig(o Options) (cfg, publicJWKS []byte, _ error) {
	c := config{}
	for _, cl := range o.Clients {
		if cl.ID == "" || len(cl.RedirectURIs) == 0 {
			return nil, nil, fmt.Errorf("client %q: want an ID and at least one redirect URI", cl.ID)
		}
		m := clientMetadata{
			ClientID:                cl.ID,
			ClientSecret:            cl.Secret,
			TokenEndpointAuthMethod: "client_secret_basic",
			RedirectURIs:            cl.RedirectURIs,
			ApplicationType:         "web",
			GrantTypes:              []string{"authorization_code"},
			ResponseTypes:           []string{"code"},
		}
		if cl.Secret == "" {
			m.TokenEndpointAuthMethod = "none"
		}
		if cl.Native {
			m.ApplicationType = "native"
		}
		c.Clients = append(c.Clients, m)
	}
	for _, u := range o.Users {
		if u.Subject == "" {
			return nil, nil, fmt.Errorf("user %q: want a Subject", u.Login)
		}
		c.Users = append(c.Users, userRecord{u.Login, u.Subject, u.Email, u.EmailVerified, u.Name})
	}
	if o.IDTokenTTL != 0 {
		if o.IDTokenTTL < time.Second || o.IDTokenTTL%time.Second != 0 {
			return nil, nil, fmt.Errorf("IDTokenTTL %v: want whole seconds", o.IDTokenTTL)
		}
		c.TTL = map[string]int64{"IdToken": int64(o.IDTokenTTL / time.Second)}
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	kid := make([]byte, 8)
	rand.Read(kid)
	jwk := jose.JSONWebKey{Key: key, KeyID: hex.EncodeToString(kid), Algorithm: string(jose.RS256), Use: "sig"}
	c.JWKS = jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}}
	if cfg, err = json.Marshal(c); err != nil {
		return nil, nil, err
	}
	if publicJWKS, err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}}); err != nil {
		return nil, nil, err
	}
	return cfg, publicJWKS, nil
}

// providerDir returns the directory of provider.mjs and its package.json,
// found beside this source file.
func providerDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", fmt.Errorf("cannot find the provider's directory from this source file's path %q (built with -trimpath?)", file)
	}
	return filepath.Join(filepath.Dir(file), "testdata", "provider"), nil
}

var (
	nodeOnce sync.Once
	nodePath string
	nodeErr  error
)

// findNode returns the path of a node that is recent enough.
func findNode() (string, error) {
	nodeOnce.Do(func() {
		path, err := exec.LookPath("node")
		if err != nil {
			nodeErr = fmt.Errorf("node not found in PATH: install Node.js %d.%d or later (the provider is oidc-provider, an npm package)", minNodeMajor, minNodeMinor)
			return
		}
		out, err := exec.Command(path, "--version").Output()
		if err != nil {
			nodeErr = fmt.Errorf("%s --version: %v", path, err)
			return
		}
		version := strings.TrimSpace(string(out))
		major, minor, ok := parseNodeVersion(version)
		if !ok || major < minNodeMajor || major == minNodeMajor && minor < minNodeMinor {
			nodeErr = fmt.Errorf("%s is Node.js %s: the provider needs %d.%d or later", path, version, minNodeMajor, minNodeMinor)
			return
		}
		nodePath = path
	})
	return nodePath, nodeErr
}

// parseNodeVersion parses "v20.20.2".
func parseNodeVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// installedMarker is the file npm writes last in node_modules: its copy of
// the lock file, so it is newer than package-lock.json after a good npm ci.
const installedMarker = "node_modules/.package-lock.json"

// checkInstalled says whether dir's npm packages match its lock file.
func checkInstalled(dir string) error {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	marker, err := os.Stat(filepath.Join(dir, installedMarker))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("the provider's npm packages are not installed: run `make idp-deps` (npm ci in %s), or call idptest.EnsureInstalled from TestMain", dir)
	case err != nil:
		return err
	case marker.ModTime().Before(lock.ModTime()):
		return fmt.Errorf("the provider's npm packages are older than its package-lock.json: run `make idp-deps` (npm ci in %s), or call idptest.EnsureInstalled from TestMain", dir)
	}
	return nil
}

// EnsureInstalled installs the provider's npm packages with `npm ci` (the
// exact versions of testdata/provider/package-lock.json) when node_modules is
// missing or older than the lock file, and does nothing otherwise. Test
// binaries that run at once take turns through a lock on the lock file.
// Call it from TestMain, before m.Run; `make idp-deps` does the same.
func EnsureInstalled() error {
	dir, err := providerDir()
	if err != nil {
		return err
	}
	if checkInstalled(dir) == nil {
		return nil
	}
	unlock, err := lockFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	defer unlock()
	if checkInstalled(dir) == nil { // another test binary installed them
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm not found in PATH: install Node.js %d.%d or later with npm, then run `make idp-deps`", minNodeMajor, minNodeMinor)
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("npm ci in %s: %v", dir, err)
	}
	timer := time.AfterFunc(npmTimeout, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	if !timer.Stop() {
		return fmt.Errorf("npm ci in %s did not finish within %v; killed it:\n%s", dir, npmTimeout, out.String())
	}
	if err != nil {
		return fmt.Errorf("npm ci in %s: %v:\n%s", dir, err, out.String())
	}
	return checkInstalled(dir)
}

// lockedBuffer is a bytes.Buffer that a child process's output can be
// written to while another goroutine reads it.
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
