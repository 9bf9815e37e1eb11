package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/witness/witnesstest"
	"github.com/rogpeppe/go-internal/txtar"
	"golang.org/x/mod/sumdb/note"
)

var record = flag.Bool("record", false, "record "+vectorFile+" anew with the real litewitness (then review and commit it)")

// vectorFile holds one exchange with the real litewitness, recorded once by
// `go test -run TestVectors -record` and checked by every run since: a log
// of records event(0)..event(6) whose first 3 the witness cosigned with "old
// 0", then the request that took it from size 3 to 7 and the cosignature it
// answered.
const vectorFile = "testdata/litewitness-" + witnesstest.Version + ".txtar"

const vectorOrigin = "gatehouse.test/vectors"

func TestVectors(t *testing.T) {
	if *record {
		recordVectors(t)
	}
	a, err := txtar.ParseFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range a.Files {
		files[f.Name] = f.Data
	}
	file := func(name string) []byte {
		t.Helper()
		data, ok := files[name]
		if !ok {
			t.Fatalf("%s has no file %s", vectorFile, name)
		}
		return data
	}
	logKey, err := note.NewVerifier(strings.TrimSpace(string(file("log.vkey"))))
	if err != nil {
		t.Fatal(err)
	}
	witnessKey := strings.TrimSpace(string(file("witness.vkey")))
	key, err := ParseKey(witnessKey)
	if err != nil {
		t.Fatal(err)
	}

	// The checkpoints are the trees tlog computes over the records, signed
	// by the log's key.
	l := &testLog{origin: vectorOrigin}
	for _, size := range []int64{3, 7} {
		l.grow(t, size, event)
		cp := file(fmt.Sprint("checkpoint-", size))
		n, err := note.Open(cp, note.VerifierList(logKey))
		if err != nil {
			t.Fatalf("checkpoint-%d: %v", size, err)
		}
		if n.Text != l.body(t) {
			t.Fatalf("checkpoint-%d's body is\n%s\nwant the tree of %d records\n%s", size, n.Text, size, l.body(t))
		}
	}

	// The request body, byte for byte.
	cp7 := file("checkpoint-7")
	cp, err := parseSigned(cp7)
	if err != nil {
		t.Fatal(err)
	}
	body, err := requestBody(3, l.proof(t, 3), cp7, cp)
	if err != nil {
		t.Fatal(err)
	}
	if want := file("request-7"); !bytes.Equal(body, want) {
		t.Errorf("the request body from size 3 to 7 is\n%s\nwant\n%s", body, want)
	}

	for _, size := range []int64{3, 7} {
		cp := file(fmt.Sprint("checkpoint-", size))
		answer := file(fmt.Sprint("response-", size))
		when, err := VerifyCosignature(append(bytes.Clone(cp), answer...), key)
		if err != nil {
			t.Fatalf("VerifyCosignature(checkpoint-%d + response-%d): %v", size, size, err)
		}
		// The same cosignature, checked from the specification without
		// torchwood: another implementation must agree with it.
		specWhen := checkCosignatureBySpec(t, witnessKey, cp, answer)
		if !when.Equal(specWhen) {
			t.Errorf("VerifyCosignature's time %v, the specification's %v", when, specWhen)
		}
	}

	// Another key of the same name, a tampered body, a tampered time.
	cosigned := append(bytes.Clone(cp7), file("response-7")...)
	other := newCosigner(t, key.Name()).Verifier()
	if _, err := VerifyCosignature(cosigned, other); !errors.Is(err, ErrNoCosignature) {
		t.Errorf("VerifyCosignature with another key = %v, want ErrNoCosignature", err)
	}
	tampered := bytes.Replace(cosigned, []byte("\n7\n"), []byte("\n8\n"), 1)
	if _, err := VerifyCosignature(tampered, key); !errors.Is(err, ErrInvalidCosignature) {
		t.Errorf("VerifyCosignature of a tampered body = %v, want ErrInvalidCosignature", err)
	}
	if _, err := VerifyCosignature(retime(t, cosigned, key.Name()), key); !errors.Is(err, ErrInvalidCosignature) {
		t.Errorf("VerifyCosignature with a changed time = %v, want ErrInvalidCosignature", err)
	}

	// The client, given the recorded answer for the recorded request,
	// returns it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/add-checkpoint" || !bytes.Equal(got, file("request-7")) {
			http.Error(w, "not the recorded request", http.StatusBadRequest)
			return
		}
		w.Write(file("response-7"))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := c.AddCheckpoint(context.Background(), 3, l.proof(t, 3), cp7)
	if err != nil {
		t.Fatal(err)
	}
	if want := file("response-7"); !bytes.Equal(sigs, want) {
		t.Errorf("AddCheckpoint returned %q, want the recorded %q", sigs, want)
	}
}

