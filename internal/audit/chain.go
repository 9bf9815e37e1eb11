// Package audit defines how an audit event is encoded for hashing and how a
// chain of events is verified. It is pure: no SQL, no I/O, no clock.
//
// Each event's hash is SHA-256 over
//
//	domain tag "gatehouse/audit/v1" and a zero byte,
//	the sequence number as 8 bytes big-endian,
//	the previous event's hash (32 raw bytes; zeros for the first event),
//	then time, actor, os_user, action, target, outcome and details,
//	each as a 4-byte big-endian length followed by its bytes.
//
// Length prefixes make the encoding unambiguous (no field can bleed into the
// next), the sequence number binds an event to its place, and the previous
// hash binds it to everything before it. The time is encoded in TimeLayout,
// the same fixed-width text the store keeps, so that the bytes hashed are the
// bytes stored; ParseTime accepts no other text, so a verifier that reads a
// stored time with it checks exactly the stored bytes. The known-answer
// vectors in testdata/vectors.json pin this encoding: a change to it fails a
// test instead of silently invalidating existing stores.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TimeLayout is the fixed-width UTC layout of event times. Fixed width makes
// the stored text sort in time order, so range queries can use an index.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// GenesisHash is the previous hash of the first event.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

const domainTag = "gatehouse/audit/v1\x00"

// FormatTime renders t as stored and hashed.
func FormatTime(t time.Time) string { return string(AppendTime(nil, t)) }

