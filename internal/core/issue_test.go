package core_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/support"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse/store"
	"golang.org/x/crypto/ssh"
)

var ctx = context.Background()

type fixture struct {
	dir  string
	db   *core.Core
	x    *age.X25519Identity
	ssh  age.Identity
	path string
}

func setup(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	db, _, err := wire.Create(ctx, path, wire.Options{OSUser: "op"}, core.InitParams{Actor: "op"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	x, _ := age.GenerateX25519Identity()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	sshID, err := agessh.ParseIdentity(pem.EncodeToMemory(block))
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ssh.NewPublicKey(pub)
	var rs []gatehouse.Recipient
	for _, s := range []string{x.Recipient().String(), string(ssh.MarshalAuthorizedKey(sp))} {
		r, err := support.ParseRecipient(s)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	if _, err := db.AddRecipients(ctx, "op", rs); err != nil {
		t.Fatal(err)
	}
	host, port := "vsa.example.com", 443
	if _, _, err := db.ConfigureServer(ctx, "op", core.ServerUpdate{Host: &host, Port: &port}); err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, db: db, x: x, ssh: sshID, path: path}
}

// open decrypts an envelope file with id and parses it as the vendor would.
func open(t testing.TB, file string, id age.Identity) *support.Envelope {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(r)
	env, err := support.ParseEnvelope(plain)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestRequestLeavesNoPassword issues a credential and, while the store is
// still open (so its WAL and shared-memory files exist), scans every file
// in the directory for the password.
func TestRequestLeavesNoPassword(t *testing.T) {
	fx := setup(t)
	out := filepath.Join(fx.dir, "envelope.age")
	res, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: out, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	env := open(t, out, fx.x)
	if env.RequestID != res.RequestID || env.Account != "vendorsupport" || env.LoginURL != "https://vsa.example.com/" {
		t.Fatalf("envelope = %+v, result = %+v", env, res)
	}
	if len(env.Password)*6 < 128 {
		t.Fatalf("password has fewer than 128 bits")
	}
	if open(t, out, fx.ssh).RequestID != res.RequestID {
		t.Fatal("the SSH identity read another envelope")
	}
	entries, _ := os.ReadDir(fx.dir)
	var scanned []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(fx.dir, e.Name()))
		if err != nil {
			continue
		}
		scanned = append(scanned, e.Name())
		if bytes.Contains(b, env.Password) {
			t.Errorf("the password is in %s", e.Name())
		}
	}
	if !strings.Contains(strings.Join(scanned, " "), "gatehouse.db-wal") {
		t.Errorf("scanned %v: the WAL was not there to scan", scanned)
	}
	var trail bytes.Buffer
	fx.db.ListEvents(ctx, gatehouse.EventFilter{}, func(ev *gatehouse.Event) error {
		trail.Write(ev.Details)
		return nil
	})
	if bytes.Contains(trail.Bytes(), env.Password) || !strings.Contains(trail.String(), res.EnvelopeSHA256) {
		t.Error("the audit trail holds the password, or lacks the envelope digest")
	}
}

// TestPublicLogon logs on through the package a server embeds, on a second
// handle to the same file, as a server beside the CLI would.
func TestPublicLogon(t *testing.T) {
	fx := setup(t)
	out := filepath.Join(fx.dir, "envelope.age")
	if _, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: out}); err != nil {
		t.Fatal(err)
	}
	env := open(t, out, fx.x)
	srv, err := store.Open(ctx, fx.path, store.Options{OSUser: "server"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := srv.SupportLogon(ctx, "tech-1", env.Password)
	if err != nil || !res.Allowed {
		t.Fatalf("logon = %+v, %v; want allowed", res, err)
	}
	res, err = srv.SupportLogon(ctx, "tech-2", []byte("guess"))
	if err != nil || res.Allowed || res.Reason != gatehouse.LogonWrongPassword {
		t.Fatalf("wrong password = %+v, %v", res, err)
	}
	if _, err := srv.SupportLogon(ctx, "", env.Password); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Fatalf("empty technician: err = %v, want invalid", err)
	}
	// A new request invalidates the first password.
	if _, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: out}); err != nil {
		t.Fatal(err)
	}
	if res, _ := srv.SupportLogon(ctx, "tech-1", env.Password); res.Allowed {
		t.Fatal("the first password still works after a second request")
	}
}

