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
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
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

// ParseRecipientsFile reads recipients in age's recipients-file format:
// one per line, blank lines and lines starting with # ignored. Errors name
// the file and line, never the line's content.
func ParseRecipientsFile(r io.Reader, name string) ([]gatehouse.Recipient, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRecipientsFile+1))
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "recipients file %s: %v", name, err)
	}
	if len(data) > maxRecipientsFile {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s is larger than %d bytes", name, maxRecipientsFile)
	}
	var out []gatehouse.Recipient
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxRecipientLine+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rc, err := ParseRecipient(line)
		if err != nil {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s line %d: %s", name, n, gatehouse.ErrorMessage(err))
		}
		if len(out) == maxRecipients {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s has more than %d recipients", name, maxRecipients)
		}
		out = append(out, rc)
	}
	if err := sc.Err(); err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s: a line is longer than %d bytes", name, maxRecipientLine)
	}
	if len(out) == 0 {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "recipients file %s has no recipients", name)
	}
	return out, nil
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
