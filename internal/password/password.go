// Package password generates random passwords and hashes them with
// argon2id in the PHC string format. It is pure: no store, no I/O.
//
// Passwords are []byte so that callers can wipe them (Wipe) as soon as they
// are no longer needed; a Go string could not be wiped.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// alphabet has 64 symbols, so each byte of output carries exactly 6 bits
// and no symbol is likelier than another. None of them needs escaping in
// JSON, a URL or a shell.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Length is the length of a generated password: 32 symbols, 192 bits.
const Length = 32

// Generate returns a new random password of Length symbols from crypto/rand.
func Generate() ([]byte, error) {
	b := make([]byte, Length)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("read random bytes: %w", err)
	}
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return b, nil
}

// Wipe overwrites b with zeros.
func Wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
}

// OWASP is the configuration the OWASP Password Storage Cheat Sheet lists
// first for argon2id: 19 MiB of memory, 2 iterations, 1 degree of
// parallelism.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on parameters read from a stored hash, so that a tampered hash
	// cannot make verification allocate gigabytes or spin for minutes.
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 16
	maxThreads = 16
)

// Hash returns the argon2id PHC string of pw with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, base64 without padding.
func Hash(pw []byte, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	key := idKey(pw, salt, p, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var b64 = base64.RawStdEncoding

// hashing bounds the argon2id computations running at once in this
// process to the number of CPUs Go uses: each holds its memory (19 MiB
// with the OWASP parameters) for its whole run, and more at once than
// there are CPUs only adds memory — eight concurrent logons would hold
// eight times as much — without finishing any sooner. The rest wait their
// turn; the wait is outside any store transaction (the core hashes before
// it writes).
var hashing = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// idKey is argon2.IDKey within the bound on concurrent hashing.
func idKey(pw, salt []byte, p Params, n uint32) []byte {
	hashing <- struct{}{}
	defer func() { <-hashing }()
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, n)
}

// ErrMalformedHash reports a stored hash that is not an argon2id PHC
// string gatehouse can verify. It never contains the hash.
var ErrMalformedHash = errors.New("stored password hash is malformed")

// Verify reports whether pw matches the PHC string phc, comparing in
// constant time.
func Verify(phc string, pw []byte) (bool, error) {
	p, salt, want, err := parse(phc)
	if err != nil {
		return false, err
	}
	got := idKey(pw, salt, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when there is no real hash to check, so that
// "no such credential" costs as long as "wrong password", from the very
// first call. It is a well-formed PHC string with the parameters real hashes
// use, built at start-up without hashing anything (argon2id's work is in
// verifying, not in the string): its salt and key are fixed bytes, and no
// password is ever checked against it for an answer.
var dummyHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, OWASP.Memory, OWASP.Time, OWASP.Threads,
	b64.EncodeToString([]byte("gatehouse-dummy!")[:saltLen]), b64.EncodeToString(make([]byte, keyLen)))

// VerifyDummy spends the time of one verification with the OWASP parameters
// and reports nothing: a refusal without a credential to check.
func VerifyDummy(pw []byte) {
	Verify(dummyHash, pw) //nolint:errcheck // the answer is always "no"
}

func parse(phc string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrMalformedHash
	}
	var m, t, th uint64
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil ||
		m < 8 || m > maxMemory || t < 1 || t > maxTime || th < 1 || th > maxThreads {
		return p, nil, nil, ErrMalformedHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, ErrMalformedHash
	}
	return Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th)}, salt, key, nil
}
