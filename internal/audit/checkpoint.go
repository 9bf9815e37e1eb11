package audit

// Checkpoints and proofs, in the C2SP formats that transparency logs,
// witnesses and their verifiers share:
//
//   - a checkpoint (c2sp.org/tlog-checkpoint) is a signed note
//     (golang.org/x/mod/sumdb/note) whose text is the log's origin, the tree
//     size and the base64 root hash, one per line; the log signs it with an
//     Ed25519 note key named after the origin, witnesses add cosignatures;
//   - a proof (c2sp.org/tlog-proof) is an event's index, its inclusion proof
//     and the signed checkpoint it is proved against; gatehouse puts the
//     event's canonical encoding in the proof's extra line, so that the
//     proof alone says what was logged.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a tree head: the first Size events of the log called
// Origin hash to Root.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Text is the checkpoint's note text, as signed.
func (c Checkpoint) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// RootText is the checkpoint's root hash as its text writes it (base64).
func RootText(c Checkpoint) string { return base64.StdEncoding.EncodeToString(c.Root[:]) }

// ValidOrigin reports whether s can be a log's origin: the name of its
// signing key, so a note key name (no spaces, no '+', printable, not
// empty), at most 128 bytes.
func ValidOrigin(s string) bool {
	if s == "" || len(s) > 128 || strings.ContainsAny(s, "+") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r > 0x7e {
			return false
		}
	}
	return true
}

// ParseCheckpoint reads a checkpoint's note text. Extension lines after
// the root hash are allowed and ignored, as the format says.
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.SplitAfter(text, "\n")
	if len(lines) < 4 || !strings.HasSuffix(text, "\n") {
		return c, errors.New("not a checkpoint: want the origin, the tree size and the root hash, one per line")
	}
	c.Origin = strings.TrimSuffix(lines[0], "\n")
	if c.Origin == "" {
		return c, errors.New("not a checkpoint: the origin line is empty")
	}
	size := strings.TrimSuffix(lines[1], "\n")
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != size {
		return c, errors.New("not a checkpoint: the tree size is not a decimal number")
	}
	c.Size = n
	root, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(root) != tlog.HashSize {
		return c, errors.New("not a checkpoint: the root hash is not 32 bytes of base64")
	}
	copy(c.Root[:], root)
	return c, nil
}

// SignCheckpoint signs c with the log's key, whose name must be the origin.
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("the key is named %q but the log's origin is %q", s.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: c.Text()}, s)
}

// OpenCheckpoint verifies a signed checkpoint with the log's key and
// returns it with the note (whose other signatures, such as witnesses'
// cosignatures, are in UnverifiedSigs unless verifiers lists their keys).
func OpenCheckpoint(msg []byte, log note.Verifier, others ...note.Verifier) (Checkpoint, *note.Note, error) {
	n, err := note.Open(msg, note.VerifierList(append([]note.Verifier{log}, others...)...))
	if err != nil {
		var unknown *note.UnknownVerifierError
		switch {
		case errors.As(err, &unknown), errors.As(err, new(*note.UnverifiedNoteError)):
			return Checkpoint{}, nil, fmt.Errorf("the checkpoint is not signed by the log's key %s", log.Name())
		case errors.As(err, new(*note.InvalidSignatureError)):
			return Checkpoint{}, nil, errors.New("a signature on the checkpoint is invalid: it was altered")
		}
		return Checkpoint{}, nil, errors.New("not a signed checkpoint (a C2SP signed note)")
	}
	logSigned := false
	for _, s := range n.Sigs {
		if s.Name == log.Name() && s.Hash == log.KeyHash() {
			logSigned = true
		}
	}
	if !logSigned {
		return Checkpoint{}, nil, fmt.Errorf("the checkpoint is not signed by the log's key %s", log.Name())
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return c, nil, err
	}
	if c.Origin != log.Name() {
		return c, nil, fmt.Errorf("the checkpoint is for the log %q, the key for %q", c.Origin, log.Name())
	}
	return c, n, nil
}

