//go:build linux

package support_test

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"filippo.io/age"
	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/internal/support"
	"golang.org/x/sys/unix"
)

// memoryHolds reports whether any readable, writable mapping of this
// process (the Go heap, goroutine stacks, C allocations) holds secret. It
// reads /proc/self/mem into a buffer mapped outside the Go heap, which it
// skips, and never holds secret itself: it searches the bitwise complement
// of memory for the complement of secret, which the caller passes.
func memoryHolds(t *testing.T, inverted []byte) bool {
	t.Helper()
	const chunk = 1 << 20
	buf, err := unix.Mmap(-1, 0, chunk, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	own := uint64(uintptr(unsafe.Pointer(&buf[0])))
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps:", err)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skip("no /proc/self/mem:", err)
	}
	defer mem.Close()
	overlap := len(inverted) - 1
	sc := bufio.NewScanner(bytes.NewReader(maps))
	scanned := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], "rw") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		if start <= own && own < end {
			continue
		}
		for off := start; off < end; off += chunk - uint64(overlap) {
			n := min(uint64(chunk), end-off)
			got, err := mem.ReadAt(buf[:n], int64(off))
			if got == 0 && err != nil {
				break
			}
			for i := range got {
				buf[i] = ^buf[i]
			}
			scanned += got
			if bytes.Contains(buf[:got], inverted) {
				return true
			}
			if uint64(got) < n {
				break
			}
		}
	}
	if scanned < 1<<20 {
		t.Fatalf("scanned only %d bytes of memory", scanned)
	}
	return false
}

// TestSealWipesPlaintext: once Seal returns and the caller has wiped the
// password, no copy of it is left anywhere in the process's memory: not
// the JSON plaintext Seal encrypted, not an encoder's buffer.
func TestSealWipesPlaintext(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	pw, err := password.Generate()
	if err != nil {
		t.Fatal(err)
	}
	inverted := make([]byte, len(pw))
	for i := range pw {
		inverted[i] = ^pw[i]
	}
	if !memoryHolds(t, inverted) {
		t.Fatal("the scan does not see the password while it is in memory")
	}
	// Documents of many lengths, short and longer than age's first read,
	// so that no allocation size happens to fit by luck.
	for n := 1; n < 700; n += 97 {
		env := &support.Envelope{Version: support.EnvelopeVersion, Account: "vendorsupport", Password: support.Secret(pw),
			LoginURL: "https://vsa.example.com/" + strings.Repeat("x", n), RequestID: "ecsk5ysmoqz6edufgrh5kpklll"}
		for _, armored := range []bool{false, true} {
			if _, err := support.Seal(env, []age.Recipient{id.Recipient()}, armored); err != nil {
				t.Fatal(err)
			}
		}
		runtime.KeepAlive(env)
	}
	password.Wipe(pw)
	if memoryHolds(t, inverted) {
		t.Fatal("a copy of the password is left in memory after Seal")
	}
}
