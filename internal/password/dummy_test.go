package password_test

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/password"
)

// allocated returns the bytes fn allocates on the heap. argon2id allocates
// its whole memory parameter (19 MiB) per run, so this counts argon2id runs
// without depending on the machine's speed.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestVerifyDummyCostsOneVerify: a refused logon without a credential
// (VerifyDummy) does the same argon2id work as a real Verify, from the very
// first call in a process: no hash is computed on first use, which would
// make the first such refusal twice as slow as a wrong password. The first
// call is measured in a fresh process, whatever other tests ran before.
func TestVerifyDummyCostsOneVerify(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_DUMMY_CHILD") == "1" {
		pw := []byte("not the password")
		dummy := allocated(func() { password.VerifyDummy(pw) })
		h, err := password.Hash([]byte("a password"), password.OWASP)
		if err != nil {
			t.Fatal(err)
		}
		real := allocated(func() { password.Verify(h, pw) })
		fmt.Printf("dummy=%d real=%d\n", dummy, real)
		return
	}
	child := exec.Command(os.Args[0], "-test.run=^TestVerifyDummyCostsOneVerify$", "-test.count=1")
	child.Env = append(os.Environ(), "GATEHOUSE_TEST_DUMMY_CHILD=1")
	out, err := child.Output()
	cmd := string(out)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, cmd)
	}
	var dummy, real uint64
	for _, f := range strings.Fields(cmd) {
		if v, ok := strings.CutPrefix(f, "dummy="); ok {
			dummy, _ = strconv.ParseUint(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(f, "real="); ok {
			real, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	if real < uint64(password.OWASP.Memory)*1024 {
		t.Fatalf("a real Verify allocated %d bytes, less than argon2id's memory: the measure is broken\n%s", real, cmd)
	}
	if dummy < real*9/10 || dummy > real*11/10 {
		t.Fatalf("the first VerifyDummy allocated %d bytes, a real Verify %d: not the same argon2id work", dummy, real)
	}
}
