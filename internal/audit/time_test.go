package audit_test

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// referenceParse is ParseTime as it was written first, with the time
// package: the text must parse in TimeLayout and format back to itself.
func referenceParse(s string) (time.Time, bool) {
	t, err := time.Parse(audit.TimeLayout, s)
	if err != nil || t.UTC().Format(audit.TimeLayout) != s {
		return time.Time{}, false
	}
	return t, true
}

// checkParse holds ParseTime (hand-written, for speed) to the reference
// for s: the same verdict and the same instant.
func checkParse(t *testing.T, s string) {
	t.Helper()
	got, err := audit.ParseTime(s)
	want, ok := referenceParse(s)
	switch {
	case ok != (err == nil):
		t.Fatalf("ParseTime(%q): err %v, the time package says valid=%v", s, err, ok)
	case err != nil && !errors.Is(err, audit.ErrTimeForm):
		t.Fatalf("ParseTime(%q): err %v, want ErrTimeForm", s, err)
	case ok && !got.Equal(want):
		t.Fatalf("ParseTime(%q) = %v, the time package reads %v", s, got, want)
	case ok && got.Location() != time.UTC:
		t.Fatalf("ParseTime(%q) is in %v, want UTC", s, got.Location())
	}
}

// TestTimeAgreesWithTimePackage: FormatTime writes what time.Format writes
// with TimeLayout, and ParseTime accepts exactly the texts FormatTime
// writes, over instants from year 0 to 9999 and edge texts.
func TestTimeAgreesWithTimePackage(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 1))
	lo := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < 200000; i++ {
		var tm time.Time
		if i%2 == 0 { // around now, to the nanosecond
			tm = time.Unix(0, r.Int64()).In(time.FixedZone("x", r.IntN(50000)-25000))
		} else { // any second of years 0–9999, beyond UnixNano's range
			tm = time.Unix(lo/1e9+r.Int64N(316000000000), r.Int64N(1e9))
		}
		s := audit.FormatTime(tm)
		if want := tm.UTC().Format(audit.TimeLayout); s != want {
			t.Fatalf("FormatTime(%v) = %q, time.Format writes %q", tm, s, want)
		}
		checkParse(t, s)
	}
	for _, tm := range []time.Time{time.Date(-1, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), {}} {
		if got, want := audit.FormatTime(tm), tm.UTC().Format(audit.TimeLayout); got != want {
			t.Errorf("FormatTime(%v) = %q, want %q", tm, got, want)
		}
	}
	for _, s := range []string{
		"2026-02-29T00:00:00.000000000Z", "2024-02-29T00:00:00.000000000Z", "2100-02-29T00:00:00.000000000Z",
		"2000-02-29T00:00:00.000000000Z", "2026-04-31T00:00:00.000000000Z", "2026-12-31T23:59:59.999999999Z",
		"2026-12-31T23:59:60.000000000Z", "2026-12-31T24:00:00.000000000Z", "2026-13-01T00:00:00.000000000Z",
		"2026-00-01T00:00:00.000000000Z", "2026-01-00T00:00:00.000000000Z", "0000-01-01T00:00:00.000000000Z",
		"9999-12-31T23:59:59.999999999Z", "2026-01-01T00:60:00.000000000Z", "2026-01-01T00:00:00.00000000aZ",
		"2026-01-01T00:00:00.000000000z", "2026-01-01 00:00:00.000000000Z", "+026-01-01T00:00:00.000000000Z",
		"2026-01-01T00:00:00.000000000Z ", "2026-1-01T00:00:00.000000000Z", "2026-01-01T00:00:00,000000000Z",
		"-001-01-01T00:00:00.000000000Z", "2026-01-01T0-:00:00.000000000Z", "",
	} {
		checkParse(t, s)
	}
}

// FuzzParseTime: on any text, ParseTime agrees with the time package.
func FuzzParseTime(f *testing.F) {
	f.Add("2026-11-23T10:00:00.000000000Z")
	f.Add("2024-02-29T23:59:59.999999999Z")
	f.Add("2026-02-29T00:00:00.000000000Z")
	f.Fuzz(func(t *testing.T, s string) { checkParse(t, s) })
}

// TestCanonicalReadsHashesInEitherCase: the previous hash is decoded as
// hex.DecodeString decodes it, and anything else is refused.
func TestCanonicalReadsHashesInEitherCase(t *testing.T) {
	sum := make([]byte, 32)
	for i := range sum {
		sum[i] = byte(i * 37)
	}
	lower := hex.EncodeToString(sum)
	ev := gatehouse.Event{Seq: 2, Time: time.Unix(0, 0), Action: "x.y", Outcome: gatehouse.OutcomeSuccess, Details: []byte("{}"), PrevHash: lower}
	a, err := audit.Canonical(&ev)
	if err != nil {
		t.Fatal(err)
	}
	ev.PrevHash = "ABCDEF" + lower[6:]
	ev2 := ev
	ev2.PrevHash = "abcdef" + lower[6:]
	b, err1 := audit.Canonical(&ev)
	c, err2 := audit.Canonical(&ev2)
	if err1 != nil || err2 != nil || string(b) != string(c) || string(a) == string(b) {
		t.Fatalf("upper and lower case hex differ: %v %v", err1, err2)
	}
	for _, bad := range []string{lower[:62], lower + "00", "g" + lower[1:], " " + lower[1:]} {
		ev.PrevHash = bad
		if _, err := audit.Canonical(&ev); err == nil {
			t.Errorf("Canonical accepted previous hash %q", bad)
		}
	}
}