// TestDeliveryFailureKeepsOldCredential: nothing changes when the envelope
// cannot be delivered.
func TestDeliveryFailureKeepsOldCredential(t *testing.T) {
	fx := setup(t)
	out := filepath.Join(fx.dir, "envelope.age")
	if _, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: out}); err != nil {
		t.Fatal(err)
	}
	before, _ := fx.db.SupportState(ctx)
	head, _ := fx.db.Head(ctx)
	_, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: filepath.Join(fx.dir, "no", "such", "dir", "e.age")})
	if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("err = %v, want unavailable", err)
	}
	after, _ := fx.db.SupportState(ctx)
	head2, _ := fx.db.Head(ctx)
	if after.Credential.RequestID != before.Credential.RequestID || head2 != head {
		t.Fatal("a failed delivery changed the credential or the audit trail")
	}
}

// TestConcurrentRotations: rotations from many goroutines serialise on the
// lock; exactly one rotates, the rest find the credential fresh.
func TestConcurrentRotations(t *testing.T) {
	fx := setup(t)
	clock := time.Now()
	fx.db = reopen(t, fx.path, func() time.Time { return clock })
	if _, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: filepath.Join(fx.dir, "e.age")}); err != nil {
		t.Fatal(err)
	}
	later := clock.Add(48 * time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	rotated := 0
	for i := range 6 {
		// Each rotation has its own store handles, as separate processes would.
		svc := reopen(t, fx.path, func() time.Time { return later })
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := svc.RotateSupportCredential(ctx, core.IssueOptions{IfOlderThan: 24 * time.Hour, Out: filepath.Join(fx.dir, "r"+string(rune('a'+i))+".age")})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if res.Issued {
				rotated++
			}
		}()
	}
	wg.Wait()
	if rotated != 1 {
		t.Fatalf("%d rotations happened, want 1", rotated)
	}
	if res, _ := fx.db.VerifyChain(ctx, gatehouse.VerifyOptions{}); !res.OK() {
		t.Fatalf("chain: %+v", res.Fault)
	}
}

// TestRotationKeepsGrantWhenUsedDuringDelivery: a technician's first logon
// lands while a rotation is delivering its envelope. The commit must take
// the reset-after-use deadline that logon started, not the window the
// rotation prepared before it: a rotation never reopens access.
func TestRotationKeepsGrantWhenUsedDuringDelivery(t *testing.T) {
	fx := setup(t)
	hour := time.Hour
	if _, _, err := fx.db.ConfigureSupport(ctx, "op", gatehouse.SupportUpdate{ResetAfterUse: &hour}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(fx.dir, "envelope.age")
	if _, err := fx.db.RequestSupport(ctx, core.IssueOptions{Actor: "op", Out: out}); err != nil {
		t.Fatal(err)
	}
	pw := open(t, out, fx.x).Password
	core.TestOnlyStep = func(step string) {
		if step != "delivered" {
			return
		}
		res, err := fx.db.SupportLogon(ctx, "t1", []byte(pw))
		if err != nil || !res.Allowed {
			t.Errorf("logon during delivery: %+v, %v", res, err)
		}
	}
	defer func() { core.TestOnlyStep = nil }()
	res, err := fx.db.RotateSupportCredential(ctx, core.IssueOptions{Actor: "cron", Out: filepath.Join(fx.dir, "rot.age")})
	if err != nil || !res.Issued {
		t.Fatalf("rotate: %+v, %v", res, err)
	}
	st, err := fx.db.SupportState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := st.Credential
	if c.RequestID != res.RequestID || c.FirstLogonAt.IsZero() {
		t.Fatalf("after the rotation: request %s, first logon %v; want %s and the logon's time", c.RequestID, c.FirstLogonAt, res.RequestID)
	}
	if got, want := c.EffectiveExpiry(), c.FirstLogonAt.Add(time.Hour); got.After(want) {
		t.Errorf("the rotated credential ends at %v, after the reset deadline %v", got, want)
	}
}

// reopen opens the fixture's store again, with its own clock.
func reopen(t testing.TB, path string, now func() time.Time) *core.Core {
	t.Helper()
	c, err := wire.Open(ctx, path, wire.Options{OSUser: "op", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
