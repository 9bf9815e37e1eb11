package gatehouse

import (
	"errors"
	"fmt"
	"io/fs"
	"unicode/utf8"
)

// Code classifies an error by what the caller should do about it. Codes are
// stable strings: scripts see them in JSON output and the CLI maps each to an
// exit status in one place.
type Code string

// Error codes. Anything that is not an *Error is treated as EINTERNAL.
const (
	// EINVALID: the input is malformed or out of range. Nothing changed.
	EINVALID Code = "invalid"
	// ENOTFOUND: a named thing (user, role, recipient) does not exist.
	ENOTFOUND Code = "not_found"
	// ECONFLICT: the change collides with existing state (a unique name
	// taken, a store initialised with another mode).
	ECONFLICT Code = "conflict"
	// EUNAUTHORIZED: the actor may not make this change. The refusal itself
	// is a decision and is audited.
	EUNAUTHORIZED Code = "unauthorized"
	// ECHECKFAILED: a check ran and its answer is "no": tamper found, drift
	// found, a logon refused. Not an error in the tool.
	ECHECKFAILED Code = "check_failed"
	// EUNAVAILABLE: the store cannot be used: missing, not a gatehouse
	// store, from a newer version, locked past the busy timeout, I/O.
	EUNAVAILABLE Code = "unavailable"
	// EINTERNAL: a bug or an unexpected condition.
	EINTERNAL Code = "internal"
)

// Error is the error type of every gatehouse service. Message is written for
// the person or script that ran the command: lower case, no final period,
// and never a secret. Err, when set, is the underlying cause for logs and
// errors.Is; it is not shown to users by default.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and message and err as its cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil,
// and EINTERNAL for any other error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, or a generic message for other errors so that an unexpected
// driver or library message (which could echo input) is not shown verbatim.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error: " + err.Error()
}

// PathCause returns the operating-system error inside a path error
// ("no such file or directory"), for messages that name the path
// themselves and need not repeat it.
func PathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Clip shortens s to at most n bytes (whole characters) for an error
// message, so that a megabyte of input does not become a megabyte of
// stderr.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut at a character's start, never inside one: a name in another
	// script would otherwise end in a broken byte sequence.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
