// Package browsertest drives a real headless Chromium (Debian's chromium
// package) through chromedp, for end-to-end tests that sign a person in at
// an OpenID provider the way a person would: a browser follows the
// redirects, shows the provider's login form, and submits it.
//
// Each New gets a tab in a browser context of its own, so cookies and
// sessions never pass from one test to another. A test binary whose
// TestMain calls Main (or Run) shares one browser process among its tests
// and stops it at the end; without it, each New starts a browser of its own
// (about a second) and t.Cleanup stops it.
//
// The tests never skip: without Chromium, New fails the test and says how
// to install it.
//
// Chromium runs as the tests do (as root on CI), so with --no-sandbox, and
// on a machine with no network but loopback, so with everything that calls
// out switched off: see flags.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// EnvChromium names the Chromium binary to run instead of DefaultChromium.
const EnvChromium = "GATEHOUSE_TEST_CHROMIUM"

// DefaultChromium is where Debian's chromium package installs its launcher.
const DefaultChromium = "/usr/bin/chromium"

const (
	// startTimeout bounds the start of Chromium and the opening of a tab.
	startTimeout = 30 * time.Second
	// signInTimeout bounds a whole SignIn: every redirect and form.
	signInTimeout = 60 * time.Second
	pollInterval  = 50 * time.Millisecond
	// maxForms bounds the forms SignIn submits, so that a provider that
	// keeps asking fails at once instead of at the timeout.
	maxForms = 6
	// maxPageText bounds the page text quoted in an error.
	maxPageText = 2000
)

// flags are Chromium's command-line flags, on top of chromedp's defaults
// (which have most of them already; they are named here so that they stay
// whatever chromedp's defaults become). The tests run as root (so no
// sandbox, which needs an unprivileged user) on a machine with no GPU and no
// network but loopback, where nothing should try to call out. chromedp adds a fresh temporary --user-data-dir and
// removes it when the browser stops.
var flags = []chromedp.ExecAllocatorOption{
	chromedp.Headless,
	chromedp.NoSandbox,
	chromedp.NoFirstRun,
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-domain-reliability", true),
	chromedp.Flag("no-pings", true),
}

// Browser is a tab in a browser context of its own. Its methods are for
// one goroutine at a time; tests that run in parallel each take a New.
type Browser struct {
	tab context.Context
}

var (
	mainCalled atomic.Bool
	sharedOnce sync.Once
	shared     *process
	sharedErr  error
)

// Main runs the package's tests with one browser shared among them, and
// stops it at the end. Call it from TestMain; it does not return.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that must exit itself or that wraps m in
// another harness's Run: it runs the tests, stops the shared browser, and
// returns the exit code.
func Run(m interface{ Run() int }) int {
	mainCalled.Store(true)
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	return code
}

// New returns a fresh browser tab whose cookies and storage no other New
// sees. It fails t when Chromium is missing or does not start.
func New(t testing.TB) *Browser {
	t.Helper()
	var parent *process
	if mainCalled.Load() {
		sharedOnce.Do(func() { shared, sharedErr = start() })
		if sharedErr != nil {
			t.Fatalf("browsertest: %v", sharedErr)
		}
		parent = shared
	} else {
		p, err := start()
		if err != nil {
			t.Fatalf("browsertest: %v", err)
		}
		t.Cleanup(p.stop)
		parent = p
	}

	tab, cancel := chromedp.NewContext(parent.ctx, chromedp.WithNewBrowserContext())
	// The first Do creates the tab, which lives as long as the context
	// that Do gets, so that context has no deadline; a hang is caught here.
	created := make(chan error, 1)
	go func() { created <- chromedp.Do(tab) }()
	select {
	case err := <-created:
		if err != nil {
			cancel()
			t.Fatalf("browsertest: open a tab: %v", err)
		}
	case <-time.After(startTimeout):
		cancel()
		t.Fatalf("browsertest: no tab within %v", startTimeout)
	}
	t.Cleanup(cancel)
	return &Browser{tab: tab}
}

// process is a running Chromium.
type process struct {
	ctx    context.Context // its first chromedp context: cancelling it ends the process
	cancel func()
	output *tailBuffer
}

// start starts Chromium and waits until it answers.
func start() (*process, error) {
	path := os.Getenv(EnvChromium)
	if path == "" {
		path = DefaultChromium
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("chromium not found at %s: apt-get install chromium (.ci/run does this), or set %s to a Chromium binary", path, EnvChromium)
	}
	output := &tailBuffer{max: 4096}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], flags...)
	opts = append(opts, chromedp.ExecPath(path), chromedp.CombinedOutput(output))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs protocol messages it cannot decode; they are not
	// failures of the test, and a shared browser outlives any one test's t.
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithErrorf(func(string, ...any) {}))
	p := &process{ctx: ctx, output: output, cancel: func() {
		// Cancel closes the browser gracefully and waits for it; chromedp
		// then removes its temporary --user-data-dir.
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		chromedp.Cancel(stopCtx)
		cancelCtx()
		cancelAlloc()
	}}
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			p.cancel()
			return nil, fmt.Errorf("start %s: %v; it printed:\n%s", path, err, output.String())
		}
	case <-time.After(startTimeout):
		p.cancel()
		return nil, fmt.Errorf("%s did not start within %v; it printed:\n%s", path, startTimeout, output.String())
	}
	return p, nil
}

func (p *process) stop() { p.cancel() }

// page is what SignIn reads of the page on each poll.
type page struct {
	URL   string `json:"url"`
	Ready bool   `json:"ready"`
	// Form is "login" or "consent" when the page is oidc-provider's login
	// form or consent page and SignIn has not submitted it yet.
	Form string `json:"form"`
	// Status is the HTTP status of the page's response; 0 when unknown.
	Status int    `json:"status"`
	Text   string `json:"text"`
}

