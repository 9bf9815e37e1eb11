// Package support carries out vendor support access: it parses the
// vendor's age recipients, builds and encrypts the envelope that hands a
// new password to the vendor, delivers it, and orchestrates the two-phase
// request/rotation over the store. The password exists only in memory: its
// bytes and the envelope's plaintext are wiped once the envelope is sealed
// (see Seal for exactly what holds).
package support

import (
	"bufio"
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/ssh"
)

// Limits on recipient input, after age's own: a line, a file, a count.
const (
	maxRecipientLine  = 16 << 10
	maxRecipientsFile = 1 << 20
	maxRecipients     = 1000
	minRSABits        = 2048
)

// ParseRecipient parses one recipient: an age X25519 recipient (age1…) or
// an OpenSSH ssh-ed25519 or ssh-rsa public key line (with optional comment).
// Errors never quote the input: a wrong line could be something private
// pasted by mistake.
func ParseRecipient(s string) (gatehouse.Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "empty recipient")
	case len(s) > maxRecipientLine:
		return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "recipient too long (%d bytes, at most %d)", len(s), maxRecipientLine)
	case strings.HasPrefix(s, "AGE-SECRET-KEY-"):
		return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "that is an age identity (a private key), not a recipient: give its public key (age-keygen -y)")
	case strings.HasPrefix(s, "-----BEGIN"):
		return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "that looks like a private key file, not a recipient: give the public key (.pub)")
	// The post-quantum prefix is the Bech32 HRP "age1pq" and its separator
	// "1": an X25519 recipient's data may itself start with "pq" (about 1 key
	// in 1,024), but never with "1", which Bech32 data cannot contain.
	case strings.HasPrefix(s, "age1pq1"):
		return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "post-quantum age recipients are not supported yet: give an X25519 (age1…) or SSH recipient")
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "invalid age recipient: not a valid X25519 public key (age1…)")
		}
		canon := r.String()
		sum := sha256.Sum256([]byte(canon))
		return gatehouse.Recipient{Kind: "x25519", Recipient: canon, Fingerprint: "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])}, nil
	case strings.HasPrefix(s, "ssh-"):
		return parseSSH(s)
	}
	return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "invalid recipient: use an age X25519 recipient (age1…) or an ssh-ed25519 or ssh-rsa public key")
}

func parseSSH(s string) (gatehouse.Recipient, error) {
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil || len(bytes.TrimSpace(rest)) > 0 {
		return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "invalid SSH public key: not a single ssh-ed25519 or ssh-rsa key line")
	}
	kind := pub.Type()
	switch kind {
	case ssh.KeyAlgoED25519:
	case ssh.KeyAlgoRSA:
		if ck, ok := pub.(ssh.CryptoPublicKey); ok {
			if rk, ok := ck.CryptoPublicKey().(interface{ Size() int }); ok && rk.Size()*8 < minRSABits {
				return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "SSH RSA key too short (%d bits, at least %d)", rk.Size()*8, minRSABits)
			}
		}
	default:
		return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "unsupported SSH key type %s: age can encrypt to ssh-ed25519 and ssh-rsa keys", kind)
	}
	canon := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if _, err := agessh.ParseRecipient(canon); err != nil {
		return gatehouse.Recipient{}, gatehouse.Errorf(gatehouse.EINVALID, "invalid SSH public key: age cannot use it")
	}
	return gatehouse.Recipient{Kind: kind, Recipient: canon, Fingerprint: ssh.FingerprintSHA256(pub), Comment: clean(comment)}, nil
}

// clean keeps a key comment printable and short: it is shown in tables.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// Limits of a recipients file line, as age's: a recipient line of at most
// 8 KiB (sshd's limit), and any line, comments included, of at most 64 KiB
// (bufio.Scanner's default, past which age cannot read the file).
const (
	maxRecipientsFileLine = 8 << 10
	maxRecipientsFileScan = bufio.MaxScanTokenSize
)