// ReadCheckpoint reads a signed checkpoint's text without checking any
// signature: for a store's own rows, which a verifier compares with the
// events, and for messages.
func ReadCheckpoint(msg []byte) (Checkpoint, error) {
	text, _, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return Checkpoint{}, errors.New("not a signed checkpoint (a C2SP signed note)")
	}
	return ParseCheckpoint(string(text) + "\n")
}

// LogKey is the log's signing key, as 'audit keygen' writes it: a note
// signer key (PRIVATE+KEY+origin+hash+key), and the verifier key derived
// from it.
type LogKey struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VKey is the public key's text (origin+hash+key): what a verifier of
	// checkpoints and proofs is given.
	VKey string
}

// GenerateLogKey makes a new Ed25519 key for the log called origin.
func GenerateLogKey(origin string) (skey, vkey string, err error) {
	if !ValidOrigin(origin) {
		return "", "", errors.New("the origin must be 1 to 128 printable ASCII characters without spaces or '+', such as example.com/gatehouse")
	}
	return note.GenerateKey(rand.Reader, origin)
}

// ParseLogKey reads a signer key. Its errors never quote the key.
func ParseLogKey(skey string) (*LogKey, error) {
	bad := errors.New("not a gatehouse log signing key (PRIVATE+KEY+... as 'gatehouse audit keygen' writes)")
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, bad
	}
	// PRIVATE+KEY+name+hash+key: the key's base64 may itself hold '+'.
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return nil, bad
	}
	b, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(b) != 1+ed25519.SeedSize || b[0] != 1 {
		return nil, bad
	}
	pub := ed25519.NewKeyFromSeed(b[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, bad
	}
	v, err := note.NewVerifier(vkey)
	if err != nil || v.KeyHash() != s.KeyHash() {
		return nil, bad
	}
	return &LogKey{Signer: s, Verifier: v, VKey: vkey}, nil
}

// ParseVerifierKey reads a log's public key (origin+hash+key). Its errors
// never quote the text, which may be a private key given by mistake.
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	vkey = strings.TrimSpace(vkey)
	if strings.HasPrefix(vkey, "PRIVATE+KEY+") {
		return nil, errors.New("this is the log's private signing key: give its public key (the .pub file 'gatehouse audit keygen' wrote)")
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, errors.New("not a log public key (origin+hash+key as 'gatehouse audit keygen' writes)")
	}
	return v, nil
}

// SignerNames lists the key names on a signed note's signature lines, in
// order, without verifying them.
func SignerNames(msg []byte) []string {
	_, sigs, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(sigs), "\n") {
		if rest, ok := strings.CutPrefix(line, "— "); ok {
			name, _, _ := strings.Cut(rest, " ")
			names = append(names, name)
		}
	}
	return names
}

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// Proof is an inclusion proof of one event against a signed checkpoint.
type Proof struct {
	// Extra is the event's canonical encoding (the leaf's data). It is not
	// authenticated by itself: the proof checks it against the checkpoint.
	Extra []byte
	// Index is the event's record index: its sequence number minus 1.
	Index      int64
	Hashes     tlog.RecordProof
	Checkpoint []byte // the signed note, verbatim
}

// Format writes p in the C2SP tlog-proof format.
func (p *Proof) Format() []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	if len(p.Extra) > 0 {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", p.Index)
	for _, h := range p.Hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// MaxProofSize bounds a proof file: 64 hashes, an event and a checkpoint
// with many cosignatures fit well within it.
const MaxProofSize = 1 << 20

// ParseProof reads a C2SP tlog-proof.
func ParseProof(b []byte) (*Proof, error) {
	bad := func(what string) (*Proof, error) {
		return nil, fmt.Errorf("not a C2SP tlog-proof: %s", what)
	}
	if len(b) > MaxProofSize {
		return bad("larger than 1 MiB")
	}
	head, cp, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return bad("no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != ProofHeader {
		return bad("the first line is not " + ProofHeader)
	}
	lines = lines[1:]
	p := &Proof{Checkpoint: cp}
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return bad("the extra line is not base64")
		}
		p.Extra, lines = extra, lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return bad("no index line")
	}
	idx := strings.TrimPrefix(lines[0], "index ")
	n, err := strconv.ParseInt(idx, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != idx {
		return bad("the index is not a decimal number")
	}
	p.Index = n
	if len(lines)-1 > 64 {
		return bad("more than 64 proof hashes")
	}
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return bad("a proof line is not a 32-byte base64 hash")
		}
		p.Hashes = append(p.Hashes, tlog.Hash(h))
	}
	return p, nil
}

