package support_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"filippo.io/age/tag"
	"github.com/gatehouse-dev/gatehouse/internal/support"
	"golang.org/x/crypto/ssh"
)

// ageCLI builds the real age command, as go.mod pins it, once per test run.
var ageCLI = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gatehouse-age-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "age")
	if out, err := exec.Command("go", "build", "-o", bin, "filippo.io/age/cmd/age").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build age: %v\n%s", err, out)
	}
	return bin, nil
})

// verdict is what a reader of a recipients file concluded: the recipients
// it encrypts to (by age stanza type, in file order), the lines it skipped
// ("LINE TYPE"), or that it refused the file (errLine: the line its message
// names, 0 for none).
type verdict struct {
	recipients []string
	skipped    []string
	refused    bool
	errLine    int
}

func (v verdict) String() string {
	if v.refused {
		return fmt.Sprintf("refused (line %d)", v.errLine)
	}
	return fmt.Sprintf("recipients %q, skipped %q", v.recipients, v.skipped)
}

var lineRE = regexp.MustCompile(`line (\d+)`)

func errLine(msg string) int {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// gatehouseVerdict parses the file as 'support recipients add -R' does.
func gatehouseVerdict(t *testing.T, data []byte) verdict {
	rs, skipped, err := support.ParseRecipientsFile(bytes.NewReader(data), "vendor.keys")
	if err != nil {
		t.Logf("gatehouse: %v", err)
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); len(l) >= 12 && strings.Contains(err.Error(), l) {
				t.Errorf("the error quotes line %q", l)
			}
		}
		return verdict{refused: true, errLine: errLine(err.Error())}
	}
	var v verdict
	for _, r := range rs {
		stanza := map[string]string{"x25519": "X25519", "ssh-ed25519": "ssh-ed25519", "ssh-rsa": "ssh-rsa"}[r.Kind]
		if stanza == "" {
			t.Fatalf("recipient of unknown kind %q", r.Kind)
		}
		v.recipients = append(v.recipients, stanza)
	}
	for _, s := range skipped {
		v.skipped = append(v.skipped, fmt.Sprintf("%d %s", s.Line, s.KeyType))
	}
	return v
}

var ageSkipRE = regexp.MustCompile(`ignoring unsupported SSH key of type "([^"]*)" at line (\d+)`)

// ageVerdict runs 'age -R FILE' on an empty input and reads the recipients
// it encrypted to from the header of what it wrote: one stanza each.
func ageVerdict(t *testing.T, ageBin string, data []byte) verdict {
	dir := t.TempDir()
	file, out := filepath.Join(dir, "vendor.keys"), filepath.Join(dir, "out.age")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ageBin, "-R", file, "-o", out)
	cmd.Stdin = strings.NewReader("")
	cmd.Env = []string{"PATH=" + dir} // no age-plugin-* to find
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var v verdict
	for _, m := range ageSkipRE.FindAllStringSubmatch(stderr.String(), -1) {
		v.skipped = append(v.skipped, m[2]+" "+m[1])
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("run age: %v", err)
		}
		t.Logf("age: %s", stderr.String())
		v.refused = true
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(l, "age: error:") {
				v.errLine = errLine(l)
			}
		}
		return v
	}
	enc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(enc))
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "---") {
		if f := strings.Fields(sc.Text()); len(f) > 1 && f[0] == "->" {
			v.recipients = append(v.recipients, f[1])
		}
	}
	return v
}

