// Package gatehouse holds the domain of the gatehouse account administration
// tool: the types every layer speaks (events, settings, users), the error
// codes that callers act on, and — as later capabilities land — the single
// gate through which sign-ins and support logons are decided.
//
// The package imports no SQL driver, no CLI framework and no configuration
// library. Storage lives in internal/sqlite, which implements the services
// declared here; the command-line tool lives in internal/cli. A server that
// embeds gatehouse imports this package for its types and errors.
//
// Errors returned by gatehouse services are *Error values carrying a Code.
// Use ErrorCode to read the code of any error and ErrorMessage for the text
// that is safe to show a user: neither ever contains a secret.
package gatehouse
