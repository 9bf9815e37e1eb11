package gatehouse

import (
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// User is an account.
type User struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"` // local, sso or support
	Email    string `json:"email"`
	Enabled  bool   `json:"enabled"`
	MSPAdmin bool   `json:"msp_admin"`
	// Pending: enabled, not an MSP admin, and no role, no group access, no
	// organisation visibility — awaiting role assignment.
	Pending      bool       `json:"pending"`
	CreatedAt    time.Time  `json:"created_at"`
	CreatedVia   string     `json:"created_via"` // manual, auto (SSO), init, or the support action
	CreatedBy    string     `json:"created_by"`
	LastSignInAt *time.Time `json:"last_signin_at,omitempty"`
	SSOIssuer    string     `json:"sso_issuer,omitempty"`
	SSOSubject   string     `json:"sso_subject,omitempty"`
	SSOExempt    bool       `json:"sso_exempt"`
	// LockedUntil is the end of a lock after too many failed logons (for
	// the support account: of its live credential); nil when not locked.
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	Roles       []string   `json:"roles"`
	Scopes      []string   `json:"scopes"`
	Groups      []string   `json:"groups"`
	Orgs        []string   `json:"orgs"`
}

// Grants names roles, scopes, groups and organisations to assign or remove.
type Grants struct {
	Roles  []string `json:"roles,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Orgs   []string `json:"orgs,omitempty"`
}

// Empty reports whether g names nothing.
func (g Grants) Empty() bool {
	return len(g.Roles)+len(g.Scopes)+len(g.Groups)+len(g.Orgs) == 0
}

// UserFilter selects users for listing. Zero values match everything.
type UserFilter struct {
	PendingOnly  bool
	CreatedSince time.Time // created at or after
	CreatedUntil time.Time // created before (--older-than)
}

// userNamePattern is ASCII on purpose: a Unicode look-alike ("аdmin" with a
// Cyrillic а) must not pass for another user. Accounts created on SSO
// sign-in are named by their normalised email and are not checked here.
var userNamePattern = lazyRegexp(`^[A-Za-z][A-Za-z0-9._@+-]{0,127}$`)

// ValidateUserName checks a local user name: an ASCII letter, then up to
// 127 ASCII letters, digits, '.', '_', '@', '+' or '-'. Names that start with
// a digit are refused, so a numeric USER argument always means an ID.
func ValidateUserName(s string) error {
	if HoldsPrivateKey(s) {
		return errPrivateKey("the user name")
	}
	if !userNamePattern().MatchString(s) {
		return Errorf(EINVALID, "invalid user name %q: start with an ASCII letter; use up to 128 ASCII letters, digits, '.', '_', '@', '+' or '-'", Clip(s, 40))
	}
	return nil
}

var (
	// Roles and scopes grant access: ASCII only, so no look-alike of
	// "Master" can be made.
	asciiRecordPattern = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9 ._&()-]{0,63}$`)
	// Groups and organisations may carry customers' names in any script.
	unicodeRecordPattern = lazyRegexp(`^[\p{L}\p{N}][\p{L}\p{M}\p{N} ._&()-]{0,63}$`)
)

// ValidateRecordName checks the name of a role, scope, group or
// organisation: up to 64 letters, digits, spaces and . _ & ( ) -, ASCII
// for roles and scopes. Group and organisation names must be in NFC.
func ValidateRecordName(kind, s string) error {
	pattern, letters := unicodeRecordPattern, "letters"
	if kind == "role" || kind == "scope" {
		pattern, letters = asciiRecordPattern, "ASCII letters"
	}
	if !pattern().MatchString(s) || strings.HasSuffix(s, " ") || !norm.NFC.IsNormalString(s) {
		return Errorf(EINVALID, "invalid %s name %q: use up to 64 %s, digits, spaces and . _ & ( ) -", kind, Clip(s, 40), letters)
	}
	return nil
}

// ValidateActor checks an actor name given with --actor: 1 to 128
// printable characters. It goes into every event the command writes.
func ValidateActor(s string) error {
	if err := ValidateText("actor", s, 128); err != nil {
		return err
	}
	if strings.TrimSpace(s) != s || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return Errorf(EINVALID, "invalid actor: use 1 to 128 printable characters")
	}
	return nil
}

// lazyRegexp compiles a pattern on first use, not at start-up: Unicode
// classes take milliseconds to compile, and most commands never need them.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
