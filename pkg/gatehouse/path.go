package gatehouse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a file path on Linux (PATH_MAX, NAME_MAX). A path beyond them
// can never be opened; saying so up front makes it invalid input (exit 2)
// instead of an operating-system error (exit 3).
const (
	maxPath     = 4096
	maxPathName = 255
)

// ValidatePath checks a file path given on the command line or in a
// configuration file: not empty, no NUL or other control character (legal
// in Linux file names, but a way to hide what a path says in a terminal,
// log or audit event), valid UTF-8 for the same reason, at most 4096 bytes,
// and no name in it over 255 bytes. Messages never echo more than a clipped
// prefix of the path.
func ValidatePath(what, p string) error {
	switch {
	case p == "":
		return Errorf(EINVALID, "%s is empty", what)
	case !utf8.ValidString(p) || strings.ContainsFunc(p, unicode.IsControl): // C0, DEL and C1
		return Errorf(EINVALID, "%s %q has control characters or is not UTF-8", what, Clip(p, 80))
	case len(p) > maxPath:
		return Errorf(EINVALID, "%s is too long (%d bytes, at most %d)", what, len(p), maxPath)
	}
	for _, name := range strings.Split(p, "/") {
		if len(name) > maxPathName {
			return Errorf(EINVALID, "%s %q has a name longer than %d bytes", what, Clip(p, 80), maxPathName)
		}
	}
	return nil
}
