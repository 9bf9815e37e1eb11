package gatehouse

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
)

// UnsafeRune reports whether r must never reach a terminal raw: a C0 or
// C1 control character (U+009B is a one-byte CSI) or DEL, a format
// character (bidi embeddings, overrides, isolates and marks, zero-width
// spaces and joiners, the BOM, invisible tags), or a line or paragraph
// separator. Each can move the cursor, reorder or hide what follows, or
// make two different strings look the same.
func UnsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// EscapeUnsafe returns s with every unsafe rune (see UnsafeRune) written as
// a Go escape, \u009b or \U000e0041, and every invalid UTF-8 byte as \xff.
// Everything else is kept as it is. It is the one escaping function of
// every view meant for people: messages, tables, tab-separated rows, CSV.
func EscapeUnsafe(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return UnsafeRune(r) || r == unicode.ReplacementChar })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for j, r := range s[i:] {
		switch {
		case r == unicode.ReplacementChar && strings.HasPrefix(s[i+j:], "\uFFFD"):
			b.WriteRune(r)
		case r == unicode.ReplacementChar:
			fmt.Fprintf(&b, `\x%02x`, s[i+j])
		case !UnsafeRune(r):
			b.WriteRune(r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// NameSkeleton is the key under which two account names are confusable:
// the Unicode TR39 skeleton (UTS #39, section 4) of the name, case-folded,
// so "аnn@example.com" (Cyrillic а), "ANN@example.com" and "ann@example.com"
// share one, and so do "jm@" and "jrn@". It is for comparison only, never
// for display.
func NameSkeleton(name string) string {
	return confusables.Skeleton(cases.Fold().String(confusables.Skeleton(name)))
}

// HoldsPrivateKey reports whether s holds the marker of private key
// material: an age identity (AGE-SECRET-KEY-1…, AGE-PLUGIN-…) or a PEM or
// OpenSSH private key block. Such text pasted into a reason, an actor, a
// technician ID or a name would otherwise be kept for ever in the
// append-only audit trail and printed by every listing of it, so the
// validators refuse it; iostreams.Redact is the same defence for messages.
func HoldsPrivateKey(s string) bool {
	u := strings.ToUpper(s)
	return strings.Contains(u, "AGE-SECRET-KEY-1") || strings.Contains(u, "AGE-PLUGIN-") ||
		strings.Contains(u, "PRIVATE KEY-----") || strings.Contains(u, "PRIVATE+KEY+")
}

// errPrivateKey is the refusal of text that HoldsPrivateKey.
func errPrivateKey(what string) error {
	return Errorf(EINVALID, "%s looks like private key material (an age identity or a private key block): refusing it, as it would be recorded or shown", what)
}

// ParseBool reads a boolean from an environment variable or a file the
// strict way: true, false, 1, 0, yes, no, on or off, in any case. Anything
// else is an error, never a silent false.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, Errorf(EINVALID, "not a boolean: use true, false, 1, 0, yes, no, on or off")
}