// checkCosignatureBySpec verifies the one signature line of answer as a
// c2sp.org/tlog-cosignature v1 Ed25519 cosignature by vkey over the
// checkpoint text of signed, by the specification's words alone, and
// returns its time.
func checkCosignatureBySpec(t *testing.T, vkey string, signed, answer []byte) time.Time {
	t.Helper()
	// vkey: <name>+<hex key ID>+base64(0x04 || 32-byte public key).
	parts := strings.Split(vkey, "+")
	if len(parts) != 3 {
		t.Fatalf("witness.vkey %q: want name+id+key", vkey)
	}
	name := parts[0]
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		t.Fatalf("witness.vkey: want base64 of 0x04 and 32 bytes")
	}
	// Key ID = SHA-256(<name> || "\n" || 0x04 || public key)[:4].
	id := sha256.Sum256(append([]byte(name+"\n"), key...))
	if got := fmt.Sprintf("%08x", id[:4]); parts[1] != got {
		t.Fatalf("witness.vkey's key ID is %s; the specification makes it %s", parts[1], got)
	}

	// The signature line: "— <name> base64(key ID || timestamp || signature)".
	line, ok := strings.CutPrefix(strings.TrimSuffix(string(answer), "\n"), "— "+name+" ")
	if !ok || strings.Contains(line, "\n") {
		t.Fatalf("the answer %q is not one signature line by %s", answer, name)
	}
	sig, err := base64.StdEncoding.DecodeString(line)
	if err != nil || len(sig) != 4+8+64 {
		t.Fatalf("the signature is not base64 of 76 bytes")
	}
	if !bytes.Equal(sig[:4], id[:4]) {
		t.Fatalf("the signature's key ID %x is not the key's %x", sig[:4], id[:4])
	}
	ts := binary.BigEndian.Uint64(sig[4:12])

	// Signed message: "cosignature/v1\ntime <ts>\n" and the checkpoint body.
	body, _, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		t.Fatal("the checkpoint is not a signed note")
	}
	msg := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s\n", ts, body)
	if !ed25519.Verify(ed25519.PublicKey(key[1:]), msg, sig[12:]) {
		t.Fatalf("the cosignature does not verify over\n%s", msg)
	}
	return time.Unix(int64(ts), 0)
}

// retime returns cosigned with the time in name's cosignature moved by a
// second, the Ed25519 signature left as it was.
func retime(t *testing.T, cosigned []byte, name string) []byte {
	t.Helper()
	prefix := "— " + name + " "
	i := bytes.Index(cosigned, []byte(prefix))
	if i < 0 {
		t.Fatal("no cosignature to retime")
	}
	start := i + len(prefix)
	end := start + bytes.IndexByte(cosigned[start:], '\n')
	sig, err := base64.StdEncoding.DecodeString(string(cosigned[start:end]))
	if err != nil || len(sig) < 12 {
		t.Fatal("malformed cosignature")
	}
	binary.BigEndian.PutUint64(sig[4:12], binary.BigEndian.Uint64(sig[4:12])+1)
	out := append(bytes.Clone(cosigned[:start]), base64.StdEncoding.EncodeToString(sig)...)
	return append(out, cosigned[end:]...)
}

// recordVectors runs the exchange against the real litewitness and writes
// vectorFile.
func recordVectors(t *testing.T) {
	l := newTestLog(t, vectorOrigin)
	w, _ := startWitness(t, l)
	post := func(body []byte) []byte {
		t.Helper()
		resp, err := http.Post(w.URL+"/add-checkpoint", "", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("litewitness answered %s: %q", resp.Status, answer)
		}
		return answer
	}
	a := &txtar.Archive{Comment: fmt.Appendf(nil, `One exchange with the real litewitness (filippo.io/torchwood/cmd/litewitness@%s),
recorded %s by `+"`go test ./internal/witness -run TestVectors -record`"+`; checked
by TestVectors on every run since. The log %s, key log.vkey, holds the
records "event 0\n" to "event 6\n"; the witness, key witness.vkey, cosigned
its first 3 with "old 0" (response-3), then took request-7 from size 3 to 7
and answered response-7.
`, witnesstest.Version, time.Now().UTC().Format("2006-01-02"), vectorOrigin)}
	add := func(name string, data []byte) {
		a.Files = append(a.Files, txtar.File{Name: name, Data: data})
	}
	add("log.vkey", []byte(l.vkey+"\n"))
	add("witness.vkey", []byte(w.Key+"\n"))

	l.grow(t, 3, event)
	cp3 := l.checkpoint(t)
	cp, err := parseSigned(cp3)
	if err != nil {
		t.Fatal(err)
	}
	body3, err := requestBody(0, nil, cp3, cp)
	if err != nil {
		t.Fatal(err)
	}
	add("checkpoint-3", cp3)
	add("response-3", post(body3))

	l.grow(t, 7, event)
	cp7 := l.checkpoint(t)
	if cp, err = parseSigned(cp7); err != nil {
		t.Fatal(err)
	}
	body7, err := requestBody(3, l.proof(t, 3), cp7, cp)
	if err != nil {
		t.Fatal(err)
	}
	add("checkpoint-7", cp7)
	add("request-7", body7)
	add("response-7", post(body7))
	if err := os.WriteFile(vectorFile, txtar.Format(a), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", vectorFile)
}