// Verify checks that leaf (an event's canonical encoding) is record
// p.Index of the tree that p's checkpoint, signed by log, describes.
func (p *Proof) Verify(log note.Verifier, leaf []byte, witnesses ...note.Verifier) (Checkpoint, *note.Note, error) {
	c, n, err := OpenCheckpoint(p.Checkpoint, log, witnesses...)
	if err != nil {
		return c, nil, err
	}
	if p.Index >= c.Size {
		return c, nil, fmt.Errorf("the proof is for event %d but the checkpoint covers only %d events", p.Index+1, c.Size)
	}
	if err := tlog.CheckRecord(p.Hashes, c.Size, c.Root, p.Index, tlog.RecordHash(leaf)); err != nil {
		return c, nil, fmt.Errorf("event %d is not in the log at that checkpoint: the inclusion proof does not lead to its root", p.Index+1)
	}
	return c, n, nil
}

// CheckNote checks that msg is a signed checkpoint in the form gatehouse
// keeps one: a checkpoint's text, an empty line, and one or more note
// signature lines ("— name base64"), in printable ASCII but for the em
// dash that starts each signature line. Signatures are not verified: this
// is the form a stored note must keep whoever signed it, so that a note
// can gain signature lines and nothing else, and is safe to print.
func CheckNote(msg []byte) error {
	malformed := errors.New("not a signed checkpoint in the form gatehouse stores (a C2SP signed note)")
	if _, err := note.Open(msg, note.VerifierList()); !errors.As(err, new(*note.UnverifiedNoteError)) {
		return malformed
	}
	text, sigs, _ := bytes.Cut(msg, []byte("\n\n"))
	if bytes.Contains(sigs, []byte("\n\n")) {
		return malformed // text lines after an empty line
	}
	for _, r := range string(text) {
		if r != '\n' && (r < ' ' || r > '~') {
			return malformed
		}
	}
	for line := range strings.Lines(string(sigs)) {
		rest, ok := strings.CutPrefix(line, "— ")
		if !ok || strings.Count(rest, " ") != 1 {
			return malformed
		}
		for _, r := range strings.TrimSuffix(rest, "\n") {
			if r < ' ' || r > '~' {
				return malformed
			}
		}
	}
	if _, err := ReadCheckpoint(msg); err != nil {
		return err
	}
	return nil
}

// MergeNote returns stored with the signature lines of add that it lacks
// appended, in add's order: how a stored checkpoint gains a cosignature
// without losing one that another run added meanwhile. add must be the
// same checkpoint (the same text); both must pass CheckNote.
func MergeNote(stored, add []byte) ([]byte, error) {
	if err := CheckNote(stored); err != nil {
		return nil, fmt.Errorf("the stored checkpoint: %v", err)
	}
	if err := CheckNote(add); err != nil {
		return nil, err
	}
	st, ssigs, _ := bytes.Cut(stored, []byte("\n\n"))
	at, asigs, _ := bytes.Cut(add, []byte("\n\n"))
	if !bytes.Equal(st, at) {
		return nil, errors.New("not the same checkpoint as the one stored of that size")
	}
	have := map[string]bool{}
	for line := range strings.Lines(string(ssigs)) {
		have[line] = true
	}
	out := bytes.Clone(stored)
	for line := range strings.Lines(string(asigs)) {
		if !have[line] {
			have[line] = true
			out = append(out, line...)
		}
	}
	return out, nil
}