// SkippedLine is a line of a recipients file that age itself skips with a
// warning: a well-formed SSH public key of a type age cannot encrypt to
// (ecdsa-sha2-*, sk-ssh-ed25519@openssh.com, sk-ecdsa-*, ssh-dss, a
// certificate, or an RSA key under 2048 bits), as found in a GitHub .keys
// list.
type SkippedLine struct {
	Line    int    // 1-based line number
	KeyType string // the key's type name, as the line and the key agree on it
}

// ParseRecipientsFile reads recipients in age's recipients-file format and
// decides each line exactly as "age -R" does (filippo.io/age cmd/age
// parse.go, the version go.mod pins): a line that is empty or starts with
// # is ignored; nothing is trimmed but the line ending (LF or CRLF), so a
// line indented by white space, or an age1 recipient followed by some, is
// refused as age refuses it; a well-formed SSH key of a type age cannot
// use is skipped and reported in skipped; any other line age refuses is
// refused here. Recipients that age accepts but gatehouse cannot encrypt
// to on its own — post-quantum (age1pq1…), tag (age1tag1…) and plugin
// recipients (age1NAME1…) — are refused too, each with its reason: every
// envelope must be readable by every recipient. A file with no recipient
// left is refused.
//
// Errors name the file and line, never the line's content: a wrong line
// could be something private pasted by mistake.
func ParseRecipientsFile(r io.Reader, name string) (rs []gatehouse.Recipient, skipped []SkippedLine, err error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRecipientsFile+1))
	if err != nil {
		return nil, nil, gatehouse.Wrap(gatehouse.EINVALID, err, "recipients file %s: %v", name, err)
	}
	if len(data) > maxRecipientsFile {
		return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s is larger than %d bytes", name, maxRecipientsFile)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxRecipientsFileScan)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text() // ScanLines drops the LF and a CR before it, as age reads
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rc, keyType, err := parseRecipientsFileLine(line)
		switch {
		case keyType != "":
			skipped = append(skipped, SkippedLine{Line: n, KeyType: keyType})
			continue
		case err != nil:
			return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s line %d: %s", name, n, gatehouse.ErrorMessage(err))
		case len(rs) == maxRecipients:
			return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s has more than %d recipients", name, maxRecipients)
		}
		rs = append(rs, rc)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s line %d is longer than %d bytes", name, n+1, maxRecipientsFileScan)
	}
	if len(rs) == 0 && len(skipped) > 0 {
		lines := make([]string, 0, len(skipped))
		for _, s := range skipped {
			lines = append(lines, strconv.Itoa(s.Line))
		}
		return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s has no recipients age can encrypt to: the SSH keys on lines %s are of types age cannot use", name, strings.Join(lines, ", "))
	}
	if len(rs) == 0 {
		return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s has no recipients age can encrypt to", name)
	}
	return rs, skipped, nil
}