// testKeys are public keys of every kind a vendor's file might hold.
type testKeys map[string]string

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	k := testKeys{}
	authorized := func(pub any) string {
		sp, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	}
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	k["x25519"], k["identity"] = x.Recipient().String(), x.String()
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	k["ed25519"] = authorized(edPub)
	for _, bits := range []int{2048, 1024} {
		rk, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		k["rsa"+strconv.Itoa(bits)] = authorized(&rk.PublicKey)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k["ecdsa"] = authorized(&ec.PublicKey)
	// A FIDO key as GitHub lists it: type, Ed25519 key, application.
	sk := ssh.Marshal(struct {
		Name, Key, App string
	}{"sk-ssh-ed25519@openssh.com", string(edPub), "ssh:"})
	skPub, err := ssh.ParsePublicKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	k["sk-ed25519"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(skPub)))
	signer, _ := ssh.NewSignerFromKey(edPriv)
	certKey, _ := ssh.NewPublicKey(edPub)
	cert := &ssh.Certificate{Key: certKey, CertType: ssh.UserCert, KeyId: "vendor", ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		t.Fatal(err)
	}
	k["cert"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert)))
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	k["pq"] = pq.Recipient().String()
	k["plugin"] = plugin.EncodeRecipient("yubikey", bytes.Repeat([]byte{7}, 33))
	ecdhPub, err := ec.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	point := ecdhPub.Bytes() // 04 || X || Y; a tag recipient holds it compressed
	tr, err := tag.NewClassicRecipient(append([]byte{2 | point[64]&1}, point[1:33]...))
	if err != nil {
		t.Fatal(err)
	}
	k["tag"] = tr.String()
	return k
}

var placeholderRE = regexp.MustCompile(`\{([a-z0-9-]+)\}`)

func (k testKeys) expand(t *testing.T, s string) []byte {
	return []byte(placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := k[m[1:len(m)-1]]
		if !ok {
			t.Fatalf("no test key %s", m)
		}
		return v
	}))
}