// AppendTime appends FormatTime(t) to b. It writes the layout's fixed
// digits itself (time.Format interprets the layout on every call, a large
// share of a verification's cost); a year outside 0–9999, which the layout
// does not write in four digits, goes through time.Format.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	var d [len(TimeLayout)]byte
	put := func(at, width, v int) {
		for i := at + width - 1; i >= at; i-- {
			d[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, 4, year)
	d[4] = '-'
	put(5, 2, int(month))
	d[7] = '-'
	put(8, 2, day)
	d[10] = 'T'
	put(11, 2, hour)
	d[13] = ':'
	put(14, 2, minute)
	d[16] = ':'
	put(17, 2, sec)
	d[19] = '.'
	put(20, 9, t.Nanosecond())
	d[29] = 'Z'
	return append(b, d[:]...)
}

// ErrTimeForm is returned by ParseTime for text that FormatTime did not write.
var ErrTimeForm = errors.New("not in gatehouse's form (" + TimeLayout + ")")

// ParseTime reads a time written by FormatTime, and only that: text that
// time.Parse would accept for the same instant (a one-digit hour, a comma as
// decimal mark) is refused with ErrTimeForm. The hash covers FormatTime's
// text, while range queries compare the stored text, so a stored time in any
// other form would let a row move out of its time window with its hash intact.
func ParseTime(s string) (time.Time, error) {
	// Read by hand, digit by digit at the layout's fixed places: exactly
	// the text FormatTime writes for a year 0–9999 (time.Parse and a
	// second FormatTime to compare cost more than hashing the event).
	// TestParseTimeAgreesWithTimePackage and FuzzParseTime hold it to
	// time.Parse plus that comparison.
	if len(s) != len(TimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
		s[16] != ':' || s[19] != '.' || s[29] != 'Z' {
		return time.Time{}, ErrTimeForm
	}
	num := func(at, width int) int {
		v := 0
		for i := at; i < at+width; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec, nsec := num(11, 2), num(14, 2), num(17, 2), num(20, 9)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 || nsec < 0 {
		return time.Time{}, ErrTimeForm
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // the 31st of a 30-day month, a 29 February of no leap year
		return time.Time{}, ErrTimeForm
	}
	return t, nil
}

// Canonical returns the bytes that an event's hash covers. It fails only
// when PrevHash is not a 64-digit hex string.
func Canonical(e *gatehouse.Event) ([]byte, error) {
	return AppendCanonical(nil, e)
}

// AppendCanonical appends Canonical(e) to b; a caller that hashes many
// events reuses one buffer.
func AppendCanonical(b []byte, e *gatehouse.Event) ([]byte, error) {
	prev, ok := decodeHash(e.PrevHash)
	if !ok {
		return nil, errPrevHash
	}
	return appendCanonical(b, e, &prev), nil
}

// appendCanonical is AppendCanonical with e.PrevHash already decoded.
func appendCanonical(b []byte, e *gatehouse.Event, prev *[sha256.Size]byte) []byte {
	b = slices.Grow(b, len(domainTag)+8+sha256.Size+7*4+len(TimeLayout)+len(e.Actor)+len(e.OSUser)+
		len(e.Action)+len(e.Target)+len(e.Outcome)+len(e.Details))
	b = append(b, domainTag...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = append(b, prev[:]...)
	// The time is written in place after its length, which is the
	// layout's for every year FormatTime writes in four digits.
	at := len(b)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = AppendTime(b, e.Time)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	for _, f := range [...]string{e.Actor, e.OSUser, e.Action, e.Target, string(e.Outcome)} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Details)))
	b = append(b, e.Details...)
	return b
}

// decodeHash reads a hash written in hex (either case, as hex.DecodeString
// accepts).
func decodeHash(s string) (h [sha256.Size]byte, ok bool) {
	var src [2 * sha256.Size]byte
	if len(s) != len(src) {
		return h, false
	}
	copy(src[:], s)
	_, err := hex.Decode(h[:], src[:])
	return h, err == nil
}

var errPrevHash = fmt.Errorf("previous hash is not %d hex digits", 2*sha256.Size)

// Hash returns the hex SHA-256 of the event's canonical encoding.
func Hash(e *gatehouse.Event) (string, error) {
	b, err := Canonical(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// DecodeCanonical reads an event back from its canonical encoding (as a
// proof carries it), with its hash. It accepts only what Canonical writes.
func DecodeCanonical(b []byte) (*gatehouse.Event, error) {
	bad := errors.New("not an event's canonical encoding")
	rest, ok := bytes.CutPrefix(b, []byte(domainTag))
	if !ok || len(rest) < 8+sha256.Size {
		return nil, bad
	}
	e := &gatehouse.Event{Seq: int64(binary.BigEndian.Uint64(rest))}
	e.PrevHash = hex.EncodeToString(rest[8 : 8+sha256.Size])
	rest = rest[8+sha256.Size:]
	var f [7]string
	for i := range f {
		if len(rest) < 4 || uint64(len(rest)-4) < uint64(binary.BigEndian.Uint32(rest)) {
			return nil, bad
		}
		n := binary.BigEndian.Uint32(rest)
		f[i], rest = string(rest[4:4+n]), rest[4+n:]
	}
	if len(rest) != 0 || e.Seq < 1 {
		return nil, bad
	}
	t, err := ParseTime(f[0])
	if err != nil {
		return nil, bad
	}
	e.Time, e.Actor, e.OSUser, e.Action, e.Target = t, f[1], f[2], f[3], f[4]
	e.Outcome, e.Details = gatehouse.Outcome(f[5]), json.RawMessage(f[6])
	sum := sha256.Sum256(b)
	e.Hash = hex.EncodeToString(sum[:])
	return e, nil
}

// Seal sets e.PrevHash to prev and e.Hash to the event's hash.
func Seal(e *gatehouse.Event, prev string) error {
	e.PrevHash = prev
	h, err := Hash(e)
	if err != nil {
		return err
	}
	e.Hash = h
	return nil
}

// ParseHead reads a head written by `audit head` as SEQ:HASH.
func ParseHead(s string) (gatehouse.ChainHead, error) {
	var h gatehouse.ChainHead
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 {
		return h, gatehouse.Errorf(gatehouse.EINVALID, "invalid head %q: want SEQ:HASH as printed by 'gatehouse audit head'", gatehouse.Clip(s, 80))
	}
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return h, gatehouse.Errorf(gatehouse.EINVALID, "invalid head: the hash must be %d hex digits", 2*sha256.Size)
	}
	return gatehouse.ChainHead{Seq: n, Hash: strings.ToLower(hash)}, nil
}

// Build makes the event that ne describes as event seq of a chain whose
// last hash is prev, at time now, and seals it. The details are encoded
// with encoding/json, which writes map keys sorted, so the stored text is
// canonical. An event without its own OS user takes osUser; one without an
// actor is attributed to its OS user. Both stores append through it, so
// an event means the same bytes whichever store holds it.
func Build(ne *gatehouse.NewEvent, seq int64, prev string, now time.Time, osUser string) (*gatehouse.Event, error) {
	if ne.Action == "" || ne.Outcome == "" {
		return nil, fmt.Errorf("audit event without action or outcome")
	}
	details := []byte("{}")
	if len(ne.Details) > 0 {
		b, err := json.Marshal(ne.Details)
		if err != nil {
			return nil, fmt.Errorf("audit details: %w", err)
		}
		details = b
	}
	if ne.OSUser != "" {
		osUser = ne.OSUser
	}
	actor := ne.Actor
	if actor == "" {
		actor = osUser
	}
	ev := &gatehouse.Event{
		Seq: seq, Time: now, Actor: actor, OSUser: osUser, Action: ne.Action,
		Target: ne.Target, Outcome: ne.Outcome, Details: details,
	}
	if err := Seal(ev, prev); err != nil {
		return nil, err
	}
	return ev, nil
}