// parseRecipientsFileLine decides one line of a recipients file: a
// recipient, a skipped SSH key (keyType set), or an error. The branches
// follow age's parseRecipient and parseRecipientsFile in their order.
func parseRecipientsFileLine(line string) (r gatehouse.Recipient, keyType string, err error) {
	switch {
	case !utf8.ValidString(line):
		return r, "", gatehouse.Errorf(gatehouse.EINVALID, "not valid UTF-8")
	case len(line) > maxRecipientsFileLine:
		return r, "", gatehouse.Errorf(gatehouse.EINVALID, "line longer than %d bytes", maxRecipientsFileLine)
	case strings.HasPrefix(line, "age1tag1") || strings.HasPrefix(line, "age1tagpq1"):
		err = gatehouse.Errorf(gatehouse.EINVALID, "age tag recipients (age1tag1…) are not supported: give an X25519 (age1…) or SSH recipient")
	case strings.HasPrefix(line, "age1pq1"):
		err = gatehouse.Errorf(gatehouse.EINVALID, "post-quantum age recipients are not supported yet: give an X25519 (age1…) or SSH recipient")
	case strings.HasPrefix(line, "age1") && strings.Count(line, "1") > 1:
		// age reads such a line as a plugin recipient (age1NAME1…), which
		// needs the program age-plugin-NAME at every encryption.
		err = gatehouse.Errorf(gatehouse.EINVALID, "age plugin recipients are not supported: give an X25519 (age1…) or SSH recipient")
	case strings.HasPrefix(line, "age1") || strings.HasPrefix(line, "ssh-"):
		r, err = ParseRecipient(line)
		if err == nil && line != strings.TrimSpace(line) && strings.HasPrefix(line, "age1") {
			err = gatehouse.Errorf(gatehouse.EINVALID, "white space after the recipient (age refuses it)")
		}
	default:
		err = gatehouse.Errorf(gatehouse.EINVALID, "invalid recipient: use an age X25519 recipient (age1…) or an ssh-ed25519 or ssh-rsa public key")
	}
	if err == nil {
		return r, "", nil
	}
	if t, ok := unsupportedSSHKey(line); ok {
		return gatehouse.Recipient{}, t, nil
	}
	switch {
	case strings.HasPrefix(line, "AGE-"):
		return r, "", gatehouse.Errorf(gatehouse.EINVALID, "that is an age identity (a private key), not a recipient: give its public key (age-keygen -y)")
	case strings.HasPrefix(line, "\uFEFF"):
		return r, "", gatehouse.Errorf(gatehouse.EINVALID, "the line starts with a byte order mark (U+FEFF), which age refuses: save the file as UTF-8 without one")
	case line[0] == ' ' || line[0] == '\t':
		return r, "", gatehouse.Errorf(gatehouse.EINVALID, "the line starts with white space, which age refuses")
	}
	return gatehouse.Recipient{}, "", err
}

// unsupportedSSHKey reports whether s is a well-formed SSH public key line
// that age skips rather than refuses, and its type. It is age's own test
// (cmd/age/parse.go, unsupportedSSHKey, BSD-3-Clause, The age Authors),
// copied because it lives in age's main package: the first space-separated
// field must name the type the key's wire encoding starts with, and the
// type must be neither ssh-ed25519 nor an RSA key of 2048 bits or more.
func unsupportedSSHKey(s string) (string, bool) {
	fields := strings.Split(s, " ")
	if len(fields) < 2 {
		return "", false
	}
	key, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return "", false
	}
	k := cryptobyte.String(key)
	var typeLen uint32
	var typeBytes []byte
	if !k.ReadUint32(&typeLen) || !k.ReadBytes(&typeBytes, int(typeLen)) {
		return "", false
	}
	if t := fields[0]; t == string(typeBytes) {
		switch t {
		case ssh.KeyAlgoED25519:
			return "", false
		case ssh.KeyAlgoRSA:
			out, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
			if err != nil {
				return "", false
			}
			cryptoKey, ok := out.(ssh.CryptoPublicKey)
			if !ok {
				return "", false
			}
			rsaKey, ok := cryptoKey.CryptoPublicKey().(*rsa.PublicKey)
			if !ok {
				return "", false
			}
			return t, rsaKey.N.BitLen() < minRSABits
		default:
			return t, true
		}
	}
	return "", false
}

// AgeRecipients turns stored recipients into age's.
func AgeRecipients(rs []gatehouse.Recipient) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(rs))
	for _, r := range rs {
		var ar age.Recipient
		var err error
		if r.Kind == "x25519" {
			ar, err = age.ParseX25519Recipient(r.Recipient)
		} else {
			ar, err = agessh.ParseRecipient(r.Recipient)
		}
		if err != nil {
			return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "stored recipient %s cannot be used; remove and add it again", r.Fingerprint)
		}
		out = append(out, ar)
	}
	return out, nil
}