// TestRecipientsFileMatchesAge reads odd-but-valid and invalid recipients
// files with gatehouse and with the real age CLI (age -R FILE, as go.mod
// pins it) and requires the same verdict: the same recipients, the same
// skipped lines, or a refusal naming the same line. Where gatehouse refuses
// on purpose what age accepts (recipients it cannot encrypt to without a
// plugin or with classic ones), the case says so and both verdicts are
// checked.
func TestRecipientsFileMatchesAge(t *testing.T) {
	ageBin, err := ageCLI()
	if err != nil {
		t.Fatal(err)
	}
	keys := newTestKeys(t)
	refused := func(line int) verdict { return verdict{refused: true, errLine: line} }
	long := strings.Repeat("A", 9000)
	for _, tc := range []struct {
		name, file string
		want       verdict
		// ageWant is age's verdict where gatehouse differs on purpose.
		ageWant *verdict
		// ageNamesNoLine: age refuses without naming the line gatehouse names.
		ageNamesNoLine bool
	}{
		{name: "OneX25519", file: "{x25519}\n", want: verdict{recipients: []string{"X25519"}}},
		{name: "CommentsAndBlankLines", file: "# vendor keys\n\n{x25519}\n#\n\n# ssh\n{ed25519} vendor@example\n\n",
			want: verdict{recipients: []string{"X25519", "ssh-ed25519"}}},
		{name: "CRLF", file: "# vendor\r\n\r\n{x25519}\r\n{ed25519} vendor@example\r\n",
			want: verdict{recipients: []string{"X25519", "ssh-ed25519"}}},
		{name: "NoFinalNewline", file: "{x25519}", want: verdict{recipients: []string{"X25519"}}},
		{name: "SSHTrailingSpace", file: "{ed25519}   \n{rsa2048} vendor@example \t\n",
			want: verdict{recipients: []string{"ssh-ed25519", "ssh-rsa"}}},
		{name: "SSHTab", file: "{ed25519}\tvendor@example\n", want: verdict{recipients: []string{"ssh-ed25519"}}},
		{name: "Duplicates", file: "{x25519}\n{x25519}\n", want: verdict{recipients: []string{"X25519", "X25519"}}},
		{name: "LongComment", file: "# " + long + "\n{x25519}\n", want: verdict{recipients: []string{"X25519"}}},
		{name: "GitHubKeysList", file: "{ed25519}\n{ecdsa}\n{sk-ed25519}\n{rsa2048}\n",
			want: verdict{recipients: []string{"ssh-ed25519", "ssh-rsa"}, skipped: []string{"2 ecdsa-sha2-nistp256", "3 sk-ssh-ed25519@openssh.com"}}},
		{name: "ShortRSASkipped", file: "{rsa1024}\n{x25519}\n",
			want: verdict{recipients: []string{"X25519"}, skipped: []string{"1 ssh-rsa"}}},
		{name: "CertificateSkipped", file: "{x25519}\n{cert}\n",
			want: verdict{recipients: []string{"X25519"}, skipped: []string{"2 ssh-ed25519-cert-v01@openssh.com"}}},
		{name: "ErrOnlySkipped", file: "{ecdsa}\n{sk-ed25519}\n", want: refused(0),
			ageWant: &verdict{refused: true, skipped: []string{"1 ecdsa-sha2-nistp256", "2 sk-ssh-ed25519@openssh.com"}}},
		{name: "ErrEmpty", file: "", want: refused(0)},
		{name: "ErrOnlyComments", file: "# vendor keys\n\n# none yet\n", want: refused(0)},
		{name: "ErrX25519TrailingSpace", file: "{x25519} \n", want: refused(1)},
		{name: "ErrLeadingSpace", file: "# ok\n  {x25519}\n", want: refused(2)},
		{name: "ErrIndentedComment", file: "{x25519}\n  # vendor\n", want: refused(2)},
		{name: "ErrBOM", file: "\ufeff{x25519}\n", want: refused(1)},
		{name: "ErrBOMComment", file: "\ufeff# vendor\n{x25519}\n", want: refused(1)},
		{name: "ErrGarbage", file: "{x25519}\nnot a key\n", want: refused(2)},
		{name: "ErrIdentity", file: "# mine\n{identity}\n", want: refused(2)},
		{name: "ErrBadChecksum", file: "{x25519}x\n", want: refused(1)},
		{name: "ErrBadSSHBase64", file: "ssh-ed25519 AAAA!!!!\n", want: refused(1)},
		{name: "ErrSSHOptions", file: "no-pty {ed25519}\n", want: refused(1)},
		{name: "ErrGitHubPrefix", file: "github:vendor\n", want: refused(1)},
		{name: "ErrLongLine", file: "ssh-rsa " + long + "\n", want: refused(1)},
		{name: "ErrInvalidUTF8", file: "{x25519}\n\xff\xfe\n", want: refused(2), ageNamesNoLine: true},
		// age parses a plugin recipient, then fails to find age-plugin-yubikey.
		{name: "ErrPlugin", file: "{plugin}\n", want: refused(1), ageNamesNoLine: true},
		{name: "ErrPostQuantum", file: "{pq}\n", want: refused(1),
			ageWant: &verdict{recipients: []string{"mlkem768x25519"}}},
		{name: "ErrTag", file: "{tag}\n", want: refused(1),
			ageWant: &verdict{recipients: []string{"p256tag"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := keys.expand(t, tc.file)
			got := gatehouseVerdict(t, data)
			if !equalVerdict(got, tc.want) {
				t.Errorf("gatehouse: %v, want %v", got, tc.want)
			}
			ageWant := tc.want
			if tc.ageWant != nil {
				ageWant = *tc.ageWant
			} else if tc.ageNamesNoLine {
				ageWant.errLine = 0
			}
			ageGot := ageVerdict(t, ageBin, data)
			if !equalVerdict(ageGot, ageWant) {
				t.Errorf("age: %v, want %v", ageGot, ageWant)
			}
		})
	}
}

// equalVerdict compares verdicts; a refusal's skipped lines (age warns
// before it refuses) are compared only when the want lists them.
func equalVerdict(got, want verdict) bool {
	if got.refused || want.refused {
		return got.refused == want.refused && got.errLine == want.errLine &&
			(want.skipped == nil || slices.Equal(got.skipped, want.skipped))
	}
	return slices.Equal(got.recipients, want.recipients) && slices.Equal(got.skipped, want.skipped)
}