// readPage reads the page. The marker window.__browsertestSubmitted is set
// on a page whose form SignIn submitted; the next page has none.
const readPage = `(() => ({
	url: location.href,
	ready: document.readyState === "complete",
	form: window.__browsertestSubmitted ? "" :
		document.querySelector('form input[name="login"]') ? "login" :
		document.querySelector('form input[name="prompt"][value="consent"]') ? "consent" : "",
	status: (performance.getEntriesByType("navigation")[0] || {}).responseStatus || 0,
	text: document.body ? document.body.innerText : "",
}))()`

// SignIn opens startURL (an authorization URL or a server's login URL),
// fills the provider's login form with login and password and submits it,
// accepts the consent page if the provider shows one, and waits until the
// browser is on a URL that starts with doneURLPrefix (the redirect target)
// and that page has loaded. It returns that URL and the page's text.
//
// A provider session from an earlier SignIn on b may skip the login form;
// SignIn then goes straight on. It gives up after 60 s (or at ctx's
// deadline, if earlier), when the browser lands on an error page, or when
// the provider keeps showing forms; the error then has the page's URL and
// text.
func (b *Browser) SignIn(ctx context.Context, startURL, login, password, doneURLPrefix string) (finalURL, pageText string, err error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, signInTimeout)
	defer cancel()
	// Run on a child of the tab's context, so that the deadline and ctx's
	// cancellation reach every browser call.
	tab, cancelTab := context.WithCancel(b.tab)
	defer cancelTab()
	stop := context.AfterFunc(ctx, cancelTab)
	defer stop()

	var last page
	fail := func(format string, args ...any) (string, string, error) {
		return "", "", fmt.Errorf("browsertest: sign in at %s: %s; the browser is on %s, showing:\n%s",
			startURL, fmt.Sprintf(format, args...), last.URL, clip(last.Text, maxPageText))
	}
	if err := chromedp.Do(tab, chromedp.Navigate(startURL)); err != nil {
		var load *chromedp.LoadError
		if !errors.As(err, &load) || ctx.Err() != nil {
			return fail("open the start URL: %v", contextError(ctx, start, err))
		}
		// A load error (refused connection and the like) shows Chromium's
		// error page, which the loop below reports.
	}
	forms := 0
	var submitErr error // the last submit's, for the message when forms run out
	for {
		p, err := chromedp.Run(tab, chromedp.Evaluate[page](readPage))
		switch {
		case ctx.Err() != nil:
			return fail("%v", contextError(ctx, start, ctx.Err()))
		case err != nil:
			// A navigation can destroy the page under the evaluation;
			// read the next one.
			if !sleep(ctx, pollInterval) {
				return fail("%v", contextError(ctx, start, err))
			}
			continue
		}
		last = p
		switch {
		case strings.HasPrefix(p.URL, "chrome-error:"):
			return fail("the page did not load")
		case strings.HasPrefix(p.URL, doneURLPrefix) && p.Ready:
			return p.URL, p.Text, nil
		case p.Status >= 400 && p.Ready:
			return fail("the page answered HTTP %d", p.Status)
		case p.Form != "" && p.Ready:
			if forms++; forms > maxForms {
				if submitErr != nil {
					return fail("the provider showed more than %d forms (the last submit: %v)", maxForms, submitErr)
				}
				return fail("the provider showed more than %d forms", maxForms)
			}
			if submitErr = submit(tab, p.Form, login, password); submitErr != nil {
				if ctx.Err() != nil {
					return fail("submit the %s form: %v", p.Form, contextError(ctx, start, submitErr))
				}
				// The page went away under the form, or the click did not
				// happen: unmark it (if it is still there) and look again.
				chromedp.Run(tab, chromedp.Evaluate[chromedp.Void](`window.__browsertestSubmitted = false`))
			}
		}
		if !sleep(ctx, pollInterval) {
			return fail("%v", contextError(ctx, start, ctx.Err()))
		}
	}
}

// submit fills in and submits oidc-provider's login form or its consent
// page, marking the page first so that it is never submitted twice.
func submit(tab context.Context, form, login, password string) error {
	mark := chromedp.Evaluate[chromedp.Void](`window.__browsertestSubmitted = true`)
	switch form {
	case "login":
		return chromedp.Do(tab,
			chromedp.Clear(chromedp.CSS(`form input[name="login"]`)),
			chromedp.SendKeys(chromedp.CSS(`form input[name="login"]`), login),
			chromedp.SendKeys(chromedp.CSS(`form input[name="password"]`), password),
			mark,
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		)
	default:
		return chromedp.Do(tab, mark, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	}
}

// contextError says "timed out after 2.1s" for a deadline, and err
// otherwise.
func contextError(ctx context.Context, start time.Time, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %v", time.Since(start).Round(100*time.Millisecond))
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tailBuffer keeps the last max bytes written to it: the end of the
// browser's output, for a start failure.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// SignInOnce is SignIn in a browser of its own, started here and stopped
// before it returns: for a program that a command under test starts as its
// $BROWSER, where there is no testing.TB.
func SignInOnce(ctx context.Context, startURL, login, password, doneURLPrefix string) (finalURL, pageText string, err error) {
	p, err := start()
	if err != nil {
		return "", "", fmt.Errorf("browsertest: %v", err)
	}
	defer p.stop()
	tab, cancel := chromedp.NewContext(p.ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(tab); err != nil { // creates the tab, for as long as tab lives
		return "", "", fmt.Errorf("browsertest: open a tab: %v", err)
	}
	return (&Browser{tab: tab}).SignIn(ctx, startURL, login, password, doneURLPrefix)
}
